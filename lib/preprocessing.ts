// Feature scaling fitted on training data, and the layer that carries it into
// a network. A scaler's statistics come from the training rows only (fitting
// on all data leaks the test set into training); attached to a network it
// becomes a Normalization layer at the front, so predict, evaluate, the CLI and
// a saved model all apply the same transform without the caller repeating it.
// Normalization is y = (x − offset) · scale per feature: one Sub and one Mul,
// which is what an ONNX exporter writes for it.

import { Layer, type LayerConfig } from './layers/layer.js';
import { checkOptions } from './options.js';
import { describe, formatShape } from './shape.js';
import { Tensor, toTensor, type TensorLike } from './tensor.js';
import { DataError, OptionError, ShapeError, StateError } from './errors.js';

/** Options of the `Normalization` layer. */
export interface NormalizationOptions {
  /** Subtracted from each feature (one value per feature, the last dimension). */
  offset?: number[];
  /** Multiplies each feature after the offset. */
  scale?: number[];
}

/** y = (x − offset) · scale over the last dimension; not trained. Keras-style: `adapt(x)` sets mean/std scaling from data. */
export class Normalization extends Layer {
  private offsetValues?: Float32Array;
  private scaleValues?: Float32Array;

  constructor(options: NormalizationOptions = {}) {
    super();
    checkOptions(options, ['offset', 'scale'], 'Normalization options');
    const { offset, scale } = options;
    if ((offset === undefined) !== (scale === undefined)) throw new OptionError('Normalization needs both offset and scale, or neither (then call adapt)');
    if (offset !== undefined && scale !== undefined) this.set(finiteArray(offset, 'Normalization offset'), finiteArray(scale, 'Normalization scale'));
  }

  /** Fits mean and standard deviation per feature from x [n, features] (as Keras' Normalization.adapt). */
  adapt(x: TensorLike): this {
    const stats = columnStats(x, 'Normalization.adapt');
    this.set(stats.mean, stats.std.map((s) => (s > 0 ? 1 / s : 1)));
    return this;
  }

  /** Per-feature offset and scale, once set or adapted. */
  get offset(): Float32Array | undefined {
    return this.offsetValues?.slice();
  }

  get scale(): Float32Array | undefined {
    return this.scaleValues?.slice();
  }

  private set(offset: Float32Array, scale: Float32Array): void {
    if (offset.length !== scale.length || offset.length === 0) {
      throw new ShapeError(`expected as many scale values as offsets (at least one) but got ${offset.length} and ${scale.length}`);
    }
    this.offsetValues = offset;
    this.scaleValues = scale;
  }

  override getConfig(): LayerConfig {
    const [offset, scale] = this.ready();
    return { type: 'Normalization', offset: Array.from(offset), scale: Array.from(scale) };
  }

  override forward(input: Tensor): Tensor {
    const [offset, scale] = this.ready();
    const features = offset.length;
    if (!(input instanceof Tensor) || input.rank < 1 || input.shape[input.rank - 1] !== features) {
      throw new ShapeError(`expected [n,${features}] for Normalization input but got ${input instanceof Tensor ? formatShape(input.shape) : describe(input)}`);
    }
    const out = Tensor.zeros(input.shape);
    for (let i = 0; i < input.size; i++) {
      const f = i % features;
      out.data[i] = (input.data[i] - offset[f]) * scale[f];
    }
    return out;
  }

  override backward(outputGradient: Tensor): Tensor {
    const [, scale] = this.ready();
    const out = Tensor.zeros(outputGradient.shape);
    if (!this.inputGradientNeeded) return out;
    for (let i = 0; i < outputGradient.size; i++) out.data[i] = outputGradient.data[i] * scale[i % scale.length];
    return out;
  }

  private ready(): [Float32Array, Float32Array] {
    if (!this.offsetValues || !this.scaleValues) throw new StateError('Normalization has no statistics: call adapt(x) or pass { offset, scale }');
    return [this.offsetValues, this.scaleValues];
  }
}

/** Shared by both scalers: fit on training rows, transform any rows, become a Normalization layer. */
abstract class Scaler {
  protected offsetValues?: Float32Array;
  protected scaleValues?: Float32Array;

  /** Learns the per-feature statistics from x [n, features]. */
  abstract fit(x: TensorLike): this;

  /** Applies the fitted transform to x [n, features]. */
  transform(x: TensorLike): Tensor {
    return this.toLayer().forward(toTensor(x, `${this.constructor.name} input`));
  }

  fitTransform(x: TensorLike): Tensor {
    return this.fit(x).transform(x);
  }

  /** Undoes transform (e.g. to report scaled regression targets in their own units). */
  inverseTransform(xIn: TensorLike): Tensor {
    const [offset, scale] = this.fitted();
    const x = toTensor(xIn, `${this.constructor.name} input`);
    const out = Tensor.zeros(x.shape);
    for (let i = 0; i < x.size; i++) out.data[i] = x.data[i] / scale[i % scale.length] + offset[i % offset.length];
    return out;
  }

  /** The fitted transform as a layer, to put in front of a network (what Network.setPreprocessing does). */
  toLayer(): Normalization {
    const [offset, scale] = this.fitted();
    return new Normalization({ offset: Array.from(offset), scale: Array.from(scale) });
  }

  protected fitted(): [Float32Array, Float32Array] {
    if (!this.offsetValues || !this.scaleValues) throw new StateError(`${this.constructor.name} is not fitted: call fit(xTrain) first`);
    return [this.offsetValues, this.scaleValues];
  }
}

/** (x − mean) / std per feature (population std, as scikit-learn); a constant feature is only centred. */
export class StandardScaler extends Scaler {
  get mean(): Float32Array | undefined {
    return this.offsetValues?.slice();
  }

  fit(x: TensorLike): this {
    const { mean, std } = columnStats(x, 'StandardScaler.fit');
    this.offsetValues = mean;
    this.scaleValues = std.map((s) => (s > 0 ? 1 / s : 1));
    return this;
  }
}

/** (x − min) / (max − min) per feature, into [0, 1] on the training data; a constant feature maps to 0. */
export class MinMaxScaler extends Scaler {
  fit(x: TensorLike): this {
    const { min, max } = columnStats(x, 'MinMaxScaler.fit');
    this.offsetValues = min;
    this.scaleValues = min.map((lo, f) => (max[f] > lo ? 1 / (max[f] - lo) : 1));
    return this;
  }
}

function columnStats(xIn: TensorLike, what: string): { mean: Float32Array; std: Float32Array; min: Float32Array; max: Float32Array } {
  const x = toTensor(xIn, `${what} x`);
  if (x.rank !== 2 || x.shape[0] === 0) throw new ShapeError(`expected [n,features] with n ≥ 1 for ${what} but got ${formatShape(x.shape)}`);
  const [n, features] = x.shape;
  // Sums in float64: a float32 running sum over many rows loses the small variance of large values.
  const sum = new Float64Array(features);
  const min = new Float32Array(features).fill(Infinity);
  const max = new Float32Array(features).fill(-Infinity);
  for (let i = 0; i < x.size; i++) {
    const v = x.data[i];
    if (!Number.isFinite(v)) throw new DataError(`${what}: sample ${Math.floor(i / features)} holds ${v} in feature ${i % features}; fill missing values first`);
    const f = i % features;
    sum[f] += v;
    if (v < min[f]) min[f] = v;
    if (v > max[f]) max[f] = v;
  }
  const mean = sum.map((s) => s / n);
  const squares = new Float64Array(features);
  for (let i = 0; i < x.size; i++) {
    const d = x.data[i] - mean[i % features];
    squares[i % features] += d * d;
  }
  return { mean: Float32Array.from(mean), std: Float32Array.from(squares, (s) => Math.sqrt(s / n)), min, max };
}

function finiteArray(values: unknown, what: string): Float32Array {
  if (!Array.isArray(values) || !values.every((v) => typeof v === 'number' && Number.isFinite(v))) {
    throw new OptionError(`expected an array of finite numbers for ${what} but got ${describe(values)}`);
  }
  return Float32Array.from(values);
}
