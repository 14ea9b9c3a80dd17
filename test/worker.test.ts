// trainInWorker: the same result as training in the calling thread, progress
// events, cancelling, several workers at once, and an event loop that stays
// free in the calling thread while a worker trains.

import { expect } from 'chai';
import { OptionError, getBackend, nativeAvailable, nativeInfo, networkFromSpec, setBackend, setNumThreads, Tensor, type NetworkSpec } from '../lib/index.js';
import { trainInWorker, type WorkerProgress } from '../lib/worker.js';
import { getPreset } from '../lib/presets.js';
import { withEventLoopWatch } from './helpers.js';

/** n synthetic 784-pixel "images" in 10 classes, reproducible. */
function images(n: number, salt = 0): { x: Tensor; y: Tensor } {
  const x = new Float32Array(n * 784);
  for (let i = 0; i < x.length; i++) x[i] = (((i + salt) * 2654435761) >>> 24) / 255;
  const y = Float32Array.from({ length: n }, (_, i) => (i * 7 + salt) % 10);
  return { x: new Tensor(x, [n, 784]), y: new Tensor(y, [n]) };
}

function mlp(seed: number): NetworkSpec {
  return { ...getPreset('fashion-mnist-mlp')!.spec, seed };
}

const BACKENDS = nativeAvailable() ? (['js', 'native'] as const) : (['js'] as const);

describe('trainInWorker', function () {
  this.timeout(30000);
  let previous: 'js' | 'native';
  let previousThreads: number | undefined;

  before(() => {
    previous = getBackend().name as 'js' | 'native';
    previousThreads = nativeAvailable() ? nativeInfo().threads : undefined;
  });
  after(() => {
    setBackend(previous);
    if (previousThreads !== undefined) setNumThreads(previousThreads);
  });

  for (const backend of BACKENDS) {
    it(`returns a network predicting exactly as one trained in this thread [${backend}]`, async () => {
      setBackend(backend);
      const data = images(300);
      const options = { epochs: 2, batchSize: 16, optimizer: 'adam' as const, learningRate: 0.002, seed: 3, validationSplit: 0.2 };
      // The thread count is per process, so both runs use the same one.
      const { network, history, optimizer } = await trainInWorker(mlp(5), data, { ...options, threads: 1 });
      const local = networkFromSpec(mlp(5));
      const localHistory = await local.fit(data.x, data.y, options);
      expect(history.loss).to.deep.equal(localHistory.loss);
      expect(history.valAccuracy).to.deep.equal(localHistory.valAccuracy);
      expect(Array.from(network.predict(data.x).data)).to.deep.equal(Array.from(local.predict(data.x).data));
      expect(optimizer.name).to.equal('adam');
      expect(optimizer.getState(network.parameters()).steps[0]).to.equal(2 * 15);
      // The caller's tensors were copied, not moved.
      expect(data.x.data.length).to.equal(300 * 784);
    });
  }

  it('posts batch and epoch progress', async () => {
    const events: WorkerProgress[] = [];
    const data = images(200);
    await trainInWorker(mlp(1), data, { epochs: 2, batchSize: 10, seed: 1, progressEvery: 5, backend: 'js', onProgress: (e) => events.push(e) });
    const epochs = events.filter((e) => e.type === 'epoch');
    expect(epochs.map((e) => e.epoch)).to.deep.equal([1, 2]);
    expect(epochs[0]).to.include.keys('loss', 'accuracy', 'seconds');
    const batches = events.filter((e) => e.type === 'batch');
    expect(batches.map((e) => `${e.epoch}:${e.batch}`)).to.deep.equal(['1:5', '1:10', '1:15', '1:20', '2:5', '2:10', '2:15', '2:20']);
    expect(batches[0]).to.include({ batches: 20, size: 10 });
    // Epoch events come after that epoch's batches.
    expect(events.findIndex((e) => e.type === 'epoch')).to.equal(4);
  });

  it('stops after the current batch when the signal aborts, resolving with the interrupted history', async () => {
    const controller = new AbortController();
    const data = images(400);
    let batchesSeen = 0;
    const result = await trainInWorker(mlp(2), data, {
      epochs: 50, batchSize: 8, seed: 2, backend: 'js', progressEvery: 1, signal: controller.signal,
      onProgress: (e) => {
        if (e.type === 'batch' && ++batchesSeen === 3) controller.abort();
      },
    });
    expect(result.history.interrupted).to.include({ epoch: 1 });
    expect(result.history.interrupted!.batch).to.be.within(3, 49);
    expect(result.history.loss).to.deep.equal([]);
    // Trained a little: the weights moved away from their initial values.
    const initial = networkFromSpec(mlp(2)).getWeights()[0];
    expect(result.network.getWeights()[0]).not.to.deep.equal(initial);
  });

  it('rejects with an AbortError when the signal is aborted before it starts', async () => {
    const controller = new AbortController();
    controller.abort();
    const err = await trainInWorker(mlp(1), images(10), { epochs: 1, signal: controller.signal }).then(() => undefined, (e: unknown) => e);
    expect(err).to.be.instanceOf(DOMException);
    expect((err as DOMException).name).to.equal('AbortError');
  });

  it('rejects with the error fit throws in the worker', async () => {
    const err = await trainInWorker(mlp(1), images(10), { epochs: 1, validationSplit: 2 }).then(() => undefined, (e: unknown) => e);
    expect(err).to.be.instanceOf(OptionError);
    expect((err as Error).message).to.equal('expected a number in (0, 1) for validationSplit but got number 2');
  });

  it('trains two networks in two workers at once, each as it would alone', async () => {
    setBackend(nativeAvailable() ? 'native' : 'js');
    const a = images(200, 1);
    const b = images(200, 2);
    const options = { epochs: 2, batchSize: 16, optimizer: 'adam' as const, seed: 4, threads: 1 };
    const [ra, rb] = await Promise.all([trainInWorker(mlp(10), a, options), trainInWorker(mlp(20), b, options)]);
    for (const [result, data, seed] of [[ra, a, 10], [rb, b, 20]] as const) {
      const local = networkFromSpec(mlp(seed));
      await local.fit(data.x, data.y, { epochs: 2, batchSize: 16, optimizer: 'adam', seed: 4 });
      expect(Array.from(result.network.predict(data.x).data)).to.deep.equal(Array.from(local.predict(data.x).data));
    }
  });

  it('leaves the calling thread\'s event loop free while a worker trains: utilization far below a blocking fit\'s', async function () {
    const data = images(1000);
    const training = trainInWorker(mlp(1), data, { epochs: 3, batchSize: 16, seed: 1, backend: 'js' });
    const inWorker = await withEventLoopWatch(() => training);
    expect(inWorker.result.history.loss).to.have.length(3);
    // The same training on this thread, as a baseline taken in the same run.
    const here = networkFromSpec(mlp(1));
    const onThread = await withEventLoopWatch(() => here.fit(data.x, data.y, { epochs: 1, batchSize: 16, seed: 1 }));
    if (process.env.LAYERWISE_SHOW_LAG) console.log(`      event-loop utilization: ${inWorker.utilization.toFixed(3)} with a worker, ${onThread.utilization.toFixed(3)} on this thread`);
    expect(onThread.utilization, 'a fit on this thread keeps its event loop busy').to.be.above(0.5);
    expect(inWorker.utilization, 'the event loop was mostly waiting while the worker trained').to.be.below(0.25);
    expect(inWorker.turns).to.be.greaterThan(10);
  });
});
