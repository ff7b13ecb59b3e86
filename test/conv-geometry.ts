// Shared by the convolution tests: one way to write a geometry (kernel, strides and dilations as
// [h, w] pairs, pads as [top, left, bottom, right]), test inputs, and one run of an int8 conv layer.

import type { Runtime } from '../src/index.js';
import { convOutSize, type ConvGeometry } from '../src/layers/conv2d.js';

type Pair = [number, number];

export function convGeometry(cin: number, cout: number, k: Pair, s: Pair, d: Pair, p: [number, number, number, number], group = 1): ConvGeometry {
  return { cin, cout, group, kh: k[0], kw: k[1], sh: s[0], sw: s[1], dh: d[0], dw: d[1], pt: p[0], pl: p[1], pb: p[2], pr: p[3] };
}

/** x with plain values, ties (half a quantum), saturating values, signed zeros */
export function makeX(n: number, scale: number, r: () => number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => {
    const t = (i * 7 + 3) % 11;
    if (t === 0) return (Math.floor(r() * 40) - 20 + 0.5) * scale;
    if (t === 1) return (r() < 0.5 ? -1 : 1) * 1e7;
    if (t === 2) return i % 2 ? -0 : 0;
    return (r() * 2 - 1) * 200 * scale;
  });
}

/** what convOut needs of a conv layer: the int8 (Conv2dGemm) and float32 (Conv2dF32) classes both fit */
interface ConvLayer {
  readonly geometry: ConvGeometry;
  scratchBytes(h: number, w: number): number;
  run(n: number, h: number, w: number, x: number, y: number, scratch: number): unknown;
}

/** one run of a conv layer on x [n][h][w][cin]: the output's bits */
export async function convOut(rt: Runtime, conv: ConvLayer, n: number, h: number, w: number, x: Float32Array): Promise<Uint32Array> {
  const g = conv.geometry, [oh, ow] = convOutSize(g, h, w);
  const px = rt.alloc(x.length * 4 + 64), py = rt.alloc(n * oh * ow * g.cout * 4 + 64), ps = rt.alloc(conv.scratchBytes(h, w) + 64);
  rt.view(Float32Array, px, x.length).set(x);
  await conv.run(n, h, w, px, py, ps);
  const y = rt.read(Uint32Array, py, n * oh * ow * g.cout);
  for (const p of [px, py, ps]) rt.free(p);
  return y;
}
