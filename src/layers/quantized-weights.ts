// How a layer's float32 weights become each scheme's quantized weights (the policy), and the GEMM
// that runs them. The quantized form is also what a saved model stores, so a reload builds the
// same layers without quantizing again.

import type { ConvActivation } from './activation.js';
import { transposeKN, type GemmImpl } from './conv2d-gemm.js';
import { FourBitGemm } from './gemm-4bit.js';
import { F8wGemm } from './gemm-f8w.js';
import { Qs8Gemm, quantizeWeightsPerColumn, type ActivationQuant, type Int8Weights } from './gemm-qs8.js';
import { lut4FromAnt, type Lut4Source } from '../kernels/lut4.js';
import { quantizeF8w, type F8wQuantized } from '../kernels/f8w.js';
import { selectAntType } from '../quant/ant.js';
import { quantizeInt4Rtn, type Int4Blocks } from '../quant/int4.js';
import type { Runtime } from '../runtime/runtime.js';
import { ArgumentError, describe } from '../errors.js';

export type QuantScheme = 'int8' | 'int4' | 'ant4' | 'fp8';

/** A layer's weights after quantization, in the form its GEMM packs (and a saved model stores). */
export type QuantizedWeights =
  | ({ scheme: 'int8' } & Int8Weights)
  | { scheme: 'int4'; blocks: Int4Blocks }
  | { scheme: 'ant4'; source: Lut4Source; type: string }
  | { scheme: 'fp8'; q: F8wQuantized };

export interface WeightOptions {
  /** ant4: values of K per scale, a power of two from 32 to 256, or 'channel' (default 32) */
  ant4BlockSize?: number | 'channel';
  /** ant4: ANT's type chosen per output channel instead of per tensor (LUT4 runs a table per panel) */
  ant4PerChannelType?: boolean;
}

/** Checks an ant4 block size (an option users give): a LUT4 block or 'channel'. */
export function checkAnt4BlockSize(bs: unknown): number | 'channel' {
  if (bs === 'channel' || (typeof bs === 'number' && Number.isInteger(bs) && bs >= 32 && bs <= 256 && (bs & (bs - 1)) === 0)) return bs;
  throw new ArgumentError(`blockSize: expected a power of two from 32 to 256 or 'channel', got ${describe(bs)}`);
}

/**
 * Quantizes weights given as output-channel rows [N][K]:
 *   int8: symmetric per column, [-127, 127] (activations: `input`, from calibration);
 *   int4: blocks of 32 along K (16 when K < 32), round to nearest with the per-block clip search;
 *   ant4: ANT's type for the tensor (int4 / flint4 / PoT4 by total squared error), one scale per
 *         block of 32 along K with the per-block clip search (per channel when K < 32: LUT4 blocks
 *         are 32..256; options.ant4BlockSize: another block, or 'channel');
 *   fp8:  E4M3FN, one scale per channel (absmax / 448).
 * Measured on PP-OCRv4 (`lowbit demo --schemes int4,ant4 --no-ort`, 264 lines, baseline build):
 * ant4 per channel read 0.0% of the lines exactly (CER 99.6%), in blocks of 32 18.6% (28.8%), with
 * the mirrored int4 scale 29.9% (12.1%); int4 42.8% (9.25%). The rest of the gap is not LUT4's (README).
 */
export function quantizeWeights(scheme: QuantScheme, wnk: Float32Array, n: number, k: number, input?: ActivationQuant, options: WeightOptions = {}): QuantizedWeights {
  switch (scheme) {
    case 'int8': {
      if (!input) throw new Error('int8 weights need the activation quantization of the layer input');
      const { q, scales } = quantizeWeightsPerColumn(transposeKN(wnk, n, k), k, n);
      return { scheme, k, n, q, scales, input };
    }
    case 'int4':
      return { scheme, blocks: quantizeInt4Rtn(wnk, n, k, { blockSize: k >= 32 ? 32 : 16, clipSearch: true }) };
    case 'ant4': {
      const bs = options.ant4BlockSize ?? 32;
      const sel = selectAntType(wnk, { channels: n, blockSize: bs === 'channel' || k < bs ? undefined : bs, perChannelType: options.ant4PerChannelType });
      const names = Array.from(new Set(sel.typeNames));
      return { scheme, source: lut4FromAnt(sel.quantized), type: names.length === 1 ? names[0] : `per channel (${names.join(', ')})` };
    }
    case 'fp8':
      return { scheme, q: quantizeF8w(wnk, k, n, { format: 'e4m3fn', transposed: true }) };
  }
}

/** The GEMM for quantized weights, with the layer's bias and activation. */
export function gemmFor(rt: Runtime, w: QuantizedWeights, bias: Float32Array | null, activation: ConvActivation | null): GemmImpl {
  switch (w.scheme) {
    case 'int8':
      return new Qs8Gemm(rt, w, bias, activation);
    case 'int4':
      return new FourBitGemm(rt, { format: 'int4', blocks: w.blocks }, bias, activation);
    case 'ant4':
      return new FourBitGemm(rt, { format: 'ant4', source: w.source, type: w.type }, bias, activation);
    case 'fp8':
      return new F8wGemm(rt, w.q, bias, activation);
  }
}
