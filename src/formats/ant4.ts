// ant4: ANT's adaptive 4-bit type per tensor (int4, flint4 or PoT4, by squared error, or given the
// layer's input Hessian by the layer output's error), one scale per block of 32 along K with ANT's
// clip search (per channel when K < 32), int8 activations per row, decoded by table lookup (LUT4).
// Options: ant4BlockSize (32..256 or 'channel'), ant4PerChannelType (a type per output channel:
// LUT4 runs a table per 8-column panel), antChoice ('error' ignores the Hessian; default: by effect
// when there is one), antClipByEffect (false: the clip search stays by squared error).
// Measured on PP-OCRv4 (`lowbit demo --schemes int4,ant4 --no-ort`, 264 lines, baseline build):
// per channel 0.0% exact lines (CER 99.6%), blocks of 32 18.6% (28.8%), with the mirrored int4
// scale 29.9% (12.1%); int4 42.8% (9.25%). The rest of the gap is not LUT4's (README).
// By effect (antChoice 'effect', `node bench/accuracy.mjs`, 68 calibration / 196 test lines, float32
// 96.9%): by error 30.1% (CER 11.8%), by effect 95.4% (0.45%), the type alone by effect 37.2%; a type
// per channel 61.2% by error, 96.4% (0.35%) by effect; int4 41.3%.

import { ArgumentError, describe } from '../errors.js';
import { lut4FromAnt } from '../kernels/lut4.js';
import { gemmRunner } from '../layers/linear-runner.js';
import { selectAntType } from '../quant/ant.js';
import { antGptqAfter } from '../quant/gptq-ant.js';
import type { GptqSettings } from '../quant/gptq.js';
import type { WeightFormat } from './format.js';
import { tableFormatParts, type TableWeights } from './lut4-format.js';

export const ant4Format: WeightFormat<TableWeights> = {
  ...tableFormatParts,
  name: 'ant4',
  label: 'ant4 (LUT4, per-tensor type, block 32)',
  summary: "ANT's 4-bit type per tensor (int4, flint4 or PoT4), blocks of 32, int8 activations per row (LUT4)",
  usesHessian: true,
  quantize(wnk, n, k, { options = {}, hessian }) {
    const bs = (options.ant4BlockSize ?? 32) as number | 'channel';
    // by effect (the layer output's error, tr(dW H dW^T)) whenever the layer's Hessian is given, unless antChoice says 'error'
    const byEffect = hessian !== undefined && checkAntChoice(options.antChoice) !== 'error';
    const sel = selectAntType(wnk, {
      channels: n, blockSize: bs === 'channel' || k < bs ? undefined : bs, perChannelType: options.ant4PerChannelType === true,
      hessian: byEffect ? hessian : undefined, clipByEffect: options.antClipByEffect !== false,
    });
    const names = Array.from(new Set(sel.typeNames));
    // with the layer's Hessian (quantizeModel's method 'gptq'): GPTQ with the chosen type(s) and block size
    const quantized = hessian ? antGptqAfter(wnk, sel.quantized, hessian, options.gptq as GptqSettings | undefined) : sel.quantized;
    return { source: lut4FromAnt(quantized), type: names.length === 1 ? names[0] : `per channel (${names.join(', ')})` };
  },
  linear: {
    options: ['blockSize', 'perChannelType'],
    async build(host, rows, n, k, bias, o) {
      const ant4BlockSize = o.blockSize === undefined ? undefined : checkAnt4BlockSize(o.blockSize);
      if (o.perChannelType !== undefined && typeof o.perChannelType !== 'boolean') throw new ArgumentError(`perChannelType: expected true or false, got ${describe(o.perChannelType)}`);
      const data = ant4Format.quantize(rows, n, k, { options: { ant4BlockSize, ant4PerChannelType: o.perChannelType === true } });
      return { data, runner: gemmRunner(host, ant4Format.gemm(host, data, bias, null)) };
    },
  },
};

/** How ANT's type is chosen: by the weights' squared error, or by the layer output's error (needs the layer's Hessian). */
export type AntChoice = 'error' | 'effect';

/** Checks quantizeModel's antChoice option (undefined: by effect when a Hessian is given). */
export function checkAntChoice(v: unknown): AntChoice | undefined {
  if (v === undefined || v === 'error' || v === 'effect') return v;
  throw new ArgumentError(`antChoice: expected 'error' or 'effect', got ${typeof v === 'string' ? JSON.stringify(v) : describe(v)}`);
}

/** Checks an ant4 block size (an option users give): a LUT4 block or 'channel'. */
export function checkAnt4BlockSize(bs: unknown): number | 'channel' {
  if (bs === 'channel' || (typeof bs === 'number' && Number.isInteger(bs) && bs >= 32 && bs <= 256 && (bs & (bs - 1)) === 0)) return bs;
  throw new ArgumentError(`blockSize: expected a power of two from 32 to 256 or 'channel', got ${describe(bs)}`);
}
