// BatchNormalization: each channel (the last axis: a Dense feature, or an
// image channel of an NHWC batch) is normalised by statistics, then scaled and
// shifted by trainable gamma and beta.
//
//   training (fit):  x̂ = (x − μ_B)/√(σ²_B + ε),  y = γ·x̂ + β, with the batch's
//                    mean μ_B and biased variance σ²_B over every other axis;
//                    running ← momentum·running + (1 − momentum)·batch, where
//                    the running variance takes the unbiased batch variance
//                    σ²_B·m/(m − 1) (as PyTorch does; m values per channel).
//   inference:       y = x·scale + shift, scale = γ/√(running var + ε),
//                    shift = β − running mean·scale: one pass.
//   backward:        ∂E/∂β = Σ dy, ∂E/∂γ = Σ dy·x̂,
//                    ∂E/∂x = γ/(m√(σ²_B + ε))·(m·dy − ∂E/∂β − x̂·∂E/∂γ).
//
// Momentum and epsilon follow Keras (defaults 0.99 and 1e-3): PyTorch's
// momentum is 1 − this one. The running statistics are state, not
// parameters: saved, loaded and restored with the weights, never trained.

import { getBackend } from '../backends/index.js';
import { OptionError, ShapeError, StateError } from '../errors.js';
import { checkOptions } from '../options.js';
import { assertPositiveInteger, describe, formatShape, sameShape } from '../shape.js';
import { Tensor } from '../tensor.js';
import { Workspace } from '../workspace.js';
import { Layer, type LayerConfig, type Parameter, type StateTensor } from './layer.js';

/** Options of `new BatchNormalization(options)`: Keras's `momentum` (default 0.99) and `epsilon` (default 1e-3). */
export interface BatchNormalizationOptions {
  /** Weight of the old running statistics in each update (default 0.99, as Keras). */
  momentum?: number;
  /** Added to the variance before the square root (default 1e-3, as Keras). */
  epsilon?: number;
  /** Channels (the input's last axis); known from the first input when not given. */
  features?: number;
}

const OPTION_KEYS = ['momentum', 'epsilon', 'features'] as const;

/** Batch normalisation over the last axis (a Dense feature or an image channel): batch statistics while training, running statistics in predict and evaluate, then a trained scale and shift. */
export class BatchNormalization extends Layer {
  readonly momentum: number;
  readonly epsilon: number;
  private channels?: number;
  private gamma?: Tensor;
  private beta?: Tensor;
  private gammaGrad?: Tensor;
  private betaGrad?: Tensor;
  private runningMean?: Tensor;
  private runningVar?: Tensor;
  // What backward needs from the last training forward.
  private input?: Tensor;
  private trainedOnBatch = false;
  // Per-channel scratch, sized once the channel count is known: the batch
  // statistics backward needs, and inference's folded scale and shift.
  private batchMean?: Float32Array;
  private batchVar?: Float32Array;
  private batchInvStd?: Float32Array;
  private foldedScale?: Float32Array;
  private foldedShift?: Float32Array;
  private readonly outputSpace = new Workspace();
  private readonly inputGradientSpace = new Workspace();
  // Where the kernel writes an input gradient nobody asked for (first layer).
  private readonly discardedGradientSpace = new Workspace();

  constructor(options: BatchNormalizationOptions = {}) {
    super();
    checkOptions(options, OPTION_KEYS, 'BatchNormalization options');
    const { momentum = 0.99, epsilon = 1e-3 } = options;
    if (typeof momentum !== 'number' || !(momentum >= 0 && momentum < 1)) {
      throw new OptionError(`expected a number in [0, 1) for BatchNormalization momentum but got ${describe(momentum)}`);
    }
    if (typeof epsilon !== 'number' || !(epsilon > 0 && Number.isFinite(epsilon))) {
      throw new OptionError(`expected a positive number for BatchNormalization epsilon but got ${describe(epsilon)}`);
    }
    this.momentum = momentum;
    this.epsilon = epsilon;
    if (options.features !== undefined) this.allocate(assertPositiveInteger(options.features, 'BatchNormalization features'));
  }

  override forward(input: Tensor, training = false): Tensor {
    const [rows, cols] = this.rowsAndChannels(input);
    const backend = getBackend();
    const out = this.outputSpace.tensor(input.shape);
    if (!training) {
      // Inference: the running statistics folded into one scale and shift per channel.
      const scale = this.foldedScale!;
      const shift = this.foldedShift!;
      const gamma = this.gamma!.data, beta = this.beta!.data, mean = this.runningMean!.data, variance = this.runningVar!.data;
      for (let c = 0; c < cols; c++) {
        scale[c] = gamma[c] / Math.sqrt(variance[c] + this.epsilon);
        shift[c] = beta[c] - mean[c] * scale[c];
      }
      backend.scaleShift(input.data, scale, shift, out.data, rows, cols);
      this.input = undefined;
      this.trainedOnBatch = false;
      return out;
    }
    if (rows < 2) {
      throw new ShapeError(
        `BatchNormalization needs at least 2 values per channel in training to estimate a variance, but got input ${formatShape(input.shape)} ` +
        '(use a larger batchSize)',
      );
    }
    const mean = this.batchMean!;
    const variance = this.batchVar!;
    backend.batchNormTrainForward(input.data, this.gamma!.data, this.beta!.data, out.data, mean, variance, rows, cols, this.epsilon);
    this.updateRunningStatistics(mean, variance, rows);
    const invStd = this.batchInvStd!;
    for (let c = 0; c < cols; c++) invStd[c] = 1 / Math.sqrt(variance[c] + this.epsilon);
    this.input = input;
    this.trainedOnBatch = true;
    return out;
  }

  override backward(outputGradient: Tensor, learningRate?: number): Tensor {
    const input = this.input;
    if (!input || !this.trainedOnBatch) {
      throw new StateError('BatchNormalization.backward needs a forward pass in training mode first (forward(x, true))');
    }
    if (!(outputGradient instanceof Tensor) || !sameShape(outputGradient.shape, input.shape)) {
      throw new ShapeError(`expected ${formatShape(input.shape)} for BatchNormalization output gradient but got ${outputGradient instanceof Tensor ? formatShape(outputGradient.shape) : describe(outputGradient)}`);
    }
    const cols = this.channels!;
    const rows = input.size / cols;
    const dx = this.inputGradientSpace.tensor(this.inputGradientNeeded ? input.shape : [0]);
    // With no input gradient wanted, the kernel still needs somewhere to put it.
    const target = this.inputGradientNeeded ? dx.data : this.discardedGradientSpace.tensor(input.shape).data;
    getBackend().batchNormBackward(input.data, outputGradient.data, this.batchMean!, this.batchInvStd!, this.gamma!.data,
      target, this.gammaGrad!.data, this.betaGrad!.data, rows, cols);
    this.sgdStep(learningRate);
    return dx;
  }

  override parameters(): Parameter[] {
    if (!this.gamma) return [];
    return [
      { name: 'gamma', value: this.gamma, grad: this.gammaGrad! },
      { name: 'beta', value: this.beta!, grad: this.betaGrad! },
    ];
  }

  override stateTensors(): StateTensor[] {
    if (!this.runningMean) return [];
    return [
      { name: 'runningMean', value: this.runningMean },
      { name: 'runningVar', value: this.runningVar! },
    ];
  }

  override getConfig(): LayerConfig {
    const config: LayerConfig = { type: 'BatchNormalization', momentum: this.momentum, epsilon: this.epsilon };
    if (this.channels !== undefined) config.features = this.channels;
    return config;
  }

  protected override get hasParameters(): boolean {
    return true;
  }

  protected override computeOutputShape(inputShape: number[]): number[] {
    if (inputShape.length < 1) throw new ShapeError(`BatchNormalization expected input [...,channels] but got ${formatShape(inputShape)}`);
    const cols = inputShape[inputShape.length - 1];
    if (this.channels === undefined) this.allocate(assertPositiveInteger(cols, 'BatchNormalization channels'));
    else if (cols !== this.channels) throw new ShapeError(`BatchNormalization expected input [...,${this.channels}] but got ${formatShape(inputShape)}`);
    return inputShape;
  }

  private allocate(channels: number): void {
    this.channels = channels;
    this.gamma = Tensor.zeros([channels]);
    this.gamma.data.fill(1);
    this.beta = Tensor.zeros([channels]);
    this.gammaGrad = Tensor.zeros([channels]);
    this.betaGrad = Tensor.zeros([channels]);
    this.runningMean = Tensor.zeros([channels]);
    this.runningVar = Tensor.zeros([channels]);
    this.runningVar.data.fill(1);
    this.batchMean = new Float32Array(channels);
    this.batchVar = new Float32Array(channels);
    this.batchInvStd = new Float32Array(channels);
    this.foldedScale = new Float32Array(channels);
    this.foldedShift = new Float32Array(channels);
  }

  /** running ← momentum·running + (1 − momentum)·batch, with the unbiased batch variance. */
  private updateRunningStatistics(mean: Float32Array, variance: Float32Array, rows: number): void {
    const m = this.momentum;
    const unbias = rows / (rows - 1);
    const rm = this.runningMean!.data, rv = this.runningVar!.data;
    for (let c = 0; c < mean.length; c++) {
      rm[c] = m * rm[c] + (1 - m) * mean[c];
      rv[c] = m * rv[c] + (1 - m) * variance[c] * unbias;
    }
  }

  private rowsAndChannels(input: Tensor): [number, number] {
    if (!(input instanceof Tensor)) throw new OptionError(`expected a Tensor for BatchNormalization input but got ${describe(input)}`);
    if (input.rank < 2) throw new ShapeError(`expected [n,...,channels] for BatchNormalization input but got ${formatShape(input.shape)}`);
    const cols = input.shape[input.rank - 1];
    if (this.channels === undefined) this.allocate(assertPositiveInteger(cols, 'BatchNormalization channels'));
    if (cols !== this.channels) {
      throw new ShapeError(`expected [*,${this.channels}] for BatchNormalization input but got ${formatShape(input.shape)}`);
    }
    return [input.size / cols, cols];
  }
}
