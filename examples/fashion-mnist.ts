// Shared driver for the Fashion-MNIST examples: command-line options, data
// loading (the full set from Debian's dataset-fashion-mnist when installed,
// else the sample shipped in data/), training with per-epoch progress, and the
// final test accuracy.
//
//   --data DIR     an MNIST-layout directory (IDX files, .gz or raw)
//   --epochs N     --batch-size N     --lr X     --seed N
//   --backend js|native     --threads N
//   --limit N      use only the first N training images (quick runs)

import { parseArgs } from 'node:util';
import {
  RestoreBestWeights, fashionMnistDir, getBackend, loadMnist, describeSchedule, nativeInfo, scheduleInSteps, setBackend, setNumThreads, type EpochSchedule,
  type Network,
} from '../lib/index.js';

export interface RunOptions {
  name: string;
  build: (seed: number) => Network;
  flatten: boolean;
  epochs: number;
  batchSize?: number;
  /** The rate, or the peak of `schedule`. */
  learningRate?: number;
  schedule?: EpochSchedule;
}

export interface RunResult {
  testAccuracy: number;
  epochSeconds: number[];
  dataDir: string;
  trainSamples: number;
}

export async function runFashionMnist(options: RunOptions, argv = process.argv.slice(2)): Promise<RunResult> {
  const { values } = parseArgs({
    args: argv,
    options: {
      data: { type: 'string' },
      epochs: { type: 'string' },
      'batch-size': { type: 'string' },
      lr: { type: 'string' },
      seed: { type: 'string' },
      backend: { type: 'string' },
      threads: { type: 'string' },
      limit: { type: 'string' },
    },
  });
  if (values.backend) setBackend(values.backend as 'js' | 'native');
  if (values.threads) setNumThreads(Number(values.threads));
  const epochs = values.epochs ? Number(values.epochs) : options.epochs;
  const batchSize = values['batch-size'] ? Number(values['batch-size']) : options.batchSize ?? 32;
  const learningRate = values.lr ? Number(values.lr) : options.learningRate ?? 0.001;
  const seed = values.seed ? Number(values.seed) : 1;

  const dataDir = fashionMnistDir(values.data);
  const limit = values.limit ? { train: Number(values.limit) } : undefined;
  const data = await loadMnist(dataDir, { flatten: options.flatten, limit });
  const backend = getBackend().name;
  const info = nativeInfo();
  console.log(`${options.name} on Fashion-MNIST from ${dataDir}`);
  console.log(`  ${data.xTrain.shape[0]} training and ${data.xTest.shape[0]} test images; backend ${backend}` +
    (backend === 'native' ? ` (${info.isa}, ${info.threads} threads)` : '') +
    `; Adam lr ${learningRate}${options.schedule ? ` (${describeSchedule(options.schedule)})` : ''}, batch ${batchSize}, ${epochs} epochs, seed ${seed}`);

  const net = options.build(seed).use('sparseCategoricalCrossEntropy');
  // Model selection on data held out from the training set (the last 10%):
  // the test set is looked at once, after training.
  const validationSplit = 0.1;
  const batchesPerEpoch = Math.ceil((data.xTrain.shape[0] - Math.floor(data.xTrain.shape[0] * validationSplit)) / batchSize);
  const rate = options.schedule ? scheduleInSteps(options.schedule, learningRate, epochs, batchesPerEpoch) : learningRate;
  // Keeps the weights of the best validation epoch and puts them back when fit ends.
  const best = new RestoreBestWeights({ monitor: 'valAccuracy' });
  const history = await net.fit(data.xTrain, data.yTrain, {
    epochs, batchSize, optimizer: 'adam', learningRate: rate, seed, validationSplit, callbacks: [best],
    onEpochEnd: (epoch, logs) => {
      console.log(`  epoch ${epoch}/${epochs}  loss ${logs.loss.toFixed(4)}  accuracy ${(100 * logs.accuracy!).toFixed(2)}%` +
        `  validation accuracy ${(100 * logs.valAccuracy!).toFixed(2)}%  ${logs.seconds.toFixed(1)} s`);
    },
  });
  const testAccuracy = net.evaluate(data.xTest, data.yTest).accuracy!;
  console.log(`best epoch on the validation split: ${best.bestEpoch} (${(100 * best.best).toFixed(2)}%)`);
  console.log(`test accuracy of that epoch's weights: ${(100 * testAccuracy).toFixed(2)}%`);
  return { testAccuracy, epochSeconds: history.seconds, dataDir, trainSamples: data.xTrain.shape[0] };
}
