// The Fashion-MNIST examples on the sample shipped in data/: the CNN learns,
// and the event loop stays responsive while it trains.

import { expect } from 'chai';
import { buildCnn } from '../examples/fashion-mnist-cnn.js';
import { buildMlp } from '../examples/fashion-mnist-mlp.js';
import { buildBnCnn } from '../examples/fashion-mnist-bn.js';
import { FASHION_MNIST_SAMPLE_DIR, getBackend, getPreset, loadMnist, networkFromSpec, scheduleInSteps, setBackend, Tensor } from '../lib/index.js';
import { batchCpuMeter, withEventLoopWatch, withOneKernelThread } from './helpers.js';

describe('Fashion-MNIST sample [native]', function () {
  this.timeout(120000);
  let previous: 'js' | 'native';
  before(() => {
    previous = getBackend().name;
    setBackend('native');
  });
  after(() => setBackend(previous));

  it('the CNN trains on 2000 sample images, fit and its validation pass turning the event loop every few batches', async function () {
    const data = await loadMnist(FASHION_MNIST_SAMPLE_DIR, { limit: { train: 2000 } });
    const net = buildCnn(1).use('sparseCategoricalCrossEntropy');
    const meter = batchCpuMeter();
    const { result: history, maxCpuGapMs, turns } = await withOneKernelThread(() => withEventLoopWatch(() =>
      net.fit(data.xTrain, data.yTrain, {
        epochs: 1, batchSize: 32, optimizer: 'adam', learningRate: 0.001, validationData: [data.xTest, data.yTest], onBatchEnd: meter.onBatchEnd,
      })));
    if (process.env.LAYERWISE_SHOW_LAG) console.log(`      largest CPU gap ${maxCpuGapMs.toFixed(1)} ms, slowest batch ${meter.maxBatchMs.toFixed(1)} ms, ${turns} turns`);
    expect(turns).to.be.greaterThan(10);
    // fit yields once 10 ms have passed, so a gap is about 10 ms plus a batch or two. Not yielding during the
    // validation pass (1000 images, ~10 training batches of work) or during setup would break this, on any machine.
    expect(maxCpuGapMs, 'most CPU time between two event-loop turns, in ms').to.be.below(25 + 3 * meter.maxBatchMs);
    expect(history.accuracy![0]).to.be.above(0.5);
    expect(history.valAccuracy![0], 'test accuracy after one epoch on 2000 images').to.be.above(0.6);
  });

  it('the MLP reaches over 75% test accuracy after two epochs on the 6000-image sample', async () => {
    const data = await loadMnist(FASHION_MNIST_SAMPLE_DIR, { flatten: true });
    const net = buildMlp(1).use('sparseCategoricalCrossEntropy');
    await net.fit(data.xTrain, data.yTrain, { epochs: 2, batchSize: 32, optimizer: 'adam', learningRate: 0.001 });
    expect(net.evaluate(data.xTest, data.yTest).accuracy!).to.be.above(0.75);
  });
});

describe('the CLI presets and the examples', () => {
  it('a preset schedule warms up linearly over its warm-up epochs, then follows a half cosine to 0 at the last step', () => {
    const schedule = scheduleInSteps({ kind: 'cosineDecay', warmupEpochs: 1 }, 0.002, 10, 100);
    expect(schedule.at(0)).to.equal(0);
    expect(schedule.at(50)).to.be.closeTo(0.001, 1e-12);
    expect(schedule.at(100)).to.be.closeTo(0.002, 1e-12);
    expect(schedule.at(100 + 450)).to.be.closeTo(0.001, 1e-12);
    expect(schedule.at(999)).to.be.below(1e-6);
    // A one-epoch run still decays: it warms up for half of it.
    const short = scheduleInSteps({ kind: 'cosineDecay', warmupEpochs: 1 }, 0.002, 1, 100);
    expect(short.at(50)).to.be.closeTo(0.002, 1e-12);
    expect(short.at(99)).to.be.below(1e-5);
  });


  // The same networks are written as code (examples/, for reading) and as
  // data (lib/presets.ts, for the CLI); this keeps them from drifting apart.
  for (const [name, build, input] of [
    ['fashion-mnist-cnn', buildCnn, [1, 28, 28, 1]],
    ['fashion-mnist-mlp', buildMlp, [1, 784]],
    ['fashion-mnist-bn', buildBnCnn, [1, 28, 28, 1]],
  ] as const) {
    it(`${name} builds the network of its example, weights included`, () => {
      const fromCode = build(7);
      const fromSpec = networkFromSpec({ ...getPreset(name)!.spec, seed: 7 });
      const x = Tensor.zeros([...input]);
      fromCode.predict(x); // layers that size themselves on first use
      fromSpec.predict(x);
      expect(fromSpec.layers.map((l) => l.getConfig().type)).to.deep.equal(fromCode.layers.map((l) => l.getConfig().type));
      expect(fromSpec.getWeights().map((w) => Array.from(w))).to.deep.equal(fromCode.getWeights().map((w) => Array.from(w)));
    });
  }
});
