// Choosing one option per layer from measured single-layer effects, under a budget. Each option's
// effect is what the model's output noise and weight bytes became with that layer alone changed
// from int8; a mix is predicted by adding the changes (output noise powers of independent
// rounding add). The search then measures the chosen mix (auto-mix.ts).

export interface MixOption {
  /** weight bytes of the layer in this option */
  bytes: number;
  /** output noise energy with this layer in this option and the rest int8 */
  noise: number;
}

export interface MixTarget {
  /** the predicted output noise may not exceed this */
  maxNoise?: number;
  /** the weight bytes may not exceed this */
  maxBytes?: number;
}

/** A mix's predicted noise and bytes: the baseline plus each layer's change from its option 0 (int8). */
export function predict(layers: readonly MixOption[][], pick: readonly number[], base: MixOption): MixOption {
  let bytes = base.bytes, noise = base.noise;
  layers.forEach((opts, i) => {
    bytes += opts[pick[i]].bytes - opts[0].bytes;
    noise += opts[pick[i]].noise - opts[0].noise;
  });
  return { bytes, noise };
}

/** Buckets of the byte axis the choice is made on (option bytes are rounded up to them, so a mix that fits them fits the exact bytes). */
const BUCKETS = 20000;

/**
 * One option index per layer (option 0 is int8, the baseline `base`): with maxNoise, the fewest
 * bytes whose predicted noise fits (within maxBytes too, when given, else the least noise there);
 * with maxBytes only, the least noise that fits. Null when nothing fits maxBytes. A knapsack over
 * bytes: for every byte total, the least noise reaching it.
 */
export function selectMix(layers: readonly MixOption[][], base: MixOption, target: MixTarget): number[] | null {
  const fixed = base.bytes - layers.reduce((s, opts) => s + opts[0].bytes, 0);
  const top = layers.reduce((s, opts) => s + Math.max(...opts.map((o) => o.bytes)), 0);
  const unit = Math.max(top / BUCKETS, 1e-9);
  const cost = layers.map((opts) => opts.map((o) => Math.ceil(o.bytes / unit - 1e-9)));
  const cap = cost.reduce((s, c) => s + Math.max(...c), 0);
  let best = new Float64Array(cap + 1).fill(Infinity);
  best[0] = base.noise;
  const took = layers.map(() => new Int8Array(cap + 1));
  layers.forEach((opts, i) => {
    const next = new Float64Array(cap + 1).fill(Infinity);
    for (let b = 0; b <= cap; b++) {
      if (best[b] === Infinity) continue;
      opts.forEach((o, j) => {
        const nb = b + cost[i][j], v = best[b] + o.noise - opts[0].noise;
        if (v < next[nb]) (next[nb] = v), (took[i][nb] = j);
      });
    }
    best = next;
  });
  const limit = target.maxBytes === undefined ? cap : Math.min(cap, Math.floor((target.maxBytes - fixed) / unit + 1e-9));
  let at = -1;
  if (target.maxNoise !== undefined) for (let b = 0; b <= limit && at < 0; b++) if (best[b] <= target.maxNoise) at = b;
  if (at < 0) for (let b = 0; b <= limit; b++) if (best[b] < (at < 0 ? Infinity : best[at])) at = b;
  if (at < 0) return null;
  const pick = new Array<number>(layers.length);
  for (let i = layers.length - 1; i >= 0; i--) {
    pick[i] = took[i][at];
    at -= cost[i][pick[i]];
  }
  return pick;
}
