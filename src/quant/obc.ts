// Optimal Brain Compression's pruning (Frantar & Alistarh 2022, "Optimal Brain Compression: A
// Framework for Accurate Post-Training Quantization and Pruning"), joint with int8 quantization, for
// the patterns the sparse kernels run (src/quant/prune.ts: unstructured, N:M, blocks). W is N x K
// (a row is an output channel); H = XᵀX / rows is the layer input's second moment, so the layer's
// output error is tr(ΔW H ΔWᵀ) = Σ_rows Δw H Δwᵀ (src/quant/hessian.ts) and the rows are independent.
//
// ExactOBS (the paper's algorithm, row-wise and greedy): with H⁻¹ of the weights still free, removing
// weight q costs w_q² / [H⁻¹]_qq; the cheapest goes, the rest of the row is corrected by
// δw = −w_q [H⁻¹]_{q,:} / [H⁻¹]_qq, and H⁻¹ loses q by the rank-1 downdate
// H⁻¹ −= H⁻¹_{:,q} H⁻¹_{q,:} / [H⁻¹]_qq. Groups (the paper's block OBS step): removing the columns G
// costs w_G (H⁻¹_GG)⁻¹ w_Gᵀ, the correction is −w_G (H⁻¹_GG)⁻¹ H⁻¹_{G,:}, the downdate rank |G|. A
// pattern's block of R rows x C columns is a group of C columns removed from a band of R rows at
// once: the band's rows share their mask, hence one H⁻¹, and a block costs the sum over its rows.
// N:M: single columns, at most M − N removed from each group of M (the paper's constrained greedy).
//
// How many weights each row (band) loses: by default the same for every row (band), the total of
// the magnitude mask of the same pattern and target spread evenly (rowBudget 'uniform'), so the
// pattern and the sparsity are exactly magnitude's; or magnitude's own count per row (rowBudget
// 'magnitude': its global |w| threshold, which on PP-OCRv4 strips some rows of most of their weights:
// unstructured 50% read 76.0% of the test lines that way, 93.9% with even rows).
// ExactOBS costs about (weights removed) x K² per row; above `exactBudget` multiply-adds a layer
// takes the column sweep instead (SparseGPT, Frantar & Alistarh 2023, which is OBC's sequential
// scheme: one Cholesky factor of H⁻¹ shared by all rows): the columns are taken left to right in
// blocks; at a block's start its mask is chosen from w² / [chol(H⁻¹)]_cc² of the values as the
// columns before it left them (the same budget per row or band, spread evenly over the blocks; N:M
// per group of M); each column's error (a pruned weight's whole value) is spread over the columns
// after it, as GPTQ does with its rounding error. The sweep's weights only moved forward along K, so
// the kept weights are then solved exactly for its mask (per band, a Cholesky of H restricted to
// them, within `solveBudget`), and a guard keeps, per band, magnitude's mask with solved weights
// where that has less output error (on random strongly correlated H the sweep's mask can lose).
//
// Joint compression (the paper's "prune, then quantize"): the kept weights are then quantized to
// int8 per row (scale max|w| / 127 of the pruned row) by the same column sweep with the mask fixed:
// every rounding error (and a pruned weight's drift back from zero) corrected on the columns after
// it, GPTQ-style. Float64 throughout; the factorizations are gptq.ts's.

import { ArgumentError, ShapeError } from '../errors.js';
import { choleskyLower, gptqFactor, inverseCholeskyUpper } from './gptq.js';
import { rowQuadForms } from './hessian.js';
import { pruneMask, type PrunePattern } from './prune.js';
import { roundHalfEven } from './rounding.js';

export interface ObcOptions {
  /** added to H's diagonal, as a fraction of its mean (default 0.01, GPTQ's) */
  dampPercent?: number;
  /** ExactOBS when its cost (weights removed x K², multiply-adds) is at most this, else the column sweep (default 5e8) */
  exactBudget?: number;
  /** after the sweep, the kept weights solved exactly for its mask when that costs (Σ_bands |kept|³ / 3) at most this (default 1e10) */
  solveBudget?: number;
  /** how many weights each row (band of rows for blocks) loses: 'uniform' (default) or magnitude pruning's count per row */
  rowBudget?: 'uniform' | 'magnitude';
  /** columns per block of the sweep's mask choice (default 128; rounded up to the pattern's group) */
  blockColumns?: number;
}

export interface ObcPruned {
  /** N x K, the pruned weights corrected (0 where pruned) */
  w: Float64Array;
  /** N x K, 1 = kept */
  mask: Uint8Array;
  /** whether ExactOBS ran (false: the column sweep) */
  exact: boolean;
}

export interface ObcInt8 extends ObcPruned {
  /** int8 codes N x K (0 where pruned; a kept weight may round to 0), and the scale per row */
  q: Int8Array;
  scales: Float32Array;
}

const DEFAULT_BUDGET = 5e8;
const DEFAULT_SOLVE = 1e10;

/** The weights as float64 and H damped, dead inputs (H_qq = 0: never nonzero) set to H_qq = 1 with their weights 0. */
function prepare(w: ArrayLike<number>, n: number, k: number, h: Float64Array, damp: number): { wd: Float64Array; hd: Float64Array } {
  for (const [name, v] of [['n', n], ['k', k]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new ShapeError(`obc: ${name} must be a positive integer, got ${v}`);
  }
  if (w.length !== n * k) throw new ShapeError(`obc: w has ${w.length} elements, expected n*k = ${n}*${k}`);
  if (!(h instanceof Float64Array) || h.length !== k * k) throw new ShapeError(`obc: hessian must be a Float64Array of K x K = ${k * k}, got ${h?.length}`);
  if (!(typeof damp === 'number' && damp >= 0 && Number.isFinite(damp))) throw new ArgumentError(`obc: dampPercent must be a finite number >= 0, got ${damp}`);
  const wd = Float64Array.from(w as ArrayLike<number>);
  for (let i = 0; i < wd.length; i++) if (!Number.isFinite(wd[i])) throw new ArgumentError(`obc: w[${i}] is ${wd[i]}; weights must be finite`);
  const hd = Float64Array.from(h);
  let mean = 0;
  for (let i = 0; i < k; i++) {
    if (hd[i * k + i] === 0) {
      hd[i * k + i] = 1;
      for (let r = 0; r < n; r++) wd[r * k + i] = 0;
    }
    mean += hd[i * k + i];
  }
  mean /= k;
  for (let i = 0; i < k; i++) hd[i * k + i] += damp * mean;
  return { wd, hd };
}

/** The inverse of a small g x g matrix (Gauss-Jordan, partial pivoting). */
function invertSmall(a: Float64Array, g: number): Float64Array {
  const m = Float64Array.from(a), inv = new Float64Array(g * g);
  for (let i = 0; i < g; i++) inv[i * g + i] = 1;
  for (let c = 0; c < g; c++) {
    let p = c;
    for (let r = c + 1; r < g; r++) if (Math.abs(m[r * g + c]) > Math.abs(m[p * g + c])) p = r;
    for (let j = 0; j < g; j++) {
      [m[c * g + j], m[p * g + j]] = [m[p * g + j], m[c * g + j]];
      [inv[c * g + j], inv[p * g + j]] = [inv[p * g + j], inv[c * g + j]];
    }
    const d = m[c * g + c];
    for (let j = 0; j < g; j++) (m[c * g + j] /= d), (inv[c * g + j] /= d);
    for (let r = 0; r < g; r++) {
      if (r === c) continue;
      const f = m[r * g + c];
      if (f !== 0) for (let j = 0; j < g; j++) (m[r * g + j] -= f * m[c * g + j]), (inv[r * g + j] -= f * inv[c * g + j]);
    }
  }
  return inv;
}

/** H⁻¹ in full (K x K) from H = (damped, positive definite): H⁻¹ = UᵀU with gptq.ts's U. */
function fullInverse(hd: Float64Array, k: number): Float64Array {
  const u = inverseCholeskyUpper(hd, k);
  const out = new Float64Array(k * k);
  for (let p = 0; p < k; p++) {
    const up = p * k;
    for (let i = p; i < k; i++) {
      const f = u[up + i];
      if (f === 0) continue;
      const oi = i * k;
      for (let j = p; j <= i; j++) out[oi + j] += f * u[up + j];
    }
  }
  for (let i = 0; i < k; i++) for (let j = 0; j < i; j++) out[j * k + i] = out[i * k + j];
  return out;
}

/** How a pattern splits a matrix: bands of rows sharing a mask, groups of columns removed together, N:M's caps. */
interface Layout {
  bandRows: number;
  groups: Int32Array[];
  /** N:M: the group of M each column belongs to, and how many of each may go */
  capOf?: Int32Array;
  caps?: Int32Array;
}

function layoutOf(pattern: PrunePattern, k: number): Layout {
  if (pattern.kind === 'block') {
    const groups: Int32Array[] = [];
    for (let c = 0; c < k; c += pattern.cols) groups.push(Int32Array.from({ length: Math.min(pattern.cols, k - c) }, (_, i) => c + i));
    return { bandRows: pattern.rows, groups };
  }
  const groups = Array.from({ length: k }, (_, c) => Int32Array.of(c));
  if (pattern.kind === 'unstructured') return { bandRows: 1, groups };
  const { n: keep, m } = pattern;
  const caps = Int32Array.from({ length: Math.ceil(k / m) }, (_, g) => Math.max(0, Math.min(m, k - g * m) - keep));
  return { bandRows: 1, groups, capOf: Int32Array.from({ length: k }, (_, c) => Math.floor(c / m)), caps };
}

/** Groups each band loses under the magnitude mask (a group is pruned in a band when its first entry is). */
function bandCounts(mask: Uint8Array, n: number, k: number, lay: Layout): Int32Array {
  const bands = Math.ceil(n / lay.bandRows);
  const out = new Int32Array(bands);
  for (let b = 0; b < bands; b++) for (const g of lay.groups) if (!mask[b * lay.bandRows * k + g[0]]) out[b]++;
  return out;
}

/**
 * ExactOBS on one band of rows (they share a mask and H⁻¹, `hinv`, consumed): removes `remove`
 * groups greedily, correcting the rows of `w` in place; returns which groups went.
 */
function exactObsBand(w: Float64Array, k: number, rows: readonly number[], hinv: Float64Array, lay: Layout, remove: number): Uint8Array {
  const { groups } = lay;
  const caps = lay.caps ? Int32Array.from(lay.caps) : undefined;
  const removed = new Uint8Array(groups.length);
  const alive = new Uint8Array(k).fill(1);
  for (let step = 0; step < remove; step++) {
    let best = -1, bestLoss = Infinity;
    for (let gi = 0; gi < groups.length; gi++) {
      if (removed[gi] || (caps && caps[lay.capOf![gi]] === 0)) continue;
      const loss = groupLoss(w, k, rows, hinv, groups[gi]);
      if (best < 0 || loss < bestLoss) (best = gi), (bestLoss = loss);
    }
    if (best < 0) break;
    removeGroup(w, k, rows, hinv, groups[best], alive);
    removed[best] = 1;
    if (caps) caps[lay.capOf![best]]--;
  }
  return removed;
}

/** Σ over the band's rows of w_G (H⁻¹_GG)⁻¹ w_Gᵀ: the output error removing G adds (NaN counts as Infinity). */
function groupLoss(w: Float64Array, k: number, rows: readonly number[], hinv: Float64Array, g: Int32Array): number {
  let loss = 0;
  if (g.length === 1) {
    const q = g[0], d = hinv[q * k + q];
    for (const r of rows) loss += (w[r * k + q] * w[r * k + q]) / d;
  } else {
    const gl = g.length, a = new Float64Array(gl * gl);
    for (let i = 0; i < gl; i++) for (let j = 0; j < gl; j++) a[i * gl + j] = hinv[g[i] * k + g[j]];
    const inv = invertSmall(a, gl);
    for (const r of rows) {
      for (let i = 0; i < gl; i++) {
        let s = 0;
        for (let j = 0; j < gl; j++) s += inv[i * gl + j] * w[r * k + g[j]];
        loss += w[r * k + g[i]] * s;
      }
    }
  }
  return Number.isNaN(loss) ? Infinity : loss;
}

/** The OBS step for group G: the band's rows corrected, G zeroed, H⁻¹ downdated (G's rows and columns become 0). */
function removeGroup(w: Float64Array, k: number, rows: readonly number[], hinv: Float64Array, g: Int32Array, alive: Uint8Array): void {
  const gl = g.length, a = new Float64Array(gl * gl);
  for (let i = 0; i < gl; i++) for (let j = 0; j < gl; j++) a[i * gl + j] = hinv[g[i] * k + g[j]];
  const inv = invertSmall(a, gl);
  // B = (H⁻¹_GG)⁻¹ H⁻¹_{G,:}
  const b = new Float64Array(gl * k);
  for (let i = 0; i < gl; i++) {
    for (let j = 0; j < gl; j++) {
      const f = inv[i * gl + j], src = g[j] * k;
      if (f !== 0) for (let c = 0; c < k; c++) b[i * k + c] += f * hinv[src + c];
    }
  }
  for (const r of rows) {
    const o = r * k;
    for (let i = 0; i < gl; i++) {
      const f = w[o + g[i]];
      if (f !== 0) for (let c = 0; c < k; c++) w[o + c] -= f * b[i * k + c];
    }
    for (const q of g) w[o + q] = 0;
  }
  for (const q of g) alive[q] = 0;
  const f = new Float64Array(gl);
  for (let row = 0; row < k; row++) {
    if (!alive[row]) continue;
    const o = row * k;
    for (let i = 0; i < gl; i++) f[i] = hinv[o + g[i]];
    for (let i = 0; i < gl; i++) if (f[i] !== 0) for (let c = 0; c < k; c++) hinv[o + c] -= f[i] * b[i * k + c];
  }
  for (const q of g) for (let c = 0; c < k; c++) hinv[q * k + c] = hinv[c * k + q] = 0;
}

/** ExactOBS over every band: the corrected weights (in place) and the mask. */
function exactObs(wd: Float64Array, n: number, k: number, hd: Float64Array, lay: Layout, counts: Int32Array): Uint8Array {
  const hinv = fullInverse(hd, k);
  const mask = new Uint8Array(n * k).fill(1);
  const work = new Float64Array(k * k);
  for (let b = 0; b < counts.length; b++) {
    const rows = Array.from({ length: Math.min(lay.bandRows, n - b * lay.bandRows) }, (_, i) => b * lay.bandRows + i);
    work.set(hinv);
    const removed = exactObsBand(wd, k, rows, work, lay, counts[b]);
    for (let gi = 0; gi < removed.length; gi++) if (removed[gi]) for (const r of rows) for (const c of lay.groups[gi]) mask[r * k + c] = 0;
  }
  return mask;
}

/** `count` indices of the smallest scores (ties: lower index first). */
function smallestIndices(scores: Float64Array, count: number): number[] {
  const idx = Array.from(scores.keys());
  idx.sort((a, b) => scores[a] - scores[b] || a - b);
  return idx.slice(0, count);
}

/** The share of `total` falling to [lo, hi) of `of` items, by cumulative rounding (the shares add up to total exactly). */
const share = (total: number, lo: number, hi: number, of: number): number => Math.round((total * hi) / of) - Math.round((total * lo) / of);

/**
 * The column sweep over W (N x K, float64, not modified) with R = gptqFactor(H)'s lower triangle:
 * columns left to right in blocks of `bs`; `choose(c0, c1, vals, rdiag)` (null: `mask` fixed) sets
 * the mask of a block's columns from their values as the columns before the block left them
 * (vals: N x bs); `round(row, column, v)` is what a kept weight becomes (null: v). Returns the final
 * weights. Each column's error is spread over the columns after it (GPTQ's recurrence: with d the
 * final weights' distance from W, the value reaching column c is w_c + Σ_{j<c} d_j R[c][j] / R[c][c]).
 */
function sweep(
  w: Float64Array, n: number, k: number, r: Float64Array, mask: Uint8Array, bs: number,
  choose: ((c0: number, c1: number, vals: Float64Array, rdiag: Float64Array) => void) | null,
  round: ((row: number, column: number, v: number) => number) | null,
): Float64Array {
  const out = new Float64Array(n * k), d = new Float64Array(n * k);
  const rdiag = Float64Array.from({ length: k }, (_, i) => r[i * k + i]);
  const t = new Float64Array(n * bs), vals = new Float64Array(n * bs);
  for (let c0 = 0; c0 < k; c0 += bs) {
    const c1 = Math.min(k, c0 + bs), nb = c1 - c0;
    // t[j][a] = Σ_{i < c0} d_j,i R[c0+a][i]: the columns before the block
    for (let j = 0; j < n; j++) {
      const dj = j * k;
      for (let a = 0; a < nb; a++) {
        const ra = (c0 + a) * k;
        let s = 0;
        for (let i = 0; i < c0; i++) s += d[dj + i] * r[ra + i];
        t[j * bs + a] = s;
      }
    }
    if (choose) {
      // the values as the columns before the block left them: w + y, y Ũ[c0:c1, c0:c1] = t (forward substitution)
      for (let j = 0; j < n; j++) {
        for (let a = 0; a < nb; a++) {
          const ra = (c0 + a) * k + c0;
          let z = t[j * bs + a];
          for (let e = 0; e < a; e++) z -= (vals[j * bs + e] - w[j * k + c0 + e]) * r[ra + e];
          vals[j * bs + a] = w[j * k + c0 + a] + z / rdiag[c0 + a];
        }
      }
      choose(c0, c1, vals, rdiag);
    }
    for (let j = 0; j < n; j++) {
      const o = j * k, tj = j * bs;
      for (let a = 0; a < nb; a++) {
        const c = c0 + a;
        const v = w[o + c] + t[tj + a] / rdiag[c];
        const fin = mask[o + c] ? (round ? round(j, c, v) : v) : 0;
        out[o + c] = fin;
        const dc = w[o + c] - fin;
        d[o + c] = dc;
        if (dc !== 0) for (let b = a + 1; b < nb; b++) t[tj + b] += dc * r[(c0 + b) * k + c];
      }
    }
  }
  return out;
}

/** The sweep's mask choice for a pattern, within the per-band budgets `counts`. */
function sweepChooser(n: number, k: number, lay: Layout, counts: Int32Array, mask: Uint8Array, bs: number) {
  const gw = lay.groups[0].length; // group width (1, or a block's columns)
  const totalGroups = lay.groups.length;
  return (c0: number, c1: number, vals: Float64Array, rdiag: Float64Array): void => {
    const score = (j: number, c: number) => (vals[j * bs + c - c0] * rdiag[c]) ** 2;
    const g0 = c0 / gw, g1 = Math.ceil(c1 / gw);
    if (lay.caps) {
      // N:M: the cap of each group of M within the block goes, per row
      for (let j = 0; j < n; j++) {
        for (let c = c0; c < c1;) {
          const cap = lay.capOf![c];
          let e = c;
          while (e < c1 && lay.capOf![e] === cap) e++;
          const s = Float64Array.from({ length: e - c }, (_, i) => score(j, c + i));
          for (const i of smallestIndices(s, lay.caps[cap])) mask[j * k + c + i] = 0;
          c = e;
        }
      }
      return;
    }
    for (let b = 0; b < counts.length; b++) {
      const r0 = b * lay.bandRows, r1 = Math.min(n, r0 + lay.bandRows);
      const s = new Float64Array(g1 - g0);
      for (let gi = g0; gi < g1; gi++) for (const c of lay.groups[gi]) for (let j = r0; j < r1; j++) s[gi - g0] += score(j, c);
      for (const i of smallestIndices(s, share(counts[b], g0, g1, totalGroups))) {
        for (const c of lay.groups[g0 + i]) for (let j = r0; j < r1; j++) mask[j * k + c] = 0;
      }
    }
  };
}

/**
 * The best kept weights for a fixed mask, band by band (a band's rows share their kept columns S):
 * minimising (w' − w) H (w' − w)ᵀ with w'_P = 0 gives H_SS w'_S = (H wᵀ)_S, solved by Cholesky.
 * Written into `out` (N x K).
 */
function bestKept(w: Float64Array, n: number, k: number, hd: Float64Array, mask: Uint8Array, bandRows: number, out: Float64Array): void {
  for (let r0 = 0; r0 < n; r0 += bandRows) {
    const s: number[] = [];
    for (let c = 0; c < k; c++) if (mask[r0 * k + c]) s.push(c);
    const m = s.length;
    if (m === 0) continue;
    const a = new Float64Array(m * m);
    for (let i = 0; i < m; i++) for (let j = 0; j <= i; j++) a[i * m + j] = hd[s[i] * k + s[j]];
    if (choleskyLower(a, m) >= 0) continue; // not factorable: the sweep's weights stay
    for (let row = r0; row < Math.min(n, r0 + bandRows); row++) {
      // rhs = (H wᵀ)_S, then L y = rhs, Lᵀ x = y
      const x = new Float64Array(m);
      for (let i = 0; i < m; i++) {
        let t = 0;
        const hr = s[i] * k, wr = row * k;
        for (let c = 0; c < k; c++) t += hd[hr + c] * w[wr + c];
        x[i] = t;
      }
      for (let i = 0; i < m; i++) {
        let t = x[i];
        for (let j = 0; j < i; j++) t -= a[i * m + j] * x[j];
        x[i] = t / a[i * m + i];
      }
      for (let i = m - 1; i >= 0; i--) {
        let t = x[i];
        for (let j = i + 1; j < m; j++) t -= a[j * m + i] * x[j];
        x[i] = t / a[i * m + i];
      }
      for (let i = 0; i < m; i++) out[row * k + s[i]] = x[i];
    }
  }
}

/** gptqFactor of a copy of H (damped, so positive definite). */
function factor(hd: Float64Array, k: number): Float64Array {
  const r = Float64Array.from(hd);
  if (gptqFactor(r, k) >= 0) throw new ArgumentError('obc: the damped Hessian is not positive definite (give dampPercent > 0)');
  return r;
}

function blockColumns(options: ObcOptions, lay: Layout, pattern: PrunePattern): number {
  const unit = pattern.kind === 'nm' ? pattern.m : lay.groups[0].length;
  const want = options.blockColumns ?? 128;
  if (!Number.isInteger(want) || want < 1) throw new ArgumentError(`obc: blockColumns must be a positive integer, got ${want}`);
  return Math.ceil(want / unit) * unit;
}

function pruneWith(wd: Float64Array, n: number, k: number, hd: Float64Array, pattern: PrunePattern, target: number, options: ObcOptions, r: () => Float64Array): ObcPruned {
  const lay = layoutOf(pattern, k);
  // the budget: the magnitude mask's count per band (the pattern and target exactly as magnitude pruning meets them)
  let magnitude = pruneMask(wd, n, k, pattern, target).mask;
  const counts = bandCounts(magnitude, n, k, lay);
  const even = options.rowBudget ?? 'uniform';
  if (even !== 'uniform' && even !== 'magnitude') throw new ArgumentError(`obc: rowBudget must be 'uniform' or 'magnitude', got ${String(even)}`);
  if (even === 'uniform' && !lay.caps) {
    let total = 0;
    for (const c of counts) total += c;
    for (let b = 0; b < counts.length; b++) counts[b] = share(total, b, b + 1, counts.length);
    magnitude = bandMagnitude(wd, n, k, lay, counts); // the guard's alternative, at the same counts
  }
  const gw = lay.groups[0].length;
  let cost = 0, solveCost = 0;
  for (const c of counts) (cost += c * gw * k * k), (solveCost += (k - c * gw) ** 3 / 3);
  const orig = Float64Array.from(wd);
  let out: ObcPruned;
  if (cost <= (options.exactBudget ?? DEFAULT_BUDGET)) {
    out = { mask: exactObs(wd, n, k, hd, lay, counts), w: wd, exact: true };
  } else {
    const mask = new Uint8Array(n * k).fill(1);
    const bs = blockColumns(options, lay, pattern);
    out = { mask, w: sweep(orig, n, k, r(), mask, bs, sweepChooser(n, k, lay, counts, mask, bs), null), exact: false };
    // the sweep's weights only moved forward along K: the kept weights solved exactly where affordable
    if (solveCost <= (options.solveBudget ?? DEFAULT_SOLVE)) bestKept(orig, n, k, hd, mask, lay.bandRows, out.w);
  }
  if (solveCost <= (options.solveBudget ?? DEFAULT_SOLVE)) keepBetter(orig, n, k, hd, lay.bandRows, magnitude, out);
  return out;
}

/** Magnitude pruning at given counts per band: the groups of least Σ w² over the band's rows go. */
function bandMagnitude(w: Float64Array, n: number, k: number, lay: Layout, counts: Int32Array): Uint8Array {
  const mask = new Uint8Array(n * k).fill(1);
  for (let b = 0; b < counts.length; b++) {
    const r0 = b * lay.bandRows, r1 = Math.min(n, r0 + lay.bandRows);
    const s = new Float64Array(lay.groups.length);
    lay.groups.forEach((g, gi) => {
      for (const c of g) for (let j = r0; j < r1; j++) s[gi] += w[j * k + c] ** 2;
    });
    for (const gi of smallestIndices(s, counts[b])) for (const c of lay.groups[gi]) for (let j = r0; j < r1; j++) mask[j * k + c] = 0;
  }
  return mask;
}

/**
 * A guard: where magnitude's mask with its kept weights solved exactly gives a band less output
 * error than OBC's choice (the column sweep's masks can, on strongly correlated inputs), that band
 * takes it. So no band ends worse than magnitude pruning.
 */
function keepBetter(orig: Float64Array, n: number, k: number, hd: Float64Array, bandRows: number, magnitude: Uint8Array, out: ObcPruned): void {
  const alt = Float64Array.from(orig, (v, i) => (magnitude[i] ? v : 0));
  bestKept(orig, n, k, hd, magnitude, bandRows, alt);
  const eObc = rowQuadForms(hd, k, orig, out.w, n), eMag = rowQuadForms(hd, k, orig, alt, n);
  for (let r0 = 0; r0 < n; r0 += bandRows) {
    const r1 = Math.min(n, r0 + bandRows);
    let a = 0, b = 0;
    for (let j = r0; j < r1; j++) (a += eObc[j]), (b += eMag[j]);
    if (b < a) {
      out.w.set(alt.subarray(r0 * k, r1 * k), r0 * k);
      out.mask.set(magnitude.subarray(r0 * k, r1 * k), r0 * k);
    }
  }
}

/**
 * OBC pruning of W (N x K rows) with the layer input's H (K x K): the mask of `pattern` at `target`
 * (N:M: its own sparsity) and the remaining weights corrected to keep the layer's output.
 */
export function obcPrune(w: ArrayLike<number>, n: number, k: number, h: Float64Array, pattern: PrunePattern, target: number, options: ObcOptions = {}): ObcPruned {
  const { wd, hd } = prepare(w, n, k, h, options.dampPercent ?? 0.01);
  return pruneWith(wd, n, k, hd, pattern, target, options, () => factor(hd, k));
}

/**
 * OBC's joint compression: obcPrune, then the kept weights to symmetric int8 per row (scale =
 * max|w| / 127 of the pruned row, 1 for a zero row; codes in [-127, 127]), each rounding error
 * corrected on the columns after it (GPTQ-style, the mask fixed).
 */
export function obcInt8(w: ArrayLike<number>, n: number, k: number, h: Float64Array, pattern: PrunePattern, target: number, options: ObcOptions = {}): ObcInt8 {
  return obcQuantized(w, n, k, h, pattern, target, 127, options);
}

/**
 * obcInt8 with codes in [-qmax, qmax] (scale max|w| / qmax): 127 is int8, 7 is int4 (int4-sparse's
 * joint pruning and 4-bit quantization, the paper's "prune, then quantize" at 4 bits).
 */
export function obcQuantized(w: ArrayLike<number>, n: number, k: number, h: Float64Array, pattern: PrunePattern, target: number, qmax: number, options: ObcOptions = {}): ObcInt8 {
  if (!(Number.isInteger(qmax) && qmax >= 1 && qmax <= 127)) throw new ArgumentError(`obcQuantized: qmax must be an integer in [1, 127], got ${qmax}`);
  const scales = new Float32Array(n);
  const out = obcOnGrid(w, n, k, h, pattern, target, options, qmax, (pw) => {
    for (let j = 0; j < n; j++) {
      let max = 0;
      for (let c = 0; c < k; c++) max = Math.max(max, Math.abs(pw[j * k + c]));
      scales[j] = max > 0 ? Math.fround(max / qmax) : 1;
    }
    return (j) => scales[j];
  });
  return { ...out, scales };
}

/**
 * obcQuantized on a grid chosen from the pruned weights: `gridOf` gets them (N x K, corrected) and
 * returns the step of each weight (row j, column c); codes in [-qmax, qmax] of that step (int4-sparse's
 * per-block scales: src/quant/int4-blocks.ts).
 */
export function obcOnGrid(
  w: ArrayLike<number>, n: number, k: number, h: Float64Array, pattern: PrunePattern, target: number, options: ObcOptions, qmax: number,
  gridOf: (pruned: Float64Array) => (j: number, c: number) => number,
): ObcPruned & { q: Int8Array } {
  const { wd, hd } = prepare(w, n, k, h, options.dampPercent ?? 0.01);
  let r: Float64Array | undefined;
  const fac = () => (r ??= factor(hd, k));
  const pruned = pruneWith(wd, n, k, hd, pattern, target, options, fac);
  const step = gridOf(pruned.w), q = new Int8Array(n * k);
  const bs = blockColumns(options, layoutOf(pattern, k), pattern);
  const w8 = sweep(pruned.w, n, k, fac(), pruned.mask, bs, null, (j, c, v) => {
    const s = step(j, c);
    q[j * k + c] = Math.max(-qmax, Math.min(qmax, roundHalfEven(v / s)));
    return q[j * k + c] * s; // +0, never -0
  });
  return { ...pruned, w: w8, q };
}
