// Which schema version of an operator is in effect at a model's opset: the latest one whose
// since-version is <= the opset (Resize at opset 21 is Resize-19).

import { CONTRIB_SCHEMAS } from './contrib-schemas.js';
import { ONNX_SCHEMAS } from './onnx-schemas.js';
import type { OpSchema } from './schema-types.js';

const own = <T>(table: Readonly<Record<string, T>> | undefined, op: string) => (table && Object.hasOwn(table, op) ? table[op] : undefined);

// onnxruntime's contrib operators in the default domain (SimplifiedLayerNormalization-1, LayerNormalization-1
// before ONNX's LayerNormalization-17) join ONNX's versions of the same name
const merged = new Map<string, readonly OpSchema[]>();

/** Every version of an operator of `domain` ('' is ONNX's), oldest first; undefined when none is known. */
export function schemaVersions(domain: string, op: string): readonly OpSchema[] | undefined {
  const contrib = own(CONTRIB_SCHEMAS[domain], op);
  if (domain !== '') return contrib;
  const onnx = own(ONNX_SCHEMAS, op);
  if (!contrib || !onnx) return onnx ?? contrib;
  if (!merged.has(op)) merged.set(op, [...contrib, ...onnx].sort((a, b) => a.since - b.since));
  return merged.get(op);
}

/** The version of `op` in effect at `opset`; undefined when the operator is younger than the opset. */
export function schemaAt(domain: string, op: string, opset: number): OpSchema | undefined {
  let found: OpSchema | undefined;
  for (const s of schemaVersions(domain, op) ?? []) if (s.since <= opset) found = s;
  return found;
}
