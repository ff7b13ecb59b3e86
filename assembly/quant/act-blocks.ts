// Activation blocks for the 4-bit GEMMs (qb4 and lut4 read the same ones): float32 rows [m][k] ->
// symmetric int8 per row or per block of bs values, zero-padded to kp, stored as int8 (wide =
// false: the relaxed c4 layouts) or int16 (wide = true: the baseline layouts).
//   sa = max|x| / 127 over the row or the block (1 when it is all zero)
//   q  = round_half_even(x / sa) clamped to [-127, 127]
// and per row and block the metadata ACT_BLOCK_* of params.ts: sa, sa * S (float32) and S = sum(q)
// (int32). A NaN or infinite input makes sa non-finite, which the host checks for.

import { ACT_BLOCK_BYTES, ACT_BLOCK_SCALE, ACT_BLOCK_SCALED_SUM, ACT_BLOCK_SUM } from '../params';

// max |x[i]| over i in [from, to)
@inline function absMax(x: usize, from: i32, to: i32): f32 {
  let v = f32x4.splat(0);
  let i = from;
  for (; i + 4 <= to; i += 4) v = f32x4.max(v, f32x4.abs(v128.load(x + (<usize>i << 2))));
  let m = max(max(f32x4.extract_lane(v, 0), f32x4.extract_lane(v, 1)), max(f32x4.extract_lane(v, 2), f32x4.extract_lane(v, 3)));
  for (; i < to; i++) m = max(m, abs(load<f32>(x + (<usize>i << 2))));
  return m;
}

export function act_blocks_quantize_f32(
  x: usize, m: i32, k: i32, kp: i32, bs: i32, perBlock: bool, wide: bool, out: usize, meta: usize,
): void {
  const blocks = kp / bs;
  const lo = f32x4.splat(-127);
  const hi = f32x4.splat(127);
  for (let r = 0; r < m; r++) {
    const row = x + (<usize>r * <usize>k << 2);
    const rowMax = perBlock ? <f32>0 : absMax(row, 0, k);
    const dst = out + <usize>r * <usize>kp * (wide ? 2 : 1);
    for (let b = 0; b < blocks; b++) {
      const t0 = b * bs;
      const t1 = min(k, t0 + bs);
      const amax = perBlock ? absMax(row, t0, t1) : rowMax;
      const sa: f32 = amax > 0 ? amax / 127 : (amax == 0 ? <f32>1 : amax); // NaN stays NaN
      const vsa = f32x4.splat(sa);
      let sum = i32x4.splat(0);
      let t = t0;
      for (; t + 4 <= t1; t += 4) {
        const q = i32x4.trunc_sat_f32x4_s(f32x4.pmin(f32x4.pmax(f32x4.nearest(f32x4.div(v128.load(row + (<usize>t << 2)), vsa)), lo), hi));
        sum = i32x4.add(sum, q);
        const h = i16x8.narrow_i32x4_s(q, q);
        if (wide) v128.store64_lane(dst + (<usize>t << 1), h, 0);
        else v128.store32_lane(dst + <usize>t, i8x16.narrow_i16x8_s(h, h), 0);
      }
      let s = i32x4.extract_lane(sum, 0) + i32x4.extract_lane(sum, 1) + i32x4.extract_lane(sum, 2) + i32x4.extract_lane(sum, 3);
      for (; t < t1; t++) {
        const q = <i32>max<f32>(-127, min<f32>(127, nearest<f32>(load<f32>(row + (<usize>t << 2)) / sa)));
        s += q;
        if (wide) store<i16>(dst + (<usize>t << 1), <i16>q);
        else store<i8>(dst + <usize>t, <i8>q);
      }
      for (; t < t0 + bs; t++) {
        if (wide) store<i16>(dst + (<usize>t << 1), 0);
        else store<i8>(dst + <usize>t, 0);
      }
      const mp = meta + (<usize>r * <usize>blocks + <usize>b) * ACT_BLOCK_BYTES;
      store<f32>(mp, sa, ACT_BLOCK_SCALE);
      store<f32>(mp, sa * <f32>s, ACT_BLOCK_SCALED_SUM);
      store<i32>(mp, s, ACT_BLOCK_SUM);
      store<i32>(mp, 0, ACT_BLOCK_SUM + 4); // the unused word
    }
  }
}
