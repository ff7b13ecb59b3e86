// Which schema version of an operator is in effect at a model's opset: the latest one whose
// since-version is <= the opset (Resize at opset 21 is Resize-19).

import { CONTRIB_SCHEMAS } from './contrib-schemas.js';
import { ONNX_SCHEMAS } from './onnx-schemas.js';
import type { OpSchema } from './schema-types.js';

/** Every version of an operator of `domain` ('' is ONNX's), oldest first; undefined when none is known. */
export function schemaVersions(domain: string, op: string): readonly OpSchema[] | undefined {
  const table = domain === '' ? ONNX_SCHEMAS : CONTRIB_SCHEMAS[domain];
  return table && Object.hasOwn(table, op) ? table[op] : undefined;
}

/** The version of `op` in effect at `opset`; undefined when the operator is younger than the opset. */
export function schemaAt(domain: string, op: string, opset: number): OpSchema | undefined {
  let found: OpSchema | undefined;
  for (const s of schemaVersions(domain, op) ?? []) if (s.since <= opset) found = s;
  return found;
}
