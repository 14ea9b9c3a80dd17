#!/usr/bin/env node
// layerwise's install step. An install must never fail for want of a native
// binary: the pure-JavaScript backend runs everywhere. So: use the prebuilt
// binary when one loads; else build from source (node-gyp, which needs
// Python 3, make and a C++ compiler); if that fails too, say so in one line,
// keep the build log, and exit 0.
'use strict';

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = __dirname;
const logFile = path.join(root, 'build-error.log');

function loads() {
  try {
    // node-gyp-build picks build/Release, then prebuilds/<platform>-<arch>.
    require(require('node-gyp-build').resolve(root));
    return true;
  } catch {
    return false;
  }
}

/** node-gyp: a local copy (a checkout's dev dependency), else the one npm bundles, else PATH. */
function nodeGyp() {
  try {
    const manifest = require.resolve('node-gyp/package.json');
    const bin = require(manifest).bin;
    return { command: process.execPath, args: [path.join(path.dirname(manifest), typeof bin === 'string' ? bin : bin['node-gyp'])] };
  } catch {
    // not installed locally
  }
  const bundled = process.env.npm_config_node_gyp;
  if (bundled && fs.existsSync(bundled)) return { command: process.execPath, args: [bundled] };
  return { command: process.platform === 'win32' ? 'node-gyp.cmd' : 'node-gyp', args: [] };
}

function buildFromSource() {
  const { command, args } = nodeGyp();
  const build = spawnSync(command, [...args, 'rebuild'], { cwd: root, encoding: 'utf8', shell: process.platform === 'win32' });
  const log = [build.error ? String(build.error) : '', build.stdout ?? '', build.stderr ?? ''].join('\n');
  return { ok: build.status === 0, log };
}

if (loads()) process.exit(0);
const build = buildFromSource();
if (build.ok && loads()) {
  fs.rmSync(logFile, { force: true });
  process.exit(0);
}
fs.writeFileSync(logFile, build.log);
const platform = `${process.platform}-${process.arch}`;
process.stderr.write(
  `layerwise: no prebuilt binary for ${platform} and the source build failed (log: ${logFile}); ` +
  'the JavaScript backend will be used. For the native one, install Python 3, make and a C++ compiler, then run `npm rebuild layerwise`.\n',
);
process.exit(0);
