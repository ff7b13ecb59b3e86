// Whether an int8 convolution reads the staged image in place (qs8-conv-direct) rather than
// gathering its rows (q_im2col_nhwc) before the GEMM: decided from the geometry alone, so the
// choice (not that it matters for the output: both give the same bits) is the same everywhere.

import type { ConvGeometry } from './conv2d.js';

/** group-1 windows with adjacent taps across, wider than one pixel (a 1x1 window gathers nothing worth saving) */
export function qconvDirectPays(g: ConvGeometry): boolean {
  return g.group === 1 && (g.dw === 1 || g.kw === 1) && g.kh * g.kw > 1;
}
