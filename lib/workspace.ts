// The memory plan: every layer (and the fit loop) keeps the buffers it writes
// in a Workspace and gets them back on the next call instead of allocating.
// Fresh typed arrays per batch cost a zero fill, page faults on first touch and
// garbage collection, which profiled at about a third of a training step.
//
// A workspace grows to the largest batch it has seen and never shrinks; a
// smaller batch (the last one of an epoch, or a short predict call) is a view
// over the front of the same memory. Workspaces belong to one layer object, so
// nothing is shared between networks or worker threads.

import { alignedFloat32Array } from './aligned.js';
import { checkShape, sameShape, sizeOf } from './shape.js';
import { Tensor } from './tensor.js';

export class Workspace {
  private buffer?: Float32Array;
  private last?: Tensor;

  /**
   * A tensor of `shape` over this workspace's memory. Its contents are left
   * from the previous use (not zeroed): callers hand it to kernels that
   * overwrite their output. The tensor stays valid until the next call.
   */
  tensor(shape: readonly number[]): Tensor {
    this.settleReads();
    const last = this.last;
    if (last !== undefined && sameShape(last.shape, shape)) return last;
    const dims = checkShape(shape, 'workspace shape');
    const size = sizeOf(dims);
    if (this.buffer === undefined || this.buffer.length < size) this.buffer = alignedFloat32Array(size);
    this.last = new Tensor(size === this.buffer.length ? this.buffer : this.buffer.subarray(0, size), dims);
    return this.last;
  }

  /**
   * tensor() of `shape` with dimension `axis` set to `size` (a batch of a
   * data set's rows, a layer's output width): the shape array is built only
   * when it changes, not on every step.
   */
  tensorWith(shape: readonly number[], axis: number, size: number): Tensor {
    const last = this.last;
    if (last !== undefined && sameDimsWith(last.shape, shape, axis, size)) {
      this.settleReads();
      return last;
    }
    const dims = [...shape];
    dims[axis] = size;
    return this.tensor(dims);
  }

  /** This memory is handed out again: the deferred work that reads it runs first (see DeferredRead). */
  private settleReads(): void {
    if (deferredReads.size !== 0 && this.buffer !== undefined) settleReadsOf(this.buffer.buffer);
  }

  /** Like tensor(), but zero-filled, for kernels that only write some entries. */
  zeros(shape: readonly number[]): Tensor {
    const t = this.tensor(shape);
    t.data.fill(0);
    return t;
  }
}

/**
 * Work put off until its result is read, which reads workspace memory: Dense's
 * weight gradient under the folded SGD with a batch callback (Dense.backward).
 * It runs at the first of:
 * - a read (Dense.weightsGrad, its Parameter's grad);
 * - its inputs about to change. Workspace memory changes only after tensor()
 *   hands it out again, so tensor() first runs the work that reads it, whoever
 *   asks (a layer's forward or backward, a predict or evaluate in a callback).
 *   Memory no Workspace owns (a custom layer's own array) is covered by
 *   Network.forward and backward, which first run their network's pending work;
 * - the end of fit, so nothing stays registered here afterwards.
 * It is dropped unrun when superseded: by the layer's next backward, and at
 * fit's next step (its callbacks did not read it).
 */
export interface DeferredRead {
  /** The memory the work reads (the ArrayBuffers under its inputs). */
  readonly sources: ArrayBufferLike[];
  /** Who settles or drops it in bulk (Network.fit: its fold, see Layer.foldedSgd). */
  owner: object;
  run(): void;
}

const deferredReads = new Set<DeferredRead>();

export function deferRead(read: DeferredRead): void {
  deferredReads.add(read);
}

/** Runs `read` now if it is still pending. */
export function settleRead(read: DeferredRead): void {
  if (deferredReads.delete(read)) read.run();
}

/** Forgets `read` unrun (its result is about to be overwritten or no longer wanted). */
export function dropRead(read: DeferredRead): void {
  deferredReads.delete(read);
}

/** Runs (`run`) or drops every pending read of `owner`. */
export function endReadsOf(owner: object, run: boolean): void {
  if (deferredReads.size === 0) return;
  for (const read of deferredReads) {
    if (read.owner !== owner) continue;
    deferredReads.delete(read);
    if (run) read.run();
  }
}

function settleReadsOf(memory: ArrayBufferLike): void {
  for (const read of deferredReads) if (read.sources.includes(memory)) settleRead(read);
}

/** The same for Int32Array scratch (max-pool winners). */
export class IndexWorkspace {
  private buffer?: Int32Array;

  array(size: number): Int32Array {
    if (this.buffer === undefined || this.buffer.length < size) this.buffer = new Int32Array(size);
    return size === this.buffer.length ? this.buffer : this.buffer.subarray(0, size);
  }
}

/** Whether `a` equals `b` with b[axis] replaced by `size`. */
function sameDimsWith(a: readonly number[], b: readonly number[], axis: number, size: number): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== (i === axis ? size : b[i])) return false;
  return true;
}
