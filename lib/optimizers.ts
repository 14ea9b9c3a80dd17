// Optimizers own the parameter update; layers only compute gradients.
// Each keeps its per-parameter state (velocity, moments) keyed by the
// parameter tensor and runs one fused backend kernel per parameter.

import { getBackend } from './backends/index.js';
import type { Parameter } from './layers/layer.js';
import { describe } from './shape.js';
import type { Tensor } from './tensor.js';
import { OptionError, ShapeError } from './errors.js';
import { checkOptions, suggest } from './options.js';

/** Updates parameters from their gradients after each batch; `sgd`, `adam` and `rmsprop` make the built-in ones. */
export interface Optimizer {
  readonly name: string;
  learningRate: number;
  /** Updates every parameter from its gradient. */
  step(parameters: Parameter[]): void;
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

/** For each parameter: its step count and state arrays (empty before its first step). */
export interface OptimizerState {
  steps: number[];
  slots: Float32Array[][];
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

/** The per-parameter state handling every optimizer shares. */
abstract class SlottedOptimizer implements Optimizer {
  abstract readonly name: OptimizerName;
  abstract learningRate: number;
  protected readonly slots: ParameterSlots;

  constructor(slotCount: number, owner: string) {
    this.slots = new ParameterSlots(slotCount, owner);
  }

  abstract step(parameters: Parameter[]): void;
  abstract getConfig(): OptimizerConfig;

  reset(): void {
    this.slots.reset();
  }

  getState(parameters: Parameter[]): OptimizerState {
    return this.slots.export(parameters);
  }

  setState(parameters: Parameter[], state: OptimizerState): void {
    this.slots.import(parameters, state);
  }
}

/** Hyper-parameters of SGD (defaults: learningRate 0.01, momentum 0, nesterov false). */
export interface SgdOptions { learningRate?: number; momentum?: number; nesterov?: boolean }
const SGD_OPTION_KEYS: readonly (keyof SgdOptions)[] = ['learningRate', 'momentum', 'nesterov'];

/** Stochastic gradient descent, optionally with (Nesterov) momentum, as torch.optim.SGD. */
export class SGD extends SlottedOptimizer {
  readonly name = 'sgd' as const;
  learningRate: number;
  readonly momentum: number;
  readonly nesterov: boolean;

  constructor(options: SgdOptions = {}) {
    checkOptions(options, SGD_OPTION_KEYS, 'sgd options');
    const { learningRate = 0.01, momentum = 0, nesterov = false } = options;
    super(1, 'sgd');
    this.learningRate = checkRate(learningRate, 'sgd learningRate', { max: MAX_LEARNING_RATE });
    this.momentum = checkRate(momentum, 'sgd momentum', { max: 1 });
    this.nesterov = Boolean(nesterov);
    if (this.nesterov && this.momentum === 0) throw new OptionError('Nesterov momentum needs momentum > 0');
  }

  step(parameters: Parameter[]): void {
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


  getConfig(): OptimizerConfig {
    return { name: 'sgd', learningRate: this.learningRate, momentum: this.momentum, nesterov: this.nesterov };
  }

}

/** Hyper-parameters of Adam (defaults: learningRate 0.001, beta1 0.9, beta2 0.999, epsilon 1e-8). */
export interface AdamOptions { learningRate?: number; beta1?: number; beta2?: number; epsilon?: number }
const ADAM_OPTION_KEYS: readonly (keyof AdamOptions)[] = ['learningRate', 'beta1', 'beta2', 'epsilon'];

/** Adam (Kingma & Ba), as torch.optim.Adam without weight decay. */
export class Adam extends SlottedOptimizer {
  readonly name = 'adam' as const;
  learningRate: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;

  constructor(options: AdamOptions = {}) {
    checkOptions(options, ADAM_OPTION_KEYS, 'adam options');
    const { learningRate = 0.001, beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8 } = options;
    super(2, 'adam');
    this.learningRate = checkRate(learningRate, 'adam learningRate', { max: MAX_LEARNING_RATE });
    this.beta1 = checkRate(beta1, 'adam beta1', { max: 1 });
    this.beta2 = checkRate(beta2, 'adam beta2', { max: 1, open: false });
    this.epsilon = checkRate(epsilon, 'adam epsilon');
    if (this.beta1 === 1 || this.beta2 === 1) throw new OptionError('adam betas must be below 1');
  }

  step(parameters: Parameter[]): void {
    const backend = getBackend();
    for (const p of parameters) {
      const s = this.slots.get(p);
      const t = ++s.steps;
      const stepSize = this.learningRate / (1 - this.beta1 ** t);
      const bias2 = 1 - this.beta2 ** t;
      backend.adamStep(p.value.data, p.grad.data, s.arrays[0], s.arrays[1], stepSize, this.beta1, this.beta2, bias2, this.epsilon);
    }
  }


  getConfig(): OptimizerConfig {
    return { name: 'adam', learningRate: this.learningRate, beta1: this.beta1, beta2: this.beta2, epsilon: this.epsilon };
  }

}

/** Hyper-parameters of RMSprop (defaults: learningRate 0.001, rho 0.9, epsilon 1e-7). */
export interface RmspropOptions { learningRate?: number; rho?: number; epsilon?: number }
const RMSPROP_OPTION_KEYS: readonly (keyof RmspropOptions)[] = ['learningRate', 'rho', 'epsilon'];

/** RMSprop (Hinton), as Keras' RMSprop without momentum. */
export class RMSprop extends SlottedOptimizer {
  readonly name = 'rmsprop' as const;
  learningRate: number;
  readonly rho: number;
  readonly epsilon: number;

  constructor(options: RmspropOptions = {}) {
    checkOptions(options, RMSPROP_OPTION_KEYS, 'rmsprop options');
    const { learningRate = 0.001, rho = 0.9, epsilon = 1e-7 } = options;
    super(1, 'rmsprop');
    this.learningRate = checkRate(learningRate, 'rmsprop learningRate', { max: MAX_LEARNING_RATE });
    this.rho = checkRate(rho, 'rmsprop rho', { max: 1 });
    this.epsilon = checkRate(epsilon, 'rmsprop epsilon');
  }

  step(parameters: Parameter[]): void {
    const backend = getBackend();
    for (const p of parameters) {
      const s = this.slots.get(p);
      s.steps++;
      backend.rmspropStep(p.value.data, p.grad.data, s.arrays[0], this.learningRate, this.rho, this.epsilon);
    }
  }


  getConfig(): OptimizerConfig {
    return { name: 'rmsprop', learningRate: this.learningRate, rho: this.rho, epsilon: this.epsilon };
  }

}

/** A stochastic gradient descent optimizer (with optional momentum and Nesterov). */
export const sgd = (options?: SgdOptions): SGD => new SGD(options);
/** An Adam optimizer. */
export const adam = (options?: AdamOptions): Adam => new Adam(options);
/** An RMSprop optimizer. */
export const rmsprop = (options?: RmspropOptions): RMSprop => new RMSprop(options);

/** Names of the built-in optimizers. */
export type OptimizerName = 'sgd' | 'adam' | 'rmsprop';
/** What `fit({ optimizer })` accepts: a name, a config or an Optimizer. */
export type OptimizerSpec =
  | OptimizerName
  | Optimizer
  | ({ name: 'sgd' } & SgdOptions)
  | ({ name: 'adam' } & AdamOptions)
  | ({ name: 'rmsprop' } & RmspropOptions);

/** An optimizer from a name ('adam'), a config ({ name: 'sgd', momentum: 0.9 }) or an instance. */
export function getOptimizer(spec: OptimizerSpec | OptimizerConfig, learningRate?: number): Optimizer {
  if (typeof spec === 'object' && spec !== null && typeof (spec as Optimizer).step === 'function') {
    const opt = spec as Optimizer;
    if (learningRate !== undefined) opt.learningRate = checkRate(learningRate, 'learningRate', { max: MAX_LEARNING_RATE });
    return opt;
  }
  const { name, ...options } = typeof spec === 'string' ? { name: spec } : (spec as { name: OptimizerName });
  const withRate = learningRate !== undefined ? { ...options, learningRate } : options;
  switch (name) {
    case 'sgd': return new SGD(withRate);
    case 'adam': return new Adam(withRate);
    case 'rmsprop': return new RMSprop(withRate);
    default: {
      const hint = typeof name === 'string' ? suggest(name, ['sgd', 'adam', 'rmsprop']) : undefined;
      throw new OptionError(`expected 'sgd', 'adam', 'rmsprop' or an Optimizer for optimizer but got ${describe(typeof spec === 'string' ? spec : name)}` +
        (hint ? ` (did you mean '${hint}'?)` : ''));
    }
  }
}
