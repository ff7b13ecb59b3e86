// OCP 8-bit floats (FP8): E4M3FN and E5M2, float32 <-> code conversions, exact. No wasm needed; the
// bulk wasm kernels (assembly/quant/fp8.ts, wrapped by src/kernels/fp8.ts) give the same bits.
//
//                 E4M3FN                          E5M2
//   layout        S.EEEE.MMM, bias 7              S.EEEEE.MM, bias 15
//   max           S.1111.110 = 448                S.11110.11 = 57344
//   min normal    S.0001.000 = 2^-6               S.00001.00 = 2^-14
//   min subnormal S.0000.001 = 2^-9               S.00000.01 = 2^-16
//   infinities    none                            S.11111.00 (0x7C / 0xFC)
//   NaN           S.1111.111 (0x7F / 0xFF)        S.11111.{01,10,11}
//
// float32 -> fp8 rounds the float32 value to nearest, ties to even, working on the float32 bits
// with integer operations (so no double rounding), then handles the range:
//
//   input / rounded result     saturate = true (Cast default,      saturate = false
//                              QuantizeLinear default)
//   NaN                        NaN, sign kept                      NaN, sign kept
//   ±Inf                       ±max                                E4M3FN: NaN, sign kept; E5M2: ±Inf
//   rounds beyond ±max         ±max                                E4M3FN: NaN, sign kept; E5M2: ±Inf
//   else                       round to nearest even (±0, subnormals, normals)
//
// "Rounds beyond max" is decided after rounding: for E4M3FN saturate=false, 464 (the midpoint
// between 448 and the would-be next value 480) is a tie and goes to the even 448; anything above 464
// is NaN. For E5M2 the midpoint is 61440 (-> 57344; above it, Inf). This is IEEE rounding as
// ml_dtypes (ONNX's reference since 1.18) does it.
//
// The NaN we produce is S.1111111 in both formats: 0x7F/0xFF for E4M3FN (its only NaN) and 0x7F/0xFF
// for E5M2, as onnxruntime and ONNX's opset-19 reference helpers do. (ml_dtypes, ONNX's current
// reference, writes E5M2 NaN as 0x7E/0xFE; both are NaN, so comparisons must treat every NaN code
// of a format as equal.) Decoding any NaN code gives the float32 quiet NaN with the code's sign
// (0x7FC00000 / 0xFFC00000); decoding keeps -0 as -0.

import { ArgumentError } from '../errors.js';

export type Fp8Format = 'e4m3fn' | 'e5m2';
export const FP8_FORMATS: readonly Fp8Format[] = ['e4m3fn', 'e5m2'];

/** Constants of one FP8 format. */
export interface Fp8Spec {
  readonly format: Fp8Format;
  /** mantissa bits */
  readonly m: number;
  readonly bias: number;
  /** largest finite value and its code (positive) */
  readonly max: number;
  readonly maxCode: number;
  /** the code for +Inf, or for formats without infinities the (positive) NaN an overflow gives */
  readonly overflowCode: number;
  /** the positive NaN code this codec writes */
  readonly nanCode: number;
  readonly hasInfinity: boolean;
  /** smallest subnormal */
  readonly minSubnormal: number;
  /** smallest normal */
  readonly minNormal: number;
}

export const FP8: { readonly [F in Fp8Format]: Fp8Spec } = {
  e4m3fn: {
    format: 'e4m3fn', m: 3, bias: 7, max: 448, maxCode: 0x7e, overflowCode: 0x7f, nanCode: 0x7f,
    hasInfinity: false, minSubnormal: 2 ** -9, minNormal: 2 ** -6,
  },
  e5m2: {
    format: 'e5m2', m: 2, bias: 15, max: 57344, maxCode: 0x7b, overflowCode: 0x7c, nanCode: 0x7f,
    hasInfinity: true, minSubnormal: 2 ** -16, minNormal: 2 ** -14,
  },
};

/** The format's spec; an unknown name is an ArgumentError. */
function spec(format: Fp8Format): Fp8Spec {
  const s = FP8[format];
  if (!s) throw new ArgumentError(`format: expected one of ${FP8_FORMATS.join(', ')}, got ${String(format)}`);
  return s;
}

// --- float32 bits -> code ---------------------------------------------------------------------------

/**
 * The code of the float32 whose bits are `bits` (an unsigned or signed 32-bit integer).
 * Integer-only: round to nearest even on the float32 significand, then range handling (see top).
 */
export function fp8FromBits(bits: number, format: Fp8Format, saturate = true): number {
  const s = spec(format);
  const sign = (bits >>> 24) & 0x80;
  const a = bits & 0x7fffffff;
  if (a > 0x7f800000) return sign | s.nanCode;
  if (a === 0x7f800000) return sign | (saturate ? s.maxCode : s.overflowCode);
  const m = s.m;
  // float32 biased exponent of the smallest fp8 normal: 127 - bias + 1
  const eMinNormal = 128 - s.bias;
  const e = a >>> 23;
  let code: number;
  if (e >= eMinNormal) {
    // normal: drop 23 - m mantissa bits with round-half-even; a carry moves into the exponent
    const drop = 23 - m;
    const lsb = (a >>> drop) & 1;
    const r = a + ((1 << (drop - 1)) - 1) + lsb;
    code = (r >>> drop) - ((127 - s.bias) << m);
  } else {
    // fp8 subnormal (or zero): the value in units of the smallest subnormal is sig * 2^(e' - shift)
    const sig = e === 0 ? a : (a & 0x7fffff) | 0x800000;
    const eff = e === 0 ? 1 : e;
    // units of 2^(1 - bias - m): value = sig * 2^(eff - 150) = units * 2^(1 - bias - m)
    const shift = 150 - eff + 1 - s.bias - m; // >= 23 - m + 1 here
    if (shift > 25) {
      code = 0; // below a quarter of the smallest subnormal
    } else {
      const q = sig >>> shift;
      const rest = sig - q * 2 ** shift;
      const half = 2 ** (shift - 1);
      code = rest > half || (rest === half && q & 1) ? q + 1 : q; // q + 1 may be the smallest normal: right
    }
  }
  if (code > s.maxCode) code = saturate ? s.maxCode : s.overflowCode;
  return sign | code;
}

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

/** The code of Math.fround(x). (A JS NaN becomes +NaN.) */
export function floatToFp8(x: number, format: Fp8Format, saturate = true): number {
  f32Scratch[0] = x;
  return fp8FromBits(u32Scratch[0], format, saturate);
}

// --- code -> float32 --------------------------------------------------------------------------------

function buildTable(format: Fp8Format): Uint32Array {
  const s = spec(format);
  const m = s.m;
  const t = new Uint32Array(256);
  const f = new Float32Array(t.buffer);
  for (let c = 0; c < 256; c++) {
    const sign = c & 0x80 ? -1 : 1;
    const exp = (c & 0x7f) >> m;
    const man = c & ((1 << m) - 1);
    const expMax = (1 << (7 - m)) - 1;
    if (exp === expMax && (s.hasInfinity ? man !== 0 : man === (1 << m) - 1)) {
      t[c] = ((c & 0x80) << 24) | 0x7fc00000;
    } else if (exp === expMax && s.hasInfinity) {
      f[c] = sign * Infinity;
    } else if (exp === 0) {
      f[c] = sign * man * 2 ** (1 - s.bias - m); // exact; sign * 0 keeps -0
    } else {
      f[c] = sign * (1 + man / (1 << m)) * 2 ** (exp - s.bias);
    }
  }
  return t;
}

/** float32 bits of every code, per format (NaN codes hold the quiet NaN with the code's sign). */
export const FP8_TABLE_BITS: { readonly [F in Fp8Format]: Uint32Array } = {
  e4m3fn: buildTable('e4m3fn'),
  e5m2: buildTable('e5m2'),
};

/** The value of one code (exact; NaN codes give NaN, -0 gives -0). */
export function fp8ToFloat(code: number, format: Fp8Format): number {
  u32Scratch[0] = FP8_TABLE_BITS[spec(format).format][code & 0xff];
  return f32Scratch[0];
}

export function fp8IsNaN(code: number, format: Fp8Format): boolean {
  const a = code & 0x7f;
  return format === 'e4m3fn' ? a === 0x7f : a > 0x7c;
}

// --- bulk -------------------------------------------------------------------------------------------

/** Codes of every float32 in x (bits read directly, so NaN signs are kept). */
export function encodeFp8(x: Float32Array, format: Fp8Format, saturate = true, out = new Uint8Array(x.length)): Uint8Array {
  spec(format);
  const bits = new Uint32Array(x.buffer, x.byteOffset, x.length);
  for (let i = 0; i < bits.length; i++) out[i] = fp8FromBits(bits[i], format, saturate);
  return out;
}

/** float32 values of codes (via the 256-entry table; NaN bits as documented at the top). */
export function decodeFp8(codes: Uint8Array, format: Fp8Format, out = new Float32Array(codes.length)): Float32Array {
  const t = FP8_TABLE_BITS[spec(format).format];
  const o = new Uint32Array(out.buffer, out.byteOffset, out.length);
  for (let i = 0; i < codes.length; i++) o[i] = t[codes[i]];
  return out;
}
