// npm run bench:threads: what a second thread buys on each benchmark network.
//
//   npx tsx benchmarks/threads.ts [--batches N] [--repeats N] [--block N (32)] [--models mlp,cnn,startCnn] [--control]
//
// bench:epochs times whole epochs of the three benchmark networks
// (epoch-common.ts) round-robin; this one is its quick paired form for
// iterating on the thread pool. Each repeat is one fit of N batches of a
// shuffled epoch whose thread count alternates between 1 and 2 every `block`
// batches, in the order 1 2 2 1 (so neither count always follows the other);
// every batch is timed from the end of the one before. Blocks of 32 batches
// (5–100 ms): with blocks of 8, every 2-thread block began with the helper
// parked during the 1-thread block before it (its wake-up takes 20–100 µs on
// this VM), a cost a real 2-thread fit does not pay each few steps. On a machine shared
// with other work, load changes over seconds, and separate 1- and 2-thread
// runs of a few hundred milliseconds each met different loads (paired runs
// moved between 0.6× and 2.3× at load 1.5); blocks of a few milliseconds
// inside one fit meet the same load. The first block is a warm-up and not
// counted. Seconds are the mean batch time scaled to a whole 60,000-image
// epoch; the speed-up is the median over repeats of the per-fit ratio of
// mean batch times. The table lists every repeat's ratio and the load average
// at the start and the end.
//
// Even inside one fit, other processes take a core now and then, and a block
// that ran with only one core free says nothing about two threads (the pool
// then runs on the caller alone, by design, so both counts measure one core).
// Linux counts each thread's time spent runnable but waiting for a core
// (/proc/self/task/<tid>/schedstat); summed over the threads that run kernels
// (the main thread and the pool's helpers, named layerwise-pool) and taken at
// every block boundary, it marks a block disturbed when that wait exceeds
// DISTURBED_SHARE of the block's time. The second speed-up column is the same
// ratio over undisturbed blocks only (what two free cores give), with the
// share of blocks kept; the pool's back-off after a disturbed block may still
// run the next blocks on one thread, which only pulls that figure down.
//
// --control runs the "2 thread" blocks on one thread too: the ratios then
// show how far the load alone moves the measurement (an A/A test). At load
// 3.8 on 2 cores they spread 0.90–1.25 over all blocks and 0.97–1.03 over
// undisturbed ones (MLP and small CNN, 5 fits each, blocks of 8).

import { readFileSync, readdirSync } from 'node:fs';
import * as os from 'node:os';
import { parseArgs } from 'node:util';
import { nativeAvailable, nativeInfo, setBackend, setNumThreads } from '../lib/index.js';
import {
  BATCH_SIZE, DATA_DIR, LEARNING_RATE, MODELS, MODEL_LABEL, SEED, buildModel, datasetFor, fmt, loadDatasets, machineLine, markdownTable, median,
  type Datasets, type ModelName,
} from './epoch-common.js';
import { addPoolStats, describePoolStats, poolStats } from './pool-stats.js';

const ORDER = [1, 2, 2, 1];
const WARM_UP_BATCHES = 300;
/** A block whose kernel threads waited for a core longer than this share of its time is disturbed. */
const DISTURBED_SHARE = 0.05;
/** Fewest undisturbed blocks of each thread count for a fit's undisturbed ratio. */
const MIN_QUIET_BLOCKS = 4;

/** Which task ids run kernels (the main thread, and pool helpers by name), cached per id. */
const kernelThread = new Map<string, boolean>();

/** Milliseconds the main thread and the pool's helpers have waited on a run queue in total, or undefined off Linux. */
function kernelThreadsWaitMs(): number | undefined {
  let tids: string[];
  try {
    tids = readdirSync('/proc/self/task');
  } catch {
    return undefined;
  }
  let waitNs = 0;
  for (const tid of tids) {
    try {
      let runsKernels = kernelThread.get(tid);
      if (runsKernels === undefined) {
        runsKernels = tid === String(process.pid) || readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim() === 'layerwise-pool';
        kernelThread.set(tid, runsKernels);
      }
      if (runsKernels) waitNs += Number(readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8').split(' ')[1]);
    } catch {
      // A thread that ended between the listing and the read waits no more.
    }
  }
  return waitNs / 1e6;
}

interface Block { threads: 1 | 2; batchMs: number[]; waitMs?: number }

interface FitTimes {
  /** Mean seconds per batch on 1 and on 2 threads over every counted block. */
  all: Record<1 | 2, number>;
  /** The same over undisturbed blocks, when each count has enough of them. */
  quiet?: Record<1 | 2, number>;
  quietBlocks: number;
  blocks: number;
}

/** One fit whose thread count alternates every `block` batches, timed per batch and per block. */
async function interleavedFit(model: ModelName, data: Datasets, batches: number, block: number, control = false): Promise<FitTimes> {
  const set = datasetFor(model, data);
  const net = buildModel(model);
  const threadsOf = (batch: number) => ORDER[Math.floor(batch / block) % ORDER.length] as 1 | 2;
  const threadsToRun = (batch: number) => (control ? 1 : threadsOf(batch));
  const blocks: Block[] = [];
  let current: Block | undefined;
  let waitAtBlockStart: number | undefined;
  let done = 0;
  let last = 0;
  setNumThreads(threadsToRun(0));
  const used = Math.min(batches * BATCH_SIZE, set.xTrain.shape[0]);
  await net.fit(set.xTrain.view(0, used), set.yTrain.view(0, used), {
    epochs: 1, batchSize: BATCH_SIZE, optimizer: 'sgd', learningRate: LEARNING_RATE[model], shuffle: true, seed: SEED,
    callbacks: [{
      onEpochBegin: () => { last = performance.now(); },
      onBatchEnd: () => {
        const now = performance.now();
        if (done >= block) {
          current ??= { threads: threadsOf(done), batchMs: [] };
          current.batchMs.push(now - last);
        }
        done++;
        if (done % block === 0) {
          // Block boundary: close the block with its threads' run-queue wait.
          const wait = kernelThreadsWaitMs();
          if (current) {
            if (wait !== undefined && waitAtBlockStart !== undefined) current.waitMs = wait - waitAtBlockStart;
            blocks.push(current);
            current = undefined;
          }
          waitAtBlockStart = wait;
          setNumThreads(threadsToRun(done));
        }
        last = performance.now();
      },
    }],
  });
  if (current) blocks.push(current);
  const meanBatch = (chosen: Block[], threads: 1 | 2) => {
    const ms = chosen.filter((b) => b.threads === threads).flatMap((b) => b.batchMs);
    return ms.reduce((s, v) => s + v, 0) / ms.length / 1000;
  };
  const quiet = blocks.filter((b) => b.waitMs !== undefined && b.waitMs <= DISTURBED_SHARE * b.batchMs.reduce((s, v) => s + v, 0));
  const enough = ([1, 2] as const).every((t) => quiet.filter((b) => b.threads === t).length >= MIN_QUIET_BLOCKS);
  return {
    all: { 1: meanBatch(blocks, 1), 2: meanBatch(blocks, 2) },
    quiet: enough ? { 1: meanBatch(quiet, 1), 2: meanBatch(quiet, 2) } : undefined,
    quietBlocks: quiet.length,
    blocks: blocks.length,
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      batches: { type: 'string', default: '1280' },
      repeats: { type: 'string', default: '5' },
      block: { type: 'string', default: '32' },
      models: { type: 'string', default: MODELS.join(',') },
      control: { type: 'boolean', default: false },
      data: { type: 'string', default: DATA_DIR },
    },
  });
  const batches = Number(values.batches);
  const repeats = Number(values.repeats);
  const block = Number(values.block);
  const models = values.models.split(',') as ModelName[];
  for (const m of models) if (!MODELS.includes(m)) throw new RangeError(`unknown model '${m}' (${MODELS.join(', ')})`);
  if (!(Number.isInteger(block) && block >= 1 && batches >= 2 * block)) throw new RangeError('expected --block ≥ 1 and --batches ≥ 2 blocks');
  if (!nativeAvailable()) throw new Error(`the native addon does not load (${nativeInfo().error})`);
  setBackend('native');
  const restoreThreads = nativeInfo().threads!;
  const data = await loadDatasets(values.data);
  const loadBefore = os.loadavg()[0];
  console.log(`layerwise threads benchmark — ${machineLine()}`);
  console.log(`${batches} batches of ${BATCH_SIZE} per fit, threads alternating 1 2 2 1 every ${block} batches; ${repeats} fits per network\n`);
  if (values.control) console.log('CONTROL RUN: the "2 threads" blocks run on one thread too; the ratios show the measurement\'s spread at this load\n');

  const rows: string[][] = [];
  const batchesPerEpoch = Math.ceil(datasetFor('mlp', data).xTrain.shape[0] / BATCH_SIZE);
  for (const model of models) {
    const one: number[] = [];
    const two: number[] = [];
    const ratios: number[] = [];
    const quietRatios: number[] = [];
    let quietBlocks = 0, blocks = 0;
    // One untimed warm-up fit: the first fits of a process pay for JIT
    // compilation and page faults, and V8's background threads (TurboFan,
    // concurrent marking) then take a core for tens of milliseconds.
    await interleavedFit(model, data, Math.max(WARM_UP_BATCHES, 4 * block), block);
    const poolBefore = poolStats();
    for (let r = 0; r < repeats; r++) {
      const t = await interleavedFit(model, data, batches, block, values.control);
      one.push(t.all[1] * batchesPerEpoch);
      two.push(t.all[2] * batchesPerEpoch);
      ratios.push(t.all[1] / t.all[2]);
      if (t.quiet) quietRatios.push(t.quiet[1] / t.quiet[2]);
      quietBlocks += t.quietBlocks;
      blocks += t.blocks;
      const quietText = t.quiet ? `, undisturbed blocks ${(t.quiet[1] / t.quiet[2]).toFixed(2)}` : '';
      console.log(`  ${MODEL_LABEL[model]}: 1 thread ${fmt.seconds(one[r])} s/epoch, 2 threads ${fmt.seconds(two[r])} s/epoch, ratio ${ratios[r].toFixed(2)}${quietText} (${t.quietBlocks}/${t.blocks} blocks undisturbed, load ${os.loadavg()[0].toFixed(2)})`);
    }
    console.log(`  ${MODEL_LABEL[model]}, its 2-thread blocks: ${describePoolStats(addPoolStats(undefined, poolStats(), poolBefore))}`);
    rows.push([MODEL_LABEL[model], fmt.seconds(median(one)), fmt.seconds(median(two)), median(ratios).toFixed(2) + '×',
      ratios.map((x) => x.toFixed(2)).join(' '),
      quietRatios.length > 0 ? median(quietRatios).toFixed(2) + '×' : '–',
      quietRatios.map((x) => x.toFixed(2)).join(' ') || '–',
      `${Math.round((100 * quietBlocks) / Math.max(1, blocks))}%`]);
  }
  setNumThreads(restoreThreads);
  console.log('\n' + markdownTable(
    ['network', '1 thread, s/epoch (median)', '2 threads, s/epoch (median)', 'speed-up (median over fits)', 'per-fit ratios',
      'undisturbed blocks: speed-up (median)', 'per-fit ratios', 'blocks undisturbed'],
    rows, [false, true, true, true, false, true, false, true],
  ));
  console.log(`\nload average (1 min) ${loadBefore.toFixed(2)} at the start, ${os.loadavg()[0].toFixed(2)} at the end, on ${os.cpus().length} cores`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
