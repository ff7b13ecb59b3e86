// The calibration/test split of the labelled lines that the demo and bench/accuracy.mjs use: every
// font is in both parts (the labels file rotates fonts line by line, so "every k-th line" would
// calibrate on one font), and no line is in both.

import { ArgumentError } from 'lowbit';
import type { OcrLine } from './ocr-lines.js';

export interface OcrSplit {
  /** lines to calibrate quantization on */
  calibration: OcrLine[];
  /** lines to measure on: never seen by calibration */
  test: OcrLine[];
}

/** Per font, that font's every `every`-th line calibrates (its 1st, (every+1)-th, ...), the rest test. */
export function splitOcrLines(lines: readonly OcrLine[], every = 4): OcrSplit {
  if (!Number.isInteger(every) || every < 2) throw new ArgumentError(`splitOcrLines: every must be an integer >= 2, got ${every}`);
  const seen = new Map<string, number>();
  const calibration: OcrLine[] = [], test: OcrLine[] = [];
  for (const line of lines) {
    const j = seen.get(line.font) ?? 0;
    seen.set(line.font, j + 1);
    (j % every === 0 ? calibration : test).push(line);
  }
  return { calibration, test };
}
