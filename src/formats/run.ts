// A format's GEMM on host arrays: quantized weights in, x [M][K] in, y [M][N] out. For the
// table-driven tests, the determinism digests and the benches, which run every format the same way.

import { gemmRunner } from '../layers/linear-runner.js';
import type { Runtime } from '../runtime/runtime.js';
import type { WeightFormat } from './format.js';

/** y = x W + bias through the format's GEMM (the one model layers run), without an activation. */
export async function runFormatGemm<W>(rt: Runtime, format: WeightFormat<W>, data: W, x: Float32Array, m: number, bias: Float32Array | null = null): Promise<Float32Array> {
  const runner = gemmRunner(rt, format.gemm(rt, data, bias, null));
  try {
    return await runner.forward(x, m);
  } finally {
    runner.dispose();
  }
}
