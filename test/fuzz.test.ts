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
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import {
  Activation, Adam, Conv2D, DataFileError, Dense, LayerwiseError, MaxPool2D, ModelFileError, Network, OptionError, SGD,
  loadCsv, loadIdx, networkFromSpec, parseCsv, parseIdx, tensor,
} from '../lib/index.js';
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
        // The main thread, which runs these calls, is never moved to the idle class.
        if (spec.fn === 'makeThreadIdlePriority') expect(result, where).to.equal(false);
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
      ['matmul 65536×65536 (2^32 elements)', () => binding.matmul(F(16), F(16), F(16), 65536, 65536, 1, false, false, false, 1)],
      ['matmul 65537×65535 (just under 2^32)', () => binding.matmul(F(16), F(16), F(16), 65537, 65535, 1, false, false, false, 1)],
      ['matmul 2^31−1 everywhere', () => binding.matmul(F(16), F(16), F(16), max, max, max, false, false, false, 1)],
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
      ['global pool 2^93', () => binding.globalMaxPoolForward(F(16), F(16), new Int32Array(16), max, max, max)],
      ['global pool input 2^32', () => binding.globalAvgPoolBackward(F(16), F(16), 1, 65536, 65536)],
    ];
    for (const [label, run] of cases) {
      totals.calls++;
      totals.threw++;
      expect(run, label).to.throw(RangeError);
    }
  });
});

// ------------------------------------------- hostile inputs above the binding
//
// The same seeded approach for what a user or a file hands the library: spec
// files, model.json manifests, IDX files and options objects. Each input must
// end in a coded LayerwiseError (or a valid result), never a RangeError from
// an allocation, a hang, a polluted prototype or memory growth.

describe('fuzzing the layers above the binding', function () {
  this.timeout(180_000);
  const HOSTILE_VALUES: unknown[] = [
    -1, 0, 0.5, 1e9, 2 ** 31, 2 ** 32, 2 ** 32 + 2, 2 ** 53, 1e308, -1e308, null, true, '7', 'constructor', 'toString', '__proto__', [], {}, [2 ** 32, 2 ** 32, 1],
  ];
  const MIB = 2 ** 20;
  const dirs: string[] = [];
  after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
  const tempDir = () => {
    const d = mkdtempSync(path.join(os.tmpdir(), 'layerwise-fuzz-'));
    dirs.push(d);
    return d;
  };
  const expectLayerwiseError = (err: unknown, where: string) => {
    if (!(err instanceof LayerwiseError)) expect.fail(`${where}: expected a LayerwiseError but got ${err instanceof Error ? `${err.constructor.name}: ${err.message}` : String(err)}`);
  };

  function randomLayer(f: Fuzz): Record<string, unknown> {
    const size = () => (f.chance(0.5) ? f.pick(HOSTILE_VALUES) : f.int(1, 6));
    const pair = () => (f.chance(0.3) ? [size(), size()] : size());
    const image = () => (f.chance(0.5) ? { inputShape: [size(), size(), size()] } : {});
    switch (f.int(0, 8)) {
      case 6: return { type: f.pick(['GlobalAveragePooling2D', 'GlobalMaxPooling2D']), ...image() };
      case 7: return { type: 'Reshape', targetShape: f.chance(0.2) ? size() : [size(), f.pick([-1, -2, 0, size()])], ...(f.chance(0.3) ? { inputShape: [size()] } : {}) };
      case 8: return f.chance(0.5)
        ? { type: 'RandomFlip', mode: f.pick(['horizontal', 'vertical', 'diagonal', 'constructor', 1]), seed: f.pick([1, -1, 1.5, 2 ** 53, '1']), ...image() }
        : { type: 'RandomTranslation', height: f.pick([0.1, 0, 1, -0.5, NaN, '0.1']), width: f.pick([0.2, 2 ** 53]), fill: f.pick(['zeros', 'reflect']), ...image() };
      case 0: return { type: 'Dense', inputSize: size(), outputSize: size() };
      case 1: return { type: 'Conv2D', filters: size(), kernelSize: pair(), strides: f.chance(0.3) ? pair() : 1, inputShape: [size(), size(), size()] };
      case 2: return { type: f.pick(['MaxPool2D', 'AvgPool2D']), poolSize: pair(), strides: f.chance(0.3) ? pair() : undefined };
      case 3: return { type: 'Activation', kind: f.pick(['relu', 'tanh', 'constructor', 'valueOf', 'hasOwnProperty', 1]) };
      case 4: return { type: 'Dropout', rate: f.pick([0.5, -1, 1, 2, NaN, '0.5']) };
      default: return { type: f.pick(['Flatten', 'constructor', '__proto__', 'toString', '']) };
    }
  }

  it('300 random spec files with absurd sizes (10^9 units, 2^32, 2^53, 1e308, prototype names) fail with a LayerwiseError before allocating', () => {
    const f = new Fuzz(FUZZ_SEED + 1000);
    const rss = process.memoryUsage().rss;
    let built = 0, refused = 0;
    for (let c = 0; c < 300; c++) {
      // Through JSON, as a spec file arrives (NaN becomes null, undefined keys vanish).
      const text = JSON.stringify({ seed: 1, layers: Array.from({ length: f.int(1, 4) }, () => randomLayer(f)), loss: f.pick([undefined, 'mse', 'constructor', 'toString']) });
      try {
        const net = networkFromSpec(JSON.parse(text));
        built++;
        const values = net.getWeights().reduce((n, w) => n + w.length, 0);
        expect(values, text).to.be.at.most(2 ** 29);
      } catch (err) {
        refused++;
        expectLayerwiseError(err, text);
      }
    }
    expect(built, 'some random specs are valid').to.be.greaterThan(0);
    expect(refused, 'most random specs are not').to.be.greaterThan(built);
    expect(process.memoryUsage().rss - rss).to.be.below(256 * MIB);
  });

  it('shapes whose products overflow 32 bits are refused, never wrapped: tensors, Conv2D inputShape, pool and kernel sizes', () => {
    const cases: Array<[string, () => unknown]> = [
      ['tensor [65536,65536]', () => tensor(new Float32Array(4), [65536, 65536])],
      ['tensor [2^16,2^16,2^16]', () => tensor(new Float32Array(4), [65536, 65536, 65536])],
      ['tensor [2^32+1]', () => tensor(new Float32Array(1), [2 ** 32 + 1])],
      ['Conv2D inputShape [2^32,2,1]', () => new Conv2D({ filters: 1, kernelSize: 1, inputShape: [2 ** 32, 2, 1] })],
      ['Conv2D inputShape [2,2,2^32]', () => new Conv2D({ filters: 1, kernelSize: 1, inputShape: [2, 2, 2 ** 32] })],
      ['Conv2D 65536x65536 kernel', () => new Conv2D({ filters: 2, kernelSize: 65536, inputChannels: 1 })],
      ['Dense 65536x65536', () => networkFromSpec({ layers: [{ type: 'Dense', inputSize: 65536, outputSize: 65536 }] })],
      ['MaxPool2D 2^32+2', () => new MaxPool2D({ poolSize: 2 ** 32 + 2 })],
      ['MaxPool2D strides 2^32+1', () => new MaxPool2D({ poolSize: 2, strides: 2 ** 32 + 1 })],
    ];
    for (const [label, run] of cases) expectLayerwiseError(thrownBy(run), label);
  });

  it('200 mutated model.json files (hostile values, prototype keys, deleted fields), re-signed: each loads or fails with a ModelFileError', async () => {
    const dir = tempDir();
    const net = new Network({ seed: 1 }).add(new Dense(3, 2)).add(new Activation('relu')).use('mse');
    await net.save(dir, { optimizer: new Adam() });
    const file = path.join(dir, 'model.json');
    const original = readFileSync(file, 'utf8');
    const f = new Fuzz(FUZZ_SEED + 2000);
    const rss = process.memoryUsage().rss;
    let loaded = 0;
    for (let c = 0; c < 200; c++) {
      const model = JSON.parse(original) as Record<string, unknown>;
      delete model.sha256;
      // Walk to a random object or array in the manifest.
      let node: Record<string, unknown> = model;
      while (f.chance(0.6)) {
        const children = Object.values(node).filter((v): v is Record<string, unknown> => v !== null && typeof v === 'object');
        if (children.length === 0) break;
        node = f.pick(children);
      }
      const keys = Object.keys(node);
      const action = f.int(0, 2);
      let text: string;
      if (action === 0 && keys.length > 0) {
        node[f.pick(keys)] = f.pick(HOSTILE_VALUES);
        text = JSON.stringify(model);
      } else if (action === 1 && keys.length > 0) {
        delete node[f.pick(keys)];
        text = JSON.stringify(model);
      } else {
        // A prototype key can only arrive as text: JSON.parse makes it an own property.
        const marker = 'fuzz-marker';
        node[marker] = 1;
        text = JSON.stringify(model).replace(`"${marker}":1`, `"${f.pick(['__proto__', 'constructor', 'prototype'])}":{"polluted":1}`);
      }
      const manifest = JSON.parse(text) as Record<string, unknown>;
      writeFileSync(file, JSON.stringify({ ...manifest, sha256: createHash('sha256').update(JSON.stringify(manifest)).digest('hex') }));
      try {
        const back = await Network.load(dir);
        loaded++;
        for (const v of back.predict([[1, 2, 3]]).data) expect(Number.isFinite(v), text).to.equal(true);
      } catch (err) {
        expectLayerwiseError(err, text);
        if (!(err instanceof ModelFileError) && !(err instanceof OptionError)) expect.fail(`${text}: ${(err as Error).message}`);
      }
      expect(({} as Record<string, unknown>).polluted, text).to.equal(undefined);
    }
    expect(loaded, 'harmless mutations still load').to.be.greaterThan(0);
    expect(process.memoryUsage().rss - rss).to.be.below(256 * MIB);
  });

  it('300 random IDX files (random dims, truncated or padded, raw or gzipped, gzip bombs): each parses to its declared size or fails with a DataFileError', () => {
    const f = new Fuzz(FUZZ_SEED + 3000);
    const rss = process.memoryUsage().rss;
    for (let c = 0; c < 300; c++) {
      const rank = f.int(0, 4);
      const code = f.pick([0x08, 0x09, 0x0b, 0x0c, 0x0d, 0x0e, 0x00, 0xff]);
      const dims = Array.from({ length: rank }, () => (f.chance(0.2) ? f.pick([0, 65536, 2 ** 31, 2 ** 32 - 1]) : f.int(1, 5)));
      const header = Buffer.alloc(4 + 4 * rank);
      header[2] = code;
      header[3] = rank;
      dims.forEach((d, i) => header.writeUInt32BE(d >>> 0, 4 + 4 * i));
      const width = ({ 0x08: 1, 0x09: 1, 0x0b: 2, 0x0c: 4, 0x0d: 4, 0x0e: 8 } as Record<number, number>)[code] ?? 1;
      const declared = dims.reduce((a, b) => a * b, 1) * width;
      const payloadBytes = Math.max(0, Math.min(declared, 4096) + f.pick([0, 0, -1, 1, 100]));
      // A bomb: a run of zeros far past the declared size inflates from a few bytes.
      const bytes = Buffer.concat([header, Buffer.alloc(f.chance(0.1) ? 8 * MIB : payloadBytes, f.int(0, 255))]);
      const input = f.chance(0.5) ? gzipSync(bytes, { level: 1 }) : bytes;
      const cut = f.chance(0.2) ? input.subarray(0, f.int(0, input.length)) : input;
      const where = `IDX case ${c}: code 0x${code.toString(16)}, dims [${dims}], ${bytes.length} bytes${input === bytes ? '' : ' gzipped'}${cut === input ? '' : `, cut to ${cut.length}`}`;
      try {
        const parsed = parseIdx(cut, `case ${c}`, { maxBytes: 1 * MIB });
        expect(parsed.shape, where).to.deep.equal(dims);
        expect(parsed.data.length, where).to.equal(dims.reduce((a, b) => a * b, 1));
      } catch (err) {
        expectLayerwiseError(err, where);
        expect(err, where).to.be.instanceOf(DataFileError);
      }
    }
    expect(process.memoryUsage().rss - rss).to.be.below(400 * MIB);
  });

  it('CSV bombs: a 64 MiB line without a newline, a row of 50 000 delimiters, 10^6 one-cell rows of junk: each a DataFileError with bounded memory', async () => {
    const dir = tempDir();
    const longLine = path.join(dir, 'long-line.csv');
    writeFileSync(longLine, 'a,b\n' + '1'.repeat(64 * MIB));
    const wide = path.join(dir, 'wide.csv');
    writeFileSync(wide, 'a,b\n' + ','.repeat(50_000) + '\n');
    const junk = path.join(dir, 'junk.csv');
    writeFileSync(junk, 'a,b\n1,2\n' + 'x\n'.repeat(1e6));
    const rss = process.memoryUsage().rss;
    for (const [file, message] of [[longLine, 'maxLineLength'], [wide, 'maxColumns'], [junk, 'line 3']]) {
      const err = await loadCsv(file).then(() => undefined, (e: unknown) => e);
      expect(err, file).to.be.instanceOf(DataFileError);
      expect((err as Error).message, file).to.contain(message);
    }
    expect(process.memoryUsage().rss - rss).to.be.below(256 * MIB);
  });

  it('300 random CSV texts (hostile cells, quotes, BOMs, CR, huge numbers, ragged rows): each parses, with no NaN, or fails with a LayerwiseError', () => {
    const f = new Fuzz(FUZZ_SEED + 4000);
    const cells = ['1', '-2.5', '1e309', '-1e309', 'NaN', 'nan', 'Infinity', '', ' ', '"', '""', '"1,2"', '\r', '\uFEFF', 'x', '0x10', '1_000', '９', 'constructor', '__proto__', '1'.repeat(400)];
    let parsed = 0;
    for (let c = 0; c < 300; c++) {
      const width = f.int(1, 4);
      const rows = Array.from({ length: f.int(1, 6) }, () => Array.from({ length: f.chance(0.9) ? width : f.int(1, 6) }, () => (f.chance(0.6) ? String(f.int(0, 3)) : f.pick(cells))).join(f.chance(0.95) ? ',' : ';'));
      const text = (f.chance(0.5) ? 'a,b,c,d'.slice(0, width * 2 - 1) + '\n' : '') + rows.join(f.chance(0.8) ? '\n' : '\r\n');
      try {
        const data = parseCsv(text, f.chance(0.5) ? { labelColumn: -1 } : {});
        parsed++;
        // inf spellings parse as numpy's do (fit and predict refuse them); a missing cell must never slip through as NaN.
        for (const v of data.x.data) expect(Number.isNaN(v), JSON.stringify(text)).to.equal(false);
      } catch (err) {
        expectLayerwiseError(err, JSON.stringify(text));
      }
    }
    expect(parsed, 'some random CSV texts are valid').to.be.greaterThan(0);
  });

  it('options objects with a getter that throws, on every option of every entry point: the getter\'s error surfaces and nothing is left busy', async () => {
    const throwingOn = (key: string, base: Record<string, unknown> = {}) =>
      Object.defineProperty({ ...base }, key, { enumerable: true, get: () => { throw new Error(`getter ${key} says no`); } });
    const dir = tempDir();
    const net = new Network({ seed: 1 }).add(new Dense(2, 2)).use('mse');
    await net.save(dir);
    const idx = path.join(dir, 'data.idx');
    writeFileSync(idx, Buffer.from([0, 0, 8, 1, 0, 0, 0, 1, 7]));
    const entryPoints: Array<[string, string[], (options: never) => unknown]> = [
      ['Network', ['seed'], (o) => new Network(o)],
      ['Dense', ['activation', 'kernelInitializer'], (o) => new Dense(2, 2, o)],
      ['Conv2D', ['filters', 'kernelSize', 'strides', 'padding', 'inputShape', 'activation', 'kernelInitializer', 'inputChannels'], (o) => new Conv2D(o)],
      ['MaxPool2D', ['poolSize', 'strides', 'padding'], (o) => new MaxPool2D(o)],
      ['SGD', ['learningRate', 'momentum', 'nesterov'], (o) => new SGD(o)],
      ['Adam', ['learningRate', 'beta1', 'beta2', 'epsilon'], (o) => new Adam(o)],
      ['predict', ['batchSize'], (o) => net.predict([[1, 2]], o)],
      ['evaluate', ['batchSize', 'loss'], (o) => net.evaluate([[1, 2]], [[1, 0]], o)],
      ['fit', ['epochs', 'batchSize', 'optimizer', 'shuffle', 'validationData', 'callbacks', 'signal', 'onEpochEnd'], (o) => net.fit([[1, 2]], [[1, 0]], o)],
      ['save', ['optimizer', 'force'], (o) => net.save(dir, o)],
      ['load', ['maxWeightsBytes'], (o) => Network.load(dir, o)],
      ['loadIdx', ['maxBytes'], (o) => loadIdx(idx, o)],
      ['parseCsv', ['labelColumn', 'header', 'delimiter'], (o) => parseCsv('1,2\n3,4\n', o)],
      ['networkFromSpec layer', ['inputSize', 'outputSize'], (o) => networkFromSpec({ layers: [{ type: 'Dense', ...(o as object) }] } as never)],
    ];
    const bases: Record<string, Record<string, unknown>> = { fit: { epochs: 1 }, 'networkFromSpec layer': { inputSize: 2, outputSize: 2 } };
    const weights = JSON.stringify(net.getWeights().map((w) => Array.from(w)));
    for (const [name, keys, call] of entryPoints) {
      for (const key of keys) {
        let err: unknown;
        try {
          await call(throwingOn(key, bases[name] ?? {}) as never);
        } catch (e) {
          err = e;
        }
        expect(err, `${name} ${key}`).to.be.instanceOf(Error);
        expect((err as Error).message, `${name} ${key}`).to.contain(`getter ${key} says no`);
        expect(net.isTraining, `${name} ${key}`).to.equal(false);
      }
    }
    expect(JSON.stringify(net.getWeights().map((w) => Array.from(w)))).to.equal(weights);
    expect(await Network.load(dir)).to.be.instanceOf(Network);
  });
});

function thrownBy(run: () => unknown): unknown {
  try {
    run();
  } catch (err) {
    return err;
  }
  return undefined;
}
