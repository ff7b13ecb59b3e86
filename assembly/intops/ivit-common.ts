// Shared pieces of the I-ViT integer-only family (assembly/intops/ivit-*.ts): 4-lane int8 loads and
// stores that also take a partial group (so the tail runs the same vector arithmetic as the body,
// and one scalar reference covers both), and ShiftExp, the shift-only exponential. Integer
// arithmetic only (i32 lanes): the same bits in both builds and on every CPU.

// Q15: the fixed-point grid the exponent runs on (1.0 = 1 << 15)
export const IVIT_Q: i32 = 15;

// x[0..r) (r in 1..4) as four sign-extended i32 lanes; lanes past r are 0
@inline export function ivitLoad4(p: usize, r: i32): v128 {
  let w: u32;
  if (r >= 4) w = load<u32>(p);
  else {
    w = 0;
    for (let k = 0; k < r; k++) w |= <u32>load<u8>(p + <usize>k) << (<u32>k << 3);
  }
  return i32x4.extend_low_i16x8_s(i16x8.extend_low_i8x16_s(i32x4.splat(w)));
}

// the low byte of each i32 lane (already within the output type's range: int8 or uint8) to y[0..r)
@inline export function ivitStore4(p: usize, v: v128, r: i32): void {
  const w = <u32>i32x4.extract_lane(i8x16.shuffle(v, v, 0, 4, 8, 12, 0, 4, 8, 12, 0, 4, 8, 12, 0, 4, 8, 12), 0);
  if (r >= 4) store<u32>(p, w);
  else for (let k = 0; k < r; k++) store<u8>(p + <usize>k, <u8>(w >> (<u32>k << 3)));
}

// ShiftExp (I-ViT): e^x for x <= 0 given as u = x in Q15, result in Q15 (1 << 15 = 1.0).
//   x·log2(e) by shift-and-add: u + u/2 - u/16 (1.4375 against 1.4427);
//   split -p = z + f, z an integer, f in [0, 1): 2^-p = 2^-z · 2^(-f), 2^(-f) ~ 1 - f/2 (linear);
//   2^-z as a right shift by z per lane: SIMD shifts take one count for all lanes, so the lane's
//   2^(15 - z) comes from two byte-table lookups (swizzle) and e·2^(15-z) >> 15 is the shift
//   (exact: e <= 2^15). z >= 16 indexes past the tables, whose swizzle gives 0: the value is 0.
@inline export function ivitShiftExp(u: v128): v128 {
  const p = i32x4.sub(i32x4.add(u, i32x4.shr_s(u, 1)), i32x4.shr_s(u, 4));
  let z = i32x4.shr_s(i32x4.neg(p), IVIT_Q);
  const r = i32x4.add(p, i32x4.shl(z, IVIT_Q)); // (-2^15, 0]
  const e = i32x4.add(i32x4.shr_s(r, 1), i32x4.splat(1 << IVIT_Q));
  // byte 0 of each lane indexes the tables; bytes 1..3 (0xff) and z >= 16 read 0
  const idx = v128.or(i32x4.min_u(z, i32x4.splat(16)), i32x4.splat(0xffffff00));
  const lo = i8x16.swizzle(i8x16(0, 0, 0, 0, 0, 0, 0, 0, -128, 64, 32, 16, 8, 4, 2, 1), idx);
  const hi = i8x16.swizzle(i8x16(-128, 64, 32, 16, 8, 4, 2, 1, 0, 0, 0, 0, 0, 0, 0, 0), idx);
  return i32x4.shr_u(i32x4.mul(e, v128.or(lo, i32x4.shl(hi, 8))), IVIT_Q);
}
