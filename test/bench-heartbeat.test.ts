// The serving benchmark's lag verdict leaves out late beats the machine
// explains (benchmarks/heartbeat.ts): only with the probe on the same CPU
// stalled over the same span, and the main thread not running for the lag itself.

import { expect } from 'chai';
import { machineStalled, stalledProbes, type LateBeat, type ProbeRecord } from '../benchmarks/heartbeat.js';

describe('bench:serve lag attribution (benchmarks/heartbeat.ts)', function () {
  // Our beat: held up over [1000, 1008] ms, on CPU 0, the main thread ran 0.5 ms of it.
  const beat: LateBeat = { endMs: 1008, lagMs: 8, mainCpuMs: 0.5, mainWaitMs: 7.5, cpu: 0 };
  const late = (endMs: number, lagMs: number): LateBeat => ({ endMs, lagMs, mainCpuMs: 0, mainWaitMs: 0, cpu: -1 });
  const probe = (cpu: number, ...beats: LateBeat[]): ProbeRecord => ({ cpu, beats: 100, late: beats });

  it('blames the machine when the probe on the beat\'s CPU was stalled over the same span', function () {
    const probes = [probe(0, late(1006, 7)), probe(1)];
    expect(stalledProbes(beat, probes).map((p) => p.cpu)).to.deep.equal([0]);
    expect(machineStalled(beat, probes, 5)).to.equal(true);
  });

  it('does not when only the probe on the other CPU was stalled', function () {
    expect(machineStalled(beat, [probe(0), probe(1, late(1006, 7))], 5)).to.equal(false);
  });

  it('does not when the probe\'s stall ended before the beat was held up or began after it', function () {
    expect(machineStalled(beat, [probe(0, late(999, 3), late(1012, 2))], 5)).to.equal(false);
  });

  it('does not when the main thread itself ran for the target or longer', function () {
    expect(machineStalled({ ...beat, mainCpuMs: 6 }, [probe(0, late(1006, 7))], 5)).to.equal(false);
  });

  it('takes an unpinned probe, or a beat whose CPU is unknown, as covering every CPU', function () {
    expect(machineStalled(beat, [probe(-1, late(1006, 7))], 5)).to.equal(true);
    expect(machineStalled({ ...beat, cpu: -1 }, [probe(1, late(1006, 7))], 5)).to.equal(true);
  });
});
