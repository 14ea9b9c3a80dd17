// createPredictor: inference off the main thread. A pool of worker_threads
// runs predict; the weights live once in a SharedArrayBuffer that every
// worker's layers read directly (no copy per worker). Concurrent predict()
// calls are batched: requests queue until `maxBatch` samples are waiting or
// the oldest has waited `maxDelayMs`, then go to an idle worker as one batch,
// and each caller gets its own rows back. While a full batch more is waiting,
// a busy worker is sent it too, so it starts on it the moment it answers the
// first instead of idling for the round trip through this thread (about
// 0.15 ms a batch, 7% of a CNN batch of 64). The calling thread only copies
// inputs and outputs, so its event loop stays free while workers compute.

import { Worker } from 'node:worker_threads';
import { Network } from './network.js';
import { networkToSpec, type NetworkSpec } from './serialize.js';
import { Tensor, toTensor, type TensorLike } from './tensor.js';
import { availableParallelism } from 'node:os';
import { getBackend, nativeAvailable, nativeInfo, setNumThreads, type BackendName } from './backends/index.js';
import { OptionError, ShapeError, StateError, WorkerError, nonFiniteError, rebuildError } from './errors.js';
import { checkOptions } from './options.js';
import { assertPositiveInteger, formatShape } from './shape.js';
import { BOOTSTRAP, tsxHook, workerEntry } from './worker.js';

/** Options of createPredictor. */
export interface PredictorOptions {
  /** Worker threads (default 2). */
  workers?: number;
  /** Most samples sent to a worker as one batch (default 64). */
  maxBatch?: number;
  /** Longest a request waits for others to batch with, in ms (default 1). */
  maxDelayMs?: number;
  /**
   * Native kernel threads (default ⌊cores ÷ workers⌋, at least 1: the workers
   * are the parallelism, and more kernel threads than cores only queue). The
   * addon's count is process-wide, so this sets it for the calling thread too,
   * until close() puts back the count it found.
   */
  threads?: number;
  backend?: BackendName;
  /** Modules each worker imports first (custom layers' registerLayer). */
  modules?: string[];
  /**
   * How the workers' threads yield to the rest of the process (Linux; ignored
   * elsewhere). `'idle'` (the default) puts them in the OS's idle scheduling
   * class: whenever the calling thread — or V8's garbage-collector helpers —
   * wakes, it takes a core at once, so the caller's event loop stays
   * responsive with as many busy workers as cores. Idle threads run only on
   * cores nothing else wants, so on a machine that other busy processes keep
   * saturated the predictor slows to a crawl: choose `'low'` there (five nice
   * steps below the caller: a fair but smaller share) or `'normal'`.
   */
  priority?: WorkerPriority;
}

/** Scheduling priority of createPredictor's workers (see PredictorOptions.priority). */
export type WorkerPriority = 'idle' | 'low' | 'normal';
const PRIORITIES: readonly WorkerPriority[] = ['idle', 'low', 'normal'];

/** A pool of prediction workers, from createPredictor. */
export interface Predictor {
  /** Outputs for one sample (shaped like the network's input without the batch axis) or a batch [n, ...]. */
  predict(x: TensorLike): Promise<Tensor>;
  /** Ends the workers; pending requests reject with a StateError. */
  close(): Promise<void>;
  readonly workers: number;
}

/** The message a predictor worker starts with (internal). */
export interface PredictorStart {
  spec: NetworkSpec;
  weights: Float32Array;
  backend: BackendName;
  threads?: number;
  modules: string[];
  priority: WorkerPriority;
  /** This worker's input staging area (two halves of maxBatch samples, shared with the caller). */
  staging?: Float32Array;
}

export type PredictorReply =
  | { id: number; output: Float32Array; shape: number[] }
  | { id: number; error: { name: string; message: string; code?: string } };

interface Request {
  data: Float32Array;
  /** performance.now() when it was queued: maxDelayMs counts from here. */
  queuedAt: number;
  samples: number;
  single: boolean;
  shapeTail: number[];
  resolve: (t: Tensor) => void;
  reject: (e: unknown) => void;
}

interface Batch {
  id: number;
  requests: Request[];
  /** The staging half its input was copied to (-1: a buffer of its own). */
  half: number;
}

interface Slot {
  worker: Worker;
  /**
   * Two halves of maxBatch samples of input in a SharedArrayBuffer the worker
   * reads: a batch is copied here instead of into a fresh buffer transferred
   * per batch, so dispatching allocates nothing (no garbage, no page faults,
   * no unmapping). A half is written only while no batch in flight uses it.
   */
  staging: Float32Array;
  /** Batches sent and not yet answered, oldest first (the worker answers in order); at most two. */
  inFlight: Batch[];
}

/** Starts `workers` threads serving `model`'s predict; see the file comment. */
export async function createPredictor(model: Network, options: PredictorOptions = {}): Promise<Predictor> {
  if (!(model instanceof Network)) throw new OptionError('createPredictor: expected a Network');
  checkOptions(options, ['workers', 'maxBatch', 'maxDelayMs', 'threads', 'backend', 'modules', 'priority'], 'createPredictor options');
  const count = assertPositiveInteger(options.workers ?? 2, 'createPredictor workers');
  const maxBatch = assertPositiveInteger(options.maxBatch ?? 64, 'createPredictor maxBatch');
  const maxDelayMs = options.maxDelayMs ?? 1;
  if (!(Number.isFinite(maxDelayMs) && maxDelayMs >= 0)) throw new OptionError(`expected a non-negative number for maxDelayMs but got ${maxDelayMs}`);
  const priority = options.priority ?? 'idle';
  if (!PRIORITIES.includes(priority)) throw new OptionError(`expected one of ${PRIORITIES.map((p) => `'${p}'`).join(', ')} for createPredictor priority but got ${JSON.stringify(priority)}`);
  const spec = networkToSpec(model);
  // Parameters and state (BatchNormalization's running statistics), in the order the worker maps them back.
  const tensors = [...model.parameters().map((p) => p.value), ...model.stateTensors().map((t) => t.value)];
  const total = tensors.reduce((n, t) => n + t.size, 0);
  const weights = new Float32Array(new SharedArrayBuffer(total * 4));
  let at = 0;
  for (const t of tensors) {
    weights.set(t.data, at);
    at += t.size;
  }
  // One sample's shape, to tell a single sample from a batch.
  const sampleShape = inputSampleShape(model);
  const sampleSize = sampleShape.reduce((a, b) => a * b, 1);
  const halfSize = maxBatch * sampleSize;
  const backend = options.backend ?? (getBackend().name as BackendName);
  const native = backend === 'native' && nativeAvailable();
  const threads = options.threads ?? (native ? Math.max(1, Math.floor(availableParallelism() / count)) : undefined);
  const threadsBefore = native ? nativeInfo().threads : undefined;
  // Set here as well as in each worker: a worker may load its own copy of the
  // addon (another file on disk), whose count would not be this one's.
  if (native && threads !== undefined) setNumThreads(threads);
  /** Puts back the count found, unless someone changed it since. */
  const restoreThreads = (): void => {
    if (threadsBefore !== undefined && threads !== undefined && nativeInfo().threads === threads) setNumThreads(threadsBefore);
  };
  const start: PredictorStart = { spec, weights, backend, threads, modules: options.modules ?? [], priority };

  const slots: Slot[] = [];
  // A FIFO read from `head`: shift() would move every waiting request once per dispatch.
  let queue: Request[] = [];
  let head = 0;
  let queued = 0;
  let timer: NodeJS.Timeout | undefined;
  let nextId = 1;
  let closed = false;

  const fail = (slot: Slot, err: unknown): void => {
    const batches = slot.inFlight;
    slot.inFlight = [];
    for (const b of batches) for (const r of b.requests) r.reject(err);
  };

  /** Copies the requests' inputs to the front of `input`; returns that part. */
  const stage = (requests: Request[], input: Float32Array): Float32Array => {
    let offset = 0;
    for (const r of requests) {
      input.set(r.data, offset);
      offset += r.data.length;
    }
    return input.subarray(0, offset);
  };

  const dispatch = (): void => {
    if (timer) {
      clearTimeout(timer);
      timer = undefined;
    }
    // Idle workers first; then a second batch to busy ones, only a full one.
    // A batch whose inputs were all bad sends nothing: the worker takes the next.
    for (let depth = 0; depth < 2; depth++) {
      for (const slot of slots) {
        while (slot.inFlight.length === depth && head < queue.length && (depth === 0 || queued >= maxBatch)) send(slot);
      }
    }
    if (head === queue.length) {
      queue = [];
      head = 0;
    } else if (head > 1024 && head * 2 > queue.length) {
      queue = queue.slice(head);
      head = 0;
    }
  };

  /** Sends the requests at the queue's head, up to maxBatch samples, to `slot` as one batch. */
  const send = (slot: Slot): void => {
    let requests: Request[] = [];
    let samples = 0;
    while (head < queue.length && (requests.length === 0 || samples + queue[head].samples <= maxBatch)) {
      const r = queue[head++];
      requests.push(r);
      samples += r.samples;
    }
    queued -= samples;
    // One request larger than maxBatch gets a buffer of its own.
    const half = samples * sampleSize > halfSize ? -1 : slot.inFlight.some((b) => b.half === 0) ? 1 : 0;
    const input = half < 0 ? new Float32Array(samples * sampleSize) : slot.staging.subarray(half * halfSize, (half + 1) * halfSize);
    // Inputs are checked for NaN and ±Infinity here, once per batch and on
    // the copy the worker reads, not once per request in predict(): a native
    // call per single sample was a fifth of this thread's time per request.
    const kernels = getBackend();
    if (kernels.firstNonFinite(stage(requests, input)) >= 0) {
      requests = requests.filter((r) => {
        const bad = kernels.firstNonFinite(r.data);
        if (bad < 0) return true;
        r.reject(nonFiniteError('predict input', r.data, bad, sampleSize));
        return false;
      });
      if (requests.length === 0) return;
      samples = stage(requests, input).length / sampleSize;
    }
    const id = nextId++;
    slot.inFlight.push({ id, requests, half });
    const shape = [samples, ...requests[0].shapeTail];
    if (half >= 0) slot.worker.postMessage({ id, shape, offset: half * halfSize });
    else slot.worker.postMessage({ id, input, shape }, [input.buffer as ArrayBuffer]);
  };

  // Dispatches once maxBatch samples wait or the oldest waiting request has
  // waited maxDelayMs. The delay counts from the oldest request's arrival, not
  // from the last dispatch: requests that queued behind busy workers (a burst's
  // tail) have waited long enough by the time a worker frees up, and holding
  // them for another maxDelayMs would leave that worker idle.
  const schedule = (): void => {
    const waited = performance.now() - queue[head].queuedAt;
    if (queued >= maxBatch || waited >= maxDelayMs) dispatch();
    else if (!timer) timer = setTimeout(dispatch, maxDelayMs - waited);
  };

  const onReply = (slot: Slot, reply: PredictorReply): void => {
    const busy = slot.inFlight[0];
    if (!busy || busy.id !== reply.id) return;
    slot.inFlight.shift();
    if ('error' in reply) {
      const err = rebuildError(reply.error);
      for (const r of busy.requests) r.reject(err);
    } else {
      const rowSize = reply.output.length / reply.shape[0];
      const rowShape = reply.shape.slice(1);
      let row = 0;
      for (const r of busy.requests) {
        // Views of the transferred reply, not copies: the batch's output buffer now belongs to this thread alone.
        const data = reply.output.subarray(row * rowSize, (row + r.samples) * rowSize);
        row += r.samples;
        r.resolve(new Tensor(data, r.single ? rowShape : [r.samples, ...rowShape]));
      }
    }
    if (head < queue.length) schedule();
  };

  const entry = workerEntry('predictor-entry');
  await Promise.all(Array.from({ length: count }, () => new Promise<void>((resolve, reject) => {
    const staging = new Float32Array(new SharedArrayBuffer(2 * halfSize * 4));
    const worker = new Worker(BOOTSTRAP, { eval: true, workerData: { entry, tsx: tsxHook(), start: { ...start, staging } } });
    const slot: Slot = { worker, staging, inFlight: [] };
    let ready = false;
    worker.on('message', (msg: PredictorReply | { ready: true } | { id: 0; error: PredictorReply }) => {
      if (!ready) {
        if ('ready' in msg) {
          ready = true;
          slots.push(slot);
          resolve();
        } else {
          reject(rebuildError((msg as { error: { name: string; message: string; code?: string } }).error));
        }
        return;
      }
      onReply(slot, msg as PredictorReply);
    });
    worker.on('error', (err) => {
      if (!ready) reject(err);
      fail(slot, err);
    });
    worker.on('exit', (code) => {
      const index = slots.indexOf(slot);
      if (index >= 0) slots.splice(index, 1);
      if (!ready) reject(new WorkerError(`a predictor worker exited (code ${code}) while starting`));
      fail(slot, closed ? new StateError('the predictor was closed') : new WorkerError(`a predictor worker exited (code ${code})`));
    });
  }))).catch(async (err) => {
    await Promise.all(slots.map((s) => s.worker.terminate()));
    restoreThreads();
    throw err;
  });

  return {
    workers: count,
    predict(xIn: TensorLike): Promise<Tensor> {
      if (closed) return Promise.reject(new StateError('predict on a closed predictor'));
      let x: Tensor;
      try {
        x = toTensor(xIn, 'predict input');
      } catch (err) {
        return Promise.reject(err);
      }
      const single = sameTail(x.shape, sampleShape);
      const batched = single || x.rank === sampleShape.length + 1 && sameTail(x.shape.slice(1), sampleShape);
      if (!batched) {
        return Promise.reject(new ShapeError(`expected ${formatShape(sampleShape)} or ${formatShape(['n', ...sampleShape] as never)} for predict input but got ${formatShape(x.shape)}`));
      }
      const samples = single ? 1 : x.shape[0];
      return new Promise<Tensor>((resolve, reject) => {
        queue.push({ data: x.data, queuedAt: performance.now(), samples, single, resolve, reject, shapeTail: sampleShape });
        queued += samples;
        schedule();
      });
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      if (timer) clearTimeout(timer);
      const err = new StateError('the predictor was closed');
      const waiting = queue.slice(head);
      queue = [];
      head = 0;
      for (const r of waiting) r.reject(err);
      await Promise.all(slots.map((s) => s.worker.terminate()));
      restoreThreads();
    },
  };
}

function sameTail(shape: readonly number[], sample: readonly number[]): boolean {
  return shape.length === sample.length && shape.every((d, i) => d === sample[i]);
}

/** One sample's input shape: from the first layer that fixes it. */
function inputSampleShape(network: Network): number[] {
  for (const layer of network.layers) {
    const config = layer.getConfig();
    if (config.type === 'Dense') return [config.inputSize as number];
    // Conv2D, Flatten, Reshape, global pooling and augmentation layers may state it as inputShape.
    const declared = layer.declaredInputShape;
    if (declared) return declared;
    if (config.type === 'Conv2D' || config.type === 'Flatten') break;
  }
  throw new OptionError('createPredictor: the network does not fix its input shape (give its first layer an inputShape)');
}
