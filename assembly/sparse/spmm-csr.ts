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
// A is staged t8 (spmm-common.ts). Per pair and 8 rows: two loads of A' (k1 and k2), two shuffles
// that interleave them into (a[k1], a[k2]) pairs, two dots. Tiles of 8 rows outer, rows of W inner:
// a tile of A' (16 K bytes) stays in cache while the weights stream by.

import { storeColumn, weightPair } from './spmm-common';

export function qs8_spmm_csr_8x1(
  m: i32, n0: i32, n1: i32, k: i32, a: usize, rowPtr: usize, cols: usize, vals: usize,
  out: usize, outStride: usize, kind: i32, scale: usize, bias: usize,
): void {
  const tileBytes = <usize>k << 4;
  for (let m0 = 0; m0 < m; m0 += 8) {
    const at = a + <usize>(m0 >> 3) * tileBytes;
    const mr = min(8, m - m0);
    for (let n = n0; n < n1; n++) {
      let lo = i32x4.splat(0), hi = i32x4.splat(0);
      const p1 = <usize>load<i32>(rowPtr + (<usize>n << 2), 4);
      for (let p = <usize>load<i32>(rowPtr + (<usize>n << 2)); p < p1; p++) {
        const x1 = at + (<usize>load<u16>(cols + (p << 2)) << 4);
        const x2 = at + (<usize>load<u16>(cols + (p << 2), 2) << 4);
        const w = weightPair(vals + (p << 1));
        const a1 = v128.load(x1), a2 = v128.load(x2);
        lo = i32x4.add(lo, i32x4.dot_i16x8_s(i16x8.shuffle(a1, a2, 0, 8, 1, 9, 2, 10, 3, 11), w));
        hi = i32x4.add(hi, i32x4.dot_i16x8_s(i16x8.shuffle(a1, a2, 4, 12, 5, 13, 6, 14, 7, 15), w));
      }
      storeColumn(lo, hi, mr, m0, n, out, outStride, kind, scale, bias);
    }
  }
}
