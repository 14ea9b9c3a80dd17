// Optimizers own the parameter update; layers only compute gradients.
// Each keeps its per-parameter state (velocity, moments) keyed by the
// parameter tensor and runs one fused backend kernel per parameter.

import { getBackend } from './backends/index.js';
import type { Parameter } from './layers/layer.js';
import { describe } from './shape.js';
import type { Tensor } from './tensor.js';

export interface Optimizer {
  readonly name: string;
  learningRate: number;
  /** Updates every parameter from its gradient. */
  step(parameters: Parameter[]): void;
  /** Forgets per-parameter state (moments, step counts). */
  reset(): void;
}

function checkRate(value: unknown, what: string, { min = 0, max = Infinity, open = false } = {}): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max || (open && (value === min || value === max))) {
    throw new RangeError(`expected a number in ${open ? '(' : '['}${min}, ${max}${open ? ')' : ']'} for ${what} but got ${describe(value)}`);
  }
  return value;
}

export interface SgdOptions { learningRate?: number; momentum?: number; nesterov?: boolean }

/** Stochastic gradient descent, optionally with (Nesterov) momentum, as torch.optim.SGD. */
export class SGD implements Optimizer {
  readonly name = 'sgd';
  learningRate: number;
  readonly momentum: number;
  readonly nesterov: boolean;
  private velocity = new WeakMap<Tensor, Float32Array>();

  constructor({ learningRate = 0.01, momentum = 0, nesterov = false }: SgdOptions = {}) {
    this.learningRate = checkRate(learningRate, 'sgd learningRate');
    this.momentum = checkRate(momentum, 'sgd momentum', { max: 1 });
    this.nesterov = Boolean(nesterov);
    if (this.nesterov && this.momentum === 0) throw new RangeError('Nesterov momentum needs momentum > 0');
  }

  step(parameters: Parameter[]): void {
    const backend = getBackend();
    for (const p of parameters) {
      if (this.momentum === 0) {
        backend.axpy(-this.learningRate, p.grad.data, p.value.data);
        continue;
      }
      let v = this.velocity.get(p.value);
      if (!v) this.velocity.set(p.value, (v = new Float32Array(p.value.size)));
      backend.sgdMomentumStep(p.value.data, p.grad.data, v, this.learningRate, this.momentum, this.nesterov);
    }
  }

  reset(): void {
    this.velocity = new WeakMap();
  }
}

export interface AdamOptions { learningRate?: number; beta1?: number; beta2?: number; epsilon?: number }

/** Adam (Kingma & Ba), as torch.optim.Adam without weight decay. */
export class Adam implements Optimizer {
  readonly name = 'adam';
  learningRate: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  private state = new WeakMap<Tensor, { m: Float32Array; v: Float32Array; t: number }>();

  constructor({ learningRate = 0.001, beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8 }: AdamOptions = {}) {
    this.learningRate = checkRate(learningRate, 'adam learningRate');
    this.beta1 = checkRate(beta1, 'adam beta1', { max: 1 });
    this.beta2 = checkRate(beta2, 'adam beta2', { max: 1, open: false });
    this.epsilon = checkRate(epsilon, 'adam epsilon');
    if (this.beta1 === 1 || this.beta2 === 1) throw new RangeError('adam betas must be below 1');
  }

  step(parameters: Parameter[]): void {
    const backend = getBackend();
    for (const p of parameters) {
      let s = this.state.get(p.value);
      if (!s) this.state.set(p.value, (s = { m: new Float32Array(p.value.size), v: new Float32Array(p.value.size), t: 0 }));
      s.t++;
      const stepSize = this.learningRate / (1 - this.beta1 ** s.t);
      const bias2 = 1 - this.beta2 ** s.t;
      backend.adamStep(p.value.data, p.grad.data, s.m, s.v, stepSize, this.beta1, this.beta2, bias2, this.epsilon);
    }
  }

  reset(): void {
    this.state = new WeakMap();
  }
}

export interface RmspropOptions { learningRate?: number; rho?: number; epsilon?: number }

/** RMSprop (Hinton), as Keras' RMSprop without momentum. */
export class RMSprop implements Optimizer {
  readonly name = 'rmsprop';
  learningRate: number;
  readonly rho: number;
  readonly epsilon: number;
  private sq = new WeakMap<Tensor, Float32Array>();

  constructor({ learningRate = 0.001, rho = 0.9, epsilon = 1e-7 }: RmspropOptions = {}) {
    this.learningRate = checkRate(learningRate, 'rmsprop learningRate');
    this.rho = checkRate(rho, 'rmsprop rho', { max: 1 });
    this.epsilon = checkRate(epsilon, 'rmsprop epsilon');
  }

  step(parameters: Parameter[]): void {
    const backend = getBackend();
    for (const p of parameters) {
      let s = this.sq.get(p.value);
      if (!s) this.sq.set(p.value, (s = new Float32Array(p.value.size)));
      backend.rmspropStep(p.value.data, p.grad.data, s, this.learningRate, this.rho, this.epsilon);
    }
  }

  reset(): void {
    this.sq = new WeakMap();
  }
}

export const sgd = (options?: SgdOptions): SGD => new SGD(options);
export const adam = (options?: AdamOptions): Adam => new Adam(options);
export const rmsprop = (options?: RmspropOptions): RMSprop => new RMSprop(options);

export type OptimizerName = 'sgd' | 'adam' | 'rmsprop';
export type OptimizerSpec = OptimizerName | Optimizer | ({ name: OptimizerName } & SgdOptions & AdamOptions & RmspropOptions);

/** An optimizer from a name ('adam'), a config ({ name: 'sgd', momentum: 0.9 }) or an instance. */
export function getOptimizer(spec: OptimizerSpec, learningRate?: number): Optimizer {
  if (typeof spec === 'object' && spec !== null && typeof (spec as Optimizer).step === 'function') {
    const opt = spec as Optimizer;
    if (learningRate !== undefined) opt.learningRate = checkRate(learningRate, 'learningRate');
    return opt;
  }
  const { name, ...options } = typeof spec === 'string' ? { name: spec } : (spec as { name: OptimizerName });
  const withRate = learningRate !== undefined ? { ...options, learningRate } : options;
  switch (name) {
    case 'sgd': return new SGD(withRate);
    case 'adam': return new Adam(withRate);
    case 'rmsprop': return new RMSprop(withRate);
    default:
      throw new RangeError(`expected 'sgd', 'adam', 'rmsprop' or an Optimizer for optimizer but got ${describe(typeof spec === 'string' ? spec : name)}`);
  }
}
