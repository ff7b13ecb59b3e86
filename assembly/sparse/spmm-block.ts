// spmm-block: block-sparse rows of 4x4 int8 blocks (4 weight rows x 4 consecutive k) x dense int8
// activations -> int32 (or float32 with per-column scales).
//
// Why 4x4 and not 1x4 first: a 4x4 block reuses each load of A' for 4 weight rows, so per block
// and 8 rows of A there are 4 loads and 16 dots (the dense qs8 tile's ratio of loads to dots),
// and no shuffles; a 1x4 block costs 4 loads (or shuffles) for 4 dots.
//
// Packed weights (src/kernels/spmm-block.ts), N padded to 4 (block rows), K padded to 4:
//
//   blockPtr  int32[N/4 + 1]  first block of each block row
//   cols      uint16[B]       block column (k / 4) of each block
//   vals      int8[B][16]     | r0: k0 k1 k2 k3 | r1: k0 .. k3 | r2 | r3 |
//
// M >= 2: A staged p8 (spmm-common.ts), a block meets 8 rows with 4 loads, 8 weight-pair splats and
// 16 dots into 8 accumulators (4 weight rows x 2 halves of the tile).
// M = 1: A staged as one int16 row (qs8_stage_c2), a block is one 8-byte splat load of A', two
// sign-extending loads of the block and two dots; the pair sums are added across lanes at the end.
//
// int4 values (bits = 4, int4-sparse): 8 bytes per block, byte i = v[i] | v[i + 8] << 4 (v the 16
// values row-major, two's complement nibbles), so the low nibbles are rows 0-1 and the high ones rows
// 2-3: one zero-extending load and two i16 shift pairs give the int16 rows the int8 path loads.
// Both paths then splat the weight pairs from these two registers (one i32 shuffle per pair).
//
// Per-block int4 scales (int4-sparse's default): subs = uint16[B], block b's integer multiplier
// (1..63) of the row scales, splat by one load. M >= 2: the nibble rows are multiplied by it as
// int16 (|code * sub| <= 8 * 63); M = 1: the activations instead (|a' * sub| <= 255 * 63 fits int16),
// one multiply per block, not two. Either way the sums stay exact int32 over a whole row and the
// epilogue is unchanged; subs = 0: none.

import { storeColumn, SPMM_OUT_F32 } from './spmm-common';

// int4 block b's bytes as int16 lanes (zero-extended): the low nibbles are rows 0-1, the high ones
// rows 2-3; i16 shifts (native on x86, unlike i8 ones) sign-extend either nibble
@inline function nibbles(vals: usize, b: usize): v128 {
  return v128.load8x8_u(vals + (b << 3));
}
@inline function low4(x: v128): v128 {
  return i16x8.shr_s(i16x8.shl(x, 12), 12);
}
@inline function high4(x: v128): v128 {
  return i16x8.shr_s(i16x8.shl(x, 8), 12);
}

export function qs8_spmm_bsr4_8x4(
  m: i32, nb0: i32, nb1: i32, n: i32, kp: i32, a: usize, blockPtr: usize, cols: usize, vals: usize, bits: i32, subs: usize,
  out: usize, outStride: usize, kind: i32, scale: usize, bias: usize,
): void {
  const tileBytes = <usize>kp << 4;
  for (let m0 = 0; m0 < m; m0 += 8) {
    const at = a + <usize>(m0 >> 3) * tileBytes;
    const mr = min(8, m - m0);
    for (let bi = nb0; bi < nb1; bi++) {
      let l0 = i32x4.splat(0), h0 = i32x4.splat(0), l1 = i32x4.splat(0), h1 = i32x4.splat(0);
      let l2 = i32x4.splat(0), h2 = i32x4.splat(0), l3 = i32x4.splat(0), h3 = i32x4.splat(0);
      const b1 = <usize>load<i32>(blockPtr + (<usize>bi << 2), 4);
      for (let b = <usize>load<i32>(blockPtr + (<usize>bi << 2)); b < b1; b++) {
        const x = at + (<usize>load<u16>(cols + (b << 1)) << 6);
        const xa = v128.load(x), xb = v128.load(x, 16), xc = v128.load(x, 32), xd = v128.load(x, 48);
        // the block's rows as int16 (| r: k0 k1 k2 k3 |); the weight pairs splat from them (one i32 shuffle each)
        let r01: v128, r23: v128;
        if (bits == 4) {
          const x4 = nibbles(vals, b);
          r01 = low4(x4);
          r23 = high4(x4);
          if (subs != 0) {
            const s = v128.load16_splat(subs + (b << 1));
            r01 = i16x8.mul(r01, s);
            r23 = i16x8.mul(r23, s);
          }
        } else {
          r01 = v128.load8x8_s(vals + (b << 4));
          r23 = v128.load8x8_s(vals + (b << 4), 8);
        }
        let w = i32x4.shuffle(r01, r01, 0, 0, 0, 0), v = i32x4.shuffle(r01, r01, 1, 1, 1, 1);
        l0 = i32x4.add(i32x4.add(l0, i32x4.dot_i16x8_s(xa, w)), i32x4.dot_i16x8_s(xc, v));
        h0 = i32x4.add(i32x4.add(h0, i32x4.dot_i16x8_s(xb, w)), i32x4.dot_i16x8_s(xd, v));
        w = i32x4.shuffle(r01, r01, 2, 2, 2, 2);
        v = i32x4.shuffle(r01, r01, 3, 3, 3, 3);
        l1 = i32x4.add(i32x4.add(l1, i32x4.dot_i16x8_s(xa, w)), i32x4.dot_i16x8_s(xc, v));
        h1 = i32x4.add(i32x4.add(h1, i32x4.dot_i16x8_s(xb, w)), i32x4.dot_i16x8_s(xd, v));
        w = i32x4.shuffle(r23, r23, 0, 0, 0, 0);
        v = i32x4.shuffle(r23, r23, 1, 1, 1, 1);
        l2 = i32x4.add(i32x4.add(l2, i32x4.dot_i16x8_s(xa, w)), i32x4.dot_i16x8_s(xc, v));
        h2 = i32x4.add(i32x4.add(h2, i32x4.dot_i16x8_s(xb, w)), i32x4.dot_i16x8_s(xd, v));
        w = i32x4.shuffle(r23, r23, 2, 2, 2, 2);
        v = i32x4.shuffle(r23, r23, 3, 3, 3, 3);
        l3 = i32x4.add(i32x4.add(l3, i32x4.dot_i16x8_s(xa, w)), i32x4.dot_i16x8_s(xc, v));
        h3 = i32x4.add(i32x4.add(h3, i32x4.dot_i16x8_s(xb, w)), i32x4.dot_i16x8_s(xd, v));
      }
      const r0 = bi << 2;
      storeColumn(l0, h0, mr, m0, r0, out, outStride, kind, scale, bias);
      if (r0 + 1 < n) storeColumn(l1, h1, mr, m0, r0 + 1, out, outStride, kind, scale, bias);
      if (r0 + 2 < n) storeColumn(l2, h2, mr, m0, r0 + 2, out, outStride, kind, scale, bias);
      if (r0 + 3 < n) storeColumn(l3, h3, mr, m0, r0 + 3, out, outStride, kind, scale, bias);
    }
  }
}

// M = 1. a: one int16 row of kp values (A - za, zero padded); scale and bias padded to N rounded up to 4
export function qs8_spmm_bsr4_1x4(
  nb0: i32, nb1: i32, n: i32, a: usize, blockPtr: usize, cols: usize, vals: usize, bits: i32, subs: usize,
  out: usize, kind: i32, scale: usize, bias: usize,
): void {
  for (let bi = nb0; bi < nb1; bi++) {
    let c01 = i32x4.splat(0), c23 = i32x4.splat(0);
    const b1 = <usize>load<i32>(blockPtr + (<usize>bi << 2), 4);
    const b0 = <usize>load<i32>(blockPtr + (<usize>bi << 2));
    // one loop per value width: this loop is a few instructions, a test per block would show
    if (bits == 4 && subs != 0) {
      for (let b = b0; b < b1; b++) {
        const x = i16x8.mul(v128.load64_splat(a + (<usize>load<u16>(cols + (b << 1)) << 3)), v128.load16_splat(subs + (b << 1)));
        const w = nibbles(vals, b);
        c01 = i32x4.add(c01, i32x4.dot_i16x8_s(x, low4(w)));
        c23 = i32x4.add(c23, i32x4.dot_i16x8_s(x, high4(w)));
      }
    } else if (bits == 4) {
      for (let b = b0; b < b1; b++) {
        const x = v128.load64_splat(a + (<usize>load<u16>(cols + (b << 1)) << 3)), w = nibbles(vals, b);
        c01 = i32x4.add(c01, i32x4.dot_i16x8_s(x, low4(w)));
        c23 = i32x4.add(c23, i32x4.dot_i16x8_s(x, high4(w)));
      }
    } else {
      for (let b = b0; b < b1; b++) {
        const x = v128.load64_splat(a + (<usize>load<u16>(cols + (b << 1)) << 3)), vp = vals + (b << 4);
        c01 = i32x4.add(c01, i32x4.dot_i16x8_s(x, v128.load8x8_s(vp)));
        c23 = i32x4.add(c23, i32x4.dot_i16x8_s(x, v128.load8x8_s(vp, 8)));
      }
    }
    // lanes (r0: k0k1, k2k3, r1: k0k1, k2k3) and the same for r2, r3 -> r0 r1 r2 r3
    let v = i32x4.add(i32x4.shuffle(c01, c23, 0, 2, 4, 6), i32x4.shuffle(c01, c23, 1, 3, 5, 7));
    const r0 = <usize>bi << 2;
    if (kind == SPMM_OUT_F32) {
      v = f32x4.mul(f32x4.convert_i32x4_s(v), v128.load(scale + (r0 << 2)));
      if (bias != 0) v = f32x4.add(v, v128.load(bias + (r0 << 2)));
    }
    const p = out + (r0 << 2);
    const nr = n - <i32>r0;
    if (nr >= 4) {
      v128.store(p, v);
    } else {
      store<i32>(p, i32x4.extract_lane(v, 0));
      if (nr > 1) store<i32>(p, i32x4.extract_lane(v, 1), 4);
      if (nr > 2) store<i32>(p, i32x4.extract_lane(v, 2), 8);
    }
  }
}
