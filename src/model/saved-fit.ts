// A saved layer's weights against the float model's: the file's checksums catch damage, but a record
// forged with valid checksums (a weight scale of 1e30 on one channel) passes every range check of
// its format and would run with plausible wrong outputs. The float model is at hand when a file is
// loaded, so each quantized layer is compared with the weights it was made from: per output row,
// the error energy of the stored weights must stay within 100x (20 dB) of the row's own energy.
// Rounding, clipping and pruning to zero stay below 1x; methods that move the kept weights to make up
// for the others (OBC's pruning, GPTQ) go further (4.1x seen on an int8-sparse row at 50%); a scale
// off by 10x or more on a row, or another layer's weights, go above.

import { ModelError } from '../errors.js';
import type { LayerWeights } from '../formats/format.js';
import type { LayerSpec } from './model.js';
import { weightRows } from './quantize.js';

const MAX_ERROR_TO_SIGNAL = 100;

/** Throws a ModelError naming the layer and the first row whose stored weights do not fit the float ones. */
export function checkWeightsFit(key: string, w: LayerWeights, spec: LayerSpec): void {
  // MatMulNBits' float rows are unpacked only when read (released-weights.ts): not unpacked here
  if (spec.type === 'linear' && spec.fileWeights) return;
  const { wnk, n, k } = weightRows(spec);
  const stored = w.format.dequantize(w.data);
  let total = 0;
  for (let i = 0; i < wnk.length; i++) total += wnk[i] * wnk[i];
  const floor = (total / Math.max(1, n)) * 1e-12; // an all-zero row: only rounding-size error allowed
  for (let r = 0; r < n; r++) {
    let signal = 0, error = 0;
    for (let j = r * k; j < (r + 1) * k; j++) {
      const d = stored[j] - wnk[j];
      signal += wnk[j] * wnk[j];
      error += d * d;
    }
    if (!(error <= MAX_ERROR_TO_SIGNAL * signal + floor)) {
      throw new ModelError(`load: ${w.format.name} layer '${key}' row ${r}: its stored weights do not fit the model's (error energy ${error.toExponential(2)} against the row's ${signal.toExponential(2)}): a forged or mismatched record`);
    }
  }
}
