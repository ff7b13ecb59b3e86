#!/usr/bin/env node
// What a user downloads: each .wasm build and each package entry's JavaScript (every dist/ module it
// reaches through relative imports), raw and gzip, checked against size-budget.json.
//
//   node scripts/size-report.mjs            the table (markdown), exit 1 if a budget is exceeded
//   node scripts/size-report.mjs --json     the same as JSON
//
// Run after `npm run build`. Bare imports (the dependencies in package.json) are listed, not counted.

import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
const budget = JSON.parse(readFileSync(join(ROOT, 'size-budget.json'), 'utf8'));
const IMPORT = /(?:^|[;\s])(?:import|export)\s*(?:[^'"]*?\sfrom\s*)?['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/gm;

/** Every dist/ module reachable from `entry` by relative specifiers, and the bare specifiers met. */
function reach(entry) {
  const files = new Set(), bare = new Set(), todo = [entry];
  while (todo.length) {
    const f = todo.pop();
    if (files.has(f)) continue;
    files.add(f);
    for (const m of readFileSync(f, 'utf8').matchAll(IMPORT)) {
      const spec = m[1] ?? m[2];
      if (spec.includes('${')) continue; // a message's text, not an import
      if (spec.startsWith('.')) todo.push(resolve(dirname(f), spec));
      else if (!spec.startsWith('node:')) bare.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]);
    }
  }
  return { files: [...files], bare: [...bare].sort() };
}

const sizes = (buffers) => ({ raw: buffers.reduce((s, b) => s + b.length, 0), gzip: buffers.reduce((s, b) => s + gzipSync(b, { level: 9 }).length, 0) });
const rows = [];
for (const file of pkg.files.filter((f) => f.endsWith('*.wasm')).flatMap(() => ['baseline', 'relaxed', 'baseline-mt', 'relaxed-mt'].map((b) => `build/${b}.wasm`))) {
  rows.push({ name: file, ...sizes([readFileSync(join(ROOT, file))]) });
}
for (const [sub, target] of Object.entries(pkg.exports)) {
  const js = typeof target === 'string' ? null : target.default;
  if (!js?.endsWith('.js')) continue;
  const { files, bare } = reach(join(ROOT, js));
  rows.push({ name: `${sub === '.' ? 'lowbit' : `lowbit/${sub.slice(2)}`} (JS, ${files.length} modules)`, key: sub, ...sizes(files.map((f) => readFileSync(f))), deps: bare });
}

let over = 0;
for (const r of rows) {
  const limit = budget[r.key ?? r.name];
  r.budgetGzip = limit ?? null;
  if (limit === undefined) {
    console.error(`size-budget.json has no budget for ${r.key ?? r.name}`);
    over++;
  } else if (r.gzip > limit) {
    console.error(`${r.name}: ${r.gzip} bytes gzip, over its budget of ${limit}`);
    over++;
  }
}
const kib = (b) => (b / 1024).toFixed(1);
if (process.argv.includes('--json')) console.log(JSON.stringify(rows, null, 2));
else {
  console.log('| file | raw KiB | gzip KiB | gzip budget KiB | dependencies it imports |');
  console.log('|---|---|---|---|---|');
  for (const r of rows) console.log(`| ${r.name} | ${kib(r.raw)} | ${kib(r.gzip)} | ${r.budgetGzip === null ? '—' : kib(r.budgetGzip)} | ${r.deps?.join(', ') ?? ''} |`);
}
process.exitCode = over ? 1 : 0;
