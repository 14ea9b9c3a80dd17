// The fuzz test's argument specs: for every function the native binding
// exports, its argument kinds, a generator of random valid calls and the same
// call on the JS backend. Shared by test/fuzz.test.ts and the shared-memory
// race (test/fixtures/shared-race.ts).

import { jsBackend } from '../lib/backends/index.js';
import { ACTIVATION_KINDS, type ConvGeometry, type PoolGeometry } from '../lib/backends/backend.js';
import type { NativeBinding } from '../lib/backends/native.js';
import { Rng } from '../lib/random.js';

// The binding's FMA-peak probe (native/kernels/peak.cc) and the thread pool's
// counters serve the benchmarks only, so lib/ never calls them; the fuzzer
// still covers them like every export.
declare module '../lib/backends/native.js' {
  interface NativeBinding {
    fmaPeak(isa: string, rounds: number, threads: number): number;
    poolStats(): Record<string, number>;
  }
}

export const FUZZ_SEED = 20240611;
export const CALLS_PER_FUNCTION = Number(process.env.LAYERWISE_FUZZ_CALLS ?? 2000);
/** Share of calls that stay valid (and are checked against the JS backend). */
export const VALID_SHARE = 0.3;

export type Fn = keyof NativeBinding;
export type Kind = 'buffer' | 'out' | 'ints' | 'size' | 'flag' | 'scalar' | 'geometry' | 'poolGeometry' | 'activation' | 'isa' | 'threads';

export class Fuzz {
  readonly rng: Rng;
  constructor(seed: number) {
    this.rng = new Rng(seed);
  }
  /** Integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.rng.next() * (hi - lo + 1));
  }
  chance(p: number): boolean {
    return this.rng.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.rng.next() * items.length)];
  }
  floats(n: number, lo = -1, hi = 1): Float32Array {
    const a = new Float32Array(n);
    for (let i = 0; i < n; i++) a[i] = this.rng.uniform(lo, hi);
    return a;
  }
}

// ---------------------------------------------------------------- valid calls

export interface Spec {
  fn: Fn;
  kinds: Kind[];
  /** A random valid call (small sizes, finite data, consistent buffer lengths). */
  valid(f: Fuzz): unknown[];
  /** The same call on the JS backend, for the comparison; absent for info/setIsa/setNumThreads. */
  js?(args: unknown[]): unknown;
}

const unpackConv = (g: Int32Array): ConvGeometry => ({
  n: g[0], inH: g[1], inW: g[2], inC: g[3], kH: g[4], kW: g[5], outC: g[6],
  strideH: g[7], strideW: g[8], padTop: g[9], padLeft: g[10], outH: g[11], outW: g[12],
});
const unpackPool = (g: Int32Array): PoolGeometry => ({
  n: g[0], inH: g[1], inW: g[2], c: g[3], poolH: g[4], poolW: g[5],
  strideH: g[6], strideW: g[7], padTop: g[8], padLeft: g[9], outH: g[10], outW: g[11],
});

/**
 * A small conv geometry: usually the output size a real layer would use
 * (any padding, possibly negative, which crops), sometimes an arbitrary one,
 * which the kernels must still keep inside the buffers by bounds checks.
 */
function convGeometry(f: Fuzz): Int32Array {
  const n = f.int(0, 3), inH = f.int(0, 7), inW = f.int(0, 7), inC = f.int(0, 4);
  const kH = f.int(0, 4), kW = f.int(0, 4), outC = f.int(0, 4);
  const sH = f.int(1, 3), sW = f.int(1, 3), pT = f.int(-2, 3), pL = f.int(-2, 3);
  let outH: number, outW: number;
  if (f.chance(0.7)) {
    outH = Math.max(0, Math.floor((inH + pT + f.int(-2, 3) - kH) / sH) + 1);
    outW = Math.max(0, Math.floor((inW + pL + f.int(-2, 3) - kW) / sW) + 1);
  } else {
    outH = f.int(0, 8);
    outW = f.int(0, 8);
  }
  return Int32Array.of(n, inH, inW, inC, kH, kW, outC, sH, sW, pT, pL, outH, outW);
}
function convSizes(g: Int32Array): { x: number; w: number; y: number } {
  return { x: g[0] * g[1] * g[2] * g[3], w: g[4] * g[5] * g[3] * g[6], y: g[0] * g[11] * g[12] * g[6] };
}

function poolGeometry(f: Fuzz): Int32Array {
  const n = f.int(0, 3), inH = f.int(0, 8), inW = f.int(0, 8), c = f.int(0, 4);
  const pH = f.int(1, 4), pW = f.int(1, 4), sH = f.int(1, 3), sW = f.int(1, 3), pT = f.int(-2, 2), pL = f.int(-2, 2);
  let outH: number, outW: number;
  if (f.chance(0.7)) {
    outH = Math.max(0, Math.floor((inH + 2 * Math.max(pT, 0) - pH) / sH) + 1);
    outW = Math.max(0, Math.floor((inW + 2 * Math.max(pL, 0) - pW) / sW) + 1);
  } else {
    outH = f.int(0, 9);
    outW = f.int(0, 9);
  }
  return Int32Array.of(n, inH, inW, c, pH, pW, sH, sW, pT, pL, outH, outW);
}
function poolSizes(g: Int32Array): { x: number; y: number; image: number } {
  return { x: g[0] * g[1] * g[2] * g[3], y: g[0] * g[10] * g[11] * g[3], image: g[1] * g[2] * g[3] };
}

const len = (f: Fuzz) => (f.chance(0.1) ? 0 : f.int(1, f.chance(0.2) ? 300 : 40));
const positive = (f: Fuzz, n: number) => f.floats(n, 0, 1);

export const SPECS: Spec[] = [
  {
    fn: 'matmul', kinds: ['buffer', 'buffer', 'out', 'size', 'size', 'size', 'flag', 'flag', 'flag', 'scalar'],
    valid: (f) => {
      const big = f.chance(0.1);
      const m = f.int(0, big ? 40 : 9), n = f.int(0, big ? 40 : 9), k = f.int(0, big ? 70 : 9);
      return [f.floats(m * k), f.floats(k * n), f.floats(m * n), m, n, k, f.chance(0.5), f.chance(0.5), f.chance(0.5), f.chance(0.5) ? 1 : f.rng.uniform(-1, 1)];
    },
    js: (a) => jsBackend.matmul(...(a as Parameters<NativeBinding['matmul']>)),
  },
  {
    fn: 'matmulBiasActivation', kinds: ['buffer', 'buffer', 'buffer', 'out', 'size', 'size', 'size', 'activation', 'scalar'],
    valid: (f) => {
      const big = f.chance(0.1);
      const m = f.int(0, big ? 40 : 9), n = f.int(0, big ? 40 : 9), k = f.int(0, big ? 70 : 9);
      return [f.floats(m * k), f.floats(k * n), f.floats(n), f.floats(m * n), m, n, k, f.int(0, 4), f.rng.uniform(0, 0.5)];
    },
    js: ([a, b, bias, c, m, n, k, kind, alpha]) => jsBackend.matmulBiasActivation(a as Float32Array, b as Float32Array, bias as Float32Array,
      c as Float32Array, m as number, n as number, k as number, ACTIVATION_KINDS[kind as number], alpha as number),
  },
  {
    fn: 'conv2dForward', kinds: ['buffer', 'buffer', 'out', 'geometry', 'flag'],
    valid: (f) => {
      const g = convGeometry(f), s = convSizes(g);
      return [f.floats(s.x), f.floats(s.w), f.floats(s.y), g, f.chance(0.5)];
    },
    js: ([x, w, y, g, acc]) => jsBackend.conv2dForward(x as Float32Array, w as Float32Array, y as Float32Array, unpackConv(g as Int32Array), acc as boolean),
  },
  {
    fn: 'conv2dForwardBiasActivation', kinds: ['buffer', 'buffer', 'buffer', 'out', 'geometry', 'activation', 'scalar'],
    valid: (f) => {
      const g = convGeometry(f), s = convSizes(g);
      return [f.floats(s.x), f.floats(s.w), f.floats(g[6]), f.floats(s.y), g, f.int(0, 4), f.rng.uniform(0, 0.5)];
    },
    js: ([x, w, bias, y, g, kind, alpha]) => jsBackend.conv2dForwardBiasActivation(x as Float32Array, w as Float32Array, bias as Float32Array,
      y as Float32Array, unpackConv(g as Int32Array), ACTIVATION_KINDS[kind as number], alpha as number),
  },
  {
    fn: 'conv2dBackwardInput', kinds: ['buffer', 'buffer', 'out', 'geometry', 'flag'],
    valid: (f) => {
      const g = convGeometry(f), s = convSizes(g);
      return [f.floats(s.y), f.floats(s.w), f.floats(s.x), g, f.chance(0.5)];
    },
    js: ([dy, w, dx, g, acc]) => jsBackend.conv2dBackwardInput(dy as Float32Array, w as Float32Array, dx as Float32Array, unpackConv(g as Int32Array), acc as boolean),
  },
  {
    fn: 'conv2dBackwardFilterPooled', kinds: ['buffer', 'buffer', 'ints', 'out', 'geometry', 'poolGeometry'],
    valid: (f) => {
      const g = convGeometry(f), s = convSizes(g);
      // Non-overlapping windows over the conv output, the pool's usual output size or fewer windows.
      const p = f.int(1, 3), outH = Math.floor(g[11] / p) - (f.chance(0.2) ? 1 : 0), outW = Math.floor(g[12] / p);
      const pool = Int32Array.of(g[0], g[11], g[12], g[6], p, p, p, p, 0, 0, Math.max(outH, 0), outW);
      const pooled = g[0] * Math.max(outH, 0) * outW * g[6], image = g[11] * g[12] * g[6];
      const x = f.floats(s.x), t = f.floats(pooled);
      // Winners from a real forward pass over some conv output, or untrusted indices (skipped when outside the image).
      let argmax: Int32Array;
      if (f.chance(0.6)) {
        argmax = new Int32Array(pooled);
        jsBackend.maxPool2dForward(f.floats(s.y), new Float32Array(pooled), argmax, unpackPool(pool));
      } else {
        argmax = Int32Array.from({ length: pooled }, () => f.int(-3, image + 3));
      }
      return [x, t, argmax, f.floats(s.w), g, pool];
    },
    js: ([x, t, am, dw, g, pool]) => jsBackend.conv2dBackwardFilterPooled(x as Float32Array, t as Float32Array, am as Int32Array, dw as Float32Array,
      unpackConv(g as Int32Array), unpackPool(pool as Int32Array)),
  },
  {
    fn: 'conv2dBackwardFilter', kinds: ['buffer', 'buffer', 'out', 'geometry', 'flag'],
    valid: (f) => {
      const g = convGeometry(f), s = convSizes(g);
      return [f.floats(s.x), f.floats(s.y), f.floats(s.w), g, f.chance(0.5)];
    },
    js: ([x, dy, dw, g, acc]) => jsBackend.conv2dBackwardFilter(x as Float32Array, dy as Float32Array, dw as Float32Array, unpackConv(g as Int32Array), acc as boolean),
  },
  {
    fn: 'activationForward', kinds: ['activation', 'buffer', 'out', 'scalar'],
    valid: (f) => {
      const n = len(f), x = f.floats(n, -4, 4);
      // y may alias x (elementwise.h says so).
      return [f.int(0, 4), x, f.chance(0.15) ? x : f.floats(n), f.rng.uniform(0, 0.5)];
    },
    js: ([kind, x, y, alpha]) => jsBackend.activationForward(ACTIVATION_KINDS[kind as number], x as Float32Array, y as Float32Array, alpha as number),
  },
  {
    fn: 'activationBackward', kinds: ['activation', 'buffer', 'buffer', 'buffer', 'out', 'scalar'],
    valid: (f) => {
      const n = len(f), dy = f.floats(n);
      // dx may alias dy.
      return [f.int(0, 4), f.floats(n, -4, 4), f.floats(n, 0, 1), dy, f.chance(0.15) ? dy : f.floats(n), f.rng.uniform(0, 0.5)];
    },
    js: ([kind, x, y, dy, dx, alpha]) => jsBackend.activationBackward(ACTIVATION_KINDS[kind as number], x as Float32Array, y as Float32Array, dy as Float32Array, dx as Float32Array, alpha as number),
  },
  {
    fn: 'softmaxRows', kinds: ['buffer', 'out', 'size', 'size'],
    valid: (f) => {
      const rows = f.int(0, 6), cols = f.int(1, 12), x = f.floats(rows * cols, -20, 20);
      return [x, f.chance(0.2) ? x : f.floats(rows * cols), rows, cols];
    },
    js: (a) => jsBackend.softmaxRows(...(a as Parameters<NativeBinding['softmaxRows']>)),
  },
  {
    fn: 'softmaxBackwardRows', kinds: ['buffer', 'buffer', 'out', 'size', 'size'],
    valid: (f) => {
      const rows = f.int(0, 6), cols = f.int(1, 12), dy = f.floats(rows * cols);
      return [f.floats(rows * cols, 0, 1), dy, f.chance(0.2) ? dy : f.floats(rows * cols), rows, cols];
    },
    js: (a) => jsBackend.softmaxBackwardRows(...(a as Parameters<NativeBinding['softmaxBackwardRows']>)),
  },
  {
    fn: 'multiply', kinds: ['buffer', 'buffer', 'out'],
    valid: (f) => {
      const n = len(f), a = f.floats(n), b = f.floats(n);
      return [a, b, f.chance(0.3) ? f.pick([a, b]) : f.floats(n)];
    },
    js: (a) => jsBackend.multiply(...(a as Parameters<NativeBinding['multiply']>)),
  },
  {
    fn: 'maxPool2dForward', kinds: ['buffer', 'out', 'ints', 'poolGeometry'],
    valid: (f) => {
      const g = poolGeometry(f), s = poolSizes(g);
      return [f.floats(s.x), f.floats(s.y), new Int32Array(s.y), g];
    },
    js: ([x, y, am, g]) => jsBackend.maxPool2dForward(x as Float32Array, y as Float32Array, am as Int32Array, unpackPool(g as Int32Array)),
  },
  {
    fn: 'maxPool2dValues', kinds: ['buffer', 'out', 'poolGeometry'],
    valid: (f) => {
      const g = poolGeometry(f), s = poolSizes(g);
      return [f.floats(s.x), f.floats(s.y), g];
    },
    js: ([x, y, g]) => jsBackend.maxPool2dValues(x as Float32Array, y as Float32Array, unpackPool(g as Int32Array)),
  },
  {
    fn: 'maxPool2dBackward', kinds: ['buffer', 'ints', 'out', 'poolGeometry'],
    valid: (f) => {
      const g = poolGeometry(f), s = poolSizes(g);
      // argmax from the caller is untrusted: indices outside the image (and -1
      // for all-padding windows) must be skipped, never written through.
      const argmax = Int32Array.from({ length: s.y }, () => f.int(-3, s.image + 3));
      return [f.floats(s.y), argmax, f.floats(s.x), g];
    },
    js: ([dy, am, dx, g]) => jsBackend.maxPool2dBackward(dy as Float32Array, am as Int32Array, dx as Float32Array, unpackPool(g as Int32Array)),
  },
  {
    fn: 'maxPool2dBackwardActivation', kinds: ['buffer', 'ints', 'buffer', 'out', 'poolGeometry', 'activation', 'scalar', 'out'],
    valid: (f) => {
      const g = poolGeometry(f), s = poolSizes(g);
      const argmax = Int32Array.from({ length: s.y }, () => f.int(-3, s.image + 3));
      // sums is optional: null skips them.
      return [f.floats(s.y), argmax, f.floats(s.y), f.floats(s.x), g, f.int(0, 4), 0.2, f.chance(0.5) ? f.floats(g[3]) : null];
    },
    js: ([dy, am, y, dx, g, kind, alpha, sums]) => jsBackend.maxPool2dBackwardActivation(dy as Float32Array, am as Int32Array, y as Float32Array,
      dx as Float32Array, unpackPool(g as Int32Array), ACTIVATION_KINDS[kind as number], alpha as number, sums as Float32Array | null),
  },
  {
    fn: 'avgPool2dForward', kinds: ['buffer', 'out', 'poolGeometry'],
    valid: (f) => {
      const g = poolGeometry(f), s = poolSizes(g);
      return [f.floats(s.x), f.floats(s.y), g];
    },
    js: ([x, y, g]) => jsBackend.avgPool2dForward(x as Float32Array, y as Float32Array, unpackPool(g as Int32Array)),
  },
  {
    fn: 'avgPool2dBackward', kinds: ['buffer', 'out', 'poolGeometry'],
    valid: (f) => {
      const g = poolGeometry(f), s = poolSizes(g);
      return [f.floats(s.y), f.floats(s.x), g];
    },
    js: ([dy, dx, g]) => jsBackend.avgPool2dBackward(dy as Float32Array, dx as Float32Array, unpackPool(g as Int32Array)),
  },
  {
    fn: 'globalAvgPoolForward', kinds: ['buffer', 'out', 'size', 'size', 'size'],
    valid: (f) => {
      const n = f.int(0, 4), pixels = f.int(0, 20), c = f.int(0, 9);
      return [f.floats(n * pixels * c), f.floats(n * c), n, pixels, c];
    },
    js: (a) => jsBackend.globalAvgPoolForward(...(a as Parameters<NativeBinding['globalAvgPoolForward']>)),
  },
  {
    fn: 'globalAvgPoolBackward', kinds: ['buffer', 'out', 'size', 'size', 'size'],
    valid: (f) => {
      const n = f.int(0, 4), pixels = f.int(0, 20), c = f.int(0, 9);
      return [f.floats(n * c), f.floats(n * pixels * c), n, pixels, c];
    },
    js: (a) => jsBackend.globalAvgPoolBackward(...(a as Parameters<NativeBinding['globalAvgPoolBackward']>)),
  },
  {
    fn: 'globalMaxPoolForward', kinds: ['buffer', 'out', 'ints', 'size', 'size', 'size'],
    valid: (f) => {
      const n = f.int(0, 4), pixels = f.int(0, 20), c = f.int(0, 9);
      return [f.floats(n * pixels * c), f.floats(n * c), new Int32Array(n * c), n, pixels, c];
    },
    js: (a) => jsBackend.globalMaxPoolForward(...(a as Parameters<NativeBinding['globalMaxPoolForward']>)),
  },
  {
    fn: 'globalMaxPoolBackward', kinds: ['buffer', 'ints', 'out', 'size', 'size', 'size'],
    valid: (f) => {
      const n = f.int(0, 4), pixels = f.int(0, 20), c = f.int(0, 9);
      // argmax from the caller is untrusted: pixels outside [0, pixels) must be skipped.
      const argmax = Int32Array.from({ length: n * c }, () => f.int(-3, pixels + 3));
      return [f.floats(n * c), argmax, f.floats(n * pixels * c), n, pixels, c];
    },
    js: (a) => jsBackend.globalMaxPoolBackward(...(a as Parameters<NativeBinding['globalMaxPoolBackward']>)),
  },
  {
    fn: 'sgdMomentumStep', kinds: ['out', 'buffer', 'out', 'scalar', 'scalar', 'flag'],
    valid: (f) => {
      const n = len(f);
      return [f.floats(n), f.floats(n), f.floats(n), f.rng.uniform(0, 0.5), f.rng.uniform(0, 0.99), f.chance(0.5)];
    },
    js: (a) => jsBackend.sgdMomentumStep(...(a as Parameters<NativeBinding['sgdMomentumStep']>)),
  },
  {
    fn: 'adamStep', kinds: ['out', 'buffer', 'out', 'out', 'scalar', 'scalar', 'scalar', 'scalar', 'scalar'],
    valid: (f) => {
      const n = len(f), b2 = f.rng.uniform(0.9, 0.9999);
      return [f.floats(n), f.floats(n), f.floats(n), positive(f, n), f.rng.uniform(0, 0.1), f.rng.uniform(0.5, 0.99), b2,
        1 - b2 ** f.int(1, 50), f.pick([1e-7, 1e-4, 1e-3])];
    },
    js: (a) => jsBackend.adamStep(...(a as Parameters<NativeBinding['adamStep']>)),
  },
  {
    fn: 'rmspropStep', kinds: ['out', 'buffer', 'out', 'scalar', 'scalar', 'scalar'],
    valid: (f) => {
      const n = len(f);
      return [f.floats(n), f.floats(n), positive(f, n), f.rng.uniform(0, 0.1), f.rng.uniform(0.5, 0.99), f.pick([1e-7, 1e-4, 1e-3])];
    },
    js: (a) => jsBackend.rmspropStep(...(a as Parameters<NativeBinding['rmspropStep']>)),
  },
  {
    fn: 'addRowVector', kinds: ['out', 'buffer', 'size', 'size'],
    valid: (f) => {
      const rows = f.int(0, 8), cols = f.int(0, 12);
      return [f.floats(rows * cols), f.floats(cols), rows, cols];
    },
    js: (a) => jsBackend.addRowVector(...(a as Parameters<NativeBinding['addRowVector']>)),
  },
  {
    fn: 'sumRows', kinds: ['buffer', 'out', 'size', 'size', 'flag'],
    valid: (f) => {
      const rows = f.int(0, 8), cols = f.int(0, 12);
      return [f.floats(rows * cols), f.floats(cols), rows, cols, f.chance(0.5)];
    },
    js: (a) => jsBackend.sumRows(...(a as Parameters<NativeBinding['sumRows']>)),
  },
  {
    fn: 'batchNormTrainForward', kinds: ['buffer', 'buffer', 'buffer', 'out', 'out', 'out', 'size', 'size', 'scalar'],
    valid: (f) => {
      const rows = f.int(1, 9), cols = f.int(0, 12);
      return [f.floats(rows * cols), f.floats(cols), f.floats(cols), f.floats(rows * cols), f.floats(cols), f.floats(cols), rows, cols, f.pick([1e-3, 1e-5, 0.1])];
    },
    js: (a) => jsBackend.batchNormTrainForward(...(a as Parameters<NativeBinding['batchNormTrainForward']>)),
  },
  {
    fn: 'batchNormBackward', kinds: ['buffer', 'buffer', 'buffer', 'buffer', 'buffer', 'out', 'out', 'out', 'size', 'size'],
    valid: (f) => {
      const rows = f.int(1, 9), cols = f.int(0, 12);
      return [f.floats(rows * cols), f.floats(rows * cols), f.floats(cols), positive(f, cols), f.floats(cols),
        f.floats(rows * cols), f.floats(cols), f.floats(cols), rows, cols];
    },
    js: (a) => jsBackend.batchNormBackward(...(a as Parameters<NativeBinding['batchNormBackward']>)),
  },
  {
    fn: 'scaleShift', kinds: ['buffer', 'buffer', 'buffer', 'out', 'size', 'size'],
    valid: (f) => {
      const rows = f.int(0, 9), cols = f.int(0, 12);
      return [f.floats(rows * cols), f.floats(cols), f.floats(cols), f.floats(rows * cols), rows, cols];
    },
    js: (a) => jsBackend.scaleShift(...(a as Parameters<NativeBinding['scaleShift']>)),
  },
  {
    fn: 'biasActivation', kinds: ['out', 'buffer', 'size', 'size', 'activation', 'scalar'],
    valid: (f) => {
      const rows = f.int(0, 8), cols = f.int(0, 12);
      return [f.floats(rows * cols, -3, 3), f.floats(cols), rows, cols, f.int(0, 4), f.rng.uniform(0, 0.5)];
    },
    js: ([y, bias, rows, cols, kind, alpha]) => jsBackend.biasActivation(y as Float32Array, bias as Float32Array, rows as number, cols as number,
      ACTIVATION_KINDS[kind as number], alpha as number),
  },
  {
    fn: 'firstNonFinite', kinds: ['buffer'],
    valid: (f) => {
      // NaN and ±Infinity are what it looks for, so valid data contains them.
      const x = f.floats(len(f));
      if (x.length > 0 && f.chance(0.6)) x[f.int(0, x.length - 1)] = f.pick([NaN, Infinity, -Infinity]);
      return [x];
    },
    js: ([x]) => jsBackend.firstNonFinite(x as Float32Array),
  },
  // An address, not a result: nothing on the JS backend to compare it with.
  { fn: 'misalignment', kinds: ['buffer'], valid: (f) => [f.floats(len(f))] },
  {
    fn: 'gatherRows', kinds: ['buffer', 'size', 'ints', 'size', 'size', 'out'],
    valid: (f) => {
      const rows = f.int(1, 20), rowSize = f.int(1, 12), picks = f.int(0, 30);
      const index = Int32Array.from({ length: picks }, () => f.int(0, rows - 1));
      const start = f.int(0, picks), end = f.int(start, picks);
      const args: unknown[] = [f.floats(rows * rowSize), rowSize, index, start, end, f.floats((end - start) * rowSize)];
      if (f.chance(0.5)) {
        const from = f.int(0, picks);
        args.push(from, f.int(from, picks));
      }
      return args;
    },
    js: (a) => jsBackend.gatherRows(...(a as Parameters<NativeBinding['gatherRows']>)),
  },
  {
    fn: 'axpy', kinds: ['scalar', 'buffer', 'out'],
    valid: (f) => {
      const n = len(f);
      return [f.rng.uniform(-2, 2), f.floats(n), f.floats(n)];
    },
    js: (a) => jsBackend.axpy(...(a as Parameters<NativeBinding['axpy']>)),
  },
  {
    fn: 'mse', kinds: ['buffer', 'buffer'],
    valid: (f) => {
      const n = len(f);
      return [f.floats(n), f.floats(n)];
    },
    js: (a) => jsBackend.mse(...(a as Parameters<NativeBinding['mse']>)),
  },
  {
    fn: 'mseGradient', kinds: ['buffer', 'buffer', 'out'],
    valid: (f) => {
      const n = len(f);
      return [f.floats(n), f.floats(n), f.floats(n)];
    },
    js: (a) => jsBackend.mseGradient(...(a as Parameters<NativeBinding['mseGradient']>)),
  },
  { fn: 'info', kinds: [], valid: () => [] },
  { fn: 'setIsa', kinds: ['isa'], valid: (f) => [f.pick(supportedIsas)] },
  // Valid thread counts stay small: 1024 is legal but would start 1023 threads
  // on a shared two-core machine.
  { fn: 'setNumThreads', kinds: ['threads'], valid: (f) => [f.int(0, 3)] },
  // Few rounds: a valid call must stay short under the fuzzer's call count.
  { fn: 'fmaPeak', kinds: ['isa', 'size', 'threads'], valid: (f) => [f.pick(supportedIsas), f.int(0, 1000), f.int(1, 2)] },
  { fn: 'poolStats', kinds: [], valid: () => [] },
  // Takes nothing; on the main thread (where the fuzzers call it) it refuses and returns false.
  { fn: 'makeThreadIdlePriority', kinds: [], valid: () => [] },
];

let supportedIsas: string[] = ['baseline'];

/** The ISA variants setIsa may be given valid calls with (from binding.info()). */
export function setSupportedIsas(isas: string[]): void {
  supportedIsas = isas;
}
