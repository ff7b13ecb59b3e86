// 8-bit float weights: the policy half of the f8w kernels (src/kernels/f8w.ts runs them). Float32 W
// becomes codes with one float32 scale per output column, chosen here (absmax / the format's largest
// finite value, unless the caller gives scales); the kernel only packs and runs what it is given.
// Formats: OCP E4M3FN and E5M2 (src/quant/fp8.ts: NaN/Inf codes, for interchange) and the FPx splits
// E1M6 … E5M2 (src/quant/fpx-codes.ts: every code finite).

import { ArgumentError, ShapeError, ValueRangeError } from '../errors.js';
import { encodeFp8, FP8, FP8_TABLE_BITS, fp8IsNaN, type Fp8Format } from './fp8.js';
import { FPX_SPLITS, fpxEncode, fpxTable, isFpxSplit, type FpxSplit } from './fpx-codes.js';
import { fpxFormat } from './fpx.js';

/** Column scales must stay below 2^63: the kernel stores them times 2^64 (src/kernels/f8w.ts). */
export const F8W_MAX_SCALE = 2 ** 63;

/** A weight format of the f8w kernels: OCP FP8 ('e4m3fn', 'e5m2') or an FPx split ('E1M6' … 'E5M2'). */
export type F8wFormat = Fp8Format | FpxSplit;
export const F8W_FORMATS: readonly F8wFormat[] = ['e4m3fn', 'e5m2', ...FPX_SPLITS];

export function checkFp8wFormat(fn: string, format: unknown): F8wFormat {
  if (!(F8W_FORMATS as readonly unknown[]).includes(format)) {
    throw new ArgumentError(`${fn}: format must be one of ${F8W_FORMATS.map((f) => `'${f}'`).join(', ')}, got ${typeof format === 'string' ? `'${format}'` : String(format)}`);
  }
  return format as F8wFormat;
}

/** Exponent bits of a format (the kernel variant that runs it). */
export function f8wExponentBits(format: F8wFormat): number {
  return format === 'e4m3fn' ? 4 : format === 'e5m2' ? 5 : fpxFormat(format).e;
}

/** The value of every code (256 float32; OCP NaN codes are NaN, E5M2's Inf codes infinite). */
export function f8wTable(format: F8wFormat): Float32Array {
  return isFpxSplit(format) ? fpxTable(format) : new Float32Array(FP8_TABLE_BITS[format].buffer.slice(0));
}

/** Largest finite value of a format (with the standard bias). */
export function f8wMax(format: F8wFormat): number {
  return isFpxSplit(format) ? fpxFormat(format).standardMax : FP8[format].max;
}

/** Why a code cannot be a weight ('NaN', 'infinite') or null: FPx codes are all finite. */
export function f8wBadCode(code: number, format: F8wFormat): string | null {
  if (isFpxSplit(format)) return null;
  if (fp8IsNaN(code, format)) return 'NaN';
  return format === 'e5m2' && (code & 0x7f) === 0x7c ? 'infinite' : null;
}

export function checkFp8wDims(fn: string, k: number, n: number): void {
  if (!Number.isInteger(k) || k < 0) throw new ShapeError(`${fn}: K must be a non-negative integer, got ${k}`);
  if (!Number.isInteger(n) || n < 1) throw new ShapeError(`${fn}: N must be a positive integer, got ${n}`);
}

/** FP8 codes of W (K x N row-major) and one scale per column: W[k][n] ~ scales[n] * fp8(codes[k][n]). */
export interface F8wQuantized {
  format: F8wFormat;
  k: number;
  n: number;
  /** K x N row-major FP8 codes (never NaN, never Inf) */
  codes: Uint8Array;
  /** one float32 scale per column */
  scales: Float32Array;
}

export interface QuantizeF8wOptions {
  /** 'e4m3fn' (default), 'e5m2' or an FPx split ('E1M6' … 'E5M2') */
  format?: F8wFormat;
  /** per-column scales (length N, finite, > 0, < 2^63); default: float32(absmax of the column / max finite), 1 for an all-zero column */
  scales?: ArrayLike<number>;
  /** W is given as N x K (row n = output column n) instead of K x N */
  transposed?: boolean;
}

/**
 * Quantizes float32 W (K x N, or N x K with `transposed`) to FP8 codes with per-column scales:
 * code = encodeFp8(float32(W / scale)) rounding to nearest even, saturating at the format's max.
 * Throws on NaN or infinite weights.
 */
export function quantizeF8w(w: Float32Array, k: number, n: number, options: QuantizeF8wOptions = {}): F8wQuantized {
  const fn = 'quantizeF8w';
  const format = checkFp8wFormat(fn, options.format ?? 'e4m3fn');
  checkFp8wDims(fn, k, n);
  if (!(w instanceof Float32Array)) throw new ArgumentError(`${fn}: W must be a Float32Array, got ${w === null ? 'null' : typeof w === 'object' ? (w as object).constructor?.name : typeof w}`);
  if (w.length !== k * n) throw new ShapeError(`${fn}: W has ${w.length} elements, expected K*N = ${k}*${n} = ${k * n}`);
  const tr = options.transposed === true;
  const at = (i: number, j: number) => (tr ? w[j * k + i] : w[i * n + j]);
  for (let i = 0; i < w.length; i++) {
    if (!Number.isFinite(w[i])) {
      const [r, c] = tr ? [i % k, Math.floor(i / k)] : [Math.floor(i / n), i % n];
      throw new ValueRangeError(`${fn}: W[${r}][${c}] is ${w[i]}; FP8 weights must be finite`);
    }
  }
  const scales = new Float32Array(n);
  if (options.scales != null) {
    if (options.scales.length !== n) throw new ShapeError(`${fn}: scales has ${options.scales.length} elements, expected N = ${n}`);
    for (let j = 0; j < n; j++) {
      const s = options.scales[j];
      if (!Number.isFinite(s) || s <= 0 || s >= F8W_MAX_SCALE) throw new ValueRangeError(`${fn}: scales[${j}] is ${s}; expected finite, > 0 and < 2^63`);
      scales[j] = s;
      if (scales[j] === 0) throw new ValueRangeError(`${fn}: scales[${j}] is ${s}, which is 0 in float32`);
    }
  } else {
    const max = f8wMax(format);
    for (let j = 0; j < n; j++) {
      let a = 0;
      for (let i = 0; i < k; i++) a = Math.max(a, Math.abs(at(i, j)));
      scales[j] = a > 0 ? a / max : 1;
      if (scales[j] === 0) scales[j] = 2 ** -149; // absmax below 448 * 2^-150: the smallest float32 scale
    }
  }
  const q = new Float32Array(k * n);
  for (let i = 0; i < k; i++) {
    for (let j = 0; j < n; j++) q[i * n + j] = at(i, j) / scales[j];
  }
  let codes: Uint8Array;
  if (isFpxSplit(format)) {
    const f = fpxFormat(format);
    codes = Uint8Array.from(q, (v) => fpxEncode(v, f));
  } else {
    codes = encodeFp8(q, format, true);
  }
  return { format, k, n, codes, scales };
}

/** W (K x N row-major) as float64 values: scales[n] * fp8(codes[k][n]). */
export function dequantizeF8w(q: F8wQuantized): Float64Array {
  const { k, n, codes, scales } = q;
  const t = f8wTable(q.format);
  const out = new Float64Array(k * n);
  for (let i = 0; i < k; i++) for (let j = 0; j < n; j++) out[i * n + j] = scales[j] * t[codes[i * n + j]];
  return out;
}
