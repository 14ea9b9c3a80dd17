// npm run bench:serve — createPredictor on the npm-start CNN (the
// fashion-mnist-cnn preset): 1000 concurrent single-sample requests, served by
// one worker and by two, with the main thread's 10 ms heartbeat lag measured
// during each run. Ratios come from the same run; repeat and compare, since the
// machine is shared.

import { cpus } from 'node:os';
import { createPredictor, getPreset, networkFromSpec, nativeAvailable, setNumThreads, Tensor } from '../lib/index.js';

const REQUESTS = Number(process.env.SERVE_REQUESTS ?? 1000);
const ROUNDS = Number(process.env.SERVE_ROUNDS ?? 3);

async function serve(workers: number, samples: Tensor[]): Promise<{ seconds: number; maxLagMs: number; p99LagMs: number }> {
  const net = networkFromSpec({ ...getPreset('fashion-mnist-cnn')!.spec, seed: 1 });
  // One kernel thread per worker: the workers are the parallelism.
  const predictor = await createPredictor(net, { workers, maxBatch: 32, maxDelayMs: 1, threads: 1 });
  try {
    await Promise.all(samples.slice(0, 64).map((s) => predictor.predict(s))); // warm-up
    const lags: number[] = [];
    let last = performance.now();
    const heartbeat = setInterval(() => {
      const now = performance.now();
      lags.push(now - last - 10);
      last = now;
    }, 10);
    const start = performance.now();
    const results = await Promise.all(samples.map((s) => predictor.predict(s)));
    const seconds = (performance.now() - start) / 1000;
    clearInterval(heartbeat);
    if (results.length !== samples.length || results.some((r) => r.size !== 10)) throw new Error('not every request completed');
    lags.sort((a, b) => a - b);
    return { seconds, maxLagMs: Math.max(0, lags.at(-1) ?? 0), p99LagMs: Math.max(0, lags[Math.floor(lags.length * 0.99)] ?? 0) };
  } finally {
    await predictor.close();
  }
}

async function main(): Promise<void> {
  if (nativeAvailable()) setNumThreads(1);
  const samples = Array.from({ length: REQUESTS }, (_, i) => {
    const t = Tensor.zeros([28, 28, 1]);
    for (let k = 0; k < t.size; k++) t.data[k] = ((i * 7919 + k * 104729) % 256) / 255;
    return t;
  });
  console.log(`createPredictor on fashion-mnist-cnn: ${REQUESTS} concurrent single-sample requests; ${cpus().length} CPUs (${cpus()[0]?.model}); ${ROUNDS} rounds`);
  for (let round = 1; round <= ROUNDS; round++) {
    const one = await serve(1, samples);
    const two = await serve(2, samples);
    const rate = (r: { seconds: number }): number => REQUESTS / r.seconds;
    console.log(
      `round ${round}: 1 worker ${rate(one).toFixed(0)}/s (heartbeat lag max ${one.maxLagMs.toFixed(1)} ms, p99 ${one.p99LagMs.toFixed(1)} ms); ` +
      `2 workers ${rate(two).toFixed(0)}/s (lag max ${two.maxLagMs.toFixed(1)} ms, p99 ${two.p99LagMs.toFixed(1)} ms); ` +
      `speed-up ${(rate(two) / rate(one)).toFixed(2)}×`,
    );
  }
}

void main();
