// Schemas of the operators of other domains lowbit implements, written from onnxruntime's
// docs/ContribOperators.md (the com.microsoft domain has one version of each, since version 1).

import type { OpSchema } from './schema-types.js';

export const CONTRIB_SCHEMAS: Readonly<Record<string, Readonly<Record<string, readonly OpSchema[]>>>> = {
  'com.microsoft': {
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
