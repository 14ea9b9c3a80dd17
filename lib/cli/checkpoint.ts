// Training checkpoints: <out>/checkpoint/ holds the model with its optimizer
// state (network.save) plus state.json, fit's TrainingState and the run's
// settings. The three files must always belong to the same moment, so a
// checkpoint is built complete in a fresh sibling directory and then swapped
// in by renames:
//
//   1. write <out>/.checkpoint-new-<pid>-<k>/ (model, weights, state.json last)
//   2. rename <out>/checkpoint        -> <out>/.checkpoint-old-<pid>-<k>
//   3. rename <out>/.checkpoint-new-… -> <out>/checkpoint
//   4. remove the old one
//
// A crash between 2 and 3 leaves no `checkpoint` but a complete new one (it
// has state.json) and the old one; readCheckpoint falls back to them in that
// order.
//
// Once an epoch has been validated, best.bin beside them holds the weights of
// the best validation epoch so far (RestoreBestWeights), so that a resumed run
// still ends with the epoch an uninterrupted one would have selected.

import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { BestWeights, Monitor } from '../callbacks.js';
import type { Network, TrainingState } from '../network.js';
import type { Optimizer } from '../optimizers.js';
import { loadNetwork } from '../serialize.js';
import { syncDirectory, writeFileAtomically } from '../atomic-file.js';
import { UsageError } from './args.js';

export const CHECKPOINT_DIR = 'checkpoint';
const STATE_FILE = 'state.json';
const BEST_FILE = 'best.bin';
const FORMAT = 'layerwise-checkpoint';
const VERSION = 1;

export interface CheckpointFile<S> {
  format: typeof FORMAT;
  version: number;
  /** SHA-256 of the weights file saved beside it: guards against a model.json and state.json from different saves. */
  weightsSha256: string;
  savedAt: string;
  reason: 'signal' | 'periodic';
  settings: S;
  state: TrainingState;
  /** The best validation epoch so far, whose weights are in best.bin (getWeights() order, float32). */
  best?: { epoch: number; monitor: Monitor; value: number; tieBreaker?: number | null; floats: number; sha256: string };
}

export interface LoadedCheckpoint<S> {
  dir: string;
  file: CheckpointFile<S>;
  network: Network;
  optimizer?: Optimizer;
  best?: BestWeights;
}

let counter = 0;

/**
 * Only a directory that is a layerwise checkpoint is ever moved aside or
 * removed: an unrelated `checkpoint/` in --out is left alone (and refused).
 */
async function isCheckpoint(dir: string): Promise<boolean> {
  try {
    const head = (await fs.readFile(path.join(dir, STATE_FILE), 'utf8')).slice(0, 256);
    return head.includes(`"format":"${FORMAT}"`);
  } catch {
    return false;
  }
}

export async function writeCheckpoint<S>(
  out: string, network: Network, optimizer: Optimizer, state: TrainingState, settings: S, reason: CheckpointFile<S>['reason'],
  best?: BestWeights,
): Promise<string> {
  const final = path.join(out, CHECKPOINT_DIR);
  const fresh = path.join(out, `.checkpoint-new-${process.pid}-${++counter}`);
  await fs.rm(fresh, { recursive: true, force: true });
  await network.save(fresh, { optimizer });
  const model = JSON.parse(await fs.readFile(path.join(fresh, 'model.json'), 'utf8')) as { weights: { sha256: string } };
  const file: CheckpointFile<S> = {
    format: FORMAT, version: VERSION, weightsSha256: model.weights.sha256, savedAt: new Date().toISOString(), reason, settings, state,
  };
  if (best) {
    const bytes = concatFloats(best.weights);
    await writeFileAtomically(path.join(fresh, BEST_FILE), bytes);
    // JSON has no NaN: null stands for "no tie-breaker value".
    const tieBreaker = best.tieBreaker === undefined || Number.isNaN(best.tieBreaker) ? null : best.tieBreaker;
    file.best = { epoch: best.epoch, monitor: best.monitor, value: best.value, tieBreaker, floats: bytes.length / 4, sha256: sha256(bytes) };
  }
  await writeFileAtomically(path.join(fresh, STATE_FILE), JSON.stringify(file));

  const old = path.join(out, `.checkpoint-old-${process.pid}-${counter}`);
  let moved = false;
  try {
    await fs.access(final);
    if (!(await isCheckpoint(final))) {
      await fs.rm(fresh, { recursive: true, force: true });
      throw new UsageError(`${final} exists and is not a layerwise checkpoint: refusing to replace it`);
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  try {
    await fs.rename(final, old);
    moved = true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  await fs.rename(fresh, final);
  await syncDirectory(out);
  if (moved) await fs.rm(old, { recursive: true, force: true });
  return final;
}

/** The newest complete checkpoint under `out`, or a UsageError when there is none. */
export async function readCheckpoint<S>(out: string): Promise<LoadedCheckpoint<S>> {
  const candidates = [path.join(out, CHECKPOINT_DIR)];
  try {
    const names = (await fs.readdir(out)).filter((n) => /^\.checkpoint-(new|old)-/.test(n));
    // A complete new one is more recent than an old one.
    names.sort((a, b) => Number(b.includes('-new-')) - Number(a.includes('-new-')));
    candidates.push(...names.map((n) => path.join(out, n)));
  } catch {
    // No output directory at all: reported below.
  }
  for (const dir of candidates) {
    let text: string;
    try {
      text = await fs.readFile(path.join(dir, STATE_FILE), 'utf8');
    } catch {
      continue;
    }
    let file: CheckpointFile<S>;
    try {
      file = JSON.parse(text) as CheckpointFile<S>;
    } catch {
      throw new UsageError(`${path.join(dir, STATE_FILE)} is not valid JSON (corrupted?)`);
    }
    if (file?.format !== FORMAT || file.version !== VERSION || !file.state || !file.settings) {
      throw new UsageError(`${path.join(dir, STATE_FILE)} is not a layerwise checkpoint of version ${VERSION}`);
    }
    const loaded = await loadNetwork(dir);
    const model = JSON.parse(await fs.readFile(path.join(dir, 'model.json'), 'utf8')) as { weights: { sha256: string } };
    if (model.weights.sha256 !== file.weightsSha256) {
      throw new UsageError(`${dir}: state.json and model.json come from different saves; the checkpoint cannot be trusted`);
    }
    return { dir, file, network: loaded.network, optimizer: loaded.optimizer, best: await readBest(dir, file, loaded.network) };
  }
  throw new UsageError(`--resume: no checkpoint in ${path.join(out, CHECKPOINT_DIR)} (it is written when training is interrupted or with --checkpoint-every)`);
}

/**
 * Removes the checkpoint of a finished run: `checkpoint/` only when it is a
 * layerwise checkpoint, and the swap directories only of this process (another
 * run's, even a dead one's, may be all that is left of its work).
 */
export async function removeCheckpoints(out: string): Promise<void> {
  let names: string[];
  try {
    names = await fs.readdir(out);
  } catch {
    return;
  }
  const mine = new RegExp(`^\\.checkpoint-(new|old)-${process.pid}-\\d+$`);
  for (const name of names) {
    const full = path.join(out, name);
    if ((name === CHECKPOINT_DIR && (await isCheckpoint(full))) || mine.test(name)) await fs.rm(full, { recursive: true, force: true });
  }
}


function concatFloats(arrays: readonly Float32Array[]): Buffer {
  const all = new Float32Array(arrays.reduce((n, a) => n + a.length, 0));
  let offset = 0;
  for (const a of arrays) {
    all.set(a, offset);
    offset += a.length;
  }
  return Buffer.from(all.buffer, all.byteOffset, all.byteLength);
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** best.bin split into getWeights()-shaped arrays, checked against state.json and the network. */
async function readBest(dir: string, file: CheckpointFile<unknown>, network: Network): Promise<BestWeights | undefined> {
  if (!file.best) return undefined;
  const where = path.join(dir, BEST_FILE);
  let bytes: Buffer;
  try {
    bytes = await fs.readFile(where);
  } catch (err) {
    throw new UsageError(`${where}: cannot read the best epoch's weights (${(err as Error).message}); the checkpoint is incomplete`);
  }
  const sizes = network.getWeights().map((w) => w.length);
  const floats = sizes.reduce((a, b) => a + b, 0);
  if (sha256(bytes) !== file.best.sha256 || bytes.length !== floats * 4 || file.best.floats !== floats) {
    throw new UsageError(`${where}: expected ${floats} floats matching state.json's SHA-256 but the file differs; the checkpoint cannot be trusted`);
  }
  const all = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
  const weights: Float32Array[] = [];
  let offset = 0;
  for (const size of sizes) {
    weights.push(all.subarray(offset, offset + size));
    offset += size;
  }
  return { epoch: file.best.epoch, monitor: file.best.monitor, value: file.best.value, tieBreaker: file.best.tieBreaker ?? NaN, weights };
}
