// Images in the page: a dropped file (or a fetched sample) decoded by the browser, composited over
// white, as RGBA pixels; and a text line scaled to the recognizer's 48 px height as grey pixels.
import { OCR_LINE_HEIGHT, greyPixels } from 'lowbit/ocr';

/** Draws `source` (ImageBitmap) at width × height on a white canvas and returns its RGBA pixels. */
function pixelsOf(source, width, height) {
  const canvas = new OffscreenCanvas(width, height);
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  ctx.fillStyle = '#fff'; // transparency over white, as the CLI's PNG reader does
  ctx.fillRect(0, 0, width, height);
  ctx.imageSmoothingQuality = 'high';
  ctx.drawImage(source, 0, 0, width, height);
  return ctx.getImageData(0, 0, width, height).data;
}

/** Decodes an image file or blob: { width, height, pixels (RGBA), bitmap }. */
export async function decodeImage(blob) {
  const bitmap = await createImageBitmap(blob);
  return { width: bitmap.width, height: bitmap.height, pixels: pixelsOf(bitmap, bitmap.width, bitmap.height), bitmap };
}

/**
 * A text line rather than a page: short, or much wider than high. Lines cut from pages are 30–100
 * px high; a page is many lines high.
 */
export const looksLikeLine = (image) => image.height <= 120 || image.width / image.height >= 6;

/** The image as one recognizer line: scaled to 48 px high (kept as it is when it already is), grey. */
export function lineImage(image) {
  const h = OCR_LINE_HEIGHT;
  const width = Math.max(1, Math.round((image.width * h) / image.height));
  const rgba = image.height === h ? image.pixels : pixelsOf(image.bitmap, width, h);
  return { width, pixels: greyPixels({ width, height: h, pixels: rgba }) };
}
