// Network: a chain of layers trained by backpropagation. forward runs the
// layers in order; backward hands each layer ∂E/∂Y of its output and passes
// the returned ∂E/∂X to the layer before it. An optimizer then updates every
// parameter from the gradients the layers left behind.

import { getBackend, nativeInfo } from './backends/index.js';
import type { BatchLogs, Callback, EpochLogs, History, TrainingContext } from './callbacks.js';
import { Activation } from './layers/activation.js';
import { Dense } from './layers/dense.js';
import { BackwardFusion, Layer, type Parameter, type StateTensor } from './layers/layer.js';
import { buildChain, buildLayer, summarize, type NetworkSummary } from './summary.js';
import { getLoss, type Loss, type LossName } from './losses.js';
import { chooseMetrics, countCorrect, countPredictions, MetricTotals, validationName, type ExtraMetric, type MetricName, type MetricValues } from './metrics.js';
import { Normalization, type StandardScaler, type MinMaxScaler } from './preprocessing.js';
import { splitProblems } from './splits.js';
import type { CsvFeature } from './data/csv.js';
import { isSchedule } from './schedules.js';
import { gatherWeights, sampleWeightsFor, scaleRows, weightedLoss, type WeightOptions } from './weighting.js';
import { getOptimizer, type LearningRate, type Optimizer, type OptimizerSpec, type OptimizerState } from './optimizers.js';
import { Rng, randomSeed, type RngState } from './random.js';
import {
  loadNetwork, networkFromBuffer, networkToBuffer, networkToSpec, saveNetwork, type LoadOptions, type NetworkSpec, type SaveOptions,
} from './serialize.js';
import { networkToOnnx, type OnnxExportOptions } from './onnx/export.js';
import { networkFromOnnx, type OnnxImportOptions } from './onnx/import.js';
import { assertPositiveInteger, describe, formatShape, sizeOf } from './shape.js';
import { Tensor, toTensor, type TensorLike } from './tensor.js';
import { BusyError, DataError, DivergedError, OptionError, ShapeError, StateError, nonFiniteError } from './errors.js';
import { checkOptions } from './options.js';
import { endReadsOf, Workspace } from './workspace.js';

/** Options of `new Network(options)`. */
export interface NetworkOptions {
  /** Seeds weight initialisation, and by default shuffling and dropout in fit. */
  seed?: number;
}

/** Options of `network.fit`. */
export interface FitOptions {
  epochs: number;
  /** Samples per gradient step (default 32); 1 is the from-scratch per-sample loop. */
  batchSize?: number;
  /** 'sgd' (default), 'adam', 'rmsprop', a config such as { name: 'sgd', momentum: 0.9 }, or an Optimizer. */
  optimizer?: OptimizerSpec;
  /** Sets the optimizer's learning rate: a number, or a schedule (exponentialDecay, stepDecay, cosineDecay). */
  learningRate?: LearningRate;
  /** Class id → loss weight (classes left out weigh 1); see lib/weighting.ts. */
  classWeight?: WeightOptions['classWeight'];
  /** One loss weight per training sample (before validationSplit takes its share). */
  sampleWeight?: WeightOptions['sampleWeight'];
  /** A loss name or object; default the one given to use(). */
  loss?: LossName | Loss;
  /** Report accuracy (default: on for the cross-entropies, off otherwise). */
  metrics?: MetricName[];
  /** Visit the samples in a new seeded order every epoch (default true). */
  shuffle?: boolean;
  /** Hold out this fraction of the samples (the last ones, before shuffling) for validation. */
  validationSplit?: number;
  validationData?: [TensorLike, TensorLike];
  /** Seeds shuffling and dropout (default: the network's seed). */
  seed?: number;
  callbacks?: Callback[];
  onEpochEnd?: Callback['onEpochEnd'];
  onBatchEnd?: Callback['onBatchEnd'];
  /** Print one line per epoch. */
  verbose?: boolean;
  /** Stops training after the current batch; the history then carries `interrupted`, a state to resume from. */
  signal?: AbortSignal;
  /** Continues an interrupted fit exactly where it stopped (same data and options). */
  resume?: TrainingState;
}

/**
 * Where an interrupted fit stood: enough, with the weights and optimizer
 * state saved beside it, to finish with the same result as an uninterrupted run.
 */
export interface TrainingState {
  /** The epoch in progress (from 1) and how many of its batches are done. */
  epoch: number;
  batch: number;
  /** That epoch's sample order. */
  order: number[];
  shuffleRng: RngState;
  layerRngs: RngState[];
  totals: TotalsState;
  history: History;
}

interface TotalsState {
  lossSum: number;
  samples: number;
  correct: number;
  predictions: number;
  /** The extra metrics' running sums (MetricTotals.state()). */
  metrics?: number[];
}

/** Options of `network.evaluate` and `evaluateAsync`. */
export interface EvaluateOptions {
  batchSize?: number;
  loss?: LossName | Loss;
  /** Default: accuracy for classification losses; mae, rmse and r2 for mse (never an accuracy unless asked). */
  metrics?: MetricName[];
}

/** What `evaluate` returns: the mean loss, and the accuracy or the other metrics that fit the loss. */
export interface Evaluation extends MetricValues {
  loss: number;
  accuracy?: number;
}

type OptionKeys<T> = { [K in keyof Required<T>]: true };
/** Every fit option, keyed by FitOptions so a new option is a compile error until it is listed. */
const FIT_OPTION_KEYS = Object.keys({
  epochs: true, batchSize: true, optimizer: true, learningRate: true, loss: true, metrics: true, shuffle: true,
  validationSplit: true, validationData: true, seed: true, callbacks: true, onEpochEnd: true, onBatchEnd: true,
  verbose: true, signal: true, resume: true, classWeight: true, sampleWeight: true,
} satisfies OptionKeys<FitOptions>);
const EVALUATE_OPTION_KEYS = Object.keys({ batchSize: true, loss: true, metrics: true } satisfies OptionKeys<EvaluateOptions>);

type LossFn = (yTrue: Tensor, yPred: Tensor) => number;
type LossPrimeFn = (yTrue: Tensor, yPred: Tensor) => Tensor;

/** Longest stretch fit computes before letting the event loop run. */
const YIELD_EVERY_MS = 10;
/**
 * Batches between rollback points. A point copies every weight and optimizer
 * slot; one every 64 batches costs well under 1% of training, and a
 * divergence replays at most 128 batches to reach the last finite state.
 */
const SNAPSHOT_EVERY = 64;

interface Snapshot {
  batch: number;
  weights: Float32Array[];
  optimizer: OptimizerState;
  layerRngs: RngState[];
  totals: TotalsState;
}

/** Runs a batch-by-batch computation straight through. */
function runToEnd<T>(steps: Generator<void, T>): T {
  let step = steps.next();
  while (!step.done) step = steps.next();
  return step.value;
}

/** Runs a batch-by-batch computation, letting the event loop run between batches when due. */
async function runYielding<T>(steps: Generator<void, T>): Promise<T> {
  let step = steps.next();
  while (!step.done) {
    await yieldIfDue();
    step = steps.next();
  }
  return step.value;
}

/** Lets timers and I/O run when YIELD_EVERY_MS have passed since the last turn (module-wide, see lastYield). */
async function yieldIfDue(): Promise<void> {
  if (yieldDue()) await yieldNow();
}

/** Whether the event loop is owed a turn; fit checks this every batch without an await when it is not. */
function yieldDue(): boolean {
  return performance.now() - lastYield >= YIELD_EVERY_MS;
}

async function yieldNow(): Promise<void> {
  await new Promise<void>((resolve) => setImmediate(resolve));
  lastYield = performance.now();
}
/**
 * When training last let the event loop run. Module-wide rather than per fit
 * call: many short fits awaited back to back resolve through microtasks only,
 * and would otherwise never give timers and I/O a turn.
 */
let lastYield = 0;

/** A stack of layers with a loss: `add` layers, `use` a loss, then `fit`, `predict`, `evaluate`, `save` and `Network.load`. */
export class Network {
  readonly layers: Layer[] = [];
  readonly seed: number;
  /** Names of the class ids the network predicts (from loadCsv's classNames); saved with the model. */
  classNames?: string[];
  /** Name of the target column, for a regression's output (saved with the model). */
  targetName?: string;
  /** How a CSV's feature columns were encoded for this network (loadCsv's features); saved with the model. */
  csvFeatures?: CsvFeature[];
  private loss?: Loss;
  private readonly rng: Rng;
  private fitting = false;
  /** Whether every layer has been built (from an inputShape or a first batch). */
  private shapesKnown = false;
  /** predict's default plan (predictPlan) and the layer count it was worked out for. */
  private chunkFor?: { layers: number } & PredictPlan;
  /** The narrow layers' input in predict, gathered from several chunks (see PredictPlan). */
  private readonly stagingSpace = new Workspace();
  /** fit's folded SGD step (Layer.foldedSgd), also the owner of the weight gradients it defers. */
  private readonly fold = { rate: 0, writeGradient: false };

  constructor(options: NetworkOptions = {}) {
    checkOptions(options, ['seed'], 'Network options');
    if (options.seed !== undefined && !Number.isInteger(options.seed)) {
      throw new OptionError(`expected an integer seed but got ${describe(options.seed)}`);
    }
    this.seed = options.seed ?? randomSeed();
    this.rng = new Rng(this.seed);
  }

  /**
   * Appends a layer and initialises its parameters from the network's seed.
   * When the shape coming in is known (the first layer's inputShape, or the
   * output of the layer before), the layer is built now, and a mismatch
   * throws a ShapeError naming its index and type.
   */
  add(layer: Layer): this {
    if (!(layer instanceof Layer)) throw new OptionError(`expected a Layer for add but got ${describe(layer)}`);
    layer.initialize(this.rng.fork());
    const index = this.layers.length;
    const incoming = index === 0 ? layer.declaredInputShape : this.layers[index - 1].outputShape;
    if (incoming) buildLayer(layer, index, incoming);
    this.layers.push(layer);
    this.shapesKnown = incoming !== undefined;
    return this;
  }

  /**
   * Puts a fitted scaler (as a Normalization layer), or a Normalization layer,
   * in front of the network, replacing one put there before: fit, predict,
   * evaluate, the CLI and a saved model then all apply it to raw features.
   */
  setPreprocessing(preprocessing: StandardScaler | MinMaxScaler | Normalization): this {
    if (this.fitting) throw new BusyError('this network is training: set its preprocessing before fit or after it ends');
    const layer = preprocessing instanceof Normalization ? preprocessing : preprocessing?.toLayer?.();
    if (!(layer instanceof Normalization)) throw new OptionError(`expected a fitted StandardScaler, MinMaxScaler or a Normalization layer but got ${describe(preprocessing)}`);
    if (this.layers[0] instanceof Normalization) this.layers[0] = layer;
    else this.layers.unshift(layer);
    const next = this.layers[1]?.inputShape;
    if (next) buildLayer(layer, 0, next);
    return this;
  }

  /** The Normalization layer in front of the network, if any. */
  get preprocessing(): Normalization | undefined {
    return this.layers[0] instanceof Normalization ? this.layers[0] : undefined;
  }

  /** Layer types, output shapes and parameter counts (see NetworkSummary); needs every shape known. */
  summary(): NetworkSummary {
    return summarize(this.layers);
  }

  /** Builds every layer for samples of `inputShape` (no sample dimension), naming the first layer that cannot take its input. */
  build(inputShape: readonly number[]): number[] {
    const out = buildChain(this.layers, inputShape);
    this.shapesKnown = true;
    this.chunkFor = undefined;
    return out;
  }

  /** Sets the loss: a Loss, a loss name, or the from-scratch pair use(mse, msePrime). */
  use(loss: Loss | LossName | LossFn, lossPrime?: LossPrimeFn): this {
    if (typeof lossPrime === 'function') {
      const value = loss as LossFn;
      const known = getKnownLoss(value);
      this.loss = known ?? { name: value.name || 'custom', value: (t, p) => value(t, p), gradient: (t, p) => lossPrime(t, p) };
    } else {
      this.loss = getLoss(loss as Loss | LossName);
    }
    return this;
  }

  /** Runs every layer forward on a batch [n, ...]; `training` is passed to each layer for this call only. */
  forward(input: Tensor, training = false): Tensor {
    // A layer may keep its output in memory no Workspace owns (a custom
    // layer's own array): gradients still deferred are computed before it changes.
    endReadsOf(this.fold, true);
    if (!this.shapesKnown && input instanceof Tensor && input.rank >= 1) this.build(input.shape.slice(1));
    let out = input;
    for (const layer of this.layers) out = layer.forward(out, training);
    return out;
  }

  /**
   * Backpropagates ∂E/∂Y from layer `from` (default the last) down to the
   * first; with a learning rate each layer also takes a plain SGD step.
   */
  backward(outputGradient: Tensor, learningRate?: number, from = this.layers.length - 1): Tensor {
    endReadsOf(this.fold, true);
    let grad = outputGradient;
    for (let i = from; i >= 0; i--) grad = this.layers[i].backward(grad, learningRate);
    return grad;
  }

  /** The name of the loss set with use(), if any. */
  lossName(): string | undefined {
    return this.loss?.name;
  }

  /** Saves topology and weights to `dir` atomically (see serialize.ts); optionally the optimizer's state. */
  save(dir: string, options?: SaveOptions): Promise<void> {
    return saveNetwork(this, dir, options);
  }

  /** Loads a network saved with save(); throws a clear error for a damaged or mismatched file. */
  static async load(dir: string, options?: LoadOptions): Promise<Network> {
    return (await loadNetwork(dir, options)).network;
  }

  /** The spec networkFromSpec (and trainInWorker) rebuild this network's topology from. */
  toSpec(): NetworkSpec {
    return networkToSpec(this);
  }

  /** Topology and weights (optionally an optimizer's state) as one buffer: the model directory's content and checks, in memory. */
  toBuffer(options?: { optimizer?: Optimizer }): Buffer {
    return networkToBuffer(this, options);
  }

  /** Reads a toBuffer() buffer; throws a ModelFileError for a damaged or foreign one. */
  static fromBuffer(buffer: Uint8Array, options?: LoadOptions): Network {
    return networkFromBuffer(buffer, options).network;
  }

  /** The network as an ONNX model (opset 13, input in layerwise's layout, dynamic batch); see lib/onnx/export.ts. */
  toOnnx(options?: OnnxExportOptions): Uint8Array {
    return networkToOnnx(this, options);
  }

  /** A network from an ONNX model in the supported operator subset (NCHW models take [n,h,w,c] input); see lib/onnx/import.ts. */
  static fromOnnx(bytes: Uint8Array, options?: OnnxImportOptions): Network {
    return networkFromOnnx(bytes, options);
  }

  parameters(): Parameter[] {
    return this.layers.flatMap((l) => l.parameters());
  }

  /** Parameters of layers not frozen with `trainable = false`: what the optimizer updates. */
  trainableParameters(): Parameter[] {
    return this.layers.flatMap((l) => (l.trainable ? l.parameters() : []));
  }

  /** Non-trainable state of every layer (BatchNormalization's running statistics), in layer order. */
  stateTensors(): StateTensor[] {
    return this.layers.flatMap((l) => l.stateTensors());
  }

  /**
   * Copies of every parameter, in layer order, then of every state tensor
   * (running statistics). Given `into`, arrays from an earlier call, it copies
   * into those that still fit and allocates only the others, so taking the
   * same snapshot every epoch costs no allocation.
   */
  getWeights(into?: Float32Array[]): Float32Array[] {
    return this.weightTensors().map((t, i) => {
      const reuse = into?.[i];
      if (reuse instanceof Float32Array && reuse.length === t.size) {
        reuse.set(t.data);
        return reuse;
      }
      return t.data.slice();
    });
  }

  /** Overwrites every parameter and state tensor from getWeights()-shaped arrays. */
  setWeights(weights: Float32Array[]): void {
    const targets = this.weightTensors();
    const names = [...this.parameters().map((p) => p.name), ...this.stateTensors().map((t) => t.name)];
    if (!Array.isArray(weights) || weights.length !== targets.length) {
      throw new ShapeError(`expected ${targets.length} weight arrays but got ${Array.isArray(weights) ? weights.length : describe(weights)}`);
    }
    targets.forEach((t, i) => {
      if (!(weights[i] instanceof Float32Array) || weights[i].length !== t.size) {
        throw new ShapeError(`expected ${t.size} values for ${names[i]} (${formatShape(t.shape)}) but got ${weights[i] instanceof Float32Array ? weights[i].length : describe(weights[i])}`);
      }
    });
    targets.forEach((t, i) => t.data.set(weights[i]));
  }

  private weightTensors(): Tensor[] {
    return [...this.parameters().map((p) => p.value), ...this.stateTensors().map((t) => t.value)];
  }

  /** Outputs for samples x [n, ...], computed in chunks with training off (by default chunks whose largest layer output fits L2; see predictPlan). */
  predict(xIn: TensorLike, options: { batchSize?: number } = {}): Tensor {
    return runToEnd(this.predictionSteps(xIn, options));
  }

  /** Loss (and accuracy where it applies) over a whole data set, training off. */
  evaluate(xIn: TensorLike, yIn: TensorLike, options: EvaluateOptions = {}): Evaluation {
    return runToEnd(this.evaluationSteps(xIn, yIn, options));
  }

  /**
   * evaluate() that lets the event loop run between chunks (at least every
   * 10 ms), for servers that evaluate large sets without workers.
   */
  evaluateAsync(xIn: TensorLike, yIn: TensorLike, options: EvaluateOptions = {}): Promise<Evaluation> {
    return runYielding(this.evaluationSteps(xIn, yIn, options));
  }

  /** predict() that lets the event loop run between chunks (at least every 10 ms). */
  predictAsync(xIn: TensorLike, options: { batchSize?: number } = {}): Promise<Tensor> {
    return runYielding(this.predictionSteps(xIn, options));
  }

  /** predict's work, one batch per step, so the sync and async forms share it. */
  private *predictionSteps(xIn: TensorLike, options: { batchSize?: number }): Generator<void, Tensor> {
    checkOptions(options, ['batchSize'], 'predict options');
    this.requireLayers();
    const x = toTensor(xIn, 'predict input');
    if (options.batchSize !== undefined) assertPositiveInteger(options.batchSize, 'batchSize');
    // A first Dense layer checks its products (Dense.inputVouchedFinite): the
    // input is scanned only when one was not finite, after the chunk, instead
    // of before every call (up to 4% of an MLP's batch-1000 predict).
    const first = this.denseScreensInput(x) ? (this.layers[0] as Dense) : undefined;
    if (!first) yield* rejectNonFinite(x, 'predict input');
    let unscanned = first !== undefined;
    const samples = x.rank === 0 ? 0 : x.shape[0];
    const layers = this.layers.length;
    const plan: PredictPlan = options.batchSize === undefined
      ? this.predictPlan(x)
      : { rows: options.batchSize, split: layers, tailRows: options.batchSize };
    // Layers return their reused workspaces, so each batch's output is copied
    // once into the result the caller keeps (a later predict cannot change it).
    if (samples <= plan.rows) {
      const whole = this.forward(x).clone();
      if (unscanned && first!.inputVouchedFinite !== true) yield* rejectNonFinite(x, 'predict input');
      return whole;
    }
    let result: Tensor | undefined;
    for (let tailStart = 0; tailStart < samples; tailStart += plan.tailRows) {
      const tailEnd = Math.min(tailStart + plan.tailRows, samples);
      let staged: Tensor | undefined;
      for (let start = tailStart; start < tailEnd; start += plan.rows) {
        const end = Math.min(start + plan.rows, tailEnd);
        const out = this.forwardLayers(x.view(start, end), 0, plan.split);
        if (plan.split < layers) {
          staged ??= this.stagingSpace.tensor([tailEnd - tailStart, ...out.shape.slice(1)]);
          staged.data.set(out.data, (start - tailStart) * (out.size / (end - start)));
        } else {
          result ??= Tensor.zeros([samples, ...out.shape.slice(1)]);
          result.data.set(out.data, start * (out.size / (end - start)));
        }
        if (unscanned && first!.inputVouchedFinite !== true) {
          unscanned = false;
          yield* rejectNonFinite(x, 'predict input');
        }
        if (end < samples) yield;
      }
      if (staged === undefined) continue;
      const out = this.forwardLayers(staged, plan.split, layers);
      result ??= Tensor.zeros([samples, ...out.shape.slice(1)]);
      result.data.set(out.data, tailStart * (out.size / (tailEnd - tailStart)));
    }
    return result!;
  }

  /**
   * Whether predict may leave the non-finite check of x to the first layer:
   * a Dense already built for x's sample shape (so its forward cannot throw
   * a ShapeError before the scan's DataError), whose products report
   * whether every value came out finite.
   */
  private denseScreensInput(x: Tensor): boolean {
    const first = this.layers[0];
    if (!(first instanceof Dense) || x.rank < 2 || x.size === 0) return false;
    const built = first.inputShape;
    if (built === undefined || built.length !== x.rank - 1) return false;
    for (let i = 0; i < built.length; i++) if (built[i] !== x.shape[i + 1]) return false;
    return true;
  }

  /** Layers [from, to) on input, training off. */
  private forwardLayers(input: Tensor, from: number, to: number): Tensor {
    let out = input;
    for (let i = from; i < to; i++) out = this.layers[i].forward(out, false);
    return out;
  }

  /**
   * predict's default chunk: as many samples as keep the largest layer output
   * of a chunk within one core's L2 cache, so each layer reads what the one
   * before it wrote while it is still cached, and the workspaces each layer
   * keeps stay that size. A fixed count fits no network: 256 MLP rows are
   * 128 KiB, 256 images of a 16-filter 28×28 conv are 13 MiB.
   *
   * The narrow layers at the end (a CNN's dense head) run on chunks at least
   * TAIL_FACTOR times larger, gathered from the wide layers' chunks: each
   * product reads its whole weight matrix (800 KB for the npm-start CNN's
   * 1568→128) and repacks it per call, which on the wide layers' 20-image
   * chunks was 6% of the CNN's batch-1000 predict (perf).
   */
  private predictPlan(x: Tensor): PredictPlan {
    if (!this.shapesKnown && x.rank >= 1) this.build(x.shape.slice(1));
    if (this.chunkFor?.layers !== this.layers.length) {
      const rowsFor = (width: number) => Math.max(1, Math.floor(l2CacheBytes() / (4 * Math.max(width, 1))));
      const widths: number[] = [];
      for (const layer of this.layers) {
        const out = layer.outputShape;
        if (out === undefined) return { rows: DEFAULT_PREDICT_BATCH, split: this.layers.length, tailRows: DEFAULT_PREDICT_BATCH };
        widths.push(sizeOf(out));
      }
      const rows = rowsFor(Math.max(0, ...widths));
      let plan: PredictPlan = { rows, split: this.layers.length, tailRows: rows };
      // The first split whose tail (its input included) takes chunks TAIL_FACTOR times larger.
      for (let split = 1; split < this.layers.length; split++) {
        const tailRows = rowsFor(Math.max(...widths.slice(split - 1)));
        if (tailRows >= TAIL_FACTOR * rows) {
          plan = { rows, split, tailRows: Math.floor(tailRows / rows) * rows };
          break;
        }
      }
      this.chunkFor = { layers: this.layers.length, ...plan };
    }
    return this.chunkFor;
  }

  /** evaluate's work, one batch per step, so the sync and async forms share it. */
  private *evaluationSteps(xIn: TensorLike, yIn: TensorLike, options: EvaluateOptions): Generator<void, Evaluation> {
    checkOptions(options, EVALUATE_OPTION_KEYS, 'evaluate options');
    this.requireLayers();
    const loss = options.loss !== undefined ? getLoss(options.loss) : this.requireLoss();
    const x = toTensor(xIn, 'x');
    const y = asTargets(toTensor(yIn, 'y'), loss);
    checkSamples(x, y);
    yield* rejectNonFinite(x, 'evaluate x');
    yield* rejectNonFinite(y, 'evaluate y');
    const batchSize = assertPositiveInteger(options.batchSize ?? 256, 'batchSize');
    const chosen = chooseMetrics(options.metrics, loss, 'evaluate');
    const totals = new Totals(chosen.accuracy ? loss.accuracy : undefined, undefined, chosen.extra);
    const samples = x.shape[0];
    for (let start = 0; start < samples; start += batchSize) {
      const end = Math.min(start + batchSize, samples);
      const yb = y.view(start, end);
      const out = this.forward(x.view(start, end));
      totals.add(loss.value(yb, out), end - start, yb, out);
      if (end < samples) yield;
    }
    return totals.result(true);
  }

  /**
   * Trains on (x, y) and returns the per-epoch history.
   *
   * One fit at a time: a second fit on a network that is training rejects at
   * once with a BusyError (E_BUSY). `predict`, `evaluate`, their async forms
   * and `save` may be called while a fit runs (from a callback, a timer or a
   * request handler): fit yields to the event loop only between batches, so
   * they always see the weights as they stand between two batches, never a
   * half-applied step.
   *
   * When a batch's loss is not finite (or a weight is not finite at an
   * epoch's end), fit puts back the weights and optimizer state that the last
   * finite-loss batch was computed with (at most back to the epoch's start)
   * and rejects with a DivergedError carrying the epoch, the batch and that
   * state.
   */
  fit(xIn: TensorLike, yIn: TensorLike, options: FitOptions): Promise<History> {
    if (this.fitting) return Promise.reject(new BusyError('this network is already training: a second fit cannot start until the first one ends'));
    this.fitting = true;
    return this.runFit(xIn, yIn, options).finally(() => {
      this.fitting = false;
      // The last step's deferred gradients, if any, computed now: nothing
      // else would release them (they are the weight gradients left after fit).
      endReadsOf(this.fold, true);
      this.setTraining(false);
      this.linkBackwardFusion(false);
    });
  }

  /** Whether a fit is running on this network. */
  get isTraining(): boolean {
    return this.fitting;
  }

  private async runFit(xIn: TensorLike, yIn: TensorLike, options: FitOptions): Promise<History> {
    this.requireLayers();
    if (options === null || typeof options !== 'object') throw new OptionError('expected fit options { epochs, ... }');
    checkOptions(options, FIT_OPTION_KEYS, 'fit options');
    const loss = options.loss !== undefined ? getLoss(options.loss) : this.requireLoss();
    const epochs = assertPositiveInteger(options.epochs, 'epochs');
    const batchSize = assertPositiveInteger(options.batchSize ?? 32, 'batchSize');
    // Read once, before any step: a getter that throws (or changes its answer)
    // must not stop the run halfway, with some batches already applied.
    const { signal, verbose } = options;
    if (options.learningRate !== undefined && !isSchedule(options.learningRate) && (typeof options.learningRate !== 'number' || !Number.isFinite(options.learningRate))) {
      throw new OptionError(`expected a finite number for learningRate but got ${describe(options.learningRate)}`);
    }
    const optimizer: Optimizer = getOptimizer(options.optimizer ?? 'sgd', options.learningRate);
    const chosen = chooseMetrics(options.metrics, loss, 'fit');
    const accuracyKind = chosen.accuracy ? loss.accuracy : undefined;
    let x = toTensor(xIn, 'x');
    let y = asTargets(toTensor(yIn, 'y'), loss);
    checkSamples(x, y);
    await runYielding(rejectNonFinite(x, 'x'));
    await runYielding(rejectNonFinite(y, 'y'));
    if (loss.accuracy === 'sparse') this.rejectBadLabels(x, y, 'y');

    let weights = sampleWeightsFor(options, y, loss);
    let validation: [Tensor, Tensor] | undefined;
    if (options.validationData !== undefined) {
      if (!Array.isArray(options.validationData) || options.validationData.length !== 2) {
        throw new OptionError(`expected [x, y] for validationData but got ${describe(options.validationData)}`);
      }
      validation = [toTensor(options.validationData[0], 'validation x'), asTargets(toTensor(options.validationData[1], 'validation y'), loss)];
      // The same checks x and y get, before the first epoch: a NaN here would
      // make every validation loss NaN (and EarlyStopping never fire), a bad
      // label would fail only after a whole epoch of training.
      checkSamples(...validation, 'validation ');
      await runYielding(rejectNonFinite(validation[0], 'validation x'));
      await runYielding(rejectNonFinite(validation[1], 'validation y'));
      if (loss.accuracy === 'sparse') this.rejectBadLabels(validation[0], validation[1], 'validation y');
    } else if (options.validationSplit !== undefined) {
      const split = options.validationSplit;
      if (typeof split !== 'number' || !(split > 0 && split < 1)) {
        throw new OptionError(`expected a number in (0, 1) for validationSplit but got ${describe(split)}`);
      }
      const keep = x.shape[0] - Math.floor(x.shape[0] * split);
      if (keep < 1 || keep === x.shape[0]) throw new OptionError(`validationSplit ${split} leaves no training or no validation samples out of ${x.shape[0]}`);
      validation = [x.slice(keep, x.shape[0]), y.slice(keep, y.shape[0])];
      [x, y] = [x.slice(0, keep), y.slice(0, keep)];
      // Keras' meaning (the last rows) is kept, but a class-sorted file would silently validate on one class.
      for (const problem of splitProblems(y, validation[1], loss.accuracy)) {
        process.emitWarning(`validationSplit ${split} holds out the last ${x.shape[0] === 0 ? 0 : validation[0].shape[0]} rows and ${problem}; shuffle the data or split it with trainTestSplit(x, y, { stratify: true })`, { code: 'LAYERWISE_VALIDATION_SPLIT' });
      }
      weights = weights?.subarray(0, keep);
    }

    // Layers that learn their input width from data (Conv2D without inputShape, BatchNormalization)
    // build now, from one sample, so rollback points and the optimizer see every parameter from the start.
    this.forward(x.slice(0, 1));
    this.linkBackwardFusion(true);

    const callbacks: Callback[] = [...(options.callbacks ?? [])];
    if (options.onEpochEnd || options.onBatchEnd) callbacks.push({ onEpochEnd: options.onEpochEnd, onBatchEnd: options.onBatchEnd });
    const samples = x.shape[0];
    const resume = options.resume;
    const trainingRng = new Rng(options.seed ?? this.seed ^ 0x5bd1e995);
    if (resume !== undefined) checkResume(resume, samples, this.layers.length, epochs, batchSize);
    const context: TrainingContext = {
      network: this, optimizer, epochs, batchesPerEpoch: Math.ceil(samples / batchSize), stopTraining: false,
      resumedFrom: resume && { epoch: resume.epoch, batch: resume.batch },
    };
    const shuffleRng = resume ? Rng.fromState(resume.shuffleRng) : trainingRng.fork();
    // Every layer forks the training stream (so one layer's seed does not move the others'); a layer with its own seed starts from it.
    const layerRngs = this.layers.map((layer, i) => {
      const forked = trainingRng.fork();
      if (resume) return Rng.fromState(resume.layerRngs[i]);
      return layer.randomSeed === undefined ? forked : new Rng(layer.randomSeed);
    });
    this.layers.forEach((layer, i) => layer.setRandomSource(layerRngs[i]));
    // The fused softmax + cross-entropy gradient skips the softmax layer's Jacobian.
    const last = this.layers[this.layers.length - 1];
    const fuseSoftmax = last instanceof Activation && last.kind === 'softmax' && typeof loss.softmaxGradient === 'function';
    // What the optimizer steps, rebuilt only when a callback freezes or
    // unfreezes a layer: collecting it afresh every batch was a few µs of a
    // step that the second thread cannot share.
    // Plain SGD's step is folded into the gradient products of the layers
    // that can take it (Layer.foldedSgd). Whether a batch callback is there
    // must not change the weights, so it only makes those layers keep the
    // gradients it might read readable (computed when read, see Dense.backward).
    const mayFold = typeof optimizer.foldableRate === 'function';
    const fold = this.fold;
    fold.writeGradient = callbacks.some((cb) => cb.onBatchEnd !== undefined);
    let frozen: boolean[] = [];
    let stepped: Parameter[] = [];
    let folding: Layer[] = [];
    let steppedBesideFolded: Parameter[] = [];
    const parametersToStep = (): void => {
      if (frozen.length > 0 && this.layers.every((layer, i) => !layer.trainable === frozen[i])) return;
      frozen = this.layers.map((layer) => !layer.trainable);
      stepped = this.trainableParameters();
      folding = mayFold ? this.layers.filter((layer) => layer.trainable && layer.foldsSgdStep) : [];
      steppedBesideFolded = this.layers.flatMap((layer) => (layer.trainable && !folding.includes(layer) ? layer.parameters() : []));
    };

    const history: History = resume ? structuredClone(resume.history) : { loss: [], seconds: [] };
    // Int32Array: the backend's gatherRows reads it directly.
    // (Filled by a loop: Int32Array.from with a map function took ~4 ms for 60k samples.)
    const order = resume ? Int32Array.from(resume.order) : new Int32Array(samples);
    if (!resume) for (let i = 0; i < samples; i++) order[i] = i;
    // Batch inputs, targets and the loss gradient reuse one buffer each across batches and epochs.
    const [xBatch, yBatch, lossGradient] = [new Workspace(), new Workspace(), new Workspace()];
    for (const cb of callbacks) await cb.onTrainBegin?.(context);
    // A rollback point copies every weight; the previous epoch's first one lends its arrays to the next.
    let lastEpochStart: Snapshot | undefined;
    // The checks above scan the whole data set: give the event loop its turn before the first batch.
    await yieldIfDue();

    for (let epoch = resume?.epoch ?? 1; epoch <= epochs && !context.stopTraining; epoch++) {
      const started = performance.now();
      for (const cb of callbacks) await cb.onEpochBegin?.(epoch, context);
      const resuming = resume !== undefined && epoch === resume.epoch;
      // A state taken mid-epoch carries that epoch's order; one taken at an
      // epoch boundary (batch 0) still owes the shuffle.
      if ((options.shuffle ?? true) && !(resuming && resume.batch > 0)) shuffleInPlace(order, shuffleRng);
      const totals = new Totals(accuracyKind, resuming ? resume.totals : undefined, chosen.extra);
      const firstBatch = resuming ? resume.batch + 1 : 1;
      this.setTraining(true);
      // Rollback points: the epoch's start and the two latest periodic ones.
      const epochStart = this.takeSnapshot(firstBatch, optimizer, layerRngs, totals, lastEpochStart?.weights);
      lastEpochStart = epochStart;
      const recent: Snapshot[] = [];
      // Shuffling and the rollback point take ~10 ms on 60k samples, and a first batch warms up for longer than the rest.
      await yieldIfDue();
      /**
       * Puts back the state batch `restoreBefore` was computed with (the newest
       * rollback point at or before it, then a replay of the batches between)
       * and throws. `batch` is the batch the problem showed in.
       */
      const rollBack = (batch: number, restoreBefore: number, why: string): never => {
        this.setTraining(false);
        const target = Math.max(restoreBefore, firstBatch);
        const base = [...recent].reverse().find((snap) => snap.batch <= target) ?? epochStart;
        this.restoreSnapshot(base, optimizer, layerRngs, totals);
        for (let b = base.batch; b < target; b++) trainBatch(b);
        throw new DivergedError(
          `training diverged: ${why} at epoch ${epoch}, batch ${batch}. The network was put back to its weights before ` +
          `batch ${target} of epoch ${epoch}; try a lower learning rate or gradient clipping (the optimizer's clipNorm option)`,
          { epoch, batch, restoredBatch: target, weights: this.getWeights(), optimizerState: optimizer.getState(this.parameters()) },
        );
      };
      /** One step on batch `batch` (1-based) of this epoch's order; returns its loss, or NaN/±Infinity without stepping. */
      const trainBatch = (batch: number): number => {
        // The last step's deferred weight gradients went unread through its
        // callbacks: this step replaces them, and gathering the batch must not
        // compute them from the memory it overwrites.
        endReadsOf(fold, false);
        const start = (batch - 1) * batchSize;
        const end = Math.min(start + batchSize, samples);
        // The next batch's samples are asked of the cache now, so their memory latency overlaps this step's work.
        const xb = gather(x, order, start, end, xBatch, Math.min(end + batchSize, samples));
        const yb = gather(y, order, start, end, yBatch);
        const out = this.forward(xb, true);
        const wb = weights && gatherWeights(weights, order, start, end);
        const batchLoss = wb ? weightedLoss(loss, yb, out, wb) : loss.value(yb, out);
        if (!Number.isFinite(batchLoss)) return batchLoss;
        totals.add(batchLoss, end - start, yb, out);
        const grad = lossGradient.tensor(out.shape);
        const outputGradient = fuseSoftmax ? loss.softmaxGradient!(yb, out, grad) : loss.gradient(yb, out, grad);
        parametersToStep();
        const foldedRate = mayFold ? optimizer.foldableRate!() : undefined;
        const folded = foldedRate === undefined ? [] : folding;
        if (foldedRate !== undefined) fold.rate = foldedRate;
        for (const layer of folded) layer.foldedSgd = fold;
        try {
          this.backward(wb ? scaleRows(outputGradient, wb) : outputGradient, undefined, this.layers.length - (fuseSoftmax ? 2 : 1));
        } finally {
          for (const layer of folded) layer.foldedSgd = undefined;
        }
        optimizer.step(foldedRate === undefined ? stepped : steppedBesideFolded);
        return batchLoss;
      };
      for (let batch = firstBatch, start = (firstBatch - 1) * batchSize; start < samples; batch++, start += batchSize) {
        if (batch > firstBatch && (batch - firstBatch) % SNAPSHOT_EVERY === 0) {
          // The oldest of the two kept points is dropped: its arrays take the new copy.
          const dropped = recent.length === 2 ? recent.shift() : undefined;
          recent.push(this.takeSnapshot(batch, optimizer, layerRngs, totals, dropped?.weights));
        }
        const batchLoss = trainBatch(batch);
        if (!Number.isFinite(batchLoss)) rollBack(batch, batch - 1, `the loss is ${batchLoss}`);
        const end = Math.min(start + batchSize, samples);
        if (callbacks.length > 0) {
          const logs: BatchLogs = { epoch, loss: batchLoss, size: end - start };
          for (const cb of callbacks) await cb.onBatchEnd?.(batch, logs, context);
        }
        if (signal?.aborted && start + batchSize < samples) {
          this.setTraining(false);
          history.interrupted = {
            epoch, batch, order: Array.from(order), shuffleRng: shuffleRng.getState(), layerRngs: layerRngs.map((r) => r.getState()),
            totals: totals.state(), history: structuredClone({ ...history, interrupted: undefined }),
          };
          for (const cb of callbacks) await cb.onTrainEnd?.(history, context);
          return history;
        }
        if (yieldDue()) await yieldNow();
      }
      // The last batch's step is checked by no later loss: scan the weights once per epoch.
      const lastBatch = context.batchesPerEpoch;
      if (this.parameters().some((p) => getBackend().firstNonFinite(p.value.data) >= 0)) rollBack(lastBatch, lastBatch, 'a weight became non-finite');
      this.setTraining(false);
      const logs: EpochLogs = { ...totals.result(false), learningRate: optimizer.learningRate, seconds: 0 };
      if (validation) {
        // In training-sized chunks: a 256-image chunk of a CNN is ~50 ms the event loop would wait.
        const metrics: MetricName[] = [...(accuracyKind ? ['accuracy' as const] : []), ...chosen.extra];
        const v = await this.evaluateAsync(validation[0], validation[1], { loss, batchSize, metrics });
        logs.valLoss = v.loss;
        if (accuracyKind) logs.valAccuracy = v.accuracy;
        for (const m of chosen.extra) logs[validationName(m)] = v[m];
      }
      logs.seconds = (performance.now() - started) / 1000;
      record(history, logs);
      if (verbose) console.log(formatEpoch(epoch, epochs, logs));
      for (const cb of callbacks) await cb.onEpochEnd?.(epoch, logs, context);
      if (signal?.aborted && epoch < epochs) {
        history.interrupted = {
          epoch: epoch + 1, batch: 0, order: Array.from(order), shuffleRng: shuffleRng.getState(), layerRngs: layerRngs.map((r) => r.getState()),
          totals: new Totals(accuracyKind, undefined, chosen.extra).state(), history: structuredClone({ ...history, interrupted: undefined }),
        };
        break;
      }
    }
    for (const cb of callbacks) await cb.onTrainEnd?.(history, context);
    return history;
  }

  /**
   * A rollback point taken before batch `batch` runs: weights (copied into
   * `reuse`, a dropped point's arrays, where they fit), optimizer state,
   * dropout generators and running totals.
   */
  private takeSnapshot(batch: number, optimizer: Optimizer, layerRngs: Rng[], totals: Totals, reuse?: Float32Array[]): Snapshot {
    const params = this.parameters();
    return {
      batch, weights: this.getWeights(reuse), optimizer: optimizer.getState(params),
      layerRngs: layerRngs.map((r) => r.getState()), totals: totals.state(),
    };
  }

  private restoreSnapshot(snap: Snapshot, optimizer: Optimizer, layerRngs: Rng[], totals: Totals): void {
    const params = this.parameters();
    this.setWeights(snap.weights);
    optimizer.setState(params, snap.optimizer);
    snap.layerRngs.forEach((state, i) => {
      layerRngs[i] = Rng.fromState(state);
      this.layers[i].setRandomSource(layerRngs[i]);
    });
    totals.restore(snap.totals);
  }

  /**
   * Class ids must be integers below the network's output width; checked
   * before training (one forward pass of one sample gives the width), so a
   * bad label fails at once and names its sample instead of a later batch.
   */
  private rejectBadLabels(x: Tensor, labels: Tensor, what: string): void {
    if (labels.size !== labels.shape[0]) {
      throw new ShapeError(`expected one class id per sample ([${labels.shape[0]}]) for ${what} but got ${formatShape(labels.shape)}`);
    }
    const out = this.forward(x.slice(0, 1));
    const classes = out.shape[out.rank - 1];
    for (let i = 0; i < labels.size; i++) {
      const label = labels.data[i];
      if (!Number.isInteger(label) || label < 0 || label >= classes) {
        throw new DataError(`${what} holds ${label} in sample ${i}, but class ids must be integers in [0, ${classes - 1}] for this ${classes}-way output`);
      }
    }
  }

  /**
   * For the length of a fit, pairs a layer that ends in an elementwise
   * activation with a following layer whose backward takes it over
   * (BackwardFusion: Conv2D or Activation → MaxPool2D). Only fit links them:
   * its backward always runs the whole chain in order, which a hand-written
   * loop over the layers need not do.
   */
  private linkBackwardFusion(on: boolean): void {
    for (let i = 0; i < this.layers.length; i++) {
      const next = this.layers[i + 1];
      const tail = on && next !== undefined ? this.layers[i].fusibleTail() : undefined;
      const fusion = tail && new BackwardFusion(tail.activation, tail.biasGradient, tail.takesPooled);
      const accepted = next !== undefined && next.acceptFusion(fusion);
      this.layers[i].fusionWithNext = accepted ? fusion : undefined;
    }
  }

  /** Nothing consumes the first layer's input gradient while fit runs, so it skips that product. */
  private setTraining(on: boolean): void {
    if (this.layers.length > 0) this.layers[0].inputGradientNeeded = !on;
  }

  private requireLayers(): void {
    if (this.layers.length === 0) throw new StateError('the network has no layers: add some first');
  }

  private requireLoss(): Loss {
    if (!this.loss) throw new StateError('no loss set: call use(loss) or pass { loss } to fit');
    return this.loss;
  }
}

/** Sums a data set's loss and correct predictions batch by batch. */
class Totals {
  private lossSum = 0;
  private samples = 0;
  private correct = 0;
  private predictions = 0;

  private readonly extra?: MetricTotals;

  constructor(private readonly accuracy?: 'binary' | 'categorical' | 'sparse', from?: TotalsState, extra: readonly ExtraMetric[] = []) {
    if (extra.length > 0) this.extra = new MetricTotals(extra);
    if (from) this.restore(from);
  }

  state(): TotalsState {
    const state: TotalsState = { lossSum: this.lossSum, samples: this.samples, correct: this.correct, predictions: this.predictions };
    if (this.extra) state.metrics = this.extra.state();
    return state;
  }

  restore(from: TotalsState): void {
    ({ lossSum: this.lossSum, samples: this.samples, correct: this.correct, predictions: this.predictions } = from);
    if (this.extra && from.metrics) this.extra.restore(from.metrics);
  }

  add(batchLoss: number, size: number, yTrue: Tensor, yPred: Tensor): void {
    this.lossSum += batchLoss * size;
    this.samples += size;
    if (this.accuracy) {
      this.correct += countCorrect(this.accuracy, yTrue, yPred);
      this.predictions += countPredictions(this.accuracy, yPred);
    }
    this.extra?.add(yTrue, yPred);
  }

  result(withAccuracy: boolean): Evaluation {
    const out: Evaluation = { loss: this.samples === 0 ? 0 : this.lossSum / this.samples };
    if (this.accuracy && (withAccuracy || this.predictions > 0)) out.accuracy = this.predictions === 0 ? 0 : this.correct / this.predictions;
    return this.extra ? { ...out, ...this.extra.result() } : out;
  }
}

function checkResume(state: TrainingState, samples: number, layers: number, epochs: number, batchSize: number): void {
  const batches = Math.ceil(samples / batchSize);
  const fail = (what: string): never => {
    throw new OptionError(`the resume state does not fit this training run (${samples} samples, ${layers} layers, ${epochs} epochs): ${what}`);
  };
  if (state === null || typeof state !== 'object') fail('it is not an object');
  if (!Number.isInteger(state.epoch) || state.epoch < 1 || state.epoch > epochs) fail(`epoch ${describe(state.epoch)}`);
  if (!Number.isInteger(state.batch) || state.batch < 0 || state.batch > batches) fail(`batch ${describe(state.batch)}`);
  // The order must be a permutation of the samples: an index out of range would
  // train on phantom all-zero samples, a repeated one would skip others.
  if (!Array.isArray(state.order) || state.order.length !== samples) fail('the sample order has the wrong length');
  const seen = new Uint8Array(samples);
  for (const i of state.order) {
    if (!Number.isInteger(i) || i < 0 || i >= samples || seen[i]) fail(`the sample order is not a permutation of 0..${samples - 1}`);
    seen[i] = 1;
  }
  if (!Array.isArray(state.layerRngs) || state.layerRngs.length !== layers) fail('it holds the wrong number of layer generators');
  for (const rng of [state.shuffleRng, ...state.layerRngs]) {
    try {
      Rng.fromState(rng);
    } catch {
      fail(`a random generator state is malformed: ${describe(rng)}`);
    }
  }
  // The totals are the done batches' sums, so their sample count is bounded by the batch number. Not
  // necessarily whole numbers: the CLI rewrites an epoch-boundary state as one sample with the epoch's
  // mean loss and accuracy.
  const t = state.totals;
  const done = Math.min(state.batch * batchSize, samples);
  const counts = t !== null && typeof t === 'object' && [t.samples, t.correct, t.predictions].every((n) => typeof n === 'number' && Number.isFinite(n) && n >= 0);
  if (!counts || !Number.isFinite(t.lossSum) || t.correct > t.predictions || t.samples > done || (t.samples === 0) !== (done === 0)) {
    fail(`the running totals are malformed (expected up to ${done} samples done, some if any, for batch ${state.batch})`);
  }
  if (t.metrics !== undefined && !(Array.isArray(t.metrics) && t.metrics.every((v) => Number.isFinite(v) && v >= 0))) fail('the metric totals are malformed');
  // One finite entry per finished epoch in every series the history holds (loss, seconds and each metric).
  const h = state.history;
  const series = (v: unknown, required: boolean) => (v === undefined && !required) || (Array.isArray(v) && v.length === state.epoch - 1 && v.every((n) => typeof n === 'number' && Number.isFinite(n)));
  const wellFormed = h !== null && typeof h === 'object' && series(h.loss, true) && series(h.seconds, true)
    && Object.entries(h).every(([key, value]) => key === 'interrupted' || series(value, false));
  if (!wellFormed) fail(`the history is malformed (expected ${state.epoch - 1} finite values per series)`);
}

function record(history: History, logs: EpochLogs): void {
  history.loss.push(logs.loss);
  history.seconds.push(logs.seconds);
  for (const [key, value] of Object.entries(logs)) {
    if (key === 'loss' || key === 'seconds' || typeof value !== 'number') continue;
    ((history as unknown as Record<string, number[]>)[key] ??= []).push(value);
  }
}

function formatEpoch(epoch: number, epochs: number, logs: EpochLogs): string {
  const parts = [`epoch ${epoch}/${epochs}`, `loss=${logs.loss.toFixed(4)}`];
  for (const [key, value] of Object.entries(logs)) {
    if (key !== 'loss' && key !== 'seconds' && typeof value === 'number') parts.push(`${key}=${value.toFixed(4)}`);
  }
  parts.push(`${logs.seconds.toFixed(2)}s`);
  return parts.join('  ');
}

/** Keras accepts [n] targets for a one-output model: they become [n, 1] (class ids for a sparse loss stay [n]). */
function asTargets(y: Tensor, loss: Loss): Tensor {
  return y.rank === 1 && loss.accuracy !== 'sparse' ? y.reshape([y.shape[0], 1]) : y;
}

function getKnownLoss(fn: LossFn): Loss | undefined {
  // use(mse, msePrime) keeps the built-in loss object (and its fused forms).
  const maybe = fn as unknown as Partial<Loss>;
  return typeof maybe.value === 'function' && typeof maybe.gradient === 'function' ? (fn as unknown as Loss) : undefined;
}

function checkSamples(x: Tensor, y: Tensor, prefix = ''): void {
  if (x.rank < 1 || y.rank < 1 || x.shape[0] !== y.shape[0]) {
    throw new ShapeError(`expected ${prefix}x and ${prefix}y with the same number of samples but got ${formatShape(x.shape)} and ${formatShape(y.shape)}`);
  }
  if (x.shape[0] === 0) throw new DataError(`expected at least one ${prefix}sample but got none`);
}

/**
 * How predict cuts a large input: layers [0, split) run on chunks of `rows`
 * samples, and layers [split, end) on `tailRows` samples (a multiple of
 * rows) gathered from those chunks' outputs; split is the layer count when
 * every layer takes the same chunks.
 */
interface PredictPlan {
  rows: number;
  split: number;
  tailRows: number;
}

/** How much larger the narrow tail's chunks must be than the wide layers' for predict to gather them. */
const TAIL_FACTOR = 4;

/** predict's chunk when a layer's output shape is not known (a custom layer that reports none). */
const DEFAULT_PREDICT_BATCH = 256;

/** One core's L2 cache in bytes, as the native kernels read it; 1 MiB without the addon. */
function l2CacheBytes(): number {
  return nativeInfo().caches?.l2 ?? 1 << 20;
}

/** Elements scanned for NaN/±Infinity between two chances to yield: 4 MiB, well under a millisecond. */
const SCAN_CHUNK = 1 << 20;

/**
 * NaN or ±Infinity in training data poisons every weight, and in inference
 * input gives an answer that means nothing: name the first bad sample. In
 * chunks, one step each, so the async paths let the event loop run through
 * the scan of a large data set (60k images are ~15 ms in one piece).
 */
function* rejectNonFinite(t: Tensor, what: string): Generator<void, void> {
  if (t.rank === 0 || t.shape[0] === 0) return;
  for (let start = 0; start < t.size; start += SCAN_CHUNK) {
    if (start > 0) yield;
    const found = getBackend().firstNonFinite(t.data.subarray(start, Math.min(start + SCAN_CHUNK, t.size)));
    if (found < 0) continue;
    throw nonFiniteError(what, t.data, start + found, t.size / t.shape[0]);
  }
}

/**
 * Samples order[start..end) of t, copied into one batch held by `space`;
 * order[end..prefetchEnd) are the rows the next call will copy.
 */
function gather(t: Tensor, order: Int32Array, start: number, end: number, space: Workspace, prefetchEnd = end): Tensor {
  const rowSize = t.size / t.shape[0];
  const batch = space.tensorWith(t.shape, 0, end - start);
  if (rowSize * (end - start) <= SMALL_GATHER) {
    // The order is a checked permutation of the rows, so no index is out of range.
    const from = t.data, to = batch.data;
    for (let i = start, o = 0; i < end; i++) {
      for (let j = order[i] * rowSize, last = j + rowSize; j < last; j++) to[o++] = from[j];
    }
  } else {
    getBackend().gatherRows(t.data, rowSize, order, start, end, batch.data, end, prefetchEnd);
  }
  return batch;
}

/**
 * Floats up to which fit copies a batch in JavaScript rather than through the
 * backend: a batch's class ids (one float a row) took 2.3–2.5 µs a step
 * through the native gatherRows inside a small-CNN fit (per-kernel timing,
 * one thread), on the serial path of every step, for a copy a loop does in
 * well under a microsecond.
 */
const SMALL_GATHER = 256;

function shuffleInPlace(order: Int32Array, rng: Rng): void {
  for (let i = order.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const held = order[i];
    order[i] = order[j];
    order[j] = held;
  }
}
