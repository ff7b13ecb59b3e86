// Keeping a chosen mix within 'auto''s speed budget (auto-speed.ts). The knapsack (mix-select.ts)
// chooses on bytes and noise; time is a second budget, over the whole model, which a one-axis
// knapsack cannot hold. A layer whose format alone is over the allowance is no candidate at all; a
// mix of formats each within it may still add up to more, so its changes go back to int8 until the
// summed time fits: first the change that saves the fewest bytes per ms it adds (a float32 layer,
// which costs bytes, before any 4- or 8-bit one), since bytes are what the search is for.

import type { MixOption } from './mix-select.js';

/** A pick's summed step time (ms): each layer's time in its option (`ms[layer][option]`). */
export function pickMs(ms: readonly (readonly number[])[], pick: readonly number[]): number {
  return pick.reduce((s, j, i) => s + ms[i][j], 0);
}

/** The pick with changes taken back to int8 (option 0) until its summed time is at most maxMs. */
export function fitTime(table: readonly MixOption[][], ms: readonly (readonly number[])[], pick: readonly number[], maxMs: number): number[] {
  const p = [...pick];
  let total = pickMs(ms, p);
  while (total > maxMs * (1 + 1e-12)) {
    let worst = -1, rate = Infinity;
    p.forEach((j, i) => {
      const extra = ms[i][j] - ms[i][0];
      if (j === 0 || extra <= 0) return;
      const r = (table[i][0].bytes - table[i][j].bytes) / extra;
      if (r < rate) (rate = r), (worst = i);
    });
    if (worst < 0) break; // no change adds time: the all-int8 part alone is over (cannot be: maxMs >= all-int8's)
    total -= ms[worst][p[worst]] - ms[worst][0];
    p[worst] = 0;
  }
  return p;
}
