// The IDX format of MNIST and its relatives: two zero bytes, a type code, a
// dimension count, big-endian uint32 sizes, then the values big-endian. Files
// are read whole (MNIST is ~50 MB unpacked) and gzip is recognised by content,
// not by name, because downloads are often unpacked without being renamed.
//
// Untrusted files stay bounded: the header is inflated first (from a small
// prefix of the compressed bytes), a declared size above `maxBytes` is refused
// before anything is allocated, and the whole file is then inflated with an
// output cap of exactly the declared size, so a gzip bomb stops as soon as it
// inflates past what its header promised instead of filling memory.

import { createReadStream, readFileSync, statSync } from 'node:fs';
import { open, readFile, stat, writeFile } from 'node:fs/promises';
import { constants as bufferConstants } from 'node:buffer';
import { endianness } from 'node:os';
import { promisify } from 'node:util';
import { constants as zlibConstants, createGunzip, gunzip, gunzipSync, gzipSync, type ZlibOptions } from 'node:zlib';
import { describe, formatShape } from '../shape.js';
import { DataFileError, readDataFile, readDataFileSync } from './errors.js';
import { LayerwiseError, OptionError, ShapeError } from '../errors.js';
import { checkOptions } from '../options.js';

/** Element types of the IDX format. */
export type IdxType = 'uint8' | 'int8' | 'int16' | 'int32' | 'float32' | 'float64';
/** The typed array holding an IDX file's values. */
export type IdxData = Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;

/** An IDX file's contents: its element type, shape and values. */
export interface IdxArray {
  shape: number[];
  data: IdxData;
  type: IdxType;
}

interface TypeInfo {
  code: number;
  type: IdxType;
  bytes: 1 | 2 | 4 | 8;
  array: new (buffer: ArrayBuffer, byteOffset?: number, length?: number) => IdxData;
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

export interface IdxOptions {
  /** Largest data size accepted, in bytes after decompression (default 1 GiB); a larger declared size is refused before allocating. */
  maxBytes?: number;
}

const DEFAULT_MAX_IDX_BYTES = 2 ** 30;

/**
 * zlib's output chunk for a file that inflates to at most `limit` bytes: the
 * whole output in one chunk instead of thousands of 16 KiB ones joined by a
 * copy: after loading Fashion-MNIST the process held 336 MB of RSS instead of
 * 384 MB (measured), and one large block is unmapped whole when freed.
 */
function outputChunk(limit: number): number {
  return Math.max(64 * 1024, limit);
}

/** Reads an IDX file, gzipped or raw. */
export async function loadIdx(file: string, options: IdxOptions = {}): Promise<IdxArray> {
  const maxBytes = maxBytesOption(options);
  await readDataFile(file, async () => checkFileSize(file, (await stat(file)).size, maxBytes));
  const bytes = await readDataFile(file, () => readFile(file));
  if (!isGzip(bytes)) return decodeIdx(bytes, file, true);
  const limit = inflatedSize(bytes, file, maxBytes);
  let raw: Buffer;
  try {
    raw = await gunzipAsync(bytes, { maxOutputLength: limit, chunkSize: outputChunk(limit) });
  } catch (err) {
    throw gzipError(file, err, limit);
  }
  return decodeIdx(raw, file, true);
}

/** An IDX file's header, as streamIdx hands it to its caller before any data. */
export interface IdxHeader {
  shape: number[];
  type: IdxType;
}

/** Takes the data bytes of a streamed IDX file in order: `offset` is the position of chunk[0] in the data (after the header). */
export type IdxChunkSink = (chunk: Uint8Array, offset: number) => void;

/**
 * Reads an IDX file (gzipped or raw) from disk in chunks and hands its data to
 * `onHeader`'s sink as it inflates, so neither the compressed file nor the
 * inflated bytes are ever held whole: the caller converts each chunk into its
 * own output (loadMnist writes floats straight from it). A file that turns out
 * malformed — bad header, short, long, corrupt gzip, a bomb — is handed to
 * loadIdx, which names the problem with the same bounded memory; so the errors
 * are exactly loadIdx's.
 */
export async function streamIdx(file: string, onHeader: (header: IdxHeader) => IdxChunkSink, options: IdxOptions = {}): Promise<void> {
  const maxBytes = maxBytesOption(options);
  await readDataFile(file, async () => checkFileSize(file, (await stat(file)).size, maxBytes));
  const gzipped = await readDataFile(file, async () => {
    const handle = await open(file, 'r');
    try {
      const magic = Buffer.alloc(2);
      const { bytesRead } = await handle.read(magic, 0, 2, 0);
      return isGzip(magic.subarray(0, bytesRead));
    } finally {
      await handle.close();
    }
  });
  let malformed = false;
  try {
    malformed = !(await streamChunks(file, gzipped, maxBytes, onHeader));
  } catch (err) {
    // The caller's own errors (a rejected header) pass through; the stream's are named by loadIdx below.
    if (err instanceof LayerwiseError || !isStreamError(err)) throw err;
    malformed = true;
  }
  if (malformed) {
    await loadIdx(file, options);
    throw new DataFileError(file, `${file}: malformed IDX data`);
  }
}

/** Errors of reading or inflating (errno codes, zlib's Z_* codes), as opposed to a sink's. */
function isStreamError(err: unknown): boolean {
  return typeof (err as NodeJS.ErrnoException)?.code === 'string';
}

/** False when the file is malformed (the caller then lets loadIdx say how); true when all of its data went to the sink. */
async function streamChunks(file: string, gzipped: boolean, maxBytes: number, onHeader: (header: IdxHeader) => IdxChunkSink): Promise<boolean> {
  const source = createReadStream(file, { highWaterMark: 1 << 20 });
  const stream = gzipped ? source.pipe(createGunzip({ chunkSize: 1 << 18 })) : source;
  if (gzipped) source.on('error', (err) => stream.destroy(err));
  let head: Buffer = Buffer.alloc(0);
  let sink: IdxChunkSink | undefined;
  let dataBytes = 0;
  let received = 0;
  try {
    for await (const piece of stream as AsyncIterable<Buffer>) {
      let chunk: Buffer = piece;
      if (sink === undefined) {
        head = Buffer.concat([head, chunk]);
        const header = headerOf(head, file, false);
        if (header === undefined) {
          if (head.length > MAX_HEADER_BYTES) return false;
          continue;
        }
        if (!header.valid || header.dataBytes > maxBytes) return false;
        sink = onHeader({ shape: header.shape, type: header.type });
        dataBytes = header.dataBytes;
        chunk = head.subarray(header.size);
        head = Buffer.alloc(0);
      }
      if (received + chunk.length > dataBytes) return false;
      if (chunk.length > 0) sink(chunk, received);
      received += chunk.length;
    }
  } finally {
    source.destroy();
    stream.destroy();
  }
  return sink !== undefined && received === dataBytes;
}

/** `loadIdx`, synchronously. */
export function loadIdxSync(file: string, options: IdxOptions = {}): IdxArray {
  const maxBytes = maxBytesOption(options);
  readDataFileSync(file, () => checkFileSize(file, statSync(file).size, maxBytes));
  return parseIdx(readDataFileSync(file, () => readFileSync(file)), file, options);
}

/** Decodes IDX bytes already in memory (gzipped or raw); `source` names them in errors. */
export function parseIdx(bytes: Uint8Array, source = 'IDX data', options: IdxOptions = {}): IdxArray {
  if (!isGzip(bytes)) return decodeIdx(bytes, source);
  const limit = inflatedSize(bytes, source, maxBytesOption(options));
  let raw: Buffer;
  try {
    raw = gunzipSync(bytes, { maxOutputLength: limit, chunkSize: outputChunk(limit) });
  } catch (err) {
    throw gzipError(source, err, limit);
  }
  return decodeIdx(raw, source, true);
}

function maxBytesOption(options: IdxOptions): number {
  checkOptions(options, ['maxBytes'], 'IDX options');
  const max = options.maxBytes ?? DEFAULT_MAX_IDX_BYTES;
  if (!Number.isSafeInteger(max) || max < 1) throw new OptionError(`expected a positive integer for maxBytes but got ${describe(max)}`);
  return max;
}

/** A file (compressed or not) larger than the data limit plus the largest header cannot be a valid IDX file within it. */
function checkFileSize(file: string, size: number, maxBytes: number): void {
  if (size > maxBytes + MAX_HEADER_BYTES) throw new DataFileError(file, `${file}: ${size} bytes is above the limit of ${maxBytes} bytes (IdxOptions.maxBytes)`);
}

const MAX_HEADER_BYTES = 4 + 4 * 255;

/**
 * The exact inflated size a gzipped IDX file may have: header plus the data
 * its header declares. The header is read from a growing prefix of the
 * compressed bytes, each try inflating at most ~1000× its few kilobytes.
 */
function inflatedSize(gz: Uint8Array, file: string, maxBytes: number): number {
  for (let prefix = 256; ; prefix *= 4) {
    let head: Buffer;
    try {
      // A sync flush returns what the prefix inflates to instead of failing at its cut-off end.
      head = gunzipSync(gz.subarray(0, prefix), { finishFlush: zlibConstants.Z_SYNC_FLUSH, maxOutputLength: 8 * 2 ** 20 } as ZlibOptions);
    } catch (err) {
      throw gzipError(file, err, 0);
    }
    const header = headerOf(head, file);
    if (header) {
      if (header.dataBytes > maxBytes) {
        throw new DataFileError(file, `${file}: its header declares ${formatShape(header.shape)} (${header.dataBytes} bytes), above the limit of ${maxBytes} bytes (IdxOptions.maxBytes)`);
      }
      return header.size + header.dataBytes;
    }
    // No whole header in what the stream holds: inflating it all (it is that
    // small) lets gunzip or the decoder name the problem.
    if (prefix >= gz.length || prefix >= 64 * 1024) return head.length + 1;
  }
}

/**
 * The header's size, shape, type and declared data bytes once `bytes` hold
 * all of it. A bad magic number, type or rank throws decodeIdx's error, or
 * with `strict` false comes back as valid: false (so does a zero or
 * oversized dimension, which only decodeIdx reports).
 */
function headerOf(bytes: Uint8Array, file: string, strict = true):
  { size: number; shape: number[]; type: IdxType; dataBytes: number; valid: boolean } | undefined {
  if (bytes.length < 4 || bytes.length < 4 + 4 * bytes[3]) return undefined;
  const info = TYPES.find((t) => t.code === bytes[2]);
  if (bytes[0] !== 0 || bytes[1] !== 0 || !info || bytes[3] === 0) {
    if (strict) decodeIdx(bytes, file);
    return { size: 4, shape: [], type: 'uint8', dataBytes: 0, valid: false };
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shape = Array.from({ length: bytes[3] }, (_, i) => view.getUint32(4 + 4 * i, false));
  const dataBytes = shape.reduce((n, d) => n * d, info.bytes);
  const valid = !shape.includes(0) && dataBytes <= bufferConstants.MAX_LENGTH;
  return { size: 4 + 4 * shape.length, shape, type: info.type, dataBytes, valid };
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

function gzipError(file: string, err: unknown, declaredBytes: number): DataFileError {
  if ((err as NodeJS.ErrnoException)?.code === 'ERR_BUFFER_TOO_LARGE') {
    return new DataFileError(file, `${file}: trailing data: inflates to more than the ${declaredBytes} bytes its header declares (a gzip bomb?); stopped there`);
  }
  const reason = err instanceof Error ? err.message : String(err);
  return new DataFileError(file, `${file}: corrupt gzip data: ${reason}`);
}

function hex(bytes: Uint8Array, count: number): string {
  return Array.from(bytes.subarray(0, count), (b) => `0x${b.toString(16).padStart(2, '0')}`).join(' ');
}

/** `owned`: `bytes` is a buffer this module made (read or inflated), which no caller holds. */
function decodeIdx(bytes: Uint8Array, file: string, owned = false): IdxArray {
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

  // Single bytes need no alignment or byte swap: a view of a buffer this
  // module made saves a copy (47 MB for Fashion-MNIST's training images):
  // loading the full set peaked at 429 MB of RSS with it, 386 MB without.
  if (info.bytes === 1 && owned && bytes.buffer.byteLength - expected <= 4096) {
    return { shape, data: new info.array(bytes.buffer as ArrayBuffer, bytes.byteOffset + headerSize, expected), type: info.type };
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
