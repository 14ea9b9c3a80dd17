// The API docs (npm run docs) are built from doc comments, so every public
// export needs one: this walks lib/index.ts's exports to their declarations
// and lists those without a /** … */ comment right above them.

import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';

const lib = path.resolve(__dirname, '..', 'lib');

interface Declaration { name: string; file: string; documented: boolean }

const DECLARATION = /^export\s+(?:declare\s+)?(?:abstract\s+)?(?:async\s+)?(?:class|function|const|let|interface|type|enum)\s+([A-Za-z_$][\w$]*)/;

function resolveModule(from: string, specifier: string): string {
  return path.resolve(path.dirname(from), specifier.replace(/\.js$/, '.ts'));
}

/** Whether the declaration of `name` in `file` has a doc comment right above it. */
function declarationIn(file: string, name: string): Declaration | undefined {
  const lines = readFileSync(file, 'utf8').split('\n');
  const at = lines.findIndex((line) => DECLARATION.exec(line)?.[1] === name);
  if (at < 0) return undefined;
  let above = at - 1;
  while (above >= 0 && /^\s*(@|\/\/)/.test(lines[above])) above--; // decorators or line comments between
  let documented = false;
  if (above >= 0 && /\*\/\s*$/.test(lines[above])) {
    let start = above;
    while (start >= 0 && !lines[start].includes('/*')) start--;
    documented = start >= 0 && lines[start].includes('/**');
  }
  return { name, file: path.relative(lib, file), documented };
}

/** Every name `file` exports, followed to the declaring file. */
function exportsOf(file: string, seen = new Set<string>()): Declaration[] {
  if (seen.has(file)) return [];
  seen.add(file);
  const source = readFileSync(file, 'utf8');
  const found: Declaration[] = [];
  for (const line of source.split('\n')) {
    const own = DECLARATION.exec(line);
    if (own) found.push(declarationIn(file, own[1])!);
  }
  for (const [, list, specifier] of source.matchAll(/export\s+(?:type\s+)?\{([^}]*)\}\s*from\s*'([^']+)'/g)) {
    const target = resolveModule(file, specifier);
    for (const item of list.split(',').map((s) => s.trim().replace(/^type\s+/, '')).filter(Boolean)) {
      const [original, alias] = item.split(/\s+as\s+/);
      const declared = declarationIn(target, original) ?? exportsOf(target, new Set(seen)).find((d) => d.name === original);
      found.push(declared ? { ...declared, name: alias ?? original } : { name: alias ?? original, file: path.relative(lib, target), documented: false });
    }
  }
  for (const [, specifier] of source.matchAll(/export\s+\*\s+from\s*'([^']+)'/g)) found.push(...exportsOf(resolveModule(file, specifier), seen));
  for (const [, name, specifier] of source.matchAll(/export\s+\*\s+as\s+(\w+)\s+from\s*'([^']+)'/g)) {
    const target = resolveModule(file, specifier);
    // A namespace's members are public too.
    found.push(...exportsOf(target, seen).map((d) => ({ ...d, name: `${name}.${d.name}` })));
  }
  return found;
}

describe('API docs', () => {
  it('every public export has a doc comment', () => {
    const exported = exportsOf(path.join(lib, 'index.ts'));
    expect(exported.length).to.be.above(50);
    const missing = exported.filter((d) => !d.documented).map((d) => `${d.name} (lib/${d.file})`);
    expect(missing, `no doc comment:\n  ${missing.join('\n  ')}`).to.deep.equal([]);
  });
});
