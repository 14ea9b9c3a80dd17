// npm run bench: kernel timings on the js and native backends from one run,
// with the native/js speed ratio and GFLOP/s.
//
// Each case runs until it has used ~0.3 s (at least 3 runs) and reports the
// median, so the 2-core noisy machines give stable enough ratios.

import * as os from 'node:os';
import { jsBackend, nativeAvailable, nativeBinding, nativeInfo, setBackend, getBackend } from '../lib/backends/index.js';
import type { Backend, ConvGeometry } from '../lib/backends/backend.js';
import { Rng } from '../lib/random.js';

function randomArray(size: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  const a = new Float32Array(size);
  for (let i = 0; i < size; i++) a[i] = rng.uniform(-1, 1);
  return a;
}

/** Median seconds of fn over enough runs to fill the time budget. */
function time(fn: () => void, budgetSeconds = 0.3, maxRuns = 200): number {
  fn(); // warm-up
  const samples: number[] = [];
  const start = performance.now();
  while (samples.length < 3 || (performance.now() - start < budgetSeconds * 1000 && samples.length < maxRuns)) {
    const t0 = performance.now();
    fn();
    samples.push((performance.now() - t0) / 1000);
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)];
}

interface Row { kernel: string; size: string; jsMs: number; nativeMs: number; ratio: number; jsGflops: number; nativeGflops: number }

function bench(kernel: string, size: string, flops: number, run: (b: Backend) => void, native: Backend, jsBudget = 0.3): Row {
  const js = time(() => run(jsBackend), jsBudget, 20);
  const nat = time(() => run(native));
  return { kernel, size, jsMs: js * 1e3, nativeMs: nat * 1e3, ratio: js / nat, jsGflops: flops / js / 1e9, nativeGflops: flops / nat / 1e9 };
}

function main(): void {
  if (!nativeAvailable()) {
    console.error(`native addon unavailable: ${nativeInfo().error}`);
    process.exit(1);
  }
  setBackend('native');
  const native = getBackend();
  const info = nativeInfo();
  console.log(`layerwise kernel benchmark — ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.cpus().length} cores`);
  console.log(`native: ISA ${info.isa} (supported: ${info.supportedIsas?.join(', ')}), ${info.threads} threads; node ${process.version}`);
  void nativeBinding;

  const rows: Row[] = [];
  for (const n of [64, 128, 256, 512]) {
    const a = randomArray(n * n, 1), b = randomArray(n * n, 2), c = new Float32Array(n * n);
    rows.push(bench('matmul', `${n}×${n}·${n}×${n}`, 2 * n * n * n, (be) => be.matmul(a, b, c, n, n, n, false, false, false), native, n >= 512 ? 1 : 0.3));
  }
  for (const [m, k, n] of [[32, 784, 128], [784, 32, 128], [32, 128, 784]]) {
    const a = randomArray(m * k, 1), b = randomArray(k * n, 2), c = new Float32Array(m * n);
    rows.push(bench('matmul', `${m}×${k}·${k}×${n}`, 2 * m * n * k, (be) => be.matmul(a, b, c, m, n, k, false, false, false), native));
  }
  for (const [h, kh] of [[28, 3], [64, 5], [256, 3]]) {
    const g: ConvGeometry = { n: 1, inH: h, inW: h, inC: 1, kH: kh, kW: kh, outC: 1, strideH: 1, strideW: 1, padTop: 0, padLeft: 0, outH: h - kh + 1, outW: h - kh + 1 };
    const x = randomArray(h * h, 1), w = randomArray(kh * kh, 2), y = new Float32Array(g.outH * g.outW);
    rows.push(bench('correlate2d', `${h}×${h} ⋆ ${kh}×${kh} valid`, 2 * g.outH * g.outW * kh * kh, (be) => be.conv2dForward(x, w, y, g, false), native));
  }
  {
    // The small CNN's first layer on a batch of 32: 28×28×1 → 8 filters 3×3.
    const g: ConvGeometry = { n: 32, inH: 28, inW: 28, inC: 1, kH: 3, kW: 3, outC: 8, strideH: 1, strideW: 1, padTop: 0, padLeft: 0, outH: 26, outW: 26 };
    const x = randomArray(32 * 28 * 28, 1), w = randomArray(72, 2), y = new Float32Array(32 * 26 * 26 * 8);
    rows.push(bench('conv2d', '32×28×28×1 → 8, 3×3', 2 * 32 * 26 * 26 * 8 * 9, (be) => be.conv2dForward(x, w, y, g, false), native));
    const g2: ConvGeometry = { n: 32, inH: 14, inW: 14, inC: 32, kH: 3, kW: 3, outC: 64, strideH: 1, strideW: 1, padTop: 1, padLeft: 1, outH: 14, outW: 14 };
    const x2 = randomArray(32 * 14 * 14 * 32, 1), w2 = randomArray(9 * 32 * 64, 2), y2 = new Float32Array(32 * 14 * 14 * 64);
    rows.push(bench('conv2d', '32×14×14×32 → 64, 3×3 same', 2 * 32 * 14 * 14 * 64 * 9 * 32, (be) => be.conv2dForward(x2, w2, y2, g2, false), native, 1));
  }

  const header = '| kernel | size | js ms | native ms | native/js | js GFLOP/s | native GFLOP/s |';
  console.log(`\n${header}\n|---|---|---:|---:|---:|---:|---:|`);
  for (const r of rows) {
    console.log(`| ${r.kernel} | ${r.size} | ${r.jsMs.toFixed(3)} | ${r.nativeMs.toFixed(4)} | ${r.ratio.toFixed(1)}× | ${r.jsGflops.toFixed(2)} | ${r.nativeGflops.toFixed(1)} |`);
  }
}

main();
