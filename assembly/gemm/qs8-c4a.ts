// qs8-c4a: exact 8-bit weights on the relaxed dot product by splitting the ACTIVATIONS, not the
// weights (relaxed build only). The relaxed dot is exact when its second operand is in [0, 127];
// c4 puts the weights there, so 8-bit weights need two 7-bit halves (twice the dots). Here the
// weights are the first (int8) operand as they are, and each uint8 activation q = lo + 128 hi with
// lo = q & 127, hi = q >> 7 is the second. hi is rare (activations cluster near their zero point),
// so a strip of 4 rows visits only the k-quads where one of its rows has hi set:
//   acc = 128 * sum over listed quads (W . hi) + sum over all quads (W . lo) = W . q
// Weights: the c4 panels (assembly/gemm/qs8.ts) holding the raw int8 W. The zero point and bias
// fold into colBias (src/kernels/qs8-c4a.ts); the epilogue is qs8's.

import { relaxedDotAdd } from '../util/simd';
// the epilogue, called: qs8-conv-direct's one copy of it (the relaxed module's size budget)
import { storeStrip } from '../conv/qs8-conv-direct';

@inline function nearestQ(v: v128, vs: v128, lo: v128, hi: v128): v128 {
  return i32x4.min_s(i32x4.max_s(i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.div(v, vs))), lo), hi);
}

// Quantizes m float32 rows (q = clamp(nearest(x / scale) + zp, 0, 255), NaN to zp: qs8_stage_f32_c4's
// q) into lo (q & 127) and hi (q >> 7) bytes, rows of kp (zero-padded), and per strip of 4 rows the
// list at list + s * (kp + 4): its count, then the byte offsets (in a row) of the k-quads with hi set;
// and at ids the byte offset of every k-quad (0, 4, .. kp - 4: the lo pass's list).
export function qs8_stage_f32_c4a(m: i32, k: i32, kp: i32, x: usize, xStride: usize, scale: f32, zp: i32, lo: usize, hi: usize, list: usize, ids: usize): void {
  if (ASC_FEATURE_RELAXED_SIMD) stage(m, k, kp, x, xStride, scale, zp, lo, hi, list, ids);
}

@inline function stage(m: i32, k: i32, kp: i32, x: usize, xStride: usize, scale: f32, zp: i32, lo: usize, hi: usize, list: usize, ids: usize): void {
  const vs = f32x4.splat(scale);
  const qlo = i32x4.splat(-zp), qhi = i32x4.splat(255 - zp), vzp = i32x4.splat(zp);
  const m7 = i8x16.splat(127);
  for (let i = 0; i < m; i++) {
    const src = x + <usize>i * xStride;
    const off = <usize>i * <usize>kp;
    let j = 0;
    for (; j + 16 <= k; j += 16) {
      const p = src + (<usize>j << 2);
      const a = i32x4.add(nearestQ(v128.load(p), vs, qlo, qhi), vzp), b = i32x4.add(nearestQ(v128.load(p, 16), vs, qlo, qhi), vzp);
      const c = i32x4.add(nearestQ(v128.load(p, 32), vs, qlo, qhi), vzp), d = i32x4.add(nearestQ(v128.load(p, 48), vs, qlo, qhi), vzp);
      const q = i8x16.narrow_i16x8_u(i16x8.narrow_i32x4_s(a, b), i16x8.narrow_i32x4_s(c, d));
      v128.store(lo + off + j, v128.and(q, m7));
      v128.store(hi + off + j, i8x16.shr_u(q, 7));
    }
    for (; j < k; j++) {
      // one lane of the vector path, so the tail rounds and saturates identically
      const q = i32x4.extract_lane(nearestQ(f32x4.splat(load<f32>(src + (<usize>j << 2))), vs, qlo, qhi), 0) + zp;
      store<u8>(lo + off + j, <u8>(q & 127));
      store<u8>(hi + off + j, <u8>(q >> 7));
    }
    for (; j < kp; j++) {
      store<u8>(lo + off + j, 0);
      store<u8>(hi + off + j, 0);
    }
  }
  for (let q = 0; q < kp; q += 4) store<i32>(ids + <usize>q, q);
  for (let m0 = 0; m0 < m; m0 += 4) {
    const r0 = hi + <usize>m0 * <usize>kp;
    const r1 = m0 + 1 < m ? r0 + <usize>kp : r0;
    const r2 = m0 + 2 < m ? r1 + <usize>kp : r1;
    const r3 = m0 + 3 < m ? r2 + <usize>kp : r2;
    const l = list + <usize>(m0 >> 2) * <usize>(kp + 4);
    let n = 0;
    for (let q = 0; q < kp; q += 4) {
      if ((load<u32>(r0 + q) | load<u32>(r1 + q) | load<u32>(r2 + q) | load<u32>(r3 + q)) != 0) {
        store<i32>(l + 4 + (<usize>n << 2), q);
        n++;
      }
    }
    store<i32>(l, n);
  }
}

// rows [m0, m0 + mr) x columns [n0, n1): two passes of one loop (one copy of it: the module's size
// budget), over the strip's list of hi quads, x128, then over every lo quad (the identity list at ids)
@inline function gemm4x8a(
  mr: i32, m0: i32, n0: i32, n1: i32, kp: i32, lo: usize, hi: usize, list: usize, ids: usize, aStride: usize, w: usize,
  prm: usize, out: usize, outStride: usize,
): void {
  const o0 = <usize>m0 * aStride;
  const o1 = mr > 1 ? o0 + aStride : o0;
  const o2 = mr > 2 ? o1 + aStride : o1;
  const o3 = mr > 3 ? o2 + aStride : o2;
  const panelBytes = <usize>kp << 3;
  const l = list + <usize>(m0 >> 2) * <usize>(kp + 4);
  const count = load<i32>(l);
  for (let n = n0; n < n1; n += 8) {
    const panel = w + <usize>(n >> 3) * panelBytes;
    let c00 = i32x4.splat(0), c01 = i32x4.splat(0);
    let c10 = i32x4.splat(0), c11 = i32x4.splat(0);
    let c20 = i32x4.splat(0), c21 = i32x4.splat(0);
    let c30 = i32x4.splat(0), c31 = i32x4.splat(0);
    for (let pass = count > 0 ? 0 : 1; pass < 2; pass++) {
      const a = pass == 0 ? hi : lo, ks = pass == 0 ? l + 4 : ids, end = ks + (<usize>(pass == 0 ? count : kp >> 2) << 2);
      const a0 = a + o0, a1 = a + o1, a2 = a + o2, a3 = a + o3;
      for (let p = ks; p < end; p += 4) {
        const k = <usize>load<i32>(p);
        const wp = panel + (k << 3);
        const w0 = v128.load(wp), w1 = v128.load(wp, 16);
        const x0 = v128.load32_splat(a0 + k);
        c00 = relaxedDotAdd(w0, x0, c00);
        c01 = relaxedDotAdd(w1, x0, c01);
        const x1 = v128.load32_splat(a1 + k);
        c10 = relaxedDotAdd(w0, x1, c10);
        c11 = relaxedDotAdd(w1, x1, c11);
        const x2 = v128.load32_splat(a2 + k);
        c20 = relaxedDotAdd(w0, x2, c20);
        c21 = relaxedDotAdd(w1, x2, c21);
        const x3 = v128.load32_splat(a3 + k);
        c30 = relaxedDotAdd(w0, x3, c30);
        c31 = relaxedDotAdd(w1, x3, c31);
      }
      if (pass == 0) {
        c00 = i32x4.shl(c00, 7);
        c01 = i32x4.shl(c01, 7);
        c10 = i32x4.shl(c10, 7);
        c11 = i32x4.shl(c11, 7);
        c20 = i32x4.shl(c20, 7);
        c21 = i32x4.shl(c21, 7);
        c30 = i32x4.shl(c30, 7);
        c31 = i32x4.shl(c31, 7);
      }
    }
    storeStrip(mr, c00, c01, c10, c11, c20, c21, c30, c31, prm, m0, n, n1 - n, out, outStride);
  }
}

const W_BLOCK_BYTES: i32 = 256 * 1024;

// m rows (a multiple of 4 from row 0 of the staging: lo, hi and list start at this call's row 0) x
// columns [n0, n1); lo and hi rows aStride (= kp) bytes apart
export function qs8_gemm_4x8c4a_relaxed(
  m: i32, n0: i32, n1: i32, kp: i32, lo: usize, hi: usize, list: usize, ids: usize, aStride: usize, w: usize, prm: usize, out: usize, outStride: usize,
): void {
  if (ASC_FEATURE_RELAXED_SIMD) drive(m, n0, n1, kp, lo, hi, list, ids, aStride, w, prm, out, outStride);
}

@inline function drive(
  m: i32, n0: i32, n1: i32, kp: i32, lo: usize, hi: usize, list: usize, ids: usize, aStride: usize, w: usize, prm: usize, out: usize, outStride: usize,
): void {
  let nc = (W_BLOCK_BYTES / (kp << 3)) << 3;
  if (nc < 8) nc = 8;
  for (let nb = n0; nb < n1; nb += nc) {
    const ne = min(nb + nc, n1);
    for (let m0 = 0; m0 < m; m0 += 4) gemm4x8a(min(4, m - m0), m0, nb, ne, kp, lo, hi, list, ids, aStride, w, prm, out, outStride);
  }
}
