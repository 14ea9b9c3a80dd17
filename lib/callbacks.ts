// Training callbacks: hooks fit calls between batches and epochs, and
// EarlyStopping built on them.

import type { MetricHistory, MetricValues, ValidationMetricValues } from './metrics.js';
import type { Network, TrainingState } from './network.js';
import type { Optimizer } from './optimizers.js';
import { describe } from './shape.js';
import { OptionError } from './errors.js';
import { checkOptions } from './options.js';

/** What fit reports after each epoch (validation entries when it has validation data; the metrics asked for). */
export interface EpochLogs extends MetricValues, ValidationMetricValues {
  loss: number;
  accuracy?: number;
  valLoss?: number;
  valAccuracy?: number;
  /** The optimizer's learning rate at the epoch's end. */
  learningRate?: number;
  /** Wall-clock seconds the epoch took, validation included. */
  seconds: number;
}

/** What `onBatchEnd` receives after each batch. */
export interface BatchLogs {
  epoch: number;
  loss: number;
  /** Samples in this batch. */
  size: number;
}

/** Handed to every callback; setting stopTraining ends fit after the current epoch. */
export interface TrainingContext {
  readonly network: Network;
  /** The optimizer fit steps with: callbacks may read or set its learningRate (absent on the caller's side of trainInWorker). */
  readonly optimizer?: Optimizer;
  readonly epochs: number;
  readonly batchesPerEpoch: number;
  /** Where fit({ resume }) picked up an interrupted run; absent for a fresh run. */
  readonly resumedFrom?: { epoch: number; batch: number };
  stopTraining: boolean;
}

/** Per-epoch series: loss and accuracy, and their validation twins when there is validation data. */
export interface History extends MetricHistory {
  loss: number[];
  accuracy?: number[];
  valLoss?: number[];
  valAccuracy?: number[];
  learningRate?: number[];
  seconds: number[];
  /** Set when fit stopped early on its AbortSignal: pass it as fit({ resume }) to continue. */
  interrupted?: TrainingState;
}

/** Epochs and batches are numbered from 1. Any hook may be async. */
export interface Callback {
  onTrainBegin?(context: TrainingContext): void | Promise<void>;
  onEpochBegin?(epoch: number, context: TrainingContext): void | Promise<void>;
  onBatchEnd?(batch: number, logs: BatchLogs, context: TrainingContext): void | Promise<void>;
  onEpochEnd?(epoch: number, logs: EpochLogs, context: TrainingContext): void | Promise<void>;
  onTrainEnd?(history: History, context: TrainingContext): void | Promise<void>;
}

/** A metric a callback such as `EarlyStopping` can watch. */
export type Monitor = 'loss' | 'accuracy' | 'valLoss' | 'valAccuracy';
const MONITORS: readonly Monitor[] = ['loss', 'accuracy', 'valLoss', 'valAccuracy'];

/** How much `value` improves on `best`: losses improve downwards, accuracies upwards. */
function improvement(monitor: Monitor, value: number, best: number): number {
  return monitor.toLowerCase().includes('accuracy') ? value - best : best - value;
}

/** Options of `new EarlyStopping(options)`. */
export interface EarlyStoppingOptions {
  /** Default 'valLoss' when there is validation data, else 'loss'. */
  monitor?: Monitor;
  /** Epochs without improvement to wait before stopping (default 0). */
  patience?: number;
  /** Smallest change that counts as an improvement (default 0). */
  minDelta?: number;
  /** Put back the weights of the best epoch when training ends (default false). */
  restoreBestWeights?: boolean;
}

/** Stops training when the monitored value stops improving. */
export class EarlyStopping implements Callback {
  readonly monitor?: Monitor;
  readonly patience: number;
  readonly minDelta: number;
  readonly restoreBestWeights: boolean;
  /** The epoch training stopped after (0 if it ran to the end). */
  stoppedEpoch = 0;
  /** The epoch with the best monitored value. */
  bestEpoch = 0;
  best = NaN;
  private wait = 0;
  private bestWeights?: Float32Array[];

  constructor(options: EarlyStoppingOptions = {}) {
    checkOptions(options, ['monitor', 'patience', 'minDelta', 'restoreBestWeights'], 'EarlyStopping options');
    const { monitor, patience = 0, minDelta = 0, restoreBestWeights = false } = options;
    if (monitor !== undefined && !MONITORS.includes(monitor)) {
      throw new OptionError(`expected 'loss', 'accuracy', 'valLoss' or 'valAccuracy' for EarlyStopping monitor but got ${describe(monitor)}`);
    }
    if (!Number.isInteger(patience) || patience < 0) throw new OptionError(`expected a non-negative integer for patience but got ${describe(patience)}`);
    if (typeof minDelta !== 'number' || !(minDelta >= 0)) throw new OptionError(`expected a non-negative number for minDelta but got ${describe(minDelta)}`);
    this.monitor = monitor;
    this.patience = patience;
    this.minDelta = minDelta;
    this.restoreBestWeights = restoreBestWeights;
  }

  onTrainBegin(): void {
    this.wait = 0;
    this.best = NaN;
    this.bestEpoch = 0;
    this.stoppedEpoch = 0;
    this.bestWeights = undefined;
  }

  onEpochEnd(epoch: number, logs: EpochLogs, context: TrainingContext): void {
    const key = this.monitor ?? (logs.valLoss !== undefined ? 'valLoss' : 'loss');
    const value = logs[key];
    if (value === undefined) throw new OptionError(`EarlyStopping monitors '${key}', which this fit does not report`);
    // Losses improve downwards, accuracies upwards.
    const sign = key.toLowerCase().includes('accuracy') ? 1 : -1;
    if (Number.isNaN(this.best) || sign * (value - this.best) > this.minDelta) {
      this.best = value;
      this.bestEpoch = epoch;
      this.wait = 0;
      if (this.restoreBestWeights) this.bestWeights = context.network.getWeights(this.bestWeights);
      return;
    }
    this.wait++;
    if (this.wait > this.patience) {
      this.stoppedEpoch = epoch;
      context.stopTraining = true;
    }
  }

  onTrainEnd(_history: History, context: TrainingContext): void {
    if (this.restoreBestWeights && this.bestWeights) context.network.setWeights(this.bestWeights);
  }
}

/** Options of `new RestoreBestWeights(options)`. */
export interface RestoreBestWeightsOptions {
  /** Default 'valLoss' when there is validation data, else 'loss'. */
  monitor?: Monitor;
  /** Smallest change that counts as an improvement (default 0: ties keep the earlier epoch). */
  minDelta?: number;
  /**
   * Decides ties of the monitored value (exact ones: accuracies on a small
   * validation set often repeat): a later epoch that ties and improves this
   * metric wins, e.g. valLoss under valAccuracy. Default: none, the earlier
   * epoch stays.
   */
  tieBreaker?: Monitor;
}

/** The best epoch a RestoreBestWeights saw, as a checkpoint keeps it. */
export interface BestWeights {
  epoch: number;
  monitor: Monitor;
  value: number;
  /** The tie-breaking metric's value at that epoch (NaN without one). */
  tieBreaker?: number;
  /** getWeights()-shaped copies: parameters, then state tensors. */
  weights: Float32Array[];
}

/**
 * Model selection without early stopping: keeps a copy of the weights (and
 * BatchNormalization's running statistics) of the epoch with the best
 * monitored value, and puts them back when fit ends, so evaluate, predict and
 * save see that epoch's model rather than the last one (Keras's
 * restore_best_weights). The copy goes into buffers allocated at the first
 * improvement and reused after. An interrupted fit (signal) keeps the current
 * weights, since training is to continue; a fit resumed in the same process
 * with the same callback carries its best epoch over, and one resumed in a new
 * process can be handed the checkpointed best with `resume(best)`.
 */
export class RestoreBestWeights implements Callback {
  readonly monitor?: Monitor;
  readonly minDelta: number;
  readonly tieBreaker?: Monitor;
  /** The epoch with the best monitored value (0 before the first epoch ends). */
  bestEpoch = 0;
  best = NaN;
  /** The tie-breaker's value at the best epoch. */
  bestTieBreaker = NaN;
  /** The metric compared: `monitor`, or the default chosen at the first epoch's end. */
  monitored?: Monitor;
  /** Whether the last fit ended with the best epoch's weights put back (false when the last epoch was the best). */
  restored = false;
  private saved: Float32Array[] = [];

  constructor(options: RestoreBestWeightsOptions = {}) {
    checkOptions(options, ['monitor', 'minDelta', 'tieBreaker'], 'RestoreBestWeights options');
    const { monitor, minDelta = 0, tieBreaker } = options;
    for (const [name, value] of [['monitor', monitor], ['tieBreaker', tieBreaker]] as const) {
      if (value !== undefined && !MONITORS.includes(value)) {
        throw new OptionError(`expected 'loss', 'accuracy', 'valLoss' or 'valAccuracy' for RestoreBestWeights ${name} but got ${describe(value)}`);
      }
    }
    if (typeof minDelta !== 'number' || !(minDelta >= 0 && Number.isFinite(minDelta))) {
      throw new OptionError(`expected a finite number ≥ 0 for RestoreBestWeights minDelta but got ${describe(minDelta)}`);
    }
    this.monitor = monitor;
    this.minDelta = minDelta;
    this.tieBreaker = tieBreaker;
  }

  /** The best epoch so far with its weights (the callback's own buffers: copy them to keep them past the next improvement). */
  get bestWeights(): BestWeights | undefined {
    if (this.bestEpoch === 0 || !this.monitored) return undefined;
    return { epoch: this.bestEpoch, monitor: this.monitored, value: this.best, tieBreaker: this.bestTieBreaker, weights: this.saved };
  }

  /** Continues from a checkpointed best: call before fit({ resume }) in a new process. */
  resume(best: BestWeights): void {
    if (this.monitor !== undefined && best.monitor !== this.monitor) {
      throw new OptionError(`RestoreBestWeights monitors '${this.monitor}' but the saved best epoch was chosen by '${best.monitor}'`);
    }
    this.bestEpoch = best.epoch;
    this.best = best.value;
    this.bestTieBreaker = best.tieBreaker ?? NaN;
    this.monitored = best.monitor;
    this.saved = best.weights.map((w) => w.slice());
  }

  onTrainBegin(context: TrainingContext): void {
    this.restored = false;
    if (context.resumedFrom) return;
    this.bestEpoch = 0;
    this.best = NaN;
    this.bestTieBreaker = NaN;
    this.monitored = undefined;
  }

  onEpochEnd(epoch: number, logs: EpochLogs, context: TrainingContext): void {
    const key = this.monitor ?? this.monitored ?? (logs.valLoss !== undefined ? 'valLoss' : 'loss');
    const value = logs[key];
    if (value === undefined) throw new OptionError(`RestoreBestWeights monitors '${key}', which this fit does not report`);
    this.monitored = key;
    const tie = this.tieBreaker === undefined ? NaN : logs[this.tieBreaker];
    if (tie === undefined) throw new OptionError(`RestoreBestWeights breaks ties by '${this.tieBreaker}', which this fit does not report`);
    const improves = Number.isNaN(this.best) || improvement(key, value, this.best) > this.minDelta ||
      (this.tieBreaker !== undefined && value === this.best && improvement(this.tieBreaker, tie, this.bestTieBreaker) > 0);
    if (improves) {
      this.best = value;
      this.bestTieBreaker = tie;
      this.bestEpoch = epoch;
      this.saved = context.network.getWeights(this.saved);
    }
  }

  onTrainEnd(history: History, context: TrainingContext): void {
    if (history.interrupted || this.bestEpoch === 0 || this.bestEpoch === history.loss.length) return;
    context.network.setWeights(this.saved);
    this.restored = true;
  }
}

/** Whether an optimizer takes its rate from a schedule, which would overwrite what a callback sets. */
function optimizerOf(context: TrainingContext, who: string): Optimizer {
  if (!context.optimizer) throw new OptionError(`${who} needs the optimizer in its context, which this training run does not give (trainInWorker runs callbacks away from it)`);
  return context.optimizer;
}

function refuseScheduled(optimizer: Optimizer, who: string): void {
  if ((optimizer as { schedule?: unknown }).schedule !== undefined) {
    throw new OptionError(`${who} sets the learning rate, but the optimizer's learningRate is already a schedule: use one or the other`);
  }
}

/**
 * Sets the learning rate at the start of every epoch to `schedule(epoch,
 * currentRate)` (epochs from 1), as Keras's LearningRateScheduler.
 */
export class LearningRateScheduler implements Callback {
  constructor(readonly schedule: (epoch: number, learningRate: number) => number) {
    if (typeof schedule !== 'function') throw new OptionError(`expected a function (epoch, learningRate) => rate for LearningRateScheduler but got ${describe(schedule)}`);
  }

  onTrainBegin(context: TrainingContext): void {
    refuseScheduled(optimizerOf(context, 'LearningRateScheduler'), 'LearningRateScheduler');
  }

  onEpochBegin(epoch: number, context: TrainingContext): void {
    const optimizer = optimizerOf(context, 'LearningRateScheduler');
    const rate = this.schedule(epoch, optimizer.learningRate);
    if (typeof rate !== 'number' || !Number.isFinite(rate) || rate < 0) {
      throw new OptionError(`LearningRateScheduler's function returned ${describe(rate)} for epoch ${epoch}: expected a finite rate ≥ 0`);
    }
    optimizer.learningRate = rate;
  }
}

/** Options of ReduceLROnPlateau (Keras's names and defaults). */
export interface ReduceLROnPlateauOptions {
  /** Default 'valLoss' when there is validation data, else 'loss'. */
  monitor?: Monitor;
  /** The rate is multiplied by this (default 0.1). */
  factor?: number;
  /** Epochs without improvement before reducing (default 10). */
  patience?: number;
  /** Smallest change that counts as an improvement (default 1e-4). */
  minDelta?: number;
  /** Epochs to wait after a reduction before counting again (default 0). */
  cooldown?: number;
  /** The rate never goes below this (default 0). */
  minLearningRate?: number;
}

/** Multiplies the learning rate by `factor` when the monitored value stops improving, as Keras's ReduceLROnPlateau. */
export class ReduceLROnPlateau implements Callback {
  readonly monitor?: Monitor;
  readonly factor: number;
  readonly patience: number;
  readonly minDelta: number;
  readonly cooldown: number;
  readonly minLearningRate: number;
  /** Epochs after which the rate was reduced. */
  readonly reductions: number[] = [];
  private best = NaN;
  private wait = 0;
  private cooling = 0;

  constructor(options: ReduceLROnPlateauOptions = {}) {
    checkOptions(options, ['monitor', 'factor', 'patience', 'minDelta', 'cooldown', 'minLearningRate'], 'ReduceLROnPlateau options');
    const { monitor, factor = 0.1, patience = 10, minDelta = 1e-4, cooldown = 0, minLearningRate = 0 } = options;
    if (monitor !== undefined && !MONITORS.includes(monitor)) {
      throw new OptionError(`expected 'loss', 'accuracy', 'valLoss' or 'valAccuracy' for ReduceLROnPlateau monitor but got ${describe(monitor)}`);
    }
    if (typeof factor !== 'number' || !(factor > 0 && factor < 1)) throw new OptionError(`expected a number in (0, 1) for ReduceLROnPlateau factor but got ${describe(factor)}`);
    for (const [name, value] of [['patience', patience], ['cooldown', cooldown]] as const) {
      if (!Number.isInteger(value) || value < 0) throw new OptionError(`expected a non-negative integer for ReduceLROnPlateau ${name} but got ${describe(value)}`);
    }
    for (const [name, value] of [['minDelta', minDelta], ['minLearningRate', minLearningRate]] as const) {
      if (typeof value !== 'number' || !(value >= 0 && Number.isFinite(value))) throw new OptionError(`expected a finite number ≥ 0 for ReduceLROnPlateau ${name} but got ${describe(value)}`);
    }
    this.monitor = monitor;
    this.factor = factor;
    this.patience = patience;
    this.minDelta = minDelta;
    this.cooldown = cooldown;
    this.minLearningRate = minLearningRate;
  }

  onTrainBegin(context: TrainingContext): void {
    refuseScheduled(optimizerOf(context, 'ReduceLROnPlateau'), 'ReduceLROnPlateau');
    this.best = NaN;
    this.wait = 0;
    this.cooling = 0;
    this.reductions.length = 0;
  }

  onEpochEnd(epoch: number, logs: EpochLogs, context: TrainingContext): void {
    const key = this.monitor ?? (logs.valLoss !== undefined ? 'valLoss' : 'loss');
    const value = logs[key];
    if (value === undefined) throw new OptionError(`ReduceLROnPlateau monitors '${key}', which this fit does not report`);
    const sign = key.toLowerCase().includes('accuracy') ? 1 : -1;
    if (this.cooling > 0) this.cooling--;
    if (Number.isNaN(this.best) || sign * (value - this.best) > this.minDelta) {
      this.best = value;
      this.wait = 0;
      return;
    }
    if (this.cooling > 0) return;
    this.wait++;
    const optimizer = optimizerOf(context, 'ReduceLROnPlateau');
    if (this.wait > this.patience - 1 && optimizer.learningRate > this.minLearningRate) {
      optimizer.learningRate = Math.max(optimizer.learningRate * this.factor, this.minLearningRate);
      this.reductions.push(epoch);
      this.cooling = this.cooldown;
      this.wait = 0;
    }
  }
}
