// The raw addon under hostile arguments: every call must return or throw a
// JavaScript error; none may crash the process or touch memory it does not own.

import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { nativeAvailable, nativeBinding, nativeInfo } from '../lib/backends/index.js';
import type { NativeBinding } from '../lib/backends/native.js';

type ArgKind = 'buffer' | 'ints' | 'size' | 'flag' | 'scalar' | 'geometry' | 'poolGeometry' | 'activation';
interface Signature {
  fn: keyof NativeBinding;
  /** A valid call's arguments (fresh each time). */
  valid: () => unknown[];
  kinds: ArgKind[];
  /** Buffers whose length sets the element count (a shorter one is a valid, smaller call). */
  sizing?: number[];
}

const F = (n: number) => new Float32Array(n);
const geometry = () => Int32Array.of(2, 5, 5, 3, 3, 3, 4, 1, 1, 0, 0, 3, 3); // n,inH,inW,inC,kH,kW,outC,sH,sW,pT,pL,oH,oW
const X = 2 * 5 * 5 * 3, W = 3 * 3 * 3 * 4, Y = 2 * 3 * 3 * 4;
const poolGeometry = () => Int32Array.of(2, 4, 4, 3, 2, 2, 2, 2, 0, 0, 2, 2); // n,inH,inW,c,pH,pW,sH,sW,pT,pL,oH,oW
const P = 2 * 4 * 4 * 3, Q = 2 * 2 * 2 * 3;

const SIGNATURES: Signature[] = [
  { fn: 'matmul', valid: () => [F(6), F(12), F(8), 2, 4, 3, false, false, false, 1], kinds: ['buffer', 'buffer', 'buffer', 'size', 'size', 'size', 'flag', 'flag', 'flag', 'scalar'] },
  { fn: 'matmulBiasActivation', valid: () => [F(6), F(12), F(4), F(8), 2, 4, 3, 1, 0.1], kinds: ['buffer', 'buffer', 'buffer', 'buffer', 'size', 'size', 'size', 'activation', 'scalar'] },
  { fn: 'conv2dForward', valid: () => [F(X), F(W), F(Y), geometry(), false], kinds: ['buffer', 'buffer', 'buffer', 'geometry', 'flag'] },
  { fn: 'conv2dForwardBiasActivation', valid: () => [F(X), F(W), F(4), F(Y), geometry(), 1, 0.1], kinds: ['buffer', 'buffer', 'buffer', 'buffer', 'geometry', 'activation', 'scalar'] },
  { fn: 'conv2dBackwardInput', valid: () => [F(Y), F(W), F(X), geometry(), true], kinds: ['buffer', 'buffer', 'buffer', 'geometry', 'flag'] },
  { fn: 'conv2dBackwardFilter', valid: () => [F(X), F(Y), F(W), geometry(), false], kinds: ['buffer', 'buffer', 'buffer', 'geometry', 'flag'] },
  // The conv output [2,3,3,4] pooled 1×1: t and argmax have its size.
  { fn: 'conv2dBackwardFilterPooled', valid: () => [F(X), F(Y), new Int32Array(Y), F(W), geometry(), Int32Array.of(2, 3, 3, 4, 1, 1, 1, 1, 0, 0, 3, 3)],
    kinds: ['buffer', 'buffer', 'ints', 'buffer', 'geometry', 'poolGeometry'] },
  { fn: 'activationForward', valid: () => [3, F(10), F(10), 0.1], kinds: ['activation', 'buffer', 'buffer', 'scalar'], sizing: [1] },
  { fn: 'activationBackward', valid: () => [4, F(10), F(10), F(10), F(10), 0.1], kinds: ['activation', 'buffer', 'buffer', 'buffer', 'buffer', 'scalar'], sizing: [3] },
  { fn: 'softmaxRows', valid: () => [F(12), F(12), 3, 4], kinds: ['buffer', 'buffer', 'size', 'size'] },
  { fn: 'softmaxBackwardRows', valid: () => [F(12), F(12), F(12), 3, 4], kinds: ['buffer', 'buffer', 'buffer', 'size', 'size'] },
  { fn: 'multiply', valid: () => [F(10), F(10), F(10)], kinds: ['buffer', 'buffer', 'buffer'], sizing: [0] },
  { fn: 'maxPool2dForward', valid: () => [F(P), F(Q), new Int32Array(Q), poolGeometry()], kinds: ['buffer', 'buffer', 'ints', 'poolGeometry'] },
  { fn: 'maxPool2dValues', valid: () => [F(P), F(Q), poolGeometry()], kinds: ['buffer', 'buffer', 'poolGeometry'] },
  { fn: 'maxPool2dBackward', valid: () => [F(Q), new Int32Array(Q), F(P), poolGeometry()], kinds: ['buffer', 'ints', 'buffer', 'poolGeometry'] },
  { fn: 'avgPool2dForward', valid: () => [F(P), F(Q), poolGeometry()], kinds: ['buffer', 'buffer', 'poolGeometry'] },
  { fn: 'avgPool2dBackward', valid: () => [F(Q), F(P), poolGeometry()], kinds: ['buffer', 'buffer', 'poolGeometry'] },
  { fn: 'globalAvgPoolForward', valid: () => [F(P), F(6), 2, 16, 3], kinds: ['buffer', 'buffer', 'size', 'size', 'size'] },
  { fn: 'globalAvgPoolBackward', valid: () => [F(6), F(P), 2, 16, 3], kinds: ['buffer', 'buffer', 'size', 'size', 'size'] },
  { fn: 'globalMaxPoolForward', valid: () => [F(P), F(6), new Int32Array(6), 2, 16, 3], kinds: ['buffer', 'buffer', 'ints', 'size', 'size', 'size'] },
  { fn: 'globalMaxPoolBackward', valid: () => [F(6), new Int32Array(6), F(P), 2, 16, 3], kinds: ['buffer', 'ints', 'buffer', 'size', 'size', 'size'] },
  { fn: 'sgdMomentumStep', valid: () => [F(10), F(10), F(10), 0.1, 0.9, true], kinds: ['buffer', 'buffer', 'buffer', 'scalar', 'scalar', 'flag'] },
  { fn: 'adamStep', valid: () => [F(10), F(10), F(10), F(10), 0.1, 0.9, 0.999, 0.001, 1e-8], kinds: ['buffer', 'buffer', 'buffer', 'buffer', 'scalar', 'scalar', 'scalar', 'scalar', 'scalar'] },
  { fn: 'rmspropStep', valid: () => [F(10), F(10), F(10), 0.1, 0.9, 1e-7], kinds: ['buffer', 'buffer', 'buffer', 'scalar', 'scalar', 'scalar'] },
  { fn: 'addRowVector', valid: () => [F(12), F(4), 3, 4], kinds: ['buffer', 'buffer', 'size', 'size'] },
  { fn: 'biasActivation', valid: () => [F(12), F(4), 3, 4, 1, 0.1], kinds: ['buffer', 'buffer', 'size', 'size', 'activation', 'scalar'] },
  { fn: 'sumRows', valid: () => [F(12), F(4), 3, 4, false], kinds: ['buffer', 'buffer', 'size', 'size', 'flag'] },
  { fn: 'axpy', valid: () => [0.5, F(10), F(10)], kinds: ['scalar', 'buffer', 'buffer'], sizing: [1] },
  { fn: 'firstNonFinite', valid: () => [F(10)], kinds: ['buffer'], sizing: [0] },
  { fn: 'gatherRows', valid: () => [F(12), 4, Int32Array.of(2, 0, 1), 0, 3, F(12)], kinds: ['buffer', 'size', 'ints', 'size', 'size', 'buffer'] },
  { fn: 'mse', valid: () => [F(10), F(10)], kinds: ['buffer', 'buffer'], sizing: [0] },
  { fn: 'mseGradient', valid: () => [F(10), F(10), F(10)], kinds: ['buffer', 'buffer', 'buffer'], sizing: [0] },
];

function detached(n: number): Float32Array {
  const a = new Float32Array(n);
  structuredClone(a.buffer, { transfer: [a.buffer] });
  return a; // now length 0 over a detached buffer
}

/** Values that must be rejected in a position of each kind. */
const HOSTILE: Record<ArgKind, Array<[string, () => unknown]>> = {
  buffer: [
    ['undefined', () => undefined], ['a number', () => 7], ['a string', () => 'abc'], ['a plain array', () => [1, 2, 3]],
    ['a Float64Array', () => new Float64Array(1000)], ['an Int32Array', () => new Int32Array(1000)],
    ['an empty Float32Array', () => F(0)], ['a one-element Float32Array', () => F(1)], ['a detached Float32Array', () => detached(1000)],
    ['an ArrayBuffer', () => new ArrayBuffer(4000)], ['a DataView', () => new DataView(new ArrayBuffer(4000))],
  ],
  size: [
    ['-1', () => -1], ['1.5', () => 1.5], ['NaN', () => NaN], ['Infinity', () => Infinity], ['2^31', () => 2 ** 31],
    ['2^53', () => 2 ** 53], ['a string', () => '3'], ['undefined', () => undefined], ['a BigInt', () => 3n],
  ],
  flag: [['a number', () => 1], ['undefined', () => undefined], ['a string', () => 'true']],
  scalar: [['a string', () => '0.5'], ['undefined', () => undefined], ['an object', () => ({})]],
  geometry: [
    ['undefined', () => undefined], ['a plain array', () => Array.from(geometry())], ['a short Int32Array', () => geometry().subarray(0, 12)],
    ['a Float32Array', () => Float32Array.from(geometry())],
    ['a negative batch', () => { const g = geometry(); g[0] = -1; return g; }],
    ['a zero stride', () => { const g = geometry(); g[7] = 0; return g; }],
    ['a negative output height', () => { const g = geometry(); g[11] = -3; return g; }],
    ['sizes beyond the buffers', () => { const g = geometry(); g[1] = 1000; g[2] = 1000; return g; }],
    ['a product beyond 2^64', () => Int32Array.of(2 ** 31 - 1, 2 ** 31 - 1, 2 ** 31 - 1, 2 ** 31 - 1, 3, 3, 4, 1, 1, 0, 0, 3, 3)],
  ],
  activation: [['-1', () => -1], ['5', () => 5], ['a string', () => 'relu'], ['NaN', () => NaN]],
  ints: [['undefined', () => undefined], ['a Float32Array', () => F(1000)], ['an empty Int32Array', () => new Int32Array(0)], ['a Uint32Array', () => new Uint32Array(1000)]],
  poolGeometry: [
    ['undefined', () => undefined], ['a 13-size Int32Array', () => geometry()],
    ['a zero pool', () => { const g = poolGeometry(); g[4] = 0; return g; }],
    ['a zero stride', () => { const g = poolGeometry(); g[7] = 0; return g; }],
    ['a negative channel count', () => { const g = poolGeometry(); g[3] = -2; return g; }],
    ['sizes beyond the buffers', () => { const g = poolGeometry(); g[10] = 500; return g; }],
    ['an image beyond 2^31 values', () => Int32Array.of(1, 2 ** 16, 2 ** 16, 4, 2, 2, 2, 2, 0, 0, 1, 1)],
  ],
};

describe('raw native binding under hostile arguments', function () {
  let binding: NativeBinding;
  before(function () {
    if (!nativeAvailable()) throw new Error('the native addon did not load');
    binding = nativeBinding();
  });

  it('reports where it was loaded from and which ISA it runs', () => {
    const info = nativeInfo();
    expect(info.available).to.equal(true);
    expect(info.isa).to.be.oneOf(['baseline', 'avx2', 'avx512']);
    expect(info.supportedIsas).to.include('baseline');
    if (process.env.LAYERWISE_ADDON) expect(info.path).to.contain(process.env.LAYERWISE_ADDON.replace(/^\.\//, ''));
  });

  it('reports the cache sizes its blocking uses (and predict chunks by): those of sysfs where Linux has them', () => {
    const { l1d, l2, l3 } = nativeInfo().caches!;
    for (const size of [l1d, l2, l3]) expect(Number.isInteger(size) && size > 0, String(size)).to.equal(true);
    expect(l1d).to.be.at.most(l2);
    let sysfs: string | undefined;
    try {
      sysfs = readFileSync('/sys/devices/system/cpu/cpu0/cache/index2/size', 'utf8').trim();
    } catch { /* no sysfs: the cpuid or default value stands */ }
    const m = sysfs === undefined ? null : /^(\d+)K$/.exec(sysfs);
    if (m) expect(l2).to.equal(Number(m[1]) * 1024);
  });

  it('gatherRows: a prefetch range must lie inside the index array', () => {
    const src = F(12), index = Int32Array.of(2, 0, 1), out = F(8);
    binding.gatherRows(src, 4, index, 0, 2, out, 2, 3);
    binding.gatherRows(src, 4, index, 0, 2, out, undefined, undefined);
    for (const [from, to] of [[0, 4], [3, 2], [-1, 1], [1.5, 2], [NaN, 1], [2 ** 53, 2 ** 53]]) {
      expect(() => binding.gatherRows(src, 4, index, 0, 2, out, from, to), `${from}, ${to}`).to.throw(RangeError);
    }
    expect(() => binding.gatherRows(src, 4, index, 0, 2, out, 1)).to.throw(TypeError);
    expect(() => binding.gatherRows(src, 4, index, 0, 2, out, 1, '3' as unknown as number)).to.throw(TypeError);
  });

  for (const sig of SIGNATURES) {
    it(`${sig.fn}: a valid call works and every hostile argument throws a JS error`, () => {
      (binding[sig.fn] as (...a: unknown[]) => unknown)(...sig.valid());
      let calls = 0;
      sig.kinds.forEach((kind, position) => {
        for (const [label, make] of HOSTILE[kind]) {
          const shortButValid = kind === 'buffer' && sig.sizing?.includes(position) && /empty|one-element|detached/.test(label);
          if (shortButValid) continue;
          const args = sig.valid();
          args[position] = make();
          calls++;
          expect(() => (binding[sig.fn] as (...a: unknown[]) => unknown)(...args), `${sig.fn} with argument ${position} ${label}`)
            .to.throw(Error);
        }
      });
      expect(() => (binding[sig.fn] as (...a: unknown[]) => unknown)(), `${sig.fn} with no arguments`).to.throw(TypeError);
      expect(calls).to.be.greaterThan(sig.kinds.length);
    });
  }

  it('names the argument and the sizes in its messages', () => {
    expect(() => binding.matmul(F(5), F(12), F(8), 2, 4, 3, false, false, false, 1)).to.throw(RangeError, 'a holds 5 elements but the sizes given need 6');
    expect(() => binding.matmul(F(6), F(12), F(8), -2, 4, 3, false, false, false, 1)).to.throw(RangeError, 'm must be an integer in [0, 2147483647]');
    expect(() => binding.matmul(F(6), new Float64Array(12) as never, F(8), 2, 4, 3, false, false, false, 1)).to.throw(TypeError, 'b must be a Float32Array');
    expect(() => binding.matmul(F(6), F(12), detached(8), 2, 4, 3, false, false, false, 1)).to.throw(RangeError, 'is its buffer detached?');
    expect(() => binding.adamStep(F(4), F(4), F(3), F(4), 1, 1, 1, 1, 1)).to.throw(RangeError, 'm holds 3 floats but param holds 4');
    expect(() => binding.axpy(1, F(4), F(3))).to.throw(RangeError, 'y holds 3 elements but the sizes given need 4');
  });

  it('refuses outputs that overlap inputs and product sizes that overflow', () => {
    const shared = F(16);
    expect(() => binding.adamStep(shared.subarray(0, 4), F(4), shared.subarray(0, 4), F(4), 1, 1, 1, 1, 1)).to.throw(RangeError, 'param must not share memory with m');
    expect(() => binding.matmul(shared.subarray(0, 4), F(4), shared.subarray(2, 6), 2, 2, 2, false, false, false, 1))
      .to.throw(RangeError, 'c must not share memory with a');
    expect(() => binding.matmul(F(4), F(4), F(4), 2 ** 31 - 1, 2 ** 31 - 1, 2 ** 31 - 1, false, false, false, 1)).to.throw(RangeError);
  });

  it('works on Float32Arrays over a SharedArrayBuffer and on offset views', () => {
    const a = new Float32Array(new SharedArrayBuffer(16));
    a.set([1, 2, 3, 4]);
    const c = F(6).subarray(2);
    binding.matmul(a, a, c, 2, 2, 2, false, false, false, 1);
    expect(Array.from(c)).to.deep.equal([7, 10, 15, 22]);
  });

  it('rejects unknown ISA names and thread counts out of range', () => {
    expect(() => binding.setIsa('sse9')).to.throw(RangeError, "isa must be 'baseline', 'avx2' or 'avx512'");
    expect(() => binding.setNumThreads(-1)).to.throw(RangeError);
    expect(() => binding.setNumThreads(100000)).to.throw(RangeError, 'threads must be at most 1024');
  });
});
