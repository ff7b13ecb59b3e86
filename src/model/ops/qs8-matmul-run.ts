// MatMulInteger and QLinearMatMul on the int8 wasm GEMM (what rt.ops runs): B is packed per call
// (per batch entry when the batch dims make B differ), A's rows go through in one call where they can.

import { packQs8, runQs8, type Qs8Output } from '../../kernels/qs8.js';
import type { Runtime } from '../../runtime/runtime.js';
import { isSingleGemm, type MatMulPlan } from './matmul-shape.js';

/** (A - za) x (B - zb) for every batch entry of the plan, through `out` (int32, or requantized to 8 bits). */
export async function matMulQs8<T extends Int32Array | Uint8Array | Int8Array>(
  rt: Runtime, p: MatMulPlan, a: Int8Array | Uint8Array, b: Int8Array | Uint8Array, za: number, zb: ArrayLike<number>, out: Qs8Output,
  make: (len: number) => T,
): Promise<T> {
  const { m, k, n, batch } = p;
  const result = make(batch * m * n);
  if (isSingleGemm(p)) {
    const w = packQs8(rt, b.subarray(0, k * n), k, n, zb);
    try {
      result.set((await runQs8(rt, a, batch * m, za, w, out)) as T);
    } finally {
      w.dispose();
    }
    return result;
  }
  for (let t = 0; t < batch; t++) {
    const w = packQs8(rt, b.subarray(p.bOffsets[t], p.bOffsets[t] + k * n), k, n, zb);
    try {
      result.set((await runQs8(rt, a.subarray(p.aOffsets[t], p.aOffsets[t] + m * k), m, za, w, out)) as T, t * m * n);
    } finally {
      w.dispose();
    }
  }
  return result;
}
