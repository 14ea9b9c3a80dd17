// Dense (fully connected): Y = X·W + B, one matrix product per batch.
//
//   X [rows, in]  (any leading dimensions fold into rows)
//   W [in, out], B [1, out], Y [rows, out]
//   ∂E/∂W = Xᵀ·∂E/∂Y     ∂E/∂B = Σ_rows ∂E/∂Y     ∂E/∂X = ∂E/∂Y·Wᵀ
// The transposes are flags of the matmul kernel, so nothing is copied.
// An optional activation runs after the product (Dense(…, { activation })),
// and its derivative is applied first on the way back.

import type { Backend } from '../backends/backend.js';
import { getBackend } from '../backends/index.js';
import { getInitializer, type Initializer, type InitializerName } from '../initializers.js';
import { Rng } from '../random.js';
import { assertPositiveInteger, describe, formatShape } from '../shape.js';
import { alignedZeros, Tensor } from '../tensor.js';
import type { ActivationName } from './activation.js';
import { BiasActivation } from './bias-activation.js';
import { Layer, type LayerConfig, type Parameter } from './layer.js';
import { OptionError, ShapeError, StateError } from '../errors.js';
import { checkOptions } from '../options.js';
import { deferRead, dropRead, settleRead, Workspace, type DeferredRead } from '../workspace.js';

/** Options of `new Dense(inputSize, outputSize, options)`. */
export interface DenseOptions {
  /** Applied to X·W + B (default none). */
  activation?: ActivationName;
  /** Weight initialiser (default glorotUniform); the bias starts at zero. */
  kernelInitializer?: InitializerName;
  /** The shape of one sample, for a first layer (its last size is the input width). */
  inputShape?: number[];
}

const DENSE_OPTION_KEYS: readonly (keyof DenseOptions)[] = ['activation', 'kernelInitializer', 'inputShape'];

/** A fully connected layer, Y = X·W + B with an optional fused activation (alias `FCLayer`): `new Dense(inputSize, outputSize, options)`. */
export class Dense extends Layer {
  readonly outputSize: number;
  private _inputSize?: number;
  private _weights?: Tensor;
  private _bias?: Tensor;
  private _weightsGrad?: Tensor;
  private _biasGrad?: Tensor;
  private rng?: Rng;
  private input?: Tensor;
  private readonly tail: BiasActivation;
  private readonly initializer: Initializer;
  private readonly options: DenseOptions;
  private readonly outputSpace = new Workspace();
  private readonly inputGradientSpace = new Workspace();
  private readonly deferredGradient = new DeferredWeightGradient((backend, x, dy, rows) => this.writeWeightsGradient(backend, x, dy, rows));
  /**
   * After forward: true when every value of X·W + B came out finite. Each
   * input value reaches every value of its row (NaN·w and ±Infinity·w are
   * never finite, not even for w = 0), so true vouches that the input held
   * no NaN or ±Infinity; false can also mean an overflow or a non-finite
   * weight. Undefined when forward did not check (a softmax tail).
   */
  inputVouchedFinite?: boolean;

  /**
   * `new Dense(units, options?)` takes its input width from the layer before
   * it (or from `options.inputShape`); `new Dense(inputSize, outputSize,
   * options?)` fixes it at once, as the from-scratch FCLayer does.
   */
  constructor(units: number, options?: DenseOptions);
  constructor(inputSize: number, outputSize: number, options?: DenseOptions);
  constructor(first: number, second?: number | DenseOptions, third?: DenseOptions) {
    super();
    const explicitInput = typeof second === 'number' || (second === undefined && third !== undefined);
    const options = (explicitInput ? third : second) ?? {};
    if (options === null || typeof options !== 'object') throw new OptionError(`expected Dense options but got ${describe(options)}`);
    checkOptions(options, DENSE_OPTION_KEYS, 'Dense options');
    this.options = { ...options };
    this.initializer = getInitializer(this.options.kernelInitializer, 'Dense kernelInitializer');
    this.tail = new BiasActivation(this.options.activation);
    let inputSize: number | undefined;
    if (explicitInput) {
      inputSize = assertPositiveInteger(first, 'Dense inputSize');
      this.outputSize = assertPositiveInteger(second, 'Dense outputSize');
    } else {
      this.outputSize = assertPositiveInteger(first, 'Dense units');
    }
    const declared = this.options.inputShape;
    if (declared !== undefined) {
      if (!Array.isArray(declared) || declared.length < 1) throw new OptionError(`expected [...,features] for Dense inputShape but got ${describe(declared)}`);
      declared.forEach((d, i) => assertPositiveInteger(d, `Dense inputShape[${i}]`));
      if (inputSize !== undefined && declared[declared.length - 1] !== inputSize) {
        throw new ShapeError(`expected inputShape [...,${inputSize}] for Dense(${inputSize}, ${this.outputSize}) but got ${formatShape(declared)}`);
      }
      inputSize = declared[declared.length - 1];
    }
    if (inputSize !== undefined) {
      this.allocate(inputSize);
      this.fill(new Rng());
    }
  }

  get inputSize(): number {
    return this.built()._inputSize!;
  }

  /** Output width (Keras's name). */
  get units(): number {
    return this.outputSize;
  }

  /** [inputSize, outputSize]; exists once the input width is known. */
  get weights(): Tensor {
    return this.built()._weights!;
  }

  /** [1, outputSize]. */
  get bias(): Tensor {
    return this.built()._bias!;
  }

  /** ∂E/∂W of the last backward (computed now if the folded SGD deferred it). */
  get weightsGrad(): Tensor {
    const grad = this.built()._weightsGrad!;
    settleRead(this.deferredGradient);
    return grad;
  }

  get biasGrad(): Tensor {
    return this.built()._biasGrad!;
  }

  protected override get hasParameters(): boolean {
    return true;
  }

  /** `inputShape` if given, else [inputSize] once the width is known: Dense(784, 128) first in a network fixes every shape. */
  override get declaredInputShape(): number[] | undefined {
    if (this.options.inputShape) return [...this.options.inputShape];
    return this._inputSize === undefined ? undefined : [this._inputSize];
  }

  /** Weights from the initialiser (Glorot-uniform by default), zero bias; deferred until the input width is known. */
  override initialize(rng: Rng): void {
    this.rng = rng;
    if (this._weights) this.fill(rng);
  }

  protected override computeOutputShape(inputShape: number[]): number[] {
    if (inputShape.length < 1) throw new ShapeError(`expected [...,features] for Dense input but got ${formatShape(inputShape)}`);
    const width = inputShape[inputShape.length - 1];
    if (this._inputSize === undefined) {
      assertPositiveInteger(width, 'Dense input width');
      this.allocate(width);
      this.fill(this.rng ?? new Rng());
    } else if (width !== this._inputSize) {
      throw new ShapeError(`Dense expected input [...,${this._inputSize}] but got ${formatShape(inputShape)}`);
    }
    return [...inputShape.slice(0, -1), this.outputSize];
  }

  private allocate(inputSize: number): void {
    this._inputSize = inputSize;
    this._weights = alignedZeros([inputSize, this.outputSize]);
    this._bias = Tensor.zeros([1, this.outputSize]);
    this._weightsGrad = alignedZeros([inputSize, this.outputSize]);
    this._biasGrad = Tensor.zeros([1, this.outputSize]);
  }

  private fill(rng: Rng): void {
    this.initializer(this._weights!.data, this._inputSize!, this.outputSize, rng);
    this._bias!.data.fill(0);
  }

  private built(): this {
    if (!this._weights) throw new StateError(`Dense(${this.outputSize}) has no weights until its input width is known (give inputShape, add it after a layer of known shape, or run forward once)`);
    return this;
  }

  override forward(input: Tensor): Tensor {
    const rows = this.rowsOf(input);
    const out = this.outputSpace.tensorWith(input.shape, input.rank - 1, this.outputSize);
    const backend = getBackend();
    this.input = input;
    const kind = this.tail.fusedKind;
    if (kind !== undefined || this.tail.name === undefined) {
      // Bias and activation applied by the GEMM to each tile as it is stored, not in a second pass over the output.
      this.inputVouchedFinite = backend.matmulBiasActivation(input.data, this.weights.data, this.bias.data, out.data, rows,
        this.outputSize, this.inputSize, kind ?? 'linear', this.tail.alpha);
      return kind === undefined ? out : this.tail.appliedBy(out);
    }
    this.inputVouchedFinite = undefined;
    backend.matmul(input.data, this.weights.data, out.data, rows, this.outputSize, this.inputSize, false, false, false);
    return this.tail.forward(out, this.bias.data, rows, this.outputSize);
  }

  override backward(outputGradient: Tensor, learningRate?: number): Tensor {
    const input = this.remembered(this.input);
    const rows = this.rowsOf(input);
    if (outputGradient.size !== rows * this.outputSize || outputGradient.shape.at(-1) !== this.outputSize) {
      const expected = [...input.shape.slice(0, -1), this.outputSize];
      throw new ShapeError(`expected ${formatShape(expected)} for Dense output gradient but got ${formatShape(outputGradient.shape)}`);
    }
    outputGradient = this.tail.backward(outputGradient);
    const backend = getBackend();
    const dy = outputGradient.data;
    const folded = this.foldedSgd;
    // Whatever this backward writes or defers supersedes a gradient still deferred.
    dropRead(this.deferredGradient);
    if (folded === undefined) this.writeWeightsGradient(backend, input.data, dy, rows);
    backend.sumRows(dy, this.biasGrad.data, rows, this.outputSize, false);
    const inputGradient = this.inputGradientSpace.tensor(this.inputGradientNeeded ? input.shape : [0]);
    if (this.inputGradientNeeded) {
      backend.matmul(dy, this.weights.data, inputGradient.data, rows, this.inputSize, this.outputSize, false, true, false);
    }
    if (folded !== undefined) {
      // W ← W − rate·Xᵀ·∂E/∂Y in one product, after ∂E/∂X has read the old W:
      // the weight gradient need not make its round trip through memory.
      backend.matmul(input.data, dy, this.weights.data, this.inputSize, this.outputSize, rows, true, false, true, -folded.rate);
      backend.axpy(-folded.rate, this.biasGrad.data, this.bias.data);
      // A batch callback might read ∂E/∂W: rather than a second product every
      // step, the same product runs on first read (or before X or ∂E/∂Y can be
      // overwritten), giving the same bits. fit drops it unread at its next step.
      if (folded.writeGradient) this.deferredGradient.defer(folded, backend, input.data, dy, rows);
    }
    this.sgdStep(learningRate);
    return inputGradient;
  }

  /** ∂E/∂W = Xᵀ·∂E/∂Y, the one product both the eager and the deferred gradient run (so they give the same bits). */
  private writeWeightsGradient(backend: Backend, x: Float32Array, dy: Float32Array, rows: number): void {
    backend.matmul(x, dy, this._weightsGrad!.data, this.inputSize, this.outputSize, rows, true, false, false);
  }

  override get foldsSgdStep(): boolean {
    return true;
  }

  override getConfig(): LayerConfig {
    if (this._inputSize === undefined) return { type: 'Dense', outputSize: this.outputSize, ...this.options };
    return { type: 'Dense', inputSize: this._inputSize, outputSize: this.outputSize, ...this.options };
  }

  override parameters(): Parameter[] {
    if (!this._weights) return [];
    const layer = this;
    return [
      // A getter, not the tensor: fit keeps these objects, and the gradient may be deferred.
      { name: 'weights', value: this._weights, get grad() { return layer.weightsGrad; } },
      { name: 'bias', value: this._bias!, grad: this._biasGrad! },
    ];
  }

  private rowsOf(input: Tensor): number {
    if (!(input instanceof Tensor)) throw new OptionError('expected a Tensor for Dense input');
    if (this._inputSize === undefined && input.rank >= 1) this.build(input.shape.slice(1));
    if (input.rank < 1 || input.shape[input.rank - 1] !== this.inputSize) {
      throw new ShapeError(`expected [*,${this.inputSize}] for Dense input but got ${formatShape(input.shape)}`);
    }
    return input.size / this.inputSize;
  }
}

/**
 * ∂E/∂W = Xᵀ·∂E/∂Y put off by the folded SGD (see Dense.backward): the
 * product's arguments, held until it runs. X and ∂E/∂Y are workspace memory
 * (the layer before's output or fit's batch, and the gradient the layer after
 * passed back), so a workspace runs it before reusing them (DeferredRead).
 * One per layer, reused every step.
 */
class DeferredWeightGradient implements DeferredRead {
  readonly sources: ArrayBufferLike[] = [];
  owner: object = this;
  private backend?: Backend;
  private x: Float32Array = new Float32Array(0);
  private dy: Float32Array = new Float32Array(0);
  private rows = 0;

  constructor(private readonly product: (backend: Backend, x: Float32Array, dy: Float32Array, rows: number) => void) {}

  defer(owner: object, backend: Backend, x: Float32Array, dy: Float32Array, rows: number): void {
    this.owner = owner;
    this.backend = backend;
    this.x = x;
    this.dy = dy;
    this.rows = rows;
    this.sources[0] = x.buffer;
    this.sources[1] = dy.buffer;
    deferRead(this);
  }

  run(): void {
    this.product(this.backend!, this.x, this.dy, this.rows);
  }
}

/** The from-scratch design's name for Dense. */
export const FCLayer = Dense;
export type FCLayer = Dense;
