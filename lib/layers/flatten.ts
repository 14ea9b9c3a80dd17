// Flatten: [n, d1, d2, …] → [n, d1·d2·…]; the gradient is reshaped back.
// Only the shape changes, so both directions share the data.

import { formatShape, sizeOf } from '../shape.js';
import { Tensor } from '../tensor.js';
import { Layer, type LayerConfig } from './layer.js';
import { OptionError, ShapeError } from '../errors.js';

/** Reshapes each sample to one dimension, `[n, …]` → `[n, size]`, e.g. between convolutional and dense layers. */
export class Flatten extends Layer {
  private inputShape?: readonly number[];

  override getConfig(): LayerConfig {
    return { type: 'Flatten' };
  }

  override forward(input: Tensor): Tensor {
    if (!(input instanceof Tensor)) throw new OptionError('expected a Tensor for Flatten input');
    if (input.rank < 1) throw new ShapeError(`expected [n,...] for Flatten input but got ${formatShape(input.shape)}`);
    this.inputShape = input.shape;
    const n = input.shape[0];
    return input.reshape([n, n === 0 ? 0 : input.size / n]);
  }

  override backward(outputGradient: Tensor, _learningRate?: number): Tensor {
    const shape = this.remembered(this.inputShape);
    if (outputGradient.size !== sizeOf(shape)) {
      throw new ShapeError(`expected ${formatShape([shape[0], sizeOf(shape.slice(1))])} for Flatten output gradient but got ${formatShape(outputGradient.shape)}`);
    }
    return outputGradient.reshape(shape);
  }
}

/** The tutorial's name for `Flatten`. */
export const FlattenLayer = Flatten;
export type FlattenLayer = Flatten;
