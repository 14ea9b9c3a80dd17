// What every command shares: where output goes, --backend/--threads, and a
// description of the compute setup for `info`, `start` events and reports.

import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { getBackend, nativeAvailable, nativeInfo, setBackend, setNumThreads } from '../backends/index.js';
import { choiceOption, integerOption, UsageError, type Values } from './args.js';

export interface CommandIo {
  out: (text: string) => void;
  err: (text: string) => void;
  isTTY: boolean;
  columns: () => number;
}

export const processIo: CommandIo = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  isTTY: process.stdout.isTTY === true,
  columns: () => process.stdout.columns ?? 100,
};

/** The package version, from lib/cli or dist/cli alike. */
export function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(path.resolve(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/** Applies --backend and --threads. */
export function applyRuntime(values: Values, note: (message: string) => void): void {
  const backend = choiceOption(values, 'backend', ['js', 'native'] as const);
  const threads = integerOption(values, 'threads', 0);
  if (backend !== undefined) {
    try {
      setBackend(backend);
    } catch (err) {
      throw new UsageError(`--backend ${backend}: ${(err as Error).message}`);
    }
  }
  if (threads !== undefined) {
    if (nativeAvailable()) setNumThreads(threads);
    else note(`--threads ${threads} ignored: the native addon is not available (${nativeInfo().error ?? 'unknown reason'})`);
  }
}

export interface RuntimeInfo {
  backend: string;
  threads?: number;
  isa?: string;
}

export function runtimeInfo(): RuntimeInfo {
  const backend = getBackend().name;
  if (backend !== 'native') return { backend };
  const info = nativeInfo();
  return { backend, threads: info.threads, isa: info.isa };
}
