// The adaptive rounding border of activations (AQuant, Li et al., "Efficient Adaptive Activation
// Rounding for Post-Training Quantization"): instead of rounding at 0.5, a value rounds up when its
// fraction reaches a border learned on calibration data to minimise the layer's output error. Here
// the border is one number per layer or per input channel (what the qs8-stage-chan kernel applies:
// q = floor(x / s + 1 - border)), chosen from a grid by the output-error model of output-error.ts.
// The border trades a little variance for cancelling the error's mean (clipping and skewed values
// bias it), which the weights add up over the layer's inputs.

import type { ActivationQuant } from './activation-range.js';
import { channelErrors, meanTerm, outputError, type WeightTerms } from './output-error.js';

/** The border grid: 0.2 .. 0.8 in steps of 0.02 (0.5, round half up, is on it). */
const BORDERS = Array.from({ length: 31 }, (_, i) => Math.fround(0.2 + 0.02 * i));

export type BorderMode = 'layer' | 'channel';

/**
 * The learned border, one per layer (length 1) or per channel (length C), for the sampled rows
 * `rows` (row length C, already divided by any channel scales) quantized with `q`'s scale and
 * zero point, feeding a layer whose weights (already multiplied by any channel scales) give
 * `weights` (output-error.ts weightTerms).
 */
export function learnBorder(rows: Float32Array, channels: number, q: ActivationQuant, weights: WeightTerms, mode: BorderMode): Float32Array {
  const c = channels, nb = BORDERS.length, t = weights, n = t.n;
  if (rows.length < c) return Float32Array.of(0.5);
  // per border and channel: the mean and variance of the activation's error
  const mean = new Float64Array(nb * c), vari = new Float64Array(nb * c);
  for (let b = 0; b < nb; b++) channelErrors(rows, c, q.scale, q.zeroPoint, Math.fround(1 - BORDERS[b]), mean.subarray(b * c, b * c + c), vari.subarray(b * c, b * c + c));
  const u = new Float64Array(n);
  let layerBest = 0, layerErr = Infinity;
  for (let b = 0; b < nb; b++) {
    const e = outputError(t, mean.subarray(b * c, b * c + c), vari.subarray(b * c, b * c + c), u);
    if (e < layerErr) [layerErr, layerBest] = [e, b];
  }
  if (mode === 'layer') return Float32Array.of(BORDERS[layerBest]);

  // per channel: coordinate descent from the layer's border, keeping u = Wbar mu up to date
  const pick = new Int32Array(c).fill(layerBest);
  meanTerm(t, mean.subarray(layerBest * c, layerBest * c + c), u);
  for (let sweep = 0; sweep < 2; sweep++) {
    for (let ch = 0; ch < c; ch++) {
      let dot = 0, norm = 0;
      for (let r = 0; r < n; r++) {
        const w = t.wbar[ch * n + r];
        dot += u[r] * w;
        norm += w * w;
      }
      const cur = pick[ch], m0 = mean[cur * c + ch], v0 = t.g[ch] * vari[cur * c + ch];
      let best = cur, bestDelta = 0;
      for (let b = 0; b < nb; b++) {
        const dm = mean[b * c + ch] - m0;
        const delta = t.g[ch] * vari[b * c + ch] - v0 + 2 * dm * dot + dm * dm * norm;
        if (delta < bestDelta) [bestDelta, best] = [delta, b];
      }
      if (best !== cur) {
        const dm = mean[best * c + ch] - m0;
        for (let r = 0; r < n; r++) u[r] += dm * t.wbar[ch * n + r];
        pick[ch] = best;
      }
    }
  }
  return Float32Array.from(pick, (b) => BORDERS[b]);
}
