// Per-input-channel activation scales migrated into the weights (SmoothQuant's equalization): the
// int8 staging divides channel c by s_c before its one per-tensor uint8 scale, and the weights' rows
// of channel c are multiplied by s_c before their per-output-channel quantization, so the product
// is unchanged while wide channels stop setting the whole tensor's step.

/**
 * s_c = max|x_c|^alpha / max|W_c|^(1 - alpha) for each of C input channels, from the channels'
 * calibrated extremes and the weight rows [N][K] (channel of column k: k mod C). A channel that is
 * all zero on either side keeps 1; the scales are kept within [1e-4, 1e4].
 */
export function smoothingScales(channelMin: ArrayLike<number>, channelMax: ArrayLike<number>, wnk: Float32Array, n: number, k: number, alpha: number): Float32Array {
  const c = channelMin.length;
  const wMax = new Float64Array(c);
  for (let r = 0; r < n; r++) {
    for (let j = 0; j < k; j++) {
      const a = Math.abs(wnk[r * k + j]), ch = j % c;
      if (a > wMax[ch]) wMax[ch] = a;
    }
  }
  const s = new Float32Array(c);
  for (let ch = 0; ch < c; ch++) {
    const xMax = Math.max(Math.abs(channelMin[ch]), Math.abs(channelMax[ch]));
    const v = xMax > 0 && wMax[ch] > 0 && Number.isFinite(xMax) ? xMax ** alpha / wMax[ch] ** (1 - alpha) : 1;
    s[ch] = Math.min(1e4, Math.max(1e-4, v));
  }
  return s;
}

/** The sampled rows divided by their channel's scale (the activations the staging quantizes). */
export function scaleChannels(rows: Float32Array, scales: ArrayLike<number>): Float32Array {
  const c = scales.length;
  return rows.map((v, i) => Math.fround(v / scales[i % c]));
}
