// A page image for the OCR pipeline: 8-bit pixels, grey, RGB or RGBA (the channel count follows
// from the pixel count), row-major. Decoding an image file is the caller's job.

import { ArgumentError, ShapeError, describe } from '../../errors.js';

export interface OcrPageImage {
  readonly width: number;
  readonly height: number;
  /** width × height × channels bytes: 1 (grey), 3 (RGB) or 4 (RGBA, composited over white). */
  readonly pixels: Uint8Array | Uint8ClampedArray;
}

/** Channels per pixel of `image` (1, 3 or 4); throws a ShapeError/ArgumentError naming `what`. */
export function pageChannels(image: OcrPageImage, what = 'image'): 1 | 3 | 4 {
  if (!image || typeof image !== 'object') throw new ArgumentError(`${what} must be { width, height, pixels }, got ${describe(image)}`);
  const { width, height, pixels } = image;
  if (!Number.isInteger(width) || width < 1 || !Number.isInteger(height) || height < 1) {
    throw new ShapeError(`${what}.width and .height must be positive integers, got ${describe(width)} × ${describe(height)}`);
  }
  if (!(pixels instanceof Uint8Array) && !(pixels instanceof Uint8ClampedArray)) {
    throw new ArgumentError(`${what}.pixels must be a Uint8Array, got ${describe(pixels)}`);
  }
  const c = pixels.length / (width * height);
  if (c !== 1 && c !== 3 && c !== 4) {
    throw new ShapeError(`${what}.pixels has ${pixels.length} bytes; ${width}×${height} needs ${width * height} (grey), ${3 * width * height} (RGB) or ${4 * width * height} (RGBA)`);
  }
  return c;
}

/** Blue, green and red planes (the order PaddleOCR's models were trained on: OpenCV reads BGR). */
export function bgrPlanes(image: OcrPageImage): [Uint8Array, Uint8Array, Uint8Array] {
  const c = pageChannels(image);
  const n = image.width * image.height;
  const px = image.pixels;
  if (c === 1) {
    const g = Uint8Array.from(px);
    return [g, g, g];
  }
  const b = new Uint8Array(n), g = new Uint8Array(n), r = new Uint8Array(n);
  for (let i = 0, j = 0; i < n; i++, j += c) {
    const a = c === 4 ? px[j + 3]! : 255;
    // transparency composited over white, as the CLI's PNG decoder does
    r[i] = Math.round((px[j]! * a + 255 * (255 - a)) / 255);
    g[i] = Math.round((px[j + 1]! * a + 255 * (255 - a)) / 255);
    b[i] = Math.round((px[j + 2]! * a + 255 * (255 - a)) / 255);
  }
  return [b, g, r];
}

/** Grey levels (luma 0.299 R + 0.587 G + 0.114 B) of `image`. */
export function greyPixels(image: OcrPageImage): Uint8Array {
  const c = pageChannels(image);
  if (c === 1) return Uint8Array.from(image.pixels);
  const [b, g, r] = bgrPlanes(image);
  const out = new Uint8Array(b.length);
  for (let i = 0; i < out.length; i++) out[i] = r[i] === g[i] && g[i] === b[i] ? r[i]! : Math.round(0.299 * r[i]! + 0.587 * g[i]! + 0.114 * b[i]!);
  return out;
}
