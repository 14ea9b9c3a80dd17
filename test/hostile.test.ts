// Hostile callers and files (issue 15): each test is the minimal repro of a
// confirmed crash, data loss or silent wrong answer, kept so none comes back.

import { expect } from 'chai';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import {
  Activation, Conv2D, DataError, Dense, MaxPool2D, ModelFileError, Network, OptionError, SGD, getBackend, getLoss, networkFromSpec, tensor,
  DataFileError, loadIdx, loadIdxSync, parseIdx,
} from '../lib/index.js';
import { BOMB_DECLARED_BYTES, writeIdxGzipBomb } from './fixtures/gzip-bomb.js';
import { nativeBinding } from '../lib/backends/index.js';
import { expectReject, forEachBackend, thrown } from './helpers.js';


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

  it('NaN propagates as in PyTorch through every activation, softmax, max and average pooling, matmul and conv (a NaN times 0 is NaN)', () => {
    const b = getBackend();
    const isNaN0 = (a: Float32Array) => Number.isNaN(a[0]);
    for (const kind of ['linear', 'relu', 'sigmoid', 'tanh', 'leakyRelu'] as const) {
      const y = new Float32Array(3);
      b.activationForward(kind, new Float32Array([NaN, -1, 2]), y, 0.1);
      expect(isNaN0(y), kind).to.equal(true);
      expect(Number.isFinite(y[1]) && Number.isFinite(y[2]), kind).to.equal(true);
      const fused = new Float32Array([NaN, 5, -4, 3]);
      b.biasActivation(fused, new Float32Array([1, 1]), 2, 2, kind, 0.1);
      expect(isNaN0(fused), `${kind} fused with a bias`).to.equal(true);
    }
    // A NaN anywhere in a row makes the whole softmax row NaN; the other row is untouched.
    for (const row of [[NaN, 1, 2], [1, 2, NaN]]) {
      const y = new Float32Array(6);
      b.softmaxRows(new Float32Array([...row, 0, 0, 0]), y, 2, 3);
      expect(Array.from(y.subarray(0, 3)).every(Number.isNaN), String(row)).to.equal(true);
      expect(Array.from(y.subarray(3)).every((v) => Math.abs(v - 1 / 3) < 1e-6)).to.equal(true);
    }
    // Max pooling: NaN wins its window wherever it sits, even beside larger numbers.
    const pool = { n: 1, inH: 2, inW: 2, c: 1, poolH: 2, poolW: 2, strideH: 2, strideW: 2, padTop: 0, padLeft: 0, outH: 1, outW: 1 };
    for (let at = 0; at < 4; at++) {
      const x = new Float32Array([1, 9, 5, 2]);
      x[at] = NaN;
      const y = new Float32Array(1), argmax = new Int32Array(1);
      b.maxPool2dForward(x, y, argmax, pool);
      expect(isNaN0(y), `max pool, NaN at ${at}`).to.equal(true);
      expect(argmax[0], `max pool, NaN at ${at}`).to.equal(at);
      const avg = new Float32Array(1);
      b.avgPool2dForward(x, avg, pool);
      expect(isNaN0(avg), `average pool, NaN at ${at}`).to.equal(true);
    }
    // NaN · 0 = NaN: a kernel that skips zero operands would hide it.
    const c = new Float32Array(4);
    b.matmul(new Float32Array([NaN, 0]), new Float32Array([0, 0, 0, 0]), c, 1, 2, 2, false, false, false);
    expect(isNaN0(c), 'matmul').to.equal(true);
    // The same through the blocked and vectorised paths: a NaN in row 5 of A poisons row 5 of C only.
    const [m, k, n] = [37, 300, 70];
    const a = new Float32Array(m * k);
    a[5 * k + 123] = NaN;
    const big = new Float32Array(m * n);
    b.matmul(a, new Float32Array(k * n), big, m, n, k, false, false, false);
    for (let r = 0; r < m; r++) expect(big.subarray(r * n, (r + 1) * n).every((v) => Number.isNaN(v) === (r === 5)), `matmul row ${r}`).to.equal(true);
    const conv = { n: 1, inH: 2, inW: 2, inC: 1, kH: 2, kW: 2, outC: 1, strideH: 1, strideW: 1, padTop: 0, padLeft: 0, outH: 1, outW: 1 };
    const convOut = new Float32Array(1);
    b.conv2dForward(new Float32Array([0, 0, 0, NaN]), new Float32Array(4), convOut, conv, false);
    expect(isNaN0(convOut), 'conv').to.equal(true);
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

describe('hostile model files and directories', function () {
  this.timeout(120_000);
  const dirs: string[] = [];
  const tempDir = () => {
    const d = mkdtempSync(path.join(os.tmpdir(), 'layerwise-hostile-'));
    dirs.push(d);
    return d;
  };
  after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
  const small = (seed = 1) => new Network({ seed }).add(new Dense(3, 2)).add(new Activation('relu')).use('mse');
  const listing = (dir: string) => readdirSync(dir).sort();
  const modelJson = (dir: string) => JSON.parse(readFileSync(path.join(dir, 'model.json'), 'utf8'));
  const sign = (m: Record<string, unknown>) => {
    const { sha256: _old, ...rest } = m;
    return { ...rest, sha256: createHash('sha256').update(JSON.stringify(rest)).digest('hex') };
  };
  const writeSigned = (dir: string, m: Record<string, unknown>) => writeFileSync(path.join(dir, 'model.json'), JSON.stringify(sign(m)));
  async function loadError(dir: string, options?: { maxWeightsBytes?: number }): Promise<Error> {
    try {
      await Network.load(dir, options);
    } catch (err) {
      expect(err, String(err)).to.be.instanceOf(ModelFileError);
      return err as Error;
    }
    throw new Error(`expected loading ${dir} to fail`);
  }

  it('save() deletes nothing it did not write: a foreign checkpoint/, .checkpoint-old-*, *.tmp-<pid>-<n> and other weights files survive', async () => {
    const dir = tempDir();
    const foreign = ['checkpoint/keep.txt', '.checkpoint-old-1-1/x', 'notes.tmp-99999999-1', 'weights-0123456789abcdef.bin'];
    for (const f of foreign) {
      mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
      writeFileSync(path.join(dir, f), 'mine');
    }
    const before = listing(dir);
    const err = await small().save(dir).then(() => undefined, (e: Error) => e);
    expect(err).to.be.instanceOf(OptionError);
    expect(err!.message).to.contain('is not empty and holds no layerwise model: refusing to save into it');
    expect(listing(dir)).to.deep.equal(before);
    await small().save(dir, { force: true });
    for (const f of foreign) expect(readFileSync(path.join(dir, f), 'utf8'), f).to.equal('mine');
    // Saving again replaces only the weights file the previous model.json named.
    const firstWeights = modelJson(dir).weights.file;
    await small(2).save(dir);
    for (const f of foreign) expect(readFileSync(path.join(dir, f), 'utf8'), f).to.equal('mine');
    expect(existsSync(path.join(dir, firstWeights))).to.equal(false);
    expect(await Network.load(dir)).to.be.instanceOf(Network);
  });

  it('50 trials of two concurrent saves to one directory: both succeed and the model always loads as one of the two', async () => {
    const a = small(1), b = small(2);
    for (let trial = 0; trial < 50; trial++) {
      const dir = tempDir();
      await Promise.all([a.save(dir), b.save(dir)]);
      const loaded = await Network.load(dir);
      const w = JSON.stringify(loaded.getWeights().map((x) => Array.from(x)));
      expect([a, b].map((n) => JSON.stringify(n.getWeights().map((x) => Array.from(x))))).to.include(w);
      expect(readdirSync(dir).filter((f) => f.startsWith('weights-'))).to.have.length(1);
    }
  });

  it('a symlink planted under a predictable temporary name is never followed', async () => {
    const dir = tempDir();
    const victim = path.join(tempDir(), 'victim.txt');
    writeFileSync(victim, 'precious');
    await small().save(dir);
    // The old scheme was `<file>.tmp-<pid>-<Date.now()>`: plant every name of the next two seconds.
    const now = Date.now();
    for (const file of ['model.json', modelJson(dir).weights.file]) {
      for (let ms = 0; ms < 2000; ms++) symlinkSync(victim, path.join(dir, `${file}.tmp-${process.pid}-${now + ms}`));
    }
    await small(3).save(dir);
    expect(readFileSync(victim, 'utf8')).to.equal('precious');
    expect(await Network.load(dir)).to.be.instanceOf(Network);
  });

  it('a layer size of 2^32 in model.json fails before allocating (it once reserved 34.5 GB)', async () => {
    const dir = tempDir();
    await small().save(dir);
    const m = modelJson(dir);
    m.layers[0].inputSize = 4294967296;
    writeSigned(dir, m);
    const rss = process.memoryUsage().rss;
    const err = await loadError(dir);
    expect(err.message).to.match(/a layer asks for a \[4294967296,2\] tensor, more than the 8 values weights-[0-9a-f]{16}\.bin holds/);
    expect(process.memoryUsage().rss - rss).to.be.below(256 * 2 ** 20);
  });

  it('a declared weights size above maxWeightsBytes is refused before the file is read', async () => {
    const dir = tempDir();
    await small().save(dir);
    expect((await loadError(dir, { maxWeightsBytes: 16 })).message).to.contain('declares 32 bytes of weights, above the limit of 16');
  });

  it('special files: a FIFO as model.json or as the weights file, weights linked to /dev/zero', async () => {
    const dir = tempDir();
    await small().save(dir);
    const weights = path.join(dir, modelJson(dir).weights.file);
    rmSync(weights);
    symlinkSync('/dev/zero', weights);
    expect((await loadError(dir)).message).to.contain('not a regular file (a device)');
    rmSync(weights);
    execFileSync('mkfifo', [weights]);
    expect((await loadError(dir)).message).to.contain('not a regular file (a FIFO)');
    rmSync(path.join(dir, 'model.json'));
    execFileSync('mkfifo', [path.join(dir, 'model.json')]);
    expect((await loadError(dir)).message).to.contain('model.json: not a regular file (a FIFO)');
  });

  it('the manifest is checksummed and all state validated: edits, prototype keys, negative steps, NaN weights, a 1e308 learning rate', async () => {
    const dir = tempDir();
    await small().save(dir, { optimizer: new SGD({ momentum: 0.9 }) });
    const original = modelJson(dir);
    // An unsigned edit of an activation.
    writeFileSync(path.join(dir, 'model.json'), JSON.stringify({ ...original, layers: [original.layers[0], { type: 'Activation', kind: 'tanh' }] }));
    expect((await loadError(dir)).message).to.contain('fails its SHA-256 check: the manifest was edited or corrupted');
    // Signed, but with a prototype key in a layer config.
    writeFileSync(path.join(dir, 'model.json'), JSON.stringify(sign(original)).replace('"type":"Dense"', '"type":"Dense","__proto__":{"polluted":1}'));
    expect((await loadError(dir)).message).to.contain("the key '__proto__' is not allowed in a model file");
    expect(({} as Record<string, unknown>).polluted).to.equal(undefined);
    writeSigned(dir, { ...original, optimizer: { ...original.optimizer, steps: [-1, 0] } });
    expect((await loadError(dir)).message).to.contain('optimizer step counts must be non-negative integers');
    writeSigned(dir, { ...original, optimizer: { ...original.optimizer, config: { ...original.optimizer.config, learningRate: 1e308 } } });
    expect((await loadError(dir)).message).to.contain('for sgd learningRate but got number 1e+308');
    // NaN in the weights, with both checksums made to match.
    const weights = path.join(dir, original.weights.file);
    const bytes = readFileSync(weights);
    bytes.writeFloatLE(NaN, 4);
    writeFileSync(weights, bytes);
    writeSigned(dir, { ...original, weights: { ...original.weights, sha256: createHash('sha256').update(bytes).digest('hex') } });
    expect((await loadError(dir)).message).to.match(/holds NaN at value 1: weights and optimizer state must be finite/);
  });

  it('a spec with absurd sizes (10^9 units) fails with a clear error before allocating', () => {
    const rss = process.memoryUsage().rss;
    expect(() => networkFromSpec({ layers: [{ type: 'Dense', inputSize: 784, outputSize: 1e9 }] }))
      .to.throw(OptionError, 'a layer asks for a [784,1000000000] tensor, but only 536870912 of the 536870912 values a spec may allocate are left');
    expect(process.memoryUsage().rss - rss).to.be.below(256 * 2 ** 20);
  });

  it('a tampered resume state (sample indices out of range) is refused instead of training on phantom zero samples', async () => {
    const net = small();
    const x = tensor([[1, 2, 3], [4, 5, 6], [7, 8, 9], [1, 1, 1]]), y = tensor([[1, 0], [0, 1], [1, 1], [0, 0]]);
    const controller = new AbortController();
    const first = await net.fit(x, y, { epochs: 2, batchSize: 1, signal: controller.signal, onBatchEnd: () => controller.abort() });
    const state = first.interrupted!;
    await expectReject(net.fit(x, y, { epochs: 2, batchSize: 1, resume: { ...state, order: [0, 1, 2, 40] } }), 'the sample order is not a permutation of 0..3');
    await expectReject(net.fit(x, y, { epochs: 2, batchSize: 1, resume: { ...state, order: [0, 1, 1, 2] } }), 'the sample order is not a permutation of 0..3');
    await expectReject(net.fit(x, y, { epochs: 2, batchSize: 1, resume: { ...state, batch: 99 } }), 'batch number 99');
    await net.fit(x, y, { epochs: 2, batchSize: 1, resume: state });
  });

  it('CLI: --out naming a file, or a non-empty directory of other files, fails before training', function () {
    const bin = path.join(__dirname, '..', 'bin', 'layerwise.js');
    const dir = tempDir();
    const file = path.join(dir, 'a-file');
    writeFileSync(file, 'x');
    const run = (out: string) => spawnSync(process.execPath, [bin, 'train', 'fashion-mnist-mlp', '--epochs', '1', '--limit', '64', '--json', '--out', out], {
      encoding: 'utf8', env: { ...process.env, LAYERWISE_CLI_FROM_SOURCE: '1' },
    });
    for (const [out, message] of [[file, `--out ${file} is not a directory`], [dir, `--out ${dir} is not empty and holds no layerwise model or checkpoint`]]) {
      const r = run(out);
      expect(r.status, r.stderr).to.equal(1);
      const events = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { event: string; message?: string });
      expect(events.map((e) => e.event)).to.deep.equal(['error']);
      expect(events[0].message).to.contain(message);
    }
    expect(readFileSync(file, 'utf8')).to.equal('x');
  });

  it('CLI --force trains and checkpoints beside foreign files, deleting none; a foreign checkpoint/, report.html or training.json is refused before training', function () {
    const bin = path.join(__dirname, '..', 'bin', 'layerwise.js');
    const run = (out: string) => spawnSync(process.execPath, [bin, 'train', 'fashion-mnist-mlp', '--epochs', '2', '--checkpoint-every', '1', '--limit', '64', '--json', '--force', '--out', out], {
      encoding: 'utf8', env: { ...process.env, LAYERWISE_CLI_FROM_SOURCE: '1' },
    });
    const dir = tempDir();
    const foreign = ['.checkpoint-old-1-1/x', '.checkpoint-new-1-1/x', 'notes.tmp-99999999-1', 'weights-0123456789abcdef.bin', 'data.csv'];
    for (const f of foreign) {
      mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
      writeFileSync(path.join(dir, f), 'mine');
    }
    const trained = run(dir);
    expect(trained.status, trained.stderr + trained.stdout).to.equal(0);
    for (const f of foreign) expect(readFileSync(path.join(dir, f), 'utf8'), f).to.equal('mine');
    for (const clash of ['checkpoint/keep.txt', 'report.html', 'training.json']) {
      const other = tempDir();
      mkdirSync(path.dirname(path.join(other, clash)), { recursive: true });
      writeFileSync(path.join(other, clash), 'mine');
      const r = run(other);
      expect(r.status, r.stderr).to.equal(1);
      const events = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { event: string; message?: string });
      expect(events.map((e) => e.event), clash).to.deep.equal(['error']);
      expect(events[0].message).to.contain(`holds a ${clash.split('/')[0]} that no layerwise run wrote`);
      expect(readFileSync(path.join(other, clash), 'utf8'), clash).to.equal('mine');
    }
  });
});

describe('hostile data files', function () {
  this.timeout(120_000);
  let dir: string;
  before(() => { dir = mkdtempSync(path.join(os.tmpdir(), 'layerwise-bomb-')); });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('a gzip bomb in IDX format stops where it passes its declared size, with bounded memory (it once inflated 3 GB first)', async () => {
    const file = path.join(dir, 'bomb.gz');
    await writeIdxGzipBomb(file, 512 * 2 ** 20);
    const rss = process.memoryUsage().rss;
    for (const load of [() => loadIdx(file), async () => loadIdxSync(file), async () => parseIdx(readFileSync(file), 'bomb bytes')]) {
      const err = await load().then(() => undefined, (e: Error) => e);
      expect(err).to.be.instanceOf(DataFileError);
      expect(err!.message).to.match(new RegExp(`trailing data: inflates to more than the ${BOMB_DECLARED_BYTES + 16} bytes its header declares`));
    }
    // The declared 78 MB may be inflated, the 512 MB behind it must not be.
    expect(process.memoryUsage().rss - rss).to.be.below(400 * 2 ** 20);
  });

  it('a declared size above maxBytes is refused before anything is inflated or allocated', async () => {
    const header = Buffer.alloc(16);
    header.writeUInt32BE(0x00000803, 0);
    header.writeUInt32BE(65536, 4);
    header.writeUInt32BE(65536, 8);
    header.writeUInt32BE(1, 12);
    const file = path.join(dir, 'huge.gz');
    writeFileSync(file, gzipSync(header));
    const err = await loadIdx(file).then(() => undefined, (e: Error) => e);
    expect(err).to.be.instanceOf(DataFileError);
    expect(err!.message).to.contain('its header declares [65536,65536,1] (4294967296 bytes), above the limit of 1073741824 bytes');
    expect(() => parseIdx(gzipSync(header), 'x', { maxBytes: 10 })).to.throw(DataFileError, 'above the limit of 10 bytes');
    expect(() => parseIdx(gzipSync(header), 'x', { maxByte: 10 } as never)).to.throw(OptionError, "unknown option 'maxByte' in IDX options (did you mean 'maxBytes'?)");
  });
});

describe('shared-memory race on every binding function', function () {
  this.timeout(180_000);
  it('every function, called with SharedArrayBuffer arguments that another thread keeps overwriting, returns or throws: no crash', () => {
    const run = spawnSync(process.execPath, ['--import', 'tsx', path.join(FIXTURES, 'shared-race.ts'), '150'], { encoding: 'utf8', env: process.env });
    expect(run.signal, run.stderr).to.equal(null);
    expect(run.status, run.stderr).to.equal(0);
    const counts = JSON.parse(run.stdout) as Record<string, { returned: number; threw: number }>;
    const exported = Object.keys(nativeBinding()).filter((k) => typeof (nativeBinding() as unknown as Record<string, unknown>)[k] === 'function');
    expect(Object.keys(counts).sort()).to.deep.equal(exported.sort());
    for (const [fn, c] of Object.entries(counts)) expect(c.returned + c.threw, fn).to.be.greaterThan(0);
  });
});

describe('hostile options and inputs beyond the binding', function () {
  this.timeout(60_000);
  const throwing = (key: string, base: object = {}) =>
    Object.defineProperty({ ...base }, key, { enumerable: true, get: () => { throw new Error(`getter ${key} says no`); } });

  it('options objects with getters that throw: the error surfaces, and the network is not left busy or half-built', async () => {
    const net = new Network({ seed: 1 }).add(new Dense(2, 2)).use('mse');
    const before = net.getWeights().map((w) => Array.from(w));
    for (const key of ['epochs', 'batchSize', 'optimizer', 'validationData', 'callbacks']) {
      const options = throwing(key, { epochs: 1 }) as never;
      await expectReject(net.fit([[1, 2]], [[1, 0]], options), `getter ${key} says no`);
      expect(net.isTraining, key).to.equal(false);
    }
    expect(net.getWeights().map((w) => Array.from(w))).to.deep.equal(before);
    await net.fit([[1, 2]], [[1, 0]], { epochs: 1 });
    expect(() => new Dense(2, 2, throwing('activation') as never)).to.throw('getter activation says no');
    expect(() => net.predict([[1, 2]], throwing('batchSize') as never)).to.throw('getter batchSize says no');
  });

  it('CLI predict refuses a NaN row instead of printing a class for it', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'layerwise-nan-'));
    try {
      writeFileSync(path.join(dir, 'train.csv'), 'a,b,label\n0.1,0.2,0\n0.3,0.4,1\n0.5,0.1,0\n0.9,0.8,1\n');
      // 'nan' is a missing value to the CSV loader (refused there, naming its line); inf reaches predict.
      writeFileSync(path.join(dir, 'input.csv'), 'a,b\n0.1,0.2\ninf,0.4\n');
      writeFileSync(path.join(dir, 'missing.csv'), 'a,b\n0.1,0.2\nnan,0.4\n');
      writeFileSync(path.join(dir, 'spec.json'), JSON.stringify({
        seed: 1, layers: [{ type: 'Dense', inputSize: 2, outputSize: 2 }, { type: 'Activation', kind: 'softmax' }], loss: 'sparseCategoricalCrossEntropy',
      }));
      const cli = (args: string[]) => spawnSync(process.execPath, [path.join(__dirname, '..', 'bin', 'layerwise.js'), ...args], {
        cwd: dir, encoding: 'utf8', env: { ...process.env, LAYERWISE_CLI_FROM_SOURCE: '1' },
      });
      const trained = cli(['train', 'spec.json', '--data', 'train.csv', '--label-column', 'label', '--epochs', '1', '--out', 'model', '--json']);
      expect(trained.status, trained.stderr + trained.stdout).to.equal(0);
      const predicted = cli(['predict', 'model', '--input', 'input.csv']);
      expect(predicted.status).to.equal(1);
      expect(predicted.stdout).to.equal('');
      expect(predicted.stderr).to.contain('holds Infinity in sample 1 (element 0); inputs must be finite');
      const missing = cli(['predict', 'model', '--input', 'missing.csv']);
      expect(missing.status).to.equal(1);
      expect(missing.stdout).to.equal('');
      expect(missing.stderr).to.contain("missing.csv line 3, column 1 (a): missing value ('nan')");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
