// FPx weights for a layer: the exponent/mantissa split per layer and the exponent bias per output
// channel, both chosen by measured error (Kuzmin et al., "FP8 Quantization: The Power of the
// Exponent": the best split and bias per tensor beat a fixed E4M3).
//
// The bias of a channel is its scale (src/quant/fpx.ts: a real-valued bias b scales the standard
// grid by 2^(b0 - b)), so each channel's scale is searched: candidates absmax * r / standardMax for
// r geometric in [1/4, 1] (8 steps), then 6 more between the best one's neighbours, keeping the
// one with the least error (ties keep the larger r). 8-bit grids gain little from clipping: on
// PP-OCRv4 (120 lines) absmax scales alone scored the same as a 16 + 8 step search over [1/8, 1]
// within noise, so the search is kept short (quantize time). Per split, the layer's error with those
// scales decides the split:
//   with the layer input's H = X^T X / rows (ctx.hessian): the output error tr(dW H dW^T), where
//     the channel search weighs each weight's squared error by H's diagonal (plus 1% of its mean,
//     as GPTQ damps: a weight whose input is always 0 still counts) — the full H would cost K^2
//     per candidate and channel;
//   without it: the weights' squared error.
// Why one split per layer and not per channel: src/formats/fpx.ts.

import { ArgumentError, ShapeError, ValueRangeError, describe } from '../errors.js';
import { FPX_SPLITS, checkFpxSplit, fpxEncodeColumns, type FpxSplit } from './fpx-codes.js';
import { F8W_MAX_SCALE, type F8wQuantized } from './fp8-weights.js';
import { fpxFormat, roundToGrid, type FpxFormat } from './fpx.js';

export interface FpxWeights extends F8wQuantized {
  format: FpxSplit;
}

export interface FpxQuantizeOptions {
  /** the splits to choose from (default all: E1M6 … E5M2) */
  splits?: readonly FpxSplit[];
  /** the layer input's X^T X / rows, K x K (row-major) */
  hessian?: Float64Array;
}

export interface FpxChoice {
  weights: FpxWeights;
  /** the error of each split tried (tr(dW H dW^T) with a Hessian, else sum dW^2) */
  errors: Partial<Record<FpxSplit, number>>;
}

const COARSE = 8;
const FINE = 6;
const MIN_RATIO = 1 / 4;

/** Quantizes W (N rows of K: row j = output channel j) to the best FPx split; codes K x N. */
export function quantizeFpxWeights(wnk: Float32Array, n: number, k: number, options: FpxQuantizeOptions = {}): FpxChoice {
  if (!Number.isInteger(n) || n < 1 || !Number.isInteger(k) || k < 0) throw new ShapeError(`fpx: N and K must be integers (N >= 1, K >= 0), got N=${n}, K=${k}`);
  if (!(wnk instanceof Float32Array) || wnk.length !== n * k) throw new ShapeError(`fpx: W must be a Float32Array of N*K = ${n * k} values`);
  for (let i = 0; i < wnk.length; i++) if (!Number.isFinite(wnk[i])) throw new ValueRangeError(`fpx: W[${Math.floor(i / k)}][${i % k}] is ${wnk[i]}; weights must be finite`);
  const given: unknown = options.splits ?? FPX_SPLITS;
  if (!Array.isArray(given) || given.length === 0) throw new ArgumentError(`fpxSplits: expected a non-empty list of splits, got ${describe(given)}`);
  const splits = given.map((s, i) => checkFpxSplit(`fpxSplits[${i}]`, s));
  const h = options.hessian;
  if (h !== undefined && (!(h instanceof Float64Array) || h.length !== k * k)) throw new ShapeError(`fpx: the Hessian must be a Float64Array of K*K = ${k * k} values`);
  const weight = channelWeights(h, k);
  // the f8w kernels fold 2^64 into each column scale, so scales stop at 2^62 (channelScale caps
  // them): a channel past that in every split would be clipped into a wrong answer, so it is refused
  const widest = Math.max(...splits.map((sp) => fpxFormat(sp).standardMax));
  for (let j = 0; j < n; j++) {
    let a = 0;
    for (let t = j * k; t < (j + 1) * k; t++) a = Math.max(a, Math.abs(wnk[t]));
    if (a / widest >= F8W_MAX_SCALE / 2) throw new ValueRangeError(`fpx: output channel ${j} holds |w| = ${a}; FPx scales stop at 2^62 (the f8w kernels fold 2^64 into them), so it cannot be represented: keep this layer float32`);
  }
  const errors: Partial<Record<FpxSplit, number>> = {};
  let best: { split: FpxSplit; scales: Float32Array; err: number } | null = null;
  for (const split of splits) {
    const f = fpxFormat(split);
    const scales = new Float32Array(n);
    for (let j = 0; j < n; j++) scales[j] = channelScale(wnk.subarray(j * k, (j + 1) * k), f, weight);
    const err = layerError(wnk, n, k, scales, f, h);
    errors[split] = err;
    if (!best || err < best.err) best = { split, scales, err };
  }
  const { split, scales } = best!;
  return { weights: { format: split, k, n, codes: fpxEncodeColumns(wnk, n, k, scales, split), scales }, errors };
}

/** per-weight importance along K: H's diagonal damped by 1% of its mean, or all 1 */
function channelWeights(h: Float64Array | undefined, k: number): Float64Array {
  const d = new Float64Array(k).fill(1);
  if (!h) return d;
  let mean = 0;
  for (let t = 0; t < k; t++) mean += h[t * k + t] / k;
  for (let t = 0; t < k; t++) d[t] = h[t * k + t] + 0.01 * mean + 1e-30;
  return d;
}

/** weighted squared error of row w quantized with scale s */
function rowError(w: Float32Array, s: number, f: FpxFormat, d: Float64Array): number {
  let e = 0;
  for (let t = 0; t < w.length; t++) {
    const q = Math.fround(s * roundToGrid(Math.fround(w[t] / s), f));
    const r = w[t] - q;
    e += d[t] * r * r;
  }
  return e;
}

/** float32 scale of one channel: the clip ratio with the least weighted error */
function channelScale(w: Float32Array, f: FpxFormat, d: Float64Array): number {
  let a = 0;
  for (let t = 0; t < w.length; t++) a = Math.max(a, Math.abs(w[t]));
  if (a === 0) return 1;
  const scaleOf = (r: number) => {
    const s = Math.fround((a * r) / f.standardMax);
    return s > 0 ? Math.min(s, F8W_MAX_SCALE / 2) : 2 ** -149;
  };
  const step = MIN_RATIO ** (1 / (COARSE - 1));
  let bestR = 1;
  let bestE = rowError(w, scaleOf(1), f, d);
  for (let i = 1; i < COARSE; i++) {
    const r = step ** i;
    const e = rowError(w, scaleOf(r), f, d);
    if (e < bestE) [bestR, bestE] = [r, e];
  }
  // refine between the neighbours of the best coarse ratio
  const lo = Math.max(MIN_RATIO, bestR * step);
  const hi = Math.min(1, bestR / step);
  for (let i = 1; i <= FINE; i++) {
    const r = lo * (hi / lo) ** (i / (FINE + 1));
    const e = rowError(w, scaleOf(r), f, d);
    if (e < bestE) [bestR, bestE] = [r, e];
  }
  return scaleOf(bestR);
}

/** tr(dW H dW^T) with H, else sum dW^2 */
function layerError(wnk: Float32Array, n: number, k: number, scales: Float32Array, f: FpxFormat, h: Float64Array | undefined): number {
  const dw = new Float64Array(k);
  let err = 0;
  for (let j = 0; j < n; j++) {
    const s = scales[j];
    for (let t = 0; t < k; t++) {
      const w = wnk[j * k + t];
      dw[t] = w - Math.fround(s * roundToGrid(Math.fround(w / s), f));
    }
    if (!h) {
      for (let t = 0; t < k; t++) err += dw[t] * dw[t];
      continue;
    }
    for (let t = 0; t < k; t++) {
      if (dw[t] === 0) continue;
      let row = 0;
      const off = t * k;
      for (let u = 0; u < k; u++) row += h[off + u] * dw[u];
      err += dw[t] * row;
    }
  }
  return err;
}
