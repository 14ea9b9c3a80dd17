// Plain SGD folded into Dense's weight-gradient product (W ← W − lr·Xᵀ·dY in
// one GEMM): the same training as the separate gradient and axpy step, and
// the explicit gradient kept wherever something may read it.

import { expect } from 'chai';
import { getBackend } from '../lib/backends/index.js';
import {
  Activation, Conv2D, Dense, Flatten, Layer, MaxPool2D, Network, SGD, Tensor, exponentialDecay,
  type Optimizer, type OptimizerConfig, type OptimizerState, type Parameter,
} from '../lib/index.js';
import { expectClose, forEachBackend, randomTensor } from './helpers.js';

/** Plain SGD that fit cannot fold (no foldableRate): the separate step every other optimizer takes. */
class UnfoldedSgd implements Optimizer {
  readonly name = 'sgd';
  constructor(public learningRate: number) {}
  step(parameters: Parameter[]): void {
    for (const p of parameters) getBackend().axpy(-this.learningRate, p.grad.data, p.value.data);
  }
  reset(): void {}
  getConfig(): OptimizerConfig { return { name: 'sgd', learningRate: this.learningRate }; }
  getState(parameters: Parameter[]): OptimizerState { return { steps: parameters.map(() => 0), slots: parameters.map(() => []) }; }
  setState(): void {}
}

function mlp(between?: Layer): Network {
  const net = new Network({ seed: 7 }).add(new Dense(20, 16, { activation: 'relu' }));
  return (between ? net.add(between) : net)
    .add(new Dense(16, 4))
    .add(new Activation('softmax'))
    .use('sparseCategoricalCrossEntropy');
}

function cnn(): Network {
  return new Network({ seed: 7 })
    .add(new Conv2D({ filters: 4, kernelSize: 3, activation: 'relu', inputShape: [8, 8, 1] }))
    .add(new MaxPool2D({ poolSize: 2 }))
    .add(new Flatten())
    .add(new Dense(3 * 3 * 4, 4))
    .add(new Activation('softmax'))
    .use('sparseCategoricalCrossEntropy');
}

/** Y = 2X into an array it keeps and rewrites on every call, as a custom layer may. */
class Doubler extends Layer {
  private out = new Tensor(new Float32Array(0), [0]);
  private grad = new Tensor(new Float32Array(0), [0]);
  forward(input: Tensor): Tensor {
    return twice(input, this.out.size === input.size ? this.out : (this.out = Tensor.zeros(input.shape)));
  }
  backward(outputGradient: Tensor): Tensor {
    return twice(outputGradient, this.grad.size === outputGradient.size ? this.grad : (this.grad = Tensor.zeros(outputGradient.shape)));
  }
}
const twice = (x: Tensor, into: Tensor): Tensor => {
  x.data.forEach((v, i) => { into.data[i] = 2 * v; });
  return into;
};

/**
 * Fits build() with plain SGD on 3 batches of 8, in order; after batch b the
 * callback runs disturb[b], then reads every Dense's weight gradient (through
 * parameters() objects taken before fit, and weightsGrad). Each must be what
 * the unfolded step writes from the same weights and batch, bit for bit, and
 * the weights those of a fit without callback.
 */
async function expectUnfoldedGradientsRead(build: () => Network, disturb: Array<(net: Network) => unknown>): Promise<void> {
  const x = randomTensor([24, 20], 20), y = labels(24);
  const options = { epochs: 1, batchSize: 8, shuffle: false } as const;
  const denses = (net: Network) => net.layers.filter((layer): layer is Dense => layer instanceof Dense);
  const net = build();
  net.build([20]);
  const [first, second] = denses(net);
  const firstWeights = first.parameters()[0];
  const weightsBefore = [net.getWeights()], read: Float32Array[][] = [];
  await net.fit(x, y, { ...options, optimizer: 'sgd', learningRate: 0.1, onBatchEnd: (batch) => {
    disturb[batch - 1](net);
    read.push([firstWeights.grad.data.slice(), second.weightsGrad.data.slice()]);
    weightsBefore.push(net.getWeights());
  } });
  expect(read.length).to.equal(3);
  for (let batch = 0; batch < 3; batch++) {
    const unfolded = build();
    unfolded.build([20]);
    unfolded.setWeights(weightsBefore[batch]);
    await unfolded.fit(x.slice(batch * 8, batch * 8 + 8), y.slice(batch * 8, batch * 8 + 8), { ...options, optimizer: new UnfoldedSgd(0.1) });
    denses(unfolded).forEach((layer, i) => expect(Array.from(read[batch][i])).to.deep.equal(Array.from(layer.weightsGrad.data)));
  }
  const plain = build();
  await plain.fit(x, y, { ...options, optimizer: 'sgd', learningRate: 0.1 });
  plain.getWeights().forEach((w, i) => expect(Array.from(w)).to.deep.equal(Array.from(net.getWeights()[i])));
}

const labels = (n: number) => new Tensor(Float32Array.from({ length: n }, (_, i) => (i * 7) % 4), [n]);

forEachBackend('SGD folded into the weight-gradient product', (backend) => {
  const cases: Array<[string, () => Network, number[]]> = [['MLP', mlp, [45, 20]], ['CNN', cnn, [45, 8, 8, 1]]];
  for (const [name, build, shape] of cases) {
    it(`${name}: fit with plain SGD gives the weights of the separate gradient and step${backend === 'js' ? ', bit for bit' : ''}`, async () => {
      const x = randomTensor(shape, 11), y = labels(shape[0]);
      const options = { epochs: 2, batchSize: 8, seed: 3 };
      const folded = build(), separate = build();
      await folded.fit(x, y, { ...options, optimizer: 'sgd', learningRate: 0.1 });
      await separate.fit(x, y, { ...options, optimizer: new UnfoldedSgd(0.1) });
      const a = folded.getWeights(), b = separate.getWeights();
      expect(a.length).to.equal(b.length);
      // The JS GEMM rounds the product to float32 before scaling it, as the stored gradient is;
      // the native one fuses the last multiply-add that its axpy rounds twice.
      a.forEach((w, i) => (backend === 'js' ? expect(Array.from(w)).to.deep.equal(Array.from(b[i])) : expectClose(w, b[i], { rtol: 1e-4, atol: 1e-5 })));
      // And training moved the weights at all.
      const untrained = build();
      untrained.build(shape.slice(1));
      expect(untrained.getWeights()[0].some((v, i) => v !== a[0][i])).to.equal(true);
    });
  }

  it('follows a learning-rate schedule step by step', async () => {
    const x = randomTensor([40, 20], 12), y = labels(40);
    const schedule = exponentialDecay({ initialLearningRate: 0.2, decayRate: 0.5, decaySteps: 2 });
    const folded = mlp(), separate = mlp();
    await folded.fit(x, y, { epochs: 1, batchSize: 8, seed: 1, optimizer: 'sgd', learningRate: schedule });
    // Clipping (at a bound no gradient reaches) turns folding off: the same built-in SGD and schedule, stepped separately.
    await separate.fit(x, y, { epochs: 1, batchSize: 8, seed: 1, optimizer: { name: 'sgd', clipValue: 1e30 }, learningRate: schedule });
    const b = separate.getWeights();
    folded.getWeights().forEach((w, i) => (backend === 'js' ? expect(Array.from(w)).to.deep.equal(Array.from(b[i])) : expectClose(w, b[i], { rtol: 1e-4, atol: 1e-5 })));
    // The rate decays over these 5 steps, so a fold that used one rate throughout would not match.
    const probe = new SGD({ learningRate: schedule });
    const first = probe.foldableRate()!;
    for (let step = 0; step < 4; step++) probe.step([]);
    expect(probe.foldableRate()).to.be.lessThan(first / 3);
  });

  it('keeps writing the weight gradient when a batch callback could read it, or the optimizer is not plain SGD', async () => {
    const x = randomTensor([16, 20], 13), y = labels(16);
    for (const optimizer of [{ name: 'sgd', momentum: 0.9 } as const, { name: 'sgd', clipValue: 10 } as const, 'adam' as const, 'sgd' as const]) {
      const net = mlp();
      const first = net.layers[0] as Dense;
      let seen = 0;
      const onBatchEnd = optimizer === 'sgd' ? () => { seen += first.weightsGrad.data.some((v) => v !== 0) ? 1 : 0; } : undefined;
      net.build([20]);
      first.weightsGrad.data.fill(0);
      await net.fit(x, y, { epochs: 1, batchSize: 8, seed: 2, optimizer, learningRate: 0.05, onBatchEnd });
      expect(first.weightsGrad.data.some((v) => v !== 0), JSON.stringify(optimizer)).to.equal(true);
      if (onBatchEnd) expect(seen).to.equal(2);
    }
  });

  it('gives bit-identical weights with and without a batch callback (which gets the gradient written too)', async () => {
    const x = randomTensor([45, 8, 8, 1], 18), y = labels(45);
    const plain = cnn(), watched = cnn();
    const options = { epochs: 1, batchSize: 8, seed: 5, optimizer: 'sgd', learningRate: 0.1 } as const;
    await plain.fit(x, y, options);
    const dense = watched.layers[3] as Dense;
    const seen: Float32Array[] = [];
    await watched.fit(x, y, { ...options, onBatchEnd: () => { seen.push(dense.weightsGrad.data.slice()); } });
    plain.getWeights().forEach((w, i) => expect(Array.from(w)).to.deep.equal(Array.from(watched.getWeights()[i])));
    // Each batch's own gradient, not one left over.
    expect(seen.length).to.equal(6);
    expect(seen[0].some((v, i) => v !== seen[1][i])).to.equal(true);
    expect(seen[5].some((v) => v !== 0)).to.equal(true);
  });

  it('leaves the weight gradient unwritten when folded, and the tutorial backward(grad, rate) untouched', async () => {
    const net = mlp();
    net.build([20]);
    const first = net.layers[0] as Dense;
    first.weightsGrad.data.fill(0);
    await net.fit(randomTensor([16, 20], 14), labels(16), { epochs: 1, batchSize: 8, optimizer: 'sgd', learningRate: 0.05 });
    expect(first.weightsGrad.data.every((v) => v === 0)).to.equal(true);
    expect(first.foldedSgd).to.equal(undefined);
    // Called by hand with a rate, backward still writes the gradient and then steps.
    const before = first.weights.data.slice();
    const out = first.forward(randomTensor([3, 20], 15));
    first.backward(randomTensor([...out.shape], 16), 0.1);
    expect(first.weightsGrad.data.some((v) => v !== 0)).to.equal(true);
    const expected = before.slice();
    getBackend().axpy(-0.1, first.weightsGrad.data, expected);
    expect(Array.from(first.weights.data)).to.deep.equal(Array.from(expected));
  });

  it('computes the weight gradient under a batch callback only when read', async () => {
    const x = randomTensor([24, 20], 19), y = labels(24);
    const backend = getBackend(), matmul = backend.matmul;
    const products = async (onBatchEnd?: (net: Network) => void): Promise<number> => {
      const net = mlp();
      let calls = 0;
      backend.matmul = (...args) => { calls++; return matmul.apply(backend, args); };
      try {
        await net.fit(x, y, { epochs: 1, batchSize: 8, seed: 2, optimizer: 'sgd', learningRate: 0.1, onBatchEnd: onBatchEnd && (() => onBatchEnd(net)) });
      } finally {
        backend.matmul = matmul;
      }
      return calls;
    };
    const plain = await products();
    // An empty callback: no product per step, only the last step's two gradients as fit ends (left readable).
    expect(await products(() => {})).to.equal(plain + 2);
    // The first layer's gradient read after each of the 3 batches: one product per read, the second layer's last at the end.
    expect(await products((net) => net.layers[0].parameters()[0].grad)).to.equal(plain + 3 + 1);
  });

  it('gives a callback the gradients the unfolded step writes, bit for bit, even after a predict, evaluate or layer forward in it', async () => {
    const other = randomTensor([5, 20], 21);
    await expectUnfoldedGradientsRead(mlp, [(net) => net.predict(other), (net) => net.evaluate(other, labels(5), { batchSize: 3 }), (net) => net.layers[0].forward(other)]);
  });

  it('also behind a layer that reuses memory of its own, when a callback predicts', async () => {
    const other = randomTensor([8, 20], 22);
    await expectUnfoldedGradientsRead(() => mlp(new Doubler()), [(net) => net.predict(other), (net) => net.predict(other), (net) => net.predict(other)]);
  });

  it('is deterministic: the same seed gives bit-identical weights', async () => {
    const x = randomTensor([45, 8, 8, 1], 17), y = labels(45);
    const runs = [cnn(), cnn()];
    for (const net of runs) await net.fit(x, y, { epochs: 1, batchSize: 8, seed: 4, optimizer: 'sgd', learningRate: 0.1 });
    runs[0].getWeights().forEach((w, i) => expect(Array.from(w)).to.deep.equal(Array.from(runs[1].getWeights()[i])));
  });
});
