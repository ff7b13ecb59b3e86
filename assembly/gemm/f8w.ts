// 8-bit float weights x float32 activations (the "f8w" family): weights are codes of 1 sign bit,
// e exponent bits and m = 7 - e mantissa bits (one byte each) with one float32 scale per output
// column, decoded to float32 in registers. One compiled variant per split, e = 1 .. 5 (E1M6, E2M5,
// E3M4, E4M3, E5M2), e a constant in each: a shift and a mask, and for e <= 3 in the decode-once
// GEMM path (M > 8) a normalising decode (below).
// The kernel reads every code as a finite number (exponent field 2^e - 1 is an ordinary binade):
// that is the FPx format of src/quant/fpx.ts (standard bias 2^(e-1) - 1, no Inf/NaN, subnormals);
// OCP E4M3FN / E5M2 run on the E4M3 / E5M2 variants, their NaN (and Inf) codes rejected by packing.
//
//   out[m][n] = clamp(scale[n] * sum_k x[m][k] * fp8(W[k][n]) + bias[n], lo, hi)
//
// Packed weights, panels of NR = 16 columns, K-major, one byte (the raw code) per weight:
//
//   panel p (columns 16p .. 16p+15), K rows of 16 bytes:
//     k=0: | c0 | c1 | c2 | ... | c15 |     c = code of W[k][16p + c]
//     k=1: | c0 | c1 | c2 | ... | c15 |
//     ...
//   N is padded to a multiple of 16 with code 0x00 (+0); panels follow each other (K * 16 bytes
//   each). The GEMV reads one panel as a single sequential stream (16 bytes per k into 4
//   accumulator vectors); the 4x8 GEMM tile reads one 8-byte half of each 16-byte row.
//   (Tried: 32-column panels with 8 accumulators spilled one accumulator to the stack in V8 11.3,
//   which put a store-load on its chain; 2 k per step into 8 chains spilled too. Both slower.)
//
// Decode (no table, no branch), for 8 codes at a time:
//   v128.load8x8_s             sign-extends 8 codes to int16: bits 15..7 = S, bits 6..0 = magnitude
//   i16x8.shl e                magnitude to bits 6+e..e; bits 15..7+e are still S
//   and 0x8000 | (0x7f << e)   keeps S at bit 15 and the magnitude (E4M3 0x87f0, E5M2 0x8fe0)
//   unpack low/high with zero  each int16 becomes the upper half of a 32-bit lane:
//                              (S << 31) | (magnitude << (16 + e))
// Read as float32, that lane is exactly the code's value times 2^(b0 - 127), b0 = 2^(e-1) - 1 the
// standard bias (E4M3 2^-120, E5M2 2^-112, E3M4 2^-124, E2M5 2^-126, E1M6 2^-127): the code's
// exponent field lands in the low bits of the float32 exponent and its mantissa at the top of
// float32's. For subnormal codes (exponent field 0) the float32 is a float32 subnormal with the same
// significand bits, so the identity holds for them too (E4M3 0x01 -> 2^20 * 2^-149 = 2^-129 =
// 2^-9 * 2^-120), and for +-0.
//
// Normalising decode (e <= 3, M > 8 path only; f32-tile.ts fpxSub8/fpxNormal8/fpxCorr8): subnormal
// codes decoded as above are float32 subnormals, and the baseline build's f32x4.mul can take a slow
// path on them. So after the shift and mask, the int16 lanes get (63 - b0) << 7 added to the exponent
// (lanes with exponent field 0 get 1 << 7 more: the implicit leading 1 of the binade they share with
// field 1), and the float32 of (sign | that exponent) of those lanes is subtracted after unpacking,
// exactly (Sterbenz): every lane is then the code's value times 2^-64, a normal float32 (or +0), and
// the activations are staged with 2^0. 12 more vector instructions per 8 codes, paid once per slice.
// Measured (baseline, AMD EPYC avx512 VM, 2026-12, direct kernel calls, Gaussian weights, absmax
// scales; GOPS plain -> normalising): 128x768x3072 E3M4 5.2 -> 10.2, E2M5 9.8 -> 11.6 (E4M3 10-11);
// but GEMV 1x4096x4096 E2M5 5.2 -> 1.9, E3M4 2.0 -> 1.8, and M = 8 (inline tile) E2M5 6.6 -> 3.6,
// E3M4 3.0 -> 4.5. So the GEMV and the inline tile keep the plain decode. (Why plain E2M5, with
// ~35% subnormal codes, showed no slow path while E3M4 and E4M3 codes did, is not understood.)
//
// Where the 2^(b0 - 127) goes: not into the per-column scale (then every product x * t would sit
// 2^120 below x * w and |x * w| < 2^-6 — common: small activations times small weights — would be
// a float32 subnormal: lost bits and, on many CPUs, slow microcode assists). Instead the host stages
// x' = x * 2^(63 - b0) once per call (f8w_stage_f32; E4M3 2^56, E5M2 2^48, E3M4 2^60, E2M5 2^62,
// E1M6 2^63; exact for |x| < 2^(64 + b0); the normalising path 2^0), so every product
// x' * t = (x * w) * 2^-64, and folds 2^64
// into the column scale: scale' = scale * 2^64 (exact), and acc' * scale' = acc * scale as real
// numbers, so the final rounding is the same too.
//
// Results (baseline build): every output is the float32 evaluation, in this order, of
//   acc = 0; for k = 0 .. K-1: acc = acc + x[m][k] * fp8(W[k][n])   (each product rounded)
//   y = acc * scale[n]; y = y + bias[n] (0 without bias); y = min(max(y, lo), hi)  (pmax/pmin)
// for every M, tile, column split and thread count, bit for bit, whenever no product is scaled
// into float32's subnormal range: every nonzero |x * w| >= 2^-62 (and then also >= 2^-126 in the
// plain evaluation) and |x| < 2^(64 + b0) (E4M3 2^72, E1M6 2^64; any |x| on the normalising path). (Outside that, x' * t is at least as accurate as x * w.)
// The relaxed build uses f32x4.relaxed_madd (fused on CPUs with FMA): products are not rounded
// separately, so it differs from the above within the usual float32 summation error bound.
// (FP8 x FP8, src/kernels/f8w.ts runF8f8: activations with power-of-two row scales make every
// product exact, so then the relaxed build gives the same bits as the baseline build.)
//
// GEMM (M > 8): each 8-column slice of a panel is decoded once into a K x 8 float32 scratch block
// (the caller's, K * 32 bytes) and every 4-row strip runs the plain f32 4x8 tile over it; the sums
// are the same, so the bits are too. M <= 8 decodes inline in the 4x8 tile.
//
// Speed notes (V8 11.3, Node 20, the 2-vCPU EPYC VM of bench/RESULTS.md):
// - The GEMV is bound by vector instruction throughput, not memory: per 16 weights the baseline
//   build issues 10 decode ops + 4 mul + 4 add (the INT8 GEMV: 6 ops in all), the relaxed build
//   10 + 4 FMA, where 4 accumulator chains of FMA latency 4 are the limit. 8 chains (32-column
//   panels, or 2 k per step) made V8 spill an accumulator or rematerialize the mask constant in the
//   loop: slower. A decode with vpmullw + 2 pshufb per 8 codes (a bit-permuted code layout) measured
//   no faster. So FP8 GEMV runs at ~0.4x (baseline) to ~0.6x (relaxed) of the INT8 GEMV here.
// - FP8 subnormal codes decode to float32 subnormals. The baseline build's f32x4.mul takes a slow
//   path on them (about 130 cycles each, measured: 0.1% of the codes subnormal -> GEMV -27%, 1% ->
//   -48%); the relaxed build's FMA showed no penalty. Gaussian weights with the default absmax
//   scales have ~0.01% E4M3 subnormal codes (bench/f8w.mjs prints it), E5M2 practically none.
//   The small-exponent splits have many more (E2M5: every |w| below max / 7.875; 20-40% of
//   Gaussian weights), hence the normalising decode above. Measured on the AMD EPYC (avx512) VM of
//   2026-12, E4M3 GEMV 1x4096x4096, baseline: 1.7 GOPS with 6% subnormal codes, 4.7 with none.

import { relaxedMulAdd } from '../util/simd';
import { f32Tile4x8, f32TileRows, fp8Codes8, fp8High4, fp8Low4, fpxCorr8, fpxHigh4, fpxLow4, fpxNormal8, fpxSub8, storeScaledRow8 } from './f32-tile';

// one row x columns [n0, n1), n0 a multiple of 16: one whole panel per step, 4 accumulator chains
@inline function gemv1x16(
  e: i32, n0: i32, n1: i32, k: i32, x: usize, w: usize, c: usize, scale: usize, bias: usize,
  lo: v128, hi: v128, mask: v128,
): void {
  const panelBytes = <usize>k << 4;
  const xEnd = x + (<usize>k << 2);
  for (let n = n0; n < n1; n += 16) {
    let wp = w + <usize>(n >> 4) * panelBytes;
    let y0 = f32x4.splat(0), y1 = f32x4.splat(0), y2 = f32x4.splat(0), y3 = f32x4.splat(0);
    for (let xp = x; xp < xEnd; xp += 4) {
      const v = v128.load32_splat(xp);
      const h0 = fp8Codes8(wp, 0, e, mask);
      y0 = relaxedMulAdd(v, fp8Low4(h0), y0);
      y1 = relaxedMulAdd(v, fp8High4(h0), y1);
      const h1 = fp8Codes8(wp, 8, e, mask);
      y2 = relaxedMulAdd(v, fp8Low4(h1), y2);
      y3 = relaxedMulAdd(v, fp8High4(h1), y3);
      wp += 16;
    }
    const nr = n1 - n;
    storeScaledRow8(c, n, nr, y0, y1, scale, bias, lo, hi);
    storeScaledRow8(c, n + 8, nr - 8, y2, y3, scale, bias, lo, hi);
  }
}

// rows [0, mr) (mr <= 4) x columns [n0, n1), n0 a multiple of 8: 8 columns per step
@inline function gemm4x8(
  e: i32, mr: i32, n0: i32, n1: i32, k: i32, a: usize, aStride: usize, w: usize,
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
  const panelBytes = <usize>k << 4;
  for (let n = n0; n < n1; n += 8) {
    const wp = w + <usize>(n >> 4) * panelBytes + <usize>(n & 15);
    f32Tile4x8(false, true, e, mask, true, k, a0, a1, a2, a3, wp, c0, c1, c2, c3, n, n1, scale, bias, lo, hi);
  }
}

// decode one 8-column slice of a panel (columns n .. n+7) into float32 (the same values as the
// tile's registers hold: value * 2^(b0 - 127)), K rows of 32 bytes at d
@inline function decode8(e: i32, n: i32, k: i32, w: usize, d: usize, mask: v128): void {
  let wp = w + <usize>(n >> 4) * (<usize>k << 4) + <usize>(n & 15);
  const end = d + (<usize>k << 5);
  for (let dp = d; dp < end; dp += 32) {
    const h = fp8Codes8(wp, 0, e, mask);
    if (e <= 3) {
      const sub = fpxSub8(h, e);
      const hh = fpxNormal8(h, e, sub);
      const cc = fpxCorr8(hh, sub);
      v128.store(dp, fpxLow4(hh, cc));
      v128.store(dp, fpxHigh4(hh, cc), 16);
    } else {
      v128.store(dp, fp8Low4(h));
      v128.store(dp, fp8High4(h), 16);
    }
    wp += 16;
  }
}

const W_BLOCK_BYTES: i32 = 256 * 1024;

@inline function drive(
  e: i32, m: i32, n0: i32, n1: i32, k: i32, x: usize, xStride: usize, w: usize,
  c: usize, cStride: usize, scale: usize, bias: usize, lo: f32, hi: f32, scratch: usize,
): void {
  const vlo = f32x4.splat(lo);
  const vhi = f32x4.splat(hi);
  const mask = i16x8.splat(<i16>(0x8000 | (0x7f << e)));
  if (m == 1) {
    gemv1x16(e, n0, n1, k, x, w, c, scale, bias, vlo, vhi, mask);
    return;
  }
  if (scratch != 0 && m > 8) {
    // 3+ row strips: decode each 8-column slice once, then run every strip over it (measured:
    // 128x768x3072 +25% baseline, +7% relaxed; at M = 8 decoding inline was as fast or faster)
    for (let n = n0; n < n1; n += 8) {
      decode8(e, n, k, w, scratch, mask);
      f32TileRows(false, true, m, n, n1, k, x, xStride, scratch, c, cStride, scale, bias, vlo, vhi);
    }
    return;
  }
  let nc = (W_BLOCK_BYTES / max(k << 4, 1)) << 4;
  if (nc < 16) nc = 16;
  for (let nb = n0; nb < n1; nb += nc) {
    const ne = min(nb + nc, n1);
    for (let m0 = 0; m0 < m; m0 += 4) {
      gemm4x8(e, min(4, m - m0), nb, ne, k, x + <usize>m0 * xStride, xStride, w,
        c + <usize>m0 * cStride, cStride, scale, bias, vlo, vhi, mask);
    }
  }
}

/**
 * C[m x (n0..n1)] = clamp(x' * W * scale' + bias, lo, hi), E4M3 weights (E4M3FN codes too). x':
 * staged activations (f8w_stage_f32 with 2^(63 - b0), here 2^56), row stride xStride bytes; C row
 * stride cStride bytes; n0 a multiple of 16; scale' (= scale * 2^64) and bias (or 0) padded to the
 * panels (16 columns). scratch: K * 32 bytes this call alone uses (for M > 8: each 8-column slice is
 * decoded there once), or 0.
 */
export function f8w_e4m3_gemm_4x8(
  m: i32, n0: i32, n1: i32, k: i32, x: usize, xStride: usize, w: usize,
  c: usize, cStride: usize, scale: usize, bias: usize, lo: f32, hi: f32, scratch: usize,
): void {
  drive(4, m, n0, n1, k, x, xStride, w, c, cStride, scale, bias, lo, hi, scratch);
}

/** The same for E5M2 weights (x' staged with 2^48). */
export function f8w_e5m2_gemm_4x8(
  m: i32, n0: i32, n1: i32, k: i32, x: usize, xStride: usize, w: usize,
  c: usize, cStride: usize, scale: usize, bias: usize, lo: f32, hi: f32, scratch: usize,
): void {
  drive(5, m, n0, n1, k, x, xStride, w, c, cStride, scale, bias, lo, hi, scratch);
}

/** The same for E3M4 weights (x' staged with 2^60; with M > 8 and scratch, 2^0: the normalising decode). */
export function f8w_e3m4_gemm_4x8(
  m: i32, n0: i32, n1: i32, k: i32, x: usize, xStride: usize, w: usize,
  c: usize, cStride: usize, scale: usize, bias: usize, lo: f32, hi: f32, scratch: usize,
): void {
  drive(3, m, n0, n1, k, x, xStride, w, c, cStride, scale, bias, lo, hi, scratch);
}

/** The same for E2M5 weights (x' staged with 2^62; with M > 8 and scratch, 2^0). */
export function f8w_e2m5_gemm_4x8(
  m: i32, n0: i32, n1: i32, k: i32, x: usize, xStride: usize, w: usize,
  c: usize, cStride: usize, scale: usize, bias: usize, lo: f32, hi: f32, scratch: usize,
): void {
  drive(2, m, n0, n1, k, x, xStride, w, c, cStride, scale, bias, lo, hi, scratch);
}

/** The same for E1M6 weights (x' staged with 2^63; with M > 8 and scratch, 2^0). */
export function f8w_e1m6_gemm_4x8(
  m: i32, n0: i32, n1: i32, k: i32, x: usize, xStride: usize, w: usize,
  c: usize, cStride: usize, scale: usize, bias: usize, lo: f32, hi: f32, scratch: usize,
): void {
  drive(1, m, n0, n1, k, x, xStride, w, c, cStride, scale, bias, lo, hi, scratch);
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
