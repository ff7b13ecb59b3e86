// spmm-srbcrs: SR-BCRS-like vector rows (Magicube / vectorSparse line of work) x dense int8
// activations -> int32 (or float32 with per-column scales). The weights are kept in 4x1 vectors:
// 4 consecutive output channels (one row block) sharing one k, stored row block by row block with
// the k of each kept vector, each row block's vector count padded to the stride 2 (zero vectors), so
// the loop takes two vectors a step with no remainder in the index stream.
//
// Why 4 channels sharing one k, not 4 consecutive k of one channel: the kernels vectorize along M
// (4 rows of A' per v128), and a channel vector reuses each load of A' for 4 weight rows, as the 4x4
// blocks do; a vector along K meets each A' load once (one dot per load, no reuse). Why 4 and not
// 8: 4 channels x 8 rows of A are 8 int32x4 accumulators, which with the loads and splats fit the 16
// x64 vector registers; 8 channels would spill. Why stride 2: i32x4.dot_i16x8_s sums pairs of k,
// so the two vectors of a step are its pair.
//
// Packed weights (src/kernels/spmm-srbcrs.ts), N padded to 4:
//
//   vecPtr  int32[N/4 + 1]  first vector of each row block (every count even)
//   cols    uint16[V]       k of each vector (a step's two read as one u32)
//   vals    int8[V / 2][8]  per step (vectors v, v+1): | r0: v v+1 | r1: v v+1 | r2 | r3 |
//
// M >= 2: A staged t8 (spmm-common.ts); a step loads k1's and k2's 8 rows, interleaves them into
// (k1, k2) pairs for rows 0-3 and 4-7 (two i16 shuffles), splats each channel's weight pair (one i32
// shuffle) and does 8 dots. M = 1: A staged as one int16 row (qs8_stage_c2); a step splats the pair
// (a'[k1], a'[k2]) and does one dot against the step's 8 weights: 4 channel sums at once (four steps
// a loop iteration).

import { storeColumn, SPMM_OUT_F32 } from './spmm-common';

export function qs8_spmm_srbcrs_8x4(
  m: i32, nb0: i32, nb1: i32, n: i32, k: i32, a: usize, vecPtr: usize, cols: usize, vals: usize,
  out: usize, outStride: usize, kind: i32, scale: usize, bias: usize,
): void {
  const tileBytes = <usize>k << 4;
  for (let m0 = 0; m0 < m; m0 += 8) {
    const at = a + <usize>(m0 >> 3) * tileBytes;
    const mr = min(8, m - m0);
    for (let bi = nb0; bi < nb1; bi++) {
      let l0 = i32x4.splat(0), h0 = i32x4.splat(0), l1 = i32x4.splat(0), h1 = i32x4.splat(0);
      let l2 = i32x4.splat(0), h2 = i32x4.splat(0), l3 = i32x4.splat(0), h3 = i32x4.splat(0);
      const v1 = <usize>load<i32>(vecPtr + (<usize>bi << 2), 4);
      for (let v = <usize>load<i32>(vecPtr + (<usize>bi << 2)); v < v1; v += 2) {
        const c = load<u32>(cols + (v << 1));
        const xa = v128.load(at + (<usize>(c & 0xffff) << 4)), xb = v128.load(at + (<usize>(c >>> 16) << 4));
        const lo = i16x8.shuffle(xa, xb, 0, 8, 1, 9, 2, 10, 3, 11), hi = i16x8.shuffle(xa, xb, 4, 12, 5, 13, 6, 14, 7, 15);
        const w = v128.load8x8_s(vals + (v << 2));
        let p = i32x4.shuffle(w, w, 0, 0, 0, 0);
        l0 = i32x4.add(l0, i32x4.dot_i16x8_s(lo, p));
        h0 = i32x4.add(h0, i32x4.dot_i16x8_s(hi, p));
        p = i32x4.shuffle(w, w, 1, 1, 1, 1);
        l1 = i32x4.add(l1, i32x4.dot_i16x8_s(lo, p));
        h1 = i32x4.add(h1, i32x4.dot_i16x8_s(hi, p));
        p = i32x4.shuffle(w, w, 2, 2, 2, 2);
        l2 = i32x4.add(l2, i32x4.dot_i16x8_s(lo, p));
        h2 = i32x4.add(h2, i32x4.dot_i16x8_s(hi, p));
        p = i32x4.shuffle(w, w, 3, 3, 3, 3);
        l3 = i32x4.add(l3, i32x4.dot_i16x8_s(lo, p));
        h3 = i32x4.add(h3, i32x4.dot_i16x8_s(hi, p));
      }
      const r0 = bi << 2;
      storeColumn(l0, h0, mr, m0, r0, out, outStride, kind, scale, bias);
      if (r0 + 1 < n) storeColumn(l1, h1, mr, m0, r0 + 1, out, outStride, kind, scale, bias);
      if (r0 + 2 < n) storeColumn(l2, h2, mr, m0, r0 + 2, out, outStride, kind, scale, bias);
      if (r0 + 3 < n) storeColumn(l3, h3, mr, m0, r0 + 3, out, outStride, kind, scale, bias);
    }
  }
}

// M = 1. a: one int16 row of A - za; scale and bias padded to N rounded up to 4. Four steps a loop
// iteration into two accumulators, the rest one step at a time: the one-step loop was 0.7-0.85x dense
// int8 at 50% (bench/RESULTS-srbcrs.md), its cost per step mostly the loop's own (V8's back-edge check,
// the index and the branch) around a 4-instruction body.
export function qs8_spmm_srbcrs_1x4(
  nb0: i32, nb1: i32, n: i32, a: usize, vecPtr: usize, cols: usize, vals: usize,
  out: usize, kind: i32, scale: usize, bias: usize,
): void {
  for (let bi = nb0; bi < nb1; bi++) {
    let acc = i32x4.splat(0), acc2 = i32x4.splat(0);
    const v1 = <usize>load<i32>(vecPtr + (<usize>bi << 2), 4);
    let v = <usize>load<i32>(vecPtr + (<usize>bi << 2));
    for (; v + 8 <= v1; v += 8) {
      const c = cols + (v << 1), w = vals + (v << 2);
      acc = gemvStep(acc, a, load<u32>(c), w);
      acc2 = gemvStep(acc2, a, load<u32>(c, 4), w + 8);
      acc = gemvStep(acc, a, load<u32>(c, 8), w + 16);
      acc2 = gemvStep(acc2, a, load<u32>(c, 12), w + 24);
    }
    for (; v < v1; v += 2) acc = gemvStep(acc, a, load<u32>(cols + (v << 1)), vals + (v << 2));
    acc = i32x4.add(acc, acc2);
    const r0 = <usize>bi << 2;
    if (kind == SPMM_OUT_F32) {
      acc = f32x4.mul(f32x4.convert_i32x4_s(acc), v128.load(scale + (r0 << 2)));
      if (bias != 0) acc = f32x4.add(acc, v128.load(bias + (r0 << 2)));
    }
    const p = out + (r0 << 2);
    const nr = n - <i32>r0;
    if (nr >= 4) {
      v128.store(p, acc);
    } else {
      store<i32>(p, i32x4.extract_lane(acc, 0));
      if (nr > 1) store<i32>(p, i32x4.extract_lane(acc, 1), 4);
      if (nr > 2) store<i32>(p, i32x4.extract_lane(acc, 2), 8);
    }
  }
}

// one step (vectors v, v+1; c: their two k): (a'[k1], a'[k2]) in lanes 0-1 by two lane loads, splat
// as one i32, one dot against the step's 8 weights gives 4 channel sums
// @ts-ignore: decorator
@inline function gemvStep(acc: v128, a: usize, c: u32, w: usize): v128 {
  const x = v128.load16_lane(a + (<usize>(c >>> 16) << 1), v128.load16_splat(a + (<usize>(c & 0xffff) << 1)), 1);
  return i32x4.add(acc, i32x4.dot_i16x8_s(i32x4.shuffle(x, x, 0, 0, 0, 0), v128.load8x8_s(w)));
}
