// The com.microsoft operators (onnxruntime's contrib domain) lowbit implements, one table per file;
// src/model/ops/registry.ts merges them (an operator in two tables is refused there).

import { MS_ACTIVATION_OPS } from './ms-activation-ops.js';
import { MS_ATTENTION_OPS } from './ms-attention-ops.js';
import { MS_GQA_OPS } from './ms-gqa-ops.js';
import { MS_NORM_OPS } from './ms-norm-ops.js';
import { MS_ROTARY_OPS } from './ms-rotary-ops.js';
import { MATMUL_NBITS_OPS } from './quant-ops.js';
import type { OpDef } from './types.js';

export const MICROSOFT_TABLES: readonly Readonly<Record<string, OpDef>>[] = [MATMUL_NBITS_OPS, MS_NORM_OPS, MS_ACTIVATION_OPS, MS_ROTARY_OPS, MS_ATTENTION_OPS, MS_GQA_OPS];
