// The scalar reference of qs8-conv-direct (assembly/conv/qs8-conv-direct.ts): the int32 sums the
// kernel equals bit for bit before its epilogue (the epilogue's own references: src/kernels/qs8.ts).

import type { ConvWindow } from '../conv.js';

/**
 * Scalar reference: int32 accumulators [oh*ow][n] of the bordered staged image xs [hp][wp][c] with
 * weights stored [K = copies * kh*kw*c][n] (tap-major, the copies stacked along K), wrapping at 32 bits.
 */
export function refQs8ConvDirectAcc(xs: ArrayLike<number>, wp: number, c: number, wk: ArrayLike<number>, n: number, g: ConvWindow, oh: number, ow: number, copies: number): Int32Array {
  const taps = g.kh * g.kw * c, out = new Int32Array(oh * ow * n);
  for (let oy = 0; oy < oh; oy++) {
    for (let ox = 0; ox < ow; ox++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let cp = 0; cp < copies; cp++) {
          for (let u = 0; u < g.kh; u++) {
            for (let v = 0; v < g.kw; v++) {
              const px = ((oy * g.sh + u * g.dh) * wp + ox * g.sw + v * g.dw) * c, k0 = cp * taps + (u * g.kw + v) * c;
              for (let ci = 0; ci < c; ci++) s = (s + Math.imul(xs[px + ci], wk[(k0 + ci) * n + j])) | 0;
            }
          }
        }
        out[(oy * ow + ox) * n + j] = s;
      }
    }
  }
  return out;
}
