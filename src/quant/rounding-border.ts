// The adaptive rounding border of activations (AQuant, Li et al., "Efficient Adaptive Activation
// Rounding for Post-Training Quantization"): instead of rounding at 0.5, a value rounds up when its
// fraction reaches a border learned on calibration data to minimise the layer's output error. Here
// the border is one number per layer or per input channel (what the qs8-stage-chan kernel applies:
// q = floor(x / s + 1 - border)), chosen from a grid by an output-error model.
//
// The output error of y = x W from activation errors d (per channel c: mean mu_c, variance v_c,
// errors of different values taken as independent):
//   E|d W|^2 = sum_c g_c v_c + sum_n (sum_c Wbar[n][c] mu_c)^2,
// g_c = sum of the squares of channel c's weights (every tap and output), Wbar[n][c] = sum over taps.
// The border trades a little variance for cancelling the mean (clipping and skewed values bias it).

import type { ActivationQuant } from './activation-range.js';

/** The border grid: 0.2 .. 0.8 in steps of 0.02 (0.5, round half up, is on it). */
const BORDERS = Array.from({ length: 31 }, (_, i) => Math.fround(0.2 + 0.02 * i));

export type BorderMode = 'layer' | 'channel';

/**
 * The learned border, one per layer (length 1) or per channel (length C), for the sampled rows
 * `rows` (row length C, already divided by any channel scales) quantized with `q`'s scale and
 * zero point, feeding the weight rows [N][K] (column k is channel k mod C, weights already
 * multiplied by any channel scales).
 */
export function learnBorder(rows: Float32Array, channels: number, q: ActivationQuant, wnk: Float32Array, n: number, k: number, mode: BorderMode): Float32Array {
  const c = channels, nb = BORDERS.length;
  const count = Math.floor(rows.length / c);
  if (count === 0) return Float32Array.of(0.5);
  // per border and channel: the mean and variance of the activation's error
  const mean = new Float64Array(nb * c), vari = new Float64Array(nb * c);
  const s = q.scale, zp = q.zeroPoint;
  for (let b = 0; b < nb; b++) {
    const off = Math.fround(1 - BORDERS[b]);
    const e1 = mean.subarray(b * c, b * c + c), e2 = vari.subarray(b * c, b * c + c);
    for (let i = 0; i < rows.length; i++) {
      const x = rows[i];
      if (!Number.isFinite(x)) continue;
      const v = Math.min(255 - zp, Math.max(-zp, Math.floor(Math.fround(Math.fround(x / s) + off))));
      const d = v * s - x, ch = i % c;
      e1[ch] += d;
      e2[ch] += d * d;
    }
    for (let ch = 0; ch < c; ch++) {
      e1[ch] /= count;
      e2[ch] = e2[ch] / count - e1[ch] * e1[ch];
    }
  }
  // the weights' terms: g_c and Wbar (as [C][N])
  const g = new Float64Array(c), wbar = new Float64Array(c * n);
  for (let r = 0; r < n; r++) {
    for (let j = 0; j < k; j++) {
      const w = wnk[r * k + j], ch = j % c;
      g[ch] += w * w;
      wbar[ch * n + r] += w;
    }
  }
  const u = new Float64Array(n);
  const meanTerm = (b: number): number => {
    u.fill(0);
    for (let ch = 0; ch < c; ch++) {
      const m = mean[b * c + ch];
      if (m !== 0) for (let r = 0; r < n; r++) u[r] += wbar[ch * n + r] * m;
    }
    let t = 0;
    for (let r = 0; r < n; r++) t += u[r] * u[r];
    return t;
  };
  let layerBest = 0, layerErr = Infinity;
  for (let b = 0; b < nb; b++) {
    let e = meanTerm(b);
    for (let ch = 0; ch < c; ch++) e += g[ch] * vari[b * c + ch];
    if (e < layerErr) [layerErr, layerBest] = [e, b];
  }
  if (mode === 'layer') return Float32Array.of(BORDERS[layerBest]);

  // per channel: coordinate descent from the layer's border, keeping u = Wbar mu up to date
  const pick = new Int32Array(c).fill(layerBest);
  meanTerm(layerBest);
  for (let sweep = 0; sweep < 2; sweep++) {
    for (let ch = 0; ch < c; ch++) {
      let dot = 0, norm = 0;
      for (let r = 0; r < n; r++) {
        const w = wbar[ch * n + r];
        dot += u[r] * w;
        norm += w * w;
      }
      const cur = pick[ch], m0 = mean[cur * c + ch], v0 = g[ch] * vari[cur * c + ch];
      let best = cur, bestDelta = 0;
      for (let b = 0; b < nb; b++) {
        const dm = mean[b * c + ch] - m0;
        const delta = g[ch] * vari[b * c + ch] - v0 + 2 * dm * dot + dm * dm * norm;
        if (delta < bestDelta) [bestDelta, best] = [delta, b];
      }
      if (best !== cur) {
        const dm = mean[best * c + ch] - m0;
        for (let r = 0; r < n; r++) u[r] += dm * wbar[ch * n + r];
        pick[ch] = best;
      }
    }
  }
  return Float32Array.from(pick, (b) => BORDERS[b]);
}
