// qs8-stage-chan: float32 rows to the c2 staging of the qs8 GEMM (int16 q - zp, row sums), with a
// divisor and a rounding offset per input column k:
//   q = clamp(floor(x / div[k] + off[k]), 0, 255), staged as q - zp.
// div[k] = s * c[k] carries a per-channel scale migrated into the weights (SmoothQuant), and
// off[k] = 1 - border[k] the rounding border learned on calibration data (AQuant): the value rounds
// up when its fraction reaches the border, 0.5 for round-half-up. Each step is one float32 operation,
// so the scalar reference (src/kernels/qs8-stage-chan.ts) matches it bit for bit.

export function qs8_stage_chan_c2(m: i32, k: i32, kp: i32, x: usize, xStride: usize, div: usize, off: usize, zp: i32, out: usize, rowSum: usize): void {
  const lo = i32x4.splat(-zp), hi = i32x4.splat(255 - zp);
  for (let i = 0; i < m; i++) {
    const src = x + <usize>i * xStride;
    const dst = out + <usize>i * (<usize>kp << 1);
    let sum = i32x4.splat(0);
    let j = 0;
    for (; j + 8 <= k; j += 8) {
      const b = <usize>j << 2;
      const v0 = f32x4.floor(f32x4.add(f32x4.div(v128.load(src + b), v128.load(div + b)), v128.load(off + b)));
      const v1 = f32x4.floor(f32x4.add(f32x4.div(v128.load(src + b, 16), v128.load(div + b, 16)), v128.load(off + b, 16)));
      const q0 = i32x4.min_s(i32x4.max_s(i32x4.trunc_sat_f32x4_s(v0), lo), hi);
      const q1 = i32x4.min_s(i32x4.max_s(i32x4.trunc_sat_f32x4_s(v1), lo), hi);
      v128.store(dst + (<usize>j << 1), i16x8.narrow_i32x4_s(q0, q1));
      sum = i32x4.add(sum, i32x4.add(q0, q1));
    }
    let s = i32x4.extract_lane(sum, 0) + i32x4.extract_lane(sum, 1) + i32x4.extract_lane(sum, 2) + i32x4.extract_lane(sum, 3);
    for (; j < k; j++) {
      // one lane of the vector path, so the tail rounds and saturates identically
      const b = <usize>j << 2;
      const v = f32x4.floor(f32x4.add(f32x4.div(f32x4.splat(load<f32>(src + b)), f32x4.splat(load<f32>(div + b))), f32x4.splat(load<f32>(off + b))));
      const q = i32x4.extract_lane(i32x4.min_s(i32x4.max_s(i32x4.trunc_sat_f32x4_s(v), lo), hi), 0);
      store<i16>(dst + (<usize>j << 1), <i16>q);
      s += q;
    }
    for (; j < kp; j++) store<i16>(dst + (<usize>j << 1), 0);
    store<i32>(rowSum + (<usize>i << 2), s);
  }
}
