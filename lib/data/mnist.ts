// MNIST and Fashion-MNIST: the four IDX files of the original distribution,
// turned into channels-last float tensors the Conv2D layers take directly.

import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { assertPositiveInteger, describe, formatShape } from '../shape.js';
import { Tensor } from '../tensor.js';
import { DataFileError } from './errors.js';
import { streamIdx, type IdxHeader } from './idx.js';
import { OptionError } from '../errors.js';

/** Fashion-MNIST's class names, indexed by label. */
export const FASHION_MNIST_CLASSES: readonly string[] = Object.freeze([
  'T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot',
]);

/** Where Debian's dataset-fashion-mnist package installs the full set. */
export const FASHION_MNIST_SYSTEM_DIR = '/usr/share/datasets/fashion-mnist';

/** The 6000 + 1000 image sample shipped with the package (lib/data or dist/data alike). */
export const FASHION_MNIST_SAMPLE_DIR = path.resolve(__dirname, '..', '..', 'data', 'fashion-mnist-sample');

/** The four files of an MNIST-layout directory. */
export interface MnistFiles {
  trainImages: string;
  trainLabels: string;
  testImages: string;
  testLabels: string;
}

/** Options of `loadMnist`. */
export interface MnistOptions {
  /** Images as [n, rows·cols] instead of [n, rows, cols, 1]. */
  flatten?: boolean;
  /** Keep only the first N samples of a split (all of them when it has fewer). */
  limit?: { train?: number; test?: number };
}

/** What `loadMnist` returns: training and test images and labels, and the files they came from. */
export interface MnistData {
  /** [n, 28, 28, 1] (or [n, 784] with `flatten`), pixels scaled to [0, 1]. */
  xTrain: Tensor;
  /** [n] class ids as floats. */
  yTrain: Tensor;
  xTest: Tensor;
  yTest: Tensor;
  /** The distinct labels found in both splits, ascending. */
  classes: number[];
  files: MnistFiles;
}

const BASENAMES: MnistFiles = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
};

type Key = keyof MnistFiles;
const KEYS = Object.keys(BASENAMES) as Key[];

function findFile(dir: string, base: string): string | undefined {
  // .gz first: it is what the datasets are distributed as, so an unpacked
  // copy next to it is more likely to be stale or partial than the reverse.
  for (const name of [`${base}.gz`, base]) {
    const file = path.join(dir, name);
    if (existsSync(file)) return file;
  }
  return undefined;
}

/** The four files in `dir`, each `.gz` or raw; throws naming the ones missing. */
export function mnistFiles(dir: string): MnistFiles {
  const found: Partial<MnistFiles> = {};
  const missing: string[] = [];
  for (const key of KEYS) {
    const file = findFile(dir, BASENAMES[key]);
    if (file) found[key] = file;
    else missing.push(`${BASENAMES[key]}(.gz)`);
  }
  if (missing.length > 0) {
    const why = existsSync(dir) ? `missing ${missing.join(', ')}` : 'no such directory';
    throw new DataFileError(dir, `${dir} does not hold the MNIST files: ${why}`);
  }
  return found as MnistFiles;
}

function holdsMnist(dir: string): boolean {
  return KEYS.every((key) => findFile(dir, BASENAMES[key]) !== undefined);
}

/**
 * The directory to load Fashion-MNIST from: `override` (e.g. a --data
 * argument) when given, checked to hold the files; else the full set from
 * Debian's package when installed; else the sample shipped here.
 */
export function fashionMnistDir(override?: string): string {
  if (override !== undefined) {
    mnistFiles(override);
    return override;
  }
  return holdsMnist(FASHION_MNIST_SYSTEM_DIR) ? FASHION_MNIST_SYSTEM_DIR : FASHION_MNIST_SAMPLE_DIR;
}

/** Reads MNIST-layout IDX files from `dir`. */
export async function loadMnist(dir: string, options: MnistOptions = {}): Promise<MnistData> {
  if (options === null || typeof options !== 'object') {
    throw new OptionError(`expected an options object for loadMnist but got ${describe(options)}`);
  }
  const { flatten = false, limit = {} } = options;
  if (limit.train !== undefined) assertPositiveInteger(limit.train, 'limit.train');
  if (limit.test !== undefined) assertPositiveInteger(limit.test, 'limit.test');

  const files = mnistFiles(dir);
  const limits: Record<Key, number | undefined> = { trainImages: limit.train, trainLabels: limit.train, testImages: limit.test, testLabels: limit.test };
  const [trainImages, trainLabels, testImages, testLabels] = await Promise.all(KEYS.map((key) => loadAsFloats(files[key], limits[key], key.endsWith('Images') ? 255 : 1)));
  const train = checkSplit(trainImages, trainLabels, files.trainImages, files.trainLabels);
  const test = checkSplit(testImages, testLabels, files.testImages, files.testLabels);
  if (train.rows !== test.rows || train.cols !== test.cols) {
    throw new DataFileError(
      files.testImages,
      `${files.testImages}: expected ${train.rows}x${train.cols} images like ${files.trainImages} but got shape ${formatShape(testImages.shape)}`,
    );
  }

  const seen = new Uint8Array(256);
  const xTrain = toImages(trainImages, train.rows, train.cols, flatten);
  const yTrain = toLabels(trainLabels, seen);
  const xTest = toImages(testImages, test.rows, test.cols, flatten);
  const yTest = toLabels(testLabels, seen);
  const classes: number[] = [];
  seen.forEach((s, label) => {
    if (s) classes.push(label);
  });
  return { xTrain, yTrain, xTest, yTest, classes, files };
}

/** An IDX file's header and its first samples as floats. */
interface FloatIdx extends IdxHeader {
  /** Samples kept: the first dimension, capped by the limit. */
  samples: number;
  /** Undefined when the file does not hold bytes (checkSplit then names the type). */
  values?: Float32Array;
}

/**
 * The file's bytes divided by `divisor` into floats while it inflates, up to
 * `limit` samples: the raw bytes (47 MB for Fashion-MNIST's training images) are never
 * held whole, and a full-data MLP fit peaked at 386 MB of RSS with them.
 */
async function loadAsFloats(file: string, limit: number | undefined, divisor: number): Promise<FloatIdx> {
  let result: FloatIdx | undefined;
  await streamIdx(file, (header) => {
    const samples = Math.min(header.shape[0], limit ?? Infinity);
    const found: FloatIdx = { ...header, samples };
    result = found;
    if (header.type !== 'uint8') return () => {};
    const sampleSize = header.shape.slice(1).reduce((n, d) => n * d, 1);
    const values = new Float32Array(samples * sampleSize);
    found.values = values;
    return (chunk, offset) => {
      const end = Math.min(chunk.length, values.length - offset);
      for (let i = 0; i < end; i++) values[offset + i] = chunk[i] / divisor;
    };
  });
  return result!;
}

function checkSplit(images: FloatIdx, labels: FloatIdx, imagesFile: string, labelsFile: string): { rows: number; cols: number } {
  for (const [array, file] of [[images, imagesFile], [labels, labelsFile]] as const) {
    if (array.type !== 'uint8') {
      throw new DataFileError(file, `${file}: expected unsigned byte data (type code 0x08) but got ${array.type}`);
    }
  }
  if (images.shape.length !== 3) {
    throw new DataFileError(imagesFile, `${imagesFile}: expected images of rank 3 [n,rows,cols] but got shape ${formatShape(images.shape)}`);
  }
  if (labels.shape.length !== 1) {
    throw new DataFileError(labelsFile, `${labelsFile}: expected labels of rank 1 [n] but got shape ${formatShape(labels.shape)}`);
  }
  if (images.shape[0] !== labels.shape[0]) {
    throw new DataFileError(
      labelsFile,
      `${imagesFile} holds ${images.shape[0]} images but ${labelsFile} holds ${labels.shape[0]} labels`,
    );
  }
  return { rows: images.shape[1], cols: images.shape[2] };
}

function toImages(images: FloatIdx, rows: number, cols: number, flatten: boolean): Tensor {
  return new Tensor(images.values!, flatten ? [images.samples, rows * cols] : [images.samples, rows, cols, 1]);
}

function toLabels(labels: FloatIdx, seen: Uint8Array): Tensor {
  const ids = labels.values!;
  for (let i = 0; i < ids.length; i++) seen[ids[i]] = 1;
  return new Tensor(ids, [labels.samples]);
}
