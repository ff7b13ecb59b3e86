// Static uint8 quantization of a layer's input, from the range calibration saw.

import { ValueRangeError } from '../errors.js';
import { roundHalfEven } from './rounding.js';

/**
 * Static uint8 quantization of a tensor: q = clamp(round(x / scale) + zeroPoint, 0, 255), or, with
 * per-channel parts, q = clamp(floor(x / (scale * channelScale[c]) + 1 - border[c]) + zeroPoint, 0, 255)
 * for the value's channel c (its index mod the vectors' length; the qs8-stage-chan kernel).
 */
export interface ActivationQuant {
  scale: number;
  zeroPoint: number;
  /** per input channel: x is divided by it before the per-tensor scale; the weights' rows carry it (SmoothQuant's migration) */
  channelScale?: Float32Array;
  /** per input channel: the fraction at which a value rounds up (AQuant's border; 0.5 is round half up) */
  border?: Float32Array;
}

/** Asymmetric uint8 parameters covering [min, max] (and 0, so zero padding stays exact). */
export function uint8Range(min: number, max: number): ActivationQuant {
  if (!Number.isFinite(min) || !Number.isFinite(max) || min > max) throw new ValueRangeError(`activation range [${min}, ${max}] must be finite with min <= max`);
  const lo = Math.min(min, 0), hi = Math.max(max, 0);
  const scale = Math.fround(hi > lo ? (hi - lo) / 255 : 1);
  const zeroPoint = Math.min(255, Math.max(0, roundHalfEven(-lo / scale)));
  return { scale, zeroPoint };
}

/** [min, max] narrowed to the p-th percentile of each side of `sorted` (a sample in ascending order). */
export function percentileRange(sorted: Float32Array, p: number, min: number, max: number): [number, number] {
  if (sorted.length === 0) return [min, max];
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.round((q / 100) * (sorted.length - 1))))];
  return [Math.max(min, at(100 - p)), Math.min(max, at(p))];
}

/**
 * The uint8 range [lo, hi] that minimises the quantization mean squared error of `sorted` (a sample
 * in ascending order) over clipping ratios of each side: lo = a * min(min, 0), hi = b * max(max, 0),
 * a and b from 1 down to 0.01 in `steps` steps. Values beyond the range cost their exact clipping
 * error (prefix sums over the sorted sample); values inside cost the rounding error scale^2 / 12.
 * A clip must lower that error by `gain` (2%) to be taken: within it the choice would follow the
 * sample's noise, and a bounded tensor keeps [min, max].
 */
export function mseRange(sorted: Float32Array, min: number, max: number, steps = 200, gain = 0.02): [number, number] {
  const n = sorted.length;
  if (n === 0 || !(max > min)) return [min, max];
  const lo0 = Math.min(min, 0), hi0 = Math.max(max, 0);
  // prefix sums of v and v^2 (float64) for the clipping error of either tail
  const s1 = new Float64Array(n + 1), s2 = new Float64Array(n + 1);
  for (let i = 0; i < n; i++) {
    s1[i + 1] = s1[i] + sorted[i];
    s2[i + 1] = s2[i] + sorted[i] * sorted[i];
  }
  const below = (t: number) => lowerBound(sorted, t); // count of values < t
  const above = (t: number) => n - upperBound(sorted, t); // count of values > t
  const ratios = Array.from({ length: steps }, (_, i) => 1 - (0.99 * i) / (steps - 1));
  // each side's clipping error depends on that side only; rounding error on both
  const loSide = (lo0 < 0 ? ratios : [1]).map((a) => {
    const t = a * lo0, c = below(t);
    return { t, clip: s2[c] - 2 * t * s1[c] + c * t * t, c };
  });
  const hiSide = (hi0 > 0 ? ratios : [1]).map((b) => {
    const t = b * hi0, c = above(t);
    return { t, clip: s2[n] - s2[n - c] - 2 * t * (s1[n] - s1[n - c]) + c * t * t, c };
  });
  const full = ((hi0 - lo0) / 255) ** 2 / 12 * n;
  let best = full * (1 - gain), bestLo = lo0, bestHi = hi0;
  for (const l of loSide) {
    for (const h of hiSide) {
      const scale = (h.t - l.t) / 255;
      const err = l.clip + h.clip + ((n - l.c - h.c) * scale * scale) / 12;
      if (err < best) [best, bestLo, bestHi] = [err, l.t, h.t];
    }
  }
  return [bestLo, bestHi];
}

/** first index with a[i] >= t */
function lowerBound(a: Float32Array, t: number): number {
  let lo = 0, hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (a[mid] < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** first index with a[i] > t */
function upperBound(a: Float32Array, t: number): number {
  let lo = 0, hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (a[mid] <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The mean squared error of quantizing `x` with `q` (round to nearest, as the int8 staging does), for reports and tests. */
export function activationQuantMse(x: ArrayLike<number>, q: ActivationQuant): number {
  let e = 0;
  for (let i = 0; i < x.length; i++) {
    const v = Math.min(255, Math.max(0, roundHalfEven(x[i] / q.scale) + q.zeroPoint));
    const d = (v - q.zeroPoint) * q.scale - x[i];
    e += d * d;
  }
  return x.length ? e / x.length : 0;
}
