// Float32Arrays that start on a 128-byte boundary, for the buffers the native
// kernels split between threads: layer weights, their gradients, and the
// workspaces layers write their outputs to.
//
// Why: the GEMM splits a dense layer's products by W's columns
// (gemm.cc choose_task_grid), so each thread updates its own half of every row
// of W. The allocator places an ArrayBuffer of a few hundred KB 16 bytes past
// a page, so the two halves of each row met inside a cache line, and the two
// cores traded that line once per row: 784 times per MLP weight update. On two
// threads that update took 56–70 µs against 37–44 µs for the same W starting
// on a boundary (Zen 4, batch 32; one thread 66 µs either way). 128 rather
// than 64: the L2's adjacent-line prefetcher fetches lines in 128-byte pairs.
//
// Only the address changes: no kernel reads differently, so results are the
// same bits. Small arrays, and the pure-JS backend, get a plain Float32Array.

import { getBackend, nativeBinding } from './backends/index.js';

const ALIGNMENT = 128;
/** Below this, an array spans too few rows for a shared line to matter. */
const MIN_BYTES = 4096;

/** A zero-filled Float32Array of `length` elements, its first on a 128-byte boundary when the native backend is in use. */
export function alignedFloat32Array(length: number): Float32Array {
  if (length * 4 < MIN_BYTES || getBackend().name !== 'native') return new Float32Array(length);
  const buffer = new ArrayBuffer(length * 4 + ALIGNMENT);
  const skew = nativeBinding().misalignment(new Float32Array(buffer, 0, 1));
  const offset = (ALIGNMENT - skew) % ALIGNMENT;
  // ArrayBuffers start at least 8-byte aligned, so the offset is whole floats; checked all the same.
  return new Float32Array(buffer, offset % 4 === 0 ? offset : 0, length);
}
