// The body of a trainInWorker thread: build the network from its spec, run
// fit with the posted options, stream progress, post the weights back.

import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parentPort, workerData } from 'node:worker_threads';
import { setBackend, setNumThreads } from './backends/index.js';
import { getOptimizer } from './optimizers.js';
import { networkFromSpec } from './serialize.js';
import { Tensor } from './tensor.js';
import type { FromWorker, StartMessage, TensorMessage, ToWorker } from './worker.js';

const port = parentPort!;
const post = (msg: FromWorker, transfer: ArrayBuffer[] = []): void => port.postMessage(msg, transfer);
const toTensor = (m: TensorMessage): Tensor => new Tensor(m.data, m.shape);

async function run(start: StartMessage): Promise<void> {
  const controller = new AbortController();
  port.on('message', (msg: ToWorker) => {
    if (msg?.type === 'abort') controller.abort();
  });
  setBackend(start.backend);
  if (start.threads !== undefined) setNumThreads(start.threads);
  // Custom layers register themselves when their modules load; only then can the spec name them.
  for (const specifier of start.modules) await importModule(specifier);
  const network = networkFromSpec(start.spec, 'trainInWorker spec');
  if (start.weights) network.setWeights(start.weights);
  const x = toTensor(start.x);
  const y = toTensor(start.y);
  const { optimizer: optimizerSpec = 'sgd', learningRate, ...rest } = start.options;
  // An Optimizer object (not a name) so its state can be sent back.
  const optimizer = start.optimizerState ? getOptimizer(start.optimizerState.config as never) : getOptimizer(optimizerSpec, learningRate);
  if (start.optimizerState) {
    optimizer.setState(network.parameters(), start.optimizerState.state);
    if (learningRate !== undefined) optimizer.learningRate = learningRate;
  }
  const samples = x.shape[0] - (rest.validationSplit ? Math.floor(x.shape[0] * rest.validationSplit) : 0);
  const batches = Math.ceil(samples / (rest.batchSize ?? 32));
  const every = start.progressEvery ?? Math.max(1, Math.round(batches / 10));
  const history = await network.fit(x, y, {
    ...rest,
    optimizer,
    validationData: start.validation ? [toTensor(start.validation[0]), toTensor(start.validation[1])] : undefined,
    signal: controller.signal,
    onBatchEnd: every > 0
      ? (batch, logs) => {
        if (batch % every === 0 || batch === batches) post({ type: 'progress', event: { type: 'batch', batch, batches, ...logs } });
      }
      : undefined,
    onEpochEnd: (epoch, logs) => post({ type: 'progress', event: { type: 'epoch', epoch, epochs: start.options.epochs, ...logs } }),
  });
  const weights = network.getWeights();
  const state = optimizer.getState(network.parameters());
  const transfer = [...weights, ...state.slots.flat()].map((a) => a.buffer as ArrayBuffer);
  post({ type: 'done', weights, history, optimizer: { config: optimizer.getConfig(), state } }, [...new Set(transfer)]);
}

/** A module named in trainInWorker's `modules`: a .ts source through tsx's require hook (already registered), anything else by import(). */
async function importModule(specifier: string): Promise<void> {
  if (/\.[cm]?ts$/.test(specifier)) {
    require(specifier.startsWith('file:') ? fileURLToPath(specifier) : specifier);
    return;
  }
  await import(specifier.startsWith('file:') || !path.isAbsolute(specifier) ? specifier : pathToFileURL(specifier).href);
}

run((workerData as { start: StartMessage }).start).catch((err: unknown) => {
  const e = err instanceof Error ? err : new Error(String(err));
  post({ type: 'error', name: e.name, message: e.message, code: (e as { code?: string }).code, stack: e.stack });
});
