// npm run bench:peers: the epochs of benchmarks/epochs.ts, run through other
// neural-network libraries and layerwise in one process, one table.
//
//   npm --prefix benchmarks/peers ci && npx tsx benchmarks/peers/run.ts
//       [--probe-batches N] [--full-under S] [--repeats N] [--json out.json] [--no-torch]
//
// Peers: TensorFlow.js with its pure-JS CPU backend and its WASM SIMD backend
// (the .wasm files are loaded from node_modules: nothing is fetched at run
// time), ConvNetJS, and PyTorch (torch_epochs.py, one and two threads) when
// /usr/bin/python3 can import torch (Debian: apt-get install python3-torch).
// The peers live in this folder's own package.json so layerwise never depends
// on them.
//
// Same models, SGD learning rate, batch 32 and shuffling everywhere. Every
// configuration first runs --probe-batches batches (200); when that projects
// a whole epoch under --full-under seconds (90), a whole epoch then runs on a
// fresh model (--repeats times, median, if under 20 s) and its test accuracy is
// reported; otherwise the probe's time is scaled to the 1875 batches of an
// epoch and the row is marked extrapolated.

import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { nativeInfo } from '../../lib/index.js';
import {
  BATCH_SIZE, DATA_DIR, LEARNING_RATE, MODEL_LABEL,
  fmt, loadDatasets, machineLine, markdownTable, median, timeLayerwiseEpoch,
  type Datasets, type ModelName,
} from '../epoch-common.js';

/** What one training run reports: the seconds for `batches` batches, and test accuracy after a whole epoch. */
interface Run { seconds: number; batches: number; testAccuracy?: number }

interface Peer {
  framework: string;
  backend: string;
  /** Trains a fresh model on the first `batches` batches of shuffled data, or on all of it. */
  train(model: ModelName, batches?: number): Promise<Run>;
}

interface Row {
  model: ModelName;
  framework: string;
  backend: string;
  /** undefined when the peer cannot train this model. */
  epochSeconds?: number;
  runs: number[];
  extrapolated: boolean;
  batchesTimed: number;
  testAccuracy?: number;
  note?: string;
  speedupDefault?: number;
  speedupOneThread?: number;
}

const PEERS_DIR = __dirname;
const TORCH_PYTHON = '/usr/bin/python3';
/** Whole epochs shorter than this are repeated for a median; longer ones run once. */
const REPEAT_UNDER_SECONDS = 20;

// ---- TensorFlow.js -------------------------------------------------------
// The peers are optional and absent when `npm run typecheck` runs on a clean
// clone, so they are loaded with require() and used untyped rather than
// imported with their types.
/* eslint-disable @typescript-eslint/no-explicit-any */
type Tf = any;

function loadTf(): Tf {
  const tf = require('@tensorflow/tfjs') as Tf;
  const wasm = require('@tensorflow/tfjs-backend-wasm') as Tf;
  // A local directory (trailing slash required): the backend reads the
  // .wasm files shipped in the npm package instead of fetching them.
  wasm.setWasmPaths(path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm')), '/'));
  return tf;
}

function buildTfModel(tf: Tf, model: ModelName): Tf {
  const net = tf.sequential();
  if (model === 'mlp') {
    net.add(tf.layers.dense({ inputShape: [784], units: 128, activation: 'relu' }));
  } else {
    net.add(tf.layers.conv2d({ inputShape: [28, 28, 1], filters: 8, kernelSize: 3, padding: 'valid', activation: 'relu' }));
    net.add(tf.layers.maxPooling2d({ poolSize: 2, strides: 2 }));
    net.add(tf.layers.flatten());
  }
  net.add(tf.layers.dense({ units: 10, activation: 'softmax' }));
  net.compile({ optimizer: tf.train.sgd(LEARNING_RATE[model]), loss: 'sparseCategoricalCrossentropy' });
  return net;
}

function tfPeer(tf: Tf, backend: 'cpu' | 'wasm', data: Datasets): Peer {
  return {
    framework: `TensorFlow.js ${tf.version.tfjs}`,
    backend: backend === 'cpu' ? 'cpu (pure JS)' : 'wasm SIMD, 1 thread',
    async train(model, batches) {
      if (!(await tf.setBackend(backend))) throw new Error(`tfjs backend ${backend} did not initialise`);
      const set = model === 'mlp' ? data.flat : data.images;
      const used = batches === undefined ? set.xTrain.shape[0] : batches * BATCH_SIZE;
      const shape = model === 'mlp' ? [784] : [28, 28, 1];
      const x = tf.tensor(set.xTrain.data.subarray(0, used * 784), [used, ...shape]);
      const y = tf.tensor(set.yTrain.data.subarray(0, used), [used, 1]);
      const net = buildTfModel(tf, model);
      try {
        const t0 = performance.now();
        await net.fit(x, y, { batchSize: BATCH_SIZE, epochs: 1, shuffle: true, verbose: 0 });
        const seconds = (performance.now() - t0) / 1000;
        let testAccuracy: number | undefined;
        if (batches === undefined) {
          const xTest = tf.tensor(set.xTest.data, [set.xTest.shape[0], ...shape]);
          const predicted: Int32Array = tf.tidy(() => net.predict(xTest, { batchSize: 256 }).argMax(-1).dataSync());
          xTest.dispose();
          testAccuracy = accuracy(predicted, set.yTest.data);
        }
        return { seconds, batches: Math.ceil(used / BATCH_SIZE), testAccuracy };
      } finally {
        net.dispose();
        x.dispose();
        y.dispose();
      }
    },
  };
}

// ---- ConvNetJS ------------------------------------------------------------
// Trains one sample at a time; its Trainer sums gradients over batch_size
// samples and divides by it before the step, which is SGD on the batch mean.
// Its volumes are laid out [y][x][depth], so a 28×28×1 image copies in as is.

function convnetPeer(data: Datasets): Peer {
  const convnetjs = require('convnetjs') as Tf;
  const layers = (model: ModelName): object[] => model === 'mlp'
    ? [
      { type: 'input', out_sx: 1, out_sy: 1, out_depth: 784 },
      { type: 'fc', num_neurons: 128, activation: 'relu' },
      { type: 'softmax', num_classes: 10 }, // adds the fc 128 → 10 before the softmax itself
    ]
    : [
      { type: 'input', out_sx: 28, out_sy: 28, out_depth: 1 },
      { type: 'conv', sx: 3, filters: 8, stride: 1, pad: 0, activation: 'relu' },
      { type: 'pool', sx: 2, stride: 2 },
      { type: 'softmax', num_classes: 10 },
    ];
  const toVol = (model: ModelName, pixels: Float32Array): Tf => {
    const v = model === 'mlp' ? new convnetjs.Vol(1, 1, 784, 0) : new convnetjs.Vol(28, 28, 1, 0);
    v.w.set(pixels);
    return v;
  };
  return {
    framework: 'ConvNetJS 0.3',
    backend: 'JS (Float64), per sample',
    async train(model, batches) {
      const set = model === 'mlp' ? data.flat : data.images;
      const used = batches === undefined ? set.xTrain.shape[0] : batches * BATCH_SIZE;
      const net = new convnetjs.Net();
      net.makeLayers(layers(model));
      const trainer = new convnetjs.Trainer(net, { method: 'sgd', learning_rate: LEARNING_RATE[model], batch_size: BATCH_SIZE, momentum: 0, l2_decay: 0 });
      const order = convnetjs.randperm(used) as number[];
      const pixels = set.xTrain.data, labels = set.yTrain.data;
      const t0 = performance.now();
      // Building each sample's volume is part of ConvNetJS's data path, so it is timed too.
      for (const i of order) trainer.train(toVol(model, pixels.subarray(i * 784, (i + 1) * 784)), labels[i]);
      const seconds = (performance.now() - t0) / 1000;
      let testAccuracy: number | undefined;
      if (batches === undefined) {
        const n = set.xTest.shape[0];
        const predicted = new Int32Array(n);
        for (let i = 0; i < n; i++) {
          net.forward(toVol(model, set.xTest.data.subarray(i * 784, (i + 1) * 784)), false);
          predicted[i] = net.getPrediction();
        }
        testAccuracy = accuracy(predicted, set.yTest.data);
      }
      return { seconds, batches: Math.ceil(used / BATCH_SIZE), testAccuracy };
    },
  };
}

// ---- layerwise --------------------------------------------------------------

function layerwisePeer(data: Datasets, backend: 'js' | 'native', threads?: number): Peer {
  const label = backend === 'js' ? 'js backend' : `native, ${threads ?? nativeInfo().threads} thread${(threads ?? nativeInfo().threads) === 1 ? '' : 's'}` +
    (threads === undefined ? ' (default)' : '');
  return {
    framework: 'layerwise',
    backend: label,
    async train(model, batches) {
      const t = await timeLayerwiseEpoch(model, data, backend === 'js' ? { backend } : { backend, threads }, batches);
      // timeLayerwiseEpoch scales partial runs to an epoch; undo it to report the timed batches.
      return { seconds: (t.epochSeconds / t.batchesPerEpoch) * t.batchesTimed, batches: t.batchesTimed, testAccuracy: t.testAccuracy };
    },
  };
}

// ---- PyTorch ----------------------------------------------------------------

function torchAvailable(): boolean {
  return spawnSync(TORCH_PYTHON, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;
}

/** Runs torch_epochs.py once per thread count (its BLAS threads are fixed at start-up). */
function torchRows(threads: number, repeats: number): Row[] {
  const script = path.join(PEERS_DIR, 'torch_epochs.py');
  const out = spawnSync(TORCH_PYTHON, [script, '--threads', String(threads), '--repeats', String(repeats), '--data', DATA_DIR], {
    encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 20,
  });
  if (out.status !== 0) throw new Error(`torch_epochs.py --threads ${threads} failed with status ${out.status}`);
  const report = JSON.parse(out.stdout.trim().split('\n').at(-1)!) as {
    torch: string; results: { model: ModelName; threads: number; runs: number[]; epochSeconds: number; testAccuracy: number }[];
  };
  return report.results.map((r) => ({
    model: r.model, framework: `PyTorch ${report.torch}`, backend: `CPU, ${r.threads} thread${r.threads === 1 ? '' : 's'}`,
    epochSeconds: r.epochSeconds, runs: r.runs, extrapolated: false, batchesTimed: Math.ceil(60000 / BATCH_SIZE), testAccuracy: r.testAccuracy,
  }));
}

// ---- measuring --------------------------------------------------------------

function accuracy(predicted: ArrayLike<number>, labels: ArrayLike<number>): number {
  let correct = 0;
  for (let i = 0; i < labels.length; i++) if (predicted[i] === labels[i]) correct++;
  return correct / labels.length;
}

async function measure(peer: Peer, model: ModelName, opts: { probeBatches: number; fullUnder: number; repeats: number }): Promise<Row> {
  const row: Row = { model, framework: peer.framework, backend: peer.backend, runs: [], extrapolated: false, batchesTimed: 0 };
  const batchesPerEpoch = Math.ceil(60000 / BATCH_SIZE);
  const say = (what: string) => console.log(`  ${peer.framework}, ${peer.backend}, ${MODEL_LABEL[model]}: ${what}`);
  let probe: Run;
  try {
    probe = await peer.train(model, opts.probeBatches);
  } catch (err) {
    // tfjs's WASM backend has no Conv2DBackpropFilter kernel: report it instead of stopping.
    row.note = `not supported: ${(err instanceof Error ? err.message : String(err)).split('\n')[0]}`;
    say(row.note);
    return row;
  }
  const projected = (probe.seconds / probe.batches) * batchesPerEpoch;
  if (projected > opts.fullUnder) {
    Object.assign(row, { epochSeconds: projected, runs: [projected], extrapolated: true, batchesTimed: probe.batches });
    say(`${fmt.seconds(projected)} s/epoch, extrapolated from ${probe.batches} batches (${probe.seconds.toFixed(1)} s)`);
    return row;
  }
  const repeats = projected < REPEAT_UNDER_SECONDS ? opts.repeats : 1;
  for (let r = 0; r < repeats; r++) {
    const run = await peer.train(model);
    row.runs.push(run.seconds);
    row.testAccuracy = run.testAccuracy;
    say(`${fmt.seconds(run.seconds)} s/epoch, test accuracy ${fmt.percent(run.testAccuracy)}`);
  }
  Object.assign(row, { epochSeconds: median(row.runs), batchesTimed: batchesPerEpoch });
  return row;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'probe-batches': { type: 'string', default: '200' },
      'full-under': { type: 'string', default: '90' },
      repeats: { type: 'string', default: '3' },
      json: { type: 'string' },
      'no-torch': { type: 'boolean', default: false },
    },
  });
  const opts = { probeBatches: Number(values['probe-batches']), fullUnder: Number(values['full-under']), repeats: Number(values.repeats) };
  const data = await loadDatasets();
  console.log(`\nlayerwise vs other libraries, one epoch — ${machineLine()}`);
  console.log(`SGD lr ${LEARNING_RATE.mlp}, batch ${BATCH_SIZE}, shuffled, 60,000 training images; ` +
    `whole epochs when ${opts.probeBatches} batches project under ${opts.fullUnder} s, else extrapolated\n`);

  // layerwise runs first, before any peer library is even loaded: a heap full
  // of another library's garbage made its CNN epochs up to ~10% slower in a trial.
  const rows: Row[] = [];
  for (const peer of [layerwisePeer(data, 'native'), layerwisePeer(data, 'native', 1), layerwisePeer(data, 'js')]) {
    for (const model of ['mlp', 'cnn'] as const) rows.push(await measure(peer, model, opts));
  }
  const tf = loadTf();
  for (const peer of [tfPeer(tf, 'cpu', data), tfPeer(tf, 'wasm', data), convnetPeer(data)]) {
    for (const model of ['mlp', 'cnn'] as const) rows.push(await measure(peer, model, opts));
  }
  if (values['no-torch']) {
    console.log('  PyTorch: skipped (--no-torch)');
  } else if (torchAvailable()) {
    for (const threads of [1, 2]) rows.push(...torchRows(threads, opts.repeats));
  } else {
    console.log(`  PyTorch: skipped, ${TORCH_PYTHON} cannot import torch (Debian: apt-get install python3-torch)`);
  }

  // Group the table by model (the torch rows arrive last); sort is stable, so each group keeps its run order.
  rows.sort((a, b) => Number(a.model === 'cnn') - Number(b.model === 'cnn'));

  // Speed-up = the peer's seconds / layerwise's, for layerwise native with default threads and with one.
  for (const model of ['mlp', 'cnn'] as const) {
    const mine = rows.filter((r) => r.model === model);
    const lwDefault = mine.find((r) => r.framework === 'layerwise' && r.backend.endsWith('(default)'))!.epochSeconds!;
    const lwOne = mine.find((r) => r.framework === 'layerwise' && r.backend === 'native, 1 thread')!.epochSeconds!;
    for (const r of mine) {
      if (r.epochSeconds === undefined) continue;
      r.speedupDefault = r.epochSeconds / lwDefault;
      r.speedupOneThread = r.epochSeconds / lwOne;
    }
  }

  const table = rows.map((r) => [
    MODEL_LABEL[r.model], r.framework, r.backend,
    r.epochSeconds === undefined ? '—' : fmt.seconds(r.epochSeconds),
    r.note ?? (r.extrapolated ? `extrapolated from ${r.batchesTimed} batches` : r.runs.length > 1 ? `whole epoch, median of ${r.runs.length}` : 'whole epoch'),
    r.epochSeconds === undefined ? '—' : fmt.rate(60000 / r.epochSeconds),
    r.speedupDefault === undefined ? '—' : fmt.ratio(r.speedupDefault),
    r.speedupOneThread === undefined ? '—' : fmt.ratio(r.speedupOneThread),
    fmt.percent(r.testAccuracy),
  ]);
  console.log('\n' + markdownTable(
    ['model', 'framework', 'backend', 's / epoch', 'how', 'samples/s', `layerwise (${nativeInfo().threads} thr) speed-up`, 'layerwise (1 thr) speed-up', 'test accuracy'],
    table, [false, false, false, true, false, true, true, true, true],
  ));
  console.log('\nspeed-up = the row\'s seconds per epoch ÷ layerwise native\'s (>1: layerwise is faster). ' +
    'Test accuracy only where a whole epoch ran; initialisations differ between libraries, so accuracies agree only roughly.');

  if (values.json) {
    writeFileSync(values.json, JSON.stringify({ benchmark: 'layerwise vs peers, one epoch', date: new Date().toISOString(), machine: machineLine(), settings: opts, rows }, null, 2) + '\n');
    console.log(`wrote ${values.json}`);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
