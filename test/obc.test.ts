// OBC pruning (src/quant/obc.ts): ExactOBS against a float64 brute force (every greedy step solved
// as a least-squares problem over the weights still free), the output error tr(ΔW H ΔWᵀ) below
// magnitude pruning's on every row (pruning alone, and pruning + int8), the pattern and the target
// met exactly, both engines (ExactOBS and the column sweep), dead inputs and bad arguments.

import { describe, expect, it } from 'vitest';
import { ArgumentError, ShapeError } from '../src/errors.js';
import { obcInt8, obcPrune } from '../src/quant/obc.js';
import { applyMask, pruneMask, quantizeRowsInt8, type PrunePattern } from '../src/quant/prune.js';
import { rowQuadForms } from '../src/quant/hessian.js';
import { randNormal, rng } from './helpers.js';

/** H = XᵀX / rows of correlated random inputs (rows = 3K): positive definite, far from diagonal. */
function randomHessian(k: number, r: () => number): Float64Array {
  const rows = 3 * k, z = randNormal(rows * k, r), mix = randNormal(k * k, r);
  const x = new Float64Array(rows * k);
  for (let s = 0; s < rows; s++) for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) x[s * k + i] += z[s * k + j] * (mix[j * k + i] * 0.4 + (i === j ? 1 : 0));
  const h = new Float64Array(k * k);
  for (let s = 0; s < rows; s++) for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) h[i * k + j] += (x[s * k + i] * x[s * k + j]) / rows;
  return h;
}

/** Solves A x = b (Gaussian elimination with partial pivoting; A is m x m, copied). */
function solve(a: Float64Array, b: Float64Array, m: number): Float64Array {
  const A = Float64Array.from(a), x = Float64Array.from(b);
  for (let c = 0; c < m; c++) {
    let p = c;
    for (let r = c + 1; r < m; r++) if (Math.abs(A[r * m + c]) > Math.abs(A[p * m + c])) p = r;
    for (let j = 0; j < m; j++) [A[c * m + j], A[p * m + j]] = [A[p * m + j], A[c * m + j]];
    [x[c], x[p]] = [x[p], x[c]];
    for (let r = c + 1; r < m; r++) {
      const f = A[r * m + c] / A[c * m + c];
      for (let j = c; j < m; j++) A[r * m + j] -= f * A[c * m + j];
      x[r] -= f * x[c];
    }
  }
  for (let c = m - 1; c >= 0; c--) {
    for (let j = c + 1; j < m; j++) x[c] -= A[c * m + j] * x[j];
    x[c] /= A[c * m + c];
  }
  return x;
}

/** The best row with the columns in `pruned` at 0, by least squares: w' = w + δ, δ_P = −w_P, H_SS δ_S = −H_SP δ_P. */
function bestRow(w: ArrayLike<number>, h: Float64Array, k: number, pruned: Set<number>): { row: Float64Array; err: number } {
  const s = [...Array(k).keys()].filter((c) => !pruned.has(c));
  const delta = new Float64Array(k);
  for (const c of pruned) delta[c] = -w[c];
  if (s.length) {
    const hs = new Float64Array(s.length * s.length), rhs = new Float64Array(s.length);
    s.forEach((i, a) => {
      s.forEach((j, b) => (hs[a * s.length + b] = h[i * k + j]));
      for (const p of pruned) rhs[a] -= h[i * k + p] * delta[p];
    });
    solve(hs, rhs, s.length).forEach((v, a) => (delta[s[a]] = v));
  }
  const row = Float64Array.from({ length: k }, (_, c) => (pruned.has(c) ? 0 : w[c] + delta[c]));
  return { row, err: rowQuadForms(h, k, delta, null, 1)[0] };
}

/**
 * Brute-force greedy OBS on a band of rows sharing a mask: at each step every allowed group is
 * tried by least squares from the original weights, the one adding the least error goes.
 */
function bruteForce(w: Float32Array, k: number, rows: number[], h: Float64Array, groups: number[][], remove: number, allowed: (pruned: Set<number>, g: number[]) => boolean): { pruned: Set<number>; out: Float64Array[] } {
  const pruned = new Set<number>();
  for (let step = 0; step < remove; step++) {
    let best: number[] | null = null, bestErr = Infinity;
    for (const g of groups) {
      if (g.some((c) => pruned.has(c)) || !allowed(pruned, g)) continue;
      const trial = new Set([...pruned, ...g]);
      const err = rows.reduce((s, r) => s + bestRow(w.subarray(r * k, (r + 1) * k), h, k, trial).err, 0);
      if (err < bestErr) (bestErr = err), (best = g);
    }
    for (const c of best!) pruned.add(c);
  }
  return { pruned, out: rows.map((r) => bestRow(w.subarray(r * k, (r + 1) * k), h, k, pruned).row) };
}

const zeros = (m: Uint8Array) => m.reduce((s, v) => s + (v ? 0 : 1), 0);
const exactOnly = { exactBudget: Infinity, dampPercent: 0, rowBudget: 'magnitude' } as const;

describe('OBC pruning', () => {
  it('ExactOBS equals a float64 brute force (least squares at every greedy step): unstructured, 2:4, 2x2 blocks', () => {
    const cases: [PrunePattern, number, number, number][] = [
      [{ kind: 'unstructured' }, 3, 7, 0.5],
      [{ kind: 'nm', n: 2, m: 4 }, 2, 9, 0.5],
      [{ kind: 'block', rows: 2, cols: 2 }, 4, 6, 0.5],
    ];
    for (const [pattern, n, k, target] of cases) {
      const r = rng(n * 100 + k);
      const w = randNormal(n * k, r), h = randomHessian(k, r);
      const got = obcPrune(w, n, k, h, pattern, target, exactOnly);
      expect(got.exact).toBe(true);
      const magnitude = pruneMask(w, n, k, pattern, target).mask;
      const band = pattern.kind === 'block' ? pattern.rows : 1, gw = pattern.kind === 'block' ? pattern.cols : 1;
      const groups = Array.from({ length: Math.ceil(k / gw) }, (_, g) => Array.from({ length: Math.min(gw, k - g * gw) }, (_, i) => g * gw + i));
      for (let r0 = 0; r0 < n; r0 += band) {
        const rows = Array.from({ length: Math.min(band, n - r0) }, (_, i) => r0 + i);
        const remove = groups.filter((g) => !magnitude[r0 * k + g[0]]).length;
        const allowed = (p: Set<number>, g: number[]) => pattern.kind !== 'nm' || [...p].filter((c) => Math.floor(c / 4) === Math.floor(g[0] / 4)).length < Math.max(0, Math.min(4, k - Math.floor(g[0] / 4) * 4) - 2);
        const ref = bruteForce(w, k, rows, h, groups, remove, allowed);
        rows.forEach((row, i) => {
          for (let c = 0; c < k; c++) {
            expect(got.mask[row * k + c], `${pattern.kind} row ${row} col ${c}`).toBe(ref.pruned.has(c) ? 0 : 1);
            expect(got.w[row * k + c]).toBeCloseTo(ref.out[i][c], 9);
          }
        });
      }
    }
  });

  const patterns: [string, PrunePattern, number][] = [
    ['unstructured 50%', { kind: 'unstructured' }, 0.5],
    ['unstructured 75%', { kind: 'unstructured' }, 0.75],
    ['2:4', { kind: 'nm', n: 2, m: 4 }, 0.5],
    ['block4x4 50%', { kind: 'block', rows: 4, cols: 4 }, 0.5],
  ];

  for (const [engine, options] of [['ExactOBS (no guard)', { exactBudget: Infinity, solveBudget: 0, rowBudget: 'magnitude' }], ['column sweep', { exactBudget: 0, blockColumns: 16, rowBudget: 'magnitude' }]] as const) {
    it(`${engine}, magnitude's count per row: the pattern and target exactly as magnitude's; output error below magnitude's on every row (pruning, and pruning + int8)`, () => {
      for (const [name, pattern, target] of patterns) {
        for (const [n, k, seed] of [[16, 40, 1], [10, 37, 2]]) {
          const r = rng(seed * 7 + k);
          const w = randNormal(n * k, r), h = randomHessian(k, r);
          const mag = pruneMask(w, n, k, pattern, target).mask;
          const pruned = obcPrune(w, n, k, h, pattern, target, options);
          expect(pruned.exact).toBe(engine !== 'column sweep');
          // the pattern: zeros where pruned, as many weights (blocks: whole blocks, edge ones partial) per row (band) as magnitude's
          for (let i = 0; i < n * k; i++) if (!pruned.mask[i]) expect(pruned.w[i]).toBe(0);
          const units = (m: Uint8Array, j: number) => (pattern.kind === 'block' ? Array.from({ length: Math.ceil(k / 4) }, (_, g) => m[j * k + 4 * g]) : [...m.subarray(j * k, (j + 1) * k)]).filter((v) => !v).length;
          for (let j = 0; j < n; j++) expect(units(pruned.mask, j), `${name} row ${j}`).toBe(units(mag, j));
          if (pattern.kind !== 'block') expect(zeros(pruned.mask), name).toBe(zeros(mag));
          if (pattern.kind === 'nm') {
            for (let j = 0; j < n; j++) for (let g = 0; g < k; g += 4) expect(zeros(pruned.mask.subarray(j * k + g, j * k + Math.min(k, g + 4)))).toBe(Math.max(0, Math.min(4, k - g) - 2));
          }
          if (pattern.kind === 'block') {
            for (let j = 0; j < n; j++) for (let c = 0; c < k; c++) expect(pruned.mask[j * k + c], `${name} (${j}, ${c})`).toBe(pruned.mask[(j - (j % 4)) * k + c - (c % 4)]);
          }
          // a block's rows share its mask: the unit compared is the band of 4 rows (a row alone for the rest)
          const band = pattern.kind === 'block' ? pattern.rows : 1;
          const byBand = (e: Float64Array) => Array.from({ length: Math.ceil(n / band) }, (_, b) => e.slice(b * band, (b + 1) * band).reduce((s, v) => s + v, 0));
          const magErr = byBand(rowQuadForms(h, k, w, applyMask(w, mag), n));
          const obcErr = byBand(rowQuadForms(h, k, w, pruned.w, n));
          obcErr.forEach((e, b) => expect(e, `${name} ${n}x${k} row/band ${b}`).toBeLessThan(magErr[b]));

          // joint: OBC + int8 (GPTQ-style) against magnitude + int8 round to nearest
          const joint = obcInt8(w, n, k, h, pattern, target, options);
          expect([...joint.mask]).toEqual([...pruned.mask]);
          for (let i = 0; i < n * k; i++) {
            if (!joint.mask[i]) expect(joint.q[i]).toBe(0);
            expect(Math.abs(joint.q[i])).toBeLessThanOrEqual(127);
            expect(joint.w[i]).toBe(joint.q[i] * joint.scales[Math.floor(i / k)]);
          }
          const m8 = quantizeRowsInt8(applyMask(w, mag), n, k);
          const magQ = Float64Array.from(m8.q, (v, i) => v * m8.scales[Math.floor(i / k)]);
          const magQErr = byBand(rowQuadForms(h, k, w, magQ, n));
          byBand(rowQuadForms(h, k, w, joint.w, n)).forEach((e, b) => expect(e, `${name} int8 row/band ${b}`).toBeLessThan(magQErr[b]));
        }
      }
    });
  }

  for (const engine of ['ExactOBS', 'column sweep'] as const) {
    it(`${engine}, even rows (the default): magnitude's total spread evenly over the rows (bands); below magnitude at those counts on every row, and below global magnitude in all`, () => {
      for (const [name, pattern, target] of patterns) {
        const n = 18, k = 40, r = rng(11);
        const w = randNormal(n * k, r), h = randomHessian(k, r);
        const mag = pruneMask(w, n, k, pattern, target).mask;
        const o = obcInt8(w, n, k, h, pattern, target, engine === 'ExactOBS' ? { exactBudget: Infinity } : { exactBudget: 0, blockColumns: 16 });
        const band = pattern.kind === 'block' ? 4 : 1;
        const units = (m: Uint8Array, j: number) => (pattern.kind === 'block' ? Array.from({ length: k / 4 }, (_, g) => m[j * k + 4 * g]) : [...m.subarray(j * k, (j + 1) * k)]).filter((v) => !v).length;
        const per = Array.from({ length: Math.ceil(n / band) }, (_, b) => units(o.mask, b * band));
        expect(per.reduce((a, v) => a + v, 0), name).toBe(Array.from({ length: Math.ceil(n / band) }, (_, b) => units(mag, b * band)).reduce((a, v) => a + v, 0));
        expect(Math.max(...per) - Math.min(...per), name).toBeLessThanOrEqual(1);
        // magnitude at the same counts per row: the smallest |w| of each row (Σ w² of each band's blocks)
        // (N:M: magnitude's own mask, its counts are fixed)
        const same = pattern.kind === 'nm' ? mag : new Uint8Array(n * k).fill(1);
        if (pattern.kind !== 'nm') per.forEach((cnt, b) => {
          const r0 = b * band, r1 = Math.min(n, r0 + band), gw = band === 4 ? 4 : 1;
          const score = Array.from({ length: k / gw }, (_, g) => { let t = 0; for (let j = r0; j < r1; j++) for (let c = g * gw; c < (g + 1) * gw; c++) t += w[j * k + c] ** 2; return t; });
          const order = score.map((_, g) => g).sort((a, b2) => score[a] - score[b2] || a - b2).slice(0, cnt);
          for (const g of order) for (let j = r0; j < r1; j++) for (let c = g * gw; c < (g + 1) * gw; c++) same[j * k + c] = 0;
        });
        const q8 = (m: Uint8Array) => { const t = quantizeRowsInt8(applyMask(w, m), n, k); return Float64Array.from(t.q, (v, i) => v * t.scales[Math.floor(i / k)]); };
        const e = rowQuadForms(h, k, w, o.w, n), eSame = rowQuadForms(h, k, w, q8(same), n);
        for (let b = 0; b * band < n; b++) {
          let a = 0, c = 0;
          for (let j = b * band; j < Math.min(n, (b + 1) * band); j++) (a += e[j]), (c += eSame[j]);
          expect(a, `${name} ${engine} band ${b}`).toBeLessThan(c);
        }
        const sum = (x: Float64Array) => x.reduce((t, v) => t + v, 0);
        expect(sum(e), name).toBeLessThan(sum(rowQuadForms(h, k, w, q8(mag), n)));
      }
    });
  }

  it('the column sweep stays close to ExactOBS (within 2x of its layer error) and both far below magnitude', () => {
    const n = 24, k = 64, r = rng(5);
    const w = randNormal(n * k, r), h = randomHessian(k, r);
    const total = (a: Float64Array | Float32Array) => rowQuadForms(h, k, w, a, n).reduce((s, v) => s + v, 0);
    const mag = total(applyMask(w, pruneMask(w, n, k, { kind: 'unstructured' }, 0.5).mask));
    const exact = total(obcPrune(w, n, k, h, { kind: 'unstructured' }, 0.5, { exactBudget: Infinity }).w);
    const cols = total(obcPrune(w, n, k, h, { kind: 'unstructured' }, 0.5, { exactBudget: 0, blockColumns: 16 }).w);
    expect(exact).toBeLessThan(mag / 2);
    expect(cols).toBeLessThan(2 * exact);
  });

  it('dead inputs (H_qq = 0) are pruned first at no cost, their weights 0', () => {
    const n = 4, k = 12, r = rng(9);
    const w = randNormal(n * k, r), h = randomHessian(k, r);
    for (const q of [3, 7]) for (let i = 0; i < k; i++) h[q * k + i] = h[i * k + q] = 0;
    for (const exactBudget of [Infinity, 0]) {
      const p = obcInt8(w, n, k, h, { kind: 'unstructured' }, 0.25, { exactBudget });
      for (let j = 0; j < n; j++) for (const q of [3, 7]) expect(p.mask[j * k + q]).toBe(0);
      expect(p.w.every(Number.isFinite)).toBe(true);
    }
  });

  it('bad arguments are typed errors', () => {
    const h = randomHessian(4, rng(1)), w = randNormal(8, rng(2));
    expect(() => obcPrune(w, 2, 4, new Float64Array(9), { kind: 'unstructured' }, 0.5)).toThrow(ShapeError);
    expect(() => obcPrune(w, 3, 4, h, { kind: 'unstructured' }, 0.5)).toThrow(ShapeError);
    expect(() => obcPrune(w, 2, 4, h, { kind: 'unstructured' }, 1.5)).toThrow(ArgumentError);
    expect(() => obcPrune(w, 2, 4, h, { kind: 'unstructured' }, 0.5, { dampPercent: -1 })).toThrow(ArgumentError);
    expect(() => obcPrune(w, 2, 4, h, { kind: 'unstructured' }, 0.5, { rowBudget: 'global' as never })).toThrow(ArgumentError);
    expect(() => obcPrune(w, 2, 4, h, { kind: 'unstructured' }, 0.5, { exactBudget: 0, blockColumns: 0 })).toThrow(ArgumentError);
    expect(() => obcPrune(Float32Array.of(1, NaN, 0, 0, 0, 0, 0, 0), 2, 4, h, { kind: 'unstructured' }, 0.5)).toThrow(ArgumentError);
  });
});
