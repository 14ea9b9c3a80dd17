// Command-line parsing helpers: node:util parseArgs with strict checking, and
// validators that turn a bad value into a UsageError naming the option, so
// main can print one clear line instead of a stack trace.

import { parseArgs, type ParseArgsConfig } from 'node:util';
import { OptionError } from '../errors.js';
import { ownLookup, suggest } from '../options.js';

/** A mistake in how the command was called (or in its input files): reported without a stack trace. Code E_OPTION. */
export class UsageError extends OptionError {}

type Options = NonNullable<ParseArgsConfig['options']>;
export type Values = Record<string, string | boolean | undefined>;

/** Options every command accepts. */
export const COMMON_OPTIONS = {
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  backend: { type: 'string' },
  threads: { type: 'string' },
} as const satisfies Options;

export function parse(args: string[], options: Options, command: string): { values: Values; positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({ args, options: { ...COMMON_OPTIONS, ...options }, allowPositionals: true, strict: true });
    return { values: values as Values, positionals };
  } catch (err) {
    // parseArgs' messages are good but end with advice about '--' that does
    // not apply here; keep the first sentence.
    const message = (err as Error).message.split('. ')[0].replace(/\.$/, '');
    const unknown = /^Unknown option '--?([^']+)'/.exec(message)?.[1];
    const hint = unknown === undefined ? undefined : nearestOption(unknown, Object.keys({ ...COMMON_OPTIONS, ...options }));
    throw new UsageError(`${message}${hint ? ` (did you mean --${hint}?)` : ''} (see: layerwise ${command} --help)`);
  }
}

/** Long names people reach for that the CLI spells differently. */
const SYNONYMS: Record<string, string> = { 'learning-rate': 'lr', learningrate: 'lr', 'batchsize': 'batch-size', output: 'out', label: 'label-column' };

function nearestOption(name: string, known: string[]): string | undefined {
  const synonym = ownLookup(SYNONYMS, name.toLowerCase());
  if (synonym !== undefined && known.includes(synonym)) return synonym;
  return suggest(name, known);
}

export function stringOption(values: Values, name: string): string | undefined {
  const v = values[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v === '') throw new UsageError(`--${name} needs a value`);
  return v;
}

export function integerOption(values: Values, name: string, min: number): number | undefined {
  const v = stringOption(values, name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!/^[+-]?\d+$/.test(v.trim()) || !Number.isSafeInteger(n) || n < min) {
    throw new UsageError(`--${name} must be an integer${min === 0 ? ' ≥ 0' : min === 1 ? ' ≥ 1' : ''} but is '${v}'`);
  }
  return n;
}

export function numberOption(values: Values, name: string, check: (n: number) => boolean, expected: string): number | undefined {
  const v = stringOption(values, name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || !check(n)) throw new UsageError(`--${name} must be ${expected} but is '${v}'`);
  return n;
}

export function choiceOption<T extends string>(values: Values, name: string, choices: readonly T[]): T | undefined {
  const v = stringOption(values, name);
  if (v === undefined) return undefined;
  if (!(choices as readonly string[]).includes(v)) throw new UsageError(`--${name} must be one of ${choices.join(', ')} but is '${v}'`);
  return v as T;
}

/** --label-column: an integer index (negative counts from the end) or a header name. */
/** --delimiter, with 'tab' or a typed \\t meaning a tab. */
export function delimiterOption(values: Values): string | undefined {
  const v = stringOption(values, 'delimiter');
  if (v === undefined) return undefined;
  const delimiter = v === '\\t' || v === 'tab' ? '\t' : v;
  if (delimiter === '' || /["\r\n]/.test(delimiter)) throw new UsageError(`--delimiter: expected a character such as ',' ';' or '\\t' but got ${JSON.stringify(v)}`);
  return delimiter;
}

export function labelColumnOption(values: Values): number | string | undefined {
  const v = stringOption(values, 'label-column');
  if (v === undefined) return undefined;
  return /^[+-]?\d+$/.test(v.trim()) ? Number(v) : v;
}

export function expectPositionals(positionals: string[], min: number, max: number, usage: string): void {
  if (positionals.length < min) throw new UsageError(`missing argument: usage: ${usage}`);
  if (positionals.length > max) throw new UsageError(`unexpected argument '${positionals[max]}': usage: ${usage}`);
}
