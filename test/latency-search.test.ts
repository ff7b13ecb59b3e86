// The CPrune-style latency search (src/quant/latency-search.ts) on given latency tables: it meets the
// budget, prunes the layers that lose least per µs first, gives back what the budget does not need,
// and refuses bad or unreachable budgets with typed errors naming the argument.

import { describe, expect, it } from 'vitest';
import { ArgumentError, ValueRangeError, latencySearch, type LatencyLayer } from '../src/index.js';

/** a layer: dense, then block4x4 25/50/75% at these fractions of dense time, with these errors */
const layer = (name: string, denseUs: number, errors: [number, number, number, number], speed = [0.85, 0.6, 0.35]): LatencyLayer => ({
  name,
  candidates: [
    { label: 'dense', us: denseUs, error: errors[0] },
    ...speed.map((f, i) => ({ label: `block4x4 ${25 * (i + 1)}%`, us: denseUs * f, error: errors[i + 1] })),
  ],
});

/** the least summed error meeting the budget, by trying every combination */
function bruteForce(layers: LatencyLayer[], budget: number): number {
  const limit = budget * layers.reduce((s, l) => s + l.candidates[0].us, 0);
  let best = Infinity;
  const walk = (i: number, us: number, err: number) => {
    if (us > limit + 1e-9 && i === layers.length) return;
    if (i === layers.length) return void (best = Math.min(best, err));
    for (const c of layers[i].candidates) walk(i + 1, us + c.us, err + c.error);
  };
  walk(0, 0, 0);
  return best;
}

describe('latencySearch', () => {
  const model = [
    layer('conv0', 40, [0.001, 0.02, 0.08, 0.3]),
    layer('conv1', 120, [0.001, 0.004, 0.01, 0.05]),
    layer('fc', 300, [0.002, 0.003, 0.006, 0.02]),
    layer('head', 90, [0.001, 0.05, 0.2, 0.6]),
    layer('tiny', 5, [0.001, 0.001, 0.002, 0.004], [0.95, 1.2, 1.4]), // sparse is slower here: never chosen
  ];

  for (const budget of [0.9, 0.7, 0.5]) {
    it(`meets a budget of ${budget} of dense int8's time, within 10% of the least error there is`, () => {
      const plan = latencySearch(model, budget);
      expect(plan.us).toBeLessThanOrEqual(budget * plan.denseUs);
      expect(plan.denseUs).toBe(555);
      expect(plan.us).toBeCloseTo(plan.choice.reduce((s, j, i) => s + model[i].candidates[j].us, 0), 9);
      expect(plan.error).toBeLessThanOrEqual(bruteForce(model, budget) * 1.1);
      expect(plan.choice[4]).toBeLessThanOrEqual(1); // 'tiny' pruned only where it is faster
    });
  }

  it('prunes the layers that cost least error per µs saved first', () => {
    // two layers of the same shape and speed-ups: the one whose pruning costs less error goes first
    const plan = latencySearch([layer('sensitive', 100, [0, 0.1, 0.4, 0.9]), layer('robust', 100, [0, 0.01, 0.04, 0.09])], 0.8);
    expect(plan.choice).toEqual([0, 2]);
    expect(plan.steps).toEqual([1, 1]);
    // a generous budget prunes nothing; a tight one prunes both, the robust one further
    expect(latencySearch([layer('a', 100, [0, 0.1, 0.4, 0.9])], 1).choice).toEqual([0]);
    const tight = latencySearch([layer('sensitive', 100, [0, 0.1, 0.4, 0.9]), layer('robust', 100, [0, 0.01, 0.04, 0.09])], 0.45);
    expect(tight.choice[1]).toBe(3);
    expect(tight.us).toBeLessThanOrEqual(90);
  });

  it('skips dominated candidates and gives back steps the budget does not need', () => {
    // 50% is slower than 75% at more error: never taken; the greedy overshoot (75% on the big layer) is undone when 25% suffices
    const plan = latencySearch([
      { name: 'a', candidates: [{ label: 'dense', us: 100, error: 0 }, { label: '50%', us: 50, error: 0.5 }, { label: '75%', us: 40, error: 0.2 }] },
      { name: 'b', candidates: [{ label: 'dense', us: 100, error: 0 }, { label: '25%', us: 95, error: 0.001 }] },
    ], 0.99);
    expect(plan.choice).toEqual([0, 1]);
    expect(plan.us).toBe(195);
  });

  it('refuses bad budgets with an ArgumentError naming the argument, and unreachable ones with a ValueRangeError', () => {
    for (const budget of [0, -0.5, 1.5, NaN, Infinity, '0.7', null]) {
      expect(() => latencySearch(model, budget as number), String(budget)).toThrow(ArgumentError);
      expect(() => latencySearch(model, budget as number)).toThrow(/sparsity\.latency: expected a fraction of dense int8's latency in \(0, 1\]/);
      expect(() => latencySearch(model, budget as number, '--latency')).toThrow(/^--latency: /);
    }
    // the fastest candidates reach 0.355 of dense here
    expect(() => latencySearch(model, 0.3)).toThrow(ValueRangeError);
    expect(() => latencySearch(model, 0.3)).toThrow(/sparsity\.latency: 0\.3 is out of reach; the fastest candidates give 0\.355 of dense/);
    expect(() => latencySearch([{ name: 'x', candidates: [{ label: 'dense', us: 0, error: 0 }] }], 0.5)).toThrow(/layer x, dense: expected µs > 0/);
  });
});
