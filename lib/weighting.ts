// classWeight and sampleWeight in fit: each sample's loss is multiplied by
// its weight (the product of both, when both are given), and the batch loss
// is Σ wᵢ·lossᵢ / n, Keras's "sum over batch size". The gradient of that is
// the unweighted batch gradient with each sample's row scaled by wᵢ, so the
// losses need no weighted variants.

import { DataError, OptionError, ShapeError } from './errors.js';
import type { Loss } from './losses.js';
import { describe, formatShape } from './shape.js';
import { Tensor, toTensor, type TensorLike } from './tensor.js';

export interface WeightOptions {
  /** Class id → weight, e.g. { 0: 1, 1: 5 } to count class 1 five times; classes left out weigh 1. */
  classWeight?: Record<number, number>;
  /** One non-negative weight per training sample. */
  sampleWeight?: TensorLike;
}

/** Per-sample weights for every sample of `y`, or undefined when fit was given neither option. */
export function sampleWeightsFor(options: WeightOptions, y: Tensor, loss: Loss): Float32Array | undefined {
  const { classWeight, sampleWeight } = options;
  if (classWeight === undefined && sampleWeight === undefined) return undefined;
  const samples = y.shape[0];
  const weights = new Float32Array(samples).fill(1);
  if (sampleWeight !== undefined) {
    const given = toTensor(sampleWeight, 'sampleWeight');
    if (given.size !== samples) throw new ShapeError(`expected ${formatShape([samples])} for sampleWeight (one per sample) but got ${formatShape(given.shape)}`);
    for (let i = 0; i < samples; i++) {
      const w = given.data[i];
      if (!(Number.isFinite(w) && w >= 0)) throw new DataError(`sampleWeight holds ${w} for sample ${i}; weights must be finite and ≥ 0`);
      weights[i] = w;
    }
  }
  if (classWeight !== undefined) {
    if (classWeight === null || typeof classWeight !== 'object' || Array.isArray(classWeight)) {
      throw new OptionError(`expected { classId: weight } for classWeight but got ${describe(classWeight)}`);
    }
    const table = new Map<number, number>();
    for (const [key, w] of Object.entries(classWeight)) {
      const id = Number(key);
      if (!Number.isInteger(id) || id < 0) throw new OptionError(`expected non-negative integer class ids as classWeight keys but got '${key}'`);
      if (typeof w !== 'number' || !(Number.isFinite(w) && w >= 0)) throw new OptionError(`expected a finite weight ≥ 0 for classWeight[${key}] but got ${describe(w)}`);
      table.set(id, w);
    }
    const classOf = classReader(y, loss);
    for (let i = 0; i < samples; i++) weights[i] *= table.get(classOf(i)) ?? 1;
  }
  return weights;
}

/** Reads sample i's class: the id itself (sparse), the one-hot arg-max (categorical), or 0/1 (binary). */
function classReader(y: Tensor, loss: Loss): (i: number) => number {
  const width = y.size / y.shape[0];
  if (loss.accuracy === 'sparse') return (i) => y.data[i];
  if (loss.accuracy === 'binary' && width === 1) return (i) => (y.data[i] >= 0.5 ? 1 : 0);
  if (loss.accuracy === 'categorical' || width > 1) {
    return (i) => {
      let best = 0;
      for (let c = 1; c < width; c++) if (y.data[i * width + c] > y.data[i * width + best]) best = c;
      return best;
    };
  }
  throw new OptionError(`classWeight needs class labels, but the loss '${loss.name}' has none: use sampleWeight`);
}

/** weights[order[start..end)]. */
export function gatherWeights(weights: Float32Array, order: ArrayLike<number>, start: number, end: number): Float32Array {
  const out = new Float32Array(end - start);
  for (let i = start; i < end; i++) out[i - start] = weights[order[i]];
  return out;
}

/** Σ wᵢ·lossᵢ / n over the batch's samples. */
export function weightedLoss(loss: Loss, yTrue: Tensor, yPred: Tensor, weights: Float32Array): number {
  const n = yTrue.shape[0];
  let sum = 0;
  for (let i = 0; i < n; i++) {
    if (weights[i] !== 0) sum += weights[i] * loss.value(yTrue.slice(i, i + 1), yPred.slice(i, i + 1));
  }
  return sum / n;
}

/** Scales each sample's row of a batch gradient by its weight, in place. */
export function scaleRows(gradient: Tensor, weights: Float32Array): Tensor {
  const row = gradient.size / weights.length;
  const g = gradient.data;
  for (let i = 0; i < weights.length; i++) {
    const w = weights[i];
    if (w === 1) continue;
    for (let k = i * row; k < (i + 1) * row; k++) g[k] *= w;
  }
  return gradient;
}
