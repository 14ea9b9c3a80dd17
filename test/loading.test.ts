// How the package finds its native code: backend choice, fallback, the one
// source list both builds share, and the addon loading in worker threads.

import { expect } from 'chai';
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { OptionError, getBackend, setBackend } from '../lib/index.js';

const root = path.resolve(__dirname, '..');

/** Runs a snippet in a fresh Node process with tsx and returns its output. */
function runSnippet(code: string, env: Record<string, string | undefined>) {
  const result = spawnSync(process.execPath, ['--import', 'tsx', '-e', code], {
    cwd: root, encoding: 'utf8', env: { ...process.env, LAYERWISE_BACKEND: undefined, LAYERWISE_ADDON: undefined, ...env },
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

const PRINT_BACKEND = "const lw = require('./lib/index.ts'); console.log(lw.getBackend().name); console.log(lw.getBackend().name);";

describe('loading the native backend', function () {
  this.timeout(60000);

  it('defaults to native when the addon loads', () => {
    const { stdout, stderr } = runSnippet(PRINT_BACKEND, {});
    expect(stdout.trim().split('\n')).to.deep.equal(['native', 'native']);
    expect(stderr).to.not.contain('Warning');
  });

  it('LAYERWISE_BACKEND=js chooses the JavaScript backend', () => {
    expect(runSnippet(PRINT_BACKEND, { LAYERWISE_BACKEND: 'js' }).stdout.trim().split('\n')[0]).to.equal('js');
  });

  it('falls back to js with exactly one warning when the addon cannot load', () => {
    const { stdout, stderr } = runSnippet(PRINT_BACKEND, { LAYERWISE_ADDON: '/nonexistent/layerwise.node' });
    expect(stdout.trim().split('\n')).to.deep.equal(['js', 'js']);
    expect(stderr.match(/LAYERWISE_NO_NATIVE/g) ?? []).to.have.length(1);
    expect(stderr).to.contain('native kernels unavailable');
  });

  it('asking for native when it cannot load is an error that says why', () => {
    const { status, stderr } = runSnippet(PRINT_BACKEND, { LAYERWISE_BACKEND: 'native', LAYERWISE_ADDON: '/nonexistent/layerwise.node' });
    expect(status).to.not.equal(0);
    expect(stderr).to.contain('the native backend could not be loaded');
    expect(stderr).to.contain('/nonexistent/layerwise.node');
    const bad = runSnippet(PRINT_BACKEND, { LAYERWISE_BACKEND: 'gpu' });
    expect(bad.stderr).to.contain("LAYERWISE_BACKEND must be 'js' or 'native' but is 'gpu'");
  });

  it('setBackend switches and validates its argument', () => {
    const previous = getBackend().name;
    setBackend('js');
    expect(getBackend().name).to.equal('js');
    setBackend('native');
    expect(getBackend().name).to.equal('native');
    expect(() => setBackend('cuda' as never)).to.throw(OptionError, "expected 'js' or 'native' for the backend but got 'cuda'");
    setBackend(previous);
  });

  it('loads and computes in four worker_threads at once', async () => {
    const script = path.join(__dirname, 'fixtures', 'worker-matmul.cjs');
    const results = await Promise.all([0, 1, 2, 3].map(() => new Promise<number[]>((resolve, reject) => {
      const w = new Worker(script);
      w.once('message', resolve);
      w.once('error', reject);
    })));
    for (const r of results) expect(r).to.deep.equal([19, 22, 43, 50]);
  });
});

describe('one source list for both native builds', () => {
  const listed = readFileSync(path.join(root, 'native', 'sources.txt'), 'utf8').split(/\r?\n/).filter(Boolean);

  it('native/sources.txt names every .cc under native/, and only files that exist', () => {
    const found: string[] = [];
    const walk = (dir: string): void => {
      for (const entry of readdirSync(dir)) {
        const full = path.join(dir, entry);
        if (statSync(full).isDirectory()) walk(full);
        else if (entry.endsWith('.cc')) found.push(path.relative(root, full).split(path.sep).join('/'));
      }
    };
    walk(path.join(root, 'native'));
    expect([...listed].sort()).to.deep.equal(found.sort());
  });

  it('binding.gyp and CMakeLists.txt both read it', () => {
    const gyp = readFileSync(path.join(root, 'binding.gyp'), 'utf8');
    const cmake = readFileSync(path.join(root, 'CMakeLists.txt'), 'utf8');
    expect(gyp).to.contain("readFileSync('native/sources.txt'");
    expect(cmake).to.contain('file(STRINGS ${CMAKE_SOURCE_DIR}/native/sources.txt');
    // gyp's expansion yields the list itself.
    const expanded = execFileSync(process.execPath, ['-p', "require('fs').readFileSync('native/sources.txt','utf8').split(/\\r?\\n/).filter(Boolean).join(' ')"], { cwd: root, encoding: 'utf8' });
    expect(expanded.trim().split(' ')).to.deep.equal(listed);
  });

  it('only native/binding includes napi.h; kernels use no Node types and throw nothing', () => {
    for (const file of listed) {
      // Comments may mention exceptions; code may not.
      const text = readFileSync(path.join(root, file), 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
      const isBinding = file.startsWith('native/binding/');
      if (!isBinding) {
        expect(text, file).to.not.match(/#include\s*[<"](napi|node_api)\.h/);
        // A kernel may contain a standard-library failure (thread creation)
        // but never raises one of its own.
        expect(text, file).to.not.match(/\bthrow\b/);
      }
    }
  });
});
