// spmm-nm: 2:4 int8 weights x dense int8 activations -> int32 (or float32 with per-column scales).
// Every group of 4 consecutive k of a weight row holds 2 values at positions i1 < i2.
//
// Packed weights (src/kernels/spmm-nm.ts), row n of W, kg = ceil(K / 4) groups:
//
//   vals  int8[N][2 kg]           | g0: w(i1) w(i2) | g1: w(i1) w(i2) | ...
//   meta  uint8[N][ceil(kg / 2)]  one nibble per group, low nibble first: i1 | i2 << 2
//
// M >= 2: A is staged g6 (spmm-common.ts): the 6 possible (a[i1], a[i2]) pairs of every group, so a
// group costs one table lookup of its nibble, two loads of A' and two dots per 8 rows, no shuffle;
// 16 rows (two tiles) per pass share the lookup and the weight pair; K runs in chunks (CHUNK).
// M = 1: qs8_spmm_nm24_1x1 at the end of this file expands the weights to dense int8 in registers.

import { storeColumn, storeOne, weightPair } from './spmm-common';

// nibble i1 | i2 << 2 -> the pair's byte offset in its g6 group (32 bytes per pair); 0 for the
// nibbles the packer never writes (i1 >= i2)
const PAIR_OFFSET: StaticArray<u8> = [0, 0, 0, 0, 0, 0, 0, 0, 32, 96, 0, 0, 64, 128, 160, 0];

// the address of the staged (a[i1], a[i2]) pairs of group g for the group's nibble
@inline function pairAt(at: usize, g: usize, nib: u32): usize {
  return at + g * 192 + <usize>unchecked(PAIR_OFFSET[nib]);
}

// Groups per K chunk: two g6 tiles of 64 groups are 24 KB, so the staged A of a chunk stays in L1
// while every weight row passes over it (unchunked, 128x3072x768 read A' from L2: 20.3 ms, chunked
// 16.2). 32-row passes (four tiles, one group per iteration) measured slower here (0.3-0.5x dense
// at M = 128 against 0.6-0.8x): 8 accumulators and the per-group nibble shift.
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
    // at least one chunk, so K = 0 still writes its (zero) sums through the epilogue
    for (let g0 = 0; ; g0 += CHUNK) {
      const g1 = <usize>min(kg, g0 + CHUNK);
      const first = g0 == 0, last = <i32>g1 == kg;
      if (mr > 8) rows(true, mr, m0, n0, n1, kg, g0, g1, first, last, at, tileBytes, vals, meta, acc, out, outStride, kind, scale, bias);
      else rows(false, mr, m0, n0, n1, kg, g0, g1, first, last, at, tileBytes, vals, meta, acc, out, outStride, kind, scale, bias);
      if (last) break;
    }
  }
}

// M = 1: the 2:4 weights expanded to dense int8 in registers. One meta byte (two groups) indexes
// NM_SWIZZLE: the swizzle that puts the groups' 4 values at their positions among 8 k (lane index
// 0x80: zero), so two groups cost one swizzle, one sign extension and one dot with 8 int16 of A'.
// Index decode is the bound: ~10 instructions per 8 k against the dense GEMV's ~3.5 (see
// bench/RESULTS-spmm.md).
// generated: for meta byte b, lanes i1, i2 (b & 15) take values 0, 1 and lanes 4 + j1, 4 + j2 (b >> 4)
// values 2, 3
const NM_SWIZZLE: StaticArray<u64> = [
  0x8080800380808001, 0x8080800380800001, 0x8080800380008001, 0x8080800300808001,
  0x8080800380800100, 0x8080800380800180, 0x8080800380000180, 0x8080800300800180,
  0x8080800380018000, 0x8080800380010080, 0x8080800380018080, 0x8080800300018080,
  0x8080800301808000, 0x8080800301800080, 0x8080800301008080, 0x8080800301808080,
  0x8080020380808001, 0x8080020380800001, 0x8080020380008001, 0x8080020300808001,
  0x8080020380800100, 0x8080020380800180, 0x8080020380000180, 0x8080020300800180,
  0x8080020380018000, 0x8080020380010080, 0x8080020380018080, 0x8080020300018080,
  0x8080020301808000, 0x8080020301800080, 0x8080020301008080, 0x8080020301808080,
  0x8002800380808001, 0x8002800380800001, 0x8002800380008001, 0x8002800300808001,
  0x8002800380800100, 0x8002800380800180, 0x8002800380000180, 0x8002800300800180,
  0x8002800380018000, 0x8002800380010080, 0x8002800380018080, 0x8002800300018080,
  0x8002800301808000, 0x8002800301800080, 0x8002800301008080, 0x8002800301808080,
  0x0280800380808001, 0x0280800380800001, 0x0280800380008001, 0x0280800300808001,
  0x0280800380800100, 0x0280800380800180, 0x0280800380000180, 0x0280800300800180,
  0x0280800380018000, 0x0280800380010080, 0x0280800380018080, 0x0280800300018080,
  0x0280800301808000, 0x0280800301800080, 0x0280800301008080, 0x0280800301808080,
  0x8080030280808001, 0x8080030280800001, 0x8080030280008001, 0x8080030200808001,
  0x8080030280800100, 0x8080030280800180, 0x8080030280000180, 0x8080030200800180,
  0x8080030280018000, 0x8080030280010080, 0x8080030280018080, 0x8080030200018080,
  0x8080030201808000, 0x8080030201800080, 0x8080030201008080, 0x8080030201808080,
  0x8080038080808001, 0x8080038080800001, 0x8080038080008001, 0x8080038000808001,
  0x8080038080800100, 0x8080038080800180, 0x8080038080000180, 0x8080038000800180,
  0x8080038080018000, 0x8080038080010080, 0x8080038080018080, 0x8080038000018080,
  0x8080038001808000, 0x8080038001800080, 0x8080038001008080, 0x8080038001808080,
  0x8002038080808001, 0x8002038080800001, 0x8002038080008001, 0x8002038000808001,
  0x8002038080800100, 0x8002038080800180, 0x8002038080000180, 0x8002038000800180,
  0x8002038080018000, 0x8002038080010080, 0x8002038080018080, 0x8002038000018080,
  0x8002038001808000, 0x8002038001800080, 0x8002038001008080, 0x8002038001808080,
  0x0280038080808001, 0x0280038080800001, 0x0280038080008001, 0x0280038000808001,
  0x0280038080800100, 0x0280038080800180, 0x0280038080000180, 0x0280038000800180,
  0x0280038080018000, 0x0280038080010080, 0x0280038080018080, 0x0280038000018080,
  0x0280038001808000, 0x0280038001800080, 0x0280038001008080, 0x0280038001808080,
  0x8003800280808001, 0x8003800280800001, 0x8003800280008001, 0x8003800200808001,
  0x8003800280800100, 0x8003800280800180, 0x8003800280000180, 0x8003800200800180,
  0x8003800280018000, 0x8003800280010080, 0x8003800280018080, 0x8003800200018080,
  0x8003800201808000, 0x8003800201800080, 0x8003800201008080, 0x8003800201808080,
  0x8003028080808001, 0x8003028080800001, 0x8003028080008001, 0x8003028000808001,
  0x8003028080800100, 0x8003028080800180, 0x8003028080000180, 0x8003028000800180,
  0x8003028080018000, 0x8003028080010080, 0x8003028080018080, 0x8003028000018080,
  0x8003028001808000, 0x8003028001800080, 0x8003028001008080, 0x8003028001808080,
  0x8003808080808001, 0x8003808080800001, 0x8003808080008001, 0x8003808000808001,
  0x8003808080800100, 0x8003808080800180, 0x8003808080000180, 0x8003808000800180,
  0x8003808080018000, 0x8003808080010080, 0x8003808080018080, 0x8003808000018080,
  0x8003808001808000, 0x8003808001800080, 0x8003808001008080, 0x8003808001808080,
  0x0203808080808001, 0x0203808080800001, 0x0203808080008001, 0x0203808000808001,
  0x0203808080800100, 0x0203808080800180, 0x0203808080000180, 0x0203808000800180,
  0x0203808080018000, 0x0203808080010080, 0x0203808080018080, 0x0203808000018080,
  0x0203808001808000, 0x0203808001800080, 0x0203808001008080, 0x0203808001808080,
  0x0380800280808001, 0x0380800280800001, 0x0380800280008001, 0x0380800200808001,
  0x0380800280800100, 0x0380800280800180, 0x0380800280000180, 0x0380800200800180,
  0x0380800280018000, 0x0380800280010080, 0x0380800280018080, 0x0380800200018080,
  0x0380800201808000, 0x0380800201800080, 0x0380800201008080, 0x0380800201808080,
  0x0380028080808001, 0x0380028080800001, 0x0380028080008001, 0x0380028000808001,
  0x0380028080800100, 0x0380028080800180, 0x0380028080000180, 0x0380028000800180,
  0x0380028080018000, 0x0380028080010080, 0x0380028080018080, 0x0380028000018080,
  0x0380028001808000, 0x0380028001800080, 0x0380028001008080, 0x0380028001808080,
  0x0302808080808001, 0x0302808080800001, 0x0302808080008001, 0x0302808000808001,
  0x0302808080800100, 0x0302808080800180, 0x0302808080000180, 0x0302808000800180,
  0x0302808080018000, 0x0302808080010080, 0x0302808080018080, 0x0302808000018080,
  0x0302808001808000, 0x0302808001800080, 0x0302808001008080, 0x0302808001808080,
  0x0380808080808001, 0x0380808080800001, 0x0380808080008001, 0x0380808000808001,
  0x0380808080800100, 0x0380808080800180, 0x0380808080000180, 0x0380808000800180,
  0x0380808080018000, 0x0380808080010080, 0x0380808080018080, 0x0380808000018080,
  0x0380808001808000, 0x0380808001800080, 0x0380808001008080, 0x0380808001808080,
];

// a: one int16 row of A - za, zero padded to ceil(kg / 2) * 8 (an odd kg's padding group reads
// zeros there, whatever its nibble); vals readable 4 bytes past the last row
export function qs8_spmm_nm24_1x1(
  n0: i32, n1: i32, kg: i32, a: usize, vals: usize, meta: usize, out: usize, kind: i32, scale: usize, bias: usize,
): void {
  const metaRow = <usize>((kg + 1) >> 1);
  const table = changetype<usize>(NM_SWIZZLE);
  for (let n = n0; n < n1; n++) {
    const vr = vals + <usize>n * (<usize>kg << 1);
    const mp = meta + <usize>n * metaRow;
    let acc = i32x4.splat(0);
    for (let j: usize = 0; j < metaRow; j++) {
      const mask = v128.load64_zero(table + (<usize>load<u8>(mp + j) << 3));
      const w = i16x8.extend_low_i8x16_s(i8x16.swizzle(v128.load32_zero(vr + (j << 2)), mask));
      acc = i32x4.add(acc, i32x4.dot_i16x8_s(v128.load(a + (j << 4)), w));
    }
    storeOne(i32x4.extract_lane(acc, 0) + i32x4.extract_lane(acc, 1) + i32x4.extract_lane(acc, 2) + i32x4.extract_lane(acc, 3), n, out, kind, scale, bias);
  }
}
