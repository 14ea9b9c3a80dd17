import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Rng } from '../lib/random.js';

const here = __dirname;

describe('CLI on tabular data', function () {
  let dir: string;
  const cli = (args: string[]) => {
    const r = spawnSync(process.execPath, [path.join(here, '..', 'bin', 'layerwise.js'), ...args], {
      cwd: dir, encoding: 'utf8', env: { ...process.env, LAYERWISE_CLI_FROM_SOURCE: '1' },
    });
    return { ...r, events: r.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l)) };
  };

  before(function () {
    dir = mkdtempSync(path.join(os.tmpdir(), 'layerwise-cli-tabular-'));
    const rng = new Rng(11);
    // Sorted by class, string labels: the last rows are all 'virginica'.
    const rows = ['length,width,species'];
    for (const [name, cx, cy] of [['setosa', 0, 0], ['versicolor', 6, 0], ['virginica', 3, 6]] as const) {
      for (let i = 0; i < 50; i++) rows.push(`${(cx + rng.uniform(-1.5, 1.5)).toFixed(3)},${(cy + rng.uniform(-1.5, 1.5)).toFixed(3)},${name}`);
    }
    writeFileSync(path.join(dir, 'iris.csv'), rows.join('\n') + '\n');
    const prices = ['rooms;area;price'];
    for (let i = 0; i < 300; i++) {
      const a = rng.uniform(0, 4);
      const b = rng.uniform(0, 3);
      prices.push(`${a.toFixed(3)};${b.toFixed(3)};${(2 * a - b + 1).toFixed(3)}`);
    }
    writeFileSync(path.join(dir, 'prices.csv'), prices.join('\n') + '\n');
    const dense = (inputSize: number, outputSize: number, activation?: string) => ({ type: 'Dense', inputSize, outputSize, ...(activation ? { activation } : {}) });
    writeFileSync(path.join(dir, 'clf.json'), JSON.stringify({ seed: 1, loss: 'sparseCategoricalCrossEntropy', layers: [dense(2, 16, 'relu'), dense(16, 3), { type: 'Activation', kind: 'softmax' }] }));
    writeFileSync(path.join(dir, 'reg.json'), JSON.stringify({ seed: 1, loss: 'mse', layers: [dense(2, 8, 'relu'), dense(8, 1)] }));
    writeFileSync(path.join(dir, 'typo.json'), JSON.stringify({ seed: 1, loss: 'mse', layers: [{ type: 'Dense', inputSize: 2, outputSize: 1, activaton: 'relu' }] }));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('trains a class-sorted CSV with string labels on a stratified shuffled split, says so, and predicts class names', function () {
    const train = cli(['train', 'clf.json', '--data', 'iris.csv', '--label-column', 'species', '--epochs', '30', '--lr', '0.01', '--out', 'clf', '--json']);
    expect(train.status, train.stderr).to.equal(0);
    expect(train.events.find((e) => e.event === 'warning')?.message).to.match(/^validating on a shuffled stratified 20% of the rows \(30 of 150, seed 1\)/);
    const done = train.events.at(-1);
    expect(done.evaluatedOn).to.equal('stratified validation split');
    expect(done.testAccuracy).to.be.above(0.8);
    const model = JSON.parse(readFileSync(path.join(dir, 'clf', 'model.json'), 'utf8'));
    expect(model.data.classNames).to.deep.equal(['setosa', 'versicolor', 'virginica']);
    const predicted = cli(['predict', 'clf', '--input', 'iris.csv', '--label-column', 'species']);
    expect(predicted.status, predicted.stderr).to.equal(0);
    const lines = predicted.stdout.trim().split('\n');
    expect(lines[0]).to.equal('prob_setosa,prob_versicolor,prob_virginica,class');
    const classes = lines.slice(1).map((l) => l.split(',').at(-1));
    const right = classes.filter((c, i) => c === ['setosa', 'versicolor', 'virginica'][Math.floor(i / 50)]).length;
    expect(right / 150).to.be.above(0.8);
  });

  it('trains a regression with --delimiter; evaluate gives error metrics and no accuracy; predict names the target; the report plots residuals', function () {
    const train = cli(['train', 'reg.json', '--data', 'prices.csv', '--delimiter', ';', '--label-column', 'price', '--epochs', '40', '--lr', '0.01', '--out', 'reg', '--json']);
    expect(train.status, train.stderr).to.equal(0);
    const done = train.events.at(-1);
    expect(done).to.not.have.property('testAccuracy');
    expect(done.testR2).to.be.above(0.9);
    const evaluated = cli(['evaluate', 'reg', '--json']);
    expect(evaluated.status, evaluated.stderr).to.equal(0);
    const result = evaluated.events[0];
    expect(result).to.not.have.property('accuracy');
    expect(result).to.include.keys('loss', 'mae', 'rmse', 'r2');
    const predicted = cli(['predict', 'reg', '--input', 'prices.csv', '--delimiter', ';', '--label-column', 'price']);
    expect(predicted.status, predicted.stderr).to.equal(0);
    expect(predicted.stdout.split('\n')[0]).to.equal('price');
    const report = readFileSync(path.join(dir, 'reg', 'report.html'), 'utf8');
    expect(report).to.include('Predicted vs actual').and.include('Residuals');
    expect(report.match(/<circle class="point"/g)!.length).to.equal(2 * 60);
  });

  it('--scale standard is fitted on the training rows only and saved as the first layer; predict reads a new file with the training delimiter', function () {
    const train = cli(['train', 'reg.json', '--data', 'prices.csv', '--delimiter', ';', '--label-column', 'price', '--scale', 'standard',
      '--validation-split', '0.25', '--epochs', '2', '--out', 'scaled', '--json']);
    expect(train.status, train.stderr).to.equal(0);
    expect(train.events.some((e) => e.event === 'warning' && /scaling features \(standard\) fitted on the 225 training rows/.test(e.message))).to.equal(true);
    const rows = readFileSync(path.join(dir, 'prices.csv'), 'utf8').trim().split('\n').slice(1, 226).map((l) => l.split(';').map(Number));
    const model = JSON.parse(readFileSync(path.join(dir, 'scaled', 'model.json'), 'utf8'));
    expect(model.layers[0].type).to.equal('Normalization');
    for (const column of [0, 1]) {
      const mean = rows.reduce((sum, r) => sum + r[column], 0) / rows.length;
      expect(model.layers[0].offset[column]).to.be.closeTo(mean, 1e-4);
    }
    writeFileSync(path.join(dir, 'new-prices.csv'), 'rooms;area\n1;2\n3;0.5\n');
    const predicted = cli(['predict', 'scaled', '--input', 'new-prices.csv']);
    expect(predicted.status, predicted.stderr).to.equal(0);
    expect(predicted.stdout.trim().split('\n')).to.have.length(3);
    const bad = cli(['train', 'reg.json', '--data', 'prices.csv', '--delimiter', ';', '--scale', 'zscore', '--json']);
    expect(bad.events.find((e) => e.event === 'error')?.message).to.equal("--scale must be one of standard, minmax but is 'zscore'");
  });

  it('a misspelt key in a spec file is an E_OPTION error with a suggestion', function () {
    const r = cli(['train', 'typo.json', '--data', 'prices.csv', '--delimiter', ';', '--json']);
    expect(r.status).to.not.equal(0);
    const error = r.events.find((e) => e.event === 'error');
    expect(error.code).to.equal('E_OPTION');
    expect(error.message).to.include("did you mean 'activation'?");
  });
});
