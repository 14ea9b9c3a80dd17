// ONNX export and import, checked against onnx's own checker (Debian's
// python3-onnx, called as a child process) and onnxruntime-node: every layer
// type exported from a trained network, PyTorch-exported models imported, and
// hostile files refused with ModelFileErrors.

import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { onnx } from 'onnx-proto';
import {
  Activation, AvgPool2D, BatchNormalization, Conv2D, Normalization, Dense, Dropout, Flatten, MaxPool2D, ModelFileError, Network, OptionError, Tensor, saveOnnx,
  GlobalAveragePooling2D, GlobalMaxPooling2D, RandomFlip, RandomTranslation, Reshape,
} from '../lib/index.js';
import { Scale } from './fixtures/scale-layer.js';
import { main } from '../lib/cli/main.js';

const fixtures = path.join(__dirname, 'fixtures', 'onnx');
/** Debian's python3 (with python3-onnx); a pyenv shim earlier on PATH may not see Debian's packages. */
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

function checkWithOnnx(bytes: Uint8Array): void {
  const dir = mkdtempSync(path.join(tmpdir(), 'layerwise-onnx-'));
  try {
    const file = path.join(dir, 'model.onnx');
    writeFileSync(file, bytes);
    const run = spawnSync(PYTHON, ['-c', 'import sys, onnx; onnx.checker.check_model(onnx.load(sys.argv[1]), full_check=True); print("ok")', file], { encoding: 'utf8' });
    expect(run.stdout.trim(), `onnx.checker: ${run.stderr}`).to.equal('ok');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function runOrt(bytes: Uint8Array, x: Tensor): Promise<Tensor> {
  const session = await ort.InferenceSession.create(bytes);
  try {
    const out = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', x.data, [...x.shape]) });
    const y = out[session.outputNames[0]];
    return new Tensor(Float32Array.from(y.data as Float32Array), y.dims.map(Number));
  } finally {
    await session.release();
  }
}

function inputs(shape: number[], salt = 0): Tensor {
  const t = Tensor.zeros(shape);
  for (let i = 0; i < t.size; i++) t.data[i] = Math.sin(i * 0.37 + salt);
  return t;
}

function expectClose(actual: Tensor, expected: Tensor, tolerance: number, what: string): void {
  expect(actual.shape, what).to.deep.equal(expected.shape);
  let worst = 0;
  for (let i = 0; i < actual.size; i++) worst = Math.max(worst, Math.abs(actual.data[i] - expected.data[i]));
  expect(worst, `${what}: largest difference`).to.be.at.most(tolerance);
}

interface Case {
  name: string;
  build: () => Network;
  sample: number[];
  classes: number;
}

const CASES: Case[] = [
  {
    name: 'Dense with every activation, Activation layers, Dropout',
    sample: [6],
    classes: 3,
    build: () => new Network({ seed: 1 })
      .add(new Dense(6, 10, { activation: 'relu' })).add(new Dropout(0.3))
      .add(new Dense(10, 10, { activation: 'tanh' })).add(new Dense(10, 10, { activation: 'sigmoid' }))
      .add(new Dense(10, 10, { activation: 'leakyRelu' })).add(new Activation('leakyRelu', { alpha: 0.3 }))
      .add(new Dense(10, 8, { activation: 'linear' })).add(new Activation('tanh')).add(new Activation('sigmoid')).add(new Activation('relu'))
      .add(new Activation('linear')).add(new Dense(8, 3)).add(new Activation('softmax')),
  },
  {
    name: 'Conv2D (valid, same, strides) with MaxPool2D, AvgPool2D, Flatten, Dropout',
    sample: [9, 8, 2],
    classes: 4,
    build: () => new Network({ seed: 2 })
      .add(new Conv2D({ filters: 4, kernelSize: 3, inputShape: [9, 8, 2], activation: 'relu', padding: 'same' }))
      .add(new MaxPool2D({ poolSize: 2, padding: 'same' }))
      .add(new Conv2D({ filters: 5, kernelSize: [2, 3], strides: [1, 2], activation: 'tanh' }))
      .add(new AvgPool2D({ poolSize: 2, strides: 1, padding: 'same' }))
      .add(new Activation('softmax')) // over the channels of every pixel
      .add(new Dropout(0.2)).add(new Flatten()).add(new Dense(20, 4)).add(new Activation('softmax')),
  },
  {
    name: 'BatchNormalization after Dense and after Conv2D',
    sample: [6, 6, 2],
    classes: 3,
    build: () => new Network({ seed: 6 })
      .add(new Conv2D({ filters: 3, kernelSize: 3, inputShape: [6, 6, 2] })).add(new BatchNormalization()).add(new Activation('relu'))
      .add(new Flatten()).add(new Dense(48, 5)).add(new BatchNormalization({ epsilon: 1e-5 })).add(new Dense(5, 3)).add(new Activation('softmax')),
  },
  {
    name: 'Normalization before Dense',
    sample: [4],
    classes: 2,
    build: () => new Network({ seed: 5 })
      .add(new Normalization({ offset: [0.5, -1, 2, 0], scale: [2, 0.5, 1, 3] })).add(new Dense(4, 2)).add(new Activation('softmax')),
  },
  {
    name: 'GlobalAveragePooling2D after Conv2D; RandomFlip and RandomTranslation dropped',
    sample: [7, 6, 2],
    classes: 3,
    build: () => new Network({ seed: 7 })
      .add(new Conv2D({ filters: 4, kernelSize: 3, inputShape: [7, 6, 2], activation: 'tanh' }))
      .add(new RandomFlip({ seed: 1 })).add(new RandomTranslation({ height: 0.3, width: 0.2, seed: 2 }))
      .add(new Conv2D({ filters: 5, kernelSize: 2, padding: 'same' })).add(new GlobalAveragePooling2D())
      .add(new Dense(5, 3)).add(new Activation('softmax')),
  },
  {
    name: 'Reshape from flat input to an image, GlobalMaxPooling2D, Reshape and flatten again',
    sample: [72],
    classes: 3,
    build: () => new Network({ seed: 8 })
      .add(new Reshape([6, 6, 2], { inputShape: [72] })).add(new RandomFlip({ mode: 'vertical' }))
      .add(new Conv2D({ filters: 4, kernelSize: 3, activation: 'relu' })).add(new GlobalMaxPooling2D())
      .add(new Dense(4, 6, { activation: 'tanh' })).add(new Reshape([3, -1])).add(new Reshape([-1]))
      .add(new Dense(6, 3)).add(new Activation('softmax')),
  },
  {
    name: 'GlobalMaxPooling2D straight on the input, GlobalAveragePooling2D after an image Reshape',
    sample: [4, 4, 3],
    classes: 2,
    build: () => new Network({ seed: 9 })
      .add(new GlobalMaxPooling2D({ inputShape: [4, 4, 3] })).add(new Dense(3, 8, { activation: 'relu' }))
      .add(new Reshape([2, 2, 2])).add(new GlobalAveragePooling2D()).add(new Dense(2, 2)).add(new Activation('softmax')),
  },
  {
    name: 'AvgPool2D valid and a Conv2D as the last image layer before Flatten',
    sample: [6, 6, 3],
    classes: 2,
    build: () => new Network({ seed: 3 })
      .add(new AvgPool2D({ poolSize: 2 }))
      .add(new Conv2D({ filters: 2, kernelSize: 2, inputShape: [3, 3, 3], strides: 1, activation: 'sigmoid' }))
      .add(new Flatten()).add(new Dense(8, 2, { activation: 'sigmoid' })),
  },
];

describe('ONNX', function () {
  this.timeout(120000);

  for (const c of CASES) {
    it(`export of a trained network passes onnx.checker, runs in onnxruntime within 1e-5, and fromOnnx predicts the same to 1e-6: ${c.name}`, async () => {
      const net = c.build().use('sparseCategoricalCrossEntropy');
      const x = inputs([24, ...c.sample]);
      const y = new Tensor(Float32Array.from({ length: 24 }, (_, i) => i % c.classes), [24]);
      const before = net.predict(x);
      await net.fit(x, y, { epochs: 2, batchSize: 8, optimizer: 'adam', learningRate: 0.01 });
      const expected = net.predict(x);
      expect(Array.from(expected.data).some((v, i) => v !== before.data[i]), 'training changed the network').to.equal(true);

      const bytes = net.toOnnx(c.sample.length === 3 && c.name.startsWith('AvgPool2D') ? { inputShape: c.sample } : undefined);
      checkWithOnnx(bytes);
      const model = onnx.ModelProto.decode(bytes);
      expect(Number(model.opsetImport[0].version)).to.be.at.least(13);
      expect(model.graph!.input![0].type!.tensorType!.shape!.dim![0].dimParam, 'dynamic batch').to.equal('N');
      expect(model.graph!.node!.map((n) => n.opType)).to.not.include('Dropout');
      expect(model.graph!.node!.map((n) => n.name).filter((n) => /Random/.test(n ?? '')), 'augmentation layers are dropped').to.deep.equal([]);
      for (const n of model.graph!.node!) expect(n.name).to.match(/^(\d+_[A-Za-z0-9]+|output)(\/[a-z_A-Z]+)?$/);

      expectClose(await runOrt(bytes, x), expected, 1e-5, 'onnxruntime vs layerwise');
      expectClose(await runOrt(bytes, x.slice(0, 1)), expected.slice(0, 1), 1e-5, 'onnxruntime, batch of one');
      const imported = Network.fromOnnx(bytes);
      expectClose(imported.predict(x), expected, 1e-6, 'fromOnnx(toOnnx(net)) vs net');
      // Global pooling and Reshape come back as the same layer types.
      const kinds = (n: Network) => n.layers.map((l) => l.constructor.name).filter((t) => /^(Global|Reshape)/.test(t));
      expect(kinds(imported), 'imported layer types').to.include.members(kinds(net));
    });
  }

  it('saveOnnx writes toOnnx()\'s bytes; a custom layer without an exporter is refused naming its type', async () => {
    const net = CASES[0].build();
    const dir = mkdtempSync(path.join(tmpdir(), 'layerwise-onnx-'));
    try {
      await saveOnnx(net, path.join(dir, 'm.onnx'));
      expect(Buffer.compare(readFileSync(path.join(dir, 'm.onnx')), Buffer.from(net.toOnnx()))).to.equal(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const custom = new Network().add(new Dense(2, 2)).add(new Scale({ units: 2 }));
    expect(() => custom.toOnnx()).to.throw(OptionError, /'Scale', which has no ONNX exporter/);
    expect(() => new Network().add(new Conv2D({ filters: 1, kernelSize: 1 })).toOnnx()).to.throw(OptionError, /inputShape/);
  });

  it('layerwise export <model-dir> --onnx writes the model onnxruntime runs the same', async () => {
    const net = CASES[1].build();
    net.predict(inputs([1, ...CASES[1].sample])); // the second Conv2D learns its input depth
    const dir = mkdtempSync(path.join(tmpdir(), 'layerwise-onnx-'));
    try {
      await net.save(path.join(dir, 'model'));
      let out = '';
      const io = { out: (t: string) => { out += t; }, err: () => undefined, isTTY: false, columns: () => 80 };
      const code = await main(['export', path.join(dir, 'model'), '--onnx', path.join(dir, 'm.onnx'), '--json'], io);
      expect(code, out).to.equal(0);
      expect(JSON.parse(out)).to.include({ event: 'done', onnx: path.join(dir, 'm.onnx') });
      const x = inputs([3, ...CASES[1].sample]);
      expectClose(await runOrt(readFileSync(path.join(dir, 'm.onnx')), x), net.predict(x), 1e-5, 'exported by the CLI');
      expect(await main(['export', path.join(dir, 'model'), '--json'], io)).to.equal(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  for (const [file, sample] of [['torch-mlp.onnx', [12]], ['torch-cnn.onnx', [1, 12, 12]], ['torch-cnn-bn.onnx', [1, 12, 12]], ['torch-gap.onnx', [2, 7, 6]]] as const) {
    it(`imports ${file} (exported by torch.onnx.export) and predicts what onnxruntime predicts, within 1e-5`, async () => {
      const bytes = readFileSync(path.join(fixtures, file));
      const x = inputs([5, ...sample], 1);
      const expected = await runOrt(bytes, x);
      const net = Network.fromOnnx(bytes);
      // layerwise takes images channels-last: the same pixels as [n, h, w, c].
      const input = sample.length === 3 ? nhwc(x) : x;
      expectClose(net.predict(input), expected, 1e-5, `${file}: layerwise vs onnxruntime`);
      // And it exports again to a model onnxruntime agrees with.
      expectClose(await runOrt(net.toOnnx(), input), expected, 1e-5, `${file}: re-exported`);
    });
  }

  describe('hostile files fail with a ModelFileError, never a crash', () => {
    const mlp = (): Uint8Array => readFileSync(path.join(fixtures, 'torch-mlp.onnx'));
    const refuse = (bytes: Uint8Array, pattern: RegExp): void => {
      let err: unknown;
      try {
        Network.fromOnnx(bytes);
      } catch (e) {
        err = e;
      }
      expect(err, 'expected fromOnnx to throw').to.be.instanceOf(ModelFileError);
      expect((err as ModelFileError).code).to.equal('E_MODEL_FILE');
      expect((err as Error).message).to.match(pattern);
    };
    const edit = (change: (m: onnx.ModelProto) => void): Uint8Array => {
      const m = onnx.ModelProto.decode(mlp());
      change(m);
      return onnx.ModelProto.encode(m).finish();
    };

    it('truncated at every length, and random bytes', () => {
      const bytes = mlp();
      for (let n = 0; n < bytes.length; n += 7) {
        try {
          Network.fromOnnx(bytes.subarray(0, n));
        } catch (err) {
          expect(err, `truncated to ${n} bytes`).to.be.instanceOf(ModelFileError);
        }
      }
      refuse(bytes.subarray(0, bytes.length - 100), /./);
      refuse(Buffer.from('not a model at all, just text'), /./);
    });

    it('a Reshape that does not keep the batch, or reshapes NCHW data other than by flattening, is refused', () => {
      const bytes = CASES.find((c) => c.name.startsWith('Reshape'))!.build().toOnnx();
      const m = onnx.ModelProto.decode(bytes);
      const shape = m.graph!.initializer!.find((t) => t.name === '5_Reshape.shape')!;
      shape.int64Data = [4, -1];
      shape.dims = [2];
      expect(() => Network.fromOnnx(onnx.ModelProto.encode(m).finish())).to.throw(ModelFileError, /node '5_Reshape' \(Reshape\): a reshape to \[4,-1\] must keep the batch dimension first/);
      const torch = onnx.ModelProto.decode(readFileSync(path.join(fixtures, 'torch-cnn.onnx')));
      const flatten = torch.graph!.node!.find((n) => n.opType === 'Flatten')!;
      flatten.opType = 'Reshape';
      flatten.attribute = [];
      flatten.input!.push('odd_shape');
      torch.graph!.initializer!.push({ name: 'odd_shape', dims: [3], dataType: onnx.TensorProto.DataType.INT64, int64Data: [0, 6, -1] });
      expect(() => Network.fromOnnx(onnx.ModelProto.encode(torch).finish())).to.throw(ModelFileError, /node '\/Flatten' \(Reshape\): a reshape of NCHW data to \[0,6,-1\] is not supported/);
    });

    it('an unsupported op names its type and node', () => {
      refuse(edit((m) => { m.graph!.node![1].opType = 'Erf'; }), /node '.*' \(Erf\): operator Erf is not supported/);
    });

    it('shapes that do not chain', () => {
      refuse(edit((m) => {
        const w = m.graph!.initializer!.find((t) => t.name === m.graph!.node![2].input![1])!;
        w.dims = [8, 15];
        w.rawData = w.rawData!.subarray(0, 8 * 15 * 4);
      }), /shapes do not chain/);
    });

    it('a tensor claiming more values or bytes than the file holds is refused before allocating', () => {
      refuse(edit((m) => { m.graph!.initializer![0].dims = [100000, 100000]; }), /claims 10000000000 values but the file has only/);
      refuse(edit((m) => { m.graph!.initializer![0].dims = [16, 13]; }), /holds \d+ bytes for 208 floats/);
      // A raw_data length prefix pointing past the end of the file.
      const bytes = Buffer.from(mlp());
      const m = onnx.ModelProto.decode(bytes);
      const raw = Buffer.from(m.graph!.initializer![0].rawData!);
      const at = bytes.indexOf(raw);
      expect(at).to.be.above(2);
      // rawData's length varint sits just before it; claim a huge length.
      const patched = Buffer.concat([bytes.subarray(0, at - 2), Buffer.from([0xff, 0xff, 0xff, 0x7f]), bytes.subarray(at)]);
      refuse(patched, /./);
    });

    it('external data, non-float weights, NaN weights and a missing graph', () => {
      refuse(edit((m) => { m.graph!.initializer![0].dataLocation = onnx.TensorProto.DataLocation.EXTERNAL; }), /external/);
      refuse(edit((m) => { m.graph!.initializer![0].dataType = onnx.TensorProto.DataType.DOUBLE; }), /data type/);
      refuse(edit((m) => {
        const t = m.graph!.initializer![0];
        const f = new Float32Array(t.rawData!.length / 4);
        f[3] = NaN;
        t.rawData = new Uint8Array(f.buffer);
      }), /NaN/);
      refuse(edit((m) => { m.graph = null; }), /no graph/);
    });
  });
});

/** [n, c, h, w] → [n, h, w, c]. */
function nhwc(x: Tensor): Tensor {
  const [n, c, h, w] = x.shape;
  const out = Tensor.zeros([n, h, w, c]);
  for (let b = 0; b < n; b++) for (let k = 0; k < c; k++) for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) {
    out.data[((b * h + i) * w + j) * c + k] = x.data[((b * c + k) * h + i) * w + j];
  }
  return out;
}
