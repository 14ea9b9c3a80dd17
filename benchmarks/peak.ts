// The machine's fp32 FMA peak, measured at run time by the addon's
// multiply-add loop (native/kernels/peak.cc) in every ISA variant the CPU
// runs, on one thread and on two. Machine types change between sessions
// (Zen 4: ~117 GFLOP/s a core, Zen 5: ~223), so no benchmark takes a peak from
// notes. Other processes can only slow a run down, so the best of several
// short runs is the estimate.

import { nativeAvailable, nativeBinding, nativeInfo } from '../lib/backends/index.js';

export interface Peak {
  /** GFLOP/s by ISA variant, then by thread count. */
  byIsa: Record<string, Record<number, number>>;
  /** The fastest variant's peak by thread count: what "% of peak" divides by. */
  best: Record<number, number>;
  /** How the numbers were obtained, for the tables' headers. */
  source: string;
}

/** Rounds of one probe: ~10–40 ms a run, short enough to repeat while the machine is quiet. */
const ROUNDS = 1 << 22;
export const PEAK_THREADS = [1, 2] as const;

interface PeakProbe { fmaPeak(isa: string, rounds: number, threads: number): number }

function peakProbe(): PeakProbe {
  if (!nativeAvailable()) throw new Error(`the FMA peak needs the native addon (${nativeInfo().error})`);
  const probe = nativeBinding() as unknown as Partial<PeakProbe>;
  if (typeof probe.fmaPeak !== 'function') throw new Error('the loaded addon has no fmaPeak: rebuild it with npm run build:native');
  return probe as PeakProbe;
}

/** GFLOP/s of the FMA loop in `isa` on `threads` threads: the best of `repeats` runs of `rounds` rounds each. */
export function fmaRate(isa: string, threads: number, repeats: number, rounds = ROUNDS): number {
  const probe = peakProbe();
  probe.fmaPeak(isa, rounds >> 3, threads); // wakes the pool's threads (a sleeping one misses the first region)
  let best = 0;
  for (let r = 0; r < repeats; r++) best = Math.max(best, probe.fmaPeak(isa, rounds, threads));
  return best;
}

export function measurePeak(repeats = 7): Peak {
  peakProbe();
  const isas = nativeInfo().supportedIsas ?? ['baseline'];
  const byIsa: Record<string, Record<number, number>> = {};
  for (const isa of isas) {
    byIsa[isa] = {};
    for (const threads of PEAK_THREADS) byIsa[isa][threads] = Math.round(fmaRate(isa, threads, repeats));
  }
  const best: Record<number, number> = {};
  for (const t of PEAK_THREADS) best[t] = Math.max(...isas.map((i) => byIsa[i][t]));
  return { byIsa, best, source: `measured by this run (best of ${repeats} multiply-add loops per variant): ${describePeak(byIsa)}` };
}

export function describePeak(byIsa: Record<string, Record<number, number>>): string {
  return Object.entries(byIsa).map(([isa, p]) => `${isa} ${p[1]} / ${p[2]}`).join(', ') + ' GFLOP/s on 1 / 2 threads';
}
