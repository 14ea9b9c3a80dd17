// `layerwise train`: build a network from a preset or a spec file, train it
// on an MNIST-layout directory or a CSV file, save it with its optimizer state,
// and write a report beside it.
//
// Stopping and resuming. SIGINT/SIGTERM abort fit's signal, so training stops
// after the current batch with history.interrupted, fit's exact position;
// that state, the weights and the optimizer state go to <out>/checkpoint and
// the process exits 130/143. `--resume` reloads them and continues with
// fit({ resume }), which finishes bit-identical to an uninterrupted run.
// Periodic checkpoints (--checkpoint-every N) use the same path: the epoch
// callback aborts fit, the checkpoint is written, and training resumes in the
// same process from the state just saved, so checkpointing never changes the
// result either.

import { promises as fs, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { RestoreBestWeights, type Callback, type History } from '../callbacks.js';
import { nativeAvailable, setBackend, setNumThreads } from '../backends/index.js';
import { fashionMnistDir } from '../data/index.js';
import type { Evaluation, Network, TrainingState } from '../network.js';
import { takeRows, trainTestSplit } from '../splits.js';
import { getOptimizer, type Optimizer } from '../optimizers.js';
import { describeSchedule, getPreset, presetNames, scheduleInSteps, type EpochSchedule } from '../presets.js';
import { MinMaxScaler, StandardScaler } from '../preprocessing.js';
import { randomSeed } from '../random.js';
import { networkFromSpec, type NetworkSpec } from '../serialize.js';
import type { Tensor } from '../tensor.js';
import { delimiterOption,
  choiceOption, expectPositionals, integerOption, labelColumnOption, numberOption, parse, stringOption, UsageError, type Values,
} from './args.js';
import { writeFileAtomically } from '../atomic-file.js';
import { CHECKPOINT_DIR, readCheckpoint, removeCheckpoints, writeCheckpoint, type LoadedCheckpoint } from './checkpoint.js';
import { argMax, confusionMatrix, labelsFor, loadDataset, outputUnits, shapeFor } from './data.js';
import { describeBackend, JsonReporter, percent, TtyReporter, type Reporter } from './output.js';
import { renderReport } from './report.js';
import { applyRuntime, runtimeInfo, type CommandIo } from './runtime.js';

export const TRAIN_USAGE = `usage: layerwise train <spec.json | preset> [options]

Trains a network and saves it (with its optimizer state) to --out, plus
report.html and training.json beside it. Presets: ${presetNames().join(', ')}.

  --data DIR|FILE.csv       MNIST-layout IDX directory (default: Fashion-MNIST, the full
                            set when installed, else the shipped sample) or a CSV file
  --label-column NAME|N     CSV label column (default: "label" if the header has it, else the last);
                            text labels become classes whose names the model keeps
  --delimiter C             CSV field delimiter (default ','; '\t' for tabs)
  --class-names A,B,…       class names in class-id order (names numeric ids; fixes the order of text labels)
  --limit N                 use only the first N samples of each split
  --scale standard|minmax   fit a scaler on the training rows (never the held-out ones) and
                            save it in the model as its first layer, so evaluate and predict
                            take raw features too (default: none)
  --epochs N  --batch-size N  --optimizer sgd|adam|rmsprop  --lr X  --seed N
                            (--lr sets the peak of a preset's learning-rate schedule)
  --validation-split X      hold out the last fraction X of the training samples; the best
                            epoch on it is reported (default for MNIST data: 0.1, and the test
                            split is evaluated once, after training; for CSV data: a shuffled
                            20% of the rows, stratified by class for a classifier)
  --backend js|native  --threads N
  --out DIR                 where the model goes (default ./model); a non-empty DIR must hold a
                            layerwise model or checkpoint
  --force                   save into a non-empty --out that holds other files (none is deleted)
  --checkpoint-every N      also checkpoint every N epochs to DIR/checkpoint
  --resume                  continue from DIR/checkpoint (Ctrl-C / SIGTERM write it)
  --log-every N             JSON mode: a batch event every N batches (default ~10% of an epoch)
  --json                    JSON lines on stdout (the default when stdout is not a terminal)`;

const TRAIN_OPTIONS = {
  data: { type: 'string' },
  'label-column': { type: 'string' },
  delimiter: { type: 'string' },
  'class-names': { type: 'string' },
  epochs: { type: 'string' },
  'batch-size': { type: 'string' },
  optimizer: { type: 'string' },
  lr: { type: 'string' },
  seed: { type: 'string' },
  out: { type: 'string', short: 'o' },
  'validation-split': { type: 'string' },
  limit: { type: 'string' },
  scale: { type: 'string' },
  resume: { type: 'boolean' },
  force: { type: 'boolean' },
  'checkpoint-every': { type: 'string' },
  'log-every': { type: 'string' },
} as const;

const OPTIMIZERS = ['sgd', 'adam', 'rmsprop'] as const;
type OptimizerName = (typeof OPTIMIZERS)[number];
const SCALERS = ['standard', 'minmax'] as const;
type ScalerName = (typeof SCALERS)[number];

/** Everything that determines a run's result: stored in checkpoints and training.json. */
export interface RunSettings {
  /** The preset name or spec file as given. */
  model: string;
  spec: NetworkSpec;
  data: string;
  labelColumn?: number | string;
  delimiter?: string;
  classNames?: string[];
  limit?: number;
  epochs: number;
  batchSize: number;
  optimizer: OptimizerName;
  /** The rate, or the peak of `schedule`. */
  learningRate: number;
  /** The preset's learning-rate schedule, if it has one. */
  schedule?: EpochSchedule;
  seed: number;
  validationSplit?: number;
  scale?: ScalerName;
  backend: string;
  threads?: number;
}

/** What the command line said, before defaults. */
interface Requested {
  model?: string;
  data?: string;
  labelColumn?: number | string;
  delimiter?: string;
  classNames?: string[];
  limit?: number;
  epochs?: number;
  batchSize?: number;
  optimizer?: OptimizerName;
  learningRate?: number;
  seed?: number;
  validationSplit?: number;
  scale?: ScalerName;
}

const EXIT_CODES: Record<string, number> = { SIGINT: 130, SIGTERM: 143 };

export async function train(args: string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parse(args, TRAIN_OPTIONS, 'train');
  if (values.help) {
    io.out(`${TRAIN_USAGE}\n`);
    return 0;
  }
  const json = values.json === true || !io.isTTY;
  const reporter: Reporter = json ? new JsonReporter(io.out, integerOption(values, 'log-every', 1)) : new TtyReporter(io.out, io.columns);
  const resume = values.resume === true;
  expectPositionals(positionals, resume ? 0 : 1, 1, 'layerwise train <spec.json | preset> [options]');
  const requested = readRequested(values, positionals[0]);
  const out = path.resolve(stringOption(values, 'out') ?? 'model');
  const checkpointEvery = integerOption(values, 'checkpoint-every', 1);
  // Checked before any data is loaded or any epoch runs, not after a whole training run.
  await checkOutputDirectory(out, values.force === true);

  applyRuntime(values, reporter.note.bind(reporter));

  // Until training starts there is nothing to save: a signal just ends the process.
  let phase: 'setup' | 'training' | 'finishing' = 'setup';
  let stopSignal: NodeJS.Signals | undefined;
  let controller = new AbortController();
  const onSignal = (signal: NodeJS.Signals): void => {
    if (phase !== 'training' || stopSignal) {
      // A second Ctrl-C means now. Saves are atomic, so nothing is left half-written.
      if (phase === 'training') reporter.note(`${signal} again: quitting without a checkpoint`);
      process.exit(EXIT_CODES[signal]);
    }
    stopSignal = signal;
    controller.abort();
    if (!json) reporter.note(`${signal}: stopping after the current batch (again to quit at once)`);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    let checkpoint: LoadedCheckpoint<RunSettings> | undefined;
    let settings: RunSettings;
    if (resume) {
      checkpoint = await readCheckpoint<RunSettings>(out);
      restoreRuntime(checkpoint.file.settings, values);
      settings = mergeResumed(checkpoint.file.settings, requested, runtimeInfo(), reporter);
    } else {
      settings = freshSettings(requested, runtimeInfo());
    }

    const preset = getPreset(settings.model);
    const data = await loadDataset({
      data: settings.data, labelColumn: settings.labelColumn, limit: settings.limit, flatten: preset?.flatten,
      delimiter: settings.delimiter, classNames: settings.classNames,
    });
    const network: Network = checkpoint?.network ?? networkFromSpec(settings.spec, settings.model);
    const loss = network.lossName();
    if (!loss) throw new UsageError(`${settings.model}: the spec names no loss (add e.g. "loss": "sparseCategoricalCrossEntropy")`);
    const allX = shapeFor(network, data.x, data.source);
    const units = outputUnits(network, allX);
    const allY = labelsFor(loss, units, data.y, data.source);
    const classifier = (loss === 'sparseCategoricalCrossEntropy' || loss === 'categoricalCrossEntropy') && units >= 2;
    let test = data.xTest && data.yTest
      ? { x: shapeFor(network, data.xTest, `${data.source} (test split)`), y: labelsFor(loss, units, data.yTest, `${data.source} (test split)`), ids: data.yTest, name: 'test split' }
      : undefined;
    let [x, y, ids] = [allX, allY, data.y];
    if (!test && settings.validationSplit === undefined && data.kind === 'csv') {
      // The last rows of a file sorted by class are one class: hold out a
      // seeded, shuffled (and for a classifier, stratified) part instead.
      const held = defaultHoldOut(allX, allY, data.y, classifier, settings.seed);
      if (held) {
        [x, y, ids] = [held.x, held.y, held.ids];
        test = held.test;
        reporter.note(`validating on a shuffled ${classifier ? 'stratified ' : ''}${DEFAULT_HOLD_OUT * 100}% of the rows ` +
          `(${test.x.shape[0]} of ${allX.shape[0]}, seed ${settings.seed}); --validation-split X holds out the last rows instead`);
      }
    }

    const n = x.shape[0];
    // Model selection never looks at the test split: data with one holds out
    // part of its training samples for validation by default. A CSV's default
    // shuffled hold-out is itself the validation set.
    const split = settings.validationSplit ?? (test?.name === 'test split' ? DEFAULT_VALIDATION_SPLIT : undefined);
    const trainSamples = split === undefined ? n : n - Math.floor(n * split);
    if (split !== undefined && (trainSamples < 1 || trainSamples === n)) {
      throw new UsageError(`--validation-split ${split} leaves no training or no validation samples out of ${n}`);
    }
    const validationData: [Tensor, Tensor] | undefined = split === undefined && test ? [test.x, test.y] : undefined;
    const validation = split !== undefined ? 'validation split' : validationData ? test!.name : 'none';
    const batchesPerEpoch = Math.ceil(trainSamples / settings.batchSize);
    // A resumed network already carries the scaler fitted when the run began.
    if (settings.scale && !checkpoint) {
      const rows = x.slice(0, trainSamples);
      if (rows.rank !== 2) throw new UsageError(`--scale scales feature columns [n, features] but the samples of ${data.source} have shape [${rows.shape.slice(1).join(', ')}]`);
      network.setPreprocessing((settings.scale === 'standard' ? new StandardScaler() : new MinMaxScaler()).fit(rows));
      reporter.note(`scaling features (${settings.scale}) fitted on the ${trainSamples} training rows`);
    }

    const optimizer: Optimizer = checkpoint?.optimizer ?? getOptimizer(settings.optimizer, settings.schedule
      ? scheduleInSteps(settings.schedule, settings.learningRate, settings.epochs, batchesPerEpoch)
      : settings.learningRate);
    let state: TrainingState | undefined = checkpoint ? resumable(checkpoint.file.state, batchesPerEpoch) : undefined;
    if (state && state.epoch > settings.epochs) {
      throw new UsageError(`--epochs ${settings.epochs}: the checkpoint is already at epoch ${state.epoch}`);
    }
    const runtime = runtimeInfo();
    reporter.start({
      spec: settings.model, data: data.source, trainSamples, validationSamples: split !== undefined ? n - trainSamples : validationData ? test!.x.shape[0] : 0,
      validation, epochs: settings.epochs, batchSize: settings.batchSize, batchesPerEpoch, optimizer: settings.optimizer,
      learningRate: settings.schedule ? settings.learningRate : optimizer.learningRate,
      schedule: settings.schedule ? describeSchedule(settings.schedule) : undefined, seed: settings.seed, backend: runtime.backend, threads: runtime.threads, isa: runtime.isa, out,
      resumedFrom: checkpoint ? { epoch: checkpoint.file.state.epoch, batch: checkpoint.file.state.batch } : undefined,
    });

    // Progress: samples/s and ETA measured from the start of the epoch (or of
    // the resumed part of it).
    let epochStarted = performance.now();
    let segment: { epoch: number; firstBatch: number; samples: number } | undefined;
    let replayEpoch = state && state.batch === batchesPerEpoch ? state.epoch : undefined;
    const progress: Callback = {
      onBatchEnd: (batch, logs) => {
        if (segment?.epoch !== logs.epoch) segment = { epoch: logs.epoch, firstBatch: batch, samples: 0 };
        segment.samples += logs.size;
        const elapsed = Math.max((performance.now() - epochStarted) / 1000, 1e-6);
        const perBatch = elapsed / (batch - segment.firstBatch + 1);
        reporter.batch({
          epoch: logs.epoch, batch, batches: batchesPerEpoch, loss: logs.loss,
          samplesPerSecond: segment.samples / elapsed, eta: (batchesPerEpoch - batch) * perBatch,
        });
      },
      onEpochEnd: (epoch, logs) => {
        epochStarted = performance.now();
        segment = undefined;
        // The first epoch end after resuming an epoch-boundary state repeats
        // one already reported (see resumable()).
        if (epoch === replayEpoch) {
          replayEpoch = undefined;
          return;
        }
        reporter.epoch({ epoch, epochs: settings.epochs, ...logs });
        if (checkpointEvery !== undefined && epoch % checkpointEvery === 0 && epoch < settings.epochs) controller.abort();
      },
    };

    // Model selection: the weights of the best validation epoch are kept
    // (checkpoints carry them) and are what gets tested and saved.
    // Accuracy on a small validation split repeats: among equal epochs the lower validation loss wins.
    const selector = validation === 'none' ? undefined : new RestoreBestWeights({ monitor: selectionMonitor(loss), tieBreaker: 'valLoss' });
    if (selector && checkpoint?.best) selector.resume(checkpoint.best);

    const started = performance.now();
    let history: History;
    phase = 'training';
    for (;;) {
      if (!stopSignal) controller = new AbortController();
      history = await network.fit(x, y, {
        epochs: settings.epochs, batchSize: settings.batchSize, optimizer, seed: settings.seed,
        validationData, validationSplit: split, callbacks: selector ? [progress, selector] : [progress], signal: controller.signal, resume: state,
      });
      if (!history.interrupted) break;
      state = history.interrupted;
      const reason = stopSignal ? 'signal' : 'periodic';
      const dir = await writeCheckpoint(out, network, optimizer, state, settings, reason, selector?.bestWeights);
      reporter.checkpoint(dir, state.epoch, state.batch, reason);
      if (stopSignal) {
        reporter.interrupted(stopSignal, dir, state.epoch, state.batch);
        return EXIT_CODES[stopSignal];
      }
      state = resumable(state, batchesPerEpoch);
      replayEpoch = state.batch === batchesPerEpoch ? state.epoch : undefined;
    }
    phase = 'finishing';
    if (stopSignal) reporter.note(`${stopSignal} arrived during the last batch: training is complete, saving the model`);

    // Final metrics and the confusion matrix: on the test split when the data
    // has one, else the held-out validation samples, else the training set.
    let evalX: Tensor, evalY: Tensor, evalIds: Tensor, evaluatedOn: string;
    if (test) [evalX, evalY, evalIds, evaluatedOn] = [test.x, test.y, test.ids, test.name];
    else if (split !== undefined) {
      [evalX, evalY, evalIds, evaluatedOn] = [x.slice(trainSamples, n), y.slice(trainSamples, n), ids.slice(trainSamples, n), 'validation split'];
    } else [evalX, evalY, evalIds, evaluatedOn] = [x, y, ids, 'training set'];
    const evaluation = network.evaluate(evalX, evalY, { batchSize: 256 });
    const classification = classifier;
    const knownNames = data.classNames ?? settings.classNames;
    const classNames = knownNames?.length === units ? knownNames : Array.from({ length: units }, (_, i) => String(i));
    const evalOutputs = network.predict(evalX);
    const confusion = classification ? confusionMatrix(evalIds, argMax(evalOutputs), units) : undefined;
    // What predict needs later to answer in the data's terms: class names, the target's name, the CSV encoding.
    if (classification && knownNames?.length === units) network.classNames = [...knownNames];
    if (!classification && data.targetName !== undefined) network.targetName = data.targetName;
    if (data.features) network.csvFeatures = data.features;
    const regression = !classification && units === 1 && loss === 'mse'
      ? { actual: evalY.data, predicted: evalOutputs.data, on: evaluatedOn, target: data.targetName ?? 'target' }
      : undefined;

    await network.save(out, { optimizer, force: true }); // --out was checked before training
    const seconds = (performance.now() - started) / 1000;
    const metrics: [string, string][] = [];
    if (evaluation.accuracy !== undefined) metrics.push([`${evaluatedOn} accuracy`, percent(evaluation.accuracy)]);
    metrics.push([`${evaluatedOn} loss`, evaluation.loss.toFixed(4)]);
    const selection = selector?.bestWeights && {
      bestEpoch: selector.bestEpoch, monitor: selector.bestWeights.monitor, value: selector.best, tieBreaker: selector.tieBreaker, on: validation,
      // What the final metrics and the saved model hold: that epoch's weights, not the last epoch's.
      weightsOf: `epoch ${selector.bestEpoch} of ${history.loss.length}`,
    };
    if (selection) {
      metrics.push([`selected epoch (best ${selection.monitor} on the ${selection.on}: ${formatMonitored(selection.monitor, selection.value)}); ` +
        `the ${evaluatedOn} figures and the saved model are its weights`, `${selection.bestEpoch} of ${history.loss.length}`]);
    }
    for (const m of ['mae', 'rmse', 'r2'] as const) {
      if (evaluation[m] !== undefined) metrics.push([`${evaluatedOn} ${m === 'r2' ? 'R²' : m.toUpperCase()}`, evaluation[m]!.toPrecision(4)]);
    }
    if (history.accuracy?.length) metrics.push(['training accuracy (last epoch)', percent(history.accuracy.at(-1)!)]);
    metrics.push(['epochs', String(history.loss.length)], ['training time', `${history.seconds.reduce((a, b) => a + b, 0).toFixed(1)} s`]);
    const report = path.join(out, 'report.html');
    await writeFileAtomically(report, renderReport({
      title: `${settings.model} on ${path.basename(data.source)}`,
      createdAt: new Date(),
      history,
      metrics,
      settings: describeSettings(settings, optimizer, trainSamples, validation, evaluatedOn, runtimeInfo()),
      confusion: confusion ? { matrix: confusion, classNames, on: evaluatedOn } : undefined,
      regression,
    }));
    // testLoss/testAccuracy are held-out numbers only; without held-out data the
    // figures are the training set's and say so in their names.
    const final = heldOutMetrics(evaluatedOn, evaluation);
    const summary = { format: 'layerwise-training', settings, classNames, loss, evaluatedOn, ...final, selection, history, confusion };
    await writeFileAtomically(path.join(out, 'training.json'), JSON.stringify(summary, null, 1));
    // The run is complete: a checkpoint would only resume something finished.
    await removeCheckpoints(out);
    reporter.done({ out, report, ...final, evaluatedOn, selectedEpoch: selection?.bestEpoch, seconds });
    return 0;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

function readRequested(values: Values, model: string | undefined): Requested {
  return {
    model,
    data: stringOption(values, 'data'),
    labelColumn: labelColumnOption(values),
    delimiter: delimiterOption(values),
    classNames: classNamesOption(values),
    limit: integerOption(values, 'limit', 1),
    epochs: integerOption(values, 'epochs', 1),
    batchSize: integerOption(values, 'batch-size', 1),
    optimizer: choiceOption(values, 'optimizer', OPTIMIZERS),
    learningRate: numberOption(values, 'lr', (v) => v > 0, 'a positive number'),
    seed: integerOption(values, 'seed', 0),
    validationSplit: numberOption(values, 'validation-split', (v) => v > 0 && v < 1, 'a number between 0 and 1'),
    scale: choiceOption(values, 'scale', SCALERS),
  };
}

/** A preset by name, else a spec file. */
function readSpec(model: string): { spec: NetworkSpec; defaults?: NonNullable<ReturnType<typeof getPreset>>['training'] } {
  const preset = getPreset(model);
  if (preset) return { spec: preset.spec, defaults: preset.training };
  let text: string;
  try {
    text = readFileSync(model, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UsageError(code === 'ENOENT' || code === 'EISDIR'
      ? `'${model}' is neither a preset (${presetNames().join(', ')}) nor a spec file`
      : `cannot read ${model}: ${(err as Error).message}`);
  }
  let spec: NetworkSpec;
  try {
    spec = JSON.parse(text) as NetworkSpec;
  } catch (err) {
    throw new UsageError(`${model} is not valid JSON: ${(err as Error).message}`);
  }
  // Building it once here reports a bad layer before any data is read.
  try {
    networkFromSpec(spec, model);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  return { spec };
}

/** The share of training samples held out for validation when the data has a test split and no --validation-split is given. */
const DEFAULT_VALIDATION_SPLIT = 0.1;

/** What picks the best epoch: validation accuracy for a classifier, else the validation loss. */
function selectionMonitor(loss: string): 'valAccuracy' | 'valLoss' {
  const classifies = loss === 'sparseCategoricalCrossEntropy' || loss === 'categoricalCrossEntropy' || loss === 'binaryCrossEntropy';
  return classifies ? 'valAccuracy' : 'valLoss';
}

function formatMonitored(monitor: string, value: number): string {
  return monitor === 'valAccuracy' ? percent(value) : value.toFixed(4);
}

function heldOutMetrics(evaluatedOn: string, e: Evaluation):
  { testLoss?: number; testAccuracy?: number; trainLoss?: number; trainAccuracy?: number; testMae?: number; testRmse?: number; testR2?: number } {
  if (evaluatedOn === 'training set') return { trainLoss: e.loss, trainAccuracy: e.accuracy };
  return { testLoss: e.loss, testAccuracy: e.accuracy, testMae: e.mae, testRmse: e.rmse, testR2: e.r2 };
}

/** Share of a CSV's rows held out for validation when the command line names no split. */
const DEFAULT_HOLD_OUT = 0.2;

/** A seeded shuffled (stratified for a classifier) hold-out of the CSV rows, or undefined when there are too few rows. */
function defaultHoldOut(x: Tensor, y: Tensor, ids: Tensor, stratify: boolean, seed: number) {
  if (x.shape[0] < 5) return undefined;
  const split = trainTestSplit(ids, ids, { testFraction: DEFAULT_HOLD_OUT, stratify, seed });
  const rows = takeRows;
  return {
    x: rows(x, split.trainIndices), y: rows(y, split.trainIndices), ids: split.yTrain,
    test: { x: rows(x, split.testIndices), y: rows(y, split.testIndices), ids: split.yTest, name: `${stratify ? 'stratified ' : ''}validation split` },
  };
}

function classNamesOption(values: Values): string[] | undefined {
  const v = stringOption(values, 'class-names');
  if (v === undefined) return undefined;
  const names = v.split(',').map((n) => n.trim());
  if (names.some((n) => n === '') || new Set(names).size !== names.length) throw new UsageError(`--class-names: expected distinct comma-separated names but got ${JSON.stringify(v)}`);
  return names;
}

function freshSettings(r: Requested, runtime: { backend: string; threads?: number }): RunSettings {
  const { spec, defaults } = readSpec(r.model!);
  const optimizer = r.optimizer ?? defaults?.optimizer ?? 'adam';
  const seed = r.seed ?? spec.seed ?? randomSeed();
  return {
    model: r.model!,
    spec: { ...spec, seed },
    data: path.resolve(r.data ?? defaultData()),
    labelColumn: r.labelColumn,
    delimiter: r.delimiter,
    classNames: r.classNames,
    limit: r.limit,
    epochs: r.epochs ?? defaults?.epochs ?? 5,
    batchSize: r.batchSize ?? defaults?.batchSize ?? 32,
    optimizer,
    // The optimizer's own default when neither the command line nor a preset says.
    learningRate: r.learningRate ?? (optimizer === defaults?.optimizer ? defaults.learningRate : undefined) ?? getOptimizer(optimizer).learningRate,
    schedule: defaults?.schedule,
    seed,
    validationSplit: r.validationSplit,
    scale: r.scale,
    backend: runtime.backend,
    threads: runtime.threads,
  };
}

function defaultData(): string {
  // Resolved here so a checkpoint records the directory actually used.
  return fashionMnistDir();
}

/**
 * Settings for --resume: the checkpoint's, with anything the command line
 * repeats required to agree, since the result would otherwise not be the run
 * being resumed. Only --epochs may change (to train longer or shorter).
 */
function mergeResumed(saved: RunSettings, r: Requested, runtime: { backend: string; threads?: number }, reporter: Reporter): RunSettings {
  const conflicts: string[] = [];
  const check = (option: string, given: unknown, was: unknown): void => {
    if (given !== undefined && JSON.stringify(given) !== JSON.stringify(was)) conflicts.push(`${option} ${String(given)} (the checkpoint has ${was === undefined ? 'none' : String(was)})`);
  };
  if (r.model !== undefined && r.model !== saved.model) {
    const { spec } = readSpec(r.model);
    const { seed: _a, ...given } = spec;
    const { seed: _b, ...was } = saved.spec;
    if (JSON.stringify(given) !== JSON.stringify(was)) conflicts.push(`network ${r.model} (the checkpoint trains ${saved.model})`);
  }
  check('--data', r.data === undefined ? undefined : path.resolve(r.data), saved.data);
  check('--label-column', r.labelColumn, saved.labelColumn);
  check('--delimiter', r.delimiter, saved.delimiter);
  check('--class-names', r.classNames, saved.classNames);
  check('--limit', r.limit, saved.limit);
  check('--batch-size', r.batchSize, saved.batchSize);
  check('--optimizer', r.optimizer, saved.optimizer);
  check('--lr', r.learningRate, saved.learningRate);
  check('--seed', r.seed, saved.seed);
  check('--validation-split', r.validationSplit, saved.validationSplit);
  check('--scale', r.scale, saved.scale);
  if (conflicts.length > 0) throw new UsageError(`--resume: these options differ from the interrupted run: ${conflicts.join('; ')}`);
  if (runtime.backend !== saved.backend || runtime.threads !== saved.threads) {
    reporter.note(`resuming on ${describeBackend(runtime.backend, runtime.threads)}; the run started on ${describeBackend(saved.backend, saved.threads)}: ` +
      'the result will not be bit-identical to an uninterrupted run');
  }
  return { ...saved, epochs: r.epochs ?? saved.epochs, backend: runtime.backend, threads: runtime.threads };
}

/** The interrupted run's backend and thread count, unless the command line chooses them: results depend on both. */
function restoreRuntime(saved: RunSettings, values: Values): void {
  if (values.backend === undefined && (saved.backend === 'js' || saved.backend === 'native')) {
    try {
      setBackend(saved.backend);
    } catch (err) {
      throw new UsageError(`--resume: the run used the ${saved.backend} backend, which is not available here (${(err as Error).message}); ` +
        'pass --backend to continue on another one (the result then differs from an uninterrupted run)');
    }
  }
  if (values.threads === undefined && saved.threads !== undefined && saved.backend === 'native' && nativeAvailable()) setNumThreads(saved.threads);
}

/**
 * A state fit can resume exactly. fit records a stop at an epoch boundary as
 * { epoch: e + 1, batch: 0 } with epoch e's sample order, and on resume skips
 * the shuffle of the epoch it resumes in — right mid-epoch, but at batch 0 it
 * would train epoch e + 1 in epoch e's order. Rewritten as "epoch e with all
 * of its batches done", fit replays only epoch e's end (its totals, restored
 * exactly as loss/1 and accuracy/1, and its validation) and then shuffles
 * epoch e + 1 from the saved generator as an uninterrupted run does.
 */
export function resumable(state: TrainingState, batchesPerEpoch: number): TrainingState {
  if (state.batch !== 0 || state.epoch <= 1) return state;
  const history = structuredClone(state.history);
  const loss = history.loss.pop()!;
  const accuracy = history.accuracy?.pop();
  history.valLoss?.pop();
  history.valAccuracy?.pop();
  history.learningRate?.pop();
  history.seconds.pop();
  return {
    ...state,
    epoch: state.epoch - 1,
    batch: batchesPerEpoch,
    totals: { lossSum: loss, samples: 1, correct: accuracy ?? 0, predictions: accuracy === undefined ? 0 : 1 },
    history,
  };
}

function describeSettings(
  s: RunSettings, optimizer: Optimizer, trainSamples: number, validation: string, evaluatedOn: string,
  runtime: { backend: string; threads?: number; isa?: string },
): [string, string][] {
  const config = optimizer.getConfig();
  const extra = Object.entries(config).filter(([k]) => k !== 'name' && k !== 'learningRate').map(([k, v]) => `${k} ${String(v)}`).join(', ');
  const rate = s.schedule ? `${s.learningRate} (${describeSchedule(s.schedule)})` : String(optimizer.learningRate);
  return [
    ['network', s.model],
    ['layers', s.spec.layers.map((l) => l.type).join(' → ')],
    ['loss', s.spec.loss ?? '-'],
    ['data', s.data + (s.labelColumn !== undefined ? ` (label column ${s.labelColumn})` : '')],
    ['training samples', String(trainSamples) + (s.limit !== undefined ? ` (--limit ${s.limit})` : '')],
    ['validation', validation + (s.validationSplit !== undefined ? ` (${s.validationSplit})` : '')],
    ['final metrics on', evaluatedOn],
    ['feature scaling', s.scale === undefined ? 'none' : `${s.scale}, fitted on the training rows`],
    ['epochs', String(s.epochs)],
    ['batch size', String(s.batchSize)],
    ['optimizer', `${s.optimizer}, learning rate ${rate}${extra ? `, ${extra}` : ''}`],
    ['seed', String(s.seed)],
    ['backend', runtime.backend + (runtime.backend === 'native' ? ` (${runtime.isa}, ${runtime.threads} threads)` : '')],
  ];
}

/**
 * --out must be a directory (or not exist yet). A non-empty one must hold a
 * layerwise model or checkpoint: saving beside unrelated files needs --force,
 * and even then nothing but this run's own model files is replaced.
 */
async function checkOutputDirectory(out: string, force: boolean): Promise<void> {
  let names: string[];
  try {
    const stat = await fs.stat(out);
    if (!stat.isDirectory()) throw new UsageError(`--out ${out} is not a directory`);
    names = await fs.readdir(out);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  if (names.length === 0 || (await holdsLayerwiseFiles(out))) return;
  if (!force) throw new UsageError(`--out ${out} is not empty and holds no layerwise model or checkpoint (use --force to save beside its files)`);
  // --force writes beside foreign files, never over them: a run would replace
  // these, or (checkpoint/) fail to checkpoint only when a signal arrives.
  const clash = names.find((name) => RUN_OUTPUTS.includes(name));
  if (clash !== undefined) {
    throw new UsageError(`--out ${out} holds a ${clash} that no layerwise run wrote: even with --force a run would replace it (move it away or pick another --out)`);
  }
}

/** What a run writes into --out besides the model's own files. */
const RUN_OUTPUTS = ['report.html', 'training.json', CHECKPOINT_DIR];

async function holdsLayerwiseFiles(out: string): Promise<boolean> {
  for (const file of [path.join(out, 'model.json'), path.join(out, CHECKPOINT_DIR, 'state.json')]) {
    try {
      const head = (await fs.readFile(file, 'utf8')).slice(0, 4096);
      if (/"format":\s*"layerwise-(model|checkpoint)"/.test(head)) return true;
    } catch {
      // Not there or unreadable: not ours.
    }
  }
  return false;
}
