// The README and the guides of the API docs (docs/guides/*.md) are the first
// things a user runs, so they are tested like code: every ```ts block is
// type-checked on its own against the compiled package (as `import … from
// 'layerwise'`), and every block that is a complete program also runs.
// A block is a fragment (type-checked, not run) only when the line before it
// is `<!-- fragment -->`. A ```csv block whose info string names a file
// (```csv flowers.csv) is written to that file first, so the programs read
// the data the README shows.

import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

const root = path.resolve(__dirname, '..');

export interface CodeBlock {
  language: string;
  info: string;
  code: string;
  /** 1-based line of the opening fence. */
  line: number;
  fragment: boolean;
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
    blocks.push({
      language: open[1] ?? '', info: open[2].trim(), code: `${body.join('\n')}\n`, line: start + 1,
      fragment: start > 0 && lines[start - 1].trim() === '<!-- fragment -->',
    });
  }
  return blocks;
}

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
    writeFileSync(path.join(installed, 'package.json'), JSON.stringify({ name: pkg.name, version: pkg.version, main: pkg.main, types: pkg.types, exports: pkg.exports }));
    const tsc = spawnSync(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', path.join(root, 'tsconfig.json'), '--outDir', path.join(installed, 'dist')], { encoding: 'utf8' });
    if (tsc.status !== 0) throw new Error(`building the library failed:\n${tsc.stdout}${tsc.stderr}`);
    for (const shared of ['build', 'data', 'node_modules']) {
      if (existsSync(path.join(root, shared))) symlinkSync(path.join(root, shared), path.join(installed, shared));
    }
    writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ type: 'module', private: true }));
    writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { target: 'ES2022', module: 'nodenext', moduleResolution: 'nodenext', strict: true, noEmit: true, skipLibCheck: true, types: ['node'] },
      include: ['*.ts'],
    }));
    for (const block of blocks.filter((b) => b.language === 'csv' && b.info)) writeFileSync(path.join(dir, path.basename(block.info)), block.code);
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

  it('every complete program runs', function () {
    for (const [i, block] of programs.entries()) {
      if (block.fragment) continue;
      const run = spawnSync(process.execPath, ['--import', 'tsx', `block-${i + 1}.ts`], {
        cwd: dir, encoding: 'utf8', env: { ...process.env, LAYERWISE_BACKEND: undefined },
      });
      expect(run.status, `${block.file}:${block.line} failed:\n${run.stdout}\n${run.stderr}`).to.equal(0);
    }
  });
});
