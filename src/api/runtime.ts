// The public runtime: the core (src/runtime) plus rt.ops and rt.linear, which sit above the layers
// and the ONNX operators. Only this facade, src/index.ts and the CLI see both the core and what is
// built on it, so the core imports nothing above it.

import { createKernelRuntime, KernelRuntime, type RuntimeOptions } from '../runtime/runtime.js';
import { OnnxOps } from '../ops/onnx.js';
import { Linear, type LinearOptions } from '../formats/linear.js';
import { attentionInt8, type AttentionInt8Options, type AttentionInt8Result } from '../layers/attention-int8.js';

export class Runtime extends KernelRuntime {
  private opsInstance: OnnxOps | null = null;

  /** operators with ONNX semantics: matMulInteger, qlinearMatMul, quantizeLinear, ... */
  get ops(): OnnxOps {
    return (this.opsInstance ??= new OnnxOps(this));
  }

  /**
   * A quantized linear layer from float32 weights ([K, N], or [N, K] with transposed) and an optional
   * bias, in a format of the format table: INT8 by default, 4-bit blocks with `{ dtype: 'int4', blockSize }`,
   * ANT's adaptive 4-bit type with `{ dtype: 'ant4', blockSize }` (layer.type says which), NF4 with
   * `{ dtype: 'nf4' }`, FP8 E4M3 weights with `{ dtype: 'fp8' }`.
   */
  linear(weight: Float32Array, dims: readonly [number, number], bias: Float32Array | null = null, options: LinearOptions = {}): Promise<Linear> {
    return Linear.create(this, weight, dims, bias, options);
  }

  /**
   * int8 attention: q [tokens, heads * h], k and v [keys, kvHeads * h] (or the KV cache's
   * [B, kvHeads, rows, h] with kvLengths), quantized per head at run time; QKᵀ and PV in int8, softmax
   * in float, output float32 [tokens, heads * h]. A ragged batch (offsets) computes no padding; causal
   * masks later keys; prune skips keys a 4-bit approximate score rules out (see AttentionInt8Options).
   */
  attention(q: Float32Array, k: Float32Array, v: Float32Array, options: AttentionInt8Options): Promise<AttentionInt8Result> {
    return attentionInt8(this, q, k, v, options);
  }
}

/** Loads the kernel build that fits this engine (see RuntimeOptions) and returns a runtime over it. */
export function createRuntime(options: RuntimeOptions = {}): Promise<Runtime> {
  return createKernelRuntime(options, Runtime);
}
