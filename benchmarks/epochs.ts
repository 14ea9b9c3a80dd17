// npm run bench:epochs: seconds per training epoch of two small Fashion-MNIST
// models on each layerwise backend, with test accuracy after the epoch.
//
//   npx tsx benchmarks/epochs.ts [--full] [--repeats N] [--js-batches N] [--json out.json]
//
// Models (benchmarks/epoch-common.ts): MLP 784-128-10 ReLU and CNN conv 3×3×8
// ReLU → max-pool 2×2 → dense 10, both softmax + cross-entropy, plain SGD
// lr 0.1, batch 32, shuffled, on the 60,000 training images.
//
// Native runs are whole epochs; the js backend is ~30–50× slower, so by
// default it runs the first --js-batches batches (200) and the time is scaled
// to the 1875 batches of an epoch (marked "extrapolated"). --full also runs one
// whole js epoch of each model and checks its test accuracy against native's.
//
// Every configuration runs --repeats times (default 3) round-robin, so a burst
// of load from another process lands on one repeat of several configurations
// rather than on every repeat of one; the table shows the median and the range.

import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { nativeAvailable, nativeInfo } from '../lib/index.js';
import {
  BATCH_SIZE, DATA_DIR, LEARNING_RATE, MODEL_LABEL, SEED,
  fmt, loadDatasets, machineLine, markdownTable, median, timeLayerwiseEpoch,
  type EpochTiming, type LayerwiseBackend, type ModelName,
} from './epoch-common.js';

interface Config {
  model: ModelName;
  label: string;
  where: LayerwiseBackend;
  /** undefined: the whole epoch. */
  batches?: number;
  /** Run once, after the repeated ones (the long full js epochs). */
  once?: boolean;
}

interface Result {
  model: ModelName;
  config: string;
  extrapolated: boolean;
  batchesTimed: number;
  epochSeconds: number;
  runs: number[];
  samplesPerSecond: number;
  testAccuracy?: number;
  trainLoss: number;
  ratioVsJs?: number;
}

/** Accuracy may differ between backends only by float rounding (FMA, summation order). */
const ACCURACY_TOLERANCE_POINTS = 0.2;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      full: { type: 'boolean', default: false },
      repeats: { type: 'string', default: '3' },
      'js-batches': { type: 'string', default: '200' },
      json: { type: 'string' },
      data: { type: 'string', default: DATA_DIR },
    },
  });
  const repeats = Number(values.repeats);
  const jsBatches = Number(values['js-batches']);
  if (!Number.isInteger(repeats) || repeats < 1) throw new RangeError(`--repeats must be a positive integer, got ${values.repeats}`);
  if (!Number.isInteger(jsBatches) || jsBatches < 1) throw new RangeError(`--js-batches must be a positive integer, got ${values['js-batches']}`);
  if (!nativeAvailable()) throw new Error(`the native addon does not load (${nativeInfo().error}); build it with npm run build:native`);
  const defaultThreads = nativeInfo().threads!;

  const data = await loadDatasets(values.data);
  console.log(`layerwise epoch benchmark — ${machineLine()}`);
  console.log(`Fashion-MNIST from ${values.data}: ${data.flat.xTrain.shape[0]} training, ${data.flat.xTest.shape[0]} test images; ` +
    `SGD lr ${LEARNING_RATE.mlp} (MLP) / ${LEARNING_RATE.cnn} (CNN), batch ${BATCH_SIZE}, shuffle, seed ${SEED}; ${repeats} repeats, median\n`);

  const configs: Config[] = [];
  for (const model of ['mlp', 'cnn'] as const) {
    configs.push({ model, label: `native, ${defaultThreads} threads (default)`, where: { backend: 'native' } });
    configs.push({ model, label: 'native, 1 thread', where: { backend: 'native', threads: 1 } });
    configs.push({ model, label: `js, ${jsBatches} batches → extrapolated`, where: { backend: 'js' }, batches: jsBatches });
    if (values.full) configs.push({ model, label: 'js, full epoch', where: { backend: 'js' }, once: true });
  }

  const timings = new Map<Config, EpochTiming[]>(configs.map((c) => [c, []]));
  const run = async (c: Config): Promise<void> => {
    const t = await timeLayerwiseEpoch(c.model, data, c.where, c.batches);
    timings.get(c)!.push(t);
    console.log(`  ${MODEL_LABEL[c.model]}, ${c.label}: ${fmt.seconds(t.epochSeconds)} s/epoch` +
      (t.extrapolated ? ` (${t.batchesTimed} of ${t.batchesPerEpoch} batches timed)` : '') +
      (t.testAccuracy !== undefined ? `, test accuracy ${fmt.percent(t.testAccuracy)}` : ''));
  };
  for (let r = 0; r < repeats; r++) {
    for (const c of configs) if (!c.once) await run(c);
  }
  for (const c of configs) if (c.once) await run(c);

  const results: Result[] = configs.map((c) => {
    const ts = timings.get(c)!;
    const seconds = median(ts.map((t) => t.epochSeconds));
    return {
      model: c.model,
      config: c.label,
      extrapolated: ts[0].extrapolated,
      batchesTimed: ts[0].batchesTimed,
      epochSeconds: seconds,
      runs: ts.map((t) => t.epochSeconds),
      samplesPerSecond: data.flat.xTrain.shape[0] / seconds,
      // Same seed and backend give the same weights every repeat; the last one stands for all.
      testAccuracy: ts.at(-1)!.testAccuracy,
      trainLoss: ts.at(-1)!.trainLoss,
    };
  });
  // Ratios against the measured whole js epoch when there is one, else against the extrapolation.
  for (const model of ['mlp', 'cnn'] as const) {
    const mine = results.filter((r) => r.model === model);
    const js = mine.find((r) => r.config === 'js, full epoch') ?? mine.find((r) => r.extrapolated)!;
    for (const r of mine) r.ratioVsJs = js.epochSeconds / r.epochSeconds;
  }

  const rows = results.map((r) => [
    MODEL_LABEL[r.model], r.config, fmt.seconds(r.epochSeconds),
    r.runs.length > 1 ? `${fmt.seconds(Math.min(...r.runs))}–${fmt.seconds(Math.max(...r.runs))}` : '—',
    fmt.rate(r.samplesPerSecond), fmt.ratio(r.ratioVsJs!), fmt.percent(r.testAccuracy),
  ]);
  console.log('\n' + markdownTable(
    ['model', 'backend / threads', 's / epoch (median)', 'range', 'samples/s', 'vs js', 'test accuracy'],
    rows, [false, false, true, true, true, true, true],
  ));
  console.log(`\n"extrapolated": the js backend ran ${jsBatches} batches of ${BATCH_SIZE} and the time was scaled to a whole epoch; ` +
    (values.full ? '"vs js" compares with the measured full js epoch.' : '"vs js" compares with that extrapolation (run with --full for a measured js epoch).'));

  let accuracyOk = true;
  if (values.full) {
    console.log('\nTest accuracy after one epoch, js vs native (same seed):');
    for (const model of ['mlp', 'cnn'] as const) {
      const nat = results.find((r) => r.model === model && r.config.startsWith('native') && r.config.includes('default'))!;
      const js = results.find((r) => r.model === model && r.config === 'js, full epoch')!;
      const diff = 100 * Math.abs(nat.testAccuracy! - js.testAccuracy!);
      const ok = diff <= ACCURACY_TOLERANCE_POINTS;
      accuracyOk &&= ok;
      console.log(`  ${MODEL_LABEL[model]}: native ${fmt.percent(nat.testAccuracy)}, js ${fmt.percent(js.testAccuracy)}, ` +
        `difference ${diff.toFixed(2)} points — ${ok ? 'OK' : 'MISMATCH'} (tolerance ${ACCURACY_TOLERANCE_POINTS})`);
    }
  }

  if (values.json) {
    writeFileSync(values.json, JSON.stringify({
      benchmark: 'layerwise epochs',
      date: new Date().toISOString(),
      machine: machineLine(),
      settings: { batchSize: BATCH_SIZE, learningRate: LEARNING_RATE, optimizer: 'sgd', seed: SEED, repeats, jsBatches, full: values.full },
      results,
    }, null, 2) + '\n');
    console.log(`\nwrote ${values.json}`);
  }
  if (!accuracyOk) process.exitCode = 1;
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
