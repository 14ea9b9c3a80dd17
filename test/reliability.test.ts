// Reliability of fit on a training server (issue 14): one fit at a time per
// network, consistent weights for calls made during a fit, nothing lost on
// divergence, and async inference that lets the event loop run.

import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Activation, BusyError, DataError, Dense, DivergedError, Network, OptionError, SGD, Tensor, tensor, type TrainingState } from '../lib/index.js';
import { expectReject, forEachBackend, randomTensor } from './helpers.js';

const build = (seed = 1) => new Network({ seed })
  .add(new Dense(4, 8, { activation: 'tanh' })).add(new Dense(8, 3)).add(new Activation('softmax')).use('sparseCategoricalCrossEntropy');
const data = () => ({ x: randomTensor([96, 4], 5), y: new Tensor(Float32Array.from({ length: 96 }, (_, i) => i % 3), [96]) });
const flat = (net: Network) => net.getWeights().flatMap((w) => Array.from(w));

/** A 1-in 1-out linear model on constant inputs: with this learning rate each SGD step multiplies the weights by about −1.2 (or −4), until they overflow. */
async function diverge(samples: number, learningRate: number, epochs = 1) {
  const x = tensor(Array.from({ length: samples }, () => [1]));
  const y = tensor(Array.from({ length: samples }, () => [0]));
  const net = new Network({ seed: 1 }).add(new Dense(1, 1)).use('mse');
  const before = flat(net);
  const afterBatch: number[][] = [];
  let error: unknown;
  try {
    await net.fit(x, y, {
      epochs, batchSize: 1, shuffle: false, optimizer: new SGD({ learningRate }),
      onBatchEnd: () => { afterBatch.push(flat(net)); },
    });
  } catch (err) {
    error = err;
  }
  return { net, before, afterBatch, error: error as DivergedError };
}

forEachBackend('fit on a server', () => {
  it('a second fit on a training network rejects at once with E_BUSY; the first finishes as if alone', async () => {
    const { x, y } = data();
    const alone = build();
    await alone.fit(x, y, { epochs: 2, batchSize: 8 });
    const net = build();
    const first = net.fit(x, y, { epochs: 2, batchSize: 8 });
    expect(net.isTraining).to.equal(true);
    const second = await net.fit(x, y, { epochs: 1 }).then(() => undefined, (e: Error) => e);
    expect(second).to.be.instanceOf(BusyError);
    expect((second as BusyError).code).to.equal('E_BUSY');
    expect(second!.message).to.contain('this network is already training');
    await first;
    expect(net.isTraining).to.equal(false);
    expect(flat(net)).to.deep.equal(flat(alone));
    await net.fit(x, y, { epochs: 1, batchSize: 8 }); // free again
  });

  it('predict, evaluate and save during a fit see the weights between two batches', async () => {
    const { x, y } = data();
    const net = build();
    const dir = mkdtempSync(path.join(os.tmpdir(), 'layerwise-during-fit-'));
    const checks: Promise<void>[] = [];
    try {
      await net.fit(x, y, {
        epochs: 2, batchSize: 8,
        onBatchEnd: (batch) => {
          if (batch % 4 !== 0) return;
          const weights = net.getWeights();
          const twin = build();
          twin.setWeights(weights);
          expect(Array.from(net.predict(x).data)).to.deep.equal(Array.from(twin.predict(x).data));
          expect(net.evaluate(x, y)).to.deep.equal(twin.evaluate(x, y));
          // From the event loop, between batches: a save is a consistent model.
          checks.push(new Promise<void>((resolve, reject) => setImmediate(() => {
            const seen = flat(net);
            net.save(dir).then(async () => {
              const loaded = await Network.load(dir);
              expect(flat(loaded)).to.deep.equal(seen);
              resolve();
            }, reject);
          })));
        },
      });
      await Promise.all(checks);
      expect(checks.length).to.be.greaterThan(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('on divergence the network holds the weights the last finite-loss batch was computed with, and the error says so', async () => {
    const { net, before, afterBatch, error } = await diverge(200, 1.25);
    expect(error).to.be.instanceOf(DivergedError);
    const d = error.details!;
    expect(d.epoch).to.equal(1);
    expect(d.batch).to.equal(afterBatch.length + 1);
    expect(d.restoredBatch).to.equal(d.batch - 1);
    expect(error.message).to.contain(`the loss is Infinity at epoch 1, batch ${d.batch}`);
    expect(error.message).to.contain("try a lower learning rate or gradient clipping (the optimizer's clipNorm option)");
    const expected = d.restoredBatch >= 2 ? afterBatch[d.restoredBatch - 2] : before;
    expect(flat(net)).to.deep.equal(expected);
    expect(d.weights.flatMap((w) => Array.from(w))).to.deep.equal(expected);
    const out = net.predict([[1]]).data[0];
    expect(Number.isFinite(out)).to.equal(true);
    expect(net.isTraining).to.equal(false);
  });

  it('a later divergence is rolled back from a periodic rollback point (replaying the batches since), to the same weights', async () => {
    const { net, afterBatch, error } = await diverge(800, 0.55);
    expect(error).to.be.instanceOf(DivergedError);
    const d = error.details!;
    expect(d.batch).to.be.greaterThan(200);
    expect(flat(net)).to.deep.equal(afterBatch[d.restoredBatch - 2]);
  });

  it("a divergence early in a later epoch is rolled back from that epoch's first rollback point (which reuses the previous one's arrays)", async () => {
    // Overflows at about the 484th step: batch 34 of the second epoch.
    const samples = 450;
    const { net, afterBatch, error } = await diverge(samples, 0.55, 2);
    expect(error).to.be.instanceOf(DivergedError);
    const d = error.details!;
    expect(d.epoch).to.equal(2);
    expect(d.batch).to.be.within(3, 64);
    expect(flat(net)).to.deep.equal(afterBatch[samples + d.restoredBatch - 2]);
  });

  it('clipNorm, the cure the divergence message suggests: the same run finishes, every SGD step no longer than learningRate × clipNorm', async () => {
    const x = tensor(Array.from({ length: 200 }, () => [1]));
    const y = tensor(Array.from({ length: 200 }, () => [0]));
    const net = new Network({ seed: 1 }).add(new Dense(1, 1)).use('mse');
    const steps: number[] = [];
    let previous = flat(net);
    await net.fit(x, y, {
      epochs: 1, batchSize: 1, shuffle: false, optimizer: { name: 'sgd', learningRate: 1.25, clipNorm: 0.5 },
      onBatchEnd: () => {
        const now = flat(net);
        steps.push(Math.hypot(...now.map((w, i) => w - previous[i])));
        previous = now;
      },
    });
    expect(steps).to.have.length(200);
    expect(Math.max(...steps)).to.be.at.most(1.25 * 0.5 * (1 + 1e-6));
    expect(flat(net).every(Number.isFinite)).to.equal(true);
  });

  it('a step that leaves a non-finite weight after the last batch of an epoch is caught at the epoch end', async () => {
    // One sample whose loss is finite (in double) but whose gradient times the
    // learning rate overflows float32: the weights become ±Infinity with no later loss to notice.
    const net = new Network({ seed: 1 }).add(new Dense(1, 1)).use('mse');
    const before = flat(net);
    const error = await net.fit([[1e19]], [[0]], { epochs: 1, batchSize: 1, optimizer: new SGD({ learningRate: 1e6 }) })
      .then(() => undefined, (e: DivergedError) => e);
    expect(error).to.be.instanceOf(DivergedError);
    expect(error!.message).to.contain('a weight became non-finite at epoch 1, batch 1');
    expect(error!.details!.restoredBatch).to.equal(1);
    expect(flat(net)).to.deep.equal(before);
  });

  it('predictAsync and evaluateAsync give what predict and evaluate give', async () => {
    const { x, y } = data();
    const net = build();
    expect(Array.from((await net.predictAsync(x, { batchSize: 7 })).data)).to.deep.equal(Array.from(net.predict(x, { batchSize: 7 }).data));
    expect(await net.evaluateAsync(x, y, { batchSize: 5 })).to.deep.equal(net.evaluate(x, y, { batchSize: 5 }));
  });

  it('the NaN scan, done in chunks so fit and the async forms can yield, names the right sample past the first chunk', async () => {
    // 300 × 4000 values: the scan's second chunk starts at element 1,048,576.
    const x = new Tensor(new Float32Array(300 * 4000), [300, 4000]);
    x.data[275 * 4000 + 3] = Number.NaN;
    const y = new Tensor(new Float32Array(300), [300]);
    const net = new Network({ seed: 1 }).add(new Dense(4000, 2)).add(new Activation('softmax')).use('sparseCategoricalCrossEntropy');
    const message = 'holds NaN in sample 275 (element 3); inputs must be finite';
    for (const call of [
      () => net.fit(x, y, { epochs: 1 }), () => net.fit(new Tensor(new Float32Array(x.size), x.shape), y, { epochs: 1, validationData: [x, y] }),
      () => net.predictAsync(x), () => net.evaluateAsync(x, y),
    ]) {
      const err = await call().then(() => undefined, (e: Error) => e);
      expect(err, String(err)).to.be.instanceOf(DataError);
      expect(err!.message).to.contain(message);
    }
    expect(() => net.predict(x)).to.throw(DataError, `predict input ${message}`);
  });

  it('a resume state is validated in full: generator states, running totals and every history series', async () => {
    const net = build();
    const { x, y } = data();
    const controller = new AbortController();
    const options = { epochs: 3, batchSize: 8, validationData: [x, y] as [Tensor, Tensor] };
    let batches = 0;
    const first = await net.fit(x, y, { ...options, signal: controller.signal, onBatchEnd: () => { if (++batches === 15) controller.abort(); } });
    const state = first.interrupted!;
    expect([state.epoch, state.batch]).to.deep.equal([2, 3]);
    const tampered: [Partial<TrainingState>, string][] = [
      [{ shuffleRng: { s: [1, 2, 3] } as TrainingState['shuffleRng'] }, 'a random generator state is malformed'],
      [{ layerRngs: state.layerRngs.map((r, i) => (i === 1 ? { s: [-1, 0, 0, 0] } : r)) as TrainingState['layerRngs'] }, 'a random generator state is malformed'],
      [{ totals: { ...state.totals, samples: state.totals.samples + 8 } }, 'the running totals are malformed (expected up to 24 samples done, some if any, for batch 3)'],
      [{ totals: { ...state.totals, samples: 0 } }, 'the running totals are malformed'],
      [{ totals: { ...state.totals, lossSum: Number.NaN } }, 'the running totals are malformed'],
      [{ history: { ...state.history, seconds: 'soon' as unknown as number[] } }, 'the history is malformed (expected 1 finite values per series)'],
      [{ history: { ...state.history, valLoss: [] } }, 'the history is malformed'],
      [{ history: { ...state.history, accuracy: [Number.POSITIVE_INFINITY] } }, 'the history is malformed'],
    ];
    const weights = net.getWeights();
    for (const [change, message] of tampered) {
      const err = await net.fit(x, y, { ...options, resume: { ...state, ...change } }).then(() => undefined, (e: Error) => e);
      expect(err, message).to.be.instanceOf(OptionError);
      expect(err!.message).to.contain(message);
      expect(net.getWeights(), 'refused before any step').to.deep.equal(weights);
    }
    await expectReject(net.fit(x, y, { ...options, resume: { ...state, batch: 0 } }), 'the running totals are malformed');
    const resumed = await net.fit(x, y, { ...options, resume: state });
    expect(resumed.loss).to.have.length(3);
    expect(net.isTraining).to.equal(false);
  });
});
