// spmm-nm: 2:4 int8 weights x dense int8 activations -> int32 (or float32 with per-column scales).
// Every group of 4 consecutive k of a weight row holds 2 values at positions i1 < i2.
//
// Packed weights (src/kernels/spmm-nm.ts), row n of W, kg = ceil(K / 4) groups:
//
//   vals  int8[N][2 kg]           | g0: w(i1) w(i2) | g1: w(i1) w(i2) | ...
//   meta  uint8[N][ceil(kg / 2)]  one nibble per group, low nibble first: i1 | i2 << 2
//
// A is staged g6 (spmm-common.ts): the 6 possible (a[i1], a[i2]) pairs of every group, so a group
// costs one table lookup of its nibble, two loads of A' and two dots per 8 rows, no shuffle.

import { storeColumn, weightPair } from './spmm-common';

// nibble i1 | i2 << 2 -> the pair's byte offset in its g6 group (32 bytes per pair); 0 for the
// nibbles the packer never writes (i1 >= i2)
const PAIR_OFFSET: StaticArray<u8> = [0, 0, 0, 0, 0, 0, 0, 0, 32, 96, 0, 0, 64, 128, 160, 0];

// the address of the staged (a[i1], a[i2]) pairs of group g for the group's nibble
@inline function pairAt(at: usize, g: usize, nib: u32): usize {
  return at + g * 192 + <usize>unchecked(PAIR_OFFSET[nib]);
}

// Groups per K chunk: two g6 tiles of 64 groups are 24 KB, so the staged A of a chunk stays in L1
// while every weight row passes over it (unchunked, K = 3072 read A' from L2 and ran 3x slower).
const CHUNK: i32 = 64;

// rows [m0, m0 + mr) (two tiles when two) x columns [n0, n1) over groups [g0, g1). Partial sums
// of earlier chunks come from acc (64 bytes per column: 16 rows int32), and go back to it unless last.
@inline function rows(
  two: bool, mr: i32, m0: i32, n0: i32, n1: i32, kg: i32, g0: usize, g1: usize, first: bool, last: bool,
  at: usize, tileBytes: usize, vals: usize, meta: usize, acc: usize,
  out: usize, outStride: usize, kind: i32, scale: usize, bias: usize,
): void {
  const metaRow = <usize>((kg + 1) >> 1);
  for (let n = n0; n < n1; n++) {
    const vr = vals + <usize>n * (<usize>kg << 1);
    const mp = meta + <usize>n * metaRow;
    const ap = acc + (<usize>n << 6);
    let lo = i32x4.splat(0), hi = i32x4.splat(0), lo2 = i32x4.splat(0), hi2 = i32x4.splat(0);
    if (!first) {
      lo = v128.load(ap);
      hi = v128.load(ap, 16);
      lo2 = v128.load(ap, 32);
      hi2 = v128.load(ap, 48);
    }
    // two groups per meta byte: low nibble, then high (g0 is even)
    for (let g = g0; g < g1; g += 2) {
      const b = <u32>load<u8>(mp + (g >> 1));
      let x = pairAt(at, g, b & 15), w = weightPair(vr + (g << 1));
      lo = i32x4.add(lo, i32x4.dot_i16x8_s(v128.load(x), w));
      hi = i32x4.add(hi, i32x4.dot_i16x8_s(v128.load(x, 16), w));
      if (two) {
        lo2 = i32x4.add(lo2, i32x4.dot_i16x8_s(v128.load(x + tileBytes), w));
        hi2 = i32x4.add(hi2, i32x4.dot_i16x8_s(v128.load(x + tileBytes, 16), w));
      }
      if (g + 1 >= g1) break;
      x = pairAt(at, g + 1, b >> 4);
      w = weightPair(vr + (g << 1), 2);
      lo = i32x4.add(lo, i32x4.dot_i16x8_s(v128.load(x), w));
      hi = i32x4.add(hi, i32x4.dot_i16x8_s(v128.load(x, 16), w));
      if (two) {
        lo2 = i32x4.add(lo2, i32x4.dot_i16x8_s(v128.load(x + tileBytes), w));
        hi2 = i32x4.add(hi2, i32x4.dot_i16x8_s(v128.load(x + tileBytes, 16), w));
      }
    }
    if (last) {
      storeColumn(lo, hi, min(8, mr), m0, n, out, outStride, kind, scale, bias);
      if (two) storeColumn(lo2, hi2, mr - 8, m0 + 8, n, out, outStride, kind, scale, bias);
    } else {
      v128.store(ap, lo);
      v128.store(ap, hi, 16);
      v128.store(ap, lo2, 32);
      v128.store(ap, hi2, 48);
    }
  }
}

// A staged g6; 16 rows (two tiles) per pass while more than 8 remain, then 8; K in chunks of CHUNK
// groups. acc: scratch of N * 64 bytes (used when kg > CHUNK).
export function qs8_spmm_nm24_8x1(
  m: i32, n0: i32, n1: i32, kg: i32, a: usize, vals: usize, meta: usize, acc: usize,
  out: usize, outStride: usize, kind: i32, scale: usize, bias: usize,
): void {
  const tileBytes = <usize>kg * 192;
  for (let m0 = 0; m0 < m; m0 += 16) {
    const at = a + <usize>(m0 >> 3) * tileBytes;
    const mr = min(16, m - m0);
    for (let g0 = 0; g0 < kg; g0 += CHUNK) {
      const g1 = <usize>min(kg, g0 + CHUNK);
      const first = g0 == 0, last = <i32>g1 == kg;
      if (mr > 8) rows(true, mr, m0, n0, n1, kg, g0, g1, first, last, at, tileBytes, vals, meta, acc, out, outStride, kind, scale, bias);
      else rows(false, mr, m0, n0, n1, kg, g0, g1, first, last, at, tileBytes, vals, meta, acc, out, outStride, kind, scale, bias);
    }
  }
}
