// 4-bit block-quantized weights x 8-bit activations -> float32 (the "qb4" family, W4A8).
//
//   y[m][n] = bias[n] + sum_b s[n][b] * (sa[m][b] * acc[m][n][b] - z[n][b] * asum[m][b])
//   acc[m][n][b] = sum_{k in block b} A[m][k] * q[k][n]           (exact int32)
//
// q in [0, 15] are the stored nibbles, z the block's zero point (8 when symmetric), s its scale;
// A are int8 activations with a scale sa per row and block (per row when all blocks share one),
// asum[m][b] = sa[m][b] * sum_{k in b} A[m][k] (the host computes it while quantizing A).
// Blocks are bs = 16..256 values of K (a multiple of 8); K is zero-padded to whole blocks.
//
// Baseline, "s4" shift layout: A' is int16; W in panels of 16 columns, 16 bytes (8 int16 lanes) per
// pair of K (k, k+1), the pairs in order, panels one after another (kp * 8 bytes each):
//
//   lane:     0      1      2      3      4      5      6      7
//   k:        k      k+1    k      k+1    k      k+1    k      k+1
//   bits 0-3:   c0     c0     c1     c1     c2     c2     c3     c3
//   bits 4-7:   c4     c4     c5     c5     c6     c6     c7     c7
//   bits 8-11:  c8     c8     c9     c9     c10    c10    c11    c11
//   bits 12-15: c12^8  c12^8  c13^8  c13^8  c14^8  c14^8  c15^8  c15^8    (top nibble stored xor 8)
//
// Read as signed, a lane is v = q0 + 16 q1 + 256 q2 + 4096 (q3 - 8) exactly, so the arithmetic shifts
// v >> 4j = floor(v / 16^j) hold q_j + 16 q_(j+1) + ... and, with x the splat of (A[k], A[k+1]),
//   D_j = sum_pairs i32x4.dot_i16x8_s(x, v >> 4j)        (columns 4j..4j+3, i32 lane = column)
//   acc(columns 4j..4j+3) = D_j - 16 D_(j+1)  (j < 3),   acc(columns 12..15) = D_3 + 8 * isum
// with isum the integer sum of A over the block (activation metadata). |D_j| <= 2 * 127 * 32768 per
// pair and a block has at most 128 pairs: no int32 overflow (and the identities are exact mod 2^32
// anyway). Per 16 weight bytes: one load, one activation splat, 3 shifts, 4 dots, 4 adds (the "c2"
// nibble layout it replaced, two int8 rows per byte vector, needed 18: and, shift + and, 4
// widenings, 2 splats, 4 dots, 4 adds). acc is the exact integer, so the float32 block update is
// the same as on every other layout (bit-identical to the scalar reference); zero points are
// unchanged (no z - 8 folding needed).
// Measured against c2 (bench/qb4-layouts.mjs at commit da228ba, where both existed; 1 thread,
// weights rotated over 3x L3, 5 interleaved rounds, outputs bit-identical): GEMV 1x4096x4096
// 0.826 -> 0.719 ms (1.05x -> 1.20x of our INT8 GEMV), 1x4096x11008 2.25 -> 2.06 ms (1.16x ->
// 1.27x); GEMM 8x4096x4096 6.59 -> 6.13 ms. c2 was then removed. Unrolling the GEMV loop by two
// pairs measured no change (3 A/B runs, ratios to INT8 within noise): the loop is bound by its
// 13 SIMD ops per 32 weights, not by loop overhead.
//
// Relaxed, "c4" nibble layout: A' is int8; W in panels of 8 columns, 32 bytes per 8 values of K:
//   bytes 0..15, low nibbles:  | c0 k0..k3 | c1 k0..k3 | c2 k0..k3 | c3 k0..k3 |, high: k4..k7
//   bytes 16..31: the same for c4..c7
// A nibble is in [0, 15], inside the [0, 127] where i32x4.relaxed_dot_i8x16_i7x16_add_s means the
// same on every engine and CPU, so the 4-bit path is exact with the relaxed dot product directly.
//
// Per panel and block, scales (and zero points, when asymmetric) are one float32 per column of the
// panel (16 on s4, 8 on c4): scales[(panel * blocks + b) * NR + c]. A and aMeta come from
// act_blocks_quantize_f32 (quant/act-blocks.ts): per row and block, sa (ACT_BLOCK_SCALE), asum
// (ACT_BLOCK_SCALED_SUM) and isum (ACT_BLOCK_SUM), ACT_BLOCK_BYTES apart (params.ts).


import { ACT_BLOCK_BYTES, ACT_BLOCK_SCALE, ACT_BLOCK_SCALED_SUM, ACT_BLOCK_SUM } from '../params';
import { nibbleS4 } from './qb4-s4';
import { highNibbles, mulThenAdd, relaxedDot16, relaxedDotAdd, storeLanes8, storeLanes16 } from '../util/simd';

// y += s * (sa * float(acc) - z * asum)
@inline function blockUpdate(y: v128, acc: v128, s: v128, z: v128, sa: v128, asum: v128): v128 {
  return f32x4.add(y, f32x4.mul(s, f32x4.sub(f32x4.mul(sa, f32x4.convert_i32x4_s(acc)), f32x4.mul(z, asum))));
}

// the same with za = z * asum formed by the caller
@inline function blockUpdateZa(y: v128, acc: v128, s: v128, za: v128, sa: v128): v128 {
  return f32x4.add(y, f32x4.mul(s, f32x4.sub(f32x4.mul(sa, f32x4.convert_i32x4_s(acc)), za)));
}

// ---------------------------------------------------------------------------------------------
// GEMV: one row, accumulators for 8 columns stay in registers across blocks

// The relaxed GEMV sums nibble products in int16 lanes (i16x8.relaxed_dot_i8x16_i7x16_s is a single
// pmaddubsw on x86, a third of the i32 form) and widens once per 32 values of K: a lane gathers
// 8 pair sums of at most 2 * 128 * 15 = 3840, so |sum| <= 30720 fits int16 exactly.
// (measured 1x4096x11008: 57 vs 45 GOPS for the int32 form)
@inline function gemvC4(
  n0: i32, n1: i32, kp: i32, bs: i32, a: usize, aMeta: usize, w: usize, scales: usize, zeros: usize,
  bias: usize, out: usize,
): void {
  const blocks = kp / bs;
  const panelBytes = <usize>kp << 2;
  const mask = i8x16.splat(0x0f);
  const chunk: usize = bs < 32 ? <usize>bs : 32;
  for (let n = n0; n < n1; n += 8) {
    const p = <usize>(n >> 3);
    let wp = w + p * panelBytes;
    let sp = scales + p * <usize>blocks * 32;
    let zp = zeros != 0 ? zeros + p * <usize>blocks * 32 : 0;
    // start from the bias so GEMV and GEMM add in the same order (bit-identical results)
    const nb = <usize>n << 2;
    let y0 = bias != 0 ? v128.load(bias + nb) : f32x4.splat(0);
    let y1 = bias != 0 ? v128.load(bias + nb, 16) : f32x4.splat(0);
    let ap = a;
    let mp = aMeta;
    for (let b = 0; b < blocks; b++) {
      let c0 = i32x4.splat(0);
      let c1 = i32x4.splat(0);
      for (let ch: usize = 0; ch < <usize>bs; ch += chunk) {
        let h0 = i16x8.splat(0);
        let h1 = i16x8.splat(0);
        for (let k: usize = 0; k < chunk; k += 8) {
          const x0 = v128.load32_splat(ap + k);
          const x1 = v128.load32_splat(ap + k, 4);
          const v0 = v128.load(wp);
          h0 = i16x8.add(h0, relaxedDot16(x0, v128.and(v0, mask)));
          h0 = i16x8.add(h0, relaxedDot16(x1, highNibbles(v0)));
          const v1 = v128.load(wp, 16);
          h1 = i16x8.add(h1, relaxedDot16(x0, v128.and(v1, mask)));
          h1 = i16x8.add(h1, relaxedDot16(x1, highNibbles(v1)));
          wp += 32;
        }
        c0 = i32x4.add(c0, i32x4.extadd_pairwise_i16x8_s(h0));
        c1 = i32x4.add(c1, i32x4.extadd_pairwise_i16x8_s(h1));
        ap += chunk;
      }
      const sa = v128.load32_splat(mp, ACT_BLOCK_SCALE);
      const as = v128.load32_splat(mp, ACT_BLOCK_SCALED_SUM);
      const z0 = zp != 0 ? v128.load(zp) : f32x4.splat(8);
      const z1 = zp != 0 ? v128.load(zp, 16) : f32x4.splat(8);
      y0 = blockUpdate(y0, c0, v128.load(sp), z0, sa, as);
      y1 = blockUpdate(y1, c1, v128.load(sp, 16), z1, sa, as);
      mp += ACT_BLOCK_BYTES;
      sp += 32;
      if (zp != 0) zp += 32;
    }
    storeLanes8(out + nb, y0, y1, n1 - n);
  }
}

// ---------------------------------------------------------------------------------------------
// GEMM: strips of 4 rows; the float32 outputs accumulate in memory block by block

@inline function gemmStripC4(
  mr: i32, n0: i32, n1: i32, kp: i32, bs: i32, a: usize, aStride: usize, aMeta: usize, metaStride: usize,
  w: usize, scales: usize, zeros: usize, out: usize, outStride: usize,
): void {
  const blocks = kp / bs;
  const panelBytes = <usize>kp << 2;
  const mask = i8x16.splat(0x0f);
  const a1o: usize = mr > 1 ? aStride : 0;
  const a2o: usize = mr > 2 ? 2 * aStride : a1o;
  const a3o: usize = mr > 3 ? 3 * aStride : a2o;
  for (let n = n0; n < n1; n += 8) {
    const p = <usize>(n >> 3);
    let wp = w + p * panelBytes;
    let sp = scales + p * <usize>blocks * 32;
    let zp = zeros != 0 ? zeros + p * <usize>blocks * 32 : 0;
    let ap = a;
    let mp = aMeta;
    const yp = out + (<usize>n << 2);
    for (let b = 0; b < blocks; b++) {
      let c00 = i32x4.splat(0), c01 = i32x4.splat(0);
      let c10 = i32x4.splat(0), c11 = i32x4.splat(0);
      let c20 = i32x4.splat(0), c21 = i32x4.splat(0);
      let c30 = i32x4.splat(0), c31 = i32x4.splat(0);
      for (let k: usize = 0; k < <usize>bs; k += 8) {
        const v0 = v128.load(wp);
        const v1 = v128.load(wp, 16);
        let w0 = v128.and(v0, mask);
        let w1 = v128.and(v1, mask);
        let x = v128.load32_splat(ap + k);
        c00 = relaxedDotAdd(x, w0, c00);
        c01 = relaxedDotAdd(x, w1, c01);
        x = v128.load32_splat(ap + a1o + k);
        c10 = relaxedDotAdd(x, w0, c10);
        c11 = relaxedDotAdd(x, w1, c11);
        x = v128.load32_splat(ap + a2o + k);
        c20 = relaxedDotAdd(x, w0, c20);
        c21 = relaxedDotAdd(x, w1, c21);
        x = v128.load32_splat(ap + a3o + k);
        c30 = relaxedDotAdd(x, w0, c30);
        c31 = relaxedDotAdd(x, w1, c31);
        w0 = highNibbles(v0);
        w1 = highNibbles(v1);
        x = v128.load32_splat(ap + k, 4);
        c00 = relaxedDotAdd(x, w0, c00);
        c01 = relaxedDotAdd(x, w1, c01);
        x = v128.load32_splat(ap + a1o + k, 4);
        c10 = relaxedDotAdd(x, w0, c10);
        c11 = relaxedDotAdd(x, w1, c11);
        x = v128.load32_splat(ap + a2o + k, 4);
        c20 = relaxedDotAdd(x, w0, c20);
        c21 = relaxedDotAdd(x, w1, c21);
        x = v128.load32_splat(ap + a3o + k, 4);
        c30 = relaxedDotAdd(x, w0, c30);
        c31 = relaxedDotAdd(x, w1, c31);
        wp += 32;
      }
      stripUpdate(mr, c00, c01, c10, c11, c20, c21, c30, c31, sp, zp, mp, metaStride, yp, outStride);
      ap += <usize>bs;
      mp += ACT_BLOCK_BYTES;
      sp += 32;
      if (zp != 0) zp += 32;
    }
  }
}

// Relaxed strip for blocks of at most 32 values of K: int16 accumulators (see gemvC4), widened
// once per block. Larger blocks take gemmStripC4, whose int32 accumulators need no widening.
// Kept as its own copy of gemmStripC4's loop on purpose: one strip with a constant `short` flag
// (as lut4's gemmStripC4) let Binaryen fold `if (bs <= 32) strip(true) else strip(false)` into one
// body with a runtime flag and both dot products in the loop, and calling it through two small
// functions instead measured 5-9% slower on the relaxed GEMM (128x768x3072, in-process A/B).
@inline function gemmStripC4Short(
  mr: i32, n0: i32, n1: i32, kp: i32, bs: i32, a: usize, aStride: usize, aMeta: usize, metaStride: usize,
  w: usize, scales: usize, zeros: usize, out: usize, outStride: usize,
): void {
  const blocks = kp / bs;
  const panelBytes = <usize>kp << 2;
  const mask = i8x16.splat(0x0f);
  const a1o: usize = mr > 1 ? aStride : 0;
  const a2o: usize = mr > 2 ? 2 * aStride : a1o;
  const a3o: usize = mr > 3 ? 3 * aStride : a2o;
  for (let n = n0; n < n1; n += 8) {
    const p = <usize>(n >> 3);
    let wp = w + p * panelBytes;
    let sp = scales + p * <usize>blocks * 32;
    let zp = zeros != 0 ? zeros + p * <usize>blocks * 32 : 0;
    let ap = a;
    let mp = aMeta;
    const yp = out + (<usize>n << 2);
    for (let b = 0; b < blocks; b++) {
      let h00 = i16x8.splat(0), h01 = i16x8.splat(0);
      let h10 = i16x8.splat(0), h11 = i16x8.splat(0);
      let h20 = i16x8.splat(0), h21 = i16x8.splat(0);
      let h30 = i16x8.splat(0), h31 = i16x8.splat(0);
      for (let k: usize = 0; k < <usize>bs; k += 8) {
        const v0 = v128.load(wp);
        const v1 = v128.load(wp, 16);
        let w0 = v128.and(v0, mask);
        let w1 = v128.and(v1, mask);
        let x = v128.load32_splat(ap + k);
        h00 = i16x8.add(h00, relaxedDot16(x, w0));
        h01 = i16x8.add(h01, relaxedDot16(x, w1));
        x = v128.load32_splat(ap + a1o + k);
        h10 = i16x8.add(h10, relaxedDot16(x, w0));
        h11 = i16x8.add(h11, relaxedDot16(x, w1));
        x = v128.load32_splat(ap + a2o + k);
        h20 = i16x8.add(h20, relaxedDot16(x, w0));
        h21 = i16x8.add(h21, relaxedDot16(x, w1));
        x = v128.load32_splat(ap + a3o + k);
        h30 = i16x8.add(h30, relaxedDot16(x, w0));
        h31 = i16x8.add(h31, relaxedDot16(x, w1));
        w0 = highNibbles(v0);
        w1 = highNibbles(v1);
        x = v128.load32_splat(ap + k, 4);
        h00 = i16x8.add(h00, relaxedDot16(x, w0));
        h01 = i16x8.add(h01, relaxedDot16(x, w1));
        x = v128.load32_splat(ap + a1o + k, 4);
        h10 = i16x8.add(h10, relaxedDot16(x, w0));
        h11 = i16x8.add(h11, relaxedDot16(x, w1));
        x = v128.load32_splat(ap + a2o + k, 4);
        h20 = i16x8.add(h20, relaxedDot16(x, w0));
        h21 = i16x8.add(h21, relaxedDot16(x, w1));
        x = v128.load32_splat(ap + a3o + k, 4);
        h30 = i16x8.add(h30, relaxedDot16(x, w0));
        h31 = i16x8.add(h31, relaxedDot16(x, w1));
        wp += 32;
      }
      stripUpdate(
        mr,
        i32x4.extadd_pairwise_i16x8_s(h00), i32x4.extadd_pairwise_i16x8_s(h01),
        i32x4.extadd_pairwise_i16x8_s(h10), i32x4.extadd_pairwise_i16x8_s(h11),
        i32x4.extadd_pairwise_i16x8_s(h20), i32x4.extadd_pairwise_i16x8_s(h21),
        i32x4.extadd_pairwise_i16x8_s(h30), i32x4.extadd_pairwise_i16x8_s(h31),
        sp, zp, mp, metaStride, yp, outStride,
      );
      ap += <usize>bs;
      mp += ACT_BLOCK_BYTES;
      sp += 32;
      if (zp != 0) zp += 32;
    }
  }
}

// y[row][n..n+8) += block update, for the strip's real rows (outputs are full panels: the host
// gives an output with a padded row stride, so no column remainder is needed here)
@inline function stripUpdate(
  mr: i32, c00: v128, c01: v128, c10: v128, c11: v128, c20: v128, c21: v128, c30: v128, c31: v128,
  sp: usize, zp: usize, mp: usize, metaStride: usize, yp: usize, outStride: usize,
): void {
  const s0 = v128.load(sp);
  const s1 = v128.load(sp, 16);
  const z0 = zp != 0 ? v128.load(zp) : f32x4.splat(8);
  const z1 = zp != 0 ? v128.load(zp, 16) : f32x4.splat(8);
  rowUpdate(yp, c00, c01, s0, s1, z0, z1, mp);
  if (mr > 1) rowUpdate(yp + outStride, c10, c11, s0, s1, z0, z1, mp + metaStride);
  if (mr > 2) rowUpdate(yp + 2 * outStride, c20, c21, s0, s1, z0, z1, mp + 2 * metaStride);
  if (mr > 3) rowUpdate(yp + 3 * outStride, c30, c31, s0, s1, z0, z1, mp + 3 * metaStride);
}

@inline function rowUpdate(y: usize, c0: v128, c1: v128, s0: v128, s1: v128, z0: v128, z1: v128, mp: usize): void {
  const sa = v128.load32_splat(mp, ACT_BLOCK_SCALE);
  const as = v128.load32_splat(mp, ACT_BLOCK_SCALED_SUM);
  v128.store(y, blockUpdate(v128.load(y), c0, s0, z0, sa, as));
  v128.store(y, blockUpdate(v128.load(y, 16), c1, s1, z1, sa, as), 16);
}

// ---------------------------------------------------------------------------------------------
// Baseline, "s4" shift layout (see the header): per 16 weight bytes one load, three shifts, four dots

// exact block sums of x * q for columns 4j..4j+3 from the shifted sums: Y_j = D_j - 16 D_{j+1}
@inline function unshift(d: v128, next: v128): v128 {
  return i32x4.sub(d, i32x4.shl(next, 4));
}

// asym is a constant at each (inlined) call: the symmetric loop has no zero-point loads or branches
@inline function gemvS4(
  asym: bool, n0: i32, n1: i32, kp: i32, bs: i32, a: usize, aMeta: usize, w: usize, scales: usize, zeros: usize,
  bias: usize, out: usize,
): void {
  const blocks = kp / bs;
  const panelBytes = <usize>kp << 3;
  for (let n = n0; n < n1; n += 16) {
    const p = <usize>(n >> 4);
    let wp = w + p * panelBytes;
    let sp = scales + p * <usize>blocks * 64;
    let zp = asym ? zeros + p * <usize>blocks * 64 : 0;
    // start from the bias so GEMV and GEMM add in the same order (bit-identical results)
    const nb = <usize>n << 2;
    let y0 = bias != 0 ? v128.load(bias + nb) : f32x4.splat(0);
    let y1 = bias != 0 ? v128.load(bias + nb, 16) : f32x4.splat(0);
    let y2 = bias != 0 ? v128.load(bias + nb, 32) : f32x4.splat(0);
    let y3 = bias != 0 ? v128.load(bias + nb, 48) : f32x4.splat(0);
    let ap = a;
    let mp = aMeta;
    for (let b = 0; b < blocks; b++) {
      let d0 = i32x4.splat(0);
      let d1 = i32x4.splat(0);
      let d2 = i32x4.splat(0);
      let d3 = i32x4.splat(0);
      for (let k: usize = 0; k < (<usize>bs << 1); k += 4) {
        const x = v128.load32_splat(ap + k);
        const v = v128.load(wp);
        d0 = i32x4.add(d0, i32x4.dot_i16x8_s(x, v));
        d1 = i32x4.add(d1, i32x4.dot_i16x8_s(x, i16x8.shr_s(v, 4)));
        d2 = i32x4.add(d2, i32x4.dot_i16x8_s(x, i16x8.shr_s(v, 8)));
        d3 = i32x4.add(d3, i32x4.dot_i16x8_s(x, i16x8.shr_s(v, 12)));
        wp += 16;
      }
      const sa = v128.load32_splat(mp, ACT_BLOCK_SCALE);
      const as = v128.load32_splat(mp, ACT_BLOCK_SCALED_SUM);
      // the top nibble is stored xor 8: D_3 sums x * (q - 8); add back 8 * sum(x)
      const c3 = i32x4.add(d3, i32x4.shl(v128.load32_splat(mp, ACT_BLOCK_SUM), 3));
      if (asym) {
        y0 = blockUpdate(y0, unshift(d0, d1), v128.load(sp), v128.load(zp), sa, as);
        y1 = blockUpdate(y1, unshift(d1, d2), v128.load(sp, 16), v128.load(zp, 16), sa, as);
        y2 = blockUpdate(y2, unshift(d2, d3), v128.load(sp, 32), v128.load(zp, 32), sa, as);
        y3 = blockUpdate(y3, c3, v128.load(sp, 48), v128.load(zp, 48), sa, as);
      } else {
        // z = 8 for every column: z * asum once (the same float32 product blockUpdate forms)
        const za = f32x4.mul(f32x4.splat(8), as);
        y0 = blockUpdateZa(y0, unshift(d0, d1), v128.load(sp), za, sa);
        y1 = blockUpdateZa(y1, unshift(d1, d2), v128.load(sp, 16), za, sa);
        y2 = blockUpdateZa(y2, unshift(d2, d3), v128.load(sp, 32), za, sa);
        y3 = blockUpdateZa(y3, c3, v128.load(sp, 48), za, sa);
      }
      ap += <usize>bs << 1;
      mp += ACT_BLOCK_BYTES;
      sp += 64;
      if (asym) zp += 64;
    }
    storeLanes16(out + nb, y0, y1, y2, y3, n1 - n);
  }
}

// GEMM strip of up to 2 rows x 16 columns: the shifted weights are shared by both rows (8 sums,
// 4 weight vectors, 1 activation splat live)
@inline function gemmStripS4(
  asym: bool, mr: i32, n0: i32, n1: i32, kp: i32, bs: i32, a: usize, aStride: usize, aMeta: usize, metaStride: usize,
  w: usize, scales: usize, zeros: usize, out: usize, outStride: usize,
): void {
  const blocks = kp / bs;
  const panelBytes = <usize>kp << 3;
  const a1o: usize = mr > 1 ? aStride : 0;
  for (let n = n0; n < n1; n += 16) {
    const p = <usize>(n >> 4);
    let wp = w + p * panelBytes;
    let sp = scales + p * <usize>blocks * 64;
    let zp = asym ? zeros + p * <usize>blocks * 64 : 0;
    let ap = a;
    let mp = aMeta;
    const yp = out + (<usize>n << 2);
    for (let b = 0; b < blocks; b++) {
      let d00 = i32x4.splat(0), d01 = i32x4.splat(0), d02 = i32x4.splat(0), d03 = i32x4.splat(0);
      let d10 = i32x4.splat(0), d11 = i32x4.splat(0), d12 = i32x4.splat(0), d13 = i32x4.splat(0);
      for (let k: usize = 0; k < (<usize>bs << 1); k += 4) {
        const v0 = v128.load(wp);
        const v1 = i16x8.shr_s(v0, 4);
        const v2 = i16x8.shr_s(v0, 8);
        const v3 = i16x8.shr_s(v0, 12);
        let x = v128.load32_splat(ap + k);
        d00 = i32x4.add(d00, i32x4.dot_i16x8_s(x, v0));
        d01 = i32x4.add(d01, i32x4.dot_i16x8_s(x, v1));
        d02 = i32x4.add(d02, i32x4.dot_i16x8_s(x, v2));
        d03 = i32x4.add(d03, i32x4.dot_i16x8_s(x, v3));
        x = v128.load32_splat(ap + a1o + k);
        d10 = i32x4.add(d10, i32x4.dot_i16x8_s(x, v0));
        d11 = i32x4.add(d11, i32x4.dot_i16x8_s(x, v1));
        d12 = i32x4.add(d12, i32x4.dot_i16x8_s(x, v2));
        d13 = i32x4.add(d13, i32x4.dot_i16x8_s(x, v3));
        wp += 16;
      }
      rowUpdateS4(asym, yp, d00, d01, d02, d03, sp, zp, mp);
      if (mr > 1) rowUpdateS4(asym, yp + outStride, d10, d11, d12, d13, sp, zp, mp + metaStride);
      ap += <usize>bs << 1;
      mp += ACT_BLOCK_BYTES;
      sp += 64;
      if (asym) zp += 64;
    }
  }
}

@inline function rowUpdateS4(asym: bool, y: usize, d0: v128, d1: v128, d2: v128, d3: v128, sp: usize, zp: usize, mp: usize): void {
  const sa = v128.load32_splat(mp, ACT_BLOCK_SCALE);
  const as = v128.load32_splat(mp, ACT_BLOCK_SCALED_SUM);
  const c3 = i32x4.add(d3, i32x4.shl(v128.load32_splat(mp, ACT_BLOCK_SUM), 3));
  if (asym) {
    v128.store(y, blockUpdate(v128.load(y), unshift(d0, d1), v128.load(sp), v128.load(zp), sa, as));
    v128.store(y, blockUpdate(v128.load(y, 16), unshift(d1, d2), v128.load(sp, 16), v128.load(zp, 16), sa, as), 16);
    v128.store(y, blockUpdate(v128.load(y, 32), unshift(d2, d3), v128.load(sp, 32), v128.load(zp, 32), sa, as), 32);
    v128.store(y, blockUpdate(v128.load(y, 48), c3, v128.load(sp, 48), v128.load(zp, 48), sa, as), 48);
  } else {
    const za = f32x4.mul(f32x4.splat(8), as);
    v128.store(y, blockUpdateZa(v128.load(y), unshift(d0, d1), v128.load(sp), za, sa));
    v128.store(y, blockUpdateZa(v128.load(y, 16), unshift(d1, d2), v128.load(sp, 16), za, sa), 16);
    v128.store(y, blockUpdateZa(v128.load(y, 32), unshift(d2, d3), v128.load(sp, 32), za, sa), 32);
    v128.store(y, blockUpdateZa(v128.load(y, 48), c3, v128.load(sp, 48), za, sa), 48);
  }
}

export function qb4_gemm_2x16s4(
  m: i32, n0: i32, n1: i32, kp: i32, bs: i32, a: usize, aStride: usize, aMeta: usize,
  w: usize, scales: usize, zeros: usize, bias: usize, out: usize, outStride: usize,
): void {
  if (m == 1) {
    if (zeros != 0) gemvS4(true, n0, n1, kp, bs, a, aMeta, w, scales, zeros, bias, out);
    else gemvS4(false, n0, n1, kp, bs, a, aMeta, w, scales, zeros, bias, out);
    return;
  }
  const metaStride = <usize>(kp / bs) * ACT_BLOCK_BYTES;
  // W blocks of ~256 KiB stay in L2 while every strip of rows passes over them
  let nc = ((256 * 1024) / (kp << 3)) << 4;
  if (nc < 16) nc = 16;
  for (let nb = n0; nb < n1; nb += nc) {
    const ne = min(nb + nc, n1);
    for (let m0 = 0; m0 < m; m0 += 2) {
      const mr = min(2, m - m0);
      const ap = a + <usize>m0 * aStride;
      const mp = aMeta + <usize>m0 * metaStride;
      const yp = out + <usize>m0 * outStride;
      if (zeros != 0) gemmStripS4(true, mr, nb, ne, kp, bs, ap, aStride, mp, metaStride, w, scales, zeros, yp, outStride);
      else gemmStripS4(false, mr, nb, ne, kp, bs, ap, aStride, mp, metaStride, w, scales, zeros, yp, outStride);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// drivers. GEMV (m = 1) writes out[n0..n1) with bias. GEMM accumulates into out, which the host
// fills with the bias (or zeros) first and gives a row stride covering whole panels.

@inline function driveC4(
  m: i32, n0: i32, n1: i32, kp: i32, bs: i32, a: usize, aStride: usize, aMeta: usize,
  w: usize, scales: usize, zeros: usize, bias: usize, out: usize, outStride: usize,
): void {
  if (m == 1) {
    gemvC4(n0, n1, kp, bs, a, aMeta, w, scales, zeros, bias, out);
    return;
  }
  const metaStride = <usize>(kp / bs) * ACT_BLOCK_BYTES;
  // W blocks of ~256 KiB stay in L2 while every strip of rows passes over them
  let nc = ((256 * 1024) / (kp << 2)) << 3;
  if (nc < 8) nc = 8;
  for (let nb = n0; nb < n1; nb += nc) {
    const ne = min(nb + nc, n1);
    for (let m0 = 0; m0 < m; m0 += 4) {
      const mr = min(4, m - m0);
      const ap = a + <usize>m0 * aStride;
      const mp = aMeta + <usize>m0 * metaStride;
      const yp = out + <usize>m0 * outStride;
      if (bs <= 32) gemmStripC4Short(mr, nb, ne, kp, bs, ap, aStride, mp, metaStride, w, scales, zeros, yp, outStride);
      else gemmStripC4(mr, nb, ne, kp, bs, ap, aStride, mp, metaStride, w, scales, zeros, yp, outStride);
    }
  }
}

export function qb4_gemm_4x8c4_relaxed(
  m: i32, n0: i32, n1: i32, kp: i32, bs: i32, a: usize, aStride: usize, aMeta: usize,
  w: usize, scales: usize, zeros: usize, bias: usize, out: usize, outStride: usize,
): void {
  if (ASC_FEATURE_RELAXED_SIMD) driveC4(m, n0, n1, kp, bs, a, aStride, aMeta, w, scales, zeros, bias, out, outStride);
}

// ---------------------------------------------------------------------------------------------
// W4A32: 4-bit weights x float32 activations, for when int8 activations cost too much accuracy.
//   y[n] = bias[n] + sum_b s[n][b] * (sum_{k in b} q[k][n] x[k] - z[n][b] * xsum[b])
// Nibbles become floats in registers: a byte shuffle puts each one in the low byte of a 32-bit lane,
// `or 0x4b000000` makes the float 2^23 + q, and subtracting 2^23 leaves q exactly. Products are
// summed in float32 lanes in a fixed order (mul then add: the same bits in both builds and on
// every CPU, and the same in both layouts: per column, partial sums S_j over k = j mod 4 in
// increasing k, combined as (S0 + S1) + (S2 + S3)); xsum[b] is the host's float32 sum of block b's x.
// One row at a time; a GEMM runs its rows one after another (this path is for decoding, M small).

@inline function nibblesToF32(v: v128, lane: i32): v128 {
  // bytes 4*lane .. 4*lane+3 of v, one per 32-bit lane
  let s: v128;
  if (lane == 0) s = i8x16.shuffle(v, i8x16.splat(0), 0, 16, 16, 16, 1, 16, 16, 16, 2, 16, 16, 16, 3, 16, 16, 16);
  else if (lane == 1) s = i8x16.shuffle(v, i8x16.splat(0), 4, 16, 16, 16, 5, 16, 16, 16, 6, 16, 16, 16, 7, 16, 16, 16);
  else if (lane == 2) s = i8x16.shuffle(v, i8x16.splat(0), 8, 16, 16, 16, 9, 16, 16, 16, 10, 16, 16, 16, 11, 16, 16, 16);
  else s = i8x16.shuffle(v, i8x16.splat(0), 12, 16, 16, 16, 13, 16, 16, 16, 14, 16, 16, 16, 15, 16, 16, 16);
  return f32x4.sub(v128.or(s, i32x4.splat(0x4b000000)), f32x4.splat(8388608));
}

// pairwise lane sums of four vectors [a0 a1 a2 a3] ... -> [a0+a1, a2+a3, b0+b1, b2+b3] etc.
@inline function pairSums(a: v128, b: v128): v128 {
  return f32x4.add(
    i8x16.shuffle(a, b, 0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27),
    i8x16.shuffle(a, b, 4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23, 28, 29, 30, 31),
  );
}

// W4A32 on the s4 layout, columns 4j..4j+3 of the panel at wp (j constant): one pass over the blocks
// per nibble. Per pair of K a vector holds [c k, c k+1, c' k, c' k+1, ...]; pairs k = 0, 1 mod 4 and
// k = 2, 3 mod 4 go to separate accumulators, so each column ends with the partial sums S0..S3 of the
// header comment, combined as (S0 + S1) + (S2 + S3).
@inline function f32GemvS4Nibble(
  j: i32, nr: i32, blocks: i32, bs: i32, x: usize, xsum: usize, wp: usize, sp: usize, zp: usize, bias: usize, out: usize,
): void {
  let y = bias != 0 ? v128.load(bias + (<usize>j << 4)) : f32x4.splat(0);
  let xp = x;
  for (let b = 0; b < blocks; b++) {
    let e0 = f32x4.splat(0), e1 = f32x4.splat(0); // pairs k = 0, 1 mod 4: columns 4j, 4j+1 | 4j+2, 4j+3
    let o0 = f32x4.splat(0), o1 = f32x4.splat(0); // pairs k = 2, 3 mod 4
    for (let k: usize = 0; k < <usize>bs; k += 4) {
      const xv = v128.load(xp + (k << 2)); // x0 x1 x2 x3
      const xl = i8x16.shuffle(xv, xv, 0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 2, 3, 4, 5, 6, 7); // x0 x1 x0 x1
      const xh = i8x16.shuffle(xv, xv, 8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15); // x2 x3 x2 x3
      const ue = nibbleS4(v128.load(wp), j);
      const uo = nibbleS4(v128.load(wp, 16), j);
      e0 = mulThenAdd(f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_u(ue)), xl, e0);
      e1 = mulThenAdd(f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_u(ue)), xl, e1);
      o0 = mulThenAdd(f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_u(uo)), xh, o0);
      o1 = mulThenAdd(f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_u(uo)), xh, o1);
      wp += 32;
    }
    const dot = f32x4.add(pairSums(e0, e1), pairSums(o0, o1));
    const xs = v128.load32_splat(xsum + (<usize>b << 2));
    const z = zp != 0 ? v128.load(zp + (<usize>b << 6) + (<usize>j << 4)) : f32x4.splat(8);
    y = f32x4.add(y, f32x4.mul(v128.load(sp + (<usize>b << 6) + (<usize>j << 4)), f32x4.sub(dot, f32x4.mul(z, xs))));
    xp += <usize>bs << 2;
  }
  if (nr > 4 * j) storeLanes8(out + (<usize>j << 4), y, y, min(4, nr - 4 * j));
}

// x: float32 activations of one row (kp, zero-padded); xsum: float32 [blocks]
// s4: 1 for the baseline s4 layout, 0 for the relaxed c4 one
export function qb4_f32_gemv(
  n0: i32, n1: i32, kp: i32, bs: i32, s4: i32, x: usize, xsum: usize,
  w: usize, scales: usize, zeros: usize, bias: usize, out: usize,
): void {
  if (s4 != 0) {
    // s4: panels of 16 columns
    const blocks = kp / bs;
    for (let n = n0; n < n1; n += 16) {
      const p = <usize>(n >> 4);
      const wp = w + p * (<usize>kp << 3);
      const sp = scales + p * <usize>blocks * 64;
      const zp = zeros != 0 ? zeros + p * <usize>blocks * 64 : 0;
      const bp = bias != 0 ? bias + (<usize>n << 2) : 0;
      const op = out + (<usize>n << 2);
      f32GemvS4Nibble(0, n1 - n, blocks, bs, x, xsum, wp, sp, zp, bp, op);
      f32GemvS4Nibble(1, n1 - n, blocks, bs, x, xsum, wp, sp, zp, bp, op);
      f32GemvS4Nibble(2, n1 - n, blocks, bs, x, xsum, wp, sp, zp, bp, op);
      f32GemvS4Nibble(3, n1 - n, blocks, bs, x, xsum, wp, sp, zp, bp, op);
    }
    return;
  }
  const blocks = kp / bs;
  const panelBytes = <usize>kp << 2;
  const mask = i8x16.splat(0x0f);
  for (let n = n0; n < n1; n += 8) {
    const p = <usize>(n >> 3);
    let wp = w + p * panelBytes;
    let sp = scales + p * <usize>blocks * 32;
    let zp = zeros != 0 ? zeros + p * <usize>blocks * 32 : 0;
    const nb = <usize>n << 2;
    let y0 = bias != 0 ? v128.load(bias + nb) : f32x4.splat(0);
    let y1 = bias != 0 ? v128.load(bias + nb, 16) : f32x4.splat(0);
    let xp = x;
    for (let b = 0; b < blocks; b++) {
      // four accumulators per 4 columns
      let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
      let a4 = f32x4.splat(0), a5 = f32x4.splat(0), a6 = f32x4.splat(0), a7 = f32x4.splat(0);
      // 32 bytes per 8 k: [c0 k0..3 | c1 | c2 | c3] low nibbles, k4..7 high; then c4..c7
      for (let k: usize = 0; k < <usize>bs; k += 8) {
        const xl = v128.load(xp + (k << 2));
        const xh = v128.load(xp + (k << 2), 16);
        const v0 = v128.load(wp);
        const l0 = v128.and(v0, mask);
        const h0 = highNibbles(v0);
        a0 = mulThenAdd(nibblesToF32(l0, 0), xl, a0);
        a1 = mulThenAdd(nibblesToF32(l0, 1), xl, a1);
        a2 = mulThenAdd(nibblesToF32(l0, 2), xl, a2);
        a3 = mulThenAdd(nibblesToF32(l0, 3), xl, a3);
        a0 = mulThenAdd(nibblesToF32(h0, 0), xh, a0);
        a1 = mulThenAdd(nibblesToF32(h0, 1), xh, a1);
        a2 = mulThenAdd(nibblesToF32(h0, 2), xh, a2);
        a3 = mulThenAdd(nibblesToF32(h0, 3), xh, a3);
        const v1 = v128.load(wp, 16);
        const l1 = v128.and(v1, mask);
        const h1 = highNibbles(v1);
        a4 = mulThenAdd(nibblesToF32(l1, 0), xl, a4);
        a5 = mulThenAdd(nibblesToF32(l1, 1), xl, a5);
        a6 = mulThenAdd(nibblesToF32(l1, 2), xl, a6);
        a7 = mulThenAdd(nibblesToF32(l1, 3), xl, a7);
        a4 = mulThenAdd(nibblesToF32(h1, 0), xh, a4);
        a5 = mulThenAdd(nibblesToF32(h1, 1), xh, a5);
        a6 = mulThenAdd(nibblesToF32(h1, 2), xh, a6);
        a7 = mulThenAdd(nibblesToF32(h1, 3), xh, a7);
        wp += 32;
      }
      // per column: a_c holds 4 partial sums -> [c0..c3], [c4..c7]
      a0 = pairSums(pairSums(a0, a1), pairSums(a2, a3));
      a4 = pairSums(pairSums(a4, a5), pairSums(a6, a7));

      const xs = v128.load32_splat(xsum + (<usize>b << 2));
      const z0 = zp != 0 ? v128.load(zp) : f32x4.splat(8);
      const z1 = zp != 0 ? v128.load(zp, 16) : f32x4.splat(8);
      y0 = f32x4.add(y0, f32x4.mul(v128.load(sp), f32x4.sub(a0, f32x4.mul(z0, xs))));
      y1 = f32x4.add(y1, f32x4.mul(v128.load(sp, 16), f32x4.sub(a4, f32x4.mul(z1, xs))));
      xp += <usize>bs << 2;
      sp += 32;
      if (zp != 0) zp += 32;
    }
    storeLanes8(out + nb, y0, y1, n1 - n);
  }
}
