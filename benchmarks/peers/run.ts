// npm run bench:peers: layerwise against the engines a Node team would
// otherwise use, measured side by side in one run, one thread each:
//
//   1. training epochs vs PyTorch (CPU, SGD, batch 32) on the MLP, the small
//      CNN and the npm-start CNN: epoch-time ratio (torch_epochs.py);
//   2. inference vs onnxruntime-node on the same three networks exported with
//      layerwise's toOnnx(): batch-1000 throughput and single-sample latency;
//   3. ops.matmul 1024³ with the output allocated by the call vs numpy's a @ b,
//      and the GEMM kernel (output reused) vs OpenBLAS sgemm, as GFLOP/s and
//      % of the FMA peak this run measures;
//   4. the peak RSS of a full-data MLP fit (a child process of its own).
//
//   npx tsx benchmarks/peers/run.ts [--repeats N] [--budget S] [--readme] [--json out.json]
//       [--no-torch] [--js-peers] [--inference-only]
//
// --inference-only runs part 2 alone (a minute instead of many), --repeats
// times over, and prints each round's ratios with the load: the figures to
// quote while iterating on the predict path on a shared machine.
//
// --readme writes the one-run table into benchmarks/README.md (between the
// peers markers), with the date, the machine, its load and this command.
// --js-peers adds TensorFlow.js and ConvNetJS epochs on the two small networks
// (install them first: npm --prefix benchmarks/peers ci). Nothing is
// downloaded at run time: PyTorch and numpy are Debian's (python3-torch,
// python3-numpy with libopenblas0), onnxruntime-node comes from the lockfile.

import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { Tensor, getBackend, nativeInfo, ops, setNumThreads } from '../../lib/index.js';
import {
  BATCH_SIZE, DATA_DIR, LEARNING_RATE, MODEL_LABEL, MODELS,
  buildModel, fmt, inputShapeOf, loadDatasets, machineLine, markdownTable, median, timeLayerwiseEpoch,
  type Datasets, type ModelName,
} from '../epoch-common.js';
import { measurePeak, type Peak } from '../peak.js';
import { compareInference, onnxruntimeVersion, type InferenceResult } from './inference.js';
import { convnetPeer, loadTf, tfPeer, type Peer, type SmallModel } from './js-peers.js';

const PEERS_DIR = __dirname;
const ROOT = path.resolve(PEERS_DIR, '../..');
const PYTHON = '/usr/bin/python3';
const README = path.join(ROOT, 'benchmarks', 'README.md');
const README_BEGIN = '<!-- bench:peers table begin -->';
const README_END = '<!-- bench:peers table end -->';
const RSS_TARGET_MB = 350;
const GEMM_SIZES = [256, 512, 1024];

function log(msg: string): void {
  process.stderr.write(`${msg}\n`);
}

// ---- training epochs ----------------------------------------------------------

interface EpochRow { model: ModelName; layerwise: number[]; torch?: number[]; torchVersion?: string; torchAccuracy?: number; layerwiseAccuracy?: number }

async function layerwiseEpochs(data: Datasets, repeats: number): Promise<EpochRow[]> {
  const rows: EpochRow[] = MODELS.map((model) => ({ model, layerwise: [] }));
  for (let r = 0; r < repeats; r++) {
    for (const row of rows) {
      const t = await timeLayerwiseEpoch(row.model, data, { backend: 'native', threads: 1 });
      row.layerwise.push(t.epochSeconds);
      row.layerwiseAccuracy = t.testAccuracy;
      log(`  layerwise ${MODEL_LABEL[row.model]}, 1 thread: ${fmt.seconds(t.epochSeconds)} s/epoch, test accuracy ${fmt.percent(t.testAccuracy)}`);
    }
  }
  return rows;
}

function torchAvailable(): boolean {
  return spawnSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;
}

function torchEpochs(rows: EpochRow[], repeats: number): void {
  const out = spawnSync(PYTHON, [path.join(PEERS_DIR, 'torch_epochs.py'), '--threads', '1', '--repeats', String(repeats),
    '--data', DATA_DIR, '--models', MODELS.join(',')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 20 });
  if (out.status !== 0) throw new Error(`torch_epochs.py failed with status ${out.status}`);
  const report = JSON.parse(out.stdout.trim().split('\n').at(-1)!) as {
    torch: string; results: { model: ModelName; runs: number[]; testAccuracy: number }[];
  };
  for (const r of report.results) {
    const row = rows.find((x) => x.model === r.model)!;
    Object.assign(row, { torch: r.runs, torchVersion: report.torch, torchAccuracy: r.testAccuracy });
  }
}

// ---- matmul and GEMM ------------------------------------------------------------

interface GemmResult { fresh1024: number; reused: Record<number, number>; numpyFresh1024?: number; openblas: Record<number, number>; blas?: string; blasError?: string }

function random(size: number, seed: number): Float32Array {
  const a = new Float32Array(size);
  let s = seed;
  for (let i = 0; i < size; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    a[i] = s / 2 ** 32 - 0.5;
  }
  return a;
}

function gflopsOf(n: number, seconds: number): number {
  return (2 * n * n * n) / seconds / 1e9;
}

/** Median seconds of fn over about `seconds` (at least 3 calls, after a warm-up). */
function timeSync(fn: () => unknown, seconds: number): number {
  fn();
  const samples: number[] = [];
  const end = performance.now() + seconds * 1000;
  while (samples.length < 3 || performance.now() < end) {
    const t0 = performance.now();
    fn();
    samples.push((performance.now() - t0) / 1000);
  }
  return median(samples);
}

function gemms(budget: number): GemmResult {
  setNumThreads(1);
  const n = 1024;
  const a = new Tensor(random(n * n, 1), [n, n]), b = new Tensor(random(n * n, 2), [n, n]);
  const fresh1024 = gflopsOf(n, timeSync(() => ops.matmul(a, b), budget));
  const reused: Record<number, number> = {};
  for (const size of GEMM_SIZES) {
    const x = random(size * size, 3), y = random(size * size, 4), c = new Float32Array(size * size);
    const backend = getBackend();
    reused[size] = gflopsOf(size, timeSync(() => backend.matmul(x, y, c, size, size, size, false, false, false), budget));
  }
  const result: GemmResult = { fresh1024, reused, openblas: {} };
  const shapes = [
    { name: 'fresh1024', m: n, n, k: n, transA: false, transB: false, fresh: true },
    ...GEMM_SIZES.map((s) => ({ name: `sq${s}`, m: s, n: s, k: s, transA: false, transB: false })),
  ];
  const env: NodeJS.ProcessEnv = { ...process.env, OPENBLAS_NUM_THREADS: '1', OMP_NUM_THREADS: '1' };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  const py = spawnSync(PYTHON, [path.join(ROOT, 'benchmarks', 'gemm_openblas.py'), '--threads', '1', '--shapes', JSON.stringify(shapes), '--budget', String(budget)],
    { encoding: 'utf8', env, maxBuffer: 1 << 24 });
  if (py.status !== 0) {
    result.blasError = (py.stderr || String(py.error)).trim().split('\n').at(-1);
    return result;
  }
  const j = JSON.parse(py.stdout) as { library?: string; corename?: string; config?: string; results: Record<string, { rows: { name: string; gflops: number }[] }> };
  // numpy links whatever libblas.so.3 Debian's alternatives select: name it, since reference BLAS is ~50× slower than OpenBLAS.
  result.blas = j.library ? `${/OpenBLAS [\d.]+/.exec(j.config ?? '')?.[0] ?? path.basename(j.library)}${j.corename ? ` (${j.corename})` : ''}` : 'not OpenBLAS (numpy linked another libblas)';
  for (const row of j.results['1']?.rows ?? []) {
    if (row.name === 'fresh1024') result.numpyFresh1024 = row.gflops;
    else result.openblas[Number(row.name.slice(2))] = row.gflops;
  }
  return result;
}

// ---- peak RSS -------------------------------------------------------------------

function fitRss(): { maxRssMB: number; loadPeakMB?: number; fitPeakMB?: number; epochSeconds: number } | { error: string } {
  const r = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', path.join(PEERS_DIR, 'fit-rss.ts')], { encoding: 'utf8', cwd: ROOT, maxBuffer: 1 << 20 });
  if (r.status !== 0) return { error: (r.stderr || String(r.error)).trim().split('\n').at(-1) ?? 'failed' };
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!);
}

// ---- JS peers (optional) ----------------------------------------------------------

async function jsPeerEpochs(data: Datasets, probeBatches: number): Promise<string[][]> {
  const tf = loadTf();
  const rows: string[][] = [];
  const peers: Peer<SmallModel>[] = [tfPeer(tf, 'cpu', data), tfPeer(tf, 'wasm', data), convnetPeer(data)];
  for (const peer of peers) {
    for (const model of ['mlp', 'cnn'] as const) {
      let cell: string;
      try {
        const run = await peer.train(model, probeBatches);
        cell = fmt.seconds((run.seconds / run.batches) * Math.ceil(60000 / BATCH_SIZE));
      } catch (err) {
        cell = `not supported: ${(err instanceof Error ? err.message : String(err)).split('\n')[0]}`;
      }
      log(`  ${peer.framework}, ${peer.backend}, ${MODEL_LABEL[model]}: ${cell} s/epoch (extrapolated from ${probeBatches} batches)`);
      rows.push([MODEL_LABEL[model], `${peer.framework}, ${peer.backend}`, cell]);
    }
  }
  return rows;
}

// ---- the table ------------------------------------------------------------------

const ratio = (x: number) => `${x.toFixed(2)}×`;
const us = (x: number) => (x >= 100 ? x.toFixed(0) : x.toFixed(1));
const gf = (x: number) => x.toFixed(x >= 100 ? 0 : 1);

function table(epochs: EpochRow[], inference: Map<ModelName, InferenceResult>, g: GemmResult, rss: ReturnType<typeof fitRss>, peak: Peak): string {
  const rows: string[][] = [];
  const pctPeak = (x: number) => `${((100 * x) / peak.best[1]).toFixed(0)}% of peak`;
  for (const e of epochs) {
    const lw = median(e.layerwise);
    const torch = e.torch ? median(e.torch) : undefined;
    rows.push([`epoch, ${MODEL_LABEL[e.model]} (s)`, fmt.seconds(lw), torch === undefined ? '—' : `PyTorch ${fmt.seconds(torch)}`,
      torch === undefined ? '—' : ratio(lw / torch), '≤ 0.5× (time)']);
  }
  for (const [model, r] of inference) {
    rows.push([`predict batch 1000, ${MODEL_LABEL[model]} (samples/s)`, fmt.rate(r.layerwiseThroughput), `onnxruntime ${fmt.rate(r.ortThroughput)}`,
      ratio(r.throughputRatio), '≥ 1× (speed)']);
  }
  for (const [model, r] of inference) {
    rows.push([`single-sample latency, ${MODEL_LABEL[model]} (µs)`, us(r.layerwiseLatencyUs), `onnxruntime ${us(r.ortLatencyUs)}`,
      ratio(r.latencyRatio), '≤ 1× (time)']);
  }
  rows.push(['ops.matmul 1024³, output allocated by the call (GFLOP/s)', `${gf(g.fresh1024)} (${pctPeak(g.fresh1024)})`,
    g.numpyFresh1024 === undefined ? '—' : `numpy a @ b ${gf(g.numpyFresh1024)}`, g.numpyFresh1024 === undefined ? '—' : ratio(g.fresh1024 / g.numpyFresh1024), '≥ 0.9×']);
  for (const size of GEMM_SIZES) {
    const ob = g.openblas[size];
    rows.push([`GEMM kernel ${size}³, output reused (GFLOP/s)`, `${gf(g.reused[size])} (${pctPeak(g.reused[size])})`,
      ob === undefined ? '—' : `${g.blas?.startsWith('OpenBLAS') ? 'OpenBLAS' : 'numpy BLAS'} ${gf(ob)}`, ob === undefined ? '—' : ratio(g.reused[size] / ob), '≥ 0.9×']);
  }
  if ('error' in rss) rows.push(['peak RSS of a full-data MLP fit (MB)', `failed: ${rss.error}`, '—', '—', `≤ ${RSS_TARGET_MB} MB`]);
  else {
    // The whole process's peak comes while loadMnist decodes the data set; the fit's own peak is measured after a reset.
    const peakMB = Math.max(rss.maxRssMB, rss.loadPeakMB ?? 0);
    const fit = rss.fitPeakMB ?? peakMB;
    rows.push(['peak RSS of a full-data MLP fit (MB): during the fit / whole process incl. loading', `${fit.toFixed(0)} / ${peakMB.toFixed(0)}`, '—',
      fit <= RSS_TARGET_MB ? 'holds' : 'missed', `≤ ${RSS_TARGET_MB} MB`]);
  }
  return markdownTable(['what (one thread each)', 'layerwise', 'peer', 'layerwise ÷ peer', 'target'], rows, [false, true, true, true, false]);
}

function machineSummary(loadStart: number[], peak: Peak): string {
  let cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  try {
    const first = readFileSync('/proc/cpuinfo', 'utf8').split('\n\n')[0];
    const field = (name: string) => new RegExp(`^${name}\\s*:\\s*(.*)$`, 'm').exec(first)?.[1]?.trim();
    cpu = `${field('model name') ?? cpu} (family ${field('cpu family')}, model ${field('model')})`;
  } catch { /* not Linux */ }
  return `${cpu}, ${os.cpus().length} cores; load average ${loadStart.map((l) => l.toFixed(2)).join(' / ')} at start, ` +
    `${os.loadavg().map((l) => l.toFixed(2)).join(' / ')} at end; FMA peak ${peak.best[1]} GFLOP/s on 1 thread, ${peak.best[2]} on 2 (the better of a measurement at the start and one at the end; at the start: ${peak.source})`;
}

/** Part 2 alone, `repeats` rounds: one line per network and round, then each ratio's range. */
async function inferenceOnly(repeats: number, budget: number): Promise<void> {
  const restoreThreads = nativeInfo().threads;
  log(`layerwise vs onnxruntime-node ${onnxruntimeVersion()}, one thread — ${machineLine()}`);
  const ratios = new Map<ModelName, { throughput: number[]; latency: number[] }>();
  for (let round = 1; round <= repeats; round++) {
    for (const model of MODELS) {
      const net = buildModel(model);
      net.build(inputShapeOf(model));
      const r = await compareInference(net, inputShapeOf(model), budget);
      const seen = ratios.get(model) ?? { throughput: [], latency: [] };
      seen.throughput.push(r.throughputRatio);
      seen.latency.push(r.latencyRatio);
      ratios.set(model, seen);
      console.log(`round ${round} ${MODEL_LABEL[model]}: batch 1000 ${fmt.rate(r.layerwiseThroughput)} vs ${fmt.rate(r.ortThroughput)} samples/s ` +
        `(${r.throughputRatio.toFixed(2)}×); single sample ${us(r.layerwiseLatencyUs)} vs ${us(r.ortLatencyUs)} µs (${r.latencyRatio.toFixed(2)}×); ` +
        `load ${os.loadavg()[0].toFixed(2)}`);
    }
  }
  for (const [model, seen] of ratios) {
    const range = (v: number[]) => `${Math.min(...v).toFixed(2)}–${Math.max(...v).toFixed(2)}× (median ${median(v).toFixed(2)})`;
    console.log(`${MODEL_LABEL[model]}: throughput ratio ${range(seen.throughput)}; latency ratio ${range(seen.latency)}`);
  }
  setNumThreads(restoreThreads!);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      repeats: { type: 'string', default: '3' },
      budget: { type: 'string', default: '2' },
      readme: { type: 'boolean', default: false },
      json: { type: 'string' },
      'no-torch': { type: 'boolean', default: false },
      'js-peers': { type: 'boolean', default: false },
      'probe-batches': { type: 'string', default: '200' },
      'inference-only': { type: 'boolean', default: false },
    },
  });
  const repeats = Number(values.repeats), budget = Number(values.budget);
  if (!Number.isInteger(repeats) || repeats < 1) throw new RangeError(`--repeats must be a positive integer, got ${values.repeats}`);
  if (!(budget > 0)) throw new RangeError(`--budget must be a positive number of seconds, got ${values.budget}`);
  if (values['inference-only']) return inferenceOnly(repeats, budget);
  const started = new Date();
  const loadStart = os.loadavg();
  const restoreThreads = nativeInfo().threads;
  const t0 = performance.now();

  log('FMA peak…');
  const peak = measurePeak();
  const data = await loadDatasets();
  log(`layerwise vs peers — ${machineLine()}`);

  log('Training epochs, one thread, SGD batch 32…');
  const epochs = await layerwiseEpochs(data, repeats);
  let torchNote = '';
  if (values['no-torch']) torchNote = 'PyTorch skipped (--no-torch)';
  else if (!torchAvailable()) torchNote = `PyTorch skipped: ${PYTHON} cannot import torch (apt-get install python3-torch)`;
  else torchEpochs(epochs, repeats);
  if (torchNote) log(`  ${torchNote}`);

  log('Inference vs onnxruntime-node, one thread…');
  const inference = new Map<ModelName, InferenceResult>();
  for (const model of MODELS) {
    const net = buildModel(model);
    net.build(inputShapeOf(model));
    const r = await compareInference(net, inputShapeOf(model), budget);
    inference.set(model, r);
    log(`  ${MODEL_LABEL[model]}: batch 1000 ${fmt.rate(r.layerwiseThroughput)} vs ${fmt.rate(r.ortThroughput)} samples/s; ` +
      `single sample ${us(r.layerwiseLatencyUs)} vs ${us(r.ortLatencyUs)} µs; outputs differ by ≤ ${r.maxDifference.toExponential(1)}`);
  }

  log('matmul and GEMM vs numpy / OpenBLAS, one thread…');
  const g = gemms(Math.min(budget, 1));
  log('Peak RSS of a full-data MLP fit (child process)…');
  const rss = fitRss();

  // Other processes only lower a peak run: measure again at the end and keep the better of the two.
  const peakEnd = measurePeak();
  for (const t of [1, 2]) peak.best[t] = Math.max(peak.best[t], peakEnd.best[t]);
  const jsRows = values['js-peers'] ? await jsPeerEpochs(data, Number(values['probe-batches'])) : [];
  setNumThreads(restoreThreads!);

  const command = `npx tsx benchmarks/peers/run.ts ${process.argv.slice(2).join(' ')}`.trim();
  const torchVersion = epochs.find((e) => e.torchVersion)?.torchVersion;
  const lines = [
    `**${started.toISOString().slice(0, 16).replace('T', ' ')} UTC**, ${machineSummary(loadStart, peak)}.`,
    `Engines: layerwise native ${nativeInfo().isa}, 1 thread; PyTorch ${torchVersion ?? '—'} (CPU, 1 thread); onnxruntime-node ${onnxruntimeVersion()} (1 intra-op thread, layerwise's toOnnx() export); ` +
      `numpy BLAS: ${g.blas ?? g.blasError ?? '—'}. Epochs: SGD lr ${MODELS.map((m) => LEARNING_RATE[m]).join(' / ')}, batch ${BATCH_SIZE}, 60,000 images, median of ${repeats}.` +
      (torchNote ? ` ${torchNote}.` : ''),
    `Command: \`${command}\` (${((performance.now() - t0) / 1000).toFixed(0)} s).`,
    '',
    table(epochs, inference, g, rss, peak),
  ];
  if (jsRows.length) lines.push('', markdownTable(['network', 'JS peer', 's / epoch (extrapolated)'], jsRows, [false, false, true]));
  const text = lines.join('\n');
  console.log(`\n${text}\n`);

  if (values.readme) {
    const readme = readFileSync(README, 'utf8');
    const begin = readme.indexOf(README_BEGIN), end = readme.indexOf(README_END);
    if (begin < 0 || end < begin) throw new Error(`${README} has no ${README_BEGIN} … ${README_END} section`);
    writeFileSync(README, `${readme.slice(0, begin + README_BEGIN.length)}\n${text}\n${readme.slice(end)}`);
    log(`wrote the table into ${path.relative(process.cwd(), README)}`);
  }
  if (values.json) {
    writeFileSync(values.json, JSON.stringify({ benchmark: 'layerwise vs peers', date: started.toISOString(), machine: machineLine(), peak, epochs,
      inference: Object.fromEntries(inference), gemm: g, rss }, null, 2) + '\n');
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
