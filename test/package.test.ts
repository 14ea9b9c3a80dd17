// What `npm install layerwise` gets: the packed tarball, installed with
// scripts off and no compiler on PATH, must load its prebuilt binary from
// both CommonJS and ESM, run a kernel and train. Also checks what the binary
// needs from the system (glibc and libstdc++ symbol versions) and that only
// the runtime-dispatched kernels use AVX instructions.

import { expect } from 'chai';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const root = path.resolve(__dirname, '..');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

/** Highest version of each symbol-version family (GLIBC_, GLIBCXX_) the file needs. */
function neededVersions(file: string): Record<string, string> {
  const out = execFileSync('objdump', ['-T', file], { encoding: 'utf8' });
  const highest: Record<string, string> = {};
  for (const [, family, version] of out.matchAll(/\b(GLIBC|GLIBCXX|CXXABI)_([0-9.]+)/g)) {
    if (!highest[family] || compareVersions(version, highest[family]) > 0) highest[family] = version;
  }
  return highest;
}

function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number), pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) if ((pa[i] ?? 0) !== (pb[i] ?? 0)) return (pa[i] ?? 0) - (pb[i] ?? 0);
  return 0;
}

describe('the npm package', function () {
  this.timeout(300000);
  let work: string;
  let tarball: string;
  let project: string;
  /** PATH holding only node and npm: no gcc, g++, make or python. */
  let bareEnv: NodeJS.ProcessEnv;

  before(function () {
    work = mkdtempSync(path.join(os.tmpdir(), 'layerwise-pack-'));
    // npm pack runs prepack: the TypeScript build and prebuildify.
    const packed = execFileSync(npm, ['pack', '--json', '--pack-destination', work], { cwd: root, encoding: 'utf8', stdio: 'pipe', maxBuffer: 64 << 20 });
    const info = JSON.parse(packed.slice(packed.indexOf('[')))[0];
    tarball = path.join(work, info.filename);
    const bin = path.join(work, 'bin');
    mkdirSync(bin);
    symlinkSync(process.execPath, path.join(bin, 'node'));
    symlinkSync(execFileSync('sh', ['-c', 'command -v npm'], { encoding: 'utf8' }).trim(), path.join(bin, 'npm'));
    bareEnv = { ...process.env, PATH: bin, PREBUILDS_ONLY: '1', LAYERWISE_BACKEND: undefined, LAYERWISE_ADDON: undefined, LAYERWISE_ISA: undefined };
    project = path.join(work, 'project');
    mkdirSync(project);
    writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }));
    const install = spawnSync('npm', ['install', tarball, '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline'], { cwd: project, env: bareEnv, encoding: 'utf8' });
    if (install.status !== 0) throw new Error(`npm install of the tarball failed:\n${install.stdout}\n${install.stderr}`);
  });

  after(() => rmSync(work, { recursive: true, force: true }));

  const run = (args: string[], env: NodeJS.ProcessEnv = bareEnv) => {
    const r = spawnSync('node', args, { cwd: project, env, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`node ${args.join(' ')} failed:\n${r.stdout}\n${r.stderr}`);
    return r.stdout;
  };

  it('is lean: library, prebuilt binary and sources for a fallback build; no tests, data or build folder', () => {
    const files = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).trim().split('\n').map((f) => f.replace(/^package\//, ''));
    expect(files).to.include.members(['package.json', 'README.md', 'dist/index.js', 'dist/index.d.ts', 'prebuilds/linux-x64/layerwise.node', 'binding.gyp', 'native/sources.txt']);
    for (const f of files) expect(f, f).to.not.match(/^(test|data|build|benchmarks|examples|scripts|\.ci)\//);
    expect(files.filter((f) => f.endsWith('.map'))).to.deep.equal([]);
    expect(statSync(tarball).size).to.be.below(1024 * 1024);
  });

  it('require() loads the prebuilt binary, runs a kernel and trains, with no compiler on PATH', () => {
    expect(spawnSync('sh', ['-c', 'command -v g++ || command -v cc || command -v make'], { env: bareEnv }).status, 'a compiler is visible').to.not.equal(0);
    expect(existsSync(path.join(project, 'node_modules', 'layerwise', 'build')), 'a build folder was made at install').to.equal(false);
    const out = run(['-e', `
      const lw = require('layerwise');
      const info = lw.nativeInfo();
      const product = lw.ops.matmul([[1, 2], [3, 4]], [[5, 6], [7, 8]]).toArray();
      const net = new lw.Network({ seed: 1 }).add(new lw.Dense(2, 4, { activation: 'tanh' })).add(new lw.Dense(4, 1)).use('mse');
      net.fit(lw.tensor([[0, 0], [0, 1], [1, 0], [1, 1]]), lw.tensor([[0], [1], [1], [0]]), { epochs: 300, batchSize: 1, learningRate: 0.1 })
        .then((h) => console.log(JSON.stringify({ backend: lw.getBackend().name, path: info.path, product, first: h.loss[0], last: h.loss.at(-1) })));`]);
    const result = JSON.parse(out);
    expect(result.backend).to.equal('native');
    expect(result.path).to.equal(path.join(project, 'node_modules', 'layerwise', 'prebuilds', 'linux-x64', 'layerwise.node'));
    expect(result.product).to.deep.equal([[19, 22], [43, 50]]);
    expect(result.last).to.be.below(result.first / 10);
  });

  it('import loads it too, with named exports, and trains', () => {
    writeFileSync(path.join(project, 'check.mjs'), `
      import { Network, Dense, ops, nativeInfo, getBackend } from 'layerwise';
      import layerwise from 'layerwise';
      const net = new Network({ seed: 2 }).add(new Dense(3, 2)).use('mse');
      const history = await net.fit([[1, 2, 3], [3, 2, 1]], [[1, 0], [0, 1]], { epochs: 50, batchSize: 2, learningRate: 0.05 });
      console.log(JSON.stringify({ backend: getBackend().name, path: nativeInfo().path, out: net.predict([[1, 2, 3]]).shape,
        dot: ops.matmul([1, 2], [3, 4]).data[0], defaultHasNetwork: typeof layerwise.Network,
        learned: history.loss.at(-1) < history.loss[0] / 10 }));`);
    const result = JSON.parse(run(['check.mjs']));
    expect(result).to.deep.equal({
      backend: 'native', path: path.join(project, 'node_modules', 'layerwise', 'prebuilds', 'linux-x64', 'layerwise.node'),
      out: [1, 2], dot: 11, defaultHasNetwork: 'function', learned: true,
    });
  });

  it('ships type declarations through its exports map', () => {
    const pkg = JSON.parse(execFileSync('tar', ['-xzOf', tarball, 'package/package.json'], { encoding: 'utf8' }));
    expect(pkg.exports['.']).to.include({ types: './dist/index.d.ts', require: './dist/index.js', import: './dist/index.js' });
    expect(existsSync(path.join(project, 'node_modules', 'layerwise', 'dist', 'index.d.ts'))).to.equal(true);
  });

  it('runs its baseline kernels when told to (what a CPU without AVX2 gets)', () => {
    const out = run(['-e', `
      const lw = require('layerwise');
      const a = new lw.Tensor(Float32Array.from({ length: 64 * 64 }, (_, i) => (i % 7) - 3), [64, 64]);
      console.log(JSON.stringify({ isa: lw.nativeInfo().isa, sum: lw.ops.matmul(a, a).data.reduce((s, v) => s + v, 0) }));`],
    { ...bareEnv, LAYERWISE_ISA: 'baseline' });
    const { isa, sum } = JSON.parse(out);
    expect(isa).to.equal('baseline');
    // The same product on the JS backend.
    const js = JSON.parse(run(['-e', `
      const lw = require('layerwise'); lw.setBackend('js');
      const a = new lw.Tensor(Float32Array.from({ length: 64 * 64 }, (_, i) => (i % 7) - 3), [64, 64]);
      console.log(JSON.stringify(lw.ops.matmul(a, a).data.reduce((s, v) => s + v, 0)));`]));
    expect(sum).to.equal(js);
  });

  it('needs no newer glibc than Node 20 (2.28) and no newer libstdc++ than GCC 8', () => {
    const binary = path.join(project, 'node_modules', 'layerwise', 'prebuilds', 'linux-x64', 'layerwise.node');
    const needed = neededVersions(binary);
    expect(compareVersions(needed.GLIBC, '2.28'), `GLIBC_${needed.GLIBC}`).to.be.at.most(0);
    expect(compareVersions(needed.GLIBCXX ?? '0', '3.4.25'), `GLIBCXX_${needed.GLIBCXX}`).to.be.at.most(0);
  });

  it('without a fitting prebuild, installing builds from source (node-gyp-build), and loading without any binary falls back to js with one warning', () => {
    // The same tarball minus its prebuilds, installed with scripts on and the real PATH (a compiler).
    const unpacked = path.join(work, 'unpacked');
    mkdirSync(unpacked);
    execFileSync('tar', ['-xzf', tarball, '-C', unpacked]);
    rmSync(path.join(unpacked, 'package', 'prebuilds'), { recursive: true });
    const sourceProject = path.join(work, 'source-project');
    mkdirSync(sourceProject);
    writeFileSync(path.join(sourceProject, 'package.json'), JSON.stringify({ name: 'consumer2', version: '1.0.0', private: true }));
    const env = { ...process.env, LAYERWISE_BACKEND: undefined, LAYERWISE_ADDON: undefined, PREBUILDS_ONLY: undefined };
    const install = spawnSync(npm, ['install', path.join(unpacked, 'package'), '--install-links', '--no-audit', '--no-fund', '--prefer-offline', '--foreground-scripts'],
      { cwd: sourceProject, env, encoding: 'utf8' });
    if (install.status !== 0) throw new Error(`source install failed:\n${install.stdout}\n${install.stderr}`);
    const installed = path.join(sourceProject, 'node_modules', 'layerwise');
    const probe = `const lw = require('layerwise'); console.log(JSON.stringify({ backend: lw.getBackend().name, path: lw.nativeInfo().path ?? null }));`;
    const built = spawnSync('node', ['-e', probe], { cwd: sourceProject, env, encoding: 'utf8' });
    expect(JSON.parse(built.stdout)).to.deep.equal({ backend: 'native', path: path.join(installed, 'build', 'Release', 'layerwise.node') });
    // No binary at all: the JS backend, with exactly one warning.
    rmSync(path.join(installed, 'build'), { recursive: true });
    const twice = `const lw = require('layerwise'); for (let i = 0; i < 2; i++) console.log(JSON.stringify({ backend: lw.getBackend().name }));`;
    const fallback = spawnSync('node', ['-e', twice], { cwd: sourceProject, env, encoding: 'utf8' });
    expect(fallback.stdout.trim().split('\n').map((l) => JSON.parse(l).backend)).to.deep.equal(['js', 'js']);
    expect(fallback.stderr.match(/LAYERWISE_NO_NATIVE/g) ?? []).to.have.length(1);
  });

  it('keeps AVX instructions inside the runtime-dispatched kernel files', () => {
    const objects = path.join(root, 'build', 'Release', 'obj.target', 'layerwise', 'native');
    const vexUsers: string[] = [];
    for (const dir of readdirSync(objects)) {
      for (const file of readdirSync(path.join(objects, dir)).filter((f) => f.endsWith('.o'))) {
        const object = path.join(objects, dir, file);
        const code = execFileSync('objdump', ['-d', '--no-show-raw-insn', object], { encoding: 'utf8', maxBuffer: 64 << 20 });
        if (/^\s+[0-9a-f]+:\s+v[a-z0-9]+\s/m.test(code)) {
          vexUsers.push(file);
          // A weak (inline, COMDAT) function compiled for AVX could be picked by
          // the linker for baseline callers; the ISA files must define none.
          expect(execFileSync('nm', [object], { encoding: 'utf8' }), `${file} weak symbols`).to.not.match(/ [WV] /);
        }
      }
    }
    expect(vexUsers.sort()).to.deep.equal(['gemm_avx2.o', 'gemm_avx512.o']);
  });
});
