// What every weight format on the f8w kernels shares (fp8 and fpx): K×N FP8 codes with a float32
// scale per column, run by the f8w GEMM, referenced and dequantized through the codes' table.
// Each format adds its own quantizer, saved record and validation.

import { refF8w } from '../kernels/f8w.js';
import { F8wGemm } from '../layers/gemm-f8w.js';
import { f8wTable, type F8wQuantized } from '../quant/fp8-weights.js';
import type { WeightFormat } from './format.js';

type Shared = 'dims' | 'gemm' | 'reference' | 'dequantize' | 'detail' | 'storedBytes' | 'needsInputRange' | 'referenceTolerance';

/** The shared members, typed for a format's own weights (fp8: F8wQuantized, fpx: FpxWeights). */
export const f8wFormatParts = <W extends F8wQuantized>(): Pick<WeightFormat<W>, Shared> => ({
  needsInputRange: false,
  // the relaxed build fuses multiply and add; the baseline build is bit for bit
  referenceTolerance: 1e-5,
  dims: (w) => ({ k: w.k, n: w.n }),
  gemm: (host, w, bias, activation) => new F8wGemm(host, w, bias, activation),
  reference: (w, x, m, bias) => refF8w(x, m, w, bias),
  dequantize(w) {
    const table = f8wTable(w.format), out = new Float32Array(w.n * w.k);
    for (let t = 0; t < w.k; t++) for (let j = 0; j < w.n; j++) out[j * w.k + t] = Math.fround(table[w.codes[t * w.n + j]] * w.scales[j]);
    return out;
  },
  detail: (w) => w.format,
  storedBytes: (w) => w.codes.length + w.scales.length * 4,
});
