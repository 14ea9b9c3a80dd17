// Models that leave and enter: toSpec, the custom-layer registry, in-memory
// model files (toBuffer/fromBuffer) and trainInWorker taking a Network.

import { expect } from 'chai';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import {
  Conv2D, Dense, Activation, Flatten, MaxPool2D, Dropout, Network, ModelFileError, OptionError, Tensor, networkFromSpec, registerLayer, Layer,
  networkFromBuffer, adam, getBackend, setBackend, type LayerConfig,
} from '../lib/index.js';
import { trainInWorker } from '../lib/worker.js';
import { Scale } from './fixtures/scale-layer.js';

function data(n: number, features: number, classes: number, salt = 0): { x: Tensor; y: Tensor } {
  const x = new Float32Array(n * features);
  for (let i = 0; i < x.length; i++) x[i] = ((((i + salt) * 2654435761) >>> 20) % 1000) / 1000 - 0.5;
  const y = Float32Array.from({ length: n }, (_, i) => (i * 7 + salt) % classes);
  return { x: new Tensor(x, [n, features]), y: new Tensor(y, [n]) };
}

function customNet(seed = 3): Network {
  return new Network({ seed })
    .add(new Dense(6, 8, { activation: 'relu' }))
    .add(new Scale({ units: 8 }))
    .add(new Dense(8, 3))
    .add(new Activation('softmax'))
    .use('sparseCategoricalCrossEntropy');
}

function cnn(seed = 4): Network {
  return new Network({ seed })
    .add(new Conv2D({ filters: 3, kernelSize: 3, inputShape: [6, 6, 2], activation: 'relu', padding: 'same' }))
    .add(new MaxPool2D({ poolSize: 2 }))
    .add(new Dropout(0.2))
    .add(new Flatten())
    .add(new Dense(27, 4))
    .add(new Activation('softmax'))
    .use('sparseCategoricalCrossEntropy');
}

const close = (a: Tensor, b: Tensor, tol = 0): void => {
  expect(a.shape).to.deep.equal(b.shape);
  for (let i = 0; i < a.size; i++) expect(Math.abs(a.data[i] - b.data[i])).to.be.at.most(tol, `value ${i}`);
};

describe('toSpec, registry and in-memory model files', function () {
  this.timeout(60000);
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'layerwise-interop-'));
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  it('toSpec gives the spec networkFromSpec rebuilds the same network from', async () => {
    const net = cnn();
    const { x, y } = data(16, 72, 4);
    const images = x.reshape([16, 6, 6, 2]);
    await net.fit(images, y, { epochs: 1, batchSize: 8 });
    const spec = net.toSpec();
    expect(JSON.parse(JSON.stringify(spec))).to.deep.equal(spec);
    expect(spec.loss).to.equal('sparseCategoricalCrossEntropy');
    const rebuilt = networkFromSpec(spec);
    expect(rebuilt.layers.map((l) => l.getConfig())).to.deep.equal(net.layers.map((l) => l.getConfig()));
    rebuilt.setWeights(net.getWeights());
    close(rebuilt.predict(images), net.predict(images));
  });

  it('a registered custom layer round-trips through save/load, toSpec and toBuffer', async () => {
    const net = customNet();
    const { x, y } = data(32, 6, 3);
    await net.fit(x, y, { epochs: 2, batchSize: 8, optimizer: 'adam' });
    const scale = net.layers[1] as Scale;
    expect(Array.from(scale.scale.data).some((v) => v !== 1)).to.equal(true, 'the custom layer trained');
    const expected = net.predict(x);

    await net.save(path.join(dir, 'custom'));
    const loaded = await Network.load(path.join(dir, 'custom'));
    expect(loaded.layers[1]).to.be.instanceOf(Scale);
    close(loaded.predict(x), expected);

    const fromSpec = networkFromSpec(net.toSpec());
    expect(fromSpec.layers[1]).to.be.instanceOf(Scale);

    const restored = Network.fromBuffer(net.toBuffer());
    expect(restored.layers[1]).to.be.instanceOf(Scale);
    close(restored.predict(x), expected);
  });

  it('an unregistered type names registerLayer; bad registrations are refused', () => {
    expect(() => networkFromSpec({ layers: [{ type: 'Shift', units: 2 } as never] })).to.throw(OptionError, /unknown type.*'Shift'.*registerLayer/);
    expect(() => registerLayer('Scale', class Other extends Scale {})).to.throw(OptionError, /already registered/);
    expect(() => registerLayer('bad name!', Scale)).to.throw(OptionError);
    expect(() => registerLayer('NotALayer', class { } as never)).to.throw(OptionError, /Layer subclass/);
    registerLayer('Scale', Scale); // the same class again is fine
  });

  it('a registered class with a static fromConfig is built through it', () => {
    class Doubler extends Layer {
      static built = 0;
      static fromConfig(_c: LayerConfig): Doubler {
        Doubler.built++;
        return new Doubler();
      }
      override forward(x: Tensor): Tensor {
        return new Tensor(x.data.map((v) => 2 * v), x.shape);
      }
      override backward(dy: Tensor): Tensor {
        return new Tensor(dy.data.map((v) => 2 * v), dy.shape);
      }
      override getConfig(): LayerConfig {
        return { type: 'Doubler' };
      }
    }
    registerLayer('Doubler', Doubler);
    const net = networkFromSpec({ layers: [{ type: 'Doubler' } as never] });
    expect(Doubler.built).to.equal(1);
    expect(Array.from(net.predict([[1, 2]]).data)).to.deep.equal([2, 4]);
  });

  it('toBuffer keeps the optimizer state, and fromBuffer equals a directory load', async () => {
    const net = cnn();
    const { x, y } = data(16, 72, 4);
    const images = x.reshape([16, 6, 6, 2]);
    await net.fit(images, y, { epochs: 1, batchSize: 8 });
    const optimizer = adam({ learningRate: 0.01 });
    await net.fit(images, y, { epochs: 1, batchSize: 8, optimizer });
    const buf = net.toBuffer({ optimizer });
    expect(buf).to.be.instanceOf(Uint8Array);
    const back = networkFromBuffer(buf);
    expect(back.optimizer!.getState(back.network.parameters())).to.deep.equal(optimizer.getState(net.parameters()));
    await net.save(path.join(dir, 'cnn'));
    close(Network.fromBuffer(buf).predict(images), (await Network.load(path.join(dir, 'cnn'))).predict(images));
    // Also from a Uint8Array view at an offset inside a larger buffer.
    const shifted = new Uint8Array(buf.length + 3);
    shifted.set(buf, 3);
    close(Network.fromBuffer(shifted.subarray(3)).predict(images), net.predict(images));
  });

  it('a damaged or foreign buffer fails with a ModelFileError naming the problem', () => {
    const buf = customNet().toBuffer();
    const attempt = (b: Uint8Array): unknown => {
      try {
        Network.fromBuffer(b);
      } catch (err) {
        return err;
      }
      return undefined;
    };
    const expectModelError = (b: Uint8Array, pattern: RegExp): void => {
      const err = attempt(b);
      expect(err).to.be.instanceOf(ModelFileError);
      expect((err as ModelFileError).code).to.equal('E_MODEL_FILE');
      expect((err as Error).message).to.match(pattern);
    };
    expectModelError(new Uint8Array(5), /not a layerwise model buffer/);
    expectModelError(Buffer.from('PK\u0003\u0004 some zip'), /not a layerwise model buffer/);
    expectModelError(buf.subarray(0, buf.length - 4), /bytes of weights/);
    expectModelError(buf.subarray(0, 40), /manifest/);
    const flippedWeight = Buffer.from(buf);
    flippedWeight[flippedWeight.length - 2] ^= 0x40;
    expectModelError(flippedWeight, /SHA-256/);
    const manifestStart = 12;
    const flippedManifest = Buffer.from(buf);
    const at = flippedManifest.indexOf('"units":8', manifestStart);
    flippedManifest.write('"units":9', at);
    expectModelError(flippedManifest, /SHA-256/);
    const huge = Buffer.from(buf);
    huge.writeUInt32LE(0xffffffff, 8);
    expectModelError(huge, /manifest/);
  });

  it('trainInWorker takes a Network, nested arrays, custom layers by module, fit callbacks and resume', async () => {
    const net = customNet(9);
    // Enough batches that the worker is still training when the abort reaches it.
    const { x, y } = data(600, 6, 3);
    const nestedX = Array.from({ length: 600 }, (_, i) => Array.from(x.data.subarray(i * 6, i * 6 + 6)));
    const nestedY = Array.from(y.data);
    const before = net.getWeights();
    const epochs: number[] = [];
    let batches = 0;
    const controller = new AbortController();
    const first = await trainInWorker(net, { x: nestedX, y: nestedY }, {
      epochs: 3, batchSize: 4, optimizer: 'adam', backend: 'js', seed: 5,
      modules: [path.join(__dirname, 'fixtures', 'scale-layer.ts')],
      onEpochEnd: (epoch) => epochs.push(epoch),
      onBatchEnd: (batch, _logs, context) => {
        batches++;
        if (batches === 9) controller.abort();
        expect(context.network).to.equal(net);
      },
      signal: controller.signal,
    });
    expect(first.network).to.equal(net, 'the Network passed in receives the trained weights');
    expect(net.getWeights().some((w, i) => w.some((v, k) => v !== before[i][k]))).to.equal(true);
    // The worker runs ahead of the messages this thread handles, so where it stopped varies; the callbacks agree with it.
    const interrupted = first.history.interrupted!;
    expect(interrupted, 'the abort stopped training').to.be.an('object');
    expect(interrupted.epoch).to.equal(epochs.length + 1);
    expect(epochs).to.deep.equal(Array.from({ length: epochs.length }, (_, i) => i + 1));
    expect(batches).to.be.at.least(9);

    const resumed = await trainInWorker(net, { x, y }, {
      epochs: 3, batchSize: 4, optimizer: first.optimizer, backend: 'js', seed: 5, resume: interrupted,
      modules: [path.join(__dirname, 'fixtures', 'scale-layer.ts')],
    });

    // The same training without interruption, in this thread, ends with the same weights.
    const straight = customNet(9);
    straight.setWeights(before);
    const previous = getBackend().name as 'js' | 'native';
    setBackend('js');
    try {
      await straight.fit(x, y, { epochs: 3, batchSize: 4, optimizer: 'adam', seed: 5 });
    } finally {
      setBackend(previous);
    }
    close(resumed.network.predict(x), straight.predict(x), 1e-6);
  });
});
