// Model files: a directory holding
//   model.json              versioned topology (layer configs), loss name,
//                           seed, a manifest of every tensor and the checksum
//   weights-<hash>.bin      the tensors as little-endian float32, back to back
//
// Saving is crash-safe: the weights go to a new file named after their hash
// (written to a temporary name, flushed, then renamed), and only then is
// model.json replaced the same way. A crash at any point leaves a model.json
// that names a complete weights file, old or new. Old weights files are
// removed last.
//
// Loading parses JSON (never evaluates code), builds layers only from the
// known layer types, checks the weights file's size and SHA-256 and every
// tensor's shape, and returns a network only when all of it holds.

import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Activation } from './layers/activation.js';
import { Conv2D } from './layers/conv2d.js';
import { Dense } from './layers/dense.js';
import { Dropout } from './layers/dropout.js';
import { Flatten } from './layers/flatten.js';
import type { Layer, LayerConfig } from './layers/layer.js';
import { AvgPool2D, MaxPool2D } from './layers/pooling.js';
import { writeFileAtomically } from './atomic-file.js';
import { getLoss, LOSSES } from './losses.js';
import { Network } from './network.js';
import { getOptimizer, type Optimizer, type OptimizerConfig } from './optimizers.js';
import { describe, formatShape, sameShape } from './shape.js';
import { ModelFileError, OptionError } from './errors.js';
import { ownLookup } from './options.js';

export const MODEL_FORMAT = 'layerwise-model';
export const MODEL_VERSION = 1;
const MODEL_FILE = 'model.json';

/** Layer types a model file may name, each built from its config only. */
const LAYER_TYPES: Record<string, (c: LayerConfig) => Layer> = {
  Dense: ({ inputSize, outputSize, type: _t, ...options }) => new Dense(inputSize as number, outputSize as number, options),
  Activation: ({ kind, alpha }) => new Activation(kind as never, alpha === undefined ? undefined : { alpha: alpha as number }),
  Conv2D: ({ type: _t, ...options }) => new Conv2D(options as never),
  MaxPool2D: ({ type: _t, ...options }) => new MaxPool2D(options),
  AvgPool2D: ({ type: _t, ...options }) => new AvgPool2D(options),
  Dropout: ({ rate }) => new Dropout(rate as number),
  Flatten: () => new Flatten(),
};

/** A network described as data: what `layerwise train` reads from a spec file. */
export interface NetworkSpec {
  seed?: number;
  layers: LayerConfig[];
  loss?: string;
}

/** Builds a network from a spec, naming the first layer that is not valid. */
export function networkFromSpec(spec: NetworkSpec, source = 'network spec'): Network {
  if (spec === null || typeof spec !== 'object' || !Array.isArray(spec.layers)) {
    throw new OptionError(`${source}: expected { layers: [...] } but got ${describe(spec)}`);
  }
  if (spec.seed !== undefined && !Number.isInteger(spec.seed)) throw new OptionError(`${source}: seed must be an integer but is ${describe(spec.seed)}`);
  const network = new Network({ seed: spec.seed });
  spec.layers.forEach((config, i) => {
    const type = config && typeof config === 'object' ? config.type : undefined;
    if (typeof type !== 'string' || !Object.prototype.hasOwnProperty.call(LAYER_TYPES, type)) {
      throw new OptionError(`${source}: layer ${i} has unknown type ${describe(type)} (known: ${Object.keys(LAYER_TYPES).join(', ')})`);
    }
    try {
      network.add(LAYER_TYPES[type](config));
    } catch (err) {
      throw new OptionError(`${source}: layer ${i} (${type}): ${(err as Error).message}`);
    }
  });
  if (spec.loss !== undefined && spec.loss !== null) {
    if (ownLookup(LOSSES, spec.loss) === undefined) throw new OptionError(`${source}: unknown loss ${describe(spec.loss)}`);
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
  weights: { file: string; floats: number; sha256: string; tensors: TensorEntry[] };
  optimizer: null | { config: OptimizerConfig; steps: number[]; slots: TensorEntry[][] };
}

export interface SaveOptions {
  /** Also store the optimizer's state (moments, step counts) to resume training exactly. */
  optimizer?: Optimizer;
}

export interface LoadedModel {
  network: Network;
  /** The stored optimizer with its state, when the model was saved with one. */
  optimizer?: Optimizer;
}

/** Writes `network` (and optionally an optimizer's state) to `dir`, atomically. */
export async function saveNetwork(network: Network, dir: string, options: SaveOptions = {}): Promise<void> {
  if (typeof dir !== 'string' || dir === '') throw new OptionError(`expected a directory path but got ${describe(dir)}`);
  const layers = network.layers.map((l) => l.getConfig());
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
  let optimizer: ModelFile['optimizer'] = null;
  if (options.optimizer) {
    const state = options.optimizer.getState(params);
    optimizer = {
      config: options.optimizer.getConfig(),
      steps: state.steps,
      slots: state.slots.map((arrays, i) => arrays.map((a, k) => add(`${i}:${params[i].name}:slot${k}`, params[i].value.shape, a))),
    };
  }
  const bytes = toLittleEndian(chunks, offset);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const weightsFile = `weights-${sha256.slice(0, 16)}.bin`;
  const lossName = network.lossName();
  const model: ModelFile = {
    format: MODEL_FORMAT,
    version: MODEL_VERSION,
    seed: network.seed,
    loss: lossName !== undefined && ownLookup(LOSSES, lossName) !== undefined ? lossName : null,
    layers,
    weights: { file: weightsFile, floats: offset, sha256, tensors },
    optimizer,
  };

  await fs.mkdir(dir, { recursive: true });
  await writeFileAtomically(path.join(dir, weightsFile), bytes);
  await writeFileAtomically(path.join(dir, MODEL_FILE), Buffer.from(JSON.stringify(model, null, 1)));
  // Only now is the previous weights file unreferenced. Temporary files of
  // saves whose process died (killed mid-save) are swept up too.
  for (const name of await fs.readdir(dir)) {
    const stale = /^weights-[0-9a-f]{16}\.bin$/.test(name) ? name !== weightsFile : isOrphanedTemp(name);
    if (stale) await fs.rm(path.join(dir, name), { force: true });
  }
}

/** A temporary file left by a save whose process no longer exists. */
function isOrphanedTemp(name: string): boolean {
  const match = /\.tmp-(\d+)-\d+$/.exec(name);
  if (!match) return false;
  const pid = Number(match[1]);
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** Reads a model saved by saveNetwork; throws naming the problem, never returns a partial network. */
export async function loadNetwork(dir: string): Promise<LoadedModel> {
  if (typeof dir !== 'string' || dir === '') throw new OptionError(`expected a directory path but got ${describe(dir)}`);
  const modelPath = path.join(dir, MODEL_FILE);
  let text: string;
  try {
    text = await fs.readFile(modelPath, 'utf8');
  } catch (err) {
    throw new ModelFileError(`cannot read ${modelPath}: ${(err as Error).message}`);
  }
  let model: ModelFile;
  try {
    model = JSON.parse(text) as ModelFile;
  } catch {
    throw new ModelFileError(`${modelPath} is not valid JSON (truncated or corrupted?)`);
  }
  const fail = (what: string): never => {
    throw new ModelFileError(`${modelPath}: ${what}`);
  };
  if (model === null || typeof model !== 'object' || model.format !== MODEL_FORMAT) fail(`not a layerwise model (format is ${describe(model?.format)})`);
  if (model.version !== MODEL_VERSION) fail(`model version ${describe(model.version)} is not supported (this layerwise reads version ${MODEL_VERSION})`);
  if (!Array.isArray(model.layers)) fail('layers must be an array');
  if (!Number.isInteger(model.seed)) fail(`seed must be an integer but is ${describe(model.seed)}`);
  const w = model.weights;
  if (!w || typeof w.file !== 'string' || !/^weights-[0-9a-f]{16}\.bin$/.test(w.file) || !Number.isInteger(w.floats) || w.floats < 0 ||
    typeof w.sha256 !== 'string' || !Array.isArray(w.tensors)) {
    fail('the weights manifest is malformed');
  }

  let network: Network;
  try {
    network = networkFromSpec({ seed: model.seed, layers: model.layers, loss: model.loss ?? undefined }, modelPath);
  } catch (err) {
    throw new ModelFileError((err as Error).message);
  }

  const weightsPath = path.join(dir, w.file);
  let bytes: Buffer;
  try {
    bytes = await fs.readFile(weightsPath);
  } catch (err) {
    throw new ModelFileError(`cannot read ${weightsPath}: ${(err as Error).message}`);
  }
  if (bytes.length !== w.floats * 4) {
    throw new ModelFileError(`${weightsPath} holds ${bytes.length} bytes but ${modelPath} expects ${w.floats * 4} (truncated?)`);
  }
  if (createHash('sha256').update(bytes).digest('hex') !== w.sha256) {
    throw new ModelFileError(`${weightsPath} fails its SHA-256 check: the file is corrupted`);
  }
  const floats = fromLittleEndian(bytes);
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
  let optimizer: Optimizer | undefined;
  if (model.optimizer) {
    const o = model.optimizer;
    if (!o.config || !Array.isArray(o.steps) || !Array.isArray(o.slots) || o.slots.length !== params.length) fail('the optimizer state is malformed');
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
      optimizer!.setState(params, { steps: o.steps, slots });
    } catch (err) {
      fail(`optimizer: ${(err as Error).message}`);
    }
  }
  // Every check passed: fill the network.
  params.forEach((p, i) => p.value.data.set(values[i]));
  return { network, optimizer };
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
