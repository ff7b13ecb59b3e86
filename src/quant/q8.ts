// 8-bit quantization parameters: the math, no wasm.

import { roundHalfEven } from './rounding.js';

const f = Math.fround;

/**
 * DynamicQuantizeLinear's parameters, computed as onnxruntime does in float32: the range is widened
 * to include 0, scale = (max - min) / (qmax - qmin) (1 when the range is empty), and the zero point
 * is qmin - min / scale, clamped to [qmin, qmax] and rounded half to even.
 */
export function dynamicQuantParams(lo: number, hi: number, qmin: number, qmax: number): { scale: number; zeroPoint: number } {
  const mn = Math.min(f(lo), 0);
  const mx = Math.max(f(hi), 0);
  const scale = mx === mn ? 1 : f(f(mx - mn) / (qmax - qmin));
  const initial = f(qmin - f(mn / scale));
  const zeroPoint = roundHalfEven(Math.max(qmin, Math.min(qmax, initial)));
  return { scale, zeroPoint };
}

/**
 * Symmetric per-channel scales for an int8 weight matrix W (K x N, row-major): column j gets
 * scale = max|W[:, j]| / qmax (qmax = 127, or 63 for 7-bit weights), 1 for an all-zero column.
 */
export function symmetricColumnScales(w: Float32Array, k: number, n: number, qmax: number): Float32Array {
  const amax = new Float32Array(n);
  for (let i = 0; i < k; i++) {
    for (let j = 0; j < n; j++) {
      const v = Math.abs(w[i * n + j]);
      if (v > amax[j]) amax[j] = v;
    }
  }
  return amax.map((a) => (a > 0 ? f(a / qmax) : 1));
}

/** q = clamp(roundHalfEven(x / scale), -qmax, qmax) per column. */
export function quantizeColumnsSymmetric(w: Float32Array, k: number, n: number, scales: Float32Array, qmax: number): Int8Array {
  const q = new Int8Array(k * n);
  for (let i = 0; i < k; i++) {
    for (let j = 0; j < n; j++) {
      const v = roundHalfEven(f(w[i * n + j] / scales[j]));
      q[i * n + j] = Math.max(-qmax, Math.min(qmax, v));
    }
  }
  return q;
}
