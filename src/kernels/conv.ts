// float32 convolution helpers, channels-last, on buffers already in linear memory (byte addresses):
// depthwise convolution and im2col. Wraps assembly/conv/f32-conv.ts (its header gives the packed
// depthwise layout and the per-element summation order). Output rows are split across threads;
// each output element is computed the same way however the rows are split.

import { ArgumentError } from '../errors.js';
import type { KernelHost } from '../runtime/host.js';
import { checkSizes } from './check.js';
import type { F32Weights } from './f32.js';

/** A convolution's window: kernel, stride, dilation, and top/left padding (the rest follows from oh, ow). */
export interface ConvWindow {
  kh: number; kw: number; sh: number; sw: number; dh: number; dw: number; pt: number; pl: number;
}

function checkWindow(fn: string, g: ConvWindow, sizes: Record<string, number>): void {
  checkSizes(fn, sizes);
  checkSizes(fn, { pt: g.pt, pl: g.pl });
  checkSizes(fn, { kh: g.kh, kw: g.kw, sh: g.sh, sw: g.sw, dh: g.dh, dw: g.dw }, 1);
}

/** One image: x [h][w][c], y [oh][ow][c], `weights` packed as assembly/conv/f32-conv.ts lays them out (bias after the taps). */
export interface DepthwiseConvCall {
  x: number; weights: number; y: number;
  h: number; w: number; c: number; oh: number; ow: number;
  /** clamp bounds applied to every output */
  lo: number; hi: number;
}

/** Depthwise convolution of one channels-last image, output rows split across threads. */
export function depthwiseConvNhwc(rt: KernelHost, g: ConvWindow, call: DepthwiseConvCall): Promise<void> {
  const { x, weights, y, h, w, c, oh, ow, lo, hi } = call;
  checkWindow('depthwiseConvNhwc', g, { h, w, c, oh, ow });
  return rt.parallelColumns(oh, 1, (r0, r1) => ['f32_dwconv_nhwc', [h, w, c, g.kh, g.kw, g.sh, g.sw, g.pt, g.pl, g.dh, g.dw, r0, r1, ow, x, weights, y, lo, hi]], 1, oh * ow * c * g.kh * g.kw);
}

/** One image x [h][w][xc]; the im2col matrix `out` gets oh*ow rows of kh*kw*c floats (channels [0, c) of each pixel). */
export interface Im2colCall {
  x: number; out: number;
  h: number; w: number;
  /** channels copied per tap, and channels per pixel of x (xc > c picks one group out of a grouped convolution) */
  c: number; xc: number;
  oh: number; ow: number;
}

/** Lays out the GEMM's A for a convolution (zeros outside the image), output rows split across threads. */
export function im2colNhwc(rt: KernelHost, g: ConvWindow, call: Im2colCall): Promise<void> {
  const { x, out, h, w, c, xc, oh, ow } = call;
  checkWindow('im2colNhwc', g, { h, w, c, xc, oh, ow });
  if (c > xc) throw new ArgumentError(`im2colNhwc: c = ${c} channels per tap is more than the ${xc} channels of a pixel`);
  return rt.parallelColumns(oh, 1, (r0, r1) => ['f32_im2col_nhwc', [h, w, c, xc, g.kh, g.kw, g.sh, g.sw, g.pt, g.pl, g.dh, g.dw, r0, r1, ow, x, out]], 1, oh * ow * g.kh * g.kw * c);
}

/** One staged image x [h][w][cBytes] (int8 GEMM staging, pixel sums at pixSum) gathered into GEMM rows of rowBytes with their sums. */
export interface StagedIm2colCall {
  x: number; pixSum: number;
  /** a zero pixel as staged (cBytes at pad) and its sum */
  pad: number; padSum: number;
  h: number; w: number;
  /** bytes of one staged pixel */
  cBytes: number;
  oh: number; ow: number;
  /** rows hold their kh*kw*cBytes twice (the split-weight c4 layout) */
  dup: boolean;
  /** bytes per output row (>= the taps' bytes, times 2 with dup; the rest is zeroed) */
  rowBytes: number;
  out: number; rowSum: number;
}

/** im2col on a quantized image (assembly/conv/q-im2col.ts), output rows split across threads. */
export function im2colStagedNhwc(rt: KernelHost, g: ConvWindow, call: StagedIm2colCall): Promise<void> {
  const { x, pixSum, pad, padSum, h, w, cBytes, oh, ow, dup, rowBytes, out, rowSum } = call;
  checkWindow('im2colStagedNhwc', g, { h, w, cBytes, oh, ow, rowBytes });
  const need = g.kh * g.kw * cBytes * (dup ? 2 : 1);
  if (rowBytes < need) throw new ArgumentError(`im2colStagedNhwc: rowBytes = ${rowBytes} is less than the ${need} bytes of ${g.kh}x${g.kw} taps of ${cBytes} bytes${dup ? ', twice' : ''}`);
  return rt.parallelColumns(oh, 1, (r0, r1) => ['q_im2col_nhwc', [h, w, cBytes, g.kh, g.kw, g.sh, g.sw, g.pt, g.pl, g.dh, g.dw, r0, r1, ow, x, pixSum, pad, padSum, dup ? 1 : 0, rowBytes, out, rowSum]], 1, oh * ow * g.kh * g.kw * cBytes);
}

/** x [h][w][c] copied into out [hp][wp][c] at (pt, pl) with zeros around it, rows split across threads. */
export function padNhwc(rt: KernelHost, x: number, out: number, h: number, w: number, c: number, pt: number, pl: number, hp: number, wp: number): Promise<void> {
  checkSizes('padNhwc', { h, w, c, pt, pl, hp, wp });
  if (hp < h + pt || wp < w + pl) throw new ArgumentError(`padNhwc: a ${hp}x${wp} buffer cannot hold a ${h}x${w} image at (${pt}, ${pl})`);
  return rt.parallelColumns(hp, 1, (r0, r1) => ['f32_pad_nhwc', [h, w, c, pt, pl, hp, wp, r0, r1, x, out]], 1, hp * wp * c);
}

/** A convolution on a padded image (padNhwc) against f32 GEMM panels (K = kh * kw * c, tap-major), no im2col. */
export interface DirectConvCall {
  /** the padded image [hp][wp][c] and its width */
  xp: number; wp: number; c: number;
  w: F32Weights;
  y: number; oh: number; ow: number;
  bias: number; lo: number; hi: number;
}

/**
 * y [oh][ow][n] = the convolution of a zero-bordered image, each pixel's row read as kh runs of kw*c
 * floats (so the window must be dilation 1 across, or one tap wide); output rows split across threads.
 */
export function convDirectNhwc(rt: KernelHost, g: ConvWindow, call: DirectConvCall): Promise<void> {
  const { xp, wp, c, w, y, oh, ow, bias, lo, hi } = call;
  checkWindow('convDirectNhwc', g, { wp, c, oh, ow });
  if (g.dw !== 1 && g.kw !== 1) throw new ArgumentError(`convDirectNhwc: a window dilated across (dw = ${g.dw}) has no contiguous runs; use im2col`);
  if (w.disposed) throw new ArgumentError('convDirectNhwc: the packed weights were disposed');
  if (w.k !== g.kh * g.kw * c) throw new ArgumentError(`convDirectNhwc: weights have K = ${w.k}, the window needs ${g.kh * g.kw * c}`);
  const pix = c * 4;
  return rt.parallelColumns(oh, 1, (r0, r1) => ['f32_conv_direct_4x8', [r0, r1, ow, 0, w.n, g.kh, g.sh, g.dh, g.kw * pix, wp * pix, g.sw * pix, xp, w.ptr, y, w.n * 4, bias, lo, hi]], 1, oh * ow * w.k * w.n);
}
