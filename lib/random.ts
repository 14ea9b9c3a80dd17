import { OptionError } from './errors.js';
// A small seeded generator (xoshiro128**), so one seed reproduces
// initialisation bit for bit on every backend and platform.

/** An `Rng`'s state as plain data. */
export interface RngState {
  s: number[];
  spareNormal: number | null;
}

/** The seeded random generator behind initialisation, shuffling and dropout (xoshiro128**); its state can be saved and restored. */
export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  private spareNormal: number | null = null;

  constructor(seed: number = randomSeed()) {
    // splitmix32 spreads any integer seed over the 128-bit state; an all-zero
    // state would be a fixed point of xoshiro.
    let x = seed >>> 0;
    const next = (): number => {
      x = (x + 0x9e3779b9) | 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
  }

  /** Uniform 32-bit unsigned integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  uniform(low: number, high: number): number {
    return low + (high - low) * this.next();
  }

  /** Standard normal (Box–Muller, keeping the second value). */
  normal(): number {
    if (this.spareNormal !== null) {
      const v = this.spareNormal;
      this.spareNormal = null;
      return v;
    }
    let u = 0;
    while (u === 0) u = this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spareNormal = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** The generator's position, to continue the same stream later (checkpoints). */
  getState(): RngState {
    return { s: [this.s0 >>> 0, this.s1 >>> 0, this.s2 >>> 0, this.s3 >>> 0], spareNormal: this.spareNormal };
  }

  static fromState(state: RngState): Rng {
    const ok = state && Array.isArray(state.s) && state.s.length === 4 && state.s.every((v) => Number.isInteger(v) && v >= 0 && v < 2 ** 32);
    if (!ok) throw new OptionError('expected a random generator state { s: [4 uint32], spareNormal }');
    const rng = new Rng(0);
    [rng.s0, rng.s1, rng.s2, rng.s3] = state.s.map((v) => v | 0);
    rng.spareNormal = typeof state.spareNormal === 'number' ? state.spareNormal : null;
    return rng;
  }

  /** A new generator whose stream is independent of this one's future draws. */
  fork(): Rng {
    return new Rng(this.nextUint32());
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

export function randomSeed(): number {
  return (Math.random() * 4294967296) >>> 0;
}
