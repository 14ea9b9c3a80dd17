// Hostile callers and files (issue 15): each test is the minimal repro of a
// confirmed crash, data loss or silent wrong answer, kept so none comes back.

import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import {
  Activation, Conv2D, DataError, Dense, MaxPool2D, Network, OptionError, getBackend, getLoss, tensor,
} from '../lib/index.js';
import { expectReject, forEachBackend } from './helpers.js';

function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a throw');
}

const FIXTURES = path.join(__dirname, 'fixtures');

describe('hostile callers', () => {
  it('shared-geometry race: 10 s of conv and pool calls while another thread flips a size to −2, no crash', function () {
    this.timeout(60_000);
    const run = spawnSync(process.execPath, [path.join(FIXTURES, 'geometry-race.cjs'), '10'], { encoding: 'utf8', env: process.env });
    expect(run.signal, run.stderr).to.equal(null);
    expect(run.status, run.stderr).to.equal(0);
    const { ran, threw } = JSON.parse(run.stdout) as { ran: number; threw: number };
    // Both outcomes happened: the race really flipped the size under the calls.
    expect(ran).to.be.greaterThan(0);
    expect(threw).to.be.greaterThan(0);
  });
});

forEachBackend('NaN in, NaN out', () => {
  it('relu(NaN) is NaN, as in PyTorch, not a confident 0 (also fused with a bias)', () => {
    const x = new Float32Array([NaN, -1, 2]);
    const y = new Float32Array(3);
    getBackend().activationForward('relu', x, y, 0);
    expect(Number.isNaN(y[0])).to.equal(true);
    expect(Array.from(y.subarray(1))).to.deep.equal([0, 2]);
    const fused = new Float32Array([NaN, -3]);
    getBackend().biasActivation(fused, new Float32Array([1, 1]), 1, 2, 'relu', 0);
    expect(Number.isNaN(fused[0])).to.equal(true);
    expect(fused[1]).to.equal(0);
    const net = new Network({ seed: 1 }).add(new Dense(2, 2, { activation: 'relu' }));
    expect(Number.isNaN(net.layers[0].forward(tensor([[NaN, 0]])).data[0])).to.equal(true);
  });

  it('predict and evaluate reject non-finite input, naming the sample (evaluate on all-NaN once reported accuracy 1.0)', async () => {
    const net = new Network({ seed: 1 }).add(new Dense(2, 3)).add(new Activation('softmax')).use('sparseCategoricalCrossEntropy');
    const err = thrown(() => net.predict([[1, 2], [NaN, 0]]));
    expect(err).to.be.instanceOf(DataError);
    expect(err.message).to.equal('predict input holds NaN in sample 1 (element 0); inputs must be finite');
    expect(thrown(() => net.evaluate([[NaN, NaN], [NaN, NaN]], [0, 1])).message).to.contain('evaluate x holds NaN in sample 0');
    expect(thrown(() => net.evaluate([[1, 1]], [Infinity])).message).to.contain('evaluate y holds Infinity in sample 0');
  });

  it('validationData gets the checks x and y get, before the first epoch, and says "validation"', async () => {
    const make = () => new Network({ seed: 1 }).add(new Dense(2, 3)).add(new Activation('softmax')).use('sparseCategoricalCrossEntropy');
    const x = tensor([[0, 1], [1, 0], [1, 1]]), y = tensor([0, 1, 2]);
    let batches = 0;
    const count = { onBatchEnd: () => { batches++; } };
    await expectReject(make().fit(x, y, { epochs: 1, validationData: [[[NaN, 1]], [0]], ...count }), 'validation x holds NaN in sample 0');
    await expectReject(make().fit(x, y, { epochs: 1, validationData: [[[0, 1], [1, 1]], [0, 9]], ...count }), 'validation y holds 9 in sample 1');
    await expectReject(make().fit(x, y, { epochs: 1, validationData: [[[0, 1]], [0, 1]], ...count }), 'expected validation x and validation y with the same number of samples');
    expect(batches).to.equal(0);
  });

  it('name lookups see own properties only: kernelInitializer "constructor", "toString" or "valueOf" is an error, not zero weights', () => {
    for (const name of ['constructor', 'toString', 'valueOf', '__proto__']) {
      expect(() => new Dense(2, 2, { kernelInitializer: name as never }), name).to.throw(OptionError, `for Dense kernelInitializer but got string '${name}'`);
      expect(() => getLoss(name as never), name).to.throw(OptionError, 'for loss but got');
    }
  });

  it('a pool or kernel size of 2^32 is refused, not wrapped to 0 in the 32-bit geometry', () => {
    expect(() => new MaxPool2D({ poolSize: 2 ** 32 })).to.throw(OptionError, 'expected a size below 2^31 for MaxPool2D poolSize but got 4294967296');
    expect(() => new Conv2D({ filters: 1, kernelSize: [3, 2 ** 32] })).to.throw(OptionError, 'expected a size below 2^31 for Conv2D kernelSize');
  });
});

describe('hostile environment', function () {
  this.timeout(60_000);
  it('a typo in LAYERWISE_NUM_THREADS is a clear error, not a silent fall-back to the JS backend', () => {
    const run = spawnSync(process.execPath, ['--import', 'tsx', '-e', "console.log(require('./lib/index.ts').getBackend().name)"], {
      cwd: path.join(__dirname, '..'), encoding: 'utf8', env: { ...process.env, LAYERWISE_BACKEND: '', LAYERWISE_NUM_THREADS: '2x' },
    });
    expect(run.status).to.not.equal(0);
    expect(run.stdout).to.not.contain('js');
    expect(run.stderr).to.contain("LAYERWISE_NUM_THREADS must be a non-negative integer but is '2x'");
    expect(run.stderr).to.not.contain('LAYERWISE_NO_NATIVE');
  });
});
