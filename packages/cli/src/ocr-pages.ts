// lowbit's OCR test pages (rendered by scripts/render-ocr-pages.mjs into data/ocr-pages/): the
// page images and their ground truth (pages.json: per page the text and box of every line), and
// the PNG reader the `lowbit ocr` command uses.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pngjs from 'pngjs';
import { ArgumentError } from 'lowbit';
import type { OcrPageImage, Quad } from 'lowbit/ocr';

export interface TruthLine {
  text: string;
  box: Quad;
  font: string;
  size: number;
}

export interface OcrPage {
  file: string;
  layout: string;
  transform: string;
  image: OcrPageImage & { pixels: Uint8Array };
  lines: TruthLine[];
}

/** data/ocr-pages/ of this package (src/ and dist/ sit at the same depth). */
export function defaultOcrPagesDir(): string {
  return fileURLToPath(new URL('../data/ocr-pages/', import.meta.url));
}

/** Reads a PNG file as RGBA pixels (pngjs expands grey and palette images). */
export function readPng(path: string): OcrPageImage & { pixels: Uint8Array } {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new ArgumentError(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  try {
    const png = pngjs.PNG.sync.read(bytes);
    return { width: png.width, height: png.height, pixels: new Uint8Array(png.data.buffer, png.data.byteOffset, png.data.byteLength) };
  } catch (e) {
    throw new ArgumentError(`${path} is not a readable PNG image: ${(e as Error).message}`);
  }
}

/** The pages listed in `dir`/pages.json (default: the package's data/ocr-pages/), the first `limit` of them. */
export function loadOcrPages(dir = defaultOcrPagesDir(), limit = Infinity): OcrPage[] {
  let json: { pages?: { file: string; layout: string; transform: string; lines: TruthLine[] }[] };
  try {
    json = JSON.parse(readFileSync(join(dir, 'pages.json'), 'utf8'));
  } catch (e) {
    throw new ArgumentError(`loadOcrPages: cannot read ${join(dir, 'pages.json')}: ${(e as Error).message}`);
  }
  if (!Array.isArray(json.pages)) throw new ArgumentError(`loadOcrPages: ${join(dir, 'pages.json')} has no "pages" list`);
  return json.pages.slice(0, limit).map((p) => ({ file: p.file, layout: p.layout, transform: p.transform, lines: p.lines, image: readPng(join(dir, p.file)) }));
}
