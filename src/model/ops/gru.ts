// The GRU cell (ONNX GRU, gates in W/R/B order z, r, h), run by the recurrent driver
// (src/model/ops/recurrent.ts). One step of one batch row, in place on that step's X·Wᵀ + bias row:
//   z = f(clip(g_z + h·R_zᵀ)),  r = f(clip(g_r + h·R_rᵀ))
//   linear_before_reset 0:  h̃ = g(clip(g_h + (r⊙h)·R_hᵀ))            (bias Wb_h + Rb_h in g_h)
//   linear_before_reset 1:  h̃ = g(clip(g_h + r⊙(h·R_hᵀ + Rb_h)))     (bias Wb_h only in g_h)
//   h = (1 - z)⊙h̃ + z⊙h

import { clip, type Cell, type CellArgs } from './recurrent.js';

export function gruCell({ H, a, acts, mul, act, b, bOff, tmp }: CellArgs): Cell {
  const [fa, ga] = acts;
  const lim = a.clip, lbr = a.linearBeforeReset;
  return {
    step(g, o, h) {
      const gz = o, gr = o + H, gh = o + 2 * H;
      mul(g, o, h, 0, 2 * H);
      clip(g, o, gh, lim);
      act(fa, g, gz, gh);
      if (lbr) {
        for (let j = 0; j < H; j++) tmp[j] = b ? b[bOff + 5 * H + j] : 0;
        mul(tmp, 0, h, 2 * H, 3 * H);
        for (let j = 0; j < H; j++) g[gh + j] += g[gr + j] * tmp[j];
      } else {
        for (let j = 0; j < H; j++) tmp[j] = g[gr + j] * h[j];
        mul(g, gh, tmp, 2 * H, 3 * H);
      }
      clip(g, gh, gh + H, lim);
      act(ga, g, gh, gh + H);
      for (let j = 0; j < H; j++) h[j] = (1 - g[gz + j]) * g[gh + j] + g[gz + j] * h[j];
    },
  };
}
