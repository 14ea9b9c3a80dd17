// The native backend: each kernel is one synchronous call into the C++ addon
// (native/binding), which re-checks buffer lengths and runs the kernel on the
// addon's own thread pool.

import type { ActivationKind, Backend, ConvGeometry, PoolGeometry } from './backend.js';
import { ACTIVATION_KINDS } from './backend.js';
import { OptionError, ShapeError } from '../errors.js';

/** Cache sizes in bytes (info().caches). */
export interface CacheSizes {
  l1d: number;
  l2: number;
  l3: number;
}

/** What the addon exports (native/binding/addon.cc). */
export interface NativeBinding {
  matmul(a: Float32Array, b: Float32Array, c: Float32Array, m: number, n: number, k: number,
    transA: boolean, transB: boolean, accumulate: boolean, alpha: number): void;
  matmulBiasActivation(a: Float32Array, b: Float32Array, bias: Float32Array, c: Float32Array, m: number, n: number, k: number,
    kind: number, alpha: number): boolean;
  conv2dForward(x: Float32Array, w: Float32Array, y: Float32Array, g: Int32Array, accumulate: boolean): void;
  conv2dForwardBiasActivation(x: Float32Array, w: Float32Array, bias: Float32Array, y: Float32Array, g: Int32Array, kind: number, alpha: number): void;
  conv2dBackwardInput(dy: Float32Array, w: Float32Array, dx: Float32Array, g: Int32Array, accumulate: boolean): void;
  conv2dBackwardFilter(x: Float32Array, dy: Float32Array, dw: Float32Array, g: Int32Array, accumulate: boolean): void;
  conv2dBackwardFilterPooled(x: Float32Array, t: Float32Array, argmax: Int32Array, dw: Float32Array, g: Int32Array, pool: Int32Array): void;
  activationForward(kind: number, x: Float32Array, y: Float32Array, alpha: number): void;
  activationBackward(kind: number, x: Float32Array, y: Float32Array, dy: Float32Array, dx: Float32Array, alpha: number): void;
  softmaxRows(x: Float32Array, y: Float32Array, rows: number, cols: number): void;
  softmaxBackwardRows(y: Float32Array, dy: Float32Array, dx: Float32Array, rows: number, cols: number): void;
  multiply(a: Float32Array, b: Float32Array, out: Float32Array): void;
  maxPool2dForward(x: Float32Array, y: Float32Array, argmax: Int32Array, g: Int32Array): void;
  maxPool2dValues(x: Float32Array, y: Float32Array, g: Int32Array): void;
  maxPool2dBackward(dy: Float32Array, argmax: Int32Array, dx: Float32Array, g: Int32Array): void;
  maxPool2dBackwardActivation(dy: Float32Array, argmax: Int32Array, y: Float32Array, dx: Float32Array, g: Int32Array,
    kind: number, alpha: number, sums: Float32Array | null): void;
  avgPool2dForward(x: Float32Array, y: Float32Array, g: Int32Array): void;
  avgPool2dBackward(dy: Float32Array, dx: Float32Array, g: Int32Array): void;
  globalAvgPoolForward(x: Float32Array, y: Float32Array, n: number, pixels: number, c: number): void;
  globalAvgPoolBackward(dy: Float32Array, dx: Float32Array, n: number, pixels: number, c: number): void;
  globalMaxPoolForward(x: Float32Array, y: Float32Array, argmax: Int32Array, n: number, pixels: number, c: number): void;
  globalMaxPoolBackward(dy: Float32Array, argmax: Int32Array, dx: Float32Array, n: number, pixels: number, c: number): void;
  sgdMomentumStep(param: Float32Array, grad: Float32Array, velocity: Float32Array, lr: number, momentum: number, nesterov: boolean): void;
  adamStep(param: Float32Array, grad: Float32Array, m: Float32Array, v: Float32Array,
    stepSize: number, beta1: number, beta2: number, bias2: number, eps: number): void;
  rmspropStep(param: Float32Array, grad: Float32Array, sq: Float32Array, lr: number, rho: number, eps: number): void;
  addRowVector(y: Float32Array, bias: Float32Array, rows: number, cols: number): void;
  sumRows(x: Float32Array, out: Float32Array, rows: number, cols: number, accumulate: boolean): void;
  batchNormTrainForward(x: Float32Array, gamma: Float32Array, beta: Float32Array, y: Float32Array,
    mean: Float32Array, variance: Float32Array, rows: number, cols: number, eps: number): void;
  batchNormBackward(x: Float32Array, dy: Float32Array, mean: Float32Array, invStd: Float32Array, gamma: Float32Array,
    dx: Float32Array, dgamma: Float32Array, dbeta: Float32Array, rows: number, cols: number): void;
  scaleShift(x: Float32Array, scale: Float32Array, shift: Float32Array, y: Float32Array, rows: number, cols: number): void;
  biasActivation(y: Float32Array, bias: Float32Array, rows: number, cols: number, kind: number, alpha: number): void;
  axpy(alpha: number, x: Float32Array, y: Float32Array): void;
  mse(pred: Float32Array, target: Float32Array): number;
  firstNonFinite(x: Float32Array): number;
  /** Bytes by which x's first element lies past a 128-byte boundary (lib/aligned.ts). */
  misalignment(x: Float32Array): number;
  gatherRows(src: Float32Array, rowSize: number, index: Int32Array, start: number, end: number, out: Float32Array, prefetchStart?: number, prefetchEnd?: number): void;
  mseGradient(pred: Float32Array, target: Float32Array, grad: Float32Array): void;
  info(): { isa: string; threads: number; supported: string[]; caches: CacheSizes };
  setIsa(isa: string): void;
  setNumThreads(n: number): void;
  /** Moves the calling thread to the OS's idle scheduling class; false where that is unavailable (see native/kernels/cpu.h). */
  makeThreadIdlePriority(): boolean;
}

// Packed geometries are handed straight to one synchronous binding call (which
// copies them first), so one scratch array per kind serves every call and a
// training step allocates no buffer for them.
const convSizes = new Int32Array(13);
const poolSizes = new Int32Array(12);

/** Geometry as the binding takes it: 13 sizes in ConvGeometry's field order (valid until the next call). */
export function packGeometry(g: ConvGeometry): Int32Array {
  return int32Sizes([g.n, g.inH, g.inW, g.inC, g.kH, g.kW, g.outC, g.strideH, g.strideW, g.padTop, g.padLeft, g.outH, g.outW], convSizes);
}

/** Pool geometry as the binding takes it: 12 sizes in PoolGeometry's field order (valid until the next call). */
export function packPoolGeometry(g: PoolGeometry): Int32Array {
  return int32Sizes([g.n, g.inH, g.inW, g.c, g.poolH, g.poolW, g.strideH, g.strideW, g.padTop, g.padLeft, g.outH, g.outW], poolSizes);
}

/** A plain Int32Array store would wrap 2^32 to 0 (a pool of size 0): refuse what does not fit instead. */
function int32Sizes(values: number[], into: Int32Array): Int32Array {
  // Stored one by one: TypedArray.set from a plain array takes a generic path
  // that showed in the per-step profile of a CNN fit (several calls a layer).
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isInteger(v) || v < -(2 ** 31) || v > 2 ** 31 - 1) throw new ShapeError(`geometry size ${v} does not fit the kernels' 32-bit sizes`);
    into[i] = v;
  }
  return into;
}

function activationCode(kind: ActivationKind): number {
  const code = ACTIVATION_KINDS.indexOf(kind);
  if (code < 0) throw new OptionError(`unknown activation '${String(kind)}'`);
  return code;
}

export function createNativeBackend(binding: NativeBinding): Backend {
  return {
    name: 'native',
    matmul: (a, b, c, m, n, k, transA, transB, accumulate, alpha = 1) => binding.matmul(a, b, c, m, n, k, transA, transB, accumulate, alpha),
    matmulBiasActivation: (a, b, bias, c, m, n, k, kind, alpha) =>
      binding.matmulBiasActivation(a, b, bias, c, m, n, k, activationCode(kind), alpha),
    conv2dForward: (x, w, y, g, acc) => binding.conv2dForward(x, w, y, packGeometry(g), acc),
    conv2dForwardBiasActivation: (x, w, bias, y, g, kind, alpha) =>
      binding.conv2dForwardBiasActivation(x, w, bias, y, packGeometry(g), activationCode(kind), alpha),
    conv2dBackwardInput: (dy, w, dx, g, acc) => binding.conv2dBackwardInput(dy, w, dx, packGeometry(g), acc),
    conv2dBackwardFilter: (x, dy, dw, g, acc) => binding.conv2dBackwardFilter(x, dy, dw, packGeometry(g), acc),
    conv2dBackwardFilterPooled: (x, t, argmax, dw, g, pool) => binding.conv2dBackwardFilterPooled(x, t, argmax, dw, packGeometry(g), packPoolGeometry(pool)),
    activationForward: (kind, x, y, alpha) => binding.activationForward(activationCode(kind), x, y, alpha),
    activationBackward: (kind, x, y, dy, dx, alpha) => binding.activationBackward(activationCode(kind), x, y, dy, dx, alpha),
    softmaxRows: (x, y, rows, cols) => binding.softmaxRows(x, y, rows, cols),
    softmaxBackwardRows: (y, dy, dx, rows, cols) => binding.softmaxBackwardRows(y, dy, dx, rows, cols),
    multiply: (a, b, out) => binding.multiply(a, b, out),
    maxPool2dForward: (x, y, argmax, g) => binding.maxPool2dForward(x, y, argmax, packPoolGeometry(g)),
    maxPool2dValues: (x, y, g) => binding.maxPool2dValues(x, y, packPoolGeometry(g)),
    maxPool2dBackward: (dy, argmax, dx, g) => binding.maxPool2dBackward(dy, argmax, dx, packPoolGeometry(g)),
    maxPool2dBackwardActivation: (dy, argmax, y, dx, g, kind, alpha, sums) =>
      binding.maxPool2dBackwardActivation(dy, argmax, y, dx, packPoolGeometry(g), activationCode(kind), alpha, sums),
    avgPool2dForward: (x, y, g) => binding.avgPool2dForward(x, y, packPoolGeometry(g)),
    avgPool2dBackward: (dy, dx, g) => binding.avgPool2dBackward(dy, dx, packPoolGeometry(g)),
    globalAvgPoolForward: (x, y, n, pixels, c) => binding.globalAvgPoolForward(x, y, n, pixels, c),
    globalAvgPoolBackward: (dy, dx, n, pixels, c) => binding.globalAvgPoolBackward(dy, dx, n, pixels, c),
    globalMaxPoolForward: (x, y, argmax, n, pixels, c) => binding.globalMaxPoolForward(x, y, argmax, n, pixels, c),
    globalMaxPoolBackward: (dy, argmax, dx, n, pixels, c) => binding.globalMaxPoolBackward(dy, argmax, dx, n, pixels, c),
    sgdMomentumStep: (p, g, v, lr, momentum, nesterov) => binding.sgdMomentumStep(p, g, v, lr, momentum, nesterov),
    adamStep: (p, g, m, v, stepSize, b1, b2, bias2, eps) => binding.adamStep(p, g, m, v, stepSize, b1, b2, bias2, eps),
    rmspropStep: (p, g, sq, lr, rho, eps) => binding.rmspropStep(p, g, sq, lr, rho, eps),
    addRowVector: (y, bias, rows, cols) => binding.addRowVector(y, bias, rows, cols),
    sumRows: (x, out, rows, cols, acc) => binding.sumRows(x, out, rows, cols, acc),
    batchNormTrainForward: (x, gamma, beta, y, mean, variance, rows, cols, eps) =>
      binding.batchNormTrainForward(x, gamma, beta, y, mean, variance, rows, cols, eps),
    batchNormBackward: (x, dy, mean, invStd, gamma, dx, dgamma, dbeta, rows, cols) =>
      binding.batchNormBackward(x, dy, mean, invStd, gamma, dx, dgamma, dbeta, rows, cols),
    scaleShift: (x, scale, shift, y, rows, cols) => binding.scaleShift(x, scale, shift, y, rows, cols),
    biasActivation: (y, bias, rows, cols, kind, alpha) => binding.biasActivation(y, bias, rows, cols, activationCode(kind), alpha),
    axpy: (alpha, x, y) => binding.axpy(alpha, x, y),
    mse: (pred, target) => binding.mse(pred, target),
    firstNonFinite: (x) => binding.firstNonFinite(x),
    gatherRows: (src, rowSize, index, start, end, out, prefetchStart, prefetchEnd) => binding.gatherRows(src, rowSize, index, start, end, out, prefetchStart, prefetchEnd),
    mseGradient: (pred, target, grad) => binding.mseGradient(pred, target, grad),
  };
}
