// The s4 layout's nibble extraction, shared by the W4A32 GEMV (qb4.ts) and the multi-row decode
// (qb4-f32-rows.ts); a module of its own so that assembly/index.ts does not export it.

// s4 nibble j of every int16 lane (the top one stored xor 8), as int16 0..15
@inline export function nibbleS4(v: v128, j: i32): v128 {
  if (j == 0) return v128.and(v, i16x8.splat(0x0f));
  if (j == 1) return v128.and(i16x8.shr_u(v, 4), i16x8.splat(0x0f));
  if (j == 2) return v128.and(i16x8.shr_u(v, 8), i16x8.splat(0x0f));
  return v128.xor(i16x8.shr_u(v, 12), i16x8.splat(8));
}
