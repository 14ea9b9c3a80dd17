// Crash-safe file replacement and bounded reads of untrusted files.
//
// Writing: the data goes to a fresh temporary file in the same directory,
// created with O_EXCL under a random name (so a file or symlink planted under a
// predictable name is never followed or overwritten, and two writers never
// share a temporary), is flushed, renamed over the target, and then the
// directory is flushed so the rename itself survives a power cut. A reader sees
// the old file or the new one, never a partial write.
//
// Reading: a file is opened without blocking (a FIFO would otherwise hang the
// open forever), must be a regular file (not a FIFO, a device such as
// /dev/zero, or a directory) and no larger than the caller allows, and exactly
// its fstat size is read.

import { randomBytes } from 'node:crypto';
import { constants, promises as fs } from 'node:fs';
import * as path from 'node:path';

export async function writeFileAtomically(file: string, data: string | Buffer): Promise<void> {
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.tmp-${process.pid}-${randomBytes(8).toString('hex')}`);
  // 'wx' is O_CREAT | O_EXCL: fails instead of following a symlink at that name.
  const handle = await fs.open(temp, 'wx', 0o644);
  try {
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.rename(temp, file);
  } catch (err) {
    await fs.rm(temp, { force: true });
    throw err;
  }
  await syncDirectory(path.dirname(file));
}

/** Makes renames inside `dir` durable; a no-op where directories cannot be flushed. */
export async function syncDirectory(dir: string): Promise<void> {
  try {
    const handle = await fs.open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // Some file systems cannot fsync a directory; the rename is still atomic.
  }
}

/** Why readRegularFile refused a file: the caller turns it into its own error type. */
export class UnreadableFile extends Error {}

/**
 * Reads a whole file that must be a regular file of at most `maxBytes` bytes
 * (and, when given, exactly `expectedBytes`), checking both on the open handle
 * before reading anything, so a special file or an oversized one costs nothing.
 */
export async function readRegularFile(file: string, limits: { maxBytes: number; expectedBytes?: number }): Promise<Buffer> {
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UnreadableFile(code === 'ENOENT' ? 'no such file' : (err as Error).message);
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw new UnreadableFile(`not a regular file (${describeKind(stat)})`);
    if (limits.expectedBytes !== undefined && stat.size !== limits.expectedBytes) {
      throw new UnreadableFile(`holds ${stat.size} bytes but ${limits.expectedBytes} are expected (truncated or replaced?)`);
    }
    if (stat.size > limits.maxBytes) throw new UnreadableFile(`holds ${stat.size} bytes, above the limit of ${limits.maxBytes}`);
    const bytes = Buffer.alloc(stat.size);
    let at = 0;
    while (at < bytes.length) {
      const { bytesRead } = await handle.read(bytes, at, bytes.length - at, at);
      if (bytesRead === 0) throw new UnreadableFile(`ended after ${at} of ${bytes.length} bytes (changed while being read?)`);
      at += bytesRead;
    }
    return bytes;
  } finally {
    await handle.close();
  }
}

function describeKind(stat: { isDirectory(): boolean; isFIFO(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean; isSocket(): boolean }): string {
  if (stat.isDirectory()) return 'a directory';
  if (stat.isFIFO()) return 'a FIFO';
  if (stat.isCharacterDevice() || stat.isBlockDevice()) return 'a device';
  if (stat.isSocket()) return 'a socket';
  return 'a special file';
}

/**
 * Runs `fn` holding an exclusive lock file in `dir` (created with O_EXCL), so
 * concurrent writers of one directory, in this process or another, take turns.
 * A lock whose owner process no longer exists is taken over. Waits up to
 * `timeoutMs`, then throws `onTimeout()`.
 */
export async function withDirectoryLock<T>(dir: string, name: string, timeoutMs: number, onTimeout: () => Error, fn: () => Promise<T>): Promise<T> {
  const lock = path.join(dir, name);
  const deadline = Date.now() + timeoutMs;
  // The lock appears with its owner's pid already in it (written to a private
  // file, then hard-linked into place, which fails if the lock exists), so a
  // process killed at any moment never leaves an ownerless lock behind.
  const mine = `${lock}.${process.pid}-${randomBytes(6).toString('hex')}`;
  await fs.writeFile(mine, String(process.pid), { flag: 'wx', mode: 0o644 });
  try {
    for (let wait = 1; ; wait = Math.min(wait * 2, 50)) {
      try {
        await fs.link(mine, lock);
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        if (await ownerIsGone(lock)) {
          await fs.rm(lock, { force: true });
          continue;
        }
        if (Date.now() > deadline) throw onTimeout();
        await new Promise((resolve) => setTimeout(resolve, wait));
      }
    }
  } finally {
    await fs.rm(mine, { force: true });
  }
  try {
    return await fn();
  } finally {
    await fs.rm(lock, { force: true });
  }
}

async function ownerIsGone(lock: string): Promise<boolean> {
  let pid: number;
  try {
    pid = Number((await fs.readFile(lock, 'utf8')).trim());
  } catch {
    return false; // just created or just removed: look again
  }
  if (!Number.isInteger(pid) || pid <= 0) return true; // not a lock this code wrote
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
