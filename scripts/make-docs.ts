// npm run docs: the API reference as an HTML site in docs/api/, built by
// typedoc from the doc comments of what lib/index.ts exports (and nothing
// else), with the guides in docs/guides/. typedoc needs TypeScript 5's
// compiler API, so it lives in docs/package.json with its own lock, apart
// from the project's TypeScript 7.
//
// After the build, the site is checked to name no internal module: a file
// path of lib/ or a module that index.ts does not export would mean an
// internal leaked into the public reference.

import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';

const root = path.resolve(__dirname, '..');
const docs = path.join(root, 'docs');
const site = path.join(docs, 'api');

execFileSync(process.execPath, [path.join(docs, 'node_modules', 'typedoc', 'bin', 'typedoc'), '--options', 'typedoc.json'], { cwd: docs, stdio: 'inherit' });

function htmlFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const full = path.join(dir, f);
    return statSync(full).isDirectory() ? htmlFiles(full) : f.endsWith('.html') ? [full] : [];
  });
}

// Module names under lib/ (e.g. "cli/args", "atomic-file") as they would appear in a page.
function modules(dir: string, prefix = ''): string[] {
  return readdirSync(dir).flatMap((f) => {
    const full = path.join(dir, f);
    if (statSync(full).isDirectory()) return modules(full, `${prefix}${f}/`);
    return f.endsWith('.ts') && f !== 'index.ts' ? [`${prefix}${f.replace(/\.ts$/, '')}`] : [];
  });
}

const internal = modules(path.join(root, 'lib')).filter((m) => m.includes('/') || m.includes('-'));
const leaks: string[] = [];
const pages = htmlFiles(site);
for (const page of pages) {
  const text = readFileSync(page, 'utf8');
  if (/\blib\/[\w/-]+\.ts\b/.test(text)) leaks.push(`${path.relative(site, page)}: a lib/ source path`);
  for (const m of internal) if (text.includes(`"${m}"`) || text.includes(`>${m}<`)) leaks.push(`${path.relative(site, page)}: module ${m}`);
}
if (leaks.length > 0) {
  console.error(`docs: the site names internal modules:\n  ${leaks.join('\n  ')}`);
  process.exit(1);
}
console.log(`docs: ${pages.length} pages in ${path.relative(root, site)}/ (open index.html)`);
