// INT8 GEMM for model layers: weights symmetric int8 per output column, activations uint8 per
// tensor with a static scale and zero point from calibration.
//   x (float32) -> QuantizeLinear and staging in one pass -> qs8 GEMM ->
//   float32 epilogue: acc * s_x * s_w[n] + bias[n], then the activation and per-channel affine
// in registers. Weights arrive quantized (src/model/weights.ts decides how).
// packQs8 takes the relaxed c4 layout (relaxed dot product) when the runtime is relaxed and every
// weight column spans <= 127 (7-bit weights, the int8 format's default: src/formats/int8.ts), the
// c2 layout otherwise; the stagers of both quantize x to the same integers and the GEMM is exact,
// so the output is the same bits on either build.

import { ArgumentError } from '../errors.js';
import type { ActivationQuant } from '../quant/activation-range.js';
import { packQs8, qs8Gemm, qs8StageF32, type EpilogueActivation, type Qs8Weights } from '../kernels/qs8.js';
import { qs8StageChan, stageChanVectors } from '../kernels/qs8-stage-chan.js';
import { qs8StageChanC4, qs8StageF32C4 } from '../kernels/qs8-stage-c4f.js';
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
    this.w = packQs8(rt, q, k, n, new Int32Array(n));
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

  /** bytes per staged element: int16 (c2) or int8 (c4) */
  private get stagedBytes(): number {
    return this.w.layout === 'c4' ? 1 : 2;
  }

  /** bytes of scratch for M rows: x quantized and staged (K rounded up to the layout's k-group), and row sums */
  scratchBytes(m: number): number {
    return m * this.w.kp * this.stagedBytes + m * 4 + 64;
  }

  async run(m: number, x: number, y: number, scratch: number): Promise<void> {
    const rt = this.rt, kp = this.w.kp;
    const rowSum = scratch + Math.ceil((m * kp * this.stagedBytes) / 16) * 16;
    const c4 = this.w.layout === 'c4', zp = this.input.zeroPoint;
    if (this.chan) (c4 ? qs8StageChanC4 : qs8StageChan)(rt, this.w, m, x, this.k * 4, this.chan.div, this.chan.off, zp, scratch, rowSum);
    else (c4 ? qs8StageF32C4 : qs8StageF32)(rt, this.w, m, x, this.k * 4, this.input.scale, zp, scratch, rowSum);
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
