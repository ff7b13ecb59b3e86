// Draws OCR boxes onto a copy of the page (RGBA) and encodes it as PNG: `lowbit ocr --draw`.

import pngjs from 'pngjs';
import type { OcrPageImage, Quad } from 'lowbit/ocr';
import { greyPixels } from 'lowbit/ocr';

/** The page as RGBA bytes (grey and RGB expanded, alpha kept). */
function toRgba(image: OcrPageImage): Uint8Array {
  const n = image.width * image.height;
  if (image.pixels.length === 4 * n) return Uint8Array.from(image.pixels);
  const grey = image.pixels.length === n ? image.pixels : null;
  const out = new Uint8Array(4 * n);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < 3; c++) out[4 * i + c] = grey ? grey[i]! : image.pixels[3 * i + c]!;
    out[4 * i + 3] = 255;
  }
  return out;
}

/** A PNG of `image` with each box outlined (2 px, red for read lines). */
export function drawBoxes(image: OcrPageImage, boxes: readonly Quad[], colour: [number, number, number] = [230, 30, 30]): Buffer {
  greyPixels(image); // validates the image
  const { width, height } = image;
  const rgba = toRgba(image);
  const plot = (x: number, y: number) => {
    for (let dy = 0; dy < 2; dy++) for (let dx = 0; dx < 2; dx++) {
      const X = Math.round(x) + dx, Y = Math.round(y) + dy;
      if (X < 0 || Y < 0 || X >= width || Y >= height) continue;
      const i = 4 * (Y * width + X);
      rgba[i] = colour[0]; rgba[i + 1] = colour[1]; rgba[i + 2] = colour[2]; rgba[i + 3] = 255;
    }
  };
  for (const box of boxes) {
    for (let k = 0; k < 4; k++) {
      const [x0, y0] = box[k]!, [x1, y1] = box[(k + 1) % 4]!;
      const steps = Math.max(1, Math.ceil(Math.hypot(x1 - x0, y1 - y0)));
      for (let s = 0; s <= steps; s++) plot(x0 + ((x1 - x0) * s) / steps, y0 + ((y1 - y0) * s) / steps);
    }
  }
  const png = new pngjs.PNG({ width, height });
  png.data = Buffer.from(rgba.buffer, rgba.byteOffset, rgba.byteLength);
  return pngjs.PNG.sync.write(png);
}
