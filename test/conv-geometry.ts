// One way for the convolution tests to write a geometry: kernel, strides and dilations as [h, w]
// pairs, pads as [top, left, bottom, right].

import type { ConvGeometry } from '../src/layers/conv2d.js';

type Pair = [number, number];

export function convGeometry(cin: number, cout: number, k: Pair, s: Pair, d: Pair, p: [number, number, number, number], group = 1): ConvGeometry {
  return { cin, cout, group, kh: k[0], kw: k[1], sh: s[0], sw: s[1], dh: d[0], dw: d[1], pt: p[0], pl: p[1], pb: p[2], pr: p[3] };
}
