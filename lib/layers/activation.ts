// Activation: Y = f(X) elementwise (softmax: per row of the last dimension),
// ∂E/∂X = ∂E/∂Y · f'(X) (softmax: its Jacobian applied per row).
// Built-in functions run as backend kernels; a user pair (fn, derivative)
// runs elementwise in JavaScript, as in the from-scratch design.

import { ACTIVATION_KINDS, type ActivationKind } from '../backends/backend.js';
import { getBackend } from '../backends/index.js';
import { describe, formatShape, sameShape } from '../shape.js';
import { Tensor } from '../tensor.js';
import { Layer, type LayerConfig, type TrailingActivation } from './layer.js';
import { OptionError, ShapeError, StateError } from '../errors.js';
import { checkOptions } from '../options.js';
import { Workspace } from '../workspace.js';

/** A function of one number, for custom activations and their derivatives. */
export type ScalarFunction = (x: number) => number;
/** Activation names accepted by layers and `Activation`. */
export type ActivationName = ActivationKind | 'softmax';
export const ACTIVATION_NAMES: readonly ActivationName[] = [...ACTIVATION_KINDS, 'softmax'];

/** Options of `new Activation(name, options)`. */
export interface ActivationOptions {
  /** leakyRelu's slope for negative inputs (default 0.01). */
  alpha?: number;
}

/** An elementwise activation as its own layer (alias `ActivationLayer`): a name such as `'relu'` or `'softmax'`, or your own function and its derivative. */
export class Activation extends Layer {
  readonly kind: ActivationName | 'custom';
  readonly alpha: number;
  private readonly fn?: ScalarFunction;
  private readonly derivative?: ScalarFunction;
  private input?: Tensor;
  private output?: Tensor;
  private readonly outputSpace = new Workspace();
  private readonly inputGradientSpace = new Workspace();

  constructor(kind: ActivationName, options?: ActivationOptions);
  constructor(fn: ScalarFunction, derivative: ScalarFunction);
  constructor(kindOrFn: ActivationName | ScalarFunction, second?: ScalarFunction | ActivationOptions) {
    super();
    this.alpha = 0.01;
    if (typeof kindOrFn === 'function') {
      if (typeof second !== 'function') {
        throw new OptionError(`expected a derivative function after the activation function but got ${describe(second)}`);
      }
      this.kind = 'custom';
      this.fn = kindOrFn;
      this.derivative = second;
    } else if (ACTIVATION_NAMES.includes(kindOrFn)) {
      this.kind = kindOrFn;
      if (second !== undefined) checkOptions(second, ['alpha'], 'Activation options');
      if (second !== undefined && typeof second === 'object' && second.alpha !== undefined) {
        if (typeof second.alpha !== 'number' || !Number.isFinite(second.alpha)) {
          throw new OptionError(`expected a finite number for leakyRelu alpha but got ${describe(second.alpha)}`);
        }
        this.alpha = second.alpha;
      }
    } else {
      throw new OptionError(`expected one of ${ACTIVATION_NAMES.join(', ')} or a function for Activation but got ${describe(kindOrFn)}`);
    }
  }

  override forward(input: Tensor): Tensor {
    if (!(input instanceof Tensor)) throw new OptionError(`expected a Tensor for Activation input but got ${describe(input)}`);
    const output = this.outputSpace.tensor(input.shape);
    if (this.kind === 'custom') {
      const f = this.fn!;
      for (let i = 0; i < input.size; i++) output.data[i] = f(input.data[i]);
    } else if (this.kind === 'softmax') {
      const [rows, cols] = rowsAndCols(input);
      getBackend().softmaxRows(input.data, output.data, rows, cols);
    } else {
      getBackend().activationForward(this.kind, input.data, output.data, this.alpha);
    }
    this.input = input;
    this.output = output;
    return output;
  }

  override backward(outputGradient: Tensor, _learningRate?: number): Tensor {
    const input = this.remembered(this.input);
    if (!sameShape(outputGradient.shape, input.shape)) {
      throw new ShapeError(`expected ${formatShape(input.shape)} for Activation output gradient but got ${formatShape(outputGradient.shape)}`);
    }
    // Fused: the next layer already applied this activation's derivative.
    if (this.takeFusedGradient(outputGradient)) return outputGradient;
    const inputGradient = this.inputGradientSpace.tensor(input.shape);
    if (this.kind === 'custom') {
      const d = this.derivative!;
      const dy = outputGradient.data;
      for (let i = 0; i < input.size; i++) inputGradient.data[i] = dy[i] * d(input.data[i]);
    } else if (this.kind === 'softmax') {
      const [rows, cols] = rowsAndCols(input);
      getBackend().softmaxBackwardRows(this.output!.data, outputGradient.data, inputGradient.data, rows, cols);
    } else {
      getBackend().activationBackward(this.kind, input.data, this.output!.data, outputGradient.data, inputGradient.data, this.alpha);
    }
    return inputGradient;
  }

  override fusibleTail(): { activation: TrailingActivation; biasGradient: Float32Array | null } | undefined {
    if (this.kind === 'custom' || this.kind === 'softmax') return undefined;
    if (this.kind === 'leakyRelu' && !(this.alpha >= 0)) return undefined;
    return { activation: { kind: this.kind, alpha: this.alpha }, biasGradient: null };
  }

  override getConfig(): LayerConfig {
    if (this.kind === 'custom') throw new StateError('an Activation with a user function cannot be saved: its code is not data');
    return this.kind === 'leakyRelu' ? { type: 'Activation', kind: this.kind, alpha: this.alpha } : { type: 'Activation', kind: this.kind };
  }

  /** The output of the last forward pass (the fused softmax + cross-entropy gradient reads it). */
  lastOutput(): Tensor {
    return this.remembered(this.output);
  }
}

function rowsAndCols(t: Tensor): [number, number] {
  if (t.rank < 1 || t.shape[t.rank - 1] < 1) throw new ShapeError(`expected [*,classes] for softmax input but got ${formatShape(t.shape)}`);
  const cols = t.shape[t.rank - 1];
  return [t.size / cols, cols];
}

/** The from-scratch design's name for Activation. */
export const ActivationLayer = Activation;
export type ActivationLayer = Activation;

// The from-scratch design's scalar functions, for Activation(fn, derivative).
/** The tutorial's `tanh`, for `new Activation(tanh, tanhPrime)`. */
export const tanh: ScalarFunction = Math.tanh;
/** The derivative of `tanh`. */
export const tanhPrime: ScalarFunction = (x) => 1 - Math.tanh(x) ** 2;
