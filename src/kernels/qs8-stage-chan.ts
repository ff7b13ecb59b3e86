// qs8-stage-chan: stages float32 rows for the qs8 GEMM (c2 layout) with a divisor and a rounding
// offset per input column (assembly/gemm/qs8-stage-chan.ts). The divisor carries per-channel
// activation scales migrated into the weights; the offset is 1 - the learned rounding border.

import { ArgumentError } from '../errors.js';
import type { KernelHost } from '../runtime/host.js';
import type { Qs8Weights } from './qs8.js';

const f = Math.fround;

/** The per-column vectors the kernel reads: div[k] = scale * channelScale[c], off[k] = 1 - border[c], c = k mod C. */
export function stageChanVectors(k: number, scale: number, channelScale?: ArrayLike<number>, border?: ArrayLike<number>): { div: Float32Array; off: Float32Array } {
  const div = new Float32Array(k), off = new Float32Array(k);
  for (let j = 0; j < k; j++) {
    div[j] = channelScale ? f(scale * channelScale[j % channelScale.length]) : scale;
    off[j] = border ? f(1 - border[j % border.length]) : 0.5;
  }
  return { div, off };
}

/** Scalar reference of the kernel: q - zp per value, q = clamp(floor(f32(f32(x / div[k]) + off[k])), 0, 255). */
export function refStageChan(x: ArrayLike<number>, m: number, k: number, div: ArrayLike<number>, off: ArrayLike<number>, zp: number): Int32Array {
  const out = new Int32Array(m * k);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < k; j++) {
      const v = Math.floor(f(f(x[i * k + j] / div[j]) + off[j]));
      out[i * k + j] = Number.isNaN(v) ? 0 : Math.min(255 - zp, Math.max(-zp, v));
    }
  }
  return out;
}

/**
 * Quantizes m float32 rows (x, xStride bytes apart) with the per-column divisor and offset at the
 * byte addresses div and off (K float32 each, readable 16 bytes past their end) and stages them for
 * `w` (c2 layout) into `staged` (m * w.kp int16) with row sums into `rowSum` (m int32).
 */
export function qs8StageChan(rt: KernelHost, w: Qs8Weights, m: number, x: number, xStride: number, div: number, off: number, zeroPoint: number, staged: number, rowSum: number): void {
  if (w.layout !== 'c2' && w.layout !== 'w16') throw new ArgumentError(`qs8StageChan: the weights must be packed in the c2 or w16 layout (int16 staging; packQs8 with allowSevenBit: false), got ${w.layout}`);
  if (!Number.isInteger(m) || m < 0) throw new ArgumentError(`qs8StageChan: m must be a non-negative integer, got ${m}`);
  if (!(xStride >= w.k * 4)) throw new ArgumentError(`qs8StageChan: xStride must be >= K*4 = ${w.k * 4} bytes, got ${xStride}`);
  if (!Number.isInteger(zeroPoint) || zeroPoint < 0 || zeroPoint > 255) throw new ArgumentError(`qs8StageChan: zeroPoint must be an integer in [0, 255], got ${zeroPoint}`);
  rt.parallelRowsNow(m, 1, (r0, r1) => ['qs8_stage_chan_c2', [r1 - r0, w.k, w.kp, x + r0 * xStride, xStride, div, off, zeroPoint, staged + r0 * w.kp * 2, rowSum + r0 * 4]], 16, m * w.k * 16);
}
