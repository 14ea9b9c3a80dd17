// The addon in worker_threads: loaded and training in several threads at once
// with results bit-identical to the main thread's, surviving a worker
// terminated mid-training, and two networks training concurrently (fit()
// interleaved on one event loop) unaffected by each other.

import { expect } from 'chai';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { jsBackend, nativeAvailable, nativeBinding, nativeInfo, setBackend, getBackend, setNumThreads, type BackendName } from '../lib/backends/index.js';
import { train, trainingData, makeNetwork } from './fixtures/train-common.js';
import { expectClose, randomArray } from './helpers.js';

const workerScript = path.join(__dirname, 'fixtures', 'train-worker.cjs');
const SEED = 77;
const EPOCHS = 3;
/** The same thread count everywhere: results are bit-reproducible per thread count. */
const THREADS = 2;

interface WorkerRun {
  worker: Worker;
  started: Promise<void>;
  done: Promise<Float32Array[]>;
  exited: Promise<number>;
}

function startWorker(data: { seed: number; epochs: number; threads: number; samples?: number }): WorkerRun {
  const worker = new Worker(workerScript, { workerData: data });
  let onStarted!: () => void;
  const started = new Promise<void>((resolve) => { onStarted = resolve; });
  const exited = new Promise<number>((resolve) => worker.once('exit', resolve));
  const done = new Promise<Float32Array[]>((resolve, reject) => {
    worker.on('message', (msg: { type: string; weights?: Float32Array[]; message?: string }) => {
      if (msg.type === 'started') onStarted();
      else if (msg.type === 'done') resolve(msg.weights!);
      else if (msg.type === 'error') reject(new Error(`worker failed: ${msg.message}`));
    });
    worker.once('error', reject);
    void exited.then((code) => reject(new Error(`worker exited with ${code} before finishing`)));
  });
  return { worker, started, done, exited };
}

function expectBitIdentical(actual: Float32Array[], expected: Float32Array[], what: string): void {
  expect(actual.length, `${what}: parameter count`).to.equal(expected.length);
  actual.forEach((a, i) => {
    expect(a.length, `${what}: parameter ${i} size`).to.equal(expected[i].length);
    // Compare the bits, so -0/+0 and NaN payloads count too.
    const ab = new Uint32Array(a.buffer, a.byteOffset, a.length), eb = new Uint32Array(expected[i].buffer, expected[i].byteOffset, a.length);
    const first = ab.findIndex((v, t) => v !== eb[t]);
    if (first >= 0) expect.fail(`${what}: parameter ${i}[${first}] is ${a[first]} but ${expected[i][first]} in the reference run`);
  });
}

/** A native matmul checked against the JS backend: the addon still works. */
function checkKernels(): void {
  const binding = nativeBinding();
  const m = 37, n = 29, k = 53;
  const a = randomArray(m * k, 1), b = randomArray(k * n, 2);
  const c = new Float32Array(m * n), expected = new Float32Array(m * n);
  binding.matmul(a, b, c, m, n, k, false, false, false, 1);
  jsBackend.matmul(a, b, expected, m, n, k, false, false, false);
  expectClose(c, expected, { rtol: 1e-4, atol: 1e-4, what: 'matmul after workers' });
}

describe('worker_threads and concurrent training [native]', function () {
  // Each worker compiles the TypeScript sources through tsx (~1 s); four at
  // once on two cores, several times slower under ASan.
  this.timeout(120_000);
  let previousBackend: BackendName;
  let previousThreads: number;
  let reference: Float32Array[];

  before(async function () {
    if (!nativeAvailable()) throw new Error('the native addon did not load');
    previousBackend = getBackend().name;
    previousThreads = nativeInfo().threads!;
    setBackend('native');
    setNumThreads(THREADS);
    reference = await train(SEED, EPOCHS);
  });

  after(function () {
    if (previousBackend) setBackend(previousBackend);
    if (previousThreads) setNumThreads(previousThreads);
  });

  it('trains in four worker_threads at once to the same weights, bit for bit, as the main thread', async () => {
    const runs = [0, 1, 2, 3].map(() => startWorker({ seed: SEED, epochs: EPOCHS, threads: THREADS }));
    const results = await Promise.all(runs.map((r) => r.done));
    results.forEach((weights, i) => expectBitIdentical(weights, reference, `worker ${i}`));
    expect(await Promise.all(runs.map((r) => r.exited))).to.deep.equal([0, 0, 0, 0]);
    // Not a trivial pass: training changed the weights.
    expect(reference[0]).to.not.deep.equal(makeNetwork(SEED).getWeights()[0]);
  });

  it('survives a worker terminated in the middle of training; kernels and new workers still work', async () => {
    // Several delays after the first batch, so termination lands at different
    // points (inside a kernel call, between batches, while yielding).
    for (const delayMs of [0, 5, 40]) {
      const run = startWorker({ seed: SEED, epochs: 1000, threads: THREADS, samples: 480 });
      run.done.catch(() => undefined); // it never finishes: terminated
      await run.started;
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      await run.worker.terminate();
      expect(await run.exited, `exit code after terminate (delay ${delayMs} ms)`).to.equal(1);
      checkKernels();
    }
    expectBitIdentical(await train(SEED, EPOCHS), reference, 'main thread after terminations');
    const fresh = startWorker({ seed: SEED, epochs: EPOCHS, threads: THREADS });
    expectBitIdentical(await fresh.done, reference, 'new worker after terminations');
    expect(await fresh.exited).to.equal(0);
  });

  it('two networks training concurrently in one thread end as each does alone', async () => {
    // Enough batches that fit() yields (every 10 ms) many times, so the two
    // runs really interleave; the order of their batches proves it.
    const samples = 960, epochs = 2;
    const aloneA = await train(SEED, epochs, undefined, samples);
    const aloneB = await train(SEED + 1, epochs, undefined, samples);
    const order: string[] = [];
    const [a, b] = await Promise.all([
      train(SEED, epochs, () => { order.push('A'); }, samples),
      train(SEED + 1, epochs, () => { order.push('B'); }, samples),
    ]);
    const switches = order.filter((who, i) => i > 0 && who !== order[i - 1]).length;
    expect(switches, `batch order ${order.join('')}`).to.be.greaterThan(2);
    expectBitIdentical(a, aloneA, 'network A trained concurrently');
    expectBitIdentical(b, aloneB, 'network B trained concurrently');
    expect(aloneA[0]).to.not.deep.equal(aloneB[0]);
    // The data helper is deterministic, so "alone" really is the same run.
    expect(trainingData(12).x.data).to.deep.equal(trainingData(12).x.data);
  });
});
