// Shiftmax (I-ViT): integer-only softmax over rows of n int8 values with input scale s.
//   q - max(q) <= 0, rescaled to Q15 by one integer multiplier: u = ((q - max) * m) >> g,
//   m / 2^g ~ s * 2^15 (the host picks m, g: src/quant/ivit.ts); e = ShiftExp(u) in Q15;
//   the row sum (at most n << 15: n < 65536) divided once into an integer reciprocal 2^30 / sum;
//   y = round(e * (2^30 / sum) / 2^(30 - bits)), capped at 2^bits - 1: uint8 with scale 2^-bits
//   (bits 8), or 7 for an int8-safe [0, 127].
// Three passes over the row (max, sum, output) recompute e rather than keep an int32 row.

import { ivitLoad4, ivitShiftExp, ivitStore4 } from './ivit-common';

export function ivit_shiftmax_rows(x: usize, rows: i32, n: i32, m: i32, g: i32, bits: i32, y: usize): void {
  const vm = i32x4.splat(m);
  const vcap = i32x4.splat((1 << bits) - 1);
  const lane = i32x4(0, 1, 2, 3);
  const n16 = n & ~15;
  for (let row = 0; row < rows; row++) {
    const xr = x + <usize>row * <usize>n, yr = y + <usize>row * <usize>n;
    let v8 = i8x16.splat(-128);
    for (let j = 0; j < n16; j += 16) v8 = i8x16.max_s(v8, v128.load(xr + <usize>j));
    v8 = i8x16.max_s(v8, i8x16.shuffle(v8, v8, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7));
    v8 = i8x16.max_s(v8, i8x16.shuffle(v8, v8, 4, 5, 6, 7, 0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 2, 3));
    v8 = i8x16.max_s(v8, i8x16.shuffle(v8, v8, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1));
    let mx = max(<i32>i8x16.extract_lane_s(v8, 0), <i32>i8x16.extract_lane_s(v8, 1));
    for (let j = n16; j < n; j++) mx = max(mx, <i32>load<i8>(xr + <usize>j));
    const vmax = i32x4.splat(mx);
    let vs = i32x4.splat(0);
    // whole groups of 4, then one partial group whose lanes past the row add 0
    const n4 = n & ~3;
    for (let j = 0; j < n4; j += 4) vs = i32x4.add(vs, ivitShiftExp(i32x4.shr_s(i32x4.mul(i32x4.sub(ivitLoad4(xr + <usize>j, 4), vmax), vm), g)));
    if (n4 < n) {
      const r = n - n4;
      const e = ivitShiftExp(i32x4.shr_s(i32x4.mul(i32x4.sub(ivitLoad4(xr + <usize>n4, r), vmax), vm), g));
      vs = i32x4.add(vs, v128.and(e, i32x4.gt_s(i32x4.splat(r), lane)));
    }
    const sum = i32x4.extract_lane(vs, 0) + i32x4.extract_lane(vs, 1) + i32x4.extract_lane(vs, 2) + i32x4.extract_lane(vs, 3);
    const vf = i32x4.splat(<i32>((<u32>1 << 30) / <u32>sum));
    const sh = 30 - bits;
    const vr = i32x4.splat(1 << (sh - 1));
    for (let j = 0; j < n; j += 4) {
      const r = j < n4 ? 4 : n - j; // whole groups, then the tail
      const e = ivitShiftExp(i32x4.shr_s(i32x4.mul(i32x4.sub(ivitLoad4(xr + <usize>j, r), vmax), vm), g));
      ivitStore4(yr + <usize>j, i32x4.min_s(i32x4.shr_s(i32x4.add(i32x4.mul(e, vf), vr), sh), vcap), r);
    }
  }
}
