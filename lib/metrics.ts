// Metrics. Accuracy: which kind follows from the loss, as Keras chooses it —
// binary (threshold 0.5) for mse and binary cross-entropy, arg-max for
// categorical cross-entropy, arg-max against class ids for the sparse form.
// The others (regression errors, precision/recall/F1, AUC) keep running sums
// over every batch, so an epoch's value is the value over its samples, not a
// mean of per-batch values (which is wrong for RMSE, R², F1 and AUC).

import type { AccuracyKind } from './losses.js';
import { suggest } from './options.js';
import { describe, formatShape } from './shape.js';
import type { Tensor } from './tensor.js';
import { OptionError, ShapeError } from './errors.js';

/** Number of correct predictions in a batch. */
export function countCorrect(kind: AccuracyKind, yTrue: Tensor, yPred: Tensor): number {
  if (kind === 'binary') {
    let correct = 0;
    for (let i = 0; i < yPred.size; i++) if (yPred.data[i] > 0.5 === yTrue.data[i] > 0.5) correct++;
    return correct;
  }
  const classes = yPred.shape[yPred.rank - 1];
  const rows = yPred.size / classes;
  let correct = 0;
  for (let r = 0; r < rows; r++) {
    const predicted = argmax(yPred.data, r * classes, classes);
    const actual = kind === 'sparse' ? yTrue.data[r] : argmax(yTrue.data, r * classes, classes);
    if (predicted === actual) correct++;
  }
  return correct;
}

/** How many predictions a batch holds (elements for binary, rows otherwise). */
export function countPredictions(kind: AccuracyKind, yPred: Tensor): number {
  return kind === 'binary' ? yPred.size : yPred.size / yPred.shape[yPred.rank - 1];
}

export function argmax(values: Float32Array, offset: number, length: number): number {
  let best = 0;
  for (let c = 1; c < length; c++) if (values[offset + c] > values[offset + best]) best = c;
  return best;
}

/** Metrics fit and evaluate can report, each computed over a whole epoch or data set (never a mean of batch values). */
export type MetricName = 'accuracy' | 'mae' | 'mse' | 'rmse' | 'r2' | 'precision' | 'recall' | 'f1' | 'auc';
/** Every metric name `fit` and `evaluate` accept. */
export const METRIC_NAMES: readonly MetricName[] = ['accuracy', 'mae', 'mse', 'rmse', 'r2', 'precision', 'recall', 'f1', 'auc'];
/** The metrics beside accuracy (which keeps its own, loss-dependent meaning). */
export type ExtraMetric = Exclude<MetricName, 'accuracy'>;
const REGRESSION: readonly ExtraMetric[] = ['mae', 'mse', 'rmse', 'r2'];
const CLASSIFICATION: readonly ExtraMetric[] = ['precision', 'recall', 'f1', 'auc'];

/** Values of the extra metrics, named as requested. */
export type MetricValues = { [K in ExtraMetric]?: number };
/** Their validation twins: valMae, valRmse, … */
export type ValidationMetricValues = { [K in ExtraMetric as `val${Capitalize<K>}`]?: number };
/** Per-epoch series of both. */
export type MetricHistory = { [K in ExtraMetric | `val${Capitalize<ExtraMetric>}`]?: number[] };

export const validationName = (metric: ExtraMetric): `val${Capitalize<ExtraMetric>}` =>
  `val${metric[0].toUpperCase()}${metric.slice(1)}` as `val${Capitalize<ExtraMetric>}`;

/**
 * Which metrics to report. Asked for: exactly those (accuracy only where the
 * loss defines it). Not asked for: accuracy for the cross-entropies, and for
 * evaluate of a squared-error loss mae, rmse and r2, never an accuracy.
 */
export function chooseMetrics(
  requested: unknown, loss: { name: string; accuracy?: AccuracyKind }, purpose: 'fit' | 'evaluate',
): { accuracy: boolean; extra: ExtraMetric[] } {
  if (requested === undefined) {
    const classifier = loss.accuracy === 'categorical' || loss.accuracy === 'sparse' || loss.name === 'binaryCrossEntropy';
    const accuracy = loss.accuracy === 'categorical' || loss.accuracy === 'sparse' || (purpose === 'evaluate' && classifier);
    return { accuracy, extra: purpose === 'evaluate' && !classifier && loss.name === 'mse' ? ['mae', 'rmse', 'r2'] : [] };
  }
  if (!Array.isArray(requested)) throw new OptionError(`expected a list of metrics (${METRIC_NAMES.join(', ')}) but got ${describe(requested)}`);
  for (const m of requested) {
    if (typeof m !== 'string' || !METRIC_NAMES.includes(m as MetricName)) {
      const hint = typeof m === 'string' ? suggest(m, METRIC_NAMES) : undefined;
      throw new OptionError(`unknown metric ${describe(m)}` + (hint ? ` (did you mean '${hint}'?)` : ` (known: ${METRIC_NAMES.join(', ')})`));
    }
  }
  const accuracy = requested.includes('accuracy');
  if (accuracy && !loss.accuracy) throw new OptionError(`accuracy is not defined for the loss '${loss.name}'`);
  return { accuracy, extra: METRIC_NAMES.filter((m): m is ExtraMetric => m !== 'accuracy' && requested.includes(m)) };
}

/** AUC from score histograms: 1000 bins over [0, 1] (Keras uses 200 thresholds), so its state stays a fixed size. */
const AUC_BINS = 1000;

/**
 * Running sums for the extra metrics over many batches. Its state is a plain
 * number array, so a checkpoint or a divergence rollback can carry it.
 */
export class MetricTotals {
  private readonly regression: boolean;
  private readonly classification: boolean;
  private readonly auc: boolean;
  /** count, Σ|e|, Σe², Σy, Σy² over elements. */
  private sums = new Float64Array(5);
  private classes = 0;
  /** tp, fp, fn per class. */
  private confusion = new Float64Array(0);
  /** Per class: AUC_BINS positive counts, then AUC_BINS negative counts. */
  private histograms = new Float64Array(0);

  constructor(readonly metrics: readonly ExtraMetric[], from?: number[]) {
    this.regression = metrics.some((m) => REGRESSION.includes(m));
    this.classification = metrics.some((m) => CLASSIFICATION.includes(m));
    this.auc = metrics.includes('auc');
    if (from) this.restore(from);
  }

  state(): number[] {
    return [this.classes, ...this.sums, ...this.confusion, ...this.histograms];
  }

  restore(state: number[]): void {
    const classes = state[0] ?? 0;
    this.sums = Float64Array.from(state.slice(1, 6));
    this.setClasses(classes);
    this.confusion.set(state.slice(6, 6 + this.confusion.length));
    this.histograms.set(state.slice(6 + this.confusion.length));
  }

  private setClasses(classes: number): void {
    this.classes = classes;
    const scored = classes === 1 ? 1 : classes;
    this.confusion = new Float64Array(this.classification ? 3 * Math.max(classes, 2) : 0);
    this.histograms = new Float64Array(this.auc ? 2 * AUC_BINS * scored : 0);
  }

  add(yTrue: Tensor, yPred: Tensor): void {
    if (this.regression) {
      if (yTrue.size !== yPred.size) throw new ShapeError(`expected targets shaped like the outputs ${formatShape(yPred.shape)} for ${REGRESSION.join('/')} but got ${formatShape(yTrue.shape)}`);
      const s = this.sums;
      for (let i = 0; i < yPred.size; i++) {
        const t = yTrue.data[i];
        const e = yPred.data[i] - t;
        s[0]++;
        s[1] += Math.abs(e);
        s[2] += e * e;
        s[3] += t;
        s[4] += t * t;
      }
    }
    if (!this.classification) return;
    const width = yPred.shape[yPred.rank - 1];
    if (this.classes === 0) this.setClasses(width);
    else if (width !== this.classes) throw new ShapeError(`expected ${this.classes} output columns but got ${width}`);
    const rows = yPred.size / width;
    const sparse = yTrue.size === rows;
    for (let r = 0; r < rows; r++) {
      const actual = width === 1 ? (yTrue.data[r] > 0.5 ? 1 : 0) : sparse ? yTrue.data[r] : argmax(yTrue.data, r * width, width);
      const predicted = width === 1 ? (yPred.data[r] > 0.5 ? 1 : 0) : argmax(yPred.data, r * width, width);
      if (predicted === actual) this.confusion[3 * actual]++;
      else {
        this.confusion[3 * predicted + 1]++;
        this.confusion[3 * actual + 2]++;
      }
      if (!this.auc) continue;
      for (let c = 0; c < (width === 1 ? 1 : width); c++) {
        const score = yPred.data[r * width + c];
        const bin = Math.min(AUC_BINS - 1, Math.max(0, Math.floor(score * AUC_BINS)));
        const positive = width === 1 ? actual === 1 : actual === c;
        this.histograms[c * 2 * AUC_BINS + (positive ? 0 : AUC_BINS) + bin]++;
      }
    }
  }

  result(): MetricValues {
    const out: MetricValues = {};
    const [count, absSum, squareSum, ySum, ySquareSum] = this.sums;
    const per = (numerator: number, denominator: number): number => (denominator === 0 ? 0 : numerator / denominator);
    // Binary outputs report the positive class; several classes the macro average over classes seen.
    const classes = this.classes === 1 ? [1] : Array.from({ length: this.classes }, (_, c) => c)
      .filter((c) => this.confusion[3 * c] + this.confusion[3 * c + 1] + this.confusion[3 * c + 2] > 0);
    const mean = (f: (c: number) => number): number => (classes.length === 0 ? 0 : classes.reduce((s, c) => s + f(c), 0) / classes.length);
    const precision = (c: number): number => per(this.confusion[3 * c], this.confusion[3 * c] + this.confusion[3 * c + 1]);
    const recall = (c: number): number => per(this.confusion[3 * c], this.confusion[3 * c] + this.confusion[3 * c + 2]);
    for (const m of this.metrics) {
      switch (m) {
        case 'mae': out.mae = per(absSum, count); break;
        case 'mse': out.mse = per(squareSum, count); break;
        case 'rmse': out.rmse = Math.sqrt(per(squareSum, count)); break;
        case 'r2': {
          const total = ySquareSum - (ySum * ySum) / (count || 1);
          out.r2 = total > 0 ? 1 - squareSum / total : 0;
          break;
        }
        case 'precision': out.precision = mean(precision); break;
        case 'recall': out.recall = mean(recall); break;
        case 'f1': out.f1 = mean((c) => per(2 * precision(c) * recall(c), precision(c) + recall(c))); break;
        case 'auc': out.auc = this.areaUnderCurve(); break;
      }
    }
    return out;
  }

  /** ROC AUC from the histograms (ties within a bin count half), macro-averaged one-vs-rest for several classes. */
  private areaUnderCurve(): number {
    const scored = this.histograms.length / (2 * AUC_BINS);
    const areas: number[] = [];
    for (let c = 0; c < scored; c++) {
      const base = c * 2 * AUC_BINS;
      let positives = 0;
      let negatives = 0;
      for (let b = 0; b < AUC_BINS; b++) {
        positives += this.histograms[base + b];
        negatives += this.histograms[base + AUC_BINS + b];
      }
      if (positives === 0 || negatives === 0) continue;
      let negativesBelow = 0;
      let pairs = 0;
      for (let b = 0; b < AUC_BINS; b++) {
        const p = this.histograms[base + b];
        const n = this.histograms[base + AUC_BINS + b];
        pairs += p * (negativesBelow + n / 2);
        negativesBelow += n;
      }
      areas.push(pairs / (positives * negatives));
    }
    return areas.length === 0 ? 0 : areas.reduce((s, a) => s + a, 0) / areas.length;
  }
}
