// End to end: a 2-layer BERT-like encoder as onnxruntime's transformer optimizer writes it
// (MatMul projections, com.microsoft MultiHeadAttention with the Q/K/V bias and a key padding mask,
// SkipLayerNormalization with the output bias, FastGelu with its bias), loaded with loadModel and run
// against onnxruntime-web on seeded weights and inputs: the same outputs within 1e-5 of their range;
// and quantized to int8 with quantizeModel.

import { describe, expect, it } from 'vitest';
import { loadModel, quantizeModel } from '../src/index.js';
import { SIMD, useRuntimes } from './helpers.js';
import { OnnxBuilder } from './onnx-builder.js';
import { W, X } from './model-ort-check.js';
import { checkMs, i32 } from './ms-ops-helpers.js';

const rts = useRuntimes();
const [B, S, D, N, F] = [2, 6, 32, 4, 64];

function encoder(layers: number): OnnxBuilder {
  const b = new OnnxBuilder(17).input('x', [B, 'seq', D]).input('mask', [B, 'seq'], 'int32').output('y').output('residual');
  b.domains.set('com.microsoft', 1);
  let seed = 100, x = 'x';
  const w = (name: string, dims: number[], scale: number) => b.init(name, dims, W(dims.reduce((p, q) => p * q, 1), seed++, scale));
  for (let l = 0; l < layers; l++) {
    const p = (s: string) => `l${l}_${s}`;
    for (const m of ['wq', 'wk', 'wv', 'wo']) w(p(m), [D, D], 1 / Math.sqrt(D));
    w(p('qkv_bias'), [3 * D], 0.1);
    w(p('bo'), [D], 0.1);
    w(p('g1'), [D], 0.2);
    w(p('b1'), [D], 0.1);
    w(p('w1'), [D, F], 1 / Math.sqrt(D));
    w(p('bf1'), [F], 0.1);
    w(p('w2'), [F, D], 1 / Math.sqrt(F));
    w(p('bf2'), [D], 0.1);
    w(p('g2'), [D], 0.2);
    w(p('b2'), [D], 0.1);
    for (const m of ['q', 'k', 'v']) b.node('MatMul', [x, p(`w${m}`)], p(m));
    b.node('MultiHeadAttention', [p('q'), p('k'), p('v'), p('qkv_bias'), 'mask'], p('attn'), { num_heads: N }, p('mha'), 'com.microsoft');
    b.node('MatMul', [p('attn'), p('wo')], p('o'));
    b.node('SkipLayerNormalization', [p('o'), x, p('g1'), p('b1'), p('bo')], [p('h1')], { epsilon: 1e-12 }, p('ln1'), 'com.microsoft');
    b.node('MatMul', [p('h1'), p('w1')], p('f1'));
    b.node('FastGelu', [p('f1'), p('bf1')], p('gelu'), {}, p('gelu'), 'com.microsoft');
    b.node('MatMul', [p('gelu'), p('w2')], p('f2'));
    const last = l === layers - 1;
    b.node('SkipLayerNormalization', [p('f2'), p('h1'), p('g2'), p('b2'), p('bf2')], last ? ['y', '', '', 'residual'] : [p('out')], { epsilon: 1e-12 }, p('ln2'), 'com.microsoft');
    x = p('out');
  }
  return b;
}

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
