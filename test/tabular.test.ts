import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync, openSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  DataFileError, Dense, Activation, MinMaxScaler, Network, Normalization, OptionError, StandardScaler, Tensor,
  loadCsv, loadCsvSync, ops, parseCsv, trainTestSplit,
} from '../lib/index.js';
import { thrown } from './helpers.js';
import { Rng } from '../lib/random.js';

let tmp: string;
before(() => {
  tmp = mkdtempSync(path.join(tmpdir(), 'layerwise-tabular-'));
});
after(() => rmSync(tmp, { recursive: true, force: true }));

async function rejected(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  return expect.fail('expected a rejection');
}

/** Three separable 2-D blobs, written sorted by class as many exports are, with string labels. */
function blobsCsv(perClass: number, seed: number): string {
  const rng = new Rng(seed);
  const centres: Record<string, [number, number]> = { setosa: [0, 0], versicolor: [6, 0], virginica: [3, 6] };
  const lines = ['length,width,colour,species'];
  for (const [name, [cx, cy]] of Object.entries(centres)) {
    for (let i = 0; i < perClass; i++) {
      lines.push(`${(cx + rng.uniform(-1, 1) * 1.5).toFixed(3)},${(cy + rng.uniform(-1, 1) * 1.5).toFixed(3)},${i % 2 ? 'red' : 'blue'},${name}`);
    }
  }
  return lines.join('\n') + '\n';
}

describe('tabular data', function () {
  describe('loadCsv', function () {
    it('turns a string label column into class ids with sorted class names, and types y as present', async function () {
      const file = path.join(tmp, 'iris.csv');
      writeFileSync(file, blobsCsv(5, 1));
      const data = await loadCsv(file, { labelColumn: 'species' });
      // No `!`: with a label column the result type has y.
      const y: Tensor = data.y;
      expect(data.classNames).to.deep.equal(['setosa', 'versicolor', 'virginica']);
      expect(Array.from(y.data)).to.deep.equal([0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2]);
      expect(data.labelColumn).to.equal('species');
      const sync = loadCsvSync(file, { labelColumn: -1, classNames: ['virginica', 'setosa', 'versicolor'] });
      expect(Array.from(sync.y.data.subarray(0, 1))).to.deep.equal([1]);
      expect(thrown(() => parseCsv('a,b\n1,cat\n', { labelColumn: 'b', classNames: ['dog'] }, 'pets.csv')).message)
        .to.equal("pets.csv line 2, column 2 (b): unknown class 'cat' (known: dog)");
    });

    it('one-hot encodes a detected or requested categorical column and records the encoding for another file', function () {
      const train = parseCsv('size,colour,zip,price\n1,red,10,5\n2,blue,20,6\n3,red,10,7\n', { labelColumn: 'price', categorical: ['zip'] });
      expect(train.columns).to.deep.equal(['size', 'colour=blue', 'colour=red', 'zip=10', 'zip=20']);
      expect(train.x.toArray()).to.deep.equal([[1, 0, 1, 1, 0], [2, 1, 0, 0, 1], [3, 0, 1, 1, 0]]);
      expect(train.features).to.deep.equal([
        { name: 'size', kind: 'numeric' },
        { name: 'colour', kind: 'categorical', categories: ['blue', 'red'] },
        { name: 'zip', kind: 'categorical', categories: ['10', '20'] },
      ]);
      // A test file with one colour only still gets both colour columns, in the training order.
      const test = parseCsv('size,colour,zip,price\n9,blue,20,1\n', { labelColumn: 'price', features: train.features });
      expect(test.x.toArray()).to.deep.equal([[9, 1, 0, 0, 1]]);
      expect(thrown(() => parseCsv('size,colour,zip,price\n9,green,20,1\n', { labelColumn: 'price', features: train.features }, 't.csv')).message)
        .to.equal("t.csv line 2, column 2 (colour): unknown category 'green' (known: blue, red)");
      expect(thrown(() => parseCsv('a,b\n1,x\n', { categorical: false }, 'n.csv')).message).to.equal("n.csv line 2, column 2 (b): expected a number but got 'x'");
    });

    it('names the row and column of a missing value by default, and fills or drops on request', function () {
      const text = 'a,b,y\n1,NA,0\n3,4,1\n,8,0\n5,NaN,1\n';
      const err = thrown(() => parseCsv(text, { labelColumn: 'y' }, 'm.csv'));
      expect(err).to.be.instanceOf(DataFileError);
      expect(err.message).to.equal("m.csv line 2, column 2 (b): missing value ('NA'); pass missing: 'mean', 'median' or 'drop' to fill or skip it");
      expect(err).to.include({ line: 2, column: 2 });
      const mean = parseCsv(text, { labelColumn: 'y', missing: 'mean' });
      expect(mean.x.toArray()).to.deep.equal([[1, 6], [3, 4], [3, 8], [5, 6]]);
      expect(mean.features[1]).to.deep.equal({ name: 'b', kind: 'numeric', fill: 6 });
      const median = parseCsv('a\n1\n\n2\n10\nNA\n', { missing: 'median', header: true });
      expect(Array.from(median.x.data)).to.deep.equal([1, 2, 10, 2]);
      const drop = parseCsv(text, { labelColumn: 'y', missing: 'drop' });
      expect(drop.x.toArray()).to.deep.equal([[3, 4]]);
      expect(drop.y.toArray()).to.deep.equal([1]);
      expect(drop.droppedRows).to.equal(3);
      // A missing label is never filled.
      expect(thrown(() => parseCsv('a,y\n1,\n2,1\n', { labelColumn: 'y', missing: 'mean' }, 'l.csv')).message).to.match(/^l\.csv line 2, column 2 \(y\): missing label/);
      // Fill values recorded on the training file are reused for another file.
      const again = parseCsv('a,b,y\n2,,1\n', { labelColumn: 'y', missing: 'mean', features: mean.features });
      expect(again.x.toArray()).to.deep.equal([[2, 6]]);
    });

    it('reads tab-separated, quoted, CRLF and BOM files, and checks its option names', function () {
      const data = parseCsv('\ufeffname\tcolour\r\n1\t"dark, red"\r\n2\tblue\r\n', { delimiter: '\t' });
      expect(data.columns).to.deep.equal(['name', 'colour=blue', 'colour=dark, red']);
      expect(thrown(() => parseCsv('1', { delimeter: ';' } as never))).to.be.instanceOf(OptionError)
        .and.to.have.property('message').that.includes("did you mean 'delimiter'?");
    });

    it('stops a CSV bomb at the line or column limit with bounded memory', async function () {
      // 64 MiB with no newline: read in 64 KiB chunks, it must fail near the 1 MiB line limit.
      const file = path.join(tmp, 'bomb.csv');
      const fd = openSync(file, 'w');
      const chunk = Buffer.alloc(1 << 20, '1');
      for (let i = 0; i < 64; i++) writeSync(fd, chunk);
      closeSync(fd);
      const before = process.memoryUsage().rss;
      const err = await rejected(loadCsv(file));
      const growth = process.memoryUsage().rss - before;
      expect(err).to.be.instanceOf(DataFileError);
      expect(err.message).to.equal(`${file} line 1: line longer than 1048576 characters (maxLineLength)`);
      expect(growth, `RSS grew ${growth} bytes`).to.be.below(48 * 2 ** 20);
      expect(thrown(() => loadCsvSync(file, { maxLineLength: 1000 })).message).to.include('line longer than 1000 characters');
      expect(thrown(() => parseCsv(','.repeat(50_000), {}, 'wide.csv')).message).to.equal('wide.csv line 1, column 10001: more than 10000 columns (maxColumns)');
    });
  });

  describe('ops', function () {
    it('oneHot, argMax and softmax', function () {
      expect(ops.oneHot([2, 0], 3).toArray()).to.deep.equal([[0, 0, 1], [1, 0, 0]]);
      expect(ops.oneHot([1, 0]).shape).to.deep.equal([2, 2]);
      expect(() => ops.oneHot([3], 3)).to.throw(/class ids must be integers in \[0, 2\]/);
      expect(ops.argMax([[0.1, 0.7, 0.2], [5, 5, 1]]).toArray()).to.deep.equal([1, 0]);
      const p = ops.softmax([[1000, 1000], [0, Math.log(3)]]);
      expect(Array.from(p.data).map((v) => +v.toFixed(6))).to.deep.equal([0.5, 0.5, 0.25, 0.75]);
    });
  });

  describe('scalers and splits', function () {
    it('StandardScaler and MinMaxScaler learn from training rows only and invert', function () {
      const train = [[1, 10], [3, 10], [5, 10]];
      const s = new StandardScaler().fit(train);
      expect(Array.from(s.mean!)).to.deep.equal([3, 10]);
      const t = s.transform([[3 + Math.sqrt(8 / 3), 10]]);
      expect(t.data[0]).to.be.closeTo(1, 1e-6);
      expect(t.data[1]).to.equal(0);
      expect(Array.from(s.inverseTransform(t).data)[0]).to.be.closeTo(3 + Math.sqrt(8 / 3), 1e-5);
      const m = new MinMaxScaler().fit(train);
      expect(m.transform([[5, 10], [1, 10], [3, 10]]).toArray()).to.deep.equal([[1, 0], [0, 0], [0.5, 0]]);
      expect(() => new StandardScaler().transform(train)).to.throw(/not fitted/);
      expect(new Normalization().adapt(train).forward(Tensor.from([[5, 10]])).data[0]).to.be.closeTo(Math.sqrt(3 / 2), 1e-6);
    });

    it('trainTestSplit stratifies a class-sorted set, is seeded, and keeps rows paired', function () {
      const n = 90;
      const x = new Tensor(Float32Array.from({ length: n }, (_, i) => i), [n, 1]);
      const y = new Tensor(Float32Array.from({ length: n }, (_, i) => Math.floor(i / 30)), [n]);
      const split = trainTestSplit(x, y, { testFraction: 0.2, stratify: true, seed: 7 });
      expect(split.xTest.shape).to.deep.equal([18, 1]);
      const counts = [0, 0, 0];
      split.yTest.data.forEach((c) => counts[c]++);
      expect(counts).to.deep.equal([6, 6, 6]);
      split.xTrain.data.forEach((v, i) => expect(Math.floor(v / 30)).to.equal(split.yTrain.data[i]));
      expect(trainTestSplit(x, y, { stratify: true, seed: 7 }).testIndices).to.deep.equal(trainTestSplit(x, y, { stratify: true, seed: 7 }).testIndices);
      const plain = trainTestSplit(x, y, { shuffle: false, testFraction: 0.1 });
      expect(Array.from(plain.xTest.data)).to.deep.equal([81, 82, 83, 84, 85, 86, 87, 88, 89]);
      expect(() => trainTestSplit(x, y, { testFraktion: 0.2 } as never)).to.throw(OptionError, "did you mean 'testFraction'?");
      expect(() => trainTestSplit(x, y, { stratify: true, shuffle: false })).to.throw(OptionError, /stratify needs shuffle/);
    });
  });

  describe('training on tabular data', function () {
    it('CSV with string labels → stratified split → scaler → train > 80% held-out accuracy → save/load keeps scaler and class names', async function () {
      const file = path.join(tmp, 'blobs.csv');
      writeFileSync(file, blobsCsv(60, 2));
      const data = await loadCsv(file, { labelColumn: 'species' });
      const split = trainTestSplit(data.x, data.y, { testFraction: 0.25, stratify: true, seed: 3 });
      const net = new Network({ seed: 5 })
        .add(new Dense(data.x.shape[1], 16, { activation: 'relu' }))
        .add(new Dense(16, 3))
        .add(new Activation('softmax'))
        .use('sparseCategoricalCrossEntropy');
      net.setPreprocessing(new StandardScaler().fit(split.xTrain));
      net.classNames = data.classNames;
      await net.fit(split.xTrain, split.yTrain, { epochs: 40, batchSize: 16, optimizer: 'adam', learningRate: 0.01 });
      const result = net.evaluate(split.xTest, split.yTest);
      expect(result.accuracy).to.be.above(0.8);
      expect(Object.keys(result).sort()).to.deep.equal(['accuracy', 'loss']);
      const dir = path.join(tmp, 'blobs-model');
      await net.save(dir);
      const loaded = await Network.load(dir);
      expect(loaded.classNames).to.deep.equal(['setosa', 'versicolor', 'virginica']);
      expect(loaded.preprocessing).to.be.instanceOf(Normalization);
      expect(Array.from(loaded.predict(split.xTest).data)).to.deep.equal(Array.from(net.predict(split.xTest).data));
    });

    it('fit warns when validationSplit holds out a single class of a class-sorted set', async function () {
      const data = parseCsv(blobsCsv(10, 4), { labelColumn: 'species' });
      const net = new Network({ seed: 1 }).add(new Dense(data.x.shape[1], 3)).add(new Activation('softmax')).use('sparseCategoricalCrossEntropy');
      const warnings: string[] = [];
      const listener = (w: Error & { code?: string }): void => {
        if (w.code === 'LAYERWISE_VALIDATION_SPLIT') warnings.push(w.message);
      };
      process.on('warning', listener);
      try {
        await net.fit(data.x, data.y, { epochs: 1, validationSplit: 0.34 });
        await new Promise((resolve) => setImmediate(resolve));
      } finally {
        process.off('warning', listener);
      }
      expect(warnings.join('\n')).to.include('the validation samples are all of class 2');
      expect(warnings.join('\n')).to.include('that the training samples lack');
    });

    it('a regression with [n] targets trains, and evaluate reports error metrics over the whole set and no accuracy', async function () {
      const rng = new Rng(9);
      const n = 200;
      const x = new Float32Array(n * 2);
      const y = new Float32Array(n);
      for (let i = 0; i < n; i++) {
        x[2 * i] = rng.uniform(-1, 1);
        x[2 * i + 1] = rng.uniform(-1, 1);
        y[i] = 3 * x[2 * i] - 2 * x[2 * i + 1] + 0.5;
      }
      const xs = new Tensor(x, [n, 2]);
      const ys = new Tensor(y, [n]);
      const net = new Network({ seed: 2 }).add(new Dense(2, 1)).use('mse');
      const history = await net.fit(xs, ys, { epochs: 60, batchSize: 16, optimizer: 'adam', learningRate: 0.05, metrics: ['mae', 'rmse', 'r2'], validationSplit: 0.2 });
      expect(history.rmse).to.have.length(60);
      expect(history.valR2!.at(-1)).to.be.above(0.95);
      const result = net.evaluate(xs, ys);
      expect(result).to.not.have.property('accuracy');
      expect(Object.keys(result).sort()).to.deep.equal(['loss', 'mae', 'r2', 'rmse']);
      // Over the whole set, not a mean of batch values: rmse² is the set's mse, whatever the batch size.
      const small = net.evaluate(xs, ys, { batchSize: 7, metrics: ['rmse', 'mse', 'r2'] });
      expect(small.rmse! ** 2).to.be.closeTo(result.loss, 1e-6);
      expect(small.mse).to.be.closeTo(result.loss, 1e-6);
      const pred = net.predict(xs);
      let ssRes = 0;
      let ssTot = 0;
      const mean = y.reduce((s, v) => s + v, 0) / n;
      for (let i = 0; i < n; i++) {
        ssRes += (pred.data[i] - y[i]) ** 2;
        ssTot += (y[i] - mean) ** 2;
      }
      expect(small.r2).to.be.closeTo(1 - ssRes / ssTot, 1e-6);
      expect(net.evaluate(xs, ys, { metrics: ['accuracy'] })).to.have.property('accuracy');
      expect(() => net.evaluate(xs, ys, { metrics: ['rmsee' as never] })).to.throw(OptionError, "did you mean 'rmse'?");
    });

    it('precision, recall, f1 and auc for a binary classifier match their definitions', function () {
      const net = new Network({ seed: 1 }).add(new Dense(1, 1)).use('binaryCrossEntropy');
      net.setWeights([Float32Array.of(1), Float32Array.of(0)]);
      // Outputs are x itself: scores 0.9, 0.8, 0.3 for positives; 0.6, 0.2, 0.1 for negatives.
      const x = [[0.9], [0.8], [0.3], [0.6], [0.2], [0.1]];
      const y = [1, 1, 1, 0, 0, 0];
      const r = net.evaluate(x, y, { metrics: ['precision', 'recall', 'f1', 'auc'] });
      expect(r.precision).to.be.closeTo(2 / 3, 1e-9);
      expect(r.recall).to.be.closeTo(2 / 3, 1e-9);
      expect(r.f1).to.be.closeTo(2 / 3, 1e-9);
      expect(r.auc).to.be.closeTo(8 / 9, 1e-9);
    });
  });
});
