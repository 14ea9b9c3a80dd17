// The `layerwise` command, run as a user runs it: `node bin/layerwise.js …`
// in a child process, on the shipped Fashion-MNIST sample cut down with
// --limit or on small CSV files made here. Covers the JSON event stream, the
// saved model and report, evaluate / predict / info, stopping on SIGINT and
// SIGTERM with a checkpoint, and resuming to a result bit-identical to an
// uninterrupted run.

import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FASHION_MNIST_SAMPLE_DIR, loadMnist, loadNetwork } from '../lib/index.js';
import { resumable } from '../lib/cli/train.js';

const root = path.resolve(__dirname, '..');
const bin = path.join(root, 'bin', 'layerwise.js');
const sample = FASHION_MNIST_SAMPLE_DIR;

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  events: Record<string, unknown>[];
}

/**
 * Runs the CLI from source (so a stale dist/ is never what is tested);
 * `onEvent` may send the child a signal when a given JSON event appears.
 */
function cli(args: string[], onEvent?: (event: Record<string, unknown>, child: ReturnType<typeof spawn>) => void): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], {
      cwd: os.tmpdir(),
      env: { ...process.env, LAYERWISE_CLI_FROM_SOURCE: '1', LAYERWISE_DEBUG: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let pending = '';
    const events: Record<string, unknown>[] = [];
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      stdout += chunk;
      pending += chunk;
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        if (!line.startsWith('{')) continue;
        try {
          const event = JSON.parse(line) as Record<string, unknown>;
          events.push(event);
          onEvent?.(event, child);
        } catch {
          // Not an event line (e.g. predict's JSON array is checked by the test).
        }
      }
    });
    child.stderr.on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr, events }));
  });
}

const tempDirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'layerwise-cli-'));
  tempDirs.push(dir);
  return dir;
}
after(() => tempDirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** The weights file's SHA-256 (weights and optimizer state) as model.json records it. */
function modelSha(dir: string): string {
  return (JSON.parse(readFileSync(path.join(dir, 'model.json'), 'utf8')) as { weights: { sha256: string } }).weights.sha256;
}

function byType(run: Run, type: string): Record<string, unknown>[] {
  return run.events.filter((e) => e.event === type);
}

describe('layerwise CLI', function () {
  // A guard against hangs, not a speed bound: the checkpoint tests spawn four
  // training runs each (~30 s on a busy 2-core machine) and took over 60 s
  // beside a CPU hog with other builds running.
  this.timeout(600_000);

  // One small MLP run on the sample: 400 training and 400 test images.
  const mlpArgs = ['train', 'fashion-mnist-mlp', '--data', sample, '--limit', '400', '--epochs', '2', '--seed', '7', '--batch-size', '16'];
  let model: string;
  let trained: Run;

  before(async function () {
    model = path.join(tempDir(), 'model');
    trained = await cli([...mlpArgs, '--out', model, '--json']);
  });

  it('train emits start, batch, epoch and done events as JSON lines and saves a loadable model', async () => {
    expect(trained.code, trained.stderr + trained.stdout).to.equal(0);
    // MNIST data validates on the last 10% of its training samples, never on the test split.
    expect(trained.events[0]).to.include({
      event: 'start', spec: 'fashion-mnist-mlp', trainSamples: 360, validationSamples: 40, validation: 'validation split', epochs: 2, batchSize: 16, seed: 7,
    });
    expect(trained.events.at(-1)).to.include({ event: 'done', out: model, evaluatedOn: 'test split' });
    const epochs = byType(trained, 'epoch');
    expect(epochs.map((e) => e.epoch)).to.deep.equal([1, 2]);
    for (const e of epochs) expect(e).to.have.keys('event', 'epoch', 'epochs', 'loss', 'accuracy', 'valLoss', 'valAccuracy', 'learningRate', 'seconds');
    // 23 batches an epoch: a batch event about every 10%, and the last one.
    const batches = byType(trained, 'batch').filter((e) => e.epoch === 1);
    expect(batches.length).to.be.within(8, 14);
    expect(batches.at(-1)).to.include({ batch: 23, batches: 23 });
    expect(batches[0]).to.have.keys('event', 'epoch', 'batch', 'batches', 'loss', 'samplesPerSecond', 'eta');

    const loaded = await loadNetwork(model);
    expect(loaded.optimizer?.name).to.equal('adam');
    const data = await loadMnist(sample, { flatten: true, limit: { test: 400 } });
    const evaluation = loaded.network.evaluate(data.xTest, data.yTest);
    expect(evaluation.accuracy).to.equal(trained.events.at(-1)!.testAccuracy);
  });

  it('writes a self-contained HTML report with SVG curves and a confusion matrix with class names', () => {
    const html = readFileSync(path.join(model, 'report.html'), 'utf8');
    expect(html).to.match(/^<!DOCTYPE html>/);
    expect(html.match(/<svg /g)).to.have.length(2);
    expect(html).to.contain('<polyline');
    expect(html).to.contain('Confusion matrix').and.contain('Ankle boot').and.contain('T-shirt/top');
    // Nothing fetched or run: no scripts, no external references.
    expect(html).not.to.match(/<script|<link|src=|url\(/i);
    const summary = JSON.parse(readFileSync(path.join(model, 'training.json'), 'utf8'));
    expect(summary.confusion.flat().reduce((a: number, b: number) => a + b, 0)).to.equal(400);
    // Which split each number comes from: the epoch chosen on validation, the final figures on test.
    expect(summary.selection).to.include({ monitor: 'valAccuracy', on: 'validation split' });
    expect(summary.selection.value).to.equal(Math.max(...summary.history.valAccuracy));
    expect(summary.evaluatedOn).to.equal('test split');
    expect(html).to.contain('selected epoch (best valAccuracy on the validation split');
  });

  it('tests and saves the weights of the best validation epoch, not the last epoch\'s', async () => {
    const out = path.join(tempDir(), 'selected');
    const run = await cli(['train', 'fashion-mnist-mlp', '--data', sample, '--limit', '400', '--epochs', '6', '--batch-size', '20', '--seed', '1',
      '--lr', '0.03', '--backend', 'js', '--out', out, '--json']);
    expect(run.code, run.stderr).to.equal(0);
    const summary = JSON.parse(readFileSync(path.join(out, 'training.json'), 'utf8'));
    const { bestEpoch } = summary.selection;
    expect(bestEpoch, 'this run must peak on validation before its last epoch').to.be.below(6);
    expect(summary.history.valAccuracy[bestEpoch - 1]).to.be.above(summary.history.valAccuracy[5]);
    expect(summary.selection).to.include({ monitor: 'valAccuracy', on: 'validation split', weightsOf: `epoch ${bestEpoch} of 6` });
    expect(run.events.at(-1)).to.include({ selectedEpoch: bestEpoch, evaluatedOn: 'test split' });
    const { network } = await loadNetwork(out);
    const data = await loadMnist(sample, { flatten: true, limit: { train: 400, test: 400 } });
    // The validation split is the last 10% of the training images.
    const validation = network.evaluate(data.xTrain.slice(360, 400), data.yTrain.slice(360, 400));
    expect(validation.accuracy).to.equal(summary.history.valAccuracy[bestEpoch - 1]);
    expect(validation.loss).to.be.closeTo(summary.history.valLoss[bestEpoch - 1], 1e-5);
    expect(network.evaluate(data.xTest, data.yTest).accuracy).to.equal(summary.testAccuracy);
  });

  it('evaluate reports the same accuracy as training did, as text and as JSON', async () => {
    const json = await cli(['evaluate', model, '--data', sample, '--limit', '400', '--json']);
    expect(json.code, json.stderr).to.equal(0);
    const result = JSON.parse(json.stdout);
    expect(result).to.include({ samples: 400, split: 'test split', accuracy: trained.events.at(-1)!.testAccuracy });
    const text = await cli(['evaluate', model, '--data', sample, '--limit', '400']);
    expect(text.stdout).to.match(/^loss \d\.\d{4} {2}accuracy \d+\.\d\d% {2}\(400 samples, test split of /);
  });

  it('predict writes probabilities and the arg-max class, as CSV and as JSON', async () => {
    const dir = tempDir();
    const csvOut = path.join(dir, 'p.csv');
    const csv = await cli(['predict', model, '--input', sample, '--output', csvOut]);
    expect(csv.code, csv.stderr).to.equal(0);
    const lines = readFileSync(csvOut, 'utf8').trim().split('\n');
    // The model keeps Fashion-MNIST's class names: columns and classes are named by them.
    const { network: saved } = await loadNetwork(model);
    const names = saved.classNames!;
    expect(names).to.have.length(10);
    expect(lines[0]).to.equal(`${names.map((n) => `prob_${n}`).join(',')},class`);
    expect(lines).to.have.length(1001);

    const json = await cli(['predict', model, '--input', path.join(sample, 't10k-images-idx3-ubyte.gz'), '--json']);
    const rows = JSON.parse(json.stdout) as { class: string; probabilities: number[] }[];
    expect(rows).to.have.length(1000);
    const { network } = await loadNetwork(model);
    const data = await loadMnist(sample, { flatten: true });
    const expected = network.predict(data.xTest);
    rows.forEach((row, i) => {
      const p = expected.data.subarray(i * 10, (i + 1) * 10);
      expect(row.class).to.equal(names[p.indexOf(Math.max(...p))]);
      // Written with just enough digits to read back as the same float32.
      row.probabilities.forEach((v, j) => expect(Math.fround(v)).to.equal(p[j]));
    });
    const first = lines[1].split(',');
    expect(first.slice(0, 10).map(Number).map(Math.fround)).to.deep.equal(Array.from(expected.data.subarray(0, 10)));
    expect(first[10]).to.equal(rows[0].class);
  });

  it('info reports the version, backend and native addon, as text and as JSON', async () => {
    const version = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')).version;
    const json = await cli(['info', '--json']);
    expect(json.code).to.equal(0);
    const info = JSON.parse(json.stdout);
    expect(info).to.include({ version });
    expect(info.backend).to.be.oneOf(['js', 'native']);
    expect(info.native.available).to.be.a('boolean');
    if (info.native.available) expect(info.native).to.include.keys('path', 'isa', 'supportedIsas', 'threads');
    const text = await cli(['info', '--threads', '1']);
    expect(text.stdout).to.contain(`layerwise ${version}`).and.contain('backend in use:');
    if (info.native.available) expect(text.stdout).to.match(/threads: +1\n/);
  });

  it('trains a spec file on a CSV file with a validation split, then evaluates and predicts on CSV', async () => {
    const dir = tempDir();
    // Three classes by the sign pattern of two features.
    const rows = ['x1,x2,label'];
    for (let i = 0; i < 120; i++) {
      const a = Math.sin(i * 1.7), b = Math.cos(i * 2.3);
      rows.push(`${a.toFixed(4)},${b.toFixed(4)},${a > 0 ? (b > 0 ? 0 : 1) : 2}`);
    }
    const data = path.join(dir, 'points.csv');
    writeFileSync(data, `${rows.join('\n')}\n`);
    const spec = path.join(dir, 'spec.json');
    writeFileSync(spec, JSON.stringify({
      layers: [{ type: 'Dense', inputSize: 2, outputSize: 16, activation: 'relu' }, { type: 'Dense', inputSize: 16, outputSize: 3 }, { type: 'Activation', kind: 'softmax' }],
      loss: 'sparseCategoricalCrossEntropy',
    }));
    const out = path.join(dir, 'm');
    const run = await cli(['train', spec, '--data', data, '--epochs', '30', '--lr', '0.02', '--batch-size', '8', '--validation-split', '0.25', '--seed', '1', '--out', out]);
    expect(run.code, run.stdout + run.stderr).to.equal(0);
    expect(run.events[0]).to.include({ trainSamples: 90, validationSamples: 30, validation: 'validation split' });
    const done = run.events.at(-1)!;
    expect(done).to.include({ event: 'done', evaluatedOn: 'validation split' });
    expect(done.testAccuracy as number).to.be.above(0.7);
    expect(readFileSync(path.join(out, 'report.html'), 'utf8')).to.contain('<svg');

    const evaluation = await cli(['evaluate', out, '--data', data, '--json']);
    expect(JSON.parse(evaluation.stdout)).to.include({ samples: 120 });
    const predicted = await cli(['predict', out, '--input', data, '--label-column', 'label']);
    const lines = predicted.stdout.trim().split('\n');
    expect(lines[0]).to.equal('prob_0,prob_1,prob_2,class');
    expect(lines).to.have.length(121);
    const withLabels = await cli(['predict', out, '--input', data]);
    expect(withLabels.code).to.equal(1);
    expect(withLabels.stderr).to.contain("expected 2 feature columns (as recorded in features) but got 3 (if one column is the label, leave it out with --label-column)");
  });

  // A slower run so that signals land mid-epoch: the JS backend, 75 batches
  // an epoch, every batch reported.
  const longArgs = ['train', 'fashion-mnist-mlp', '--data', sample, '--limit', '1200', '--epochs', '3', '--batch-size', '16',
    '--seed', '11', '--backend', 'js', '--log-every', '1'];
  // The uninterrupted run every stopped-and-resumed one must match, run once.
  let fullRun: Promise<{ dir: string; sha: string }> | undefined;
  const reference = (): Promise<{ dir: string; sha: string }> => (fullRun ??= (async () => {
    const dir = path.join(tempDir(), 'full');
    const run = await cli([...longArgs, '--out', dir]);
    expect(run.code, run.stderr).to.equal(0);
    return { dir, sha: modelSha(dir) };
  })());

  it('trains a spec file with augmentation, global pooling and Reshape on images, then evaluates it', async () => {
    const dir = tempDir();
    const spec = path.join(dir, 'spec.json');
    writeFileSync(spec, JSON.stringify({
      seed: 3,
      layers: [
        { type: 'RandomFlip', mode: 'horizontal', inputShape: [28, 28, 1] }, { type: 'RandomTranslation', height: 0.1, width: 0.1 },
        { type: 'Conv2D', filters: 4, kernelSize: 3, strides: 2, activation: 'relu' }, { type: 'GlobalMaxPooling2D' },
        { type: 'Reshape', targetShape: [2, 2] }, { type: 'Reshape', targetShape: [-1] },
        { type: 'Dense', outputSize: 10 }, { type: 'Activation', kind: 'softmax' },
      ],
      loss: 'sparseCategoricalCrossEntropy',
    }));
    const out = path.join(dir, 'm');
    const run = await cli(['train', spec, '--data', sample, '--limit', '200', '--epochs', '1', '--batch-size', '20', '--seed', '1', '--out', out]);
    expect(run.code, run.stdout + run.stderr).to.equal(0);
    expect(run.events.at(-1)).to.include({ event: 'done' });
    const evaluation = await cli(['evaluate', out, '--data', sample, '--limit', '200', '--json']);
    expect(evaluation.code, evaluation.stderr).to.equal(0);
    expect(JSON.parse(evaluation.stdout)).to.include({ samples: 200 });
  });

  for (const preset of ['fashion-mnist-bn', 'fashion-mnist-bn-gap', 'fashion-mnist-bn-two-blocks']) {
    it(`${preset} trains from the CLI: its cosine schedule warms up over the first epoch and decays to 0 by the last, chosen on validation, tested once`, async () => {
      const out = path.join(tempDir(), 'm');
      const run = await cli(['train', preset, '--data', sample, '--limit', '200', '--epochs', '2', '--batch-size', '20', '--seed', '1', '--out', out, '--json']);
      expect(run.code, run.stdout + run.stderr).to.equal(0);
      expect(run.events[0]).to.include({ event: 'start', learningRate: 0.002, schedule: 'peak of a cosine decay after 1 warm-up epoch', validation: 'validation split' });
      // 180 training samples: 9 batches an epoch, the first 9 steps warming up.
      const rates = byType(run, 'epoch').map((e) => e.learningRate as number);
      expect(rates[0]).to.be.within(0.8 * 0.002, 0.002);
      expect(rates[1]).to.be.below(0.0001);
      const summary = JSON.parse(readFileSync(path.join(out, 'training.json'), 'utf8'));
      expect(summary.settings.schedule).to.deep.equal({ kind: 'cosineDecay', warmupEpochs: 1 });
      expect(summary).to.include({ evaluatedOn: 'test split' });
      expect(summary.selection).to.include({ on: 'validation split', monitor: 'valAccuracy' });
      expect(summary.testAccuracy).to.be.a('number');
      expect(readFileSync(path.join(out, 'report.html'), 'utf8')).to.contain('learning rate 0.002 (peak of a cosine decay after 1 warm-up epoch)');
    });
  }

  it('a CSV model validates on a stratified shuffled split by default, and evaluate/predict default to its data and label column', async () => {
    const dir = tempDir();
    const rows = ['x1,x2,kind,x3'];
    for (let i = 0; i < 40; i++) rows.push(`${Math.sin(i).toFixed(3)},${Math.cos(i).toFixed(3)},${i % 2},${(i % 5) / 5}`);
    const data = path.join(dir, 'rows.csv');
    writeFileSync(data, `${rows.join('\n')}\n`);
    const spec = path.join(dir, 'spec.json');
    writeFileSync(spec, JSON.stringify({ layers: [{ type: 'Dense', inputSize: 3, outputSize: 2 }, { type: 'Activation', kind: 'softmax' }], loss: 'sparseCategoricalCrossEntropy' }));
    const out = path.join(dir, 'm');
    const run = await cli(['train', spec, '--data', data, '--label-column', 'kind', '--epochs', '2', '--seed', '1', '--out', out]);
    expect(run.code, run.stdout + run.stderr).to.equal(0);
    const done = run.events.at(-1)!;
    expect(done).to.include({ event: 'done', evaluatedOn: 'stratified validation split' });
    expect(done).to.not.have.any.keys('trainLoss', 'trainAccuracy');
    expect(done.testLoss).to.be.a('number');
    const summary = JSON.parse(readFileSync(path.join(out, 'training.json'), 'utf8'));
    expect(summary.settings.validationSplit).to.equal(undefined);
    // From another directory, with neither --data nor --label-column: the recorded ones.
    const evaluation = await cli(['evaluate', out, '--json']);
    expect(evaluation.code, evaluation.stderr).to.equal(0);
    expect(JSON.parse(evaluation.stdout)).to.include({ samples: 40, data: data, split: 'all rows' });
    const predicted = await cli(['predict', out]);
    expect(predicted.code, predicted.stderr).to.equal(0);
    expect(predicted.stdout.trim().split('\n')).to.have.length(41);
  });

  it('stops on SIGINT and SIGTERM with a checkpoint (exit 130 / 143); --resume finishes bit-identical to an uninterrupted run', async () => {
    const { dir: full, sha } = await reference();

    const out = path.join(tempDir(), 'stopped');
    let sent = false;
    const first = await cli([...longArgs, '--out', out], (e, child) => {
      if (!sent && e.event === 'batch' && e.epoch === 1 && (e.batch as number) >= 10) {
        sent = true;
        child.kill('SIGINT');
      }
    });
    expect(first.code, first.stderr).to.equal(130);
    const stop = byType(first, 'interrupted')[0];
    expect(stop).to.include({ signal: 'SIGINT', epoch: 1 });
    expect(stop.batch as number).to.be.within(10, 74);
    const checkpoint = path.join(out, 'checkpoint');
    expect(byType(first, 'checkpoint')[0]).to.include({ dir: checkpoint, reason: 'signal' });
    const files = readdirSync(checkpoint).sort();
    expect(files).to.have.length(3);
    expect(files[0]).to.equal('model.json');
    expect(files[1]).to.equal('state.json');
    expect(files[2]).to.match(/^weights-[0-9a-f]{16}\.bin$/);
    expect(existsSync(path.join(out, 'model.json'))).to.equal(false);

    // Resume (options come from the checkpoint), stop again with SIGTERM in epoch 2.
    sent = false;
    const second = await cli(['train', '--out', out, '--resume'], (e, child) => {
      if (!sent && e.event === 'batch' && e.epoch === 2 && (e.batch as number) >= 20) {
        sent = true;
        child.kill('SIGTERM');
      }
    });
    expect(second.code, second.stderr).to.equal(143);
    expect(second.events[0]).to.deep.include({ resumedFrom: { epoch: 1, batch: stop.batch } });
    expect(byType(second, 'interrupted')[0]).to.include({ signal: 'SIGTERM', epoch: 2 });

    // The full command line again, plus --resume.
    const third = await cli([...longArgs, '--out', out, '--resume']);
    expect(third.code, third.stderr).to.equal(0);
    expect(byType(third, 'epoch').map((e) => e.epoch)).to.deep.equal([2, 3]);
    expect(modelSha(out)).to.equal(sha);
    expect(existsSync(checkpoint)).to.equal(false);
    const history = JSON.parse(readFileSync(path.join(out, 'training.json'), 'utf8')).history;
    const fullHistory = JSON.parse(readFileSync(path.join(full, 'training.json'), 'utf8')).history;
    expect(history.loss).to.deep.equal(fullHistory.loss);
    expect(history.valAccuracy).to.deep.equal(fullHistory.valAccuracy);
  });

  it('--checkpoint-every writes epoch checkpoints without changing the result, and a killed run resumes from one', async () => {
    const { sha } = await reference();
    const out = path.join(tempDir(), 'periodic');
    const run = await cli([...longArgs, '--out', out, '--checkpoint-every', '1']);
    expect(run.code, run.stderr).to.equal(0);
    expect(byType(run, 'checkpoint').map((e) => [e.epoch, e.batch, e.reason])).to.deep.equal([[2, 0, 'periodic'], [3, 0, 'periodic']]);
    expect(byType(run, 'epoch').map((e) => e.epoch)).to.deep.equal([1, 2, 3]);
    expect(modelSha(out)).to.equal(sha);

    // SIGKILL (no chance to save) right after the first epoch checkpoint.
    const crashed = path.join(tempDir(), 'crashed');
    const killed = await cli([...longArgs, '--out', crashed, '--checkpoint-every', '1'], (e, child) => {
      if (e.event === 'checkpoint') child.kill('SIGKILL');
    });
    expect(killed.signal).to.equal('SIGKILL');
    // Epoch 1 was validated: the checkpoint keeps the best epoch's weights for the resumed run to select from.
    expect(readdirSync(path.join(crashed, 'checkpoint'))).to.include('best.bin');
    const resumed = await cli(['train', '--out', crashed, '--resume']);
    expect(resumed.code, resumed.stderr).to.equal(0);
    expect(byType(resumed, 'epoch').map((e) => e.epoch)).to.deep.equal([2, 3]);
    expect(modelSha(crashed)).to.equal(sha);
  });

  it('rewrites an epoch-boundary state so fit shuffles the next epoch', () => {
    const state = {
      epoch: 3, batch: 0, order: [1, 0], shuffleRng: { s: [1, 2, 3, 4] }, layerRngs: [],
      totals: { lossSum: 0, samples: 0, correct: 0, predictions: 0 },
      history: { loss: [0.9, 0.7], accuracy: [0.5, 0.625], valLoss: [1, 0.8], seconds: [1, 1] },
    } as never;
    const rewritten = resumable(state, 10);
    expect(rewritten).to.deep.include({ epoch: 2, batch: 10, totals: { lossSum: 0.7, samples: 1, correct: 0.625, predictions: 1 } });
    expect(rewritten.history).to.deep.equal({ loss: [0.9], accuracy: [0.5], valLoss: [1], seconds: [1] });
    const mid = { ...(state as object), batch: 4 } as never;
    expect(resumable(mid, 10)).to.equal(mid);
  });

  describe('mistakes give one clear line and exit code 1', () => {
    const cases: [string, string[], RegExp][] = [
      ['no command', ['frobnicate'], /unknown command 'frobnicate'/],
      ['no network', ['train'], /missing argument: usage: layerwise train/],
      ['an unknown network', ['train', 'resnet-9000'], /'resnet-9000' is neither a preset \(fashion-mnist-cnn, fashion-mnist-bn, fashion-mnist-bn-gap, fashion-mnist-bn-two-blocks, fashion-mnist-mlp\) nor a spec file/],
      ['a bad number', ['train', 'fashion-mnist-mlp', '--epochs', 'zero'], /--epochs must be an integer ≥ 1 but is 'zero'/],
      ['a bad choice', ['train', 'fashion-mnist-mlp', '--optimizer', 'lbfgs'], /--optimizer must be one of sgd, adam, rmsprop but is 'lbfgs'/],
      ['an unknown option', ['train', 'fashion-mnist-mlp', '--epoch', '3'], /Unknown option '--epoch' \(did you mean --epochs\?\) \(see: layerwise train --help\)/],
      ['another library\'s option name', ['train', 'fashion-mnist-mlp', '--learning-rate', '0.1'], /Unknown option '--learning-rate' \(did you mean --lr\?\)/],
      ['an option far from any', ['train', 'fashion-mnist-mlp', '--zzzzzzzz'], /Unknown option '--zzzzzzzz' \(see: layerwise train --help\)/],
      ['missing data', ['train', 'fashion-mnist-mlp', '--data', '/nonexistent/dir'], /--data \/nonexistent\/dir: no such file or directory/],
      ['nothing to resume', ['train', 'fashion-mnist-mlp', '--resume', '--out', '/nonexistent/out'], /--resume: no checkpoint in \/nonexistent\/out\/checkpoint/],
      ['no model', ['evaluate', '/nonexistent/model'], /\/nonexistent\/model holds no model/],
      ['predict without input', ['predict', '/nonexistent/model'], /predict needs --input/],
    ];
    for (const [what, args, message] of cases) {
      it(what, async () => {
        const run = await cli(args);
        expect(run.code).to.equal(1);
        // train's output is JSON when stdout is not a terminal, errors included.
        const text = args[0] === 'train' ? (JSON.parse(run.stdout.trim().split('\n').at(-1)!) as { message: string }).message : run.stderr;
        expect(text).to.match(message);
        expect(run.stderr + run.stdout).not.to.match(/\n\s+at /);
        // The JSON error event carries the error's stable code: all of these are usage mistakes.
        if (args[0] === 'train') expect(JSON.parse(run.stdout.trim())).to.deep.equal({ event: 'error', code: 'E_OPTION', message: text });
      });
    }

    it('labels that are not class ids of the network', async () => {
      const dir = tempDir();
      const data = path.join(dir, 'bad.csv');
      writeFileSync(data, 'a,b,label\n0.1,0.2,0\n0.3,0.4,12\n');
      const run = await cli(['evaluate', model, '--data', data]);
      expect(run.code).to.equal(1);
      expect(run.stderr).to.match(/samples of shape \[2\] \(2 values\) but the network's first layer takes \[784\]/);
      const spec = path.join(dir, 'spec.json');
      writeFileSync(spec, JSON.stringify({ layers: [{ type: 'Dense', inputSize: 2, outputSize: 3 }, { type: 'Activation', kind: 'softmax' }], loss: 'sparseCategoricalCrossEntropy' }));
      const train = await cli(['train', spec, '--data', data, '--out', path.join(dir, 'm')]);
      expect(train.code).to.equal(1);
      expect(train.events.at(-1)!.message).to.match(/bad\.csv: label 12 of sample 2 is not a class id 0…2 \(the network has 3 outputs\)/);
    });

    it('--resume with options that differ from the checkpoint', async () => {
      const out = path.join(tempDir(), 'differ');
      let sent = false;
      const first = await cli([...longArgs, '--out', out], (e, child) => {
        if (!sent && e.event === 'batch') {
          sent = true;
          child.kill('SIGINT');
        }
      });
      expect(first.code).to.equal(130);
      const run = await cli([...longArgs, '--out', out, '--resume', '--lr', '0.1', '--batch-size', '8']);
      expect(run.code).to.equal(1);
      expect(run.events.at(-1)!.message).to.equal(
        '--resume: these options differ from the interrupted run: --batch-size 8 (the checkpoint has 16); --lr 0.1 (the checkpoint has 0.001)');
    });
  });
});
