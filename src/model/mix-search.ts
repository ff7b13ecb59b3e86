// The 'auto' search's choice under a dB budget, with the error model calibrated by measurement.
//
// The knapsack (mix-select.ts) predicts a mix's output noise by adding single-layer effects. On
// PP-OCRv4 that prediction was optimistic, and more so on the held-back inputs than on the search's:
// float32 layers that removed noise on the 16 search lines bought room for 4-bit layers, and on the
// held-back lines they removed less while the 4-bit layers added more. Taking changes back (halving,
// then bisection of a ranked list) kept only the noise-removing float32 changes, which cost bytes, so
// the result was all-int8. Here the prediction carries one pessimism factor r: added noise counts r
// times, removed noise 1/r times. Each round chooses with the knapsack for the budget under r,
// measures the mix on the search inputs, then on the held-back ones; a miss fits r to what was
// measured (never smaller, at least 1.25x; more while the knapsack would choose a mix that already
// missed, as when only top-1 or the metric missed) and chooses again. Only this one number flows from the
// held-back inputs into the choice, so the check stays a check. Rounds end at all-int8 (its bytes)
// or after MAX_ROUNDS, and every round is recorded (predicted and measured noise growth). A speed
// budget (`fit`, mix-speed.ts) takes changes back from each knapsack pick before it is measured.

import { predict, selectMix, type MixOption } from './mix-select.js';

/** What a measured mix did on one part of the calibration inputs. */
export interface MixMeasure {
  /** the mix's output noise over all-int8's on the same inputs (10^(dB drop / 10)) */
  noiseRatio: number;
  /** within every budget (SQNR, top-1, metric, bytes) */
  ok: boolean;
}

/** One round of the search, for the report. */
export interface MixRound {
  /** the pessimism factor the knapsack chose under */
  factor: number;
  /** layers changed from int8, and the mix's weight bytes */
  changes: number;
  bytes: number;
  /** predicted noise over all-int8's, with the factor */
  predicted: number;
  /** measured on the search inputs, and on the held-back ones (absent when the search part already failed) */
  search: MixMeasure;
  heldOut?: MixMeasure;
}

export interface MixSearchResult {
  /** one option index per layer (all 0: all-int8) */
  pick: number[];
  /** the first round's pick (what the single-layer effects alone chose), for the per-layer report */
  first: number[];
  rounds: MixRound[];
}

/** Rounds before all-int8. 6 were too few once the search measured on lines the 4-bit weights were not
 *  fitted on (calibration-split.ts): on PP-OCRv4 the 6th round's mix was still at x1.5 of int8's noise
 *  and falling; a round costs one build and one run of the search inputs. */
export const MAX_ROUNDS = 10;
const MIN_STEP = 1.25;
const MAX_GROWTH = 64;

/** The table with its noise effects seen through factor r: added noise times r, removed noise over r. */
export function pessimistic(table: readonly MixOption[][], r: number): MixOption[][] {
  return table.map((opts) => opts.map((o) => {
    const d = o.noise - opts[0].noise;
    return { bytes: o.bytes, noise: opts[0].noise + (d > 0 ? d * r : d / r) };
  }));
}

/** The noise a pick adds (a) and removes (m) by the single-layer effects, over the baseline's noise. */
function effects(table: readonly MixOption[][], pick: readonly number[], baseNoise: number): { a: number; m: number } {
  let a = 0, m = 0;
  table.forEach((opts, i) => {
    const d = opts[pick[i]].noise - opts[0].noise;
    if (d > 0) a += d;
    else m -= d;
  });
  return { a: a / baseNoise, m: m / baseNoise };
}

/** The factor r with 1 + r*a - m/r = measured (the positive root), or Infinity when nothing was added. */
export function fitFactor(a: number, m: number, measured: number): number {
  if (a <= 0) return Infinity;
  const g = measured - 1;
  return (g + Math.sqrt(g * g + 4 * a * m)) / (2 * a);
}

/**
 * Chooses a mix for a noise budget (maxRatio: the noise may grow that much over all-int8's), and
 * maxBytes if given. `measure(pick, part)` builds the mix and scores it on the search inputs or the
 * held-back ones (`heldOut` false: there are none, the search part decides alone).
 */
export async function searchMix(
  table: readonly MixOption[][], base: MixOption, target: { maxRatio: number; maxBytes?: number },
  measure: (pick: readonly number[], part: 'search' | 'heldOut') => Promise<MixMeasure>, heldOut: boolean,
  fit: (pick: number[]) => number[] = (p) => p,
): Promise<MixSearchResult> {
  const choose = (t: MixOption[][]) => {
    const p = selectMix(t, base, { maxNoise: base.noise * target.maxRatio, maxBytes: target.maxBytes });
    return p && fit(p);
  };
  const int8 = table.map(() => 0);
  const rounds: MixRound[] = [];
  const failed = new Set<string>();
  let r = 1, first = int8;
  for (let round = 0; round < MAX_ROUNDS && Number.isFinite(r); round++) {
    let seen = pessimistic(table, r);
    let pick = choose(seen);
    // a pick that missed once misses again (the measurement is deterministic): grow the factor until the choice differs
    for (let n = 0; pick && failed.has(pick.join(',')) && n < MAX_GROWTH; n++) {
      r *= MIN_STEP;
      seen = pessimistic(table, r);
      pick = choose(seen);
    }
    if (!pick || failed.has(pick.join(','))) break;
    const bytes = predict(table, pick, base).bytes;
    // a noise budget is never worth more bytes than all-int8, which meets it
    if (pick.every((j) => j === 0) || bytes >= base.bytes) break;
    const rec: MixRound = { factor: r, changes: pick.filter((j) => j !== 0).length, bytes, predicted: predict(seen, pick, base).noise / base.noise, search: await measure(pick, 'search') };
    rounds.push(rec);
    if (rounds.length === 1) first = pick;
    let miss = rec.search;
    if (miss.ok && heldOut) rec.heldOut = miss = await measure(pick, 'heldOut');
    if (miss.ok) return { pick, first, rounds };
    failed.add(pick.join(','));
    const { a, m } = effects(table, pick, base.noise);
    r = Math.max(r * MIN_STEP, fitFactor(a, m, miss.noiseRatio));
  }
  return { pick: int8, first, rounds };
}
