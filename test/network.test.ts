import { expect } from 'chai';
import { trainXor } from '../examples/xor.js';
import { OptionError, Activation, ConvLayer, Dense, FlattenLayer, Network, mse, msePrime, Tensor } from '../lib/index.js';
import { batchCpuMeter, expectReject, forEachBackend, randomTensor, withEventLoopWatch, withOneKernelThread } from './helpers.js';

forEachBackend('Network', (backend) => {
  it('predict names a NaN or ±Infinity in the input when a first Dense layer checks its products instead of a scan, even where its activation would hide it', async () => {
    for (const activation of ['relu', 'sigmoid', 'tanh', 'linear'] as const) {
      const net = new Network({ seed: 3 }).add(new Dense(6, 5, { activation })).add(new Dense(5, 3)).add(new Activation('softmax'));
      const first = net.layers[0] as Dense;
      // Input 2 meets only negative weights (+Infinity → −Infinity before the activation: ReLU makes it 0,
      // sigmoid 0, tanh −1) and input 4 only zero weights (±Infinity·0 is NaN).
      for (let j = 0; j < 5; j++) {
        first.weights.data[2 * 5 + j] = -0.5 - j / 10;
        first.weights.data[4 * 5 + j] = 0;
      }
      const x = randomTensor([9, 6], 4);
      const clean = net.predict(x);
      expect(Array.from(clean.data).every(Number.isFinite)).to.equal(true);
      for (const [bad, sample, element] of [[Infinity, 7, 2], [-Infinity, 0, 4], [NaN, 8, 5], [Infinity, 4, 4]] as const) {
        const dirty = x.clone();
        dirty.data[sample * 6 + element] = bad;
        const message = `predict input holds ${bad} in sample ${sample} (element ${element}); inputs must be finite`;
        expect(() => net.predict(dirty), `${activation} ${bad}`).to.throw(message);
        expect(() => net.predict(dirty, { batchSize: 2 }), `${activation} ${bad} in chunks`).to.throw(message);
        const rejected = await net.predictAsync(dirty, { batchSize: 4 }).then(() => undefined, (e: Error) => e);
        expect(rejected?.message, `${activation} ${bad} async`).to.equal(message);
      }
      // The network is unharmed: the clean input still gives the same answer.
      expect(Array.from(net.predict(x).data)).to.deep.equal(Array.from(clean.data));
    }
  });

  it('predict still returns what the network computes when a first Dense layer overflows on finite input (the scan finds nothing)', () => {
    const net = new Network({ seed: 3 }).add(new Dense(2, 2)).add(new Activation('relu'));
    (net.layers[0] as Dense).weights.data.fill(3e38);
    const out = net.predict(new Tensor(new Float32Array([3e38, 3e38, 1, 1]), [2, 2]));
    expect(Array.from(out.data)).to.deep.equal([Infinity, Infinity, Infinity, Infinity]); // 6e38 overflows float32
  });

  it('examples/xor.ts reaches error < 0.01 and separates the four cases', async () => {
    const { errors, predictions } = await trainXor(1);
    expect(errors).to.have.length(1000);
    expect(errors.at(-1)).to.be.below(0.01);
    const [p00, p01, p10, p11] = predictions.data;
    expect(p00).to.be.below(0.2);
    expect(p11).to.be.below(0.2);
    expect(p01).to.be.above(0.8);
    expect(p10).to.be.above(0.8);
  });

  it('the same seed gives bit-identical training; another seed does not', async () => {
    const run = async (seed: number) => {
      const { net, errors } = await trainXor(seed);
      return { errors, weights: net.layers.flatMap((l) => l.parameters().map((p) => Array.from(p.value.data))) };
    };
    const a = await run(5), b = await run(5), c = await run(6);
    expect(a.errors).to.deep.equal(b.errors);
    expect(a.weights).to.deep.equal(b.weights);
    expect(c.weights).to.not.deep.equal(a.weights);
  });

  it('trains the from-scratch conv stack (ConvLayer → Flatten → FCLayer) on single samples', async () => {
    const x = randomTensor([8, 5, 5, 2], 3);
    const y = Tensor.zeros([8, 1, 2]);
    for (let i = 0; i < 8; i++) y.data[i * 2 + (x.data[i * 50] > 0 ? 0 : 1)] = 1;
    const net = new Network({ seed: 3 })
      .add(new ConvLayer([5, 5, 2], [3, 3], 3))
      .add(new Activation('tanh'))
      .add(new FlattenLayer())
      .add(new Dense(27, 2))
      .add(new Activation('sigmoid'))
      .use(mse, msePrime);
    // Per-sample x is [5,5,2] as in the tutorial; the conv output keeps a batch of 1.
    const errors: number[] = [];
    for (let epoch = 0; epoch < 30; epoch++) {
      let total = 0;
      for (let i = 0; i < 8; i++) {
        const out = net.forward(x.slice(i, i + 1).reshape([5, 5, 2]));
        const target = y.slice(i, i + 1).reshape([1, 2]);
        total += mse(target, out);
        net.backward(msePrime(target, out), 0.5);
      }
      errors.push(total / 8);
    }
    expect(errors.at(-1)!).to.be.below(errors[0] / 2);
  });

  it('predicts a whole batch from nested arrays', () => {
    const net = new Network({ seed: 1 }).add(new Dense(2, 1));
    const out = net.predict([[1, 2], [3, 4], [5, 6]]);
    expect(out.shape).to.deep.equal([3, 1]);
  });

  it('rejects bad fit arguments with clear errors', async () => {
    const net = new Network().add(new Dense(2, 1));
    await expectReject(net.fit([[1, 2]], [[1]], { epochs: 1, learningRate: 0.1 }), 'no loss set');
    net.use(mse);
    await expectReject(net.fit([[1, 2]], [[1], [2]], { epochs: 1, learningRate: 0.1 }), 'expected x and y with the same number of samples but got [1,2] and [2,1]');
    await expectReject(net.fit([[1, 2]], [[1]], { epochs: 0, learningRate: 0.1 }), 'expected a positive integer for epochs but got number 0');
    await expectReject(net.fit([[1, 2]], [[1]], { epochs: 1, learningRate: NaN }), 'expected a finite number for learningRate but got number NaN');
    await expectReject(net.fit([[1, 2, 3]], [[1]], { epochs: 1, learningRate: 0.1 }), 'expected [*,2] for Dense input but got [1,3]');
    expect(() => new Network().predict([[1]])).to.throw('the network has no layers');
    expect(() => net.add({} as never)).to.throw(OptionError, 'expected a Layer for add but got Object');
  });

  it('keeps the event loop turning during back-to-back short fits (each fit yields too)', async () => {
    // Enough work that twelve fits outlast several yield intervals on a fast
    // machine too: with 512 samples the native fits once all ran in one.
    const x = randomTensor([1024, 128], 1);
    const y = randomTensor([1024, 16], 2);
    const net = new Network({ seed: 1 }).add(new Dense(128, 128)).add(new Activation('relu')).add(new Dense(128, 16)).use(mse);
    const meter = batchCpuMeter();
    // Twelve short fits awaited back to back (each resolving through microtasks only, unless it yields itself).
    const { maxCpuGapMs, turns } = await withOneKernelThread(() => withEventLoopWatch(async () => {
      for (let epochs = 0; epochs < 12; epochs++) await net.fit(x, y, { epochs: 1, learningRate: 0.01, batchSize: 8, onBatchEnd: meter.onBatchEnd });
    }));
    expect(turns).to.be.greaterThan(1);
    expect(maxCpuGapMs, 'most CPU time between two event-loop turns, in ms').to.be.below(25 + 3 * meter.maxBatchMs);
  });
});

