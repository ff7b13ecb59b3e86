// LLM.int8()'s split of a matrix product (Dettmers et al. 2022): the input's feature columns where
// any |x| >= threshold (the outlier features) run in float, the rest in int8 with one absmax scale
// per row of x (vector-wise quantization). The policy half: which columns, which scales, which
// threshold. The run-time half is src/layers/gemm-int8-outlier.ts.

import { ArgumentError, describe } from '../errors.js';

/** the paper's threshold: a feature is an outlier where some |x| reaches 6 */
export const DEFAULT_OUTLIER_THRESHOLD = 6;

/** The outlier feature columns of x [M][K] (ascending), where some |x| >= threshold. */
export function outlierColumns(x: ArrayLike<number>, m: number, k: number, threshold: number): Int32Array {
  const mark = new Uint8Array(k);
  let count = 0;
  for (let i = 0; i < m; i++) {
    const row = i * k;
    for (let t = 0; t < k; t++) {
      const v = x[row + t];
      // one comparison per value: a column already marked costs nothing more
      if ((v >= threshold || v <= -threshold) && mark[t] === 0) {
        mark[t] = 1;
        count++;
      }
    }
  }
  const cols = new Int32Array(count);
  for (let t = 0, j = 0; t < k; t++) if (mark[t]) cols[j++] = t;
  return cols;
}

/**
 * Per-row symmetric int8 scales of x [M][K] without the columns `skip` (ascending): max|x| / 127,
 * or 1 for a row that is all zeros there. The same rule as int8's 'dynamic-per-row' activations,
 * so with no outliers both quantize alike, bit for bit.
 */
export function rowScales(x: ArrayLike<number>, m: number, k: number, skip: Int32Array): Float32Array {
  const out = new Float32Array(m);
  for (let i = 0; i < m; i++) {
    const row = i * k;
    let a = 0;
    // the kept columns run between the skipped ones
    for (let s = 0, t = 0; s <= skip.length; s++) {
      const end = s < skip.length ? skip[s] : k;
      for (; t < end; t++) a = Math.max(a, Math.abs(x[row + t]));
      t = end + 1;
    }
    out[i] = a > 0 ? Math.fround(a / 127) : 1;
  }
  return out;
}

/**
 * The outlier columns of x [M][K] and the int8 scales of its rows without them, in one pass over x
 * when there are none (the common case), two otherwise.
 */
export function splitRows(x: ArrayLike<number>, m: number, k: number, threshold: number): { cols: Int32Array; rowScale: Float32Array } {
  const rowScale = new Float32Array(m);
  let any = false;
  for (let i = 0; i < m && !any; i++) {
    let a = 0;
    for (let t = i * k; t < (i + 1) * k; t++) a = Math.max(a, Math.abs(x[t]));
    any = a >= threshold;
    rowScale[i] = a > 0 ? Math.fround(a / 127) : 1;
  }
  if (!any) return { cols: new Int32Array(0), rowScale };
  const cols = outlierColumns(x, m, k, threshold);
  return { cols, rowScale: rowScales(x, m, k, cols) };
}

/** A threshold option: a number > 0 (Infinity turns the float part off), else an ArgumentError naming it. */
export function checkThreshold(value: unknown, name = 'outlierThreshold'): number {
  if (typeof value !== 'number' || !(value > 0)) throw new ArgumentError(`${name}: expected a number > 0 (the |x| from which a feature column runs in float), got ${describe(value)}`);
  return value;
}

/** A quantile option: a number in (0, 1), else an ArgumentError naming it. */
export function checkQuantile(value: unknown, name = 'outlierQuantile'): number {
  if (typeof value !== 'number' || !(value > 0 && value < 1)) throw new ArgumentError(`${name}: expected a number in (0, 1) (the quantile of the features' calibrated max |x|), got ${describe(value)}`);
  return value;
}

/** Each of the K columns' max |x| from per-channel extremes (column t is channel t mod their count). */
function columnAbsMax(channelMin: ArrayLike<number>, channelMax: ArrayLike<number>, k: number, name: string): Float64Array {
  const c = channelMin.length;
  if (c === 0 || channelMax.length !== c || k % c !== 0) throw new ArgumentError(`${name}: the input's ${c} calibrated channels do not divide K = ${k}`);
  const absMax = new Float64Array(k);
  for (let t = 0; t < k; t++) absMax[t] = Math.max(Math.abs(channelMin[t % c]), Math.abs(channelMax[t % c]));
  for (const v of absMax) if (!Number.isFinite(v)) throw new ArgumentError(`${name}: the calibrated input range is not finite`);
  return absMax;
}

/**
 * The columns (ascending) whose calibrated max |x| reaches the threshold: the features calibration
 * saw as outliers; at most `limit` of them, the largest.
 */
export function calibratedOutliers(channelMin: ArrayLike<number>, channelMax: ArrayLike<number>, k: number, threshold: number, limit = k): Int32Array {
  const absMax = columnAbsMax(channelMin, channelMax, k, 'calibration');
  const over = Array.from(absMax.keys()).filter((t) => absMax[t] >= threshold);
  const kept = over.length > limit ? over.sort((a, b) => absMax[b] - absMax[a] || a - b).slice(0, limit) : over;
  return Int32Array.from(kept).sort();
}

/**
 * A layer's threshold calibrated from its input's extremes per channel: the `quantile` of the K
 * columns' max |x| over calibration (column t is channel t mod channels: im2col order for
 * convolutions), so that about (1 - quantile) of the features calibration saw run in float.
 * Infinity (no float part) when that quantile is 0.
 */
export function calibratedThreshold(channelMin: ArrayLike<number>, channelMax: ArrayLike<number>, k: number, quantile: number): number {
  const absMax = columnAbsMax(channelMin, channelMax, k, 'outlierQuantile').sort();
  const at = absMax[Math.min(k - 1, Math.floor(quantile * k))];
  return at > 0 ? at : Infinity;
}
