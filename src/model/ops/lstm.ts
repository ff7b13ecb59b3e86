// The LSTM cell (ONNX LSTM, gates in W/R/B order i, o, f, c; peepholes P in order i, o, f), run by
// the recurrent driver (src/model/ops/recurrent.ts). One step of one batch row, in place on that
// step's X·Wᵀ + bias row:
//   i = f(clip(g_i + h·R_iᵀ + P_i⊙C)),  f = input_forget ? 1 - i : f(clip(g_f + h·R_fᵀ + P_f⊙C))
//   c̃ = g(clip(g_c + h·R_cᵀ)),  C = f⊙C + i⊙c̃,  o = f(clip(g_o + h·R_oᵀ + P_o⊙C)),  h = o⊙h(C)
// (clip bounds the gates' pre-activations, not C before h(): onnxruntime's reading.)

import { clip, type Cell, type CellArgs } from './recurrent.js';

export function lstmCell({ H, a, acts, mul, act, p, d }: CellArgs): Cell {
  const [fa, ga, ha] = acts;
  const po = d * 3 * H;
  const GH = 4 * H, lim = a.clip, inputForget = a.inputForget;
  return {
    step(g, o, h, c) {
      const gi = o, go = o + H, gf = o + 2 * H, gc = o + 3 * H;
      mul(g, o, h, 0, GH);
      if (p) {
        for (let j = 0; j < H; j++) {
          g[gi + j] += p[po + j] * c[j];
          g[gf + j] += p[po + 2 * H + j] * c[j];
        }
      }
      clip(g, gi, gi + H, lim);
      clip(g, gf, gc + H, lim);
      act(fa, g, gi, gi + H);
      if (inputForget) for (let j = 0; j < H; j++) g[gf + j] = 1 - g[gi + j];
      else act(fa, g, gf, gf + H);
      act(ga, g, gc, gc + H);
      for (let j = 0; j < H; j++) c[j] = g[gf + j] * c[j] + g[gi + j] * g[gc + j];
      if (p) for (let j = 0; j < H; j++) g[go + j] += p[po + H + j] * c[j];
      clip(g, go, go + H, lim);
      act(fa, g, go, go + H);
      // h(C) where c̃ was (no longer needed)
      for (let j = 0; j < H; j++) g[gc + j] = c[j];
      act(ha, g, gc, gc + H);
      for (let j = 0; j < H; j++) h[j] = g[go + j] * g[gc + j];
    },
  };
}
