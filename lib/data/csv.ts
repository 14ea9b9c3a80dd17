// CSV tables, one sample a row. The file is read in chunks and parsed line by
// line into per-column storage, so a large file is never held as text and as
// numbers at once, and a line or a column count past its limit stops the read
// at once (a "CSV bomb" fails with bounded memory). String label columns become
// class ids with their names; string feature columns become one-hot columns
// with their categories recorded, so a test file or a prediction input can be
// encoded the same way. Every rejection names the file, the line as an editor
// numbers it, and the column, because a 10 000-row file with one bad cell is
// otherwise hopeless to fix. Quoted fields may not span lines.

import { closeSync, openSync, readSync, createReadStream } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { describe } from '../shape.js';
import { Tensor } from '../tensor.js';
import { DataFileError, readDataFile, readDataFileSync } from './errors.js';
import { OptionError } from '../errors.js';
import { checkOptions as checkKnownKeys } from '../options.js';

/** What `loadCsv` does with empty, `NA` and `NaN` cells (see `CsvOptions.missing`). */
export type MissingPolicy = 'error' | 'mean' | 'median' | 'drop';

/** How one source column became columns of x: a number, or one-hot over its categories. */
export type CsvFeature =
  | { name: string; kind: 'numeric'; /** The value that filled missing cells ('mean'/'median'), when any was computed. */ fill?: number }
  | { name: string; kind: 'categorical'; categories: string[] };

/** Options of `loadCsv` and `parseCsv`. */
export interface CsvOptions {
  /** The target column, by header name or 0-based index (negative counts from the end). */
  labelColumn?: number | string;
  /** Whether the first row names the columns; `'auto'` (default): when none of its cells is a number. */
  header?: boolean | 'auto';
  /** Default `,`. */
  delimiter?: string;
  /**
   * Class names in class-id order. A string label column is mapped through
   * them (an unknown name is an error); by default its distinct values, sorted.
   */
  classNames?: string[];
  /**
   * Feature columns to one-hot encode, by name or index. `'auto'` (default):
   * columns whose first value is not a number. `false`: none (text is an error).
   */
  categorical?: 'auto' | false | (string | number)[];
  /**
   * A previous load's `features`: encodes this file the same way (same
   * one-hot categories, same fill values), as a test or prediction file must be.
   */
  features?: CsvFeature[];
  /** Empty, `NA` and `NaN` cells: `'error'` (default) names the row and column; or fill with the column's mean or median, or drop the row. */
  missing?: MissingPolicy;
  /** Longest line accepted, in characters (default 1 MiB): a longer one stops the read. */
  maxLineLength?: number;
  /** Most columns a row may have (default 10 000). */
  maxColumns?: number;
}

/** What `loadCsv` returns. */
export interface CsvData {
  /** `[rows, features]`: every column but the label column, categorical ones one-hot encoded. */
  x: Tensor;
  /** `[rows]`: the label column (class ids for a string column), when one was asked for. */
  y?: Tensor;
  /** Names of x's columns: the header's (`name=category` for one-hot columns), or `column 1`, … (1-based, as in errors). */
  columns: string[];
  /** Name of the label column, when one was asked for. */
  labelColumn?: string;
  /** For a string label column: the name of each class id. */
  classNames?: string[];
  /** How each source feature column was encoded; pass it back as `features` to encode another file the same way. */
  features: CsvFeature[];
  /** Data rows dropped for missing values (`missing: 'drop'`). */
  droppedRows: number;
}

/** What loadCsv returns when a label column was asked for: `y` is there. */
export interface LabeledCsvData extends CsvData {
  y: Tensor;
  labelColumn: string;
}

type Labeled = CsvOptions & { labelColumn: number | string };

const OPTION_KEYS = Object.keys({
  labelColumn: true, header: true, delimiter: true, classNames: true, categorical: true, features: true, missing: true,
  maxLineLength: true, maxColumns: true,
} satisfies { [K in keyof Required<CsvOptions>]: true });

const DEFAULT_MAX_LINE_LENGTH = 2 ** 20;
const DEFAULT_MAX_COLUMNS = 10_000;
const CHUNK_BYTES = 1 << 16;

/** Reads a CSV file into features `x` and, with `labelColumn`, labels `y`; errors name the file, row and column. */
export function loadCsv(file: string, options: Labeled): Promise<LabeledCsvData>;
export function loadCsv(file: string, options?: CsvOptions): Promise<CsvData>;
export async function loadCsv(file: string, options: CsvOptions = {}): Promise<CsvData> {
  const parser = new CsvParser(options, file);
  await readDataFile(file, async () => {
    const decoder = new StringDecoder('utf8');
    for await (const chunk of createReadStream(file, { highWaterMark: CHUNK_BYTES })) parser.push(decoder.write(chunk as Buffer));
    parser.push(decoder.end());
  });
  return parser.finish();
}

/** `loadCsv`, synchronously. */
export function loadCsvSync(file: string, options: Labeled): LabeledCsvData;
export function loadCsvSync(file: string, options?: CsvOptions): CsvData;
export function loadCsvSync(file: string, options: CsvOptions = {}): CsvData {
  const parser = new CsvParser(options, file);
  readDataFileSync(file, () => {
    const fd = openSync(file, 'r');
    try {
      const decoder = new StringDecoder('utf8');
      const buffer = Buffer.allocUnsafe(CHUNK_BYTES);
      for (let n; (n = readSync(fd, buffer, 0, CHUNK_BYTES, null)) > 0;) parser.push(decoder.write(buffer.subarray(0, n)));
      parser.push(decoder.end());
    } finally {
      closeSync(fd);
    }
  });
  return parser.finish();
}

/**
 * The column names of a file's header row, or undefined when its first row is
 * data; reads only as far as the first line (at most maxLineLength).
 */
export async function readCsvHeader(file: string, options: Pick<CsvOptions, 'delimiter' | 'header' | 'maxLineLength'> = {}): Promise<string[] | undefined> {
  const parser = new CsvParser(options, file);
  return readDataFile(file, async () => {
    const decoder = new StringDecoder('utf8');
    const stream = createReadStream(file, { highWaterMark: CHUNK_BYTES });
    try {
      for await (const chunk of stream) {
        try {
          parser.push(decoder.write(chunk as Buffer));
        } catch (err) {
          // Only the first line matters here: the full load reports later rows' problems.
          if (!parser.started()) throw err;
        }
        if (parser.started()) break;
      }
    } finally {
      stream.destroy();
    }
    return parser.headerNames();
  });
}

/** Parses CSV text already in memory; `source` names it in errors. */
export function parseCsv(text: string, options: Labeled, source?: string): LabeledCsvData;
export function parseCsv(text: string, options?: CsvOptions, source?: string): CsvData;
export function parseCsv(text: string, options: CsvOptions = {}, source = 'CSV text'): CsvData {
  const parser = new CsvParser(options, source);
  parser.push(text);
  return parser.finish();
}

/** A growable Float64 column: numbers, NaN for a missing cell. */
class NumberColumn {
  data = new Float64Array(64);
  length = 0;
  push(v: number): void {
    if (this.length === this.data.length) {
      const bigger = new Float64Array(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[this.length++] = v;
  }
}

/** A column of category ids (−1 for a missing cell) and the distinct strings they stand for. */
class CategoryColumn {
  ids = new NumberColumn();
  names: string[] = [];
  private index = new Map<string, number>();
  push(cell: string | undefined): void {
    if (cell === undefined) return this.ids.push(-1);
    let id = this.index.get(cell);
    if (id === undefined) {
      id = this.names.length;
      this.names.push(cell);
      this.index.set(cell, id);
    }
    this.ids.push(id);
  }
}

type Column = { kind: 'pending'; missing: number } | { kind: 'numeric'; values: NumberColumn } | { kind: 'categorical'; values: CategoryColumn };

class CsvParser {
  private readonly delimiter: string;
  private readonly maxLineLength: number;
  private readonly maxColumns: number;
  private readonly missing: MissingPolicy;
  private pending = '';
  private lineNo = 0;
  private names?: string[];
  private width = -1;
  private rows = 0;
  private columns: Column[] = [];
  private forcedCategorical = new Set<number>();
  private label = -1;
  /** 1-based line number of each data row, for errors found after parsing. */
  private rowLines = new NumberColumn();

  constructor(private readonly options: CsvOptions, private readonly source: string) {
    checkOptions(options);
    this.delimiter = options.delimiter ?? ',';
    this.maxLineLength = options.maxLineLength ?? DEFAULT_MAX_LINE_LENGTH;
    this.maxColumns = options.maxColumns ?? DEFAULT_MAX_COLUMNS;
    this.missing = options.missing ?? 'error';
  }

  /** Whether the first non-blank line (header or data) has been read. */
  started(): boolean {
    return this.width >= 0;
  }

  headerNames(): string[] | undefined {
    if (this.width < 0 && this.pending.trim() !== '') this.line(this.pending);
    return this.names ? [...this.names] : undefined;
  }

  fail(message: string, line?: number, column?: number): never {
    const name = column !== undefined ? this.names?.[column - 1] : undefined;
    const where = line === undefined ? '' : column === undefined ? ` line ${line}` : ` line ${line}, column ${column}${name ? ` (${name})` : ''}`;
    throw new DataFileError(this.source, `${this.source}${where}: ${message}`, { line, column });
  }

  push(text: string): void {
    let start = 0;
    for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', start)) {
      const line = this.pending + text.slice(start, nl);
      this.pending = '';
      start = nl + 1;
      this.checkLength(line.length);
      this.line(line);
    }
    this.pending += text.slice(start);
    this.checkLength(this.pending.length);
  }

  private checkLength(length: number): void {
    if (length > this.maxLineLength + 1) {
      this.fail(`line longer than ${this.maxLineLength} characters (maxLineLength)`, this.lineNo + 1);
    }
  }

  private line(raw: string): void {
    this.lineNo++;
    let line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (this.lineNo === 1 && line.charCodeAt(0) === 0xfeff) line = line.slice(1);
    if (line.trim() === '') return;
    const lineNo = this.lineNo;
    const cells = splitRow(line, this.delimiter, this.maxColumns, (column, message) => this.fail(message, lineNo, column));
    if (this.width < 0) {
      this.width = cells.length;
      const header = this.options.header ?? 'auto';
      const isHeader = header === 'auto' ? cells.every((c) => !isMissing(c) && parseNumber(c) === undefined) : header;
      if (isHeader) this.names = cells;
      this.setUp();
      if (isHeader) return;
    }
    if (cells.length !== this.width) this.fail(`expected ${this.width} columns but got ${cells.length}`, lineNo);
    for (let c = 0; c < cells.length; c++) this.cell(c, cells[c], lineNo);
    this.rowLines.push(lineNo);
    this.rows++;
  }

  /** Resolves the label column and the columns to treat as categorical, once the width (and header) is known. */
  private setUp(): void {
    const { labelColumn, categorical = 'auto', features } = this.options;
    if (labelColumn !== undefined) this.label = this.resolveColumn(labelColumn, 'label column');
    if (Array.isArray(categorical)) {
      for (const c of categorical) {
        const index = this.resolveColumn(c, 'categorical column');
        if (index === this.label) this.fail(`column ${describe(c)} is the label column; it cannot be a categorical feature`);
        this.forcedCategorical.add(index);
      }
    }
    if (features) {
      const featureColumns = this.featureIndices();
      if (features.length !== featureColumns.length) {
        this.fail(`expected ${features.length} feature columns (as recorded in features) but got ${featureColumns.length}`);
      }
      features.forEach((f, k) => {
        if (this.names && this.names[featureColumns[k]] !== f.name) {
          this.fail(`expected column '${f.name}' (as recorded in features) but got '${this.names[featureColumns[k]]}'`);
        }
        if (f.kind === 'categorical') this.forcedCategorical.add(featureColumns[k]);
      });
    }
    this.columns = Array.from({ length: this.width }, (_, c) =>
      this.forcedCategorical.has(c) ? { kind: 'categorical', values: new CategoryColumn() } : { kind: 'pending', missing: 0 });
  }

  private featureIndices(): number[] {
    return Array.from({ length: this.width }, (_, c) => c).filter((c) => c !== this.label);
  }

  private resolveColumn(column: string | number, what: string): number {
    if (typeof column === 'string') {
      if (!this.names) {
        this.fail(this.options.header === false
          ? `${what} '${column}' is a name but the file has no header row (header: false)`
          : `${what} '${column}' is a name but the file has no header row (its first row holds numbers)`);
      }
      const index = this.names.indexOf(column);
      if (index < 0) this.fail(`${what} '${column}' not found; the columns are ${this.names.join(', ')}`);
      return index;
    }
    if (column >= this.width || column < -this.width) this.fail(`${what} ${column} is out of range for ${this.width} columns`);
    return column < 0 ? this.width + column : column;
  }

  private cell(c: number, cell: string, lineNo: number): void {
    const column = this.columns[c];
    const missing = isMissing(cell);
    if (missing && this.missing === 'error') {
      this.fail(`missing value (${cell === '' ? 'an empty cell' : `'${cell}'`}); pass missing: 'mean', 'median' or 'drop' to fill or skip it`, lineNo, c + 1);
    }
    if (column.kind === 'pending') {
      if (missing) {
        column.missing++;
        return;
      }
      // Text that holds another delimiter is far more often a wrong
      // delimiter than a category: it stays numeric and fails with a hint.
      const wrongDelimiter = OTHER_DELIMITERS.some((d) => d !== this.delimiter && cell.includes(d) &&
        cell.split(d).every((piece) => parseNumber(piece.trim()) !== undefined));
      const text = (c !== this.label && this.options.categorical === false) || wrongDelimiter;
      const kind = parseNumber(cell) !== undefined || text ? 'numeric' : 'categorical';
      const decided: Column = kind === 'numeric' ? { kind, values: new NumberColumn() } : { kind, values: new CategoryColumn() };
      for (let i = 0; i < column.missing; i++) decided.values.push(kind === 'numeric' ? NaN as never : undefined as never);
      this.columns[c] = decided;
      return this.cell(c, cell, lineNo);
    }
    if (column.kind === 'categorical') return column.values.push(missing ? undefined : cell);
    if (missing) return column.values.push(NaN);
    const v = parseNumber(cell);
    if (v === undefined) {
      const other = OTHER_DELIMITERS.find((d) => d !== this.delimiter && cell.includes(d));
      const hint = other
        ? ` (is the delimiter '${other === '\t' ? '\\t' : other}'?)`
        : c === this.label || this.options.categorical === false ? '' : ` (to one-hot encode this column, pass categorical: [${JSON.stringify(this.names?.[c] ?? c)}])`;
      this.fail(`expected a number but got '${cell}'${hint}`, lineNo, c + 1);
    }
    column.values.push(v);
  }

  finish(): CsvData {
    if (this.pending !== '') {
      const last = this.pending;
      this.pending = '';
      this.line(last);
    }
    if (this.width < 0) this.fail('empty file: no rows');
    if (this.rows === 0) this.fail('no data rows after the header');
    const names = this.names ?? Array.from({ length: this.width }, (_, c) => `column ${c + 1}`);
    if (this.label >= 0 && this.width === 1) this.fail(`no feature columns: the only column is the label column '${names[this.label]}'`);

    const keep = this.keptRows();
    const rows = keep.length;
    if (rows === 0) this.fail('no data rows left after dropping the rows with missing values');
    const recorded = this.options.features;
    const features: CsvFeature[] = [];
    const blocks: { width: number; write(r: number, out: Float32Array, at: number): void }[] = [];
    const xColumns: string[] = [];
    this.featureIndices().forEach((c, k) => {
      const column = this.columns[c];
      const name = names[c];
      if (column.kind === 'categorical') {
        const categories = recorded?.[k]?.kind === 'categorical'
          ? (recorded[k] as { categories: string[] }).categories
          : [...column.values.names].sort();
        const remap = this.categoryMap(column.values, categories, c, keep, 'category');
        if (keep.some((r) => column.values.ids.data[r] < 0)) {
          this.fail(`column '${name}' is categorical and has missing values; use missing: 'drop' for it`);
        }
        features.push({ name, kind: 'categorical', categories });
        xColumns.push(...categories.map((cat) => `${name}=${cat}`));
        blocks.push({ width: categories.length, write: (r, out, at) => { out[at + remap[column.values.ids.data[r]]] = 1; } });
        return;
      }
      const values = column.kind === 'numeric' ? column.values.data : new Float64Array(this.rows).fill(NaN);
      const recordedFill = recorded?.[k]?.kind === 'numeric' ? (recorded[k] as { fill?: number }).fill : undefined;
      const fill = this.missing === 'mean' || this.missing === 'median' ? recordedFill ?? statistic(values, keep, this.missing) : undefined;
      if (fill !== undefined && Number.isNaN(fill)) this.fail(`column '${name}' has no values to take a ${this.missing} from`);
      features.push(fill === undefined ? { name, kind: 'numeric' } : { name, kind: 'numeric', fill });
      xColumns.push(name);
      blocks.push({ width: 1, write: (r, out, at) => { const v = values[r]; out[at] = Number.isNaN(v) && fill !== undefined ? fill : v; } });
    });

    const width = blocks.reduce((n, b) => n + b.width, 0);
    const x = new Float32Array(rows * width);
    keep.forEach((r, i) => {
      let at = i * width;
      for (const b of blocks) {
        b.write(r, x, at);
        at += b.width;
      }
    });
    const result: CsvData = { x: new Tensor(x, [rows, width]), columns: xColumns, features, droppedRows: this.rows - rows };
    if (this.label < 0) return result;

    const labelName = names[this.label];
    const column = this.columns[this.label];
    const y = new Float32Array(rows);
    if (column.kind === 'categorical') {
      const classNames = this.options.classNames ?? [...column.values.names].sort();
      const remap = this.categoryMap(column.values, classNames, this.label, keep, 'class');
      keep.forEach((r, i) => { y[i] = remap[column.values.ids.data[r]]; });
      result.classNames = [...classNames];
    } else if (column.kind === 'numeric') {
      keep.forEach((r, i) => { y[i] = column.values.data[r]; });
      if (this.options.classNames) result.classNames = [...this.options.classNames];
    } else {
      this.fail(`label column '${labelName}' has no values`);
    }
    return { ...result, y: new Tensor(y, [rows]), labelColumn: labelName };
  }

  /** Data rows to keep: all, or (missing: 'drop') those without a missing cell. A missing label is never filled. */
  private keptRows(): number[] {
    const keep: number[] = [];
    for (let r = 0; r < this.rows; r++) {
      let missingColumn = -1;
      for (let c = 0; c < this.width && missingColumn < 0; c++) {
        const column = this.columns[c];
        const gone = column.kind === 'pending' || (column.kind === 'numeric' ? Number.isNaN(column.values.data[r]) : column.values.ids.data[r] < 0);
        if (gone && (this.missing === 'drop' || c === this.label)) missingColumn = c;
      }
      if (missingColumn < 0) keep.push(r);
      else if (this.missing !== 'drop') this.fail(`missing label; pass missing: 'drop' to skip such rows`, this.rowLines.data[r], missingColumn + 1);
    }
    return keep;
  }

  /** Maps a column's category ids onto positions in `order`, naming the first row whose value is not in it. */
  private categoryMap(column: CategoryColumn, order: string[], c: number, keep: number[], what: string): Int32Array {
    const position = new Map(order.map((name, i) => [name, i]));
    const remap = new Int32Array(column.names.length);
    column.names.forEach((name, id) => {
      const p = position.get(name);
      if (p === undefined) {
        const r = keep.find((row) => column.ids.data[row] === id);
        if (r === undefined) return;
        this.fail(`unknown ${what} '${name}' (known: ${order.join(', ')})`, this.rowLines.data[r], c + 1);
      }
      remap[id] = p!;
    });
    return remap;
  }
}

function statistic(values: Float64Array, keep: number[], kind: 'mean' | 'median'): number {
  const present = keep.map((r) => values[r]).filter((v) => !Number.isNaN(v));
  if (present.length === 0) return NaN;
  if (kind === 'mean') return present.reduce((s, v) => s + v, 0) / present.length;
  present.sort((a, b) => a - b);
  const mid = present.length >> 1;
  return present.length % 2 ? present[mid] : (present[mid - 1] + present[mid]) / 2;
}

function checkOptions(options: CsvOptions): void {
  if (options === null || typeof options !== 'object') {
    throw new OptionError(`expected an options object for the CSV loader but got ${describe(options)}`);
  }
  checkKnownKeys(options, OPTION_KEYS, 'CSV options');
  const { labelColumn, header, delimiter, classNames, categorical, features, missing, maxLineLength, maxColumns } = options;
  if (labelColumn !== undefined && typeof labelColumn !== 'string' && !Number.isInteger(labelColumn)) {
    throw new OptionError(`expected a column name or an integer index for labelColumn but got ${describe(labelColumn)}`);
  }
  if (header !== undefined && header !== true && header !== false && header !== 'auto') {
    throw new OptionError(`expected true, false or 'auto' for header but got ${describe(header)}`);
  }
  if (delimiter !== undefined && (typeof delimiter !== 'string' || delimiter === '' || /["\r\n]/.test(delimiter))) {
    throw new OptionError(`expected a non-empty delimiter without quotes or newlines but got ${describe(delimiter)}`);
  }
  if (classNames !== undefined && (!Array.isArray(classNames) || classNames.length === 0 || !classNames.every((n) => typeof n === 'string') ||
    new Set(classNames).size !== classNames.length)) {
    throw new OptionError(`expected distinct strings for classNames but got ${describe(classNames)}`);
  }
  if (categorical !== undefined && categorical !== 'auto' && categorical !== false &&
    !(Array.isArray(categorical) && categorical.every((c) => typeof c === 'string' || Number.isInteger(c)))) {
    throw new OptionError(`expected 'auto', false or a list of column names or indices for categorical but got ${describe(categorical)}`);
  }
  if (features !== undefined && !(Array.isArray(features) && features.every((f) => f && typeof f.name === 'string' &&
    (f.kind === 'numeric' || (f.kind === 'categorical' && Array.isArray(f.categories)))))) {
    throw new OptionError(`expected a previous load's features for features but got ${describe(features)}`);
  }
  if (missing !== undefined && !['error', 'mean', 'median', 'drop'].includes(missing)) {
    throw new OptionError(`expected 'error', 'mean', 'median' or 'drop' for missing but got ${describe(missing)}`);
  }
  for (const [name, value] of [['maxLineLength', maxLineLength], ['maxColumns', maxColumns]] as const) {
    if (value !== undefined && !(Number.isSafeInteger(value) && value > 0)) {
      throw new OptionError(`expected a positive integer for ${name} but got ${describe(value)}`);
    }
  }
}

/** Empty, NA and NaN (any case) mark a missing value. */
function isMissing(cell: string): boolean {
  return cell === '' || /^(?:na|nan|n\/a)$/i.test(cell);
}

const OTHER_DELIMITERS = [';', '\t', ',', '|'];

const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** Decimal numbers and the inf spellings numpy writes; anything else is undefined. */
function parseNumber(cell: string): number | undefined {
  if (DECIMAL.test(cell)) return Number(cell);
  switch (cell.toLowerCase()) {
    case 'inf': case '+inf': case 'infinity': case '+infinity': return Infinity;
    case '-inf': case '-infinity': return -Infinity;
    default: return undefined;
  }
}

/** Cells of one line, trimmed; `"…"` quotes (with `""` for a quote) may hold the delimiter. */
function splitRow(line: string, delimiter: string, maxColumns: number, fail: (column: number, message: string) => never): string[] {
  const cells: string[] = [];
  let i = 0;
  for (;;) {
    if (cells.length >= maxColumns) fail(cells.length + 1, `more than ${maxColumns} columns (maxColumns)`);
    let j = i;
    while (line[j] === ' ') j++;
    if (line[j] !== '"') {
      const end = line.indexOf(delimiter, i);
      cells.push((end < 0 ? line.slice(i) : line.slice(i, end)).trim());
      if (end < 0) return cells;
      i = end + delimiter.length;
      continue;
    }
    let value = '';
    j++;
    for (;;) {
      const quote = line.indexOf('"', j);
      if (quote < 0) fail(cells.length + 1, 'unterminated quoted field');
      value += line.slice(j, quote);
      j = quote + 1;
      if (line[j] !== '"') break;
      value += '"';
      j++;
    }
    while (line[j] === ' ') j++;
    cells.push(value.trim());
    if (j >= line.length) return cells;
    if (!line.startsWith(delimiter, j)) fail(cells.length, `unexpected text after a closing quote: '${line.slice(j)}'`);
    i = j + delimiter.length;
  }
}
