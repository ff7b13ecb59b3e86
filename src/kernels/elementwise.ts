// Elementwise, softmax and pooling kernels on float32 buffers already in linear memory (byte
// addresses), channels-last where there are channels. Wraps assembly/elementwise/: f32-act.ts,
// f32-softmax.ts (softmax, attention), f32-pool.ts (pooling, channel scaling), f32-add.ts (same-shape
// Add) and f32-copy.ts (strided row copies: Concat on channels). Each wrapper
// checks its sizes and splits the rows (pixels, heads) across threads; rows are independent, so
// the split never changes a bit of the output.

import type { KernelHost } from '../runtime/host.js';
import { checkSizes } from './check.js';

/** An activation then a per-channel affine, on `pixels` rows of `channels` floats (codes: assembly/elementwise/f32-act.ts). */
export interface ActivationCall {
  x: number;
  /** may equal x (in place) */
  y: number;
  pixels: number;
  channels: number;
  kind: number;
  alpha: number;
  beta: number;
  /** byte addresses of `channels` floats each (padded to a multiple of 4) */
  scale: number;
  shift: number;
}

/** y[p][c] = act(x[p][c]) * scale[c] + shift[c]. */
export function activateNhwc(rt: KernelHost, call: ActivationCall): Promise<void> {
  const { x, y, pixels, channels: c, kind, alpha, beta, scale, shift } = call;
  checkSizes('activateNhwc', { pixels, channels: c });
  const row = c * 4;
  return rt.parallelColumns(pixels, 1, (p0, p1) => ['f32_act_nhwc', [x + p0 * row, p1 - p0, c, kind, alpha, beta, scale, shift, y + p0 * row]], 64, pixels * c * 16);
}

/**
 * One row of activateNhwc (pixels 1, channels c) on this thread, synchronously, arguments by
 * position (no allocation): small per-step calls (recurrent gates).
 */
export function activateRow(rt: KernelHost, x: number, y: number, c: number, kind: number, alpha: number, beta: number, scale: number, shift: number): void {
  rt.kernels.f32_act_nhwc(x, 1, c, kind, alpha, beta, scale, shift, y);
}

/** y = softmax(x) over each of `rows` rows of n floats. */
export function softmaxRows(rt: KernelHost, x: number, y: number, rows: number, n: number): Promise<void> {
  checkSizes('softmaxRows', { rows, n });
  return rt.parallelColumns(rows, 1, (r0, r1) => ['f32_softmax_rows', [x + r0 * n * 4, r1 - r0, n, y + r0 * n * 4]], 8, rows * n * 16);
}

/** Scaled dot-product attention per head: out[h] = softmax(scale · q[h] kT[h]) v[h]. */
export interface AttentionCall {
  /** q [heads][m][k], kT [heads][k][n] (keys transposed), v [heads][n][dv], out [heads][m][dv] */
  q: number;
  kT: number;
  v: number;
  out: number;
  heads: number;
  m: number;
  k: number;
  n: number;
  dv: number;
  scale: number;
}

/** Runs attention with the heads split across threads; the rows of scores are scratch of its own. */
export async function attentionRows(rt: KernelHost, call: AttentionCall): Promise<void> {
  const { q, kT, v, out, heads, m, k, n, dv, scale } = call;
  checkSizes('attentionRows', { heads, m, k, n, dv });
  // a row of scores per head (K's length is not known when the plan sizes scratch by Q)
  const scratch = rt.alloc(heads * n * 4 + 64);
  try {
    await rt.parallelColumns(heads, 1, (h0, h1) => ['f32_attention_rows', [h0, h1, m, k, n, dv, scale, q, kT, v, out, scratch]], 1, heads * m * n * (k + dv));
  } finally {
    rt.free(scratch);
  }
}

/** y[n][c] = the mean of x[n][p][c] over the hw pixels of each of `images` images. */
export function globalAveragePoolNhwc(rt: KernelHost, x: number, y: number, images: number, hw: number, c: number): void {
  checkSizes('globalAveragePoolNhwc', { images, hw, c });
  for (let b = 0; b < images; b++) rt.invoke(['f32_gap_nhwc', [x + b * hw * c * 4, hw, c, y + b * c * 4]]);
}

/** An average pool's window, padding and output size (pads top, left, bottom, right). */
export interface PoolWindow {
  kh: number; kw: number; sh: number; sw: number; pt: number; pl: number; pb: number; pr: number; oh: number; ow: number;
  /** count padding in the divisor (ONNX count_include_pad) */
  countPad: boolean;
}

/** 2-D average pooling of one h x w x c image into g.oh x g.ow x c, output rows split across threads. */
export function averagePoolNhwc(rt: KernelHost, x: number, y: number, h: number, w: number, c: number, g: PoolWindow): Promise<void> {
  checkSizes('averagePoolNhwc', { h, w, c, kh: g.kh, kw: g.kw, sh: g.sh, sw: g.sw, pt: g.pt, pl: g.pl, pb: g.pb, pr: g.pr, oh: g.oh, ow: g.ow });
  return rt.parallelColumns(g.oh, 1, (r0, r1) => ['f32_avgpool_nhwc', [h, w, c, g.kh, g.kw, g.sh, g.sw, g.pt, g.pl, g.pb, g.pr, g.countPad ? 1 : 0, r0, r1, g.ow, x, y]], 1, g.oh * g.ow * c * g.kh * g.kw);
}

/** 2-D max pooling of one h x w x c image into g.oh x g.ow x c (padding never wins), output rows split across threads. */
export function maxPoolNhwc(rt: KernelHost, x: number, y: number, h: number, w: number, c: number, g: Omit<PoolWindow, 'countPad'>): Promise<void> {
  checkSizes('maxPoolNhwc', { h, w, c, pt: g.pt, pl: g.pl, pb: g.pb, pr: g.pr, oh: g.oh, ow: g.ow });
  checkSizes('maxPoolNhwc', { kh: g.kh, kw: g.kw, sh: g.sh, sw: g.sw }, 1);
  return rt.parallelColumns(g.oh, 1, (r0, r1) => ['f32_maxpool_nhwc', [h, w, c, g.kh, g.kw, g.sh, g.sw, g.pt, g.pl, r0, r1, g.ow, x, y]], 1, g.oh * g.ow * c * g.kh * g.kw);
}

/** y[p][c] = x[p][c] * s[c] over `pixels` pixels of one image (the squeeze-excitation product). */
export function scaleChannelsNhwc(rt: KernelHost, x: number, s: number, y: number, pixels: number, c: number): Promise<void> {
  checkSizes('scaleChannelsNhwc', { pixels, c });
  return rt.parallelColumns(pixels, 1, (p0, p1) => ['f32_scale_channels_nhwc', [x + p0 * c * 4, p1 - p0, c, s, y + p0 * c * 4]], 64, pixels * c);
}

/** y[p][c] = a[p][c] + b[p][c] over `pixels` pixels (two values of one shape and layout), split across threads by pixels. */
export function addNhwc(rt: KernelHost, a: number, b: number, y: number, pixels: number, c: number): Promise<void> {
  checkSizes('addNhwc', { pixels, c });
  const row = c * 4;
  return rt.parallelColumns(pixels, 1, (p0, p1) => ['f32_add_nhwc', [a + p0 * row, b + p0 * row, p1 - p0, c, y + p0 * row]], 64, pixels * c);
}

/** Copies `rows` rows of n floats from x (xStride bytes apart) to y (yStride bytes apart), split across threads by rows. */
export function copyRows(rt: KernelHost, x: number, xStride: number, y: number, yStride: number, rows: number, n: number): Promise<void> {
  checkSizes('copyRows', { rows, n });
  return rt.parallelColumns(rows, 1, (r0, r1) => ['f32_copy_rows', [x + r0 * xStride, xStride, r1 - r0, n, y + r0 * yStride, yStride]], 64, rows * n);
}
