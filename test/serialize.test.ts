// Model files: bit-identical round trips on both backends, optimizer state,
// and clear errors for every kind of damaged or mismatched file.

import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  Activation, Adam, AvgPool2D, Conv2D, Dense, Dropout, Flatten, loadNetwork, MaxPool2D, Network, SGD, Tensor,
} from '../lib/index.js';
import { forEachBackend, randomTensor } from './helpers.js';

function cnn(seed: number): Network {
  return new Network({ seed })
    .add(new Conv2D({ filters: 3, kernelSize: 3, padding: 'same', activation: 'relu' }))
    .add(new MaxPool2D())
    .add(new Conv2D({ filters: 4, kernelSize: [2, 3], strides: 1, kernelInitializer: 'heNormal' }))
    .add(new AvgPool2D({ poolSize: 2, padding: 'same' }))
    .add(new Flatten())
    .add(new Dropout(0.25))
    .add(new Dense(8, 5, { activation: 'leakyRelu' }))
    .add(new Activation('leakyRelu', { alpha: 0.2 }))
    .add(new Dense(5, 3))
    .add(new Activation('softmax'))
    .use('sparseCategoricalCrossEntropy');
}

const tempDirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'layerwise-model-'));
  tempDirs.push(dir);
  return dir;
}
after(() => tempDirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

async function expectLoadError(dir: string, message: string | RegExp): Promise<void> {
  try {
    await Network.load(dir);
  } catch (err) {
    if (typeof message === 'string') expect((err as Error).message).to.contain(message);
    else expect((err as Error).message).to.match(message);
    return;
  }
  expect.fail(`expected loading ${dir} to fail with ${message}`);
}

forEachBackend('model files', () => {
  it('round-trips a trained CNN: predictions are bit-identical after save and load', async () => {
    const x = randomTensor([12, 8, 8, 1], 1);
    const y = new Tensor(Float32Array.from({ length: 12 }, (_, i) => i % 3), [12]);
    const net = cnn(3);
    await net.fit(x, y, { epochs: 2, batchSize: 4, optimizer: 'adam', learningRate: 0.01 });
    const dir = tempDir();
    await net.save(dir);
    const loaded = await Network.load(dir);
    expect(Array.from(loaded.predict(x).data)).to.deep.equal(Array.from(net.predict(x).data));
    expect(loaded.layers.map((l) => l.getConfig())).to.deep.equal(net.layers.map((l) => l.getConfig()));
    expect(loaded.lossName()).to.equal('sparseCategoricalCrossEntropy');
    expect(loaded.seed).to.equal(3);
  });

  it('stores the optimizer state so training resumes exactly', async () => {
    const x = randomTensor([16, 4], 2);
    const y = randomTensor([16, 2], 3);
    const build = () => new Network({ seed: 4 }).add(new Dense(4, 6, { activation: 'tanh' })).add(new Dense(6, 2)).use('mse');
    // Uninterrupted: two fits of one epoch with one Adam instance.
    const straight = build();
    const adam = new Adam({ learningRate: 0.01 });
    await straight.fit(x, y, { epochs: 1, batchSize: 4, optimizer: adam, shuffle: false });
    await straight.fit(x, y, { epochs: 1, batchSize: 4, optimizer: adam, shuffle: false });
    // Interrupted after the first epoch, saved with the optimizer, resumed.
    const first = build();
    const adam1 = new Adam({ learningRate: 0.01 });
    await first.fit(x, y, { epochs: 1, batchSize: 4, optimizer: adam1, shuffle: false });
    const dir = tempDir();
    await first.save(dir, { optimizer: adam1 });
    const { network, optimizer } = await loadNetwork(dir);
    expect(optimizer).to.be.instanceOf(Adam);
    await network.fit(x, y, { epochs: 1, batchSize: 4, optimizer, shuffle: false });
    expect(network.getWeights().map((w) => Array.from(w))).to.deep.equal(straight.getWeights().map((w) => Array.from(w)));
  });
});

describe('model files: damaged and mismatched', () => {
  let dir: string;
  beforeEach(async () => {
    dir = tempDir();
    await new Network({ seed: 1 }).add(new Dense(3, 2)).add(new Activation('relu')).use('mse').save(dir, { optimizer: new SGD({ momentum: 0.9 }) });
  });
  const weightsFile = () => path.join(dir, readdirSync(dir).find((f) => f.startsWith('weights-'))!);
  const modelJson = () => JSON.parse(readFileSync(path.join(dir, 'model.json'), 'utf8'));
  // Edits re-signed with the manifest checksum, to reach the checks behind it.
  const writeModel = (m: Record<string, unknown>) => {
    const { sha256: _old, ...rest } = m;
    writeFileSync(path.join(dir, 'model.json'), JSON.stringify({ ...rest, sha256: createHash('sha256').update(JSON.stringify(rest)).digest('hex') }));
  };

  it('a truncated weights file', async () => {
    const file = weightsFile();
    writeFileSync(file, readFileSync(file).subarray(0, 10));
    await expectLoadError(dir, /cannot read .*weights-[0-9a-f]{16}\.bin: holds 10 bytes but 32 are expected \(truncated or replaced\?\)/);
  });

  it('a corrupted weights file fails its checksum', async () => {
    const file = weightsFile();
    const bytes = readFileSync(file);
    bytes[5] ^= 0x40;
    writeFileSync(file, bytes);
    await expectLoadError(dir, 'fails its SHA-256 check: the file is corrupted');
  });

  it('a truncated or corrupted model.json', async () => {
    const text = readFileSync(path.join(dir, 'model.json'), 'utf8');
    writeFileSync(path.join(dir, 'model.json'), text.slice(0, text.length / 2));
    await expectLoadError(dir, 'is not valid JSON (truncated or corrupted?)');
  });

  it('a wrong version or format', async () => {
    writeModel({ ...modelJson(), version: 1 });
    await expectLoadError(dir, 'model version number 1 is not supported (this layerwise reads version 2)');
    writeModel({ ...modelJson(), version: 2, format: 'keras' });
    await expectLoadError(dir, "not a layerwise model (format is string 'keras')");
  });

  it('an unknown layer type is refused, and nothing is evaluated', async () => {
    const m = modelJson();
    m.layers[0] = { type: 'constructor' };
    writeModel(m);
    await expectLoadError(dir, "layer 0 has unknown type string 'constructor'");
    m.layers[0] = { type: '__proto__' };
    writeModel(m);
    await expectLoadError(dir, "layer 0 has unknown type string '__proto__'");
  });

  it('layers that do not match the stored tensors', async () => {
    const m = modelJson();
    m.layers[0].outputSize = 4;
    writeModel(m);
    await expectLoadError(dir, 'expected [3,4] for parameter 0 (weights) but the file stores [3,2]');
    const bad = modelJson();
    bad.layers[0].inputSize = -1;
    writeModel(bad);
    await expectLoadError(dir, 'layer 0 (Dense): expected a positive integer for Dense inputSize but got number -1');
  });

  it('a missing weights file or directory', async () => {
    rmSync(weightsFile());
    await expectLoadError(dir, /cannot read .*weights-[0-9a-f]{16}\.bin/);
    await expectLoadError(path.join(dir, 'nope'), /cannot read .*model\.json/);
  });

  it('a model with a user-defined activation cannot be saved', async () => {
    const net = new Network().add(new Activation((v) => v, () => 1));
    let error: Error | undefined;
    try {
      await net.save(tempDir());
    } catch (err) {
      error = err as Error;
    }
    expect(error?.message).to.equal('an Activation with a user function cannot be saved: its code is not data');
  });

  it('saving again replaces the weights file and keeps one', async () => {
    const net = await Network.load(dir);
    net.layers[0].parameters()[0].value.data[0] += 1;
    await net.save(dir);
    expect(readdirSync(dir).filter((f) => f.startsWith('weights-'))).to.have.length(1);
    expect(readdirSync(dir).filter((f) => f.includes('.tmp-'))).to.have.length(0);
    const again = await Network.load(dir);
    expect(again.layers[0].parameters()[0].value.data[0]).to.equal(net.layers[0].parameters()[0].value.data[0]);
  });
});

describe('model files: a process killed while saving', function () {
  this.timeout(60000);

  it('always leaves a loadable model, equal to one that was fully saved', async () => {
    const { spawn } = await import('node:child_process');
    const dir = tempDir();
    for (let round = 0; round < 6; round++) {
      const child = spawn(process.execPath, [path.join(__dirname, 'fixtures', 'save-loop.cjs'), dir], { stdio: ['ignore', 'pipe', 'inherit'] });
      let completed = 0;
      await new Promise<void>((resolve) => {
        child.stdout!.on('data', (chunk: Buffer) => {
          const lines = chunk.toString().trim().split('\n');
          completed = Number(lines[lines.length - 1]);
          // Kill at a different point of a save each round.
          if (completed >= 1) setTimeout(() => { child.kill('SIGKILL'); resolve(); }, round * 3);
        });
      });
      await new Promise((resolve) => child.once('exit', resolve));
      const loaded = await Network.load(dir);
      const values = new Set(loaded.getWeights().flatMap((w) => Array.from(new Set(w))));
      expect(values.size, `round ${round}: one save's weights, not a mix`).to.equal(1);
      const k = [...values][0];
      expect(k, `round ${round}`).to.be.at.least(completed);
    }
    // Temporaries the killed saves left do not stop the next save, which loads.
    const last = await Network.load(dir);
    await last.save(dir);
    expect((await Network.load(dir)).getWeights()).to.deep.equal(last.getWeights());
  });
});
