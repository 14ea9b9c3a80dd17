// Shared test helpers: run a suite on each backend, compare arrays with a
// tolerance, make reproducible random tensors, and check gradients by finite
// differences, so each test reads as one line.

import { expect } from 'chai';
import { performance as nodePerformance } from 'node:perf_hooks';
import { getBackend, setBackend, nativeAvailable, nativeInfo, setNumThreads, type BackendName } from '../lib/backends/index.js';
import type { Layer } from '../lib/layers/layer.js';
import { Rng } from '../lib/random.js';
import { Tensor } from '../lib/tensor.js';

// The pool runs small calls on one thread while it finds its helper far
// from the caller (a cache line's round trip over 200 ns, threadpool.cc);
// the suites' two-thread checks must split whatever this machine is doing.
// Read at the first kernel call, after every test file has loaded.
process.env.LAYERWISE_CORE_DISTANCE ??= 'near';

export const BACKENDS: BackendName[] = ['js', 'native'];

/**
 * describe(`<title> [backend]`) with the backend active for its tests. A
 * native suite fails (never skips) when the addon does not load: CI builds it.
 */
export function forEachBackend(title: string, body: (backend: BackendName) => void): void {
  for (const name of BACKENDS) {
    describe(`${title} [${name}]`, function () {
      let previous: BackendName;
      before(function () {
        previous = getBackend().name;
        if (name === 'native' && !nativeAvailable()) throw new Error('the native addon did not load');
        setBackend(name);
      });
      after(function () {
        setBackend(previous);
      });
      body(name);
    });
  }
}

/** Runs fn with a backend active, restoring the previous one. */
export function withBackend<T>(name: BackendName, fn: () => T): T {
  const previous = getBackend().name;
  setBackend(name);
  try {
    return fn();
  } finally {
    setBackend(previous);
  }
}

/** Uniform random values in [low, high), reproducible from the seed. */
export function randomArray(size: number, seed: number, low = -1, high = 1): Float32Array {
  const rng = new Rng(seed);
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) out[i] = rng.uniform(low, high);
  return out;
}

export function randomTensor(shape: number[], seed: number, low = -1, high = 1): Tensor {
  return new Tensor(randomArray(shape.reduce((a, b) => a * b, 1), seed, low, high), shape);
}

/**
 * Asserts |actual − expected| ≤ atol + rtol·|expected| element by element and
 * names the first element that is off.
 */
export function expectClose(
  actual: ArrayLike<number>, expected: ArrayLike<number>,
  { rtol = 1e-5, atol = 1e-5, what = 'values' }: { rtol?: number; atol?: number; what?: string } = {},
): void {
  expect(actual.length, `${what}: length`).to.equal(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i], e = expected[i];
    if (!(Math.abs(a - e) <= atol + rtol * Math.abs(e))) {
      expect.fail(`${what}[${i}] is ${a} but expected ${e} (±${atol + rtol * Math.abs(e)})`);
    }
  }
}

/** A ⋅ B summed in double: the scalar E = Σ r·Y used by gradient checks. */
function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

export interface GradientCheckOptions {
  seed?: number;
  eps?: number;
  rtol?: number;
  atol?: number;
  /** Keep inputs away from kinks (ReLU at 0): |x| ≥ this. */
  avoidZero?: number;
  /** Run forward in training mode (BatchNormalization's batch statistics). */
  training?: boolean;
  /** Called before every forward pass: a random layer resets its generator here so each pass draws the same transform. */
  beforeForward?: () => void;
}

/**
 * Finite-difference check of a layer's backward pass. With E = Σ r·layer(x)
 * for a fixed random r, backward(r) must return ∂E/∂x and leave ∂E/∂θ in
 * every parameter's grad; each is compared to (E(v+ε) − E(v−ε)) / 2ε.
 */
export function checkLayerGradients(layer: Layer, input: Tensor, options: GradientCheckOptions = {}): void {
  const { seed = 7, eps = 1e-2, rtol = 2e-2, atol = 2e-3, avoidZero = 0, training = false, beforeForward = () => undefined } = options;
  const x = input.clone();
  if (avoidZero > 0) {
    for (let i = 0; i < x.size; i++) {
      if (Math.abs(x.data[i]) < avoidZero) x.data[i] = x.data[i] < 0 ? -avoidZero - Math.abs(x.data[i]) : avoidZero + x.data[i];
    }
  }
  beforeForward();
  const y = layer.forward(x, training);
  const r = randomTensor([...y.shape], seed + 1);
  const energy = (): number => {
    beforeForward();
    return dot(layer.forward(x, training).data, r.data);
  };

  beforeForward();
  layer.forward(x, training);
  const dx = layer.backward(r);
  const analytic = [{ name: 'input', values: x.data, grad: dx.data.slice() }];
  for (const p of layer.parameters()) analytic.push({ name: p.name, values: p.value.data, grad: p.grad.data.slice() });

  for (const { name, values, grad } of analytic) {
    const numeric = new Float32Array(values.length);
    for (let i = 0; i < values.length; i++) {
      const saved = values[i];
      values[i] = saved + eps;
      const plus = energy();
      values[i] = saved - eps;
      const minus = energy();
      values[i] = saved;
      numeric[i] = (plus - minus) / (2 * eps);
    }
    expectClose(grad, numeric, { rtol, atol, what: `∂E/∂${name}` });
  }
}

/**
 * Runs a layer's forward and backward pass on the js and the native backend
 * (a fresh layer from `make` on each, so generators and workspaces start
 * alike) and asserts that outputs and input gradients agree.
 */
export function expectSameOnBackends(make: () => Layer, input: Tensor, { training = false, tol = 1e-6 } = {}): void {
  const run = (name: BackendName) => withBackend(name, () => {
    const layer = make();
    const y = layer.forward(input, training).clone();
    const dx = layer.backward(randomTensor([...y.shape], 99)).clone();
    return { y, dx };
  });
  const js = run('js'), native = run('native');
  expect(native.y.shape, 'output shape').to.deep.equal(js.y.shape);
  expectClose(native.y.data, js.y.data, { rtol: tol, atol: tol, what: 'output' });
  expectClose(native.dx.data, js.dx.data, { rtol: tol, atol: tol, what: 'input gradient' });
}

/**
 * Runs fn while watching the event loop without reading a wall clock, so a
 * busy machine cannot break what it measures:
 * - `maxCpuGapMs`: the most CPU time this process used between two turns of
 *   the event loop (a setImmediate chain marks each turn). CPU time does not
 *   advance while the process waits for a core, so only work that does not
 *   yield makes it large. Meaningful when the work runs on this thread alone
 *   (one kernel thread).
 * - `utilization`: the event loop's own utilization over fn (from
 *   performance.eventLoopUtilization: the share of time it was not waiting
 *   for events); near 1 when fn blocks this thread, near 0 when the work is
 *   elsewhere (a worker).
 * - `turns`: how many turns the loop made.
 */
export async function withEventLoopWatch<T>(fn: () => Promise<T>): Promise<{ result: T; maxCpuGapMs: number; utilization: number; turns: number }> {
  let last = cpuMs();
  let maxCpuGapMs = 0;
  let turns = 0;
  let running = true;
  const turn = () => {
    const now = cpuMs();
    maxCpuGapMs = Math.max(maxCpuGapMs, now - last);
    last = now;
    turns++;
    // A timer rather than another immediate, so the loop also waits for events between turns.
    if (running) setTimeout(turn, 1);
  };
  setTimeout(turn, 1);
  const elu = nodePerformance.eventLoopUtilization();
  try {
    const result = await fn();
    maxCpuGapMs = Math.max(maxCpuGapMs, cpuMs() - last);
    return { result, maxCpuGapMs, utilization: nodePerformance.eventLoopUtilization(elu).utilization, turns };
  } finally {
    running = false;
  }
}

/** CPU time (user + system) this process has used, in ms. */
export function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/**
 * fit callbacks that record the most CPU time one training batch took, the
 * yardstick for event-loop gaps measured in the same run: a machine slowed by
 * other processes slows batches and gaps alike.
 */
export function batchCpuMeter(): { onBatchEnd: () => void; readonly maxBatchMs: number } {
  let last = cpuMs();
  let max = 0;
  return {
    onBatchEnd: () => {
      const now = cpuMs();
      max = Math.max(max, now - last);
      last = now;
    },
    get maxBatchMs() {
      return max;
    },
  };
}

/** Runs fn with the native kernels on one thread (the calling one), restoring the count after. */
export async function withOneKernelThread<T>(fn: () => Promise<T>): Promise<T> {
  const before = nativeAvailable() ? nativeInfo().threads : undefined;
  if (before !== undefined) setNumThreads(1);
  try {
    return await fn();
  } finally {
    if (before !== undefined) setNumThreads(before);
  }
}

/** The error fn throws; fails the test when it throws nothing. */
export function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  return expect.fail('expected an error to be thrown');
}

/** Asserts that the promise rejects with a message containing `message`. */
export async function expectReject(p: Promise<unknown>, message: string): Promise<void> {
  try {
    await p;
  } catch (err) {
    expect((err as Error).message).to.contain(message);
    return;
  }
  expect.fail(`expected a rejection containing '${message}'`);
}
