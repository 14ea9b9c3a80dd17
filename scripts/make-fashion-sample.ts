// Builds data/fashion-mnist-sample/ from Debian's dataset-fashion-mnist:
// the first 6000 training and first 1000 test images with their labels, in the
// original IDX .gz layout so the same loader reads the sample and the full set.
//
//   npx tsx scripts/make-fashion-sample.ts [source-dir]
//
// Fashion-MNIST's files are already in shuffled order, so a prefix is a fair
// sample; the class counts are checked anyway, since a skewed sample would
// quietly make every example trained on it worse.

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import {
  FASHION_MNIST_CLASSES, FASHION_MNIST_SAMPLE_DIR, FASHION_MNIST_SYSTEM_DIR, loadIdx, mnistFiles, saveIdx,
  type IdxArray,
} from '../lib/data/index.js';

const TRAIN = 6000;
const TEST = 1000;
const COPYRIGHT = '/usr/share/doc/dataset-fashion-mnist/copyright';

const sourceDir = process.argv[2] ?? FASHION_MNIST_SYSTEM_DIR;
const outDir = FASHION_MNIST_SAMPLE_DIR;

function head(array: IdxArray, n: number): IdxArray {
  if (array.shape[0] < n) throw new Error(`need ${n} samples but the source has ${array.shape[0]}`);
  const per = array.data.length / array.shape[0];
  return { shape: [n, ...array.shape.slice(1)], data: array.data.subarray(0, n * per), type: array.type };
}

function classCounts(labels: IdxArray): number[] {
  const counts = new Array<number>(FASHION_MNIST_CLASSES.length).fill(0);
  for (const label of labels.data) {
    if (label >= counts.length) throw new Error(`label ${label} is outside the ${counts.length} Fashion-MNIST classes`);
    counts[label]++;
  }
  return counts;
}

function checkBalance(split: string, counts: number[]): void {
  const n = counts.reduce((a, b) => a + b, 0);
  const mean = n / counts.length;
  console.log(`${split}: ${n} samples, per class ${counts.join(' ')}`);
  counts.forEach((c, i) => {
    // ±25% of an even share: loose enough for a random prefix of this size,
    // tight enough to catch a sorted or truncated source.
    if (c < 0.75 * mean || c > 1.25 * mean) {
      throw new Error(`${split}: class ${i} (${FASHION_MNIST_CLASSES[i]}) has ${c} samples, far from the even ${mean}`);
    }
  });
}

function sha256(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

function debianVersion(): string {
  try {
    return execFileSync('dpkg-query', ['-W', '-f=${Version}', 'dataset-fashion-mnist'], { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

async function main(): Promise<void> {
  const source = mnistFiles(sourceDir);
  mkdirSync(outDir, { recursive: true });
  const plan = [
    { from: source.trainImages, to: 'train-images-idx3-ubyte.gz', n: TRAIN },
    { from: source.trainLabels, to: 'train-labels-idx1-ubyte.gz', n: TRAIN },
    { from: source.testImages, to: 't10k-images-idx3-ubyte.gz', n: TEST },
    { from: source.testLabels, to: 't10k-labels-idx1-ubyte.gz', n: TEST },
  ];
  const counts: Record<string, number[]> = {};
  for (const { from, to, n } of plan) {
    const sample = head(await loadIdx(from), n);
    if (sample.shape.length === 1) {
      const split = to.startsWith('train') ? 'train' : 'test';
      counts[split] = classCounts(sample);
      checkBalance(split, counts[split]);
    }
    await saveIdx(path.join(outDir, to), sample);
  }

  const files = plan.map(({ from, to }) => {
    const out = path.join(outDir, to);
    return `| \`${to}\` | ${readFileSync(out).length} | \`${sha256(out)}\` | \`${sha256(from)}\` |`;
  });
  const readme = `# Fashion-MNIST sample

The first ${TRAIN} training and first ${TEST} test images of Fashion-MNIST with
their labels, in the original IDX format and file names (gzipped), so that
\`loadMnist(dir)\` reads this directory and the full set alike. It lets the
examples and tests run without downloading the 30 MB dataset;
\`fashionMnistDir()\` picks the full set instead when it is installed.

## Source

Fashion-MNIST by Zalando Research, <https://github.com/zalandoresearch/fashion-mnist>,
as packaged by Debian in \`dataset-fashion-mnist\` (version ${debianVersion()}),
which installs it under \`${FASHION_MNIST_SYSTEM_DIR}\`.

## How it was made

\`npx tsx scripts/make-fashion-sample.ts\` reads the four files with
\`loadIdx\`, keeps the first ${TRAIN} (train) and ${TEST} (test) samples, checks
that each class holds within ±25% of an even share, and writes them back with
\`saveIdx\` (gzip level 9). Fashion-MNIST's files are already in shuffled
order, so no reordering is done: sample *i* is sample *i* of the full set.

| file | bytes | sha256 | sha256 of the Debian source file |
|---|---|---|---|
${files.join('\n')}

Samples per class:

| label | class | train | test |
|---|---|---|---|
${FASHION_MNIST_CLASSES.map((name, i) => `| ${i} | ${name} | ${counts.train[i]} | ${counts.test[i]} |`).join('\n')}

## Licence

Fashion-MNIST is released under the MIT licence:

> The MIT License (MIT) Copyright © [2017] Zalando SE, https://tech.zalando.com

The Debian package's copyright file (\`${COPYRIGHT}\`), verbatim:

\`\`\`
${readFileSync(COPYRIGHT, 'utf8').trimEnd()}
\`\`\`
`;
  writeFileSync(path.join(outDir, 'README.md'), readme);
  console.log(`wrote ${outDir}`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
