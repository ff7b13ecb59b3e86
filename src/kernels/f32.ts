// f32: float32 GEMM with bias and clamp, and batched products of two activations. Wraps
// assembly/gemm/f32.ts (panels of 8 columns).

import { ArgumentError } from '../errors.js';
import type { KernelHost } from '../runtime/host.js';
import { checkSizes } from './check.js';
import { PackedWeights } from './packed.js';

export const F32_NR = 8;

export class F32Weights extends PackedWeights {
  constructor(
    rt: KernelHost,
    readonly k: number,
    readonly n: number,
    readonly np: number,
    readonly ptr: number,
  ) {
    super(rt, [ptr]);
  }

  get bytes(): number {
    return this.k * this.np * 4;
  }
}

/** Packs W (K x N row-major, or N x K when transposed) into panels of 8 columns. */
export function packF32(rt: KernelHost, w: Float32Array, k: number, n: number, transposed = false): F32Weights {
  rt.check();
  if (w.length !== k * n) throw new ArgumentError(`packF32: W has ${w.length} elements, expected K*N = ${k}*${n}`);
  const np = Math.ceil(n / F32_NR) * F32_NR;
  const ptr = rt.alloc(Math.max(k * np * 4, 16));
  const dst = rt.view(Float32Array, ptr, k * np);
  dst.fill(0);
  for (let i = 0; i < k; i++) {
    for (let j = 0; j < n; j++) {
      dst[(j >> 3) * k * 8 + i * 8 + (j & 7)] = transposed ? w[j * k + i] : w[i * n + j];
    }
  }
  return new F32Weights(rt, k, n, np, ptr);
}

/** C[M x N] = clamp(A[M x K] * W + bias, lo, hi). */
export async function runF32(
  rt: KernelHost, a: Float32Array, m: number, w: F32Weights, bias?: Float32Array | null, lo = -Infinity, hi = Infinity,
): Promise<Float32Array> {
  if (w.disposed) throw new ArgumentError('runF32: the packed weights were disposed');
  const { k, n, np } = w;
  return rt.scoped(async (alloc) => {
    const pa = alloc(Math.max(m * k * 4, 16));
    rt.view(Float32Array, pa, m * k).set(a);
    const pb = bias ? rt.putPadded(alloc, Float32Array, bias, np) : 0;
    const pc = alloc(Math.max(m * n * 4, 16));
    await f32Gemm(rt, { m, a: pa, aStride: k * 4, w, c: pc, cStride: n * 4, bias: pb, lo, hi });
    return rt.read(Float32Array, pc, m * n);
  });
}

/** One GEMM on buffers already in linear memory (byte addresses, strides in bytes). */
export interface F32GemmCall {
  m: number;
  /** A [m][w.k], rows aStride bytes apart */
  a: number;
  aStride: number;
  w: F32Weights;
  /** C [m][w.n], rows cStride bytes apart */
  c: number;
  cStride: number;
  /** w.np floats (padded to whole panels), or 0 for none */
  bias: number;
  lo: number;
  hi: number;
}

/** C = clamp(A * W + bias, lo, hi), rows or columns split across threads (rt.parallelGemm). */
export function f32Gemm(rt: KernelHost, call: F32GemmCall): Promise<void> {
  const { m, a, aStride, w, c, cStride, bias, lo, hi } = call;
  if (w.disposed) throw new ArgumentError('f32Gemm: the packed weights were disposed');
  const { k, n } = w;
  checkSizes('f32Gemm', { m });
  if (!(aStride >= k * 4) || !(cStride >= n * 4)) throw new ArgumentError(`f32Gemm: strides must hold a row: aStride ${aStride} >= ${k * 4}, cStride ${cStride} >= ${n * 4} bytes`);
  if (m === 0 || n === 0) return Promise.resolve();
  // rows in whole 4-row tiles (a piece of one row would take the GEMV path) or columns in whole panels
  return rt.parallelGemm(m, n, 4, F32_NR, (m0, m1, n0, n1) => ['f32_gemm_4x8', [m1 - m0, n0, n1, k, a + m0 * aStride, aStride, w.ptr, c + m0 * cStride, cStride, bias, lo, hi]], m * k * n);
}

/**
 * c[0..w.n) = a[0..w.k) * W (+ bias): one row on this thread, synchronously (byte addresses): the
 * per-step product of a recurrent layer, too small to hand to the pool. bias may be c (C += A·W:
 * the kernel reads each column's bias before it writes that column); it is read in whole panels of
 * 8 columns (up to 16 floats), so up to 16 floats past its n must be readable memory.
 */
export function f32Gemv(rt: KernelHost, a: number, w: F32Weights, c: number, bias = 0): void {
  if (w.disposed) throw new ArgumentError('f32Gemv: the packed weights were disposed');
  rt.kernels.f32_gemm_4x8(1, 0, w.n, w.k, a, w.k * 4, w.ptr, c, w.n * 4, bias, -Infinity, Infinity);
}

/** C[b] = A[b] B[b] for `batch` products of two activations, A [m][k], B [k][n], C [m][n] row-major, batches split across threads. */
export function matmulRows(rt: KernelHost, a: number, b: number, c: number, batch: number, m: number, k: number, n: number): Promise<void> {
  checkSizes('matmulRows', { batch, m, k, n });
  return rt.parallelColumns(batch, 1, (b0, b1) => ['f32_matmul_rows', [b0, b1, m, k, n, a, b, c]], 1, batch * m * k * n);
}

/** Float64-accumulated reference: C = A * W + bias (W K x N row-major). */
export function refGemmF32(a: ArrayLike<number>, w: ArrayLike<number>, m: number, k: number, n: number, bias?: ArrayLike<number> | null): Float64Array {
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = bias ? bias[j] : 0;
      for (let t = 0; t < k; t++) s += a[i * k + t] * w[t * n + j];
      out[i * n + j] = s;
    }
  }
  return out;
}
