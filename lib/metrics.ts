// Accuracy: which kind follows from the loss, as Keras chooses it —
// binary (threshold 0.5) for mse and binary cross-entropy, arg-max for
// categorical cross-entropy, arg-max against class ids for the sparse form.

import type { AccuracyKind } from './losses.js';
import type { Tensor } from './tensor.js';

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
