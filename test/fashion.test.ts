// The Fashion-MNIST examples on the sample shipped in data/: the CNN learns,
// and the event loop stays responsive while it trains.

import { expect } from 'chai';
import { buildCnn } from '../examples/fashion-mnist-cnn.js';
import { buildMlp } from '../examples/fashion-mnist-mlp.js';
import { FASHION_MNIST_SAMPLE_DIR, getBackend, loadMnist, setBackend } from '../lib/index.js';
import { withHeartbeat } from './helpers.js';

describe('Fashion-MNIST sample [native]', function () {
  this.timeout(120000);
  let previous: 'js' | 'native';
  before(() => {
    previous = getBackend().name;
    setBackend('native');
  });
  after(() => setBackend(previous));

  it('the CNN trains on 2000 sample images with a 10 ms heartbeat lagging under 50 ms', async function () {
    // Retried for the same reason as the Network heartbeat test: a shared
    // 2-core machine can deschedule us; a fit that blocks fails every attempt.
    this.retries(2);
    const data = await loadMnist(FASHION_MNIST_SAMPLE_DIR, { limit: { train: 2000 } });
    const net = buildCnn(1).use('sparseCategoricalCrossEntropy');
    const { result: history, maxLag, beats, ms } = await withHeartbeat(() =>
      net.fit(data.xTrain, data.yTrain, { epochs: 1, batchSize: 32, optimizer: 'adam', learningRate: 0.001 }));
    expect(beats, `heartbeats during ${(ms / 1000).toFixed(2)} s of training`).to.be.greaterThan(10);
    expect(maxLag, 'largest heartbeat delay in ms').to.be.below(50);
    expect(history.accuracy![0]).to.be.above(0.5);
    const test = net.evaluate(data.xTest, data.yTest);
    expect(test.accuracy!, 'test accuracy after one epoch on 2000 images').to.be.above(0.6);
  });

  it('the MLP reaches over 75% test accuracy after two epochs on the 6000-image sample', async () => {
    const data = await loadMnist(FASHION_MNIST_SAMPLE_DIR, { flatten: true });
    const net = buildMlp(1).use('sparseCategoricalCrossEntropy');
    await net.fit(data.xTrain, data.yTrain, { epochs: 2, batchSize: 32, optimizer: 'adam', learningRate: 0.001 });
    expect(net.evaluate(data.xTest, data.yTest).accuracy!).to.be.above(0.75);
  });
});
