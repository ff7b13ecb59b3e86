// Cuts a text box out of a page as a recognizer line: the box's quad warped (perspective, bilinear,
// edges replicated) straight to a 48 px high line (PaddleOCR's get_rotate_crop_image followed by the
// recognizer's resize, done in one resampling). A box at least 1.5 times as tall as wide is
// vertical text: it is turned a quarter counter-clockwise, as PaddleOCR does.

import { ArgumentError, describe } from '../../errors.js';
import type { Point, Quad } from './geometry.js';
import { OCR_LINE_HEIGHT, type OcrImage } from './input.js';

const dist = (a: Point, b: Point) => Math.hypot(a[0] - b[0], a[1] - b[1]);

/** Solves the 8×8 system for the homography taking `from[i]` to `to[i]` (h33 = 1). */
export function homography(from: readonly Point[], to: readonly Point[]): Float64Array {
  const A: number[][] = [];
  for (let i = 0; i < 4; i++) {
    const [x, y] = from[i]!, [u, v] = to[i]!;
    A.push([x, y, 1, 0, 0, 0, -u * x, -u * y, u]);
    A.push([0, 0, 0, x, y, 1, -v * x, -v * y, v]);
  }
  for (let c = 0; c < 8; c++) { // Gaussian elimination with partial pivoting
    let p = c;
    for (let r = c + 1; r < 8; r++) if (Math.abs(A[r]![c]!) > Math.abs(A[p]![c]!)) p = r;
    [A[c], A[p]] = [A[p]!, A[c]!];
    const d = A[c]![c]!;
    if (Math.abs(d) < 1e-12) throw new ArgumentError(`homography: the four points ${describe(from.map((q) => `(${q})`))} are degenerate`);
    for (let r = 0; r < 8; r++) {
      if (r === c) continue;
      const f = A[r]![c]! / d;
      for (let k = c; k < 9; k++) A[r]![k]! -= f * A[c]![k]!;
    }
  }
  const h = new Float64Array(9);
  for (let i = 0; i < 8; i++) h[i] = A[i]![8]! / A[i]![i]!;
  h[8] = 1;
  return h;
}

/** Width and height of the box as PaddleOCR measures them (the longer of each pair of sides). */
export function boxSize(box: Quad): { width: number; height: number } {
  return {
    width: Math.max(dist(box[0], box[1]), dist(box[2], box[3])),
    height: Math.max(dist(box[0], box[3]), dist(box[1], box[2])),
  };
}

/** `box` grown on every side by `margin` times its height, along its own sides. */
export function growBox(box: Quad, margin: number): Quad {
  if (margin === 0) return box;
  const { width: bw, height: bh } = boxSize(box);
  const short = Math.min(bw, bh);
  const m = margin * short;
  const unit = (a: Point, b: Point): Point => {
    const d = dist(a, b) || 1;
    return [(b[0] - a[0]) / d, (b[1] - a[1]) / d];
  };
  const u = unit(box[0], box[1]), v = unit(box[0], box[3]);
  const at = (p: Point, su: number, sv: number): Point => [p[0] + m * (su * u[0] + sv * v[0]), p[1] + m * (su * u[1] + sv * v[1])];
  return [at(box[0], -1, -1), at(box[1], 1, -1), at(box[2], 1, 1), at(box[3], -1, 1)];
}

/**
 * The text line inside `box` of a grey page (width × height bytes), 48 px high, its width keeping
 * the box's aspect ratio (rounded up, at least 1 px). `margin` grows the box first on every side by
 * that fraction of its shorter side.
 */
export function cropLine(grey: Uint8Array, width: number, height: number, box: Quad, margin = 0): OcrImage {
  if (grey.length !== width * height) throw new ArgumentError(`cropLine: grey has ${grey.length} bytes, ${width}×${height} needs ${width * height}`);
  if (!(margin >= 0 && margin <= 1)) throw new ArgumentError(`cropLine: margin must be in [0, 1], got ${describe(margin)}`);
  box = growBox(box, margin);
  let quad = box;
  let { width: bw, height: bh } = boxSize(box);
  if (!(bw >= 1 && bh >= 1)) throw new ArgumentError(`cropLine: box ${describe(box.map((q) => `(${q})`))} has no area`);
  if (bh / bw >= 1.5) { // vertical: the top-right corner becomes the top-left
    quad = [box[1], box[2], box[3], box[0]];
    [bw, bh] = [bh, bw];
  }
  const H = OCR_LINE_HEIGHT;
  const W = Math.max(1, Math.ceil((H * bw) / bh));
  const h = homography([[0, 0], [W, 0], [W, H], [0, H]], quad);
  const pixels = new Uint8Array(W * H);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const X = x + 0.5, Y = y + 0.5; // pixel centres; page pixel i covers [i, i + 1)
      const w = h[6]! * X + h[7]! * Y + h[8]!;
      const u = Math.min(Math.max((h[0]! * X + h[1]! * Y + h[2]!) / w - 0.5, 0), width - 1);
      const v = Math.min(Math.max((h[3]! * X + h[4]! * Y + h[5]!) / w - 0.5, 0), height - 1);
      const x0 = Math.floor(u), y0 = Math.floor(v);
      const x1 = Math.min(x0 + 1, width - 1), y1 = Math.min(y0 + 1, height - 1);
      const fx = u - x0, fy = v - y0;
      const top = grey[y0 * width + x0]! + (grey[y0 * width + x1]! - grey[y0 * width + x0]!) * fx;
      const bottom = grey[y1 * width + x0]! + (grey[y1 * width + x1]! - grey[y1 * width + x0]!) * fx;
      pixels[y * W + x] = Math.round(top + (bottom - top) * fy);
    }
  }
  return { width: W, pixels };
}

/** The line turned 180° (what the angle classifier asks for upside-down text). */
export function rotateLine180(line: OcrImage): OcrImage {
  return { width: line.width, pixels: line.pixels.slice().reverse() };
}
