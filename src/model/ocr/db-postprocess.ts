// DB post-processing (Differentiable Binarization; what PaddleOCR's DBPostProcess does in its 'quad'
// mode): the detector's text-probability map → text boxes in page coordinates with scores.
//
//   binarize (p > thresh) → 8-connected regions → min-area rectangle of each → box score = mean
//   probability inside it (drop < boxThresh) → unclip: grow the box by area·ratio/perimeter with
//   clipper-lib's round-joined polygon offset → min-area rectangle again → scale to the page → drop
//   boxes with a side ≤ 3 px → reading order.

import ClipperLib from 'clipper-lib';
import { ArgumentError, ShapeError, describe } from '../../errors.js';
import { minAreaRect, orderBox, polygonArea, polygonPerimeter, sortBoxes, type Point, type Quad } from './geometry.js';

export interface DbOptions {
  /** probability above which a pixel is text (PaddleOCR: det_db_thresh 0.3) */
  thresh?: number;
  /** minimum mean probability inside a box (det_db_box_thresh 0.6) */
  boxThresh?: number;
  /** how far to grow a box, relative to area/perimeter (det_db_unclip_ratio 1.5) */
  unclipRatio?: number;
  /** at most this many regions are looked at (max_candidates 1000) */
  maxCandidates?: number;
}

export interface DetectedBox {
  /** corners in page pixels: top-left, top-right, bottom-right, bottom-left */
  box: Quad;
  /** mean text probability inside the box before unclipping */
  score: number;
}

const MIN_SIZE = 3;

/** The pixels of each 8-connected region of `mask` as hull candidates: each row's first and last pixel. */
export function regionOutlines(mask: Uint8Array, width: number, height: number, maxRegions = Infinity): Point[][] {
  const label = new Int32Array(width * height);
  const stack = new Int32Array(width * height);
  const regions: Point[][] = [];
  for (let start = 0; start < mask.length && regions.length < maxRegions; start++) {
    if (!mask[start] || label[start]) continue;
    const id = regions.length + 1;
    const rowMin = new Map<number, number>(), rowMax = new Map<number, number>();
    let top = 0;
    stack[top++] = start;
    label[start] = id;
    while (top > 0) {
      const i = stack[--top]!;
      const x = i % width, y = (i - x) / width;
      if (!(rowMin.get(y)! <= x)) rowMin.set(y, x);
      if (!(rowMax.get(y)! >= x)) rowMax.set(y, x);
      for (let dy = -1; dy <= 1; dy++) {
        const yy = y + dy;
        if (yy < 0 || yy >= height) continue;
        for (let dx = -1; dx <= 1; dx++) {
          const xx = x + dx;
          if (xx < 0 || xx >= width) continue;
          const j = yy * width + xx;
          if (mask[j] && !label[j]) {
            label[j] = id;
            stack[top++] = j;
          }
        }
      }
    }
    const pts: Point[] = [];
    for (const [y, x0] of rowMin) pts.push([x0, y], [rowMax.get(y)!, y]);
    regions.push(pts);
  }
  return regions;
}

/** Mean of `prob` over the pixels inside `box` (PaddleOCR's box_score_fast: corners truncated to integers). */
export function boxScore(prob: Float32Array, width: number, height: number, box: readonly Point[]): number {
  const pts = box.map(([x, y]): Point => [Math.trunc(x), Math.trunc(y)]);
  const clampI = (v: number, hi: number) => Math.min(Math.max(v, 0), hi);
  const xmin = clampI(Math.floor(Math.min(...box.map((p) => p[0]))), width - 1), xmax = clampI(Math.ceil(Math.max(...box.map((p) => p[0]))), width - 1);
  const ymin = clampI(Math.floor(Math.min(...box.map((p) => p[1]))), height - 1), ymax = clampI(Math.ceil(Math.max(...box.map((p) => p[1]))), height - 1);
  // inside or on the edge of the convex polygon, whichever way it turns
  let turn = 0;
  for (let i = 0; i < pts.length && turn === 0; i++) {
    const a = pts[i]!, b = pts[(i + 1) % pts.length]!, c = pts[(i + 2) % pts.length]!;
    turn = Math.sign((b[0] - a[0]) * (c[1] - b[1]) - (b[1] - a[1]) * (c[0] - b[0]));
  }
  const inside = (x: number, y: number) => pts.every((a, i) => {
    const b = pts[(i + 1) % pts.length]!;
    return (turn || 1) * ((b[0] - a[0]) * (y - a[1]) - (b[1] - a[1]) * (x - a[0])) >= 0;
  });
  let sum = 0, n = 0;
  for (let y = ymin; y <= ymax; y++) {
    for (let x = xmin; x <= xmax; x++) {
      if (turn !== 0 && !inside(x, y)) continue;
      sum += prob[y * width + x]!;
      n++;
    }
  }
  return n > 0 ? sum / n : 0;
}

/** Grows `box` by area·ratio/perimeter with clipper-lib's offset (round joins), as PaddleOCR's unclip. */
export function unclip(box: readonly Point[], ratio: number): Point[] {
  const distance = (polygonArea(box) * ratio) / polygonPerimeter(box);
  const offset = new ClipperLib.ClipperOffset();
  offset.AddPath(box.map(([x, y]) => ({ X: Math.round(x), Y: Math.round(y) })), ClipperLib.JoinType.jtRound, ClipperLib.EndType.etClosedPolygon);
  const solution: ClipperLib.Paths = [];
  offset.Execute(solution, distance);
  return solution.flat().map((p): Point => [p.X, p.Y]);
}

function option(value: number | undefined, fallback: number, name: string, lo: number, hi: number): number {
  const v = value ?? fallback;
  if (typeof v !== 'number' || !(v >= lo && v <= hi)) throw new ArgumentError(`dbPostprocess: options.${name} must be a number in [${lo}, ${hi}], got ${describe(value)}`);
  return v;
}

/**
 * Boxes of the text regions in a width × height probability map, in the coordinates of a
 * pageWidth × pageHeight page (the map was computed on the page resized to width × height).
 */
export function dbPostprocess(
  prob: Float32Array, width: number, height: number, pageWidth: number, pageHeight: number, options: DbOptions = {},
): DetectedBox[] {
  if (!(prob instanceof Float32Array)) throw new ArgumentError(`dbPostprocess: prob must be a Float32Array, got ${describe(prob)}`);
  for (const [name, v] of [['width', width], ['height', height], ['pageWidth', pageWidth], ['pageHeight', pageHeight]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new ShapeError(`dbPostprocess: ${name} must be a positive integer, got ${describe(v)}`);
  }
  if (prob.length !== width * height) throw new ShapeError(`dbPostprocess: prob has ${prob.length} values, ${width}×${height} needs ${width * height}`);
  const o = options ?? {};
  const thresh = option(o.thresh, 0.3, 'thresh', 0, 1);
  const boxThresh = option(o.boxThresh, 0.6, 'boxThresh', 0, 1);
  const unclipRatio = option(o.unclipRatio, 1.5, 'unclipRatio', 0, 100);
  const maxCandidates = option(o.maxCandidates, 1000, 'maxCandidates', 1, 1e7);

  const mask = new Uint8Array(prob.length);
  for (let i = 0; i < prob.length; i++) mask[i] = prob[i]! > thresh ? 1 : 0;
  const out: DetectedBox[] = [];
  for (const region of regionOutlines(mask, width, height, maxCandidates)) {
    const rect = minAreaRect(region);
    if (Math.min(rect.width, rect.height) < MIN_SIZE) continue;
    const box = orderBox(rect.corners);
    const score = boxScore(prob, width, height, box);
    if (score < boxThresh) continue;
    const grown = unclip(box, unclipRatio);
    if (grown.length === 0) continue;
    const rect2 = minAreaRect(grown);
    if (Math.min(rect2.width, rect2.height) < MIN_SIZE + 2) continue;
    const scaled = orderBox(rect2.corners).map(([x, y]): Point => [
      Math.min(Math.max(Math.round((x / width) * pageWidth), 0), pageWidth - 1),
      Math.min(Math.max(Math.round((y / height) * pageHeight), 0), pageHeight - 1),
    ]) as Quad;
    // PaddleOCR's filter_tag_det_res: sides of at most 3 px are noise
    if (Math.trunc(Math.hypot(scaled[0][0] - scaled[1][0], scaled[0][1] - scaled[1][1])) <= MIN_SIZE) continue;
    if (Math.trunc(Math.hypot(scaled[0][0] - scaled[3][0], scaled[0][1] - scaled[3][1])) <= MIN_SIZE) continue;
    out.push({ box: scaled, score });
  }
  return sortBoxes(out);
}
