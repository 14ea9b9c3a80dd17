// npm run bench:threads: what a second thread buys on each benchmark network.
//
//   npx tsx benchmarks/threads.ts [--batches N] [--repeats N] [--block N] [--models mlp,cnn,startCnn]
//
// bench:epochs times whole epochs of the three benchmark networks
// (epoch-common.ts) round-robin; this one is its quick paired form for
// iterating on the thread pool. Each repeat is one fit of N batches of a
// shuffled epoch whose thread count alternates between 1 and 2 every `block`
// batches, in the order 1 2 2 1 (so neither count always follows the other);
// every batch is timed from the end of the one before. On a machine shared
// with other work, load changes over seconds, and separate 1- and 2-thread
// runs of a few hundred milliseconds each met different loads (paired runs
// moved between 0.6× and 2.3× at load 1.5); blocks of a few milliseconds
// inside one fit meet the same load. The first block is a warm-up and not
// counted. Seconds are the mean batch time scaled to a whole 60,000-image
// epoch; the speed-up is the median over repeats of the per-fit ratio of
// mean batch times. The table lists every repeat's ratio and the load average
// at the start and the end.

import * as os from 'node:os';
import { parseArgs } from 'node:util';
import { nativeAvailable, nativeInfo, setBackend, setNumThreads } from '../lib/index.js';
import {
  BATCH_SIZE, DATA_DIR, LEARNING_RATE, MODELS, MODEL_LABEL, SEED, buildModel, datasetFor, fmt, loadDatasets, machineLine, markdownTable, median,
  type Datasets, type ModelName,
} from './epoch-common.js';

const ORDER = [1, 2, 2, 1];

/** Mean seconds per batch on 1 and on 2 threads over one fit whose thread count alternates every `block` batches. */
async function interleavedFit(model: ModelName, data: Datasets, batches: number, block: number): Promise<Record<1 | 2, number>> {
  const set = datasetFor(model, data);
  const net = buildModel(model);
  const times: Record<1 | 2, number[]> = { 1: [], 2: [] };
  const threadsOf = (batch: number) => ORDER[Math.floor(batch / block) % ORDER.length] as 1 | 2;
  let done = 0;
  let last = 0;
  setNumThreads(threadsOf(0));
  const used = Math.min(batches * BATCH_SIZE, set.xTrain.shape[0]);
  await net.fit(set.xTrain.view(0, used), set.yTrain.view(0, used), {
    epochs: 1, batchSize: BATCH_SIZE, optimizer: 'sgd', learningRate: LEARNING_RATE[model], shuffle: true, seed: SEED,
    callbacks: [{
      onEpochBegin: () => { last = performance.now(); },
      onBatchEnd: () => {
        const now = performance.now();
        if (done >= block) times[threadsOf(done)].push(now - last);
        done++;
        setNumThreads(threadsOf(done));
        last = performance.now();
      },
    }],
  });
  const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length / 1000;
  return { 1: mean(times[1]), 2: mean(times[2]) };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      batches: { type: 'string', default: '1200' },
      repeats: { type: 'string', default: '5' },
      block: { type: 'string', default: '8' },
      models: { type: 'string', default: MODELS.join(',') },
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

  const rows: string[][] = [];
  const batchesPerEpoch = Math.ceil(datasetFor('mlp', data).xTrain.shape[0] / BATCH_SIZE);
  for (const model of models) {
    const one: number[] = [];
    const two: number[] = [];
    const ratios: number[] = [];
    // One untimed warm-up fit: the first fit pays for JIT and page faults.
    await interleavedFit(model, data, 4 * block, block);
    for (let r = 0; r < repeats; r++) {
      const t = await interleavedFit(model, data, batches, block);
      one.push(t[1] * batchesPerEpoch);
      two.push(t[2] * batchesPerEpoch);
      ratios.push(t[1] / t[2]);
      console.log(`  ${MODEL_LABEL[model]}: 1 thread ${fmt.seconds(one[r])} s/epoch, 2 threads ${fmt.seconds(two[r])} s/epoch, ratio ${ratios[r].toFixed(2)} (load ${os.loadavg()[0].toFixed(2)})`);
    }
    rows.push([MODEL_LABEL[model], fmt.seconds(median(one)), fmt.seconds(median(two)), median(ratios).toFixed(2) + '×',
      ratios.map((x) => x.toFixed(2)).join(' ')]);
  }
  setNumThreads(restoreThreads);
  console.log('\n' + markdownTable(
    ['network', '1 thread, s/epoch (median)', '2 threads, s/epoch (median)', 'speed-up (median over fits)', 'per-fit ratios'],
    rows, [false, true, true, true, false],
  ));
  console.log(`\nload average (1 min) ${loadBefore.toFixed(2)} at the start, ${os.loadavg()[0].toFixed(2)} at the end, on ${os.cpus().length} cores`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
