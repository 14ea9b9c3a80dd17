// Weight initialisers, all drawn from a seeded Rng so one seed reproduces a
// network. fanIn/fanOut follow Keras: Dense [in,out] → (in, out); Conv2D
// [kh,kw,cIn,cOut] → (kh·kw·cIn, kh·kw·cOut).

import type { Rng } from './random.js';
import { describe } from './shape.js';
import { OptionError } from './errors.js';
import { ownLookup } from './options.js';

/** Names of the built-in weight initialisers. */
export type InitializerName = 'glorotUniform' | 'glorotNormal' | 'heUniform' | 'heNormal' | 'zeros';
/** Fills a weight array in place, given the layer's fan-in and fan-out and a seeded random generator. */
export type Initializer = (values: Float32Array, fanIn: number, fanOut: number, rng: Rng) => void;

/** Normal samples redrawn beyond two standard deviations, as Keras does. */
function truncatedNormal(values: Float32Array, std: number, rng: Rng): void {
  for (let i = 0; i < values.length; i++) {
    let z: number;
    do z = rng.normal(); while (Math.abs(z) > 2);
    values[i] = z * std;
  }
}

function uniform(values: Float32Array, limit: number, rng: Rng): void {
  for (let i = 0; i < values.length; i++) values[i] = rng.uniform(-limit, limit);
}

// Keras scales the truncated normal's std by 1/0.8796 so the kept samples
// still have the intended variance.
const TRUNCATION_CORRECTION = 0.87962566103423978;

/** The built-in weight initialisers by name. */
export const initializers: Record<InitializerName, Initializer> = {
  glorotUniform: (v, fanIn, fanOut, rng) => uniform(v, Math.sqrt(6 / (fanIn + fanOut)), rng),
  glorotNormal: (v, fanIn, fanOut, rng) => truncatedNormal(v, Math.sqrt(2 / (fanIn + fanOut)) / TRUNCATION_CORRECTION, rng),
  heUniform: (v, fanIn, _fanOut, rng) => uniform(v, Math.sqrt(6 / fanIn), rng),
  heNormal: (v, fanIn, _fanOut, rng) => truncatedNormal(v, Math.sqrt(2 / fanIn) / TRUNCATION_CORRECTION, rng),
  zeros: (v) => v.fill(0),
};

export function getInitializer(name: InitializerName | undefined, what: string): Initializer {
  // Own keys only: 'constructor' or 'toString' must not find Object.prototype's functions.
  const init = ownLookup(initializers, name ?? 'glorotUniform');
  if (!init) {
    throw new OptionError(`expected one of ${Object.keys(initializers).join(', ')} for ${what} but got ${describe(name)}`);
  }
  return init;
}
