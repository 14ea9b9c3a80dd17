import { expect } from 'chai';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { constants as bufferConstants } from 'node:buffer';
import * as os from 'node:os';
import * as path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import {
  OptionError, ShapeError,
  DataFileError, FASHION_MNIST_CLASSES, FASHION_MNIST_SAMPLE_DIR, FASHION_MNIST_SYSTEM_DIR,
  encodeIdx, fashionMnistDir, loadCsv, loadCsvSync, loadIdx, loadIdxSync, loadMnist, mnistFiles, parseCsv, parseIdx,
  saveIdx, type IdxArray, type IdxData, type MnistData,
} from '../lib/index.js';
import { streamIdx } from '../lib/data/idx.js';
import { thrown } from './helpers.js';


async function rejected(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  return expect.fail('expected the promise to reject');
}

/** An IDX header: two zero bytes, the type code, the rank, big-endian sizes. */
function idxHeader(code: number, shape: number[]): Buffer {
  const header = Buffer.alloc(4 + 4 * shape.length);
  header[2] = code;
  header[3] = shape.length;
  shape.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  return header;
}

let tmp: string;

function tmpFile(name: string, bytes: Uint8Array | string): string {
  const file = path.join(tmp, name);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, bytes);
  return file;
}

describe('data loaders', () => {
  before(function () {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'layerwise-data-'));
  });
  after(function () {
    rmSync(tmp, { recursive: true, force: true });
  });

  describe('IDX', () => {
    const cases: { name: string; code: number; data: IdxData }[] = [
      { name: 'uint8', code: 0x08, data: Uint8Array.from([0, 1, 127, 128, 254, 255]) },
      { name: 'int8', code: 0x09, data: Int8Array.from([-128, -1, 0, 1, 64, 127]) },
      { name: 'int16', code: 0x0b, data: Int16Array.from([-32768, -2, 0, 258, 1000, 32767]) },
      { name: 'int32', code: 0x0c, data: Int32Array.from([-2147483648, -70000, 0, 16909060, 70000, 2147483647]) },
      { name: 'float32', code: 0x0d, data: Float32Array.from([-1.5, 0, 0.1, 3.25, 1e30, -Infinity]) },
      { name: 'float64', code: 0x0e, data: Float64Array.from([-1.5, 0, 0.1, Math.PI, 1e300, NaN]) },
    ];

    for (const { name, code, data } of cases) {
      it(`round-trips ${name} raw and gzipped, sync and async`, async () => {
        const raw = encodeIdx({ shape: [2, 3], data });
        expect(Array.from(raw.subarray(0, 12))).to.deep.equal([0, 0, code, 2, 0, 0, 0, 2, 0, 0, 0, 3]);
        const rawFile = tmpFile(`${name}.idx`, raw);
        const gzFile = tmpFile(`${name}.idx.gz`, gzipSync(raw));
        for (const loaded of [await loadIdx(rawFile), await loadIdx(gzFile), loadIdxSync(rawFile), loadIdxSync(gzFile), parseIdx(raw)]) {
          expect(loaded.type).to.equal(name);
          expect(loaded.shape).to.deep.equal([2, 3]);
          expect(loaded.data.constructor).to.equal(data.constructor);
          expect(Array.from(loaded.data)).to.deep.equal(Array.from(data));
        }
      });
    }

    it('reads big-endian values from bytes written by hand', () => {
      const int16 = Buffer.concat([idxHeader(0x0b, [3]), Buffer.from([0x01, 0x02, 0xff, 0xfe, 0x80, 0x00])]);
      expect(Array.from(parseIdx(int16).data)).to.deep.equal([258, -2, -32768]);
      const float32 = Buffer.concat([idxHeader(0x0d, [1, 2]), Buffer.from([0x3f, 0xc0, 0, 0, 0xc1, 0x20, 0, 0])]);
      const f = parseIdx(float32);
      expect(f.shape).to.deep.equal([1, 2]);
      expect(Array.from(f.data)).to.deep.equal([1.5, -10]);
    });

    it('reads from a Buffer slice at an odd offset', () => {
      const bytes = Buffer.concat([Buffer.from([7]), idxHeader(0x0c, [2]), Buffer.from([0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff])]);
      expect(Array.from(parseIdx(bytes.subarray(1)).data)).to.deep.equal([1, -1]);
    });

    it('writes gzipped files with saveIdx when the name ends in .gz', async () => {
      const file = path.join(tmp, 'saved-idx1-ubyte.gz');
      await saveIdx(file, { shape: [4], data: Uint8Array.from([1, 2, 3, 4]) });
      const bytes = readFileSync(file);
      expect([bytes[0], bytes[1]]).to.deep.equal([0x1f, 0x8b]);
      expect(Array.from(gunzipSync(bytes))).to.deep.equal([0, 0, 8, 1, 0, 0, 0, 4, 1, 2, 3, 4]);
      const raw = path.join(tmp, 'saved-raw.gz');
      await saveIdx(raw, { shape: [1], data: Uint8Array.from([9]) }, { gzip: false });
      expect(readFileSync(raw)[0]).to.equal(0);
    });

    /** The error for `bytes` from loadIdx and loadIdxSync, checked to agree. */
    async function idxError(name: string, bytes: Uint8Array): Promise<{ file: string; message: string }> {
      const file = tmpFile(name, bytes);
      const asyncErr = await rejected(loadIdx(file));
      const syncErr = thrown(() => loadIdxSync(file));
      for (const err of [asyncErr, syncErr]) {
        expect(err).to.be.instanceOf(DataFileError);
        expect((err as DataFileError).file).to.equal(file);
      }
      expect(syncErr.message).to.equal(asyncErr.message);
      // The streaming reader (loadMnist's) fails with the same error and never hands out data past the declared size.
      let declared = Infinity, handed = 0;
      const streamErr = await rejected(streamIdx(file, ({ shape, type }) => {
        declared = shape.reduce((n, d) => n * d, type === 'uint8' || type === 'int8' ? 1 : type === 'int16' ? 2 : type === 'float64' ? 8 : 4);
        return (chunk) => { handed += chunk.length; };
      }));
      expect(streamErr).to.be.instanceOf(DataFileError);
      expect(streamErr.message).to.equal(asyncErr.message);
      expect(handed).to.be.at.most(declared);
      return { file, message: asyncErr.message };
    }

    it('streamIdx hands over every data byte in order, raw and gzipped, across many chunks', async () => {
      const data = new Uint8Array(3 * 1000 * 1001).map((_, i) => (i * 7919 + (i >> 9)) % 256);
      const ints = Int32Array.from({ length: 300_000 }, (_, i) => i * 40_503 - 7);
      for (const [name, array, bytes] of [
        ['many.idx', { shape: [3, 1000, 1001], data }, 1],
        ['many.idx.gz', { shape: [3, 1000, 1001], data }, 1],
        ['ints.idx.gz', { shape: [300_000], data: ints }, 4],
      ] as const) {
        const encoded = encodeIdx(array);
        const file = tmpFile(name, name.endsWith('.gz') ? gzipSync(encoded) : encoded);
        const got = new Uint8Array(array.data.byteLength);
        let chunks = 0, header: unknown;
        await streamIdx(file, (h) => {
          header = h;
          return (chunk, offset) => {
            chunks++;
            got.set(chunk, offset);
          };
        });
        expect(header).to.deep.equal({ shape: [...array.shape], type: bytes === 1 ? 'uint8' : 'int32' });
        expect(chunks, name).to.be.greaterThan(1);
        // Data as stored: big-endian for multi-byte types.
        expect(Buffer.from(got).equals(encoded.subarray(encoded.length - got.length)), name).to.equal(true);
      }
    });

    it("streamIdx passes its caller's errors through unchanged", async () => {
      const file = tmpFile('caller.idx.gz', gzipSync(encodeIdx({ shape: [4], data: new Uint8Array(4) })));
      const err = await rejected(streamIdx(file, () => { throw new ShapeError('not this one'); }));
      expect(err).to.be.instanceOf(ShapeError);
      expect(err.message).to.equal('not this one');
    });

    it('names the file and the problem for a truncated header', async () => {
      let e = await idxError('short.idx', Buffer.from([0, 0, 8]));
      expect(e.message).to.equal(`${e.file}: truncated header: expected 4 bytes for the IDX magic number but found 3`);
      e = await idxError('short-dims.idx', Buffer.from([0, 0, 8, 3, 0, 0, 0, 2, 0, 0]));
      expect(e.message).to.equal(`${e.file}: truncated header: expected 16 bytes for an IDX header with 3 dimensions but found 10`);
      e = await idxError('empty.idx', Buffer.alloc(0));
      expect(e.message).to.equal(`${e.file}: truncated header: expected 4 bytes for the IDX magic number but found 0`);
    });

    it('reports truncated data with the shape and both byte counts', async () => {
      const e = await idxError('train-images-idx3-ubyte', Buffer.concat([idxHeader(0x08, [60000, 28, 28]), Buffer.alloc(100)]));
      expect(e.message).to.equal(`${e.file}: truncated data: expected 47040000 bytes of data for shape [60000,28,28] but found 100`);
      const f = await idxError('short-int32.idx.gz', gzipSync(Buffer.concat([idxHeader(0x0c, [2, 3]), Buffer.alloc(23)])));
      expect(f.message).to.equal(`${f.file}: truncated data: expected 24 bytes of data for shape [2,3] but found 23`);
    });

    it('rejects trailing data', async () => {
      const e = await idxError('long.idx', Buffer.concat([idxHeader(0x08, [2, 2]), Buffer.alloc(6)]));
      expect(e.message).to.equal(`${e.file}: trailing data: expected 4 bytes of data for shape [2,2] but found 6 (2 extra)`);
    });

    it('rejects a bad magic number and unknown type codes', async () => {
      let e = await idxError('text.idx', Buffer.from('hello world'));
      expect(e.message).to.equal(`${e.file}: not an IDX file: the magic number must start with two zero bytes but the file starts 0x68 0x65 0x6c 0x6c`);
      e = await idxError('type07.idx', Buffer.concat([idxHeader(0x07, [1]), Buffer.alloc(1)]));
      expect(e.message).to.equal(`${e.file}: unknown IDX type code 0x07 (expected 0x08 ubyte, 0x09 byte, 0x0B short, 0x0C int, 0x0D float or 0x0E double)`);
    });

    it('rejects zero and oversized dimensions', async () => {
      let e = await idxError('rank0.idx', Buffer.from([0, 0, 8, 0, 5]));
      expect(e.message).to.equal(`${e.file}: the IDX header declares 0 dimensions`);
      e = await idxError('zero-dim.idx', idxHeader(0x08, [10, 0, 28]));
      expect(e.message).to.equal(`${e.file}: dimension 1 of shape [10,0,28] is 0`);
      e = await idxError('huge.idx', Buffer.concat([idxHeader(0x0e, [65536, 65536, 4294967295]), Buffer.alloc(8)]));
      expect(e.message).to.equal(
        `${e.file}: shape [65536,65536,4294967295] of float64 is too large: it needs more than the ${bufferConstants.MAX_LENGTH} bytes a buffer can hold`,
      );
    });

    it('reports corrupt and truncated gzip data', async () => {
      const good = gzipSync(encodeIdx({ shape: [1000], data: new Uint8Array(1000).map((_, i) => (i * 37) % 251) }));
      const truncated = await idxError('truncated.gz', good.subarray(0, good.length >> 1));
      expect(truncated.message).to.equal(`${truncated.file}: corrupt gzip data: unexpected end of file`);
      const corrupt = Buffer.from(good);
      corrupt.fill(0xff, 10, 20);
      const e = await idxError('corrupt.gz', corrupt);
      expect(e.message).to.match(new RegExp(`^${e.file.replace(/[.\\/]/g, '\\$&')}: corrupt gzip data: \\w`));
      expect(thrown(() => parseIdx(corrupt, 'download')).message).to.match(/^download: corrupt gzip data: /);
    });

    it('turns a missing file into a DataFileError (E_DATA) naming it', async () => {
      const missing = path.join(tmp, 'nope.idx');
      for (const e of [await rejected(loadIdx(missing)), thrown(() => loadIdxSync(missing))]) {
        expect(e).to.be.instanceOf(DataFileError);
        expect(e).to.include({ code: 'E_DATA', file: missing, message: `cannot read ${missing}: no such file` });
      }
    });

    it('checks what encodeIdx is given', () => {
      expect(() => encodeIdx({ shape: [2], data: [1, 2] as unknown as IdxData }))
        .to.throw(OptionError, 'expected a Uint8Array, Int8Array, Int16Array, Int32Array, Float32Array or Float64Array for IDX data but got array of length 2');
      expect(() => encodeIdx({ shape: [2, 2], data: new Uint8Array(3) })).to.throw(ShapeError, 'expected 4 values for shape [2,2] but got 3');
      expect(() => encodeIdx({ shape: [0], data: new Uint8Array(0) })).to.throw(ShapeError, 'expected sizes from 1 to 4294967295 for an IDX shape but got [0]');
      expect(() => encodeIdx({ shape: [], data: new Uint8Array(1) })).to.throw(ShapeError, 'expected 1 to 255 dimensions for an IDX shape but got 0');
    });
  });

  describe('MNIST', () => {
    const sampleFile = (name: string): Buffer => gunzipSync(readFileSync(path.join(FASHION_MNIST_SAMPLE_DIR, name)));
    let sample: MnistData;
    before(async function () {
      sample = await loadMnist(FASHION_MNIST_SAMPLE_DIR);
    });
    after(function () {
      // Not held through the rest of the run: it is ~30 MB of floats.
      sample = undefined as unknown as MnistData;
    });

    function classCounts(labels: Float32Array): number[] {
      const counts = new Array<number>(10).fill(0);
      for (const y of labels) counts[y]++;
      return counts;
    }

    it('loads the shipped Fashion-MNIST sample as [n,28,28,1] images in [0,1] and class ids', () => {
      expect(sample.xTrain.shape).to.deep.equal([6000, 28, 28, 1]);
      expect(sample.yTrain.shape).to.deep.equal([6000]);
      expect(sample.xTest.shape).to.deep.equal([1000, 28, 28, 1]);
      expect(sample.yTest.shape).to.deep.equal([1000]);
      for (const x of [sample.xTrain, sample.xTest]) {
        let min = Infinity, max = -Infinity;
        for (const v of x.data) {
          if (v < min) min = v;
          if (v > max) max = v;
        }
        expect([min, max]).to.deep.equal([0, 1]);
      }
      for (const y of [sample.yTrain, sample.yTest]) {
        expect(y.data.every((v) => Number.isInteger(v) && v >= 0 && v <= 9)).to.equal(true);
        expect(classCounts(y.data).every((c) => c >= y.size / 20), `class counts ${classCounts(y.data)}`).to.equal(true);
      }
      expect(sample.classes).to.deep.equal([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      expect(sample.files.trainImages).to.equal(path.join(FASHION_MNIST_SAMPLE_DIR, 'train-images-idx3-ubyte.gz'));
      expect(FASHION_MNIST_CLASSES).to.have.length(10);
      expect(FASHION_MNIST_CLASSES[9]).to.equal('Ankle boot');
    });

    it('matches pixels and labels read independently from the raw files', () => {
      const images = sampleFile('train-images-idx3-ubyte.gz');
      const labels = sampleFile('train-labels-idx1-ubyte.gz');
      expect(images.readUInt32BE(0)).to.equal(0x00000803);
      expect(labels.readUInt32BE(4)).to.equal(6000);
      // Known values of Fashion-MNIST: image 5's centre pixel and the first labels.
      expect(images[16 + 5 * 784 + 14 * 28 + 14]).to.equal(184);
      expect(sample.xTrain.get(5, 14, 14, 0)).to.equal(Math.fround(184 / 255));
      expect(Array.from(sample.yTrain.data.subarray(0, 10))).to.deep.equal([9, 0, 0, 3, 0, 2, 7, 2, 5, 5]);
      expect(Array.from(sample.yTest.data.subarray(0, 10))).to.deep.equal([9, 2, 1, 1, 6, 1, 4, 6, 5, 7]);
      for (const i of [0, 12345, 784 * 6000 - 1]) expect(sample.xTrain.data[i]).to.equal(Math.fround(images[16 + i] / 255));
      for (const i of [0, 2999, 5999]) expect(sample.yTrain.data[i]).to.equal(labels[8 + i]);
      const testImages = sampleFile('t10k-images-idx3-ubyte.gz');
      expect(sample.xTest.get(999, 14, 14, 0)).to.equal(Math.fround(testImages[16 + 999 * 784 + 14 * 28 + 14] / 255));
    });

    it('flattens images and takes the first N with limit', async () => {
      const flat = await loadMnist(FASHION_MNIST_SAMPLE_DIR, { flatten: true, limit: { train: 100, test: 10 } });
      expect(flat.xTrain.shape).to.deep.equal([100, 784]);
      expect(flat.yTrain.shape).to.deep.equal([100]);
      expect(flat.xTest.shape).to.deep.equal([10, 784]);
      expect(flat.yTest.shape).to.deep.equal([10]);
      expect(Array.from(flat.xTrain.data)).to.deep.equal(Array.from(sample.xTrain.data.subarray(0, 100 * 784)));
      expect(Array.from(flat.yTest.data)).to.deep.equal(Array.from(sample.yTest.data.subarray(0, 10)));

      const capped = await loadMnist(FASHION_MNIST_SAMPLE_DIR, { limit: { test: 50000 } });
      expect(capped.xTest.shape).to.deep.equal([1000, 28, 28, 1]);
      expect(capped.xTrain.shape).to.deep.equal([6000, 28, 28, 1]);

      const err = await rejected(loadMnist(FASHION_MNIST_SAMPLE_DIR, { limit: { train: 0 } }));
      expect(err).to.be.instanceOf(OptionError);
      expect(err.message).to.equal('expected a positive integer for limit.train but got number 0');
    });

    /** A tiny MNIST-layout directory; `raw` lists the files written uncompressed. */
    function makeMnistDir(name: string, parts: Partial<Record<'trainImages' | 'trainLabels' | 'testImages' | 'testLabels', IdxArray | null>> = {}, raw: string[] = []): string {
      const dir = path.join(tmp, name);
      mkdirSync(dir, { recursive: true });
      const images = (n: number): IdxArray => ({ shape: [n, 2, 3], data: new Uint8Array(n * 6).map((_, i) => (i * 50) % 256), type: 'uint8' });
      const labels = (n: number): IdxArray => ({ shape: [n], data: new Uint8Array(n).map((_, i) => i % 3), type: 'uint8' });
      const all = {
        trainImages: ['train-images-idx3-ubyte', images(4)],
        trainLabels: ['train-labels-idx1-ubyte', labels(4)],
        testImages: ['t10k-images-idx3-ubyte', images(2)],
        testLabels: ['t10k-labels-idx1-ubyte', labels(2)],
      } as const;
      for (const key of Object.keys(all) as (keyof typeof all)[]) {
        const [base, fallback] = all[key];
        const array = parts[key] === undefined ? fallback : parts[key];
        if (array === null) continue;
        const bytes = encodeIdx(array);
        if (raw.includes(key)) writeFileSync(path.join(dir, base), bytes);
        else writeFileSync(path.join(dir, `${base}.gz`), gzipSync(bytes));
      }
      return dir;
    }

    it('reads raw files and prefers .gz when both are present', async () => {
      const dir = makeMnistDir('raw', {}, ['trainImages', 'trainLabels', 'testImages', 'testLabels']);
      const data = await loadMnist(dir);
      expect(data.files.trainImages).to.equal(path.join(dir, 'train-images-idx3-ubyte'));
      expect(data.xTrain.shape).to.deep.equal([4, 2, 3, 1]);
      expect(data.xTrain.get(0, 0, 1, 0)).to.equal(Math.fround(50 / 255));
      expect(Array.from(data.yTrain.data)).to.deep.equal([0, 1, 2, 0]);
      expect(data.classes).to.deep.equal([0, 1, 2]);

      const newer: IdxArray = { shape: [4], data: Uint8Array.from([7, 7, 7, 7]), type: 'uint8' };
      writeFileSync(path.join(dir, 'train-labels-idx1-ubyte.gz'), gzipSync(encodeIdx(newer)));
      const both = await loadMnist(dir);
      expect(both.files.trainLabels).to.equal(path.join(dir, 'train-labels-idx1-ubyte.gz'));
      expect(Array.from(both.yTrain.data)).to.deep.equal([7, 7, 7, 7]);
      expect(both.classes).to.deep.equal([0, 1, 7]);
    });

    it('names the missing files, or the missing directory', async () => {
      const dir = makeMnistDir('missing', { trainLabels: null, testImages: null });
      let err = await rejected(loadMnist(dir));
      expect(err).to.be.instanceOf(DataFileError);
      expect(err.message).to.equal(`${dir} does not hold the MNIST files: missing train-labels-idx1-ubyte(.gz), t10k-images-idx3-ubyte(.gz)`);
      const nowhere = path.join(tmp, 'no-such-dir');
      err = await rejected(loadMnist(nowhere));
      expect(err.message).to.equal(`${nowhere} does not hold the MNIST files: no such directory`);
      expect(() => mnistFiles(nowhere)).to.throw(DataFileError, 'no such directory');
    });

    it('names both files when images and labels disagree in count', async () => {
      const dir = makeMnistDir('mismatch', { trainLabels: { shape: [3], data: new Uint8Array(3), type: 'uint8' } });
      const err = await rejected(loadMnist(dir));
      expect(err).to.be.instanceOf(DataFileError);
      expect(err.message).to.equal(
        `${path.join(dir, 'train-images-idx3-ubyte.gz')} holds 4 images but ${path.join(dir, 'train-labels-idx1-ubyte.gz')} holds 3 labels`,
      );
    });

    it('checks the ranks, types and image sizes', async () => {
      let dir = makeMnistDir('flat-images', { trainImages: { shape: [4, 6], data: new Uint8Array(24), type: 'uint8' } });
      let file = path.join(dir, 'train-images-idx3-ubyte.gz');
      expect((await rejected(loadMnist(dir))).message).to.equal(`${file}: expected images of rank 3 [n,rows,cols] but got shape [4,6]`);

      dir = makeMnistDir('matrix-labels', { testLabels: { shape: [2, 1], data: new Uint8Array(2), type: 'uint8' } });
      file = path.join(dir, 't10k-labels-idx1-ubyte.gz');
      expect((await rejected(loadMnist(dir))).message).to.equal(`${file}: expected labels of rank 1 [n] but got shape [2,1]`);

      dir = makeMnistDir('int-labels', { trainLabels: { shape: [4], data: new Int32Array(4), type: 'int32' } });
      file = path.join(dir, 'train-labels-idx1-ubyte.gz');
      expect((await rejected(loadMnist(dir))).message).to.equal(`${file}: expected unsigned byte data (type code 0x08) but got int32`);

      dir = makeMnistDir('sizes', { testImages: { shape: [2, 3, 3], data: new Uint8Array(18), type: 'uint8' } });
      expect((await rejected(loadMnist(dir))).message).to.equal(
        `${path.join(dir, 't10k-images-idx3-ubyte.gz')}: expected 2x3 images like ${path.join(dir, 'train-images-idx3-ubyte.gz')} but got shape [2,3,3]`,
      );

      dir = makeMnistDir('corrupt', {});
      file = path.join(dir, 't10k-images-idx3-ubyte.gz');
      writeFileSync(file, readFileSync(file).subarray(0, 20));
      expect((await rejected(loadMnist(dir))).message).to.equal(`${file}: corrupt gzip data: unexpected end of file`);
    });

    it('fashionMnistDir honours an override and checks it', () => {
      const dir = makeMnistDir('override');
      expect(fashionMnistDir(dir)).to.equal(dir);
      const empty = path.join(tmp, 'override-empty');
      mkdirSync(empty, { recursive: true });
      expect(() => fashionMnistDir(empty)).to.throw(DataFileError, `${empty} does not hold the MNIST files: missing train-images-idx3-ubyte(.gz)`);
    });

    // Never skipped: without the Debian package it checks the fallback instead.
    const installed = existsSync(FASHION_MNIST_SYSTEM_DIR);
    it(installed
      ? `reads the full Fashion-MNIST set from ${FASHION_MNIST_SYSTEM_DIR}, of which the sample is the start`
      : `falls back to the shipped sample since ${FASHION_MNIST_SYSTEM_DIR} is not installed`, async function () {
      if (!installed) {
        expect(fashionMnistDir()).to.equal(FASHION_MNIST_SAMPLE_DIR);
        expect((await loadMnist(fashionMnistDir(), { limit: { train: 1, test: 1 } })).xTrain.shape).to.deep.equal([1, 28, 28, 1]);
        return;
      }
      expect(fashionMnistDir()).to.equal(FASHION_MNIST_SYSTEM_DIR);
      const full = await loadMnist(FASHION_MNIST_SYSTEM_DIR);
      expect(full.xTrain.shape).to.deep.equal([60000, 28, 28, 1]);
      expect(full.yTrain.shape).to.deep.equal([60000]);
      expect(full.xTest.shape).to.deep.equal([10000, 28, 28, 1]);
      expect(full.yTest.shape).to.deep.equal([10000]);
      expect(full.classes).to.deep.equal([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      expect(classCounts(full.yTrain.data)).to.deep.equal(new Array(10).fill(6000));
      expect(classCounts(full.yTest.data)).to.deep.equal(new Array(10).fill(1000));
      const n = sample.xTrain.size;
      expect(full.xTrain.data.subarray(0, n).every((v, i) => v === sample.xTrain.data[i])).to.equal(true);
      expect(full.xTest.data.subarray(0, sample.xTest.size).every((v, i) => v === sample.xTest.data[i])).to.equal(true);
      expect(Array.from(full.yTrain.data.subarray(0, 6000))).to.deep.equal(Array.from(sample.yTrain.data));
    });
  });

  describe('CSV', () => {
    const csvError = (text: string, options = {}): DataFileError => {
      const err = thrown(() => parseCsv(text, options, 'data.csv'));
      expect(err).to.be.instanceOf(DataFileError);
      return err as DataFileError;
    };

    it('loads a file with a detected header, CRLF, blank lines, quotes and a named label column', async () => {
      const file = tmpFile('iris.csv', '\ufeffsepal, petal ,"species"\r\n5.1,1.4,0\r\n\r\n"4.9", -2e-1 ,1\r\n  \n6.3,.5,2\r\n');
      for (const data of [await loadCsv(file, { labelColumn: 'species' }), loadCsvSync(file, { labelColumn: 'species' })]) {
        expect(data.columns).to.deep.equal(['sepal', 'petal']);
        expect(data.labelColumn).to.equal('species');
        expect(data.x.shape).to.deep.equal([3, 2]);
        expect(Array.from(data.x.data)).to.deep.equal([5.1, 1.4, 4.9, -0.2, 6.3, 0.5].map(Math.fround));
        expect(Array.from(data.y!.data)).to.deep.equal([0, 1, 2]);
      }
    });

    it('takes the label column by index, counting from the end when negative', () => {
      const text = '1,2,3\n4,5,6\n';
      const first = parseCsv(text, { labelColumn: 0 });
      expect(first.columns).to.deep.equal(['column 2', 'column 3']);
      expect(first.labelColumn).to.equal('column 1');
      expect(first.x.toArray()).to.deep.equal([[2, 3], [5, 6]]);
      expect(first.y!.toArray()).to.deep.equal([1, 4]);
      const last = parseCsv(text, { labelColumn: -1 });
      expect(last.x.toArray()).to.deep.equal([[1, 2], [4, 5]]);
      expect(last.y!.toArray()).to.deep.equal([3, 6]);
    });

    it('treats an all-numeric first row as data unless told it is a header', () => {
      const all = parseCsv('1,2\n3,4');
      expect(all.x.toArray()).to.deep.equal([[1, 2], [3, 4]]);
      expect(all.y).to.equal(undefined);
      expect(all.columns).to.deep.equal(['column 1', 'column 2']);
      const named = parseCsv('1,2\n3,4', { header: true, labelColumn: '2' });
      expect(named.columns).to.deep.equal(['1']);
      expect(named.x.toArray()).to.deep.equal([[3]]);
      expect(named.y!.toArray()).to.deep.equal([4]);
    });

    it('accepts other delimiters, quoted delimiters, exponents and nan/inf', () => {
      const semi = parseCsv('a;b\n1.5;2\n', { delimiter: ';' });
      expect(semi.columns).to.deep.equal(['a', 'b']);
      expect(semi.x.toArray()).to.deep.equal([[1.5, 2]]);
      expect(() => parseCsv('a;b\n1,5;2\n', { delimiter: ';' }, 'x.csv')).to.throw(DataFileError, "x.csv line 2, column 1 (a): expected a number but got '1,5' (is the delimiter ','?)");
      const tab = parseCsv('x\ty\n1e3\t-4\n', { delimiter: '\t', labelColumn: 'y' });
      expect(tab.x.toArray()).to.deep.equal([[1000]]);
      const quoted = parseCsv('"a,b","say ""hi"""\n1,2\n');
      expect(quoted.columns).to.deep.equal(['a,b', 'say "hi"']);
      const special = parseCsv('inf,-Infinity,+3.\n');
      expect(Array.from(special.x.data)).to.deep.equal([Infinity, -Infinity, 3]);
    });

    it('names the file, line and column of a non-numeric or empty cell', async () => {
      const file = tmpFile('bad.csv', 'a,b,c\n1,2,3\n\n4,x5,6\n');
      const err = await rejected(loadCsv(file));
      expect(err).to.be.instanceOf(DataFileError);
      expect(err.message).to.equal(`${file} line 4, column 2 (b): expected a number but got 'x5' (to one-hot encode this column, pass categorical: ["b"])`);
      expect(err).to.include({ file, line: 4, column: 2 });
      expect(csvError('1,2\n3,\n').message).to.equal("data.csv line 2, column 2: missing value (an empty cell); pass missing: 'mean', 'median' or 'drop' to fill or skip it");
      expect(csvError('a,b\n1,2\n0x10,3\n').message).to.equal("data.csv line 3, column 1 (a): expected a number but got '0x10' (to one-hot encode this column, pass categorical: [\"a\"])");
      expect(csvError('a,b\n1,2\n', { header: false, categorical: false }).message).to.equal("data.csv line 1, column 1: expected a number but got 'a'");
    });

    it('reports ragged rows', () => {
      const err = csvError('a,b,c,d,e\r\n1,2,3,4,5\r\n1,2,3,4\r\n');
      expect(err.message).to.equal('data.csv line 3: expected 5 columns but got 4');
      expect(err.line).to.equal(3);
      expect(csvError('1,2\n1,2,3\n').message).to.equal('data.csv line 2: expected 2 columns but got 3');
    });

    it('reports empty files and a header without data', async () => {
      const empty = tmpFile('empty.csv', '');
      expect((await rejected(loadCsv(empty))).message).to.equal(`${empty}: empty file: no rows`);
      expect(csvError('\r\n  \n\n').message).to.equal('data.csv: empty file: no rows');
      expect(csvError('a,b\n\n').message).to.equal('data.csv: no data rows after the header');
    });

    it('reports a missing or unusable label column', () => {
      expect(csvError('a,b\n1,2\n', { labelColumn: 'label' }).message).to.equal("data.csv: label column 'label' not found; the columns are a, b");
      expect(csvError('1,2\n', { labelColumn: 'label' }).message)
        .to.equal("data.csv: label column 'label' is a name but the file has no header row (its first row holds numbers)");
      expect(csvError('a,b\n1,2\n', { header: false, labelColumn: 'a' }).message)
        .to.equal("data.csv: label column 'a' is a name but the file has no header row (header: false)");
      expect(csvError('1,2\n', { labelColumn: 2 }).message).to.equal('data.csv: label column 2 is out of range for 2 columns');
      expect(csvError('1,2\n', { labelColumn: -3 }).message).to.equal('data.csv: label column -3 is out of range for 2 columns');
      expect(csvError('y\n1\n', { labelColumn: 'y' }).message).to.equal("data.csv: no feature columns: the only column is the label column 'y'");
    });

    it('reports malformed quotes with their line and column', () => {
      expect(csvError('a,"b\n').message).to.equal('data.csv line 1, column 2: unterminated quoted field');
      expect(csvError('"a"b,c\n').message).to.equal("data.csv line 1, column 1: unexpected text after a closing quote: 'b,c'");
    });

    it('checks its options', () => {
      expect(() => parseCsv('1', { delimiter: '' })).to.throw(OptionError, "expected a non-empty delimiter without quotes or newlines but got string ''");
      expect(() => parseCsv('1', { header: 'yes' as unknown as boolean })).to.throw(OptionError, "expected true, false or 'auto' for header but got string 'yes'");
      expect(() => parseCsv('1', { labelColumn: 1.5 })).to.throw(OptionError, 'expected a column name or an integer index for labelColumn but got number 1.5');
    });
  });
});
