// The body of a createPredictor worker: build the network from its spec, point
// every parameter at its slice of the shared weights, then answer batches.

import { readlinkSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { makeThreadIdlePriority, setBackend, setNumThreads } from './backends/index.js';
import { networkFromSpec } from './serialize.js';
import { Tensor } from './tensor.js';
import type { PredictorReply, PredictorStart } from './predictor.js';

const port = parentPort!;

/** Nice steps a 'low' priority worker runs below the thread that created it. */
const WORKER_NICENESS = 5;

/**
 * Lowers this worker thread's scheduling priority (PredictorOptions.priority),
 * so that with as many busy workers as cores the caller's event loop still
 * gets a core as soon as it has work. Linux only: the OS calls used act on
 * this thread alone. 'idle' falls back to 'low' where the idle class is
 * unavailable (no addon, or refused).
 */
function lowerPriority(priority: PredictorStart['priority']): void {
  if (priority === 'normal') return;
  if (priority === 'idle' && makeThreadIdlePriority()) return;
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (Number.isInteger(tid) && tid > 0) setPriority(tid, Math.min(19, getPriority(tid) + WORKER_NICENESS));
  } catch { /* not Linux, or not allowed: the caller's priority */ }
}

async function start(init: PredictorStart): Promise<void> {
  lowerPriority(init.priority);
  setBackend(init.backend);
  if (init.threads !== undefined) setNumThreads(init.threads);
  for (const m of init.modules) {
    if (/\.[cm]?ts$/.test(m)) require(m);
    else await import(m);
  }
  const network = networkFromSpec(init.spec, 'predictor spec');
  let at = 0;
  for (const t of [...network.parameters().map((p) => p.value), ...network.stateTensors().map((s) => s.value)]) {
    // The layer reads its tensor's data on every forward: a view of the shared buffer replaces its own copy.
    (t as { data: Float32Array }).data = init.weights.subarray(at, at + t.size);
    at += t.size;
  }
  port.on('message', (msg: { id: number; input?: Float32Array; shape: number[]; offset?: number }) => {
    let reply: PredictorReply;
    const transfer: ArrayBuffer[] = [];
    try {
      // Without an input of its own, the batch sits in the staging area at `offset`.
      const at = msg.offset ?? 0;
      const input = msg.input ?? init.staging!.subarray(at, at + msg.shape.reduce((a, b) => a * b, 1));
      const y = network.predict(new Tensor(input, msg.shape));
      // A network that only reshapes answers with a view of the shared staging area: copy it, as any partial view.
      const owned = !(y.data.buffer instanceof SharedArrayBuffer) && y.data.length === y.data.buffer.byteLength / 4;
      const output = owned ? y.data : y.data.slice();
      transfer.push(output.buffer as ArrayBuffer);
      reply = { id: msg.id, output, shape: [...y.shape] };
    } catch (err) {
      const e = err as Error & { code?: string };
      reply = { id: msg.id, error: { name: e.name, message: e.message, code: e.code } };
    }
    port.postMessage(reply, transfer);
  });
  port.postMessage({ ready: true });
}

start((workerData as { start: PredictorStart }).start).catch((err: unknown) => {
  const e = err instanceof Error ? err : new Error(String(err));
  port.postMessage({ id: 0, error: { name: e.name, message: e.message, code: (e as { code?: string }).code } });
});
