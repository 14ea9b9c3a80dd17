// Cross-compiles prebuilds/linux-arm64/layerwise.node with Debian's
// g++-aarch64-linux-gnu (run through `npm run prebuild:arm64`, so node-gyp
// finds the local Node headers). The build happens in a scratch copy of the
// native sources: building in place would leave an arm64 build/Release, which
// node-gyp-build loads before prebuilds/ and this machine cannot run.
//
// On arm64 only the baseline kernels exist (NEON through GCC's vector
// extensions; AArch64 always has it); the AVX files compile to stubs.
// Without the cross compiler this prints why and removes any old arm64
// prebuild, so a tarball never carries a stale binary.

import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const root = path.resolve(__dirname, '..');
const target = path.join(root, 'prebuilds', 'linux-arm64');
const cross = 'aarch64-linux-gnu-';

if (spawnSync('sh', ['-c', `command -v ${cross}g++`]).status !== 0) {
  rmSync(target, { recursive: true, force: true });
  console.warn(`prebuild:arm64: ${cross}g++ not found (apt-get install g++-aarch64-linux-gnu); the package will carry no linux-arm64 prebuild`);
  process.exit(0);
}

const scratch = mkdtempSync(path.join(os.tmpdir(), 'layerwise-arm64-'));
try {
  for (const item of ['binding.gyp', 'package.json', 'native']) cpSync(path.join(root, item), path.join(scratch, item), { recursive: true });
  symlinkSync(path.join(root, 'node_modules'), path.join(scratch, 'node_modules'));
  execFileSync(path.join(root, 'node_modules', '.bin', 'prebuildify'), ['--napi', '--strip', '--arch', 'arm64'], {
    cwd: scratch,
    stdio: ['ignore', 'ignore', 'inherit'],
    env: {
      ...process.env,
      CC: `${cross}gcc`, CXX: `${cross}g++`, LINK: `${cross}g++`, AR: `${cross}ar`,
      PREBUILD_STRIP_BIN: `${cross}strip`,
    },
  });
  mkdirSync(target, { recursive: true });
  cpSync(path.join(scratch, 'prebuilds', 'linux-arm64', 'layerwise.node'), path.join(target, 'layerwise.node'));
  if (!existsSync(path.join(target, 'layerwise.node'))) throw new Error('prebuildify wrote no linux-arm64 binary');
  console.log(`prebuild:arm64: ${path.relative(root, path.join(target, 'layerwise.node'))}`);
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
