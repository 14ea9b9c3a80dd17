// Data for the CLI: an MNIST-layout directory or a CSV file, shaped to what
// the network's first layer takes, with labels checked against its outputs so
// a mismatch is one clear sentence before training rather than a shape error
// from deep inside a kernel.

import { existsSync, statSync } from 'node:fs';
import * as path from 'node:path';
import {
  FASHION_MNIST_CLASSES, FASHION_MNIST_SAMPLE_DIR, FASHION_MNIST_SYSTEM_DIR, fashionMnistDir, loadCsv, loadIdx, loadMnist, mnistFiles,
  type CsvFeature,
} from '../data/index.js';
import { readCsvHeader } from '../data/csv.js';
import type { Network } from '../network.js';
import { Tensor } from '../tensor.js';
import { UsageError } from './args.js';

export interface Dataset {
  kind: 'mnist' | 'csv';
  /** The directory or file as given (or the default directory). */
  source: string;
  x: Tensor;
  y: Tensor;
  /** The MNIST test split; CSV files have none. */
  xTest?: Tensor;
  yTest?: Tensor;
  /** Names for class ids 0, 1, …, when known. */
  classNames?: string[];
  /** CSV: the label column's name, and how the feature columns were encoded. */
  targetName?: string;
  features?: CsvFeature[];
}

export interface DataOptions {
  data?: string;
  labelColumn?: number | string;
  /** Keep only the first N samples of each split. */
  limit?: number;
  /** Load MNIST images as [n, 784]; a hint only, since shapeFor() reshapes anyway. */
  flatten?: boolean;
  /** CSV field delimiter (default ','). */
  delimiter?: string;
  /** CSV: class names in id order (string labels are mapped through them; numeric ids are named by them). */
  classNames?: string[];
  /** CSV: the encoding a model was trained with, so this file is encoded the same way. */
  features?: CsvFeature[];
}

export function isCsv(source: string): boolean {
  return /\.(csv|tsv|txt)$/i.test(source) || (existsSync(source) && statSync(source).isFile());
}

/** Labelled data for train and evaluate. */
export async function loadDataset(options: DataOptions): Promise<Dataset> {
  const source = options.data ?? fashionMnistDir();
  if (!existsSync(source)) {
    if (options.data !== undefined) throw new UsageError(`--data ${source}: no such file or directory`);
    // No --data: the default is Fashion-MNIST, which should always be here.
    throw new UsageError(`Fashion-MNIST was not found: neither ${FASHION_MNIST_SYSTEM_DIR} (Debian's dataset-fashion-mnist) nor the sample this package ships at ${source}; pass --data DIR or --data FILE.csv`);
  }
  if (isCsv(source)) {
    const { labelColumn = await defaultLabelColumn(source, options.delimiter), delimiter, classNames, features } = options;
    const data = await loadCsv(source, { labelColumn, delimiter, classNames, features });
    const { x, y } = data;
    if (x.shape[1] < 1) throw new UsageError(`${source}: needs at least one feature column besides the label column`);
    const n = Math.min(x.shape[0], options.limit ?? Infinity);
    return {
      kind: 'csv', source, x: n < x.shape[0] ? x.slice(0, n) : x, y: n < y.shape[0] ? y.slice(0, n) : y,
      classNames: data.classNames, targetName: data.labelColumn, features: data.features,
    };
  }
  if (options.labelColumn !== undefined) throw new UsageError('--label-column applies to CSV data, but --data is an MNIST-layout directory');
  const limit = options.limit === undefined ? undefined : { train: options.limit, test: options.limit };
  const data = await loadMnist(source, { flatten: options.flatten, limit });
  return {
    kind: 'mnist', source, x: data.xTrain, y: data.yTrain, xTest: data.xTest, yTest: data.yTest,
    classNames: looksLikeFashion(source) ? [...FASHION_MNIST_CLASSES] : undefined,
  };
}

/** Fashion-MNIST's class names apply to the default directories, or one whose path says "fashion". */
function looksLikeFashion(dir: string): boolean {
  const resolved = path.resolve(dir);
  return resolved === path.resolve(FASHION_MNIST_SAMPLE_DIR) || resolved === path.resolve(FASHION_MNIST_SYSTEM_DIR) || /fashion/i.test(resolved);
}

/** The label column training picks when none is given: the one named "label", else the last (only the header is read). */
export async function defaultLabelColumn(file: string, delimiter?: string): Promise<number | string> {
  const names = await readCsvHeader(file, { delimiter });
  return names?.includes('label') ? 'label' : -1;
}

/** Unlabelled inputs for predict: a CSV file, an IDX images file, or an MNIST-layout directory (its test images). */
export async function loadInputs(
  input: string, labelColumn?: number | string, csv: { delimiter?: string; features?: CsvFeature[] } = {},
): Promise<Tensor> {
  if (!existsSync(input)) throw new UsageError(`--input ${input}: no such file or directory`);
  if (statSync(input).isDirectory()) return idxImages(mnistFiles(input).testImages);
  if (/\.(csv|tsv|txt)$/i.test(input)) return (await loadCsv(input, { ...(labelColumn === undefined ? {} : { labelColumn }), ...csv })).x;
  return idxImages(input);
}

async function idxImages(file: string): Promise<Tensor> {
  const idx = await loadIdx(file);
  if (idx.shape.length < 2) throw new UsageError(`${file}: expected samples [n, ...] but the IDX file holds shape [${idx.shape.join(', ')}]`);
  // Bytes are pixels: scale them to [0, 1] as loadMnist does for training.
  const scale = idx.type === 'uint8' ? 1 / 255 : 1;
  const out = new Float32Array(idx.data.length);
  for (let i = 0; i < out.length; i++) out[i] = idx.data[i] * scale;
  return new Tensor(out, idx.shape);
}

/** The shape of one sample the network's first layer takes, when its config says. */
export function sampleShapeFor(network: Network): number[] | undefined {
  const first = network.layers[0]?.getConfig();
  if (!first) return undefined;
  if (first.type === 'Dense') return [first.inputSize as number];
  // Conv2D, Flatten, Reshape, global pooling and augmentation layers may state it as inputShape.
  return network.layers[0].declaredInputShape;
}

/** `x` reshaped to [n, ...the network's sample shape], or a UsageError saying why it cannot be. */
export function shapeFor(network: Network, x: Tensor, what: string): Tensor {
  const want = sampleShapeFor(network);
  const n = x.shape[0];
  const have = x.shape.slice(1);
  if (!want) {
    // A Conv2D without inputShape still needs channels-last images: give
    // [n, h, w] a channel axis.
    if (network.layers[0]?.getConfig().type === 'Conv2D' && x.rank === 3) return x.reshape([n, ...have, 1]);
    return x;
  }
  const size = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);
  if (size(have) !== size(want)) {
    throw new UsageError(`${what} has samples of shape [${have.join(', ')}] (${size(have)} values) but the network's first layer takes [${want.join(', ')}] (${size(want)} values)`);
  }
  return x.reshape([n, ...want]);
}

/** Output units of the network for inputs shaped like `x` (one sample run forward). */
export function outputUnits(network: Network, x: Tensor): number {
  let out: Tensor;
  try {
    out = network.predict(x.slice(0, 1));
  } catch (err) {
    throw new UsageError(`the network does not accept this data (samples of shape [${x.shape.slice(1).join(', ')}]): ${(err as Error).message}`);
  }
  return out.size;
}

/**
 * Labels in the form the loss wants: class ids checked to lie in [0, units)
 * for sparse cross-entropy, one-hot rows for categorical cross-entropy,
 * a column [n, 1] for a single-output network.
 */
export function labelsFor(loss: string | undefined, units: number, y: Tensor, what: string): Tensor {
  if (loss === 'sparseCategoricalCrossEntropy' || loss === 'categoricalCrossEntropy') {
    if (y.rank !== 1) return y;
    for (let i = 0; i < y.size; i++) {
      const v = y.data[i];
      if (!Number.isInteger(v) || v < 0 || v >= units) {
        throw new UsageError(`${what}: label ${v} of sample ${i + 1} is not a class id 0…${units - 1} (the network has ${units} outputs)`);
      }
    }
    if (loss === 'sparseCategoricalCrossEntropy') return y;
    const hot = new Float32Array(y.size * units);
    for (let i = 0; i < y.size; i++) hot[i * units + y.data[i]] = 1;
    return new Tensor(hot, [y.size, units]);
  }
  if (y.rank === 1 && units === 1) return y.reshape([y.size, 1]);
  return y;
}

/** Arg-max class per row of [n, k] outputs. */
export function argMax(out: Tensor): Int32Array {
  const n = out.shape[0];
  const k = out.size / Math.max(n, 1);
  const classes = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let j = 1; j < k; j++) if (out.data[i * k + j] > out.data[i * k + best]) best = j;
    classes[i] = best;
  }
  return classes;
}

/** counts[true][predicted] for class ids 0…k−1. */
export function confusionMatrix(labels: Tensor, predicted: Int32Array, k: number): number[][] {
  const m = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  for (let i = 0; i < predicted.length; i++) {
    const t = labels.data[i];
    if (Number.isInteger(t) && t >= 0 && t < k) m[t][predicted[i]]++;
  }
  return m;
}
