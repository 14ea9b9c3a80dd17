// Event-loop lag, measured so that a reader can tell what held the loop.
//
// A 10 ms heartbeat late by L ms says the loop was not free for L ms, not
// why. On a virtual machine the host can stall the whole guest for several
// milliseconds (a bare sleeping C loop here sees 2–35 ms stalls a few times a
// minute), so a heartbeat can be late with nothing running in the process.
// Two extra measurements separate that from the process's own work:
// - the main thread's CPU time during each beat (Linux schedstat): what the
//   process itself held the loop for;
// - a machine probe: the same heartbeat in a separate, otherwise idle Node
//   process running during the same seconds. A beat of ours that is late while
//   the probe was late too was a stall of the machine, not of our process.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

const mainThreadStat = `/proc/self/task/${process.pid}/schedstat`;
const readMainThreadStat: (() => number[]) | undefined = existsSync(mainThreadStat)
  ? () => readFileSync(mainThreadStat, 'utf8').split(' ').map((f) => Number(f) / 1e6)
  : undefined;
/** The main thread's CPU time in ms (nanoseconds on CPU, from Linux's schedstat), or undefined elsewhere. */
export const mainThreadCpu: (() => number) | undefined = readMainThreadStat && (() => readMainThreadStat()[0]);

/**
 * One late beat: when it ended (ms since the epoch), how late it was, and the
 * main thread's time during it on a core and runnable but waiting for one.
 */
export interface LateBeat { endMs: number; lagMs: number; mainCpuMs: number; mainWaitMs: number }

export interface HeartbeatRecord {
  beats: number;
  /** Every beat's lag in ms, sorted. */
  lags: number[];
  /** Beats later than `lateMs`, in time order. */
  late: LateBeat[];
}

/** Starts a heartbeat every `periodMs`; `stop()` ends it and returns what it saw. */
export function startHeartbeat(periodMs = 10, lateMs = 2): { stop(): HeartbeatRecord } {
  const lags: number[] = [];
  const late: LateBeat[] = [];
  let last = performance.now();
  let [lastCpu, lastWait] = readMainThreadStat?.() ?? [0, 0];
  const beat = (): void => {
    const now = performance.now();
    const [cpu, wait] = readMainThreadStat?.() ?? [0, 0];
    const lag = now - last - periodMs;
    lags.push(lag);
    if (lag > lateMs) late.push({ endMs: performance.timeOrigin + now, lagMs: lag, mainCpuMs: cpu - lastCpu, mainWaitMs: wait - lastWait });
    [last, lastCpu, lastWait] = [now, cpu, wait];
  };
  const timer = setInterval(beat, periodMs);
  return {
    stop(): HeartbeatRecord {
      beat();
      clearInterval(timer);
      return { beats: lags.length, lags: lags.sort((a, b) => a - b), late };
    },
  };
}

// The probe's program (argv: period and lateness threshold in ms): a plain
// heartbeat that writes its late beats as JSON when its stdin closes.
const PROBE = `
const { performance } = require('node:perf_hooks');
const [period, lateMs] = process.argv.slice(1).map(Number);
const late = [];
let last = performance.now(), beats = 0;
const timer = setInterval(() => {
  const now = performance.now(), lag = now - last - period;
  beats++;
  if (lag > lateMs) late.push({ endMs: performance.timeOrigin + now, lagMs: lag, mainCpuMs: 0, mainWaitMs: 0 });
  last = now;
}, period);
process.stdin.on('data', () => {});
process.stdin.on('end', () => { clearInterval(timer); process.stdout.write(JSON.stringify({ beats, late })); });
`;

/** A separate idle Node process beating like startHeartbeat; `stop()` resolves with its late beats. */
export async function startMachineProbe(periodMs = 10, lateMs = 2): Promise<{ stop(): Promise<{ beats: number; late: LateBeat[] }> }> {
  const child: ChildProcess = spawn(process.execPath, ['-e', PROBE, String(periodMs), String(lateMs)], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  const exited = new Promise<{ beats: number; late: LateBeat[] }>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`the machine probe exited with code ${code}`))));
  });
  // Give the probe time to start beating before the measured work begins.
  await new Promise((resolve) => setTimeout(resolve, 300));
  return {
    stop: () => {
      child.stdin!.end();
      return exited;
    },
  };
}

/**
 * Whether the probe was stalled while `beat` was late: one of its own late
 * beats overlaps the span [end − lag, end] (the stretch ours was held up), by
 * clocks that agree to well under a millisecond within one machine.
 */
export function machineStalled(beat: LateBeat, probeLate: readonly LateBeat[]): boolean {
  const from = beat.endMs - beat.lagMs;
  return probeLate.some((p) => p.endMs > from && p.endMs - p.lagMs < beat.endMs);
}
