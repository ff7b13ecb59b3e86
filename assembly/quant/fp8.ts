// float32 <-> OCP FP8 (E4M3FN, E5M2), bulk. Bit-identical to src/quant/fp8.ts (the TS codec and its
// table), including NaN signs, ±Inf, subnormals and -0; see there for the semantics.
//
// Encode, per float32 lane a = |bits|:
//   normal fp8 range   round half to even on the bits: (a + (half - 1) + lsb) >> drop, then re-bias
//                      the exponent by subtracting a constant; a mantissa carry moves into the
//                      exponent by itself; clamp to max (saturate) or to the overflow code
//                      (E4M3FN NaN 0x7F, E5M2 Inf 0x7C) — Inf takes the same path.
//   subnormal range    one float32 add of 2^k, where 2^k's ulp is the smallest fp8 subnormal: the add
//                      rounds |x| to a multiple of that step (IEEE round to nearest even, one rounding)
//                      and the low bits of the sum are the code (8 or 4 = the smallest normal when it
//                      rounds up, which is right).
//   NaN                OR 0x7F in (S.1111111).
// Then the sign bit, and the 16 lanes are narrowed to bytes.
//
// Decode: sign-extend the code to i32, shift it so the exponent and mantissa land on float32's and the
// sign on bit 31, multiply by 2^(127 - bias) (exact, subnormals included), then patch NaN (and Inf).

// a where the (all-ones or all-zeros) lane mask m is set, else b. Relaxed laneselect is exact for
// such masks on every engine (x86 blendv reads the top bit, ARM bsl every bit: same answer).
@inline function select32(a: v128, b: v128, m: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return i32x4.relaxed_laneselect(a, b, m);
  return v128.bitselect(a, b, m);
}

// --- encode -----------------------------------------------------------------------------------------

// E4M3FN: drop 20 mantissa bits; float32 exponent 121 is the smallest fp8 normal (2^-6);
// 2^14 has ulp 2^-9. E5M2: drop 21; exponent 113 (2^-14); 2^7 has ulp 2^-16.

@inline function encodeLanes(v: v128, drop: i32, rebias: i32, minNormalBits: i32, magic: f32, magicBits: i32, clampCode: i32, fixNaN: bool): v128 {
  const a = v128.and(v, i32x4.splat(0x7fffffff));
  const lsb = v128.and(i32x4.shr_u(a, drop), i32x4.splat(1));
  const r = i32x4.add(i32x4.add(a, i32x4.splat((1 << (drop - 1)) - 1)), lsb);
  const n = i32x4.min_s(i32x4.sub(i32x4.shr_u(r, drop), i32x4.splat(rebias)), i32x4.splat(clampCode));
  const s = i32x4.sub(f32x4.add(a, f32x4.splat(magic)), i32x4.splat(magicBits));
  let c = select32(s, n, i32x4.lt_s(a, i32x4.splat(minNormalBits)));
  if (fixNaN) c = v128.or(c, v128.and(i32x4.gt_s(a, i32x4.splat(0x7f800000)), i32x4.splat(0x7f)));
  return c;
}

@inline function encodeOne(bits: u32, drop: i32, rebias: i32, minNormalBits: i32, magic: f32, magicBits: i32, clampCode: i32, fixNaN: bool): u8 {
  const a = bits & 0x7fffffff;
  let c: i32;
  if (<i32>a < minNormalBits) {
    c = <i32>reinterpret<u32>(reinterpret<f32>(a) + magic) - magicBits;
  } else {
    const r = a + <u32>((1 << (drop - 1)) - 1) + ((a >>> drop) & 1);
    c = min(<i32>(r >>> drop) - rebias, clampCode);
  }
  if (fixNaN && a > 0x7f800000) c |= 0x7f;
  return <u8>(c | ((bits >>> 24) & 0x80));
}

@inline function encodeLoop(x: usize, n: i32, out: usize, drop: i32, rebias: i32, minNormalBits: i32, magic: f32, magicBits: i32, clampCode: i32, fixNaN: bool): void {
  let i = 0;
  for (; i + 16 <= n; i += 16) {
    const p = x + (<usize>i << 2);
    const v0 = v128.load(p);
    const v1 = v128.load(p, 16);
    const v2 = v128.load(p, 32);
    const v3 = v128.load(p, 48);
    const c0 = encodeLanes(v0, drop, rebias, minNormalBits, magic, magicBits, clampCode, fixNaN);
    const c1 = encodeLanes(v1, drop, rebias, minNormalBits, magic, magicBits, clampCode, fixNaN);
    const c2 = encodeLanes(v2, drop, rebias, minNormalBits, magic, magicBits, clampCode, fixNaN);
    const c3 = encodeLanes(v3, drop, rebias, minNormalBits, magic, magicBits, clampCode, fixNaN);
    // magnitudes are 0..0x7F: the saturating narrows are exact
    const mag = i8x16.narrow_i16x8_u(i16x8.narrow_i32x4_u(c0, c1), i16x8.narrow_i32x4_u(c2, c3));
    // sign: -1/0 per lane, narrowed the same way
    const sg = i8x16.narrow_i16x8_s(
      i16x8.narrow_i32x4_s(i32x4.shr_s(v0, 31), i32x4.shr_s(v1, 31)),
      i16x8.narrow_i32x4_s(i32x4.shr_s(v2, 31), i32x4.shr_s(v3, 31)),
    );
    v128.store(out + <usize>i, v128.or(mag, v128.and(sg, i8x16.splat(-128))));
  }
  for (; i < n; i++) {
    store<u8>(out + <usize>i, encodeOne(load<u32>(x + (<usize>i << 2)), drop, rebias, minNormalBits, magic, magicBits, clampCode, fixNaN));
  }
}

/** x: n float32 -> out: n E4M3FN codes. saturate != 0: out-of-range and ±Inf -> ±448; else NaN. */
export function fp8_encode_e4m3_f32(x: usize, n: i32, saturate: i32, out: usize): void {
  // 960 = (127 - 7) << 3; 0x3C800000 = 121 << 23; 0x46800000 = bits of 2^14
  if (saturate) encodeLoop(x, n, out, 20, 960, 0x3c800000, 16384.0, 0x46800000, 0x7e, true);
  else encodeLoop(x, n, out, 20, 960, 0x3c800000, 16384.0, 0x46800000, 0x7f, false); // clamp code 0x7F is NaN already
}

/** x: n float32 -> out: n E5M2 codes. saturate != 0: out-of-range and ±Inf -> ±57344; else ±Inf. */
export function fp8_encode_e5m2_f32(x: usize, n: i32, saturate: i32, out: usize): void {
  // 448 = (127 - 15) << 2; 0x38800000 = 113 << 23; 0x43000000 = bits of 2^7
  if (saturate) encodeLoop(x, n, out, 21, 448, 0x38800000, 128.0, 0x43000000, 0x7b, true);
  else encodeLoop(x, n, out, 21, 448, 0x38800000, 128.0, 0x43000000, 0x7c, true);
}

// --- decode -----------------------------------------------------------------------------------------

// E4M3FN: t = (code sign-extended << 20) & 0x87F00000 puts S at bit 31, EEEE.MMM at bits 26..20;
// as a float32 that is value * 2^-120. The NaN code (|t| = 0x07F00000) decodes to ±480, turned into
// ±quiet NaN by xor 0x3C300000 (0x43F00000 ^ 0x7FC00000).

@inline function decodeE4M3Lanes(w: v128): v128 {
  const t = v128.and(i32x4.shl(w, 20), i32x4.splat(<i32>0x87f00000));
  const f = f32x4.mul(t, f32x4.splat(reinterpret<f32>(0x7b800000))); // 2^120
  const nan = i32x4.eq(v128.and(t, i32x4.splat(0x7fffffff)), i32x4.splat(0x07f00000));
  return v128.xor(f, v128.and(nan, i32x4.splat(0x3c300000)));
}

@inline function decodeE4M3One(c: i32): u32 {
  const t = ((c << 24) >> 4) & <i32>0x87f00000;
  if ((t & 0x7fffffff) == 0x07f00000) return (<u32>t & 0x80000000) | 0x7fc00000;
  return reinterpret<u32>(reinterpret<f32>(t) * reinterpret<f32>(0x7b800000));
}

// E5M2: t = (code sign-extended << 21) & 0x8FE00000 (value * 2^-112); codes with |t| >= 0x0F800000
// (exponent 11111) are Inf (mantissa 0) or NaN.

@inline function decodeE5M2Lanes(w: v128): v128 {
  const t = v128.and(i32x4.shl(w, 21), i32x4.splat(<i32>0x8fe00000));
  const f = f32x4.mul(t, f32x4.splat(reinterpret<f32>(0x77800000))); // 2^112
  const at = v128.and(t, i32x4.splat(0x7fffffff));
  const special = i32x4.gt_s(at, i32x4.splat(0x0f7fffff));
  const nan = i32x4.gt_s(at, i32x4.splat(0x0f800000));
  const sv = v128.or(v128.and(t, i32x4.splat(<i32>0x80000000)), v128.or(i32x4.splat(0x7f800000), v128.and(nan, i32x4.splat(0x00400000))));
  return select32(sv, f, special);
}

@inline function decodeE5M2One(c: i32): u32 {
  const t = ((c << 24) >> 3) & <i32>0x8fe00000;
  const at = t & 0x7fffffff;
  if (at >= 0x0f800000) return (<u32>t & 0x80000000) | (at == 0x0f800000 ? 0x7f800000 : 0x7fc00000);
  return reinterpret<u32>(reinterpret<f32>(t) * reinterpret<f32>(0x77800000));
}

// n codes -> n float32, 16 at a time then one by one (e5 is a constant at each inlined call)
@inline function decodeLoop(e5: bool, codes: usize, n: i32, out: usize): void {
  let i = 0;
  for (; i + 16 <= n; i += 16) {
    const b = v128.load(codes + <usize>i);
    const lo = i16x8.extend_low_i8x16_s(b);
    const hi = i16x8.extend_high_i8x16_s(b);
    const p = out + (<usize>i << 2);
    v128.store(p, decodeLanes(e5, i32x4.extend_low_i16x8_s(lo)));
    v128.store(p, decodeLanes(e5, i32x4.extend_high_i16x8_s(lo)), 16);
    v128.store(p, decodeLanes(e5, i32x4.extend_low_i16x8_s(hi)), 32);
    v128.store(p, decodeLanes(e5, i32x4.extend_high_i16x8_s(hi)), 48);
  }
  for (; i < n; i++) {
    const c = <i32>load<u8>(codes + <usize>i);
    store<u32>(out + (<usize>i << 2), e5 ? decodeE5M2One(c) : decodeE4M3One(c));
  }
}

@inline function decodeLanes(e5: bool, w: v128): v128 {
  return e5 ? decodeE5M2Lanes(w) : decodeE4M3Lanes(w);
}

/** codes: n E4M3FN codes -> out: n float32 (NaN codes -> ±0x7FC00000). */
export function fp8_decode_e4m3_f32(codes: usize, n: i32, out: usize): void {
  decodeLoop(false, codes, n, out);
}

/** codes: n E5M2 codes -> out: n float32 (±Inf exact, NaN codes -> ±0x7FC00000). */
export function fp8_decode_e5m2_f32(codes: usize, n: i32, out: usize): void {
  decodeLoop(true, codes, n, out);
}
