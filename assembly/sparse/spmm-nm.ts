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

export function qs8_spmm_nm24_8x1(
  m: i32, n0: i32, n1: i32, kg: i32, a: usize, vals: usize, meta: usize,
  out: usize, outStride: usize, kind: i32, scale: usize, bias: usize,
): void {
  const tileBytes = <usize>kg * 192;
  const metaRow = <usize>((kg + 1) >> 1);
  const g2 = <usize>(kg & ~1);
  for (let m0 = 0; m0 < m; m0 += 8) {
    const at = a + <usize>(m0 >> 3) * tileBytes;
    const mr = min(8, m - m0);
    for (let n = n0; n < n1; n++) {
      const vr = vals + <usize>n * (<usize>kg << 1);
      const mp = meta + <usize>n * metaRow;
      let lo = i32x4.splat(0), hi = i32x4.splat(0);
      let g: usize = 0;
      for (; g < g2; g += 2) {
        const b = <u32>load<u8>(mp + (g >> 1));
        const x0 = pairAt(at, g, b & 15), w0 = weightPair(vr + (g << 1));
        lo = i32x4.add(lo, i32x4.dot_i16x8_s(v128.load(x0), w0));
        hi = i32x4.add(hi, i32x4.dot_i16x8_s(v128.load(x0, 16), w0));
        const x1 = pairAt(at, g + 1, b >> 4), w1 = weightPair(vr + (g << 1), 2);
        lo = i32x4.add(lo, i32x4.dot_i16x8_s(v128.load(x1), w1));
        hi = i32x4.add(hi, i32x4.dot_i16x8_s(v128.load(x1, 16), w1));
      }
      if (g < <usize>kg) {
        const x0 = pairAt(at, g, <u32>load<u8>(mp + (g >> 1)) & 15), w0 = weightPair(vr + (g << 1));
        lo = i32x4.add(lo, i32x4.dot_i16x8_s(v128.load(x0), w0));
        hi = i32x4.add(hi, i32x4.dot_i16x8_s(v128.load(x0, 16), w0));
      }
      storeColumn(lo, hi, mr, m0, n, out, outStride, kind, scale, bias);
    }
  }
}
