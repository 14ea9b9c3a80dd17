// Reshape: each sample takes a new shape with the same number of values,
// [n, …] → [n, …targetShape], as Keras' Reshape(target_shape). One entry of
// the target may be -1: it is inferred from the sample's size. The values
// keep their row-major order, so both directions are views of the same data
// (no copy); the gradient is reshaped back.

import { OptionError, ShapeError } from '../errors.js';
import { checkOptions } from '../options.js';
import { describe, formatShape, sizeOf } from '../shape.js';
import { Tensor } from '../tensor.js';
import { Layer, type LayerConfig } from './layer.js';

/** Options of `Reshape`. */
export interface ReshapeOptions {
  /** The shape of one sample coming in, for a first layer. */
  inputShape?: number[];
}

/** Gives each sample the shape `targetShape` (one entry may be -1, inferred), keeping the values' order: `[n, …]` → `[n, …targetShape]`. */
export class Reshape extends Layer {
  readonly targetShape: number[];
  private readonly declared?: number[];
  private lastInputShape?: readonly number[];

  constructor(targetShape: number[], options: ReshapeOptions = {}) {
    super();
    checkOptions(options, ['inputShape'], 'Reshape options');
    if (!Array.isArray(targetShape) || targetShape.length === 0 ||
      !targetShape.every((d) => d === -1 || (Number.isSafeInteger(d) && d > 0))) {
      throw new OptionError(`expected a non-empty array of positive sizes (one may be -1) for Reshape targetShape but got ${describe(targetShape)}`);
    }
    if (targetShape.filter((d) => d === -1).length > 1) {
      throw new OptionError(`Reshape targetShape ${formatShape(targetShape)} has more than one -1: only one size can be inferred`);
    }
    this.targetShape = [...targetShape];
    if (options.inputShape !== undefined) {
      const shape = options.inputShape as unknown;
      if (!Array.isArray(shape) || shape.length === 0 || !shape.every((d) => Number.isSafeInteger(d) && d > 0)) {
        throw new OptionError(`expected an array of positive sizes for Reshape inputShape but got ${describe(shape)}`);
      }
      this.declared = [...shape];
      this.resolve(this.declared);
    }
  }

  override get declaredInputShape(): number[] | undefined {
    return this.declared && [...this.declared];
  }

  override getConfig(): LayerConfig {
    const config: LayerConfig = { type: 'Reshape', targetShape: [...this.targetShape] };
    if (this.declared) config.inputShape = [...this.declared];
    return config;
  }

  protected override computeOutputShape(inputShape: number[]): number[] {
    return this.resolve(inputShape);
  }

  /** The target shape for samples of `sampleShape`, -1 filled in; a ShapeError when the sizes differ. */
  private resolve(sampleShape: readonly number[]): number[] {
    const size = sizeOf(sampleShape);
    const at = this.targetShape.indexOf(-1);
    const known = sizeOf(this.targetShape.filter((d) => d !== -1));
    const resolved = [...this.targetShape];
    if (at >= 0) resolved[at] = size / known;
    if (!Number.isInteger(resolved[at >= 0 ? at : 0]) || sizeOf(resolved) !== size) {
      throw new ShapeError(
        `Reshape cannot give a sample of shape ${formatShape(sampleShape)} (${size} values) the shape ${formatShape(this.targetShape)}` +
        (at >= 0 ? ` (${size} is not a multiple of ${known})` : ` (${known} values)`),
      );
    }
    return resolved;
  }

  override forward(input: Tensor): Tensor {
    if (!(input instanceof Tensor) || input.rank < 1) {
      throw new ShapeError(`expected [n,...] for Reshape input but got ${input instanceof Tensor ? formatShape(input.shape) : describe(input)}`);
    }
    const [n, ...sample] = input.shape;
    const target = this.resolve(sample);
    this.lastInputShape = input.shape;
    return input.reshape([n, ...target]);
  }

  override backward(outputGradient: Tensor, _learningRate?: number): Tensor {
    const shape = this.remembered(this.lastInputShape);
    if (!(outputGradient instanceof Tensor) || outputGradient.size !== sizeOf(shape) || outputGradient.shape[0] !== shape[0]) {
      throw new ShapeError(`expected ${formatShape([shape[0], ...this.resolve(shape.slice(1))])} for Reshape output gradient but got ${outputGradient instanceof Tensor ? formatShape(outputGradient.shape) : describe(outputGradient)}`);
    }
    return outputGradient.reshape(shape);
  }
}
