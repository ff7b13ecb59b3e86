// lowbit's labelled OCR test lines for the PP-OCRv4 text recognizer (DESIGN.md section 6), rendered
// by scripts/render-ocr-lines.sh into this package's data/ocr-lines/: NNNN.png (8-bit grey, black on
// white, 48 px high, cropped to the ink with a few px margin) and labels.tsv (file<TAB>label<TAB>font).
// The PNG decoding lives here, in the CLI: the library (lowbit/ocr) takes grey pixels.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pngjs from 'pngjs';
import { ArgumentError, ShapeError } from 'lowbit';
import { OCR_LINE_HEIGHT, type OcrImage } from 'lowbit/ocr';

export interface OcrLine extends OcrImage {
  /** Image file name inside the data directory, e.g. "0001.png". */
  readonly file: string;
  /** The text the image shows (characters of ppocr_keys_v1.txt and plain spaces). */
  readonly label: string;
  /** Name of the font it was rendered with, e.g. "DejaVuSans". */
  readonly font: string;
}

/** data/ocr-lines/ of this package (src/ and dist/ sit at the same depth). */
export function defaultOcrLinesDir(): string {
  return fileURLToPath(new URL('../data/ocr-lines/', import.meta.url));
}

function readText(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new ArgumentError(`loadOcrLines: cannot read ${what} ${path}: ${(e as Error).message}`);
  }
}

/** Decodes a PNG to 8-bit grey (colour → luma, transparency composited over white). */
export function decodePngGray(bytes: Uint8Array, name = 'PNG'): { width: number; height: number; pixels: Uint8Array } {
  let png: { width: number; height: number; data: Uint8Array };
  try {
    png = pngjs.PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } catch (e) {
    throw new ArgumentError(`decodePngGray: ${name} is not a readable PNG: ${(e as Error).message}`);
  }
  const { width, height, data } = png; // RGBA, 8 bits per channel
  const pixels = new Uint8Array(width * height);
  for (let i = 0, j = 0; i < pixels.length; i++, j += 4) {
    const r = data[j]!;
    const g = data[j + 1]!;
    const b = data[j + 2]!;
    const a = data[j + 3]!;
    const y = r === g && g === b ? r : 0.299 * r + 0.587 * g + 0.114 * b;
    pixels[i] = a === 255 ? Math.round(y) : Math.round((y * a + 255 * (255 - a)) / 255);
  }
  return { width, height, pixels };
}

/**
 * Loads the labelled lines listed in `dir`/labels.tsv (default: the package's data/ocr-lines/).
 * Throws ArgumentError for a missing or malformed file, ShapeError for an image that is not
 * OCR_LINE_HEIGHT px high.
 */
export function loadOcrLines(dir: string | URL = defaultOcrLinesDir()): OcrLine[] {
  if (typeof dir !== 'string' && !(dir instanceof URL)) {
    throw new ArgumentError(`loadOcrLines: dir must be a path or a file: URL, got ${typeof dir}`);
  }
  const root = dir instanceof URL ? fileURLToPath(dir) : dir;
  const tsvPath = join(root, 'labels.tsv');
  const rows = readText(tsvPath, 'labels file').split('\n');
  // Check the whole list first, then read the images.
  const entries: { file: string; label: string; font: string; row: number }[] = [];
  const seen = new Set<string>();
  rows.forEach((text, i) => {
    if (text === '') return;
    const fields = text.split('\t');
    if (fields.length !== 3 || fields.some((f) => f.length === 0)) {
      throw new ArgumentError(
        `loadOcrLines: ${tsvPath} line ${i + 1} must be file<TAB>label<TAB>font, got ${JSON.stringify(text)}`,
      );
    }
    const [file, label, font] = fields as [string, string, string];
    if (seen.has(file)) throw new ArgumentError(`loadOcrLines: ${tsvPath} line ${i + 1} repeats ${file}`);
    seen.add(file);
    entries.push({ file, label, font, row: i + 1 });
  });
  const lines = entries.map(({ file, label, font, row }): OcrLine => {
    const path = join(root, file);
    let bytes: Uint8Array;
    try {
      bytes = readFileSync(path);
    } catch (e) {
      throw new ArgumentError(`loadOcrLines: cannot read image ${path} (${tsvPath} line ${row}): ${(e as Error).message}`);
    }
    const img = decodePngGray(bytes, path);
    if (img.height !== OCR_LINE_HEIGHT) {
      throw new ShapeError(`loadOcrLines: ${path} is ${img.width}×${img.height}, expected a height of ${OCR_LINE_HEIGHT}`);
    }
    return { file, label, font, width: img.width, pixels: img.pixels };
  });
  if (lines.length === 0) throw new ArgumentError(`loadOcrLines: ${tsvPath} lists no lines`);
  return lines;
}

