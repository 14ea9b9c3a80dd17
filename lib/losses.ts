// Losses give E and ∂E/∂Ŷ, averaged over the batch as PyTorch's default
// 'mean' reduction does. Arguments are (yTrue, yPred), as in the from-scratch
// design's mse(y_true, y_pred).

import { getBackend } from './backends/index.js';
import { describe, formatShape, sameShape } from './shape.js';
import { Tensor } from './tensor.js';
import { DataError, OptionError, ShapeError } from './errors.js';
import { ownLookup, suggest } from './options.js';

export type AccuracyKind = 'binary' | 'categorical' | 'sparse';

/** A loss: its value over a batch and its gradient with respect to the predictions. */
export interface Loss {
  readonly name: string;
  /** E for a batch (a mean, so it does not grow with the batch size). */
  value(yTrue: Tensor, yPred: Tensor): number;
  /**
   * ∂E/∂yPred, shaped like yPred. When `into` (a buffer the caller reuses
   * every batch) has yPred's shape the gradient is written there and returned.
   */
  gradient(yTrue: Tensor, yPred: Tensor, into?: Tensor): Tensor;
  /**
   * ∂E/∂logits when yPred = softmax(logits): the fused, numerically stable
   * form (p − y)/n that skips the softmax Jacobian. Only cross-entropies have it.
   */
  softmaxGradient?(yTrue: Tensor, probabilities: Tensor, into?: Tensor): Tensor;
  /** Which accuracy the 'accuracy' metric means with this loss. */
  readonly accuracy?: AccuracyKind;
}

/** A loss that can also be called directly, like the from-scratch design's mse(yTrue, yPred). */
export type CallableLoss = Loss & ((yTrue: Tensor, yPred: Tensor) => number);

function callableLoss(loss: Loss): CallableLoss {
  const fn = ((yTrue: Tensor, yPred: Tensor) => loss.value(yTrue, yPred)) as CallableLoss;
  // Functions own a read-only `name`, so it is defined rather than assigned.
  const { name, ...rest } = loss;
  Object.defineProperty(fn, 'name', { value: name });
  return Object.assign(fn, rest);
}

function checkPair(yTrue: Tensor, yPred: Tensor, loss: string): void {
  if (!(yTrue instanceof Tensor) || !(yPred instanceof Tensor)) {
    throw new OptionError(`${loss} expects two Tensors (yTrue, yPred) but got ${describe(yTrue)} and ${describe(yPred)}`);
  }
  if (!sameShape(yTrue.shape, yPred.shape)) {
    throw new ShapeError(`expected ${formatShape(yPred.shape)} for ${loss} yTrue (the shape of yPred) but got ${formatShape(yTrue.shape)}`);
  }
}

/** `into` when it has `shape` (cleared first if the loss writes only some entries), else a fresh zeroed tensor. */
function gradientTensor(shape: readonly number[], into: Tensor | undefined, zeroed: boolean): Tensor {
  if (into instanceof Tensor && sameShape(into.shape, shape)) {
    if (zeroed) into.data.fill(0);
    return into;
  }
  return Tensor.zeros(shape);
}

/** Probabilities are clipped away from 0 and 1 so log stays finite (Keras' epsilon). */
const EPSILON = 1e-7;
const clip = (p: number): number => (p < EPSILON ? EPSILON : p > 1 - EPSILON ? 1 - EPSILON : p);

/** Rows and classes of a [..., classes] prediction. */
function rowsOf(yPred: Tensor, loss: string): [number, number] {
  if (yPred.rank < 1) throw new ShapeError(`expected [*,classes] for ${loss} yPred but got ${formatShape(yPred.shape)}`);
  const classes = yPred.shape[yPred.rank - 1];
  return [classes === 0 ? 0 : yPred.size / classes, classes];
}

/** Mean squared error over every element. */
export const mse: CallableLoss = callableLoss({
  name: 'mse',
  accuracy: 'binary',
  value(yTrue, yPred) {
    checkPair(yTrue, yPred, 'mse');
    return getBackend().mse(yPred.data, yTrue.data);
  },
  gradient(yTrue, yPred, into) {
    checkPair(yTrue, yPred, 'mse');
    const grad = gradientTensor(yPred.shape, into, false);
    getBackend().mseGradient(yPred.data, yTrue.data, grad.data);
    return grad;
  },
});

/** ∂mse/∂yPred, for the from-scratch design's use(mse, msePrime). */
export function msePrime(yTrue: Tensor, yPred: Tensor): Tensor {
  return mse.gradient(yTrue, yPred);
}

/** −mean(y·log p + (1−y)·log(1−p)) over every element, for sigmoid outputs. */
export const binaryCrossEntropy: CallableLoss = callableLoss({
  name: 'binaryCrossEntropy',
  accuracy: 'binary',
  value(yTrue, yPred) {
    checkPair(yTrue, yPred, 'binaryCrossEntropy');
    let sum = 0;
    for (let i = 0; i < yPred.size; i++) {
      const p = clip(yPred.data[i]), y = yTrue.data[i];
      sum -= y * Math.log(p) + (1 - y) * Math.log(1 - p);
    }
    return yPred.size === 0 ? 0 : sum / yPred.size;
  },
  gradient(yTrue, yPred, into) {
    checkPair(yTrue, yPred, 'binaryCrossEntropy');
    const grad = gradientTensor(yPred.shape, into, false);
    const n = yPred.size;
    for (let i = 0; i < n; i++) {
      const p = clip(yPred.data[i]), y = yTrue.data[i];
      grad.data[i] = (p - y) / (p * (1 - p) * n);
    }
    return grad;
  },
});

/** −mean over samples of Σ_classes y·log p, for one-hot (or soft) targets. */
export const categoricalCrossEntropy: CallableLoss = callableLoss({
  name: 'categoricalCrossEntropy',
  accuracy: 'categorical',
  value(yTrue, yPred) {
    checkPair(yTrue, yPred, 'categoricalCrossEntropy');
    const [rows] = rowsOf(yPred, 'categoricalCrossEntropy');
    let sum = 0;
    for (let i = 0; i < yPred.size; i++) if (yTrue.data[i] !== 0) sum -= yTrue.data[i] * Math.log(clip(yPred.data[i]));
    return rows === 0 ? 0 : sum / rows;
  },
  gradient(yTrue, yPred, into) {
    checkPair(yTrue, yPred, 'categoricalCrossEntropy');
    const [rows] = rowsOf(yPred, 'categoricalCrossEntropy');
    const grad = gradientTensor(yPred.shape, into, false);
    for (let i = 0; i < yPred.size; i++) grad.data[i] = -yTrue.data[i] / (clip(yPred.data[i]) * rows);
    return grad;
  },
  softmaxGradient(yTrue, probabilities, into) {
    checkPair(yTrue, probabilities, 'categoricalCrossEntropy');
    const [rows, classes] = rowsOf(probabilities, 'categoricalCrossEntropy');
    const grad = gradientTensor(probabilities.shape, into, false);
    for (let r = 0; r < rows; r++) {
      // Soft targets need not sum to 1: the exact gradient is p·Σy − y.
      let total = 0;
      for (let c = 0; c < classes; c++) total += yTrue.data[r * classes + c];
      for (let c = 0; c < classes; c++) {
        const i = r * classes + c;
        grad.data[i] = (probabilities.data[i] * total - yTrue.data[i]) / rows;
      }
    }
    return grad;
  },
});

/** Integer class ids [n] (or [n,1]) against probabilities [n, classes]. */
function checkSparse(labels: Tensor, yPred: Tensor): [number, number] {
  const loss = 'sparseCategoricalCrossEntropy';
  if (!(labels instanceof Tensor) || !(yPred instanceof Tensor)) throw new OptionError(`${loss} expects two Tensors (yTrue, yPred)`);
  const [rows, classes] = rowsOf(yPred, loss);
  if (labels.size !== rows) {
    throw new ShapeError(`expected [${rows}] class ids for ${loss} yTrue but got ${formatShape(labels.shape)}`);
  }
  for (let r = 0; r < rows; r++) {
    const label = labels.data[r];
    if (!Number.isInteger(label) || label < 0 || label >= classes) {
      throw new DataError(`expected a class id in [0, ${classes - 1}] for ${loss} yTrue[${r}] but got ${label}`);
    }
  }
  return [rows, classes];
}

/** categoricalCrossEntropy with integer class ids as targets. */
export const sparseCategoricalCrossEntropy: CallableLoss = callableLoss({
  name: 'sparseCategoricalCrossEntropy',
  accuracy: 'sparse',
  value(labels, yPred) {
    const [rows, classes] = checkSparse(labels, yPred);
    let sum = 0;
    for (let r = 0; r < rows; r++) sum -= Math.log(clip(yPred.data[r * classes + labels.data[r]]));
    return rows === 0 ? 0 : sum / rows;
  },
  gradient(labels, yPred, into) {
    const [rows, classes] = checkSparse(labels, yPred);
    const grad = gradientTensor(yPred.shape, into, true);
    for (let r = 0; r < rows; r++) {
      const i = r * classes + labels.data[r];
      grad.data[i] = -1 / (clip(yPred.data[i]) * rows);
    }
    return grad;
  },
  softmaxGradient(labels, probabilities, into) {
    const [rows, classes] = checkSparse(labels, probabilities);
    const grad = gradientTensor(probabilities.shape, into, false);
    for (let i = 0; i < probabilities.size; i++) grad.data[i] = probabilities.data[i] / rows;
    for (let r = 0; r < rows; r++) grad.data[r * classes + labels.data[r]] -= 1 / rows;
    return grad;
  },
});

export const LOSSES: Record<string, CallableLoss> = { mse, binaryCrossEntropy, categoricalCrossEntropy, sparseCategoricalCrossEntropy };
/** Names of the built-in losses. */
export type LossName = 'mse' | 'binaryCrossEntropy' | 'categoricalCrossEntropy' | 'sparseCategoricalCrossEntropy';

/** The loss object for a name (or the given object). */
export function getLoss(spec: LossName | Loss): Loss {
  if (typeof spec === 'string') {
    const loss = ownLookup(LOSSES, spec);
    if (!loss) {
      const hint = suggest(spec, Object.keys(LOSSES));
      throw new OptionError(`expected one of ${Object.keys(LOSSES).join(', ')} for loss but got ${describe(spec)}` + (hint ? ` (did you mean '${hint}'?)` : ''));
    }
    return loss;
  }
  if (spec && typeof spec.value === 'function' && typeof spec.gradient === 'function') return spec;
  throw new OptionError(`expected a loss name or a Loss for loss but got ${describe(spec)}`);
}
