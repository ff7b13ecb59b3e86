// The 2-layer BERT-like encoder of test/ms-encoder.test.ts (also quantized with attention 'int8' in
// test/ms-attention-int8.test.ts): MatMul projections, com.microsoft MultiHeadAttention with the Q/K/V
// bias and a key padding mask, SkipLayerNormalization, FastGelu; seeded weights.

import { OnnxBuilder } from './onnx-builder.js';
import { W, X } from './model-ort-check.js';
import { i32 } from './ms-ops-helpers.js';

export const [B, S, D, N, F] = [2, 6, 32, 4, 64];

export function encoder(layers: number): OnnxBuilder {
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

/** feeds of S tokens per sequence, the second padded by `pad` (key_padding_mask 0) */
export function encoderFeeds(seed: number, pad: number) {
  return { x: X([B, S, D], seed, 1), mask: i32([B, S], Array.from({ length: B * S }, (_, i) => (i >= S && i % S >= S - pad ? 0 : 1))) };
}
