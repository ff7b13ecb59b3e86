// Simulated 8-bit floats for format studies: 1 sign bit, e exponent bits, m mantissa bits (e + m = 7:
// E1M6 … E7M0; the interesting ones are E2M5, E3M4, E4M3, E5M2) and a real-valued exponent bias, as in
// Kuzmin et al., "FP8 Quantization: The Power of the Exponent" (NeurIPS 2022). Quantize-dequantize
// ("fake quant") only: no codes are stored.
//
// The format here has no Inf or NaN codes (every code is a finite value, as in the paper), subnormals
// at the bottom exponent, and saturates. With the standard integer bias b0 = 2^(e-1) - 1 its largest
// value is
//     maxStd = (2 - 2^-m) * 2^(2^e - 1 - b0)          (E4M3: 480, E5M2: 114688, E3M4: 31, E2M5: 7.875)
// A real-valued bias b scales that whole grid by 2^(b0 - b), so choosing b is the same as choosing the
// largest value (or a scale s = max / maxStd):
//     max = maxStd * 2^(b0 - b)        b = b0 - log2(max / maxStd)
//     q(x) = s * round_grid(x / s)     round to nearest on the standard grid, ties to the even code,
//                                      |x / s| beyond maxStd saturates to ±maxStd
// NaN stays NaN (the input had no value to quantize); ±Inf saturates.
//
// The arithmetic is float64: x / s and s * grid value are exact whenever s is a power of two (e.g. the
// standard bias, where the results equal the E4M3FN codec's for |x| within E4M3FN's range), otherwise
// within float64 rounding, which is far below the format's own step. Results are rounded to float32.
//
// fpxSearch picks the largest value per tensor or per channel by minimising the squared error over a
// grid of candidates around the absolute maximum (geometric, from absmax * minRatio to absmax *
// maxRatio), as the paper does with its MSE-based range setting, and reports the SQNR.

import { ArgumentError, ShapeError, ValueRangeError, describe } from '../errors.js';

/** A simulated float format: e exponent bits, m mantissa bits, e + m = 7. */
export interface FpxFormat {
  readonly name: string;
  readonly e: number;
  readonly m: number;
  /** the standard integer bias 2^(e-1) - 1 */
  readonly standardBias: number;
  /** the largest value with the standard bias (all codes finite) */
  readonly standardMax: number;
  /** the exponent of the smallest normal with the standard bias (1 - b0); subnormals step 2^(emin - m) */
  readonly emin: number;
}

export type FpxName = 'E1M6' | 'E2M5' | 'E3M4' | 'E4M3' | 'E5M2' | 'E6M1' | 'E7M0';

/** The format named like 'E4M3' (case-insensitive) or given as { e, m }. */
export function fpxFormat(f: FpxName | string | { e: number; m: number } | FpxFormat): FpxFormat {
  let e: number;
  let m: number;
  if (typeof f === 'string') {
    const match = /^E(\d)M(\d)$/i.exec(f);
    if (!match) throw new ArgumentError(`format: expected a name like 'E4M3' (e + m = 7) or { e, m }, got '${f}'`);
    e = Number(match[1]);
    m = Number(match[2]);
  } else if (f && typeof f === 'object' && 'e' in f && 'm' in f) {
    ({ e, m } = f);
  } else {
    throw new ArgumentError(`format: expected a name like 'E4M3' or { e, m }, got ${describe(f)}`);
  }
  if (!Number.isInteger(e) || !Number.isInteger(m) || e < 1 || m < 0 || e + m !== 7) {
    throw new ArgumentError(`format: needs integers e >= 1, m >= 0 with e + m = 7 (8 bits with the sign), got e=${e}, m=${m}`);
  }
  const b0 = 2 ** (e - 1) - 1;
  return {
    name: `E${e}M${m}`, e, m, standardBias: b0,
    standardMax: (2 - 2 ** -m) * 2 ** (2 ** e - 1 - b0),
    emin: 1 - b0,
  };
}

/** The largest value for a (real-valued) exponent bias. */
export function fpxMaxForBias(format: FpxName | FpxFormat, bias: number): number {
  const f = fpxFormat(format);
  if (!Number.isFinite(bias)) throw new ValueRangeError(`bias: must be finite, got ${bias}`);
  return f.standardMax * 2 ** (f.standardBias - bias);
}

/** The (real-valued) exponent bias that gives largest value `max`. */
export function fpxBiasForMax(format: FpxName | FpxFormat, max: number): number {
  const f = fpxFormat(format);
  checkMax(max, 'max');
  return f.standardBias - Math.log2(max / f.standardMax);
}

function checkMax(v: number, name: string): void {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new ValueRangeError(`${name}: must be finite and > 0, got ${describe(v)}`);
}

// --- rounding to the standard grid -------------------------------------------------------------------

const f64 = new Float64Array(1);
const hi32 = new Uint32Array(f64.buffer, 4, 1); // little-endian: the high word holds sign and exponent
const POW2 = Float64Array.from({ length: 2100 }, (_, i) => 2 ** (i - 1075)); // 2^k for k in [-1075, 1024]

/** Nearest value of the standard grid to v (float64), ties to the even code, saturating at ±maxStd. */
export function roundToGrid(v: number, f: FpxFormat): number {
  if (v !== v) return v;
  const a = Math.abs(v);
  let q: number;
  if (a >= f.standardMax) {
    q = f.standardMax;
  } else {
    f64[0] = a;
    let ex = ((hi32[0] >>> 20) & 0x7ff) - 1023; // floor(log2 a) for normal doubles; a = 0 gives -1023
    if (ex < f.emin) ex = f.emin; // subnormal range: fixed step
    const step = POW2[ex - f.m + 1075];
    const t = a / step; // exact (power of two), < 2^(m+1)
    let r = Math.round(t);
    if (r - t === 0.5 && (r & 1) === 1) r -= 1; // Math.round rounds halves up: make ties go to even
    q = r * step; // r = 2^(m+1) is the next binade's first value; never beyond standardMax (a < it)
  }
  return v < 0 || (v === 0 && 1 / v < 0) ? -q : q;
}

// --- layout --------------------------------------------------------------------------------------------

/** [outer, channels, inner] view of a tensor for per-channel settings (channels = 1: per tensor). */
export interface FpxLayout {
  outer: number;
  channels: number;
  inner: number;
}

function layoutOf(x: Float32Array, layout: FpxLayout | undefined): FpxLayout {
  if (!layout) return { outer: 1, channels: 1, inner: x.length };
  const { outer, channels, inner } = layout;
  for (const [k, v] of [['outer', outer], ['channels', channels], ['inner', inner]] as const) {
    if (!Number.isSafeInteger(v) || v < 0) throw new ShapeError(`layout.${k}: must be a non-negative integer, got ${describe(v)}`);
  }
  if (outer * channels * inner !== x.length) {
    throw new ShapeError(`layout: ${outer} x ${channels} x ${inner} = ${outer * channels * inner} elements but x has ${x.length}`);
  }
  return { outer, channels, inner };
}

/** The [outer, channels, inner] layout of a tensor with these dims, channels along `axis`. */
export function channelLayout(dims: readonly number[], axis: number): FpxLayout {
  const r = dims.length;
  const ax = axis < 0 ? axis + r : axis;
  if (!Number.isInteger(axis) || ax < 0 || ax >= r) throw new ArgumentError(`axis: ${axis} is out of range for a rank-${r} tensor`);
  return {
    outer: dims.slice(0, ax).reduce((p, d) => p * d, 1),
    channels: dims[ax],
    inner: dims.slice(ax + 1).reduce((p, d) => p * d, 1),
  };
}

function forEachChannel(lay: FpxLayout, fn: (c: number, start: number, end: number) => void): void {
  for (let o = 0; o < lay.outer; o++) {
    for (let c = 0; c < lay.channels; c++) {
      const start = (o * lay.channels + c) * lay.inner;
      fn(c, start, start + lay.inner);
    }
  }
}

// --- quantize-dequantize ---------------------------------------------------------------------------------

/**
 * x quantized to the format with largest value `max` (one number, or one per channel of `layout`)
 * and back to float32.
 */
export function fpxQuantize(x: Float32Array, format: FpxName | FpxFormat, max: number | ArrayLike<number>, layout?: FpxLayout): Float32Array {
  const f = fpxFormat(format);
  if (!(x instanceof Float32Array)) throw new ArgumentError(`x: expected a Float32Array, got ${describe(x)}`);
  const lay = layoutOf(x, layout);
  const maxes = typeof max === 'number' ? new Array<number>(lay.channels).fill(max) : Array.from(max);
  if (maxes.length !== lay.channels) throw new ShapeError(`max: expected ${lay.channels} values (one per channel), got ${maxes.length}`);
  maxes.forEach((v, i) => checkMax(v, maxes.length > 1 ? `max[${i}]` : 'max'));
  const y = new Float32Array(x.length);
  forEachChannel(lay, (c, start, end) => {
    const s = maxes[c] / f.standardMax;
    for (let i = start; i < end; i++) y[i] = s * roundToGrid(x[i] / s, f);
  });
  return y;
}

/** Signal-to-quantization-noise ratio in dB: 10 log10(sum x^2 / sum (x - y)^2); Infinity when y = x. */
export function sqnrDb(x: ArrayLike<number>, y: ArrayLike<number>): number {
  if (x.length !== y.length) throw new ShapeError(`sqnr: lengths differ (${x.length} vs ${y.length})`);
  let sig = 0;
  let noise = 0;
  for (let i = 0; i < x.length; i++) {
    const d = x[i] - y[i];
    sig += x[i] * x[i];
    noise += d * d;
  }
  return noise === 0 ? Infinity : 10 * Math.log10(sig / noise);
}

export interface FpxSearchOptions {
  /** per-channel search over this layout (default: one setting for the whole tensor) */
  layout?: FpxLayout;
  /** candidates for the largest value: absmax * r for r geometric in [minRatio, maxRatio] (defaults 1/32, 1) */
  minRatio?: number;
  maxRatio?: number;
  /** number of candidates (default 80) */
  steps?: number;
}

export interface FpxSearchResult {
  format: FpxFormat;
  /** the chosen largest value per channel (one entry per tensor when not per channel) */
  max: Float64Array;
  /** the equivalent real-valued exponent bias per channel */
  bias: Float64Array;
  /** x quantized with those settings */
  y: Float32Array;
  /** SQNR of y against x over the whole tensor, dB */
  sqnrDb: number;
}

/**
 * The largest value (equivalently the exponent bias) per tensor or per channel that minimises the
 * squared quantization error, searched over a geometric grid around each channel's absolute maximum.
 * An all-zero channel keeps the standard max. Needs finite inputs.
 */
export function fpxSearch(x: Float32Array, format: FpxName | FpxFormat, options: FpxSearchOptions = {}): FpxSearchResult {
  const f = fpxFormat(format);
  if (!(x instanceof Float32Array)) throw new ArgumentError(`x: expected a Float32Array, got ${describe(x)}`);
  const lay = layoutOf(x, options.layout);
  const minRatio = options.minRatio ?? 1 / 32;
  const maxRatio = options.maxRatio ?? 1;
  const steps = options.steps ?? 80;
  checkMax(minRatio, 'minRatio');
  checkMax(maxRatio, 'maxRatio');
  if (minRatio > maxRatio) throw new ValueRangeError(`minRatio: must be <= maxRatio (${maxRatio}), got ${minRatio}`);
  if (!Number.isInteger(steps) || steps < 1 || steps > 4096) throw new ValueRangeError(`steps: must be an integer from 1 to 4096, got ${describe(steps)}`);
  // absmax per channel
  const absmax = new Float64Array(lay.channels);
  forEachChannel(lay, (c, start, end) => {
    for (let i = start; i < end; i++) {
      const v = x[i];
      if (!Number.isFinite(v)) throw new ValueRangeError(`x: fpxSearch needs finite values, got ${v} at index ${i}`);
      const a = Math.abs(v);
      if (a > absmax[c]) absmax[c] = a;
    }
  });
  const ratios = Array.from({ length: steps }, (_, k) => (steps === 1 ? maxRatio : minRatio * (maxRatio / minRatio) ** (k / (steps - 1))));
  // squared error per channel and candidate
  const err = new Float64Array(lay.channels * steps);
  forEachChannel(lay, (c, start, end) => {
    if (absmax[c] === 0) return;
    for (let k = 0; k < steps; k++) {
      const s = (absmax[c] * ratios[k]) / f.standardMax;
      let e2 = 0;
      for (let i = start; i < end; i++) {
        const d = x[i] - Math.fround(s * roundToGrid(x[i] / s, f));
        e2 += d * d;
      }
      err[c * steps + k] += e2;
    }
  });
  const max = new Float64Array(lay.channels);
  for (let c = 0; c < lay.channels; c++) {
    if (absmax[c] === 0) {
      max[c] = f.standardMax;
      continue;
    }
    let best = 0;
    for (let k = 1; k < steps; k++) if (err[c * steps + k] < err[c * steps + best]) best = k;
    max[c] = absmax[c] * ratios[best];
  }
  const y = fpxQuantize(x, f, max, lay);
  return { format: f, max, bias: max.map((m) => f.standardBias - Math.log2(m / f.standardMax)), y, sqnrDb: sqnrDb(x, y) };
}
