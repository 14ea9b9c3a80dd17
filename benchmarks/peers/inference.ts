// Inference, layerwise vs onnxruntime-node, one thread each: the same network
// (layerwise's own toOnnx() export, so both run identical weights on
// identical input in layerwise's layout) timed at batch 1000 (samples/s) and
// on single samples (median latency per call, what a request handler sees).
// The engines alternate in short blocks and the ratios are medians of
// per-round ratios, so load from other processes shifts both alike.
// onnxruntime-node is a devDependency; its CPU binary ships in the npm package.

import { Tensor, setNumThreads, type Network } from '../../lib/index.js';
import { median } from '../epoch-common.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
type Ort = any;

export interface InferenceResult {
  /** samples/s at batch 1000 */
  layerwiseThroughput: number;
  ortThroughput: number;
  /** layerwise ÷ onnxruntime throughput: the median over alternating rounds of the per-round ratio. */
  throughputRatio: number;
  /** µs per single-sample call, median */
  layerwiseLatencyUs: number;
  ortLatencyUs: number;
  /** layerwise ÷ onnxruntime latency, median over alternating rounds. */
  latencyRatio: number;
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

/** Median seconds per call of fn over calls made for about `seconds` (at least minCalls). */
async function timeBlock(fn: () => unknown, seconds: number, minCalls: number): Promise<number[]> {
  const samples: number[] = [];
  const end = performance.now() + seconds * 1000;
  while (samples.length < minCalls || performance.now() < end) {
    const t0 = performance.now();
    await fn();
    samples.push((performance.now() - t0) / 1000);
  }
  return samples;
}

/** Blocks per engine: they alternate, so a burst of load meets both alike. */
const ROUNDS = 8;

/**
 * Times ours and theirs in alternating short blocks (after a warm-up of
 * each) for about `seconds` each in all; returns each engine's median
 * seconds per call over all its calls and the median over rounds of the
 * per-round ratio ours ÷ theirs, which a shared machine's load moves least.
 */
async function timePaired(ours: () => unknown, theirs: () => unknown, seconds: number, minCalls: number):
  Promise<{ ours: number; theirs: number; ratio: number }> {
  for (let i = 0; i < 3; i++) {
    await ours();
    await theirs();
  }
  const all: [number[], number[]] = [[], []];
  const ratios: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const a = await timeBlock(ours, seconds / ROUNDS, Math.ceil(minCalls / ROUNDS));
    const b = await timeBlock(theirs, seconds / ROUNDS, Math.ceil(minCalls / ROUNDS));
    all[0].push(...a);
    all[1].push(...b);
    ratios.push(median(a) / median(b));
  }
  return { ours: median(all[0]), theirs: median(all[1]), ratio: median(ratios) };
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

    const b = await timePaired(() => net.predict(batch), () => session.run({ [inputName]: ortBatch }), budgetSeconds, 5);
    const o = await timePaired(() => net.predict(one), () => session.run({ [inputName]: ortOne }), budgetSeconds / 2, 50);
    return {
      layerwiseThroughput: INFERENCE_BATCH / b.ours,
      ortThroughput: INFERENCE_BATCH / b.theirs,
      throughputRatio: 1 / b.ratio,
      layerwiseLatencyUs: o.ours * 1e6,
      ortLatencyUs: o.theirs * 1e6,
      latencyRatio: o.ratio,
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
