// Flatten: [n, d1, d2, …] → [n, d1·d2·…]; the gradient is reshaped back.
// Only the shape changes, so both directions share the data.

import { assertPositiveInteger, describe, formatShape, sameShape, sizeOf } from '../shape.js';
import { checkOptions } from '../options.js';
import { Tensor } from '../tensor.js';
import { Layer, type LayerConfig } from './layer.js';
import { OptionError, ShapeError } from '../errors.js';

/** Options of `Flatten`. */
export interface FlattenOptions {
  /** The shape of one sample, for a first layer. */
  inputShape?: number[];
}

/** Reshapes each sample to one dimension, `[n, …]` → `[n, size]`, e.g. between convolutional and dense layers. */
export class Flatten extends Layer {
  private lastInputShape?: readonly number[];
  // The last tensor each way and its reshaped view: fit hands this layer the
  // same workspace tensors every step, so the views are made once.
  private flatView?: { of: Tensor; view: Tensor };
  private gradientView?: { of: Tensor; view: Tensor };
  private readonly declared?: number[];

  constructor(options: FlattenOptions = {}) {
    super();
    checkOptions(options, ['inputShape'], 'Flatten options');
    const declared = options.inputShape;
    if (declared !== undefined) {
      if (!Array.isArray(declared)) throw new OptionError(`expected an array of sizes for Flatten inputShape but got ${describe(declared)}`);
      declared.forEach((d, i) => assertPositiveInteger(d, `Flatten inputShape[${i}]`));
      this.declared = [...declared];
    }
  }

  override get declaredInputShape(): number[] | undefined {
    return this.declared && [...this.declared];
  }

  override getConfig(): LayerConfig {
    return this.declared ? { type: 'Flatten', inputShape: [...this.declared] } : { type: 'Flatten' };
  }

  protected override computeOutputShape(inputShape: number[]): number[] {
    return [sizeOf(inputShape)];
  }

  override forward(input: Tensor): Tensor {
    if (!(input instanceof Tensor)) throw new OptionError('expected a Tensor for Flatten input');
    if (input.rank < 1) throw new ShapeError(`expected [n,...] for Flatten input but got ${formatShape(input.shape)}`);
    this.lastInputShape = input.shape;
    if (this.flatView?.of !== input) {
      const n = input.shape[0];
      this.flatView = { of: input, view: input.reshape([n, n === 0 ? 0 : input.size / n]) };
    }
    return this.flatView.view;
  }

  override backward(outputGradient: Tensor, _learningRate?: number): Tensor {
    const shape = this.remembered(this.lastInputShape);
    if (outputGradient.size !== sizeOf(shape)) {
      throw new ShapeError(`expected ${formatShape([shape[0], sizeOf(shape.slice(1))])} for Flatten output gradient but got ${formatShape(outputGradient.shape)}`);
    }
    if (this.gradientView?.of !== outputGradient || !sameShape(this.gradientView.view.shape, shape)) {
      this.gradientView = { of: outputGradient, view: outputGradient.reshape(shape) };
    }
    return this.gradientView.view;
  }
}

/** The tutorial's name for `Flatten`. */
export const FlattenLayer = Flatten;
export type FlattenLayer = Flatten;
