// Layer specs as data: one object type per layer type, so a spec literal in
// TypeScript completes and a misspelt key is a compile error, and the same
// key lists check a spec read from JSON at run time.

import type { ActivationName, ActivationOptions } from './layers/activation.js';
import type { BatchNormalizationOptions } from './layers/batchnorm.js';
import type { Conv2DOptions } from './layers/conv2d.js';
import type { DenseOptions } from './layers/dense.js';
import type { Pool2DOptions } from './layers/pooling.js';
import type { FlattenOptions } from './layers/flatten.js';
import type { GlobalPooling2DOptions } from './layers/global-pooling.js';
import type { ReshapeOptions } from './layers/reshape.js';
import type { RandomFlipOptions, RandomTranslationOptions } from './layers/augmentation.js';
import type { LayerConfig } from './layers/layer.js';
import { checkOptions } from './options.js';

/** Keys every layer spec may carry. */
export interface CommonSpec {
  /** false: a frozen layer (only layers with parameters). */
  trainable?: boolean;
}
/** A `Dense` layer in a NetworkSpec; without inputSize, the input width comes from the layer before (or inputShape). */
export interface DenseSpec extends DenseOptions, CommonSpec { type: 'Dense'; inputSize?: number; outputSize: number }
/** An `Activation` layer in a NetworkSpec. */
export interface ActivationSpec extends ActivationOptions, CommonSpec { type: 'Activation'; kind: ActivationName }
/** A `Conv2D` layer in a NetworkSpec. */
export interface Conv2DSpec extends Conv2DOptions, CommonSpec { type: 'Conv2D' }
/** A `MaxPool2D` layer in a NetworkSpec. */
export interface MaxPool2DSpec extends Pool2DOptions, CommonSpec { type: 'MaxPool2D' }
/** An `AvgPool2D` layer in a NetworkSpec. */
export interface AvgPool2DSpec extends Pool2DOptions, CommonSpec { type: 'AvgPool2D' }
/** A `Dropout` layer in a NetworkSpec. */
export interface DropoutSpec extends CommonSpec { type: 'Dropout'; rate: number }
/** A `Flatten` layer in a NetworkSpec. */
export interface FlattenSpec extends FlattenOptions, CommonSpec { type: 'Flatten' }
/** A `Normalization` layer in a NetworkSpec: `(x − offset) · scale` per feature. */
export interface NormalizationSpec extends CommonSpec { type: 'Normalization'; offset: number[]; scale: number[] }
/** A `BatchNormalization` layer in a NetworkSpec. */
export interface BatchNormalizationSpec extends BatchNormalizationOptions, CommonSpec { type: 'BatchNormalization' }

/** A `GlobalAveragePooling2D` layer in a NetworkSpec. */
export interface GlobalAveragePooling2DSpec extends GlobalPooling2DOptions, CommonSpec { type: 'GlobalAveragePooling2D' }
/** A `GlobalMaxPooling2D` layer in a NetworkSpec. */
export interface GlobalMaxPooling2DSpec extends GlobalPooling2DOptions, CommonSpec { type: 'GlobalMaxPooling2D' }
/** A `Reshape` layer in a NetworkSpec: each sample takes `targetShape` (one entry may be -1). */
export interface ReshapeSpec extends ReshapeOptions, CommonSpec { type: 'Reshape'; targetShape: number[] }
/** A `RandomFlip` layer in a NetworkSpec. */
export interface RandomFlipSpec extends RandomFlipOptions, CommonSpec { type: 'RandomFlip' }
/** A `RandomTranslation` layer in a NetworkSpec. */
export interface RandomTranslationSpec extends RandomTranslationOptions, CommonSpec { type: 'RandomTranslation' }

/** One layer of a NetworkSpec, discriminated by `type`. */
export type LayerSpec = DenseSpec | ActivationSpec | Conv2DSpec | MaxPool2DSpec | AvgPool2DSpec | DropoutSpec | FlattenSpec | NormalizationSpec | BatchNormalizationSpec |
  GlobalAveragePooling2DSpec | GlobalMaxPooling2DSpec | ReshapeSpec | RandomFlipSpec | RandomTranslationSpec;

type Keys<T> = { [K in keyof Required<T>]: true };
const key = <T>(table: Keys<T>): readonly string[] => Object.keys(table);

/**
 * The keys each layer type accepts in a spec. Tables keyed by the spec types,
 * so a new option added to an options interface is a compile error here until
 * it is listed.
 */
const SPEC_KEYS: Readonly<Record<string, readonly string[]>> = {
  Dense: key<DenseSpec>({ type: true, inputSize: true, outputSize: true, activation: true, kernelInitializer: true, inputShape: true, trainable: true }),
  Activation: key<ActivationSpec>({ type: true, kind: true, alpha: true, trainable: true }),
  Conv2D: key<Conv2DSpec>({
    type: true, filters: true, kernelSize: true, strides: true, padding: true, inputShape: true, activation: true,
    kernelInitializer: true, inputChannels: true, trainable: true,
  }),
  MaxPool2D: key<MaxPool2DSpec>({ type: true, poolSize: true, strides: true, padding: true, trainable: true }),
  AvgPool2D: key<AvgPool2DSpec>({ type: true, poolSize: true, strides: true, padding: true, trainable: true }),
  Dropout: key<DropoutSpec>({ type: true, rate: true, trainable: true }),
  Flatten: key<FlattenSpec>({ type: true, inputShape: true, trainable: true }),
  Normalization: key<NormalizationSpec>({ type: true, offset: true, scale: true, trainable: true }),
  BatchNormalization: key<BatchNormalizationSpec>({ type: true, momentum: true, epsilon: true, features: true, trainable: true }),
  GlobalAveragePooling2D: key<GlobalAveragePooling2DSpec>({ type: true, inputShape: true, trainable: true }),
  GlobalMaxPooling2D: key<GlobalMaxPooling2DSpec>({ type: true, inputShape: true, trainable: true }),
  Reshape: key<ReshapeSpec>({ type: true, targetShape: true, inputShape: true, trainable: true }),
  RandomFlip: key<RandomFlipSpec>({ type: true, mode: true, seed: true, inputShape: true, trainable: true }),
  RandomTranslation: key<RandomTranslationSpec>({ type: true, height: true, width: true, fill: true, seed: true, inputShape: true, trainable: true }),
};

/**
 * Rejects a key the layer type does not take, naming the nearest known key.
 * Layer types without a table here (added later) are checked by their own
 * constructors.
 */
export function checkLayerSpec(config: LayerConfig, what: string): void {
  const known = Object.prototype.hasOwnProperty.call(SPEC_KEYS, config.type) ? SPEC_KEYS[config.type] : undefined;
  if (known) checkOptions(config, known, what);
}

/** The top-level keys of a NetworkSpec. */
export const NETWORK_SPEC_KEYS: readonly string[] = ['seed', 'layers', 'loss'];
