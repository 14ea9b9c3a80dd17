// Inference, layerwise vs onnxruntime-node, one thread each: the same network
// (layerwise's own toOnnx() export, so both run identical weights on
// identical input in layerwise's layout) timed at batch 1000 (samples/s) and
// on single samples (median latency per call, what a request handler sees).
// onnxruntime-node is a devDependency; its CPU binary ships in the npm package.

import { Tensor, setNumThreads, type Network } from '../../lib/index.js';
import { median } from '../epoch-common.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
type Ort = any;

export interface InferenceResult {
  /** samples/s at batch 1000 */
  layerwiseThroughput: number;
  ortThroughput: number;
  /** µs per single-sample call, median */
  layerwiseLatencyUs: number;
  ortLatencyUs: number;
  /** Largest |layerwise − onnxruntime| over the batch: both must compute the same thing. */
  maxDifference: number;
}

export const INFERENCE_BATCH = 1000;

/** Deterministic inputs in [0, 1): the timing does not depend on the values. */
function inputs(samples: number, sampleShape: readonly number[]): Tensor {
  const t = Tensor.zeros([samples, ...sampleShape]);
  for (let i = 0; i < t.size; i++) t.data[i] = ((i * 7919) % 256) / 256;
  return t;
}

/** Runs fn repeatedly for about `seconds`, after a warm-up, and returns the median seconds per call. */
async function timeCalls(fn: () => unknown, seconds: number, minCalls = 5): Promise<number> {
  for (let i = 0; i < 3; i++) await fn();
  const samples: number[] = [];
  const end = performance.now() + seconds * 1000;
  while (samples.length < minCalls || performance.now() < end) {
    const t0 = performance.now();
    await fn();
    samples.push((performance.now() - t0) / 1000);
  }
  return median(samples);
}

export async function compareInference(net: Network, sampleShape: readonly number[], budgetSeconds: number): Promise<InferenceResult> {
  const ort: Ort = require('onnxruntime-node');
  setNumThreads(1);
  const session = await ort.InferenceSession.create(net.toOnnx(), {
    intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all',
  });
  try {
    const inputName = session.inputNames[0], outputName = session.outputNames[0];
    const batch = inputs(INFERENCE_BATCH, sampleShape);
    const one = inputs(1, sampleShape);
    const ortBatch = new ort.Tensor('float32', batch.data, [...batch.shape]);
    const ortOne = new ort.Tensor('float32', one.data, [...one.shape]);

    const ours = net.predict(batch).data;
    const theirs = (await session.run({ [inputName]: ortBatch }))[outputName].data as Float32Array;
    let maxDifference = 0;
    for (let i = 0; i < ours.length; i++) maxDifference = Math.max(maxDifference, Math.abs(ours[i] - theirs[i]));
    if (theirs.length !== ours.length) maxDifference = Infinity;

    // Interleaved engine by engine so a burst of load hits both alike.
    const lwBatch = await timeCalls(() => net.predict(batch), budgetSeconds);
    const ortBatchSeconds = await timeCalls(() => session.run({ [inputName]: ortBatch }), budgetSeconds);
    const lwOne = await timeCalls(() => net.predict(one), budgetSeconds / 2, 50);
    const ortOneSeconds = await timeCalls(() => session.run({ [inputName]: ortOne }), budgetSeconds / 2, 50);
    return {
      layerwiseThroughput: INFERENCE_BATCH / lwBatch,
      ortThroughput: INFERENCE_BATCH / ortBatchSeconds,
      layerwiseLatencyUs: lwOne * 1e6,
      ortLatencyUs: ortOneSeconds * 1e6,
      maxDifference,
    };
  } finally {
    await session.release();
  }
}

export function onnxruntimeVersion(): string {
  try {
    return (require('onnxruntime-node/package.json') as { version: string }).version;
  } catch {
    return '?';
  }
}
