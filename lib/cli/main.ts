// The `layerwise` command: dispatches to train, evaluate, predict and info,
// and turns every failure into one clear line (or a JSON error event) and exit
// code 1. Stack traces are for bugs, not for a mistyped path: set
// LAYERWISE_DEBUG=1 to see them.

import { LayerwiseError } from '../errors.js';
import { UsageError } from './args.js';
import { evaluate, EVALUATE_USAGE, exportModel, EXPORT_USAGE, info, INFO_USAGE, predict, PREDICT_USAGE } from './commands.js';
import { packageVersion, processIo, type CommandIo } from './runtime.js';
import { train, TRAIN_USAGE } from './train.js';

const USAGE = `usage: layerwise <command> [options]

commands:
  train <spec.json | preset>   train a network, save it and a report (layerwise train --help)
  evaluate <model-dir>         loss and accuracy of a saved model on labelled data
  predict <model-dir>          class probabilities for new samples
  export <model-dir> --onnx F  write a saved model as an ONNX file
  info                         version, backend, native addon and threads

Every command takes --json (machine-readable output), --backend js|native
and --threads N. layerwise <command> --help shows its options.`;

const COMMANDS: Record<string, { run: (args: string[], io: CommandIo) => Promise<number>; usage: string }> = {
  train: { run: train, usage: TRAIN_USAGE },
  evaluate: { run: evaluate, usage: EVALUATE_USAGE },
  predict: { run: predict, usage: PREDICT_USAGE },
  export: { run: exportModel, usage: EXPORT_USAGE },
  info: { run: info, usage: INFO_USAGE },
};

/** Runs the command line `argv` (without node and the script) and resolves to the exit code. */
export async function main(argv: string[], io: CommandIo = processIo): Promise<number> {
  const [command, ...rest] = argv;
  // Errors are JSON events whenever the command's output is: with --json, and
  // for train also when stdout is not a terminal.
  const json = argv.includes('--json') || (command === 'train' && !io.isTTY);
  try {
    if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
      const topic = command === 'help' ? rest[0] : undefined;
      io.out(`${topic && COMMANDS[topic] ? COMMANDS[topic].usage : USAGE}\n`);
      return 0;
    }
    if (command === '--version' || command === '-v') {
      io.out(`${packageVersion()}\n`);
      return 0;
    }
    const entry = Object.prototype.hasOwnProperty.call(COMMANDS, command) ? COMMANDS[command] : undefined;
    if (!entry) throw new UsageError(`unknown command '${command}' (commands: ${Object.keys(COMMANDS).join(', ')}; see layerwise --help)`);
    return await entry.run(rest, io);
  } catch (err) {
    const error = err instanceof Error ? err : new Error(String(err));
    if (json) io.out(`${JSON.stringify({ event: 'error', code: (error as { code?: unknown }).code ?? 'E_INTERNAL', message: error.message })}\n`);
    else io.err(`layerwise: ${error.message}\n`);
    // An error that is not a LayerwiseError may be a bug: offer the trace.
    const expected = error instanceof LayerwiseError;
    if (process.env.LAYERWISE_DEBUG) io.err(`${error.stack}\n`);
    else if (!expected && !json) io.err('(set LAYERWISE_DEBUG=1 for the stack trace)\n');
    return 1;
  }
}
