// A group-1 convolution as a GEMM over pixels, channels-last, for any weight scheme:
//   x [N][H][W][C_in] -> (1x1 stride 1: as is | else: f32_im2col_nhwc into scratch) -> gemm.run
// An int8 GEMM (gemm.stagedConv) instead quantizes each pixel once and gathers the staged rows
// (q_im2col_nhwc): a 3x3 convolution then stages 1/9 of the values and copies 2 or 1 bytes per value
// instead of writing and reading 4; the same rows, so the same output. Where it pays
// (qconv-direct-rule.ts) the int8 GEMM instead reads the staged image in place (qs8-conv-direct):
// the float32 image is zero-bordered (f32_pad_nhwc), staged whole (the border stages to the padding
// pixel), and each output pixel's row is its window's runs there: the same sums, no gathered rows.
// The GEMM implementation (int8, int4, ant4, fp8: src/layers/gemm-*.ts) owns the weights, the
// epilogue and its own scratch, which follows the im2col matrix in the scratch given to run().

import { ArgumentError } from '../errors.js';
import { im2colNhwc, im2colStagedNhwc, padNhwc } from '../kernels/conv.js';
import type { Runtime } from '../runtime/runtime.js';
import { convOutSize, convPath, paddedSize, type ConvGeometry } from './conv2d.js';
import type { GemmImpl, StagedConv, StagedDirectConv } from './gemm.js';
import { qconvDirectPays } from './qconv-direct-rule.js';

export type { GemmImpl } from './gemm.js';

/** ONNX conv weights [C_out, C_in, kH, kW] as GEMM rows [N = C_out][K = taps * C_in] in im2col order. */
export function convWeightsNK(weight: Float32Array, g: ConvGeometry): Float32Array {
  const taps = g.kh * g.kw, k = taps * g.cin;
  if (g.group !== 1) throw new ArgumentError(`conv GEMM: group ${g.group} convolutions are not GEMMs (depthwise/grouped stay float)`);
  if (weight.length !== g.cout * k) throw new ArgumentError(`conv GEMM: weight has ${weight.length} values, expected [${g.cout}, ${g.cin}, ${g.kh}, ${g.kw}]`);
  const out = new Float32Array(g.cout * k);
  for (let o = 0; o < g.cout; o++) for (let ci = 0; ci < g.cin; ci++) for (let t = 0; t < taps; t++) out[o * k + t * g.cin + ci] = weight[(o * g.cin + ci) * taps + t];
  return out;
}

/** Rows [N][K] as columns [K][N] (and back: the transpose is its own inverse with k, n swapped). */
export function transposeKN(w: Float32Array, rows: number, cols: number): Float32Array {
  const t = new Float32Array(w.length);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) t[j * rows + i] = w[i * cols + j];
  return t;
}

/** below this many input channels a staged pixel is shorter than a vector: the float32 im2col's rows (K = taps * c) stage faster */
export const STAGED_MIN_CHANNELS = 8;

export class Conv2dGemm {
  readonly im2col: boolean;
  /** the int8 GEMM's staging, when im2col can run on the staged image (null: float32 im2col) */
  readonly staged: StagedConv | null;
  /** the int8 GEMM's kernel reading the staged, bordered image in place (null: gathered rows or float32 im2col) */
  readonly direct: StagedDirectConv | null;

  /** stagedIm2col, direct: allow those paths (tests turn them off to compare) */
  constructor(private readonly rt: Runtime, readonly geometry: ConvGeometry, readonly gemm: GemmImpl, stagedIm2col = true, direct = true) {
    const g = geometry;
    if (gemm.n !== g.cout || gemm.k !== g.kh * g.kw * g.cin) throw new ArgumentError(`conv GEMM: weights are [${gemm.k}, ${gemm.n}], the convolution needs [${g.kh * g.kw * g.cin}, ${g.cout}]`);
    this.im2col = convPath(g) !== 'pointwise';
    this.staged = this.im2col && stagedIm2col && g.cin >= STAGED_MIN_CHANNELS ? (gemm.stagedConv?.(g.cin) ?? null) : null;
    this.direct = this.staged && direct && qconvDirectPays(g) ? (this.staged.direct?.(g) ?? null) : null;
  }

  /** bytes of the direct way's bordered float32 image, its staging and pixel sums, and the row sums (64-byte aligned parts) */
  private directParts(h: number, w: number): [number, number, number, number] {
    if (!this.direct || !this.staged) return [0, 0, 0, 0];
    const up = (b: number): number => Math.ceil(b / 64) * 64;
    const [hp, wp] = paddedSize(this.geometry, h, w), [oh, ow] = convOutSize(this.geometry, h, w), px = hp * wp;
    return [up(px * this.geometry.cin * 4), up(px * this.geometry.cin * this.staged.elementBytes + 16), up(px * 4), up(oh * ow * 4)];
  }

  /** bytes of the staged image and its pixel sums (16-byte aligned parts) */
  private stagedImageBytes(h: number, w: number): number {
    if (!this.staged) return 0;
    const up = (b: number): number => Math.ceil(b / 64) * 64;
    return up(h * w * this.geometry.cin * this.staged.elementBytes) + up(h * w * 4);
  }

  get weightBytes(): number {
    return this.gemm.weightBytes;
  }

  private im2colBytes(m: number): number {
    return this.im2col ? Math.ceil((m * this.gemm.k * 4) / 64) * 64 : 0;
  }

  /** true when the staged path takes every image (no accepts() check): the float32 im2col never runs, so needs no scratch */
  private get alwaysStaged(): boolean {
    return !!this.staged && !this.staged.accepts;
  }

  /** where the gathered rows (or the GEMM's own scratch) start after the staged image or the float32 im2col matrix */
  private restOffset(m: number, h: number, w: number): number {
    return this.alwaysStaged ? this.stagedImageBytes(h, w) : Math.max(this.im2colBytes(m), this.stagedImageBytes(h, w));
  }

  scratchBytes(h: number, w: number): number {
    const [oh, ow] = convOutSize(this.geometry, h, w);
    const direct = this.directParts(h, w).reduce((a, b) => a + b, 0);
    // a 64-channel 3x3 conv over 1024 x 1024 pixels: 2.4 GB of float32 im2col, 0.4 GB the direct way
    if (this.alwaysStaged && this.direct) return direct;
    const staged = this.stagedImageBytes(h, w) + (this.gemm.scratchBytes?.(oh * ow) ?? 0);
    if (this.alwaysStaged) return staged;
    return Math.max(this.im2colBytes(oh * ow) + (this.gemm.scratchBytes?.(oh * ow) ?? 0), staged, direct);
  }

  async run(n: number, h: number, w: number, x: number, y: number, scratch: number): Promise<void> {
    const g = this.geometry;
    const [oh, ow] = convOutSize(g, h, w);
    const m = oh * ow;
    const rest = scratch + this.restOffset(m, h, w);
    const st = this.staged;
    for (let b = 0; b < n; b++) {
      const xb = x + b * h * w * g.cin * 4, yb = y + b * m * g.cout * 4;
      if (!this.im2col) {
        await this.gemm.run(m, xb, yb, rest);
        continue;
      }
      const direct = this.direct;
      if (direct && st && (st.accepts?.(xb, h * w * g.cin) ?? true)) {
        // image -> zero-bordered float32 -> staged pixels and sums (the border stages to the padding pixel) -> conv in place
        const [hp, wp] = paddedSize(g, h, w);
        const [fBytes, sBytes, pBytes] = this.directParts(h, w);
        const staged = scratch + fBytes, sums = staged + sBytes, rowSum = sums + pBytes;
        await padNhwc(this.rt, xb, scratch, h, w, g.cin, g.pt, g.pl, hp, wp);
        st.stagePixels(hp * wp, scratch, staged, sums);
        await direct.run(g, staged, sums, hp, wp, oh, ow, rowSum, yb);
        continue;
      }
      if (st && (st.accepts?.(xb, h * w * g.cin) ?? true)) {
        // image -> staged pixels (scratch) -> staged rows and sums (rest, as the GEMM's own stager lays them out)
        const sums = scratch + Math.ceil((h * w * g.cin * st.elementBytes) / 64) * 64;
        st.stagePixels(h * w, xb, scratch, sums);
        const rowSum = rest + Math.ceil((m * st.rowBytes) / 16) * 16;
        await im2colStagedNhwc(this.rt, g, { x: scratch, pixSum: sums, pad: st.pad, padSum: st.padSum, h, w, cBytes: g.cin * st.elementBytes, oh, ow, dup: st.copies === 2, rowBytes: st.rowBytes, out: rest, rowSum });
        await st.runStaged(m, rest, rowSum, yb);
        continue;
      }
      await im2colNhwc(this.rt, g, { x: xb, out: scratch, h, w, c: g.cin, xc: g.cin, oh, ow });
      if (this.gemm.runGathered) await this.gemm.runGathered(m, scratch, yb, rest, xb, h * w * g.cin);
      else await this.gemm.run(m, scratch, yb, rest);
    }
  }

  dispose(): void {
    this.gemm.dispose();
  }
}
