// The float32 layer a quantized layer approximates. Its weights go into linear memory only when
// first used: a 4-bit layer would otherwise hold 8x its own bytes there just in case someone asks
// for a comparison.

import { ArgumentError } from '../errors.js';
import type { Runtime } from '../runtime/runtime.js';
import { packF32, runF32, type F32Weights } from '../kernels/f32.js';

export class FloatReference {
  private packed: F32Weights | null = null;

  /**
   * @param weights returns the float32 weights, [K, N] (or [N, K] when `transposed`); null when the
   *   layer was built without `reference: true`
   */
  constructor(
    private readonly rt: Runtime,
    private weights: (() => Float32Array) | null,
    private readonly k: number,
    private readonly n: number,
    private readonly transposed: boolean,
  ) {}

  /** y = x W + bias, clamped to [lo, hi], in float32 */
  run(x: Float32Array, m: number, bias: Float32Array | null, lo = -Infinity, hi = Infinity): Promise<Float32Array> {
    if (!this.packed) {
      if (!this.weights) {
        throw new ArgumentError('forwardFloat: this layer keeps no float weights to compare with; build it with reference: true');
      }
      this.packed = packF32(this.rt, this.weights(), this.k, this.n, this.transposed);
      this.weights = null;
    }
    return runF32(this.rt, x, m, this.packed, bias, lo, hi);
  }

  /** bytes of linear memory the float weights take now (0 until first used) */
  get bytes(): number {
    return this.packed ? this.packed.bytes : 0;
  }

  dispose(): void {
    this.packed?.dispose();
    this.packed = null;
    this.weights = null;
  }
}
