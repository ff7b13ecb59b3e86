// The contract every weight format's GEMM meets, so that one linear layer and one convolution
// layer (im2col, then this) serve every format.

import type { ConvWindow } from '../kernels/conv.js';

/** y[M, N] = x[M, K] W + bias (then the layer's activation), on buffers in linear memory. */
export interface GemmImpl {
  readonly k: number;
  readonly n: number;
  /** bytes of linear memory the packed weights, scales and bias take */
  readonly weightBytes: number;
  /** which weight layout the kernel runs (e.g. 'c2', 'c4', 's4'), for reports */
  readonly layout?: string;
  /** bytes of scratch run() needs for M rows */
  scratchBytes?(m: number): number;
  /** x, y, scratch: byte addresses in linear memory; nothing (no promise) when it ran synchronously */
  run(m: number, x: number, y: number, scratch: number): Promise<void> | void;
  /** run() on rows gathered (im2col) from `count` floats at `source`, for a GEMM that checks its inputs (it scans the smaller source) */
  runGathered?(m: number, x: number, y: number, scratch: number, source: number, count: number): Promise<void>;
  /** the image-staging side of an int8 GEMM, for convolutions over pixels of c channels (null: im2col in float32) */
  stagedConv?(c: number): StagedConv | null;
  dispose(): void;
}

/**
 * A GEMM whose A is quantized and staged before it runs (int8): a convolution stages each pixel
 * once (stagePixels) and gathers the staged rows (q_im2col_nhwc) instead of staging kh*kw float32
 * copies of it. The rows come out as the GEMM's own stager writes them, so the output is the same.
 */
export interface StagedConv {
  /** bytes per staged value, bytes per staged row of the GEMM, and 2 when a row holds its K values twice */
  readonly elementBytes: number;
  readonly rowBytes: number;
  readonly copies: 1 | 2;
  /** a zero pixel (the padding) as staged: c values at `pad`, their sum padSum */
  readonly pad: number;
  readonly padSum: number;
  /** false when the image holds values the staged path must not take (a guard's NaN rows): use run() */
  accepts?(source: number, count: number): boolean;
  /** stages `pixels` rows of c float32 at x into `out` (pixels * c values), each row's sum into `sums` */
  stagePixels(pixels: number, x: number, out: number, sums: number): void;
  /** the GEMM on m staged rows (rowBytes apart) with their sums */
  runStaged(m: number, staged: number, rowSum: number, y: number): Promise<void>;
  /** a kernel reading the staged image in place for this window (dilation 1 across), or null */
  direct?(g: ConvWindow): StagedDirectConv | null;
}

/** A convolution over a staged image bordered with the staged zero pixel (qs8-conv-direct): no gathered rows. */
export interface StagedDirectConv {
  /** y [oh*ow][N] from the staged pixels [hp][wp] at xp and their sums at ps; rowSum: scratch for oh*ow int32 */
  run(g: ConvWindow, xp: number, ps: number, hp: number, wp: number, oh: number, ow: number, rowSum: number, y: number): Promise<void>;
}
