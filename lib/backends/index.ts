// Backend selection.
//
// `native` is the default when the addon loads; LAYERWISE_BACKEND=js|native
// or setBackend() choose explicitly. Asking for `native` when it cannot load
// throws with the reason; otherwise a failed load falls back to `js` with one
// process warning. LAYERWISE_ADDON=/path/to/layerwise.node loads a specific
// build (the tests use it to run the cmake-js build through the same suite).

import * as path from 'node:path';
import type { Backend } from './backend.js';
import { jsBackend } from './js.js';
import { createNativeBackend, type CacheSizes, type NativeBinding } from './native.js';
import { BackendError, OptionError } from '../errors.js';

/** `'native'` (the C++ addon) or `'js'` (pure JavaScript). */
export type BackendName = 'js' | 'native';

interface NativeLoad {
  binding?: NativeBinding;
  backend?: Backend;
  path?: string;
  error?: Error;
}

let nativeLoad: NativeLoad | undefined;
let active: Backend | undefined;
let warned = false;

/** The package root, from lib/backends or dist/backends alike. */
const packageRoot = path.resolve(__dirname, '..', '..');

function loadNative(): NativeLoad {
  if (nativeLoad) return nativeLoad;
  try {
    const explicit = process.env.LAYERWISE_ADDON;
    let binding: NativeBinding;
    let from: string;
    if (explicit) {
      from = path.resolve(explicit);
      binding = require(from) as NativeBinding;
    } else {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const nodeGypBuild = require('node-gyp-build') as { (dir: string): unknown; resolve(dir: string): string };
      from = nodeGypBuild.resolve(packageRoot);
      binding = require(from) as NativeBinding;
    }
    if (typeof binding?.matmul !== 'function') throw new BackendError(`${from} is not a layerwise addon`);
    nativeLoad = { binding, backend: createNativeBackend(binding), path: from };
  } catch (err) {
    nativeLoad = { error: err instanceof Error ? err : new Error(String(err)) };
  }
  if (nativeLoad.binding) applyEnvironment(nativeLoad.binding);
  return nativeLoad;
}

function applyEnvironment(binding: NativeBinding): void {
  const threads = threadsFromEnvironment();
  if (threads !== undefined) binding.setNumThreads(threads);
}

/**
 * LAYERWISE_NUM_THREADS, checked wherever a backend is chosen: a typo is an
 * error, never a silent change (it once made the addon "fail to load" and the
 * process fall back to the JS backend).
 */
function threadsFromEnvironment(): number | undefined {
  const threads = process.env.LAYERWISE_NUM_THREADS;
  if (threads === undefined || threads === '') return undefined;
  const n = Number(threads);
  if (!/^\s*\d+\s*$/.test(threads) || !Number.isInteger(n) || n < 0) {
    throw new OptionError(`LAYERWISE_NUM_THREADS must be a non-negative integer but is '${threads}'`);
  }
  return n;
}

function requireNative(): Backend {
  threadsFromEnvironment();
  const load = loadNative();
  if (!load.backend) {
    throw new BackendError(`the native backend could not be loaded: ${load.error?.message ?? 'unknown reason'}`);
  }
  return load.backend;
}

function initialBackend(): Backend {
  threadsFromEnvironment();
  const requested = process.env.LAYERWISE_BACKEND;
  if (requested === 'js') return jsBackend;
  if (requested === 'native') return requireNative();
  if (requested !== undefined && requested !== '') {
    throw new OptionError(`LAYERWISE_BACKEND must be 'js' or 'native' but is '${requested}'`);
  }
  const load = loadNative();
  if (load.backend) return load.backend;
  if (!warned) {
    warned = true;
    process.emitWarning(
      `layerwise: native kernels unavailable (${load.error?.message.split('\n')[0]}); using the slower JavaScript backend`,
      { code: 'LAYERWISE_NO_NATIVE' },
    );
  }
  return jsBackend;
}

/** The backend every layer and op uses. */
export function getBackend(): Backend {
  if (!active) active = initialBackend();
  return active;
}

/** Chooses the backend; 'native' throws with the reason if the addon cannot load. */
export function setBackend(name: BackendName): void {
  if (name === 'js') active = jsBackend;
  else if (name === 'native') active = requireNative();
  else throw new OptionError(`expected 'js' or 'native' for the backend but got '${String(name)}'`);
}

/** Whether the native addon loads here. */
export function nativeAvailable(): boolean {
  return loadNative().backend !== undefined;
}

/** The raw addon (for tests and diagnostics); throws if it cannot load. */
export function nativeBinding(): NativeBinding {
  requireNative();
  return loadNative().binding!;
}

/** What `nativeInfo()` reports about the native addon: whether it loaded, from where (or why not), its instruction-set variant and thread count. */
export interface NativeInfo {
  available: boolean;
  path?: string;
  error?: string;
  isa?: string;
  supportedIsas?: string[];
  threads?: number;
  /** Per-core L1 data and L2 and the shared L3 cache, in bytes, as the kernels' blocking reads them (sysfs, else cpuid). */
  caches?: CacheSizes;
}

/** Whether the native addon loaded, from which file (or why not), its instruction-set variant and thread count. */
export function nativeInfo(): NativeInfo {
  const load = loadNative();
  if (!load.binding) return { available: false, error: load.error?.message };
  const info = load.binding.info();
  return { available: true, path: load.path, isa: info.isa, supportedIsas: info.supported, threads: info.threads, caches: info.caches };
}

/** Threads the native kernels may use; 0 means one per core. */
export function setNumThreads(n: number): void {
  if (!Number.isInteger(n) || n < 0) throw new OptionError(`expected a non-negative integer thread count but got ${n}`);
  nativeBinding().setNumThreads(n);
}

/**
 * Moves the calling thread (a worker_thread) to the OS's idle scheduling
 * class: any normal thread that wakes then takes its core at once. False when
 * the addon is not loaded or the OS has no such class (Linux has).
 */
export function makeThreadIdlePriority(): boolean {
  const binding = loadNative().binding;
  return binding !== undefined && typeof binding.makeThreadIdlePriority === 'function' && binding.makeThreadIdlePriority();
}

export { jsBackend };
export type { Backend };
