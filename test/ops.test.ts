// Public ops against numpy.dot and scipy.signal results stored in
// fixtures/reference.json (made by fixtures/make_reference.py).

import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { OptionError, ShapeError, Tensor, ops } from '../lib/index.js';
import type { ConvMode } from '../lib/ops.js';
import type { NestedArray } from '../lib/tensor.js';
import { expectClose, forEachBackend } from './helpers.js';

interface DotCase { a: NestedArray; b: NestedArray; out: NestedArray; outShape: number[] }
interface FilterCase { x: NestedArray; k: NestedArray; mode: ConvMode; out: NestedArray; outShape: number[] }
const reference = JSON.parse(readFileSync(path.join(__dirname, 'fixtures', 'reference.json'), 'utf8')) as {
  dot: DotCase[]; correlate2d: FilterCase[]; convolve2d: FilterCase[];
};

const flat = (v: NestedArray): number[] => (Array.isArray(v) ? v.flatMap((e) => flat(e as NestedArray)) : [v as number]);
const shapeOf = (v: NestedArray): string => {
  const s: number[] = [];
  for (let e = v; Array.isArray(e); e = e[0]) s.push(e.length);
  return `[${s}]`;
};

forEachBackend('ops match numpy and scipy', () => {
  for (const c of reference.dot) {
    it(`matmul ${shapeOf(c.a)}·${shapeOf(c.b)} equals numpy.dot`, () => {
      const out = ops.matmul(c.a, c.b);
      expect(out.shape).to.deep.equal(c.outShape);
      expectClose(out.data, flat(c.out), { rtol: 1e-5, atol: 1e-4 });
    });
  }
  for (const name of ['correlate2d', 'convolve2d'] as const) {
    for (const c of reference[name]) {
      it(`${name} ${shapeOf(c.x)} with ${shapeOf(c.k)} '${c.mode}' equals scipy`, () => {
        const out = ops[name](c.x, c.k, c.mode);
        expect(out.shape).to.deep.equal(c.outShape);
        expectClose(out.data, flat(c.out), { rtol: 1e-5, atol: 1e-4 });
      });
    }
  }

  it('rejects mismatched shapes and bad modes with a clear message', () => {
    expect(() => ops.matmul([[1, 2]], [[1, 2]])).to.throw(ShapeError, 'shapes [1,2] and [1,2] are not aligned (2 ≠ 1)');
    expect(() => ops.correlate2d([[1]], [[1]], 'wide' as ConvMode)).to.throw(OptionError, "expected mode 'valid', 'full' or 'same' but got string 'wide'");
    expect(() => ops.correlate2d([[1, 2, 3]], [[1], [2]], 'valid')).to.throw(ShapeError, 'one input must be at least as large as the other');
    expect(() => ops.convolve2d([1, 2, 3], [[1]])).to.throw(ShapeError, 'expected 2-D x and kernel but got [3] and [1,1]');
  });
});

forEachBackend('ops write into a caller-owned out tensor', () => {
  it('matmul, correlate2d, convolve2d and softmax fill a dirty out with the same result as a fresh call, and return it', () => {
    const a = Tensor.from([[1, 2, 3], [4, 5, 6]]);
    const b = Tensor.from([[1, 0], [0, 1], [2, -1]]);
    const out = new Tensor(new Float32Array(4).fill(99), [2, 2]);
    expect(ops.matmul(a, b, { out })).to.equal(out);
    expect(Array.from(out.data)).to.deep.equal(Array.from(ops.matmul(a, b).data));
    const x = Tensor.from([[1, 2, 3], [4, 5, 6], [7, 8, 10]]);
    const k = Tensor.from([[1, -1], [2, 0]]);
    for (const fn of [ops.correlate2d, ops.convolve2d]) {
      for (const mode of ['valid', 'same', 'full'] as const) {
        const fresh = fn(x, k, mode);
        const into = new Tensor(new Float32Array(fresh.size).fill(-7), fresh.shape);
        expect(fn(x, k, mode, { out: into })).to.equal(into);
        expect(Array.from(into.data)).to.deep.equal(Array.from(fresh.data));
      }
    }
    const logits = Tensor.from([[1, 2, 3], [0, 0, 0]]);
    const probabilities = new Tensor(new Float32Array(6).fill(5), [2, 3]);
    ops.softmax(logits, { out: probabilities });
    expect(Array.from(probabilities.data)).to.deep.equal(Array.from(ops.softmax(logits).data));
    // An empty inner dimension still overwrites what out held.
    const empty = new Tensor(new Float32Array(4).fill(3), [2, 2]);
    ops.matmul(Tensor.zeros([2, 0]), Tensor.zeros([0, 2]), { out: empty });
    expect(Array.from(empty.data)).to.deep.equal([0, 0, 0, 0]);
  });

  it('refuses an out of the wrong shape, one sharing memory with an input, and unknown options', () => {
    const a = Tensor.from([[1, 2], [3, 4]]);
    expect(() => ops.matmul(a, a, { out: Tensor.zeros([2, 3]) })).to.throw(ShapeError, 'expected [2,2] for matmul out but got [2,3]');
    expect(() => ops.matmul(a, a, { out: a })).to.throw(OptionError, 'must not share memory with an input');
    expect(() => ops.matmul(a, a, { out: [[0, 0], [0, 0]] as unknown as Tensor })).to.throw(OptionError, 'expected a Tensor for matmul out');
    expect(() => ops.matmul(a, a, { output: Tensor.zeros([2, 2]) } as never)).to.throw(OptionError, 'matmul options');
  });
});
