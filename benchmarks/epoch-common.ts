// What the epoch benchmarks share: the two models, the training settings, and
// how one layerwise epoch is timed. benchmarks/epochs.ts (layerwise's own
// backends) and benchmarks/peers/run.ts (other libraries) both use it, so the
// layerwise numbers in the two tables come from the same code.

import { statSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  Activation, Conv2D, Dense, Flatten, MaxPool2D, Network,
  getBackend, getPreset, loadMnist, networkFromSpec, nativeAvailable, nativeInfo, setBackend, setNumThreads,
  type MnistData,
} from '../lib/index.js';

export const DATA_DIR = '/usr/share/datasets/fashion-mnist';
export const BATCH_SIZE = 32;
export const SEED = 1;

export type ModelName = 'mlp' | 'cnn' | 'startCnn';
export const MODELS: readonly ModelName[] = ['mlp', 'cnn', 'startCnn'];
export const MODEL_LABEL: Record<ModelName, string> = {
  mlp: 'MLP 784-128-10',
  cnn: 'small CNN conv3×3×8-pool-dense10',
  startCnn: 'npm-start CNN conv16-pool-conv32-pool-dense128-10',
};
/**
 * Plain SGD (no momentum). 0.1 trains the two small models without diverging
 * here; the deeper npm-start CNN takes 0.05.
 */
export const LEARNING_RATE: Record<ModelName, number> = { mlp: 0.1, cnn: 0.1, startCnn: 0.05 };

/** 784 → 128 ReLU → 10 → softmax, inputs [n, 784]. */
export function buildMlp(seed = SEED): Network {
  return new Network({ seed })
    .add(new Dense(784, 128, { activation: 'relu' }))
    .add(new Dense(128, 10))
    .add(new Activation('softmax'))
    .use('sparseCategoricalCrossEntropy');
}

/** conv 3×3 1→8 ReLU (valid, 26×26) → max-pool 2×2 (13×13) → flatten (1352) → 10 → softmax, inputs [n, 28, 28, 1]. */
export function buildCnn(seed = SEED): Network {
  return new Network({ seed })
    .add(new Conv2D({ filters: 8, kernelSize: 3, padding: 'valid', activation: 'relu', inputShape: [28, 28, 1] }))
    .add(new MaxPool2D({ poolSize: 2 }))
    .add(new Flatten())
    .add(new Dense(13 * 13 * 8, 10))
    .add(new Activation('softmax'))
    .use('sparseCategoricalCrossEntropy');
}

/** The network `npm start` trains (the fashion-mnist-cnn preset), inputs [n, 28, 28, 1]. */
export function buildStartCnn(seed = SEED): Network {
  return networkFromSpec({ ...getPreset('fashion-mnist-cnn')!.spec, seed });
}

export function buildModel(model: ModelName, seed = SEED): Network {
  return model === 'mlp' ? buildMlp(seed) : model === 'cnn' ? buildCnn(seed) : buildStartCnn(seed);
}

/**
 * Multiply-adds per sample, forward and in a training step (forward, weight
 * gradient, and input gradient except the first layer's, which layerwise
 * skips): Dense and Conv2D only; activations, pooling and the optimizer are
 * memory-bound passes and not counted. GFLOP/s = 2 × these / time.
 */
export function multiplyAdds(net: Network, inputShape: readonly number[]): { forward: number; training: number } {
  net.build(inputShape);
  const rows = net.summary().layers;
  let shape = [...inputShape];
  let forward = 0, training = 0;
  net.layers.forEach((layer, i) => {
    const out = rows[i].outputShape.slice(1) as number[];
    const config = layer.getConfig();
    let macs = 0;
    if (config.type === 'Dense') macs = (config.inputSize as number) * (config.outputSize as number);
    else if (config.type === 'Conv2D') {
      const k = config.kernelSize as number | number[];
      const [kh, kw] = Array.isArray(k) ? k : [k, k];
      macs = out[0] * out[1] * out[2] * kh * kw * shape[2];
    }
    forward += macs;
    training += macs * (i === 0 ? 2 : 3);
    shape = out;
  });
  return { forward, training };
}

export function inputShapeOf(model: ModelName): number[] {
  return model === 'mlp' ? [784] : [28, 28, 1];
}

export interface Datasets {
  /** Images flattened to [n, 784] for the MLP. */
  flat: MnistData;
  /** The same images as [n, 28, 28, 1] for the CNN (a reshape of the same buffer). */
  images: MnistData;
}

export async function loadDatasets(dir = DATA_DIR): Promise<Datasets> {
  const images = await loadMnist(dir, { flatten: false });
  const flat: MnistData = {
    ...images,
    xTrain: images.xTrain.reshape([images.xTrain.shape[0], 784]),
    xTest: images.xTest.reshape([images.xTest.shape[0], 784]),
  };
  return { flat, images };
}

export function datasetFor(model: ModelName, data: Datasets): MnistData {
  return model === 'mlp' ? data.flat : data.images;
}

export interface EpochTiming {
  /** Seconds for one epoch over the whole training set (extrapolated when `extrapolated`). */
  epochSeconds: number;
  /** Batches that were actually run and timed. */
  batchesTimed: number;
  batchesPerEpoch: number;
  extrapolated: boolean;
  /** Test accuracy after the epoch; only when the whole epoch ran. */
  testAccuracy?: number;
  trainLoss: number;
}

export type LayerwiseBackend = { backend: 'js' } | { backend: 'native'; threads?: number };

/**
 * Trains a fresh network (same seed every time) for one epoch, or for the
 * first `batches` batches of a shuffled epoch, and times only the training
 * loop: fit's own per-epoch clock excludes data checks and setup.
 */
export async function timeLayerwiseEpoch(
  model: ModelName, data: Datasets, where: LayerwiseBackend, batches?: number,
): Promise<EpochTiming> {
  const set = datasetFor(model, data);
  const samples = set.xTrain.shape[0];
  const batchesPerEpoch = Math.ceil(samples / BATCH_SIZE);
  const partial = batches !== undefined && batches < batchesPerEpoch;
  const used = partial ? batches * BATCH_SIZE : samples;

  const restoreThreads = nativeAvailable() ? nativeInfo().threads : undefined;
  setBackend(where.backend);
  if (where.backend === 'native' && where.threads !== undefined) setNumThreads(where.threads);
  try {
    const net = buildModel(model);
    // Views, not copies: a copy of the 188 MB training set would count in the fit's peak RSS.
    const history = await net.fit(set.xTrain.view(0, used), set.yTrain.view(0, used), {
      epochs: 1, batchSize: BATCH_SIZE, optimizer: 'sgd', learningRate: LEARNING_RATE[model], shuffle: true, seed: SEED,
    });
    const seconds = history.seconds[0];
    const batchesTimed = Math.ceil(used / BATCH_SIZE);
    return {
      epochSeconds: partial ? (seconds / batchesTimed) * batchesPerEpoch : seconds,
      batchesTimed,
      batchesPerEpoch,
      extrapolated: partial,
      testAccuracy: partial ? undefined : net.evaluate(set.xTest, set.yTest).accuracy,
      trainLoss: history.loss[0],
    };
  } finally {
    if (restoreThreads !== undefined) setNumThreads(restoreThreads);
  }
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** One line about the machine and the native addon, for the tables' headers. */
export function machineLine(): string {
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  const info = nativeInfo();
  // The addon's path and build time: other work may rebuild it between runs, so a table names the build it timed.
  const built = info.path ? statSync(info.path).mtime.toISOString().replace(/\.\d+Z$/, 'Z') : '';
  const native = info.available
    ? `native ${info.isa}, ${info.threads} threads by default (${path.relative(process.cwd(), info.path!)}, built ${built})`
    : `native unavailable (${info.error})`;
  return `${cpu}, ${os.cpus().length} cores; node ${process.version}; ${native}; active backend ${getBackend().name}`;
}

/** A markdown table; numbers should already be formatted. */
export function markdownTable(header: string[], rows: string[][], rightAligned: boolean[]): string {
  const sep = rightAligned.map((r) => (r ? '---:' : '---'));
  return [header, sep, ...rows].map((cells) => `| ${cells.join(' | ')} |`).join('\n');
}

export const fmt = {
  seconds: (s: number) => (s >= 100 ? s.toFixed(0) : s >= 10 ? s.toFixed(1) : s.toFixed(2)),
  ratio: (r: number) => `${r >= 10 ? r.toFixed(0) : r.toFixed(1)}×`,
  percent: (a?: number) => (a === undefined ? '—' : `${(100 * a).toFixed(2)}%`),
  rate: (n: number) => Math.round(n).toLocaleString('en-US'),
};
