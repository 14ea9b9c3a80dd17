import { expect } from 'chai';
import { DataError, OptionError, ShapeError, Tensor, tensor } from '../lib/index.js';

describe('Tensor', () => {
  it('builds from nested arrays with the inferred shape', () => {
    const t = tensor([[1, 2, 3], [4, 5, 6]]);
    expect(t.shape).to.deep.equal([2, 3]);
    expect(Array.from(t.data)).to.deep.equal([1, 2, 3, 4, 5, 6]);
    expect(t.get(1, 2)).to.equal(6);
    expect(t.toArray()).to.deep.equal([[1, 2, 3], [4, 5, 6]]);
  });

  it('wraps a Float32Array without copying and reshapes as a view', () => {
    const data = new Float32Array(6);
    const t = new Tensor(data, [2, 3]);
    expect(t.data).to.equal(data);
    const r = t.reshape([3, -1]);
    expect(r.shape).to.deep.equal([3, 2]);
    r.data[0] = 9;
    expect(t.data[0]).to.equal(9);
  });

  it('builds a scalar and copies on Tensor.from', () => {
    expect(tensor(3).shape).to.deep.equal([]);
    const a = tensor([1, 2]);
    const b = Tensor.from(a);
    b.data[0] = 5;
    expect(a.data[0]).to.equal(1);
  });

  it('slices samples along the first dimension', () => {
    const t = tensor([[1, 2], [3, 4], [5, 6]]);
    expect(t.slice(1, 3).toArray()).to.deep.equal([[3, 4], [5, 6]]);
  });

  it('names what was expected and what came', () => {
    expect(() => new Tensor(new Float32Array(5), [2, 3])).to.throw(ShapeError, 'expected 6 values for shape [2,3] but got 5');
    expect(() => tensor([[1, 2], [3]])).to.throw(ShapeError, 'ragged nested array: expected length 2 at tensor[1] but got 1');
    expect(() => tensor([[1, 2], [3, 'x' as unknown as number]])).to.throw(DataError, "expected a number at tensor[1][1] but got string 'x'");
    expect(() => tensor([[1, 2], 3 as unknown as number[]])).to.throw(DataError, 'expected an array at tensor[1] but got number 3');
    expect(() => new Tensor([1, 2], [2, -1])).to.throw(ShapeError, 'expected non-negative integer sizes for tensor shape but got [2,-1]');
    expect(() => new Tensor('abc' as unknown as number[], [3])).to.throw(OptionError, "expected a Float32Array or an array of numbers for tensor data but got string 'abc'");
    expect(() => tensor([1, 2]).reshape([3])).to.throw(ShapeError, 'cannot reshape [2] to [3]');
    expect(() => tensor([1, 2]).get(2)).to.throw(ShapeError, 'index [2] is outside shape [2]');
  });
});
