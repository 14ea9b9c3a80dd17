// Every error layerwise throws is a LayerwiseError with a stable `code`, so a
// service can tell bad request data (E_DATA, E_SHAPE) from a diverged model
// (E_DIVERGED) or a busy network (E_BUSY) without matching message text.
// Messages still name what was expected and what came.

/** The stable codes of LayerwiseError; new codes may be added, none renamed. */
export type ErrorCode =
  /** A tensor or argument of the wrong shape or size. */
  | 'E_SHAPE'
  /** An option, argument or configuration value that is unknown, misspelt, of the wrong type or out of range. */
  | 'E_OPTION'
  /** Training or inference data that cannot be used: a bad file, NaN input, out-of-range labels. */
  | 'E_DATA'
  /** Training produced a non-finite loss or weight; the network was rolled back. */
  | 'E_DIVERGED'
  /** A saved model (directory, buffer or ONNX file) that is damaged, hostile or does not match. */
  | 'E_MODEL_FILE'
  /** The requested compute backend cannot be used here. */
  | 'E_BACKEND'
  /** The network is busy with another fit. */
  | 'E_BUSY'
  /** A call made in the wrong order: backward before forward, fit with no loss or no layers. */
  | 'E_STATE'
  /** A worker thread failed or exited before it finished. */
  | 'E_WORKER';

/** Base class of every error layerwise throws. */
export class LayerwiseError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** E_SHAPE: a tensor or argument of the wrong shape or size. */
export class ShapeError extends LayerwiseError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('E_SHAPE', message, options);
  }
}

/** E_OPTION: an unknown, misspelt, mistyped or out-of-range option or argument. */
export class OptionError extends LayerwiseError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('E_OPTION', message, options);
  }
}

/** E_DATA: data that cannot be trained on or predicted from. */
export class DataError extends LayerwiseError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('E_DATA', message, options);
  }
}

/**
 * The DataError for a NaN or ±Infinity at `index` of `data` (samples of
 * `sampleSize` values each), naming the sample and the element, as fit,
 * predict, evaluate and createPredictor report it.
 */
export function nonFiniteError(what: string, data: Float32Array, index: number, sampleSize: number): DataError {
  const sample = Math.floor(index / sampleSize);
  return new DataError(`${what} holds ${data[index]} in sample ${sample} (element ${index - sample * sampleSize}); inputs must be finite`);
}

/** Where a fit diverged and the state it was put back to. */
export interface DivergenceDetails {
  /** The epoch and batch (from 1) whose loss, or the weights after it, were not finite. */
  epoch: number;
  batch: number;
  /** The network now holds the weights it had before this batch of the same epoch. */
  restoredBatch: number;
  /** Copies of those weights, in `network.parameters()` order. */
  weights: Float32Array[];
  /** The optimizer's state at that point (as Optimizer.getState returns it). */
  optimizerState: unknown;
}

/** E_DIVERGED: a non-finite loss or weight during fit; the network was rolled back (see `details`). */
export class DivergedError extends LayerwiseError {
  readonly details?: DivergenceDetails;

  constructor(message: string, details?: DivergenceDetails) {
    super('E_DIVERGED', message);
    if (details) this.details = details;
  }
}

/** E_MODEL_FILE: a damaged, hostile or mismatched model file. */
export class ModelFileError extends LayerwiseError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('E_MODEL_FILE', message, options);
  }
}

/** E_BACKEND: the requested backend cannot be used. */
export class BackendError extends LayerwiseError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('E_BACKEND', message, options);
  }
}

/** E_BUSY: the network is already training. */
export class BusyError extends LayerwiseError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('E_BUSY', message, options);
  }
}

/** E_STATE: a call made in the wrong order or on an unready object. */
export class StateError extends LayerwiseError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('E_STATE', message, options);
  }
}

/** E_WORKER: a worker thread failed or exited before it finished. */
export class WorkerError extends LayerwiseError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('E_WORKER', message, options);
  }
}

const BY_CODE: Readonly<Record<ErrorCode, new (message: string) => LayerwiseError>> = {
  E_SHAPE: ShapeError, E_OPTION: OptionError, E_DATA: DataError, E_DIVERGED: DivergedError, E_MODEL_FILE: ModelFileError,
  E_BACKEND: BackendError, E_BUSY: BusyError, E_STATE: StateError, E_WORKER: WorkerError,
};

/**
 * Rebuilds an error that crossed a thread boundary as data (name, message,
 * code): a LayerwiseError keeps its class and code; anything else becomes a
 * WorkerError, so callers of worker APIs still get a coded error.
 */
export function rebuildError(data: { name?: string; message: string; code?: unknown }): LayerwiseError {
  const Type = typeof data.code === 'string' && Object.prototype.hasOwnProperty.call(BY_CODE, data.code)
    ? BY_CODE[data.code as ErrorCode]
    : WorkerError;
  const err = new Type(data.message);
  if (typeof data.name === 'string' && data.name !== '' && Type === WorkerError && data.name !== 'Error') err.message = `${data.name}: ${data.message}`;
  return err;
}
