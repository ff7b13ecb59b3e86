// fpx: 8-bit float weights whose exponent/mantissa split (E1M6, E2M5, E3M4, E4M3, E5M2) is chosen
// per layer and whose exponent bias (the scale) is chosen per output channel, both by measured error
// (src/quant/fpx-weights.ts: the layer's output error tr(dW H dW^T) when quantizeModel gives the
// input Hessian, else the weights' squared error); float32 activations. The f8w kernels run every
// split (assembly/gemm/f8w.ts: one variant per exponent width), so the only error is the weights'.
// The codes have no Inf or NaN (the paper's format, src/quant/fpx-codes.ts); 'fp8' keeps OCP E4M3FN
// for interchange. Option: fpxSplits (quantizeModel's options), the splits to choose from. With
// method 'gptq', GPTQ then rounds onto the chosen split and scales (src/quant/gptq-f8w.ts).
//
// One split per layer, not per channel. Tried: on PP-OCRv4's 33 quantized layers a split per
// channel raises the weights' SQNR from 41.8 to 43.0 dB (32 layers would mix splits; E4M3 with the
// searched bias: 32.7 dB). The kernel could decode it: a per-lane multiply by 2^e and a per-lane
// mask instead of the shift (wasm shifts all lanes alike) ran the E4M3 GEMV as fast in a prototype
// (0.95-1.05x, both builds). Not done: every decode path, the normalising one and the staging
// (one per call, so b0 per column folded into the scales) would change, and the saved file would
// carry a split per column, for 1.2 dB of weight SQNR, while weight SQNR is not what decides
// accuracy here (E3M4 everywhere, 38 dB, reads more test lines than the chosen E2M5, 42 dB).
// Measured (bench/accuracy.mjs, 196 test lines, baseline build): float32 96.9%, fp8 94.4%,
// fpx 95.4% (29 E2M5, 3 E1M6, 1 E3M4 by weight error), fpx with fpxSplits ['E3M4'] 98.0%,
// ['E4M3'] 93.9%.
//
//   saved: codes U8 [K, N] (FPx codes of the split), scales F32 [N]    record: split

import { F8W_MAX_SCALE } from '../quant/fp8-weights.js';
import { checkFpxSplit, isFpxSplit, FPX_SPLITS, type FpxSplit } from '../quant/fpx-codes.js';
import { quantizeFpxWeights, type FpxWeights } from '../quant/fpx-weights.js';
import { quantizeF8wGptq } from '../quant/gptq-f8w.js';
import type { GptqSettings } from '../quant/gptq.js';
import { checkScales, type WeightFormat } from './format.js';
import { f8wFormatParts } from './f8w-parts.js';

export const fpxWeightFormat: WeightFormat<FpxWeights> = {
  name: 'fpx',
  label: 'fpx (FP8, split per layer, bias per channel)',
  summary: '8-bit float weights, exponent/mantissa split per layer and bias per channel by measured error, float32 activations',
  ...f8wFormatParts(),
  usesHessian: true,

  quantize(wnk, n, k, { options = {}, hessian }) {
    const splits = options.fpxSplits === undefined ? undefined : checkSplits(options.fpxSplits);
    const chosen = quantizeFpxWeights(wnk, n, k, { splits, hessian }).weights;
    if (!hessian || !options.gptq) return chosen;
    const { format, scales } = chosen;
    return { ...quantizeF8wGptq(wnk, n, k, format, hessian, { ...(options.gptq as GptqSettings), scales }), format };
  },

  save(w, put) {
    put('codes', { dtype: 'U8', shape: [w.k, w.n], data: w.codes });
    put('scales', { dtype: 'F32', shape: [w.n], data: w.scales });
    return { split: w.format };
  },
  load(r, read) {
    if (!isFpxSplit(r.split)) throw read.error(`has split ${JSON.stringify(r.split) ?? 'undefined'}; expected one of ${FPX_SPLITS.join(', ')}`);
    const codes = read.tensor('codes', 'U8', r.k * r.n) as Uint8Array;
    // every code is finite; the scale is each channel's exponent bias, and the kernel keeps it below 2^63
    const scales = checkScales(read, read.tensor('scales', 'F32', r.n) as Float32Array, true);
    const big = scales.findIndex((s) => s >= F8W_MAX_SCALE);
    if (big >= 0) throw read.error(`has scales[${big}] = ${scales[big]}; expected scales below 2^63`);
    return { format: r.split, k: r.k, n: r.n, codes, scales };
  },
};

function checkSplits(x: unknown): FpxSplit[] {
  if (!Array.isArray(x)) return [checkFpxSplit('fpxSplits', x)];
  return x.map((s, i) => checkFpxSplit(`fpxSplits[${i}]`, s));
}
