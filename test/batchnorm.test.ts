// BatchNormalization: finite differences, native against JS at awkward
// sizes, PyTorch parity (forward, gradients, three Adam steps, eval output),
// running statistics as saved state, and its errors.

import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  Adam, BatchNormalization, Conv2D, Dense, Flatten, Network, OptionError, ShapeError, StateError, Tensor, Activation,
} from '../lib/index.js';
import { checkLayerGradients, expectClose, forEachBackend, randomTensor, withBackend } from './helpers.js';

interface TorchCase {
  shape: number[]; momentum: number; epsilon: number;
  x: number[]; x2: number[]; dy: number[]; gamma: number[]; beta: number[];
  y: number[]; dx: number[]; dgamma: number[]; dbeta: number[];
  afterAdam: { gamma: number[]; beta: number[]; runningMean: number[]; runningVar: number[] };
  evalY: number[];
}
const reference = JSON.parse(readFileSync(path.join(__dirname, 'fixtures', 'batchnorm-reference.json'), 'utf8')) as { cases: Record<string, TorchCase> };

function layerFor(c: TorchCase): BatchNormalization {
  const bn = new BatchNormalization({ momentum: c.momentum, epsilon: c.epsilon, features: c.shape.at(-1) });
  const [gamma, beta] = bn.parameters();
  gamma.value.data.set(c.gamma);
  beta.value.data.set(c.beta);
  return bn;
}

forEachBackend('BatchNormalization', () => {
  for (const [name, c] of Object.entries(reference.cases)) {
    it(`matches PyTorch on ${name}: output, gradients, three Adam steps, running statistics, eval output`, () => {
      const tol = { rtol: 1e-4, atol: 1e-5 };
      const x = new Tensor(Float32Array.from(c.x), c.shape);
      const dy = new Tensor(Float32Array.from(c.dy), c.shape);
      const bn = layerFor(c);
      expectClose(bn.forward(x, true).data, c.y, { ...tol, what: 'y' });
      expectClose(bn.backward(dy).data, c.dx, { ...tol, what: 'dx' });
      const [gamma, beta] = bn.parameters();
      expectClose(gamma.grad.data, c.dgamma, { ...tol, what: 'dgamma' });
      expectClose(beta.grad.data, c.dbeta, { ...tol, what: 'dbeta' });

      const trained = layerFor(c);
      const adam = new Adam({ learningRate: 0.01, epsilon: 1e-8 });
      for (let step = 0; step < 3; step++) {
        trained.forward(x, true);
        trained.backward(dy);
        adam.step(trained.parameters());
      }
      const [g, b] = trained.parameters();
      const [runningMean, runningVar] = trained.stateTensors();
      expectClose(g.value.data, c.afterAdam.gamma, { ...tol, what: 'gamma after 3 Adam steps' });
      expectClose(b.value.data, c.afterAdam.beta, { ...tol, what: 'beta after 3 Adam steps' });
      expectClose(runningMean.value.data, c.afterAdam.runningMean, { ...tol, what: 'running mean' });
      expectClose(runningVar.value.data, c.afterAdam.runningVar, { ...tol, what: 'running variance (unbiased batch variance)' });
      expectClose(trained.forward(new Tensor(Float32Array.from(c.x2), c.shape)).data, c.evalY, { ...tol, what: 'eval-mode output' });
    });
  }

  it('passes finite-difference checks in training mode, for features and for image channels', () => {
    checkLayerGradients(new BatchNormalization(), randomTensor([6, 4], 1, -2, 2), { training: true, eps: 1e-2, rtol: 3e-2, atol: 3e-3 });
    const bn = new BatchNormalization();
    checkLayerGradients(bn, randomTensor([2, 3, 3, 5], 2, -2, 2), { training: true, eps: 1e-2, rtol: 3e-2, atol: 3e-3 });
  });

  it('clear errors: a 1-sample training batch, a wrong channel count, bad options, backward without a training forward', () => {
    const bn = new BatchNormalization();
    expect(() => bn.forward(Tensor.zeros([1, 3]), true)).to.throw(ShapeError, 'BatchNormalization needs at least 2 values per channel in training');
    expect(bn.forward(Tensor.zeros([1, 3])).shape).to.deep.equal([1, 3]); // inference is fine on one sample
    expect(() => bn.forward(Tensor.zeros([2, 4]), true)).to.throw(ShapeError, 'expected [*,3] for BatchNormalization input but got [2,4]');
    expect(() => new BatchNormalization({ momentum: 1 })).to.throw(OptionError, 'expected a number in [0, 1) for BatchNormalization momentum');
    expect(() => new BatchNormalization({ epsilon: 0 })).to.throw(OptionError, 'expected a positive number for BatchNormalization epsilon');
    expect(() => new BatchNormalization({ momentun: 0.9 } as never)).to.throw(OptionError, "unknown option 'momentun' in BatchNormalization options (did you mean 'momentum'?)");
    expect(() => new BatchNormalization().backward(Tensor.zeros([2, 3]))).to.throw(StateError, 'needs a forward pass in training mode first');
  });

  it('fit uses batch statistics and moves the running ones; predict uses the running ones', async () => {
    const x = randomTensor([64, 3], 3, 4, 6);
    const y = randomTensor([64, 1], 4);
    const net = new Network({ seed: 1 }).add(new BatchNormalization({ momentum: 0.5, features: 3 })).add(new Dense(3, 1)).use('mse');
    const [mean] = net.stateTensors();
    expect(Array.from(mean.value.data)).to.deep.equal([0, 0, 0]);
    await net.fit(x, y, { epochs: 2, batchSize: 16 });
    for (const m of mean.value.data) expect(m).to.be.within(4.5, 5.5);
    // A network whose BatchNormalization learns its width from the data builds it before training starts.
    const lazy = new Network({ seed: 1 }).add(new BatchNormalization()).add(new Dense(3, 1)).use('mse');
    await lazy.fit(x, y, { epochs: 1, batchSize: 16 });
    expect(lazy.stateTensors()).to.have.length(2);
    // Inference uses no batch statistics: one sample alone gives what it gives in a batch (up to GEMM rounding).
    const all = net.predict(x);
    expect(net.predict(x.slice(5, 6)).data[0]).to.be.closeTo(all.data[5], 1e-5);
  });
});

describe('BatchNormalization across backends and files', () => {
  for (const [rows, cols] of [[1, 1], [3, 3], [17, 5], [129, 17], [2, 129]]) {
    it(`native matches JS at [${rows},${cols}] (training forward and backward, inference)`, () => {
      const x = randomTensor([rows + 1, cols], rows * 31 + cols, -3, 3);
      const dy = randomTensor([rows + 1, cols], rows + 7);
      const run = (backend: 'js' | 'native') => withBackend(backend, () => {
        const bn = new BatchNormalization({ features: cols });
        bn.parameters()[0].value.data.set(randomTensor([cols], 5, 0.5, 1.5).data);
        const y = bn.forward(x, true);
        const dx = bn.backward(dy);
        const inference = bn.forward(x);
        return { y: y.data, dx: dx.data, dgamma: bn.parameters()[0].grad.data, inference: inference.data, running: bn.stateTensors()[1].value.data };
      });
      const js = run('js'), native = run('native');
      for (const key of ['y', 'dx', 'dgamma', 'inference', 'running'] as const) expectClose(native[key], js[key], { rtol: 1e-4, atol: 1e-5, what: key });
    });
  }

  it('saves and loads bit-identically, running statistics included, and carries them through getWeights/setWeights', async () => {
    const build = () => new Network({ seed: 2 })
      .add(new Conv2D({ filters: 4, kernelSize: 3, inputShape: [6, 6, 1] })).add(new BatchNormalization({ features: 4 })).add(new Activation('relu'))
      .add(new Flatten()).add(new Dense(64, 3)).add(new BatchNormalization({ features: 3 })).add(new Activation('softmax')).use('sparseCategoricalCrossEntropy');
    const x = randomTensor([24, 6, 6, 1], 8);
    const labels = new Tensor(Float32Array.from({ length: 24 }, (_, i) => i % 3), [24]);
    const net = build();
    await net.fit(x, labels, { epochs: 2, batchSize: 8, optimizer: 'adam' });
    expect(net.stateTensors()).to.have.length(4);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'layerwise-bn-'));
    try {
      await net.save(dir);
      const loaded = await Network.load(dir);
      expect(loaded.getWeights().map((w) => Array.from(w))).to.deep.equal(net.getWeights().map((w) => Array.from(w)));
      expect(Array.from(loaded.predict(x).data)).to.deep.equal(Array.from(net.predict(x).data));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const copy = build();
    copy.setWeights(net.getWeights());
    expect(Array.from(copy.predict(x).data)).to.deep.equal(Array.from(net.predict(x).data));
  });
});
