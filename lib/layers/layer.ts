// The layer contract from the from-scratch design: forward maps X to Y and
// remembers what backward needs; backward maps ∂E/∂Y to ∂E/∂X and computes the
// layer's own parameter gradients. Derivatives are written out per layer;
// there is no autograd.

import { getBackend } from '../backends/index.js';
import type { Rng } from '../random.js';
import type { Tensor } from '../tensor.js';
import { StateError } from '../errors.js';

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

  /** Fills parameters from `rng` (called by Network.add). */
  initialize(_rng: Rng): void {}

  /** Gives a layer that draws random numbers while training (Dropout) its generator for a fit. */
  setRandomSource(_rng: Rng): void {}

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
