// Small SIMD helpers shared by the kernel families. All @inline: they cost nothing in the loops
// that use them.

// ---------------------------------------------------------------------------------------------
// float32 multiply-add

// a * b + c rounded twice (mul, then add): never fused, so the same bits on every CPU and in both
// builds
@inline export function mulThenAdd(a: v128, b: v128, c: v128): v128 {
  return f32x4.add(f32x4.mul(a, b), c);
}

// a * b + c: f32x4.relaxed_madd in the relaxed build (fused on CPUs with FMA, so its low bits may
// differ between CPUs), mul then add in the baseline build
@inline export function relaxedMulAdd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(f32x4.mul(a, b), c);
}

// min(max(v, lo), hi) per lane with pmin/pmax (a NaN in v stays NaN)
@inline export function clampLanes(v: v128, lo: v128, hi: v128): v128 {
  return f32x4.pmin(f32x4.pmax(v, lo), hi);
}

// ---------------------------------------------------------------------------------------------
// relaxed integer dot products. Only meaningful with the second operand in [0, 127], where every
// engine and CPU agree (DESIGN.md section 2). Callers run them only in the relaxed build.

// c + the sums of 4 adjacent products of int8 a and 7-bit b, per i32 lane
@inline export function relaxedDotAdd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return i32x4.relaxed_dot_i8x16_i7x16_add_s(a, b, c);
  unreachable();
  return c;
}

// the sums of 2 adjacent products of int8 a and 7-bit b, per i16 lane (a single pmaddubsw on x86)
@inline export function relaxedDot16(a: v128, b: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return i16x8.relaxed_dot_i8x16_i7x16_s(a, b);
  unreachable();
  return a;
}

// c + the relaxed dot product of a and b, in int16 lanes when i16 (relaxedDot16: for sums known
// to fit int16, widened later with widenAccumulator) or in int32 lanes (relaxedDotAdd). i16 is a
// constant at each inlined call.
@inline export function relaxedDotAccumulate(i16: bool, c: v128, a: v128, b: v128): v128 {
  return i16 ? i16x8.add(c, relaxedDot16(a, b)) : relaxedDotAdd(a, b, c);
}

// an accumulator of relaxedDotAccumulate as int32 lanes
@inline export function widenAccumulator(i16: bool, c: v128): v128 {
  return i16 ? i32x4.extadd_pairwise_i16x8_s(c) : c;
}

// ---------------------------------------------------------------------------------------------
// 4-bit codes

// The high nibble of every byte. V8 (11.3) lowers i8x16.shr_u to a 16-bit shift plus building and
// applying a byte mask; a 16-bit shift and the mask give the same bytes in two instructions.
@inline export function highNibbles(v: v128): v128 {
  return v128.and(i16x8.shr_u(v, 4), i8x16.splat(0x0f));
}

// ---------------------------------------------------------------------------------------------
// partial stores

// the first nr (1..8) float32 lanes of [v0, v1] at p
@inline export function storeLanes8(p: usize, v0: v128, v1: v128, nr: i32): void {
  if (nr >= 8) {
    v128.store(p, v0);
    v128.store(p, v1, 16);
    return;
  }
  let v = v0;
  let q = p;
  let r = nr;
  if (r >= 4) {
    v128.store(q, v0);
    v = v1;
    q += 16;
    r -= 4;
  }
  if (r > 0) store<f32>(q, f32x4.extract_lane(v, 0));
  if (r > 1) store<f32>(q, f32x4.extract_lane(v, 1), 4);
  if (r > 2) store<f32>(q, f32x4.extract_lane(v, 2), 8);
}

// the first nr (1..16) float32 lanes of [v0, v1, v2, v3] at p
@inline export function storeLanes16(p: usize, v0: v128, v1: v128, v2: v128, v3: v128, nr: i32): void {
  if (nr >= 8) {
    v128.store(p, v0);
    v128.store(p, v1, 16);
    if (nr > 8) storeLanes8(p + 32, v2, v3, nr - 8);
    return;
  }
  storeLanes8(p, v0, v1, nr);
}
