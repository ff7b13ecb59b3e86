// INT8 GEMM for model layers: weights symmetric int8 per output column, activations uint8 per
// tensor with a static scale and zero point from calibration.
//   x (float32) -> qs8_stage_f32_c2 (QuantizeLinear and staging in one pass) -> qs8 GEMM ->
//   float32 epilogue: acc * s_x * s_w[n] + bias[n], then the activation and per-channel affine
// in registers. Weights arrive quantized (src/model/weights.ts decides how).

import { ArgumentError } from '../errors.js';
import type { ActivationQuant } from '../quant/activation-range.js';
import { packQs8, qs8Gemm, qs8StageF32, type EpilogueActivation, type Qs8Weights } from '../kernels/qs8.js';
import { qs8StageChan, stageChanVectors } from '../kernels/qs8-stage-chan.js';
import type { Runtime } from '../runtime/runtime.js';
import type { ConvActivation } from './activation.js';
import type { GemmImpl } from './conv2d-gemm.js';

/** int8 weights [K, N] in [-127, 127] with one float32 scale per column, and the input's quantization. */
export interface Int8Weights {
  k: number;
  n: number;
  q: Int8Array;
  scales: Float32Array;
  /** the layer input's static quantization (null: a user layer quantizing activations at run time) */
  input: ActivationQuant | null;
}

export class Qs8Gemm implements GemmImpl {
  readonly k: number;
  readonly n: number;
  private readonly w: Qs8Weights;
  private readonly colScale: Float32Array;
  private readonly act: EpilogueActivation | undefined;
  private readonly input: ActivationQuant;
  /** per-column divisor and rounding offset in linear memory (qs8-stage-chan), when the input has per-channel parts */
  private readonly chan: { div: number; off: number } | null = null;

  constructor(private readonly rt: Runtime, weights: Int8Weights, private readonly bias: Float32Array | null, activation: ConvActivation | null) {
    const { k, n, q, scales, input } = weights;
    if (!input) throw new ArgumentError('int8 layer: the model GEMM needs the input quantization from calibration');
    if (q.length !== k * n || scales.length !== n) throw new ArgumentError(`int8 layer: weights of ${q.length} values and ${scales.length} scales do not make [${k}, ${n}]`);
    if (bias && bias.length !== n) throw new ArgumentError(`int8 layer: bias has ${bias.length} values, expected ${n}`);
    this.k = k;
    this.n = n;
    this.input = input;
    this.w = packQs8(rt, q, k, n, new Int32Array(n), { allowSevenBit: false });
    if (input.channelScale || input.border) {
      const { div, off } = stageChanVectors(k, input.scale, input.channelScale, input.border);
      const ptr = rt.alloc(k * 8 + 32);
      rt.view(Float32Array, ptr, k).set(div);
      rt.view(Float32Array, ptr + k * 4 + 16, k).set(off);
      this.chan = { div: ptr, off: ptr + k * 4 + 16 };
    }
    this.colScale = scales.map((s) => Math.fround(s * input.scale));
    this.act = activation ? { kind: activation.kind, alpha: activation.alpha, beta: activation.beta, scale: activation.scale, shift: activation.shift } : undefined;
  }

  get weightBytes(): number {
    return this.w.bytes + this.n * 8 + (this.chan ? this.k * 8 : 0);
  }

  get layout(): string {
    return this.w.layout;
  }

  /** bytes of scratch for M rows: x quantized and staged as int16 (K rounded up to 2), and row sums */
  scratchBytes(m: number): number {
    return m * this.w.kp * 2 + m * 4 + 64;
  }

  async run(m: number, x: number, y: number, scratch: number): Promise<void> {
    const rt = this.rt, kp = this.w.kp;
    const rowSum = scratch + Math.ceil((m * kp * 2) / 16) * 16;
    if (this.chan) qs8StageChan(rt, this.w, m, x, this.k * 4, this.chan.div, this.chan.off, this.input.zeroPoint, scratch, rowSum);
    else qs8StageF32(rt, this.w, m, x, this.k * 4, this.input.scale, this.input.zeroPoint, scratch, rowSum);
    await rt.scoped((alloc) =>
      qs8Gemm(rt, alloc, {
        m, a: 0, signed: false, za: this.input.zeroPoint, w: this.w, staged: { ptr: scratch, rowSum },
        output: { kind: 'float32', colScale: this.colScale, bias: this.bias ?? undefined, activation: this.act }, out: y, outStride: this.n * 4,
      }),
    );
  }

  dispose(): void {
    if (this.chan && !this.w.disposed) this.rt.free(this.chan.div);
    this.w.dispose();
  }
}
