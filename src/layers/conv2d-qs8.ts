// Conv2d (group 1) and linear layers in INT8 for models: weights symmetric int8 per output channel,
// activations uint8 per tensor with a static scale and zero point from calibration.
//   x (float32, channels-last) -> [im2col, float32] -> QuantizeLinear to uint8 -> qs8 GEMM
//   -> float32 epilogue (acc * s_x * s_w[c] + bias[c]) -> activation pass
// Quantization and staging are one pass (qs8_stage_f32_c2); the activation and the per-channel
// affine after it run in the GEMM's epilogue, in registers.
// All buffers are the caller's (the plan's arena); only the GEMM's small params are per call.

import { ArgumentError, ValueRangeError } from '../errors.js';
import { packQs8, qs8Gemm, roundHalfEven, type EpilogueActivation, type Qs8Weights } from '../kernels/qs8.js';
import type { Runtime } from '../runtime/runtime.js';
import type { ConvActivation } from './activation.js';
import { convOutSize, convPath, type ConvGeometry } from './conv2d.js';

/** Static uint8 quantization of a tensor: q = clamp(round(x / scale) + zeroPoint, 0, 255). */
export interface ActivationQuant {
  scale: number;
  zeroPoint: number;
}

/** Asymmetric uint8 parameters covering [min, max] (and 0, so zero padding stays exact). */
export function uint8Range(min: number, max: number): ActivationQuant {
  if (!Number.isFinite(min) || !Number.isFinite(max) || min > max) throw new ValueRangeError(`activation range [${min}, ${max}] must be finite with min <= max`);
  const lo = Math.min(min, 0), hi = Math.max(max, 0);
  const scale = Math.fround(hi > lo ? (hi - lo) / 255 : 1);
  const zeroPoint = Math.min(255, Math.max(0, roundHalfEven(-lo / scale)));
  return { scale, zeroPoint };
}

/** Per-column symmetric int8 weights: W [K, N] -> q [K, N] in [-127, 127] and scales [N]. */
export function quantizeWeightsPerColumn(w: Float32Array, k: number, n: number): { q: Int8Array; scales: Float32Array } {
  const scales = new Float32Array(n);
  for (let j = 0; j < n; j++) {
    let m = 0;
    for (let i = 0; i < k; i++) m = Math.max(m, Math.abs(w[i * n + j]));
    scales[j] = m > 0 ? m / 127 : 1;
  }
  const q = new Int8Array(k * n);
  for (let i = 0; i < k; i++) for (let j = 0; j < n; j++) q[i * n + j] = Math.max(-127, Math.min(127, roundHalfEven(w[i * n + j] / scales[j])));
  return { q, scales };
}

/** y[M, N] = dequant(quant(x[M, K]) * Wq) + bias, then the activation. */
class Qs8Matmul {
  private readonly w: Qs8Weights;
  private readonly colScale: Float32Array;
  private readonly act: EpilogueActivation | undefined;

  constructor(private readonly rt: Runtime, readonly k: number, readonly n: number, wkn: Float32Array, private readonly bias: Float32Array | null, readonly input: ActivationQuant, activation: ConvActivation | null) {
    if (bias && bias.length !== n) throw new ArgumentError(`int8 layer: bias has ${bias.length} values, expected ${n}`);
    const { q, scales } = quantizeWeightsPerColumn(wkn, k, n);
    this.w = packQs8(rt, q, k, n, new Int32Array(n), { allowSevenBit: false });
    this.colScale = scales.map((s) => Math.fround(s * input.scale));
    this.act = activation ? { kind: activation.kind, alpha: activation.alpha, beta: activation.beta, scale: activation.scale, shift: activation.shift } : undefined;
  }

  get weightBytes(): number {
    return this.w.bytes + this.n * 8;
  }

  /** bytes of scratch for M rows: x quantized and staged as int16 (K rounded up to 2), and row sums */
  scratchBytes(m: number): number {
    return m * this.w.kp * 2 + m * 4 + 64;
  }

  async run(m: number, x: number, y: number, scratch: number): Promise<void> {
    const rt = this.rt, kp = this.w.kp;
    const rowSum = scratch + Math.ceil((m * kp * 2) / 16) * 16;
    rt.kernels.qs8_stage_f32_c2(m, this.k, kp, x, this.k * 4, this.input.scale, this.input.zeroPoint, scratch, rowSum);
    await rt.scoped((alloc) =>
      qs8Gemm(rt, alloc, {
        m, a: 0, signed: false, za: this.input.zeroPoint, w: this.w, staged: { ptr: scratch, rowSum },
        output: { kind: 'float32', colScale: this.colScale, bias: this.bias ?? undefined, activation: this.act }, out: y, outStride: this.n * 4,
      }),
    );
  }

  dispose(): void {
    this.w.dispose();
  }
}

export class Conv2dQs8 {
  private readonly mm: Qs8Matmul;
  readonly im2col: boolean;

  constructor(private readonly rt: Runtime, readonly geometry: ConvGeometry, weight: Float32Array, bias: Float32Array | null, input: ActivationQuant, activation: ConvActivation | null = null) {
    const g = geometry;
    if (g.group !== 1) throw new ArgumentError(`Conv2dQs8: group ${g.group} convolutions stay float (depthwise/grouped)`);
    const taps = g.kh * g.kw, k = taps * g.cin;
    if (weight.length !== g.cout * k) throw new ArgumentError(`Conv2dQs8: weight has ${weight.length} values, expected [${g.cout}, ${g.cin}, ${g.kh}, ${g.kw}]`);
    const wkn = new Float32Array(k * g.cout);
    for (let o = 0; o < g.cout; o++) for (let ci = 0; ci < g.cin; ci++) for (let t = 0; t < taps; t++) wkn[(t * g.cin + ci) * g.cout + o] = weight[(o * g.cin + ci) * taps + t];
    this.mm = new Qs8Matmul(rt, k, g.cout, wkn, bias, input, activation);
    this.im2col = convPath(g) !== 'pointwise';
  }

  get weightBytes(): number {
    return this.mm.weightBytes;
  }

  scratchBytes(h: number, w: number): number {
    const [oh, ow] = convOutSize(this.geometry, h, w);
    const m = oh * ow;
    return (this.im2col ? m * this.mm.k * 4 : 0) + this.mm.scratchBytes(m);
  }

  async run(n: number, h: number, w: number, x: number, y: number, scratch: number): Promise<void> {
    const g = this.geometry;
    const [oh, ow] = convOutSize(g, h, w);
    const m = oh * ow;
    const qScratch = scratch + (this.im2col ? m * this.mm.k * 4 : 0);
    for (let b = 0; b < n; b++) {
      const xb = x + b * h * w * g.cin * 4, yb = y + b * m * g.cout * 4;
      let a = xb;
      if (this.im2col) {
        this.rt.invoke(['f32_im2col_nhwc', [h, w, g.cin, g.cin, g.kh, g.kw, g.sh, g.sw, g.pt, g.pl, g.dh, g.dw, 0, oh, ow, xb, scratch]]);
        a = scratch;
      }
      await this.mm.run(m, a, yb, qScratch);
    }
  }

  dispose(): void {
    this.mm.dispose();
  }
}

export class LinearQs8 {
  private readonly mm: Qs8Matmul;
  constructor(rt: Runtime, readonly k: number, readonly n: number, weight: Float32Array, bias: Float32Array | null, input: ActivationQuant, transposed = false) {
    let wkn = weight;
    if (transposed) {
      wkn = new Float32Array(k * n);
      for (let i = 0; i < k; i++) for (let j = 0; j < n; j++) wkn[i * n + j] = weight[j * k + i];
    }
    this.mm = new Qs8Matmul(rt, k, n, wkn, bias, input, null);
  }
  get weightBytes(): number {
    return this.mm.weightBytes;
  }
  scratchBytes(m: number): number {
    return this.mm.scratchBytes(m);
  }
  run(m: number, x: number, y: number, scratch: number): Promise<void> {
    return this.mm.run(m, x, y, scratch);
  }
  dispose(): void {
    this.mm.dispose();
  }
}
