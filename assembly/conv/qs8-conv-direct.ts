// int8 convolution without the gathered rows (the "qs8-conv-direct" family), for windows whose taps
// along a row are adjacent pixels (dilation 1 across): the qs8 GEMM's staged image, bordered once
// with the staged zero pixel, is read in place. Each output pixel's GEMM row is then kh runs of
// kw * c staged values, rowBytes apart; the 4x8 tile (4 consecutive output pixels, wrapping across
// output rows, x 8 columns) walks those runs (each `copies` times: the split 7-bit c4 layout's
// [x, x]) over panels packed for it:
//
//   panel p (columns 8p..8p+7): run (copy 0, u = 0) | (copy 0, u = 1) | ... | (copy 1, u = 0) | ...
//   each run segBytes of A' (kw * c values rounded up to whole k-groups: pairs on c2, quads on c4),
//   its k-groups laid out as assembly/gemm/qs8.ts lays out c2 / c4 panels; the rounding's
//   weights are 0, so the few bytes read past a run (the next pixel) add nothing. When no run
//   needs rounding this is the GEMM's own panel order (K tap-major, the copies stacked along K),
//   so the layer shares the GEMM's packed weights.
//
// The sums are int32 and exact modulo 2^32, so any order gives the GEMM's accumulators; row sums
// come from the bordered per-pixel sums. Same accumulators, same epilogue (qs8-epilogue.ts, the
// params block of the layer's GEMM): the same output bits as q_im2col_nhwc + the qs8 GEMM.

import { relaxedDotAdd } from '../util/simd';
import { stripEpilogue } from '../gemm/qs8-epilogue';
import { QS8_PRM_COL_FACTOR, QS8_PRM_ROW_SUM } from '../params';

// 4 columns of weights at wp + offset (c2: 8 int8, sign-extended) or wp + 2 * offset (c4: 16 bytes)
@inline function weights(relaxed: bool, wp: usize, offset: i32): v128 {
  if (offset == 0) return relaxed ? v128.load(wp) : v128.load8x8_s(wp);
  return relaxed ? v128.load(wp, 16) : v128.load8x8_s(wp, 8);
}

@inline function dotAdd(relaxed: bool, c: v128, x: v128, w: v128): v128 {
  return relaxed ? relaxedDotAdd(x, w, c) : i32x4.add(c, i32x4.dot_i16x8_s(x, w));
}

// the strip's epilogue, one copy for both kernels and qs8-c4a (a call per strip costs little beside its K loop)
export function storeStrip(
  mr: i32, c00: v128, c01: v128, c10: v128, c11: v128, c20: v128, c21: v128, c30: v128, c31: v128,
  prm: usize, m0: i32, n: i32, nr: i32, out: usize, outStride: usize,
): void {
  stripEpilogue(mr, c00, c01, c10, c11, c20, c21, c30, c31, prm, m0, n, nr, out, outStride);
}

// row sums of output row oy (pixels oy*ow .. oy*ow + ow - 1): the window's bordered pixel sums
// (ps: [hp][psRow] int32), times copies, wrapping as the gather's i32 sums do
@inline function rowSums(oy: i32, ow: i32, kh: i32, kw: i32, sh: i32, sw: i32, dh: i32, psRow: i32, copies: i32, ps: usize, rowSum: usize): void {
  for (let ox = 0; ox < ow; ox++) {
    let s = 0;
    for (let u = 0; u < kh; u++) {
      const p = ps + (<usize>((oy * sh + u * dh) * psRow + ox * sw) << 2);
      for (let v = 0; v < kw; v++) s += load<i32>(p + (<usize>v << 2));
    }
    store<i32>(rowSum + (<usize>(oy * ow + ox) << 2), s * copies);
  }
}

// output rows [oy0, oy1) x columns [n0, n1) of out [oh*ow][outStride bytes] (pixel m = oy * ow + ox); pixel (oy, ox) reads
// runs at xp + (oy*sh + u*dh) * rowBytes + ox * pixStep
@inline function conv4x8(
  relaxed: bool, oy0: i32, oy1: i32, ow: i32, n0: i32, n1: i32, kh: i32, kw: i32, sh: i32, sw: i32, dh: i32, copies: i32,
  segBytes: i32, rowBytes: i32, pixStep: i32, xp: usize, ps: usize, psRow: i32, w: usize, prm: usize, out: usize, outStride: usize,
): void {
  const seg = <usize>segBytes, step = <usize>pixStep, tapRow = <usize>dh * <usize>rowBytes;
  const panelBytes = <usize>(kh * copies * segBytes) << (relaxed ? 3 : 2);
  const needSums = load<usize>(prm, QS8_PRM_COL_FACTOR) != 0;
  const rowSum = load<usize>(prm, QS8_PRM_ROW_SUM);
  if (needSums) for (let oy = oy0; oy < oy1; oy++) rowSums(oy, ow, kh, kw, sh, sw, dh, psRow, copies, ps, rowSum);
  // strips of 4 consecutive output pixels, wrapping from one output row to the next (a narrow map
  // wastes no lanes); (oy, ox) walks the pixels, a0..a3 are their windows' first runs
  const m1 = oy1 * ow;
  let oy = oy0, ox = 0;
  for (let m = oy0 * ow; m < m1; m += 4) {
    const mr = min(4, m1 - m);
    const a0 = xp + <usize>(oy * sh) * <usize>rowBytes + <usize>ox * step;
    if (++ox == ow) { ox = 0; oy++; }
    let a1 = a0;
    if (mr > 1) {
      a1 = xp + <usize>(oy * sh) * <usize>rowBytes + <usize>ox * step;
      if (++ox == ow) { ox = 0; oy++; }
    }
    let a2 = a1;
    if (mr > 2) {
      a2 = xp + <usize>(oy * sh) * <usize>rowBytes + <usize>ox * step;
      if (++ox == ow) { ox = 0; oy++; }
    }
    let a3 = a2;
    if (mr > 3) {
      a3 = xp + <usize>(oy * sh) * <usize>rowBytes + <usize>ox * step;
      if (++ox == ow) { ox = 0; oy++; }
    }
    for (let n = n0; n < n1; n += 8) {
      let wp = w + <usize>(n >> 3) * panelBytes;
      let c00 = i32x4.splat(0), c01 = i32x4.splat(0);
      let c10 = i32x4.splat(0), c11 = i32x4.splat(0);
      let c20 = i32x4.splat(0), c21 = i32x4.splat(0);
      let c30 = i32x4.splat(0), c31 = i32x4.splat(0);
      for (let cp = 0; cp < copies; cp++) {
        for (let u = 0; u < kh; u++) {
          const t = <usize>u * tapRow;
          const p0 = a0 + t, p1 = a1 + t, p2 = a2 + t, p3 = a3 + t;
          for (let kk: usize = 0; kk < seg; kk += 4) {
            const w0 = weights(relaxed, wp, 0);
            const w1 = weights(relaxed, wp, 8);
            const x0 = v128.load32_splat(p0 + kk);
            c00 = dotAdd(relaxed, c00, x0, w0);
            c01 = dotAdd(relaxed, c01, x0, w1);
            const x1 = v128.load32_splat(p1 + kk);
            c10 = dotAdd(relaxed, c10, x1, w0);
            c11 = dotAdd(relaxed, c11, x1, w1);
            const x2 = v128.load32_splat(p2 + kk);
            c20 = dotAdd(relaxed, c20, x2, w0);
            c21 = dotAdd(relaxed, c21, x2, w1);
            const x3 = v128.load32_splat(p3 + kk);
            c30 = dotAdd(relaxed, c30, x3, w0);
            c31 = dotAdd(relaxed, c31, x3, w1);
            wp += relaxed ? 32 : 16;
          }
        }
      }
      storeStrip(mr, c00, c01, c10, c11, c20, c21, c30, c31, prm, m, n, n1 - n, out, outStride);
    }
  }
}

export function qs8_conv_direct_4x8c2(
  oy0: i32, oy1: i32, ow: i32, n0: i32, n1: i32, kh: i32, kw: i32, sh: i32, sw: i32, dh: i32, copies: i32,
  segBytes: i32, rowBytes: i32, pixStep: i32, xp: usize, ps: usize, psRow: i32, w: usize, prm: usize, out: usize, outStride: usize,
): void {
  conv4x8(false, oy0, oy1, ow, n0, n1, kh, kw, sh, sw, dh, copies, segBytes, rowBytes, pixStep, xp, ps, psRow, w, prm, out, outStride);
}

export function qs8_conv_direct_4x8c4_relaxed(
  oy0: i32, oy1: i32, ow: i32, n0: i32, n1: i32, kh: i32, kw: i32, sh: i32, sw: i32, dh: i32, copies: i32,
  segBytes: i32, rowBytes: i32, pixStep: i32, xp: usize, ps: usize, psRow: i32, w: usize, prm: usize, out: usize, outStride: usize,
): void {
  if (ASC_FEATURE_RELAXED_SIMD) conv4x8(true, oy0, oy1, ow, n0, n1, kh, kw, sh, sw, dh, copies, segBytes, rowBytes, pixStep, xp, ps, psRow, w, prm, out, outStride);
}
