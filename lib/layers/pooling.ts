// MaxPool2D and AvgPool2D over channels-last batches [n, h, w, c].
//
//   max:  Y = max over each window;  ∂E/∂X = ∂E/∂Y routed to each window's
//         winner (the kernel records it in forward)
//   avg:  Y = mean over each window's in-bounds taps;  ∂E/∂X = ∂E/∂Y shared
//         evenly among those taps
// 'same' padding follows TensorFlow: out = ceil(in / stride), and padding
// never takes part (it neither wins a max nor counts in an average).

import type { PoolGeometry } from '../backends/backend.js';
import { getBackend } from '../backends/index.js';
import { assertPositiveInteger, describe, formatShape, sameShape } from '../shape.js';
import { Tensor } from '../tensor.js';
import { IndexWorkspace, Workspace } from '../workspace.js';
import { Layer, type BackwardFusion, type LayerConfig } from './layer.js';
import { outputAndPad, pair, type Padding } from './conv2d.js';
import { OptionError, ShapeError } from '../errors.js';
import { checkOptions } from '../options.js';

/** Options of `MaxPool2D` and `AvgPool2D`. */
export interface Pool2DOptions {
  /** Window size (default 2). */
  poolSize?: number | [number, number];
  /** Step between windows (default: the pool size). */
  strides?: number | [number, number];
  padding?: Padding;
}

abstract class Pool2D extends Layer {
  protected readonly outputSpace = new Workspace();
  protected readonly inputGradientSpace = new Workspace();
  readonly poolSize: [number, number];
  readonly strides: [number, number];
  readonly padding: Padding;
  protected input?: Tensor;
  protected geometry?: PoolGeometry;

  constructor(options: Pool2DOptions = {}) {
    super();
    if (options === null || typeof options !== 'object') throw new OptionError(`expected pooling options but got ${describe(options)}`);
    checkOptions(options, ['poolSize', 'strides', 'padding'], `${this.constructor.name} options`);
    this.poolSize = pair(options.poolSize ?? 2, `${this.constructor.name} poolSize`);
    this.strides = pair(options.strides ?? this.poolSize, `${this.constructor.name} strides`);
    this.padding = options.padding ?? 'valid';
    if (this.padding !== 'valid' && this.padding !== 'same') {
      throw new OptionError(`expected 'valid' or 'same' for ${this.constructor.name} padding but got ${describe(this.padding)}`);
    }
  }

  override getConfig(): LayerConfig {
    return { type: this.constructor.name, poolSize: this.poolSize, strides: this.strides, padding: this.padding };
  }

  protected override computeOutputShape(inputShape: number[]): number[] {
    if (inputShape.length !== 3) throw new ShapeError(`${this.constructor.name} expected input [h,w,channels] but got ${formatShape(inputShape)}`);
    const [inH, inW, c] = inputShape;
    const [outH] = outputAndPad(inH, this.poolSize[0], this.strides[0], this.padding);
    const [outW] = outputAndPad(inW, this.poolSize[1], this.strides[1], this.padding);
    if (outH < 1 || outW < 1) {
      throw new ShapeError(`${this.constructor.name} input ${formatShape(inputShape)} is smaller than the pool ${formatShape(this.poolSize)}`);
    }
    return [outH, outW, c];
  }

  protected prepare(input: Tensor): PoolGeometry {
    if (!(input instanceof Tensor) || input.rank !== 4) {
      throw new ShapeError(`expected [n,h,w,channels] for ${this.constructor.name} input but got ${input instanceof Tensor ? formatShape(input.shape) : describe(input)}`);
    }
    const [n, inH, inW, c] = input.shape;
    // fit's batches keep one size: the last geometry (only ever read) serves again.
    const known = this.geometry;
    if (known !== undefined && known.n === n && known.inH === inH && known.inW === inW && known.c === c) {
      this.input = input;
      return known;
    }
    const [poolH, poolW] = this.poolSize;
    const [strideH, strideW] = this.strides;
    const [outH, padTop] = outputAndPad(inH, poolH, strideH, this.padding);
    const [outW, padLeft] = outputAndPad(inW, poolW, strideW, this.padding);
    if (outH < 1 || outW < 1) {
      throw new ShapeError(`${this.constructor.name} input ${formatShape(input.shape)} is smaller than the pool ${formatShape(this.poolSize)}`);
    }
    this.input = input;
    this.geometry = { n, inH, inW, c, poolH, poolW, strideH, strideW, padTop, padLeft, outH, outW };
    return this.geometry;
  }

  protected checkGradient(outputGradient: Tensor): PoolGeometry {
    this.remembered(this.input);
    const g = this.geometry!;
    const expected = [g.n, g.outH, g.outW, g.c];
    if (!(outputGradient instanceof Tensor) || !sameShape(outputGradient.shape, expected)) {
      throw new ShapeError(`expected ${formatShape(expected)} for ${this.constructor.name} output gradient but got ${outputGradient instanceof Tensor ? formatShape(outputGradient.shape) : describe(outputGradient)}`);
    }
    return g;
  }
}

/** Max pooling over `poolSize` windows of channels-last images `[n, h, w, c]`. */
export class MaxPool2D extends Pool2D {
  /** Each output's winner, recorded by a training forward pass (undefined after an inference pass). */
  private argmax?: Int32Array;
  private output?: Tensor;
  private readonly argmaxSpace = new IndexWorkspace();
  private readonly throughSpace = new Workspace();
  private fusion?: BackwardFusion;

  /**
   * Only a training pass records the winners: at inference nothing reads
   * them, and recording them cost the npm-start CNN's predict 12%.
   */
  override forward(input: Tensor, training?: boolean): Tensor {
    const g = this.prepare(input);
    const y = this.outputSpace.tensor([g.n, g.outH, g.outW, g.c]);
    if (training === true) {
      this.argmax = this.argmaxSpace.array(y.size);
      getBackend().maxPool2dForward(input.data, y.data, this.argmax, g);
    } else {
      this.argmax = undefined;
      getBackend().maxPool2dValues(input.data, y.data, g);
    }
    this.output = y;
    return y;
  }

  /**
   * Takes over the previous layer's activation (and bias gradient): each
   * winner's input is that activation's output, and equals the pool's own
   * output, so f' is applied over the pooled tensor instead of the whole
   * input, and the bias gradient is summed over it too.
   */
  override acceptFusion(fusion: BackwardFusion | undefined): boolean {
    this.fusion = fusion;
    return fusion !== undefined;
  }

  override backward(outputGradient: Tensor, _learningRate?: number): Tensor {
    const g = this.checkGradient(outputGradient);
    if (this.argmax === undefined) {
      // backward after an inference pass (the tutorial's forwardPropagation
      // loop): find the winners now; the maxima written again are the same.
      this.argmax = this.argmaxSpace.array(g.n * g.outH * g.outW * g.c);
      getBackend().maxPool2dForward(this.input!.data, this.outputSpace.tensor([g.n, g.outH, g.outW, g.c]).data, this.argmax, g);
    }
    const dx = this.inputGradientSpace.tensor(this.input!.shape);
    const fusion = this.fusion;
    if (fusion?.takesPooled?.(g)) {
      // The layer before takes its filter gradient from the winners: only the
      // gradient at them is computed here (through its activation, summed
      // into its bias gradient), and dx stays unwritten.
      const { kind, alpha } = fusion.activation;
      const backend = getBackend();
      const through = this.throughSpace.tensor(outputGradient.shape);
      backend.activationBackward(kind, this.output!.data, this.output!.data, outputGradient.data, through.data, alpha);
      if (fusion.biasGradient) backend.sumRows(through.data, fusion.biasGradient, g.n * g.outH * g.outW, g.c, false);
      fusion.pooled = { gradient: through.data, argmax: this.argmax, geometry: g };
      fusion.pending = dx;
      return dx;
    }
    if (fusion) {
      const { kind, alpha } = fusion.activation;
      getBackend().maxPool2dBackwardActivation(outputGradient.data, this.argmax, this.output!.data, dx.data, g, kind, alpha, fusion.biasGradient);
      fusion.pending = dx;
    } else {
      getBackend().maxPool2dBackward(outputGradient.data, this.argmax, dx.data, g);
    }
    return dx;
  }
}

/** Average pooling over `poolSize` windows of channels-last images `[n, h, w, c]`. */
export class AvgPool2D extends Pool2D {
  override forward(input: Tensor): Tensor {
    const g = this.prepare(input);
    const y = this.outputSpace.tensor([g.n, g.outH, g.outW, g.c]);
    getBackend().avgPool2dForward(input.data, y.data, g);
    return y;
  }

  override backward(outputGradient: Tensor, _learningRate?: number): Tensor {
    const g = this.checkGradient(outputGradient);
    const dx = this.inputGradientSpace.tensor(this.input!.shape);
    getBackend().avgPool2dBackward(outputGradient.data, dx.data, g);
    return dx;
  }
}
