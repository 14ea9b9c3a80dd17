/**
 * layerwise: neural networks for Node.js, layer by layer. Start with
 * {@link Network}, the guides, or `npm install layerwise` and the README.
 *
 * @packageDocumentation
 * @module layerwise
 */

export {
  LayerwiseError, ShapeError, OptionError, DataError, DivergedError, ModelFileError, BackendError, BusyError, StateError, WorkerError,
  type ErrorCode,
} from './errors.js';
export { Tensor, tensor, type NestedArray, type TensorLike } from './tensor.js';
export { formatShape, type Shape } from './shape.js';
export { Rng, type RngState } from './random.js';
export * as ops from './ops.js';
export type { ConvMode } from './ops.js';
export { Layer, type Parameter, type StateTensor, type LayerConfig } from './layers/layer.js';
export { NetworkSummary, type LayerSummary } from './summary.js';
export { saveOnnx, networkToOnnx, ONNX_OPSET, type OnnxExportOptions } from './onnx/export.js';
export { networkFromOnnx, type OnnxImportOptions } from './onnx/import.js';
export { registerLayer, type RegistrableLayer, type LayerFactory } from './registry.js';
export { Dense, FCLayer, type DenseOptions } from './layers/dense.js';
export {
  Activation, ActivationLayer, tanh, tanhPrime,
  type ActivationName, type ActivationOptions, type ScalarFunction,
} from './layers/activation.js';
export { Conv2D, ConvLayer, type Conv2DOptions, type Padding } from './layers/conv2d.js';
export { MaxPool2D, AvgPool2D, type Pool2DOptions } from './layers/pooling.js';
export { Dropout } from './layers/dropout.js';
export { BatchNormalization, type BatchNormalizationOptions } from './layers/batchnorm.js';
export { Flatten, FlattenLayer, type FlattenOptions } from './layers/flatten.js';
export { GlobalAveragePooling2D, GlobalMaxPooling2D, type GlobalPooling2DOptions } from './layers/global-pooling.js';
export { Reshape, type ReshapeOptions } from './layers/reshape.js';
export { RandomFlip, RandomTranslation, type FlipMode, type RandomFlipOptions, type RandomTranslationOptions } from './layers/augmentation.js';
export {
  mse, msePrime, binaryCrossEntropy, categoricalCrossEntropy, sparseCategoricalCrossEntropy, getLoss,
  type Loss, type LossName, type CallableLoss,
} from './losses.js';
export {
  SGD, Adam, AdamW, RMSprop, sgd, adam, adamw, rmsprop, getOptimizer,
  type Optimizer, type OptimizerConfig, type OptimizerState, type OptimizerName, type OptimizerSpec, type SgdOptions, type AdamOptions, type RmspropOptions, type GradientOptions, type LearningRate,
} from './optimizers.js';
export { initializers, type InitializerName, type Initializer } from './initializers.js';
export {
  EarlyStopping, LearningRateScheduler, ReduceLROnPlateau, RestoreBestWeights, type ReduceLROnPlateauOptions, type RestoreBestWeightsOptions, type BestWeights,
  type Callback, type EarlyStoppingOptions, type EpochLogs, type BatchLogs, type History, type TrainingContext, type Monitor,
} from './callbacks.js';
export {
  saveNetwork, loadNetwork, networkFromSpec, networkToSpec, networkToBuffer, networkFromBuffer, MODEL_FORMAT, MODEL_VERSION,
  type SaveOptions, type LoadOptions, type SpecOptions, type LoadedModel, type NetworkSpec,
} from './serialize.js';
export { Network, type NetworkOptions, type FitOptions, type TrainingState, type EvaluateOptions, type Evaluation } from './network.js';
export {
  getBackend, setBackend, nativeAvailable, nativeInfo, setNumThreads,
  type BackendName, type NativeInfo,
} from './backends/index.js';
export type { Backend, ActivationKind, ConvGeometry, PoolGeometry } from './backends/backend.js';
export * from './data/index.js';
export { trainInWorker, type TrainInWorkerOptions, type WorkerFitOptions, type WorkerProgress, type WorkerTrainingResult } from './worker.js';
export { StandardScaler, MinMaxScaler, Normalization, type NormalizationOptions } from './preprocessing.js';
export { trainTestSplit, type SplitOptions, type Split } from './splits.js';
export { METRIC_NAMES, type MetricName, type MetricValues } from './metrics.js';
export type {
  LayerSpec, DenseSpec, ActivationSpec, Conv2DSpec, MaxPool2DSpec, AvgPool2DSpec, DropoutSpec, FlattenSpec, NormalizationSpec, BatchNormalizationSpec,
  GlobalAveragePooling2DSpec, GlobalMaxPooling2DSpec, ReshapeSpec, RandomFlipSpec, RandomTranslationSpec,
} from './layer-spec.js';
export { createPredictor, type Predictor, type PredictorOptions, type WorkerPriority } from './predictor.js';
export { PRESETS, getPreset, presetNames, scheduleInSteps, describeSchedule, type Preset, type EpochSchedule } from './presets.js';
export {
  exponentialDecay, stepDecay, cosineDecay, getSchedule,
  type LearningRateSchedule, type ScheduleConfig, type ScheduleKind, type ExponentialDecayOptions, type StepDecayOptions, type CosineDecayOptions,
} from './schedules.js';
