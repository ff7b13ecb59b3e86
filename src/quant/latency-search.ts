// The CPrune-style search (issue 16): given, per prunable layer, the measured latency and output
// error of each candidate (dense int8 first, then pruned variants), choose one candidate per layer so
// that the layers' total latency is at most `budget` × their dense total, at the least total error.
// Plain data in, plain data out: the measuring lives in src/model/prune-latency.ts, so a test can hand
// it any latency table.
//
// Why greedy rather than a knapsack: the per-layer errors are proxies (each layer's relative output
// error on calibration inputs, summed as if independent), so an exact multiple-choice knapsack
// optimises a sum that is itself approximate; the greedy walk is CPrune's own (prune the task that
// costs least accuracy per unit of latency saved, re-rank, repeat until the target is met), reads as
// a plan anyone can follow step by step, and on each layer's lower convex hull of (µs, error) it is
// the knapsack's LP relaxation, so it is off the optimum mostly by the last step's overshoot, which
// a give-back pass and a pairwise exchange (one layer denser, another sparser) at the end recover
// (on the test's table: 15% above the least error after the walk, within 10% after).

import { ArgumentError, ValueRangeError, describe } from '../errors.js';

/** One way to run a layer: its measured time and its output error (relative: tr(ΔW H ΔWᵀ) / tr(W H Wᵀ)). */
export interface LatencyCandidate {
  /** e.g. 'dense', 'block4x4 50%' */
  label: string;
  us: number;
  error: number;
}

/** A prunable layer: its candidates, the first one dense int8 (the reference of the budget). */
export interface LatencyLayer {
  name: string;
  candidates: readonly LatencyCandidate[];
}

export interface LatencyPlan {
  /** the chosen candidate's index per layer */
  choice: number[];
  /** the chosen layers' total µs, and the all-dense total */
  us: number;
  denseUs: number;
  /** the summed error of the choice */
  error: number;
  /** layer indices in the order the search pruned them (a layer appears once per step it took) */
  steps: number[];
}

/** A latency budget, checked: a fraction of dense int8's time in (0, 1]. */
export function checkLatencyBudget(value: unknown, argument = 'sparsity.latency'): number {
  if (!(typeof value === 'number' && value > 0 && value <= 1)) throw new ArgumentError(`${argument}: expected a fraction of dense int8's latency in (0, 1], got ${describe(value)}`);
  return value;
}

/**
 * Candidate indices of a layer's lower convex hull from dense toward the fastest, in the plane (µs
 * saved, error): each step costs more error per µs saved than the one before, so the greedy walk
 * never takes a step whose better follower it could have taken instead. Candidates no faster than
 * dense never help.
 */
function hull(c: readonly LatencyCandidate[]): number[] {
  const order = c.map((_, i) => i).filter((i) => i > 0 && c[i].us < c[0].us).sort((a, b) => c[b].us - c[a].us || c[a].error - c[b].error);
  const out: number[] = [0];
  const slope = (from: number, to: number) => (c[to].error - c[from].error) / (c[from].us - c[to].us);
  for (const i of order) {
    if (c[i].us === c[out[out.length - 1]].us) continue; // same time, no less error (the sort)
    while (out.length >= 2 && slope(out[out.length - 2], i) <= slope(out[out.length - 2], out[out.length - 1])) out.pop();
    out.push(i);
  }
  return out;
}

/**
 * The greedy's last step may overshoot the budget by a whole step, and the hull skips candidates off
 * it: pairs of moves (one layer denser, another sparser, any candidates) that lower the error within
 * the budget, the best pair first, until none does. Returns the new total µs (`choice` is updated).
 */
function exchange(layers: readonly LatencyLayer[], choice: number[], us: number, limit: number): number {
  const c = (i: number, j: number) => layers[i].candidates[j];
  for (let round = 0; round < 1000; round++) {
    let best: [number, number, number, number] | null = null, gain = 1e-15;
    for (let i = 0; i < layers.length; i++) {
      for (let a = 0; a < layers[i].candidates.length; a++) {
        const di = c(i, a).us - c(i, choice[i]).us, ei = c(i, a).error - c(i, choice[i]).error;
        if (us + di <= limit && -ei > gain) [best, gain] = [[i, a, i, choice[i]], -ei];
        for (let j = i + 1; j < layers.length; j++) {
          for (let b = 0; b < layers[j].candidates.length; b++) {
            const d = di + c(j, b).us - c(j, choice[j]).us, e = ei + c(j, b).error - c(j, choice[j]).error;
            if (us + d <= limit && -e > gain) [best, gain] = [[i, a, j, b], -e];
          }
        }
      }
    }
    if (!best) break;
    const [i, a, j, b] = best;
    us += c(i, a).us - c(i, choice[i]).us;
    choice[i] = a;
    us += c(j, b).us - c(j, choice[j]).us;
    choice[j] = b;
  }
  return us;
}

/**
 * Per layer, the candidate that meets `budget` (a fraction of the all-dense total µs) with the least
 * summed error, greedily: from all-dense, repeatedly take the hull step with the least error added
 * per µs saved, until the total meets the budget; then give back (undo toward dense) any step the
 * budget no longer needs, largest error first, and exchange pairs of choices while that lowers the
 * error within the budget. `steps` is the greedy walk (CPrune's order). Throws ValueRangeError naming `argument` when even
 * the fastest candidates miss the budget.
 */
export function latencySearch(layers: readonly LatencyLayer[], budget: number, argument = 'sparsity.latency'): LatencyPlan {
  checkLatencyBudget(budget, argument);
  for (const l of layers) {
    if (!l.candidates.length) throw new ArgumentError(`layers: layer ${l.name} has no candidates (expected dense int8 first)`);
    for (const c of l.candidates) if (!(Number.isFinite(c.us) && c.us > 0 && Number.isFinite(c.error) && c.error >= 0)) throw new ArgumentError(`layers: layer ${l.name}, ${c.label}: expected µs > 0 and error >= 0, got ${c.us} µs, error ${c.error}`);
  }
  const hulls = layers.map((l) => hull(l.candidates));
  const pos = layers.map(() => 0);
  const at = (i: number) => layers[i].candidates[hulls[i][pos[i]]];
  const denseUs = layers.reduce((s, l) => s + l.candidates[0].us, 0);
  const limit = budget * denseUs;
  let us = denseUs;
  const steps: number[] = [];
  const fastest = layers.reduce((s, l, i) => s + l.candidates[hulls[i][hulls[i].length - 1]].us, 0);
  if (fastest > limit * (1 + 1e-12)) throw new ValueRangeError(`${argument}: ${budget} is out of reach; the fastest candidates give ${(fastest / denseUs).toFixed(3)} of dense int8's ${denseUs.toFixed(1)} µs`);
  while (us > limit) {
    let best = -1, bestCost = Infinity;
    for (let i = 0; i < layers.length; i++) {
      if (pos[i] + 1 >= hulls[i].length) continue;
      const a = at(i), b = layers[i].candidates[hulls[i][pos[i] + 1]];
      const cost = (b.error - a.error) / (a.us - b.us);
      if (cost < bestCost) [best, bestCost] = [i, cost];
    }
    us -= at(best).us;
    pos[best]++;
    us += at(best).us;
    steps.push(best);
  }
  // give back: a step whose undoing still meets the budget only added error
  for (;;) {
    let best = -1, gain = 0;
    for (let i = 0; i < layers.length; i++) {
      if (pos[i] === 0) continue;
      const a = layers[i].candidates[hulls[i][pos[i] - 1]], b = at(i);
      if (us - b.us + a.us <= limit && b.error - a.error > gain) [best, gain] = [i, b.error - a.error];
    }
    if (best < 0) break;
    us -= at(best).us;
    pos[best]--;
    us += at(best).us;
    steps.splice(steps.lastIndexOf(best), 1);
  }
  const choice = pos.map((p, i) => hulls[i][p]);
  us = exchange(layers, choice, us, limit);
  return { choice, us, denseUs, error: choice.reduce((s, j, i) => s + layers[i].candidates[j].error, 0), steps };
}
