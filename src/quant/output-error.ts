// A model of a layer's output error from its activations' quantization, for choices made on
// calibration data (the rounding border, the 'output' range). For y = x W and activation errors d
// (per channel c: mean mu_c, variance v_c; errors of different values taken as independent):
//   E|d W|^2 = sum_c g_c v_c + sum_n (sum_c Wbar[n][c] mu_c)^2,
// g_c = the sum of the squares of channel c's weights (every tap and output), Wbar[n][c] their sum
// over taps. Rows of the sample hold C channels; weight column k is channel k mod C.

/**
 * The weights' part of the model: g (length C), Wbar as [C][N], and optionally the mean output
 * error that does not come from the activations (length N: the weights' own quantization error at
 * the mean input, which a border can cancel, as AQuant's border covers weight errors):
 *   E[err_n] = offset_n + sum_c Wbar[n][c] mu_c.
 */
export interface WeightTerms {
  c: number;
  n: number;
  g: Float64Array;
  wbar: Float64Array;
  offset?: Float64Array;
}

/**
 * Terms of the weight rows [N][K] the layer runs with; given the float rows too (`exact`) and the
 * sampled input rows, the offset is the weights' error at the mean input.
 */
export function weightTerms(wnk: Float32Array, n: number, k: number, c: number, exact?: { wnk: Float32Array; rows: Float32Array }): WeightTerms {
  const g = new Float64Array(c), wbar = new Float64Array(c * n);
  for (let r = 0; r < n; r++) {
    for (let j = 0; j < k; j++) {
      const w = wnk[r * k + j], ch = j % c;
      g[ch] += w * w;
      wbar[ch * n + r] += w;
    }
  }
  if (!exact) return { c, n, g, wbar };
  const mean = new Float64Array(c), count = Math.max(1, Math.floor(exact.rows.length / c));
  exact.rows.forEach((v, i) => Number.isFinite(v) && (mean[i % c] += v / count));
  const offset = new Float64Array(n);
  for (let r = 0; r < n; r++) for (let j = 0; j < k; j++) offset[r] += mean[j % c] * (wnk[r * k + j] - exact.wnk[r * k + j]);
  return { c, n, g, wbar, offset };
}

/**
 * Per channel, the mean and variance of the error of q = clamp(floor(x / s + off), -zp, 255 - zp) * s
 * over the sampled rows (non-finite values skipped), written into mean and vari (length C).
 */
export function channelErrors(rows: Float32Array, c: number, s: number, zp: number, off: number, mean: Float64Array, vari: Float64Array): void {
  mean.fill(0);
  vari.fill(0);
  const count = Math.max(1, Math.floor(rows.length / c));
  for (let i = 0; i < rows.length; i++) {
    const x = rows[i];
    if (!Number.isFinite(x)) continue;
    const v = Math.min(255 - zp, Math.max(-zp, Math.floor(Math.fround(Math.fround(x / s) + off))));
    const d = v * s - x, ch = i % c;
    mean[ch] += d;
    vari[ch] += d * d;
  }
  for (let ch = 0; ch < c; ch++) {
    mean[ch] /= count;
    vari[ch] = vari[ch] / count - mean[ch] * mean[ch];
  }
}

/** sum_n (offset_n + sum_c Wbar[n][c] mu_c)^2, leaving u = offset + Wbar mu in `u` (length N) */
export function meanTerm(t: WeightTerms, mean: ArrayLike<number>, u: Float64Array): number {
  if (t.offset) u.set(t.offset);
  else u.fill(0);
  for (let ch = 0; ch < t.c; ch++) {
    const m = mean[ch];
    if (m !== 0) for (let r = 0; r < t.n; r++) u[r] += t.wbar[ch * t.n + r] * m;
  }
  let e = 0;
  for (let r = 0; r < t.n; r++) e += u[r] * u[r];
  return e;
}

/** The modelled output error of one quantization (per-channel means and variances). */
export function outputError(t: WeightTerms, mean: Float64Array, vari: Float64Array, u = new Float64Array(t.n)): number {
  let e = meanTerm(t, mean, u);
  for (let ch = 0; ch < t.c; ch++) e += t.g[ch] * vari[ch];
  return e;
}

/** Clipping ratios tried for each side by outputOptimalRange (1: no clip). */
const CLIP_RATIOS = [1, 0.99, 0.98, 0.97, 0.95, 0.93, 0.9, 0.85, 0.8, 0.7, 0.6, 0.5];

/**
 * The uint8 range [a * min(min, 0), b * max(max, 0)] whose round-to-nearest quantization of the
 * sampled rows gives the least modelled output error of the layer (the high side first, then the
 * low side); a clip must lower it by `gain` (2%) over [min, max] to be taken.
 */
export function outputOptimalRange(rows: Float32Array, t: WeightTerms, min: number, max: number, gain = 0.02): [number, number] {
  const lo0 = Math.min(min, 0), hi0 = Math.max(max, 0);
  if (!(hi0 > lo0) || rows.length < t.c) return [min, max];
  const mean = new Float64Array(t.c), vari = new Float64Array(t.c), u = new Float64Array(t.n);
  const err = (lo: number, hi: number): number => {
    const s = Math.fround((hi - lo) / 255), zp = Math.min(255, Math.max(0, Math.round(-lo / s)));
    channelErrors(rows, t.c, s, zp, 0.5, mean, vari);
    return outputError(t, mean, vari, u);
  };
  const full = err(lo0, hi0);
  let best = full, lo = lo0, hi = hi0;
  if (hi0 > 0) for (const b of CLIP_RATIOS.slice(1)) {
    const e = err(lo, b * hi0);
    if (e < best) [best, hi] = [e, b * hi0];
  }
  if (lo0 < 0) for (const a of CLIP_RATIOS.slice(1)) {
    const e = err(a * lo0, hi);
    if (e < best) [best, lo] = [e, a * lo0];
  }
  return best < full * (1 - gain) ? [lo, hi] : [lo0, hi0];
}
