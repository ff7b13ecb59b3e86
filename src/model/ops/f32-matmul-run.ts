// MatMul and Gemm on the float32 wasm GEMM (what rt.ops runs): B is packed per call (per batch
// entry when the batch dims make B differ), A's rows go through in one call where they can.

import { packF32, runF32 } from '../../kernels/f32.js';
import type { Runtime } from '../../runtime/runtime.js';
import { isSingleGemm, type MatMulPlan } from './matmul-shape.js';

/** Y = A x B for every batch entry of the plan. */
export async function matMulF32(rt: Runtime, p: MatMulPlan, a: Float32Array, b: Float32Array): Promise<Float32Array> {
  const { m, k, n, batch } = p;
  const out = new Float32Array(batch * m * n);
  if (isSingleGemm(p)) {
    const w = packF32(rt, b.subarray(0, k * n), k, n);
    try {
      out.set(await runF32(rt, a, batch * m, w));
    } finally {
      w.dispose();
    }
    return out;
  }
  for (let t = 0; t < batch; t++) {
    const w = packF32(rt, b.subarray(p.bOffsets[t], p.bOffsets[t] + k * n), k, n);
    try {
      out.set(await runF32(rt, a.subarray(p.aOffsets[t], p.aOffsets[t] + m * k), m, w), t * m * n);
    } finally {
      w.dispose();
    }
  }
  return out;
}

export interface GemmArgs {
  m: number;
  k: number;
  n: number;
  transA: boolean;
  transB: boolean;
  alpha: number;
  beta: number;
}

/** Y = alpha * A' x B' + beta * C, each step in float32 (alpha scales A before the product). */
export async function gemmF32(rt: Runtime, g: GemmArgs, a: Float32Array, b: Float32Array, c: { data: ArrayLike<number>; dims: readonly number[] } | null): Promise<Float32Array> {
  const { m, k, n, alpha, beta } = g;
  let aData = a;
  if (g.transA) {
    aData = new Float32Array(m * k);
    for (let i = 0; i < k; i++) for (let j = 0; j < m; j++) aData[j * k + i] = a[i * m + j];
  }
  if (alpha !== 1) aData = aData.map((v) => Math.fround(v * alpha));
  const w = packF32(rt, b, k, n, g.transB);
  let y: Float32Array;
  try {
    y = await runF32(rt, aData, m, w);
  } finally {
    w.dispose();
  }
  if (c && beta !== 0) {
    // C broadcasts to [M, N] (checked by Gemm's infer)
    const cm = c.dims.length === 2 ? c.dims[0] : 1;
    const cn = c.dims.length >= 1 ? c.dims[c.dims.length - 1] : 1;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        const cv = c.data[(cm === 1 ? 0 : i) * cn + (cn === 1 ? 0 : j)];
        y[i * n + j] = Math.fround(y[i * n + j] + Math.fround(beta * cv));
      }
    }
  }
  return y;
}
