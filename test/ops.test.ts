// Public ops against numpy.dot and scipy.signal results stored in
// fixtures/reference.json (made by fixtures/make_reference.py).

import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { OptionError, ShapeError, ops } from '../lib/index.js';
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
