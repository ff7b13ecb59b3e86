// GPTQ onto 8-bit float weights: fp8's E4M3FN / E5M2 and fpx's splits (E1M6 … E5M2), one scale
// per output channel, as the f8w kernels run them. The shared GPTQ loop (src/quant/gptq.ts) with
// FP8 rounding as its grid: each weight is rounded to the nearest code of its channel's grid, and the
// rounding error is spread over the channel's not yet quantized weights through the inverse Hessian,
// so the layer's output error tr(ΔW H ΔWᵀ) falls below round-to-nearest's (3 mantissa bits leave
// E4M3 a relative step of 1/8; GPTQ's compensation is what int4 needs too).
//
// A channel's scale is absmax / the grid's max finite value (quantizeF8w's rule) from the channel's
// unquantized weights, or given (fpx's scales chosen by effect). Each value's dequantized form is
// fround(scale · table[code]), what the f8w kernels compute.

import { ShapeError, ValueRangeError, describe } from '../errors.js';
import { checkHessian, gptqLoop, type GptqGrid, type GptqSettings } from './gptq.js';
import { f8wMax, f8wTable, type F8wFormat, type F8wQuantized } from './fp8-weights.js';
import { floatToFp8 } from './fp8.js';
import { fpxEncode, isFpxSplit } from './fpx-codes.js';
import { fpxFormat } from './fpx.js';

/** GPTQ's settings (a clip search is int4's: ignored here) and the channels' scales. */
export interface F8wGptqOptions extends GptqSettings {
  /** one scale per output channel (finite, > 0); default: absmax of the channel / the grid's max */
  scales?: Float32Array;
  /** columns per lazy batch update (default 128) */
  lazyBatch?: number;
}

/** FP8 rounding with one scale per channel (GPTQ block = one channel: blockSize K). */
class F8wGrid implements GptqGrid {
  readonly scales: Float32Array;
  private readonly table: Float32Array;
  private readonly encode: (v: number) => number;
  private readonly max: number;

  constructor(format: F8wFormat, n: number, private readonly given: boolean, scales?: Float32Array) {
    this.scales = scales ? Float32Array.from(scales) : new Float32Array(n);
    this.table = f8wTable(format);
    if (isFpxSplit(format)) {
      const f = fpxFormat(format);
      this.encode = (v) => fpxEncode(v, f);
    } else {
      this.encode = (v) => floatToFp8(v, format, true);
    }
    this.max = f8wMax(format);
  }

  fit(block: number, values: ArrayLike<number>, start: number, end: number): void {
    if (this.given) return;
    let a = 0;
    for (let i = start; i < end; i++) a = Math.max(a, Math.abs(values[i]));
    const s = Math.fround(a > 0 ? a / this.max : 1);
    this.scales[block] = s > 0 ? s : 2 ** -149; // absmax below max · 2^-150: the smallest float32 scale
  }

  code(block: number, v: number): number {
    return this.encode(Math.fround(v / this.scales[block]));
  }

  value(block: number, code: number): number {
    return Math.fround(this.scales[block] * this.table[code]);
  }
}

/**
 * Quantizes W [N][K] (rows = output channels, float32) to 8-bit float codes of `format` with GPTQ,
 * given the layer's Hessian (K×K float64, XᵀX / rows of its inputs). Codes come back K×N with one
 * scale per channel, as quantizeF8w gives them. With actOrder the columns go in order of descending
 * H diagonal (a channel's scale is fixed from its unquantized weights either way).
 */
export function quantizeF8wGptq(wnk: Float32Array, n: number, k: number, format: F8wFormat, hessian: Float64Array, options: F8wGptqOptions = {}): F8wQuantized {
  if (!Number.isInteger(k) || !Number.isInteger(n) || k < 1 || n < 1) throw new ShapeError(`K and N must be positive integers, got K=${k}, N=${n}`);
  if (!(wnk instanceof Float32Array) || wnk.length !== n * k) throw new ShapeError(`weights: expected a Float32Array of N*K = ${n * k}, got ${describe(wnk)}`);
  for (let i = 0; i < wnk.length; i++) if (!Number.isFinite(wnk[i])) throw new ValueRangeError(`weights: W[${Math.floor(i / k)}][${i % k}] is ${wnk[i]}; weights must be finite`);
  const scales = options.scales;
  if (scales !== undefined) {
    if (!(scales instanceof Float32Array) || scales.length !== n) throw new ShapeError(`scales: expected a Float32Array of N = ${n} values, got ${describe(scales)}`);
    const bad = scales.findIndex((s) => !Number.isFinite(s) || s <= 0);
    if (bad >= 0) throw new ValueRangeError(`scales: element ${bad} is ${scales[bad]}; expected finite and > 0`);
  }
  const grid = new F8wGrid(format, n, scales !== undefined, scales);
  const h = checkHessian(hessian, k);
  const { actOrder, dampPercent, lazyBatch } = options;
  const q = gptqLoop(Float64Array.from(wnk), n, k, h, grid, { actOrder, dampPercent, lazyBatch, blockSize: k }, 'hessian: H');
  const codes = new Uint8Array(k * n);
  for (let j = 0; j < n; j++) for (let t = 0; t < k; t++) codes[t * n + j] = q[j * k + t];
  return { format, k, n, codes, scales: grid.scales };
}
