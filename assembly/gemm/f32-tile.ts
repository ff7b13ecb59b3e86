// The 4x8 float32 tile that the f32 GEMM and the f8w GEMM share, and the in-register FP8 decode it
// can read its weights through. A tile: 4 rows of activations a0..a3 (a short strip aliases its
// missing rows to a real one) times the 8 weight columns [n, n + 8) over K, in 8 accumulator
// vectors (products added in k order, relaxedMulAdd: mul then add in the baseline build), then
// the epilogue for columns [n, min(n + 8, n1)) of output rows c0..c3. Modes, constant at each inlined call:
//   codes = false: float32 weights, K rows of 8 at wp, 32 bytes apart (f32 panels, f8w's decoded
//                  slices);  true: FP8 codes, K rows of 8 at wp, 16 bytes apart (one half of an
//                  f8w panel row), decoded in registers (fp8Codes8, fp8Low4/fp8High4; e, mask)
//   scaled = false: y = clamp(acc + bias, lo, hi);  true: clamp(acc * scale + bias, lo, hi)
//   exact = false: products added with relaxedMulAdd (fused where the relaxed build's CPU fuses);
//           true: mul then add in every build (bit-identical across builds: W4A32's rows)
// (bias and, for scaled, scale: float32 per column, padded to whole panels; bias may be 0.)

import { clampLanes, mulThenAdd, relaxedMulAdd, storeLanes8 } from '../util/simd';

// 8 codes of 1 sign, e exponent and 7 - e mantissa bits at p -> int16 lanes (S << 15) | (magnitude
// << e); mask: 0x8000 | (0x7f << e) in every lane (E4M3 0x87f0, E5M2 0x8fe0; f8w.ts explains the decode)
@inline export function fp8Codes8(p: usize, offset: usize, e: i32, mask: v128): v128 {
  const b = v128.load8x8_s(p + offset);
  return v128.and(i16x8.shl(b, e), mask);
}

// Normalising decode, for f8w's decode-once GEMM path with e <= 3 (f8w.ts says why): from h of
// fp8Codes8, the int16 lanes hh = h + (63 - b0) << 7, with 1 << 7 more where the exponent field is 0,
// and cc = sign | exponent of hh where the field was 0, else 0. As float32 (fpxLow4/fpxHigh4),
// hh - cc is the code's value times 2^-64 (b0 = 2^(e-1) - 1), and never a float32 subnormal.
@inline export function fpxNormal8(h: v128, e: i32, sub: v128): v128 {
  const off: i32 = (64 - (1 << (e - 1))) << 7;
  return i16x8.sub(i16x8.add(h, i16x8.splat(<i16>off)), i16x8.shl(sub, 7));
}
@inline export function fpxSub8(h: v128, e: i32): v128 {
  const field: i32 = ((1 << e) - 1) << 7;
  return i16x8.eq(v128.and(h, i16x8.splat(<i16>field)), i16x8.splat(0));
}
@inline export function fpxCorr8(hh: v128, sub: v128): v128 {
  return v128.and(sub, v128.and(hh, i16x8.splat(<i16>0xff80)));
}
@inline export function fpxLow4(hh: v128, cc: v128): v128 {
  return f32x4.sub(fp8Low4(hh), fp8Low4(cc));
}
@inline export function fpxHigh4(hh: v128, cc: v128): v128 {
  return f32x4.sub(fp8High4(hh), fp8High4(cc));
}

// int16 lanes 0..3 / 4..7 -> upper halves of 32-bit lanes (the float32 bits of fp8 * 2^-120 or 2^-112)
@inline export function fp8Low4(h: v128): v128 {
  return i8x16.shuffle(i8x16.splat(0), h, 0, 1, 16, 17, 2, 3, 18, 19, 4, 5, 20, 21, 6, 7, 22, 23);
}
@inline export function fp8High4(h: v128): v128 {
  return i8x16.shuffle(i8x16.splat(0), h, 8, 9, 24, 25, 10, 11, 26, 27, 12, 13, 28, 29, 14, 15, 30, 31);
}

@inline function finishScaled(acc: v128, scale: v128, bias: v128, lo: v128, hi: v128): v128 {
  return clampLanes(f32x4.add(f32x4.mul(acc, scale), bias), lo, hi);
}

@inline function finish(acc: v128, bias: v128, lo: v128, hi: v128): v128 {
  return clampLanes(f32x4.add(acc, bias), lo, hi);
}

// one output row's columns [n, n + nr) (nr <= 0: none) at c: clamp(acc * scale + bias, lo, hi)
@inline export function storeScaledRow8(c: usize, n: i32, nr: i32, a0: v128, a1: v128, scale: usize, bias: usize, lo: v128, hi: v128): void {
  if (nr <= 0) return;
  const nb = <usize>n << 2;
  const s0 = v128.load(scale + nb);
  const s1 = v128.load(scale + nb, 16);
  const b0 = bias != 0 ? v128.load(bias + nb) : f32x4.splat(0);
  const b1 = bias != 0 ? v128.load(bias + nb, 16) : f32x4.splat(0);
  storeLanes8(c + nb, finishScaled(a0, s0, b0, lo, hi), finishScaled(a1, s1, b1, lo, hi), nr);
}

@inline function madd(exact: bool, a: v128, b: v128, c: v128): v128 {
  return exact ? mulThenAdd(a, b, c) : relaxedMulAdd(a, b, c);
}

@inline export function f32Tile4x8(
  exact: bool, codes: bool, e: i32, mask: v128, scaled: bool, k: i32, a0: usize, a1: usize, a2: usize, a3: usize, w: usize,
  c0: usize, c1: usize, c2: usize, c3: usize, n: i32, n1: i32, scale: usize, bias: usize, lo: v128, hi: v128,
): void {
  let wp = w;
  const aBytes = <usize>k << 2;
  let x00 = f32x4.splat(0), x01 = f32x4.splat(0);
  let x10 = f32x4.splat(0), x11 = f32x4.splat(0);
  let x20 = f32x4.splat(0), x21 = f32x4.splat(0);
  let x30 = f32x4.splat(0), x31 = f32x4.splat(0);
  for (let kk: usize = 0; kk < aBytes; kk += 4) {
    let w0: v128, w1: v128;
    if (codes) {
      const h = fp8Codes8(wp, 0, e, mask);
      w0 = fp8Low4(h);
      w1 = fp8High4(h);
    } else {
      w0 = v128.load(wp);
      w1 = v128.load(wp, 16);
    }
    const v0 = v128.load32_splat(a0 + kk);
    x00 = madd(exact, v0, w0, x00);
    x01 = madd(exact, v0, w1, x01);
    const v1 = v128.load32_splat(a1 + kk);
    x10 = madd(exact, v1, w0, x10);
    x11 = madd(exact, v1, w1, x11);
    const v2 = v128.load32_splat(a2 + kk);
    x20 = madd(exact, v2, w0, x20);
    x21 = madd(exact, v2, w1, x21);
    const v3 = v128.load32_splat(a3 + kk);
    x30 = madd(exact, v3, w0, x30);
    x31 = madd(exact, v3, w1, x31);
    wp += codes ? 16 : 32;
  }
  const nr = n1 - n;
  // aliased rows (a short strip) recompute a real row, so storing them again writes the same values
  if (scaled) {
    storeScaledRow8(c3, n, nr, x30, x31, scale, bias, lo, hi);
    storeScaledRow8(c2, n, nr, x20, x21, scale, bias, lo, hi);
    storeScaledRow8(c1, n, nr, x10, x11, scale, bias, lo, hi);
    storeScaledRow8(c0, n, nr, x00, x01, scale, bias, lo, hi);
  } else {
    const nb = <usize>n << 2;
    const b0 = bias != 0 ? v128.load(bias + nb) : f32x4.splat(0);
    const b1 = bias != 0 ? v128.load(bias + nb, 16) : f32x4.splat(0);
    storeLanes8(c3 + nb, finish(x30, b0, lo, hi), finish(x31, b1, lo, hi), nr);
    storeLanes8(c2 + nb, finish(x20, b0, lo, hi), finish(x21, b1, lo, hi), nr);
    storeLanes8(c1 + nb, finish(x10, b0, lo, hi), finish(x11, b1, lo, hi), nr);
    storeLanes8(c0 + nb, finish(x00, b0, lo, hi), finish(x01, b1, lo, hi), nr);
  }
}

// rows [0, m) x columns [n, min(n + 8, n1)) from float32 weights decoded at d (K rows of 8): the
// tile over strips of 4 rows (for paths that decode a panel once and run every row over it)
@inline export function f32TileRows(
  exact: bool, scaled: bool, m: i32, n: i32, n1: i32, k: i32, a: usize, aStride: usize, d: usize,
  c: usize, cStride: usize, scale: usize, bias: usize, lo: v128, hi: v128,
): void {
  for (let m0 = 0; m0 < m; m0 += 4) {
    const mr = min(4, m - m0);
    const a0 = a + <usize>m0 * aStride;
    const a1 = mr > 1 ? a0 + aStride : a0;
    const a2 = mr > 2 ? a1 + aStride : a1;
    const a3 = mr > 3 ? a2 + aStride : a2;
    const c0 = c + <usize>m0 * cStride;
    const c1 = mr > 1 ? c0 + cStride : c0;
    const c2 = mr > 2 ? c1 + cStride : c1;
    const c3 = mr > 3 ? c2 + cStride : c2;
    f32Tile4x8(exact, false, 0, f32x4.splat(0), scaled, k, a0, a1, a2, a3, d, c0, c1, c2, c3, n, n1, scale, bias, lo, hi);
  }
}
