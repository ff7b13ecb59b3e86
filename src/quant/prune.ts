// Magnitude pruning (issue 16): which weights of a float matrix to keep, by |w|, in the patterns the
// sparse kernels run (src/kernels/spmm-*.ts). W is N x K row-major: a row is one output channel, K the
// reduction axis. A mask holds 1 = keep, 0 = pruned. Ties are broken by position (lower index first
// kept), so a mask is the same on every engine.

import { ArgumentError, ShapeError } from '../errors.js';
import { roundHalfEven } from './rounding.js';

/** A sparsity pattern: unstructured, N:M along K (2:4), or blocks of rows x cols (rows along N, cols along K). */
export type PrunePattern =
  | { kind: 'unstructured' }
  | { kind: 'nm'; n: number; m: number }
  | { kind: 'block'; rows: number; cols: number };

/** The block shapes the issue names (rows along N x cols along K). */
export const PRUNE_BLOCKS: readonly (readonly [number, number])[] = [[1, 4], [4, 1], [4, 4], [8, 1]];

export interface PruneResult {
  /** N x K, 1 = keep */
  mask: Uint8Array;
  /** the fraction of zeros in the mask (N:M: fixed by the pattern, and by a short last group) */
  sparsity: number;
}

function checkShape(w: ArrayLike<number>, n: number, k: number): void {
  for (const [name, v] of [['n', n], ['k', k]] as const) {
    if (!Number.isInteger(v) || v < 0) throw new ShapeError(`prune: ${name} must be an integer >= 0, got ${v}`);
  }
  if (w.length !== n * k) throw new ShapeError(`prune: w has ${w.length} elements, expected n*k = ${n}*${k}`);
}

function checkTarget(target: number): void {
  if (!(target >= 0 && target <= 1)) throw new ArgumentError(`prune: target sparsity must be in [0, 1], got ${target}`);
}

/**
 * 1 at the `count` smallest scores (ties: lower index first), 0 elsewhere. NaN counts as the largest.
 * A native sort of the values finds the threshold (a comparator sort of indices is ~10x slower at 16M).
 */
function smallest(scores: Float64Array, count: number): Uint8Array {
  const out = new Uint8Array(scores.length);
  if (count <= 0) return out;
  const sorted = Float64Array.from(scores).sort(); // NaN sorts last
  const t = sorted[count - 1];
  let below = 0;
  for (let i = 0; i < scores.length; i++) if (scores[i] < t) out[i] = 1, below++;
  for (let i = 0; i < scores.length && below < count; i++) {
    if (scores[i] === t || (Number.isNaN(t) && Number.isNaN(scores[i]))) out[i] = 1, below++;
  }
  return out;
}

function sparsityOf(mask: Uint8Array): number {
  let kept = 0;
  for (let i = 0; i < mask.length; i++) kept += mask[i];
  return mask.length ? 1 - kept / mask.length : 0;
}

/** Prunes the round(target * N * K) smallest |w| of the whole matrix. */
export function pruneUnstructured(w: ArrayLike<number>, n: number, k: number, target: number): PruneResult {
  checkShape(w, n, k);
  checkTarget(target);
  const scores = Float64Array.from({ length: n * k }, (_, i) => Math.abs(w[i]));
  const pruned = smallest(scores, Math.round(target * n * k));
  const mask = Uint8Array.from(pruned, (p) => 1 - p);
  return { mask, sparsity: sparsityOf(mask) };
}

/** Keeps the `keep` largest |w| of each group of `group` consecutive weights along K (2:4: keep 2, group 4). */
export function pruneNM(w: ArrayLike<number>, n: number, k: number, keep: number, group: number): PruneResult {
  checkShape(w, n, k);
  if (!Number.isInteger(group) || group < 1) throw new ArgumentError(`pruneNM: m (group size) must be an integer >= 1, got ${group}`);
  if (!Number.isInteger(keep) || keep < 0 || keep > group) throw new ArgumentError(`pruneNM: n (kept per group) must be an integer in [0, ${group}], got ${keep}`);
  const mask = new Uint8Array(n * k);
  for (let r = 0; r < n; r++) {
    for (let g = 0; g < k; g += group) {
      const len = Math.min(group, k - g);
      const base = r * k + g;
      // the `keep` largest |w| by repeated scans (groups are small); ties: lower index first
      for (let t = 0; t < Math.min(keep, len); t++) {
        let best = -1, bestV = -1;
        for (let i = 0; i < len; i++) {
          const v = Math.abs(w[base + i]);
          const a = Number.isNaN(v) ? Infinity : v;
          if (!mask[base + i] && a > bestV) (best = i), (bestV = a);
        }
        mask[base + best] = 1;
      }
    }
  }
  return { mask, sparsity: sparsityOf(mask) };
}

/**
 * Prunes whole rows x cols blocks (blocks at the right and bottom edges may be partial) by their L2
 * norm: the round(target * blocks) smallest go.
 */
export function pruneBlocks(w: ArrayLike<number>, n: number, k: number, rows: number, cols: number, target: number): PruneResult {
  checkShape(w, n, k);
  checkTarget(target);
  for (const [name, v] of [['rows', rows], ['cols', cols]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new ArgumentError(`pruneBlocks: ${name} must be an integer >= 1, got ${v}`);
  }
  const br = Math.ceil(n / rows), bc = Math.ceil(k / cols);
  const scores = new Float64Array(br * bc);
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < k; c++) scores[Math.floor(r / rows) * bc + Math.floor(c / cols)] += w[r * k + c] * w[r * k + c];
  }
  const pruned = smallest(scores, Math.round(target * br * bc));
  const mask = new Uint8Array(n * k);
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < k; c++) mask[r * k + c] = pruned[Math.floor(r / rows) * bc + Math.floor(c / cols)] ? 0 : 1;
  }
  return { mask, sparsity: sparsityOf(mask) };
}

/** The mask of `pattern` at `target` sparsity (ignored by N:M, whose sparsity is 1 - n/m). */
export function pruneMask(w: ArrayLike<number>, n: number, k: number, pattern: PrunePattern, target: number): PruneResult {
  switch (pattern.kind) {
    case 'unstructured':
      return pruneUnstructured(w, n, k, target);
    case 'nm':
      return pruneNM(w, n, k, pattern.n, pattern.m);
    case 'block':
      return pruneBlocks(w, n, k, pattern.rows, pattern.cols, target);
    default:
      throw new ArgumentError(`pruneMask: unknown pattern ${JSON.stringify(pattern)}`);
  }
}

/** w with the pruned weights set to 0 (a new array). */
export function applyMask(w: ArrayLike<number>, mask: Uint8Array): Float32Array {
  if (w.length !== mask.length) throw new ShapeError(`applyMask: w has ${w.length} elements, the mask ${mask.length}`);
  return Float32Array.from({ length: w.length }, (_, i) => (mask[i] ? w[i] : 0));
}

/**
 * Symmetric int8 per row (output channel): scale = max|w| / 127 (1 for an all-zero row),
 * q = roundHalfEven(w / scale) in [-127, 127]. Pruned zeros stay 0, so q keeps the mask's pattern
 * (a kept weight may also round to 0: the sparse encoders then drop it).
 */
export function quantizeRowsInt8(w: ArrayLike<number>, n: number, k: number): { q: Int8Array; scales: Float32Array } {
  return quantizeRowsSymmetric(w, n, k, 127);
}

/** quantizeRowsInt8 with codes in [-qmax, qmax] (7: int4-sparse's 4-bit rows) */
export function quantizeRowsSymmetric(w: ArrayLike<number>, n: number, k: number, qmax: number): { q: Int8Array; scales: Float32Array } {
  if (!(Number.isInteger(qmax) && qmax >= 1 && qmax <= 127)) throw new ArgumentError(`quantizeRowsSymmetric: qmax must be an integer in [1, 127], got ${qmax}`);
  checkShape(w, n, k);
  const q = new Int8Array(n * k), scales = new Float32Array(n);
  for (let r = 0; r < n; r++) {
    let max = 0;
    for (let c = 0; c < k; c++) max = Math.max(max, Math.abs(w[r * k + c]));
    if (!Number.isFinite(max)) throw new ArgumentError(`quantizeRowsSymmetric: row ${r} of w has a non-finite value`);
    const s = max > 0 ? Math.fround(max / qmax) : 1;
    scales[r] = s;
    for (let c = 0; c < k; c++) q[r * k + c] = Math.max(-qmax, Math.min(qmax, roundHalfEven(w[r * k + c] / s)));
  }
  return { q, scales };
}
