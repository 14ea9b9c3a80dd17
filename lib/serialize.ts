// Model files: a directory holding
//   model.json              versioned topology (layer configs), loss name,
//                           seed, a manifest of every tensor and the checksum
//   weights-<hash>.bin      the tensors as little-endian float32, back to back
//
// Saving is crash-safe: the weights go to a new file named after their hash
// (written to a fresh O_EXCL temporary, flushed, then renamed), and only then
// is model.json replaced the same way. A crash at any point leaves a
// model.json that names a complete weights file, old or new. The only file a
// save ever deletes is the weights file that the directory's previous
// model.json named, once nothing refers to it. A directory that is not empty
// and holds no layerwise model is refused unless the caller passes `force`.
// Concurrent saves to one directory (from this process or others) take turns
// on a lock file, so the last one wins and the model always loads.
//
// Loading parses JSON (never evaluates code; prototype keys are refused),
// verifies the manifest's own SHA-256, then the weights file: a regular file
// (not a FIFO or device) of exactly the declared size, below a configurable
// maximum, with a matching SHA-256 and only finite values. Layers are built
// only from the known layer types and under an allocation budget derived from
// that size, so a config declaring a 34 GB layer fails before allocating. A
// network is returned only when all of it holds.

import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Activation } from './layers/activation.js';
import { Conv2D } from './layers/conv2d.js';
import { BatchNormalization } from './layers/batchnorm.js';
import { Dense } from './layers/dense.js';
import { Dropout } from './layers/dropout.js';
import { Flatten } from './layers/flatten.js';
import { GlobalAveragePooling2D, GlobalMaxPooling2D } from './layers/global-pooling.js';
import { Reshape } from './layers/reshape.js';
import { RandomFlip, RandomTranslation } from './layers/augmentation.js';
import type { Layer, LayerConfig } from './layers/layer.js';
import { AvgPool2D, MaxPool2D } from './layers/pooling.js';
import { readRegularFile, UnreadableFile, withDirectoryLock, writeFileAtomically } from './atomic-file.js';
import { getLoss, LOSSES, type LossName } from './losses.js';
import { Network } from './network.js';
import { getOptimizer, type Optimizer, type OptimizerConfig } from './optimizers.js';
import { describe, formatShape, sameShape } from './shape.js';
import { BusyError, ModelFileError, OptionError } from './errors.js';
import { getBackend } from './backends/index.js';
import { withAllocationBudget } from './tensor.js';
import { checkOptions, ownLookup, suggest } from './options.js';
import { applyDataInfo, dataInfoOf, type ModelDataInfo } from './model-data.js';
import { Normalization } from './preprocessing.js';
import { checkLayerSpec, NETWORK_SPEC_KEYS, type LayerSpec } from './layer-spec.js';
import { registeredLayer, registeredLayerTypes } from './registry.js';

/** The `format` field of every model.json layerwise writes. */
export const MODEL_FORMAT = 'layerwise-model';
/** The model-file version this release writes and reads. */
export const MODEL_VERSION = 2;
const MODEL_FILE = 'model.json';

/** Layer types a model file may name, each built from its config only. */
const LAYER_TYPES: Record<string, (c: LayerConfig) => Layer> = {
  Dense: ({ inputSize, outputSize, type: _t, ...options }) =>
    inputSize === undefined ? new Dense(outputSize as number, options) : new Dense(inputSize as number, outputSize as number, options),
  Activation: ({ kind, alpha }) => new Activation(kind as never, alpha === undefined ? undefined : { alpha: alpha as number }),
  Conv2D: ({ type: _t, ...options }) => new Conv2D(options as never),
  MaxPool2D: ({ type: _t, ...options }) => new MaxPool2D(options),
  AvgPool2D: ({ type: _t, ...options }) => new AvgPool2D(options),
  Dropout: ({ rate }) => new Dropout(rate as number),
  Flatten: ({ type: _t, ...options }) => new Flatten(options),
  Normalization: ({ offset, scale }) => new Normalization({ offset: offset as number[], scale: scale as number[] }),
  BatchNormalization: ({ type: _t, ...options }) => new BatchNormalization(options),
  GlobalAveragePooling2D: ({ type: _t, ...options }) => new GlobalAveragePooling2D(options as never),
  GlobalMaxPooling2D: ({ type: _t, ...options }) => new GlobalMaxPooling2D(options as never),
  Reshape: ({ type: _t, targetShape, ...options }) => new Reshape(targetShape as number[], options),
  RandomFlip: ({ type: _t, ...options }) => new RandomFlip(options),
  RandomTranslation: ({ type: _t, ...options }) => new RandomTranslation(options as never),
};

/** A network described as data: what `layerwise train` reads from a spec file. */
export interface NetworkSpec {
  seed?: number;
  layers: LayerSpec[];
  loss?: LossName;
}

/** Options of `networkFromSpec`. */
export interface SpecOptions {
  /**
   * Most float values the network's layers may allocate while being built
   * (parameters and their gradients; default 2^29, 2 GiB). An absurd size in a
   * spec (10⁹ units) fails with a clear error before any memory is reserved.
   */
  maxValues?: number;
}

const DEFAULT_MAX_SPEC_VALUES = 2 ** 29;

/** The spec networkFromSpec rebuilds `network` from (topology, seed and loss; weights are not part of a spec). */
export function networkToSpec(network: Network): NetworkSpec {
  // Custom layers' configs are not in the LayerSpec union; they are checked by their registered constructors.
  const spec: NetworkSpec = { seed: network.seed, layers: network.layers.map((l) => l.getConfig()) as LayerSpec[] };
  const lossName = network.lossName();
  if (lossName !== undefined && ownLookup(LOSSES, lossName) !== undefined) spec.loss = lossName as LossName;
  return spec;
}

/** Builds a network from a spec, naming the first layer that is not valid. */
export function networkFromSpec(spec: NetworkSpec, source = 'network spec', options: SpecOptions = {}): Network {
  const maxValues = options.maxValues ?? DEFAULT_MAX_SPEC_VALUES;
  return withAllocationBudget(maxValues,
    (shape, remaining) => new OptionError(
      `${source}: a layer asks for a ${formatShape(shape)} tensor, but only ${remaining} of the ${maxValues} values a spec may allocate are left (SpecOptions.maxValues)`,
    ),
    () => buildFromSpec(spec, source));
}

function buildFromSpec(spec: NetworkSpec, source: string): Network {
  if (spec === null || typeof spec !== 'object' || !Array.isArray(spec.layers)) {
    throw new OptionError(`${source}: expected { layers: [...] } but got ${describe(spec)}`);
  }
  checkOptions(spec, NETWORK_SPEC_KEYS, source);
  if (spec.seed !== undefined && !Number.isInteger(spec.seed)) throw new OptionError(`${source}: seed must be an integer but is ${describe(spec.seed)}`);
  const network = new Network({ seed: spec.seed });
  spec.layers.forEach((config, i) => {
    const type = config && typeof config === 'object' ? config.type : undefined;
    const build = typeof type === 'string' && Object.prototype.hasOwnProperty.call(LAYER_TYPES, type) ? LAYER_TYPES[type] : registeredLayer(type);
    if (build === undefined) {
      throw new OptionError(
        `${source}: layer ${i} has unknown type ${describe(type)} (known: ${[...Object.keys(LAYER_TYPES), ...registeredLayerTypes()].join(', ')}; custom layers need registerLayer)`,
      );
    }
    checkLayerSpec(config as LayerConfig, `${source}: layer ${i} (${type})`);
    try {
      const { trainable, ...layerConfig } = config as LayerConfig;
      const layer = build(layerConfig as LayerConfig);
      if (trainable !== undefined) layer.trainable = trainable as boolean;
      network.add(layer);
    } catch (err) {
      throw new OptionError(`${source}: layer ${i} (${type}): ${(err as Error).message}`);
    }
  });
  if (spec.loss !== undefined && spec.loss !== null) {
    if (ownLookup(LOSSES, spec.loss) === undefined) {
      const hint = typeof spec.loss === 'string' ? suggest(spec.loss, Object.keys(LOSSES)) : undefined;
      throw new OptionError(`${source}: unknown loss ${describe(spec.loss)}` + (hint ? ` (did you mean '${hint}'?)` : ` (known: ${Object.keys(LOSSES).join(', ')})`));
    }
    network.use(getLoss(spec.loss as never));
  }
  return network;
}

interface TensorEntry {
  name: string;
  shape: number[];
  /** Offset in floats from the start of the weights file. */
  offset: number;
}

interface ModelFile {
  format: string;
  version: number;
  seed: number;
  loss: string | null;
  layers: LayerConfig[];
  /** `tensors`: the parameters in network.parameters() order; `states`: the layers' state tensors (running statistics). */
  weights: { file: string; floats: number; sha256: string; tensors: TensorEntry[]; states: TensorEntry[] };
  /** `iterations`: the optimizer's own step count (absent in files from before it was saved). */
  optimizer: null | { config: OptimizerConfig; steps: number[]; iterations?: number; slots: TensorEntry[][] };
  /** Class names, target name and CSV encoding, when the network has them. */
  data?: ModelDataInfo;
  /** SHA-256 of this manifest's JSON without this field: edits to layers, offsets or state are caught. */
  sha256?: string;
}

/** Options of `network.save` and `saveNetwork`. */
export interface SaveOptions {
  /** Also store the optimizer's state (moments, step counts) to resume training exactly. */
  optimizer?: Optimizer;
  /** Save into a non-empty directory that holds no layerwise model (default false: refused). Nothing in it is deleted. */
  force?: boolean;
}

/** Options of `Network.load` and `loadNetwork`. */
export interface LoadOptions {
  /** Largest weights file accepted, in bytes (default 4 GiB); a larger declared size is refused before anything is read. */
  maxWeightsBytes?: number;
}

/** What `loadNetwork` returns. */
export interface LoadedModel {
  network: Network;
  /** The stored optimizer with its state, when the model was saved with one. */
  optimizer?: Optimizer;
}

const DEFAULT_MAX_WEIGHTS_BYTES = 4 * 2 ** 30;
/** model.json holds configs and a manifest, never tensors: anything larger is not ours. */
const MAX_MANIFEST_BYTES = 64 * 2 ** 20;
const LOCK_FILE = '.layerwise-save.lock';
const SAVE_LOCK_TIMEOUT_MS = 60_000;
const WEIGHTS_NAME = /^weights-[0-9a-f]{16}\.bin$/;

/** Writes `network` (and optionally an optimizer's state) to `dir`, atomically. */
export async function saveNetwork(network: Network, dir: string, options: SaveOptions = {}): Promise<void> {
  if (typeof dir !== 'string' || dir === '') throw new OptionError(`expected a directory path but got ${describe(dir)}`);
  // Snapshot everything first: the network may keep training while the files are written.
  const { model, bytes } = serializeNetwork(network, options.optimizer);
  await fs.mkdir(dir, { recursive: true });
  await withDirectoryLock(dir, LOCK_FILE, SAVE_LOCK_TIMEOUT_MS,
    () => new BusyError(`${dir} stayed locked by another save (${LOCK_FILE}) for ${SAVE_LOCK_TIMEOUT_MS / 1000} s`),
    async () => {
      const previous = await previousWeightsFile(dir, options.force === true);
      await writeFileAtomically(path.join(dir, model.weights.file), bytes);
      await writeFileAtomically(path.join(dir, MODEL_FILE), Buffer.from(JSON.stringify(model, null, 1)));
      // Only now is the previous weights file unreferenced.
      if (previous !== undefined && previous !== model.weights.file) await fs.rm(path.join(dir, previous), { force: true });
    });
}

/** The manifest and the little-endian weights bytes of a network (and an optimizer's state), with both checksums. */
function serializeNetwork(network: Network, optimizerToSave: Optimizer | undefined): { model: ModelFile; bytes: Buffer } {
  const layers = network.layers.map((l) => (l.trainable ? l.getConfig() : { ...l.getConfig(), trainable: false }));
  const params = network.parameters();
  const chunks: Float32Array[] = [];
  let offset = 0;
  const add = (name: string, shape: readonly number[], data: Float32Array): TensorEntry => {
    chunks.push(data);
    const entry = { name, shape: [...shape], offset };
    offset += data.length;
    return entry;
  };
  const tensors = params.map((p, i) => add(`${i}:${p.name}`, p.value.shape, p.value.data));
  const states = network.stateTensors().map((t, i) => add(`state${i}:${t.name}`, t.value.shape, t.value.data));
  let optimizer: ModelFile['optimizer'] = null;
  if (optimizerToSave) {
    const state = optimizerToSave.getState(params);
    optimizer = {
      config: optimizerToSave.getConfig(),
      steps: state.steps,
      ...(state.iterations === undefined ? {} : { iterations: state.iterations }),
      slots: state.slots.map((arrays, i) => arrays.map((a, k) => add(`${i}:${params[i].name}:slot${k}`, params[i].value.shape, a))),
    };
  }
  const bytes = toLittleEndian(chunks, offset);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const lossName = network.lossName();
  const model: ModelFile = {
    format: MODEL_FORMAT,
    version: MODEL_VERSION,
    seed: network.seed,
    loss: lossName !== undefined && ownLookup(LOSSES, lossName) !== undefined ? lossName : null,
    layers,
    weights: { file: `weights-${sha256.slice(0, 16)}.bin`, floats: offset, sha256, tensors, states },
    optimizer,
  };
  const data = dataInfoOf(network);
  if (data) model.data = data;
  model.sha256 = manifestDigest(model);
  return { model, bytes };
}

/**
 * The weights file the model already in `dir` names (the only file a save may
 * delete), or undefined for an empty or new directory. A non-empty directory
 * with no layerwise model is refused unless `force`.
 */
async function previousWeightsFile(dir: string, force: boolean): Promise<string | undefined> {
  const entries = (await fs.readdir(dir)).filter((name) => !name.startsWith(LOCK_FILE) && !name.startsWith(`.${MODEL_FILE}.tmp-`) && !/^\.weights-.*\.tmp-/.test(name));
  if (entries.length === 0) return undefined;
  let named: unknown;
  try {
    const text = (await readRegularFile(path.join(dir, MODEL_FILE), { maxBytes: MAX_MANIFEST_BYTES })).toString('utf8');
    const model = JSON.parse(text) as Partial<ModelFile>;
    if (model?.format === MODEL_FORMAT) named = model.weights?.file;
    else named = null;
  } catch {
    named = null;
  }
  if (named === null) {
    if (force) return undefined;
    throw new OptionError(
      `${dir} is not empty and holds no layerwise model: refusing to save into it (pass { force: true } / --force to save beside its files; none of them is deleted)`,
    );
  }
  return typeof named === 'string' && WEIGHTS_NAME.test(named) ? named : undefined;
}

/** SHA-256 of the manifest's JSON with its own checksum field left out. */
function manifestDigest(model: ModelFile): string {
  const { sha256: _own, ...rest } = model;
  return createHash('sha256').update(JSON.stringify(rest)).digest('hex');
}

/** Keys that could reach an object's prototype if a config were ever merged carelessly: never legitimate in a model file. */
function refusePrototypeKeys(key: string, value: unknown): unknown {
  if (key === '__proto__' || key === 'constructor' || key === 'prototype') throw new ModelFileError(`the key '${key}' is not allowed in a model file`);
  return value;
}

/** Reads a model saved by saveNetwork; throws naming the problem, never returns a partial network. */
export async function loadNetwork(dir: string, options: LoadOptions = {}): Promise<LoadedModel> {
  if (typeof dir !== 'string' || dir === '') throw new OptionError(`expected a directory path but got ${describe(dir)}`);
  const maxWeightsBytes = maxWeightsBytesOf(options);
  const modelPath = path.join(dir, MODEL_FILE);
  const text = (await readModelFile(modelPath, { maxBytes: MAX_MANIFEST_BYTES })).toString('utf8');
  const model = parseManifest(text, modelPath, maxWeightsBytes);
  // The weights file is read (exactly its declared size) before any layer is built.
  const weightsPath = path.join(dir, model.weights.file);
  const bytes = await readModelFile(weightsPath, { maxBytes: maxWeightsBytes, expectedBytes: model.weights.floats * 4 });
  return buildModel(model, modelPath, bytes, weightsPath);
}

function maxWeightsBytesOf(options: LoadOptions): number {
  const maxWeightsBytes = options.maxWeightsBytes ?? DEFAULT_MAX_WEIGHTS_BYTES;
  if (!(Number.isSafeInteger(maxWeightsBytes) && maxWeightsBytes >= 0)) {
    throw new OptionError(`expected a non-negative integer for maxWeightsBytes but got ${describe(maxWeightsBytes)}`);
  }
  return maxWeightsBytes;
}

// In-memory model files (toBuffer/fromBuffer): the same manifest and weights
// bytes as a model directory, in one buffer:
//   8 bytes  "LWMODEL\0"
//   4 bytes  manifest length in bytes (uint32 LE)
//   manifest JSON (model.json's content), then the weights file's bytes.
// Reading applies every check the directory format has (manifest checksum,
// exact weights size, weights checksum, finite values, allocation budget).
const BUFFER_MAGIC = Buffer.from('LWMODEL\0', 'latin1');
const BUFFER_HEADER = BUFFER_MAGIC.length + 4;

/** The model (and optionally an optimizer's state) as one buffer, for a database or object store. */
export function networkToBuffer(network: Network, options: { optimizer?: Optimizer } = {}): Buffer {
  const { model, bytes } = serializeNetwork(network, options.optimizer);
  const manifest = Buffer.from(JSON.stringify(model));
  const header = Buffer.alloc(BUFFER_HEADER);
  BUFFER_MAGIC.copy(header);
  header.writeUInt32LE(manifest.length, BUFFER_MAGIC.length);
  return Buffer.concat([header, manifest, bytes]);
}

/** Reads what networkToBuffer wrote; a damaged or foreign buffer fails with a ModelFileError, never a partial network. */
export function networkFromBuffer(buffer: Uint8Array, options: LoadOptions = {}): LoadedModel {
  if (!(buffer instanceof Uint8Array)) throw new OptionError(`expected a Uint8Array or Buffer for fromBuffer but got ${describe(buffer)}`);
  const maxWeightsBytes = maxWeightsBytesOf(options);
  const source = 'model buffer';
  const buf = Buffer.from(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  if (buf.length < BUFFER_HEADER || !buf.subarray(0, BUFFER_MAGIC.length).equals(BUFFER_MAGIC)) {
    throw new ModelFileError(`${source}: not a layerwise model buffer (it does not start with LWMODEL)`);
  }
  const manifestBytes = buf.readUInt32LE(BUFFER_MAGIC.length);
  if (manifestBytes > MAX_MANIFEST_BYTES || manifestBytes > buf.length - BUFFER_HEADER) {
    throw new ModelFileError(`${source}: declares a ${manifestBytes}-byte manifest but holds ${buf.length - BUFFER_HEADER} bytes after its header (truncated?)`);
  }
  const model = parseManifest(buf.subarray(BUFFER_HEADER, BUFFER_HEADER + manifestBytes).toString('utf8'), source, maxWeightsBytes);
  const weights = buf.subarray(BUFFER_HEADER + manifestBytes);
  if (weights.length !== model.weights.floats * 4) {
    throw new ModelFileError(`${source}: expected ${model.weights.floats * 4} bytes of weights but it holds ${weights.length} (truncated or padded?)`);
  }
  return buildModel(model, source, weights, `${source} weights`);
}

/** The manifest parsed and checked (format, version, its own checksum, the weights entry), before anything is allocated for weights. */
function parseManifest(text: string, modelPath: string, maxWeightsBytes: number): ModelFile {
  const fail = (what: string): never => {
    throw new ModelFileError(`${modelPath}: ${what}`);
  };
  let model: ModelFile;
  try {
    model = JSON.parse(text, refusePrototypeKeys) as ModelFile;
  } catch (err) {
    if (err instanceof ModelFileError) fail((err as Error).message);
    throw new ModelFileError(`${modelPath} is not valid JSON (truncated or corrupted?)`);
  }
  if (model === null || typeof model !== 'object' || model.format !== MODEL_FORMAT) fail(`not a layerwise model (format is ${describe(model?.format)})`);
  if (model.version !== MODEL_VERSION) fail(`model version ${describe(model.version)} is not supported (this layerwise reads version ${MODEL_VERSION})`);
  if (typeof model.sha256 !== 'string' || manifestDigest(model) !== model.sha256) fail('fails its SHA-256 check: the manifest was edited or corrupted');
  if (!Array.isArray(model.layers)) fail('layers must be an array');
  if (!Number.isInteger(model.seed)) fail(`seed must be an integer but is ${describe(model.seed)}`);
  const w = model.weights;
  if (!w || typeof w.file !== 'string' || !WEIGHTS_NAME.test(w.file) || !Number.isSafeInteger(w.floats) || w.floats < 0 ||
    typeof w.sha256 !== 'string' || !Array.isArray(w.tensors) || !Array.isArray(w.states)) {
    fail('the weights manifest is malformed');
  }
  if (w.floats * 4 > maxWeightsBytes) fail(`declares ${w.floats * 4} bytes of weights, above the limit of ${maxWeightsBytes} (LoadOptions.maxWeightsBytes)`);

  return model;
}

/** Checks the weights bytes against the manifest and builds the network (and optimizer) they describe. */
function buildModel(model: ModelFile, modelPath: string, bytes: Buffer, weightsPath: string): LoadedModel {
  const fail = (what: string): never => {
    throw new ModelFileError(`${modelPath}: ${what}`);
  };
  const w = model.weights;
  if (createHash('sha256').update(bytes).digest('hex') !== w.sha256) {
    throw new ModelFileError(`${weightsPath} fails its SHA-256 check: the file is corrupted`);
  }
  const floats = fromLittleEndian(bytes);
  const bad = getBackend().firstNonFinite(floats);
  if (bad >= 0) throw new ModelFileError(`${weightsPath} holds ${floats[bad]} at value ${bad}: weights and optimizer state must be finite`);

  // Layers allocate a value and a gradient per parameter: twice what the file holds, plus room for small layers' scratch.
  const budget = 2 * w.floats + 2 ** 16;
  let network: Network;
  try {
    network = withAllocationBudget(budget,
      (shape) => new ModelFileError(`${modelPath}: a layer asks for a ${formatShape(shape)} tensor, more than the ${w.floats} values ${w.file} holds`),
      () => networkFromSpec({ seed: model.seed, layers: model.layers as LayerSpec[], loss: (model.loss ?? undefined) as LossName | undefined }, modelPath));
  } catch (err) {
    if (err instanceof ModelFileError) throw err;
    throw new ModelFileError((err as Error).message);
  }
  const read = (entry: TensorEntry, expected: readonly number[], what: string): Float32Array => {
    if (!entry || !Array.isArray(entry.shape) || !sameShape(entry.shape, expected)) {
      fail(`expected ${formatShape(expected)} for ${what} but the file stores ${entry && Array.isArray(entry.shape) ? formatShape(entry.shape) : describe(entry)}`);
    }
    const size = expected.reduce((a, b) => a * b, 1);
    if (!Number.isInteger(entry.offset) || entry.offset < 0 || entry.offset + size > floats.length) fail(`${what} lies outside the weights file`);
    return floats.subarray(entry.offset, entry.offset + size);
  };

  const params = network.parameters();
  if (w.tensors.length !== params.length) fail(`the layers have ${params.length} parameters but the file stores ${w.tensors.length}`);
  const values = params.map((p, i) => read(w.tensors[i], p.value.shape, `parameter ${i} (${p.name})`));
  const stateTargets = network.stateTensors();
  if (w.states.length !== stateTargets.length) fail(`the layers have ${stateTargets.length} state tensors but the file stores ${w.states.length}`);
  const stateValues = stateTargets.map((t, i) => read(w.states[i], t.value.shape, `state tensor ${i} (${t.name})`));
  let optimizer: Optimizer | undefined;
  if (model.optimizer) {
    const o = model.optimizer;
    if (!o.config || !Array.isArray(o.steps) || !Array.isArray(o.slots) || o.slots.length !== params.length) fail('the optimizer state is malformed');
    if (!o.steps.every((n) => Number.isSafeInteger(n) && n >= 0)) fail(`optimizer step counts must be non-negative integers but are ${describe(o.steps)}`);
    if (o.iterations !== undefined && !(Number.isSafeInteger(o.iterations) && o.iterations >= 0)) {
      fail(`the optimizer's step count must be a non-negative integer but is ${describe(o.iterations)}`);
    }
    try {
      optimizer = getOptimizer(o.config as never);
    } catch (err) {
      fail(`optimizer: ${(err as Error).message}`);
    }
    const slots = o.slots.map((entries, i) => {
      if (!Array.isArray(entries)) fail(`optimizer state for parameter ${i} is malformed`);
      return entries.map((e, k) => read(e, params[i].value.shape, `optimizer slot ${k} of parameter ${i}`).slice());
    });
    try {
      optimizer!.setState(params, { steps: o.steps, slots, ...(o.iterations === undefined ? {} : { iterations: o.iterations }) });
    } catch (err) {
      fail(`optimizer: ${(err as Error).message}`);
    }
  }
  applyDataInfo(network, model.data, fail);
  // Every check passed: fill the network.
  params.forEach((p, i) => p.value.data.set(values[i]));
  stateTargets.forEach((t, i) => t.value.data.set(stateValues[i]));
  return { network, optimizer };
}

/** readRegularFile with its refusals as ModelFileErrors naming the file. */
async function readModelFile(file: string, limits: { maxBytes: number; expectedBytes?: number }): Promise<Buffer> {
  try {
    return await readRegularFile(file, limits);
  } catch (err) {
    if (err instanceof UnreadableFile) throw new ModelFileError(`cannot read ${file}: ${err.message}`);
    throw err;
  }
}

function toLittleEndian(chunks: Float32Array[], floats: number): Buffer {
  const bytes = Buffer.alloc(floats * 4);
  let at = 0;
  for (const c of chunks) {
    if (os.endianness() === 'LE') {
      bytes.set(new Uint8Array(c.buffer, c.byteOffset, c.byteLength), at);
    } else {
      for (let i = 0; i < c.length; i++) bytes.writeFloatLE(c[i], at + i * 4);
    }
    at += c.byteLength;
  }
  return bytes;
}

function fromLittleEndian(bytes: Buffer): Float32Array {
  const out = new Float32Array(bytes.length / 4);
  if (os.endianness() === 'LE') new Uint8Array(out.buffer).set(bytes);
  else for (let i = 0; i < out.length; i++) out[i] = bytes.readFloatLE(i * 4);
  return out;
}
