// int8: symmetric int8 weights, one scale per output channel, [-127, 127] (or [-63, 63] with
// weightBits 7); uint8 activations with a static scale and zero point from calibration (qs8
// kernels, src/layers/gemm-qs8.ts). 7-bit weights fit the relaxed build's c4 layout (the relaxed dot
// product, exact there); they are the same integers on every build, so the results stay the same
// bits on baseline and relaxed.
//
//   saved: q I8 [K, N], scales F32 [N]            record: input { scale, zeroPoint }

import { transposeKN } from '../layers/conv2d-gemm.js';
import { Qs8Gemm, type Int8Weights } from '../layers/gemm-qs8.js';
import { refDequantizeAcc, refMatMulInteger } from '../kernels/qs8.js';
import { refStageChan, stageChanVectors } from '../kernels/qs8-stage-chan.js';
import { roundHalfEven } from '../quant/rounding.js';
import { minMaxF32 } from '../kernels/q8.js';
import { quantizeWeightsQ8 } from '../kernels/q8-weights.js';
import { ArgumentError, ValueRangeError, describe } from '../errors.js';
import { Int8LinearRunner, type ActivationScheme } from '../layers/int8-linear.js';
import { gemmRunner } from '../layers/linear-runner.js';
import { staticInputRange } from '../layers/nonfinite.js';
import type { KernelHost } from '../runtime/host.js';
import { dynamicQuantParams, quantizeColumnsSymmetric, symmetricColumnScales } from '../quant/q8.js';
import { checkScales, type SavedReader, type SavedRecord, type WeightFormat } from './format.js';
import type { SafeTensor } from './safetensors.js';
import type { ActivationQuant } from '../quant/activation-range.js';

const f = Math.fround;

/** quantizeModel's int8 weight bits when its options do not say (weightBits) */
export const INT8_MODEL_WEIGHT_BITS = 8;

/**
 * Where a column's codes reach both -127 and 127 (its smaller end rounded up to the larger one's
 * magnitude), requantizes that column with the scale max |w| / 126, so its codes stay within
 * [-126, 126]. Then every column splits exactly into two 7-bit halves for the relaxed build's dot
 * product (src/layers/gemm-qs8.ts, splitSevenBit), with the same codes on every build. (Clamping
 * the smaller end to ±126 instead cost PP-OCRv4 about 1 dB of output SQNR: in short columns, K = 27,
 * one value off by up to a quantum is a large part of the noise.)
 */
function oneEndPerColumn(q: Int8Array, scales: Float32Array, wkn: Float32Array, k: number, n: number): void {
  for (let j = 0; j < n; j++) {
    let lo = 0, hi = 0, amax = 0;
    for (let t = 0; t < k; t++) {
      const i = t * n + j;
      lo = Math.min(lo, q[i]), hi = Math.max(hi, q[i]), amax = Math.max(amax, Math.abs(wkn[i]));
    }
    if (lo > -127 || hi < 127) continue;
    scales[j] = f(amax / 126);
    for (let t = 0; t < k; t++) q[t * n + j] = Math.max(-126, Math.min(126, roundHalfEven(f(wkn[t * n + j] / scales[j]))));
  }
}

/** the largest |q| of weightBits 8 or 7 */
function weightQmax(bits: unknown): number {
  if (bits !== 8 && bits !== 7) throw new ArgumentError(`weightBits: expected 8 or 7, got ${describe(bits)}`);
  return bits === 8 ? 127 : 63;
}

/**
 * int8's weights: rows [N][K] (times per-channel activation scales cs, which migrate into them) as
 * symmetric int8 columns [K, N] with one scale each (weightBits 8 or 7; default 8). int8-dynamic shares them.
 */
export function int8WeightColumns(wnk: Float32Array, n: number, k: number, weightBits: unknown, cs?: Float32Array): Pick<Int8Weights, 'k' | 'n' | 'q' | 'scales'> {
  const qmax = weightQmax(weightBits ?? INT8_MODEL_WEIGHT_BITS);
  // per-channel activation scales migrate into the weights: x / c[ch] times W[k] * c[ch]
  const wkn = transposeKN(cs ? wnk.map((v, i) => f(v * cs[(i % k) % cs.length])) : wnk, n, k);
  const scales = symmetricColumnScales(wkn, k, n, qmax);
  const q = quantizeColumnsSymmetric(wkn, k, n, scales, qmax);
  if (qmax === 127) oneEndPerColumn(q, scales, wkn, k, n);
  return { k, n, q, scales };
}

/** The saved weight parts of int8 and int8-dynamic: q I8 [K, N], scales F32 [N]. */
export function saveInt8Columns(w: Int8Weights, put: (part: string, t: SafeTensor) => void): void {
  put('q', { dtype: 'I8', shape: [w.k, w.n], data: w.q });
  put('scales', { dtype: 'F32', shape: [w.n], data: w.scales });
}

/** Those parts read back, checked (scales finite and > 0, sizes from the record's K and N). */
export function loadInt8Columns(r: SavedRecord, read: SavedReader): Pick<Int8Weights, 'k' | 'n' | 'q' | 'scales'> {
  const scales = checkScales(read, read.tensor('scales', 'F32', r.n) as Float32Array, true);
  return { k: r.k, n: r.n, q: read.tensor('q', 'I8', r.k * r.n) as Int8Array, scales };
}

export const int8Format: WeightFormat<Int8Weights> = {
  name: 'int8',
  label: 'int8 (static, per-channel)',
  summary: 'int8 weights per channel, uint8 activations with static calibrated ranges',
  needsInputRange: true,
  referenceTolerance: 0,

  quantize(wnk, n, k, { input, options }) {
    if (!input) throw new ArgumentError('int8 weights need the activation quantization of the layer input (calibration)');
    return { ...int8WeightColumns(wnk, n, k, options?.weightBits, input.channelScale), input };
  },
  dims: (w) => ({ k: w.k, n: w.n }),
  gemm: (host, w, bias, activation) => new Qs8Gemm(host, w, bias, activation),

  reference(w, x, m, bias) {
    if (!w.input) throw new ArgumentError('reference: int8 weights without a static input quantization');
    // what qs8_stage_f32_c2 stages: clamp(round(x / s) + zp, 0, 255) - zp, then int32 sums and the
    // float32 epilogue acc * (s_w * s_x) + bias
    const { k, n, input } = w;
    let a: Int32Array = new Int32Array(m * k);
    if (input.channelScale || input.border) {
      // what qs8-stage-chan stages: floor(x / (s * c[ch]) + 1 - border[ch]) clamped, - zp
      const { div, off } = stageChanVectors(k, input.scale, input.channelScale, input.border);
      a = refStageChan(x, m, k, div, off, input.zeroPoint);
    } else {
      for (let i = 0; i < a.length; i++) {
        const v = f(x[i] / input.scale);
        a[i] = Number.isNaN(v) ? 0 : Math.min(255 - input.zeroPoint, Math.max(-input.zeroPoint, roundHalfEven(v)));
      }
    }
    const acc = refMatMulInteger(a, w.q, m, k, n, 0, new Int32Array(n));
    return refDequantizeAcc(acc, m, n, w.scales.map((s) => f(s * input.scale)), undefined, bias ?? undefined);
  },
  dequantize(w) {
    const out = new Float32Array(w.n * w.k);
    for (let t = 0; t < w.k; t++) for (let j = 0; j < w.n; j++) out[j * w.k + t] = f(w.q[t * w.n + j] * w.scales[j]);
    return out;
  },
  detail: () => '',
  storedBytes: (w) => w.q.length + w.scales.length * 4,

  save(w, put) {
    saveInt8Columns(w, put);
    if (!w.input) throw new ArgumentError('save: int8 weights without a static input quantization (a dynamic rt.linear layer) cannot be saved');
    // per-channel activation parts: the weights carry channelScale, so they are saved with them
    if (w.input.channelScale) put('inputChannelScale', { dtype: 'F32', shape: [w.input.channelScale.length], data: w.input.channelScale });
    if (w.input.border) put('inputBorder', { dtype: 'F32', shape: [w.input.border.length], data: w.input.border });
    const channels = { ...(w.input.channelScale && { channelScale: w.input.channelScale.length }), ...(w.input.border && { border: w.input.border.length }) };
    return { input: { scale: w.input.scale, zeroPoint: w.input.zeroPoint, ...channels } };
  },
  load(r, read) {
    const input = r.input as { scale?: unknown; zeroPoint?: unknown; channelScale?: unknown; border?: unknown } | undefined;
    if (!input || !Number.isFinite(input.scale) || !Number.isInteger(input.zeroPoint)) throw read.error('lacks its input quantization');
    const scale = input.scale as number, zeroPoint = input.zeroPoint as number;
    if (!(scale > 0) || zeroPoint < 0 || zeroPoint > 255) throw read.error(`has input scale ${scale} and zero point ${zeroPoint}; expected a scale > 0 and a zero point 0..255`);
    const q: ActivationQuant = { scale, zeroPoint };
    const channels = (field: 'channelScale' | 'border', part: string): Float32Array | undefined => {
      const c = input[field];
      if (c === undefined) return undefined;
      if (!Number.isInteger(c) || (c as number) < 1 || r.k % (c as number) !== 0) throw read.error(`has input ${field} of ${String(c)} channels; expected a divisor of K = ${r.k}`);
      return read.tensor(part, 'F32', c as number) as Float32Array;
    };
    const cs = channels('channelScale', 'inputChannelScale'), border = channels('border', 'inputBorder');
    if (cs) q.channelScale = checkScales(read, cs, true, 'inputChannelScale');
    if (border) {
      for (let i = 0; i < border.length; i++) if (!(border[i] > 0 && border[i] < 1)) throw read.error(`has inputBorder[${i}] = ${border[i]}; expected a rounding border in (0, 1)`);
      q.border = border;
    }
    return { ...loadInt8Columns(r, read), input: q };
  },

  linear: {
    options: ['weightBits', 'activations', 'calibration', 'relu'],
    build: (host, rows, n, k, bias, o) => buildInt8(host, rows, true, n, k, bias, o),
    buildFrom: buildInt8,
    // weights already int8 (Linear.fromWeights(rt, int8Format, { k, n, q, scales, input }, bias, { activations })):
    // the user layer's runner; weights with a static input quantization and no activations option run as
    // the model layer does (Qs8Gemm: its per-channel input parts included)
    runner(host, w, bias, o) {
      if (w.input && o.activations === undefined) return gemmRunner(host, new Qs8Gemm(host, w, bias, null), true, staticInputRange(w));
      const activations = checkActivations(o.activations ?? (w.input ? 'static' : 'dynamic-per-tensor'));
      if (activations === 'static' && !w.input) throw new ArgumentError(`activations: 'static' needs the weights' input quantization (input: { scale, zeroPoint })`);
      if (w.q.length !== w.k * w.n || w.scales.length !== w.n) throw new ArgumentError(`weights: q of ${w.q.length} values and ${w.scales.length} scales do not make [${w.k}, ${w.n}]`);
      return new Int8LinearRunner(host, w.k, w.q, w.n, w.scales, bias, activations, activations === 'static' ? w.input : null, o.relu === true);
    },
  },
};

function checkActivations(a: unknown): ActivationScheme {
  if (!['dynamic-per-tensor', 'dynamic-per-row', 'static'].includes(a as string)) {
    throw new ArgumentError(`activations: expected 'dynamic-per-tensor', 'dynamic-per-row' or 'static', got ${describe(a)}`);
  }
  return a as ActivationScheme;
}

async function buildInt8(host: KernelHost, weight: Float32Array, transposed: boolean, n: number, k: number, bias: Float32Array | null, o: Readonly<Record<string, unknown>>) {
  const qmax = weightQmax(o.weightBits ?? 8);
  const activations = checkActivations(o.activations ?? 'dynamic-per-tensor');
  // calibrate before allocating anything, so a bad calibration leaks nothing
  let input: { scale: number; zeroPoint: number } | null = null;
  if (activations === 'static') {
    const cal = o.calibration;
    if (!(cal instanceof Float32Array) || cal.length === 0 || cal.length % k !== 0) {
      throw new ArgumentError(`calibration: 'static' activations need sample inputs as a Float32Array of rows of ${k}`);
    }
    const [lo, hi] = await minMaxF32(host, cal);
    if (!Number.isFinite(lo) || !Number.isFinite(hi)) throw new ValueRangeError('calibration: contains NaN or Infinity');
    input = dynamicQuantParams(lo, hi, 0, 255);
  }
  // per-column scales, quantization and the [K, N] order in one wasm pass (src/kernels/q8-weights.ts)
  const { q, scales } = quantizeWeightsQ8(host, weight, k, n, transposed, qmax);
  const runner = new Int8LinearRunner(host, k, q, n, scales, bias, activations, input, o.relu === true);
  return { data: { k, n, q, scales, input }, runner, relu: o.relu === true };
}
