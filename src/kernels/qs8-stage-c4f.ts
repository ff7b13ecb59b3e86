// qs8-stage-c4f: float32 rows to the c4 staging of the qs8 GEMM (the relaxed build's 7-bit layout)
// in one pass: QuantizeLinear to uint8, stored as the int8 q - 128 with row sums
// (assembly/gemm/qs8-stage-c4f.ts). The c4 twins of qs8StageF32 (src/kernels/qs8.ts) and
// qs8StageChan: the same q, so a model layer's integers do not depend on the layout.

import { ArgumentError } from '../errors.js';
import type { KernelHost } from '../runtime/host.js';
import { roundHalfEven } from '../quant/rounding.js';
import type { Qs8Weights } from './qs8.js';

/** Scalar reference of qs8_stage_f32_c2's quantization: q - zp per value, q = clamp(nearest(f32(x / scale)) + zp, 0, 255), NaN to zp. */
export function refStageF32(x: ArrayLike<number>, m: number, k: number, scale: number, zp: number): Int32Array {
  const out = new Int32Array(m * k);
  for (let i = 0; i < m * k; i++) {
    const v = Math.fround(x[i] / scale);
    out[i] = Number.isNaN(v) ? 0 : Math.min(255 - zp, Math.max(-zp, roundHalfEven(v)));
  }
  return out;
}

/**
 * The c4 staging of values q - zp (m rows of k, e.g. refStageF32's or refStageChan's): rows of kp
 * int8 q - 128, each row `copies` times over, zero-padded, and their sums.
 */
export function refStageC4(qz: ArrayLike<number>, m: number, k: number, kp: number, zp: number, copies = 1): { staged: Int8Array; rowSum: Int32Array } {
  const staged = new Int8Array(m * kp), rowSum = new Int32Array(m);
  for (let i = 0; i < m; i++) {
    for (let c = 0; c < copies; c++) {
      for (let j = 0; j < k; j++) {
        const v = qz[i * k + j] + zp - 128;
        staged[i * kp + c * k + j] = v;
        rowSum[i] += v;
      }
    }
  }
  return { staged, rowSum };
}

/** checks the call; returns K of x (w.k / copies) */
function check(name: string, w: Qs8Weights, m: number, xStride: number, zeroPoint: number, copies: number): number {
  if (w.layout !== 'c4') throw new ArgumentError(`${name}: the weights must be packed in the c4 layout (relaxed build, 7-bit columns), got ${w.layout}`);
  if (copies !== 1 && copies !== 2) throw new ArgumentError(`${name}: copies must be 1 or 2, got ${copies}`);
  if (w.k % copies !== 0) throw new ArgumentError(`${name}: copies ${copies} does not divide the weights' K = ${w.k}`);
  const k = w.k / copies;
  if (!Number.isInteger(m) || m < 0) throw new ArgumentError(`${name}: m must be a non-negative integer, got ${m}`);
  if (!(xStride >= k * 4)) throw new ArgumentError(`${name}: xStride must be >= K*4 = ${k * 4} bytes, got ${xStride}`);
  if (!Number.isInteger(zeroPoint) || zeroPoint < 0 || zeroPoint > 255) throw new ArgumentError(`${name}: zeroPoint must be an integer in [0, 255], got ${zeroPoint}`);
  return k;
}

/**
 * Quantizes m float32 rows (x, xStride bytes apart) with one scale and zero point and stages them
 * for `w` (c4 layout) into `staged` (m * w.kp bytes) with row sums into `rowSum` (m int32): what
 * qs8Gemm takes as `staged` with signed: false and za = zeroPoint. copies 2: w holds weights split
 * into two halves stacked along K (w.k = 2 K), and each row of x is staged twice.
 */
export function qs8StageF32C4(rt: KernelHost, w: Qs8Weights, m: number, x: number, xStride: number, scale: number, zeroPoint: number, staged: number, rowSum: number, copies = 1): void {
  const k = check('qs8StageF32C4', w, m, xStride, zeroPoint, copies);
  rt.kernels.qs8_stage_f32_c4(m, k, w.kp, x, xStride, scale, zeroPoint, staged, rowSum, copies);
}

/** As qs8StageF32C4, with the per-column divisor and rounding offset of qs8StageChan (byte addresses div, off: K float32 each). */
export function qs8StageChanC4(rt: KernelHost, w: Qs8Weights, m: number, x: number, xStride: number, div: number, off: number, zeroPoint: number, staged: number, rowSum: number, copies = 1): void {
  const k = check('qs8StageChanC4', w, m, xStride, zeroPoint, copies);
  rt.kernels.qs8_stage_chan_c4(m, k, w.kp, x, xStride, div, off, zeroPoint, staged, rowSum, copies);
}
