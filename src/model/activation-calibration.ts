// The static uint8 quantization of an int8 layer's input from what calibration saw: the range
// (min/max, a percentile, or the MSE-optimal clip), optional per-channel scales migrated into the
// weights (SmoothQuant), and an optional learned rounding border (AQuant), per layer or per channel.

import { ArgumentError, describe } from '../errors.js';
import { mseRange, percentileRange, uint8Range, type ActivationQuant } from '../quant/activation-range.js';
import { scaleChannels, smoothingScales } from '../quant/channel-scales.js';
import { learnBorder } from '../quant/rounding-border.js';
import { outputOptimalRange, weightTerms, type WeightTerms } from '../quant/output-error.js';
import { weightFormat } from '../formats/table.js';
import type { RangeStats } from './calibrate.js';
import type { QuantizeOptions } from './quantize-options.js';

/** The activation options of quantizeModel, checked (an ArgumentError names the bad one). */
export function checkActivationOptions(o: QuantizeOptions): void {
  const r = o.range;
  if (r !== undefined && r !== 'minmax' && r !== 'mse' && r !== 'output' && !(typeof r === 'number' && r > 50 && r <= 100)) {
    throw new ArgumentError(`quantize: range must be 'minmax', 'mse', 'output' or a percentile in (50, 100], got ${describe(r)}`);
  }
  if (o.smoothing !== undefined && !(typeof o.smoothing === 'number' && o.smoothing >= 0 && o.smoothing <= 1)) {
    throw new ArgumentError(`quantize: smoothing must be a migration strength from 0 to 1, got ${describe(o.smoothing)}`);
  }
  if (o.rangeMargin !== undefined && !(typeof o.rangeMargin === 'number' && o.rangeMargin >= 0 && o.rangeMargin <= 4)) {
    throw new ArgumentError(`quantize: rangeMargin must be a fraction from 0 to 4 (0.25 widens each side of the range by 25%), got ${describe(o.rangeMargin)}`);
  }
  if (o.roundingBorder !== undefined && !['nearest', 'layer', 'channel'].includes(o.roundingBorder as string)) {
    throw new ArgumentError(`quantize: roundingBorder must be 'nearest', 'layer' or 'channel', got ${describe(o.roundingBorder)}`);
  }
}

/**
 * [min, max] widened away from zero by `margin` of each side: inputs calibration never saw go past
 * its extremes (PP-OCRv4, lines in 8 unseen fonts, sizes, blur, noise, low contrast: up to 1.3x a
 * layer's calibrated max; on the calibration's own fonts up to 1.19x), and a static int8 range clips them.
 */
export function widenRange([min, max]: [number, number], margin = 0): [number, number] {
  return margin > 0 ? [min < 0 ? min * (1 + margin) : min, max > 0 ? max * (1 + margin) : max] : [min, max];
}

/** The clipped range of a sample in ascending order, with the tensor's extremes ('output' is done by the caller). */
function rangeOf(range: QuantizeOptions['range'], sorted: () => Float32Array, min: number, max: number, margin?: number): [number, number] {
  return widenRange(clippedRange(range, sorted, min, max), margin);
}

function clippedRange(range: QuantizeOptions['range'], sorted: () => Float32Array, min: number, max: number): [number, number] {
  if (range === undefined || range === 'minmax') return [min, max];
  if (range === 'output') return mseRange(sorted(), min, max);
  return range === 'mse' ? mseRange(sorted(), min, max) : percentileRange(sorted(), range, min, max);
}

/**
 * The input quantization of one int8 layer. `weights` (rows [N][K], column k is channel k mod C)
 * are needed for per-channel scales, the border and the 'output' range; without them, or when the
 * layer's K is not a multiple of the calibrated channel count, the quantization is per tensor (and
 * 'output' falls back to 'mse').
 */
export function activationQuant(s: RangeStats, o: QuantizeOptions, weights?: { wnk: Float32Array; n: number; k: number }): ActivationQuant {
  const perChannel = !!weights && weights.k % s.channels === 0 && (o.smoothing !== undefined || o.range === 'output' || (o.roundingBorder !== undefined && o.roundingBorder !== 'nearest'));
  if (!perChannel) return uint8Range(...rangeOf(o.range, () => s.sorted(), s.min, s.max, o.rangeMargin));
  const { n, k } = weights!;
  let rows = s.sample(), wnk = weights!.wnk, min = s.min, max = s.max;
  let channelScale: Float32Array | undefined;
  if (o.smoothing !== undefined) {
    channelScale = smoothingScales(s.channelMin, s.channelMax, wnk, n, k, o.smoothing);
    rows = scaleChannels(rows, channelScale);
    const cs = channelScale;
    wnk = wnk.map((v, i) => v * cs[(i % k) % cs.length]);
    min = Infinity;
    max = -Infinity;
    for (let c = 0; c < cs.length; c++) {
      min = Math.min(min, s.channelMin[c] / cs[c]);
      max = Math.max(max, s.channelMax[c] / cs[c]);
    }
  }
  let sorted: Float32Array | null = null, terms: WeightTerms | null = null;
  // the output-error searches pass over the sample once per candidate: at most FIT_VALUES of it
  const fit = thinRows(rows, s.channels, FIT_VALUES);
  const termsOf = (): WeightTerms => (terms ??= int8Terms(wnk, n, k, s.channels, fit));
  const range = o.range === 'output' ? widenRange(outputOptimalRange(fit, termsOf(), min, max), o.rangeMargin) : rangeOf(o.range, () => (sorted ??= rows.slice().sort()), min, max, o.rangeMargin);
  const q: ActivationQuant = uint8Range(...range);
  if (channelScale) q.channelScale = channelScale;
  if (o.roundingBorder === 'layer' || o.roundingBorder === 'channel') q.border = learnBorder(fit, s.channels, q, termsOf(), o.roundingBorder);
  return q;
}

/** Values of the sample the output-error searches use (whole rows, evenly over the calibration inputs). */
const FIT_VALUES = 1 << 16;

/** Every r-th row of `rows` (row length c), keeping at most about `max` values. */
function thinRows(rows: Float32Array, c: number, max: number): Float32Array {
  const count = Math.floor(rows.length / c), step = Math.ceil(rows.length / max);
  if (step <= 1) return rows;
  const out = new Float32Array(Math.ceil(count / step) * c);
  for (let r = 0, j = 0; r < count; r += step, j += c) out.set(rows.subarray(r * c, r * c + c), j);
  return out;
}

/** The output-error model's terms for the weights as int8 stores them (their own error included). */
function int8Terms(wnk: Float32Array, n: number, k: number, c: number, rows: Float32Array): WeightTerms {
  const int8 = weightFormat('int8');
  const stored = int8.dequantize(int8.quantize(wnk, n, k, { input: { scale: 1, zeroPoint: 0 } }));
  return weightTerms(stored, n, k, c, { wnk, rows });
}
