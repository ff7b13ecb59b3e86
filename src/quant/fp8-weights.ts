// FP8 weights: the policy half of the f8w kernels (src/kernels/f8w.ts runs them). Float32 W becomes
// FP8 codes with one float32 scale per output column, chosen here (absmax / the format's largest
// finite value, unless the caller gives scales); the kernel only packs and runs what it is given.

import { ArgumentError, ShapeError, ValueRangeError } from '../errors.js';
import { encodeFp8, FP8, FP8_TABLE_BITS, type Fp8Format } from './fp8.js';

/** Column scales must stay below 2^63: the kernel stores them times 2^64 (src/kernels/f8w.ts). */
export const F8W_MAX_SCALE = 2 ** 63;

export function checkFp8wFormat(fn: string, format: unknown): Fp8Format {
  if (format !== 'e4m3fn' && format !== 'e5m2') {
    throw new ArgumentError(`${fn}: format must be 'e4m3fn' or 'e5m2', got ${typeof format === 'string' ? `'${format}'` : String(format)}`);
  }
  return format;
}

export function checkFp8wDims(fn: string, k: number, n: number): void {
  if (!Number.isInteger(k) || k < 0) throw new ShapeError(`${fn}: K must be a non-negative integer, got ${k}`);
  if (!Number.isInteger(n) || n < 1) throw new ShapeError(`${fn}: N must be a positive integer, got ${n}`);
}

/** FP8 codes of W (K x N row-major) and one scale per column: W[k][n] ~ scales[n] * fp8(codes[k][n]). */
export interface F8wQuantized {
  format: Fp8Format;
  k: number;
  n: number;
  /** K x N row-major FP8 codes (never NaN, never Inf) */
  codes: Uint8Array;
  /** one float32 scale per column */
  scales: Float32Array;
}

export interface QuantizeF8wOptions {
  /** 'e4m3fn' (default) or 'e5m2' */
  format?: Fp8Format;
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
    const max = FP8[format].max;
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
  const codes = encodeFp8(q, format, true);
  return { format, k, n, codes, scales };
}

/** W (K x N row-major) as float64 values: scales[n] * fp8(codes[k][n]). */
export function dequantizeF8w(q: F8wQuantized): Float64Array {
  const { k, n, codes, scales } = q;
  const t = new Float32Array(FP8_TABLE_BITS[q.format].buffer.slice(0));
  const out = new Float64Array(k * n);
  for (let i = 0; i < k; i++) for (let j = 0; j < n; j++) out[i * n + j] = scales[j] * t[codes[i * n + j]];
  return out;
}
