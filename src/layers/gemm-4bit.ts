// 4-bit GEMM for model layers: 4-bit weights and int8 activations quantized on the fly per row,
//   x (float32) -> 4-bit GEMM -> [rows copied out of padded panels] -> activation pass
// on one of two kernel families (the weights arrive quantized by their format, src/formats/):
//   'qb4' (src/kernels/qb4.ts): Int4Blocks, a scale per block of K; with activations 'float32'
//          the W4A32 kernel instead (float activations: a MatMulNBits file's layers in a float32 model);
//   'lut4' (src/kernels/lut4.ts): codes of a 16-value int8 table (ANT's type for the tensor, or
//          one per type when channels chose their own), a scale per block of K (or per output
//          channel), decoded by table lookup. Several tables regroup the columns into panels of
//          one table: the bias goes in panel order and the outputs come back through a gather.

import { ArgumentError } from '../errors.js';
import { lut4GatherColumns, lut4Gemm, lut4PanelBias, packLut4, type Lut4Source } from '../kernels/lut4.js';
import { packQb4, qb4F32Gemm, qb4F32GemmScratch, qb4Gemm } from '../kernels/qb4.js';
import { actBlocksBytes } from '../kernels/act-blocks.js';
import type { Int4Blocks, Int4Nibbles } from '../quant/int4.js';
import type { Runtime } from '../runtime/runtime.js';
import { ChannelActivation, type ConvActivation } from './activation.js';
import type { GemmImpl } from './conv2d-gemm.js';
import { hugeRows, runHugeRows } from './huge-rows.js';

export type FourBitWeights = { kernel: 'qb4'; blocks: Int4Blocks | Int4Nibbles; activations?: 'int8' | 'float32' } | { kernel: 'lut4'; source: Lut4Source };

interface Packed {
  /** the kernel's weight layout */
  readonly layout: string;
  readonly kp: number;
  readonly np: number;
  readonly blockSize: number;
  readonly bytes: number;
  /** [N] bias in the kernel's column order (Np floats) */
  panelBias(bias: Float32Array | null): Float32Array;
  /** the GEMM's own scratch for M rows (activations and their block metadata) */
  gemmScratch(m: number): number;
  /** M panel-order rows at src (stride Np) -> [M][N] at dst; null: the first N of each row are the columns in order */
  gather: ((m: number, src: number, dst: number) => void) | null;
  /** whether gemm() runs synchronously (W4A32): it then keeps nothing of its arguments past the call */
  readonly sync: boolean;
  /** a promise when the kernel family runs asynchronously, nothing when it ran (W4A32) */
  gemm(alloc: (bytes: number) => number, call: { m: number; x: number; bias: number; out: number }): Promise<unknown> | void;
  /** qb4: the Int4Blocks it was packed from, read back (lut4: null) */
  unpack: (() => Int4Blocks) | null;
  dispose(): void;
}

function pack(rt: Runtime, w: FourBitWeights): Packed {
  if (w.kernel === 'qb4') {
    const p = packQb4(rt, w.blocks);
    const panelBias = (b: Float32Array | null) => {
      const out = new Float32Array(p.np);
      if (b) out.set(b);
      return out;
    };
    const common = { layout: p.layout, kp: p.kp, np: p.np, blockSize: p.blockSize, bytes: p.bytes, panelBias, gather: null, unpack: () => p.unpack(), dispose: () => p.dispose() };
    if (w.activations === 'float32') {
      // synchronous: one argument object per layer, refilled each call (a decode step makes no garbage here)
      const call = { m: 0, x: 0, bias: 0, out: 0, w: p };
      const gemm = (alloc: (bytes: number) => number, c: { m: number; x: number; bias: number; out: number }) => {
        call.m = c.m;
        call.x = c.x;
        call.bias = c.bias;
        call.out = c.out;
        qb4F32Gemm(rt, alloc, call);
      };
      return { ...common, sync: true, gemmScratch: (m) => qb4F32GemmScratch(p, m), gemm };
    }
    return { ...common, sync: false, gemmScratch: (m) => actBlocksBytes(m, p.kp, p.blockSize, true), gemm: (alloc, c) => qb4Gemm(rt, alloc, { ...c, w: p }) };
  }
  const p = packLut4(rt, w.source);
  return {
    layout: p.layout, kp: p.kp, np: p.np, blockSize: p.blockSize, bytes: p.bytes, sync: false,
    gemmScratch: (m) => actBlocksBytes(m, p.kp, p.blockSize, true),
    panelBias: (b) => lut4PanelBias(p, b),
    // per-panel tables with regrouped columns: the outputs come back through a gather
    gather: p.columns ? (m, src, dst) => lut4GatherColumns(rt, p, m, src, dst) : null,
    gemm: (alloc, c) => lut4Gemm(rt, alloc, { ...c, w: p }), unpack: null, dispose: () => p.dispose(),
  };
}

export class FourBitGemm implements GemmImpl {
  readonly k: number;
  readonly n: number;
  private readonly w: Packed;
  private readonly biasPtr: number;
  private readonly act: ChannelActivation;
  private readonly bias: Float32Array | null;

  constructor(private readonly rt: Runtime, weights: FourBitWeights, bias: Float32Array | null, activation: ConvActivation | null) {
    const src = weights.kernel === 'qb4' ? weights.blocks : weights.source;
    this.k = src.k;
    this.n = src.n;
    if (bias && bias.length !== this.n) throw new ArgumentError(`${weights.kernel} layer: bias has ${bias.length} values, expected ${this.n}`);
    this.w = pack(rt, weights);
    this.bias = bias ? bias.slice() : null;
    this.biasPtr = rt.alloc(this.w.np * 4);
    rt.view(Float32Array, this.biasPtr, this.w.np).set(this.w.panelBias(bias));
    this.act = new ChannelActivation(rt, this.n, activation, false);
  }

  get weightBytes(): number {
    return this.w.bytes + this.n * 4;
  }

  get layout(): string {
    return this.w.layout;
  }

  /** the qb4 blocks the layer packed, read back out of linear memory (lossless) */
  unpackBlocks(): Int4Blocks {
    if (!this.w.unpack) throw new ArgumentError(`${this.w.layout} layer: its weights cannot be unpacked to Int4Blocks`);
    return this.w.unpack();
  }

  /** scratch for M rows: the GEMM's (int8/int16 activations and their block metadata, src/kernels/act-blocks.ts), and padded output rows */
  scratchBytes(m: number): number {
    const { np } = this.w;
    return this.w.gemmScratch(m) + (np !== this.n || m === 1 || this.w.gather ? m * np * 4 : 0) + 256;
  }

  /**
   * Synchronous (no promise) when the kernel and the activation pass are: a decode step runs ~100
   * of these, and an async call each was most of the JS garbage a token made (issue 15).
   */
  run(m: number, x: number, y: number, scratch: number): Promise<void> | void {
    // rows with |x| >= 2^64 would overflow the kernels' float32 block arithmetic (huge-rows.ts)
    const huge = hugeRows(this.rt, x, m, this.k);
    if (huge) return runHugeRows(this.rt, huge, { x, k: this.k, y, n: this.n, m, bias: this.bias, lo: -Infinity, hi: Infinity }, async () => this.gemm(m, x, y, scratch)).then(() => this.act.apply(y, m));
    const pending = this.gemm(m, x, y, scratch);
    if (pending) return pending.then(() => this.act.apply(y, m));
    return this.act.apply(y, m);
  }

  private gemm(m: number, x: number, y: number, scratch: number): Promise<void> | void {
    const { np, gather } = this.w, n = this.n;
    // rows are written panel-padded: straight into y when N is a multiple of the panel width (M > 1)
    // and the columns are in order
    const direct = np === n && m > 1 && !gather;
    const padded = direct ? y : scratch;
    // the GEMM's own scratch (int8 activations, block metadata) comes from ours
    this.scratchAt = scratch;
    this.used = direct ? 0 : m * np * 4 + 64;
    if (this.w.sync) {
      // no closure or argument object per call: the bump allocator and the call object are the layer's
      const c = this.call;
      c.m = m;
      c.x = x;
      c.bias = this.biasPtr;
      c.out = padded;
      this.w.gemm(this.bump, c);
      return this.finish(m, padded, y, direct);
    }
    let used = this.used;
    const alloc = (bytes: number) => {
      const p = scratch + used;
      used += Math.ceil(bytes / 64) * 64;
      return p;
    };
    const pending = this.w.gemm(alloc, { m, x, bias: this.biasPtr, out: padded });
    if (pending) return pending.then(() => this.finish(m, padded, y, direct));
    return this.finish(m, padded, y, direct);
  }

  private scratchAt = 0;
  private used = 0;
  private readonly call = { m: 0, x: 0, bias: 0, out: 0 };
  private readonly bump = (bytes: number): number => {
    const p = this.scratchAt + this.used;
    this.used += Math.ceil(bytes / 64) * 64;
    return p;
  };

  /** Padded rows to y (or the column gather): copied within linear memory, no views made. */
  private finish(m: number, padded: number, y: number, direct: boolean): void {
    const { np, gather } = this.w, n = this.n;
    if (gather) gather(m, padded, y);
    else if (!direct) {
      const mem = this.rt.f32(), src = padded >> 2, dst = y >> 2;
      for (let i = 0; i < m; i++) mem.copyWithin(dst + i * n, src + i * np, src + i * np + n);
    }
  }

  dispose(): void {
    this.w.dispose();
    this.rt.free(this.biasPtr);
    this.act.dispose();
  }
}
