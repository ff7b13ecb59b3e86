// End to end: a 2-layer Llama-style decoder in the layout onnxruntime-genai / transformers.js q4 exports
// use (SimplifiedLayerNormalization, MatMulNBits 4-bit projections, GroupQueryAttention with rotary and
// a KV cache, SkipSimplifiedLayerNormalization, a SiLU-gated MLP as QuickGelu(alpha 1) · up), loaded
// with loadModel and run against onnxruntime-web: a 4-token prompt, then 4 decoding steps, each runtime
// feeding its own present_key / present_value back as past (a fixed 12-row cache buffer).

import { describe, it } from 'vitest';
import { SIMD, rng, useRuntimes } from './helpers.js';
import { OnnxBuilder, type Feed } from './onnx-builder.js';
import { W, X } from './model-ort-check.js';
import { decode, i32, ropeCaches } from './ms-ops-helpers.js';

const rts = useRuntimes();
const [D, N, NK, H, F, BS, MAX] = [64, 4, 2, 16, 128, 32, 12];
const LAYERS = 2;

function decoder(): OnnxBuilder {
  const b = new OnnxBuilder(17).input('x', [1, 'seq', D]).input('seqlens_k', [1], 'int32').input('total_sequence_length', [1], 'int32').output('y');
  b.domains.set('com.microsoft', 1);
  const r = rng(5);
  const { cos, sin } = ropeCaches(MAX, H / 2);
  b.init('cos', cos[0], cos[1]).init('sin', sin[0], sin[1]);
  let seed = 50;
  const nbits = (name: string, x: string, k: number, n: number) => {
    const nb = k / BS;
    b.init(`${name}_B`, [n, nb, BS / 2], Array.from({ length: n * nb * (BS / 2) }, () => Math.floor(r() * 256)), 'uint8');
    b.init(`${name}_s`, [n * nb], Array.from({ length: n * nb }, () => (0.5 + r()) / (8 * Math.sqrt(k))));
    b.node('MatMulNBits', [x, `${name}_B`, `${name}_s`], name, { K: k, N: n, bits: 4, block_size: BS }, name, 'com.microsoft');
    return name;
  };
  let x = 'x';
  for (let l = 0; l < LAYERS; l++) {
    const p = (s: string) => `l${l}_${s}`;
    b.input(`past_key_${l}`, [1, NK, MAX, H]).input(`past_value_${l}`, [1, NK, MAX, H]).output(`present_key_${l}`).output(`present_value_${l}`);
    b.init(p('g1'), [D], W(D, seed++, 0.1).map((v) => 1 + v)).init(p('g2'), [D], W(D, seed++, 0.1).map((v) => 1 + v));
    b.node('SimplifiedLayerNormalization', [x, p('g1')], p('n1'), { epsilon: 1e-5 }, p('ln1'));
    const q = nbits(p('q'), p('n1'), D, N * H), k = nbits(p('k'), p('n1'), D, NK * H), v = nbits(p('v'), p('n1'), D, NK * H);
    b.node('GroupQueryAttention', [q, k, v, `past_key_${l}`, `past_value_${l}`, 'seqlens_k', 'total_sequence_length', 'cos', 'sin'], [p('attn'), `present_key_${l}`, `present_value_${l}`],
      { num_heads: N, kv_num_heads: NK, do_rotary: 1 }, p('gqa'), 'com.microsoft');
    const o = nbits(p('o'), p('attn'), N * H, D);
    b.node('SkipSimplifiedLayerNormalization', [o, x, p('g2')], [p('n2'), '', '', p('res')], { epsilon: 1e-5 }, p('ln2'), 'com.microsoft');
    const gate = nbits(p('gate'), p('n2'), D, F), up = nbits(p('up'), p('n2'), D, F);
    b.node('QuickGelu', [gate], p('silu'), { alpha: 1 }, p('silu'), 'com.microsoft');
    b.node('Mul', [p('silu'), up], p('m'));
    const down = nbits(p('down'), p('m'), F, D);
    b.node('Add', [down, p('res')], p('out'));
    x = p('out');
  }
  b.init('gf', [D], W(D, seed++, 0.1).map((v) => 1 + v));
  b.node('SimplifiedLayerNormalization', [x, 'gf'], 'y', { epsilon: 1e-5 }, 'final_norm');
  return b;
}

describe(`a 2-layer Llama-style q4 decoder of com.microsoft operators vs onnxruntime-web (${SIMD} build)`, () => {
  it('a 4-token prompt, then 4 decoding steps with the KV cache carried by each runtime', async () => {
    const PROMPT = 4;
    const zeros = (): Feed => ({ type: 'float32', dims: [1, NK, MAX, H], data: new Float32Array(NK * MAX * H) });
    const pastOf = (past: Record<string, Feed> | null) => Object.fromEntries(Array.from({ length: LAYERS }, (_, l) => [
      [`past_key_${l}`, past?.[`past_key_${l}`] ?? zeros()], [`past_value_${l}`, past?.[`past_value_${l}`] ?? zeros()],
    ]).flat());
    // step t: the prompt (t = 0), then one token at position PROMPT + t - 1
    const feeds = (t: number, past: Record<string, Feed> | null) => {
      const s = t === 0 ? PROMPT : 1, total = t === 0 ? PROMPT : PROMPT + t;
      return { x: X([1, s, D], 70 + t), ...pastOf(past), seqlens_k: i32([1], [total - 1]), total_sequence_length: i32([1], [total]) };
    };
    const carry = Object.fromEntries(Array.from({ length: LAYERS }, (_, l) => [[`present_key_${l}`, `past_key_${l}`], [`present_value_${l}`, `past_value_${l}`]]).flat());
    const bytes = decoder().build();
    await decode(rts.one, bytes, feeds(0, null), (t, past) => feeds(t, past), 5, 'decoder', carry);
    await decode(rts.two, bytes, feeds(0, null), (t, past) => feeds(t, past), 3, 'decoder, 2 threads', carry);
  });
});
