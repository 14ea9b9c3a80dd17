// Public tensor operations, each one kernel call on the active backend.
// Semantics follow numpy.dot, scipy.signal.correlate2d and
// scipy.signal.convolve2d (output shape, values and 'same' centring).

import { getBackend } from './backends/index.js';
import type { ConvGeometry } from './backends/backend.js';
import { argmax } from './metrics.js';
import { describe, formatShape } from './shape.js';
import { Tensor, toTensor, type TensorLike } from './tensor.js';
import { DataError, OptionError, ShapeError } from './errors.js';
import { checkOptions } from './options.js';

/** Output size of a 2-D correlation or convolution, as in scipy.signal: `'valid'`, `'same'` or `'full'`. */
export type ConvMode = 'valid' | 'full' | 'same';

/** The last argument of matmul, correlate2d, convolve2d and softmax. */
export interface OutOptions {
  /**
   * Where to write the result (its shape must be the result's) instead of a
   * tensor allocated by the call: a loop that reuses one `out` allocates nothing
   * and skips the zero fill and page faults a fresh buffer costs.
   */
  out?: Tensor;
}

/** `options.out` checked against the result's shape and the inputs' memory, or a fresh tensor. */
function outputFor(shape: number[], options: OutOptions, inputs: Tensor[], name: string): Tensor {
  checkOptions(options, ['out'], `${name} options`);
  const out = options.out;
  if (out === undefined) return Tensor.zeros(shape);
  if (!(out instanceof Tensor)) throw new OptionError(`expected a Tensor for ${name} out but got ${describe(out)}`);
  if (out.shape.length !== shape.length || out.shape.some((d, i) => d !== shape[i])) {
    throw new ShapeError(`expected ${formatShape(shape)} for ${name} out but got ${formatShape(out.shape)}`);
  }
  for (const t of inputs) {
    if (overlaps(out.data, t.data)) throw new OptionError(`${name} out must not share memory with an input`);
  }
  return out;
}

function overlaps(a: Float32Array, b: Float32Array): boolean {
  if (a.buffer !== b.buffer) return false;
  return a.byteOffset < b.byteOffset + b.byteLength && b.byteOffset < a.byteOffset + a.byteLength;
}

/**
 * numpy.dot for rank ≤ 2: [m,k]·[k,n] → [m,n], [k]·[k,n] → [n],
 * [m,k]·[k] → [m], [k]·[k] → [] (a scalar tensor).
 */
export function matmul(a: TensorLike, b: TensorLike, options: OutOptions = {}): Tensor {
  const ta = toTensor(a, 'a');
  const tb = toTensor(b, 'b');
  if (ta.rank < 1 || ta.rank > 2 || tb.rank < 1 || tb.rank > 2) {
    throw new ShapeError(`matmul takes vectors or matrices but got ${formatShape(ta.shape)} and ${formatShape(tb.shape)}`);
  }
  const [m, k] = ta.rank === 2 ? ta.shape : [1, ta.shape[0]];
  const [kb, n] = tb.rank === 2 ? tb.shape : [tb.shape[0], 1];
  if (k !== kb) {
    throw new ShapeError(
      `matmul: shapes ${formatShape(ta.shape)} and ${formatShape(tb.shape)} are not aligned (${k} ≠ ${kb})`,
    );
  }
  const outShape = [...(ta.rank === 2 ? [m] : []), ...(tb.rank === 2 ? [n] : [])];
  const out = outputFor(outShape, options, [ta, tb], 'matmul');
  // A [k] vector on the right is a [k,1] column; both store the same floats.
  getBackend().matmul(ta.data, tb.data, out.data, m, n, k, false, false, false);
  return out;
}

/** scipy.signal.correlate2d(x, k, mode) for 2-D real inputs (zero fill). */
export function correlate2d(x: TensorLike, kernel: TensorLike, mode: ConvMode = 'full', options: OutOptions = {}): Tensor {
  return filter2d(x, kernel, mode, false, 'correlate2d', options);
}

/** scipy.signal.convolve2d(x, k, mode) for 2-D real inputs (zero fill). */
export function convolve2d(x: TensorLike, kernel: TensorLike, mode: ConvMode = 'full', options: OutOptions = {}): Tensor {
  return filter2d(x, kernel, mode, true, 'convolve2d', options);
}

function filter2d(xIn: TensorLike, kIn: TensorLike, mode: ConvMode, flip: boolean, name: string, options: OutOptions): Tensor {
  let x = toTensor(xIn, 'x');
  let k = toTensor(kIn, 'kernel');
  if (x.rank !== 2 || k.rank !== 2) {
    throw new ShapeError(`${name}: expected 2-D x and kernel but got ${formatShape(x.shape)} and ${formatShape(k.shape)}`);
  }
  if (mode !== 'valid' && mode !== 'full' && mode !== 'same') {
    throw new OptionError(`${name}: expected mode 'valid', 'full' or 'same' but got ${describe(mode)}`);
  }
  let reverseOutput = false;
  if (mode === 'valid') {
    const xContainsK = x.shape[0] >= k.shape[0] && x.shape[1] >= k.shape[1];
    const kContainsX = k.shape[0] >= x.shape[0] && k.shape[1] >= x.shape[1];
    if (!xContainsK && !kContainsX) {
      throw new ShapeError(
        `${name}: for 'valid' mode one input must be at least as large as the other in every dimension, ` +
          `but got ${formatShape(x.shape)} and ${formatShape(k.shape)}`,
      );
    }
    // As scipy does: swap so the larger is the input. Convolution commutes;
    // correlation of the swapped pair is the original reversed in both axes.
    if (!xContainsK) {
      [x, k] = [k, x];
      reverseOutput = !flip;
    }
  }
  const [h, w] = x.shape;
  const [kh, kw] = k.shape;
  // Convolution is correlation with the kernel flipped in both axes.
  const weights = flip ? reversed2d(k) : k.data;
  // Where the output window starts relative to 'full' (scipy's centring,
  // which differs between correlate2d and convolve2d for even kernels).
  const sameOffsetH = flip ? Math.floor((kh - 1) / 2) : Math.floor(kh / 2);
  const sameOffsetW = flip ? Math.floor((kw - 1) / 2) : Math.floor(kw / 2);
  let outH: number, outW: number, padTop: number, padLeft: number;
  if (mode === 'valid') {
    [outH, outW, padTop, padLeft] = [h - kh + 1, w - kw + 1, 0, 0];
  } else if (mode === 'full') {
    [outH, outW, padTop, padLeft] = [h + kh - 1, w + kw - 1, kh - 1, kw - 1];
  } else {
    [outH, outW, padTop, padLeft] = [h, w, kh - 1 - sameOffsetH, kw - 1 - sameOffsetW];
  }
  outH = Math.max(outH, 0);
  outW = Math.max(outW, 0);
  const g: ConvGeometry = {
    n: 1, inH: h, inW: w, inC: 1, kH: kh, kW: kw, outC: 1,
    strideH: 1, strideW: 1, padTop, padLeft, outH, outW,
  };
  const out = outputFor([outH, outW], options, [x, k], name);
  if (kh > 0 && kw > 0) getBackend().conv2dForward(x.data, weights, out.data, g, false);
  else out.data.fill(0);
  if (reverseOutput) out.data.reverse();
  return out;
}

function reversed2d(k: Tensor): Float32Array {
  // Flipping both axes of a row-major matrix reverses its storage.
  return k.data.slice().reverse();
}

/** Row-wise softmax over the last dimension (max-subtracted, so large logits stay finite). */
export function softmax(xIn: TensorLike, options: OutOptions = {}): Tensor {
  const x = toTensor(xIn, 'softmax input');
  if (x.rank < 1) throw new ShapeError(`softmax takes a vector or a batch [..., classes] but got ${formatShape(x.shape)}`);
  const cols = x.shape[x.rank - 1];
  const out = outputFor([...x.shape], options, [], 'softmax');
  if (cols > 0) getBackend().softmaxRows(x.data, out.data, x.size / cols, cols);
  return out;
}

/** Index of the largest value along the last dimension: [n, classes] → [n] (first index on ties, as numpy). */
export function argMax(xIn: TensorLike): Tensor {
  const x = toTensor(xIn, 'argMax input');
  const cols = x.rank < 1 ? 0 : x.shape[x.rank - 1];
  if (cols === 0) throw new ShapeError(`argMax needs a non-empty last dimension but got ${formatShape(x.shape)}`);
  const rows = x.size / cols;
  const out = new Float32Array(rows);
  for (let r = 0; r < rows; r++) out[r] = argmax(x.data, r * cols, cols);
  return new Tensor(out, x.shape.slice(0, -1));
}

/** Class ids [n] → one-hot rows [n, classes]; `classes` defaults to the largest id + 1. */
export function oneHot(idsIn: TensorLike, classes?: number): Tensor {
  const ids = toTensor(idsIn, 'oneHot ids');
  if (ids.rank !== 1) throw new ShapeError(`oneHot takes class ids [n] but got ${formatShape(ids.shape)}`);
  let width = classes;
  if (width === undefined) width = ids.size === 0 ? 0 : Math.max(...ids.data) + 1;
  if (!Number.isInteger(width) || width < 1) throw new OptionError(`expected a positive integer for oneHot classes but got ${describe(classes)}`);
  const out = Tensor.zeros([ids.size, width]);
  for (let i = 0; i < ids.size; i++) {
    const id = ids.data[i];
    if (!Number.isInteger(id) || id < 0 || id >= width) {
      throw new DataError(`oneHot: sample ${i} holds ${id}, but class ids must be integers in [0, ${width - 1}]`);
    }
    out.data[i * width + id] = 1;
  }
  return out;
}

