// The GRU cell (ONNX GRU, gates in W/R/B order z, r, h), run by the recurrent driver
// (src/model/ops/recurrent.ts). One step of one batch row, in place on that step's X·Wᵀ + bias row:
//   z = f(clip(g_z + h·R_zᵀ)),  r = f(clip(g_r + h·R_rᵀ))
//   linear_before_reset 0:  h̃ = g(clip(g_h + (r⊙h)·R_hᵀ))            (bias Wb_h + Rb_h in g_h)
//   linear_before_reset 1:  h̃ = g(clip(g_h + r⊙(h·R_hᵀ + Rb_h)))     (bias Wb_h only in g_h)
//   h = (1 - z)⊙h̃ + z⊙h

import { activate } from './rnn-activations.js';
import { addInto, clip, type Cell, type CellArgs } from './recurrent.js';

export function gruCell({ H, a, acts, mul, b, bOff, tmp }: CellArgs): Cell {
  const [fa, ga] = acts;
  const lim = a.clip, lbr = a.linearBeforeReset;
  return {
    step(g, o, h) {
      const gz = o, gr = o + H, gh = o + 2 * H;
      // with linear_before_reset the h rows' product needs only h: one product of all 3H rows
      const hr = mul(h, 0, lbr ? 3 * H : 2 * H);
      for (let j = 0; j < 2 * H; j++) g[o + j] += hr[j];
      clip(g, o, gh, lim);
      activate(fa, g, gz, gh);
      if (lbr) {
        for (let j = 0; j < H; j++) g[gh + j] += g[gr + j] * (hr[2 * H + j] + (b ? b[bOff + 5 * H + j] : 0));
      } else {
        for (let j = 0; j < H; j++) tmp[j] = g[gr + j] * h[j];
        addInto(g, gh, mul(tmp, 2 * H, 3 * H));
      }
      clip(g, gh, gh + H, lim);
      activate(ga, g, gh, gh + H);
      for (let j = 0; j < H; j++) h[j] = (1 - g[gz + j]) * g[gh + j] + g[gz + j] * h[j];
    },
  };
}
