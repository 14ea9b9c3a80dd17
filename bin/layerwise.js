#!/usr/bin/env node
// The `layerwise` command. An installed package runs the compiled CLI from
// dist/; a source checkout without a build runs lib/ through tsx's require
// hook (a dev dependency). LAYERWISE_CLI_FROM_SOURCE=1 prefers the source
// even when dist/ exists, so tests never run a stale build.
'use strict';

const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const compiled = path.join(root, 'dist', 'cli', 'main.js');
const source = path.join(root, 'lib', 'cli', 'main.ts');

function load() {
  const fromSource = process.env.LAYERWISE_CLI_FROM_SOURCE === '1' && fs.existsSync(source);
  if (!fromSource && fs.existsSync(compiled)) return require(compiled);
  if (fs.existsSync(source)) {
    try {
      require.resolve('tsx/cjs');
    } catch {
      process.stderr.write('layerwise: dist/ is not built and tsx is not installed: run `npm run build:ts` first\n');
      process.exit(1);
    }
    require('tsx/cjs');
    return require(source);
  }
  process.stderr.write(`layerwise: ${compiled} is missing: the package is not built (npm run build:ts)\n`);
  process.exit(1);
}

load().main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`layerwise: ${err && err.stack ? err.stack : err}\n`);
    process.exitCode = 1;
  },
);
