import { OptionError, ShapeError } from './errors.js';
// Shape helpers and the error messages every public entry point uses, so a
// caller always learns what was expected and what came.

/** A tensor's dimensions, sample dimension first. */
export type Shape = readonly number[];

/** `[32,784]`; `null` entries in an expected shape print as `*` (any size). */
export function formatShape(shape: readonly (number | null)[]): string {
  return `[${shape.map((d) => (d === null ? '*' : String(d))).join(',')}]`;
}

export function sizeOf(shape: Shape): number {
  let size = 1;
  for (const d of shape) size *= d;
  return size;
}

export function sameShape(a: Shape, b: Shape): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Describes a value for an error message without dumping large objects. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (typeof value === 'string') return `string '${value.length > 20 ? value.slice(0, 20) + '…' : value}'`;
  if (typeof value === 'number') return `number ${value}`;
  if (Array.isArray(value)) return `array of length ${value.length}`;
  if (ArrayBuffer.isView(value)) return `${value.constructor.name} of length ${(value as unknown as ArrayLike<number>).length}`;
  if (typeof value === 'object') return (value as object).constructor?.name ?? 'object';
  return typeof value;
}

export function checkShape(shape: unknown, what: string): number[] {
  if (!Array.isArray(shape)) throw new OptionError(`expected an array of sizes for ${what} but got ${describe(shape)}`);
  for (const d of shape) {
    if (typeof d !== 'number' || !Number.isInteger(d) || d < 0) {
      throw new ShapeError(`expected non-negative integer sizes for ${what} but got ${JSON.stringify(shape)}`);
    }
  }
  return [...shape];
}

/**
 * Throws `expected [*,784] for input but got [32,785]` unless `actual` matches
 * `expected` (`null` matches any size).
 */
export function assertShape(actual: Shape, expected: readonly (number | null)[], what: string): void {
  const ok = actual.length === expected.length && expected.every((d, i) => d === null || d === actual[i]);
  if (!ok) throw new ShapeError(`expected ${formatShape(expected)} for ${what} but got ${formatShape(actual)}`);
}

export function assertPositiveInteger(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new OptionError(`expected a positive integer for ${what} but got ${describe(value)}`);
  }
  return value;
}

/** An image layer's `inputShape` option: `[h, w, channels]` of positive safe integers, copied. */
export function assertImageShape(value: unknown, what: string): [number, number, number] {
  if (!Array.isArray(value) || value.length !== 3 || !value.every((d) => Number.isSafeInteger(d) && d > 0)) {
    throw new OptionError(`expected [h, w, channels] of positive integers for ${what} but got ${describe(value)}`);
  }
  return [value[0], value[1], value[2]];
}

export function assertFiniteNumber(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new OptionError(`expected a finite number for ${what} but got ${describe(value)}`);
  }
  return value;
}
