// Strict options: an unknown key in an options object is an error that names
// it and suggests the nearest known key, because a silently ignored typo
// (`activaton: 'relu'`) trains a different model without a word.

import { OptionError } from './errors.js';
import { describe } from './shape.js';

/**
 * Throws an OptionError for the first own key of `options` not in `known`,
 * with "did you mean …?" when a known key is close. `what` names the owner,
 * e.g. "Dense options". A non-object (other than undefined) is an error too.
 */
export function checkOptions(options: unknown, known: readonly string[], what: string): void {
  if (options === undefined) return;
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new OptionError(`expected an object for ${what} but got ${describe(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      const hint = suggest(key, known);
      throw new OptionError(
        `unknown option '${key}' in ${what}` + (hint ? ` (did you mean '${hint}'?)` : ` (known: ${known.join(', ')})`),
      );
    }
  }
}

/** The known name closest to `name`, if it is close enough to be a likely typo. */
export function suggest(name: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  const lower = name.toLowerCase();
  for (const candidate of known) {
    const d = editDistance(lower, candidate.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  const limit = Math.max(2, Math.floor(name.length / 3));
  return best !== undefined && bestDistance <= limit ? best : undefined;
}

/** Looks `name` up among an object's own properties only, so 'constructor' or 'toString' is never a match. */
export function ownLookup<T>(table: Readonly<Record<string, T>>, name: unknown): T | undefined {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(table, name) ? table[name] : undefined;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length];
}
