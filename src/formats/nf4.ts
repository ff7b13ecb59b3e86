// nf4: QLoRA's 4-bit NormalFloat, the 16 quantiles of a normal distribution scaled to [-1, 1], with
// one absmax scale per block of 64 along K (per channel when K < 64), as QLoRA stores it (without
// its second quantization of the scales). Run by the LUT4 kernel, whose tables are int8: the
// levels are NF4's times 127, rounded (at most 0.5/127 from the paper's levels; the ends, 0 and
// absmax stay exact). int8 activations per row.
// Tried: times 63, whose span (126) fits the relaxed build's 7-bit dot product, so LUT4 runs it on
// its c4 kernel (times 127 spans 254: the c2 kernel, 0.79 vs 0.50 ms for ant4's int4 table at
// 1x4096x4096). Same weight error (20.87 vs 20.85 dB on Gaussian weights, 20.32 vs 20.35 dB mean
// over PP-OCRv4's 47 tensors), but PP-OCRv4 read 12.5% of the lines exactly against 32.6%: kept 127.

import { lut4FromAnt } from '../kernels/lut4.js';
import { antCodebook, quantizeAnt } from '../quant/ant.js';
import type { WeightFormat } from './format.js';
import { tableFormatParts, type TableWeights } from './lut4-format.js';

/** NF4's levels (QLoRA, appendix E) times 127, rounded to integers. */
export const NF4_LEVELS = Object.freeze([-127, -88, -67, -50, -36, -23, -12, 0, 10, 20, 31, 43, 56, 71, 92, 127]);
const NF4 = antCodebook(NF4_LEVELS, 'nf4', 127);
const NF4_BLOCK = 64;

export const nf4Format: WeightFormat<TableWeights> = {
  ...tableFormatParts,
  name: 'nf4',
  label: 'nf4 (LUT4, block 64)',
  summary: "QLoRA's 4-bit NormalFloat levels, absmax scale per block of 64, int8 activations per row (LUT4)",
  quantize(wnk, n, k) {
    const q = quantizeAnt(wnk, NF4, { channels: n, blockSize: k >= NF4_BLOCK ? NF4_BLOCK : undefined, clipSearch: false });
    return { source: lut4FromAnt(q), type: 'nf4' };
  },
};
