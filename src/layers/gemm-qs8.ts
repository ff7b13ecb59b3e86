// INT8 GEMM for model layers: weights symmetric int8 per output column, activations uint8 per
// tensor with a static scale and zero point from calibration.
//   x (float32) -> QuantizeLinear and staging in one pass -> qs8 GEMM ->
//   float32 epilogue: acc * s_x * s_w[n] + bias[n], then the activation and per-channel affine
// in registers. Weights arrive quantized (src/model/weights.ts decides how).
// On the relaxed build the GEMM runs the relaxed dot product (c4 layout), which is exact only when
// every weight column spans <= 127. 7-bit weights (int8 format's weightBits 7) fit as they are;
// 8-bit weights are split exactly into two 7-bit halves stacked along K, [x, x] . [W1; W2] = x . W
// (splitSevenBit), twice the multiply-adds of the relaxed dot: fewer cycles than c2's sign-extended
// i16 dots where the engine fuses the relaxed dot (relaxedDotIsFast: Node 24 on AVX-VNNI), more
// where it emulates it (Node 20), which then stays on c2. There, too, layers with one scale per
// tensor run c4a instead (src/kernels/qs8-c4a.ts): the activations split, not the weights, one
// relaxed dot per 16 multiply-adds plus the rare activations >= 128. The baseline build runs c2. The stagers of both layouts quantize x to
// the same integers and every GEMM is exact, so the output is the same bits on either build.

import { ArgumentError } from '../errors.js';
import type { ActivationQuant } from '../quant/activation-range.js';
import { packQs8, qs8StageF32, type EpilogueActivation, type Qs8Weights } from '../kernels/qs8.js';
import { Qs8PreparedGemm } from './qs8-prepared.js';
import { qs8StageChan, stageChanVectors } from '../kernels/qs8-stage-chan.js';
import { qs8StageChanC4, qs8StageF32C4 } from '../kernels/qs8-stage-c4f.js';
import { relaxedDotIsFast } from '../kernels/relaxed-speed.js';
import { qs8StagePixels } from '../kernels/qs8-stage-pixels.js';
import { Qs8C4aGemm, packQs8C4a } from '../kernels/qs8-c4a.js';
import { packQs8ConvDirect, qs8ConvDirect, type Qs8ConvDirectWeights } from '../kernels/qs8-conv-direct.js';
import type { Runtime } from '../runtime/runtime.js';
import type { ConvActivation } from './activation.js';
import type { GemmImpl, StagedConv, StagedDirectConv } from './gemm.js';

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
  /** the GEMM with its epilogue's constants placed once (the same every call) */
  private readonly gemm: Qs8PreparedGemm | null = null;
  private readonly input: ActivationQuant;
  /** per-column divisor and rounding offset in linear memory (qs8-stage-chan), when the input has per-channel parts */
  private readonly chan: { div: number; off: number; host: { div: Float32Array; off: Float32Array } } | null = null;
  /** staged convolution inputs by channel count, and the blocks their padding rows live in */
  private readonly staged = new Map<number, StagedConv | null>();
  private readonly padBlocks: number[] = [];
  /** the direct convolution's panels by window and channels (packed on first use) */
  private readonly directWeights = new Map<string, Qs8ConvDirectWeights>();
  /** 2 when the weights are packed split in two 7-bit halves (each row of x staged twice), else 1 */
  private readonly copies: 1 | 2;
  /** c4a (8-bit weights, activations split): run() takes this; stagedConv() a split twin made on first use */
  private readonly c4a: Qs8C4aGemm | null = null;
  private twin: Qs8Gemm | null = null;
  /** c4a only: what makes the twin (the int8 weights stay referenced only on c4a layers) */
  private readonly twinArgs: ConstructorParameters<typeof Qs8Gemm> | null = null;

  /**
   * split: run 8-bit weights as two 7-bit halves on the relaxed build (default: where relaxedDotIsFast); tests force it.
   * c4a: where the split would run and the input has one scale, split the activations instead (default: true).
   */
  constructor(private readonly rt: Runtime, weights: Int8Weights, bias: Float32Array | null, activation: ConvActivation | null, split?: boolean, c4a = true) {
    const { k, n, q, scales, input } = weights;
    if (!input) throw new ArgumentError('int8 layer: the model GEMM needs the input quantization from calibration');
    if (q.length !== k * n || scales.length !== n) throw new ArgumentError(`int8 layer: weights of ${q.length} values and ${scales.length} scales do not make [${k}, ${n}]`);
    if (bias && bias.length !== n) throw new ArgumentError(`int8 layer: bias has ${bias.length} values, expected ${n}`);
    this.k = k;
    this.n = n;
    this.input = input;
    // the split doubles the relaxed dots: only where the engine fuses them (src/kernels/relaxed-speed.ts)
    const halves = rt.features.simd === 'relaxed' && (split ?? relaxedDotIsFast(rt)) ? splitSevenBit(q, k, n) : null;
    const colScale = scales.map((s) => Math.fround(s * input.scale));
    const act: EpilogueActivation | undefined = activation ? { kind: activation.kind, alpha: activation.alpha, beta: activation.beta, scale: activation.scale, shift: activation.shift } : undefined;
    const output = { kind: 'float32', colScale, bias: bias ?? undefined, activation: act } as const;
    if (halves && c4a && !input.channelScale && !input.border) {
      this.c4a = new Qs8C4aGemm(rt, packQs8C4a(rt, q, k, n), input.scale, input.zeroPoint, output);
      this.w = this.c4a.w;
      this.copies = 1;
      this.twinArgs = [rt, weights, bias, activation, split, false];
      return;
    }
    this.copies = halves ? 2 : 1;
    this.w = packQs8(rt, halves ?? q, halves ? 2 * k : k, n, new Int32Array(n));
    if (input.channelScale || input.border) {
      const { div, off } = stageChanVectors(k, input.scale, input.channelScale, input.border);
      const ptr = rt.alloc(k * 8 + 32);
      rt.view(Float32Array, ptr, k).set(div);
      rt.view(Float32Array, ptr + k * 4 + 16, k).set(off);
      this.chan = { div: ptr, off: ptr + k * 4 + 16, host: { div, off } };
    }
    this.gemm = new Qs8PreparedGemm(rt, this.w, input.zeroPoint, false, output);
  }

  get weightBytes(): number {
    let direct = 0;
    for (const d of this.directWeights.values()) direct += d.bytes;
    return this.w.bytes + this.n * 8 + (this.chan ? this.k * 8 : 0) + direct + (this.twin?.weightBytes ?? 0);
  }

  /** 'c2', 'c4', or 'c4 split' (8-bit weights as two 7-bit halves) */
  get layout(): string {
    return this.c4a ? 'c4a' : this.copies === 2 ? `${this.w.layout} split` : this.w.layout;
  }

  /** bytes per staged element: int16 (c2) or int8 (c4) */
  private get stagedBytes(): number {
    return this.w.layout === 'c4' ? 1 : 2;
  }

  /** bytes of scratch for M rows: x quantized and staged (K rounded up to the layout's k-group), and row sums */
  scratchBytes(m: number): number {
    if (this.c4a) return this.c4a.scratchBytes(m);
    return m * this.w.kp * this.stagedBytes + m * 4 + 64;
  }

  async run(m: number, x: number, y: number, scratch: number): Promise<void> {
    if (this.c4a) return this.c4a.run(m, x, scratch, y, this.n * 4);
    const rt = this.rt, kp = this.w.kp;
    const rowSum = scratch + Math.ceil((m * kp * this.stagedBytes) / 16) * 16;
    const c4 = this.w.layout === 'c4', zp = this.input.zeroPoint;
    if (c4 && this.chan) qs8StageChanC4(rt, this.w, m, x, this.k * 4, this.chan.div, this.chan.off, zp, scratch, rowSum, this.copies);
    else if (c4) qs8StageF32C4(rt, this.w, m, x, this.k * 4, this.input.scale, zp, scratch, rowSum, this.copies);
    else if (this.chan) qs8StageChan(rt, this.w, m, x, this.k * 4, this.chan.div, this.chan.off, zp, scratch, rowSum);
    else qs8StageF32(rt, this.w, m, x, this.k * 4, this.input.scale, zp, scratch, rowSum);
    await this.gemm!.run(m, scratch, rowSum, y, this.n * 4);
  }

  /**
   * Stages a convolution's pixels once (c channels each; K = taps * c) for q_im2col_nhwc: null when
   * a per-column quantization differs between taps (then pixels do not stage the same at every tap).
   */
  stagedConv(c: number): StagedConv | null {
    // pixels staged once need the c4 split layout: a twin holding it, made once
    if (this.c4a) return (this.twin ??= new Qs8Gemm(...this.twinArgs!)).stagedConv(c);
    if (!this.staged.has(c)) this.staged.set(c, this.makeStagedConv(c));
    return this.staged.get(c)!;
  }

  private makeStagedConv(c: number): StagedConv | null {
    const rt = this.rt, k = this.k;
    if (!Number.isInteger(c) || c < 1 || k % c !== 0) return null;
    const chan = this.chan;
    if (chan) for (let j = c; j < k; j++) if (!Object.is(chan.host.div[j], chan.host.div[j % c]) || !Object.is(chan.host.off[j], chan.host.off[j % c])) return null;
    const eb = this.stagedBytes, layout = this.w.layout, q = { scale: this.input.scale, zeroPoint: this.input.zeroPoint, chan };
    // the same kernels as run()'s, on rows of c values (K = kp = c, one copy)
    const stage = (pixels: number, x: number, out: number, sums: number): void => qs8StagePixels(rt, layout, c, pixels, x, q, out, sums);
    // the padding: a pixel of zeros, staged once
    const block = rt.alloc(c * 4 + c * eb + 32);
    this.padBlocks.push(block);
    rt.view(Float32Array, block, c).fill(0);
    const pad = block + c * 4 + 16;
    stage(1, block, pad, pad - 16);
    const padSum = rt.view(Int32Array, pad - 16, 1)[0];
    return {
      elementBytes: eb,
      rowBytes: this.w.kp * eb,
      copies: this.copies,
      pad,
      padSum,
      stagePixels: stage,
      runStaged: (m, staged, rowSum, y) => this.gemm!.run(m, staged, rowSum, y, this.n * 4),
      direct: (g) => this.makeDirect(c, g.kh, g.kw, g.dw),
    };
  }

  /** qs8-conv-direct over the staged image: the GEMM's panels re-laid per run of kw * c values, the GEMM's params */
  private makeDirect(c: number, kh: number, kw: number, dw: number): StagedDirectConv | null {
    if (dw !== 1 && kw !== 1) return null;
    if (kh * kw * c * this.copies !== this.w.k || this.w.layout === 'w16') return null;
    const key = `${kh}x${kw}x${c}`;
    let dw8 = this.directWeights.get(key);
    if (!dw8) {
      dw8 = packQs8ConvDirect(this.rt, this.w, kh, kw, c, this.copies);
      this.directWeights.set(key, dw8);
    }
    const w = dw8;
    return {
      run: (g, xp, ps, hp, wp, oh, ow, rowSum, y) =>
        qs8ConvDirect(this.rt, g, { xp, ps, hp, wp, w, prm: this.gemm!.paramsWithRowSum(rowSum), y, oh, ow, outStride: this.n * 4 }),
    };
  }

  dispose(): void {
    this.twin?.dispose();
    if (this.c4a) return this.c4a.dispose();
    for (const p of this.padBlocks.splice(0)) this.rt.free(p);
    for (const d of this.directWeights.values()) d.dispose();
    this.directWeights.clear();
    if (this.chan && !this.w.disposed) this.rt.free(this.chan.div);
    this.gemm?.dispose();
    this.w.dispose();
  }
}

/**
 * int8 weights [K, N] whose columns do not all fit one window of 128 values, as two halves stacked
 * along K, [W1; W2] (2K x N) with W1 + W2 = W, every column of both within one such window, so the
 * c4 layout runs them exactly. Per column the window is [-64, 63] when its values are <= 126
 * (W1 = clamp(w, -64, 63)) or else [-63, 64] when they are >= -126 (W1 = clamp(w, -63, 64)).
 * null when every column already fits (no split needed) or one holds both <= -127 and 127.
 */
export function splitSevenBit(q: Int8Array, k: number, n: number): Int8Array | null {
  const lo = new Int32Array(n).fill(127), hi = new Int32Array(n).fill(-128);
  for (let t = 0; t < k; t++) {
    for (let j = 0; j < n; j++) {
      const v = q[t * n + j];
      if (v < lo[j]) lo[j] = v;
      if (v > hi[j]) hi[j] = v;
    }
  }
  let fits = true;
  const a = new Int32Array(n);
  for (let j = 0; j < n; j++) {
    if (hi[j] - lo[j] > 127) fits = false;
    if (hi[j] <= 126) a[j] = -64;
    else if (lo[j] >= -126) a[j] = -63;
    else return null;
  }
  if (fits) return null;
  const out = new Int8Array(2 * k * n);
  for (let t = 0; t < k; t++) {
    for (let j = 0; j < n; j++) {
      const v = q[t * n + j], w1 = Math.min(a[j] + 127, Math.max(a[j], v));
      out[t * n + j] = w1;
      out[(k + t) * n + j] = v - w1;
    }
  }
  return out;
}
