// Named networks for `layerwise train <preset>`: the examples' architectures
// written as data (NetworkSpec), so the CLI, a worker thread and a saved model
// all build them the same way through networkFromSpec.

import type { NetworkSpec } from './serialize.js';

/** A named network with the training settings its example uses. */
export interface Preset {
  name: string;
  description: string;
  spec: NetworkSpec;
  /** Whether the network takes images as [n, rows·cols] (Dense first) rather than [n, rows, cols, 1]. */
  flatten: boolean;
  /** Training settings the matching example uses; command-line options override them. */
  training: { epochs: number; batchSize: number; optimizer: 'sgd' | 'adam' | 'rmsprop'; learningRate: number };
}

const CROSS_ENTROPY = 'sparseCategoricalCrossEntropy';

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
    description: 'conv 3×3 ×32 → batch-norm → ReLU → max-pool → conv 3×3 ×64 → batch-norm → ReLU → max-pool → dense 128 → batch-norm → ReLU → dropout 0.3 → dense 10 → softmax (examples/fashion-mnist-bn.ts)',
    flatten: false,
    training: { epochs: 10, batchSize: 64, optimizer: 'adam', learningRate: 0.001 },
    spec: {
      layers: [
        { type: 'Conv2D', filters: 32, kernelSize: 3, padding: 'same', kernelInitializer: 'heUniform', inputShape: [28, 28, 1] },
        { type: 'BatchNormalization' },
        { type: 'Activation', kind: 'relu' },
        { type: 'MaxPool2D', poolSize: 2 },
        { type: 'Conv2D', filters: 64, kernelSize: 3, padding: 'same', kernelInitializer: 'heUniform' },
        { type: 'BatchNormalization' },
        { type: 'Activation', kind: 'relu' },
        { type: 'MaxPool2D', poolSize: 2 },
        { type: 'Flatten' },
        { type: 'Dense', outputSize: 128, kernelInitializer: 'heUniform' },
        { type: 'BatchNormalization' },
        { type: 'Activation', kind: 'relu' },
        { type: 'Dropout', rate: 0.3 },
        { type: 'Dense', outputSize: 10 },
        { type: 'Activation', kind: 'softmax' },
      ],
      loss: CROSS_ENTROPY,
    },
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

/** A deep copy of a preset (callers may set spec.seed), or undefined for an unknown name. */
export function getPreset(name: string): Preset | undefined {
  if (!Object.prototype.hasOwnProperty.call(PRESETS, name)) return undefined;
  return structuredClone(PRESETS[name]);
}

/** The names of the presets. */
export function presetNames(): string[] {
  return Object.keys(PRESETS);
}
