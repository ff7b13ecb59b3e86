// Every wasm call goes through src/kernels (DESIGN.md §1): outside src/kernels and src/runtime no
// code calls rt.kernels.*, rt.invoke or rt.parallelColumns, or builds a [kernel name, args] call for
// the pool's row splitters. The import rules between the layers are
// checked by `npm run check:deps` (.dependency-cruiser.cjs); this is the one they cannot see.

import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const files = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
const WASM_CALL = /\.kernels\.\w+\s*\(|\.invoke\s*\(\s*\[|\.parallelColumns\s*\(|\[\s*'[a-z0-9]+_[a-z0-9_]+'\s*,\s*\[/;

describe('layering', () => {
  it('only src/kernels (and the runtime itself) call wasm exports', () => {
    const offenders: string[] = [];
    for (const f of files(join(root, 'src'))) {
      const rel = relative(root, f).split('\\').join('/');
      if (rel.startsWith('src/kernels/') || rel.startsWith('src/runtime/')) continue;
      readFileSync(f, 'utf8').split('\n').forEach((line, i) => {
        if (WASM_CALL.test(line) && !line.trimStart().startsWith('//')) offenders.push(`${rel}:${i + 1}: ${line.trim()}`);
      });
    }
    expect(offenders).toEqual([]);
  });
});
