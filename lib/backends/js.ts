// The pure-TypeScript backend: the reference the tests compare against, the
// fallback when no native binary loads, and the baseline in benchmarks.
// Loops favour sequential access over the innermost index and accumulate in
// JavaScript doubles before rounding to float32.

import { OptionError, ShapeError } from '../errors.js';
import type { ActivationKind, Backend, ConvGeometry, PoolGeometry } from './backend.js';

function sigmoid(v: number): number {
  if (v >= 0) return 1 / (1 + Math.exp(-v));
  const e = Math.exp(v);
  return e / (1 + e);
}

// Double-precision accumulators, reused so a training step on this backend
// allocates no buffer either (each kernel takes one and runs to completion).
let accumulators = new Float64Array(64);
let scratch = new Float32Array(0);
function scratchOf(length: number): Float32Array {
  if (scratch.length < length) scratch = new Float32Array(length);
  return scratch.subarray(0, length);
}

function accumulatorsOf(length: number): Float64Array {
  if (accumulators.length < length) accumulators = new Float64Array(length);
  const view = accumulators.subarray(0, length);
  view.fill(0);
  return view;
}

export const jsBackend: Backend = {
  name: 'js',

  matmul(a, b, c, m, n, k, transA, transB, accumulate, alpha = 1) {
    const row = accumulatorsOf(n);
    for (let i = 0; i < m; i++) {
      row.fill(0);
      // i-p-j order streams through rows of b (or its transpose, column by column).
      for (let p = 0; p < k; p++) {
        const av = transA ? a[p * m + i] : a[i * k + p];
        if (av === 0) continue;
        if (transB) {
          for (let j = 0; j < n; j++) row[j] += av * b[j * k + p];
        } else {
          const base = p * n;
          for (let j = 0; j < n; j++) row[j] += av * b[base + j];
        }
      }
      const out = i * n;
      if (alpha !== 1) {
        // Rounded to float32 first, as the product stored and then scaled (axpy on a gradient) would be.
        if (accumulate) for (let j = 0; j < n; j++) c[out + j] += alpha * Math.fround(row[j]);
        else for (let j = 0; j < n; j++) c[out + j] = alpha * Math.fround(row[j]);
      } else if (accumulate) for (let j = 0; j < n; j++) c[out + j] += row[j];
      else for (let j = 0; j < n; j++) c[out + j] = row[j];
    }
  },

  matmulBiasActivation(a, b, bias, c, m, n, k, kind, alpha) {
    jsBackend.matmul(a, b, c, m, n, k, false, false, false);
    let finite = true;
    for (let i = 0, j = 0; i < m * n; i++, j = j + 1 === n ? 0 : j + 1) {
      // Math.fround: the sum as the float32 the native epilogue forms.
      if (!Number.isFinite(Math.fround(c[i] + bias[j]))) {
        finite = false;
        break;
      }
    }
    jsBackend.biasActivation(c, bias, m, n, kind, alpha);
    return finite;
  },

  conv2dForwardBiasActivation(x, w, bias, y, g, kind, alpha) {
    jsBackend.conv2dForward(x, w, y, g, false);
    jsBackend.biasActivation(y, bias, g.n * g.outH * g.outW, g.outC, kind, alpha);
  },

  conv2dForward(x, w, y, g, accumulate) {
    const acc = accumulatorsOf(g.outC);
    for (let b = 0; b < g.n; b++) {
      for (let i = 0; i < g.outH; i++) {
        for (let j = 0; j < g.outW; j++) {
          acc.fill(0);
          forEachTap(g, i, j, (u, v, r, q) => {
            const xBase = ((b * g.inH + r) * g.inW + q) * g.inC;
            const wBase = (u * g.kW + v) * g.inC * g.outC;
            for (let c = 0; c < g.inC; c++) {
              const xv = x[xBase + c];
              const wRow = wBase + c * g.outC;
              for (let o = 0; o < g.outC; o++) acc[o] += xv * w[wRow + o];
            }
          });
          const yBase = ((b * g.outH + i) * g.outW + j) * g.outC;
          for (let o = 0; o < g.outC; o++) y[yBase + o] = accumulate ? y[yBase + o] + acc[o] : acc[o];
        }
      }
    }
  },

  conv2dBackwardInput(dy, w, dx, g, accumulate) {
    if (!accumulate) dx.fill(0);
    for (let b = 0; b < g.n; b++) {
      for (let i = 0; i < g.outH; i++) {
        for (let j = 0; j < g.outW; j++) {
          const dyBase = ((b * g.outH + i) * g.outW + j) * g.outC;
          forEachTap(g, i, j, (u, v, r, q) => {
            const dxBase = ((b * g.inH + r) * g.inW + q) * g.inC;
            const wBase = (u * g.kW + v) * g.inC * g.outC;
            for (let c = 0; c < g.inC; c++) {
              const wRow = wBase + c * g.outC;
              let s = 0;
              for (let o = 0; o < g.outC; o++) s += dy[dyBase + o] * w[wRow + o];
              dx[dxBase + c] += s;
            }
          });
        }
      }
    }
  },

  conv2dBackwardFilter(x, dy, dw, g, accumulate) {
    const sum = accumulatorsOf(dw.length);
    for (let b = 0; b < g.n; b++) {
      for (let i = 0; i < g.outH; i++) {
        for (let j = 0; j < g.outW; j++) {
          const dyBase = ((b * g.outH + i) * g.outW + j) * g.outC;
          forEachTap(g, i, j, (u, v, r, q) => {
            const xBase = ((b * g.inH + r) * g.inW + q) * g.inC;
            const wBase = (u * g.kW + v) * g.inC * g.outC;
            for (let c = 0; c < g.inC; c++) {
              const xv = x[xBase + c];
              if (xv === 0) continue;
              const wRow = wBase + c * g.outC;
              for (let o = 0; o < g.outC; o++) sum[wRow + o] += xv * dy[dyBase + o];
            }
          });
        }
      }
    }
    for (let t = 0; t < sum.length; t++) dw[t] = accumulate ? dw[t] + sum[t] : sum[t];
  },

  conv2dBackwardFilterPooled(x, t, argmax, dw, g, pool) {
    // The definition: the scattered gradient written out, then the filter gradient over it.
    const dy = scratchOf(g.n * g.outH * g.outW * g.outC);
    jsBackend.maxPool2dBackward(t, argmax, dy, pool);
    jsBackend.conv2dBackwardFilter(x, dy, dw, g, false);
  },

  activationForward(kind, x, y, alpha) {
    const n = x.length;
    switch (kind) {
      case 'leakyRelu': for (let i = 0; i < n; i++) y[i] = x[i] > 0 ? x[i] : Math.fround(alpha) * x[i]; break;
      case 'linear': if (y !== x) y.set(x); break;
      case 'relu': for (let i = 0; i < n; i++) y[i] = x[i] < 0 ? 0 : x[i]; break; // NaN stays NaN, as in PyTorch
      case 'sigmoid': for (let i = 0; i < n; i++) y[i] = sigmoid(x[i]); break;
      case 'tanh': for (let i = 0; i < n; i++) y[i] = Math.tanh(x[i]); break;
      default: throw unknownActivation(kind);
    }
  },

  activationBackward(kind, x, y, dy, dx, alpha) {
    const n = dy.length;
    switch (kind) {
      case 'leakyRelu': for (let i = 0; i < n; i++) dx[i] = x[i] > 0 ? dy[i] : Math.fround(alpha) * dy[i]; break;
      case 'linear': if (dx !== dy) dx.set(dy); break;
      case 'relu': for (let i = 0; i < n; i++) dx[i] = x[i] > 0 ? dy[i] : 0; break;
      case 'sigmoid': for (let i = 0; i < n; i++) dx[i] = dy[i] * y[i] * (1 - y[i]); break;
      case 'tanh': for (let i = 0; i < n; i++) dx[i] = dy[i] * (1 - y[i] * y[i]); break;
      default: throw unknownActivation(kind);
    }
  },

  softmaxRows(x, y, rows, cols) {
    for (let r = 0; r < rows; r++) {
      const base = r * cols;
      let max = x[base];
      for (let c = 1; c < cols; c++) if (x[base + c] > max) max = x[base + c];
      let sum = 0;
      for (let c = 0; c < cols; c++) {
        y[base + c] = Math.exp(x[base + c] - max);
        sum += y[base + c];
      }
      const inv = 1 / sum;
      for (let c = 0; c < cols; c++) y[base + c] *= inv;
    }
  },

  softmaxBackwardRows(y, dy, dx, rows, cols) {
    for (let r = 0; r < rows; r++) {
      const base = r * cols;
      let dot = 0;
      for (let c = 0; c < cols; c++) dot += dy[base + c] * y[base + c];
      for (let c = 0; c < cols; c++) dx[base + c] = y[base + c] * (dy[base + c] - dot);
    }
  },

  multiply(a, b, out) {
    for (let i = 0; i < a.length; i++) out[i] = a[i] * b[i];
  },

  maxPool2dForward(x, y, argmax, g) {
    windowMaxima(x, y, argmax, g);
  },

  maxPool2dValues(x, y, g) {
    windowMaxima(x, y, undefined, g);
  },

  maxPool2dBackward(dy, argmax, dx, g) {
    dx.fill(0);
    const size = imageSize(g);
    const perImage = g.outH * g.outW * g.c;
    for (let o = 0; o < dy.length; o++) {
      const at = argmax[o];
      if (at >= 0 && at < size) dx[Math.floor(o / perImage) * size + at] += dy[o];
    }
  },

  maxPool2dBackwardActivation(dy, argmax, y, dx, g, kind, alpha, sums) {
    activationDerivativeTimes(kind, 0, 0, alpha); // rejects an unknown kind even when no window has a winner
    dx.fill(0);
    const size = imageSize(g);
    const perImage = g.outH * g.outW * g.c;
    const scratch = accumulatorsOf(sums ? 2 * g.c : 0);
    const totals = sums ? scratch.subarray(0, g.c) : undefined;
    const partial = sums ? scratch.subarray(g.c) : undefined;
    for (let b = 0; b < g.n; b++) {
      partial?.fill(0);
      for (let t = 0; t < perImage; t++) {
        const o = b * perImage + t;
        const at = argmax[o];
        if (at < 0 || at >= size) continue;
        const through = Math.fround(activationDerivativeTimes(kind, y[o], dy[o], alpha));
        dx[b * size + at] += through;
        if (partial) partial[t % g.c] += through;
      }
      if (totals) for (let ch = 0; ch < g.c; ch++) totals[ch] += partial![ch];
    }
    if (sums) sums.set(totals!);
  },

  avgPool2dForward(x, y, g) {
    forEachWindow(g, (b, yIndex, ch, taps) => {
      let sum = 0;
      for (const t of taps) sum += x[b * imageSize(g) + t + ch];
      y[yIndex] = taps.length === 0 ? 0 : sum / taps.length;
    });
  },

  avgPool2dBackward(dy, dx, g) {
    dx.fill(0);
    forEachWindow(g, (b, yIndex, ch, taps) => {
      const share = dy[yIndex] / taps.length;
      for (const t of taps) dx[b * imageSize(g) + t + ch] += share;
    });
  },

  globalAvgPoolForward(x, y, n, pixels, c) {
    const scale = 1 / pixels;
    const sum = accumulatorsOf(c);
    for (let b = 0; b < n; b++) {
      sum.fill(0);
      for (let p = 0, at = b * pixels * c; p < pixels; p++) for (let ch = 0; ch < c; ch++) sum[ch] += x[at++];
      for (let ch = 0; ch < c; ch++) y[b * c + ch] = pixels === 0 ? 0 : sum[ch] * scale;
    }
  },

  globalAvgPoolBackward(dy, dx, n, pixels, c) {
    // dy·scale rounded once to float, as the native kernel's float product is.
    const scale = Math.fround(1 / pixels);
    for (let b = 0; b < n; b++) {
      for (let p = 0, at = b * pixels * c; p < pixels; p++) for (let ch = 0; ch < c; ch++) dx[at++] = dy[b * c + ch] * scale;
    }
  },

  globalMaxPoolForward(x, y, argmax, n, pixels, c) {
    for (let b = 0; b < n; b++) {
      for (let ch = 0; ch < c; ch++) {
        let best = 0, at = -1;
        for (let p = 0; p < pixels; p++) {
          const v = x[(b * pixels + p) * c + ch];
          // NaN wins so it propagates, as in the native kernel.
          if (at < 0 || v > best || (Number.isNaN(v) && !Number.isNaN(best))) {
            best = v;
            at = p;
          }
        }
        y[b * c + ch] = best;
        argmax[b * c + ch] = at;
      }
    }
  },

  globalMaxPoolBackward(dy, argmax, dx, n, pixels, c) {
    dx.fill(0, 0, n * pixels * c);
    for (let b = 0; b < n; b++) {
      for (let ch = 0; ch < c; ch++) {
        const p = argmax[b * c + ch];
        if (p >= 0 && p < pixels) dx[(b * pixels + p) * c + ch] = dy[b * c + ch];
      }
    }
  },

  sgdMomentumStep(param, grad, velocity, lr, momentum, nesterov) {
    for (let i = 0; i < param.length; i++) {
      const v = Math.fround(momentum * velocity[i] + grad[i]);
      velocity[i] = v;
      param[i] -= lr * (nesterov ? grad[i] + momentum * v : v);
    }
  },

  adamStep(param, grad, m, v, stepSize, beta1, beta2, bias2, eps) {
    for (let i = 0; i < param.length; i++) {
      const g = grad[i];
      const mi = Math.fround(beta1 * m[i] + (1 - beta1) * g);
      const vi = Math.fround(beta2 * v[i] + (1 - beta2) * g * g);
      m[i] = mi;
      v[i] = vi;
      param[i] -= (stepSize * mi) / (Math.sqrt(vi / bias2) + eps);
    }
  },

  rmspropStep(param, grad, sq, lr, rho, eps) {
    for (let i = 0; i < param.length; i++) {
      const g = grad[i];
      const s = Math.fround(rho * sq[i] + (1 - rho) * g * g);
      sq[i] = s;
      param[i] -= (lr * g) / (Math.sqrt(s) + eps);
    }
  },

  addRowVector(y, bias, rows, cols) {
    for (let r = 0; r < rows; r++) {
      const base = r * cols;
      for (let c = 0; c < cols; c++) y[base + c] += bias[c];
    }
  },

  biasActivation(y, bias, rows, cols, kind, alpha) {
    for (let r = 0; r < rows; r++) {
      const row = y.subarray(r * cols, (r + 1) * cols);
      for (let c = 0; c < cols; c++) row[c] += bias[c];
      this.activationForward(kind, row, row, alpha);
    }
  },

  batchNormTrainForward(x, gamma, beta, y, mean, variance, rows, cols, eps) {
    const scratch = accumulatorsOf(3 * cols);
    const sum = scratch.subarray(0, cols);
    const sq = scratch.subarray(cols, 2 * cols);
    const invStd = scratch.subarray(2 * cols);
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) sum[c] += x[r * cols + c];
    for (let c = 0; c < cols; c++) sum[c] /= rows;
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) {
        const d = x[r * cols + c] - sum[c];
        sq[c] += d * d;
      }
    }
    for (let c = 0; c < cols; c++) {
      mean[c] = sum[c];
      variance[c] = sq[c] / rows;
      invStd[c] = 1 / Math.sqrt(sq[c] / rows + eps);
    }
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) {
        const i = r * cols + c;
        y[i] = gamma[c] * (x[i] - mean[c]) * invStd[c] + beta[c];
      }
    }
  },

  batchNormBackward(x, dy, mean, invStd, gamma, dx, dgamma, dbeta, rows, cols) {
    const scratch = accumulatorsOf(2 * cols);
    const sumDy = scratch.subarray(0, cols);
    const sumDyXhat = scratch.subarray(cols);
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) {
        const i = r * cols + c;
        sumDy[c] += dy[i];
        sumDyXhat[c] += dy[i] * (x[i] - mean[c]) * invStd[c];
      }
    }
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) {
        const i = r * cols + c;
        const xhat = (x[i] - mean[c]) * invStd[c];
        dx[i] = ((gamma[c] * invStd[c]) / rows) * (rows * dy[i] - sumDy[c] - xhat * sumDyXhat[c]);
      }
    }
    for (let c = 0; c < cols; c++) {
      dgamma[c] = sumDyXhat[c];
      dbeta[c] = sumDy[c];
    }
  },

  scaleShift(x, scale, shift, y, rows, cols) {
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) y[r * cols + c] = x[r * cols + c] * scale[c] + shift[c];
    }
  },

  sumRows(x, out, rows, cols, accumulate) {
    if (!accumulate) out.fill(0, 0, cols);
    for (let r = 0; r < rows; r++) {
      const base = r * cols;
      for (let c = 0; c < cols; c++) out[c] += x[base + c];
    }
  },

  axpy(alpha, x, y) {
    for (let i = 0; i < x.length; i++) y[i] += alpha * x[i];
  },

  firstNonFinite(x) {
    for (let i = 0; i < x.length; i++) if (!Number.isFinite(x[i])) return i;
    return -1;
  },

  gatherRows(src, rowSize, index, start, end, out) {
    const rows = Math.floor(src.length / rowSize);
    for (let i = start; i < end; i++) {
      const row = index[i];
      if (!(row >= 0 && row < rows)) throw new ShapeError(`index[${i}] is not a row of src (${rows} rows of ${rowSize})`);
      out.set(src.subarray(row * rowSize, (row + 1) * rowSize), (i - start) * rowSize);
    }
  },

  mse(pred, target) {
    if (pred.length === 0) return 0;
    let sum = 0;
    for (let i = 0; i < pred.length; i++) {
      const d = pred[i] - target[i];
      sum += d * d;
    }
    return sum / pred.length;
  },

  mseGradient(pred, target, grad) {
    const scale = Math.fround(2 / pred.length);
    for (let i = 0; i < pred.length; i++) grad[i] = scale * (pred[i] - target[i]);
  },
};

/** Calls fn(u, v, r, q) for each filter tap of output (i, j) that lands inside the input. */
function forEachTap(g: ConvGeometry, i: number, j: number, fn: (u: number, v: number, r: number, q: number) => void): void {
  for (let u = 0; u < g.kH; u++) {
    const r = i * g.strideH + u - g.padTop;
    if (r < 0 || r >= g.inH) continue;
    for (let v = 0; v < g.kW; v++) {
      const q = j * g.strideW + v - g.padLeft;
      if (q < 0 || q >= g.inW) continue;
      fn(u, v, r, q);
    }
  }
}

function imageSize(g: PoolGeometry): number {
  return g.inH * g.inW * g.c;
}

/** Window maxima, and each winner's index when `argmax` is given (the first of equal values; NaN wins). */
function windowMaxima(x: Float32Array, y: Float32Array, argmax: Int32Array | undefined, g: PoolGeometry): void {
  forEachWindow(g, (b, yIndex, ch, taps) => {
    let best = -Infinity, at = -1;
    for (const t of taps) {
      const v = x[b * imageSize(g) + t + ch];
      // NaN wins so it propagates, as in the native kernel.
      if (at < 0 || v > best || (Number.isNaN(v) && !Number.isNaN(best))) {
        best = v;
        at = t + ch;
      }
    }
    y[yIndex] = at < 0 ? 0 : best;
    if (argmax) argmax[yIndex] = at;
  });
}

/**
 * Calls fn(image, outputIndex, channel, taps) for every pooling window, where
 * taps are the in-bounds window positions as (r·inW + q)·c offsets inside the
 * image (add the channel to index a value).
 */
function forEachWindow(g: PoolGeometry, fn: (b: number, yIndex: number, ch: number, taps: number[]) => void): void {
  const taps: number[] = [];
  for (let b = 0; b < g.n; b++) {
    for (let i = 0; i < g.outH; i++) {
      for (let j = 0; j < g.outW; j++) {
        taps.length = 0;
        for (let u = 0; u < g.poolH; u++) {
          const r = i * g.strideH - g.padTop + u;
          if (r < 0 || r >= g.inH) continue;
          for (let v = 0; v < g.poolW; v++) {
            const q = j * g.strideW - g.padLeft + v;
            if (q >= 0 && q < g.inW) taps.push((r * g.inW + q) * g.c);
          }
        }
        const yBase = ((b * g.outH + i) * g.outW + j) * g.c;
        for (let ch = 0; ch < g.c; ch++) fn(b, yBase + ch, ch, taps);
      }
    }
  }
}

/** dy · f'(x) for f'(x) taken from y = f(x), as activationBackward does with x = y. */
function activationDerivativeTimes(kind: ActivationKind, y: number, dy: number, alpha: number): number {
  switch (kind) {
    case 'leakyRelu': return y > 0 ? dy : Math.fround(alpha) * dy;
    case 'linear': return dy;
    case 'relu': return y > 0 ? dy : 0;
    case 'sigmoid': return dy * y * (1 - y);
    case 'tanh': return dy * (1 - y * y);
    default: throw unknownActivation(kind);
  }
}

function unknownActivation(kind: ActivationKind): Error {
  return new OptionError(`unknown activation '${String(kind)}'`);
}
