// Optimizers own the parameter update; layers only compute gradients.
// Each keeps its per-parameter state (velocity, moments) keyed by the
// parameter tensor and runs one fused backend kernel per parameter.

import { getBackend } from './backends/index.js';
import type { Parameter } from './layers/layer.js';
import { describe } from './shape.js';
import type { Tensor } from './tensor.js';
import { OptionError, ShapeError } from './errors.js';
import { checkOptions, suggest } from './options.js';
import { getSchedule, isSchedule, scheduledRate, type LearningRateSchedule } from './schedules.js';

/** Updates parameters from their gradients after each batch; `sgd`, `adam`, `adamw` and `rmsprop` make the built-in ones. */
export interface Optimizer {
  readonly name: string;
  learningRate: number;
  /** Updates every parameter from its gradient. */
  step(parameters: Parameter[]): void;
  /**
   * When the coming step is exactly p ← p − rate·∂E/∂p for every parameter
   * (plain SGD: no momentum, weight decay or clipping), that rate; else
   * undefined. fit then lets layers that can (Dense) apply it inside their
   * weight-gradient product, and passes step() only the other parameters.
   */
  foldableRate?(): number | undefined;
  /** Forgets per-parameter state (moments, step counts). */
  reset(): void;
  /** Name and hyper-parameters as plain data. */
  getConfig(): OptimizerConfig;
  /** Per-parameter state (in the order of `parameters`), for checkpoints. */
  getState(parameters: Parameter[]): OptimizerState;
  /** Restores getState()'s output for the same parameters. */
  setState(parameters: Parameter[], state: OptimizerState): void;
}

/** An optimizer's name and hyper-parameters as plain data, e.g. `{ name: 'sgd', momentum: 0.9 }`. */
export interface OptimizerConfig {
  name: OptimizerName;
  [hyperParameter: string]: unknown;
}

/** For each parameter: its step count and state arrays (empty before its first step); and the optimizer's own step count. */
export interface OptimizerState {
  steps: number[];
  slots: Float32Array[][];
  /**
   * Optimizer steps taken (batches), what a learning-rate schedule is
   * evaluated at; saved so a resumed run continues its schedule. State saved
   * without it restores the largest per-parameter step count.
   */
  iterations?: number;
}

/**
 * State kept per parameter tensor: `slotCount` arrays shaped like the
 * parameter and a step count. Shared by the three optimizers so getState /
 * setState exist once.
 */
class ParameterSlots {
  private map = new WeakMap<Tensor, { arrays: Float32Array[]; steps: number }>();

  constructor(private readonly slotCount: number, private readonly owner: string) {}

  get(p: Parameter): { arrays: Float32Array[]; steps: number } {
    let s = this.map.get(p.value);
    if (!s) {
      s = { arrays: Array.from({ length: this.slotCount }, () => new Float32Array(p.value.size)), steps: 0 };
      this.map.set(p.value, s);
    }
    return s;
  }

  reset(): void {
    this.map = new WeakMap();
  }

  export(parameters: Parameter[]): OptimizerState {
    const state: OptimizerState = { steps: [], slots: [] };
    for (const p of parameters) {
      const s = this.map.get(p.value);
      state.steps.push(s?.steps ?? 0);
      state.slots.push(s ? s.arrays.map((a) => a.slice()) : []);
    }
    return state;
  }

  import(parameters: Parameter[], state: OptimizerState): void {
    if (state.steps.length !== parameters.length || state.slots.length !== parameters.length) {
      throw new ShapeError(`${this.owner} state holds ${state.slots.length} parameters but the network has ${parameters.length}`);
    }
    parameters.forEach((p, i) => {
      const steps = state.steps[i];
      if (!Number.isSafeInteger(steps) || steps < 0) {
        throw new OptionError(`${this.owner} state: the step count of parameter ${i} (${p.name}) must be a non-negative integer but is ${describe(steps)}`);
      }
      const arrays = state.slots[i];
      if (arrays.length === 0) return this.map.delete(p.value);
      if (arrays.length !== this.slotCount || arrays.some((a) => a.length !== p.value.size)) {
        throw new ShapeError(`${this.owner} state for parameter ${i} (${p.name}) does not match its size ${p.value.size}`);
      }
      this.map.set(p.value, { arrays: arrays.map((a) => a.slice()), steps: state.steps[i] });
    });
  }
}

/**
 * No optimizer's step is meaningful with a learning rate this large; a value
 * past it (1e308 in an edited model file) is a mistake that would turn every
 * weight into ±Infinity on the first step.
 */
const MAX_LEARNING_RATE = 1e6;

function checkRate(value: unknown, what: string, { min = 0, max = Infinity, open = false } = {}): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max || (open && (value === min || value === max))) {
    throw new OptionError(`expected a number in ${open ? '(' : '['}${min}, ${max}${open ? ')' : ']'} for ${what} but got ${describe(value)}`);
  }
  return value;
}

/**
 * Options every built-in optimizer takes (Keras and PyTorch names). Before
 * the update, gradients are clipped (clipNorm first, then clipValue), then
 * weightDecay adds the L2 term λ·w to each gradient as PyTorch's
 * `weight_decay` does; adamw instead shrinks the weights by lr·λ directly
 * (decoupled, as torch.optim.AdamW).
 */
export interface GradientOptions {
  weightDecay?: number;
  /** Scales all gradients together so their global L2 norm is at most this (torch.nn.utils.clip_grad_norm_). */
  clipNorm?: number;
  /** Clamps each gradient element to [−clipValue, clipValue]. */
  clipValue?: number;
}
const GRADIENT_OPTION_KEYS: readonly (keyof GradientOptions)[] = ['weightDecay', 'clipNorm', 'clipValue'];

/** A number, or a schedule of the step count (exponentialDecay, stepDecay, cosineDecay). */
export type LearningRate = number | LearningRateSchedule;

function checkPositive(value: unknown, what: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new OptionError(`expected a finite number > 0 for ${what} but got ${describe(value)}`);
  }
  return value;
}

/** The per-parameter state, gradient controls and schedule handling every optimizer shares. */
abstract class SlottedOptimizer implements Optimizer {
  abstract readonly name: OptimizerName;
  /** The rate the next step uses (set from the schedule before each step, when there is one). */
  learningRate = 0;
  /** Set when `learningRate` was given as a schedule. */
  schedule?: LearningRateSchedule;
  /** Steps taken: what a schedule is evaluated at. */
  iterations = 0;
  readonly weightDecay: number;
  readonly clipNorm?: number;
  readonly clipValue?: number;
  protected readonly slots: ParameterSlots;

  constructor(slotCount: number, protected readonly owner: string, controls: GradientOptions, rate: unknown, maxRate = MAX_LEARNING_RATE) {
    this.slots = new ParameterSlots(slotCount, owner);
    this.weightDecay = controls.weightDecay === undefined ? 0 : checkRate(controls.weightDecay, `${owner} weightDecay`);
    this.clipNorm = checkPositive(controls.clipNorm, `${owner} clipNorm`);
    this.clipValue = checkPositive(controls.clipValue, `${owner} clipValue`);
    if (isSchedule(rate) || (typeof rate === 'object' && rate !== null)) {
      this.schedule = getSchedule(rate as LearningRateSchedule);
      this.learningRate = scheduledRate(this.schedule, 0, owner);
    } else {
      this.learningRate = checkRate(rate, `${owner} learningRate`, { max: maxRate });
    }
  }

  /** Clips and decays the gradients as the options ask, then applies the update. */
  step(parameters: Parameter[]): void {
    this.updateScheduledRate();
    if (this.clipNorm !== undefined) clipGlobalNorm(parameters, this.clipNorm);
    if (this.clipValue !== undefined) clipEachValue(parameters, this.clipValue);
    if (this.weightDecay > 0) this.decay(parameters);
    this.update(parameters);
    this.iterations++;
  }

  /** The rate of the coming step: the schedule's at this step count, when there is one. */
  protected updateScheduledRate(): void {
    if (this.schedule) this.learningRate = scheduledRate(this.schedule, this.iterations, this.owner);
  }

  /** Coupled L2: ∂E/∂w += λ·w. adamw overrides it with the decoupled form. */
  protected decay(parameters: Parameter[]): void {
    const backend = getBackend();
    for (const p of parameters) backend.axpy(this.weightDecay, p.value.data, p.grad.data);
  }

  protected abstract update(parameters: Parameter[]): void;
  protected abstract hyperParameters(): Record<string, unknown>;

  getConfig(): OptimizerConfig {
    const config: OptimizerConfig = { name: this.name, learningRate: this.schedule ? this.schedule.getConfig() : this.learningRate, ...this.hyperParameters() };
    if (this.weightDecay > 0 || this.name === 'adamw') config.weightDecay = this.weightDecay;
    if (this.clipNorm !== undefined) config.clipNorm = this.clipNorm;
    if (this.clipValue !== undefined) config.clipValue = this.clipValue;
    return config;
  }

  reset(): void {
    this.slots.reset();
    this.iterations = 0;
  }

  getState(parameters: Parameter[]): OptimizerState {
    return { ...this.slots.export(parameters), iterations: this.iterations };
  }

  setState(parameters: Parameter[], state: OptimizerState): void {
    const iterations = state.iterations ?? Math.max(0, ...state.steps);
    if (!Number.isSafeInteger(iterations) || iterations < 0) {
      throw new OptionError(`${this.owner} state: the step count must be a non-negative integer but is ${describe(state.iterations)}`);
    }
    this.slots.import(parameters, state);
    this.iterations = iterations;
    if (this.schedule) this.learningRate = scheduledRate(this.schedule, this.iterations, this.owner);
  }
}

/** Rescales every gradient by clipNorm / ‖g‖ when the norm over all of them exceeds clipNorm (PyTorch adds 1e-6 to the norm). */
function clipGlobalNorm(parameters: Parameter[], clipNorm: number): void {
  let sumSquares = 0;
  for (const p of parameters) {
    const g = p.grad.data;
    for (let i = 0; i < g.length; i++) sumSquares += g[i] * g[i];
  }
  const scale = clipNorm / (Math.sqrt(sumSquares) + 1e-6);
  if (!(scale < 1)) return;
  for (const p of parameters) {
    const g = p.grad.data;
    for (let i = 0; i < g.length; i++) g[i] *= scale;
  }
}

function clipEachValue(parameters: Parameter[], clipValue: number): void {
  for (const p of parameters) {
    const g = p.grad.data;
    for (let i = 0; i < g.length; i++) {
      if (g[i] > clipValue) g[i] = clipValue;
      else if (g[i] < -clipValue) g[i] = -clipValue;
    }
  }
}

/** Hyper-parameters of SGD (defaults: learningRate 0.01, momentum 0, nesterov false), plus GradientOptions. */
export interface SgdOptions extends GradientOptions { learningRate?: LearningRate; momentum?: number; nesterov?: boolean }
const SGD_OPTION_KEYS: readonly (keyof SgdOptions)[] = ['learningRate', 'momentum', 'nesterov', ...GRADIENT_OPTION_KEYS];

/** Stochastic gradient descent, optionally with (Nesterov) momentum, as torch.optim.SGD. */
export class SGD extends SlottedOptimizer {
  readonly name = 'sgd' as const;
  readonly momentum: number;
  readonly nesterov: boolean;

  constructor(options: SgdOptions = {}) {
    checkOptions(options, SGD_OPTION_KEYS, 'sgd options');
    const { learningRate = 0.01, momentum = 0, nesterov = false } = options;
    super(1, 'sgd', options, learningRate);
    this.momentum = checkRate(momentum, 'sgd momentum', { max: 1 });
    this.nesterov = Boolean(nesterov);
    if (this.nesterov && this.momentum === 0) throw new OptionError('Nesterov momentum needs momentum > 0');
  }

  /** Only plain SGD's update is rate × gradient and nothing else (the rate the following step() will use). */
  foldableRate(): number | undefined {
    // A subclass may update otherwise.
    if (Object.getPrototypeOf(this) !== SGD.prototype) return undefined;
    if (this.momentum !== 0 || this.weightDecay > 0 || this.clipNorm !== undefined || this.clipValue !== undefined) return undefined;
    this.updateScheduledRate();
    return this.learningRate;
  }

  protected update(parameters: Parameter[]): void {
    const backend = getBackend();
    for (const p of parameters) {
      if (this.momentum === 0) {
        backend.axpy(-this.learningRate, p.grad.data, p.value.data);
        continue;
      }
      const s = this.slots.get(p);
      s.steps++;
      backend.sgdMomentumStep(p.value.data, p.grad.data, s.arrays[0], this.learningRate, this.momentum, this.nesterov);
    }
  }


  protected hyperParameters(): Record<string, unknown> {
    return { momentum: this.momentum, nesterov: this.nesterov };
  }

}

/** Hyper-parameters of Adam and AdamW (defaults: learningRate 0.001, beta1 0.9, beta2 0.999, epsilon 1e-8), plus GradientOptions. */
export interface AdamOptions extends GradientOptions { learningRate?: LearningRate; beta1?: number; beta2?: number; epsilon?: number }
const ADAM_OPTION_KEYS: readonly (keyof AdamOptions)[] = ['learningRate', 'beta1', 'beta2', 'epsilon', ...GRADIENT_OPTION_KEYS];

/** Adam (Kingma & Ba), as torch.optim.Adam without weight decay. */
export class Adam extends SlottedOptimizer {
  readonly name: 'adam' | 'adamw' = 'adam';
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;

  constructor(options: AdamOptions = {}, owner: 'adam' | 'adamw' = 'adam') {
    checkOptions(options, ADAM_OPTION_KEYS, `${owner} options`);
    const { learningRate = 0.001, beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8 } = options;
    super(2, owner, owner === 'adamw' ? { weightDecay: 0.01, ...options } : options, learningRate);
    this.beta1 = checkRate(beta1, 'adam beta1', { max: 1 });
    this.beta2 = checkRate(beta2, 'adam beta2', { max: 1, open: false });
    this.epsilon = checkRate(epsilon, 'adam epsilon');
    if (this.beta1 === 1 || this.beta2 === 1) throw new OptionError('adam betas must be below 1');
  }

  protected update(parameters: Parameter[]): void {
    const backend = getBackend();
    for (const p of parameters) {
      const s = this.slots.get(p);
      const t = ++s.steps;
      const stepSize = this.learningRate / (1 - this.beta1 ** t);
      const bias2 = 1 - this.beta2 ** t;
      backend.adamStep(p.value.data, p.grad.data, s.arrays[0], s.arrays[1], stepSize, this.beta1, this.beta2, bias2, this.epsilon);
    }
  }


  protected hyperParameters(): Record<string, unknown> {
    return { beta1: this.beta1, beta2: this.beta2, epsilon: this.epsilon };
  }

}

/** Hyper-parameters of RMSprop (defaults: learningRate 0.001, rho 0.9, epsilon 1e-7), plus GradientOptions. */
export interface RmspropOptions extends GradientOptions { learningRate?: LearningRate; rho?: number; epsilon?: number }
const RMSPROP_OPTION_KEYS: readonly (keyof RmspropOptions)[] = ['learningRate', 'rho', 'epsilon', ...GRADIENT_OPTION_KEYS];

/** RMSprop (Hinton), as Keras' RMSprop without momentum. */
export class RMSprop extends SlottedOptimizer {
  readonly name = 'rmsprop' as const;
  readonly rho: number;
  readonly epsilon: number;

  constructor(options: RmspropOptions = {}) {
    checkOptions(options, RMSPROP_OPTION_KEYS, 'rmsprop options');
    const { learningRate = 0.001, rho = 0.9, epsilon = 1e-7 } = options;
    super(1, 'rmsprop', options, learningRate);
    this.rho = checkRate(rho, 'rmsprop rho', { max: 1 });
    this.epsilon = checkRate(epsilon, 'rmsprop epsilon');
  }

  protected update(parameters: Parameter[]): void {
    const backend = getBackend();
    for (const p of parameters) {
      const s = this.slots.get(p);
      s.steps++;
      backend.rmspropStep(p.value.data, p.grad.data, s.arrays[0], this.learningRate, this.rho, this.epsilon);
    }
  }


  protected hyperParameters(): Record<string, unknown> {
    return { rho: this.rho, epsilon: this.epsilon };
  }

}

/**
 * Adam with decoupled weight decay (Loshchilov & Hutter), as torch.optim.AdamW:
 * w ← w · (1 − lr·λ), then the Adam update. weightDecay defaults to 0.01.
 */
export class AdamW extends Adam {
  override readonly name = 'adamw' as const;

  constructor(options: AdamOptions = {}) {
    super(options, 'adamw');
  }

  protected override decay(parameters: Parameter[]): void {
    const factor = 1 - this.learningRate * this.weightDecay;
    for (const p of parameters) {
      const w = p.value.data;
      for (let i = 0; i < w.length; i++) w[i] *= factor;
    }
  }
}

/** A stochastic gradient descent optimizer (with optional momentum and Nesterov). */
export const sgd = (options?: SgdOptions): SGD => new SGD(options);
/** An AdamW optimizer (decoupled weight decay). */
export const adamw = (options?: AdamOptions): AdamW => new AdamW(options);
/** An Adam optimizer. */
export const adam = (options?: AdamOptions): Adam => new Adam(options);
/** An RMSprop optimizer. */
export const rmsprop = (options?: RmspropOptions): RMSprop => new RMSprop(options);

/** Names of the built-in optimizers. */
export type OptimizerName = 'sgd' | 'adam' | 'adamw' | 'rmsprop';
/** What `fit({ optimizer })` accepts: a name, a config or an Optimizer. */
export type OptimizerSpec =
  | OptimizerName
  | Optimizer
  | ({ name: 'sgd' } & SgdOptions)
  | ({ name: 'adam' } & AdamOptions)
  | ({ name: 'adamw' } & AdamOptions)
  | ({ name: 'rmsprop' } & RmspropOptions);

/** An optimizer from a name ('adam'), a config ({ name: 'sgd', momentum: 0.9 }) or an instance. */
export function getOptimizer(spec: OptimizerSpec | OptimizerConfig, learningRate?: LearningRate): Optimizer {
  if (typeof spec === 'object' && spec !== null && typeof (spec as Optimizer).step === 'function') {
    const opt = spec as Optimizer;
    if (learningRate !== undefined) {
      if (isSchedule(learningRate)) {
        if (!(opt instanceof SlottedOptimizer)) throw new OptionError('a learning-rate schedule needs a built-in optimizer (sgd, adam, adamw, rmsprop)');
        opt.schedule = learningRate;
        opt.learningRate = scheduledRate(learningRate, opt.iterations, opt.name);
      } else {
        opt.learningRate = checkRate(learningRate, 'learningRate', { max: MAX_LEARNING_RATE });
      }
    }
    return opt;
  }
  const { name, ...options } = typeof spec === 'string' ? { name: spec } : (spec as { name: OptimizerName });
  const withRate = learningRate !== undefined ? { ...options, learningRate } : options;
  switch (name) {
    case 'sgd': return new SGD(withRate);
    case 'adam': return new Adam(withRate);
    case 'adamw': return new AdamW(withRate);
    case 'rmsprop': return new RMSprop(withRate);
    default: {
      const hint = typeof name === 'string' ? suggest(name, ['sgd', 'adam', 'adamw', 'rmsprop']) : undefined;
      throw new OptionError(`expected 'sgd', 'adam', 'adamw', 'rmsprop' or an Optimizer for optimizer but got ${describe(typeof spec === 'string' ? spec : name)}` +
        (hint ? ` (did you mean '${hint}'?)` : ''));
    }
  }
}
