// How far a quantized result is from its float reference.

import { ShapeError } from '../errors.js';

export interface ErrorReport {
  /** signal-to-quantization-noise ratio, dB: 10 log10(sum ref^2 / sum (ref - x)^2); Infinity when equal */
  sqnrDb: number;
  /** cosine similarity of the two as flat vectors (1 = same direction) */
  cosine: number;
  /** largest |ref - x| */
  maxAbs: number;
  /** mean |ref - x| */
  meanAbs: number;
  /** elements compared */
  count: number;
}

export function compareTo(reference: ArrayLike<number>, x: ArrayLike<number>): ErrorReport {
  if (reference.length !== x.length) {
    throw new ShapeError(`compareTo: lengths differ (${reference.length} vs ${x.length})`);
  }
  let sig = 0;
  let noise = 0;
  let dot = 0;
  let xx = 0;
  let maxAbs = 0;
  let sumAbs = 0;
  for (let i = 0; i < reference.length; i++) {
    const r = reference[i];
    const v = x[i];
    const d = r - v;
    sig += r * r;
    noise += d * d;
    dot += r * v;
    xx += v * v;
    const a = Math.abs(d);
    if (a > maxAbs || Number.isNaN(a)) maxAbs = a;
    sumAbs += a;
  }
  const n = reference.length;
  return {
    sqnrDb: noise === 0 ? Infinity : 10 * Math.log10(sig / noise),
    cosine: sig === 0 || xx === 0 ? (sig === xx ? 1 : 0) : dot / Math.sqrt(sig * xx),
    maxAbs,
    meanAbs: n ? sumAbs / n : 0,
    count: n,
  };
}

export function formatReport(r: ErrorReport): string {
  return `SQNR ${r.sqnrDb === Infinity ? '∞' : r.sqnrDb.toFixed(2)} dB, cosine ${r.cosine.toFixed(6)}, max |err| ${r.maxAbs.toExponential(3)}, mean |err| ${r.meanAbs.toExponential(3)}`;
}
