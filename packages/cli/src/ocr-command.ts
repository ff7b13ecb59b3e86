// `lowbit ocr IMAGE…`: reads PNG pages with the PP-OCR detector, angle classifier and recognizer
// (float32, or int8/auto calibrated on the first pages given) and prints each line's text, box and
// scores, or JSON; --draw writes the page with the boxes drawn.

import { writeFileSync } from 'node:fs';
import { basename, extname } from 'node:path';
import { Command, Option } from 'commander';
import { ArgumentError, createRuntime, type SimdChoice } from 'lowbit';
import type { OcrModel, OcrResult, OcrTimings } from 'lowbit/ocr';
import { drawBoxes } from './ocr-draw.js';
import { readPng } from './ocr-pages.js';
import { OCR_SCHEMES, openOcrReader, type OcrScheme } from './ocr-reader.js';

export interface OcrCommandOptions {
  images: string[];
  scheme: OcrScheme;
  json: boolean;
  draw?: string;
  threads: number;
  simd: SimdChoice;
  /** where lines go (tests capture them) */
  print?: (line: string) => void;
  /** a detector to use instead of lowbit's (tests pass onnxruntime's) */
  det?: OcrModel;
}

/** Where the drawing of `image` goes: `draw` itself for one image, else draw with the image's name inserted. */
export function drawPath(draw: string, image: string, count: number): string {
  if (count === 1) return draw;
  const ext = extname(draw) || '.png';
  return `${draw.slice(0, draw.length - extname(draw).length)}-${basename(image, extname(image))}${ext}`;
}

const fmtBox = (r: OcrResult) => r.box.map(([x, y]) => `${x},${y}`).join(' ');

export async function runOcrCommand(o: OcrCommandOptions): Promise<void> {
  const print = o.print ?? ((s: string) => console.log(s));
  if (!Array.isArray(o.images) || o.images.length === 0) throw new ArgumentError('ocr: give at least one PNG image');
  if (!OCR_SCHEMES.includes(o.scheme)) throw new ArgumentError(`ocr: --scheme must be one of ${OCR_SCHEMES.join(', ')}, got '${o.scheme}'`);
  const pages = o.images.map((file) => ({ file, image: readPng(file) })); // every file is checked before the models load
  const rt = await createRuntime({ threads: o.threads, simd: o.simd });
  let reader: Awaited<ReturnType<typeof openOcrReader>> | null = null;
  try {
    reader = await openOcrReader(rt, o.scheme, { det: o.det, calibration: pages.slice(0, 2).map((p) => p.image) });
    const all: { file: string; lines: OcrResult[]; seconds: number }[] = [];
    for (const { file, image } of pages) {
      const timings = {} as OcrTimings;
      const lines = await reader.ocr.read(image, { timings });
      all.push({ file, lines, seconds: timings.total / 1000 });
      if (o.draw) writeFileSync(drawPath(o.draw, file, pages.length), drawBoxes(image, lines.map((l) => l.box)));
      if (!o.json) {
        print(`${file}: ${lines.length} lines, ${(timings.total / 1000).toFixed(2)} s (detect ${(timings.detect / 1000).toFixed(2)}, classify ${(timings.classify / 1000).toFixed(2)}, recognize ${(timings.recognize / 1000).toFixed(2)}), ${o.scheme}`);
        for (const l of lines) print(`  ${l.score.toFixed(2)} ${l.confidence.toFixed(2)}${l.angle ? ' ↻' : '  '} [${fmtBox(l)}]  ${l.text}`);
      }
    }
    if (o.json) print(JSON.stringify(o.images.length === 1 ? all[0] : all, null, 1));
  } finally {
    reader?.dispose();
    rt.dispose();
  }
}

/** Adds `lowbit ocr` to the program. */
export function addOcrCommand(program: Command): void {
  program
    .command('ocr')
    .argument('<images...>', 'PNG page images')
    .description('read the text of page images: PP-OCRv4 detector + DB boxes, angle classifier, recognizer; prints each line with its box, the box score and the reading confidence')
    .addOption(new Option('--scheme <scheme>', 'weights: float32, int8, or auto (int8 and int4 where harmless); quantized schemes calibrate on the first two images').choices([...OCR_SCHEMES]).default('float32'))
    .option('--json', 'print JSON: per image its lines { text, confidence, box, score, angle } and seconds', false)
    .option('--draw <out.png>', 'write the page with the boxes drawn (several images: out-<image>.png)')
    .option('-t, --threads <t>', 'threads (the main thread included)', (v: string) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1 || n > 64) throw new ArgumentError('--threads must be an integer from 1 to 64');
      return n;
    }, 1)
    .addOption(new Option('--simd <build>', 'wasm build').choices(['auto', 'baseline', 'relaxed']).default('auto'))
    .action(async (images: string[], opts) => runOcrCommand({ images, ...opts }));
}
