// spmm-csr: int8 CSR weights x dense int8 activations -> int32 (or float32 with per-column scales).
// out[m][n] = sum over the nonzeros (k, w) of weight row n of (A[m][k] - za) * w.
//
// Packed weights (src/kernels/spmm-csr.ts): each row's nonzeros in pairs (an odd row gets one more
// entry with value 0 at column 0), for one i32x4.dot_i16x8_s per pair:
//
//   rowPtr  int32[N + 1]   first pair of each row
//   cols    uint16[2 P]    | k1 k2 | k1 k2 | ...      (P pairs)
//   vals    int8[2 P]      | w1 w2 | w1 w2 | ...
//
// A is staged t8 (spmm-common.ts) for M >= 2. Per pair and 8 rows: two loads of A' (k1 and k2), two shuffles
// that interleave them into (a[k1], a[k2]) pairs, two dots. Tiles of 8 rows outer, rows of W inner:
// a tile of A' (16 K bytes) stays in cache while the weights stream by. Two tiles at a time (16
// rows) share the index and weight loads of a pair.

import { storeColumn, storeOne, weightPair } from './spmm-common';

// rows [m0, m0 + mr) of the tile(s) at `at`: two tiles (16 rows, mr > 8) or one
@inline function rows(
  two: bool, mr: i32, m0: i32, n0: i32, n1: i32, at: usize, tileBytes: usize, rowPtr: usize, cols: usize, vals: usize,
  out: usize, outStride: usize, kind: i32, scale: usize, bias: usize,
): void {
  for (let n = n0; n < n1; n++) {
    let lo = i32x4.splat(0), hi = i32x4.splat(0), lo2 = i32x4.splat(0), hi2 = i32x4.splat(0);
    const p1 = <usize>load<i32>(rowPtr + (<usize>n << 2), 4);
    for (let p = <usize>load<i32>(rowPtr + (<usize>n << 2)); p < p1; p++) {
      const x1 = at + (<usize>load<u16>(cols + (p << 2)) << 4);
      const x2 = at + (<usize>load<u16>(cols + (p << 2), 2) << 4);
      const w = weightPair(vals + (p << 1));
      const a1 = v128.load(x1), a2 = v128.load(x2);
      lo = i32x4.add(lo, i32x4.dot_i16x8_s(i16x8.shuffle(a1, a2, 0, 8, 1, 9, 2, 10, 3, 11), w));
      hi = i32x4.add(hi, i32x4.dot_i16x8_s(i16x8.shuffle(a1, a2, 4, 12, 5, 13, 6, 14, 7, 15), w));
      if (two) {
        const b1 = v128.load(x1 + tileBytes), b2 = v128.load(x2 + tileBytes);
        lo2 = i32x4.add(lo2, i32x4.dot_i16x8_s(i16x8.shuffle(b1, b2, 0, 8, 1, 9, 2, 10, 3, 11), w));
        hi2 = i32x4.add(hi2, i32x4.dot_i16x8_s(i16x8.shuffle(b1, b2, 4, 12, 5, 13, 6, 14, 7, 15), w));
      }
    }
    storeColumn(lo, hi, min(8, mr), m0, n, out, outStride, kind, scale, bias);
    if (two) storeColumn(lo2, hi2, mr - 8, m0 + 8, n, out, outStride, kind, scale, bias);
  }
}

// M >= 2: A staged t8; 16 rows (two tiles) per pass while more than 8 remain, then 8
export function qs8_spmm_csr_8x1(
  m: i32, n0: i32, n1: i32, k: i32, a: usize, rowPtr: usize, cols: usize, vals: usize,
  out: usize, outStride: usize, kind: i32, scale: usize, bias: usize,
): void {
  const tileBytes = <usize>k << 4;
  for (let m0 = 0; m0 < m; m0 += 16) {
    const at = a + <usize>(m0 >> 3) * tileBytes;
    const mr = min(16, m - m0);
    if (mr > 8) rows(true, mr, m0, n0, n1, at, tileBytes, rowPtr, cols, vals, out, outStride, kind, scale, bias);
    else rows(false, mr, m0, n0, n1, at, tileBytes, rowPtr, cols, vals, out, outStride, kind, scale, bias);
  }
}

// M = 1: A staged as one int16 row (qs8_stage_c2). Gathers 8 entries' activations into one vector
// (8 lane loads) for one dot with their 8 weights; a row's last pairs one at a time.
export function qs8_spmm_csr_1x1(
  n0: i32, n1: i32, a: usize, rowPtr: usize, cols: usize, vals: usize, out: usize, kind: i32, scale: usize, bias: usize,
): void {
  for (let n = n0; n < n1; n++) {
    let acc = i32x4.splat(0);
    let p = <usize>load<i32>(rowPtr + (<usize>n << 2));
    const p1 = <usize>load<i32>(rowPtr + (<usize>n << 2), 4);
    for (; p + 4 <= p1; p += 4) {
      const c = cols + (p << 2);
      let x = v128.load16_splat(a + (<usize>load<u16>(c) << 1));
      x = v128.load16_lane(a + (<usize>load<u16>(c, 2) << 1), x, 1);
      x = v128.load16_lane(a + (<usize>load<u16>(c, 4) << 1), x, 2);
      x = v128.load16_lane(a + (<usize>load<u16>(c, 6) << 1), x, 3);
      x = v128.load16_lane(a + (<usize>load<u16>(c, 8) << 1), x, 4);
      x = v128.load16_lane(a + (<usize>load<u16>(c, 10) << 1), x, 5);
      x = v128.load16_lane(a + (<usize>load<u16>(c, 12) << 1), x, 6);
      x = v128.load16_lane(a + (<usize>load<u16>(c, 14) << 1), x, 7);
      acc = i32x4.add(acc, i32x4.dot_i16x8_s(x, v128.load8x8_s(vals + (p << 1))));
    }
    let s = i32x4.extract_lane(acc, 0) + i32x4.extract_lane(acc, 1) + i32x4.extract_lane(acc, 2) + i32x4.extract_lane(acc, 3);
    for (; p < p1; p++) {
      const c = cols + (p << 2), v = vals + (p << 1);
      s += <i32>load<i16>(a + (<usize>load<u16>(c) << 1)) * <i32>load<i8>(v);
      s += <i32>load<i16>(a + (<usize>load<u16>(c, 2) << 1)) * <i32>load<i8>(v, 1);
    }
    storeOne(s, n, out, kind, scale, bias);
  }
}
