// The fuzzer's committed corpus (test/fuzz/corpus/): inputs it found that once crashed or ran wrong,
// each replayed by test/fuzz-corpus.test.ts. A file's directory is its target (onnx, safetensors,
// saved); an onnx file's name starts with the seed whose inputs it runs on (a .json one holds the
// mutations of a real model's seed that make it).

import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { applyModel, type ModelMutation } from './mutate.js';
import { seedOf, type Seed } from './seeds.js';

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

/**
 * Saves an input under target/, named by its prefix and content hash; returns the path. A mutant of
 * a real model (a seed named real-…, hundreds of KiB) is saved as its mutations instead, a .json
 * file that corpusOnnx() applies to the installed model again.
 */
export function saveToCorpus(target: Target, prefix: string, bytes: Uint8Array, mutations?: readonly ModelMutation[]): string {
  mkdirSync(join(CORPUS_DIR, target), { recursive: true });
  const stem = join(CORPUS_DIR, target, `${prefix}-${createHash('sha256').update(bytes).digest('hex').slice(0, 12)}`);
  if (mutations && prefix.startsWith('real-')) {
    writeFileSync(`${stem}.json`, `${JSON.stringify({ mutations })}\n`);
    return `${stem}.json`;
  }
  writeFileSync(`${stem}.bin`, bytes);
  return `${stem}.bin`;
}

/**
 * The ONNX inputs of the corpus with the seed each runs on (the seed its name starts with): .bin
 * files as they are, .json ones as their mutations of the seed. Real models that are not installed
 * leave their entries out.
 */
export function corpusOnnx(): { name: string; bytes: Uint8Array; seed: Seed | undefined }[] {
  return corpusFiles('onnx').flatMap(({ name, bytes }) => {
    const seed = seedOf(name);
    if (!name.endsWith('.json')) return [{ name, bytes, seed }];
    if (!seed) return name.startsWith('real-') ? [] : [{ name, bytes, seed }];
    const { mutations } = JSON.parse(new TextDecoder().decode(bytes)) as { mutations: ModelMutation[] };
    return [{ name, bytes: applyModel(seed.bytes, mutations), seed }];
  });
}
