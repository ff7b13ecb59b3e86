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
//   2^-z is a right shift by z per lane (SIMD shifts take one count, so the five bits of z each
//   select a shifted copy). z is capped at 16: the value is at most 1 << 15, so that is 0 already.
@inline export function ivitShiftExp(u: v128): v128 {
  const p = i32x4.sub(i32x4.add(u, i32x4.shr_s(u, 1)), i32x4.shr_s(u, 4));
  let z = i32x4.shr_s(i32x4.neg(p), IVIT_Q);
  const r = i32x4.add(p, i32x4.shl(z, IVIT_Q)); // (-2^15, 0]
  let e = i32x4.add(i32x4.shr_s(r, 1), i32x4.splat(1 << IVIT_Q));
  z = i32x4.min_s(z, i32x4.splat(16));
  e = v128.bitselect(i32x4.shr_u(e, 1), e, i32x4.shr_s(i32x4.shl(z, 31), 31));
  e = v128.bitselect(i32x4.shr_u(e, 2), e, i32x4.shr_s(i32x4.shl(z, 30), 31));
  e = v128.bitselect(i32x4.shr_u(e, 4), e, i32x4.shr_s(i32x4.shl(z, 29), 31));
  e = v128.bitselect(i32x4.shr_u(e, 8), e, i32x4.shr_s(i32x4.shl(z, 28), 31));
  return v128.bitselect(i32x4.shr_u(e, 16), e, i32x4.shr_s(i32x4.shl(z, 27), 31));
}
