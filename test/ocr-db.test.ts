// The OCR pipeline's pure parts: geometry, DB post-processing (on synthetic probability maps with
// known answers, and on the real detector's map of a rendered page computed by onnxruntime-node),
// the detector's input size, line crops, the classifier's input, batching and page scores.

import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { ArgumentError, ShapeError } from '../src/index.js';
import {
  boxScore, clsInput, cropLine, dbPostprocess, detInput, detInputSize, lineBatches, matchBoxes, minAreaRect, orderBox, polygonArea,
  quadIoU, rotateLine180, scorePage, sortBoxes, unclip, upsideDown, type Quad,
} from '../src/ocr.js';
import { ocrModelAsset } from '../packages/cli/src/ocr-assets.js';
import { loadOcrPages } from '../packages/cli/src/ocr-pages.js';

/** A probability map with value `p` inside each axis-aligned rectangle [x0, y0, x1, y1) (else 0.01). */
function probMap(w: number, h: number, rects: [number, number, number, number, number][]): Float32Array {
  const m = new Float32Array(w * h).fill(0.01);
  for (const [x0, y0, x1, y1, p] of rects) for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) m[y * w + x] = p;
  return m;
}

const boxW = (b: Quad) => Math.hypot(b[1][0] - b[0][0], b[1][1] - b[0][1]);
const boxH = (b: Quad) => Math.hypot(b[3][0] - b[0][0], b[3][1] - b[0][1]);

describe('geometry', () => {
  it('minAreaRect finds a rotated rectangle, orderBox gives PaddleOCR\'s corner order', () => {
    const a = (20 * Math.PI) / 180;
    const pts: [number, number][] = [];
    for (let u = 0; u <= 60; u += 2) for (let v = 0; v <= 10; v += 2) pts.push([100 + u * Math.cos(a) - v * Math.sin(a), 50 + u * Math.sin(a) + v * Math.cos(a)]);
    const r = minAreaRect(pts);
    expect(Math.max(r.width, r.height)).toBeCloseTo(60, 6);
    expect(Math.min(r.width, r.height)).toBeCloseTo(10, 6);
    const b = orderBox(r.corners);
    // of the two leftmost corners (96.6, 59.4) and (100, 50) the top-left has the smaller y
    expect(b[0][0]).toBeCloseTo(100, 6);
    expect(b[0][1]).toBeCloseTo(50, 6);
    expect(b[1][0]).toBeCloseTo(100 + 60 * Math.cos(a), 6);
    expect(b[3][0]).toBeCloseTo(100 - 10 * Math.sin(a), 6);
    expect(polygonArea(b)).toBeCloseTo(600, 4);
  });

  it('minAreaRect of one point or a segment has no area', () => {
    expect(minAreaRect([[3, 4]]).width * minAreaRect([[3, 4]]).height).toBe(0);
    expect(Math.min(minAreaRect([[0, 0], [5, 5], [10, 10]]).width, minAreaRect([[0, 0], [5, 5], [10, 10]]).height)).toBeCloseTo(0, 9);
  });

  it('quadIoU: identical 1, disjoint 0, half-shifted 1/3, either orientation', () => {
    const q: Quad = [[0, 0], [10, 0], [10, 10], [0, 10]];
    expect(quadIoU(q, q)).toBeCloseTo(1, 12);
    expect(quadIoU(q, [[20, 0], [30, 0], [30, 10], [20, 10]])).toBe(0);
    expect(quadIoU(q, [[5, 0], [15, 0], [15, 10], [5, 10]])).toBeCloseTo(1 / 3, 12);
    expect(quadIoU([...q].reverse(), [[5, 0], [15, 0], [15, 10], [5, 10]])).toBeCloseTo(1 / 3, 12);
    expect(quadIoU(q, [[0, 0], [0, 0], [0, 0], [0, 0]])).toBe(0);
  });

  it('sortBoxes reads top to bottom, and left to right within 10 px of y', () => {
    const at = (x: number, y: number) => ({ box: [[x, y], [x + 5, y], [x + 5, y + 5], [x, y + 5]] as Quad });
    const order = sortBoxes([at(300, 12), at(10, 100), at(20, 8), at(200, 3)]).map((b) => b.box[0][0]);
    expect(order).toEqual([20, 200, 300, 10]);
  });
});

describe('DB post-processing', () => {
  it('unclip grows a box by area·ratio/perimeter with round corners (clipper-lib)', () => {
    const grown = unclip([[0, 0], [100, 0], [100, 20], [0, 20]], 1.5); // d = 2000·1.5/240 = 12.5
    const r = minAreaRect(grown); // clipper's integer points: ±1
    expect(Math.abs(Math.max(r.width, r.height) - 125)).toBeLessThanOrEqual(1);
    expect(Math.abs(Math.min(r.width, r.height) - 45)).toBeLessThanOrEqual(1);
    // rounded corners: less than the rectangle, more than the rectangle less its square corners
    expect(polygonArea(grown)).toBeLessThan(r.width * r.height - 100);
    expect(polygonArea(grown)).toBeGreaterThan(r.width * r.height - 4 * 13 * 13);
  });

  it('finds two boxes, scales them to the page, orders them, and reports their scores', () => {
    const w = 200, h = 100;
    const prob = probMap(w, h, [[120, 10, 180, 24, 0.9], [20, 60, 170, 80, 0.8]]);
    const boxes = dbPostprocess(prob, w, h, 400, 200);
    expect(boxes).toHaveLength(2);
    expect(boxes[0]!.score).toBeCloseTo(0.9, 5);
    expect(boxes[1]!.score).toBeCloseTo(0.8, 5);
    // region 59×13 px between pixel centres, grown by 59·13·1.5/144 ≈ 8.0 on each side, ×2 to the page
    const [first] = boxes;
    expect(first!.box[0][0]).toBeGreaterThanOrEqual(2 * (120 - 9));
    expect(first!.box[0][0]).toBeLessThanOrEqual(2 * (120 - 7));
    expect(boxW(first!.box)).toBeCloseTo(2 * (59 + 16), -1);
    expect(boxH(first!.box)).toBeCloseTo(2 * (13 + 16), -1);
    expect(boxes[1]!.box[0][1]).toBeGreaterThan(boxes[0]!.box[0][1]);
  });

  it('drops regions below thresh, below boxThresh, and too thin; follows the options', () => {
    const w = 120, h = 60;
    const prob = probMap(w, h, [[10, 5, 100, 20, 0.5], [10, 30, 100, 32, 0.99], [10, 40, 100, 55, 0.25]]);
    expect(dbPostprocess(prob, w, h, w, h)).toHaveLength(0); // 0.5 < boxThresh, 2 px thin, 0.25 < thresh
    expect(dbPostprocess(prob, w, h, w, h, { boxThresh: 0.4 })).toHaveLength(1);
    expect(dbPostprocess(prob, w, h, w, h, { thresh: 0.2, boxThresh: 0.2 })).toHaveLength(2);
    const big = dbPostprocess(prob, w, h, w, h, { boxThresh: 0.4, unclipRatio: 3 })[0]!;
    const small = dbPostprocess(prob, w, h, w, h, { boxThresh: 0.4 })[0]!;
    expect(boxH(big.box)).toBeGreaterThan(boxH(small.box) + 5);
  });

  it('a rotated region gives a rotated box', () => {
    const w = 160, h = 120, a = (15 * Math.PI) / 180;
    const prob = new Float32Array(w * h).fill(0.01);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
      const u = (x - 30) * Math.cos(a) + (y - 40) * Math.sin(a), v = -(x - 30) * Math.sin(a) + (y - 40) * Math.cos(a);
      if (u >= 0 && u < 100 && v >= 0 && v < 16) prob[y * w + x] = 0.9;
    }
    const [b] = dbPostprocess(prob, w, h, w, h);
    const angle = (Math.atan2(b!.box[1][1] - b!.box[0][1], b!.box[1][0] - b!.box[0][0]) * 180) / Math.PI;
    expect(angle).toBeCloseTo(15, 0);
  });

  it('boxScore is the mean inside the quad', () => {
    const prob = probMap(20, 20, [[0, 0, 10, 20, 1]]);
    expect(boxScore(prob, 20, 20, [[0, 0], [19, 0], [19, 19], [0, 19]])).toBeCloseTo(0.5 + 0.01 / 2, 5);
    expect(boxScore(prob, 20, 20, [[2, 2], [8, 2], [8, 8], [2, 8]])).toBe(1);
  });

  it('bad input is a ShapeError or ArgumentError naming the argument', () => {
    expect(() => dbPostprocess(new Float32Array(10), 4, 4, 4, 4)).toThrow(ShapeError);
    expect(() => dbPostprocess(new Float32Array(16), 4, 4, 0, 4)).toThrow(/pageWidth/);
    expect(() => dbPostprocess([1, 2] as unknown as Float32Array, 1, 2, 1, 2)).toThrow(ArgumentError);
    expect(() => dbPostprocess(new Float32Array(16), 4, 4, 4, 4, { thresh: 2 })).toThrow(/options.thresh/);
    expect(() => dbPostprocess(new Float32Array(16), 4, 4, 4, 4, { unclipRatio: Number.NaN })).toThrow(ArgumentError);
  });

  // The real detector's map of a rendered page, from onnxruntime-node (the oracle; lowbit's own
  // detector is tested in ocr-pipeline.test.ts once it loads).
  it('on the PP-OCRv4 detector\'s map of a rendered page (onnxruntime-node), boxes match the true lines', async () => {
    const ort = createRequire(import.meta.url)('onnxruntime-node');
    const session = await ort.InferenceSession.create(ocrModelAsset('ch_PP-OCRv4_det_infer.onnx'));
    const [page] = loadOcrPages(undefined, 1);
    const input = detInput(page!.image);
    expect(input.tensor.dims).toEqual([1, 3, 960, 768]); // 800×984 → ×960/984 → multiples of 32
    const out = await session.run({ x: new ort.Tensor('float32', input.tensor.data, input.tensor.dims) });
    const prob = out[session.outputNames[0]].data as Float32Array;
    const boxes = dbPostprocess(prob, input.width, input.height, page!.image.width, page!.image.height);
    const s = scorePage(boxes.map((b) => ({ box: b.box, text: '' })), page!.lines);
    expect(s.recall).toBe(1); // measured: 25 of 25 lines, no extra box
    expect(s.precision).toBe(1);
    // reading order: the true lines are top to bottom on this single-column page
    expect(s.match).toEqual(page!.lines.map((_, i) => i));
  });
});

describe('detector input', () => {
  it('sizes follow DetResizeForTest (limit_type max, 960) and the values the BGR mean/std', () => {
    expect(detInputSize(800, 984)).toEqual({ width: 768, height: 960 });
    expect(detInputSize(100, 50)).toEqual({ width: 96, height: 64 });
    expect(detInputSize(10, 10)).toEqual({ width: 32, height: 32 });
    expect(detInputSize(2000, 1000, 640)).toEqual({ width: 640, height: 320 });
    const t = detInput({ width: 32, height: 32, pixels: new Uint8Array(32 * 32 * 3).fill(255).map((_, i) => (i % 3 === 0 ? 255 : 0)) });
    // red pixels: channel 2 (R) is 1, B and G are 0
    expect(t.tensor.data[0]).toBeCloseTo((0 - 0.485) / 0.229, 5);
    expect(t.tensor.data[32 * 32]).toBeCloseTo((0 - 0.456) / 0.224, 5);
    expect(t.tensor.data[2 * 32 * 32]).toBeCloseTo((1 - 0.406) / 0.225, 5);
    expect(() => detInput({ width: 3, height: 3, pixels: new Uint8Array(10) })).toThrow(ShapeError);
  });
});

describe('line crops, the classifier input, batches', () => {
  const W = 200, H = 100;
  const gradient = Uint8Array.from({ length: W * H }, (_, i) => i % W); // value = x

  it('an axis-aligned box is resampled to 48 px high keeping its aspect', () => {
    const line = cropLine(gradient, W, H, [[10, 5], [110, 5], [110, 25], [10, 25]]);
    expect(line.width).toBe(240);
    expect(line.pixels.length).toBe(48 * 240);
    expect(line.pixels[0]).toBe(10); // clamped at the box's left edge
    expect(Math.abs(line.pixels[120]! - 60)).toBeLessThanOrEqual(1);
    expect(Math.abs(line.pixels[47 * 240 + 239]! - 109)).toBeLessThanOrEqual(1);
    const wide = cropLine(gradient, W, H, [[10, 5], [110, 5], [110, 25], [10, 25]], 0.2);
    expect(wide.width).toBe(Math.ceil((48 * 108) / 28));
  });

  it('a tall box is turned a quarter counter-clockwise (its right side on top)', () => {
    const line = cropLine(gradient, W, H, [[50, 10], [60, 10], [60, 90], [50, 90]]);
    expect(line.width).toBe(384);
    expect(line.pixels[10]).toBeGreaterThan(line.pixels[47 * 384 + 10]!);
    expect(rotateLine180(line).pixels[0]).toBe(line.pixels[line.pixels.length - 1]);
  });

  it('clsInput squeezes wide lines to 192 px and pads narrow ones with 0; upsideDown needs > thresh', () => {
    const wide = { width: 400, pixels: new Uint8Array(48 * 400).fill(255) };
    const narrow = { width: 100, pixels: new Uint8Array(48 * 100) };
    const t = clsInput([wide, narrow]);
    expect(t.dims).toEqual([2, 3, 48, 192]);
    expect(t.data[191]).toBe(1);
    expect(t.data[3 * 48 * 192 + 99]).toBe(-1);
    expect(t.data[3 * 48 * 192 + 100]).toBe(0);
    expect(upsideDown(Float32Array.from([0.05, 0.95, 0.2, 0.8, 0.6, 0.4]), [3, 2])).toEqual([true, false, false]);
    expect(() => upsideDown(new Float32Array(3), [3, 1])).toThrow(ShapeError);
  });

  it('lineBatches groups similar widths, at most maxBatch per batch', () => {
    expect(lineBatches([100, 400, 110, 120, 410, 90], { maxBatch: 3 })).toEqual([[5, 0, 2], [3], [1, 4]]);
    expect(lineBatches([])).toEqual([]);
    expect(() => lineBatches([1], { maxBatch: 0 })).toThrow(ArgumentError);
  });
});

describe('page scores', () => {
  const box = (x: number): Quad => [[x, 0], [x + 10, 0], [x + 10, 10], [x, 10]];
  it('matches one to one at IoU ≥ 0.5 and counts exact lines and CER', () => {
    expect(matchBoxes([box(0), box(1), box(50)], [box(0), box(100)])).toEqual([0, -1]);
    const s = scorePage([{ box: box(0), text: 'abc' }, { box: box(30), text: 'x' }], [{ box: box(1), text: 'abd' }, { box: box(60), text: 'hello' }]);
    expect(s).toMatchObject({ truthLines: 2, detected: 2, matched: 1, precision: 0.5, recall: 0.5, exactLines: 0 });
    expect(s.cerSum).toBeCloseTo(1 / 3 + 1, 12);
  });
});
