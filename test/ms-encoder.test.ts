// End to end: a 2-layer BERT-like encoder as onnxruntime's transformer optimizer writes it
// (MatMul projections, com.microsoft MultiHeadAttention with the Q/K/V bias and a key padding mask,
// SkipLayerNormalization with the output bias, FastGelu with its bias), loaded with loadModel and run
// against onnxruntime-web on seeded weights and inputs: the same outputs within 1e-5 of their range;
// and quantized to int8 with quantizeModel.

import { describe, expect, it } from 'vitest';
import { loadModel, quantizeModel } from '../src/index.js';
import { SIMD, useRuntimes } from './helpers.js';
import { B, D, S, encoder } from './ms-encoder-model.js';
import { X } from './model-ort-check.js';
import { checkMs, i32 } from './ms-ops-helpers.js';

const rts = useRuntimes();
describe(`a 2-layer BERT-like encoder of com.microsoft operators vs onnxruntime-web (${SIMD} build)`, () => {
  it('SkipLayerNormalization + MultiHeadAttention + FastGelu, padded batch, two sequence lengths', async () => {
    const b = encoder(2);
    for (const s of [S, 3]) {
      const mask = Array.from({ length: B * s }, (_, i) => (i >= s && i % s >= s - 2 ? 0 : 1)); // the second sequence padded by 2
      await checkMs(rts.one, b, { x: X([B, s, D], 7, 1), mask: i32([B, s], mask) }, 1e-5, `encoder S ${s}`);
      await checkMs(rts.two, b, { x: X([B, s, D], 8, 1), mask: i32([B, s], mask) }, 1e-5, `encoder S ${s}, 2 threads`);
    }
  });

  it('quantizes to int8 (its MatMuls become int8 layers, the com.microsoft operators stay on the host): SQNR > 25 dB vs float32', async () => {
    const float = loadModel(rts.one, encoder(2).build());
    const feeds = (seed: number) => ({ x: X([B, S, D], seed, 1), mask: i32([B, S], Array(B * S).fill(1)) });
    const q = await quantizeModel(float, { scheme: 'int8', calibration: [feeds(1), feeds(2)] });
    try {
      const a = (await float.run(feeds(3) as never)).y.data, c = (await q.run(feeds(3) as never)).y.data;
      let sig = 0, noise = 0;
      for (let i = 0; i < a.length; i++) {
        sig += a[i] ** 2;
        noise += (a[i] - c[i]) ** 2;
      }
      expect(10 * Math.log10(sig / noise)).toBeGreaterThan(25);
    } finally {
      q.dispose();
      float.dispose();
    }
  });
});
