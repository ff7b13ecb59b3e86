// I-LayerNorm (I-ViT): integer-only LayerNorm over rows of n int8 values with input scale s,
// int8 out with scale so; the affine folded by the host into per-channel int32 gam[c], bet[c]
// (src/quant/ivit.ts: gam ~ gamma/so · 2^gs, bet ~ beta/so · 2^(12+gs)).
//   mean on a 1/16 grid: mu = round(16 · sum / n) (one integer division per row);
//   d = 16q - mu fits i16, so sum d² runs on i32x4.dot_i16x8_s, widened to i64 every 8 values;
//   var = 256 · sum d² / n on the (s/256)² grid, std = floor(sqrt(var)) by Newton's integer
//   iteration x <- (x + var / x) / 2 from a power of two above the root (stops when x stops falling);
//   z = d · (2^24 / std) / 2^8 = (x - mean)/std in Q12, capped at ±64;
//   y = round((z · gam[c] + bet[c]) / 2^(12 + gs)), saturated to int8.

import { ivitLoad4, ivitStore4 } from './ivit-common';

// floor(sqrt(v)) for v >= 0
function ivitIsqrt(v: u64): u64 {
  if (v < 2) return v;
  let x: u64 = <u64>1 << ((<u64>(64 - clz(v)) + 1) >> 1);
  let nx = (x + v / x) >> 1;
  while (nx < x) {
    x = nx;
    nx = (x + v / x) >> 1;
  }
  return x;
}

export function ivit_layernorm_rows(x: usize, rows: i32, n: i32, gam: usize, bet: usize, gs: i32, y: usize): void {
  const n8 = n & ~7;
  const sh = 12 + gs;
  const vr = i32x4.splat(1 << (sh - 1));
  const zcap = i32x4.splat(64 << 12);
  for (let row = 0; row < rows; row++) {
    const xr = x + <usize>row * <usize>n, yr = y + <usize>row * <usize>n;
    let vs = i32x4.splat(0);
    for (let j = 0; j < n8; j += 8) vs = i32x4.add(vs, i32x4.extadd_pairwise_i16x8_s(i16x8.extend_low_i8x16_s(v128.load64_zero(xr + <usize>j))));
    let sum = i32x4.extract_lane(vs, 0) + i32x4.extract_lane(vs, 1) + i32x4.extract_lane(vs, 2) + i32x4.extract_lane(vs, 3);
    for (let j = n8; j < n; j++) sum += <i32>load<i8>(xr + <usize>j);
    // floor division of a non-negative numerator: sum >= -128 n
    const mu = <i32>((<u32>(sum * 16 + 2048 * n + (n >> 1))) / <u32>n) - 2048;
    const vmu16 = i16x8.splat(<i16>mu);
    let v2 = i64x2.splat(0);
    for (let j = 0; j < n8; j += 8) {
      const d = i16x8.sub(i16x8.shl(i16x8.extend_low_i8x16_s(v128.load64_zero(xr + <usize>j)), 4), vmu16);
      const p = i32x4.dot_i16x8_s(d, d);
      v2 = i64x2.add(v2, i64x2.add(i64x2.extend_low_i32x4_s(p), i64x2.extend_high_i32x4_s(p)));
    }
    let ss: i64 = i64x2.extract_lane(v2, 0) + i64x2.extract_lane(v2, 1);
    for (let j = n8; j < n; j++) {
      const d = (<i64>load<i8>(xr + <usize>j) << 4) - <i64>mu;
      ss += d * d;
    }
    const sd = <i32>ivitIsqrt((<u64>ss << 8) / <u64>n);
    const vf = i32x4.splat((1 << 24) / max(sd, 1));
    const vmu = i32x4.splat(mu);
    for (let j = 0; j < n; j += 4) {
      const r = min(4, n - j);
      const d = i32x4.sub(i32x4.shl(ivitLoad4(xr + <usize>j, r), 4), vmu);
      let z = i32x4.shr_s(i32x4.add(i32x4.mul(d, vf), i32x4.splat(128)), 8);
      z = i32x4.max_s(i32x4.min_s(z, zcap), i32x4.neg(zcap));
      const acc = i32x4.add(i32x4.mul(z, v128.load(gam + (<usize>j << 2))), v128.load(bet + (<usize>j << 2)));
      const out = i32x4.shr_s(i32x4.add(acc, vr), sh);
      ivitStore4(yr + <usize>j, i32x4.max_s(i32x4.min_s(out, i32x4.splat(127)), i32x4.splat(-128)), r);
    }
  }
}
