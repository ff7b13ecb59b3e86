// f32: float32 GEMM with bias and clamp. Wraps assembly/gemm/f32.ts (panels of 8 columns).

import { ArgumentError } from '../errors.js';
import type { KernelHost } from '../runtime/host.js';

export const F32_NR = 8;

export class F32Weights {
  private live = true;
  constructor(
    private readonly rt: KernelHost,
    readonly k: number,
    readonly n: number,
    readonly np: number,
    readonly ptr: number,
  ) {}

  get bytes(): number {
    return this.k * this.np * 4;
  }

  dispose(): void {
    if (!this.live) return;
    this.live = false;
    this.rt.free(this.ptr);
  }

  get disposed(): boolean {
    return !this.live;
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
    if (m > 0 && n > 0) {
      await rt.parallelColumns(n, F32_NR, (n0, n1) => ['f32_gemm_4x8', [m, n0, n1, k, pa, k * 4, w.ptr, pc, n * 4, pb, lo, hi]], m === 1 ? 64 : F32_NR);
    }
    return rt.read(Float32Array, pc, m * n);
  });
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
