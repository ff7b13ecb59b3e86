// The text-line angle classifier (PaddleOCR's ch_ppocr_mobile_v2.0_cls): input N×3×48×192, each
// line resized to 48 px high and at most 192 px wide, (x/255 − 0.5)/0.5, padded on the right with 0;
// output N×2 probabilities of [0°, 180°]. A line read as 180° with probability > thresh is turned.

import { ArgumentError, ShapeError, describe } from '../../errors.js';
import { OCR_LINE_HEIGHT, type OcrImage } from './input.js';

export const CLS_WIDTH = 192;

/** Squeezes a line horizontally to `to` px (bilinear, half-pixel centres). */
function squeeze(line: OcrImage, to: number): OcrImage {
  const from = line.width;
  const pixels = new Uint8Array(to * OCR_LINE_HEIGHT);
  for (let x = 0; x < to; x++) {
    const s = Math.min(Math.max((x + 0.5) * (from / to) - 0.5, 0), from - 1);
    const a = Math.floor(s), b = Math.min(a + 1, from - 1), f = s - a;
    for (let y = 0; y < OCR_LINE_HEIGHT; y++) {
      const row = y * from;
      pixels[y * to + x] = Math.round(line.pixels[row + a]! + (line.pixels[row + b]! - line.pixels[row + a]!) * f);
    }
  }
  return { width: to, pixels };
}

/** The classifier's input for `lines`: [N, 3, 48, 192]. */
export function clsInput(lines: readonly OcrImage[]): { type: 'float32'; data: Float32Array; dims: [number, 3, number, number] } {
  if (!Array.isArray(lines) || lines.length === 0) throw new ArgumentError(`clsInput: lines must be a non-empty array, got ${describe(lines)}`);
  const H = OCR_LINE_HEIGHT, W = CLS_WIDTH, plane = H * W;
  const data = new Float32Array(lines.length * 3 * plane);
  lines.forEach((l, n) => {
    if (!(l?.pixels instanceof Uint8Array) || l.pixels.length !== H * l.width) throw new ShapeError(`clsInput: lines[${n}] must be ${H} px high with width × ${H} pixels`);
    const line = l.width > W ? squeeze(l, W) : l;
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < line.width; x++) {
        const v = (line.pixels[y * line.width + x]! / 255 - 0.5) / 0.5;
        const i = n * 3 * plane + y * W + x;
        data[i] = v;
        data[i + plane] = v;
        data[i + 2 * plane] = v;
      }
    }
  });
  return { type: 'float32', data, dims: [lines.length, 3, H, W] };
}

/** Which lines are upside down: label 180° with probability above `thresh` (PaddleOCR: 0.9). */
export function upsideDown(probs: Float32Array, dims: readonly number[], thresh = 0.9): boolean[] {
  if (dims.length !== 2 || dims[1] !== 2 || probs.length !== dims[0]! * 2) {
    throw new ShapeError(`upsideDown: the classifier's output must be [N, 2], got dims ${describe(dims)} with ${probs.length} values`);
  }
  const out: boolean[] = [];
  for (let n = 0; n < dims[0]!; n++) out.push(probs[2 * n + 1]! > probs[2 * n]! && probs[2 * n + 1]! > thresh);
  return out;
}
