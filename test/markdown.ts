// Code blocks of the README and the guides, which are tested like code (see
// readme.test.ts and package.test.ts). Conventions a document follows:
// - every ```ts block type-checks against the package; it also runs unless the
//   line before it is `<!-- fragment -->`;
// - a ```sh block runs (with bash, in document order with the programs) only
//   when the line before it is `<!-- run -->`: most shell lines are
//   illustrations (npm install, long training runs);
// - a ```csv or ```json block whose info string names a file (```csv flowers.csv)
//   is written to that file first, so programs and commands read the data the
//   document shows.

import { expect } from 'chai';
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

export interface CodeBlock {
  language: string;
  info: string;
  code: string;
  /** 1-based line of the opening fence. */
  line: number;
  fragment: boolean;
  /** A shell block marked to run. */
  run: boolean;
}

export function codeBlocks(markdown: string): CodeBlock[] {
  const lines = markdown.split('\n');
  const blocks: CodeBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\w+)?\s*(.*)$/.exec(lines[i]);
    if (!open) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !lines[i].startsWith('```'); i++) body.push(lines[i]);
    const marker = start > 0 ? lines[start - 1].trim() : '';
    blocks.push({
      language: open[1] ?? '', info: open[2].trim(), code: `${body.join('\n')}\n`, line: start + 1,
      fragment: marker === '<!-- fragment -->', run: marker === '<!-- run -->',
    });
  }
  return blocks;
}

/** Writes every data block that names a file into `dir`. */
export function writeDataFiles(blocks: readonly CodeBlock[], dir: string): void {
  for (const block of blocks) {
    if ((block.language === 'csv' || block.language === 'json') && block.info) writeFileSync(path.join(dir, path.basename(block.info)), block.code);
  }
}

/**
 * Checks what the README's runnable shell blocks leave in `dir`: a classifier
 * trained from a class-sorted CSV with text labels that validates above 80% on
 * the default split and predicts class names, and a regression that reports
 * error metrics, no accuracy, and names its output column after the target.
 */
export function expectReadmeTabularResults(dir: string): void {
  const training = JSON.parse(readFileSync(path.join(dir, 'flowers-cli', 'training.json'), 'utf8'));
  expect(training.evaluatedOn).to.equal('stratified validation split');
  expect(training.testAccuracy).to.be.above(0.8);
  expect(training.classNames).to.deep.equal(['setosa', 'versicolor', 'virginica']);
  const predictions = readFileSync(path.join(dir, 'predictions.csv'), 'utf8').trim().split('\n');
  expect(predictions[0]).to.equal('prob_setosa,prob_versicolor,prob_virginica,class');
  expect(predictions.slice(1).map((l) => l.split(',').at(-1))).to.deep.equal(['setosa', 'versicolor', 'virginica']);
  const regression = JSON.parse(readFileSync(path.join(dir, 'prices-cli', 'training.json'), 'utf8'));
  expect(regression).to.include.keys('testMae', 'testRmse', 'testR2');
  expect(regression.testAccuracy).to.equal(undefined);
  const predicted = readFileSync(path.join(dir, 'predicted.csv'), 'utf8').trim().split('\n');
  expect(predicted[0]).to.equal('price');
  // 3 rooms and 75 m²: the file's rows around it cost 195–245.
  expect(Number(predicted[1])).to.be.within(190, 250);
}
