// The native kernels split by the cost model (native/kernels/threadpool.cc):
// big enough calls cut their batch (or elements) into ranges on two threads.
// Checked here on sizes that do split (tens of microseconds of work and up),
// at awkward batch sizes: results match the js reference, repeat bit for bit
// on two threads, and equal the one-thread results exactly wherever the
// summation order does not depend on the split (everything but the conv
// filter gradient, whose per-range partials are added in range order).

import { readFileSync, readdirSync } from 'node:fs';
import { expect } from 'chai';
import { getBackend, jsBackend, nativeAvailable, nativeInfo, setNumThreads, type Backend } from '../lib/backends/index.js';
import type { ActivationKind, ConvGeometry, PoolGeometry } from '../lib/backends/backend.js';
import { expectClose, randomArray, withBackend } from './helpers.js';

describe('native kernels on two threads (cost-model splits)', function () {
  const BATCHES = [1, 3, 17, 129];
  let native: Backend;
  let initialThreads: number;
  before(function () {
    if (!nativeAvailable()) throw new Error('the native addon did not load');
    native = withBackend('native', getBackend);
    initialThreads = nativeInfo().threads!;
  });
  after(function () {
    setNumThreads(initialThreads);
  });

  /** Runs `run` on fresh copies of `inputs` with the given thread count and returns the buffers after. */
  function onThreads(threads: number, run: (b: Backend, bufs: Float32Array[]) => void, inputs: Float32Array[]): Float32Array[] {
    setNumThreads(threads);
    const bufs = inputs.map((a) => a.slice());
    run(native, bufs);
    return bufs;
  }

  /**
   * Compares the kernel on 1 and 2 threads with the js backend (tolerance),
   * two 2-thread runs with each other (bit for bit) and, when `sameOrder`,
   * the 1- and 2-thread results with each other (bit for bit).
   */
  function check(run: (b: Backend, bufs: Float32Array[]) => void, inputs: Float32Array[], outputs: number[],
    { tol = 1e-4, sameOrder = true } = {}): void {
    const js = inputs.map((a) => a.slice());
    run(jsBackend, js);
    const one = onThreads(1, run, inputs);
    const two = onThreads(2, run, inputs);
    const again = onThreads(2, run, inputs);
    for (const o of outputs) {
      expectClose(one[o], js[o], { rtol: tol, atol: tol, what: `1 thread, buffer ${o}` });
      expectClose(two[o], js[o], { rtol: tol, atol: tol, what: `2 threads, buffer ${o}` });
      expect(Buffer.from(again[o].buffer).equals(Buffer.from(two[o].buffer)), `2 threads twice, buffer ${o}`).to.equal(true);
      if (sameOrder) expect(Buffer.from(one[o].buffer).equals(Buffer.from(two[o].buffer)), `1 vs 2 threads, buffer ${o}`).to.equal(true);
    }
  }

  const convs: Array<[string, Omit<ConvGeometry, 'n'>]> = [
    ['28×28×1 → 16, 3×3 same (the npm-start CNN first layer)',
      { inH: 28, inW: 28, inC: 1, kH: 3, kW: 3, outC: 16, strideH: 1, strideW: 1, padTop: 1, padLeft: 1, outH: 28, outW: 28 }],
    ['14×14×16 → 32, 3×3 same (its second layer)',
      { inH: 14, inW: 14, inC: 16, kH: 3, kW: 3, outC: 32, strideH: 1, strideW: 1, padTop: 1, padLeft: 1, outH: 14, outW: 14 }],
    ['17×13×3 → 5, 2×3 stride 2, valid',
      { inH: 17, inW: 13, inC: 3, kH: 2, kW: 3, outC: 5, strideH: 2, strideW: 2, padTop: 0, padLeft: 0, outH: 8, outW: 6 }],
  ];
  for (const [label, shape] of convs) {
    for (const n of BATCHES) {
      it(`conv2d forward, backward input and filter, batch ${n}: ${label}`, () => {
        const g: ConvGeometry = { n, ...shape };
        const xs = n * g.inH * g.inW * g.inC, ws = g.kH * g.kW * g.inC * g.outC, ys = n * g.outH * g.outW * g.outC;
        check((b, [x, w, y]) => b.conv2dForward(x, w, y, g, false), [randomArray(xs, 1), randomArray(ws, 2), new Float32Array(ys)], [2]);
        check((b, [dy, w, dx]) => b.conv2dBackwardInput(dy, w, dx, g, false), [randomArray(ys, 3), randomArray(ws, 4), new Float32Array(xs)], [2]);
        check((b, [x, dy, dw]) => b.conv2dBackwardFilter(x, dy, dw, g, true), [randomArray(xs, 6), randomArray(ys, 7), randomArray(ws, 8)], [2],
          { tol: 2e-4 * Math.max(1, Math.sqrt(n)), sameOrder: false });
      });
    }
  }

  // One input channel and a small filter take the direct kernels
  // (native/kernels/conv2d_direct.h) for the forward pass and the filter
  // gradient: 16- and 8-wide channel blocks, a tail, windows clipped by
  // padding at every border, strides, accumulate.
  for (const [n, side, outC, k, stride, pad] of [
    [1, 1, 8, 1, 1, 0], [3, 3, 17, 3, 1, 1], [17, 17, 8, 3, 1, 0], [3, 17, 129, 5, 2, 2],
    [129, 28, 16, 3, 1, 1], [17, 13, 9, 2, 3, 1], [1, 129, 24, 3, 2, 0],
    // 3×3 filter gradient's register path: whole windows only, strides 2 and 3 with pads that clip both ends.
    [5, 9, 32, 3, 2, 1], [3, 10, 8, 3, 3, 2], [17, 4, 8, 3, 1, 1],
  ] as const) {
    it(`conv2d forward and filter gradient, one input channel (direct kernels): batch ${n}, ${side}×${side} → ${outC}, ${k}×${k} stride ${stride} pad ${pad}`, () => {
      const out = Math.floor((side + 2 * pad - k) / stride) + 1;
      const g: ConvGeometry = { n, inH: side, inW: side, inC: 1, kH: k, kW: k, outC, strideH: stride, strideW: stride, padTop: pad, padLeft: pad, outH: out, outW: out };
      const xs = n * side * side, ws = k * k * outC, ys = n * out * out * outC;
      check((b, [x, w, y]) => b.conv2dForward(x, w, y, g, false), [randomArray(xs, 1), randomArray(ws, 2), randomArray(ys, 3)], [2], { tol: 2e-5 });
      check((b, [x, w, y]) => b.conv2dForward(x, w, y, g, true), [randomArray(xs, 4), randomArray(ws, 5), randomArray(ys, 6)], [2], { tol: 2e-5 });
      for (const acc of [false, true]) {
        check((b, [x, dy, dw]) => b.conv2dBackwardFilter(x, dy, dw, g, acc), [randomArray(xs, 7), randomArray(ys, 8), randomArray(ws, 9)], [2],
          { tol: 2e-4 * Math.max(1, Math.sqrt(n * out)), sameOrder: false });
      }
    });
  }

  for (const n of BATCHES) {
    it(`max and average pooling 2×2 on 28×28×16, batch ${n}`, () => {
      const g: PoolGeometry = { n, inH: 28, inW: 28, c: 16, poolH: 2, poolW: 2, strideH: 2, strideW: 2, padTop: 0, padLeft: 0, outH: 14, outW: 14 };
      const xs = n * 28 * 28 * 16, ys = n * 14 * 14 * 16;
      const x = randomArray(xs, 1);
      const dy = randomArray(ys, 2);
      const argmaxOf = (threads: number) => {
        setNumThreads(threads);
        const y = new Float32Array(ys), argmax = new Int32Array(ys);
        native.maxPool2dForward(x, y, argmax, g);
        return argmax;
      };
      const ref = new Int32Array(ys);
      jsBackend.maxPool2dForward(x, new Float32Array(ys), ref, g);
      expect(Array.from(argmaxOf(1))).to.deep.equal(Array.from(ref));
      expect(Array.from(argmaxOf(2))).to.deep.equal(Array.from(ref));
      check((b, [xx, y]) => b.maxPool2dForward(xx, y, new Int32Array(ys), g), [x, new Float32Array(ys)], [1]);
      check((b, [d, dx]) => b.maxPool2dBackward(d, ref, dx, g), [dy, new Float32Array(xs)], [1]);
      check((b, [xx, y]) => b.avgPool2dForward(xx, y, g), [x, new Float32Array(ys)], [1], { tol: 1e-6 });
      check((b, [d, dx]) => b.avgPool2dBackward(d, dx, g), [dy, new Float32Array(xs)], [1], { tol: 1e-6 });
    });
  }

  // The 2×2 stride-2 row loop of the native forward pass (pool2d_values_inl.h):
  // the small CNN's and npm-start CNN's pools and an odd size with a leftover
  // row and column, values from {-1, 0, 1} so that ties decide winners.
  for (const [h, w, c] of [[26, 26, 8], [14, 14, 32], [7, 9, 24]] as const) {
    for (const n of [1, 3, 32]) {
      it(`max pooling 2×2 stride 2 on ${h}×${w}×${c}, batch ${n}: values and winners`, () => {
        const g: PoolGeometry = { n, inH: h, inW: w, c, poolH: 2, poolW: 2, strideH: 2, strideW: 2, padTop: 0, padLeft: 0, outH: h >> 1, outW: w >> 1 };
        const ys = n * g.outH * g.outW * c;
        const x = randomArray(n * h * w * c, 20).map((v) => Math.round(v));
        const ref = new Int32Array(ys), refY = new Float32Array(ys);
        jsBackend.maxPool2dForward(x, refY, ref, g);
        for (const threads of [1, 2]) {
          setNumThreads(threads);
          const y = new Float32Array(ys), argmax = new Int32Array(ys), values = new Float32Array(ys);
          native.maxPool2dForward(x, y, argmax, g);
          native.maxPool2dValues(x, values, g);
          expect(Array.from(argmax), `winners, ${threads} thread(s)`).to.deep.equal(Array.from(ref));
          expect(Array.from(y), `maxima, ${threads} thread(s)`).to.deep.equal(Array.from(refY));
          expect(Array.from(values), `values only, ${threads} thread(s)`).to.deep.equal(Array.from(refY));
        }
      });
    }
  }

  for (const n of BATCHES) {
    it(`max-pool backward through the activation before it, with the bias-gradient sums: 2×2 on 26×26×8, batch ${n}`, () => {
      const g: PoolGeometry = { n, inH: 26, inW: 26, c: 8, poolH: 2, poolW: 2, strideH: 2, strideW: 2, padTop: 0, padLeft: 0, outH: 13, outW: 13 };
      const xs = n * 26 * 26 * 8, ys = n * 13 * 13 * 8;
      const x = randomArray(xs, 3, -1, 1);
      const y = new Float32Array(ys), argmax = new Int32Array(ys);
      jsBackend.maxPool2dForward(x, y, argmax, g);
      for (const kind of ['relu', 'sigmoid', 'leakyRelu'] as ActivationKind[]) {
        // The per-image sums are added in image order: the same bits on 1 and 2 threads.
        check((b, [d, dx, sums]) => b.maxPool2dBackwardActivation(d, argmax, y, dx, g, kind, 0.2, sums),
          [randomArray(ys, 4), new Float32Array(xs), new Float32Array(8)], [1, 2], { tol: 1e-5 });
      }
    });
  }

  for (const rows of BATCHES) {
    it(`elementwise passes over ${rows} rows of 28×28×16`, () => {
      const cols = 28 * 28 * 16;
      const size = rows * cols;
      for (const kind of ['relu', 'sigmoid', 'tanh', 'leakyRelu'] as ActivationKind[]) {
        check((b, [x, y]) => b.activationForward(kind, x, y, 0.2), [randomArray(size, 1, -4, 4), new Float32Array(size)], [1], { tol: 1e-6 });
        check((b, [y, dy, dx]) => b.activationBackward(kind, y, y, dy, dx, 0.2),
          [randomArray(size, 2, 0, 1), randomArray(size, 3), new Float32Array(size)], [2], { tol: 1e-6 });
        check((b, [y, bias]) => b.biasActivation(y, bias, rows * 784, 16, kind, 0.2), [randomArray(size, 4, -3, 3), randomArray(16, 5)], [0], { tol: 1e-6 });
      }
      check((b, [y, bias]) => b.addRowVector(y, bias, rows, cols), [randomArray(size, 6), randomArray(cols, 7)], [0], { tol: 1e-6 });
      check((b, [x, y]) => b.axpy(0.3, x, y), [randomArray(size, 8), randomArray(size, 9)], [1], { tol: 1e-6 });
      check((b, [x, y, out]) => b.multiply(x, y, out), [randomArray(size, 10), randomArray(size, 11), new Float32Array(size)], [2], { tol: 1e-6 });
      check((b, [p, t, g]) => b.mseGradient(p, t, g), [randomArray(size, 12), randomArray(size, 13), new Float32Array(size)], [2], { tol: 1e-6 });
    });
  }

  // The conv bias gradient's shapes (the small and npm-start CNNs' first conv,
  // batch 32) and awkward ones: fixed blocks of rows added in order, so the
  // same bits on any thread count.
  for (const [rows, cols] of [[5408, 8], [6272, 16], [1568, 32], [10007, 3], [20001, 10], [1, 16], [129, 128], [4099, 64]] as const) {
    it(`sumRows over ${rows} × ${cols}, overwrite and accumulate`, () => {
      const size = rows * cols;
      for (const acc of [false, true]) {
        check((b, [x, out]) => b.sumRows(x, out, rows, cols, acc), [randomArray(size, 15), randomArray(cols, 16)], [1],
          { tol: 2e-5 * Math.sqrt(rows) });
      }
    });
  }

  // The first conv's filter gradient from the pool's winners: parts of 8
  // images padded, checked and summed on their own, then added in order.
  for (const n of [1, 9, 32, 33]) {
    for (const [label, shape] of [
      ['28×28×1 → 16, 3×3 same (npm-start)', { inH: 28, inW: 28, inC: 1, kH: 3, kW: 3, outC: 16, strideH: 1, strideW: 1, padTop: 1, padLeft: 1, outH: 28, outW: 28 }],
      ['28×28×1 → 8, 3×3 valid (small CNN)', { inH: 28, inW: 28, inC: 1, kH: 3, kW: 3, outC: 8, strideH: 1, strideW: 1, padTop: 0, padLeft: 0, outH: 26, outW: 26 }],
      ['15×15×3 → 32, 3×3 same, odd size', { inH: 15, inW: 15, inC: 3, kH: 3, kW: 3, outC: 32, strideH: 1, strideW: 1, padTop: 1, padLeft: 1, outH: 15, outW: 15 }],
    ] as const) {
      it(`conv2dBackwardFilterPooled, batch ${n}: ${label}`, () => {
        const g: ConvGeometry = { n, ...shape };
        const ph = Math.floor(g.outH / 2), pw = Math.floor(g.outW / 2);
        const p: PoolGeometry = { n, inH: g.outH, inW: g.outW, c: g.outC, poolH: 2, poolW: 2, strideH: 2, strideW: 2, padTop: 0, padLeft: 0, outH: ph, outW: pw };
        const ys = n * ph * pw * g.outC, argmax = new Int32Array(ys);
        jsBackend.maxPool2dForward(randomArray(n * g.outH * g.outW * g.outC, 17), new Float32Array(ys), argmax, p);
        const ws = g.kH * g.kW * g.inC * g.outC;
        check((b, [x, t, dw]) => b.conv2dBackwardFilterPooled(x, t, argmax, dw, g, p),
          [randomArray(n * g.inH * g.inW * g.inC, 18), randomArray(ys, 19), new Float32Array(ws)], [2], { tol: 2e-4 * Math.sqrt(n) });
      });
    }
  }

  it('gatherRows of a shuffled batch out of a 20,000-image set, 17 to 129 rows', () => {
    const rows = 20000, rowSize = 784;
    const src = randomArray(rows * rowSize, 14);
    const index = Int32Array.from({ length: 129 }, (_, i) => (i * 7919 + 13) % rows);
    for (const count of [17, 32, 129]) {
      check((b, [out]) => b.gatherRows(src, rowSize, index, 0, count, out), [new Float32Array(count * rowSize)], [0], { tol: 0 });
    }
  });

  // The training products of the MLP and the npm-start CNN's dense layers,
  // which the GEMM cuts into a few tasks per thread (gemm.cc choose_task_grid),
  // and the small CNN's 1352→10 layer (the narrow kernel: C 10 wide).
  const products = [[32, 128, 784, false, false], [784, 128, 32, true, false], [129, 784, 128, false, true],
    [32, 128, 1568, false, false], [1568, 128, 32, true, false], [32, 1568, 128, false, true], [1352, 10, 32, true, false], [32, 10, 1352, false, false]] as const;

  it('matmul on the MLP and CNN dense shapes: 1 and 2 threads give the same bits', () => {
    for (const [m, n, k, ta, tb] of products) {
      check((b, [a, bb, c]) => b.matmul(a, bb, c, m, n, k, ta, tb, false), [randomArray(m * k, 1), randomArray(k * n, 2), new Float32Array(m * n)], [2]);
    }
  });

  it('matmul accumulating with a scale (the folded SGD step) and with a bias and ReLU: 1 and 2 threads give the same bits', () => {
    for (const [m, n, k, ta, tb] of products) {
      check((b, [a, bb, c]) => b.matmul(a, bb, c, m, n, k, ta, tb, true, -0.05),
        [randomArray(m * k, 3), randomArray(k * n, 4), randomArray(m * n, 5)], [2]);
      if (ta || tb) continue;
      check((b, [a, bb, bias, c]) => { b.matmulBiasActivation(a, bb, bias, c, m, n, k, 'relu', 0); },
        [randomArray(m * k, 6), randomArray(k * n, 7), randomArray(n, 8), new Float32Array(m * n)], [3]);
    }
  });

  it('names its helper threads layerwise-pool (Linux), so tools can tell them from Node\'s', function () {
    if (process.platform !== 'linux') this.skip();
    const names = () => readdirSync('/proc/self/task').map((tid) => {
      try {
        return readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim();
      } catch {
        return '';
      }
    });
    setNumThreads(2);
    // A product large enough for the cost model to split starts the helper
    // (also when a busy machine then has the pool run it on the caller alone).
    const [m, n, k] = [256, 256, 256];
    native.matmul(randomArray(m * k, 3), randomArray(k * n, 4), new Float32Array(m * n), m, n, k, false, false, false);
    const pool = names().filter((name) => name === 'layerwise-pool');
    expect(pool.length, 'helper threads named layerwise-pool').to.be.at.least(1);
    expect(readFileSync(`/proc/self/task/${process.pid}/comm`, 'utf8').trim(), 'the main thread keeps its name').to.not.equal('layerwise-pool');
  });
});
