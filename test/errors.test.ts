// Every error layerwise throws is a LayerwiseError with a stable code. The
// source scan catches a bare TypeError/RangeError/Error added anywhere in lib/;
// the table walks one representative call per error path and checks its code.

import { expect } from 'chai';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import {
  Activation, Conv2D, Dense, Dropout, LayerwiseError, MaxPool2D, Network, Tensor, getOptimizer, loadCsv, loadIdx, ops,
  sparseCategoricalCrossEntropy, tensor, setBackend, networkFromSpec, type ErrorCode,
} from '../lib/index.js';
import { rebuildError, ShapeError, WorkerError } from '../lib/errors.js';

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? sourceFiles(full) : full.endsWith('.ts') ? [full] : [];
  });
}

async function codeOf(action: () => unknown): Promise<ErrorCode | string> {
  try {
    await action();
  } catch (err) {
    expect(err, String(err)).to.be.instanceOf(LayerwiseError);
    return (err as LayerwiseError).code;
  }
  throw new Error('expected the call to throw');
}

describe('typed errors', () => {
  it('lib/ constructs no bare Error, TypeError or RangeError (only wraps of foreign non-Error values)', () => {
    const offenders: string[] = [];
    for (const file of sourceFiles(path.join(__dirname, '..', 'lib'))) {
      readFileSync(file, 'utf8').split('\n').forEach((line, i) => {
        if (/new (Type|Range|Syntax)?Error\(/.test(line) && !/new Error\(String\(/.test(line)) offenders.push(`${path.relative(process.cwd(), file)}:${i + 1}`);
      });
    }
    expect(offenders).to.deep.equal([]);
  });

  const net = () => new Network({ seed: 1 }).add(new Dense(2, 3)).add(new Activation('softmax')).use('sparseCategoricalCrossEntropy');
  const cases: [string, ErrorCode, () => unknown][] = [
    ['a tensor whose data does not fit its shape', 'E_SHAPE', () => new Tensor(new Float32Array(5), [2, 3])],
    ['a ragged nested array', 'E_SHAPE', () => tensor([[1, 2], [3]])],
    ['a string inside tensor data', 'E_DATA', () => tensor([[1, 'a' as never]])],
    ['Dense input of the wrong width', 'E_SHAPE', () => new Dense(3, 2).forward(Tensor.zeros([1, 4]))],
    ['an unknown activation', 'E_OPTION', () => new Activation('swish' as never)],
    ['a Dropout rate of 1', 'E_OPTION', () => new Dropout(1)],
    ['a pool larger than its input', 'E_SHAPE', () => new MaxPool2D({ poolSize: 3 }).forward(Tensor.zeros([1, 2, 2, 1]))],
    ['Conv2D with a bad padding', 'E_OPTION', () => new Conv2D({ filters: 2, kernelSize: 3, padding: 'wide' as never })],
    ['backward before forward', 'E_STATE', () => new Dense(2, 2).backward(Tensor.zeros([1, 2]))],
    ['an unknown optimizer', 'E_OPTION', () => getOptimizer('adagrad' as never)],
    ['matmul of unaligned shapes', 'E_SHAPE', () => ops.matmul([[1, 2]], [[1, 2]])],
    ['an out-of-range class id', 'E_DATA', () => sparseCategoricalCrossEntropy(tensor([3, 0]), Tensor.zeros([2, 3]))],
    ['an unknown backend', 'E_OPTION', () => setBackend('cuda' as never)],
    ['predict on a network with no layers', 'E_STATE', () => new Network().predict([[1]])],
    ['fit with no loss set', 'E_STATE', () => new Network().add(new Dense(2, 2)).fit([[1, 2]], [[1, 2]], { epochs: 1 })],
    ['fit with NaN in x', 'E_DATA', () => net().fit([[NaN, 1]], [0], { epochs: 1 })],
    ['fit with x and y of different lengths', 'E_SHAPE', () => net().fit([[1, 1], [2, 2]], [0], { epochs: 1 })],
    ['fit with a label outside the output width', 'E_DATA', () => net().fit([[1, 1]], [7], { epochs: 1 })],
    ['fit with a bad validationSplit', 'E_OPTION', () => net().fit([[1, 1], [2, 2]], [0, 1], { epochs: 1, validationSplit: 2 })],
    ['a spec with an unknown layer type', 'E_OPTION', () => networkFromSpec({ layers: [{ type: 'Bogus' }] } as never)],
    ['a missing CSV file', 'E_DATA', () => loadCsv('/nonexistent/data.csv')],
    ['a missing IDX file', 'E_DATA', () => loadIdx('/nonexistent/data.idx')],
  ];
  for (const [what, code, action] of cases) {
    it(`${what}: ${code}`, async () => {
      expect(await codeOf(action)).to.equal(code);
    });
  }

  it('an error rebuilt after crossing a thread keeps its class and code; a foreign one becomes E_WORKER', () => {
    const shape = rebuildError({ name: 'ShapeError', message: 'expected [2] but got [3]', code: 'E_SHAPE' });
    expect(shape).to.be.instanceOf(ShapeError);
    expect(shape.message).to.equal('expected [2] but got [3]');
    const foreign = rebuildError({ name: 'TypeError', message: 'x is not a function' });
    expect(foreign).to.be.instanceOf(WorkerError);
    expect(foreign.code).to.equal('E_WORKER');
    expect(foreign.message).to.equal('TypeError: x is not a function');
    // A code that is not ours (or a prototype key) must not pick a class.
    expect(rebuildError({ message: 'm', code: 'constructor' })).to.be.instanceOf(WorkerError);
  });
});
