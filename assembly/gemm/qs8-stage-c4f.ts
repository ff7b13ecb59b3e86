// qs8-stage-c4f: float32 rows straight to the c4 staging of the qs8 GEMM (relaxed build's 7-bit
// layout, assembly/gemm/qs8.ts): QuantizeLinear to uint8 and staging in one pass, as
// qs8_stage_f32_c2 and qs8_stage_chan_c2 do for c2. Per element
//   f32:  q = clamp(nearest(x / scale) + zp, 0, 255)            (ONNX QuantizeLinear: ties to even)
//   chan: q = clamp(floor(x / div[k] + off[k]) + zp, 0, 255)    (per-column divisor and rounding offset)
// stored as the int8 q - 128 (what qs8_stage_c4 makes of uint8 A), with the row sums of the stored
// values. copies (1 or 2) writes each row that many times one after another (2: for weights split
// exactly into two 7-bit halves stacked along K, [x, x] . [W1; W2] = x . W), then zero-pads the row
// to kp (a multiple of 4, >= copies * k). The quantized q is the one the c2 stagers make
// (same float32 steps, same clamp), so both builds multiply the same integers.
// Plain SIMD only: both builds have these, and the scalar reference is refStageC4 (src/kernels/qs8-stage-c4f.ts).

// four vectors of q - zp (each already in [-zp, 255 - zp]) -> 16 bytes of q - 128 at dst (and at
// dst + dup when dup != 0); returns their sum
@inline function store16(dst: usize, dup: usize, q0: v128, q1: v128, q2: v128, q3: v128, shift: v128): v128 {
  const a = i32x4.add(q0, shift), b = i32x4.add(q1, shift), c = i32x4.add(q2, shift), d = i32x4.add(q3, shift);
  const v = i8x16.narrow_i16x8_s(i16x8.narrow_i32x4_s(a, b), i16x8.narrow_i32x4_s(c, d));
  v128.store(dst, v);
  if (dup != 0) v128.store(dst + dup, v);
  return i32x4.add(i32x4.add(a, b), i32x4.add(c, d));
}

// the end of a row: its tail value at j (and j + dup), then zero padding from copies * k to kp
@inline function storeTail(dst: usize, dup: usize, j: i32, q: i32): void {
  store<i8>(dst + j, <i8>q);
  if (dup != 0) store<i8>(dst + dup + j, <i8>q);
}

@inline function sum4(v: v128): i32 {
  return i32x4.extract_lane(v, 0) + i32x4.extract_lane(v, 1) + i32x4.extract_lane(v, 2) + i32x4.extract_lane(v, 3);
}

@inline function nearestQ(v: v128, vs: v128, lo: v128, hi: v128): v128 {
  return i32x4.min_s(i32x4.max_s(i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.div(v, vs))), lo), hi);
}

@inline function floorQ(v: v128, div: v128, off: v128, lo: v128, hi: v128): v128 {
  return i32x4.min_s(i32x4.max_s(i32x4.trunc_sat_f32x4_s(f32x4.floor(f32x4.add(f32x4.div(v, div), off))), lo), hi);
}

export function qs8_stage_f32_c4(m: i32, k: i32, kp: i32, x: usize, xStride: usize, scale: f32, zp: i32, out: usize, rowSum: usize, copies: i32): void {
  const dup: usize = copies == 2 ? <usize>k : 0;
  const vs = f32x4.splat(scale);
  const lo = i32x4.splat(-zp), hi = i32x4.splat(255 - zp), shift = i32x4.splat(zp - 128);
  for (let i = 0; i < m; i++) {
    const src = x + <usize>i * xStride;
    const dst = out + <usize>i * <usize>kp;
    let sum = i32x4.splat(0);
    let j = 0;
    for (; j + 16 <= k; j += 16) {
      const p = src + (<usize>j << 2);
      sum = i32x4.add(sum, store16(dst + j, dup, nearestQ(v128.load(p), vs, lo, hi), nearestQ(v128.load(p, 16), vs, lo, hi),
        nearestQ(v128.load(p, 32), vs, lo, hi), nearestQ(v128.load(p, 48), vs, lo, hi), shift));
    }
    let s = sum4(sum);
    for (; j < k; j++) {
      // one lane of the vector path, so the tail rounds and saturates identically
      const q = i32x4.extract_lane(nearestQ(f32x4.splat(load<f32>(src + (<usize>j << 2))), vs, lo, hi), 0) + zp - 128;
      storeTail(dst, dup, j, q);
      s += q;
    }
    for (j = dup != 0 ? 2 * k : k; j < kp; j++) store<i8>(dst + j, 0);
    store<i32>(rowSum + (<usize>i << 2), dup != 0 ? 2 * s : s);
  }
}

export function qs8_stage_chan_c4(m: i32, k: i32, kp: i32, x: usize, xStride: usize, div: usize, off: usize, zp: i32, out: usize, rowSum: usize, copies: i32): void {
  const dup: usize = copies == 2 ? <usize>k : 0;
  const lo = i32x4.splat(-zp), hi = i32x4.splat(255 - zp), shift = i32x4.splat(zp - 128);
  for (let i = 0; i < m; i++) {
    const src = x + <usize>i * xStride;
    const dst = out + <usize>i * <usize>kp;
    let sum = i32x4.splat(0);
    let j = 0;
    for (; j + 16 <= k; j += 16) {
      const b = <usize>j << 2;
      const p = src + b, d = div + b, o = off + b;
      sum = i32x4.add(sum, store16(dst + j, dup,
        floorQ(v128.load(p), v128.load(d), v128.load(o), lo, hi), floorQ(v128.load(p, 16), v128.load(d, 16), v128.load(o, 16), lo, hi),
        floorQ(v128.load(p, 32), v128.load(d, 32), v128.load(o, 32), lo, hi), floorQ(v128.load(p, 48), v128.load(d, 48), v128.load(o, 48), lo, hi), shift));
    }
    let s = sum4(sum);
    for (; j < k; j++) {
      const b = <usize>j << 2;
      const v = floorQ(f32x4.splat(load<f32>(src + b)), f32x4.splat(load<f32>(div + b)), f32x4.splat(load<f32>(off + b)), lo, hi);
      const q = i32x4.extract_lane(v, 0) + zp - 128;
      storeTail(dst, dup, j, q);
      s += q;
    }
    for (j = dup != 0 ? 2 * k : k; j < kp; j++) store<i8>(dst + j, 0);
    store<i32>(rowSum + (<usize>i << 2), dup != 0 ? 2 * s : s);
  }
}
