// npm run bench:threads: what a second thread buys on each benchmark network.
//
//   npx tsx benchmarks/threads.ts [--batches N] [--repeats N] [--models mlp,cnn,startCnn]
//
// bench:epochs times whole epochs of the three benchmark networks
// (epoch-common.ts) round-robin; this one is its quick paired form for
// iterating on the thread pool: the first N batches of a shuffled epoch, on 1
// and on 2 threads back to back in alternating order, so a burst of load from
// another process falls on both thread counts of a pair alike, and the
// speed-up is the median of the per-pair ratios. Seconds are scaled to a
// whole 60,000-image epoch. Wall-clock seconds on a shared machine are noisy:
// the table lists every pair and the load average at the start and the end.

import * as os from 'node:os';
import { parseArgs } from 'node:util';
import { nativeAvailable, nativeInfo, setBackend, setNumThreads } from '../lib/index.js';
import {
  BATCH_SIZE, DATA_DIR, MODELS, MODEL_LABEL, fmt, loadDatasets, machineLine, markdownTable, median, timeLayerwiseEpoch,
  type Datasets, type ModelName,
} from './epoch-common.js';

async function epochSeconds(model: ModelName, data: Datasets, threads: number, batches: number): Promise<number> {
  return (await timeLayerwiseEpoch(model, data, { backend: 'native', threads }, batches)).epochSeconds;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      batches: { type: 'string', default: '400' },
      repeats: { type: 'string', default: '5' },
      models: { type: 'string', default: MODELS.join(',') },
      data: { type: 'string', default: DATA_DIR },
    },
  });
  const batches = Number(values.batches);
  const repeats = Number(values.repeats);
  const models = values.models.split(',') as ModelName[];
  for (const m of models) if (!MODELS.includes(m)) throw new RangeError(`unknown model '${m}' (${MODELS.join(', ')})`);
  if (!nativeAvailable()) throw new Error(`the native addon does not load (${nativeInfo().error})`);
  setBackend('native');
  const data = await loadDatasets(values.data);
  const loadBefore = os.loadavg()[0];
  console.log(`layerwise threads benchmark — ${machineLine()}`);
  console.log(`${batches} batches of ${BATCH_SIZE} per run, scaled to an epoch; ${repeats} repeats, 1 and 2 threads alternating\n`);

  const rows: string[][] = [];
  for (const model of models) {
    const one: number[] = [];
    const two: number[] = [];
    const ratios: number[] = [];
    // One untimed warm-up per thread count: the first fit pays for JIT and page faults.
    await epochSeconds(model, data, 1, 20);
    await epochSeconds(model, data, 2, 20);
    for (let r = 0; r < repeats; r++) {
      // Swap the order every repeat so neither count always runs right after the other.
      const order = r % 2 === 0 ? [1, 2] : [2, 1];
      const t: Record<number, number> = {};
      for (const threads of order) t[threads] = await epochSeconds(model, data, threads, batches);
      one.push(t[1]);
      two.push(t[2]);
      ratios.push(t[1] / t[2]);
      console.log(`  ${MODEL_LABEL[model]}: 1 thread ${fmt.seconds(t[1])} s/epoch, 2 threads ${fmt.seconds(t[2])} s/epoch, ratio ${(t[1] / t[2]).toFixed(2)}`);
    }
    rows.push([MODEL_LABEL[model], fmt.seconds(median(one)), fmt.seconds(median(two)), median(ratios).toFixed(2) + '×',
      ratios.map((x) => x.toFixed(2)).join(' ')]);
  }
  setNumThreads(0);
  console.log('\n' + markdownTable(
    ['network', '1 thread, s/epoch (median)', '2 threads, s/epoch (median)', 'speed-up (median of paired runs)', 'paired ratios'],
    rows, [false, true, true, true, false],
  ));
  console.log(`\nload average (1 min) ${loadBefore.toFixed(2)} at the start, ${os.loadavg()[0].toFixed(2)} at the end, on ${os.cpus().length} cores`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
