// npm run docs: API reference from the doc comments. tsc already writes each
// public declaration with its doc comment into dist/*.d.ts; this turns those
// files into one Markdown page per module under docs/api/, each declaration
// a heading, its comment as prose and its signature as code.
//
//   npm run docs   (runs the TypeScript build first)

import { mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

const root = path.resolve(__dirname, '..');
const dist = path.join(root, 'dist');
const out = path.join(root, 'docs', 'api');

interface Entry { name: string; comment: string; code: string }

function declarationFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const full = path.join(dir, f);
    return statSync(full).isDirectory() ? declarationFiles(full) : f.endsWith('.d.ts') ? [full] : [];
  });
}

/** Top-level declarations with the doc comment right above them. */
function entries(source: string): Entry[] {
  const lines = source.split('\n');
  const found: Entry[] = [];
  let comment: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line.startsWith('/**')) {
      comment = [];
      for (; i < lines.length; i++) {
        comment.push(lines[i]);
        if (lines[i].includes('*/')) break;
      }
      continue;
    }
    const match = /^export (?:declare )?(?:abstract )?(class|interface|type|function|const|enum) (\w+)/.exec(line);
    if (!match) {
      if (line.trim() !== '') comment = [];
      continue;
    }
    // A declaration runs to its closing brace at column 0 (classes,
    // interfaces) or to the end of its statement.
    const code = [line];
    if (line.trimEnd().endsWith('{')) {
      while (++i < lines.length && !/^}/.test(lines[i])) code.push(lines[i]);
      code.push('}');
    }
    found.push({ name: match[2], comment: proseOf(comment), code: code.join('\n') });
    comment = [];
  }
  return found;
}

function proseOf(comment: string[]): string {
  return comment
    .map((l) => l.replace(/^\s*\/\*\*\s?/, '').replace(/\s*\*\/\s*$/, '').replace(/^\s*\*\s?/, ''))
    .join('\n')
    .trim();
}

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const index: string[] = ['# layerwise API', '', 'Generated from the doc comments by `npm run docs`.', ''];
for (const file of declarationFiles(dist).sort()) {
  const moduleName = path.relative(dist, file).replace(/\.d\.ts$/, '');
  const list = entries(readFileSync(file, 'utf8'));
  if (list.length === 0) continue;
  const page = [`# ${moduleName}`, ''];
  for (const e of list) {
    page.push(`## ${e.name}`, '');
    if (e.comment) page.push(e.comment, '');
    page.push('```ts', e.code, '```', '');
  }
  const target = path.join(out, `${moduleName.replace(/\//g, '.')}.md`);
  writeFileSync(target, page.join('\n'));
  index.push(`- [${moduleName}](${path.basename(target)}): ${list.map((e) => e.name).join(', ')}`);
}
writeFileSync(path.join(out, 'README.md'), index.join('\n') + '\n');
console.log(`wrote ${path.relative(root, out)}/ (${index.length - 4} modules)`);
