// FP8-weight GEMM for model layers: E4M3FN (or E5M2) weights with one scale per output column,
// float32 activations (src/kernels/f8w.ts decodes the weights in registers), then the activation
// pass. No activation quantization: the only error is the weights' rounding to FP8.

import { ArgumentError } from '../errors.js';
import { f8wGemm, packF8w, type F8wQuantized, type F8wWeights } from '../kernels/f8w.js';
import type { Runtime } from '../runtime/runtime.js';
import { ChannelActivation, type ConvActivation } from './activation.js';
import type { GemmImpl } from './conv2d-gemm.js';
import { hugeRows, runHugeRows } from './huge-rows.js';

export class F8wGemm implements GemmImpl {
  readonly k: number;
  readonly n: number;
  private readonly w: F8wWeights;
  private readonly biasPtr: number;
  private readonly act: ChannelActivation;
  private readonly bias: Float32Array | null;

  constructor(private readonly rt: Runtime, weights: F8wQuantized, bias: Float32Array | null, activation: ConvActivation | null) {
    this.k = weights.k;
    this.n = weights.n;
    if (bias && bias.length !== this.n) throw new ArgumentError(`fp8 layer: bias has ${bias.length} values, expected ${this.n}`);
    this.w = packF8w(rt, weights, weights.k, weights.n);
    this.biasPtr = bias ? rt.put(bias) : 0;
    this.bias = bias ? bias.slice() : null;
    this.act = new ChannelActivation(rt, this.n, activation);
  }

  get weightBytes(): number {
    return this.w.bytes;
  }

  async run(m: number, x: number, y: number): Promise<void> {
    const [lo, hi] = this.act.clamp;
    const gemm = (lo: number, hi: number) => f8wGemm(this.rt, { m, x, w: this.w, out: y, outStride: this.n * 4, bias: this.biasPtr || null, lo, hi });
    // rows with |x| >= 2^64 would overflow the staging x * 2^(63 - bias) (huge-rows.ts): scaled, clamped after
    const huge = hugeRows(this.rt, x, m, this.k);
    if (huge) await runHugeRows(this.rt, huge, { x, k: this.k, y, n: this.n, m, bias: this.bias, lo, hi }, () => gemm(-Infinity, Infinity));
    else await gemm(lo, hi);
    await this.act.apply(y, m);
  }

  dispose(): void {
    this.w.dispose();
    if (this.biasPtr) this.rt.free(this.biasPtr);
    this.act.dispose();
  }
}
