// Train/test splits. A file sorted by class (common: exports grouped by
// label) gives a one-class test set when its last rows are held out, so the
// helper shuffles by default and can stratify: each class keeps its share in
// both parts.

import type { AccuracyKind } from './losses.js';
import { argmax } from './metrics.js';
import { checkOptions } from './options.js';
import { Rng, randomSeed } from './random.js';
import { describe, formatShape } from './shape.js';
import { Tensor, toTensor, type TensorLike } from './tensor.js';
import { OptionError, ShapeError } from './errors.js';

/** Options of `trainTestSplit`. */
export interface SplitOptions {
  /** Fraction of the samples in the test part, in (0, 1) (default 0.2). */
  testFraction?: number;
  /** Draw the parts in a seeded random order (default true); false keeps the file order and holds out the last rows. */
  shuffle?: boolean;
  /** Keep each class's share in both parts (y holds class ids [n] or one-hot rows [n, classes]); needs shuffle. Default false. */
  stratify?: boolean;
  seed?: number;
}

/** What `trainTestSplit` returns: the training and test parts. */
export interface Split {
  xTrain: Tensor;
  yTrain: Tensor;
  xTest: Tensor;
  yTest: Tensor;
  /** Row indices of the original data in each part, in their order there. */
  trainIndices: number[];
  testIndices: number[];
}

const SPLIT_OPTION_KEYS = Object.keys({ testFraction: true, shuffle: true, stratify: true, seed: true } satisfies { [K in keyof Required<SplitOptions>]: true });

/** Splits (x, y) into a training and a test part, as scikit-learn's train_test_split. */
export function trainTestSplit(xIn: TensorLike, yIn: TensorLike, options: SplitOptions = {}): Split {
  checkOptions(options, SPLIT_OPTION_KEYS, 'trainTestSplit options');
  const { testFraction = 0.2, shuffle = true, stratify = false } = options;
  if (typeof testFraction !== 'number' || !(testFraction > 0 && testFraction < 1)) {
    throw new OptionError(`expected a number in (0, 1) for testFraction but got ${describe(testFraction)}`);
  }
  if (stratify && !shuffle) throw new OptionError('stratify needs shuffle: a stratified split draws each class at random');
  if (options.seed !== undefined && !Number.isInteger(options.seed)) throw new OptionError(`expected an integer seed but got ${describe(options.seed)}`);
  const x = toTensor(xIn, 'x');
  const y = toTensor(yIn, 'y');
  if (x.rank < 1 || y.rank < 1 || x.shape[0] !== y.shape[0]) {
    throw new ShapeError(`expected x and y with the same number of samples but got ${formatShape(x.shape)} and ${formatShape(y.shape)}`);
  }
  const n = x.shape[0];
  const testCount = Math.round(n * testFraction);
  if (testCount < 1 || testCount >= n) throw new OptionError(`testFraction ${testFraction} leaves no training or no test samples out of ${n}`);

  const rng = new Rng(options.seed ?? randomSeed());
  let trainIndices: number[];
  let testIndices: number[];
  if (!shuffle) {
    trainIndices = range(0, n - testCount);
    testIndices = range(n - testCount, n);
  } else if (!stratify) {
    const order = permutation(n, rng);
    testIndices = order.slice(0, testCount);
    trainIndices = order.slice(testCount);
  } else {
    const byClass = new Map<number, number[]>();
    const classes = classIds(y);
    classes.forEach((c, i) => (byClass.get(c) ?? byClass.set(c, []).get(c)!).push(i));
    testIndices = [];
    trainIndices = [];
    // Largest remainders decide which classes give the rounding's extra samples, so the total is testCount.
    const groups = [...byClass.entries()].sort((a, b) => a[0] - b[0]).map(([, rows]) => {
      const share = rows.length * testFraction;
      return { rows: shuffled(rows, rng), take: Math.floor(share), remainder: share - Math.floor(share) };
    });
    let missing = testCount - groups.reduce((s, g) => s + g.take, 0);
    for (const g of [...groups].sort((a, b) => b.remainder - a.remainder)) {
      if (missing <= 0) break;
      if (g.take < g.rows.length) {
        g.take++;
        missing--;
      }
    }
    for (const g of groups) {
      testIndices.push(...g.rows.slice(0, g.take));
      trainIndices.push(...g.rows.slice(g.take));
    }
    testIndices = shuffled(testIndices, rng);
    trainIndices = shuffled(trainIndices, rng);
  }
  return {
    xTrain: takeRows(x, trainIndices), yTrain: takeRows(y, trainIndices),
    xTest: takeRows(x, testIndices), yTest: takeRows(y, testIndices),
    trainIndices, testIndices,
  };
}

/**
 * Why a held-out part cannot measure a classifier, or an empty list:
 * a single class, or classes the training part never shows.
 */
export function splitProblems(yTrain: Tensor, yHeldOut: Tensor, kind: AccuracyKind | undefined): string[] {
  if (kind !== 'sparse' && kind !== 'categorical') return [];
  const train = new Set(classIds(yTrain));
  const heldOut = new Set(classIds(yHeldOut));
  const problems: string[] = [];
  if (heldOut.size === 1 && train.size > 1) problems.push(`the validation samples are all of class ${[...heldOut][0]}`);
  const unseen = [...heldOut].filter((c) => !train.has(c)).sort((a, b) => a - b);
  if (unseen.length > 0) problems.push(`the validation samples hold class${unseen.length > 1 ? 'es' : ''} ${unseen.join(', ')} that the training samples lack`);
  return problems;
}

/** One class id per sample: the ids of a [n] (or [n,1]) tensor, the arg-max of one-hot rows. */
export function classIds(y: Tensor): number[] {
  const n = y.shape[0];
  const width = n === 0 ? 1 : y.size / n;
  if (width === 1) return Array.from(y.data);
  return Array.from({ length: n }, (_, r) => argmax(y.data, r * width, width));
}

/** The given rows of t (any rank, samples first), copied in that order. */
export function takeRows(t: Tensor, rows: number[]): Tensor {
  const rowSize = t.shape[0] === 0 ? 0 : t.size / t.shape[0];
  const out = new Float32Array(rows.length * rowSize);
  rows.forEach((r, i) => out.set(t.data.subarray(r * rowSize, (r + 1) * rowSize), i * rowSize));
  return new Tensor(out, [rows.length, ...t.shape.slice(1)]);
}

function range(start: number, end: number): number[] {
  return Array.from({ length: end - start }, (_, i) => start + i);
}

function permutation(n: number, rng: Rng): number[] {
  return shuffled(range(0, n), rng);
}

function shuffled(values: number[], rng: Rng): number[] {
  const out = [...values];
  for (let i = out.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}
