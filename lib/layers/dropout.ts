// Dropout (inverted): while training, each input survives with probability
// 1 − rate and is scaled by 1/(1 − rate), so nothing changes at inference;
// ∂E/∂X = ∂E/∂Y · mask. Off in predict and evaluate. The mask comes from a
// seeded Rng, so a training run repeats exactly.

import { getBackend } from '../backends/index.js';
import { Rng } from '../random.js';
import { describe, formatShape, sameShape } from '../shape.js';
import { Tensor } from '../tensor.js';
import { Workspace } from '../workspace.js';
import { Layer, type LayerConfig } from './layer.js';
import { OptionError, ShapeError } from '../errors.js';

/** Zeroes each input with probability `rate` while training (scaling the rest by 1 / (1 − rate)); passes inputs through unchanged in predict and evaluate. */
export class Dropout extends Layer {
  readonly rate: number;
  private rng = new Rng();
  private mask?: Float32Array;
  private lastInputShape?: readonly number[];
  private readonly maskSpace = new Workspace();
  private readonly outputSpace = new Workspace();
  private readonly inputGradientSpace = new Workspace();

  constructor(rate: number) {
    super();
    if (typeof rate !== 'number' || !(rate >= 0 && rate < 1)) {
      throw new OptionError(`expected a rate in [0, 1) for Dropout but got ${describe(rate)}`);
    }
    this.rate = rate;
  }

  override getConfig(): LayerConfig {
    return { type: 'Dropout', rate: this.rate };
  }

  override initialize(rng: Rng): void {
    this.rng = rng.fork();
  }

  override setRandomSource(rng: Rng): void {
    this.rng = rng;
  }

  override forward(input: Tensor, training = false): Tensor {
    if (!(input instanceof Tensor)) throw new OptionError(`expected a Tensor for Dropout input but got ${describe(input)}`);
    this.lastInputShape = input.shape;
    if (!training || this.rate === 0) {
      this.mask = undefined;
      return input;
    }
    const keep = 1 - this.rate;
    const scale = 1 / keep;
    const mask = this.maskSpace.tensor([input.size]).data;
    for (let i = 0; i < mask.length; i++) mask[i] = this.rng.next() < keep ? scale : 0;
    this.mask = mask;
    const out = this.outputSpace.tensor(input.shape);
    getBackend().multiply(input.data, mask, out.data);
    return out;
  }

  override backward(outputGradient: Tensor, _learningRate?: number): Tensor {
    const shape = this.remembered(this.lastInputShape);
    if (!(outputGradient instanceof Tensor) || !sameShape(outputGradient.shape, shape)) {
      throw new ShapeError(`expected ${formatShape(shape)} for Dropout output gradient but got ${outputGradient instanceof Tensor ? formatShape(outputGradient.shape) : describe(outputGradient)}`);
    }
    if (!this.mask) return outputGradient;
    const dx = this.inputGradientSpace.tensor(shape);
    getBackend().multiply(outputGradient.data, this.mask, dx.data);
    return dx;
  }
}
