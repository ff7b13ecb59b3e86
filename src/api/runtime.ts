// The public runtime: the core (src/runtime) plus rt.ops and rt.linear, which sit above the layers
// and the ONNX operators. Only this facade, src/index.ts and the CLI see both the core and what is
// built on it, so the core imports nothing above it.

import { createKernelRuntime, KernelRuntime, type RuntimeOptions } from '../runtime/runtime.js';
import { OnnxOps } from '../ops/onnx.js';
import { QuantizedLinear, type LinearOptions } from '../layers/linear.js';
import { Int4Linear, type Int4LinearOptions } from '../layers/int4-linear.js';
import { TypedLinear, type TypedLinearOptions } from '../layers/typed-linear.js';

export class Runtime extends KernelRuntime {
  private opsInstance: OnnxOps | null = null;

  /** operators with ONNX semantics: matMulInteger, qlinearMatMul, quantizeLinear, ... */
  get ops(): OnnxOps {
    return (this.opsInstance ??= new OnnxOps(this));
  }

  /**
   * A quantized linear layer from float32 weights ([K, N], or [N, K] with transposed) and an optional
   * bias: INT8 by default, 4-bit blocks with `{ dtype: 'int4', blockSize }`, ANT's adaptive 4-bit type
   * with `{ dtype: 'ant4', blockSize }` (layer.type says which; blocks of 32 by default, or 'channel'), FP8 E4M3 weights with `{ dtype: 'fp8' }`.
   */
  linear(weight: Float32Array, dims: readonly [number, number], bias?: Float32Array | null, options?: LinearOptions): Promise<QuantizedLinear>;
  linear(weight: Float32Array, dims: readonly [number, number], bias: Float32Array | null, options: Int4LinearOptions): Promise<Int4Linear>;
  linear(weight: Float32Array, dims: readonly [number, number], bias: Float32Array | null, options: TypedLinearOptions): Promise<TypedLinear>;
  linear(weight: Float32Array, dims: readonly [number, number], bias: Float32Array | null = null, options: LinearOptions | Int4LinearOptions | TypedLinearOptions = {}): Promise<QuantizedLinear | Int4Linear | TypedLinear> {
    const dtype = (options as { dtype?: string }).dtype;
    if (dtype === 'int4') return Int4Linear.create(this, weight, dims, bias, options as Int4LinearOptions);
    if (dtype === 'ant4' || dtype === 'fp8') return TypedLinear.create(this, weight, dims, bias, options as TypedLinearOptions);
    return QuantizedLinear.create(this, weight, dims, bias, options as LinearOptions);
  }
}

/** Loads the kernel build that fits this engine (see RuntimeOptions) and returns a runtime over it. */
export function createRuntime(options: RuntimeOptions = {}): Promise<Runtime> {
  return createKernelRuntime(options, Runtime);
}
