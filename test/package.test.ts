// What `npm install layerwise` gets: the packed tarball, installed with
// scripts off and no compiler on PATH, must load its prebuilt binary from
// both CommonJS and ESM, run a kernel and train. Also checks what the binary
// needs from the system (glibc and libstdc++ symbol versions) and that only
// the runtime-dispatched kernels use AVX instructions.

import { expect } from 'chai';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { codeBlocks, expectReadmeTabularResults, writeDataFiles } from './markdown.js';

const root = path.resolve(__dirname, '..');
const SAMPLE_FILES = ['train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz', 't10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz'];
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

  /** The tarball unpacked without its prebuilds/, and an empty project to install it into. */
  const withoutPrebuilds = (name: string) => {
    const unpacked = path.join(work, `${name}-unpacked`);
    mkdirSync(unpacked);
    execFileSync('tar', ['-xzf', tarball, '-C', unpacked]);
    rmSync(path.join(unpacked, 'package', 'prebuilds'), { recursive: true });
    const dir = path.join(work, `${name}-project`);
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: `${name}-consumer`, version: '1.0.0', private: true }));
    return { unpacked, project: dir };
  };

  const run = (args: string[], env: NodeJS.ProcessEnv = bareEnv) => {
    const r = spawnSync('node', args, { cwd: project, env, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`node ${args.join(' ')} failed:\n${r.stdout}\n${r.stderr}`);
    return r.stdout;
  };

  it('is lean: library, prebuilt binary, sources for a fallback build and the Fashion-MNIST sample; no tests or build folder', () => {
    const files = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).trim().split('\n').map((f) => f.replace(/^package\//, ''));
    expect(files).to.include.members(['package.json', 'README.md', 'install.js', 'dist/index.js', 'dist/index.d.ts', 'prebuilds/linux-x64/layerwise.node',
      'binding.gyp', 'native/sources.txt', ...SAMPLE_FILES.map((f) => `data/fashion-mnist-sample/${f}`)]);
    for (const f of files) expect(f, f).to.not.match(/^(test|build|benchmarks|examples|scripts|\.ci)\//);
    for (const f of files.filter((name) => name.startsWith('data/'))) expect(f).to.match(/^data\/fashion-mnist-sample\//);
    expect(files.filter((f) => f.endsWith('.map'))).to.deep.equal([]);
    // The sample is ~3 MB of already-gzipped IDX files; the rest stays under 1 MB.
    expect(statSync(tarball).size).to.be.below(4.2 * 1024 * 1024);
  });

  it('trains the flagship preset from the shipped sample on a machine without Debian\'s data set', function () {
    // Hiding /usr/share/datasets needs a private mount namespace, so root.
    if (process.getuid?.() !== 0) this.skip();
    const cli = path.join(project, 'node_modules', '.bin', 'layerwise');
    const out = path.join(work, 'flagship-model');
    const hide = existsSync('/usr/share/datasets') ? '/bin/mount -t tmpfs none /usr/share/datasets && ' : '';
    const r = spawnSync('/usr/bin/unshare', ['-m', '/bin/sh', '-c', `${hide}exec "$0" "$@"`, process.execPath, cli,
      'train', 'fashion-mnist-cnn', '--epochs', '1', '--limit', '600', '--out', out, '--json'], { cwd: project, env: bareEnv, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`the flagship preset failed:\n${r.stdout}\n${r.stderr}`);
    const events = r.stdout.trim().split('\n').map((line) => JSON.parse(line));
    const start = events.find((e) => e.event === 'start');
    expect(start.data).to.equal(path.join(project, 'node_modules', 'layerwise', 'data', 'fashion-mnist-sample'));
    expect(start.trainSamples + start.validationSamples).to.be.at.least(600);
    const done = events.find((e) => e.event === 'done');
    expect(done.evaluatedOn).to.match(/test/);
    // Ten classes, one epoch on 600 images: better than chance.
    expect(done.testAccuracy).to.be.above(0.2);
    expect(existsSync(path.join(out, 'training.json'))).to.equal(true);
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

  it('runs the README\'s CSV and regression command lines (train, evaluate, predict) from the installed package', () => {
    const blocks = codeBlocks(readFileSync(path.join(root, 'README.md'), 'utf8'));
    const dir = path.join(work, 'readme-cli');
    mkdirSync(dir);
    writeDataFiles(blocks, dir);
    // npx finds the command in the consumer project's node_modules/.bin.
    symlinkSync(path.join(project, 'node_modules'), path.join(dir, 'node_modules'));
    const env = { ...bareEnv, PATH: `${path.dirname(process.execPath)}:${process.env.PATH}` };
    const commands = blocks.filter((b) => b.language === 'sh' && b.run);
    expect(commands.length).to.be.at.least(2);
    for (const block of commands) {
      const r = spawnSync('/bin/bash', ['-e', '-o', 'pipefail', '-c', block.code], { cwd: dir, env, encoding: 'utf8' });
      expect(r.status, `README.md:${block.line}:\n${r.stdout}\n${r.stderr}`).to.equal(0);
    }
    expectReadmeTabularResults(dir);
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

  describe('the linux-arm64 prebuild (cross-compiled with g++-aarch64-linux-gnu)', () => {
    const arm64 = () => path.join(project, 'node_modules', 'layerwise', 'prebuilds', 'linux-arm64', 'layerwise.node');
    const sysroot = path.join(root, 'build-arm64-node', 'sysroot');
    before(function () {
      if (!existsSync(arm64())) {
        // CI installs the cross compiler: there, a missing arm64 prebuild is a failure.
        if (process.env.CI) throw new Error('the tarball carries no linux-arm64 prebuild');
        this.skip();
      }
    });

    it('is an AArch64 shared object with NEON kernels, needing no newer glibc than 2.28 and no newer libstdc++ than GCC 8', () => {
      expect(execFileSync('readelf', ['-h', arm64()], { encoding: 'utf8' })).to.match(/Machine:\s+AArch64/);
      const needed = neededVersions(arm64());
      expect(compareVersions(needed.GLIBC, '2.28'), `GLIBC_${needed.GLIBC}`).to.be.at.most(0);
      expect(compareVersions(needed.GLIBCXX ?? '0', '3.4.25'), `GLIBCXX_${needed.GLIBCXX}`).to.be.at.most(0);
      const objdump = spawnSync('aarch64-linux-gnu-objdump', ['-d', '--no-show-raw-insn', arm64()], { encoding: 'utf8', maxBuffer: 64 << 20 });
      if (objdump.status === 0) expect(objdump.stdout.match(/\bfmla\s+v\d+\.4s/g)?.length ?? 0, 'NEON multiply-adds').to.be.above(10);
    });

    it('loads under qemu-aarch64 in an arm64 Node, matches the JS backend and trains', function () {
      const qemu = spawnSync('sh', ['-c', 'command -v qemu-aarch64'], { encoding: 'utf8' }).stdout.trim();
      if (!qemu || !existsSync(path.join(sysroot, 'usr', 'bin', 'node'))) {
        if (process.env.CI) throw new Error('no qemu-aarch64 or no arm64 Node (scripts/arm64-node.sh)');
        this.skip();
      }
      writeFileSync(path.join(project, 'arm64.js'), `
        const lw = require('layerwise');
        const a = new lw.Tensor(Float32Array.from({ length: 40 * 40 }, (_, i) => (i % 7) - 3), [40, 40]);
        const images = new lw.Tensor(Float32Array.from({ length: 2 * 8 * 8 }, (_, i) => Math.sin(i)), [2, 8, 8, 1]);
        const conv = () => new lw.Network({ seed: 3 }).add(new lw.Conv2D({ filters: 4, kernelSize: 3, activation: 'relu', inputShape: [8, 8, 1] })).predict(images);
        const native = { product: lw.ops.matmul(a, a).toArray(), conv: Array.from(conv().data) };
        lw.setBackend('js');
        const js = { product: lw.ops.matmul(a, a).toArray(), conv: Array.from(conv().data) };
        lw.setBackend('native');
        const net = new lw.Network({ seed: 1 }).add(new lw.Dense(2, 4, { activation: 'tanh' })).add(new lw.Dense(4, 1)).use('mse');
        net.fit(lw.tensor([[0, 0], [0, 1], [1, 0], [1, 1]]), lw.tensor([[0], [1], [1], [0]]), { epochs: 200, batchSize: 1, learningRate: 0.1 })
          .then((h) => console.log(JSON.stringify({ arch: process.arch, info: lw.nativeInfo(), native, js, first: h.loss[0], last: h.loss.at(-1) })));`);
      const r = spawnSync(qemu, ['-L', sysroot, path.join(sysroot, 'usr', 'bin', 'node'), 'arm64.js'], { cwd: project, env: bareEnv, encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`arm64 node failed:\n${r.stdout}\n${r.stderr}`);
      const result = JSON.parse(r.stdout);
      expect(result.arch).to.equal('arm64');
      expect(result.info).to.include({ path: arm64(), isa: 'baseline' });
      expect(result.native.product).to.deep.equal(result.js.product);
      expect(result.native.conv).to.have.length(result.js.conv.length);
      result.native.conv.forEach((v: number, i: number) => expect(v).to.be.closeTo(result.js.conv[i], 1e-5));
      expect(result.last).to.be.below(result.first / 10);
    });
  });

  it('needs no newer glibc than Node 20 (2.28) and no newer libstdc++ than GCC 8', () => {
    const binary = path.join(project, 'node_modules', 'layerwise', 'prebuilds', 'linux-x64', 'layerwise.node');
    const needed = neededVersions(binary);
    expect(compareVersions(needed.GLIBC, '2.28'), `GLIBC_${needed.GLIBC}`).to.be.at.most(0);
    expect(compareVersions(needed.GLIBCXX ?? '0', '3.4.25'), `GLIBCXX_${needed.GLIBCXX}`).to.be.at.most(0);
  });

  it('without a prebuild and with no compiler or Python, installing succeeds with one line, and the package trains on js with one warning', () => {
    const { unpacked, project: bare } = withoutPrebuilds('no-compiler');
    // npm runs install scripts through sh; every machine has one, not every one a compiler.
    const shellBin = path.join(work, 'bin-with-sh');
    mkdirSync(shellBin);
    for (const tool of ['node', 'npm']) symlinkSync(path.join(work, 'bin', tool), path.join(shellBin, tool));
    symlinkSync('/bin/sh', path.join(shellBin, 'sh'));
    const env = { ...bareEnv, PATH: shellBin, PREBUILDS_ONLY: undefined, PYTHON: undefined, npm_config_python: undefined };
    expect(spawnSync('sh', ['-c', 'command -v python3 || command -v python || command -v g++ || command -v make'], { env }).status).to.not.equal(0);
    const install = spawnSync(npm, ['install', path.join(unpacked, 'package'), '--install-links', '--no-audit', '--no-fund', '--prefer-offline', '--foreground-scripts'],
      { cwd: bare, env, encoding: 'utf8' });
    if (install.status !== 0) throw new Error(`install without a compiler failed:\n${install.stdout}\n${install.stderr}`);
    const said = `${install.stdout}\n${install.stderr}`.split('\n').filter((line) => line.startsWith('layerwise:'));
    expect(said).to.have.length(1);
    expect(said[0]).to.match(/JavaScript backend will be used/).and.match(/npm rebuild layerwise/);
    const installed = path.join(bare, 'node_modules', 'layerwise');
    expect(existsSync(path.join(installed, 'build-error.log'))).to.equal(true);
    const train = spawnSync('node', ['-e', `
      const lw = require('layerwise');
      const net = new lw.Network({ seed: 1 }).add(new lw.Dense(2, 4, { activation: 'tanh' })).add(new lw.Dense(4, 1)).use('mse');
      net.fit(lw.tensor([[0, 0], [0, 1], [1, 0], [1, 1]]), lw.tensor([[0], [1], [1], [0]]), { epochs: 300, batchSize: 1, learningRate: 0.1 })
        .then((h) => console.log(JSON.stringify({ backend: lw.getBackend().name, learned: h.loss.at(-1) < h.loss[0] / 10 })));`],
    { cwd: bare, env, encoding: 'utf8' });
    expect(train.status, train.stderr).to.equal(0);
    expect(JSON.parse(train.stdout)).to.deep.equal({ backend: 'js', learned: true });
    expect(train.stderr.match(/LAYERWISE_NO_NATIVE/g) ?? []).to.have.length(1);
  });

  it('without a fitting prebuild, installing builds from source (node-gyp-build), and loading without any binary falls back to js with one warning', () => {
    // The same tarball minus its prebuilds, installed with scripts on and the real PATH (a compiler).
    const { unpacked, project: sourceProject } = withoutPrebuilds('source');
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
    expect(vexUsers.sort()).to.deep.equal(['conv2d_backward_direct.o', 'conv2d_direct.o', 'conv2d_forward_tiled.o', 'conv2d_pooled_filter.o', 'finite_scan.o', 'gemm_avx2.o', 'gemm_avx512.o', 'peak_loops.o', 'pool2d_values.o', 'softmax_exp.o']);
  });
});
