// GlobalAveragePooling2D and GlobalMaxPooling2D: each channel of each image of
// a channels-last batch [n, h, w, c] reduced to one value, giving [n, c]
// (Keras' layers of the same names, with keepdims false).
//
//   average:  Y[b,ch] = Σ_{i,j} X[b,i,j,ch] / (h·w);  ∂E/∂X[b,i,j,ch] = ∂E/∂Y[b,ch] / (h·w)
//   max:      Y[b,ch] = max_{i,j} X[b,i,j,ch];  ∂E/∂X = ∂E/∂Y at the winning pixel
//             (recorded in forward), 0 elsewhere
//
// Both are backend kernels (global_pool.h), so the native and JS backends
// agree to the last bit on the average's sum order and on max ties.

import { getBackend } from '../backends/index.js';
import { ShapeError } from '../errors.js';
import { checkOptions } from '../options.js';
import { assertImageShape, describe, formatShape, sameShape } from '../shape.js';
import { Tensor } from '../tensor.js';
import { IndexWorkspace, Workspace } from '../workspace.js';
import { Layer, type LayerConfig } from './layer.js';

/** Options of `GlobalAveragePooling2D` and `GlobalMaxPooling2D`. */
export interface GlobalPooling2DOptions {
  /** The shape of one sample, [h, w, channels], for a first layer. */
  inputShape?: [number, number, number];
}

interface Sizes {
  n: number;
  pixels: number;
  c: number;
}

abstract class GlobalPooling2D extends Layer {
  protected readonly outputSpace = new Workspace();
  protected readonly inputGradientSpace = new Workspace();
  protected input?: Tensor;
  private readonly declared?: number[];

  constructor(options: GlobalPooling2DOptions = {}) {
    super();
    const what = `${new.target.name} options`;
    checkOptions(options, ['inputShape'], what);
    if (options.inputShape !== undefined) this.declared = assertImageShape(options.inputShape, `${new.target.name} inputShape`);
  }

  override get declaredInputShape(): number[] | undefined {
    return this.declared && [...this.declared];
  }

  override getConfig(): LayerConfig {
    return this.declared ? { type: this.constructor.name, inputShape: [...this.declared] } : { type: this.constructor.name };
  }

  protected override computeOutputShape(inputShape: number[]): number[] {
    if (inputShape.length !== 3) throw new ShapeError(`${this.constructor.name} expected input [h,w,channels] but got ${formatShape(inputShape)}`);
    return [inputShape[2]];
  }

  protected prepare(input: Tensor): Sizes {
    if (!(input instanceof Tensor) || input.rank !== 4) {
      throw new ShapeError(`expected [n,h,w,channels] for ${this.constructor.name} input but got ${input instanceof Tensor ? formatShape(input.shape) : describe(input)}`);
    }
    this.input = input;
    const [n, h, w, c] = input.shape;
    return { n, pixels: h * w, c };
  }

  protected checkGradient(outputGradient: Tensor): Sizes {
    const input = this.remembered(this.input);
    const [n, h, w, c] = input.shape;
    if (!(outputGradient instanceof Tensor) || !sameShape(outputGradient.shape, [n, c])) {
      throw new ShapeError(`expected ${formatShape([n, c])} for ${this.constructor.name} output gradient but got ${outputGradient instanceof Tensor ? formatShape(outputGradient.shape) : describe(outputGradient)}`);
    }
    return { n, pixels: h * w, c };
  }
}

/** The mean of each channel over the image: `[n, h, w, c]` → `[n, c]`. */
export class GlobalAveragePooling2D extends GlobalPooling2D {
  override forward(input: Tensor): Tensor {
    const { n, pixels, c } = this.prepare(input);
    const y = this.outputSpace.tensor([n, c]);
    getBackend().globalAvgPoolForward(input.data, y.data, n, pixels, c);
    return y;
  }

  override backward(outputGradient: Tensor, _learningRate?: number): Tensor {
    const { n, pixels, c } = this.checkGradient(outputGradient);
    const dx = this.inputGradientSpace.tensor(this.input!.shape);
    getBackend().globalAvgPoolBackward(outputGradient.data, dx.data, n, pixels, c);
    return dx;
  }
}

/** The maximum of each channel over the image: `[n, h, w, c]` → `[n, c]`. */
export class GlobalMaxPooling2D extends GlobalPooling2D {
  private readonly argmaxSpace = new IndexWorkspace();
  private argmax?: Int32Array;

  override forward(input: Tensor): Tensor {
    const { n, pixels, c } = this.prepare(input);
    const y = this.outputSpace.tensor([n, c]);
    this.argmax = this.argmaxSpace.array(n * c);
    getBackend().globalMaxPoolForward(input.data, y.data, this.argmax, n, pixels, c);
    return y;
  }

  override backward(outputGradient: Tensor, _learningRate?: number): Tensor {
    const { n, pixels, c } = this.checkGradient(outputGradient);
    const dx = this.inputGradientSpace.tensor(this.input!.shape);
    getBackend().globalMaxPoolBackward(outputGradient.data, this.argmax!, dx.data, n, pixels, c);
    return dx;
  }
}
