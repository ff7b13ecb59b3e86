// FP8 weights x float32 activations (the "f8w" family): weights are OCP FP8 codes (E4M3FN or E5M2,
// one byte each) with one float32 scale per output column, decoded to float32 in registers.
//
//   out[m][n] = clamp(scale[n] * sum_k x[m][k] * fp8(W[k][n]) + bias[n], lo, hi)
//
// Packed weights, panels of NR = 32 columns, K-major, one byte (the raw FP8 code) per weight:
//
//   panel p (columns 32p .. 32p+31), K rows of 32 bytes:
//     k=0: | c0 | c1 | c2 | ... | c31 |     c = code of W[k][32p + c]
//     k=1: | c0 | c1 | c2 | ... | c31 |
//     ...
//   N is padded to a multiple of 32 with code 0x00 (+0); panels follow each other (K * 32 bytes
//   each). The GEMV reads one panel as a single sequential stream (32 bytes per k, 8 accumulator
//   vectors: enough independent chains to hide the add/FMA latency); the 4x8 GEMM tile reads an
//   8-byte slice of each 32-byte row. No code is NaN (or, for E5M2, Inf): packing rejects them.
//
// Decode (no table, no branch), for 8 codes at a time:
//   v128.load8x8_s             sign-extends 8 codes to int16: bits 15..7 = S, bits 6..0 = magnitude
//   i16x8.shl 4 (E5M2: 5)      magnitude to bits 10..4 (E5M2: 11..5); bits 15..11 are still S
//   and 0x87F0 (E5M2: 0x8FE0)  keeps S at bit 15 and the magnitude
//   unpack low/high with zero  each int16 becomes the upper half of a 32-bit lane:
//                              (S << 31) | (magnitude << 20)   (E5M2: << 21)
// Read as float32, that lane is exactly the FP8 value times 2^-120 (E5M2: 2^-112): the FP8 exponent
// lands in the low bits of the float32 exponent and the mantissa at its top. For FP8 subnormals
// (exponent field 0) the float32 is a float32 subnormal with the same significand bits, so the
// identity holds for them too (E4M3 0x01 -> 2^20 * 2^-149 = 2^-129 = 2^-9 * 2^-120), and for +-0.
//
// Where the 2^120 goes: not into the per-column scale (then every product x * t would sit 2^120
// below x * w and |x * w| < 2^-6 — common: small activations times small weights — would be a
// float32 subnormal: lost bits and, on many CPUs, slow microcode assists). Instead the host stages
// x' = x * 2^56 (E5M2: 2^48) once per call (f8w_stage_f32, exact for |x| < 2^72), so every product
// x' * t = (x * w) * 2^-64, and folds 2^64 into the column scale: scale' = scale * 2^64 (exact), and
// acc' * scale' = acc * scale as real numbers, so the final rounding is the same too.
//
// Results (baseline build): every output is the float32 evaluation, in this order, of
//   acc = 0; for k = 0 .. K-1: acc = acc + x[m][k] * fp8(W[k][n])   (each product rounded)
//   y = acc * scale[n]; y = y + bias[n] (0 without bias); y = min(max(y, lo), hi)  (pmax/pmin)
// for every M, tile, column split and thread count, bit for bit, whenever no product is scaled
// into float32's subnormal range: every nonzero |x * w| >= 2^-62 (and then also >= 2^-126 in the
// plain evaluation) and |x| < 2^72. (Outside that, x' * t is at least as accurate as x * w.)
// The relaxed build uses f32x4.relaxed_madd (fused on CPUs with FMA): products are not rounded
// separately, so it differs from the above within the usual float32 summation error bound.


import { storeLanes8 } from '../util/store';

@inline function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(f32x4.mul(a, b), c);
}

@inline function finish(acc: v128, scale: v128, bias: v128, lo: v128, hi: v128): v128 {
  return f32x4.pmin(f32x4.pmax(f32x4.add(f32x4.mul(acc, scale), bias), lo), hi);
}

// 8 codes at p -> int16 lanes (S << 15) | (magnitude << 4) (E5M2: << 5)
@inline function codes8(p: usize, offset: usize, e5: bool, mask: v128): v128 {
  const b = v128.load8x8_s(p + offset);
  return v128.and(e5 ? i16x8.shl(b, 5) : i16x8.shl(b, 4), mask);
}

// int16 lanes 0..3 / 4..7 -> upper halves of 32-bit lanes (the float32 bits of fp8 * 2^-120 or 2^-112)
@inline function lo4(h: v128): v128 {
  return i8x16.shuffle(i8x16.splat(0), h, 0, 1, 16, 17, 2, 3, 18, 19, 4, 5, 20, 21, 6, 7, 22, 23);
}
@inline function hi4(h: v128): v128 {
  return i8x16.shuffle(i8x16.splat(0), h, 8, 9, 24, 25, 10, 11, 26, 27, 12, 13, 28, 29, 14, 15, 30, 31);
}

@inline function epi8(c: usize, n: i32, nr: i32, a0: v128, a1: v128, scale: usize, bias: usize, lo: v128, hi: v128): void {
  if (nr <= 0) return;
  const nb = <usize>n << 2;
  const s0 = v128.load(scale + nb);
  const s1 = v128.load(scale + nb, 16);
  const b0 = bias != 0 ? v128.load(bias + nb) : f32x4.splat(0);
  const b1 = bias != 0 ? v128.load(bias + nb, 16) : f32x4.splat(0);
  storeLanes8(c + nb, finish(a0, s0, b0, lo, hi), finish(a1, s1, b1, lo, hi), nr);
}

// one row x columns [n0, n1), n0 a multiple of 32: one whole panel per step
@inline function gemv1x32(
  e5: bool, n0: i32, n1: i32, k: i32, x: usize, w: usize, c: usize, scale: usize, bias: usize,
  lo: v128, hi: v128, mask: v128,
): void {
  const panelBytes = <usize>k << 5;
  const xEnd = x + (<usize>k << 2);
  for (let n = n0; n < n1; n += 32) {
    let wp = w + <usize>(n >> 5) * panelBytes;
    let y0 = f32x4.splat(0), y1 = f32x4.splat(0), y2 = f32x4.splat(0), y3 = f32x4.splat(0);
    let y4 = f32x4.splat(0), y5 = f32x4.splat(0), y6 = f32x4.splat(0), y7 = f32x4.splat(0);
    for (let xp = x; xp < xEnd; xp += 4) {
      const v = v128.load32_splat(xp);
      const h0 = codes8(wp, 0, e5, mask);
      y0 = madd(v, lo4(h0), y0);
      y1 = madd(v, hi4(h0), y1);
      const h1 = codes8(wp, 8, e5, mask);
      y2 = madd(v, lo4(h1), y2);
      y3 = madd(v, hi4(h1), y3);
      const h2 = codes8(wp, 16, e5, mask);
      y4 = madd(v, lo4(h2), y4);
      y5 = madd(v, hi4(h2), y5);
      const h3 = codes8(wp, 24, e5, mask);
      y6 = madd(v, lo4(h3), y6);
      y7 = madd(v, hi4(h3), y7);
      wp += 32;
    }
    const nr = n1 - n;
    epi8(c, n, nr, y0, y1, scale, bias, lo, hi);
    epi8(c, n + 8, nr - 8, y2, y3, scale, bias, lo, hi);
    epi8(c, n + 16, nr - 16, y4, y5, scale, bias, lo, hi);
    epi8(c, n + 24, nr - 24, y6, y7, scale, bias, lo, hi);
  }
}

// rows [0, mr) (mr <= 4) x columns [n0, n1), n0 a multiple of 8: 8 columns per step
@inline function gemm4x8(
  e5: bool, mr: i32, n0: i32, n1: i32, k: i32, a: usize, aStride: usize, w: usize,
  c: usize, cStride: usize, scale: usize, bias: usize, lo: v128, hi: v128, mask: v128,
): void {
  const a0 = a;
  const a1 = mr > 1 ? a0 + aStride : a0;
  const a2 = mr > 2 ? a1 + aStride : a1;
  const a3 = mr > 3 ? a2 + aStride : a2;
  const c0 = c;
  const c1 = mr > 1 ? c0 + cStride : c0;
  const c2 = mr > 2 ? c1 + cStride : c1;
  const c3 = mr > 3 ? c2 + cStride : c2;
  const panelBytes = <usize>k << 5;
  const aBytes = <usize>k << 2;
  for (let n = n0; n < n1; n += 8) {
    let wp = w + <usize>(n >> 5) * panelBytes + <usize>(n & 31);
    let x00 = f32x4.splat(0), x01 = f32x4.splat(0);
    let x10 = f32x4.splat(0), x11 = f32x4.splat(0);
    let x20 = f32x4.splat(0), x21 = f32x4.splat(0);
    let x30 = f32x4.splat(0), x31 = f32x4.splat(0);
    for (let kk: usize = 0; kk < aBytes; kk += 4) {
      const h = codes8(wp, 0, e5, mask);
      const w0 = lo4(h);
      const w1 = hi4(h);
      const v0 = v128.load32_splat(a0 + kk);
      x00 = madd(v0, w0, x00);
      x01 = madd(v0, w1, x01);
      const v1 = v128.load32_splat(a1 + kk);
      x10 = madd(v1, w0, x10);
      x11 = madd(v1, w1, x11);
      const v2 = v128.load32_splat(a2 + kk);
      x20 = madd(v2, w0, x20);
      x21 = madd(v2, w1, x21);
      const v3 = v128.load32_splat(a3 + kk);
      x30 = madd(v3, w0, x30);
      x31 = madd(v3, w1, x31);
      wp += 32;
    }
    const nr = n1 - n;
    // aliased rows (mr < 4) recompute a real row, so storing them again writes the same values
    epi8(c3, n, nr, x30, x31, scale, bias, lo, hi);
    epi8(c2, n, nr, x20, x21, scale, bias, lo, hi);
    epi8(c1, n, nr, x10, x11, scale, bias, lo, hi);
    epi8(c0, n, nr, x00, x01, scale, bias, lo, hi);
  }
}

const W_BLOCK_BYTES: i32 = 256 * 1024;

@inline function drive(
  e5: bool, m: i32, n0: i32, n1: i32, k: i32, x: usize, xStride: usize, w: usize,
  c: usize, cStride: usize, scale: usize, bias: usize, lo: f32, hi: f32,
): void {
  const vlo = f32x4.splat(lo);
  const vhi = f32x4.splat(hi);
  const mask = e5 ? i16x8.splat(<i16>0x8fe0) : i16x8.splat(<i16>0x87f0);
  if (m == 1) {
    gemv1x32(e5, n0, n1, k, x, w, c, scale, bias, vlo, vhi, mask);
    return;
  }
  let nc = (W_BLOCK_BYTES / max(k << 5, 1)) << 5;
  if (nc < 32) nc = 32;
  for (let nb = n0; nb < n1; nb += nc) {
    const ne = min(nb + nc, n1);
    for (let m0 = 0; m0 < m; m0 += 4) {
      gemm4x8(e5, min(4, m - m0), nb, ne, k, x + <usize>m0 * xStride, xStride, w,
        c + <usize>m0 * cStride, cStride, scale, bias, vlo, vhi, mask);
    }
  }
}

/**
 * C[m x (n0..n1)] = clamp(x' * W * scale' + bias, lo, hi), E4M3FN weights. x': staged activations
 * (f8w_stage_f32 with 2^56), row stride xStride bytes; C row stride cStride bytes; n0 a multiple of
 * 32; scale' (= scale * 2^64) and bias (or 0) padded to the panels.
 */
export function f8w_e4m3_gemm_4x8(
  m: i32, n0: i32, n1: i32, k: i32, x: usize, xStride: usize, w: usize,
  c: usize, cStride: usize, scale: usize, bias: usize, lo: f32, hi: f32,
): void {
  drive(false, m, n0, n1, k, x, xStride, w, c, cStride, scale, bias, lo, hi);
}

/** The same for E5M2 weights (x' staged with 2^48). */
export function f8w_e5m2_gemm_4x8(
  m: i32, n0: i32, n1: i32, k: i32, x: usize, xStride: usize, w: usize,
  c: usize, cStride: usize, scale: usize, bias: usize, lo: f32, hi: f32,
): void {
  drive(true, m, n0, n1, k, x, xStride, w, c, cStride, scale, bias, lo, hi);
}

/** out[i][j] = x[i][j] * mult (mult a power of two), x row stride xStride bytes, out rows of k floats. */
export function f8w_stage_f32(x: usize, m: i32, k: i32, xStride: usize, mult: f32, out: usize): void {
  const vm = f32x4.splat(mult);
  for (let i = 0; i < m; i++) {
    const src = x + <usize>i * xStride;
    const dst = out + <usize>i * (<usize>k << 2);
    let j = 0;
    for (; j + 4 <= k; j += 4) {
      const o = <usize>j << 2;
      v128.store(dst + o, f32x4.mul(v128.load(src + o), vm));
    }
    for (; j < k; j++) {
      const o = <usize>j << 2;
      store<f32>(dst + o, load<f32>(src + o) * mult);
    }
  }
}
