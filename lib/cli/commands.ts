// `layerwise evaluate`, `predict` and `info`.

import { existsSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { nativeInfo, getBackend } from '../backends/index.js';
import type { Network } from '../network.js';
import { loadNetwork } from '../serialize.js';
import { saveOnnx } from '../onnx/export.js';
import { delimiterOption, expectPositionals, integerOption, labelColumnOption, parse, stringOption, UsageError } from './args.js';
import { writeFileAtomically } from '../atomic-file.js';
import { argMax, defaultLabelColumn, isCsv, labelsFor, loadDataset, loadInputs, outputUnits, shapeFor } from './data.js';
import { percent } from './output.js';
import { applyRuntime, packageVersion, type CommandIo } from './runtime.js';

export const EVALUATE_USAGE = `usage: layerwise evaluate <model-dir> [--data DIR|FILE.csv] [--label-column NAME|N] [--delimiter C] [--limit N] [--json]

Loss and accuracy of a saved model: on the test split of an MNIST-layout
directory, or on every row of a CSV file. Default: the data (and label column)
the model was trained on, as its training.json records, else Fashion-MNIST.
A CSV file is read with the training file's delimiter unless --delimiter says.`;

export const PREDICT_USAGE = `usage: layerwise predict <model-dir> [--input FILE.csv|IDX-FILE|DIR] [--output OUT.csv|OUT.json] [--delimiter C] [--json]

Class probabilities for each sample: rows of a CSV file (every column is a
feature unless --label-column names one to leave out; read with the training
file's delimiter unless --delimiter says), an IDX images file, or
an MNIST-layout directory's test images. Writes CSV (prob_0 … prob_k, class)
or, for .json / --json, an array of { class, probabilities }; to stdout
without --output. Without --input: the data the model was trained on (from its
training.json), its label column left out. A regression writes one column
named after its target.`;

export const EXPORT_USAGE = `usage: layerwise export <model-dir> --onnx OUT.onnx [--input-shape H,W,C] [--json]

Writes a saved model as an ONNX file (opset 13, dynamic batch, input in
layerwise's [n, features] or [n, h, w, c] layout) for onnxruntime and other
ONNX engines. --input-shape gives one sample's shape when the model's first
layer does not fix it.`;

export const INFO_USAGE = `usage: layerwise info [--json]

Version, backend in use, and the native addon: whether it loads, from where,
its instruction-set variant and thread count.`;

/**
 * The data and label column a model was trained with, from the training.json
 * `layerwise train` writes beside it: evaluate and predict default to them, so
 * a CSV-trained model is not evaluated on Fashion-MNIST. Nothing when the file
 * is missing or unreadable (a model saved from code has none).
 */
export async function recordedTraining(dir: string): Promise<{ data?: string; labelColumn?: number | string; delimiter?: string }> {
  let settings: unknown;
  try {
    settings = JSON.parse(await fs.readFile(path.join(dir, 'training.json'), 'utf8'))?.settings;
  } catch {
    return {};
  }
  if (settings === null || typeof settings !== 'object') return {};
  const { data, labelColumn, delimiter } = settings as { data?: unknown; labelColumn?: unknown; delimiter?: unknown };
  return {
    delimiter: typeof delimiter === 'string' && delimiter !== '' ? delimiter : undefined,
    data: typeof data === 'string' && data !== '' ? data : undefined,
    labelColumn: typeof labelColumn === 'string' || typeof labelColumn === 'number' ? labelColumn : undefined,
  };
}

async function loadModel(dir: string): Promise<Network> {
  if (!existsSync(path.join(dir, 'model.json'))) throw new UsageError(`${dir} holds no model (no model.json)`);
  return (await loadNetwork(dir)).network;
}

export async function evaluate(args: string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parse(args, {
    data: { type: 'string' }, 'label-column': { type: 'string' }, limit: { type: 'string' }, 'batch-size': { type: 'string' },
    delimiter: { type: 'string' },
  }, 'evaluate');
  if (values.help) return usage(io, EVALUATE_USAGE);
  expectPositionals(positionals, 1, 1, 'layerwise evaluate <model-dir> [--data …]');
  applyRuntime(values, (m) => io.err(`layerwise: ${m}\n`));
  const network = await loadModel(positionals[0]);
  const loss = network.lossName();
  if (!loss) throw new UsageError(`${positionals[0]}: the model was saved without a loss, so there is nothing to evaluate`);
  const recorded = await recordedTraining(positionals[0]);
  const given = stringOption(values, 'data');
  // The recorded label column belongs to the recorded data only.
  const labelColumn = labelColumnOption(values) ?? (given === undefined ? recorded.labelColumn : undefined);
  const data = await loadDataset({
    data: given ?? recorded.data, labelColumn, limit: integerOption(values, 'limit', 1),
    delimiter: delimiterOption(values) ?? recorded.delimiter,
    // Encoded as the training file was: the same class ids, one-hot columns and fill values.
    classNames: network.classNames, features: network.csvFeatures,
  });
  // MNIST: the test split (the training split is what the model learned from).
  const [rawX, rawY, split] = data.xTest && data.yTest ? [data.xTest, data.yTest, 'test split'] : [data.x, data.y, 'all rows'];
  const x = shapeFor(network, rawX, data.source);
  const y = labelsFor(loss, outputUnits(network, x), rawY, data.source);
  const result = network.evaluate(x, y, { batchSize: integerOption(values, 'batch-size', 1) ?? 256 });
  const samples = x.shape[0];
  // Only the metrics that fit the loss (evaluate's default): accuracy for a classifier, error metrics for a regression.
  if (values.json) {
    io.out(`${JSON.stringify({ ...result, samples, data: data.source, split })}\n`);
  } else {
    const accuracy = result.accuracy !== undefined ? `  accuracy ${percent(result.accuracy)}` : '';
    const errors = (['mae', 'rmse', 'r2'] as const).filter((m) => result[m] !== undefined).map((m) => `  ${m} ${result[m]!.toPrecision(4)}`).join('');
    io.out(`loss ${result.loss.toFixed(4)}${accuracy}${errors}  (${samples} samples, ${split} of ${data.source})\n`);
  }
  return 0;
}

export async function predict(args: string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parse(args, {
    input: { type: 'string', short: 'i' }, output: { type: 'string', short: 'o' }, 'label-column': { type: 'string' },
    delimiter: { type: 'string' },
  }, 'predict');
  if (values.help) return usage(io, PREDICT_USAGE);
  expectPositionals(positionals, 1, 1, 'layerwise predict <model-dir> --input FILE [--output FILE]');
  const recorded = await recordedTraining(positionals[0]);
  const given = stringOption(values, 'input');
  const input = given ?? recorded.data;
  if (input === undefined) throw new UsageError('predict needs --input FILE.csv|IDX-FILE|DIR (the model has no training.json naming its data)');
  const output = stringOption(values, 'output');
  applyRuntime(values, (m) => io.err(`layerwise: ${m}\n`));
  const network = await loadModel(positionals[0]);
  // The training file still has its label column: leave it out as training did.
  let labelColumn = labelColumnOption(values);
  const delimiter = delimiterOption(values) ?? recorded.delimiter;
  if (labelColumn === undefined && given === undefined && isCsv(input)) labelColumn = recorded.labelColumn ?? await defaultLabelColumn(input, delimiter);
  let raw;
  try {
    raw = await loadInputs(input, labelColumn, { delimiter, features: network.csvFeatures });
  } catch (err) {
    // The usual cause of a column-count mismatch: a CSV file that still has its label column.
    if (labelColumn === undefined && /feature columns \(as recorded in features\)/.test((err as Error).message)) {
      throw new UsageError(`${(err as Error).message} (if one column is the label, leave it out with --label-column)`);
    }
    throw err;
  }
  let x;
  try {
    x = shapeFor(network, raw, input);
  } catch (err) {
    // The usual cause: a CSV file that still has its label column.
    const hint = /\.(csv|tsv|txt)$/i.test(input) && labelColumn === undefined ? ' (if one column is the label, leave it out with --label-column)' : '';
    throw new UsageError(`${(err as Error).message}${hint}`);
  }
  outputUnits(network, x);
  const probabilities = network.predict(x);
  const n = x.shape[0];
  const k = probabilities.size / Math.max(n, 1);
  const row = (i: number): number[] => Array.from(probabilities.data.subarray(i * k, (i + 1) * k), float32Text);
  const asJson = output !== undefined ? /\.json$/i.test(output) : values.json === true;
  let text: string;
  if (isRegression(network, k)) {
    // One number per sample, in a column named after the target.
    const target = network.targetName ?? 'prediction';
    const values_ = Array.from({ length: n }, (_, i) => row(i));
    text = asJson
      ? `${JSON.stringify(values_.map((v) => ({ [target]: k === 1 ? v[0] : v })))}\n`
      : `${[k === 1 ? csvCell(target) : values_[0].map((_, j) => csvCell(`${target}_${j}`)).join(','), ...values_.map((v) => v.join(','))].join('\n')}\n`;
  } else {
    const ids = argMax(probabilities);
    const names = network.classNames?.length === k ? network.classNames : undefined;
    const classOf = (i: number): string | number => (names ? names[ids[i]] : ids[i]);
    if (asJson) {
      text = `${JSON.stringify(Array.from({ length: n }, (_, i) => ({ class: classOf(i), probabilities: row(i) })))}\n`;
    } else {
      const lines = [[...Array.from({ length: k }, (_, j) => csvCell(`prob_${names ? names[j] : j}`)), 'class'].join(',')];
      for (let i = 0; i < n; i++) lines.push([...row(i), csvCell(String(classOf(i)))].join(','));
      text = `${lines.join('\n')}\n`;
    }
  }
  if (output === undefined) {
    io.out(text);
  } else {
    await fs.mkdir(path.dirname(path.resolve(output)), { recursive: true });
    await writeFileAtomically(output, text);
    if (!values.json) io.err(`${n} predictions written to ${output}\n`);
  }
  return 0;
}

/** A regression model: saved with a target name, or an mse model with no class names. */
function isRegression(network: Network, outputs: number): boolean {
  if (network.classNames) return false;
  return network.targetName !== undefined || (network.lossName() === 'mse' && outputs === 1);
}

/** A CSV cell, quoted when it holds a delimiter, quote or newline. */
function csvCell(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** A float32 as the shortest decimal that reads back to the same float32 (≤ 9 digits), not a long float64 expansion. */
function float32Text(v: number): number {
  for (let digits = 6; digits < 9; digits++) {
    const short = Number(v.toPrecision(digits));
    if (Math.fround(short) === v) return short;
  }
  return Number(v.toPrecision(9));
}

export async function info(args: string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parse(args, {}, 'info');
  if (values.help) return usage(io, INFO_USAGE);
  expectPositionals(positionals, 0, 0, 'layerwise info [--json]');
  applyRuntime(values, (m) => io.err(`layerwise: ${m}\n`));
  const backend = getBackend().name;
  const native = nativeInfo();
  const report = {
    version: packageVersion(),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    backend,
    native: {
      available: native.available,
      path: native.path,
      isa: native.isa,
      supportedIsas: native.supportedIsas,
      threads: native.threads,
      error: native.error,
    },
  };
  if (values.json) {
    io.out(`${JSON.stringify(report)}\n`);
    return 0;
  }
  const lines = [
    `layerwise ${report.version} (Node.js ${report.node}, ${report.platform})`,
    `backend in use:   ${backend}`,
  ];
  if (native.available) {
    lines.push(
      `native addon:     available, loaded from ${native.path}`,
      `instruction set:  ${native.isa} (supported here: ${native.supportedIsas?.join(', ')})`,
      `threads:          ${native.threads}`,
    );
  } else {
    lines.push(`native addon:     not available (${native.error?.split('\n')[0] ?? 'unknown reason'})`);
  }
  io.out(`${lines.join('\n')}\n`);
  return 0;
}

export async function exportModel(args: string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parse(args, { onnx: { type: 'string' }, 'input-shape': { type: 'string' } }, 'export');
  if (values.help) return usage(io, EXPORT_USAGE);
  expectPositionals(positionals, 1, 1, 'layerwise export <model-dir> --onnx OUT.onnx');
  const out = stringOption(values, 'onnx');
  if (out === undefined) throw new UsageError('export needs --onnx OUT.onnx');
  const shapeText = stringOption(values, 'input-shape');
  const inputShape = shapeText === undefined ? undefined : shapeText.split(',').map((d) => Number(d.trim()));
  if (inputShape && !inputShape.every((d) => Number.isSafeInteger(d) && d > 0)) throw new UsageError(`--input-shape expects sizes like 28,28,1 but got '${shapeText}'`);
  applyRuntime(values, (m) => io.err(`layerwise: ${m}\n`));
  const network = await loadModel(positionals[0]);
  await saveOnnx(network, out, inputShape ? { inputShape } : {});
  const bytes = (await fs.stat(out)).size;
  io.out(values.json ? `${JSON.stringify({ event: 'done', onnx: out, bytes })}\n` : `wrote ${out} (${bytes} bytes, ONNX opset 13)\n`);
  return 0;
}

function usage(io: CommandIo, text: string): number {
  io.out(`${text}\n`);
  return 0;
}
