// npm run bench:threads: what a second thread buys on each benchmark network.
//
//   npx tsx benchmarks/threads.ts [--batches N] [--repeats N] [--models mlp,cnn,npm-start]
//
// For the MLP 784-128-10, the small CNN (conv3×3×8-pool-dense10) and the
// npm-start CNN (conv16-pool-conv32-pool-dense128, the fashion-mnist-cnn
// preset), the same training loop (SGD, batch 32, seed 1, the first N batches
// of a shuffled epoch) runs on the native backend with 1 and with 2 threads,
// alternating within each repeat, so load from other processes falls on both
// thread counts alike. The ratio of the two is the figure that matters; the
// seconds are scaled to a whole 60,000-image epoch. Wall-clock seconds on a
// shared machine are noisy: the table reports the median and every run, and
// the load average at the start and the end.

import * as os from 'node:os';
import { parseArgs } from 'node:util';
import { getPreset, nativeAvailable, nativeInfo, networkFromSpec, setBackend, setNumThreads, type Network } from '../lib/index.js';
import { BATCH_SIZE, DATA_DIR, SEED, buildCnn, buildMlp, fmt, loadDatasets, machineLine, markdownTable, median, type Datasets } from './epoch-common.js';

type Model = 'mlp' | 'cnn' | 'npm-start';
const LABEL: Record<Model, string> = {
  mlp: 'MLP 784-128-10',
  cnn: 'small CNN conv3×3×8-pool-dense10',
  'npm-start': 'npm-start CNN conv16-pool-conv32-pool-dense128',
};

function build(model: Model): Network {
  if (model === 'mlp') return buildMlp();
  if (model === 'cnn') return buildCnn();
  const preset = getPreset('fashion-mnist-cnn')!;
  return networkFromSpec({ ...preset.spec, seed: SEED });
}

async function epochSeconds(model: Model, data: Datasets, threads: number, batches: number): Promise<number> {
  const set = model === 'mlp' ? data.flat : data.images;
  const used = Math.min(batches * BATCH_SIZE, set.xTrain.shape[0]);
  setNumThreads(threads);
  const net = build(model);
  const history = await net.fit(set.xTrain.slice(0, used), set.yTrain.slice(0, used), {
    epochs: 1, batchSize: BATCH_SIZE, optimizer: 'sgd', learningRate: 0.01, shuffle: true, seed: SEED,
  });
  return (history.seconds[0] / Math.ceil(used / BATCH_SIZE)) * Math.ceil(set.xTrain.shape[0] / BATCH_SIZE);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      batches: { type: 'string', default: '400' },
      repeats: { type: 'string', default: '5' },
      models: { type: 'string', default: 'mlp,cnn,npm-start' },
      data: { type: 'string', default: DATA_DIR },
    },
  });
  const batches = Number(values.batches);
  const repeats = Number(values.repeats);
  const models = values.models.split(',') as Model[];
  for (const m of models) if (!(m in LABEL)) throw new RangeError(`unknown model '${m}' (mlp, cnn, npm-start)`);
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
      console.log(`  ${LABEL[model]}: 1 thread ${fmt.seconds(t[1])} s/epoch, 2 threads ${fmt.seconds(t[2])} s/epoch, ratio ${(t[1] / t[2]).toFixed(2)}`);
    }
    rows.push([LABEL[model], fmt.seconds(median(one)), fmt.seconds(median(two)), median(ratios).toFixed(2) + '×',
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
