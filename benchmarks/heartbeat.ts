// Event-loop lag, measured so that a reader can tell what held the loop.
//
// A 10 ms heartbeat late by L ms says the loop was not free for L ms, not
// why. On a virtual machine the host can stall the whole guest for several
// milliseconds (a bare sleeping C loop here sees 2–35 ms stalls a few times a
// minute), so a heartbeat can be late with nothing running in the process.
// Two extra measurements separate that from the process's own work:
// - the main thread's CPU time during each beat (Linux schedstat): what the
//   process itself held the loop for;
// - machine probes: the same heartbeat in separate, otherwise idle Node
//   processes running during the same seconds, one pinned to each CPU (with
//   util-linux's taskset; one unpinned probe where it is missing). The host
//   can stall one virtual CPU while the other runs, and the main thread, woken
//   on the stalled one, then counts as waiting for a core although every
//   thread beside it runs at idle priority. So each late beat also records the
//   CPU the main thread ran it on. A beat of ours that is late while the probe
//   on that same CPU was late too, and in which the main thread itself ran for
//   less than the lag target, was a stall of the machine, not of our process.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

const mainThreadStat = `/proc/self/task/${process.pid}/schedstat`;
const readMainThreadStat: (() => number[]) | undefined = existsSync(mainThreadStat)
  ? () => readFileSync(mainThreadStat, 'utf8').split(' ').map((f) => Number(f) / 1e6)
  : undefined;
/** The main thread's CPU time in ms (nanoseconds on CPU, from Linux's schedstat), or undefined elsewhere. */
export const mainThreadCpu: (() => number) | undefined = readMainThreadStat && (() => readMainThreadStat()[0]);

const mainThreadProcStat = `/proc/self/task/${process.pid}/stat`;
/** The CPU the main thread is running on now (field 39 of Linux's stat), or −1 where that is not known. */
function mainThreadCpuIndex(): number {
  if (!existsSync(mainThreadProcStat)) return -1;
  // The fields after the command name, which is in parentheses and may hold spaces; the first of them is field 3.
  const stat = readFileSync(mainThreadProcStat, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const cpu = Number(fields[39 - 3]);
  return Number.isInteger(cpu) ? cpu : -1;
}

/**
 * One late beat: when it ended (ms since the epoch), how late it was, the
 * main thread's time during it on a core and runnable but waiting for one,
 * and the CPU the beat ran on (−1 when not known).
 */
export interface LateBeat { endMs: number; lagMs: number; mainCpuMs: number; mainWaitMs: number; cpu: number }

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
    if (lag > lateMs) late.push({ endMs: performance.timeOrigin + now, lagMs: lag, mainCpuMs: cpu - lastCpu, mainWaitMs: wait - lastWait, cpu: mainThreadCpuIndex() });
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
  if (lag > lateMs) late.push({ endMs: performance.timeOrigin + now, lagMs: lag, mainCpuMs: 0, mainWaitMs: 0, cpu: -1 });
  last = now;
}, period);
process.stdin.on('data', () => {});
process.stdin.on('end', () => { clearInterval(timer); process.stdout.write(JSON.stringify({ beats, late })); });
`;

/** One probe's record: the CPU it was pinned to (−1: not pinned), its beat count and its late beats. */
export interface ProbeRecord { cpu: number; beats: number; late: LateBeat[] }

const TASKSET = ['/usr/bin/taskset', '/bin/taskset'].find((p) => existsSync(p));

/** The CPUs this process may run on (Linux's Cpus_allowed_list, such as "0-1,4"), or [] where that is not known. */
function allowedCpus(): number[] {
  const status = existsSync('/proc/self/status') ? readFileSync('/proc/self/status', 'utf8') : '';
  const list = /^Cpus_allowed_list:\s*(\S+)/m.exec(status)?.[1];
  if (!list) return [];
  const cpus: number[] = [];
  for (const part of list.split(',')) {
    const [from, to = from] = part.split('-').map(Number);
    if (!Number.isInteger(from) || !Number.isInteger(to)) return [];
    for (let c = from; c <= to; c++) cpus.push(c);
  }
  return cpus;
}

/** One separate idle Node process beating like startHeartbeat, pinned to `cpu` when cpu ≥ 0. */
function spawnProbe(cpu: number, periodMs: number, lateMs: number): Promise<ProbeRecord> & { child: ChildProcess } {
  const node = [process.execPath, '-e', PROBE, String(periodMs), String(lateMs)];
  const [command, ...args] = cpu >= 0 ? [TASKSET!, '-c', String(cpu), ...node] : node;
  const child: ChildProcess = spawn(command, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  const exited = new Promise<ProbeRecord>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve({ cpu, ...JSON.parse(out) }) : reject(new Error(`the machine probe on CPU ${cpu} exited with code ${code}`))));
  });
  return Object.assign(exited, { child });
}

/**
 * Idle Node processes beating like startHeartbeat: one pinned to each CPU
 * this process may use where taskset exists and the CPUs are known, else one
 * unpinned; `stop()` resolves with their records.
 */
export async function startMachineProbes(periodMs = 10, lateMs = 2): Promise<{ stop(): Promise<ProbeRecord[]> }> {
  const allowed = TASKSET ? allowedCpus() : [];
  const cpus = allowed.length > 0 ? allowed : [-1];
  const probes = cpus.map((cpu) => spawnProbe(cpu, periodMs, lateMs));
  // Give the probes time to start beating before the measured work begins.
  await new Promise((resolve) => setTimeout(resolve, 300));
  return {
    stop: () => {
      for (const p of probes) p.child.stdin!.end();
      return Promise.all(probes);
    },
  };
}

/**
 * The probes that were stalled while `beat` was late: one of their own late
 * beats overlaps the span [end − lag, end] (the stretch ours was held up), by
 * clocks that agree to well under a millisecond within one machine. Only the
 * probe on the CPU the beat ran on counts (any probe when either CPU is unknown).
 */
export function stalledProbes(beat: LateBeat, probes: readonly ProbeRecord[]): ProbeRecord[] {
  return probes.filter((probe) => (probe.cpu < 0 || beat.cpu < 0 || probe.cpu === beat.cpu) &&
    overlapMs(beat, probe.late.map((p) => ({ startMs: p.endMs - p.lagMs, endMs: p.endMs }))) > 0);
}

/** Milliseconds of `spans` (ms since the epoch) within the stretch `beat` was held up, [end − lag, end]. */
export function overlapMs(beat: LateBeat, spans: readonly { startMs: number; endMs: number }[]): number {
  const from = beat.endMs - beat.lagMs;
  return spans.reduce((sum, s) => sum + Math.max(0, Math.min(s.endMs, beat.endMs) - Math.max(s.startMs, from)), 0);
}

/**
 * Whether a late beat was the machine's doing: a probe on its CPU was stalled
 * at the same time and the main thread itself ran for less than `targetMs` of
 * it (a main thread that ran longer held the loop itself, whatever else happened).
 */
export function machineStalled(beat: LateBeat, probes: readonly ProbeRecord[], targetMs: number): boolean {
  return beat.mainCpuMs < targetMs && stalledProbes(beat, probes).length > 0;
}
