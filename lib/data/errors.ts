// One error type for every data loader, so a caller can tell a bad file from a
// bad argument and read where the problem is without parsing the message. It
// is a DataError (code E_DATA).

import { DataError } from '../errors.js';

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
