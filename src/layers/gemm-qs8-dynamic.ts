// The int8 GEMM of lowbit.DynamicQuantConv / DynamicQuantMatMul (src/model/dyn-quant-layer.ts) and of
// scheme int8-dynamic (gemm-qs8-per-run.ts): weights int8
// or uint8 with their own zero points (packQs8 stores uint8 as W - 128 with the zero point shifted
// alike: the same differences), x quantized per run to uint8 with DynamicQuantizeLinear's scale and
// zero point (set by setInput before each run). Always the c2 layout: its staged values are
// q - x_zero_point, so the zero point lives in the staging and the params block holds only the
// weights' zero points and the per-run column scales (x_scale * w_scale, rounded to float32 as the
// graph's Mul does).
// A convolution over this GEMM (Conv2dGemm) takes the int8 conv paths quantizeModel's layers take:
// pixels staged once and their rows gathered, or the direct kernel reading the staged image in place
// (qs8-conv-direct). Every path stages the same integers and sums them exactly, and all share one
// epilogue (one params block per run), so their outputs are the same bits.

import { ArgumentError } from '../errors.js';
import { packQs8, qs8Gemm, qs8StageF32, type EpilogueActivation, type Qs8Weights } from '../kernels/qs8.js';
import { packQs8ConvDirect, qs8ConvDirect, type Qs8ConvDirectWeights } from '../kernels/qs8-conv-direct.js';
import { qs8StagePixels } from '../kernels/qs8-stage-pixels.js';
import type { GemmImpl, StagedConv, StagedDirectConv } from './gemm.js';
import { Qs8PreparedGemm } from './qs8-prepared.js';
import type { Runtime } from '../runtime/runtime.js';

export interface DynamicInput {
  scale: number;
  zeroPoint: number;
}

export class DynamicQs8Gemm implements GemmImpl {
  private readonly w: Qs8Weights;
  private current: DynamicInput = { scale: 1, zeroPoint: 0 };
  /** the params block for the current input (built on first use after setInput) */
  private prepared: Qs8PreparedGemm | null = null;
  private readonly staged = new Map<number, StagedConv | null>();
  private readonly padBlocks: number[] = [];
  private readonly directWeights = new Map<string, Qs8ConvDirectWeights>();

  constructor(
    private readonly rt: Runtime, b: Int8Array | Uint8Array, readonly k: number, readonly n: number, zw: ArrayLike<number>,
    private readonly wScale: Float32Array, private readonly bias: Float32Array | null, private readonly act: EpilogueActivation | undefined,
  ) {
    this.w = packQs8(rt, b, k, n, zw, { allowSevenBit: false });
  }

  get weightBytes(): number {
    let direct = 0;
    for (const d of this.directWeights.values()) direct += d.bytes;
    return this.w.bytes + this.n * 8 + direct;
  }

  get layout(): string {
    return this.w.layout;
  }

  get input(): DynamicInput {
    return this.current;
  }

  /** DynamicQuantizeLinear's scale and zero point for the next run */
  setInput(q: DynamicInput): void {
    if (!Number.isInteger(q.zeroPoint) || q.zeroPoint < 0 || q.zeroPoint > 255) throw new ArgumentError(`DynamicQs8Gemm: zeroPoint must be an integer in [0, 255], got ${q.zeroPoint}`);
    if (this.prepared && (q.scale !== this.current.scale || q.zeroPoint !== this.current.zeroPoint)) {
      this.prepared.dispose();
      this.prepared = null;
    }
    this.current = { scale: q.scale, zeroPoint: q.zeroPoint };
  }

  /** Mul(x_scale, w_scale) in float32; the Cast's float32(acc) times it, + bias, the activation */
  private colScale(): Float32Array {
    return Float32Array.from(this.wScale, (s) => this.current.scale * s);
  }

  private gemm(): Qs8PreparedGemm {
    this.prepared ??= new Qs8PreparedGemm(this.rt, this.w, this.current.zeroPoint, false, { kind: 'float32', colScale: this.colScale(), bias: this.bias ?? undefined, activation: this.act });
    return this.prepared;
  }

  scratchBytes(m: number): number {
    return m * this.w.kp * 2 + m * 4 + 64;
  }

  async run(m: number, x: number, y: number, scratch: number): Promise<void> {
    const rt = this.rt, { scale, zeroPoint } = this.current;
    const rowSum = scratch + Math.ceil((m * this.w.kp * 2) / 16) * 16;
    qs8StageF32(rt, this.w, m, x, this.k * 4, scale, zeroPoint, scratch, rowSum);
    await rt.scoped((alloc) =>
      qs8Gemm(rt, alloc, {
        m, a: 0, signed: false, za: zeroPoint, w: this.w, staged: { ptr: scratch, rowSum },
        output: { kind: 'float32', colScale: this.colScale(), bias: this.bias ?? undefined, activation: this.act }, out: y, outStride: this.n * 4,
      }),
    );
  }

  /** a convolution's pixels (c channels; K = taps * c) staged once, as run() stages rows */
  stagedConv(c: number): StagedConv | null {
    if (!this.staged.has(c)) this.staged.set(c, this.makeStagedConv(c));
    return this.staged.get(c)!;
  }

  private makeStagedConv(c: number): StagedConv | null {
    const rt = this.rt, k = this.k;
    if (!Number.isInteger(c) || c < 1 || k % c !== 0) return null;
    const stage = (pixels: number, x: number, out: number, sums: number): void => qs8StagePixels(rt, 'c2', c, pixels, x, this.current, out, sums);
    // the padding pixel: 0.0 quantizes to the zero point, staged as q - zero point = 0 whatever the
    // run's scale and zero point (ConvInteger pads with x_zero_point: it adds nothing)
    const pad = rt.alloc(c * 2 + 16);
    this.padBlocks.push(pad);
    rt.view(Uint8Array, pad, c * 2 + 16).fill(0);
    return {
      elementBytes: 2,
      rowBytes: this.w.kp * 2,
      copies: 1,
      pad,
      padSum: 0,
      stagePixels: stage,
      runStaged: (m, staged, rowSum, y) => this.gemm().run(m, staged, rowSum, y, this.n * 4),
      direct: (g) => this.makeDirect(c, g.kh, g.kw, g.dw),
    };
  }

  /** qs8-conv-direct over the staged image with this run's params block */
  private makeDirect(c: number, kh: number, kw: number, dw: number): StagedDirectConv | null {
    if ((dw !== 1 && kw !== 1) || kh * kw * c !== this.w.k) return null;
    const key = `${kh}x${kw}x${c}`;
    let w = this.directWeights.get(key);
    if (!w) {
      w = packQs8ConvDirect(this.rt, this.w, kh, kw, c, 1);
      this.directWeights.set(key, w);
    }
    const dw8 = w;
    return {
      run: (g, xp, ps, hp, wp, oh, ow, rowSum, y) =>
        qs8ConvDirect(this.rt, g, { xp, ps, hp, wp, w: dw8, prm: this.gemm().paramsWithRowSum(rowSum), y, oh, ow, outStride: this.n * 4 }),
    };
  }

  dispose(): void {
    this.prepared?.dispose();
    this.prepared = null;
    for (const p of this.padBlocks.splice(0)) this.rt.free(p);
    for (const d of this.directWeights.values()) d.dispose();
    this.directWeights.clear();
    this.w.dispose();
  }
}
