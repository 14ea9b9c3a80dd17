// Dense (fully connected): Y = X·W + B, one matrix product per batch.
//
//   X [rows, in]  (any leading dimensions fold into rows)
//   W [in, out], B [1, out], Y [rows, out]
//   ∂E/∂W = Xᵀ·∂E/∂Y     ∂E/∂B = Σ_rows ∂E/∂Y     ∂E/∂X = ∂E/∂Y·Wᵀ
// The transposes are flags of the matmul kernel, so nothing is copied.
// An optional activation runs after the product (Dense(…, { activation })),
// and its derivative is applied first on the way back.

import { getBackend } from '../backends/index.js';
import { getInitializer, type Initializer, type InitializerName } from '../initializers.js';
import { Rng } from '../random.js';
import { assertPositiveInteger, formatShape } from '../shape.js';
import { Tensor } from '../tensor.js';
import type { ActivationName } from './activation.js';
import { BiasActivation } from './bias-activation.js';
import { Layer, type LayerConfig, type Parameter } from './layer.js';
import { OptionError, ShapeError } from '../errors.js';
import { checkOptions } from '../options.js';
import { Workspace } from '../workspace.js';

/** Options of `new Dense(inputSize, outputSize, options)`. */
export interface DenseOptions {
  /** Applied to X·W + B (default none). */
  activation?: ActivationName;
  /** Weight initialiser (default glorotUniform); the bias starts at zero. */
  kernelInitializer?: InitializerName;
}

const DENSE_OPTION_KEYS: readonly (keyof DenseOptions)[] = ['activation', 'kernelInitializer'];

/** A fully connected layer, Y = X·W + B with an optional fused activation (alias `FCLayer`): `new Dense(inputSize, outputSize, options)`. */
export class Dense extends Layer {
  readonly inputSize: number;
  readonly outputSize: number;
  readonly weights: Tensor;
  readonly bias: Tensor;
  readonly weightsGrad: Tensor;
  readonly biasGrad: Tensor;
  private input?: Tensor;
  private readonly tail: BiasActivation;
  private readonly initializer: Initializer;
  private readonly options: DenseOptions;
  private readonly outputSpace = new Workspace();
  private readonly inputGradientSpace = new Workspace();

  constructor(inputSize: number, outputSize: number, options: DenseOptions = {}) {
    super();
    checkOptions(options, DENSE_OPTION_KEYS, 'Dense options');
    this.options = { ...options };
    this.initializer = getInitializer(options.kernelInitializer, 'Dense kernelInitializer');
    this.tail = new BiasActivation(options.activation);
    this.inputSize = assertPositiveInteger(inputSize, 'Dense inputSize');
    this.outputSize = assertPositiveInteger(outputSize, 'Dense outputSize');
    this.weights = Tensor.zeros([inputSize, outputSize]);
    this.bias = Tensor.zeros([1, outputSize]);
    this.weightsGrad = Tensor.zeros([inputSize, outputSize]);
    this.biasGrad = Tensor.zeros([1, outputSize]);
    this.initialize(new Rng());
  }

  /** Weights from the initialiser (Glorot-uniform by default), zero bias. */
  override initialize(rng: Rng): void {
    this.initializer(this.weights.data, this.inputSize, this.outputSize, rng);
    this.bias.data.fill(0);
  }

  override forward(input: Tensor): Tensor {
    const rows = this.rowsOf(input);
    const out = this.outputSpace.tensor([...input.shape.slice(0, -1), this.outputSize]);
    const backend = getBackend();
    backend.matmul(input.data, this.weights.data, out.data, rows, this.outputSize, this.inputSize, false, false, false);
    this.input = input;
    return this.tail.forward(out, this.bias.data, rows, this.outputSize);
  }

  override backward(outputGradient: Tensor, learningRate?: number): Tensor {
    const input = this.remembered(this.input);
    const rows = this.rowsOf(input);
    const expected = [...input.shape.slice(0, -1), this.outputSize];
    if (outputGradient.size !== rows * this.outputSize || outputGradient.shape.at(-1) !== this.outputSize) {
      throw new ShapeError(`expected ${formatShape(expected)} for Dense output gradient but got ${formatShape(outputGradient.shape)}`);
    }
    outputGradient = this.tail.backward(outputGradient);
    const backend = getBackend();
    const dy = outputGradient.data;
    backend.matmul(input.data, dy, this.weightsGrad.data, this.inputSize, this.outputSize, rows, true, false, false);
    backend.sumRows(dy, this.biasGrad.data, rows, this.outputSize, false);
    const inputGradient = this.inputGradientSpace.tensor(this.inputGradientNeeded ? input.shape : [0]);
    if (this.inputGradientNeeded) {
      backend.matmul(dy, this.weights.data, inputGradient.data, rows, this.inputSize, this.outputSize, false, true, false);
    }
    this.sgdStep(learningRate);
    return inputGradient;
  }

  override getConfig(): LayerConfig {
    return { type: 'Dense', inputSize: this.inputSize, outputSize: this.outputSize, ...this.options };
  }

  override parameters(): Parameter[] {
    return [
      { name: 'weights', value: this.weights, grad: this.weightsGrad },
      { name: 'bias', value: this.bias, grad: this.biasGrad },
    ];
  }

  private rowsOf(input: Tensor): number {
    if (!(input instanceof Tensor)) throw new OptionError('expected a Tensor for Dense input');
    if (input.rank < 1 || input.shape[input.rank - 1] !== this.inputSize) {
      throw new ShapeError(`expected [*,${this.inputSize}] for Dense input but got ${formatShape(input.shape)}`);
    }
    return input.size / this.inputSize;
  }
}

/** The from-scratch design's name for Dense. */
export const FCLayer = Dense;
export type FCLayer = Dense;
