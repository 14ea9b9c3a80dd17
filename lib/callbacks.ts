// Training callbacks: hooks fit calls between batches and epochs, and
// EarlyStopping built on them.

import type { MetricHistory, MetricValues, ValidationMetricValues } from './metrics.js';
import type { Network, TrainingState } from './network.js';
import { describe } from './shape.js';
import { OptionError } from './errors.js';
import { checkOptions } from './options.js';

/** What fit reports after each epoch (validation entries when it has validation data; the metrics asked for). */
export interface EpochLogs extends MetricValues, ValidationMetricValues {
  loss: number;
  accuracy?: number;
  valLoss?: number;
  valAccuracy?: number;
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
  readonly epochs: number;
  readonly batchesPerEpoch: number;
  stopTraining: boolean;
}

/** Per-epoch series: loss and accuracy, and their validation twins when there is validation data. */
export interface History extends MetricHistory {
  loss: number[];
  accuracy?: number[];
  valLoss?: number[];
  valAccuracy?: number[];
  seconds: number[];
  /** Set when fit stopped early on its AbortSignal: pass it as fit({ resume }) to continue. */
  interrupted?: TrainingState;
}

/** Epochs and batches are numbered from 1. Any hook may be async. */
export interface Callback {
  onTrainBegin?(context: TrainingContext): void | Promise<void>;
  onBatchEnd?(batch: number, logs: BatchLogs, context: TrainingContext): void | Promise<void>;
  onEpochEnd?(epoch: number, logs: EpochLogs, context: TrainingContext): void | Promise<void>;
  onTrainEnd?(history: History, context: TrainingContext): void | Promise<void>;
}

/** A metric a callback such as `EarlyStopping` can watch. */
export type Monitor = 'loss' | 'accuracy' | 'valLoss' | 'valAccuracy';

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
    if (monitor !== undefined && !['loss', 'accuracy', 'valLoss', 'valAccuracy'].includes(monitor)) {
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
      if (this.restoreBestWeights) this.bestWeights = context.network.getWeights();
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
