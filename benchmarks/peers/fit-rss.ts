// Child process of bench:peers (run with --expose-gc): one full-data epoch of the MLP (60,000
// Fashion-MNIST images, SGD batch 32, native, one thread), then prints peak
// resident set sizes as JSON: of the whole process (loading the data set
// included), and of the fit alone (the kernel's peak counter is reset after
// loading, where Linux allows it). A process of its own, so the peaks are the
// fit's and not the benchmark's.

import { readFileSync, writeFileSync } from 'node:fs';
import { loadDatasets, timeLayerwiseEpoch } from '../epoch-common.js';

/** VmHWM (peak RSS) in MB, or undefined off Linux. */
function peakRssMB(): number | undefined {
  try {
    const kb = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
    return kb === undefined ? undefined : Number(kb) / 1024;
  } catch {
    return undefined;
  }
}

async function main(): Promise<void> {
  const data = await loadDatasets();
  const loadPeakMB = peakRssMB();
  // The loader's temporaries (compressed and raw bytes) are garbage now: collect them so the fit's peak starts from what it keeps.
  (globalThis as { gc?: () => void }).gc?.();
  let fitPeakMB: number | undefined;
  let reset = false;
  try {
    writeFileSync('/proc/self/clear_refs', '5'); // resets VmHWM to the current RSS (Linux ≥ 4.0)
    reset = true;
  } catch { /* not Linux, or not allowed: only the whole-process peak */ }
  const t = await timeLayerwiseEpoch('mlp', data, { backend: 'native', threads: 1 });
  if (reset) fitPeakMB = peakRssMB();
  // resourceUsage().maxRSS (kilobytes) is not reset by clear_refs: the whole run's peak.
  console.log(JSON.stringify({ maxRssMB: process.resourceUsage().maxRSS / 1024, loadPeakMB, fitPeakMB, epochSeconds: t.epochSeconds }));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
