// The PP-OCRv4 text recognizer's input (DESIGN.md section 6) from text-line images given as 8-bit grey
// pixels (decoding an image file is the caller's job: the lowbit CLI decodes its PNG lines).
//
// toModelInput() turns lines into the recognizer's input: N×3×48×W float32, (x/255 − 0.5)/0.5 with the
// grey value replicated to the 3 channels, every line padded on the right to the common width W with
// normalised 0 (mid-grey), not white: a wide white margin makes the model read spaces.

import { ArgumentError, ShapeError, describe } from '../../errors.js';
import type { Tensor } from '../../tensor.js';

/** Height of every line image and of the recognizer's input. */
export const OCR_LINE_HEIGHT = 48;

/** A text line: grey levels 0 (black) … 255 (white), row-major, OCR_LINE_HEIGHT × width. */
export interface OcrImage {
  /** Width in pixels; the height is always OCR_LINE_HEIGHT. */
  readonly width: number;
  readonly pixels: Uint8Array;
}

export type OcrModelInput = Tensor<'float32'> & { readonly dims: [number, number, number, number] };

/**
 * Builds the recognizer input for `lines`: dims [N, 3, 48, W], W = options.width or the widest line,
 * values (x/255 − 0.5)/0.5, each line left-aligned and padded on the right with 0 (mid-grey).
 */
export function toModelInput(lines: readonly OcrImage[], options: { width?: number } = {}): OcrModelInput {
  if (!Array.isArray(lines) || lines.length === 0) {
    throw new ArgumentError(`toModelInput: lines must be a non-empty array, got ${describe(lines)}`);
  }
  let maxWidth = 0;
  lines.forEach((line, i) => {
    const w = line?.width;
    if (!Number.isInteger(w) || w < 1) {
      throw new ShapeError(`toModelInput: lines[${i}].width must be a positive integer, got ${describe(w)}`);
    }
    if (!(line.pixels instanceof Uint8Array)) {
      throw new ArgumentError(`toModelInput: lines[${i}].pixels must be a Uint8Array, got ${describe(line.pixels)}`);
    }
    if (line.pixels.length !== OCR_LINE_HEIGHT * w) {
      throw new ShapeError(
        `toModelInput: lines[${i}].pixels has ${line.pixels.length} values, expected ${OCR_LINE_HEIGHT}×${w} = ${OCR_LINE_HEIGHT * w}`,
      );
    }
    maxWidth = Math.max(maxWidth, w);
  });
  const opts = options ?? {};
  const W = opts.width ?? maxWidth;
  if (!Number.isInteger(W) || W < 1) {
    throw new ArgumentError(`toModelInput: options.width must be a positive integer, got ${describe(opts.width)}`);
  }
  if (W < maxWidth) {
    throw new ShapeError(`toModelInput: options.width ${W} is narrower than the widest line (${maxWidth} px)`);
  }
  const N = lines.length;
  const H = OCR_LINE_HEIGHT;
  const plane = H * W;
  const data = new Float32Array(N * 3 * plane); // zero = mid-grey padding
  lines.forEach((line, n) => {
    const w = line.width;
    const base = n * 3 * plane;
    for (let y = 0; y < H; y++) {
      const src = y * w;
      const dst = base + y * W;
      for (let x = 0; x < w; x++) {
        const v = (line.pixels[src + x]! / 255 - 0.5) / 0.5;
        data[dst + x] = v;
        data[dst + plane + x] = v;
        data[dst + 2 * plane + x] = v;
      }
    }
  });
  return { type: 'float32', data, dims: [N, 3, H, W] };
}
