// Sparse int8 GEMM for model layers (int8-sparse, src/formats/int8-sparse.ts; int4-sparse's 4-bit
// 4x4 blocks, src/formats/int4-sparse.ts, on the same block kernel): pruned int8 weights,
// one scale per output channel, in one of the SpMM kernels' encodings, and uint8 activations with a
// static scale and zero point from calibration:
//   x (float32) -> q8 quantize (uint8, per tensor) -> SpMM (CSR, 2:4, 4x4 blocks or 4x1 vector rows) with float32
//   epilogue acc * s_w[n] * s_x + bias[n] -> the layer's activation as a pass of its own
// (the SpMM kernels have no activation in their epilogue).

import { ArgumentError } from '../errors.js';
import { quantizeQ8At } from '../kernels/q8.js';
import type { Bsr4Int4, Bsr4Int8, CsrInt8, Nm24Int8 } from '../kernels/reference/spmm.js';
import type { SpmmCall } from '../kernels/spmm.js';
import { packSpmmBlock, spmmBlockGemm } from '../kernels/spmm-block.js';
import { packSpmmCsr, spmmCsrGemm } from '../kernels/spmm-csr.js';
import { packSpmmNm, spmmNmGemm } from '../kernels/spmm-nm.js';
import { packSpmmSrbcrs, spmmSrbcrsGemm } from '../kernels/spmm-srbcrs.js';
import type { Srbcrs4Int8 } from '../kernels/reference/spmm-srbcrs.js';
import type { ActivationQuant } from '../quant/activation-range.js';
import type { Runtime } from '../runtime/runtime.js';
import { ChannelActivation, type ConvActivation } from './activation.js';
import type { GemmImpl } from './gemm.js';

/** The sparsity patterns and the kernel each runs on. */
export type SparsePattern = 'block4x4' | 'unstructured' | '2:4' | 'srbcrs';

/** A pattern's encoding of the int8 weights (N x K, a row per output channel). */
export type SparseEncoding = { pattern: 'unstructured'; enc: CsrInt8 } | { pattern: '2:4'; enc: Nm24Int8 } | { pattern: 'block4x4'; enc: Bsr4Int8 } | { pattern: 'srbcrs'; enc: Srbcrs4Int8 };

/** What SpmmGemm runs: an int8-sparse encoding, or int4-sparse's 4x4 blocks of int4 values. */
export type SpmmEncoding = SparseEncoding | { pattern: 'block4x4-int4'; enc: Bsr4Int4 };

/** The fields SpmmGemm needs besides the encoding. */
export interface SpmmLayerWeights {
  k: number;
  n: number;
  scales: Float32Array;
  input: ActivationQuant;
}

/** int8-sparse weights: the encoding, a float32 scale per output channel, the input's quantization. */
export type SparseWeights = SparseEncoding & {
  k: number;
  n: number;
  scales: Float32Array;
  input: ActivationQuant;
  /** the sparsity asked for, and the fraction of zero int8 weights it gave */
  target: number;
  sparsity: number;
};

/** The packed weights and their GEMM, whichever the pattern. */
function pack(rt: Runtime, w: SpmmEncoding): { bytes: number; gemm: (alloc: (bytes: number) => number, call: SpmmCall) => Promise<void>; dispose(): void } {
  if (w.pattern === 'unstructured') {
    const p = packSpmmCsr(rt, w.enc);
    return { bytes: p.bytes, gemm: (alloc, call) => spmmCsrGemm(rt, alloc, call, p), dispose: () => p.dispose() };
  }
  if (w.pattern === '2:4') {
    const p = packSpmmNm(rt, w.enc);
    return { bytes: p.bytes, gemm: (alloc, call) => spmmNmGemm(rt, alloc, call, p), dispose: () => p.dispose() };
  }
  if (w.pattern === 'srbcrs') {
    const p = packSpmmSrbcrs(rt, w.enc);
    return { bytes: p.bytes, gemm: (alloc, call) => spmmSrbcrsGemm(rt, alloc, call, p), dispose: () => p.dispose() };
  }
  const p = packSpmmBlock(rt, w.enc);
  return { bytes: p.bytes, gemm: (alloc, call) => spmmBlockGemm(rt, alloc, call, p), dispose: () => p.dispose() };
}

export class SpmmGemm implements GemmImpl {
  readonly k: number;
  readonly n: number;
  private readonly packed: ReturnType<typeof pack>;
  /** s_w[n] * s_x, the float32 epilogue's scale */
  private readonly colScale: Float32Array;
  private readonly act: ChannelActivation;
  private readonly input: ActivationQuant;
  /** the kernel's layout, for reports */
  readonly layout: string;

  constructor(private readonly rt: Runtime, w: SpmmEncoding & SpmmLayerWeights, private readonly bias: Float32Array | null, activation: ConvActivation | null) {
    const { k, n, scales, input } = w;
    if (input.channelScale || input.border) throw new ArgumentError('int8-sparse layer: per-channel activation scales or borders are not supported (use per-tensor activations)');
    if (scales.length !== n) throw new ArgumentError(`int8-sparse layer: ${scales.length} scales for N = ${n}`);
    if (bias && bias.length !== n) throw new ArgumentError(`int8-sparse layer: bias has ${bias.length} values, expected ${n}`);
    this.k = k;
    this.n = n;
    this.input = input;
    this.packed = pack(rt, w);
    this.layout = { unstructured: 'csr', '2:4': 'nm24', block4x4: 'bsr4', 'block4x4-int4': 'bsr4-int4', srbcrs: 'srbcrs4' }[w.pattern];
    this.colScale = scales.map((s) => Math.fround(s * input.scale));
    this.act = new ChannelActivation(rt, n, activation, false);
  }

  get weightBytes(): number {
    return this.packed.bytes + this.n * 8;
  }

  async run(m: number, x: number, y: number): Promise<void> {
    const { rt, k, n, input } = this;
    if (m === 0) return;
    await rt.scoped(async (alloc) => {
      // x as uint8 with the calibrated scale and zero point: what int8's reference stages
      const a = alloc(m * k + 16);
      const ps = rt.putPadded(alloc, Float32Array, Float32Array.of(input.scale), 4);
      const pz = rt.putPadded(alloc, Int32Array, Int32Array.of(input.zeroPoint), 4);
      quantizeQ8At(rt, x, { outer: 1, channels: 1, inner: m * k }, ps, pz, false, a);
      const output = { kind: 'float32' as const, scale: this.colScale, bias: this.bias ?? undefined };
      await this.packed.gemm(alloc, { m, a, signed: false, za: input.zeroPoint, output, out: y, outStride: n * 4 });
    });
    await this.act.apply(y, m);
  }

  dispose(): void {
    this.packed.dispose();
    this.act.dispose();
  }
}
