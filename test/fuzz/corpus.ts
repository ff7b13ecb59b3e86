// The fuzzer's committed corpus (test/fuzz/corpus/): inputs it found that once crashed or ran wrong,
// each replayed by test/fuzz-corpus.test.ts. A file's directory is its target (onnx, safetensors,
// saved); an onnx file's name starts with the seed whose inputs it runs on.

import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const CORPUS_DIR = fileURLToPath(new URL('./corpus/', import.meta.url));
export type Target = 'onnx' | 'safetensors' | 'saved';

export function corpusFiles(target: Target): { name: string; bytes: Uint8Array }[] {
  let names: string[] = [];
  try {
    names = readdirSync(join(CORPUS_DIR, target)).sort();
  } catch {
    return [];
  }
  return names.map((name) => ({ name, bytes: new Uint8Array(readFileSync(join(CORPUS_DIR, target, name))) }));
}

/** Saves an input under target/, named by its prefix and content hash; returns the path. */
export function saveToCorpus(target: Target, prefix: string, bytes: Uint8Array): string {
  mkdirSync(join(CORPUS_DIR, target), { recursive: true });
  const path = join(CORPUS_DIR, target, `${prefix}-${createHash('sha256').update(bytes).digest('hex').slice(0, 12)}.bin`);
  writeFileSync(path, bytes);
  return path;
}
