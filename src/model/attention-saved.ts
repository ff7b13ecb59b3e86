// A saved model's int8 attention nodes (quantizeModel's attention 'int8', src/model/attention-int8-ops.ts).
// The metadata key `attention` holds one record per node, by its first output: { op, k, v } — the
// static K and V scales (one float32 per kv head) calibration froze. JSON numbers round-trip them
// exactly. At load every attention node the plan reaches must have its record, and every record
// must name an attention node of its op with as many kv heads as it has scales.

import { ModelError, ValueRangeError } from '../errors.js';
import type { GraphNode } from './graph.js';
import { AttentionInt8Ops, attentionOpOf, kvHeadsOf, type AttentionOp, type AttentionScales } from './attention-int8-ops.js';
import type { Model } from './model.js';
import type { Runtime } from '../runtime/runtime.js';

export interface AttentionRecord extends AttentionScales {
  op: AttentionOp;
}

const FIELDS = ['op', 'k', 'v'];

/** The records of a model's int8 attention nodes (made so far), or null when it has none. */
export function attentionRecords(model: Model): Record<string, AttentionRecord> | null {
  const ops = (model as { attentionInt8?: AttentionInt8Ops }).attentionInt8;
  if (!ops || ops.ops.size === 0) return null;
  const out: Record<string, AttentionRecord> = {};
  for (const [node, op] of ops.ops) {
    if (!op.scales) throw new ModelError(`save: int8 attention '${node.outputs[0]}' (${op.op}) has no frozen scales (it was first run after calibration)`);
    out[node.outputs[0]] = { op: op.op, k: op.scales.k, v: op.scales.v };
  }
  return out;
}

/** The metadata's attention records, checked: objects of exactly op, k and v, naming attention nodes of this graph of that op. */
export function parseAttentionRecords(text: string, nodes: ReadonlyMap<string, GraphNode>): Map<string, AttentionRecord> {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new ModelError('load: the int8 attention records in the metadata are not valid JSON');
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new ModelError('load: the int8 attention records in the metadata are not an object');
  const out = new Map<string, AttentionRecord>();
  for (const [key, r] of Object.entries(v)) {
    const bad = (what: string) => new ModelError(`load: int8 attention '${key}' ${what}`);
    if (!r || typeof r !== 'object' || Array.isArray(r)) throw bad('has no record');
    const rec = r as Record<string, unknown>;
    for (const name of Object.keys(rec)) if (!FIELDS.includes(name)) throw bad(`has field ${name}, which an attention record does not have`);
    const node = nodes.get(key);
    if (!node) throw bad('is not in this model (was the file saved from another model?)');
    const op = attentionOpOf(node);
    if (!op) throw bad(`is a ${node.domain ? `${node.domain}.` : ''}${node.op} node, not an attention node`);
    if (rec.op !== op) throw bad(`field op: the file says ${JSON.stringify(rec.op) ?? 'nothing'}, the node is ${op}`);
    const heads = kvHeadsOf(node);
    for (const name of ['k', 'v'] as const) {
      const a = rec[name];
      if (!Array.isArray(a) || a.length !== heads) throw bad(`field ${name}: expected ${heads} scales (one per kv head), got ${Array.isArray(a) ? `${a.length}` : JSON.stringify(a) ?? 'nothing'}`);
      a.forEach((x, i) => {
        if (typeof x !== 'number' || !Number.isFinite(x) || !(x > 0) || Math.fround(x) !== x) throw bad(`field ${name}[${i}]: expected a float32 number > 0, got ${JSON.stringify(x)}`);
      });
    }
    out.set(key, rec as unknown as AttentionRecord);
  }
  return out;
}

/** A loaded model's int8 attention nodes, each frozen at its saved scales as it is made. */
export function restoredAttention(rt: Runtime, records: ReadonlyMap<string, AttentionRecord>): AttentionInt8Ops {
  return new AttentionInt8Ops(rt, (node, op) => {
    const key = node.outputs[0], r = records.get(key);
    // quantizeModel ran this node in int8: without its scales the file cannot say how
    if (!r) throw new ModelError(`load: int8 attention '${key}' (${op.op}) has no record in the file (it was saved before this node ran, or from another model)`);
    try {
      op.freezeAt({ k: r.k, v: r.v });
    } catch (e) {
      if (e instanceof ValueRangeError) throw new ModelError(`load: int8 attention '${key}' field ${e.message}`);
      throw e;
    }
  });
}
