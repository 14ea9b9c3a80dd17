// The layer contract from the from-scratch design: forward maps X to Y and
// remembers what backward needs; backward maps ∂E/∂Y to ∂E/∂X and computes the
// layer's own parameter gradients. Derivatives are written out per layer;
// there is no autograd.
//
// Shape inference (the contract Network.add, summary() and ONNX export rely on):
// - Shapes passed to and returned from `build` never include the sample
//   (batch) dimension: a Dense on [n, 784] is built with [784].
// - `build(inputShape)` fixes the layer's input shape, allocates its
//   parameters if they do not exist yet (from the generator `initialize`
//   gave it, so the seed alone decides the values) and returns its output
//   shape. It may be called again: with the same shape it returns the same
//   output shape; with a shape that its existing parameters cannot take
//   (a Dense(4, 8) given [5]) it throws a ShapeError naming the layer type,
//   what it expected and what came. Network.add adds the layer's index.
// - After a successful build, `inputShape` and `outputShape` hold the shapes
//   (copies); before it they are undefined.
// - `declaredInputShape` is the `inputShape` option a first layer may carry;
//   Network.add builds the first layer from it, and every later layer from
//   the output shape of the layer before. Without one, the first batch that
//   Network.forward sees builds the chain.
// - Shape-preserving layers (Activation, Dropout, BatchNormalization) inherit
//   the default `computeOutputShape`, which returns the input shape.

import type { ActivationKind, PoolGeometry } from '../backends/backend.js';
import { getBackend } from '../backends/index.js';
import type { Rng } from '../random.js';
import type { Tensor } from '../tensor.js';
import { OptionError, StateError } from '../errors.js';
import { describe } from '../shape.js';

/** A trainable tensor and the gradient backward last computed for it. */
export interface Parameter {
  readonly name: string;
  readonly value: Tensor;
  readonly grad: Tensor;
}

/**
 * A tensor a layer keeps that is not trained by gradients but belongs to the
 * model (BatchNormalization's running statistics): saved and loaded with the
 * weights, included in getWeights/setWeights, restored on a rollback.
 */
export interface StateTensor {
  readonly name: string;
  readonly value: Tensor;
}

/**
 * An elementwise activation a layer ends with, whose derivative follows from
 * its output alone (relu, leakyRelu with alpha ≥ 0, sigmoid, tanh, linear).
 */
export interface TrailingActivation {
  readonly kind: ActivationKind;
  readonly alpha: number;
}

/**
 * Backward fusion of two neighbouring layers, linked by Network.fit for the
 * length of a fit: the later layer (MaxPool2D) applies the derivative of the
 * earlier layer's trailing activation to its own, smaller gradient and sums
 * the result into the earlier layer's bias gradient, so the earlier layer's
 * backward skips both passes over its whole output. `pending` is the
 * gradient the later layer last returned, until the earlier layer takes it:
 * only that exact tensor counts as already through the activation.
 *
 * When the earlier layer's `takesPooled` accepts the pool's geometry (a
 * network's first Conv2D, which passes no input gradient on), the pool does
 * not even write ∂E/∂X: it leaves its gradient at the winners in `pooled`,
 * from which the earlier layer takes its filter gradient directly
 * (Backend.conv2dBackwardFilterPooled); `pending` is then that unwritten
 * tensor.
 */
export class BackwardFusion {
  pending?: Tensor;
  pooled?: PooledGradient;
  constructor(
    readonly activation: TrailingActivation,
    readonly biasGradient: Float32Array | null,
    readonly takesPooled?: (pool: PoolGeometry) => boolean,
  ) {}
}

/** A max pool's gradient at its winners (after the fused activation) and the winners themselves. */
export interface PooledGradient {
  readonly gradient: Float32Array;
  readonly argmax: Int32Array;
  readonly geometry: PoolGeometry;
}

/** A layer's type name and constructor options, as stored in a model file. */
export interface LayerConfig {
  type: string;
  [option: string]: unknown;
}

/** Base class of every layer: `forward(X, training?)` gives Y, `backward(∂E/∂Y)` gives ∂E/∂X and computes the layer's own parameter gradients. Subclass it for a custom layer. */
export abstract class Layer {
  /**
   * Whether backward must return ∂E/∂X. A network's first layer has no one to
   * pass it to, so fit turns this off there and Dense and Conv2D skip that
   * product (for a first conv layer, a third of its backward work); they then
   * return an empty tensor.
   */
  inputGradientNeeded = true;

  private frozen = false;

  /**
   * Set by Network.fit when the next layer's backward takes over this
   * layer's trailing activation (see BackwardFusion); undefined otherwise.
   */
  fusionWithNext?: BackwardFusion;

  /**
   * What a following layer may take over in backward (see BackwardFusion):
   * the trailing activation and the bias gradient it feeds, if any.
   * Undefined (the default): nothing.
   */
  fusibleTail(): { activation: TrailingActivation; biasGradient: Float32Array | null; takesPooled?: (pool: PoolGeometry) => boolean } | undefined {
    return undefined;
  }

  /**
   * Offers this layer the previous layer's tail (undefined withdraws an
   * earlier offer); true when its backward will apply it. Default: declines.
   */
  acceptFusion(_fusion: BackwardFusion | undefined): boolean {
    return false;
  }

  /** Whether `outputGradient` is the one the next layer already took through this layer's activation; consumes it. */
  protected takeFusedGradient(outputGradient: Tensor): boolean {
    const fusion = this.fusionWithNext;
    if (fusion === undefined || fusion.pending !== outputGradient) return false;
    fusion.pending = undefined;
    return true;
  }

  /**
   * False freezes the layer: optimizers leave its parameters alone, while
   * backward still passes ∂E/∂X through it. Saved with the model. Setting it
   * on a layer that never has parameters (Flatten, Activation) is an error,
   * since it could only be a mistake about which layer was meant.
   */
  get trainable(): boolean {
    return !this.frozen;
  }

  set trainable(value: boolean) {
    if (typeof value !== 'boolean') throw new OptionError(`expected true or false for ${this.constructor.name} trainable but got ${describe(value)}`);
    if (!value && !this.hasParameters) {
      throw new OptionError(`${this.constructor.name} has no parameters to freeze: trainable = false would change nothing (freeze the Dense, Conv2D or BatchNormalization layer instead)`);
    }
    this.frozen = !value;
  }

  /** Whether the layer type has parameters (once built); layers that do override this. */
  protected get hasParameters(): boolean {
    return false;
  }

  private builtInputShape?: number[];
  private builtOutputShape?: number[];

  /** The input shape (without the sample dimension) the layer was built for, if built. */
  get inputShape(): number[] | undefined {
    return this.builtInputShape && [...this.builtInputShape];
  }

  /** The output shape (without the sample dimension) for that input, if built. */
  get outputShape(): number[] | undefined {
    return this.builtOutputShape && [...this.builtOutputShape];
  }

  /** The `inputShape` option given to the constructor, if any (first layers). */
  get declaredInputShape(): number[] | undefined {
    return undefined;
  }

  /**
   * Fixes the input shape (no sample dimension), allocates parameters on the
   * first call, and returns the output shape. See the contract at the top of
   * this file.
   */
  build(inputShape: readonly number[]): number[] {
    const input = [...inputShape];
    const output = this.computeOutputShape(input);
    this.builtInputShape = input;
    this.builtOutputShape = output;
    return [...output];
  }

  /**
   * The output shape for `inputShape` (no sample dimension), allocating
   * parameters when they do not exist yet; throws a ShapeError when the
   * input cannot be taken. Shape-preserving layers keep this default.
   */
  protected computeOutputShape(inputShape: number[]): number[] {
    return inputShape;
  }

  /** Fills parameters from `rng` (called by Network.add). */
  initialize(_rng: Rng): void {}

  /** Gives a layer that draws random numbers while training (Dropout) its generator for a fit. */
  setRandomSource(_rng: Rng): void {}

  /**
   * A seed the layer was given for its own random stream (augmentation
   * layers' `seed` option): fit then starts the generator it hands to
   * setRandomSource from this seed instead of forking the network's.
   */
  get randomSeed(): number | undefined {
    return undefined;
  }

  /**
   * X → Y. The layer keeps what its backward pass needs. `training` is per
   * call (fit passes true; predict and evaluate leave it false), so layers that
   * act only in training (Dropout, BatchNorm's batch statistics) never depend
   * on a flag left behind by an earlier call.
   *
   * The returned tensor (like backward's) is the layer's own workspace,
   * reused by its next call: clone() it to keep it. Network.predict returns a
   * fresh tensor that no later call touches.
   */
  abstract forward(input: Tensor, training?: boolean): Tensor;

  /**
   * ∂E/∂Y → ∂E/∂X, computing every parameter's gradient. With a learning
   * rate it also takes a plain SGD step, as the from-scratch design does.
   */
  abstract backward(outputGradient: Tensor, learningRate?: number): Tensor;

  /**
   * The constructor arguments as plain data, for saving a model; a layer
   * rebuilt from it (with its weights restored) behaves identically.
   */
  getConfig(): LayerConfig {
    throw new StateError(`${this.constructor.name} cannot be saved: it does not describe itself as data`);
  }

  /** Trainable parameters with their gradients (none for stateless layers). */
  parameters(): Parameter[] {
    return [];
  }

  /** Non-trainable state tensors (see StateTensor); none for most layers. */
  stateTensors(): StateTensor[] {
    return [];
  }

  /** The from-scratch design's names for forward and backward. */
  forwardPropagation(input: Tensor, training = false): Tensor {
    return this.forward(input, training);
  }

  backwardPropagation(outputError: Tensor, learningRate?: number): Tensor {
    return this.backward(outputError, learningRate);
  }

  /**
   * Set by fit around one backward pass when the optimizer's whole step is
   * p ← p − rate·∂E/∂p (Optimizer.foldableRate). A layer whose
   * `foldsSgdStep` is true then applies that step to all its parameters
   * inside backward (Dense: in the weight-gradient product) and the
   * optimizer skips them. Unless `writeGradient` (a batch callback might
   * read it), Dense's weight gradient is then not written; with it, Dense
   * computes the gradient only when something reads it (a DeferredRead
   * owned by this object, see Dense.backward).
   */
  foldedSgd?: { rate: number; writeGradient: boolean };

  /** Whether backward applies `foldedSgd` itself (see there). */
  get foldsSgdStep(): boolean {
    return false;
  }

  /** value −= learningRate · grad for every parameter. */
  protected sgdStep(learningRate: number | undefined): void {
    if (learningRate === undefined) return;
    const backend = getBackend();
    for (const p of this.parameters()) backend.axpy(-learningRate, p.grad.data, p.value.data);
  }

  /** The input of the last forward pass, or a clear error if there was none. */
  protected remembered<T>(value: T | undefined): T {
    if (value === undefined) throw new StateError(`${this.constructor.name}.backward called before forward`);
    return value;
  }
}
