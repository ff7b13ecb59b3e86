// qs8-stage-pixels: a convolution's input pixels (c channels each) staged once for the qs8 GEMM's
// im2col gather: the kernels and the q of a layer's row staging (qs8StageF32, qs8StageChan and their
// c4 twins) on rows of c values (K = kp = c), split across threads.

import type { KernelHost } from '../runtime/host.js';

/** how the pixels quantize: one scale, or per-channel divisor and offset vectors (byte addresses) */
export interface PixelQuant {
  zeroPoint: number;
  scale: number;
  chan?: { div: number; off: number } | null;
}

/** bytes a staged value takes: int8 in the c4 layout, int16 in c2 and w16 */
export const stagedElementBytes = (layout: 'c2' | 'c4' | 'w16'): number => (layout === 'c4' ? 1 : 2);

/**
 * Stages `pixels` float32 pixels of c channels at x (packed) into `out` (pixels * c staged values)
 * with their sums into `sums` (pixels int32).
 */
export function qs8StagePixels(rt: KernelHost, layout: 'c2' | 'c4' | 'w16', c: number, pixels: number, x: number, q: PixelQuant, out: number, sums: number): void {
  const eb = stagedElementBytes(layout), { zeroPoint: zp, scale, chan } = q;
  // work counts an element as 16 multiply-adds, as the row staging does
  rt.parallelRowsNow(pixels, 1, (r0, r1) => {
    const a = [r1 - r0, c, c, x + r0 * c * 4, c * 4] as const, o = [out + r0 * c * eb, sums + r0 * 4] as const;
    if (eb === 1) return chan ? ['qs8_stage_chan_c4', [...a, chan.div, chan.off, zp, ...o, 1]] : ['qs8_stage_f32_c4', [...a, scale, zp, ...o, 1]];
    return chan ? ['qs8_stage_chan_c2', [...a, chan.div, chan.off, zp, ...o]] : ['qs8_stage_f32_c2', [...a, scale, zp, ...o]];
  }, 16, pixels * c * 16);
}
