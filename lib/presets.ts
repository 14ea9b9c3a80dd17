// Named networks for `layerwise train <preset>`: the examples' architectures
// written as data (NetworkSpec), so the CLI, a worker thread and a saved model
// all build them the same way through networkFromSpec.

import { cosineDecay, type LearningRateSchedule } from './schedules.js';
import type { LayerSpec } from './layer-spec.js';
import type { NetworkSpec } from './serialize.js';

/**
 * A preset's learning-rate schedule in epochs: a linear warm-up from 0 to the
 * learning rate, then a half cosine down to `alpha` times it at the end of the
 * last epoch. Turned into optimizer steps once the batches per epoch are known.
 */
export interface EpochSchedule {
  kind: 'cosineDecay';
  warmupEpochs: number;
  /** Floor as a fraction of the peak rate (default 0). */
  alpha?: number;
}

/** A named network with the training settings its example uses. */
export interface Preset {
  name: string;
  description: string;
  spec: NetworkSpec;
  /** Whether the network takes images as [n, rows·cols] (Dense first) rather than [n, rows, cols, 1]. */
  flatten: boolean;
  /** Training settings the matching example uses; command-line options override them. */
  training: {
    epochs: number; batchSize: number; optimizer: 'sgd' | 'adam' | 'rmsprop';
    /** The rate, or the peak rate of `schedule`. */
    learningRate: number;
    schedule?: EpochSchedule;
  };
}

const CROSS_ENTROPY = 'sparseCategoricalCrossEntropy';

// The BatchNorm presets: the same augmentation, head and training around
// different conv stacks. Only left-right flips augment: with ±2-pixel shifts
// as well, 10 epochs left the network underfitting (training accuracy below
// validation accuracy at the end).
function convBnRelu(filters: number): LayerSpec[] {
  return [
    { type: 'Conv2D', filters, kernelSize: 3, padding: 'same', kernelInitializer: 'heUniform' },
    { type: 'BatchNormalization' },
    { type: 'Activation', kind: 'relu' },
  ];
}
const BN_TWO_BLOCKS: LayerSpec[] = [
  { type: 'RandomFlip', mode: 'horizontal', inputShape: [28, 28, 1] },
  ...convBnRelu(32), { type: 'MaxPool2D', poolSize: 2 },
  ...convBnRelu(64), { type: 'MaxPool2D', poolSize: 2 },
];
const BN_FEATURES: LayerSpec[] = [...BN_TWO_BLOCKS, ...convBnRelu(128)];
const BN_HEAD: LayerSpec[] = [
  { type: 'Dense', outputSize: 128, kernelInitializer: 'heUniform' },
  { type: 'BatchNormalization' },
  { type: 'Activation', kind: 'relu' },
  { type: 'Dropout', rate: 0.3 },
  { type: 'Dense', outputSize: 10 },
  { type: 'Activation', kind: 'softmax' },
];
const BN_TRAINING: Preset['training'] = {
  epochs: 10, batchSize: 64, optimizer: 'adam', learningRate: 0.002, schedule: { kind: 'cosineDecay', warmupEpochs: 1 },
};

/** The networks `layerwise train <preset>` knows, by name. */
export const PRESETS: Readonly<Record<string, Preset>> = Object.freeze({
  'fashion-mnist-cnn': {
    name: 'fashion-mnist-cnn',
    description: 'conv 3×3 ×16 ReLU → max-pool → conv 3×3 ×32 ReLU → max-pool → dense 128 ReLU → dense 10 → softmax (examples/fashion-mnist-cnn.ts)',
    flatten: false,
    training: { epochs: 5, batchSize: 32, optimizer: 'adam', learningRate: 0.001 },
    spec: {
      layers: [
        { type: 'Conv2D', filters: 16, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: 'heUniform', inputShape: [28, 28, 1] },
        { type: 'MaxPool2D', poolSize: 2 },
        { type: 'Conv2D', filters: 32, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: 'heUniform', inputChannels: 16 },
        { type: 'MaxPool2D', poolSize: 2 },
        { type: 'Flatten' },
        { type: 'Dense', inputSize: 7 * 7 * 32, outputSize: 128, activation: 'relu', kernelInitializer: 'heUniform' },
        { type: 'Dense', inputSize: 128, outputSize: 10 },
        { type: 'Activation', kind: 'softmax' },
      ],
      loss: CROSS_ENTROPY,
    },
  },
  'fashion-mnist-bn': {
    name: 'fashion-mnist-bn',
    description: 'random horizontal flip (training only) → conv 3×3 ×32 → batch-norm → ReLU → max-pool → ' +
      'conv 3×3 ×64 → batch-norm → ReLU → max-pool → conv 3×3 ×128 → batch-norm → ReLU → dense 128 → batch-norm → ReLU → ' +
      'dropout 0.3 → dense 10 → softmax; Adam with a cosine learning-rate decay (examples/fashion-mnist-bn.ts)',
    flatten: false,
    training: BN_TRAINING,
    spec: { layers: [...BN_FEATURES, { type: 'Flatten' }, ...BN_HEAD], loss: CROSS_ENTROPY },
  },
  'fashion-mnist-bn-gap': {
    name: 'fashion-mnist-bn-gap',
    description: 'fashion-mnist-bn with global average pooling in place of flattening: the 7×7×128 maps are averaged per channel ' +
      'before dense 128 → batch-norm → ReLU → dropout 0.3 → dense 10 → softmax; the same augmentation and training',
    flatten: false,
    training: BN_TRAINING,
    spec: { layers: [...BN_FEATURES, { type: 'GlobalAveragePooling2D' }, ...BN_HEAD], loss: CROSS_ENTROPY },
  },
  'fashion-mnist-bn-two-blocks': {
    name: 'fashion-mnist-bn-two-blocks',
    description: 'fashion-mnist-bn without its third conv block: flip → (conv 3×3 ×32 → batch-norm → ReLU → max-pool) → ' +
      '(conv 3×3 ×64 → batch-norm → ReLU → max-pool) → flatten (7·7·64) → dense 128 → batch-norm → ReLU → dropout 0.3 → ' +
      'dense 10 → softmax; the same training',
    flatten: false,
    training: BN_TRAINING,
    spec: { layers: [...BN_TWO_BLOCKS, { type: 'Flatten' }, ...BN_HEAD], loss: CROSS_ENTROPY },
  },
  'fashion-mnist-mlp': {
    name: 'fashion-mnist-mlp',
    description: 'dense 784→128 ReLU → dense 10 → softmax on flattened images (examples/fashion-mnist-mlp.ts)',
    flatten: true,
    training: { epochs: 10, batchSize: 32, optimizer: 'adam', learningRate: 0.001 },
    spec: {
      layers: [
        { type: 'Dense', inputSize: 784, outputSize: 128, activation: 'relu', kernelInitializer: 'heUniform' },
        { type: 'Dense', inputSize: 128, outputSize: 10 },
        { type: 'Activation', kind: 'softmax' },
      ],
      loss: CROSS_ENTROPY,
    },
  },
});

/**
 * The schedule of a run of `epochs` epochs of `batchesPerEpoch` batches
 * peaking at `learningRate`. A run shorter than the warm-up warms up for half
 * of it, so the decay still happens.
 */
export function scheduleInSteps(schedule: EpochSchedule, learningRate: number, epochs: number, batchesPerEpoch: number): LearningRateSchedule {
  const total = epochs * batchesPerEpoch;
  const warmupSteps = Math.min(Math.round(schedule.warmupEpochs * batchesPerEpoch), Math.floor(total / 2));
  return cosineDecay({ initialLearningRate: learningRate, decaySteps: total - warmupSteps, warmupSteps, alpha: schedule.alpha ?? 0 });
}

/** "cosine decay after 1 warm-up epoch", for reports. */
export function describeSchedule(schedule: EpochSchedule): string {
  const floor = schedule.alpha ? ` to ${schedule.alpha} of the peak` : '';
  return `peak of a cosine decay${floor} after ${schedule.warmupEpochs} warm-up epoch${schedule.warmupEpochs === 1 ? '' : 's'}`;
}

/** A deep copy of a preset (callers may set spec.seed), or undefined for an unknown name. */
export function getPreset(name: string): Preset | undefined {
  if (!Object.prototype.hasOwnProperty.call(PRESETS, name)) return undefined;
  return structuredClone(PRESETS[name]);
}

/** The names of the presets. */
export function presetNames(): string[] {
  return Object.keys(PRESETS);
}
