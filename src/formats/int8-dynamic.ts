// int8-dynamic: int8's weights (symmetric per channel, the same codes and scales), activations
// quantized at run time from each input's own range (uint8, ONNX DynamicQuantizeLinear's scale and
// zero point, per tensor), then int8's integer GEMM and conv kernels, float32 out: onnxruntime's
// quantize_dynamic. No calibration: quantizeModel and the CLI take it without calibration inputs,
// and an input wider than any seen before is not clipped (static int8 clips PP-OCRv4's unseen lines
// at 1.27-1.30x their calibrated maximum). It costs a range pass over each input and a params block
// per run (src/layers/gemm-qs8-per-run.ts).
//
//   saved: q I8 [K, N], scales F32 [N]            record: nothing else

import { ArgumentError } from '../errors.js';
import { PerRunQs8Gemm, perRunInput } from '../layers/gemm-qs8-per-run.js';
import type { Int8Weights } from '../layers/gemm-qs8.js';
import type { WeightFormat } from './format.js';
import { int8Format, int8WeightColumns, loadInt8Columns, saveInt8Columns } from './int8.js';

export const int8DynamicFormat: WeightFormat<Int8Weights> = {
  name: 'int8-dynamic',
  label: 'int8-dynamic (per-channel, activations per run)',
  summary: "int8 weights per channel, uint8 activations quantized per run from each input's range (no calibration)",
  needsInputRange: false,
  calibrationFree: true,
  // auto's candidates stay as they were (its search compares static formats on calibration inputs)
  autoCandidate: false,
  referenceTolerance: 0,

  quantize: (wnk, n, k, { options }) => ({ ...int8WeightColumns(wnk, n, k, options?.weightBits), input: null }),
  dims: (w) => ({ k: w.k, n: w.n }),
  gemm: (host, w, bias, activation) => new PerRunQs8Gemm(host, w, bias, activation),

  reference(w, x, m, bias) {
    // DynamicQuantizeLinear over the whole x, then int8's reference (integer sums, float32 epilogue) with that quantization
    let lo = Infinity, hi = -Infinity;
    for (let i = 0; i < m * w.k; i++) (lo = Math.min(lo, x[i])), (hi = Math.max(hi, x[i]));
    if (m * w.k === 0) lo = hi = 0;
    if (Number.isNaN(lo) || Number.isNaN(hi)) throw new ArgumentError('reference: x holds NaN');
    return int8Format.reference({ ...w, input: perRunInput(lo, hi) }, x, m, bias);
  },
  dequantize: (w) => int8Format.dequantize(w),
  detail: () => '',
  storedBytes: (w) => int8Format.storedBytes(w),

  save(w, put) {
    saveInt8Columns(w, put);
    return {};
  },
  load: (r, read) => ({ ...loadInt8Columns(r, read), input: null }),
};
