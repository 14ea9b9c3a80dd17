// One conformance suite for every backend (fixed vectors worked by hand),
// then native against JS on random inputs of awkward sizes.

import { expect } from 'chai';
import { jsBackend, nativeAvailable, nativeBinding, getBackend, setBackend } from '../lib/backends/index.js';
import { ACTIVATION_KINDS, type ActivationKind, type Backend, type ConvGeometry, type PoolGeometry } from '../lib/backends/backend.js';
import { expectClose, forEachBackend, randomArray } from './helpers.js';

const f32 = (...v: number[]) => Float32Array.from(v);

forEachBackend('kernels', () => {
  const k = (): Backend => getBackend();

  it('matmul: plain, transposed either side, and accumulating', () => {
    const a = f32(1, 2, 3, 4, 5, 6); // [2,3]
    const b = f32(7, 8, 9, 10, 11, 12); // [3,2]
    const c = new Float32Array(4);
    k().matmul(a, b, c, 2, 2, 3, false, false, false);
    expectClose(c, [58, 64, 139, 154]);
    const at = f32(1, 4, 2, 5, 3, 6); // a stored [3,2]
    const bt = f32(7, 9, 11, 8, 10, 12); // b stored [2,3]
    k().matmul(at, bt, c, 2, 2, 3, true, true, false);
    expectClose(c, [58, 64, 139, 154]);
    k().matmul(at, b, c, 2, 2, 3, true, false, true);
    expectClose(c, [116, 128, 278, 308]);
    k().matmul(a, bt, c, 2, 2, 3, false, true, false);
    expectClose(c, [58, 64, 139, 154]);
  });

  it('matmul with alpha scales the product, overwriting or accumulating (an SGD step folded into Xᵀ·dY)', () => {
    const at = f32(1, 4, 2, 5, 3, 6); // a [2,3] stored [3,2]
    const b = f32(7, 8, 9, 10, 11, 12); // [3,2]
    const c = f32(1, 2, 3, 4);
    k().matmul(at, b, c, 2, 2, 3, true, false, true, -0.5);
    expectClose(c, [1 - 29, 2 - 32, 3 - 69.5, 4 - 77]);
    k().matmul(at, b, c, 2, 2, 3, true, false, false, 2);
    expectClose(c, [116, 128, 278, 308]);
    // Shapes of a Dense weight step (batch 32 as the depth, both GEMM paths): the stored product scaled
    // and added, as axpy would add it. Exact on the JS backend; within a rounding on native, whose
    // GEMM fuses the multiply-add that the axpy there rounds twice.
    for (const [m, n, depth] of [[784, 128, 32], [37, 19, 5]]) {
      const x = randomArray(depth * m, 3), dy = randomArray(depth * n, 4), w = randomArray(m * n, 5);
      const product = new Float32Array(m * n);
      k().matmul(x, dy, product, m, n, depth, true, false, false);
      const expected = w.slice();
      k().axpy(-0.05, product, expected);
      const folded = w.slice();
      k().matmul(x, dy, folded, m, n, depth, true, false, true, -0.05);
      if (k().name === 'js') expect(Array.from(folded)).to.deep.equal(Array.from(expected));
      else expectClose(folded, expected, { rtol: 1e-6, atol: 1e-6 });
      expect(folded.some((v, i) => v !== w[i])).to.equal(true);
    }
  });

  it('conv2dBackwardFilterPooled: the filter gradient of the scattered pool gradient, without writing it', () => {
    // [name, conv geometry, pool size]: the npm-start CNN's first conv (one input channel, 'same'), channels in whole,
    // half and single lanes (19), three input channels, a stride-2 conv, leftover rows and columns under a 3×3 pool.
    const cases: Array<[string, ConvGeometry, number]> = [
      ['28×28×1→16 same, pool 2', { n: 3, inH: 28, inW: 28, inC: 1, kH: 3, kW: 3, outC: 16, strideH: 1, strideW: 1, padTop: 1, padLeft: 1, outH: 28, outW: 28 }, 2],
      ['9×9×3→19 valid, pool 2', { n: 2, inH: 9, inW: 9, inC: 3, kH: 3, kW: 3, outC: 19, strideH: 1, strideW: 1, padTop: 0, padLeft: 0, outH: 7, outW: 7 }, 2],
      ['11×10×2→5 stride 2, 2×3 kernel, pool 3', { n: 2, inH: 11, inW: 10, inC: 2, kH: 2, kW: 3, outC: 5, strideH: 2, strideW: 2, padTop: 1, padLeft: 0, outH: 6, outW: 4 }, 3],
    ];
    for (const [name, g, p] of cases) {
      const pool: PoolGeometry = { n: g.n, inH: g.outH, inW: g.outW, c: g.outC, poolH: p, poolW: p, strideH: p, strideW: p, padTop: 0, padLeft: 0,
        outH: Math.floor(g.outH / p), outW: Math.floor(g.outW / p) };
      const x = randomArray(g.n * g.inH * g.inW * g.inC, 21), convOut = randomArray(g.n * g.outH * g.outW * g.outC, 22);
      const pooled = pool.n * pool.outH * pool.outW * pool.c;
      const t = randomArray(pooled, 23), argmax = new Int32Array(pooled);
      k().maxPool2dForward(convOut, new Float32Array(pooled), argmax, pool);
      for (const corrupt of [false, true]) {
        // A winner named twice and one outside its window: the kernel must still scatter exactly what argmax says.
        if (corrupt) { argmax[1] = argmax[0]; argmax[pooled - 1] = argmax[0]; }
        const dy = new Float32Array(convOut.length);
        k().maxPool2dBackward(t, argmax, dy, pool);
        const want = new Float32Array(g.kH * g.kW * g.inC * g.outC);
        k().conv2dBackwardFilter(x, dy, want, g, false);
        const got = new Float32Array(want.length).fill(7);
        k().conv2dBackwardFilterPooled(x, t, argmax, got, g, pool);
        expectClose(got, want, { rtol: 1e-4, atol: 1e-5, what: `${name}${corrupt ? ', corrupted argmax' : ''}` });
        expect(want.some((v) => v !== 0)).to.equal(true);
      }
    }
  });

  it('matmul with k = 0 writes zeros (or keeps c when accumulating)', () => {
    const c = f32(5, 5);
    k().matmul(new Float32Array(0), new Float32Array(0), c, 1, 2, 0, false, false, true);
    expectClose(c, [5, 5]);
    k().matmul(new Float32Array(0), new Float32Array(0), c, 1, 2, 0, false, false, false);
    expectClose(c, [0, 0]);
  });

  it('conv2dForward: valid correlation of a 3×3 image with a 2×2 filter', () => {
    const g: ConvGeometry = { n: 1, inH: 3, inW: 3, inC: 1, kH: 2, kW: 2, outC: 1, strideH: 1, strideW: 1, padTop: 0, padLeft: 0, outH: 2, outW: 2 };
    const y = new Float32Array(4);
    k().conv2dForward(f32(1, 2, 3, 4, 5, 6, 7, 8, 9), f32(1, 0, 0, -1), y, g, false);
    expectClose(y, [-4, -4, -4, -4]);
  });

  it('conv2dForward: two input channels, two filters, stride 2 and padding', () => {
    // x [1,2,2,2]: channel 0 = 1..4, channel 1 = 10..40; 1×1 filters mixing channels.
    const x = f32(1, 10, 2, 20, 3, 30, 4, 40);
    const w = f32(1, 0, 0, 1); // [1,1,2,2]: filter 0 takes channel 0, filter 1 channel 1
    const g: ConvGeometry = { n: 1, inH: 2, inW: 2, inC: 2, kH: 1, kW: 1, outC: 2, strideH: 2, strideW: 2, padTop: 1, padLeft: 0, outH: 2, outW: 1 };
    const y = new Float32Array(4);
    k().conv2dForward(x, w, y, g, false);
    // Output row 0 reads input row −1 (padding), row 1 reads input row 1.
    expectClose(y, [0, 0, 3, 30]);
  });

  it('conv2dBackwardInput scatters through the filter (full convolution)', () => {
    const g: ConvGeometry = { n: 1, inH: 2, inW: 2, inC: 1, kH: 2, kW: 2, outC: 1, strideH: 1, strideW: 1, padTop: 0, padLeft: 0, outH: 1, outW: 1 };
    const dx = new Float32Array(4);
    k().conv2dBackwardInput(f32(2), f32(1, 2, 3, 4), dx, g, false);
    expectClose(dx, [2, 4, 6, 8]);
  });

  it('conv2dBackwardFilter correlates the input with dy', () => {
    const g: ConvGeometry = { n: 1, inH: 3, inW: 3, inC: 1, kH: 2, kW: 2, outC: 1, strideH: 1, strideW: 1, padTop: 0, padLeft: 0, outH: 2, outW: 2 };
    const dw = new Float32Array(4);
    k().conv2dBackwardFilter(f32(1, 2, 3, 4, 5, 6, 7, 8, 9), f32(1, 0, 0, 1), dw, g, false);
    expectClose(dw, [1 + 5, 2 + 6, 4 + 8, 5 + 9]);
  });

  it('activations and their derivatives at fixed points', () => {
    const x = f32(-2, -0.5, 0, 0.5, 2);
    const y = new Float32Array(5);
    const dx = new Float32Array(5);
    const dy = f32(1, 1, 1, 1, 1);
    k().activationForward('relu', x, y, 0.01);
    expectClose(y, [0, 0, 0, 0.5, 2]);
    k().activationBackward('relu', x, y, dy, dx, 0.01);
    expectClose(dx, [0, 0, 0, 1, 1]);
    k().activationForward('tanh', x, y, 0.01);
    expectClose(y, [-0.9640276, -0.4621172, 0, 0.4621172, 0.9640276]);
    k().activationBackward('tanh', x, y, dy, dx, 0.01);
    expectClose(dx, [0.0706508, 0.7864477, 1, 0.7864477, 0.0706508]);
    k().activationForward('sigmoid', x, y, 0.01);
    expectClose(y, [0.1192029, 0.3775407, 0.5, 0.6224593, 0.8807971]);
    k().activationBackward('sigmoid', x, y, dy, dx, 0.01);
    expectClose(dx, [0.1049936, 0.2350037, 0.25, 0.2350037, 0.1049936]);
    k().activationForward('linear', x, y, 0.01);
    expectClose(y, x);
  });

  it('sigmoid stays finite for huge inputs', () => {
    const y = new Float32Array(2);
    k().activationForward('sigmoid', f32(-1e4, 1e4), y, 0.01);
    expectClose(y, [0, 1]);
  });

  it('activations may work in place', () => {
    const x = f32(-1, 2);
    k().activationForward('relu', x, x, 0.01);
    expectClose(x, [0, 2]);
  });

  it('bias, column sums, axpy', () => {
    const y = f32(1, 2, 3, 4, 5, 6);
    k().addRowVector(y, f32(10, 20, 30), 2, 3);
    expectClose(y, [11, 22, 33, 14, 25, 36]);
    const out = f32(1, 1, 1);
    k().sumRows(y, out, 2, 3, false);
    expectClose(out, [25, 47, 69]);
    k().sumRows(y, out, 2, 3, true);
    expectClose(out, [50, 94, 138]);
    const acc = f32(1, 1);
    k().axpy(-0.5, f32(2, 4), acc);
    expectClose(acc, [0, -1]);
  });

  it('leaky ReLU scales negatives by alpha', () => {
    const y = new Float32Array(3), dx = new Float32Array(3);
    k().activationForward('leakyRelu', f32(-2, 0.5, 3), y, 0.1);
    expectClose(y, [-0.2, 0.5, 3]);
    k().activationBackward('leakyRelu', f32(-2, 0.5, 3), y, f32(1, 1, 2), dx, 0.1);
    expectClose(dx, [0.1, 1, 2]);
  });

  it('softmax per row, stable for large logits, and its Jacobian product', () => {
    const y = new Float32Array(6);
    k().softmaxRows(f32(1, 2, 3, 1000, 1000, 1000), y, 2, 3);
    expectClose(y, [0.09003057, 0.24472847, 0.66524096, 1 / 3, 1 / 3, 1 / 3]);
    const dx = new Float32Array(3);
    // dy = one-hot on class 0: dx = y ⊙ (e0 − y0)
    k().softmaxBackwardRows(y.subarray(0, 3), f32(1, 0, 0), dx, 1, 3);
    const [p0, p1, p2] = y;
    expectClose(dx, [p0 * (1 - p0), -p1 * p0, -p2 * p0]);
  });

  it('multiply', () => {
    const out = new Float32Array(3);
    k().multiply(f32(1, 2, 3), f32(0, 2, -1), out);
    expectClose(out, [0, 4, -3]);
  });

  it('max and average pooling, 2×2 windows on a 4×4 image, and their gradients', () => {
    const x = f32(1, 2, 5, 6, 3, 4, 8, 7, 9, 0, 1, 1, 0, 0, 1, 2);
    const g: PoolGeometry = { n: 1, inH: 4, inW: 4, c: 1, poolH: 2, poolW: 2, strideH: 2, strideW: 2, padTop: 0, padLeft: 0, outH: 2, outW: 2 };
    const y = new Float32Array(4), argmax = new Int32Array(4), dx = new Float32Array(16);
    k().maxPool2dForward(x, y, argmax, g);
    expectClose(y, [4, 8, 9, 2]);
    expect(Array.from(argmax)).to.deep.equal([5, 6, 8, 15]);
    k().maxPool2dBackward(f32(1, 2, 3, 4), argmax, dx, g);
    expectClose(dx, [0, 0, 0, 0, 0, 1, 2, 0, 3, 0, 0, 0, 0, 0, 0, 4]);
    k().avgPool2dForward(x, y, g);
    expectClose(y, [2.5, 6.5, 2.25, 1.25]);
    k().avgPool2dBackward(f32(4, 8, 0, 0), dx, g);
    expectClose(dx, [1, 1, 2, 2, 1, 1, 2, 2, 0, 0, 0, 0, 0, 0, 0, 0]);
  });

  it("pooling with 'same' padding: padding never wins and is not averaged", () => {
    // 3×3 image of negatives, 2×2 windows stride 2, padded at the bottom/right.
    const x = f32(-1, -2, -3, -4, -5, -6, -7, -8, -9);
    const g: PoolGeometry = { n: 1, inH: 3, inW: 3, c: 1, poolH: 2, poolW: 2, strideH: 2, strideW: 2, padTop: 0, padLeft: 0, outH: 2, outW: 2 };
    const y = new Float32Array(4), argmax = new Int32Array(4);
    k().maxPool2dForward(x, y, argmax, g);
    expectClose(y, [-1, -3, -7, -9]);
    k().avgPool2dForward(x, y, g);
    expectClose(y, [-3, -4.5, -7.5, -9]);
  });

  it('optimizer steps follow the PyTorch formulas', () => {
    const p = f32(1, -1), grad = f32(0.5, -2), v = f32(0.1, 0.2);
    k().sgdMomentumStep(p, grad, v, 0.1, 0.9, false);
    expectClose(v, [0.59, -1.82]);
    expectClose(p, [1 - 0.059, -1 + 0.182]);
    const pn = f32(1), vn = f32(0.1);
    k().sgdMomentumStep(pn, f32(0.5), vn, 0.1, 0.9, true);
    expectClose(pn, [1 - 0.1 * (0.5 + 0.9 * 0.59)]);
    // Adam, first step: m = 0.1g, v = 0.001g², corrected ratio = sign(g).
    const pa = f32(1, 1), m = new Float32Array(2), va = new Float32Array(2);
    k().adamStep(pa, f32(0.5, -2), m, va, 0.01 / (1 - 0.9), 0.9, 0.999, 1 - 0.999, 1e-8);
    expectClose(m, [0.05, -0.2]);
    expectClose(va, [0.00025, 0.004]);
    expectClose(pa, [0.99, 1.01]);
    const pr = f32(1), sq = f32(0);
    k().rmspropStep(pr, f32(2), sq, 0.01, 0.9, 1e-7);
    expectClose(sq, [0.4]);
    expectClose(pr, [1 - (0.01 * 2) / (Math.sqrt(0.4) + 1e-7)]);
  });

  it('biasActivation adds the bias and applies f in one pass; f\' then follows from the output', () => {
    const y = f32(-1, 2, 0.5, -3);
    k().biasActivation(y, f32(0.5, -1), 2, 2, 'relu', 0);
    expectClose(y, [0, 1, 1, 0]);
    const t = f32(0, 1);
    k().biasActivation(t, f32(1, -1), 1, 2, 'tanh', 0);
    expectClose(t, [Math.tanh(1), 0]);
    const l = f32(-2, 2);
    k().biasActivation(l, f32(0, 0), 1, 2, 'leakyRelu', 0.1);
    expectClose(l, [-0.2, 2]);
    const dx = new Float32Array(2);
    k().activationBackward('leakyRelu', l, l, f32(1, 1), dx, 0.1);
    expectClose(dx, [0.1, 1]);
  });

  it('firstNonFinite finds the first NaN or infinity', () => {
    expect(k().firstNonFinite(f32(1, 2, 3))).to.equal(-1);
    expect(k().firstNonFinite(new Float32Array(0))).to.equal(-1);
    const big = new Float32Array(5000);
    big[4100] = -Infinity;
    big[4500] = NaN;
    expect(k().firstNonFinite(big)).to.equal(4100);
    big[7] = NaN;
    expect(k().firstNonFinite(big)).to.equal(7);
  });

  it('gatherRows copies the indexed rows in index order and rejects an index outside src', () => {
    const src = f32(0, 1, 10, 11, 20, 21, 30, 31);
    const out = new Float32Array(6).fill(-1);
    k().gatherRows(src, 2, Int32Array.of(9, 3, 0, 3, 9), 1, 4, out);
    expect(Array.from(out)).to.deep.equal([30, 31, 0, 1, 30, 31]);
    k().gatherRows(src, 2, Int32Array.of(1), 1, 1, out);
    expect(Array.from(out)).to.deep.equal([30, 31, 0, 1, 30, 31]);
    for (const bad of [4, -1]) {
      expect(() => k().gatherRows(src, 2, Int32Array.of(0, bad), 0, 2, new Float32Array(4))).to.throw(Error, 'index[1] is not a row of src (4 rows of 2)');
    }
  });

  it('gatherRows with a prefetch range copies the same rows, skips bad indices in that range and still reports one in the copied range', () => {
    const src = Float32Array.from({ length: 40 * 37 }, (_, i) => i * 0.5 - 3);
    const index = Int32Array.from({ length: 30 }, (_, i) => (i * 17 + 5) % 40);
    const plain = new Float32Array(10 * 37), hinted = new Float32Array(10 * 37).fill(NaN);
    k().gatherRows(src, 37, index, 8, 18, plain);
    k().gatherRows(src, 37, index, 8, 18, hinted, 18, 30);
    expect(Array.from(hinted)).to.deep.equal(Array.from(plain));
    expect(Array.from(plain.subarray(37, 74))).to.deep.equal(Array.from(src.subarray(index[9] * 37, index[9] * 37 + 37)));
    // The range is a hint: rows it names need not exist, and it may be empty or overlap the copy.
    const withBad = Int32Array.of(1, 2, 3, -7, 40, 2 ** 31 - 1);
    const out = new Float32Array(3 * 37);
    k().gatherRows(src, 37, withBad, 0, 3, out, 3, 6);
    expect(Array.from(out)).to.deep.equal(Array.from(src.subarray(37, 4 * 37)));
    k().gatherRows(src, 37, withBad, 0, 3, out, 0, 0);
    k().gatherRows(src, 37, withBad, 0, 3, out, 1, 5);
    expect(Array.from(out)).to.deep.equal(Array.from(src.subarray(37, 4 * 37)));
    expect(() => k().gatherRows(src, 37, withBad, 1, 4, new Float32Array(3 * 37), 4, 6)).to.throw(Error, 'index[3] is not a row of src (40 rows of 37)');
  });

  it('mse and its gradient', () => {
    const pred = f32(1, 2, 3, 4);
    const target = f32(1, 0, 3, 0);
    expect(k().mse(pred, target)).to.be.closeTo((4 + 16) / 4, 1e-6);
    const g = new Float32Array(4);
    k().mseGradient(pred, target, g);
    expectClose(g, [0, 1, 0, 2]);
  });
});

describe('native vs js on random inputs of awkward sizes', function () {
  const SIZES = [1, 3, 17, 64, 129];
  let native: Backend;
  before(function () {
    if (!nativeAvailable()) throw new Error('the native addon did not load');
    const previous = getBackend().name;
    setBackend('native');
    native = getBackend();
    setBackend(previous);
  });

  /** Runs the same kernel on both backends on copies of the same buffers and compares outputs. */
  function compare(run: (b: Backend, bufs: Float32Array[]) => void, inputs: Float32Array[], outputs: number[], tol = 1e-4): void {
    const js = inputs.map((a) => a.slice());
    const nat = inputs.map((a) => a.slice());
    run(jsBackend, js);
    run(native, nat);
    for (const o of outputs) expectClose(nat[o], js[o], { rtol: tol, atol: tol, what: `buffer ${o}` });
  }

  for (const m of SIZES) {
    for (const n of [1, 17, 129]) {
      for (const kk of [1, 3, 64]) {
        it(`matmul m=${m} n=${n} k=${kk} in all transpose cases`, () => {
          for (const [ta, tb, acc] of [[false, false, false], [true, false, true], [false, true, false], [true, true, true]] as const) {
            compare((b, [a, bb, c]) => b.matmul(a, bb, c, m, n, kk, ta, tb, acc),
              [randomArray(m * kk, m + n), randomArray(kk * n, kk), randomArray(m * n, 3)], [2]);
          }
        });
      }
    }
  }

  /** Runs check once per instruction-set variant this CPU runs (setIsa), then restores the one in use. */
  function forEachIsa(check: (isa: string, binding: ReturnType<typeof nativeBinding>) => void): void {
    const binding = nativeBinding();
    const { isa: initial, supported } = binding.info();
    try {
      for (const isa of supported) {
        binding.setIsa(isa);
        expect(binding.info().isa).to.equal(isa);
        check(isa, binding);
      }
    } finally {
      binding.setIsa(initial);
    }
  }

  it('every instruction-set variant this CPU runs gives the same products (LAYERWISE_ISA / setIsa)', () => {
    forEachIsa(() => {
      for (const [m, n, kk] of [[1, 1, 1], [7, 33, 17], [65, 129, 64], [32, 128, 784]]) {
        for (const [ta, tb] of [[false, false], [true, false], [false, true]] as const) {
          compare((b, [a, bb, c]) => b.matmul(a, bb, c, m, n, kk, ta, tb, false),
            [randomArray(m * kk, m), randomArray(kk * n, n), new Float32Array(m * n)], [2], 2e-4);
        }
      }
    });
  });

  it('firstNonFinite finds the same first NaN or infinity on every instruction-set variant (block edges, odd tails)', () => {
    forEachIsa((isa, binding) => {
      for (const size of [1, 15, 1023, 1024, 1025, 5001]) {
        for (const at of [0, size - 1, Math.floor(size / 2)]) {
          for (const bad of [NaN, Infinity, -Infinity]) {
            const x = randomArray(size, size + at);
            expect(binding.firstNonFinite(x), `${isa} clean ${size}`).to.equal(-1);
            x[at] = bad;
            if (at + 1 < size) x[size - 1] = NaN;
            expect(binding.firstNonFinite(x), `${isa} ${bad} at ${at} of ${size}`).to.equal(at);
          }
        }
      }
      // The largest finite floats pass; denormals pass.
      expect(binding.firstNonFinite(Float32Array.of(3.4028234663852886e38, -3.4028234663852886e38, 1e-45)), isa).to.equal(-1);
    });
  });

  const geometries: Array<Partial<ConvGeometry> & { label: string }> = [
    { label: '1×1 input, 1×1 filter', n: 1, inH: 1, inW: 1, inC: 1, kH: 1, kW: 1, outC: 1 },
    { label: '17×17×3 → 4, 3×3 valid', n: 2, inH: 17, inW: 17, inC: 3, kH: 3, kW: 3, outC: 4 },
    { label: '13×9×1 → 8, 2×2 even filter, stride 2', n: 3, inH: 13, inW: 9, inC: 1, kH: 2, kW: 2, outC: 8, strideH: 2, strideW: 2, padTop: 0, padLeft: 0 },
    { label: '8×8×17 → 3, 5×3, padding 2/1', n: 1, inH: 8, inW: 8, inC: 17, kH: 5, kW: 3, outC: 3, padTop: 2, padLeft: 1 },
    { label: '28×28×1 → 8, 3×3 (the CNN shape)', n: 4, inH: 28, inW: 28, inC: 1, kH: 3, kW: 3, outC: 8 },
    { label: '6×5×64 → 1, 3×1 stride 3×1', n: 2, inH: 6, inW: 5, inC: 64, kH: 3, kW: 1, outC: 1, strideH: 3 },
    // Stride 1 with in_c / out_c multiples of 16: the register-tiled backward kernels (conv2d_backward_direct.h).
    { label: '14×14×16 → 32, 3×3 same (tiled backward)', n: 3, inH: 14, inW: 14, inC: 16, kH: 3, kW: 3, outC: 32, padTop: 1, padLeft: 1 },
    { label: '5×19×48 → 16, 3×2 full (tiled backward, mixed vector tiles)', n: 2, inH: 5, inW: 19, inC: 48, kH: 3, kW: 2, outC: 16, padTop: 2, padLeft: 1 },
  ];
  for (const spec of geometries) {
    const g = completeGeometry(spec);
    it(`conv2d forward and both backward passes: ${spec.label}`, () => {
      const xs = g.n * g.inH * g.inW * g.inC, ws = g.kH * g.kW * g.inC * g.outC, ys = g.n * g.outH * g.outW * g.outC;
      compare((b, [x, w, y]) => b.conv2dForward(x, w, y, g, false), [randomArray(xs, 1), randomArray(ws, 2), new Float32Array(ys)], [2]);
      compare((b, [dy, w, dx]) => b.conv2dBackwardInput(dy, w, dx, g, true), [randomArray(ys, 3), randomArray(ws, 4), randomArray(xs, 5)], [2]);
      compare((b, [x, dy, dw]) => b.conv2dBackwardFilter(x, dy, dw, g, false), [randomArray(xs, 6), randomArray(ys, 7), new Float32Array(ws)], [2], 2e-4);
    });
  }

  // Dense's product with its bias and activation applied by the GEMM as it stores each tile: one row (the
  // direct loop), few columns, the in-place and packed macro-kernels and several k slices, every activation.
  for (const [m, n, k] of [[1, 128, 1568], [3, 10, 128], [17, 3, 50], [129, 33, 300], [20, 200, 17]]) {
    it(`matmulBiasActivation ${m}×${n}×${k}: matmul then biasActivation, bit for bit, on both backends`, () => {
      const a = randomArray(m * k, m), b = randomArray(k * n, n + 1), bias = randomArray(n, k + 2);
      for (const kind of ACTIVATION_KINDS) {
        const outputs = [jsBackend, native].map((be) => {
          const fused = new Float32Array(m * n).fill(NaN), separate = new Float32Array(m * n);
          be.matmulBiasActivation(a, b, bias, fused, m, n, k, kind, 0.1);
          be.matmul(a, b, separate, m, n, k, false, false, false);
          be.biasActivation(separate, bias, m, n, kind, 0.1);
          expect(Array.from(fused), `${be.name} ${kind}`).to.deep.equal(Array.from(separate));
          return fused;
        });
        expectClose(outputs[1], outputs[0], { rtol: 1e-4, atol: 1e-5, what: kind });
      }
    });
  }

  // Whether every value of a·b + bias came out finite (predict leaves its input scan to a first Dense on it):
  // a NaN or ±Infinity anywhere in a, even against zero weights, and an overflow report false on every
  // GEMM path (direct loop, in place, packed, one and several k slices) and activation (in the tile or after it).
  it('matmulBiasActivation reports a non-finite a·b + bias, wherever the NaN or ±Infinity sits in a, on both backends', () => {
    for (const [m, n, k] of [[1, 128, 1568], [3, 10, 128], [17, 3, 50], [129, 33, 300], [20, 200, 17], [40, 128, 784]]) {
      const a = randomArray(m * k, m), b = randomArray(k * n, n + 1), bias = randomArray(n, k + 2);
      const zeroRow = Math.floor(k / 2);
      b.fill(0, zeroRow * n, (zeroRow + 1) * n); // NaN·0 and ±Infinity·0 are NaN
      for (const be of [jsBackend, native]) {
        for (const kind of ACTIVATION_KINDS) {
          const c = new Float32Array(m * n);
          expect(be.matmulBiasActivation(a, b, bias, c, m, n, k, kind, 0.1), `${be.name} ${kind} clean`).to.equal(true);
          for (const bad of [NaN, Infinity, -Infinity]) {
            for (const at of [0, m * k - 1, Math.floor(m / 2) * k + zeroRow]) {
              const dirty = a.slice();
              dirty[at] = bad;
              expect(be.matmulBiasActivation(dirty, b, bias, c, m, n, k, kind, 0.1), `${be.name} ${m}×${n}×${k} ${kind} ${bad} at ${at}`).to.equal(false);
            }
          }
          const huge = new Float32Array(m * k).fill(3e38);
          expect(be.matmulBiasActivation(huge, new Float32Array(k * n).fill(3e38), bias, c, m, n, k, kind, 0.1), `${be.name} overflow`).to.equal(false);
        }
      }
    }
  });

  // Conv with its bias and activation applied tile by tile: at the awkward batch sizes, every activation,
  // on the direct one-channel kernel, the im2col GEMM and the 1×1 path.
  for (const n of [1, 3, 17, 129]) {
    for (const spec of [
      { label: '28×28×1 → 16, 3×3 same (direct kernel)', n, inH: 28, inW: 28, inC: 1, kH: 3, kW: 3, outC: 16, padTop: 1, padLeft: 1, outH: 28, outW: 28 },
      { label: '9×7×17 → 3, 3×3 valid (im2col GEMM)', n, inH: 9, inW: 7, inC: 17, kH: 3, kW: 3, outC: 3 },
      { label: '5×5×3 → 129, 1×1', n, inH: 5, inW: 5, inC: 3, kH: 1, kW: 1, outC: 129 },
    ]) {
      const g = completeGeometry(spec);
      it(`conv2dForwardBiasActivation at batch ${n}, ${spec.label}: conv2dForward then biasActivation, bit for bit, on both backends`, () => {
        const xs = g.n * g.inH * g.inW * g.inC, ws = g.kH * g.kW * g.inC * g.outC, ys = g.n * g.outH * g.outW * g.outC;
        const x = randomArray(xs, n), w = randomArray(ws, n + 1), bias = randomArray(g.outC, n + 2);
        for (const kind of ACTIVATION_KINDS) {
          const outputs = [jsBackend, native].map((b) => {
            const fused = new Float32Array(ys).fill(NaN), separate = new Float32Array(ys);
            b.conv2dForwardBiasActivation(x, w, bias, fused, g, kind, 0.1);
            b.conv2dForward(x, w, separate, g, false);
            b.biasActivation(separate, bias, ys / g.outC, g.outC, kind, 0.1);
            expect(Array.from(fused), `${b.name} ${kind}`).to.deep.equal(Array.from(separate));
            return fused;
          });
          expectClose(outputs[1], outputs[0], { rtol: 1e-4, atol: 1e-5, what: kind });
        }
      });
    }
  }

  const pools: Array<[string, PoolGeometry]> = [
    ['2×2 stride 2 valid on 28×28×8', { n: 3, inH: 28, inW: 28, c: 8, poolH: 2, poolW: 2, strideH: 2, strideW: 2, padTop: 0, padLeft: 0, outH: 14, outW: 14 }],
    ['3×3 stride 2 same on 17×13×3', { n: 2, inH: 17, inW: 13, c: 3, poolH: 3, poolW: 3, strideH: 2, strideW: 2, padTop: 1, padLeft: 1, outH: 9, outW: 7 }],
    ['3×1 stride 1 on 5×5×1', { n: 1, inH: 5, inW: 5, c: 1, poolH: 3, poolW: 1, strideH: 1, strideW: 1, padTop: 0, padLeft: 0, outH: 3, outW: 5 }],
  ];
  // The inference max pool at the awkward batch sizes, with odd sizes, NaNs and 'same' edges.
  for (const n of [1, 3, 17, 129]) {
    for (const [label, g] of [
      ['2×2 valid on 7×9×17', { n, inH: 7, inW: 9, c: 17, poolH: 2, poolW: 2, strideH: 2, strideW: 2, padTop: 0, padLeft: 0, outH: 3, outW: 4 }],
      ['2×2 same on 5×3×3', { n, inH: 5, inW: 3, c: 3, poolH: 2, poolW: 2, strideH: 2, strideW: 2, padTop: 0, padLeft: 0, outH: 3, outW: 2 }],
      ['3×3 stride 1 pad 1 on 4×4×1', { n, inH: 4, inW: 4, c: 1, poolH: 3, poolW: 3, strideH: 1, strideW: 1, padTop: 1, padLeft: 1, outH: 4, outW: 4 }],
    ] as Array<[string, PoolGeometry]>) {
      it(`maxPool2dValues at batch ${n}, ${label}: the maxima of maxPool2dForward on both backends`, () => {
        const xs = g.n * g.inH * g.inW * g.c, ys = g.n * g.outH * g.outW * g.c;
        const x = randomArray(xs, n);
        for (let i = 5; i < xs; i += 97) x[i] = NaN;
        const results = [jsBackend, native].map((b) => {
          const y = new Float32Array(ys), values = new Float32Array(ys).fill(3);
          b.maxPool2dForward(x, y, new Int32Array(ys), g);
          b.maxPool2dValues(x, values, g);
          expect(Array.from(values), b.name).to.deep.equal(Array.from(y));
          return values;
        });
        expect(Array.from(results[1])).to.deep.equal(Array.from(results[0]));
      });
    }
  }

  for (const [label, g] of pools) {
    it(`pooling forward and backward: ${label}`, () => {
      const xs = g.n * g.inH * g.inW * g.c, ys = g.n * g.outH * g.outW * g.c;
      const x = randomArray(xs, 1);
      const run = (b: Backend) => {
        const y = new Float32Array(ys), argmax = new Int32Array(ys), dx = new Float32Array(xs), ya = new Float32Array(ys), dxa = new Float32Array(xs);
        const dy = randomArray(ys, 2);
        b.maxPool2dForward(x, y, argmax, g);
        const values = new Float32Array(ys).fill(-7);
        b.maxPool2dValues(x, values, g);
        expect(Array.from(values), `${b.name} maxPool2dValues`).to.deep.equal(Array.from(y));
        b.maxPool2dBackward(dy, argmax, dx, g);
        b.avgPool2dForward(x, ya, g);
        b.avgPool2dBackward(dy, dxa, g);
        return { y, argmax, dx, ya, dxa };
      };
      const a = run(jsBackend), b = run(native);
      expect(Array.from(b.argmax)).to.deep.equal(Array.from(a.argmax));
      for (const key of ['y', 'dx', 'ya', 'dxa'] as const) expectClose(b[key], a[key], { rtol: 1e-5, atol: 1e-6, what: key });
    });
  }

  // Awkward channel counts and batch sizes, overlapping windows and padding.
  const throughPools: Array<[string, (c: number) => PoolGeometry]> = [
    ['2×2 stride 2 on 7×6', (c) => ({ n: 3, inH: 7, inW: 6, c, poolH: 2, poolW: 2, strideH: 2, strideW: 2, padTop: 0, padLeft: 0, outH: 3, outW: 3 })],
    ['3×3 stride 1 same on 5×4', (c) => ({ n: 2, inH: 5, inW: 4, c, poolH: 3, poolW: 3, strideH: 1, strideW: 1, padTop: 1, padLeft: 1, outH: 5, outW: 4 })],
  ];
  for (const size of SIZES) {
    for (const [label, geometry] of throughPools) {
      it(`max-pool backward through an activation, with per-channel sums: ${size} channels, ${label}`, () => {
        const g = geometry(size);
        const xs = g.n * g.inH * g.inW * g.c, ys = g.n * g.outH * g.outW * g.c;
        for (const kind of ['linear', 'relu', 'sigmoid', 'tanh', 'leakyRelu'] as ActivationKind[]) {
          // The pool's input is the activation's output; its own output and winners come from the js reference.
          const act = new Float32Array(xs);
          jsBackend.activationForward(kind, randomArray(xs, 1, -3, 3), act, 0.2);
          const y = new Float32Array(ys), argmax = new Int32Array(ys);
          jsBackend.maxPool2dForward(act, y, argmax, g);
          const dy = randomArray(ys, 2);
          compare((b, [d, dx, sums]) => b.maxPool2dBackwardActivation(d, argmax, y, dx, g, kind, 0.2, sums),
            [dy, new Float32Array(xs), new Float32Array(g.c)], [1, 2], 1e-5);
          // Its definition: max-pool backward, then f' over the whole input, then column sums.
          for (const b of [jsBackend, native]) {
            const want = new Float32Array(xs), wantSums = new Float32Array(g.c);
            b.maxPool2dBackward(dy, argmax, want, g);
            b.activationBackward(kind, act, act, want, want, 0.2);
            b.sumRows(want, wantSums, xs / g.c, g.c, false);
            const dx = new Float32Array(xs), sums = new Float32Array(g.c), noSums = new Float32Array(xs);
            b.maxPool2dBackwardActivation(dy, argmax, y, dx, g, kind, 0.2, sums);
            b.maxPool2dBackwardActivation(dy, argmax, y, noSums, g, kind, 0.2, null);
            expectClose(dx, want, { rtol: 1e-6, atol: 1e-6, what: `${b.name} ${kind} dx` });
            expectClose(noSums, want, { rtol: 1e-6, atol: 1e-6, what: `${b.name} ${kind} dx without sums` });
            expectClose(sums, wantSums, { rtol: 1e-5, atol: 1e-5, what: `${b.name} ${kind} sums` });
          }
        }
      });
    }
  }

  for (const size of SIZES) {
    it(`softmax and optimizer kernels on ${size} elements`, () => {
      compare((b, [x, y]) => b.softmaxRows(x, y, size, 7), [randomArray(size * 7, 1, -20, 20), new Float32Array(size * 7)], [1], 1e-5);
      compare((b, [y, dy, dx]) => b.softmaxBackwardRows(y, dy, dx, size, 7), [randomArray(size * 7, 2, 0, 1), randomArray(size * 7, 3), new Float32Array(size * 7)], [2], 1e-5);
      compare((b, [p, g, v]) => { b.sgdMomentumStep(p, g, v, 0.1, 0.9, true); b.sgdMomentumStep(p, g, v, 0.1, 0.9, false); },
        [randomArray(size, 4), randomArray(size, 5), randomArray(size, 6)], [0, 2], 1e-5);
      compare((b, [p, g, m, v]) => { for (let t = 1; t <= 3; t++) b.adamStep(p, g, m, v, 0.01 / (1 - 0.9 ** t), 0.9, 0.999, 1 - 0.999 ** t, 1e-8); },
        [randomArray(size, 7), randomArray(size, 8), new Float32Array(size), new Float32Array(size)], [0, 2, 3], 1e-5);
      compare((b, [p, g, s]) => b.rmspropStep(p, g, s, 0.01, 0.9, 1e-7), [randomArray(size, 9), randomArray(size, 10), new Float32Array(size)], [0, 2], 1e-5);
      compare((b, [a, c, out]) => b.multiply(a, c, out), [randomArray(size, 11), randomArray(size, 12), new Float32Array(size)], [2], 1e-6);
    });
  }

  for (const size of SIZES) {
    it(`elementwise kernels on ${size} elements`, () => {
      for (const kind of ['linear', 'relu', 'sigmoid', 'tanh', 'leakyRelu'] as ActivationKind[]) {
        compare((b, [x, y]) => b.activationForward(kind, x, y, 0.2), [randomArray(size, 1, -4, 4), new Float32Array(size)], [1], 1e-6);
        compare((b, [x, y, dy, dx]) => { b.activationForward(kind, x, y, 0.2); b.activationBackward(kind, x, y, dy, dx, 0.2); },
          [randomArray(size, 2, -4, 4), new Float32Array(size), randomArray(size, 3), new Float32Array(size)], [3], 1e-6);
      }
      compare((b, [y, bias]) => b.addRowVector(y, bias, size, 3), [randomArray(size * 3, 4), randomArray(3, 5)], [0], 1e-6);
      for (const kind of ['relu', 'sigmoid', 'tanh', 'leakyRelu', 'linear'] as ActivationKind[]) {
        compare((b, [y, bias]) => b.biasActivation(y, bias, size, 3, kind, 0.2), [randomArray(size * 3, 14, -3, 3), randomArray(3, 15)], [0], 1e-6);
      }
      compare((b, [x, out]) => b.sumRows(x, out, size, 3, true), [randomArray(size * 3, 6), randomArray(3, 7)], [1], 1e-5);
      compare((b, [x, y]) => b.axpy(0.3, x, y), [randomArray(size, 8), randomArray(size, 9)], [1], 1e-6);
      compare((b, [p, t, g]) => b.mseGradient(p, t, g), [randomArray(size, 10), randomArray(size, 11), new Float32Array(size)], [2], 1e-6);
      const p = randomArray(size, 12), t = randomArray(size, 13);
      expect(native.mse(p, t)).to.be.closeTo(jsBackend.mse(p, t), 1e-6);
    });
  }
});

function completeGeometry(spec: Partial<ConvGeometry>): ConvGeometry {
  const strideH = spec.strideH ?? 1, strideW = spec.strideW ?? 1, padTop = spec.padTop ?? 0, padLeft = spec.padLeft ?? 0;
  const outH = spec.outH ?? Math.floor((spec.inH! + 2 * padTop - spec.kH!) / strideH) + 1;
  const outW = spec.outW ?? Math.floor((spec.inW! + 2 * padLeft - spec.kW!) / strideW) + 1;
  return { n: spec.n!, inH: spec.inH!, inW: spec.inW!, inC: spec.inC!, kH: spec.kH!, kW: spec.kW!, outC: spec.outC!, strideH, strideW, padTop, padLeft, outH, outW };
}
