// trainInWorker: Network.fit on a worker_thread, so a server or UI thread
// keeps its event loop free while a network trains.
//
// The network travels as its spec (plain data) and is built in the worker
// with the same seed, so both threads start from identical weights; a Network
// passed itself also sends its current weights (one copy, transferred), and
// is the network that receives the trained weights. Custom layers are rebuilt
// in the worker after it imports the modules named in `modules` (whose top
// level calls registerLayer). Nested arrays become tensors first. Tensors
// travel as copies of their Float32Arrays whose buffers are *transferred*
// (moved, not cloned again), leaving the caller's tensors untouched. The
// trained weights come back the same way and are set into a network rebuilt
// from the spec in the calling thread.
//
// Cancelling: when options.signal aborts, the worker's own AbortController is
// aborted by message; fit stops after its current batch (it yields to the
// event loop at least every 10 ms, which is when the message is seen) and the
// promise RESOLVES, as fit does, with the partly trained network and a history
// whose `interrupted` field says where it stopped. Only a signal that is
// already aborted when trainInWorker is called rejects, with a DOMException
// named 'AbortError', since no training happened at all.

import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { EpochLogs, History } from './callbacks.js';
import type { LossName } from './losses.js';
import type { BatchLogs, TrainingContext } from './callbacks.js';
import { Network, type TrainingState } from './network.js';
import { getOptimizer, type Optimizer, type OptimizerConfig, type OptimizerName, type OptimizerState } from './optimizers.js';
import { networkFromSpec, networkToSpec, type NetworkSpec } from './serialize.js';
import { Tensor, toTensor, type TensorLike } from './tensor.js';
import { getBackend, type BackendName } from './backends/index.js';
import { OptionError, StateError, WorkerError, rebuildError } from './errors.js';

/** fit's options that are plain data (no callbacks, no optimizer objects), so they can cross to a worker. */
export interface WorkerFitOptions {
  epochs: number;
  batchSize?: number;
  optimizer?: OptimizerName | OptimizerConfig;
  learningRate?: number;
  /** Continues an interrupted fit (history.interrupted) exactly; pass the interrupted run's network and optimizer too. */
  resume?: TrainingState;
  loss?: LossName;
  metrics?: 'accuracy'[];
  shuffle?: boolean;
  validationSplit?: number;
  seed?: number;
}

/** Options of `trainInWorker`: fit's plain-data options plus cancellation, progress callbacks, modules to import and the worker's backend. */
export interface TrainInWorkerOptions extends Omit<WorkerFitOptions, 'optimizer'> {
  /** A name or config, or an Optimizer object whose state (e.g. from an interrupted run) travels with it. */
  optimizer?: OptimizerName | OptimizerConfig | Optimizer;
  /** Called in this thread like fit's: after each batch (every `progressEvery`-th, default every one when given) and epoch. Setting context.stopTraining stops the worker. */
  onBatchEnd?: (batch: number, logs: BatchLogs, context: TrainingContext) => void;
  onEpochEnd?: (epoch: number, logs: EpochLogs, context: TrainingContext) => void;
  /** Modules the worker imports before building the network (absolute paths or file URLs): where custom layers call registerLayer. */
  modules?: string[];
  /** Stops training after the current batch; see the file comment for what the promise then does. */
  signal?: AbortSignal;
  /** Progress from the worker: every epoch end, and batch ends every `progressEvery` batches. */
  onProgress?: (event: WorkerProgress) => void;
  /** Batch events every N batches (default about ten an epoch; 0: none). */
  progressEvery?: number;
  /**
   * Native kernel threads. The addon's thread count is per process, so this
   * also changes it for the calling thread and any other worker.
   */
  threads?: number;
  /** The worker's backend (default: the calling thread's current one). */
  backend?: BackendName;
}

/** Progress events `trainInWorker` passes to `onProgress`. */
export type WorkerProgress =
  | { type: 'batch'; epoch: number; batch: number; batches: number; loss: number; size: number }
  | ({ type: 'epoch'; epoch: number; epochs: number } & EpochLogs);

/** What `trainInWorker` resolves with. */
export interface WorkerTrainingResult {
  network: Network;
  history: History;
  /** The optimizer with its state after training, e.g. for network.save(dir, { optimizer }). */
  optimizer: Optimizer;
}

// --- messages between the threads (internal) ---

/** A tensor as structured-clone data: shape plus a Float32Array whose buffer is transferred. */
export interface TensorMessage {
  shape: number[];
  data: Float32Array;
}

export interface StartMessage {
  spec: NetworkSpec;
  weights?: Float32Array[];
  optimizerState?: { config: OptimizerConfig; state: OptimizerState };
  modules: string[];
  x: TensorMessage;
  y: TensorMessage;
  validation?: [TensorMessage, TensorMessage];
  options: WorkerFitOptions;
  progressEvery?: number;
  threads?: number;
  backend: BackendName;
}

export type FromWorker =
  | { type: 'progress'; event: WorkerProgress }
  | { type: 'done'; weights: Float32Array[]; history: History; optimizer: { config: OptimizerConfig; state: OptimizerState } }
  | { type: 'error'; name: string; message: string; code?: string; stack?: string };

export type ToWorker = { type: 'abort' };

/** Trains a spec or a Network on (x, y) in a worker thread; resolves with the trained network in this thread. */
export function trainInWorker(
  model: NetworkSpec | Network,
  data: { x: TensorLike; y: TensorLike; validationData?: [TensorLike, TensorLike] },
  options: TrainInWorkerOptions,
): Promise<WorkerTrainingResult> {
  const { signal, onProgress, progressEvery, threads, backend, onBatchEnd, onEpochEnd, modules = [], optimizer: optimizerOption, ...rest } =
    options ?? ({} as TrainInWorkerOptions);
  if (signal?.aborted) return Promise.reject(new DOMException('training was aborted before it started', 'AbortError'));
  if (model === null || typeof model !== 'object') return Promise.reject(new OptionError('trainInWorker: expected a NetworkSpec or a Network'));
  if (!Array.isArray(modules) || !modules.every((m) => typeof m === 'string')) {
    return Promise.reject(new OptionError('trainInWorker: expected modules to be an array of module paths'));
  }
  const transfer: ArrayBuffer[] = [];
  const pack = (t: TensorLike, what: string): TensorMessage => {
    const tensor = toTensor(t, what);
    const copy = tensor.data.slice();
    transfer.push(copy.buffer as ArrayBuffer);
    return { shape: [...tensor.shape], data: copy };
  };
  let caller: Network;
  let message: StartMessage;
  try {
    let spec: NetworkSpec;
    let weights: Float32Array[] | undefined;
    if (model instanceof Network) {
      caller = model;
      spec = networkToSpec(model);
      // getWeights copies once; the copies are then moved to the worker, not cloned again.
      weights = model.getWeights();
      transfer.push(...weights.map((w) => w.buffer as ArrayBuffer));
    } else {
      // The network is built in the worker from the spec and its seed: without a
      // seed the two threads would initialise differently, so fix one here.
      spec = { ...model, seed: model.seed ?? (Math.random() * 2 ** 32) >>> 0 };
      // Built here first, a bad spec is reported before a worker starts.
      caller = networkFromSpec(spec, 'trainInWorker spec');
    }
    let optimizerState: StartMessage['optimizerState'];
    let fitOptions: WorkerFitOptions = rest as WorkerFitOptions;
    if (optimizerOption !== null && typeof optimizerOption === 'object' && typeof (optimizerOption as Optimizer).getState === 'function') {
      const o = optimizerOption as Optimizer;
      optimizerState = { config: o.getConfig(), state: o.getState(caller.parameters()) };
    } else if (optimizerOption !== undefined) {
      fitOptions = { ...fitOptions, optimizer: optimizerOption as OptimizerName | OptimizerConfig };
    }
    message = {
      spec,
      weights,
      optimizerState,
      modules,
      x: pack(data?.x, 'trainInWorker x'),
      y: pack(data?.y, 'trainInWorker y'),
      validation: data.validationData
        ? [pack(data.validationData[0], 'trainInWorker validation x'), pack(data.validationData[1], 'trainInWorker validation y')]
        : undefined,
      options: fitOptions,
      progressEvery: progressEvery ?? (onBatchEnd ? 1 : undefined),
      threads,
      backend: backend ?? (getBackend().name as BackendName),
    };
  } catch (err) {
    return Promise.reject(err);
  }
  const context: TrainingContext = { network: caller, epochs: rest.epochs, batchesPerEpoch: 0, stopTraining: false };

  return new Promise<WorkerTrainingResult>((resolve, reject) => {
    const worker = new Worker(BOOTSTRAP, { eval: true, workerData: { entry: ENTRY, tsx: tsxHook(), start: message }, transferList: transfer });
    let settled = false;
    const onAbort = (): void => worker.postMessage({ type: 'abort' } satisfies ToWorker);
    signal?.addEventListener('abort', onAbort, { once: true });
    const finish = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      fn();
      // The result is in hand; the worker has nothing left to do.
      void worker.terminate();
    };
    worker.on('message', (msg: FromWorker) => {
      if (msg.type === 'progress') {
        try {
          onProgress?.(msg.event);
          const event = msg.event;
          if (event.type === 'batch') {
            (context as { batchesPerEpoch: number }).batchesPerEpoch = event.batches;
            onBatchEnd?.(event.batch, { epoch: event.epoch, loss: event.loss, size: event.size }, context);
          } else {
            const { type: _t, epoch, epochs: _e, ...logs } = event;
            onEpochEnd?.(epoch, logs as EpochLogs, context);
          }
          if (context.stopTraining) onAbort();
        } catch (err) {
          // A throwing progress handler must not leave training running unseen.
          finish(() => reject(err));
        }
      } else if (msg.type === 'done') {
        finish(() => {
          try {
            caller.setWeights(msg.weights);
            const optimizer = getOptimizer(msg.optimizer.config as never);
            optimizer.setState(caller.parameters(), msg.optimizer.state);
            resolve({ network: caller, history: msg.history, optimizer });
          } catch (err) {
            reject(err);
          }
        });
      } else if (msg.type === 'error') {
        finish(() => reject(rebuildWorkerError(msg)));
      }
    });
    worker.on('error', (err) => finish(() => reject(err)));
    worker.on('exit', (code) => finish(() => reject(new WorkerError(`the training worker exited (code ${code}) before finishing`))));
  });
}

/** The worker's error as the same LayerwiseError class and code, with the worker's stack appended. */
function rebuildWorkerError(msg: { name: string; message: string; code?: string; stack?: string }): Error {
  const err = rebuildError(msg);
  if (msg.stack) err.stack = `${err.name}: ${err.message}\n    [in the training worker]\n${msg.stack.split('\n').slice(1).join('\n')}`;
  return err;
}

/**
 * The worker entry sits next to this file: worker-entry.js in dist, or
 * worker-entry.ts when running from source under tsx. A .ts entry needs tsx's
 * require hook registered in the worker before it is loaded, which is all the
 * evaluated bootstrap below does (the same trick as test/fixtures/worker-matmul.cjs).
 */
const ENTRY = workerEntry('worker-entry');

/** A worker entry module beside this file, in the same form (.ts under tsx, .js in dist). */
export function workerEntry(name: string): string {
  return path.join(__dirname, `${name}${path.extname(__filename) || '.js'}`);
}

export const BOOTSTRAP = `
const { workerData } = require('node:worker_threads');
if (workerData.entry.endsWith('.ts')) require(workerData.tsx);
require(workerData.entry);
`;

export function tsxHook(): string | undefined {
  if (!ENTRY.endsWith('.ts')) return undefined;
  try {
    return require.resolve('tsx/cjs');
  } catch {
    throw new StateError('trainInWorker from TypeScript sources needs tsx installed (or run the compiled dist/)');
  }
}
