// A layer input's second moment H = XᵀX / rows (K x K, float64, row-major) as quantizers use it: the
// output error of weights W + ΔW on the calibration inputs is Σ_rows ‖x ΔWᵀ‖² / rows =
// tr(ΔW H ΔWᵀ) = Σ_n Δw_n H Δw_nᵀ over the output channels n (bias and activation aside), so a
// quantizer that weighs its error by H minimises the layer's output error instead of the weights'.

import { DTypeError, ShapeError, ValueRangeError, describe } from '../errors.js';

/**
 * Checks a Hessian given for rows of length k: a Float64Array of k² finite values with a
 * non-negative diagonal (XᵀX has one). Symmetry is assumed, not checked.
 */
export function checkHessian(h: unknown, k: number, name = 'hessian'): Float64Array {
  if (!(h instanceof Float64Array)) throw new DTypeError(`${name}: expected a Float64Array (K x K, K = ${k}), got ${describe(h)}`);
  if (h.length !== k * k) throw new ShapeError(`${name}: expected K x K = ${k * k} values for rows of K = ${k}, got ${h.length}`);
  for (let i = 0; i < h.length; i++) if (!Number.isFinite(h[i])) throw new ValueRangeError(`${name}: element ${i} (row ${Math.floor(i / k)}, column ${i % k}) is ${h[i]}; values must be finite`);
  for (let i = 0; i < k; i++) if (h[i * k + i] < 0) throw new ValueRangeError(`${name}: diagonal element ${i} is ${h[i * k + i]}; a second moment XᵀX/rows has a non-negative diagonal`);
  return h;
}

/** g = H d for one row d of length k (g is written); returns d H dᵀ. */
export function hessianTimes(h: Float64Array, k: number, d: ArrayLike<number>, g: Float64Array): number {
  let q = 0;
  for (let i = 0; i < k; i++) {
    let s = 0;
    const row = i * k;
    for (let j = 0; j < k; j++) s += h[row + j] * d[j];
    g[i] = s;
    q += d[i] * s;
  }
  return q;
}

/** Σ_n (a_n - b_n) H (a_n - b_n)ᵀ per row n of [n][k] matrices (b null: a_n H a_nᵀ). */
export function rowQuadForms(h: Float64Array, k: number, a: ArrayLike<number>, b: ArrayLike<number> | null, n: number): Float64Array {
  const out = new Float64Array(n);
  const d = new Float64Array(k);
  const g = new Float64Array(k);
  for (let r = 0; r < n; r++) {
    for (let i = 0; i < k; i++) d[i] = a[r * k + i] - (b ? b[r * k + i] : 0);
    out[r] = hessianTimes(h, k, d, g);
  }
  return out;
}
