// INT8 x INT8 matrix multiplication with int32 accumulation (the "qs8" family).
//
//   acc[m][n] = sum_k A'[m][k] * W'[k][n]                    (exact, modulo 2^32)
//   C[m][n]   = acc[m][n] + colBias[n] + colFactor[n] * rowSum[m]
//
// The host stages A' and packs W', and folds every zero point and offset into colBias, colFactor
// and rowSum (see src/kernels/qs8.ts), so the kernel never sees a zero point. The epilogue then
// writes C as int32, requantizes it to 8 bits (QLinearMatMul), or dequantizes it to float32.
//
// Baseline build, "c2" layout: A' is int16 (staged, zero-padded to Kp = K rounded up to 2); W' is
// int8 in panels of NR = 8 columns, each k-pair of the panel 16 bytes:
//
//   panel p, k-pair j:  | c0 k0 | c0 k1 | c1 k0 | c1 k1 | ... | c7 k0 | c7 k1 |   (c = 8p + 0..7)
//
// so a 32-bit splat of A'[m][2j..2j+1] against the sign-extended halves of one 16-byte row gives
// four columns each through i32x4.dot_i16x8_s. Panels are Kp * 8 bytes, one after another.
//
// Relaxed build, "c4" layout for 7-bit weights: A' is int8 (zero-padded to Kp = K rounded up to 4),
// W' in [0, 127] in panels of 8 columns, each k-quad of the panel 32 bytes:
//
//   panel p, k-quad j:  | c0 k0..k3 | c1 k0..k3 | c2 .. | c3 .. | c4 .. | c5 .. | c6 .. | c7 .. |
//
// i32x4.relaxed_dot_i8x16_i7x16_add_s is the same on every engine and CPU when its second operand is
// in [0, 127] (x86 reads it unsigned, ARM signed), so the result is exact everywhere.
//
// A third layout, "w16" (int16 weight panels, A' in 4-row strips; for M >= 16), is in qs8-w16.ts.
//
// N is padded to a multiple of 8 with zero columns; colBias/colFactor (and the epilogue's per-column
// arrays) are padded the same way. Rows are processed in strips of MR = 4; a short strip aliases its
// missing rows to its last real row and stores only real rows.

import { relaxedDotAdd } from '../util/simd';
import { epilogue, stripEpilogue } from './qs8-epilogue';

// ---------------------------------------------------------------------------------------------
// microkernels. relaxed (a constant at each inlined call) picks the layout: false, c2 (int16 A',
// int8 weights sign-extended by the load, i32x4.dot_i16x8_s); true, c4 (int8 A', 7-bit weights,
// the relaxed dot product). Either way each 4 bytes of a row of A' meet 8 columns of W' per step.

// 4 columns of weights: c2, 8 int8 sign-extended to int16 at wp + offset; c4, 16 bytes at
// wp + 2 offset (offset a constant at each inlined call, kept in the load's immediate)
@inline function weights(relaxed: bool, wp: usize, offset: i32): v128 {
  if (offset == 0) return relaxed ? v128.load(wp) : v128.load8x8_s(wp);
  if (offset == 8) return relaxed ? v128.load(wp, 16) : v128.load8x8_s(wp, 8);
  if (offset == 16) return relaxed ? v128.load(wp, 32) : v128.load8x8_s(wp, 16);
  return relaxed ? v128.load(wp, 48) : v128.load8x8_s(wp, 24);
}

// c + the dot products of the 4 A' bytes splat in x with the weight vector w
@inline function dotAdd(relaxed: bool, c: v128, x: v128, w: v128): v128 {
  return relaxed ? relaxedDotAdd(x, w, c) : i32x4.add(c, i32x4.dot_i16x8_s(x, w));
}

// rows [m0, m0 + mr) x columns [n0, n1), n0 a multiple of 8
@inline function gemm4x8(
  relaxed: bool, mr: i32, m0: i32, n0: i32, n1: i32, kp: i32, a: usize, aStride: usize, w: usize,
  prm: usize, out: usize, outStride: usize,
): void {
  const a0 = a + <usize>m0 * aStride;
  const a1 = mr > 1 ? a0 + aStride : a0;
  const a2 = mr > 2 ? a1 + aStride : a1;
  const a3 = mr > 3 ? a2 + aStride : a2;
  const panelBytes = <usize>kp << 3;
  const aBytes = relaxed ? <usize>kp : <usize>kp << 1;
  for (let n = n0; n < n1; n += 8) {
    let wp = w + <usize>(n >> 3) * panelBytes;
    let c00 = i32x4.splat(0), c01 = i32x4.splat(0);
    let c10 = i32x4.splat(0), c11 = i32x4.splat(0);
    let c20 = i32x4.splat(0), c21 = i32x4.splat(0);
    let c30 = i32x4.splat(0), c31 = i32x4.splat(0);
    for (let k: usize = 0; k < aBytes; k += 4) {
      const w0 = weights(relaxed, wp, 0);
      const w1 = weights(relaxed, wp, 8);
      const x0 = v128.load32_splat(a0 + k);
      c00 = dotAdd(relaxed, c00, x0, w0);
      c01 = dotAdd(relaxed, c01, x0, w1);
      const x1 = v128.load32_splat(a1 + k);
      c10 = dotAdd(relaxed, c10, x1, w0);
      c11 = dotAdd(relaxed, c11, x1, w1);
      const x2 = v128.load32_splat(a2 + k);
      c20 = dotAdd(relaxed, c20, x2, w0);
      c21 = dotAdd(relaxed, c21, x2, w1);
      const x3 = v128.load32_splat(a3 + k);
      c30 = dotAdd(relaxed, c30, x3, w0);
      c31 = dotAdd(relaxed, c31, x3, w1);
      wp += relaxed ? 32 : 16;
    }
    stripEpilogue(mr, c00, c01, c10, c11, c20, c21, c30, c31, prm, m0, n, n1 - n, out, outStride);
  }
}

// one row x columns [n0, n1): one panel at a time, two steps of K per iteration into two
// accumulator sets. GEMV is memory-bound: a single sequential stream of W ran ~1.3x faster here
// than reading two panels side by side (measured 1x4096x11008: 50 vs 37 GOPS).
@inline function gemv1x8(
  relaxed: bool, m0: i32, n0: i32, n1: i32, kp: i32, a: usize, aStride: usize, w: usize, prm: usize, out: usize, outStride: usize,
): void {
  const a0 = a + <usize>m0 * aStride;
  const panelBytes = <usize>kp << 3;
  const aBytes = relaxed ? <usize>kp : <usize>kp << 1;
  const aPairs = aBytes & ~<usize>7; // bytes of A covered by whole double steps
  for (let n = n0; n < n1; n += 8) {
    let wp = w + <usize>(n >> 3) * panelBytes;
    let c0 = i32x4.splat(0), c1 = i32x4.splat(0), c2 = i32x4.splat(0), c3 = i32x4.splat(0);
    let k: usize = 0;
    for (; k < aPairs; k += 8) {
      const x = v128.load32_splat(a0 + k);
      c0 = dotAdd(relaxed, c0, x, weights(relaxed, wp, 0));
      c1 = dotAdd(relaxed, c1, x, weights(relaxed, wp, 8));
      const y = v128.load32_splat(a0 + k, 4);
      c2 = dotAdd(relaxed, c2, y, weights(relaxed, wp, 16));
      c3 = dotAdd(relaxed, c3, y, weights(relaxed, wp, 24));
      wp += relaxed ? 64 : 32;
    }
    if (k < aBytes) {
      const x = v128.load32_splat(a0 + k);
      c0 = dotAdd(relaxed, c0, x, weights(relaxed, wp, 0));
      c1 = dotAdd(relaxed, c1, x, weights(relaxed, wp, 8));
    }
    const nr = n1 - n;
    epilogue(i32x4.add(c0, c2), prm, m0, n, nr, out, outStride);
    epilogue(i32x4.add(c1, c3), prm, m0, n + 4, nr - 4, out, outStride);
  }
}

// ---------------------------------------------------------------------------------------------
// drivers: columns [n0, n1) in cache blocks of W, rows in strips of 4. A thread owns a column range.
// a: staged A' (row stride aStride bytes); out: output (row stride outStride bytes, element size
// by kind), both indexed from row 0 and column 0 of the whole problem.

const W_BLOCK_BYTES: i32 = 256 * 1024;

@inline function drive(
  relaxed: bool, m: i32, n0: i32, n1: i32, kp: i32, a: usize, aStride: usize, w: usize,
  prm: usize, out: usize, outStride: usize,
): void {
  if (m == 1) {
    gemv1x8(relaxed, 0, n0, n1, kp, a, aStride, w, prm, out, outStride);
    return;
  }
  let nc = (W_BLOCK_BYTES / (kp << 3)) << 3;
  if (nc < 8) nc = 8;
  for (let nb = n0; nb < n1; nb += nc) {
    const ne = min(nb + nc, n1);
    for (let m0 = 0; m0 < m; m0 += 4) {
      gemm4x8(relaxed, min(4, m - m0), m0, nb, ne, kp, a, aStride, w, prm, out, outStride);
    }
  }
}

export function qs8_gemm_4x8c2(
  m: i32, n0: i32, n1: i32, kp: i32, a: usize, aStride: usize, w: usize, prm: usize, out: usize, outStride: usize,
): void {
  drive(false, m, n0, n1, kp, a, aStride, w, prm, out, outStride);
}

export function qs8_gemm_4x8c4_relaxed(
  m: i32, n0: i32, n1: i32, kp: i32, a: usize, aStride: usize, w: usize, prm: usize, out: usize, outStride: usize,
): void {
  if (ASC_FEATURE_RELAXED_SIMD) drive(true, m, n0, n1, kp, a, aStride, w, prm, out, outStride);
}

// ---------------------------------------------------------------------------------------------
// staging: 8-bit A (row stride k bytes) -> A' rows of kp elements, zero padded, plus row sums of A'.
// c2 (baseline): A' = A - za as int16. c4 (relaxed): A' = A as int8, uint8 flipped to A - 128.

export function qs8_stage_c2(m: i32, k: i32, kp: i32, a: usize, signed: bool, za: i32, out: usize, rowSum: usize): void {
  const vza = i16x8.splat(<i16>za);
  for (let i = 0; i < m; i++) {
    const src = a + <usize>i * <usize>k;
    const dst = out + <usize>i * (<usize>kp << 1);
    let sum = i32x4.splat(0);
    let j = 0;
    for (; j + 8 <= k; j += 8) {
      const x = i16x8.sub(signed ? v128.load8x8_s(src + j) : v128.load8x8_u(src + j), vza);
      v128.store(dst + (<usize>j << 1), x);
      sum = i32x4.add(sum, i32x4.extadd_pairwise_i16x8_s(x));
    }
    let s = i32x4.extract_lane(sum, 0) + i32x4.extract_lane(sum, 1) + i32x4.extract_lane(sum, 2) + i32x4.extract_lane(sum, 3);
    for (; j < k; j++) {
      const x = (signed ? <i32>load<i8>(src + j) : <i32>load<u8>(src + j)) - za;
      store<i16>(dst + (<usize>j << 1), <i16>x);
      s += x;
    }
    for (; j < kp; j++) store<i16>(dst + (<usize>j << 1), 0);
    store<i32>(rowSum + (<usize>i << 2), s);
  }
}

// QuantizeLinear to uint8 and c2 staging in one pass, for float32 activations: per element
// q = clamp(nearest(x / scale) + zp, 0, 255) (ONNX semantics: IEEE division, ties to even), stored
// as the int16 q - zp. Row sums as qs8_stage_c2. x rows are xStride bytes apart.
export function qs8_stage_f32_c2(m: i32, k: i32, kp: i32, x: usize, xStride: usize, scale: f32, zp: i32, out: usize, rowSum: usize): void {
  const vs = f32x4.splat(scale);
  const lo = i32x4.splat(-zp), hi = i32x4.splat(255 - zp);
  for (let i = 0; i < m; i++) {
    const src = x + <usize>i * xStride;
    const dst = out + <usize>i * (<usize>kp << 1);
    let sum = i32x4.splat(0);
    let j = 0;
    for (; j + 8 <= k; j += 8) {
      const q0 = i32x4.min_s(i32x4.max_s(i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.div(v128.load(src + (<usize>j << 2)), vs))), lo), hi);
      const q1 = i32x4.min_s(i32x4.max_s(i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.div(v128.load(src + (<usize>j << 2), 16), vs))), lo), hi);
      const h = i16x8.narrow_i32x4_s(q0, q1);
      v128.store(dst + (<usize>j << 1), h);
      sum = i32x4.add(sum, i32x4.add(q0, q1));
    }
    let s = i32x4.extract_lane(sum, 0) + i32x4.extract_lane(sum, 1) + i32x4.extract_lane(sum, 2) + i32x4.extract_lane(sum, 3);
    for (; j < k; j++) {
      // one lane of the vector path, so the tail rounds and saturates identically
      const qv = i32x4.min_s(i32x4.max_s(i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.div(f32x4.splat(load<f32>(src + (<usize>j << 2))), vs))), lo), hi);
      const q = i32x4.extract_lane(qv, 0);
      store<i16>(dst + (<usize>j << 1), <i16>q);
      s += q;
    }
    for (; j < kp; j++) store<i16>(dst + (<usize>j << 1), 0);
    store<i32>(rowSum + (<usize>i << 2), s);
  }
}

export function qs8_stage_c4(m: i32, k: i32, kp: i32, a: usize, signed: bool, out: usize, rowSum: usize): void {
  const flip = i8x16.splat(signed ? 0 : -128);
  for (let i = 0; i < m; i++) {
    const src = a + <usize>i * <usize>k;
    const dst = out + <usize>i * <usize>kp;
    let sum = i32x4.splat(0);
    let j = 0;
    for (; j + 16 <= k; j += 16) {
      const x = v128.xor(v128.load(src + j), flip);
      v128.store(dst + j, x);
      sum = i32x4.add(sum, i32x4.extadd_pairwise_i16x8_s(i16x8.extadd_pairwise_i8x16_s(x)));
    }
    let s = i32x4.extract_lane(sum, 0) + i32x4.extract_lane(sum, 1) + i32x4.extract_lane(sum, 2) + i32x4.extract_lane(sum, 3);
    for (; j < k; j++) {
      const x: i32 = signed ? <i32>load<i8>(src + j) : <i32>load<u8>(src + j) - 128;
      store<i8>(dst + j, <i8>x);
      s += x;
    }
    for (; j < kp; j++) store<i8>(dst + j, 0);
    store<i32>(rowSum + (<usize>i << 2), s);
  }
}
