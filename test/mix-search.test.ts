// The 'auto' search's rounds (mix-search.ts) on a synthetic model whose true per-layer costs are known:
// each measured mix's noise is computed from those costs, so the mix the budget allows is known too.
import { describe, expect, it } from 'vitest';
import { fitFactor, MAX_ROUNDS, pessimistic, searchMix, type MixMeasure } from '../src/model/mix-search.js';
import type { MixOption } from '../src/model/mix-select.js';

const BASE: MixOption = { bytes: 5000, noise: 1 };
/** five layers of 1000 int8 bytes; option 1 (4-bit) saves 500 bytes and adds `added[i]` of the base noise alone */
const added = [0.05, 0.08, 0.1, 0.2, 0.4];
const table: MixOption[][] = added.map((e) => [{ bytes: 1000, noise: 1 }, { bytes: 500, noise: 1 + e }]);

/** A synthetic model: together, the layers' added noise is `k` times the sum of their single-layer effects (k per part). */
function model(k: { search: number; heldOut: number }, maxRatio: number) {
  const calls: string[] = [];
  const measure = async (pick: readonly number[], part: 'search' | 'heldOut'): Promise<MixMeasure> => {
    calls.push(part);
    const ratio = 1 + k[part] * pick.reduce((s, j, i) => s + (j ? added[i] : 0), 0);
    return { noiseRatio: ratio, ok: ratio <= maxRatio };
  };
  return { measure, calls };
}

/** The fewest-bytes pick whose true noise fits on both parts (every pick tried). */
function truthBest(k: { search: number; heldOut: number }, maxRatio: number): number[] {
  let best = added.map(() => 0), bestBytes = BASE.bytes;
  for (let m = 0; m < 1 << added.length; m++) {
    const pick = added.map((_, i) => (m >> i) & 1);
    const a = pick.reduce((s, j, i) => s + (j ? added[i] : 0), 0);
    const bytes = BASE.bytes - 500 * pick.reduce((s, j) => s + j, 0);
    if (1 + Math.max(k.search, k.heldOut) * a <= maxRatio && bytes < bestBytes) (best = pick), (bestBytes = bytes);
  }
  return best;
}

describe('auto mix search: rounds with a fitted pessimism factor', () => {
  it('when the single-layer effects add up, takes the knapsack mix the budget allows in one round, checked on the held-back part', async () => {
    const k = { search: 1, heldOut: 1 };
    const m = model(k, 1.3);
    const r = await searchMix(table, BASE, { maxRatio: 1.3 }, m.measure, true);
    expect(r.pick).toEqual(truthBest(k, 1.3));
    expect(r.pick).toEqual([1, 1, 1, 0, 0]);
    expect(r.rounds).toHaveLength(1);
    expect(m.calls).toEqual(['search', 'heldOut']);
    expect(r.rounds[0].predicted).toBeCloseTo(1.23, 10);
  });

  it('when the mix costs more on the held-back inputs than the effects predict, fits the factor and chooses the mix the budget allows there', async () => {
    // search lines: x1.2 the single-layer effects; held-back lines: x2
    const k = { search: 1.2, heldOut: 2 };
    const m = model(k, 1.3);
    const r = await searchMix(table, BASE, { maxRatio: 1.3 }, m.measure, true);
    expect(r.first).toEqual([1, 1, 1, 0, 0]); // the effects alone: fails held back (1.46)
    expect(r.pick).toEqual(truthBest(k, 1.3));
    expect(r.pick).toEqual([1, 1, 0, 0, 0]);
    expect(r.rounds).toHaveLength(2);
    expect(r.rounds[0].heldOut).toEqual({ noiseRatio: expect.closeTo(1.46, 10), ok: false });
    expect(r.rounds[1].factor).toBeCloseTo(2, 10); // fitted: 0.46 measured / 0.23 predicted
    expect(r.rounds[1].heldOut!.ok).toBe(true);
    expect(r.rounds[1].predicted).toBeLessThanOrEqual(1.3);
  });

  it('a miss on the search inputs chooses again before the held-back part is used', async () => {
    const k = { search: 2, heldOut: 2 };
    const m = model(k, 1.3);
    const r = await searchMix(table, BASE, { maxRatio: 1.3 }, m.measure, true);
    expect(r.pick).toEqual(truthBest(k, 1.3));
    expect(m.calls).toEqual(['search', 'search', 'heldOut']);
  });

  it('when nothing fits on the held-back inputs, all-int8 (not a mix larger than int8), each round recorded', async () => {
    const m = model({ search: 1, heldOut: 100 }, 1.3);
    const r = await searchMix(table, BASE, { maxRatio: 1.3 }, m.measure, true);
    expect(r.pick).toEqual([0, 0, 0, 0, 0]);
    expect(r.rounds.length).toBeGreaterThanOrEqual(1);
    expect(r.rounds.length).toBeLessThanOrEqual(MAX_ROUNDS);
    expect(r.rounds.every((x) => x.heldOut && !x.heldOut.ok)).toBe(true);
    // each round changes fewer layers (the factor only grows)
    for (let i = 1; i < r.rounds.length; i++) expect(r.rounds[i].changes).toBeLessThanOrEqual(r.rounds[i - 1].changes);
  });

  it('float32 noise removal that the held-back inputs do not see: the fitted factor discounts it, and the mix chosen again holds', async () => {
    // a sixth, small layer: float32 (+300 bytes) removes 0.15 of the noise on the search lines only; its 4-bit form adds 0.3
    const t = [...table, [{ bytes: 100, noise: 1 }, { bytes: 400, noise: 0.85 }, { bytes: 50, noise: 1.3 }]];
    const base = { bytes: 5100, noise: 1 };
    const add = [...added, 0];
    const measure = async (pick: readonly number[], part: 'search' | 'heldOut'): Promise<MixMeasure> => {
      const a = pick.reduce((s, j, i) => s + (j ? (i === 5 ? (j === 2 ? 0.3 : 0) : add[i]) : 0), 0);
      const ratio = 1 + a - (pick[5] === 1 && part === 'search' ? 0.15 : 0);
      return { noiseRatio: ratio, ok: ratio <= 1.3 };
    };
    const r = await searchMix(t, base, { maxRatio: 1.3 }, measure, true);
    // the effects alone: four 4-bit layers financed by the float32 one (predicted 1.28); held back 1.43
    expect(r.first).toEqual([1, 1, 1, 1, 0, 1]);
    expect(r.rounds[0].heldOut!.ok).toBe(false);
    expect(r.rounds[1].factor).toBeCloseTo(fitFactor(0.43, 0.15, 1.43), 10);
    expect(r.rounds[1].factor).toBeCloseTo(1.274, 2);
    expect(r.pick).toEqual([1, 1, 1, 0, 0, 0]);
    expect(r.rounds[1].heldOut!.ok).toBe(true);
  });

  it('removed noise counts 1/r: a float32 layer that removes noise on the search lines buys less room as the factor grows', () => {
    const t: MixOption[][] = [[{ bytes: 100, noise: 1 }, { bytes: 400, noise: 0.8 }, { bytes: 50, noise: 1.4 }]];
    const p = pessimistic(t, 2);
    p[0].forEach((o, j) => expect(o.noise).toBeCloseTo([1, 0.9, 1.8][j], 10));
    expect(p[0].map((o) => o.bytes)).toEqual([100, 400, 50]);
    // 1 + r*a - m/r = measured
    const r = fitFactor(0.4, 0.2, 1.5);
    expect(1 + r * 0.4 - 0.2 / r).toBeCloseTo(1.5, 10);
    expect(fitFactor(0.4, 0, 1.8)).toBeCloseTo(2, 10);
    expect(fitFactor(0, 0.2, 1.1)).toBe(Infinity);
  });

  it('a speed fit sees every knapsack pick before it is measured: only fitted picks are measured and returned', async () => {
    const k = { search: 1, heldOut: 1 };
    const m = model(k, 1.3);
    const measured: string[] = [];
    // a time budget that lets at most one layer change: keep the first changed layer only
    const fit = (p: number[]) => p.map((j, i) => (j && p.indexOf(1) === i ? 1 : 0));
    const r = await searchMix(table, BASE, { maxRatio: 1.3 }, async (p, part) => (measured.push(p.join(',')), m.measure(p, part)), true, fit);
    expect(r.pick.filter((j) => j).length).toBe(1);
    for (const p of measured) expect(p.split(',').filter((j) => j === '1').length).toBeLessThanOrEqual(1);
    // a fit that gives everything back: no round, all-int8
    const none = await searchMix(table, BASE, { maxRatio: 1.3 }, m.measure, true, (p) => p.map(() => 0));
    expect(none.pick).toEqual([0, 0, 0, 0, 0]);
    expect(none.rounds).toHaveLength(0);
  });
});
