// A 2 GiB gzip bomb in IDX format against loadIdx: how long until it fails and
// how much the process's memory grows meanwhile. (npm run bench:bomb)

import { mkdtempSync, rmSync, statSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadIdx } from '../lib/index.js';
import { writeIdxGzipBomb } from '../test/fixtures/gzip-bomb.js';

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'layerwise-bomb-'));
  try {
    const file = path.join(dir, 'bomb-idx3-ubyte.gz');
    await writeIdxGzipBomb(file, 2 * 2 ** 30);
    const rss0 = process.memoryUsage().rss;
    let peak = rss0;
    const sampler = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss); }, 2);
    const started = performance.now();
    let message = '(no error!)';
    try {
      await loadIdx(file);
    } catch (err) {
      message = (err as Error).message;
    }
    const seconds = (performance.now() - started) / 1000;
    clearInterval(sampler);
    peak = Math.max(peak, process.memoryUsage().rss);
    console.log(`gzip bomb: ${statSync(file).size} bytes on disk, inflating to 2 GiB`);
    console.log(`loadIdx failed after ${seconds.toFixed(2)} s with RSS growth ${((peak - rss0) / 2 ** 20).toFixed(0)} MiB (sampled every 2 ms)`);
    console.log(`error: ${message}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

void main();
