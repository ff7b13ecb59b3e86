// A Llama-style q4 decoder in the layout transformers.js ships its LLM exports in (the onnxruntime-genai
// model builder's graph): inputs input_ids, attention_mask, position_ids (only when a RotaryEmbedding
// node reads it), past_key_values.{i}.key / .value [batch, kv_heads, past_sequence_length, head_size];
// outputs logits and present.{i}.key / .value. Inside: a float32 embedding Gather, seqlens_k and
// total_sequence_length computed from attention_mask (ReduceSum − 1, Shape[1]), SimplifiedLayerNorm /
// SkipSimplifiedLayerNorm, MatMulNBits (4 bits, no zero points) projections, GroupQueryAttention with
// do_rotary (or RotaryEmbedding nodes on position_ids), a SwiGLU MLP (gate · Sigmoid(gate) · up) and a
// MatMulNBits lm_head. Seeded random weights. Plain JS (typed arrays, no per-element JS arrays), so
// the ~100M-parameter bench model builds in seconds: used by test/generate.test.ts and bench/decode.mjs.

import onnxproto from 'onnx-proto';

const { onnx } = onnxproto;
const T = onnx.TensorProto.DataType;
const A = onnx.AttributeProto.AttributeType;

/** Test size: 2 layers, hidden 64, 4 query heads of 16 over 2 kv heads, vocab 96. */
export const TINY = { vocab: 96, hidden: 64, heads: 4, kvHeads: 2, headSize: 16, ffn: 128, layers: 2, maxPositions: 96, blockSize: 32, seed: 1, rotary: 'gqa' };

/** ~100M parameters: 14 layers, hidden 768, 12 heads of 64 over 4 kv heads, ffn 2048, vocab 8192. */
export const BENCH_100M = { vocab: 8192, hidden: 768, heads: 12, kvHeads: 4, headSize: 64, ffn: 2048, layers: 14, maxPositions: 512, blockSize: 32, seed: 1, rotary: 'gqa' };

/** Parameters of a configuration (the embedding, norms and every MatMulNBits weight). */
export function parameterCount(c) {
  const { vocab: V, hidden: D, heads: N, kvHeads: NK, headSize: H, ffn: F, layers: L } = c;
  return V * D + L * (2 * D + D * N * H + 2 * D * NK * H + N * H * D + 3 * D * F) + D + D * V;
}

function mulberry32(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const dim = (d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d });
const valueInfo = (name, type, dims) => ({ name, type: { tensorType: { elemType: type, shape: dims ? { dim: dims.map(dim) } : undefined } } });
const raw = (x) => new Uint8Array(x.buffer, x.byteOffset, x.byteLength);
const attrOf = (name, v) => {
  if (typeof v === 'string') return { name, type: A.STRING, s: new TextEncoder().encode(v) };
  if (Array.isArray(v)) return { name, type: A.INTS, ints: v };
  if (typeof v === 'object') return { name, type: A.FLOAT, f: v.f };
  return { name, type: A.INT, i: v };
};

/**
 * The model's bytes for configuration `c` (TINY, BENCH_100M or a variant): `rotary` 'gqa' (do_rotary,
 * no position_ids input) or 'node' (RotaryEmbedding on position_ids, GroupQueryAttention without it).
 */
export function llmModel(c) {
  const { vocab: V, hidden: D, heads: N, kvHeads: NK, headSize: H, ffn: F, layers: L, maxPositions: P, blockSize: BS } = c;
  const r = mulberry32(c.seed);
  const nodes = [], inits = [];
  const node = (op, inputs, outputs, attrs = {}, domain = '') => nodes.push({
    opType: op, domain, name: `${op}_${nodes.length}`, input: inputs, output: outputs, attribute: Object.entries(attrs).map(([k, v]) => attrOf(k, v)),
  });
  const init = (name, type, dims, data) => inits.push({ name, dims, dataType: type, rawData: raw(data) });
  const gains = (name) => init(name, T.FLOAT, [D], Float32Array.from({ length: D }, () => 1 + (r() - 0.5) * 0.2));
  const nbits = (name, x, k, n) => {
    const nb = k / BS;
    const b = new Uint8Array(n * nb * (BS / 2));
    // codes 1…15 around the zero point 8: a mean of 0 (uniform 0…15 would give every weight a bias of −scale/2)
    const code = () => 1 + ((r() * 15) | 0);
    for (let i = 0; i < b.length; i++) b[i] = code() | (code() << 4);
    const s = Float32Array.from({ length: n * nb }, () => (0.5 + r()) / (4 * Math.sqrt(k)));
    init(`${name}.qweight`, T.UINT8, [n, nb, BS / 2], b);
    init(`${name}.scales`, T.FLOAT, [n * nb], s);
    node('MatMulNBits', [x, `${name}.qweight`, `${name}.scales`], [name], { K: k, N: n, bits: 4, block_size: BS, accuracy_level: 0 }, 'com.microsoft');
    return name;
  };

  const inputs = [valueInfo('input_ids', T.INT64, ['batch_size', 'sequence_length']), valueInfo('attention_mask', T.INT64, ['batch_size', 'total_sequence_length'])];
  if (c.rotary === 'node') inputs.push(valueInfo('position_ids', T.INT64, ['batch_size', 'sequence_length']));
  const outputs = [valueInfo('logits', T.FLOAT, ['batch_size', 'sequence_length', V])];

  init('model.embed_tokens.weight', T.FLOAT, [V, D], Float32Array.from({ length: V * D }, () => (r() - 0.5) * 2));
  node('Gather', ['model.embed_tokens.weight', 'input_ids'], ['embeds']);
  // seqlens_k = sum(mask) − 1 per sequence, total_sequence_length = mask's width
  init('one_axis', T.INT64, [1], BigInt64Array.of(1n));
  init('one', T.INT64, [], BigInt64Array.of(1n));
  node('ReduceSum', ['attention_mask', 'one_axis'], ['mask_sum'], { keepdims: 0 });
  node('Sub', ['mask_sum', 'one'], ['mask_sum_1']);
  node('Cast', ['mask_sum_1'], ['seqlens_k'], { to: T.INT32 });
  node('Shape', ['attention_mask'], ['mask_shape']);
  node('Gather', ['mask_shape', 'one'], ['total_i64'], { axis: 0 });
  node('Cast', ['total_i64'], ['total_seq_len'], { to: T.INT32 });
  // RoPE caches [maxPositions, headSize / 2]
  const half = H / 2, cos = new Float32Array(P * half), sin = new Float32Array(P * half);
  for (let p = 0; p < P; p++) for (let i = 0; i < half; i++) {
    const a = p * 10000 ** (-i / half);
    cos[p * half + i] = Math.cos(a);
    sin[p * half + i] = Math.sin(a);
  }
  init('cos_cache', T.FLOAT, [P, half], cos);
  init('sin_cache', T.FLOAT, [P, half], sin);

  let x = 'embeds', residual = null;
  for (let l = 0; l < L; l++) {
    const p = (s) => `model.layers.${l}.${s}`;
    inputs.push(valueInfo(`past_key_values.${l}.key`, T.FLOAT, ['batch_size', NK, 'past_sequence_length', H]), valueInfo(`past_key_values.${l}.value`, T.FLOAT, ['batch_size', NK, 'past_sequence_length', H]));
    outputs.push(valueInfo(`present.${l}.key`, T.FLOAT, ['batch_size', NK, 'total_sequence_length', H]), valueInfo(`present.${l}.value`, T.FLOAT, ['batch_size', NK, 'total_sequence_length', H]));
    gains(p('input_layernorm.weight'));
    gains(p('post_attention_layernorm.weight'));
    // the residual stream enters each layer's first norm (layer 0: the embeddings)
    if (residual) node('SkipSimplifiedLayerNormalization', [x, residual, p('input_layernorm.weight')], [p('n1'), '', '', p('res1')], { epsilon: { f: 1e-5 } }, 'com.microsoft');
    else node('SimplifiedLayerNormalization', [x, p('input_layernorm.weight')], [p('n1')], { epsilon: { f: 1e-5 }, axis: -1 });
    const res1 = residual ? p('res1') : x;
    let q = nbits(p('self_attn.q_proj'), p('n1'), D, N * H), k = nbits(p('self_attn.k_proj'), p('n1'), D, NK * H);
    const v = nbits(p('self_attn.v_proj'), p('n1'), D, NK * H);
    if (c.rotary === 'node') {
      node('RotaryEmbedding', [q, 'position_ids', 'cos_cache', 'sin_cache'], [p('q_rot')], { interleaved: 0 }, 'com.microsoft');
      node('RotaryEmbedding', [k, 'position_ids', 'cos_cache', 'sin_cache'], [p('k_rot')], { interleaved: 0 }, 'com.microsoft');
      [q, k] = [p('q_rot'), p('k_rot')];
    }
    const rope = c.rotary === 'gqa' ? ['cos_cache', 'sin_cache'] : [];
    node('GroupQueryAttention', [q, k, v, `past_key_values.${l}.key`, `past_key_values.${l}.value`, 'seqlens_k', 'total_seq_len', ...rope],
      [p('attn'), `present.${l}.key`, `present.${l}.value`], { num_heads: N, kv_num_heads: NK, do_rotary: c.rotary === 'gqa' ? 1 : 0, scale: { f: 1 / Math.sqrt(H) } }, 'com.microsoft');
    const o = nbits(p('self_attn.o_proj'), p('attn'), N * H, D);
    node('SkipSimplifiedLayerNormalization', [o, res1, p('post_attention_layernorm.weight')], [p('n2'), '', '', p('res2')], { epsilon: { f: 1e-5 } }, 'com.microsoft');
    const gate = nbits(p('mlp.gate_proj'), p('n2'), D, F), up = nbits(p('mlp.up_proj'), p('n2'), D, F);
    node('Sigmoid', [gate], [p('gate_sig')]);
    node('Mul', [gate, p('gate_sig')], [p('silu')]);
    node('Mul', [p('silu'), up], [p('mlp_in')]);
    x = nbits(p('mlp.down_proj'), p('mlp_in'), F, D);
    residual = p('res2');
  }
  gains('model.norm.weight');
  node('SkipSimplifiedLayerNormalization', [x, residual, 'model.norm.weight'], ['final_norm'], { epsilon: { f: 1e-5 } }, 'com.microsoft');
  nbits('lm_head', 'final_norm', D, V);
  nodes[nodes.length - 1].output = ['logits'];

  const model = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }, { domain: 'com.microsoft', version: 1 }],
    graph: { name: 'llm', node: nodes, initializer: inits, input: inputs, output: outputs },
  });
  return onnx.ModelProto.encode(model).finish();
}
