// Table-driven 4-bit weights x int8 activations -> float32 (the "lut4" family, W-LUT4 A8).
//
//   y[m][n] = bias[n] + sum_b s[n][b] * (sa[m][b] * float(acc[m][n][b]))
//   acc[m][n][b] = sum_{k in block b} A[m][k] * T[code[n][k]]                (exact int32)
//
// T is a table of 16 int8 values (int4, PoT4, flint4, a learned codebook, ...), one per tensor or
// one per panel of 8 columns (T_p; the host permutes columns so that the columns of one table
// share panels, see "Per-panel tables" below); code[n][k] in [0, 15]. A are symmetric int8
// activations in [-127, 127] with a scale sa per row and block (per row when all blocks share
// one): qb4's activation blocks (act_blocks_quantize_f32, quant/act-blocks.ts), of which the
// kernels read sa and the block's integer sum S = sum A.
//
// Decoding: i8x16.swizzle with the table as the first operand and 16 nibbles as indices. The kernels
// do not look up T itself but U = T + o, o = -min(T), so U is in [0, 255] (in [0, 127] when the
// table's span max(T) - min(T) is at most 127), and subtract o * S per row and block in int32:
//   acc = sum A * U - o * S                                       (exact; the accumulator starts there)
//
// Why the table and not the activations goes into the relaxed dot's 7-bit operand: relaxed integer
// dot products mean the same on every engine only with the second operand in [0, 127] (x86 reads
// it unsigned, ARM signed, DESIGN.md section 2). Putting U there keeps the activations full int8
// (8 bits like qb4; 7-bit activations would cost ~6 dB on them in both builds, since the builds
// must agree bit for bit) and the offset correction needs only S, an activation sum the quantizer
// gets for free, instead of per-column weight sums streamed beside the weights (+10..20 % bytes
// for GEMV at block 32). It needs span <= 127, which holds for int4 (U in [0, 15]: exactly qb4's
// nibbles), flint4 ([0, 32]), uint4, uflint4 ([0, 64]); tables wider than that (pot4's [-64, 64]
// has 129 values, learned codebooks usually span [-127, 127]) take the c2 kernel on the relaxed
// build too (with relaxed_swizzle), which reads any U in [0, 255]. (Tried and dropped: a relaxed
// GEMV for them splitting U into two nibble tables, U = 16 Uh + Ul, each in [0, 15] for the relaxed
// dot: two lookups and two dots per 16 weights measured no faster than c2's one lookup, two
// widenings and two int32 dots, 1.93 vs 1.89 ms at 1x4096x4096 under load.) Every kernel computes
// the same exact int32 acc and the same float ops in the same order: the bits agree across builds,
// layouts, engines, CPUs (checked on x64 and emulated arm64, with and without SDOT), thread counts,
// and between GEMV and GEMM.
//
// Blocks are bs values of K (32..256, a power of two, or one block of K rounded up to 32 for per
// channel scales); K is zero-padded to whole blocks (padded codes are 0, padded activations 0).
// |acc| <= bs * 127 * 255 must fit int32: the host caps bs at 65536.
//
// Layout (packLut4 in src/kernels/lut4.ts writes it). One allocation: the tables U and their
// offsets o, then panels of 8 columns (the last one zero-padded); inside a panel, block after
// block (block-major), each block's nibbles followed by its 8 float32 scales, so a GEMV reads one
// stream and panels sit blocks * (4 * bs + 32) bytes apart (not a power of two):
//
//   tables:  | U_0[0] ... U_0[15] | U_1[0] ... | ... | U_{T-1}[15] |     (T = 1, or one per panel)
//   offs:    | o_0 (i32) | o_1 | ... | o_{T-1} |, padded to 16 bytes
//   w:       | panel 0                                  | panel 1 ...  | panel P - 1 |
//   columns: | int32 [N]: the panel column of each caller column |     (only when permuted)
//   panel p: | block 0                    | block 1                    | ... | block B-1     |
//   block b: | nibbles of columns 8p..8p+7, K values b*bs .. b*bs+bs-1 (4*bs bytes) | s (32 B) |
//            s = scales[8p + c][b] for c = 0..7, float32
//
// The block's nibbles, in one of two orders:
//
// c2 (baseline build; relaxed build for wide tables): 16 bytes per 4 values of K, as qb4 c2
//          byte:  0      1      2      3     ...  14     15
//   low nibble:  c0 k0 | c0 k1 | c1 k0 | c1 k1 | ... | c7 k0 | c7 k1
//   high nibble: c0 k2 | c0 k3 | c1 k2 | c1 k3 | ... | c7 k2 | c7 k3
//   -> and 0x0f / (shr_u 4, and 0x0f), swizzle(U) -> 16 bytes of U, zero-extended to the int16
//      pairs of i32x4.dot_i16x8_s against int16 activation pairs (a_k0, a_k1) (then k2, k3).
// c4 (relaxed build, span <= 127): 32 bytes per 8 values of K, as qb4 c4
//          byte:  0..3        4..7        8..11       12..15     | 16..31
//   low nibble:  c0 k0..k3 | c1 k0..k3 | c2 k0..k3 | c3 k0..k3 | the same for c4..c7
//   high nibble: c0 k4..k7 | c1 k4..k7 | c2 k4..k7 | c3 k4..k7 |
//   -> relaxed_swizzle(U) -> U in [0, 127] as the second operand of the relaxed dot, int8
//      activations (a_k0..a_k3 splat) as the first. The GEMV sums in int16 lanes while that is
//      exact: `chunk` values of K (a power of two, 8..32, from the host: chunk/2 * 127 * max(U)
//      <= 32767), widened once per chunk; chunk 0 means the int32 form throughout. The GEMM
//      does the same when a whole block fits one chunk (int4-like tables at block 32), else
//      adds the two int16 dots of a step before widening when chunk >= 8 (span <= 64), else
//      takes the int32 form.
// Per row and block, aMeta holds sa (ACT_BLOCK_SCALE) and S (ACT_BLOCK_SUM), ACT_BLOCK_BYTES apart.
//
// Per-panel tables (pmask = -1): panel p decodes with U_p = T_p + o_p, o_p = -min(T_p), and its
// accumulators start at -o_p * S; the kernel loads U_p and o_p once per panel (one v128 and one
// i32 load per 8 columns, next to bs/2 vector loads per block: the one-table case, pmask = 0,
// loads table 0 for every panel and costs the same). The host groups columns by table, pads
// each group to whole panels (padded columns: codes 0, scales 0), and runs the kernel over the
// panels in that order; outputs come out in panel order and the host gathers them back to the
// caller's columns with lut4_gather_columns (an M x N pass, small next to the M x N x K work;
// writing through a column index instead would turn the GEMM's vector read-modify-write of y per
// block into scalar scatters). The relaxed c4 layout needs every table's span <= 127 (one pot4
// channel puts the whole tensor on c2); the GEMV chunk is the one of the widest table.
// Measured (bench/lut4.mjs --shapes 1x4096x4096,128x768x3072, 1 thread, shared 2-core EPYC,
// block 32; tables int4 / flint4 / flint4 reversed by channel j % 3 vs flint4 alone, and int4 /
// flint4 / pot4 vs pot4 alone, gather included): GEMV 1x4096x4096 1.00x and 1.00x baseline,
// 1.01x and 1.01x relaxed (a second run under ~1 core of other load: 0.98-1.04x); GEMM
// 128x768x3072 1.04-1.07x baseline, 1.02-1.03x relaxed (noisy). The gather alone: 3 us at 1 x
// 4096, 0.33 ms at 128 x 3072 (a JS loop over typed arrays took 14 us and 1.5 ms).
//
// Measured (bench/lut4.mjs, 1 thread, same process, interleaved; shared 2-core EPYC, noisy): GEMV
// 1x4096x4096 block 32 vs qb4 W4A8: baseline 0.92-0.96x for every table; relaxed 1.25x for
// int4/flint4 (c4), ~0.85x for pot4 (c2). The high nibbles are taken with i16x8.shr_u + and:
// V8 11.3 lowers i8x16.shr_u to a 16-bit shift plus building and applying a byte mask (three
// instructions more), which alone moved this GEMV from 0.79x to ~1.0x of qb4 (baseline) and from
// 0.91x to ~1.1x (relaxed) while qb4 still used i8x16.shr_u.

import { ACT_BLOCK_BYTES, ACT_BLOCK_SCALE, ACT_BLOCK_SUM } from '../params';
import { highNibbles, relaxedDot16, relaxedDotAccumulate, relaxedDotAdd, storeLanes8, widenAccumulator } from '../util/simd';

@inline function lookup(t: v128, idx: v128): v128 {
  // indices are always 0..15 here, where both swizzles agree
  if (ASC_FEATURE_RELAXED_SIMD) return i8x16.relaxed_swizzle(t, idx);
  return i8x16.swizzle(t, idx);
}

// -o * S of a row's block, splat: the accumulators start there
@inline function accInit(mp: usize, off: i32): v128 {
  return i32x4.splat(-off * load<i32>(mp, ACT_BLOCK_SUM));
}

// y += s * (sa * float(acc))
@inline function blockUpdate(y: v128, acc: v128, s: v128, sa: v128): v128 {
  return f32x4.add(y, f32x4.mul(s, f32x4.mul(sa, f32x4.convert_i32x4_s(acc))));
}

// ---------------------------------------------------------------------------------------------
// GEMV: one row; 8 columns' accumulators stay in registers across blocks

@inline function gemvC2(
  n0: i32, n1: i32, kp: i32, bs: i32, a: usize, aMeta: usize, w: usize, tables: usize, offs: usize, pmask: i32,
  bias: usize, out: usize,
): void {
  const blocks = kp / bs;
  const blockBytes = (<usize>bs << 2) + 32;
  const panelBytes = <usize>blocks * blockBytes;
  const mask = i8x16.splat(0x0f);
  for (let n = n0; n < n1; n += 8) {
    // the panel's table U and offset o (pmask 0: one table for every panel)
    const pt = <usize>((n >> 3) & pmask);
    const t = v128.load(tables + (pt << 4));
    const off = load<i32>(offs + (pt << 2));
    let wp = w + <usize>(n >> 3) * panelBytes;
    const nb = <usize>n << 2;
    let y0 = bias != 0 ? v128.load(bias + nb) : f32x4.splat(0);
    let y1 = bias != 0 ? v128.load(bias + nb, 16) : f32x4.splat(0);
    let ap = a;
    let mp = aMeta;
    for (let b = 0; b < blocks; b++) {
      let c0 = accInit(mp, off);
      let c1 = c0;
      for (let k: usize = 0; k < (<usize>bs << 1); k += 8) {
        const v = v128.load(wp);
        const lo = lookup(t, v128.and(v, mask));
        const hi = lookup(t, highNibbles(v));
        const x0 = v128.load32_splat(ap + k);
        c0 = i32x4.add(c0, i32x4.dot_i16x8_s(x0, i16x8.extend_low_i8x16_u(lo)));
        c1 = i32x4.add(c1, i32x4.dot_i16x8_s(x0, i16x8.extend_high_i8x16_u(lo)));
        const x1 = v128.load32_splat(ap + k, 4);
        c0 = i32x4.add(c0, i32x4.dot_i16x8_s(x1, i16x8.extend_low_i8x16_u(hi)));
        c1 = i32x4.add(c1, i32x4.dot_i16x8_s(x1, i16x8.extend_high_i8x16_u(hi)));
        wp += 16;
      }
      const sa = v128.load32_splat(mp, ACT_BLOCK_SCALE);
      y0 = blockUpdate(y0, c0, v128.load(wp), sa);
      y1 = blockUpdate(y1, c1, v128.load(wp, 16), sa);
      wp += 32;
      ap += <usize>bs << 1;
      mp += ACT_BLOCK_BYTES;
    }
    storeLanes8(out + nb, y0, y1, n1 - n);
  }
}

@inline function gemvC4(
  n0: i32, n1: i32, kp: i32, bs: i32, a: usize, aMeta: usize, w: usize, tables: usize, offs: usize, pmask: i32,
  chunk: i32, bias: usize, out: usize,
): void {
  const blocks = kp / bs;
  const blockBytes = (<usize>bs << 2) + 32;
  const panelBytes = <usize>blocks * blockBytes;
  const mask = i8x16.splat(0x0f);
  const ch = <usize>chunk;
  for (let n = n0; n < n1; n += 8) {
    // the panel's table U and offset o (pmask 0: one table for every panel)
    const pt = <usize>((n >> 3) & pmask);
    const t = v128.load(tables + (pt << 4));
    const off = load<i32>(offs + (pt << 2));
    let wp = w + <usize>(n >> 3) * panelBytes;
    const nb = <usize>n << 2;
    let y0 = bias != 0 ? v128.load(bias + nb) : f32x4.splat(0);
    let y1 = bias != 0 ? v128.load(bias + nb, 16) : f32x4.splat(0);
    let ap = a;
    let mp = aMeta;
    for (let b = 0; b < blocks; b++) {
      let c0 = accInit(mp, off);
      let c1 = c0;
      if (ch != 0) {
        // int16 lanes, exact for `chunk` values of K (see the header), widened per chunk
        for (let k0: usize = 0; k0 < <usize>bs; k0 += ch) {
          let h0 = i16x8.splat(0);
          let h1 = i16x8.splat(0);
          for (let k: usize = 0; k < ch; k += 8) {
            const x0 = v128.load32_splat(ap + k);
            const x1 = v128.load32_splat(ap + k, 4);
            const v0 = v128.load(wp);
            h0 = i16x8.add(h0, relaxedDot16(x0, lookup(t, v128.and(v0, mask))));
            h0 = i16x8.add(h0, relaxedDot16(x1, lookup(t, highNibbles(v0))));
            const v1 = v128.load(wp, 16);
            h1 = i16x8.add(h1, relaxedDot16(x0, lookup(t, v128.and(v1, mask))));
            h1 = i16x8.add(h1, relaxedDot16(x1, lookup(t, highNibbles(v1))));
            wp += 32;
          }
          c0 = i32x4.add(c0, i32x4.extadd_pairwise_i16x8_s(h0));
          c1 = i32x4.add(c1, i32x4.extadd_pairwise_i16x8_s(h1));
          ap += ch;
        }
      } else {
        for (let k: usize = 0; k < <usize>bs; k += 8) {
          const x0 = v128.load32_splat(ap + k);
          const x1 = v128.load32_splat(ap + k, 4);
          const v0 = v128.load(wp);
          c0 = relaxedDotAdd(x0, lookup(t, v128.and(v0, mask)), c0);
          c0 = relaxedDotAdd(x1, lookup(t, highNibbles(v0)), c0);
          const v1 = v128.load(wp, 16);
          c1 = relaxedDotAdd(x0, lookup(t, v128.and(v1, mask)), c1);
          c1 = relaxedDotAdd(x1, lookup(t, highNibbles(v1)), c1);
          wp += 32;
        }
        ap += <usize>bs;
      }
      const sa = v128.load32_splat(mp, ACT_BLOCK_SCALE);
      y0 = blockUpdate(y0, c0, v128.load(wp), sa);
      y1 = blockUpdate(y1, c1, v128.load(wp, 16), sa);
      wp += 32;
      mp += ACT_BLOCK_BYTES;
    }
    storeLanes8(out + nb, y0, y1, n1 - n);
  }
}

// ---------------------------------------------------------------------------------------------
// GEMM: strips of up to 4 rows; the float32 outputs accumulate in memory block by block

@inline function gemmStripC2(
  mr: i32, n0: i32, n1: i32, kp: i32, bs: i32, a: usize, aStride: usize, aMeta: usize, metaStride: usize,
  w: usize, tables: usize, offs: usize, pmask: i32, out: usize, outStride: usize,
): void {
  const blocks = kp / bs;
  const blockBytes = (<usize>bs << 2) + 32;
  const panelBytes = <usize>blocks * blockBytes;
  const mask = i8x16.splat(0x0f);
  const a1o: usize = mr > 1 ? aStride : 0;
  const a2o: usize = mr > 2 ? 2 * aStride : a1o;
  const a3o: usize = mr > 3 ? 3 * aStride : a2o;
  const m1o: usize = mr > 1 ? metaStride : 0;
  const m2o: usize = mr > 2 ? 2 * metaStride : m1o;
  const m3o: usize = mr > 3 ? 3 * metaStride : m2o;
  for (let n = n0; n < n1; n += 8) {
    // the panel's table U and offset o (pmask 0: one table for every panel)
    const pt = <usize>((n >> 3) & pmask);
    const t = v128.load(tables + (pt << 4));
    const off = load<i32>(offs + (pt << 2));
    let wp = w + <usize>(n >> 3) * panelBytes;
    let ap = a;
    let mp = aMeta;
    const yp = out + (<usize>n << 2);
    for (let b = 0; b < blocks; b++) {
      let c00 = accInit(mp, off), c01 = c00;
      let c10 = accInit(mp + m1o, off), c11 = c10;
      let c20 = accInit(mp + m2o, off), c21 = c20;
      let c30 = accInit(mp + m3o, off), c31 = c30;
      for (let k: usize = 0; k < (<usize>bs << 1); k += 8) {
        const v = v128.load(wp);
        const lo = lookup(t, v128.and(v, mask));
        const wl0 = i16x8.extend_low_i8x16_u(lo);
        const wl1 = i16x8.extend_high_i8x16_u(lo);
        let x = v128.load32_splat(ap + k);
        c00 = i32x4.add(c00, i32x4.dot_i16x8_s(x, wl0));
        c01 = i32x4.add(c01, i32x4.dot_i16x8_s(x, wl1));
        x = v128.load32_splat(ap + a1o + k);
        c10 = i32x4.add(c10, i32x4.dot_i16x8_s(x, wl0));
        c11 = i32x4.add(c11, i32x4.dot_i16x8_s(x, wl1));
        x = v128.load32_splat(ap + a2o + k);
        c20 = i32x4.add(c20, i32x4.dot_i16x8_s(x, wl0));
        c21 = i32x4.add(c21, i32x4.dot_i16x8_s(x, wl1));
        x = v128.load32_splat(ap + a3o + k);
        c30 = i32x4.add(c30, i32x4.dot_i16x8_s(x, wl0));
        c31 = i32x4.add(c31, i32x4.dot_i16x8_s(x, wl1));
        const hi = lookup(t, highNibbles(v));
        const wh0 = i16x8.extend_low_i8x16_u(hi);
        const wh1 = i16x8.extend_high_i8x16_u(hi);
        x = v128.load32_splat(ap + k, 4);
        c00 = i32x4.add(c00, i32x4.dot_i16x8_s(x, wh0));
        c01 = i32x4.add(c01, i32x4.dot_i16x8_s(x, wh1));
        x = v128.load32_splat(ap + a1o + k, 4);
        c10 = i32x4.add(c10, i32x4.dot_i16x8_s(x, wh0));
        c11 = i32x4.add(c11, i32x4.dot_i16x8_s(x, wh1));
        x = v128.load32_splat(ap + a2o + k, 4);
        c20 = i32x4.add(c20, i32x4.dot_i16x8_s(x, wh0));
        c21 = i32x4.add(c21, i32x4.dot_i16x8_s(x, wh1));
        x = v128.load32_splat(ap + a3o + k, 4);
        c30 = i32x4.add(c30, i32x4.dot_i16x8_s(x, wh0));
        c31 = i32x4.add(c31, i32x4.dot_i16x8_s(x, wh1));
        wp += 16;
      }
      stripUpdate(mr, c00, c01, c10, c11, c20, c21, c30, c31, wp, mp, metaStride, yp, outStride);
      wp += 32;
      ap += <usize>bs << 1;
      mp += ACT_BLOCK_BYTES;
    }
  }
}

// Relaxed strips. short (bs <= chunk: int4-like tables at block 32; a constant at each inlined
// call): int16 accumulators (a pmaddubsw and an add per vector instead of the int32 form's three
// instructions), widened once per block onto -o * S; otherwise int32 accumulators starting at -o * S.
@inline function gemmStripC4(
  short: bool, mr: i32, n0: i32, n1: i32, kp: i32, bs: i32, a: usize, aStride: usize, aMeta: usize, metaStride: usize,
  w: usize, tables: usize, offs: usize, pmask: i32, out: usize, outStride: usize,
): void {
  const blocks = kp / bs;
  const blockBytes = (<usize>bs << 2) + 32;
  const panelBytes = <usize>blocks * blockBytes;
  const mask = i8x16.splat(0x0f);
  const a1o: usize = mr > 1 ? aStride : 0;
  const a2o: usize = mr > 2 ? 2 * aStride : a1o;
  const a3o: usize = mr > 3 ? 3 * aStride : a2o;
  const m1o: usize = mr > 1 ? metaStride : 0;
  const m2o: usize = mr > 2 ? 2 * metaStride : m1o;
  const m3o: usize = mr > 3 ? 3 * metaStride : m2o;
  for (let n = n0; n < n1; n += 8) {
    // the panel's table U and offset o (pmask 0: one table for every panel)
    const pt = <usize>((n >> 3) & pmask);
    const t = v128.load(tables + (pt << 4));
    const off = load<i32>(offs + (pt << 2));
    let wp = w + <usize>(n >> 3) * panelBytes;
    let ap = a;
    let mp = aMeta;
    const yp = out + (<usize>n << 2);
    for (let b = 0; b < blocks; b++) {
      let c00 = short ? i16x8.splat(0) : accInit(mp, off), c01 = c00;
      let c10 = short ? i16x8.splat(0) : accInit(mp + m1o, off), c11 = c10;
      let c20 = short ? i16x8.splat(0) : accInit(mp + m2o, off), c21 = c20;
      let c30 = short ? i16x8.splat(0) : accInit(mp + m3o, off), c31 = c30;
      for (let k: usize = 0; k < <usize>bs; k += 8) {
        const v0 = v128.load(wp);
        const v1 = v128.load(wp, 16);
        let w0 = lookup(t, v128.and(v0, mask));
        let w1 = lookup(t, v128.and(v1, mask));
        let x = v128.load32_splat(ap + k);
        c00 = relaxedDotAccumulate(short, c00, x, w0);
        c01 = relaxedDotAccumulate(short, c01, x, w1);
        x = v128.load32_splat(ap + a1o + k);
        c10 = relaxedDotAccumulate(short, c10, x, w0);
        c11 = relaxedDotAccumulate(short, c11, x, w1);
        x = v128.load32_splat(ap + a2o + k);
        c20 = relaxedDotAccumulate(short, c20, x, w0);
        c21 = relaxedDotAccumulate(short, c21, x, w1);
        x = v128.load32_splat(ap + a3o + k);
        c30 = relaxedDotAccumulate(short, c30, x, w0);
        c31 = relaxedDotAccumulate(short, c31, x, w1);
        w0 = lookup(t, highNibbles(v0));
        w1 = lookup(t, highNibbles(v1));
        x = v128.load32_splat(ap + k, 4);
        c00 = relaxedDotAccumulate(short, c00, x, w0);
        c01 = relaxedDotAccumulate(short, c01, x, w1);
        x = v128.load32_splat(ap + a1o + k, 4);
        c10 = relaxedDotAccumulate(short, c10, x, w0);
        c11 = relaxedDotAccumulate(short, c11, x, w1);
        x = v128.load32_splat(ap + a2o + k, 4);
        c20 = relaxedDotAccumulate(short, c20, x, w0);
        c21 = relaxedDotAccumulate(short, c21, x, w1);
        x = v128.load32_splat(ap + a3o + k, 4);
        c30 = relaxedDotAccumulate(short, c30, x, w0);
        c31 = relaxedDotAccumulate(short, c31, x, w1);
        wp += 32;
      }
      if (short) {
        const i0 = accInit(mp, off);
        const i1 = accInit(mp + m1o, off);
        const i2 = accInit(mp + m2o, off);
        const i3 = accInit(mp + m3o, off);
        c00 = i32x4.add(i0, widenAccumulator(true, c00));
        c01 = i32x4.add(i0, widenAccumulator(true, c01));
        c10 = i32x4.add(i1, widenAccumulator(true, c10));
        c11 = i32x4.add(i1, widenAccumulator(true, c11));
        c20 = i32x4.add(i2, widenAccumulator(true, c20));
        c21 = i32x4.add(i2, widenAccumulator(true, c21));
        c30 = i32x4.add(i3, widenAccumulator(true, c30));
        c31 = i32x4.add(i3, widenAccumulator(true, c31));
      }
      stripUpdate(mr, c00, c01, c10, c11, c20, c21, c30, c31, wp, mp, metaStride, yp, outStride);
      wp += 32;
      ap += <usize>bs;
      mp += ACT_BLOCK_BYTES;
    }
  }
}

// Relaxed strip for tables spanning at most 64 (chunk >= 8) with blocks longer than a chunk: the
// two int16 dots of one step (k0..k3 and k4..k7: 4 products of at most 127 * 64 per lane) are
// added in int16 and widened once (two pmaddubsw, one add, one widening add instead of two
// three-instruction int32 dots).
@inline function pairDot(x0: v128, x1: v128, wl: v128, wh: v128, c: v128): v128 {
  return i32x4.add(c, i32x4.extadd_pairwise_i16x8_s(i16x8.add(relaxedDot16(x0, wl), relaxedDot16(x1, wh))));
}

@inline function gemmStripC4Pair(
  mr: i32, n0: i32, n1: i32, kp: i32, bs: i32, a: usize, aStride: usize, aMeta: usize, metaStride: usize,
  w: usize, tables: usize, offs: usize, pmask: i32, out: usize, outStride: usize,
): void {
  const blocks = kp / bs;
  const blockBytes = (<usize>bs << 2) + 32;
  const panelBytes = <usize>blocks * blockBytes;
  const mask = i8x16.splat(0x0f);
  const a1o: usize = mr > 1 ? aStride : 0;
  const a2o: usize = mr > 2 ? 2 * aStride : a1o;
  const a3o: usize = mr > 3 ? 3 * aStride : a2o;
  const m1o: usize = mr > 1 ? metaStride : 0;
  const m2o: usize = mr > 2 ? 2 * metaStride : m1o;
  const m3o: usize = mr > 3 ? 3 * metaStride : m2o;
  for (let n = n0; n < n1; n += 8) {
    // the panel's table U and offset o (pmask 0: one table for every panel)
    const pt = <usize>((n >> 3) & pmask);
    const t = v128.load(tables + (pt << 4));
    const off = load<i32>(offs + (pt << 2));
    let wp = w + <usize>(n >> 3) * panelBytes;
    let ap = a;
    let mp = aMeta;
    const yp = out + (<usize>n << 2);
    for (let b = 0; b < blocks; b++) {
      let c00 = accInit(mp, off), c01 = c00;
      let c10 = accInit(mp + m1o, off), c11 = c10;
      let c20 = accInit(mp + m2o, off), c21 = c20;
      let c30 = accInit(mp + m3o, off), c31 = c30;
      for (let k: usize = 0; k < <usize>bs; k += 8) {
        const v0 = v128.load(wp);
        const v1 = v128.load(wp, 16);
        const l0 = lookup(t, v128.and(v0, mask));
        const h0 = lookup(t, highNibbles(v0));
        const l1 = lookup(t, v128.and(v1, mask));
        const h1 = lookup(t, highNibbles(v1));
        let x0 = v128.load32_splat(ap + k);
        let x1 = v128.load32_splat(ap + k, 4);
        c00 = pairDot(x0, x1, l0, h0, c00);
        c01 = pairDot(x0, x1, l1, h1, c01);
        x0 = v128.load32_splat(ap + a1o + k);
        x1 = v128.load32_splat(ap + a1o + k, 4);
        c10 = pairDot(x0, x1, l0, h0, c10);
        c11 = pairDot(x0, x1, l1, h1, c11);
        x0 = v128.load32_splat(ap + a2o + k);
        x1 = v128.load32_splat(ap + a2o + k, 4);
        c20 = pairDot(x0, x1, l0, h0, c20);
        c21 = pairDot(x0, x1, l1, h1, c21);
        x0 = v128.load32_splat(ap + a3o + k);
        x1 = v128.load32_splat(ap + a3o + k, 4);
        c30 = pairDot(x0, x1, l0, h0, c30);
        c31 = pairDot(x0, x1, l1, h1, c31);
        wp += 32;
      }
      stripUpdate(mr, c00, c01, c10, c11, c20, c21, c30, c31, wp, mp, metaStride, yp, outStride);
      wp += 32;
      ap += <usize>bs;
      mp += ACT_BLOCK_BYTES;
    }
  }
}

// y[row][n..n+8) += block update for the strip's real rows (the host gives an output with a row
// stride of whole panels, so no column remainder is needed here); sp: the block's 8 scales
@inline function stripUpdate(
  mr: i32, c00: v128, c01: v128, c10: v128, c11: v128, c20: v128, c21: v128, c30: v128, c31: v128,
  sp: usize, mp: usize, metaStride: usize, yp: usize, outStride: usize,
): void {
  const s0 = v128.load(sp);
  const s1 = v128.load(sp, 16);
  rowUpdate(yp, c00, c01, s0, s1, mp);
  if (mr > 1) rowUpdate(yp + outStride, c10, c11, s0, s1, mp + metaStride);
  if (mr > 2) rowUpdate(yp + 2 * outStride, c20, c21, s0, s1, mp + 2 * metaStride);
  if (mr > 3) rowUpdate(yp + 3 * outStride, c30, c31, s0, s1, mp + 3 * metaStride);
}

@inline function rowUpdate(y: usize, c0: v128, c1: v128, s0: v128, s1: v128, mp: usize): void {
  const sa = v128.load32_splat(mp, ACT_BLOCK_SCALE);
  v128.store(y, blockUpdate(v128.load(y), c0, s0, sa));
  v128.store(y, blockUpdate(v128.load(y, 16), c1, s1, sa), 16);
}

// ---------------------------------------------------------------------------------------------
// drivers. GEMV (m = 1) writes out[n0..n1) with bias. GEMM accumulates into out, which the host
// fills with the bias (or zeros) first and gives a row stride covering whole panels.

@inline function drive(
  c4: bool, m: i32, n0: i32, n1: i32, kp: i32, bs: i32, a: usize, aStride: usize, aMeta: usize,
  w: usize, tables: usize, offs: usize, pmask: i32, chunk: i32, bias: usize, out: usize, outStride: usize,
): void {
  if (m == 1) {
    if (c4) gemvC4(n0, n1, kp, bs, a, aMeta, w, tables, offs, pmask, chunk, bias, out);
    else gemvC2(n0, n1, kp, bs, a, aMeta, w, tables, offs, pmask, bias, out);
    return;
  }
  const blocks = kp / bs;
  const metaStride = <usize>blocks * ACT_BLOCK_BYTES;
  const panelBytes = blocks * ((bs << 2) + 32);
  // W blocks of ~256 KiB stay in L2 while every strip of rows passes over them
  let nc = ((256 * 1024) / panelBytes) << 3;
  if (nc < 8) nc = 8;
  for (let nb = n0; nb < n1; nb += nc) {
    const ne = min(nb + nc, n1);
    for (let m0 = 0; m0 < m; m0 += 4) {
      const mr = min(4, m - m0);
      const ap = a + <usize>m0 * aStride;
      const mp = aMeta + <usize>m0 * metaStride;
      const yp = out + <usize>m0 * outStride;
      if (c4 && bs <= chunk) gemmStripC4(true, mr, nb, ne, kp, bs, ap, aStride, mp, metaStride, w, tables, offs, pmask, yp, outStride);
      else if (c4 && chunk >= 8) gemmStripC4Pair(mr, nb, ne, kp, bs, ap, aStride, mp, metaStride, w, tables, offs, pmask, yp, outStride);
      else if (c4) gemmStripC4(false, mr, nb, ne, kp, bs, ap, aStride, mp, metaStride, w, tables, offs, pmask, yp, outStride);
      else gemmStripC2(mr, nb, ne, kp, bs, ap, aStride, mp, metaStride, w, tables, offs, pmask, yp, outStride);
    }
  }
}

// a: int16 activations [m][aStride / 2]; tables: U (16 bytes per table); offs: o (i32 per table);
// pmask: 0 (one table) or -1 (table n >> 3 for panel n >> 3); chunk unused
export function lut4_gemm_4x8c2(
  m: i32, n0: i32, n1: i32, kp: i32, bs: i32, a: usize, aStride: usize, aMeta: usize,
  w: usize, tables: usize, offs: usize, pmask: i32, chunk: i32, bias: usize, out: usize, outStride: usize,
): void {
  drive(false, m, n0, n1, kp, bs, a, aStride, aMeta, w, tables, offs, pmask, chunk, bias, out, outStride);
}

// a: int8 activations [m][aStride]; tables: U in [0, 127], offs, pmask as above; chunk: GEMV int16
// chunk (0: int32 form)
export function lut4_gemm_4x8c4_relaxed(
  m: i32, n0: i32, n1: i32, kp: i32, bs: i32, a: usize, aStride: usize, aMeta: usize,
  w: usize, tables: usize, offs: usize, pmask: i32, chunk: i32, bias: usize, out: usize, outStride: usize,
): void {
  if (ASC_FEATURE_RELAXED_SIMD) drive(true, m, n0, n1, kp, bs, a, aStride, aMeta, w, tables, offs, pmask, chunk, bias, out, outStride);
}

// Per-panel tables with regrouped columns: dst[i][j] = src[i][cols[j]], the panel-order rows
// (row stride srcStride bytes) back in the caller's column order (row stride dstStride). Scalar
// 32-bit moves: measured 1.5-3.7 ns per value as a JS loop over typed arrays (1.5 ms at 128 x
// 3072, ~10% of that GEMM), a fraction of that here.
export function lut4_gather_columns(m: i32, n: i32, cols: usize, src: usize, srcStride: usize, dst: usize, dstStride: usize): void {
  for (let i = 0; i < m; i++) {
    const s = src + <usize>i * srcStride;
    const d = dst + <usize>i * dstStride;
    for (let j = 0; j < n; j++) {
      const c = <usize>load<u32>(cols + (<usize>j << 2));
      store<u32>(d + (<usize>j << 2), load<u32>(s + (c << 2)));
    }
  }
}
