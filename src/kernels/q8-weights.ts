// Symmetric int8 weights per output channel, in wasm (assembly/quant/weights-q8.ts): the same
// numbers as symmetricColumnScales + quantizeColumnsSymmetric (src/quant/q8.ts), ~10x faster than
// those JS passes and without the two transposes the layer used to make. The float weights go through
// linear memory in chunks of CHUNK_BYTES, so building a layer does not raise the heap's high-water
// mark by the float weights' size.

import { ShapeError, ValueRangeError } from '../errors.js';
import type { KernelHost } from '../runtime/host.js';
import { checkSizes } from './check.js';

const CHUNK_BYTES = 4 << 20;

/**
 * Int8 weights q [K, N] and one scale per output channel (N) from float32 weights w: [K, N], or
 * [N, K] when `transposed`. scale = max|w| / qmax (1 for an all-zero channel), q = clamp(round half
 * to even(w / scale), -qmax, qmax).
 */
export function quantizeWeightsQ8(rt: KernelHost, w: Float32Array, k: number, n: number, transposed: boolean, qmax: number): { q: Int8Array; scales: Float32Array } {
  checkSizes('quantizeWeightsQ8', { k, n });
  if (w.length !== k * n) throw new ShapeError(`quantizeWeightsQ8: ${w.length} weights do not make [${k}, ${n}]`);
  const q = new Int8Array(k * n);
  const scales = new Float32Array(n);
  if (k * n === 0) return { q, scales: scales.fill(1) };
  const np = Math.ceil(n / 4) * 4;
  const rowLen = transposed ? k : n;
  const rows = Math.max(1, Math.min(transposed ? n : k, Math.floor(CHUNK_BYTES / (rowLen * 4))));
  const x = rt.kernels;
  return { q, scales: transposed ? byRows() : byColumns() };

  // [K, N]: column maxima over every chunk, then each chunk quantized and copied out
  function byColumns(): Float32Array {
    const chunk = rt.alloc(rows * n * 4), amax = rt.alloc(np * 4), ps = rt.alloc(np * 4), pq = rt.alloc(rows * n);
    try {
      rt.view(Float32Array, amax, np).fill(0);
      for (let i = 0; i < k; i += rows) {
        const r = Math.min(rows, k - i);
        rt.view(Float32Array, chunk, r * n).set(w.subarray(i * n, (i + r) * n));
        if (x.q8_colmax_kn(chunk, r, n, amax)) throw new ValueRangeError('weight: contains NaN or Infinity; weights must be finite');
      }
      rt.view(Float32Array, amax, n).forEach((a, j) => (scales[j] = a > 0 ? Math.fround(a / qmax) : 1));
      rt.view(Float32Array, ps, n).set(scales);
      for (let i = 0; i < k; i += rows) {
        const r = Math.min(rows, k - i);
        rt.view(Float32Array, chunk, r * n).set(w.subarray(i * n, (i + r) * n));
        x.q8_quantize_cols_kn(chunk, r, n, ps, qmax, pq);
        q.set(rt.view(Int8Array, pq, r * n), i * n);
      }
      return scales;
    } finally {
      for (const p of [chunk, amax, ps, pq]) rt.free(p);
    }
  }

  // [N, K]: each chunk of output channels scaled and quantized into q [K, N] in linear memory
  function byRows(): Float32Array {
    const chunk = rt.alloc(rows * k * 4), ps = rt.alloc(np * 4), pq = rt.alloc(k * n);
    try {
      for (let j = 0; j < n; j += rows) {
        const r = Math.min(rows, n - j);
        rt.view(Float32Array, chunk, r * k).set(w.subarray(j * k, (j + r) * k));
        if (x.q8_quantize_rows_nk(chunk, r, k, n, j, qmax, ps, pq)) throw new ValueRangeError('weight: contains NaN or Infinity; weights must be finite');
      }
      q.set(rt.view(Int8Array, pq, k * n));
      scales.set(rt.view(Float32Array, ps, n));
      return scales;
    } finally {
      for (const p of [chunk, ps, pq]) rt.free(p);
    }
  }
}
