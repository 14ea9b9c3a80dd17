// npm run bench: the kernel benchmark.
//
//   1. the machine: CPU, instruction-set variants, threads, node, commit, date;
//   2. GEMM: GFLOP/s of every native ISA variant on 1 thread, the best one on
//      2 threads, the JS backend, and OpenBLAS (numpy) as the reference line;
//   3. conv2d forward / backward-input / backward-filter on the CNN's shapes;
//   4. per-call overhead of the native binding, and the matmul size where
//      native starts beating JS.
//
// Results go to benchmarks/results/latest.json and latest.md; the markdown is
// printed on stdout, progress on stderr. `--quick` cuts the time budgets (a
// smoke run, not numbers to quote).
//
// Every time is the median of repeated runs inside a per-case time budget.
// The machines this runs on are small shared VMs, so each measurement also
// counts the CPU time other processes (and the hypervisor, as steal) took
// meanwhile; a disturbed one is re-run after a pause, and one still disturbed
// after the last try is kept but marked † in the tables.

import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { measurePeak } from './peak.js';
import { jsBackend, nativeAvailable, nativeBinding, nativeInfo, setBackend, getBackend } from '../lib/backends/index.js';
import type { Backend, ConvGeometry } from '../lib/backends/backend.js';
import { Rng } from '../lib/random.js';
import { alignedFloat32Array } from '../lib/aligned.js';

const QUICK = process.argv.includes('--quick');
const ROOT = path.resolve(__dirname, '..');
const RESULTS_DIR = path.join(__dirname, 'results');

/**
 * fp32 FMA peak in GFLOP/s by thread count, measured at start-up by the
 * addon's multiply-add loop (benchmarks/peak.ts).
 */
const PEAK: Record<number, number> = {};
let PEAK_SOURCE = '';

function log(msg: string): void {
  process.stderr.write(`${msg}\n`);
}

// Operands start on a 128-byte boundary, as the layers' weights and
// workspaces do (lib/aligned.ts): a product split by columns between the
// threads is then measured as training runs it, without a cache line shared
// at the seam of every row.
function randomArray(size: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  const a = alignedFloat32Array(size);
  for (let i = 0; i < size; i++) a[i] = rng.uniform(-1, 1);
  return a;
}

function sleep(seconds: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, seconds * 1000);
}

// ------------------------------------------------------------ noise detection

interface Ticks { busy: number; total: number; own: number }

/** CPU ticks from /proc: all CPUs busy / total, and this process (all threads, reaped children). */
function cpuTicks(): Ticks | undefined {
  try {
    const v = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1, 9).map(Number);
    const [user, nice, system, idle, iowait, irq, softirq, steal] = v;
    // Steal counts as busy: a hypervisor taking our vCPU disturbs a
    // measurement as much as another process does.
    const busy = user + nice + system + irq + softirq + steal;
    const self = fs.readFileSync('/proc/self/stat', 'utf8');
    const f = self.slice(self.lastIndexOf(')') + 2).split(' ').map(Number);
    // After the command name: state is field 3, so utime (14) … cstime (17) are f[11..14].
    return { busy, total: busy + idle + iowait, own: f[11] + f[12] + f[13] + f[14] };
  } catch {
    return undefined; // not Linux: no disturbance check
  }
}

/** Average number of CPUs other processes kept busy between two snapshots. */
function othersCores(a: Ticks | undefined, b: Ticks | undefined): number {
  if (!a || !b || b.total <= a.total) return 0;
  const ticksPerCpu = (b.total - a.total) / os.cpus().length;
  return Math.max(0, b.busy - a.busy - (b.own - a.own)) / ticksPerCpu;
}

/** Above this many CPUs used by others during a measurement, it is re-run. */
const DISTURBED_CORES = 0.25;
const MAX_ATTEMPTS = 3;
/** Pauses waiting for quiet stop once they add up to this (keeps the run bounded). */
let waitBudgetSeconds = QUICK ? 5 : 45;
const noise = { measurements: 0, rerun: 0, disturbed: 0, waitedSeconds: 0, othersCpuSeconds: 0, seconds: 0 };

interface Measurement { seconds: number; runs: number; othersCores: number; attempts: number; disturbed: boolean }

interface MeasureOptions {
  /** Seconds of timed runs to aim for (at least minRuns regardless). */
  budget: number;
  minRuns?: number;
  maxRuns?: number;
  /** If the warm-up run alone takes longer than this, time just one more run. */
  singleAbove?: number;
  /** Skip the warm-up run (for kernels so slow that one timed run is all we afford). */
  noWarmup?: boolean;
}

/** Median seconds of fn; re-run when other processes disturbed it (see top). */
function measure(fn: () => void, opts: MeasureOptions): Measurement {
  const { budget, maxRuns = 1_000_000 } = opts;
  let result: Measurement | undefined;
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    const w0 = performance.now();
    if (!opts.noWarmup) fn(); // warm-up: JIT, page faults, packing buffers, waking pool threads
    const warm = (performance.now() - w0) / 1000;
    const minRuns = opts.singleAbove !== undefined && warm > opts.singleAbove ? 1 : (opts.minRuns ?? 3);
    const samples: number[] = [];
    const before = cpuTicks();
    const start = performance.now();
    // The window is at least 0.2 s even for fast kernels: /proc/stat counts
    // in 10 ms ticks, so shorter windows cannot tell noise from rounding.
    const window = Math.max(budget, 0.2) * 1000;
    while (samples.length < minRuns || (performance.now() - start < window && samples.length < maxRuns)) {
      const t0 = performance.now();
      fn();
      samples.push((performance.now() - t0) / 1000);
    }
    const elapsed = (performance.now() - start) / 1000;
    const others = othersCores(before, cpuTicks());
    samples.sort((a, b) => a - b);
    const mid = samples.length >> 1;
    const median = samples.length % 2 ? samples[mid] : (samples[mid - 1] + samples[mid]) / 2;
    result = { seconds: median, runs: samples.length, othersCores: others, attempts: attempt, disturbed: others > DISTURBED_CORES };
    noise.othersCpuSeconds += others * elapsed;
    noise.seconds += elapsed;
    if (!result.disturbed || attempt === MAX_ATTEMPTS || waitBudgetSeconds <= 0) break;
    const pause = Math.min(waitBudgetSeconds, attempt);
    waitBudgetSeconds -= pause;
    noise.waitedSeconds += pause;
    noise.rerun++;
    sleep(pause);
  }
  noise.measurements++;
  if (result!.disturbed) noise.disturbed++;
  return result!;
}

/** ns per call of a very fast fn: batches of ≥ 2 ms of calls, median batch over ≥ 0.2 s. */
function perCallNs(fn: () => void, samples = 9): Measurement {
  let batch = 64;
  for (;;) {
    const t0 = performance.now();
    for (let i = 0; i < batch; i++) fn();
    if (performance.now() - t0 > 2 || batch >= 1 << 24) break;
    batch *= 2;
  }
  const m = measure(() => { for (let i = 0; i < batch; i++) fn(); }, { budget: QUICK ? 0.05 : 0.2, minRuns: samples });
  return { ...m, seconds: (m.seconds / batch) * 1e9 };
}

// ----------------------------------------------------------------- machine

interface Machine {
  date: string; commit: string; node: string; platform: string;
  cpuModel: string; cpuId: string; logicalCpus: number; cpuFlags: string[];
  isaDefault: string; isaSupported: string[]; threadsDefault: number; addon: string;
  loadAverage: number[]; peak: Record<number, number>; peakSource: string;
}

function machine(): Machine {
  let cpuModel = os.cpus()[0]?.model ?? 'unknown';
  let cpuId = '';
  let cpuFlags: string[] = [];
  try {
    const first = fs.readFileSync('/proc/cpuinfo', 'utf8').split('\n\n')[0];
    const field = (name: string) => new RegExp(`^${name}\\s*:\\s*(.*)$`, 'm').exec(first)?.[1]?.trim();
    cpuModel = field('model name') ?? cpuModel;
    cpuId = `family ${field('cpu family')}, model ${field('model')}, stepping ${field('stepping')}`;
    const flags = new Set((field('flags') ?? '').split(/\s+/));
    cpuFlags = ['sse4_2', 'avx2', 'fma', 'avx512f', 'avx512bw', 'avx512dq', 'avx512vl', 'avx512_vnni', 'avx512_bf16', 'hypervisor']
      .filter((f) => flags.has(f));
  } catch { /* not Linux */ }
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    // Numbers from a dirty tree are not the commit's numbers: say so.
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    if (dirty) commit += ' (+ uncommitted changes)';
  } catch { /* not a git checkout */ }
  const info = nativeInfo();
  return {
    date: new Date().toISOString(), commit, node: process.version, platform: `${process.platform}-${process.arch}`,
    cpuModel, cpuId, logicalCpus: os.cpus().length, cpuFlags,
    isaDefault: info.isa!, isaSupported: info.supportedIsas ?? [], threadsDefault: info.threads!, addon: path.relative(ROOT, info.path ?? ''),
    loadAverage: os.loadavg().map((x) => Math.round(x * 100) / 100), peak: PEAK, peakSource: PEAK_SOURCE,
  };
}

// -------------------------------------------------------------------- GEMM

interface GemmShape { name: string; label: string; m: number; n: number; k: number; transA: boolean; transB: boolean }

const GEMM_SHAPES: GemmShape[] = [
  ...[64, 128, 256, 512, 1024, 2048].filter((n) => !QUICK || n <= 1024).map((n) => ({
    name: `sq${n}`, label: `${n}×${n}·${n}×${n}`, m: n, n, k: n, transA: false, transB: false,
  })),
  // The MLP's Dense(784→128) at batch 32, as lib/layers/dense.ts calls it:
  // Y = X·W, dW = Xᵀ·dY (X stored [32,784]), dX = dY·Wᵀ (W stored [784,128]).
  { name: 'denseY', label: 'Y = X·W: 32×784·784×128', m: 32, n: 128, k: 784, transA: false, transB: false },
  { name: 'denseDW', label: 'dW = Xᵀ·dY: (32×784)ᵀ·32×128', m: 784, n: 128, k: 32, transA: true, transB: false },
  { name: 'denseDX', label: 'dX = dY·Wᵀ: 32×128·(784×128)ᵀ', m: 32, n: 784, k: 128, transA: false, transB: true },
];

interface GemmRow {
  shape: GemmShape; gflop: number;
  native1t: Record<string, Measurement & { gflops: number }>;
  best: string; native2t: Measurement & { gflops: number };
  js?: Measurement & { gflops: number }; jsNote?: string;
  openblas1t?: { gflops: number; disturbed: boolean }; openblas2t?: { gflops: number; disturbed: boolean };
}

interface OpenBlas { version?: string; corename?: string; numpy?: string; threadControl?: string; error?: string;
  rows: Record<string, Record<string, { gflops: number; disturbed: boolean }>> }

/** OpenBLAS via numpy (gemm_openblas.py), once per thread count; undefined without numpy. */
function openblas(shapes: GemmShape[]): OpenBlas | undefined {
  const python = '/usr/bin/python3';
  if (!fs.existsSync(python) || spawnSync(python, ['-c', 'import numpy'], { stdio: 'ignore' }).status !== 0) return undefined;
  const out: OpenBlas = { rows: {} };
  const env = { ...process.env };
  // Some machines set these to dodge bugs in old OpenBLAS builds; a forced
  // core type slows a current one, so unset them for this process only.
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  const spec = JSON.stringify(shapes.map(({ name, m, n, k, transA, transB }) => ({ name, m, n, k, transA, transB })));
  for (const t of [1, 2]) {
    log(`  OpenBLAS, ${t} thread(s)…`);
    const r = spawnSync(python, [path.join(__dirname, 'gemm_openblas.py'), '--threads', String(t), '--shapes', spec,
      '--budget', QUICK ? '0.1' : '0.25'], { env: { ...env, OPENBLAS_NUM_THREADS: String(t) }, encoding: 'utf8', maxBuffer: 1 << 24 });
    if (r.status !== 0) { out.error = (r.stderr || String(r.error)).trim().split('\n').at(-1); return out; }
    const j = JSON.parse(r.stdout);
    out.version = /OpenBLAS [\d.]+/.exec(j.config ?? '')?.[0] ?? path.basename(j.library ?? '');
    out.corename = j.corename; out.numpy = j.numpy; out.threadControl = j.threadControl;
    const res = j.results[String(t)];
    if (res?.threadsReported !== undefined && res.threadsReported !== null && res.threadsReported !== t) {
      out.error = `asked OpenBLAS for ${t} threads, it reports ${res.threadsReported}`;
    }
    for (const row of res?.rows ?? []) (out.rows[row.name] ??= {})[String(t)] = row;
  }
  return out;
}

function gemm(native: Backend, binding: ReturnType<typeof nativeBinding>, isas: string[], defaultIsa: string): GemmRow[] {
  const rows: GemmRow[] = [];
  const budget = QUICK ? 0.1 : 0.25;
  for (const s of GEMM_SHAPES) {
    log(`  GEMM ${s.label}`);
    const a = randomArray(s.m * s.k, 1), b = randomArray(s.k * s.n, 2), c = alignedFloat32Array(s.m * s.n);
    const run = (be: Backend) => () => be.matmul(a, b, c, s.m, s.n, s.k, s.transA, s.transB, false);
    const flop = 2 * s.m * s.n * s.k;
    const withGflops = (m: Measurement) => ({ ...m, gflops: flop / m.seconds / 1e9 });
    const native1t: GemmRow['native1t'] = {};
    binding.setNumThreads(1);
    for (const isa of isas) {
      binding.setIsa(isa);
      // The baseline variant is ~10× slower: at 2048 one run is >1 s.
      native1t[isa] = withGflops(measure(run(native), { budget, singleAbove: 1 }));
    }
    // The 2-thread run uses the fastest variant, but leaves the default one
    // only for a clear (> 5%) win, so noise alone never picks a worse one.
    const fastest = isas.reduce((x, y) => (native1t[y].gflops > native1t[x].gflops ? y : x));
    const dflt = isas.includes(defaultIsa) ? defaultIsa : fastest;
    const best = native1t[fastest].gflops > 1.05 * native1t[dflt].gflops ? fastest : dflt;
    binding.setIsa(best);
    binding.setNumThreads(2);
    const native2t = withGflops(measure(run(native), { budget }));
    const row: GemmRow = { shape: s, gflop: flop / 1e9, native1t, best, native2t };
    // JS runs at about 1 GFLOP/s: 1024³ is ~2–3 s a run, so time it once
    // (after a warm-up on the smaller sizes); 2048³ would take ~25 s: skipped.
    if (s.m >= 2048) row.jsNote = 'skipped (≈25 s a run)';
    else if (s.m >= 1024) {
      row.js = withGflops(measure(run(jsBackend), { budget: 0, minRuns: 1, maxRuns: 1, noWarmup: true }));
      row.jsNote = 'one run';
    } else row.js = withGflops(measure(run(jsBackend), { budget: QUICK ? 0.2 : 0.5, singleAbove: 1 }));
    rows.push(row);
  }
  return rows;
}

// ------------------------------------------------------------------ conv2d

interface ConvCase { label: string; g: ConvGeometry }

function convGeometry(n: number, h: number, w: number, c: number, k: number, outC: number, padding: 'valid' | 'same'): ConvGeometry {
  const pad = padding === 'same' ? (k - 1) >> 1 : 0;
  const outH = padding === 'same' ? h : h - k + 1, outW = padding === 'same' ? w : w - k + 1;
  return { n, inH: h, inW: w, inC: c, kH: k, kW: k, outC, strideH: 1, strideW: 1, padTop: pad, padLeft: pad, outH, outW };
}

const CONV_CASES: ConvCase[] = [
  { label: '28×28×1 → 8, 3×3 valid', g: convGeometry(32, 28, 28, 1, 3, 8, 'valid') },
  { label: '28×28×1 → 32, 3×3 same', g: convGeometry(32, 28, 28, 1, 3, 32, 'same') },
  { label: '14×14×32 → 64, 3×3 same', g: convGeometry(32, 14, 14, 32, 3, 64, 'same') },
];

type ConvPass = 'forward' | 'backward-input' | 'backward-filter';
interface ConvRow { label: string; pass: ConvPass; gflop: number; js: Measurement; native1t: Measurement; native2t: Measurement }

function conv(native: Backend, binding: ReturnType<typeof nativeBinding>): ConvRow[] {
  const rows: ConvRow[] = [];
  for (const { label, g } of CONV_CASES) {
    log(`  conv2d ${label}`);
    const x = randomArray(g.n * g.inH * g.inW * g.inC, 1);
    const w = randomArray(g.kH * g.kW * g.inC * g.outC, 2);
    const y = randomArray(g.n * g.outH * g.outW * g.outC, 3);
    const dx = alignedFloat32Array(x.length), dw = alignedFloat32Array(w.length);
    // Each pass is the same multiply-adds in another order: n·outH·outW·outC·kH·kW·inC.
    const flop = 2 * g.n * g.outH * g.outW * g.outC * g.kH * g.kW * g.inC;
    const passes: Record<ConvPass, (be: Backend) => () => void> = {
      forward: (be) => () => be.conv2dForward(x, w, y, g, false),
      'backward-input': (be) => () => be.conv2dBackwardInput(y, w, dx, g, false),
      'backward-filter': (be) => () => be.conv2dBackwardFilter(x, y, dw, g, false),
    };
    for (const pass of Object.keys(passes) as ConvPass[]) {
      binding.setNumThreads(1);
      const native1t = measure(passes[pass](native), { budget: QUICK ? 0.1 : 0.25 });
      binding.setNumThreads(2);
      const native2t = measure(passes[pass](native), { budget: QUICK ? 0.1 : 0.25 });
      // JS: fewer runs (the 32-channel layer is ~0.4 s a pass).
      const js = measure(passes[pass](jsBackend), { budget: QUICK ? 0.1 : 0.4, singleAbove: 1 });
      rows.push({ label, pass, gflop: flop / 1e9, js, native1t, native2t });
    }
  }
  return rows;
}

// -------------------------------------------------------- per-call overhead

interface Overhead {
  calls: { call: string; nativeNs: number; jsNs: number; bindingNs?: number }[];
  sweep: { n: number; nativeNs: number; jsNs: number }[];
  crossover: number | null;
}

function overhead(native: Backend, binding: ReturnType<typeof nativeBinding>, threads: number): Overhead {
  log('  per-call overhead');
  binding.setNumThreads(threads);
  const x4 = randomArray(4, 1), y4 = randomArray(4, 2);
  const a2 = randomArray(4, 3), b2 = randomArray(4, 4), c2 = new Float32Array(4);
  const calls: Overhead['calls'] = [
    {
      call: 'axpy, 4 floats',
      // Tiny alpha so y stays finite over millions of calls.
      nativeNs: perCallNs(() => native.axpy(1e-9, x4, y4)).seconds,
      jsNs: perCallNs(() => jsBackend.axpy(1e-9, x4, y4)).seconds,
      // The raw binding without the Backend wrapper: what the wrapper itself costs.
      bindingNs: perCallNs(() => binding.axpy(1e-9, x4, y4)).seconds,
    },
    {
      call: 'matmul 2×2·2×2',
      nativeNs: perCallNs(() => native.matmul(a2, b2, c2, 2, 2, 2, false, false, false)).seconds,
      jsNs: perCallNs(() => jsBackend.matmul(a2, b2, c2, 2, 2, 2, false, false, false)).seconds,
      bindingNs: perCallNs(() => binding.matmul(a2, b2, c2, 2, 2, 2, false, false, false, 1)).seconds,
    },
  ];
  log('  matmul crossover sweep n = 1…32');
  const sweep: Overhead['sweep'] = [];
  for (let n = 1; n <= 32; n++) {
    const a = randomArray(n * n, 5), b = randomArray(n * n, 6), c = new Float32Array(n * n);
    const samples = QUICK ? 5 : 9;
    sweep.push({
      n,
      nativeNs: perCallNs(() => native.matmul(a, b, c, n, n, n, false, false, false), samples).seconds,
      jsNs: perCallNs(() => jsBackend.matmul(a, b, c, n, n, n, false, false, false), samples).seconds,
    });
  }
  // The crossover: the smallest n from which native is faster at every
  // larger n of the sweep (one noisy point below it does not count).
  let crossover: number | null = null;
  for (let i = sweep.length - 1; i >= 0 && sweep[i].nativeNs < sweep[i].jsNs; i--) crossover = sweep[i].n;
  return { calls, sweep, crossover };
}

// ---------------------------------------------------------------- report

const f1 = (x: number) => (x >= 100 ? x.toFixed(0) : x.toFixed(1));
const f2 = (x: number) => (x >= 10 ? x.toFixed(1) : x.toFixed(2));
const pct = (x: number) => `${(x * 100).toFixed(0)}%`;
const mark = (m: { disturbed: boolean }) => (m.disturbed ? '†' : '');
const ms = (s: number) => (s >= 0.1 ? (s * 1e3).toFixed(0) : s >= 0.01 ? (s * 1e3).toFixed(1) : (s * 1e3).toFixed(2));

function markdown(mc: Machine, isas: string[], g: GemmRow[], ob: OpenBlas | undefined, cv: ConvRow[], oh: Overhead): string {
  const L: string[] = [];
  L.push(`## Kernel benchmark — ${mc.date.slice(0, 10)}`, '');
  L.push(`- **commit** ${mc.commit}; node ${mc.node} (${mc.platform}); ${mc.date}`);
  L.push(`- **CPU** ${mc.cpuModel}${mc.cpuId ? ` (${mc.cpuId})` : ''}, ${mc.logicalCpus} logical CPUs; flags: ${mc.cpuFlags.join(' ') || '?'}`);
  L.push(`- **native** addon ${mc.addon}: ISA variant in use ${mc.isaDefault} (supported: ${mc.isaSupported.join(', ')}), ${mc.threadsDefault} threads by default`);
  L.push(`- **peak** fp32 FMA ${PEAK[1]} GFLOP/s on 1 core, ${PEAK[2]} on 2: ${mc.peakSource}`);
  if (!ob) L.push('- **OpenBLAS**: not measured (no /usr/bin/python3 with numpy)');
  else if (ob.error && !ob.corename) L.push(`- **OpenBLAS**: failed: ${ob.error}`);
  else L.push(`- **OpenBLAS** ${ob.version}, core type **${ob.corename}**, via numpy ${ob.numpy} (OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE unset for it; threads set with ${ob.threadControl})${ob.error ? `; warning: ${ob.error}` : ''}`);
  L.push(`- **noise** load average at start ${mc.loadAverage.join(' / ')}; other processes used ${(noise.othersCpuSeconds / Math.max(noise.seconds, 1e-9)).toFixed(2)} CPUs on average while we measured; ` +
    `${noise.rerun} re-runs of disturbed measurements (${noise.waitedSeconds.toFixed(0)} s waited), ${noise.disturbed} of ${noise.measurements} still disturbed (marked †)`);
  L.push('');

  L.push('### GEMM, GFLOP/s (median)', '');
  L.push('1t / 2t: native threads. The 2t run uses the default variant unless another was > 5% faster on 1 thread (named in brackets); 2t/1t compares it with the same variant on 1t. ' +
    '% peak is of the peak above. JS is single-threaded; native/JS compares it with that variant on 1t.', '');
  L.push(`| C = op(A)·op(B) | ${isas.map((i) => `${i} 1t`).join(' | ')} | best 2t | 2t/1t | % peak 1t / 2t | JS | native/JS | OpenBLAS 1t / 2t | % of OpenBLAS 1t / 2t |`);
  L.push(`|---|${isas.map(() => '---:').join('|')}|---:|---:|---:|---:|---:|---:|---:|`);
  for (const r of g) {
    const b1 = r.native1t[r.best];
    const o1 = ob?.rows[r.shape.name]?.['1'], o2 = ob?.rows[r.shape.name]?.['2'];
    L.push(`| ${r.shape.label} | ${isas.map((i) => `${f1(r.native1t[i].gflops)}${mark(r.native1t[i])}`).join(' | ')} ` +
      `| ${f1(r.native2t.gflops)}${mark(r.native2t)} (${r.best}) | ${(r.native2t.gflops / b1.gflops).toFixed(2)} ` +
      `| ${pct(b1.gflops / PEAK[1])} / ${pct(r.native2t.gflops / PEAK[2])} ` +
      `| ${r.js ? f2(r.js.gflops) + mark(r.js) + (r.jsNote ? ` (${r.jsNote})` : '') : (r.jsNote ?? '—')} ` +
      `| ${r.js ? `${(b1.gflops / r.js.gflops).toFixed(0)}×` : '—'} ` +
      `| ${o1 ? `${f1(o1.gflops)}${mark(o1)}` : '—'} / ${o2 ? `${f1(o2.gflops)}${mark(o2)}` : '—'} ` +
      `| ${o1 ? pct(b1.gflops / o1.gflops) : '—'} / ${o2 ? pct(r.native2t.gflops / o2.gflops) : '—'} |`);
  }
  // Say so where a 2t/1t comparison is not what it looks like.
  const obSlower2t = g.filter((r) => { const o = ob?.rows[r.shape.name]; return o?.['1'] && o['2'] && o['2'].gflops < o['1'].gflops; });
  if (obSlower2t.length) {
    L.push('', `OpenBLAS on 2 threads was slower than on 1 for ${obSlower2t.map((r) => r.shape.label).join('; ')}: ` +
      'its own threading overhead on small products, so "% of OpenBLAS 2t" flatters us there; compare 1t.');
  }
  const noScaling = g.filter((r) => r.native2t.gflops < 1.1 * r.native1t[r.best].gflops);
  if (noScaling.length) {
    L.push('', `Native on 2 threads gained < 10% for ${noScaling.map((r) => r.shape.label).join('; ')}` +
      ' (too small to split, or the second core was busy).');
  }
  L.push('');

  L.push('### conv2d, batch 32, NHWC (median)', '');
  L.push('| layer | pass | GFLOP | JS ms | native 1t ms | native 2t ms | JS GFLOP/s | native 1t / 2t GFLOP/s | % peak 1t / 2t | native 1t/JS |');
  L.push('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of cv) {
    L.push(`| ${r.label} | ${r.pass} | ${r.gflop.toFixed(3)} | ${ms(r.js.seconds)}${mark(r.js)}${r.js.runs === 1 ? ' (1 run)' : ''} ` +
      `| ${ms(r.native1t.seconds)}${mark(r.native1t)} | ${ms(r.native2t.seconds)}${mark(r.native2t)} ` +
      `| ${f2(r.gflop / r.js.seconds)} | ${f1(r.gflop / r.native1t.seconds)} / ${f1(r.gflop / r.native2t.seconds)} ` +
      `| ${pct(r.gflop / r.native1t.seconds / PEAK[1])} / ${pct(r.gflop / r.native2t.seconds / PEAK[2])} ` +
      `| ${(r.js.seconds / r.native1t.seconds).toFixed(0)}× |`);
  }
  L.push('');

  L.push(`### Per-call overhead (${mc.threadsDefault} threads, the default), ns per call`, '');
  L.push('| call | native backend | raw binding | JS backend |');
  L.push('|---|---:|---:|---:|');
  for (const c of oh.calls) L.push(`| ${c.call} | ${c.nativeNs.toFixed(0)} | ${c.bindingNs?.toFixed(0) ?? '—'} | ${c.jsNs.toFixed(0)} |`);
  L.push('');
  L.push(`Square matmul n×n·n×n, n = 1…32: native is faster than JS from **n = ${oh.crossover ?? '> 32'}** on` +
    `${oh.crossover !== null ? ` (and at every larger n of the sweep)` : ''}.`, '');
  const pick = oh.sweep.filter((s) => [1, 2, 3, 4, 6, 8, 12, 16, 24, 32].includes(s.n));
  L.push(`| n | ${pick.map((s) => s.n).join(' | ')} |`);
  L.push(`|---|${pick.map(() => '---:').join('|')}|`);
  L.push(`| native ns | ${pick.map((s) => s.nativeNs.toFixed(0)).join(' | ')} |`);
  L.push(`| JS ns | ${pick.map((s) => s.jsNs.toFixed(0)).join(' | ')} |`);
  L.push(`| JS / native | ${pick.map((s) => (s.jsNs / s.nativeNs).toFixed(2)).join(' | ')} |`);
  return L.join('\n');
}

// ------------------------------------------------------------------ main

function main(): void {
  if (!nativeAvailable()) {
    console.error(`native addon unavailable: ${nativeInfo().error}`);
    process.exit(1);
  }
  const t0 = performance.now();
  setBackend('native');
  const native = getBackend();
  const binding = nativeBinding();
  log('  FMA peak…');
  const peak = measurePeak();
  Object.assign(PEAK, peak.best);
  PEAK_SOURCE = peak.source;
  const mc = machine();
  const isas = mc.isaSupported;
  log(`layerwise kernel benchmark${QUICK ? ' (--quick)' : ''}: ${mc.cpuModel}, ISA ${mc.isaDefault} of ${isas.join('/')}, ${mc.threadsDefault} threads, commit ${mc.commit}`);

  let g: GemmRow[], cv: ConvRow[], oh: Overhead;
  try {
    g = gemm(native, binding, isas, mc.isaDefault);
    binding.setIsa(mc.isaDefault);
    cv = conv(native, binding);
    oh = overhead(native, binding, mc.threadsDefault);
  } finally {
    // Leave the process as we found it (ISA variant and thread count).
    binding.setIsa(mc.isaDefault);
    binding.setNumThreads(mc.threadsDefault);
  }
  // OpenBLAS last: a separate process, and the Node side idles meanwhile.
  const ob = openblas(GEMM_SHAPES);
  for (const r of g) {
    const o = ob?.rows[r.shape.name];
    if (o) { r.openblas1t = o['1']; r.openblas2t = o['2']; }
  }
  const md = markdown(mc, isas, g, ob, cv, oh);
  fs.mkdirSync(RESULTS_DIR, { recursive: true });
  const seconds = (performance.now() - t0) / 1000;
  fs.writeFileSync(path.join(RESULTS_DIR, 'latest.json'),
    `${JSON.stringify({ machine: mc, quick: QUICK, seconds, noise, gemm: g, openblas: ob, conv: cv, overhead: oh }, null, 2)}\n`);
  fs.writeFileSync(path.join(RESULTS_DIR, 'latest.md'), `${md}\n`);
  console.log(md);
  log(`\n(${seconds.toFixed(0)} s; results in ${path.relative(process.cwd(), RESULTS_DIR)}/latest.{json,md})`);
}

main();
