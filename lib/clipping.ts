// Gradient clipping by global norm: when the L2 norm of all gradients
// together exceeds `maxNorm`, every gradient is scaled by maxNorm / norm, so
// the step keeps its direction but cannot explode. The usual cure, with a
// lower learning rate, for a fit that diverges.

import type { Parameter } from './layers/layer.js';
import { OptionError } from './errors.js';
import { describe } from './shape.js';

export function checkClipNorm(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new OptionError(`expected a finite number > 0 for clipNorm but got ${describe(value)}`);
  }
  return value;
}

/**
 * Scales the gradients in place when their global norm exceeds maxNorm and
 * returns that norm. A non-finite norm is left alone: the step it leads to is
 * caught and rolled back by fit's divergence check.
 */
export function clipGradientNorm(params: readonly Parameter[], maxNorm: number): number {
  let sumSquares = 0;
  for (const p of params) {
    const g = p.grad.data;
    for (let i = 0; i < g.length; i++) sumSquares += g[i] * g[i];
  }
  const norm = Math.sqrt(sumSquares);
  if (!(norm > maxNorm) || !Number.isFinite(norm)) return norm;
  const scale = maxNorm / norm;
  for (const p of params) {
    const g = p.grad.data;
    for (let i = 0; i < g.length; i++) g[i] *= scale;
  }
  return norm;
}
