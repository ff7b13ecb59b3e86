// The operators lowbit's model runner implements (default ONNX domain), and the load-time check.

import { ModelError, UnsupportedOperatorError } from '../../errors.js';
import type { GraphNode } from '../graph.js';
import { LINEAR_OPS } from './linear-ops.js';
import { LOWBIT_OPS } from './lowbit-ops.js';
import { CAST_OPS } from './cast.js';
import { INT_MATMUL_OPS } from './int-matmul-ops.js';
import { QDQ_OPS } from './qdq-ops.js';
import { MICROSOFT_OPS } from './quant-ops.js';
import { MATH_OPS } from './math.js';
import { RECURRENT_OPS } from './recurrent-ops.js';
import { REDUCE_OPS } from './reduce-ops.js';
import { ARG_OPS } from './arg-ops.js';
import { LOGIC_OPS } from './logic-ops.js';
import { UNARY_OPS } from './unary-ops.js';
import { TENSOR_OPS } from './tensor-ops.js';
import { SHAPE_OPS } from './shape-ops.js';
import { PAD_OPS } from './pad.js';
import { SCAN_OPS } from './scan-ops.js';
import { GATHER_SCATTER_OPS } from './gather-scatter.js';
import { RESIZE_OPS } from './resize.js';
import { CONV_TRANSPOSE_OPS } from './conv-transpose.js';
import { NORM_OPS } from './norm-ops.js';
import type { OpDef } from './types.js';

// one table per file; an operator defined in two tables is a mistake caught here, at import
const TABLES: Readonly<Record<string, OpDef>>[] = [
  MATH_OPS,
  UNARY_OPS,
  LOGIC_OPS,
  CAST_OPS,
  TENSOR_OPS,
  SHAPE_OPS,
  PAD_OPS,
  SCAN_OPS,
  GATHER_SCATTER_OPS,
  REDUCE_OPS,
  ARG_OPS,
  LINEAR_OPS,
  QDQ_OPS,
  INT_MATMUL_OPS,
  RECURRENT_OPS,
  RESIZE_OPS,
  CONV_TRANSPOSE_OPS,
  NORM_OPS,
];

export const OPS: Readonly<Record<string, OpDef>> = mergeTables(TABLES);

function mergeTables(tables: readonly Readonly<Record<string, OpDef>>[]): Record<string, OpDef> {
  const all: Record<string, OpDef> = {};
  for (const t of tables) {
    for (const [op, def] of Object.entries(t)) {
      if (all[op]) throw new ModelError(`lowbit internal: operator ${op} is defined in two tables`);
      all[op] = def;
    }
  }
  return all;
}

export function opDef(node: GraphNode): OpDef | undefined {
  if (node.domain === 'lowbit') return LOWBIT_OPS[node.op];
  if (node.domain === 'com.microsoft') return MICROSOFT_OPS[node.op];
  return node.domain === '' ? OPS[node.op] : undefined;
}

/** Throws UnsupportedOperatorError naming the op, the node and the opset when lowbit cannot run a node. */
export function checkOperator(node: GraphNode, opset: number): void {
  const def = opDef(node);
  if (!def) {
    const where = node.domain ? `domain '${node.domain}' ` : '';
    throw new UnsupportedOperatorError(
      `operator ${where}${node.op} (node '${node.name}', opset ${opset}) is not supported by lowbit; supported: ${Object.keys(OPS).sort().join(', ')}`,
    );
  }
  if (def.opsets && (opset < def.opsets[0] || opset > def.opsets[1])) {
    throw new UnsupportedOperatorError(`operator ${node.op} (node '${node.name}') at opset ${opset}: lowbit implements opsets ${def.opsets[0]}…${def.opsets[1]}`);
  }
  def.check?.({ node, opset });
}
