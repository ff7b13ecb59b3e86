// fp8: FP8 E4M3FN weights (or E5M2 from a saved file), one scale per output channel (absmax / max
// finite), float32 activations (f8w kernels, src/layers/gemm-f8w.ts): the only error is the
// weights' rounding to FP8. With the layer's Hessian (quantizeModel's method 'gptq'): GPTQ onto the
// E4M3 grid (src/quant/gptq-f8w.ts), the same codes and scales, error-compensated.
//
//   saved: codes U8 [K, N] (E4M3FN or E5M2), scales F32 [N]    record: format

import { f8wTable, quantizeF8w, type F8wQuantized } from '../quant/fp8-weights.js';
import { quantizeF8wGptq } from '../quant/gptq-f8w.js';
import type { GptqSettings } from '../quant/gptq.js';
import { FP8_FORMATS, type Fp8Format } from '../quant/fp8.js';
import { checkScales, type WeightFormat } from './format.js';
import { f8wFormatParts } from './f8w-parts.js';

export const fp8Format: WeightFormat<F8wQuantized> = {
  name: 'fp8',
  label: 'fp8 (E4M3 weights, per-channel)',
  summary: 'FP8 E4M3 weights with a scale per channel, float32 activations',
  ...f8wFormatParts(),

  usesHessian: true,

  quantize: (wnk, n, k, { hessian, options }) =>
    hessian ? quantizeF8wGptq(wnk, n, k, 'e4m3fn', hessian, options?.gptq as GptqSettings | undefined) : quantizeF8w(wnk, k, n, { format: 'e4m3fn', transposed: true }),

  save(w, put) {
    put('codes', { dtype: 'U8', shape: [w.k, w.n], data: w.codes });
    put('scales', { dtype: 'F32', shape: [w.n], data: w.scales });
    return { format: w.format };
  },
  load(r, read) {
    const format = (r.format ?? 'e4m3fn') as Fp8Format;
    if (!(FP8_FORMATS as readonly string[]).includes(format)) throw read.error(`has FP8 format '${String(format)}'; expected one of ${FP8_FORMATS.join(', ')}`);
    const codes = read.tensor('codes', 'U8', r.k * r.n) as Uint8Array;
    // the quantizer never writes a NaN or infinite code: one in a file is damage
    const table = f8wTable(format), bad = codes.findIndex((c) => !Number.isFinite(table[c]));
    if (bad >= 0) throw read.error(`has codes[${bad}] = ${codes[bad]}, which is ${table[codes[bad]]} in ${format}; saved FP8 weights are finite`);
    return { format, k: r.k, n: r.n, codes, scales: checkScales(read, read.tensor('scales', 'F32', r.n) as Float32Array, true) };
  },
};
