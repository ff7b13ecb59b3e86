// Activation ranges for dynamic int8 quantization, each in one pass at memory speed, with the NaN /
// infinity check folded in (the int8 user layer measures every input anyway):
//   f32_minmax_finite       min and max of a float32 array (per-tensor, DynamicQuantizeLinear)
//   qs8_row_scales          per row: scale = max|x| / 127 (1 for an all-zero row)
//   qs8_stage_f32_rows_c2   per row: those scales, then qs8_stage_f32_c2 on the row (symmetric int8
//                           staged as uint8 with zero point 128: clamp(round(x/s) + 128, 0, 255) - 128
//                           = clamp(round(x/s), -128, 127), the same integers)
// f32x4.min/max propagate NaN through a multi-instruction sequence on x86 (f32_minmax: ~1.1 GB/s);
// pmin/pmax are one instruction each, and NaN and infinities are caught by the exponent test instead.

import { qs8_stage_f32_c2 } from '../gemm/qs8';

const EXP = 0x7f800000;

// [min, max] of x[0..n) into out; returns 1 when x holds a NaN or an infinity (out is then meaningless)
export function f32_minmax_finite(x: usize, n: i32, out: usize): i32 {
  const mask = i32x4.splat(EXP);
  let lo0 = f32x4.splat(Infinity), lo1 = lo0, hi0 = f32x4.splat(-Infinity), hi1 = hi0;
  let bad = i32x4.splat(0);
  let i = 0;
  for (; i + 8 <= n; i += 8) {
    const p = x + (<usize>i << 2);
    const a = v128.load(p), b = v128.load(p, 16);
    lo0 = f32x4.pmin(lo0, a);
    hi0 = f32x4.pmax(hi0, a);
    lo1 = f32x4.pmin(lo1, b);
    hi1 = f32x4.pmax(hi1, b);
    bad = v128.or(bad, v128.or(i32x4.eq(v128.and(a, mask), mask), i32x4.eq(v128.and(b, mask), mask)));
  }
  const lo = f32x4.pmin(lo0, lo1), hi = f32x4.pmax(hi0, hi1);
  let l = min(min(f32x4.extract_lane(lo, 0), f32x4.extract_lane(lo, 1)), min(f32x4.extract_lane(lo, 2), f32x4.extract_lane(lo, 3)));
  let h = max(max(f32x4.extract_lane(hi, 0), f32x4.extract_lane(hi, 1)), max(f32x4.extract_lane(hi, 2), f32x4.extract_lane(hi, 3)));
  let r = v128.any_true(bad) ? 1 : 0;
  for (; i < n; i++) {
    const p = x + (<usize>i << 2);
    if ((load<u32>(p) & EXP) == EXP) r = 1;
    const v = load<f32>(p);
    l = min(l, v);
    h = max(h, v);
  }
  store<f32>(out, l);
  store<f32>(out, h, 4);
  return r;
}

// max |x| of one row of k floats, or -1 when it holds a NaN or an infinity
@inline function rowAbsMax(src: usize, k: i32): f32 {
  const mask = i32x4.splat(EXP);
  let a0 = f32x4.splat(0), a1 = a0;
  let bad = i32x4.splat(0);
  let j = 0;
  for (; j + 8 <= k; j += 8) {
    const p = src + (<usize>j << 2);
    const a = v128.load(p), b = v128.load(p, 16);
    a0 = f32x4.pmax(a0, f32x4.abs(a));
    a1 = f32x4.pmax(a1, f32x4.abs(b));
    bad = v128.or(bad, v128.or(i32x4.eq(v128.and(a, mask), mask), i32x4.eq(v128.and(b, mask), mask)));
  }
  const v = f32x4.pmax(a0, a1);
  let m = max(max(f32x4.extract_lane(v, 0), f32x4.extract_lane(v, 1)), max(f32x4.extract_lane(v, 2), f32x4.extract_lane(v, 3)));
  let r = v128.any_true(bad);
  for (; j < k; j++) {
    const p = src + (<usize>j << 2);
    if ((load<u32>(p) & EXP) == EXP) r = true;
    m = max(m, abs(load<f32>(p)));
  }
  return r ? -1 : m;
}

// scales[i] = max|x[i]| / 127 (1 when the row is all zero) for m rows of k floats, xStride bytes
// apart; returns 0, or 1 + the first row holding a NaN or an infinity
export function qs8_row_scales(m: i32, k: i32, x: usize, xStride: usize, scales: usize): i32 {
  for (let i = 0; i < m; i++) {
    const a = rowAbsMax(x + <usize>i * xStride, k);
    if (a < 0) return i + 1;
    store<f32>(scales + (<usize>i << 2), a > 0 ? a / <f32>127 : <f32>1);
  }
  return 0;
}

// qs8_row_scales into scales, then each row quantized to int8 with its scale and staged for the c2
// layout (int16, kp per row; row sums into rowSum) while it is still in cache; returns as qs8_row_scales
export function qs8_stage_f32_rows_c2(m: i32, k: i32, kp: i32, x: usize, xStride: usize, scales: usize, out: usize, rowSum: usize): i32 {
  for (let i = 0; i < m; i++) {
    const src = x + <usize>i * xStride;
    const a = rowAbsMax(src, k);
    if (a < 0) return i + 1;
    const s: f32 = a > 0 ? a / <f32>127 : <f32>1;
    store<f32>(scales + (<usize>i << 2), s);
    qs8_stage_f32_c2(1, k, kp, src, xStride, s, 128, out + <usize>i * (<usize>kp << 1), rowSum + (<usize>i << 2));
  }
  return 0;
}
