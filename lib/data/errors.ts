// One error type for every data loader, so a caller can tell a bad file from a
// bad argument and read where the problem is without parsing the message. It
// is a DataError (code E_DATA).

import { DataError } from '../errors.js';

/** A data file that is missing, unreadable or malformed, with the file's path in `file` (code E_DATA). */
export class DataFileError extends DataError {
  /** The path as the caller gave it. */
  readonly file: string;
  /** 1-based line number, for text formats. */
  readonly line?: number;
  /** 1-based column number, for text formats. */
  readonly column?: number;

  constructor(file: string, message: string, where: { line?: number; column?: number } = {}) {
    super(message);
    this.file = file;
    if (where.line !== undefined) this.line = where.line;
    if (where.column !== undefined) this.column = where.column;
  }
}

/** Runs a file read, turning a system error (ENOENT, EISDIR, EACCES…) into a DataFileError naming the file. */
export async function readDataFile<T>(file: string, read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (err) {
    throw asDataFileError(file, err);
  }
}

/** The synchronous twin of readDataFile. */
export function readDataFileSync<T>(file: string, read: () => T): T {
  try {
    return read();
  } catch (err) {
    throw asDataFileError(file, err);
  }
}

function asDataFileError(file: string, err: unknown): unknown {
  if (err instanceof DataFileError) return err;
  const sys = err as NodeJS.ErrnoException;
  if (typeof sys?.code !== 'string') return err;
  const reason = sys.code === 'ENOENT' ? 'no such file' : sys.code === 'EISDIR' ? 'is a directory' : sys.message;
  return new DataFileError(file, `cannot read ${file}: ${reason}`);
}
