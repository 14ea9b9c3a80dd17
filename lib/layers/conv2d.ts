// Conv2D: 2-D cross-correlation over channels-last batches, plus a bias per
// output channel.
//
//   X [n, h, w, d]   W [kh, kw, d, k]   B [k]   Y [n, oh, ow, k]
//   Y[:,:,k]      = Σ_d correlate2d(X[:,:,d], W[:,:,d,k]) + B[k]
//   ∂E/∂B[k]      = Σ ∂E/∂Y[:,:,k]
//   ∂E/∂W[:,:,d,k] = correlate2d(X[:,:,d], ∂E/∂Y[:,:,k])
//   ∂E/∂X[:,:,d]  = Σ_k convolve2d(∂E/∂Y[:,:,k], W[:,:,d,k], 'full')
// (for stride 1 and 'valid'; strides and 'same' padding generalise the same
// sums). Each line is one batched backend kernel over all channels at once.
//
// Fixed from the from-scratch design: its ConvLayer added the bias inside the
// loop over input channels (so the bias counted d times) and scaled the bias
// gradient by the layer depth. Here the bias is added once per output channel
// and its gradient is exactly the sum of ∂E/∂Y over that channel; the
// finite-difference test in test/layers.test.ts checks it.

import type { ConvGeometry, PoolGeometry } from '../backends/backend.js';
import { getBackend } from '../backends/index.js';
import { getInitializer, type Initializer, type InitializerName } from '../initializers.js';
import { Rng } from '../random.js';
import { assertPositiveInteger, describe, formatShape } from '../shape.js';
import { alignedZeros, Tensor } from '../tensor.js';
import type { ActivationName } from './activation.js';
import { BiasActivation } from './bias-activation.js';
import { Workspace } from '../workspace.js';
import { Layer, type LayerConfig, type Parameter, type TrailingActivation } from './layer.js';
import { OptionError, ShapeError, StateError } from '../errors.js';
import { checkOptions } from '../options.js';

/** `'valid'`: no padding (the output shrinks); `'same'`: zero padding so that stride 1 keeps the size. */
export type Padding = 'valid' | 'same';
type Pair = [number, number];

/** Options of `new Conv2D(options)`. */
export interface Conv2DOptions {
  /** Number of output channels. */
  filters: number;
  kernelSize: number | Pair;
  strides?: number | Pair;
  padding?: Padding;
  /** [h, w, channels] of one sample; otherwise taken from the first input. */
  inputShape?: [number, number, number];
  /** Applied to the output (default none). */
  activation?: ActivationName;
  /** Filter initialiser (default glorotUniform); the bias starts at zero. */
  kernelInitializer?: InitializerName;
  /** Input channels, when known but the image size is not (creates the weights at once). */
  inputChannels?: number;
}

const CONV2D_OPTION_KEYS: readonly (keyof Conv2DOptions)[] = [
  'filters', 'kernelSize', 'strides', 'padding', 'inputShape', 'activation', 'kernelInitializer', 'inputChannels',
];

/** 2-D convolution (cross-correlation, as in Keras and PyTorch) over channels-last images `[n, h, w, c]`, with `filters` output channels; alias `ConvLayer` for the tutorial's form. */
export class Conv2D extends Layer {
  readonly filters: number;
  readonly kernelSize: Pair;
  readonly strides: Pair;
  readonly padding: Padding;
  private inChannels?: number;
  private _weights?: Tensor;
  private _bias?: Tensor;
  private _weightsGrad?: Tensor;
  private _biasGrad?: Tensor;
  private rng?: Rng;
  private input?: Tensor;
  private readonly outputSpace = new Workspace();
  private readonly inputGradientSpace = new Workspace();
  private geometry?: ConvGeometry;
  private readonly tail: BiasActivation;
  private readonly initializer: Initializer;
  private readonly options: Conv2DOptions;

  /** `new Conv2D({ filters, kernelSize, strides, padding })`, or the from-scratch form. */
  constructor(options: Conv2DOptions);
  constructor(inputShape: [number, number, number], kernelShape: Pair, depth: number);
  constructor(first: Conv2DOptions | [number, number, number], kernelShape?: Pair, depth?: number) {
    super();
    const options: Conv2DOptions = Array.isArray(first)
      ? { inputShape: first, kernelSize: kernelShape as Pair, filters: depth as number }
      : first;
    if (options === null || typeof options !== 'object') {
      throw new OptionError(`expected Conv2D options or (inputShape, kernelShape, depth) but got ${describe(first)}`);
    }
    checkOptions(options, CONV2D_OPTION_KEYS, 'Conv2D options');
    this.options = { ...options };
    this.filters = assertPositiveInteger(options.filters, 'Conv2D filters');
    this.initializer = getInitializer(options.kernelInitializer, 'Conv2D kernelInitializer');
    this.tail = new BiasActivation(options.activation);
    this.kernelSize = pair(options.kernelSize, 'Conv2D kernelSize');
    this.strides = pair(options.strides ?? 1, 'Conv2D strides');
    this.padding = options.padding ?? 'valid';
    if (this.padding !== 'valid' && this.padding !== 'same') {
      throw new OptionError(`expected 'valid' or 'same' for Conv2D padding but got ${describe(this.padding)}`);
    }
    if (options.inputShape !== undefined) {
      if (!Array.isArray(options.inputShape) || options.inputShape.length !== 3) {
        throw new OptionError(`expected [h,w,channels] for Conv2D inputShape but got ${describe(options.inputShape)}`);
      }
      options.inputShape.forEach((d, i) => windowSize(d, `Conv2D inputShape[${i}]`));
      this.allocate(options.inputShape[2]);
    } else if (options.inputChannels !== undefined) {
      this.allocate(windowSize(options.inputChannels, 'Conv2D inputChannels'));
    }
  }

  /** [kh, kw, inChannels, filters]; exists once the input depth is known. */
  get weights(): Tensor {
    return this.built()._weights!;
  }

  /** [filters]. */
  get bias(): Tensor {
    return this.built()._bias!;
  }

  get weightsGrad(): Tensor {
    return this.built()._weightsGrad!;
  }

  get biasGrad(): Tensor {
    return this.built()._biasGrad!;
  }

  /** Filters from the initialiser, zero bias (deferred until the input depth is known). */
  override initialize(rng: Rng): void {
    this.rng = rng;
    if (this._weights) this.fill(rng);
  }

  override forward(input: Tensor): Tensor {
    if (!(input instanceof Tensor)) throw new OptionError(`expected a Tensor for Conv2D input but got ${describe(input)}`);
    // A rank-3 input is one sample, as in the from-scratch design.
    const x = input.rank === 3 ? input.reshape([1, ...input.shape]) : input;
    if (x.rank !== 4) {
      throw new ShapeError(`expected [n,h,w,channels] for Conv2D input but got ${formatShape(input.shape)}`);
    }
    if (!this._weights) this.allocate(x.shape[3]);
    if (x.shape[3] !== this.inChannels) {
      throw new ShapeError(`expected [*,*,*,${this.inChannels}] for Conv2D input but got ${formatShape(input.shape)}`);
    }
    const g = this.geometryFor(x.shape);
    if (g.outH < 1 || g.outW < 1) {
      throw new ShapeError(
        `Conv2D input ${formatShape(input.shape)} is smaller than the kernel ${formatShape(this.kernelSize)} with 'valid' padding`,
      );
    }
    const y = this.outputSpace.tensor([g.n, g.outH, g.outW, this.filters]);
    const backend = getBackend();
    this.input = input;
    this.geometry = g;
    const kind = this.tail.fusedKind;
    if (kind !== undefined) {
      // Bias and activation applied tile by tile inside the conv kernel (profiled at 8% of a single-sample predict as a separate pass).
      backend.conv2dForwardBiasActivation(x.data, this._weights!.data, this._bias!.data, y.data, g, kind, this.tail.alpha);
      return this.tail.appliedBy(y);
    }
    backend.conv2dForward(x.data, this._weights!.data, y.data, g, false);
    return this.tail.forward(y, this._bias!.data, g.n * g.outH * g.outW, this.filters);
  }

  override backward(outputGradient: Tensor, learningRate?: number): Tensor {
    const input = this.remembered(this.input);
    const g = this.geometry!;
    if (outputGradient.size !== g.n * g.outH * g.outW * this.filters || outputGradient.shape.at(-1) !== this.filters) {
      const expected = [g.n, g.outH, g.outW, this.filters];
      throw new ShapeError(`expected ${formatShape(expected)} for Conv2D output gradient but got ${formatShape(outputGradient.shape)}`);
    }
    // Fused: the next layer applied the activation's derivative and summed the bias gradient.
    const fused = this.takeFusedGradient(outputGradient);
    // And when it was a max pool that took our offer (takesPooled), it left only its gradient at the winners.
    const pooled = fused ? this.fusionWithNext!.pooled : undefined;
    if (pooled) this.fusionWithNext!.pooled = undefined;
    if (!fused) outputGradient = this.tail.backward(outputGradient);
    const backend = getBackend();
    const dy = outputGradient.data;
    if (!fused) backend.sumRows(dy, this._biasGrad!.data, g.n * g.outH * g.outW, this.filters, false);
    if (pooled) {
      if (this.inputGradientNeeded) throw new StateError('Conv2D took a pooled gradient but must pass an input gradient on');
      backend.conv2dBackwardFilterPooled(input.data, pooled.gradient, pooled.argmax, this._weightsGrad!.data, g, pooled.geometry);
    } else {
      backend.conv2dBackwardFilter(input.data, dy, this._weightsGrad!.data, g, false);
    }
    const inputGradient = this.inputGradientSpace.tensor(this.inputGradientNeeded ? input.shape : [0]);
    if (this.inputGradientNeeded) backend.conv2dBackwardInput(dy, this._weights!.data, inputGradient.data, g, false);
    this.sgdStep(learningRate);
    return inputGradient;
  }

  override fusibleTail(): { activation: TrailingActivation; biasGradient: Float32Array | null; takesPooled: (pool: PoolGeometry) => boolean } | undefined {
    const activation = this._biasGrad && this.tail.trailing();
    return activation && { activation, biasGradient: this._biasGrad!.data, takesPooled: (pool) => this.takesPooled(pool) };
  }

  /**
   * Whether backward can take its filter gradient from a following max
   * pool's winners instead of a written ∂E/∂Y (BackwardFusion): only when no
   * input gradient is passed on (a network's first layer, whose ∂E/∂Y is
   * then the largest tensor of a CNN's step, written only for this), for
   * non-overlapping windows over this layer's last output, for filters of
   * at most 32 taps × input channels (the native kernel's vectorised case),
   * and for a filter count that fills whole 16-float vectors: whole small-CNN
   * epochs (conv 3×3 1→8 valid, pool 2×2; Zen 4, quiet, old and new
   * alternating) ran about 8% slower through the winners than with the
   * written gradient, on one thread and on two; with 16 filters (the npm-start
   * CNN) the two were within the machine's noise.
   */
  private takesPooled(pool: PoolGeometry): boolean {
    const g = this.geometry;
    return g !== undefined && !this.inputGradientNeeded && g.kH * g.kW * g.inC <= 32 && g.outC % 16 === 0 &&
      pool.n === g.n && pool.inH === g.outH && pool.inW === g.outW && pool.c === g.outC &&
      pool.strideH === pool.poolH && pool.strideW === pool.poolW && pool.padTop === 0 && pool.padLeft === 0;
  }

  override getConfig(): LayerConfig {
    const config: LayerConfig = { type: 'Conv2D', ...this.options, kernelSize: this.kernelSize, strides: this.strides, padding: this.padding };
    if (this.inChannels !== undefined && config.inputShape === undefined) config.inputChannels = this.inChannels;
    return config;
  }

  override parameters(): Parameter[] {
    if (!this._weights) return [];
    return [
      { name: 'weights', value: this._weights, grad: this._weightsGrad! },
      { name: 'bias', value: this._bias!, grad: this._biasGrad! },
    ];
  }

  protected override get hasParameters(): boolean {
    return true;
  }

  override get declaredInputShape(): number[] | undefined {
    return this.options.inputShape && [...this.options.inputShape];
  }

  protected override computeOutputShape(inputShape: number[]): number[] {
    if (inputShape.length !== 3) throw new ShapeError(`Conv2D expected input [h,w,channels] but got ${formatShape(inputShape)}`);
    const channels = inputShape[2];
    if (!this._weights) this.allocate(assertPositiveInteger(channels, 'Conv2D input channels'));
    else if (channels !== this.inChannels) throw new ShapeError(`Conv2D expected input [*,*,${this.inChannels}] but got ${formatShape(inputShape)}`);
    const g = this.geometryFor([1, ...inputShape]);
    if (g.outH < 1 || g.outW < 1) {
      throw new ShapeError(`Conv2D input ${formatShape(inputShape)} is smaller than the kernel ${formatShape(this.kernelSize)} with 'valid' padding`);
    }
    return [g.outH, g.outW, this.filters];
  }

  /** Output shape [n, oh, ow, filters] for an input [n, h, w, c]. */
  outputShapeFor(inputShape: readonly number[]): number[] {
    const g = this.geometryFor(inputShape);
    return [g.n, g.outH, g.outW, this.filters];
  }

  private geometryFor(shape: readonly number[]): ConvGeometry {
    // fit's batches keep one size: the last geometry (only ever read) serves again.
    const known = this.geometry;
    if (known !== undefined && known.n === shape[0] && known.inH === shape[1] && known.inW === shape[2] && known.inC === shape[3]) return known;
    const [n, h, w, c] = shape;
    const [kH, kW] = this.kernelSize;
    const [strideH, strideW] = this.strides;
    const [outH, padTop] = outputAndPad(h, kH, strideH, this.padding);
    const [outW, padLeft] = outputAndPad(w, kW, strideW, this.padding);
    return { n, inH: h, inW: w, inC: c, kH, kW, outC: this.filters, strideH, strideW, padTop, padLeft, outH, outW };
  }

  private allocate(inChannels: number): void {
    const [kh, kw] = this.kernelSize;
    this.inChannels = inChannels;
    this._weights = alignedZeros([kh, kw, inChannels, this.filters]);
    this._weightsGrad = alignedZeros([kh, kw, inChannels, this.filters]);
    this._bias = Tensor.zeros([this.filters]);
    this._biasGrad = Tensor.zeros([this.filters]);
    this.fill(this.rng ?? new Rng());
  }

  private fill(rng: Rng): void {
    const area = this.kernelSize[0] * this.kernelSize[1];
    this.initializer(this._weights!.data, area * this.inChannels!, area * this.filters, rng);
    this._bias!.data.fill(0);
  }

  private built(): this {
    if (!this._weights) throw new StateError('Conv2D has no weights until its input depth is known (give inputShape or run forward once)');
    return this;
  }
}

/** Output size and leading pad along one axis ('same' as in TensorFlow/Keras). */
export function outputAndPad(size: number, kernel: number, stride: number, padding: Padding): [number, number] {
  if (padding === 'valid') return [Math.floor((size - kernel) / stride) + 1, 0];
  const out = Math.ceil(size / stride);
  const total = Math.max((out - 1) * stride + kernel - size, 0);
  return [out, Math.floor(total / 2)];
}

export function pair(value: number | Pair, what: string): Pair {
  if (Array.isArray(value)) {
    if (value.length !== 2) throw new OptionError(`expected a number or [h,w] for ${what} but got ${describe(value)}`);
    return [windowSize(value[0], what), windowSize(value[1], what)];
  }
  const v = windowSize(value, what);
  return [v, v];
}

/** A kernel, pool, stride or input size: a positive integer the 32-bit kernel geometry can hold. */
function windowSize(value: unknown, what: string): number {
  const v = assertPositiveInteger(value, what);
  if (v > 2 ** 31 - 1) throw new OptionError(`expected a size below 2^31 for ${what} but got ${v}`);
  return v;
}

/** The from-scratch design's name and argument order: (inputShape [h,w,d], kernelShape [kh,kw], depth). */
export const ConvLayer = Conv2D;
export type ConvLayer = Conv2D;
