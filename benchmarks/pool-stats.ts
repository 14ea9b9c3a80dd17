// The native thread pool's counters (threadpool.h PoolStats), for the
// benchmarks: how many regions asked for two threads ran on one, and why.

import { nativeAvailable, nativeBinding } from '../lib/backends/index.js';

export interface PoolStats {
  regions: number;
  serialRegions: number;
  stalls: number;
  stallsForgiven: number;
  starved: number;
  /** Cross-core probes of the helpers' distance, and those that found them far (threadpool.cc). */
  probes: number;
  farProbes: number;
  /** Shared-core probes, those that found the helper on the caller's core, and the regions run on the caller alone for it. */
  sharedProbes: number;
  sharedCoreProbes: number;
  sharedSerialRegions: number;
}

const ZERO: PoolStats = {
  regions: 0, serialRegions: 0, stalls: 0, stallsForgiven: 0, starved: 0, probes: 0, farProbes: 0, sharedProbes: 0, sharedCoreProbes: 0, sharedSerialRegions: 0,
};

/** The counters since the process started (zeros without the addon, or an addon built before it had them). */
export function poolStats(): PoolStats {
  if (!nativeAvailable()) return { ...ZERO };
  const binding = nativeBinding() as unknown as { poolStats?: () => PoolStats };
  if (!binding.poolStats) return { ...ZERO };
  // Only the counters: the binding also reports the latest probes' readings, which do not add up.
  const all = binding.poolStats();
  const counters = { ...ZERO };
  for (const key of Object.keys(ZERO) as (keyof PoolStats)[]) counters[key] = all[key] ?? 0;
  return counters;
}

/** `total` plus the counts between the snapshots `before` and `after`. */
export function addPoolStats(total: PoolStats | undefined, after: PoolStats, before: PoolStats): PoolStats {
  const sum = { ...(total ?? ZERO) };
  for (const key of Object.keys(ZERO) as (keyof PoolStats)[]) sum[key] += after[key] - before[key];
  return sum;
}

export function describePoolStats(s: PoolStats): string {
  const share = s.regions > 0 ? (100 * s.serialRegions) / s.regions : 0;
  return `${share.toFixed(1)}% of ${s.regions} split regions ran on one thread; ` +
    `${s.stalls} stalls (${s.stallsForgiven} short ones forgiven), the caller waited for a core ${s.starved} times; ` +
    `${s.farProbes} of ${s.probes} probes found the cores far apart (only big calls split then); ` +
    `${s.sharedCoreProbes} of ${s.sharedProbes} found both threads on one core (${s.sharedSerialRegions} regions on one thread for it)`;
}
