// The README and the guides of the API docs (docs/guides/*.md) are the first
// things a user runs, so they are tested like code: every ```ts block is
// type-checked on its own against the compiled package (as `import … from
// 'layerwise'`), and the complete programs and the shell blocks marked to run
// (`npx layerwise …`) run in document order, in one directory holding the
// data files the documents show. The conventions are in markdown.ts.

import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { codeBlocks, expectReadmeTabularResults, writeDataFiles, type CodeBlock } from './markdown.js';

const root = path.resolve(__dirname, '..');

interface Located extends CodeBlock {
  file: string;
}

const documents = ['README.md', ...readdirSync(path.join(root, 'docs', 'guides')).filter((f) => f.endsWith('.md')).sort().map((f) => `docs/guides/${f}`)];

describe('README and guide code blocks', function () {
  this.timeout(300000);
  const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
  const blocks: Located[] = documents.flatMap((file) => codeBlocks(readFileSync(path.join(root, file), 'utf8')).map((b) => ({ ...b, file })));
  const programs = blocks.filter((b) => b.language === 'ts');
  let dir: string;

  before(() => {
    // A project that depends on layerwise as a user's does: the library compiled
    // into its node_modules (CommonJS plus .d.ts, as packed), beside this
    // checkout's native build and shipped data. Inside the checkout, so tsx and
    // @types/node resolve.
    dir = mkdtempSync(path.join(root, '.readme-check-'));
    const installed = path.join(dir, 'node_modules', 'layerwise');
    mkdirSync(installed, { recursive: true });
    const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
    writeFileSync(path.join(installed, 'package.json'), JSON.stringify({ name: pkg.name, version: pkg.version, main: pkg.main, types: pkg.types, exports: pkg.exports, bin: pkg.bin }));
    const tsc = spawnSync(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', path.join(root, 'tsconfig.json'), '--outDir', path.join(installed, 'dist')], { encoding: 'utf8' });
    if (tsc.status !== 0) throw new Error(`building the library failed:\n${tsc.stdout}${tsc.stderr}`);
    for (const shared of ['build', 'data', 'node_modules']) {
      if (existsSync(path.join(root, shared))) symlinkSync(path.join(root, shared), path.join(installed, shared));
    }
    // `npx layerwise` runs the installed command, which runs the compiled CLI
    // beside it (a copy: through a symlink it would find the checkout's dist/).
    mkdirSync(path.join(installed, 'bin'));
    copyFileSync(path.join(root, 'bin', 'layerwise.js'), path.join(installed, 'bin', 'layerwise.js'));
    mkdirSync(path.join(dir, 'node_modules', '.bin'));
    symlinkSync(path.join('..', 'layerwise', 'bin', 'layerwise.js'), path.join(dir, 'node_modules', '.bin', 'layerwise'));
    writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ type: 'module', private: true }));
    writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { target: 'ES2022', module: 'nodenext', moduleResolution: 'nodenext', strict: true, noEmit: true, skipLibCheck: true, types: ['node'] },
      include: ['*.ts'],
    }));
    writeDataFiles(blocks, dir);
    programs.forEach((block, i) => writeFileSync(path.join(dir, `block-${i + 1}.ts`), `${block.code}export {};\n`));
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  it('the README opens with npm install layerwise, and has TypeScript examples', () => {
    const own = codeBlocks(readme);
    expect(own[0].code.trim()).to.equal('npm install layerwise');
    expect(own.filter((b) => b.language === 'ts').length).to.be.at.least(4);
  });

  it('every TypeScript block type-checks against the library', () => {
    const tsc = spawnSync(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', dir], { encoding: 'utf8' });
    // Point each error at the README line it comes from.
    const located = tsc.stdout.replace(/block-(\d+)\.ts\((\d+),\d+\)/g, (_, n, l) => `${programs[Number(n) - 1].file}:${programs[Number(n) - 1].line + Number(l)}`);
    expect(tsc.status, located).to.equal(0);
  });

  it('every complete program and every shell block marked to run succeeds, in document order', function () {
    const env = { ...process.env, LAYERWISE_BACKEND: undefined, LAYERWISE_CLI_FROM_SOURCE: undefined };
    let ran = 0;
    for (const block of blocks) {
      let run;
      if (block.language === 'ts' && !block.fragment) {
        run = spawnSync(process.execPath, ['--import', 'tsx', `block-${programs.indexOf(block) + 1}.ts`], { cwd: dir, encoding: 'utf8', env });
      } else if (block.language === 'sh' && block.run) {
        run = spawnSync('/bin/bash', ['-e', '-o', 'pipefail', '-c', block.code], { cwd: dir, encoding: 'utf8', env });
      } else continue;
      ran++;
      expect(run.status, `${block.file}:${block.line} failed:\n${run.stdout}\n${run.stderr}`).to.equal(0);
    }
    expect(ran).to.be.at.least(programs.length);
  });

  it('the CSV path of the README ends in a model that names its classes, and the regression path in one that names its target', () => {
    // What the README's shell blocks left behind (the test above ran them).
    expectReadmeTabularResults(dir);
  });
});
