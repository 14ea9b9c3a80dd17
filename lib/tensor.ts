// Tensor: a shape and a Float32Array, row-major, sample dimension first and
// channels last. Memory is ordinary garbage-collected typed arrays, so nothing
// ever needs disposing.

import { checkShape, describe, formatShape, sizeOf, type Shape } from './shape.js';
import { alignedFloat32Array } from './aligned.js';
import { DataError, OptionError, ShapeError } from './errors.js';

/** Nested arrays of numbers, as written in code or parsed from JSON. */
export type NestedArray = number | readonly NestedArray[];
/** What inputs accept: a `Tensor`, nested number arrays, or a flat `Float32Array`. */
export type TensorLike = Tensor | NestedArray | Float32Array;

/** An n-dimensional array of float32 values: a `Float32Array` and its shape, row-major, sample dimension first. Nothing needs disposing. */
export class Tensor {
  readonly shape: readonly number[];
  readonly data: Float32Array;

  /**
   * Wraps `data` (not copied when it is a Float32Array) with `shape`.
   * Throws unless the shape's sizes multiply to `data.length`.
   */
  constructor(data: Float32Array | ArrayLike<number>, shape: Shape) {
    const dims = checkShape(shape, 'tensor shape');
    let floats: Float32Array;
    if (data instanceof Float32Array) {
      floats = data;
    } else {
      if (data === null || typeof data !== 'object' || typeof (data as ArrayLike<number>).length !== 'number') {
        throw new OptionError(`expected a Float32Array or an array of numbers for tensor data but got ${describe(data)}`);
      }
      floats = toFloat32(data, 'tensor data');
    }
    const expected = sizeOf(dims);
    if (floats.length !== expected) {
      throw new ShapeError(`expected ${expected} values for shape ${formatShape(dims)} but got ${floats.length}`);
    }
    this.shape = Object.freeze(dims);
    this.data = floats;
  }

  static zeros(shape: Shape): Tensor {
    return zerosFrom(shape, (length) => new Float32Array(length));
  }

  /** Builds a tensor from nested arrays (shape inferred) or copies a tensor. */
  static from(value: TensorLike, what = 'tensor'): Tensor {
    if (value instanceof Tensor) return new Tensor(value.data.slice(), value.shape);
    if (value instanceof Float32Array) return new Tensor(value.slice(), [value.length]);
    const shape = inferShape(value, what);
    const data = new Float32Array(sizeOf(shape));
    let offset = 0;
    const fill = (v: NestedArray, depth: number, path: number[]): void => {
      if (depth === shape.length) {
        if (typeof v !== 'number') {
          throw new DataError(`expected a number at ${what}${formatPath(path)} but got ${describe(v)}`);
        }
        data[offset++] = v;
        return;
      }
      if (!Array.isArray(v)) {
        throw new DataError(`expected an array at ${what}${formatPath(path)} but got ${describe(v)}`);
      }
      if (v.length !== shape[depth]) {
        throw new ShapeError(
          `ragged nested array: expected length ${shape[depth]} at ${what}${formatPath(path)} but got ${v.length}`,
        );
      }
      for (let i = 0; i < v.length; i++) fill(v[i], depth + 1, [...path, i]);
    };
    fill(value, 0, []);
    return new Tensor(data, shape);
  }

  get size(): number {
    return this.data.length;
  }

  get rank(): number {
    return this.shape.length;
  }

  /** Same data, new shape (one size may be -1 to infer it). */
  reshape(shape: readonly number[]): Tensor {
    const inferred = shape.indexOf(-1);
    if (inferred >= 0) {
      const known = sizeOf(shape.filter((_, i) => i !== inferred));
      const dims = [...shape];
      dims[inferred] = known === 0 ? 0 : this.size / known;
      if (!Number.isInteger(dims[inferred])) {
        throw new ShapeError(`cannot reshape ${formatShape(this.shape)} to ${formatShape(shape)}`);
      }
      return new Tensor(this.data, dims);
    }
    if (sizeOf(checkShape(shape, 'reshape')) !== this.size) {
      throw new ShapeError(`cannot reshape ${formatShape(this.shape)} to ${formatShape(shape)}`);
    }
    return new Tensor(this.data, shape);
  }

  clone(): Tensor {
    return new Tensor(this.data.slice(), this.shape);
  }

  /** Samples [start, end) along the first dimension, copied. */
  slice(start: number, end: number): Tensor {
    const rowSize = this.rowSize();
    return new Tensor(this.data.slice(start * rowSize, end * rowSize), [end - start, ...this.shape.slice(1)]);
  }

  /**
   * Samples [start, end) along the first dimension sharing this tensor's
   * memory (no copy): writes through either one show in both.
   */
  view(start: number, end: number): Tensor {
    const rowSize = this.rowSize();
    return new Tensor(this.data.subarray(start * rowSize, end * rowSize), [end - start, ...this.shape.slice(1)]);
  }

  private rowSize(): number {
    return this.shape.length === 0 ? 1 : this.size / Math.max(1, this.shape[0]);
  }

  /** Element at a full index, e.g. `t.get(0, 2)`. */
  get(...index: number[]): number {
    if (index.length !== this.rank) {
      throw new ShapeError(`expected ${this.rank} indices for shape ${formatShape(this.shape)} but got ${index.length}`);
    }
    let offset = 0;
    for (let d = 0; d < index.length; d++) {
      const i = index[d];
      if (!Number.isInteger(i) || i < 0 || i >= this.shape[d]) {
        throw new ShapeError(`index ${formatShape(index)} is outside shape ${formatShape(this.shape)}`);
      }
      offset = offset * this.shape[d] + i;
    }
    return this.data[offset];
  }

  /** Nested arrays of plain numbers (a number for a rank-0 tensor). */
  toArray(): NestedArray {
    if (this.rank === 0) return this.data[0];
    const build = (depth: number, offset: number): NestedArray => {
      const n = this.shape[depth];
      if (depth === this.rank - 1) return Array.from(this.data.subarray(offset, offset + n));
      const stride = sizeOf(this.shape.slice(depth + 1));
      const out: NestedArray[] = [];
      for (let i = 0; i < n; i++) out.push(build(depth + 1, offset + i * stride));
      return out;
    };
    return build(0, 0);
  }

  toString(): string {
    return `Tensor${formatShape(this.shape)} ${JSON.stringify(this.toArray())}`;
  }
}

/** `tensor([[1, 2], [3, 4]])` or `tensor(values, [2, 2])`. */
export function tensor(values: TensorLike | ArrayLike<number>, shape?: Shape): Tensor {
  if (shape !== undefined) {
    if (values instanceof Tensor) return new Tensor(values.data.slice(), shape);
    return new Tensor(values instanceof Float32Array ? values.slice() : toFloat32(values as ArrayLike<number>, 'tensor data'), shape);
  }
  return Tensor.from(values as TensorLike);
}

/** A Tensor as is, anything else converted (nested arrays copied). */
export function toTensor(value: TensorLike, what: string): Tensor {
  if (value instanceof Tensor) return value;
  if (value === null || value === undefined || (typeof value !== 'object' && typeof value !== 'number')) {
    throw new OptionError(`expected a Tensor or nested arrays of numbers for ${what} but got ${describe(value)}`);
  }
  return Tensor.from(value, what);
}

function toFloat32(values: ArrayLike<number>, what: string): Float32Array {
  const out = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (typeof v !== 'number') throw new DataError(`expected a number at ${what}[${i}] but got ${describe(v)}`);
    out[i] = v;
  }
  return out;
}

function inferShape(value: NestedArray, what: string): number[] {
  const shape: number[] = [];
  let v: unknown = value;
  while (Array.isArray(v)) {
    shape.push(v.length);
    if (v.length === 0) break;
    v = v[0];
  }
  if (shape.length === 0 && typeof value !== 'number') {
    throw new OptionError(`expected nested arrays of numbers for ${what} but got ${describe(value)}`);
  }
  return shape;
}

function formatPath(path: number[]): string {
  return path.map((i) => `[${i}]`).join('');
}

/** An allocation budget in force while a network is built from untrusted data. */
let budget: { remaining: number; onExceeded: (shape: readonly number[], remaining: number) => Error } | undefined;

/**
 * Runs `build` with at most `floats` values allocated through Tensor.zeros
 * (which layers use for their parameters and gradients). A model file or spec
 * declaring `inputSize: 4294967296` then fails with `onExceeded`'s error before
 * any memory is reserved, instead of the process trying to allocate 34 GB.
 */
export function withAllocationBudget<T>(
  floats: number, onExceeded: (shape: readonly number[], remaining: number) => Error, build: () => T,
): T {
  const outer = budget;
  // Nested budgets (a spec built while loading a model file): the tighter one rules.
  budget = outer !== undefined && outer.remaining <= floats ? outer : { remaining: floats, onExceeded };
  try {
    return build();
  } finally {
    budget = outer;
  }
}

/**
 * Tensor.zeros with its data on a 128-byte boundary (lib/aligned.ts), for the
 * weights and gradients the native kernels split between threads. Internal:
 * the array's buffer is a little longer than the tensor.
 */
export function alignedZeros(shape: Shape): Tensor {
  return zerosFrom(shape, alignedFloat32Array);
}

function zerosFrom(shape: Shape, allocate: (length: number) => Float32Array): Tensor {
  const dims = checkShape(shape, 'tensor shape');
  chargeAllocation(dims);
  let data: Float32Array;
  try {
    data = allocate(sizeOf(dims));
  } catch (err) {
    // Beyond the largest typed array, or out of memory: name the shape that asked.
    throw new ShapeError(`cannot allocate a ${formatShape(dims)} tensor (${sizeOf(dims)} values): ${(err as Error).message}`);
  }
  return new Tensor(data, dims);
}

function chargeAllocation(dims: readonly number[]): void {
  if (!budget) return;
  const size = sizeOf(dims);
  if (size > budget.remaining) throw budget.onExceeded(dims, budget.remaining);
  budget.remaining -= size;
}
