// The operators lowbit's model runner implements (default ONNX domain), and the load-time check.

import { ModelError, UnsupportedOperatorError } from '../../errors.js';
import type { GraphNode } from '../graph.js';
import { LINEAR_OPS } from './linear-ops.js';
import { LOWBIT_OPS } from './lowbit-ops.js';
import { DYN_QUANT_OPS } from './dyn-quant-ops.js';
import { CAST_OPS } from './cast.js';
import { CONTROL_FLOW_OPS } from './control-flow.js';
import { INT_MATMUL_OPS } from './int-matmul-ops.js';
import { QCONV_OPS } from './qconv-ops.js';
import { QDQ_OPS } from './qdq-ops.js';
import { MICROSOFT_TABLES } from './microsoft-ops.js';
import { ORT_DEFAULT_DOMAIN_OPS } from './ms-norm-ops.js';
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
import { DROPOUT_OPS } from './dropout.js';
import { UPSAMPLE_OPS } from './upsample.js';
import { NONZERO_OPS } from './nonzero.js';
import { ONEHOT_OPS } from './onehot.js';
import type { OpDef } from './types.js';
import { schemaAt, schemaVersions } from './schemas.js';

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
  QCONV_OPS,
  RECURRENT_OPS,
  RESIZE_OPS,
  CONV_TRANSPOSE_OPS,
  NORM_OPS,
  DROPOUT_OPS,
  UPSAMPLE_OPS,
  NONZERO_OPS,
  ONEHOT_OPS,
  CONTROL_FLOW_OPS,
  ORT_DEFAULT_DOMAIN_OPS,
];

export const OPS: Readonly<Record<string, OpDef>> = mergeTables(TABLES);
/** domain com.microsoft (onnxruntime's contrib operators) */
export const MICROSOFT_OPS: Readonly<Record<string, OpDef>> = mergeTables(MICROSOFT_TABLES);

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
  if (node.domain === 'lowbit') return LOWBIT_OPS[node.op] ?? DYN_QUANT_OPS[node.op];
  if (node.domain === 'com.microsoft') return MICROSOFT_OPS[node.op];
  return node.domain === '' ? OPS[node.op] : undefined;
}

/** An operator a model needs and lowbit lacks (or lacks at the model's opset). */
export interface MissingOperator {
  op: string;
  domain: string;
  opset: number;
  /** how many nodes use it */
  count: number;
  /** the first few of them */
  nodes: string[];
  /** what lowbit implements of it, when it has the op at other opsets */
  note?: string;
}

/** One refusal listing every missing operator; `operators` has them for programs. */
export class UnsupportedOperatorsError extends UnsupportedOperatorError {
  constructor(readonly operators: readonly MissingOperator[]) {
    const what = (m: MissingOperator) =>
      `${m.domain ? `domain '${m.domain}' ` : ''}${m.op} (opset ${m.opset}; ${m.count} node${m.count > 1 ? 's' : ''}: ${m.nodes.map((n) => `'${n}'`).join(', ')}${m.count > m.nodes.length ? ', …' : ''}${m.note ? `; ${m.note}` : ''})`;
    const list = operators.map(what).join(', ');
    super(
      operators.length === 1
        ? `operator ${list} is not supported by lowbit; supported: ${Object.keys(OPS).sort().join(', ')}`
        : `${operators.length} operators of this model are not supported by lowbit: ${list}; supported: ${Object.keys(OPS).sort().join(', ')}`,
    );
  }
}

const NODES_NAMED = 3;

/**
 * Every operator of `nodes` lowbit cannot run (no definition, or outside its opset range), grouped by
 * domain and op, in order of first use. Needs only op, domain and name: runs before any weight is decoded.
 */
export function missingOperators(nodes: Iterable<{ op: string; domain: string; name: string }>, versionOf: (domain: string) => number): MissingOperator[] {
  const found = new Map<string, MissingOperator>();
  for (const n of nodes) {
    if (n.op === 'Constant' && n.domain === '') continue;
    const def = opDef(n as GraphNode);
    const opset = versionOf(n.domain);
    let note: string | undefined;
    if (def) {
      // OpDef.opsets are the operator's ONNX versions: Resize at opset 21 is Resize-19
      const versions = schemaVersions(n.domain, n.op);
      const version = versions ? schemaAt(n.domain, n.op, opset)?.since : opset;
      if (version === undefined) note = `ONNX defines it from opset ${versions![0].since}`;
      else if (!def.opsets || (version >= def.opsets[0] && version <= def.opsets[1])) continue;
      else note = `lowbit implements its versions ${def.opsets[0]}…${def.opsets[1]}, opset ${opset} means ${n.op}-${version}`;
    }
    const key = `${n.domain}\u0000${n.op}`;
    const m = found.get(key) ?? { op: n.op, domain: n.domain, opset, count: 0, nodes: [], note };
    m.count++;
    if (m.nodes.length < NODES_NAMED) m.nodes.push(n.name);
    found.set(key, m);
  }
  return [...found.values()];
}

/** Throws one UnsupportedOperatorsError when any operator of `nodes` is missing. */
export function checkOperators(nodes: Iterable<{ op: string; domain: string; name: string }>, versionOf: (domain: string) => number): void {
  const missing = missingOperators(nodes, versionOf);
  if (missing.length > 0) throw new UnsupportedOperatorsError(missing);
}

/** Throws UnsupportedOperatorError naming the op, the node and the opset when lowbit cannot run a node. */
export function checkOperator(node: GraphNode, opset: number): void {
  checkOperators([node], () => opset);
  opDef(node)!.check?.({ node, opset });
}
