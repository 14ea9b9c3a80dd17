// Learning-rate schedules: the rate as a function of the optimizer's step
// count (batches since the optimizer was created), as Keras's
// LearningRateSchedule objects. An optimizer given one as `learningRate`
// asks it before every step; each describes itself as data so a saved
// optimizer keeps its schedule.

import { OptionError } from './errors.js';
import { checkOptions } from './options.js';
import { describe } from './shape.js';

/** Names of the built-in schedules. */
export type ScheduleKind = 'exponentialDecay' | 'stepDecay' | 'cosineDecay';

/** A schedule as plain data (kind and options), as saved with an optimizer. */
export interface ScheduleConfig {
  kind: ScheduleKind;
  [option: string]: unknown;
}

/** A learning rate as a function of the optimizer's step count. */
export interface LearningRateSchedule {
  readonly kind: ScheduleKind | string;
  /** The rate for optimizer step `step` (0 for the first batch). */
  at(step: number): number;
  getConfig(): ScheduleConfig;
}

/** Options of exponentialDecay. */
export interface ExponentialDecayOptions {
  initialLearningRate: number;
  /** Steps over which the rate is multiplied by decayRate once. */
  decaySteps: number;
  decayRate: number;
  /** Decay in whole steps of decaySteps instead of continuously (default false). */
  staircase?: boolean;
}

/** Options of stepDecay. */
export interface StepDecayOptions {
  initialLearningRate: number;
  /** Multiply the rate by `factor` every `stepSize` steps (PyTorch's StepLR). */
  stepSize: number;
  /** Default 0.1. */
  factor?: number;
}

/** Options of cosineDecay. */
export interface CosineDecayOptions {
  /** The peak rate: reached at the end of the warm-up, then decayed along a half cosine. */
  initialLearningRate: number;
  /** Steps of the cosine part (after the warm-up). */
  decaySteps: number;
  /** Floor as a fraction of the peak rate (default 0). */
  alpha?: number;
  /** Steps of linear warm-up before the cosine (default 0). */
  warmupSteps?: number;
  /** The rate the warm-up starts from (default 0). */
  warmupFrom?: number;
}

function positiveInteger(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) throw new OptionError(`expected a positive integer for ${what} but got ${describe(value)}`);
  return value;
}

function nonNegative(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw new OptionError(`expected a finite number ≥ 0 for ${what} but got ${describe(value)}`);
  return value;
}

function options<T extends object>(value: T, known: readonly string[], kind: string): T {
  if (value === null || typeof value !== 'object') throw new OptionError(`expected ${kind} options but got ${describe(value)}`);
  checkOptions(value, known, `${kind} options`);
  return value;
}

/** lr = initial · decayRate^(step / decaySteps), floored to whole periods when `staircase`. */
export function exponentialDecay(opts: ExponentialDecayOptions): LearningRateSchedule {
  const o = options(opts, ['initialLearningRate', 'decaySteps', 'decayRate', 'staircase'], 'exponentialDecay');
  const initial = nonNegative(o.initialLearningRate, 'exponentialDecay initialLearningRate');
  const decaySteps = positiveInteger(o.decaySteps, 'exponentialDecay decaySteps');
  const decayRate = nonNegative(o.decayRate, 'exponentialDecay decayRate');
  const staircase = o.staircase ?? false;
  if (typeof staircase !== 'boolean') throw new OptionError(`expected true or false for exponentialDecay staircase but got ${describe(staircase)}`);
  return {
    kind: 'exponentialDecay',
    at: (step) => {
      const periods = step / decaySteps;
      return initial * decayRate ** (staircase ? Math.floor(periods) : periods);
    },
    getConfig: () => ({ kind: 'exponentialDecay', initialLearningRate: initial, decaySteps, decayRate, staircase }),
  };
}

/** lr = initial · factor^⌊step / stepSize⌋. */
export function stepDecay(opts: StepDecayOptions): LearningRateSchedule {
  const o = options(opts, ['initialLearningRate', 'stepSize', 'factor'], 'stepDecay');
  const initial = nonNegative(o.initialLearningRate, 'stepDecay initialLearningRate');
  const stepSize = positiveInteger(o.stepSize, 'stepDecay stepSize');
  const factor = nonNegative(o.factor ?? 0.1, 'stepDecay factor');
  return {
    kind: 'stepDecay',
    at: (step) => initial * factor ** Math.floor(step / stepSize),
    getConfig: () => ({ kind: 'stepDecay', initialLearningRate: initial, stepSize, factor }),
  };
}

/**
 * Linear warm-up from `warmupFrom` to the peak over `warmupSteps`, then
 * peak · ((1 − alpha) · ½(1 + cos(π · t / decaySteps)) + alpha) for the
 * t-th step after it, held at the floor once t passes decaySteps.
 */
export function cosineDecay(opts: CosineDecayOptions): LearningRateSchedule {
  const o = options(opts, ['initialLearningRate', 'decaySteps', 'alpha', 'warmupSteps', 'warmupFrom'], 'cosineDecay');
  const peak = nonNegative(o.initialLearningRate, 'cosineDecay initialLearningRate');
  const decaySteps = positiveInteger(o.decaySteps, 'cosineDecay decaySteps');
  const alpha = nonNegative(o.alpha ?? 0, 'cosineDecay alpha');
  if (alpha > 1) throw new OptionError(`expected a number in [0, 1] for cosineDecay alpha but got ${describe(alpha)}`);
  const warmupSteps = o.warmupSteps === undefined ? 0 : nonNegative(o.warmupSteps, 'cosineDecay warmupSteps');
  if (!Number.isInteger(warmupSteps)) throw new OptionError(`expected an integer for cosineDecay warmupSteps but got ${describe(warmupSteps)}`);
  const warmupFrom = nonNegative(o.warmupFrom ?? 0, 'cosineDecay warmupFrom');
  return {
    kind: 'cosineDecay',
    at: (step) => {
      if (step < warmupSteps) return warmupFrom + ((peak - warmupFrom) * step) / warmupSteps;
      const t = Math.min(step - warmupSteps, decaySteps);
      return peak * ((1 - alpha) * 0.5 * (1 + Math.cos((Math.PI * t) / decaySteps)) + alpha);
    },
    getConfig: () => ({ kind: 'cosineDecay', initialLearningRate: peak, decaySteps, alpha, warmupSteps, warmupFrom }),
  };
}

const SCHEDULES: Record<ScheduleKind, (o: never) => LearningRateSchedule> = { exponentialDecay, stepDecay, cosineDecay };

export function isSchedule(value: unknown): value is LearningRateSchedule {
  return typeof value === 'object' && value !== null && typeof (value as LearningRateSchedule).at === 'function';
}

/** A schedule from getConfig()'s output (a saved optimizer), or the schedule itself. */
export function getSchedule(spec: LearningRateSchedule | ScheduleConfig): LearningRateSchedule {
  if (isSchedule(spec)) return spec;
  const kind = spec?.kind;
  if (typeof kind !== 'string' || !Object.prototype.hasOwnProperty.call(SCHEDULES, kind)) {
    throw new OptionError(`expected a learning-rate schedule (exponentialDecay, stepDecay, cosineDecay) but got ${describe(kind ?? spec)}`);
  }
  const { kind: _k, ...rest } = spec;
  return SCHEDULES[kind as ScheduleKind](rest as never);
}

/** The schedule's rate for `step`, or an OptionError naming the schedule and step when it is not a usable rate. */
export function scheduledRate(schedule: LearningRateSchedule, step: number, owner: string): number {
  const rate = schedule.at(step);
  if (typeof rate !== 'number' || !Number.isFinite(rate) || rate < 0) {
    throw new OptionError(`the learning-rate schedule ${schedule.kind} of ${owner} gave ${describe(rate)} at step ${step}: expected a finite rate ≥ 0`);
  }
  return rate;
}
