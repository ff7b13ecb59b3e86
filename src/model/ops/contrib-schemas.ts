// Schemas of onnxruntime's contrib operators lowbit implements, written from onnxruntime's
// docs/ContribOperators.md and its contrib_defs (the com.microsoft domain has one version of each,
// since version 1; '' holds the ones onnxruntime registers in the default domain, version 1).

import type { OpSchema } from './schema-types.js';

export const CONTRIB_SCHEMAS: Readonly<Record<string, Readonly<Record<string, readonly OpSchema[]>>>> = {
  '': {
    LayerNormalization: [{
      since: 1,
      inputs: [2, 3],
      outputs: [1, 3],
      attrs: { axis: 'int', epsilon: 'float', stash_type: 'int' },
      ins: ['X:T', 'Scale:V', 'B:V?'],
      outs: ['Y:V', 'Mean:U?', 'InvStdDev:U?'],
      types: { T: ['bfloat16', 'float16', 'float32', 'float64'], U: ['bfloat16', 'float32', 'float64'], V: ['bfloat16', 'float16', 'float32', 'float64'] },
    }],
    SimplifiedLayerNormalization: [{
      since: 1,
      inputs: [2, 2],
      outputs: [1, 2],
      attrs: { axis: 'int', epsilon: 'float', stash_type: 'int' },
      ins: ['X:T', 'scale:V'],
      outs: ['Y:V', 'inv_std_var:U?'],
      types: { T: ['bfloat16', 'float16', 'float32', 'float64'], U: ['bfloat16', 'float32', 'float64'], V: ['bfloat16', 'float16', 'float32', 'float64'] },
    }],
  },
  'com.microsoft': {
    GroupQueryAttention: [{
      since: 1,
      inputs: [7, 16],
      outputs: [1, 4],
      attrs: {
        causal: 'int', do_rotary: 'int', k_quant_type: 'string', kv_cache_bit_width: 'int', kv_num_heads: 'int!', local_window_size: 'int', num_heads: 'int!',
        qk_norm_epsilon: 'float', qk_output: 'int', rotary_interleaved: 'int', scale: 'float', sliding_window_cache: 'int', smooth_softmax: 'int', softcap: 'float', v_quant_type: 'string',
      },
      ins: ['query:T', 'key:T?', 'value:T?', 'past_key:T_CACHE?', 'past_value:T_CACHE?', 'seqlens_k:M', 'total_sequence_length:M', 'cos_cache:T?', 'sin_cache:T?', 'position_ids:int64?', 'attention_bias:T?', 'head_sink:T?', 'k_scale:T_KV_SCALE?', 'v_scale:T_KV_SCALE?', 'q_norm_weight:T?', 'k_norm_weight:T?'],
      outs: ['output:T', 'present_key:T_CACHE?', 'present_value:T_CACHE?', 'output_qk:T?'],
      types: { T: ['bfloat16', 'float16', 'float32'], T_CACHE: ['bfloat16', 'float16', 'float32', 'float8e4m3fn', 'int8', 'uint8'], T_KV_SCALE: ['float32'], M: ['int32'] },
    }],
    MultiHeadAttention: [{
      since: 1,
      inputs: [1, 10],
      outputs: [1, 4],
      attrs: { mask_filter_value: 'float', num_heads: 'int!', scale: 'float', unidirectional: 'int' },
      ins: ['query:T', 'key:T?', 'value:T?', 'bias:T?', 'key_padding_mask:M?', 'attention_bias:T?', 'past_key:T?', 'past_value:T?', 'past_sequence_length:M?', 'cache_indirection:M?'],
      outs: ['output:T', 'present_key:T?', 'present_value:T?', 'qk:QK?'],
      types: { T: ['bfloat16', 'float16', 'float32'], QK: ['bfloat16', 'float16', 'float32'], M: ['int32'] },
    }],
    RotaryEmbedding: [{
      since: 1,
      inputs: [4, 4],
      outputs: [1, 1],
      attrs: { interleaved: 'int', is_packed_batching: 'int', num_heads: 'int', rotary_embedding_dim: 'int', scale: 'float' },
      ins: ['input:T', 'position_ids:M', 'cos_cache:T', 'sin_cache:T'],
      outs: ['output:T'],
      types: { T: ['bfloat16', 'float16', 'float32'], M: ['int64'] },
    }],
    Gelu: [{ since: 1, inputs: [1, 1], outputs: [1, 1], attrs: {}, ins: ['X:T'], outs: ['Y:T'], types: { T: ['bfloat16', 'float16', 'float32', 'float64'] } }],
    BiasGelu: [{ since: 1, inputs: [2, 2], outputs: [1, 1], attrs: {}, ins: ['A:T', 'B:T'], outs: ['C:T'], types: { T: ['bfloat16', 'float16', 'float32', 'float64'] } }],
    FastGelu: [{ since: 1, inputs: [1, 2], outputs: [1, 1], attrs: {}, ins: ['X:T', 'bias:T?'], outs: ['Y:T'], types: { T: ['bfloat16', 'float16', 'float32', 'float64'] } }],
    QuickGelu: [{ since: 1, inputs: [1, 1], outputs: [1, 1], attrs: { alpha: 'float' }, ins: ['X:T'], outs: ['Y:T'], types: { T: ['bfloat16', 'float16', 'float32', 'float64'] } }],
    SkipLayerNormalization: [{
      since: 1,
      inputs: [3, 5],
      outputs: [1, 4],
      attrs: { epsilon: 'float' },
      ins: ['input:T', 'skip:T', 'gamma:T', 'beta:T?', 'bias:T?'],
      outs: ['output:T', 'mean:U?', 'inv_std_var:U?', 'input_skip_bias_sum:T?'],
      types: { T: ['bfloat16', 'float16', 'float32'], U: ['float32'] },
    }],
    SkipSimplifiedLayerNormalization: [{
      since: 1,
      inputs: [3, 4],
      outputs: [1, 4],
      attrs: { epsilon: 'float' },
      ins: ['input:T', 'skip:T', 'gamma:T', 'bias:T?'],
      outs: ['output:T', 'mean:U?', 'inv_std_var:U?', 'input_skip_bias_sum:T?'],
      types: { T: ['bfloat16', 'float16', 'float32'], U: ['float32'] },
    }],
    MatMulNBits: [{
      since: 1,
      inputs: [3, 6],
      outputs: [1, 1],
      attrs: { K: 'int!', N: 'int!', accuracy_level: 'int', bits: 'int', block_size: 'int!' },
      ins: ['A:T1', 'B:T2', 'scales:T1', 'zero_points:T3?', 'g_idx:T4?', 'bias:T1?'],
      outs: ['Y:T1'],
      types: { T1: ['bfloat16', 'float16', 'float32'], T2: ['int32', 'uint8'], T3: ['bfloat16', 'float16', 'float32', 'int32', 'uint8'], T4: ['int32'] },
    }],
  },
};
