// The IDX format of MNIST and its relatives: two zero bytes, a type code, a
// dimension count, big-endian uint32 sizes, then the values big-endian. Files
// are read whole (MNIST is ~50 MB unpacked) and gzip is recognised by content,
// not by name, because downloads are often unpacked without being renamed.

import { readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { constants as bufferConstants } from 'node:buffer';
import { endianness } from 'node:os';
import { promisify } from 'node:util';
import { gunzip, gunzipSync, gzipSync } from 'node:zlib';
import { describe, formatShape } from '../shape.js';
import { DataFileError, readDataFile, readDataFileSync } from './errors.js';
import { OptionError, ShapeError } from '../errors.js';

export type IdxType = 'uint8' | 'int8' | 'int16' | 'int32' | 'float32' | 'float64';
export type IdxData = Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;

export interface IdxArray {
  shape: number[];
  data: IdxData;
  type: IdxType;
}

interface TypeInfo {
  code: number;
  type: IdxType;
  bytes: 1 | 2 | 4 | 8;
  array: new (buffer: ArrayBuffer) => IdxData;
}

const TYPES: readonly TypeInfo[] = [
  { code: 0x08, type: 'uint8', bytes: 1, array: Uint8Array },
  { code: 0x09, type: 'int8', bytes: 1, array: Int8Array },
  { code: 0x0b, type: 'int16', bytes: 2, array: Int16Array },
  { code: 0x0c, type: 'int32', bytes: 4, array: Int32Array },
  { code: 0x0d, type: 'float32', bytes: 4, array: Float32Array },
  { code: 0x0e, type: 'float64', bytes: 8, array: Float64Array },
];

const KNOWN_CODES = '0x08 ubyte, 0x09 byte, 0x0B short, 0x0C int, 0x0D float or 0x0E double';
const LITTLE_ENDIAN_HOST = endianness() === 'LE';
const gunzipAsync = promisify(gunzip);

/** Reads an IDX file, gzipped or raw. */
export async function loadIdx(file: string): Promise<IdxArray> {
  const bytes = await readDataFile(file, () => readFile(file));
  if (!isGzip(bytes)) return decodeIdx(bytes, file);
  let raw: Buffer;
  try {
    raw = await gunzipAsync(bytes);
  } catch (err) {
    throw gzipError(file, err);
  }
  return decodeIdx(raw, file);
}

export function loadIdxSync(file: string): IdxArray {
  return parseIdx(readDataFileSync(file, () => readFileSync(file)), file);
}

/** Decodes IDX bytes already in memory (gzipped or raw); `source` names them in errors. */
export function parseIdx(bytes: Uint8Array, source = 'IDX data'): IdxArray {
  if (!isGzip(bytes)) return decodeIdx(bytes, source);
  let raw: Buffer;
  try {
    raw = gunzipSync(bytes);
  } catch (err) {
    throw gzipError(source, err);
  }
  return decodeIdx(raw, source);
}

/** The IDX bytes (uncompressed) for `data` with `shape`; the type code follows the array type. */
export function encodeIdx(array: { shape: readonly number[]; data: IdxData }): Buffer {
  const { shape, data } = array;
  const info = TYPES.find((t) => data instanceof t.array);
  if (!info) {
    throw new OptionError(`expected a Uint8Array, Int8Array, Int16Array, Int32Array, Float32Array or Float64Array for IDX data but got ${describe(data)}`);
  }
  if (!Array.isArray(shape) || shape.length < 1 || shape.length > 255) {
    throw new ShapeError(`expected 1 to 255 dimensions for an IDX shape but got ${Array.isArray(shape) ? shape.length : describe(shape)}`);
  }
  let size = 1;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 1 || d > 0xffffffff) {
      throw new ShapeError(`expected sizes from 1 to 4294967295 for an IDX shape but got ${formatShape(shape)}`);
    }
    size *= d;
  }
  if (size !== data.length) {
    throw new ShapeError(`expected ${size} values for shape ${formatShape(shape)} but got ${data.length}`);
  }
  const header = 4 + 4 * shape.length;
  const out = Buffer.alloc(header + data.byteLength);
  out[2] = info.code;
  out[3] = shape.length;
  shape.forEach((d, i) => out.writeUInt32BE(d, 4 + 4 * i));
  const body = out.subarray(header);
  body.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  if (LITTLE_ENDIAN_HOST) swapInPlace(body, info.bytes);
  return out;
}

/** Writes an IDX file; gzipped when `gzip` is set or, by default, when the name ends in `.gz`. */
export async function saveIdx(
  file: string, array: { shape: readonly number[]; data: IdxData }, options: { gzip?: boolean } = {},
): Promise<void> {
  const raw = encodeIdx(array);
  const gzip = options.gzip ?? file.endsWith('.gz');
  // Level 9 because these files are written once and shipped; a fixed level
  // also keeps the output byte-identical between runs.
  await writeFile(file, gzip ? gzipSync(raw, { level: 9 }) : raw);
}

function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

function gzipError(file: string, err: unknown): DataFileError {
  const reason = err instanceof Error ? err.message : String(err);
  return new DataFileError(file, `${file}: corrupt gzip data: ${reason}`);
}

function hex(bytes: Uint8Array, count: number): string {
  return Array.from(bytes.subarray(0, count), (b) => `0x${b.toString(16).padStart(2, '0')}`).join(' ');
}

function decodeIdx(bytes: Uint8Array, file: string): IdxArray {
  const fail = (message: string): never => {
    throw new DataFileError(file, `${file}: ${message}`);
  };
  if (bytes.length < 4) {
    fail(`truncated header: expected 4 bytes for the IDX magic number but found ${bytes.length}`);
  }
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    fail(`not an IDX file: the magic number must start with two zero bytes but the file starts ${hex(bytes, 4)}`);
  }
  const info = TYPES.find((t) => t.code === bytes[2]);
  if (!info) {
    return fail(`unknown IDX type code 0x${bytes[2].toString(16).padStart(2, '0')} (expected ${KNOWN_CODES})`);
  }
  const rank = bytes[3];
  if (rank === 0) fail('the IDX header declares 0 dimensions');
  const headerSize = 4 + 4 * rank;
  if (bytes.length < headerSize) {
    fail(`truncated header: expected ${headerSize} bytes for an IDX header with ${rank} dimensions but found ${bytes.length}`);
  }

  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shape: number[] = [];
  for (let i = 0; i < rank; i++) shape.push(view.getUint32(4 + 4 * i, false));
  const zero = shape.indexOf(0);
  if (zero >= 0) fail(`dimension ${zero} of shape ${formatShape(shape)} is 0`);
  // Compared as we go so that 255 large sizes cannot lose precision first.
  let expected = info.bytes;
  for (const d of shape) {
    expected *= d;
    if (expected > bufferConstants.MAX_LENGTH) {
      fail(`shape ${formatShape(shape)} of ${info.type} is too large: it needs more than the ${bufferConstants.MAX_LENGTH} bytes a buffer can hold`);
    }
  }
  const found = bytes.length - headerSize;
  if (found < expected) {
    fail(`truncated data: expected ${expected} bytes of data for shape ${formatShape(shape)} but found ${found}`);
  }
  if (found > expected) {
    fail(`trailing data: expected ${expected} bytes of data for shape ${formatShape(shape)} but found ${found} (${found - expected} extra)`);
  }

  // A fresh, aligned buffer: the input may be a slice of a larger one at an
  // odd offset, and the caller should not keep the whole file alive.
  const buffer = new ArrayBuffer(expected);
  const out = new Uint8Array(buffer);
  out.set(bytes.subarray(headerSize));
  if (LITTLE_ENDIAN_HOST) swapInPlace(out, info.bytes);
  return { shape, data: new info.array(buffer), type: info.type };
}

/** Big-endian ↔ host order, with Buffer's native swaps rather than a JS loop. */
function swapInPlace(bytes: Uint8Array, width: 1 | 2 | 4 | 8): void {
  if (width === 1) return;
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (width === 2) buf.swap16();
  else if (width === 4) buf.swap32();
  else buf.swap64();
}
