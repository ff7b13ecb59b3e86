// The PP-OCR text detector's input (PaddleOCR's DetResizeForTest with limit_type 'max', then
// NormalizeImage): the page resized so that its longer side is at most `maxSide` and both sides are
// multiples of 32, bilinear as OpenCV's INTER_LINEAR, each channel (x/255 − mean)/std in BGR order.

import { ArgumentError, describe } from '../../errors.js';
import { bgrPlanes, type OcrPageImage } from './page.js';

export const DET_MEAN = [0.485, 0.456, 0.406] as const;
export const DET_STD = [0.229, 0.224, 0.225] as const;

export interface DetInput {
  tensor: { type: 'float32'; data: Float32Array; dims: [1, 3, number, number] };
  /** the resized size: the probability map the detector gives has these dims */
  width: number;
  height: number;
}

/** Size the detector sees for a width × height page (both multiples of 32, at least 32). */
export function detInputSize(width: number, height: number, maxSide = 960): { width: number; height: number } {
  if (!Number.isInteger(maxSide) || maxSide < 32) throw new ArgumentError(`detInputSize: maxSide must be an integer ≥ 32, got ${describe(maxSide)}`);
  const ratio = Math.max(width, height) > maxSide ? maxSide / Math.max(width, height) : 1;
  const to32 = (v: number) => Math.max(Math.round(Math.trunc(v * ratio) / 32) * 32, 32);
  return { width: to32(width), height: to32(height) };
}

/** One axis of an OpenCV-style bilinear resize: source index pairs and weights per output index. */
function axisTaps(from: number, to: number): { i0: Int32Array; i1: Int32Array; w1: Float32Array } {
  const i0 = new Int32Array(to), i1 = new Int32Array(to), w1 = new Float32Array(to);
  const s = from / to;
  for (let o = 0; o < to; o++) {
    const x = Math.min(Math.max((o + 0.5) * s - 0.5, 0), from - 1);
    const f = Math.floor(x);
    i0[o] = f;
    i1[o] = Math.min(f + 1, from - 1);
    w1[o] = x - f;
  }
  return { i0, i1, w1 };
}

/** Resamples an 8-bit plane to outW × outH (bilinear, half-pixel centres, edges clamped) as floats. */
export function resizePlane(src: Uint8Array, width: number, height: number, outW: number, outH: number): Float32Array {
  const xs = axisTaps(width, outW), ys = axisTaps(height, outH);
  const out = new Float32Array(outW * outH);
  for (let y = 0; y < outH; y++) {
    const r0 = ys.i0[y]! * width, r1 = ys.i1[y]! * width, wy = ys.w1[y]!;
    for (let x = 0; x < outW; x++) {
      const a = xs.i0[x]!, b = xs.i1[x]!, wx = xs.w1[x]!;
      const top = src[r0 + a]! + (src[r0 + b]! - src[r0 + a]!) * wx;
      const bottom = src[r1 + a]! + (src[r1 + b]! - src[r1 + a]!) * wx;
      out[y * outW + x] = top + (bottom - top) * wy;
    }
  }
  return out;
}

/** The detector's input tensor [1, 3, H, W] for `image`. */
export function detInput(image: OcrPageImage, maxSide = 960): DetInput {
  const planes = bgrPlanes(image);
  const { width, height } = detInputSize(image.width, image.height, maxSide);
  const plane = width * height;
  const data = new Float32Array(3 * plane);
  planes.forEach((p, c) => {
    const resized = resizePlane(p, image.width, image.height, width, height);
    const mean = DET_MEAN[c]!, std = DET_STD[c]!;
    for (let i = 0; i < plane; i++) data[c * plane + i] = (resized[i]! / 255 - mean) / std;
  });
  return { tensor: { type: 'float32', data, dims: [1, 3, height, width] }, width, height };
}
