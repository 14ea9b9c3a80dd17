// Crash-safe file replacement: write a temporary file in the same directory,
// flush it, rename it over the target, then flush the directory so the rename
// itself survives a power cut. A reader sees the old file or the new one,
// never a partial write.

import { promises as fs } from 'node:fs';
import * as path from 'node:path';

export async function writeFileAtomically(file: string, data: string | Buffer): Promise<void> {
  const temp = `${file}.tmp-${process.pid}-${Date.now()}`;
  const handle = await fs.open(temp, 'w');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await fs.rename(temp, file);
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
