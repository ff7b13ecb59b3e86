// What generate() needs to know about a decoder, read off its graph in the layout transformers.js
// LLM exports use: input_ids, attention_mask, position_ids (optional), past_key_values.{i}.key/value
// [batch, kv_heads, past, head_size]; outputs logits and present.{i}.key/value. The layers, kv heads
// and head size come from the graph's declared inputs, the vocabulary from the embedding Gather.

import { ModelError } from '../errors.js';
import type { Graph } from './graph.js';
import type { KvNames } from './kv-cache.js';

export interface DecoderLayout extends KvNames {
  readonly inputIds: string;
  readonly inputIdsType: 'int64' | 'int32';
  readonly attentionMask: string | null;
  readonly positionIds: string | null;
  readonly logits: string;
  /** token ids are < vocab (from the embedding table read by input_ids), null when not found */
  readonly vocab: number | null;
  /**
   * every past input is read only as GroupQueryAttention's past_key / past_value, and its
   * total_sequence_length comes from attention_mask: a past buffer longer than the sequences works
   * (present then has the past's rows), so the cache can be preallocated and grown by chunks
   */
  readonly shared: boolean;
  /** rows of GroupQueryAttention's rotary caches (the most positions), Infinity when it has none */
  readonly maxPositions: number;
}

const PAST = /^past_key_values\.(\d+)\.(key|value)$/;

export function decoderLayout(graph: Graph): DecoderLayout {
  const has = (name: string) => graph.inputs.find((i) => i.name === name);
  const inputs = () => graph.inputs.map((i) => `'${i.name}'`).join(', ');
  const ids = has('input_ids');
  if (!ids || (ids.type !== 'int64' && ids.type !== 'int32') || ids.dims.length !== 2) {
    throw new ModelError(`generate: the model has no input 'input_ids' (int64 [batch, sequence]) as transformers.js decoders have; it takes ${inputs()}`);
  }
  if (!graph.outputs.includes('logits')) throw new ModelError(`generate: the model has no output 'logits'; it has ${graph.outputs.map((o) => `'${o}'`).join(', ')}`);
  const mask = has('attention_mask'), pos = has('position_ids');
  for (const [gi, what] of [[mask, 'attention_mask'], [pos, 'position_ids']] as const) {
    if (gi && (gi.type !== 'int64' || gi.dims.length !== 2)) throw new ModelError(`generate: input '${what}' must be int64 [batch, length], the model declares ${gi.type} [${gi.dims}]`);
  }
  // the cache: past_key_values.0 … L−1, each with its present
  const layers = new Map<number, number>();
  let kvHeads = 0, headSize = 0;
  for (const gi of graph.inputs) {
    const m = PAST.exec(gi.name);
    if (!m) continue;
    const [, h, d] = [gi.dims[0], gi.dims[1], gi.dims[3]];
    if (gi.type !== 'float32' || gi.dims.length !== 4 || typeof h !== 'number' || typeof d !== 'number') {
      throw new ModelError(`generate: input '${gi.name}' must be float32 [batch, kv_heads, past, head_size] with fixed kv_heads and head_size, got ${gi.type} [${gi.dims}]`);
    }
    if ((kvHeads || headSize) && (h !== kvHeads || d !== headSize)) throw new ModelError(`generate: input '${gi.name}' has ${h} kv heads of ${d}, another past has ${kvHeads} of ${headSize}`);
    [kvHeads, headSize] = [h, d];
    layers.set(+m[1], (layers.get(+m[1]) ?? 0) + 1);
  }
  const unknown = graph.inputs.find((i) => !PAST.test(i.name) && !['input_ids', 'attention_mask', 'position_ids'].includes(i.name));
  if (unknown) throw new ModelError(`generate: input '${unknown.name}' is not one generate() feeds (input_ids, attention_mask, position_ids, past_key_values.{i}.key / .value)`);
  if (layers.size === 0) throw new ModelError(`generate: the model has no 'past_key_values.{i}.key' / '.value' inputs (a KV cache); it takes ${inputs()}`);
  const past: [string, string][] = [], present: [string, string][] = [];
  for (let l = 0; l < layers.size; l++) {
    if (layers.get(l) !== 2) throw new ModelError(`generate: layer ${l} needs inputs 'past_key_values.${l}.key' and 'past_key_values.${l}.value' (the model has ${layers.size} layers of past)`);
    past.push([`past_key_values.${l}.key`, `past_key_values.${l}.value`]);
    present.push([`present.${l}.key`, `present.${l}.value`]);
    for (const o of present[l]) if (!graph.outputs.includes(o)) throw new ModelError(`generate: the model has no output '${o}' for input 'past_key_values.${l}.*'`);
  }
  return {
    inputIds: 'input_ids', inputIdsType: ids.type, attentionMask: mask ? mask.name : null, positionIds: pos ? pos.name : null, logits: 'logits',
    vocab: vocabOf(graph), past, present, kvHeads, headSize, ...sharedCache(graph, past, present, !!mask),
  };
}

/** Rows of the embedding table a Gather reads with input_ids. */
function vocabOf(graph: Graph): number | null {
  const g = graph.nodes.find((n) => n.op === 'Gather' && n.domain === '' && n.inputs[1] === 'input_ids' && graph.constants.has(n.inputs[0]));
  return g ? graph.constants.get(g.inputs[0])!.dims[0] : null;
}

function sharedCache(graph: Graph, past: [string, string][], present: [string, string][], mask: boolean): { shared: boolean; maxPositions: number } {
  let shared = mask, maxPositions = Infinity;
  const inputNames = new Set(graph.inputs.map((i) => i.name));
  past.forEach(([k, v], l) => {
    const readers = graph.nodes.filter((n) => n.inputs.includes(k) || n.inputs.includes(v));
    const gqa = readers[0];
    const ok = readers.length === 1 && gqa.op === 'GroupQueryAttention' && gqa.domain === 'com.microsoft'
      && gqa.inputs[3] === k && gqa.inputs[4] === v && gqa.outputs[1] === present[l][0] && gqa.outputs[2] === present[l][1]
      && !inputNames.has(gqa.inputs[5]) && !inputNames.has(gqa.inputs[6]);
    if (!ok) {
      shared = false;
      return;
    }
    const cos = graph.constants.get(gqa.inputs[7] ?? '');
    if (cos) maxPositions = Math.min(maxPositions, cos.dims[0]);
  });
  return { shared, maxPositions };
}
