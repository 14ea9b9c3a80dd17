// Seeded fuzzing of the raw native binding. Every exported function is called
// thousands of times with random valid arguments (compared with the JS backend
// to catch silent corruption) and with hostile ones: wrong types, short,
// oversized, detached, shared and resizable buffers, NaN/Inf data and scalars,
// zero/negative/fractional/overflowing sizes, malformed geometry, outputs
// aliasing inputs, missing and extra arguments. Each call must return or
// throw a JavaScript Error; a crash, a hang or (under .ci/sanitize.sh) an
// ASan/UBSan report fails the run.
//
// The seed is fixed so a failure reproduces; each function has its own stream
// (FUZZ_SEED + its index), and failure messages name the call number.
// LAYERWISE_FUZZ_CALLS scales the number of calls per function.

import { expect } from 'chai';
import { nativeAvailable, nativeBinding } from '../lib/backends/index.js';
import type { NativeBinding } from '../lib/backends/native.js';
import { CALLS_PER_FUNCTION, Fuzz, FUZZ_SEED, SPECS, VALID_SHARE, setSupportedIsas, type Kind, type Spec } from './fuzz-specs.js';



// ------------------------------------------------------------ hostile values

function detachedFloats(n: number): Float32Array {
  const a = new Float32Array(n);
  structuredClone(a.buffer, { transfer: [a.buffer] });
  return a; // length 0 now, over a detached buffer
}

function sharedCopy<T extends Float32Array | Int32Array>(a: T): T {
  const shared = new SharedArrayBuffer(a.byteLength);
  const copy = new (a.constructor as new (b: SharedArrayBuffer) => T)(shared);
  copy.set(a);
  return copy;
}

/** A length-tracking view over a resizable ArrayBuffer, shrunk after creation. */
function shrunkResizable(n: number, f: Fuzz): Float32Array {
  const Resizable = ArrayBuffer as unknown as new (bytes: number, o: { maxByteLength: number }) => ArrayBuffer & { resize(b: number): void };
  const buf = new Resizable(n * 4, { maxByteLength: Math.max(n, 1) * 8 });
  const view = new Float32Array(buf);
  buf.resize(f.int(0, n) * 4);
  return view;
}

const SPECIAL_FLOATS = [NaN, Infinity, -Infinity, -0, 3.4e38, -3.4e38, 1e-45, 1e-40, 1e30];
const HOSTILE_SIZES: unknown[] = [
  -1, -0, 0.5, 1.5, NaN, Infinity, -Infinity, 2 ** 31, 2 ** 31 - 1, 2 ** 32, 2 ** 32 + 1, 2 ** 53, 2 ** 63, 2 ** 64, -(2 ** 31),
  65536, 65537, 1e300, Number.MAX_VALUE, Number.MIN_VALUE, Number.EPSILON, '3', 3n, null, undefined, true, {}, [3],
];
const HOSTILE_SCALARS: unknown[] = [NaN, Infinity, -Infinity, -0, 1e39, -1e39, 1e-46, Number.MAX_VALUE, Number.MIN_VALUE, 2 ** 64, '0.5', 1n, null, undefined, false, {}, [0.1]];
const JUNK: Array<() => unknown> = [
  () => undefined, () => null, () => 0, () => -1, () => NaN, () => 'abc', () => '', () => true, () => 7n, () => Symbol('s'),
  () => ({}), () => [], () => [1, 2, 3], () => () => 1, () => new Date(0), () => /x/, () => new Map(),
  () => new ArrayBuffer(64), () => new SharedArrayBuffer(64), () => new DataView(new ArrayBuffer(64)),
  () => new Float64Array(64), () => new Int32Array(64), () => new Uint32Array(64), () => new Uint8Array(256), () => new Int16Array(64),
  () => new BigInt64Array(8), () => new Uint8ClampedArray(64), () => new Float32Array(64), () => new Int32Array(13), () => new Int32Array(12),
  () => new Proxy(new Float32Array(64), {}),
  () => ({ length: 64, buffer: new ArrayBuffer(256), byteOffset: 0 }),
  () => Object.create(Float32Array.prototype),
];

/**
 * A real Float32Array/Int32Array with elements and a buffer still attached.
 * slice(0, 0) throws on a detached buffer; a bare .length check was not
 * enough here (seen reading a stale non-zero length in optimised code).
 */
function isLiveArray(a: unknown): a is Float32Array | Int32Array {
  if (!ArrayBuffer.isView(a) || !(a instanceof Float32Array || a instanceof Int32Array)) return false;
  try {
    a.slice(0, 0);
  } catch {
    return false;
  }
  return a.length > 0;
}

/** A hostile or odd replacement for an argument of the given kind. */
function hostileFor(kind: Kind, original: unknown, f: Fuzz): unknown {
  if (f.chance(0.25)) return f.pick(JUNK)();
  switch (kind) {
    case 'buffer':
    case 'out':
    case 'ints': {
      const ints = kind === 'ints';
      // An earlier mutation may have left junk here (a detached array, a fake
      // with Float32Array's prototype): start from a real, live array then.
      const live = isLiveArray(original);
      const src = live ? original : new (ints ? Int32Array : Float32Array)(8);
      const n = src.length;
      const Ctor = ints ? Int32Array : Float32Array;
      switch (f.int(0, 10)) {
        case 0: return new Ctor(Math.max(0, n - f.int(1, 4)));                   // short
        case 1: return new Ctor(n + f.int(1, 5000));                            // oversized (valid: extra is ignored)
        case 2: return detachedFloats(Math.max(n, 1));                          // detached
        case 3: return sharedCopy(src);                                         // SharedArrayBuffer-backed (valid)
        case 4: return new Ctor(new ArrayBuffer((n + 8) * 4), 4 * f.int(1, 8), n); // offset view (valid)
        case 5: return shrunkResizable(n, f);                                   // resized under a length-tracking view
        case 6: return ints ? new Float32Array(n) : new Int32Array(n);          // wrong element type, right length
        case 7: return new Float64Array(n);
        case 8: {                                                               // NaN/Inf/denormal data (valid)
          const a = src.slice();
          for (let i = 0; i < a.length; i++) if (f.chance(0.3)) a[i] = f.pick(SPECIAL_FLOATS);
          if (ints) for (let i = 0; i < a.length; i++) if (f.chance(0.3)) a[i] = f.pick([-1, 2 ** 31 - 1, -(2 ** 31), 1e9]);
          return a;
        }
        case 9: return new Ctor(0);
        default: return src.subarray(f.int(0, n));                              // tail view
      }
    }
    case 'size': return f.chance(0.3) ? f.int(0, 20) : f.pick(HOSTILE_SIZES);
    case 'flag': return f.pick([0, 1, 'true', null, undefined, NaN, {}, new Boolean(true), 1n]);
    case 'scalar': return f.pick(HOSTILE_SCALARS);
    case 'activation': return f.pick([-1, 5, 6, 2 ** 31, -(2 ** 31), 0.5, 4.0000001, NaN, Infinity, '1', 'relu', null, 1n]);
    case 'isa': return f.pick(['', 'AVX2', 'avx2 ', 'sse9', 'baseline\0', 'x'.repeat(10000), 1, null, undefined, {}, ['avx2'], new String('avx2')]);
    case 'threads': return f.pick([-1, 1025, 1e6, 2 ** 31, 0.5, NaN, Infinity, -Infinity, '2', null, undefined, 2n]);
    case 'geometry':
    case 'poolGeometry': return hostileGeometry(kind === 'geometry' ? 13 : 12, original, f);
  }
}

const HUGE_DIMS = [2 ** 31 - 1, 2 ** 30, 65536, 65537, 46341, 2 ** 16 + 1, 3037000500];
function hostileGeometry(fields: number, original: unknown, f: Fuzz): unknown {
  const base = isLiveArray(original) && original instanceof Int32Array && original.length === fields
    ? original.slice() : new Int32Array(fields).fill(1);
  switch (f.int(0, 9)) {
    case 0: { // a few fields set to extreme or negative values
      for (let t = f.int(1, 3); t > 0; t--) base[f.int(0, fields - 1)] = f.pick([-1, -(2 ** 31), 0, 2 ** 31 - 1, 2 ** 30, 65536, 1000, -7]);
      return base;
    }
    case 1: { // dims whose products overflow 32 and 64 bits
      for (let i = 0; i < fields; i++) if (f.chance(0.6)) base[i] = f.pick(HUGE_DIMS);
      return base;
    }
    case 2: { // huge dims with a zero factor: every buffer size is 0, loops must not run away or overflow
      for (let i = 0; i < fields; i++) base[i] = f.pick(HUGE_DIMS);
      base[f.int(0, fields - 1)] = 0;
      return base;
    }
    case 3: return base.subarray(0, f.int(0, fields - 1));                   // too short
    case 4: { const g = new Int32Array(fields + f.int(1, 3)); g.set(base); return g; } // too long
    case 5: return Float32Array.from(base);
    case 6: return Array.from(base);
    case 7: return sharedCopy(base);                                         // valid values on a SharedArrayBuffer
    case 8: { const g = new Int32Array(fields); structuredClone(g.buffer, { transfer: [g.buffer] }); return g; }
    default: { // random small values, possibly inconsistent with the buffers
      for (let i = 0; i < fields; i++) base[i] = f.int(-2, 9);
      return base;
    }
  }
}

/** Applies 1–3 hostile changes to a valid call. */
function mutate(spec: Spec, args: unknown[], f: Fuzz): unknown[] {
  const out = args.slice();
  for (let t = f.int(1, 3); t > 0; t--) {
    const r = f.rng.next();
    if (r < 0.08) {
      out.length = f.int(0, Math.max(0, out.length - 1));                    // missing arguments
    } else if (r < 0.14) {
      for (let e = f.int(1, 4); e > 0; e--) out.push(f.pick(JUNK)());          // extra arguments (ignored)
    } else if (r < 0.3 && spec.kinds.includes('out')) {
      // an output aliasing an input, whole or overlapping part
      const outs = spec.kinds.flatMap((k, i) => (k === 'out' && i < out.length ? [i] : []));
      const ins = spec.kinds.flatMap((k, i) => ((k === 'buffer' || k === 'out') && i < out.length ? [i] : []));
      if (outs.length && ins.length) {
        const o = f.pick(outs), src = out[f.pick(ins)];
        if (isLiveArray(src) && src instanceof Float32Array) out[o] = f.chance(0.5) ? src : src.subarray(f.int(0, src.length));
      }
    } else if (spec.kinds.length > 0) {
      const i = f.int(0, spec.kinds.length - 1);
      if (i < out.length) out[i] = hostileFor(spec.kinds[i], out[i], f);
    }
  }
  return out;
}

// ----------------------------------------------------------- the comparison

/** Copies every typed array of a call, keeping arguments that were the same object the same object. */
function cloneArgs(args: unknown[]): unknown[] {
  const copies = new Map<unknown, unknown>();
  return args.map((a) => {
    if (!ArrayBuffer.isView(a)) return a;
    if (!copies.has(a)) copies.set(a, (a as Float32Array).slice());
    return copies.get(a);
  });
}

function close(a: number, e: number): boolean {
  if (Number.isNaN(e)) return Number.isNaN(a);
  if (!Number.isFinite(e)) return a === e;
  // Native sums in float with FMA, JS in double: differences are last-bit
  // rounding, relative to the largest magnitudes involved.
  return Math.abs(a - e) <= 2e-4 + 2e-4 * Math.abs(e);
}

function compareCall(native: unknown[], js: unknown[], nativeResult: unknown, jsResult: unknown, where: string): void {
  if (typeof jsResult === 'number') {
    expect(typeof nativeResult, `${where}: result type`).to.equal('number');
    if (!close(nativeResult as number, jsResult)) expect.fail(`${where}: returned ${nativeResult}, JS ${jsResult}`);
  }
  native.forEach((a, i) => {
    if (!(a instanceof Float32Array || a instanceof Int32Array)) return;
    const b = js[i] as Float32Array | Int32Array;
    for (let t = 0; t < a.length; t++) {
      const ok = a instanceof Int32Array ? a[t] === b[t] : close(a[t], b[t]);
      if (!ok) expect.fail(`${where}: argument ${i} [${t}] is ${a[t]} natively but ${b[t]} in JS`);
    }
  });
}

function describeArgs(args: unknown[]): string {
  return args.map((a) => {
    if (ArrayBuffer.isView(a)) {
      const t = a as Float32Array;
      // Array.from throws on a detached buffer (length reads as 0 there).
      const shown = t.length > 0 && t.length <= 13 ? `[${Array.prototype.join.call(t, ',')}]` : `(${t.length})`;
      return `${a.constructor.name}${shown}`;
    }
    if (typeof a === 'bigint') return `${a}n`;
    if (typeof a === 'symbol') return 'Symbol';
    if (typeof a === 'string') return JSON.stringify(a.length > 20 ? `${a.slice(0, 20)}…` : a);
    if (typeof a === 'function') return 'function';
    if (a && typeof a === 'object') return a.constructor?.name ?? 'object';
    return String(a);
  }).join(', ');
}

// ----------------------------------------------------------------- the suite

describe('fuzzing the raw binding [native]', function () {
  this.timeout(120_000); // ~1 s here; far more under ASan on a busy machine
  let binding: NativeBinding;
  let initial: { isa: string; threads: number };
  const totals = { calls: 0, threw: 0, returned: 0, compared: 0 };

  before(function () {
    if (!nativeAvailable()) throw new Error('the native addon did not load');
    binding = nativeBinding();
    const info = binding.info();
    initial = { isa: info.isa, threads: info.threads };
    setSupportedIsas(info.supported);
  });

  after(function () {
    // setIsa and setNumThreads are process-wide: leave them as found.
    if (!binding) return;
    binding.setIsa(initial.isa);
    binding.setNumThreads(initial.threads);
    console.log(`      fuzz: ${totals.calls} binding calls, ${totals.threw} threw, ${totals.returned} returned` +
      ` (${totals.compared} valid calls matched the JS backend)`);
  });

  it('covers every function the binding exports', () => {
    const exported = Object.keys(binding).filter((k) => typeof (binding as unknown as Record<string, unknown>)[k] === 'function');
    expect(SPECS.map((s) => s.fn).sort()).to.deep.equal(exported.sort());
  });

  SPECS.forEach((spec, index) => {
    it(`${spec.fn}: ${CALLS_PER_FUNCTION} random calls return or throw an Error; valid ones match JS`, () => {
      const f = new Fuzz(FUZZ_SEED + index);
      const call = binding[spec.fn] as (...a: unknown[]) => unknown;
      for (let c = 0; c < CALLS_PER_FUNCTION; c++) {
        const valid = spec.valid(f);
        const isValid = f.chance(VALID_SHARE);
        const args = isValid ? valid : mutate(spec, valid, f);
        const jsArgs = isValid && spec.js ? cloneArgs(args) : undefined;
        // Described before the call (which may change the buffers), but only
        // as a string when a check fails.
        const described = describeArgs(args);
        const where = `${spec.fn} call #${c} (seed ${FUZZ_SEED + index}): ${spec.fn}(${described})`;
        let result: unknown;
        totals.calls++;
        try {
          result = call(...args);
          totals.returned++;
        } catch (err) {
          totals.threw++;
          if (!(err instanceof Error)) expect.fail(`${where} threw a non-Error: ${String(err)}`);
          if (isValid) expect.fail(`${where}: a valid call threw ${err.message}`);
          continue;
        }
        if (spec.fn === 'info') {
          const info = result as { isa: string; threads: number; supported: string[] };
          expect(info.supported, where).to.include(info.isa);
          expect(info.threads, where).to.be.within(1, 1024);
        }
        if (jsArgs) {
          const jsResult = spec.js!(jsArgs);
          compareCall(args, jsArgs, result, jsResult, where);
          totals.compared++;
        }
      }
    });
  });

  it('throws RangeError, not a crash, for sizes whose products overflow 32 or 64 bits', () => {
    const F = (n: number) => new Float32Array(n);
    const max = 2 ** 31 - 1;
    const cases: Array<[string, () => unknown]> = [
      ['matmul 65536×65536 (2^32 elements)', () => binding.matmul(F(16), F(16), F(16), 65536, 65536, 1, false, false, false)],
      ['matmul 65537×65535 (just under 2^32)', () => binding.matmul(F(16), F(16), F(16), 65537, 65535, 1, false, false, false)],
      ['matmul 2^31−1 everywhere', () => binding.matmul(F(16), F(16), F(16), max, max, max, false, false, false)],
      ['addRowVector 2^31−1 × 2^31−1', () => binding.addRowVector(F(16), F(16), max, max)],
      ['sumRows 65536 × 65536', () => binding.sumRows(F(16), F(16), 65536, 65536, false)],
      ['softmaxRows 2^31−1 × 2^31−1', () => binding.softmaxRows(F(16), F(16), max, max)],
      ['softmaxBackwardRows 65536 × 65536', () => binding.softmaxBackwardRows(F(16), F(16), F(16), 65536, 65536)],
      ['conv input 2^124', () => binding.conv2dForward(F(16), F(16), F(16), Int32Array.of(max, max, max, max, 1, 1, 1, 1, 1, 0, 0, 1, 1), false)],
      ['conv filter 2^124', () => binding.conv2dBackwardFilter(F(16), F(16), F(16), Int32Array.of(1, 1, 1, max, max, max, max, 1, 1, 0, 0, 1, 1), false)],
      ['conv output 2^93', () => binding.conv2dBackwardInput(F(16), F(16), F(16), Int32Array.of(max, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, max, max), false)],
      ['conv im2col row 2^93', () => binding.conv2dForward(F(16), F(16), F(16), Int32Array.of(1, 1, 1, 1, max, max, 1, 1, 1, 0, 0, 1, max), false)],
      ['conv 65536^2 input (2^32)', () => binding.conv2dForward(F(16), F(16), F(16), Int32Array.of(1, 65536, 65536, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1), false)],
      ['pool image 2^32', () => binding.maxPool2dForward(F(16), F(16), new Int32Array(16), Int32Array.of(1, 65536, 65536, 1, 2, 2, 2, 2, 0, 0, 1, 1))],
      ['pool output 2^93', () => binding.avgPool2dBackward(F(16), F(16), Int32Array.of(max, 1, 1, 1, 1, 1, 1, 1, 0, 0, max, max))],
    ];
    for (const [label, run] of cases) {
      totals.calls++;
      totals.threw++;
      expect(run, label).to.throw(RangeError);
    }
  });
});
