// Every layer: forward on fixed vectors and a finite-difference check of its
// backward pass (input gradient and every parameter gradient), on each backend.

import { expect } from 'chai';
import { OptionError, ShapeError, Activation, AvgPool2D, Conv2D, ConvLayer, Dense, Dropout, FCLayer, Flatten, MaxPool2D, Rng, Tensor, tensor, type Conv2DOptions, type Pool2DOptions } from '../lib/index.js';
import { checkLayerGradients, expectClose, forEachBackend, randomTensor, withBackend } from './helpers.js';

forEachBackend('layers', () => {
  describe('Dense', () => {
    it('computes X·W + B for a batch', () => {
      const d = new Dense(2, 3);
      d.weights.data.set([1, 2, 3, 4, 5, 6]);
      d.bias.data.set([0.5, 0, -0.5]);
      const y = d.forward(tensor([[1, 0], [1, 1]]));
      expect(y.shape).to.deep.equal([2, 3]);
      expectClose(y.data, [1.5, 2, 2.5, 5.5, 7, 8.5]);
    });

    it('has weights [in,out] and bias [1,out], and FCLayer is Dense', () => {
      const d = new FCLayer(4, 2);
      expect(d).to.be.instanceOf(Dense);
      expect(d.weights.shape).to.deep.equal([4, 2]);
      expect(d.bias.shape).to.deep.equal([1, 2]);
    });

    for (const [inSize, outSize, rows] of [[1, 1, 1], [3, 5, 4], [17, 3, 2]]) {
      it(`gradients match finite differences (${inSize}→${outSize}, batch ${rows})`, () => {
        const d = new Dense(inSize, outSize);
        d.initialize(new Rng(inSize));
        d.bias.data.set(randomTensor([outSize], 3).data);
        checkLayerGradients(d, randomTensor([rows, inSize], 11));
      });
    }

    it('folds leading dimensions into rows (the from-scratch [1,1,n] samples)', () => {
      const d = new Dense(2, 3);
      d.initialize(new Rng(1));
      checkLayerGradients(d, randomTensor([2, 1, 2], 5));
    });

    it('takes an SGD step when backward gets a learning rate', () => {
      const d = new Dense(1, 1);
      d.weights.data[0] = 2;
      d.forward(tensor([[3]]));
      d.backward(tensor([[1]]), 0.1);
      // ∂E/∂W = x·dy = 3, ∂E/∂B = 1
      expect(d.weights.data[0]).to.be.closeTo(2 - 0.3, 1e-6);
      expect(d.bias.data[0]).to.be.closeTo(-0.1, 1e-6);
    });
  });

  describe('Activation', () => {
    for (const kind of ['tanh', 'sigmoid', 'relu', 'linear', 'leakyRelu', 'softmax'] as const) {
      it(`${kind} gradient matches finite differences`, () => {
        checkLayerGradients(new Activation(kind), randomTensor([3, 7], 21, -3, 3), { avoidZero: 0.05 });
      });
    }

    it('softmax rows sum to one; leakyRelu takes its slope', () => {
      const y = new Activation('softmax').forward(randomTensor([4, 6], 3, -5, 5));
      for (let r = 0; r < 4; r++) expect(y.data.subarray(r * 6, r * 6 + 6).reduce((a, b) => a + b, 0)).to.be.closeTo(1, 1e-6);
      expectClose(new Activation('leakyRelu', { alpha: 0.2 }).forward(tensor([[-1, 2]])).data, [-0.2, 2]);
      checkLayerGradients(new Activation('leakyRelu', { alpha: 0.3 }), randomTensor([2, 5], 4, -2, 2), { avoidZero: 0.05 });
      expect(() => new Activation('swish' as never)).to.throw(OptionError, 'expected one of linear, relu, sigmoid, tanh, leakyRelu, softmax or a function for Activation');
    });

    it('accepts a user function and its derivative, as in the from-scratch design', () => {
      const square = new Activation((x) => x * x, (x) => 2 * x);
      expectClose(square.forward(tensor([[1, -2, 3]])).data, [1, 4, 9]);
      checkLayerGradients(square, randomTensor([2, 4], 3));
    });
  });

  describe('Conv2D', () => {
    it('correlates each filter over all channels and adds the bias once per output channel', () => {
      // 2×2×2 input, 2×2 kernel, one filter: one output value.
      const conv = new ConvLayer([2, 2, 2], [2, 2], 1);
      conv.weights.data.fill(1);
      conv.bias.data[0] = 10;
      const x = new Tensor(Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8]), [2, 2, 2]);
      const y = conv.forward(x);
      expect(y.shape).to.deep.equal([1, 1, 1, 1]);
      // Σ x + bias, the bias counted once (the from-scratch ConvLayer counted it per input channel: 36 + 20).
      expect(y.data[0]).to.equal(36 + 10);
    });

    it('its bias gradient is the plain sum of the output gradient per channel', () => {
      const conv = new Conv2D({ filters: 3, kernelSize: 2, inputShape: [4, 4, 2] });
      conv.initialize(new Rng(2));
      const x = randomTensor([2, 4, 4, 2], 3);
      conv.forward(x);
      const dy = randomTensor([2, 3, 3, 3], 4);
      conv.backward(dy);
      const sums = [0, 0, 0];
      for (let i = 0; i < dy.size; i++) sums[i % 3] += dy.data[i];
      expectClose(conv.biasGrad.data, sums, { rtol: 1e-5, atol: 1e-5 });
    });

    const cases: Array<[string, Conv2DOptions, number[]]> = [
      ['depth 1 → 1, 3×3', { filters: 1, kernelSize: 3 }, [1, 5, 5, 1]],
      ['depth 1 → 4, 2×2', { filters: 4, kernelSize: 2 }, [2, 4, 5, 1]],
      ['depth 3 → 2, 3×3', { filters: 2, kernelSize: 3 }, [2, 5, 4, 3]],
      ['depth 2 → 5, 1×3', { filters: 5, kernelSize: [1, 3] }, [1, 3, 6, 2]],
      ['depth 4 → 3, 3×3 stride 2', { filters: 3, kernelSize: 3, strides: 2 }, [2, 7, 6, 4]],
      ['depth 2 → 3, 3×3 same', { filters: 3, kernelSize: 3, padding: 'same' }, [1, 5, 5, 2]],
      ['depth 3 → 2, 2×2 same stride 2', { filters: 2, kernelSize: 2, strides: 2, padding: 'same' }, [2, 5, 5, 3]],
    ];
    for (const [label, options, shape] of cases) {
      it(`gradients (weights, bias, input) match finite differences: ${label}`, () => {
        const conv = new Conv2D(options);
        conv.initialize(new Rng(shape.length + shape[3]));
        conv.forward(randomTensor(shape, 1));
        conv.bias.data.set(randomTensor([conv.filters], 9).data);
        checkLayerGradients(conv, randomTensor(shape, 2));
      });
    }

    it("gives TensorFlow's 'same' output sizes", () => {
      const conv = new Conv2D({ filters: 2, kernelSize: 3, strides: 2, padding: 'same' });
      expect(conv.outputShapeFor([1, 7, 8, 1])).to.deep.equal([1, 4, 4, 2]);
      expect(new Conv2D({ filters: 1, kernelSize: 3 }).outputShapeFor([1, 7, 8, 1])).to.deep.equal([1, 5, 6, 1]);
    });

    it('rejects an input whose depth differs from its filters', () => {
      const conv = new Conv2D({ filters: 2, kernelSize: 2, inputShape: [4, 4, 3] });
      expect(() => conv.forward(Tensor.zeros([1, 4, 4, 2]))).to.throw(ShapeError, 'expected [*,*,*,3] for Conv2D input but got [1,4,4,2]');
      expect(() => conv.forward(Tensor.zeros([1, 1, 1, 3]))).to.throw(ShapeError, 'smaller than the kernel');
    });
  });

  describe('Dense and Conv2D with a built-in activation', () => {
    it('Dense({ activation }) equals Dense then Activation, gradients included', () => {
      const fused = new Dense(4, 3, { activation: 'tanh' });
      fused.initialize(new Rng(1));
      const plain = new Dense(4, 3);
      plain.initialize(new Rng(1));
      const x = randomTensor([2, 4], 2);
      expectClose(fused.forward(x).data, new Activation('tanh').forward(plain.forward(x)).data);
      checkLayerGradients(fused, x);
    });

    it('Conv2D({ activation, padding }) gradients match finite differences', () => {
      const conv = new Conv2D({ filters: 2, kernelSize: 3, padding: 'same', activation: 'sigmoid', inputShape: [4, 4, 2] });
      conv.initialize(new Rng(3));
      checkLayerGradients(conv, randomTensor([2, 4, 4, 2], 5));
    });

    it('initialisers have the intended spread and are seeded', () => {
      for (const [name, expectedStd] of [['heNormal', Math.sqrt(2 / 400)], ['glorotNormal', Math.sqrt(2 / 500)], ['heUniform', Math.sqrt(6 / 400) / Math.sqrt(3)], ['glorotUniform', Math.sqrt(6 / 500) / Math.sqrt(3)]] as const) {
        const d = new Dense(400, 100, { kernelInitializer: name });
        d.initialize(new Rng(9));
        const w = d.weights.data;
        const mean = w.reduce((a, b) => a + b, 0) / w.length;
        const std = Math.sqrt(w.reduce((a, b) => a + (b - mean) ** 2, 0) / w.length);
        expect(std, name).to.be.closeTo(expectedStd, expectedStd * 0.05);
        const again = new Dense(400, 100, { kernelInitializer: name });
        again.initialize(new Rng(9));
        expect(Array.from(again.weights.data.subarray(0, 50)), name).to.deep.equal(Array.from(w.subarray(0, 50)));
      }
      const z = new Dense(3, 2, { kernelInitializer: 'zeros' });
      expect(Array.from(z.weights.data)).to.deep.equal([0, 0, 0, 0, 0, 0]);
      expect(() => new Dense(3, 2, { kernelInitializer: 'ones' as never })).to.throw(OptionError, "for Dense kernelInitializer but got string 'ones'");
    });
  });

  describe('MaxPool2D and AvgPool2D', () => {
    it('max-pools 2×2 windows of a fixed image and routes the gradient to the winners', () => {
      const pool = new MaxPool2D();
      const x = new Tensor(Float32Array.from([1, 2, 5, 6, 3, 4, 8, 7, 9, 0, 1, 1, 0, 0, 1, 2]), [1, 4, 4, 1]);
      expectClose(pool.forward(x).data, [4, 8, 9, 2]);
      expectClose(pool.backward(new Tensor(Float32Array.from([1, 2, 3, 4]), [1, 2, 2, 1])).data, [0, 0, 0, 0, 0, 1, 2, 0, 3, 0, 0, 0, 0, 0, 0, 4]);
    });

    it('max-pools the same at inference (no winners recorded) as in training, and backward after either routes alike', () => {
      const x = randomTensor([3, 6, 5, 17], 9);
      x.data[4] = x.data[4 + 17]; // a tie inside one window
      const dy = randomTensor([3, 3, 2, 17], 10);
      const trained = new MaxPool2D(), inferred = new MaxPool2D();
      const yTrain = trained.forward(x, true).data.slice(), yInfer = inferred.forward(x, false).data.slice();
      expect(Array.from(yInfer)).to.deep.equal(Array.from(yTrain));
      expect(Array.from(inferred.backward(dy).data)).to.deep.equal(Array.from(trained.backward(dy).data));
      // An inference pass after a training one must not leave the old winners behind.
      const x2 = randomTensor([3, 6, 5, 17], 11);
      trained.forward(x2, false);
      inferred.forward(x2, true);
      expect(Array.from(trained.backward(dy).data)).to.deep.equal(Array.from(inferred.backward(dy).data));
    });

    const cases: Array<[string, Pool2DOptions, number[]]> = [
      ['2×2 valid', {}, [2, 4, 6, 3]],
      ['3×3 stride 2 valid', { poolSize: 3, strides: 2 }, [1, 7, 7, 2]],
      ['2×2 same on odd sizes', { padding: 'same' }, [2, 5, 3, 2]],
      ['3×2 stride 1 same', { poolSize: [3, 2], strides: 1, padding: 'same' }, [1, 4, 5, 1]],
    ];
    for (const [label, options, shape] of cases) {
      it(`gradients match finite differences: ${label}`, () => {
        // Distinct, well-separated values keep the max away from ties.
        const x = randomTensor(shape, 4);
        const order = Array.from(x.data.keys()).sort((a, b) => x.data[a] - x.data[b]);
        order.forEach((idx, rank) => (x.data[idx] = rank * 0.1 - 1));
        checkLayerGradients(new MaxPool2D(options), x, { eps: 1e-3 });
        checkLayerGradients(new AvgPool2D(options), x);
      });
    }

    it('gives TensorFlow output sizes', () => {
      expect(new MaxPool2D({ padding: 'same' }).forward(Tensor.zeros([1, 5, 3, 2])).shape).to.deep.equal([1, 3, 2, 2]);
      expect(new AvgPool2D({ poolSize: 3, strides: 2 }).forward(Tensor.zeros([1, 7, 8, 1])).shape).to.deep.equal([1, 3, 3, 1]);
      expect(() => new MaxPool2D({ poolSize: 3 }).forward(Tensor.zeros([1, 2, 2, 1]))).to.throw(ShapeError, 'is smaller than the pool [3,3]');
      expect(() => new MaxPool2D().forward(Tensor.zeros([4, 4]))).to.throw(ShapeError, 'expected [n,h,w,channels] for MaxPool2D input but got [4,4]');
    });
  });

  describe('Dropout', () => {
    it('is the identity unless training', () => {
      const d = new Dropout(0.5);
      const x = randomTensor([3, 4], 1);
      expect(d.forward(x).data).to.equal(x.data);
    });

    it('zeroes about `rate` of the inputs, scales the rest by 1/(1−rate), and masks the gradient the same way', () => {
      const d = new Dropout(0.25);
      d.setRandomSource(new Rng(3));
      const x = Tensor.from(new Float32Array(10000).fill(2)).reshape([100, 100]);
      const y = d.forward(x, true);
      const dropped = y.data.filter((v) => v === 0).length;
      expect(dropped / 10000).to.be.closeTo(0.25, 0.02);
      expect(y.data.every((v) => v === 0 || Math.abs(v - 2 / 0.75) < 1e-6)).to.equal(true);
      const g = d.backward(Tensor.from(new Float32Array(10000).fill(1)).reshape([100, 100]));
      for (let i = 0; i < 10000; i++) expect(g.data[i] === 0).to.equal(y.data[i] === 0);
      expect(() => new Dropout(1)).to.throw(OptionError, 'expected a rate in [0, 1) for Dropout but got number 1');
    });

    it('repeats the same mask for the same seed', () => {
      const masks = [1, 1, 2].map((seed) => {
        const d = new Dropout(0.5);
        d.setRandomSource(new Rng(seed));
        return Array.from(d.forward(Tensor.from(new Float32Array(64).fill(1)), true).data);
      });
      expect(masks[0]).to.deep.equal(masks[1]);
      expect(masks[0]).to.not.deep.equal(masks[2]);
    });
  });

  describe('Flatten', () => {
    it('maps [n,h,w,c] to [n,h·w·c] and back', () => {
      const f = new Flatten();
      const x = randomTensor([2, 3, 2, 2], 1);
      const y = f.forward(x);
      expect(y.shape).to.deep.equal([2, 12]);
      expect(f.backward(y).shape).to.deep.equal([2, 3, 2, 2]);
      checkLayerGradients(f, x);
    });
  });
});

describe('layers: native vs js on the same inputs', () => {
  const cases: Array<[string, () => import('../lib/index.js').Layer, number[]]> = [
    ['Dense 17→3 with relu', () => new Dense(17, 3, { activation: 'relu' }), [5, 17]],
    ['Conv2D 3×3 same stride 2, 3→4', () => new Conv2D({ filters: 4, kernelSize: 3, strides: 2, padding: 'same', inputShape: [9, 7, 3] }), [2, 9, 7, 3]],
    ['Conv2D 2×2 valid, 1→8', () => new Conv2D({ filters: 8, kernelSize: 2, inputShape: [6, 6, 1] }), [3, 6, 6, 1]],
    ['MaxPool2D 3×3 stride 2 same', () => new MaxPool2D({ poolSize: 3, strides: 2, padding: 'same' }), [2, 7, 5, 3]],
    ['AvgPool2D 2×2 valid', () => new AvgPool2D(), [2, 6, 4, 2]],
    ['softmax', () => new Activation('softmax'), [4, 10]],
    ['leakyRelu', () => new Activation('leakyRelu', { alpha: 0.1 }), [3, 17]],
  ];
  for (const [label, make, shape] of cases) {
    it(label, () => {
      const run = (backend: 'js' | 'native') => withBackend(backend, () => {
        const layer = make();
        layer.initialize(new Rng(4));
        const x = randomTensor(shape, 5);
        const y = layer.forward(x);
        const dx = layer.backward(randomTensor([...y.shape], 6));
        return { y: y.data, dx: dx.data, grads: layer.parameters().map((p) => p.grad.data) };
      });
      const js = run('js'), native = run('native');
      expectClose(native.y, js.y, { rtol: 1e-4, atol: 1e-5, what: 'Y' });
      expectClose(native.dx, js.dx, { rtol: 1e-4, atol: 1e-5, what: '∂E/∂X' });
      native.grads.forEach((g, i) => expectClose(g, js.grads[i], { rtol: 1e-4, atol: 1e-4, what: `parameter ${i} gradient` }));
    });
  }
});
