// Numeric CSV tables, one sample a row. Deliberately small: no multi-line
// quoted fields, no missing-value handling. Every rejection names the file,
// the line as an editor numbers it, and the column, because a 10 000-row file
// with one bad cell is otherwise hopeless to fix.

import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { describe } from '../shape.js';
import { Tensor } from '../tensor.js';
import { DataFileError, readDataFile, readDataFileSync } from './errors.js';
import { OptionError } from '../errors.js';

export interface CsvOptions {
  /** The target column, by header name or 0-based index (negative counts from the end). */
  labelColumn?: number | string;
  /** Whether the first row names the columns; `'auto'` (default): when any of its cells is not a number. */
  header?: boolean | 'auto';
  /** Default `,`. */
  delimiter?: string;
}

export interface CsvData {
  /** [rows, features]: every column but the label column. */
  x: Tensor;
  /** [rows]: the label column, when one was asked for. */
  y?: Tensor;
  /** Names of x's columns: the header's, or `column 1`, `column 2`, … (1-based, as in errors). */
  columns: string[];
  /** Name of the label column, when one was asked for. */
  labelColumn?: string;
}

export async function loadCsv(file: string, options: CsvOptions = {}): Promise<CsvData> {
  checkOptions(options);
  return parseCsv(await readDataFile(file, () => readFile(file, 'utf8')), options, file);
}

export function loadCsvSync(file: string, options: CsvOptions = {}): CsvData {
  checkOptions(options);
  return parseCsv(readDataFileSync(file, () => readFileSync(file, 'utf8')), options, file);
}

/** Parses CSV text already in memory; `source` names it in errors. */
export function parseCsv(text: string, options: CsvOptions = {}, source = 'CSV text'): CsvData {
  checkOptions(options);
  const { labelColumn, header = 'auto', delimiter = ',' } = options;
  const fail = (message: string, line?: number, column?: number, name?: string): never => {
    const where = line === undefined ? '' : column === undefined ? ` line ${line}` : ` line ${line}, column ${column}${name ? ` (${name})` : ''}`;
    throw new DataFileError(source, `${source}${where}: ${message}`, { line, column });
  };

  const lines = text.split('\n');
  let names: string[] | undefined;
  let width = -1;
  let rows = 0;
  const values: number[] = [];
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i];
    if (line.endsWith('\r')) line = line.slice(0, -1);
    if (i === 0 && line.charCodeAt(0) === 0xfeff) line = line.slice(1);
    if (line.trim() === '') continue;
    const lineNo = i + 1;
    const cells = splitRow(line, delimiter, (column, message) => fail(message, lineNo, column));

    if (width < 0) {
      width = cells.length;
      const isHeader = header === 'auto' ? cells.some((c) => parseNumber(c) === undefined) : header;
      if (isHeader) {
        names = cells;
        continue;
      }
    }
    if (cells.length !== width) fail(`expected ${width} columns but got ${cells.length}`, lineNo);
    for (let c = 0; c < cells.length; c++) {
      const v = parseNumber(cells[c]);
      if (v === undefined) {
        const cell = cells[c];
        const other = [';', '\t', ',', '|'].find((d) => d !== delimiter && cell.includes(d));
        const hint = other ? ` (is the delimiter '${other === '\t' ? '\\t' : other}'?)` : '';
        fail(cell === '' ? 'expected a number but the cell is empty' : `expected a number but got '${cell}'${hint}`,
          lineNo, c + 1, names?.[c]);
      }
      values.push(v as number);
    }
    rows++;
  }
  if (width < 0) fail('empty file: no rows');
  if (rows === 0) fail('no data rows after the header');

  const columns = names ?? Array.from({ length: width }, (_, c) => `column ${c + 1}`);
  let label = -1;
  if (typeof labelColumn === 'string') {
    if (!names) {
      fail(header === 'auto'
        ? `label column '${labelColumn}' is a name but the file has no header row (its first row is all numbers)`
        : `label column '${labelColumn}' is a name but the file has no header row (header: false)`);
    }
    label = columns.indexOf(labelColumn);
    if (label < 0) fail(`label column '${labelColumn}' not found; the columns are ${columns.join(', ')}`);
  } else if (typeof labelColumn === 'number') {
    if (labelColumn >= width || labelColumn < -width) {
      fail(`label column ${labelColumn} is out of range for ${width} columns`);
    }
    label = labelColumn < 0 ? width + labelColumn : labelColumn;
  }

  if (label < 0) return { x: new Tensor(Float32Array.from(values), [rows, width]), columns };
  if (width === 1) fail(`no feature columns: the only column is the label column '${columns[label]}'`);
  const features = width - 1;
  const x = new Float32Array(rows * features);
  const y = new Float32Array(rows);
  for (let r = 0, k = 0; r < rows; r++) {
    for (let c = 0; c < width; c++) {
      const v = values[r * width + c];
      if (c === label) y[r] = v;
      else x[k++] = v;
    }
  }
  return {
    x: new Tensor(x, [rows, features]),
    y: new Tensor(y, [rows]),
    columns: columns.filter((_, c) => c !== label),
    labelColumn: columns[label],
  };
}

function checkOptions(options: CsvOptions): void {
  if (options === null || typeof options !== 'object') {
    throw new OptionError(`expected an options object for the CSV loader but got ${describe(options)}`);
  }
  const { labelColumn, header, delimiter } = options;
  if (labelColumn !== undefined && typeof labelColumn !== 'string' && !Number.isInteger(labelColumn)) {
    throw new OptionError(`expected a column name or an integer index for labelColumn but got ${describe(labelColumn)}`);
  }
  if (header !== undefined && header !== true && header !== false && header !== 'auto') {
    throw new OptionError(`expected true, false or 'auto' for header but got ${describe(header)}`);
  }
  if (delimiter !== undefined && (typeof delimiter !== 'string' || delimiter === '' || /["\r\n]/.test(delimiter))) {
    throw new OptionError(`expected a non-empty delimiter without quotes or newlines but got ${describe(delimiter)}`);
  }
}

const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** Decimal numbers and the nan/inf spellings numpy writes; anything else is undefined. */
function parseNumber(cell: string): number | undefined {
  if (DECIMAL.test(cell)) return Number(cell);
  switch (cell.toLowerCase()) {
    case 'nan': case '+nan': case '-nan': return NaN;
    case 'inf': case '+inf': case 'infinity': case '+infinity': return Infinity;
    case '-inf': case '-infinity': return -Infinity;
    default: return undefined;
  }
}

/** Cells of one line, trimmed; `"…"` quotes (with `""` for a quote) may hold the delimiter. */
function splitRow(line: string, delimiter: string, fail: (column: number, message: string) => never): string[] {
  const cells: string[] = [];
  let i = 0;
  for (;;) {
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
