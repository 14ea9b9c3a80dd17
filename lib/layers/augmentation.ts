// Image augmentation layers for channels-last batches [n, h, w, c]. They act
// only when forward is called in training (fit passes true) and are the
// identity in predict and evaluate. Each sample draws its own transform from
// the layer's seeded generator:
//
//   RandomFlip:         Y[b] = X[b] mirrored left-right and/or upside down.
//                       A flip is its own inverse, so ∂E/∂X[b] = ∂E/∂Y[b]
//                       put through the same flip.
//   RandomTranslation:  Y[b,i,j] = X[b, i − dy, j − dx] (zeros where that
//                       falls outside the image), with whole-pixel shifts
//                       dy = round(u·height·h), dx = round(v·width·w) for
//                       u, v uniform in [−1, 1). The adjoint shifts back:
//                       ∂E/∂X[b,p,q] = ∂E/∂Y[b, p + dy, q + dx] (zeros outside).
//
// So the backward passes are exact even with the layers in mid-network.
//
// Generators: without a `seed`, a layer draws from the stream the network
// gives it for each fit (forked from the network's seed, saved in a fit's
// resume state) as Dropout does; with one, fit starts the layer's stream from
// that seed instead. Either way the same seed gives the same augmentations.

import { OptionError, ShapeError } from '../errors.js';
import { checkOptions } from '../options.js';
import { Rng } from '../random.js';
import { assertImageShape, describe, formatShape, sameShape } from '../shape.js';
import { Tensor } from '../tensor.js';
import { IndexWorkspace, Workspace } from '../workspace.js';
import { Layer, type LayerConfig } from './layer.js';

/** Which axes `RandomFlip` may mirror. */
export type FlipMode = 'horizontal' | 'vertical' | 'horizontal_and_vertical';
const FLIP_MODES: readonly FlipMode[] = ['horizontal', 'vertical', 'horizontal_and_vertical'];

/** Options of `RandomFlip`. */
export interface RandomFlipOptions {
  /** 'horizontal' mirrors left-right, 'vertical' upside down, 'horizontal_and_vertical' (the default) each with its own coin. */
  mode?: FlipMode;
  /** Seeds the layer's own generator (default: the network's stream). */
  seed?: number;
  /** The shape of one image, [h, w, channels], for a first layer. */
  inputShape?: [number, number, number];
}

/** Options of `RandomTranslation`. */
export interface RandomTranslationOptions {
  /** Largest vertical shift as a fraction of the height, in [0, 1). */
  height: number;
  /** Largest horizontal shift as a fraction of the width, in [0, 1). */
  width: number;
  /** What fills the pixels shifted in: only 'zeros' (the default). */
  fill?: 'zeros';
  /** Seeds the layer's own generator (default: the network's stream). */
  seed?: number;
  /** The shape of one image, [h, w, channels], for a first layer. */
  inputShape?: [number, number, number];
}

/** What the augmentation layers share: the generator, the identity at inference and the [n,h,w,c] checks. */
abstract class ImageAugmentation extends Layer {
  readonly seed?: number;
  protected rng: Rng;
  protected readonly outputSpace = new Workspace();
  protected readonly inputGradientSpace = new Workspace();
  /** The shape of the last input, and whether it was transformed (training) or passed through. */
  private lastInputShape?: readonly number[];
  private transformed = false;
  private readonly declared?: [number, number, number];

  protected constructor({ seed, inputShape }: { seed?: unknown; inputShape?: unknown }, what: string) {
    super();
    if (seed !== undefined && !(Number.isSafeInteger(seed) && (seed as number) >= 0)) {
      throw new OptionError(`expected a non-negative integer for ${what} seed but got ${describe(seed)}`);
    }
    this.seed = seed as number | undefined;
    this.rng = new Rng(this.seed);
    if (inputShape !== undefined) this.declared = assertImageShape(inputShape, `${what} inputShape`);
  }

  override get declaredInputShape(): number[] | undefined {
    return this.declared && [...this.declared];
  }

  /** The options every augmentation layer's config carries besides its own. */
  protected commonConfig(): { seed?: number; inputShape?: number[] } {
    return { ...(this.seed === undefined ? {} : { seed: this.seed }), ...(this.declared ? { inputShape: [...this.declared] } : {}) };
  }

  override initialize(rng: Rng): void {
    this.rng = this.seed === undefined ? rng.fork() : new Rng(this.seed);
  }

  override setRandomSource(rng: Rng): void {
    this.rng = rng;
  }

  /** The seed fit starts this layer's stream from, when the layer has one. */
  override get randomSeed(): number | undefined {
    return this.seed;
  }

  protected override computeOutputShape(inputShape: number[]): number[] {
    if (inputShape.length !== 3) throw new ShapeError(`${this.constructor.name} expected input [h,w,channels] but got ${formatShape(inputShape)}`);
    return inputShape;
  }

  override forward(input: Tensor, training = false): Tensor {
    if (!(input instanceof Tensor) || input.rank !== 4) {
      throw new ShapeError(`expected [n,h,w,channels] for ${this.constructor.name} input but got ${input instanceof Tensor ? formatShape(input.shape) : describe(input)}`);
    }
    this.lastInputShape = input.shape;
    this.transformed = training;
    if (!training) return input;
    const [n, h, w, c] = input.shape;
    this.draw(n, h, w);
    const out = this.outputSpace.tensor(input.shape);
    this.apply(input.data, out.data, h, w, c, false);
    return out;
  }

  override backward(outputGradient: Tensor, _learningRate?: number): Tensor {
    const shape = this.remembered(this.lastInputShape);
    if (!(outputGradient instanceof Tensor) || !sameShape(outputGradient.shape, shape)) {
      throw new ShapeError(`expected ${formatShape(shape)} for ${this.constructor.name} output gradient but got ${outputGradient instanceof Tensor ? formatShape(outputGradient.shape) : describe(outputGradient)}`);
    }
    if (!this.transformed) return outputGradient;
    const [, h, w, c] = shape;
    const dx = this.inputGradientSpace.tensor(shape);
    this.apply(outputGradient.data, dx.data, h, w, c, true);
    return dx;
  }

  /** Draws each of the n samples' transforms for the next apply calls. */
  protected abstract draw(n: number, h: number, w: number): void;
  /** Writes every sample's transform of `from` into `to` (its adjoint when `inverse`). */
  protected abstract apply(from: Float32Array, to: Float32Array, h: number, w: number, c: number, inverse: boolean): void;
}

/** Mirrors each image left-right and/or upside down at random while training; the identity in predict and evaluate. */
export class RandomFlip extends ImageAugmentation {
  readonly mode: FlipMode;
  /** Per sample: bit 0 flips left-right, bit 1 upside down. */
  private flips: Int32Array = new Int32Array(0);
  private readonly flipSpace = new IndexWorkspace();

  constructor(options: RandomFlipOptions = {}) {
    checkOptions(options, ['mode', 'seed', 'inputShape'], 'RandomFlip options');
    super(options, 'RandomFlip');
    const mode = options.mode ?? 'horizontal_and_vertical';
    if (!FLIP_MODES.includes(mode)) {
      throw new OptionError(`expected one of ${FLIP_MODES.map((m) => `'${m}'`).join(', ')} for RandomFlip mode but got ${describe(mode)}`);
    }
    this.mode = mode;
  }

  override getConfig(): LayerConfig {
    return { type: 'RandomFlip', mode: this.mode, ...this.commonConfig() };
  }

  protected override draw(n: number): void {
    this.flips = this.flipSpace.array(n);
    const horizontal = this.mode !== 'vertical', vertical = this.mode !== 'horizontal';
    for (let b = 0; b < n; b++) {
      const left = horizontal && this.rng.next() < 0.5 ? 1 : 0;
      const up = vertical && this.rng.next() < 0.5 ? 2 : 0;
      this.flips[b] = left | up;
    }
  }

  protected override apply(from: Float32Array, to: Float32Array, h: number, w: number, c: number): void {
    const rowSize = w * c, image = h * rowSize;
    for (let b = 0; b < this.flips.length; b++) {
      const left = (this.flips[b] & 1) !== 0, up = (this.flips[b] & 2) !== 0;
      for (let i = 0; i < h; i++) {
        const source = b * image + (up ? h - 1 - i : i) * rowSize;
        const target = b * image + i * rowSize;
        if (!left) {
          to.set(from.subarray(source, source + rowSize), target);
          continue;
        }
        for (let j = 0; j < w; j++) {
          const s = source + (w - 1 - j) * c;
          to.set(from.subarray(s, s + c), target + j * c);
        }
      }
    }
  }
}

/** Shifts each image by up to `height`·h rows and `width`·w columns at random while training (zeros shifted in); the identity in predict and evaluate. */
export class RandomTranslation extends ImageAugmentation {
  readonly height: number;
  readonly width: number;
  /** Per sample: the row shift and the column shift. */
  private shifts: Int32Array = new Int32Array(0);
  private readonly shiftSpace = new IndexWorkspace();

  constructor(options: RandomTranslationOptions) {
    if (options === null || typeof options !== 'object') {
      throw new OptionError(`expected { height, width } for RandomTranslation options but got ${describe(options)}`);
    }
    checkOptions(options, ['height', 'width', 'fill', 'seed', 'inputShape'], 'RandomTranslation options');
    super(options, 'RandomTranslation');
    for (const key of ['height', 'width'] as const) {
      const v = options[key];
      if (typeof v !== 'number' || !(v >= 0 && v < 1)) {
        throw new OptionError(`expected a fraction in [0, 1) for RandomTranslation ${key} but got ${describe(v)}`);
      }
    }
    if (options.fill !== undefined && options.fill !== 'zeros') {
      throw new OptionError(`expected 'zeros' for RandomTranslation fill but got ${describe(options.fill)} (only zeros are shifted in)`);
    }
    this.height = options.height;
    this.width = options.width;
  }

  override getConfig(): LayerConfig {
    return { type: 'RandomTranslation', height: this.height, width: this.width, fill: 'zeros', ...this.commonConfig() };
  }

  protected override draw(n: number, h: number, w: number): void {
    this.shifts = this.shiftSpace.array(2 * n);
    for (let b = 0; b < n; b++) {
      this.shifts[2 * b] = Math.round(this.rng.uniform(-1, 1) * this.height * h);
      this.shifts[2 * b + 1] = Math.round(this.rng.uniform(-1, 1) * this.width * w);
    }
  }

  protected override apply(from: Float32Array, to: Float32Array, h: number, w: number, c: number, inverse: boolean): void {
    const rowSize = w * c, image = h * rowSize;
    const samples = this.shifts.length / 2;
    to.fill(0, 0, samples * image);
    for (let b = 0; b < samples; b++) {
      const sign = inverse ? -1 : 1;
      const dy = sign * this.shifts[2 * b], dx = sign * this.shifts[2 * b + 1];
      // Output columns [j0, j1) read input columns shifted by dx; both ranges stay inside the image.
      const j0 = Math.max(0, dx), j1 = Math.min(w, w + dx);
      if (j1 <= j0) continue;
      for (let i = Math.max(0, dy); i < Math.min(h, h + dy); i++) {
        const source = b * image + (i - dy) * rowSize + (j0 - dx) * c;
        to.set(from.subarray(source, source + (j1 - j0) * c), b * image + i * rowSize + j0 * c);
      }
    }
  }
}
