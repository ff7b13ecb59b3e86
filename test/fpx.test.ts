// Simulated FPx formats (src/quant/fpx.ts): agreement with the exact FP8 codec where the formats
// coincide, the bias/max/scale equivalence, ties, the MSE search, and the SQNR ordering of the
// paper ("FP8 Quantization: The Power of the Exponent"): more mantissa bits win on Gaussian data,
// more exponent bits on heavy-tailed data.

import { describe, expect, it } from 'vitest';
import {
  LowbitError, channelLayout, decodeFp8, encodeFp8, fp8ToFloat, fpxBiasForMax, fpxFormat, fpxMaxForBias, fpxQuantize, fpxSearch, sqnrDb,
} from '../src/index.js';
import { rng } from './helpers.js';

function gaussian(n: number, seed: number): Float32Array {
  const r = rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let u = 0;
    while (u === 0) u = r();
    out[i] = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * r());
  }
  return out;
}

/** Student's t with nu = 2 (infinite variance): a heavy-tailed tensor */
function studentT2(n: number, seed: number): Float32Array {
  const z = gaussian(3 * n, seed);
  return Float32Array.from({ length: n }, (_, i) => z[3 * i] / Math.sqrt((z[3 * i + 1] ** 2 + z[3 * i + 2] ** 2) / 2));
}

const same = (a: ArrayLike<number>, b: ArrayLike<number>) => a.length === b.length && Array.from(a).every((v, i) => Object.is(v, b[i]));

describe('FPx simulated formats', () => {
  it('formats: standard bias and max; names and { e, m } both work', () => {
    const f = (n: string) => {
      const x = fpxFormat(n);
      return [x.e, x.m, x.standardBias, x.standardMax];
    };
    expect(f('E2M5')).toEqual([2, 5, 1, 7.875]);
    expect(f('E3M4')).toEqual([3, 4, 3, 31]);
    expect(f('e4m3')).toEqual([4, 3, 7, 480]); // all codes finite: S.1111.111 = 480 (E4M3FN stops at 448)
    expect(f('E5M2')).toEqual([5, 2, 15, 114688]);
    expect(fpxFormat({ e: 1, m: 6 }).name).toBe('E1M6');
  });

  it('bias <-> max: max = maxStd * 2^(b0 - b), inverse of each other, real-valued', () => {
    expect(fpxMaxForBias('E4M3', 7)).toBe(480);
    expect(fpxMaxForBias('E4M3', 8)).toBe(240);
    expect(fpxBiasForMax('E5M2', 114688 / 4)).toBe(17);
    for (const b of [-3.7, 0.25, 7, 11.1]) expect(fpxBiasForMax('E3M4', fpxMaxForBias('E3M4', b))).toBeCloseTo(b, 12);
  });

  it('E4M3 with the standard bias equals the E4M3FN codec within its range (|x| <= 464), E5M2 the E5M2 codec (|x| < 61440)', () => {
    const r = rng(3);
    for (const [name, fmt, limit, stdMax] of [['E4M3', 'e4m3fn', 464, 480], ['E5M2', 'e5m2', 61440, 114688]] as const) {
      // random values over the whole range, every code's value, and every midpoint between neighbours (ties)
      const vals: number[] = [];
      for (let i = 0; i < 20000; i++) vals.push((r() < 0.5 ? -1 : 1) * 2 ** (-20 + r() * 36) * (1 + r()));
      for (let c = 0; c < 0x7f; c++) {
        const v = fp8ToFloat(c, fmt);
        const w = fp8ToFloat(c + 1, fmt);
        if (Number.isFinite(v)) vals.push(v, -v);
        if (Number.isFinite(v) && Number.isFinite(w)) vals.push((v + w) / 2, -(v + w) / 2);
      }
      vals.push(0, -0, limit, -limit);
      const x = Float32Array.from(vals.filter((v) => Math.abs(v) <= limit && !(fmt === 'e5m2' && Math.abs(v) === limit)));
      const got = fpxQuantize(x, name, stdMax);
      const want = decodeFp8(encodeFp8(x, fmt, true), fmt);
      const bad = got.findIndex((v, i) => !Object.is(v, want[i]));
      expect(bad < 0 ? null : `x = ${x[bad]}: ${got[bad]} vs ${want[bad]}`, name).toBeNull();
      expect(x.length).toBeGreaterThan(15000);
    }
    // beyond E4M3FN's range the all-finite E4M3 goes on to 480; E4M3FN saturates at 448
    expect(Array.from(fpxQuantize(Float32Array.of(470, 1e6, -Infinity), 'E4M3', 480))).toEqual([480, 480, -480]);
  });

  it('ties go to the even code; NaN stays NaN, ±Inf saturates, -0 stays -0', () => {
    // E3M4, standard bias: step 1/16 in [1, 2)
    const x = Float32Array.of(1 + 1 / 32, 1 + 3 / 32, 31.5, 100, NaN, Infinity, -Infinity, -0, -1e-30, 2 ** -6 + 2 ** -8);
    const y = fpxQuantize(x, 'E3M4', 31);
    // the last: subnormal step 2^(emin - m) = 2^-6 ... 2^-2 * 2^-4: 2^-6 + 2^-8 = 1.25 steps -> 1 step
    expect(same(y, [1, 1.125, 31, 31, NaN, 31, -31, -0, -0, 2 ** -6])).toBe(true);
  });

  it('a real-valued bias is a scale: q(x; max) = s * q(x / s; maxStd) and every output is s times a grid value', () => {
    const x = gaussian(5000, 4);
    for (const name of ['E2M5', 'E3M4', 'E4M3', 'E5M2']) {
      const f = fpxFormat(name);
      // power-of-two scales: exact
      const s = 2 ** -3;
      expect(same(fpxQuantize(x, f, f.standardMax * s), fpxQuantize(x.map((v) => v / s), f, f.standardMax).map((v) => v * s))).toBe(true);
      // a non-power-of-two max: outputs / s land on the standard grid (quantizing them again changes nothing)
      const max = 3.3;
      const y = fpxQuantize(x, f, max);
      const k = max / f.standardMax;
      const grid = Float32Array.from(y, (v) => v / k);
      const again = fpxQuantize(grid, f, f.standardMax);
      for (let i = 0; i < y.length; i++) expect(Math.abs(again[i] - grid[i])).toBeLessThanOrEqual(1e-6 * Math.abs(grid[i]));
      expect(Math.max(...Array.from(y, Math.abs))).toBeLessThanOrEqual(Math.fround(max));
    }
  });

  it('search: never worse than max = absmax, per channel at least as good as per tensor, picks each channel its own range', () => {
    // 8 channels along axis 0 with scales from 0.01 to 100
    const dims = [8, 500];
    const base = gaussian(4000, 5);
    const x = base.map((v, i) => v * 10 ** (-2 + (4 * Math.floor(i / 500)) / 7));
    const layout = channelLayout(dims, 0);
    for (const name of ['E2M5', 'E4M3']) {
      const f = fpxFormat(name);
      const absmax = Math.max(...Array.from(x, Math.abs));
      const tensorWide = fpxSearch(x, f);
      expect(tensorWide.sqnrDb).toBeGreaterThanOrEqual(sqnrDb(x, fpxQuantize(x, f, absmax)));
      expect(tensorWide.max.length).toBe(1);
      expect(tensorWide.bias[0]).toBeCloseTo(fpxBiasForMax(f, tensorWide.max[0]), 12);
      const perChannel = fpxSearch(x, f, { layout });
      expect(perChannel.max.length).toBe(8);
      expect(perChannel.sqnrDb).toBeGreaterThanOrEqual(tensorWide.sqnrDb);
      expect(same(perChannel.y, fpxQuantize(x, f, perChannel.max, layout))).toBe(true);
      for (let c = 1; c < 8; c++) expect(perChannel.max[c] / perChannel.max[c - 1]).toBeGreaterThan(2); // the scales grow ~3.7x per channel
    }
  });

  it('SQNR ordering: Gaussian favours mantissa bits, heavy tails favour exponent bits (stated thresholds)', () => {
    const n = 20000;
    const g = gaussian(n, 6);
    const t = studentT2(n, 7);
    const sq = (x: Float32Array) => Object.fromEntries(['E2M5', 'E3M4', 'E4M3', 'E5M2'].map((f) => [f, fpxSearch(x, f).sqnrDb]));
    const G = sq(g);
    const T = sq(t);
    // measured, E2M5 / E3M4 / E4M3 / E5M2 (n = 20000): Gaussian 42.6 / 37.6 / 31.6 / 25.6 dB on every seed
    // tried (6-10); t(2) at seed 7 26.0 / 37.2 / 32.8 / 25.7 dB (over seeds 6-10, E2M5 20-26, E3M4 36-37.5,
    // E4M3 32-34: the tail sample moves E2M5 most)
    expect(G.E2M5 - G.E3M4).toBeGreaterThan(4);
    expect(G.E3M4 - G.E4M3).toBeGreaterThan(4);
    expect(G.E4M3 - G.E5M2).toBeGreaterThan(4);
    expect(G.E2M5).toBeGreaterThan(40);
    expect(T.E3M4 - T.E2M5).toBeGreaterThan(8);
    expect(T.E4M3 - T.E2M5).toBeGreaterThan(4);
    // the paper's point: the best format moves towards more exponent bits as the tails grow
    const best = (r: Record<string, number>) => Object.keys(r).reduce((a, b) => (r[a] >= r[b] ? a : b));
    expect(best(G)).toBe('E2M5');
    expect(['E3M4', 'E4M3']).toContain(best(T));
    expect(T.E4M3 - T.E2M5).toBeGreaterThan(G.E4M3 - G.E2M5 + 15);
  });

  it('bad inputs are clear errors', () => {
    const x = Float32Array.of(1, 2, 3, 4);
    const err = (fn: () => unknown, re: RegExp) => {
      expect(fn).toThrow(LowbitError);
      expect(fn).toThrow(re);
    };
    err(() => fpxFormat('E4M4'), /e \+ m = 7.*got e=4, m=4/);
    err(() => fpxFormat('FP8'), /format: expected a name like 'E4M3'/);
    err(() => fpxFormat({ e: 0, m: 7 }), /e >= 1/);
    err(() => fpxFormat(42 as unknown as string), /format: expected a name like 'E4M3' or \{ e, m \}, got 42/);
    err(() => fpxQuantize(x, 'E4M3', NaN), /max: must be finite and > 0, got NaN/);
    err(() => fpxQuantize(x, 'E4M3', Infinity), /max: must be finite and > 0, got Infinity/);
    err(() => fpxQuantize(x, 'E4M3', [1, 0], { outer: 1, channels: 2, inner: 2 }), /max\[1\]: must be finite and > 0, got 0/);
    err(() => fpxQuantize(x, 'E4M3', [1, 2, 3]), /max: expected 1 values/);
    err(() => fpxQuantize(x, 'E4M3', 1, { outer: 1, channels: 3, inner: 2 }), /layout: 1 x 3 x 2 = 6 elements but x has 4/);
    err(() => fpxMaxForBias('E4M3', Infinity), /bias: must be finite/);
    err(() => fpxBiasForMax('E4M3', -1), /max: must be finite and > 0, got -1/);
    err(() => fpxSearch(Float32Array.of(1, NaN), 'E3M4'), /x: fpxSearch needs finite values, got NaN at index 1/);
    err(() => fpxSearch(x, 'E3M4', { steps: 0 }), /steps: must be an integer from 1 to 4096/);
    err(() => fpxSearch(x, 'E3M4', { minRatio: 2, maxRatio: 1 }), /minRatio: must be <= maxRatio/);
    err(() => channelLayout([2, 3], 2), /axis: 2 is out of range for a rank-2 tensor/);
  });
});
