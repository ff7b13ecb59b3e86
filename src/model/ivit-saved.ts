// A saved model's integer-only ops (quantizeModel's integerOnly, src/model/ivit-layers.ts). The
// metadata key `integerOnly` holds one record per op, by its node's first output: { op, inScale,
// outScale } — the static scales calibration froze. The integer parameters are rebuilt from them at
// load with the same functions (src/quant/ivit.ts) and the graph's own gamma, beta, α and attention
// scale (the graph fingerprint covers those), so the loaded model computes the same bits. JSON
// numbers round-trip a float64 exactly.

import { ModelError, ValueRangeError } from '../errors.js';
import type { GraphNode } from './graph.js';
import { IvitActLinearLayer, IvitLayer, IvitLayers, shiftGeluAlpha, type IvitOp, type IvitScales } from './ivit-layers.js';
import type { ModelLayer } from './layers.js';
import type { LayerSpec, Model } from './model.js';
import type { Runtime } from '../runtime/runtime.js';

export interface IvitRecord extends IvitScales {
  op: IvitOp;
}

/** The ops of a model (built so far) that run integer-only, in build order: for reports. */
export function integerOnlyOps(model: Model): { node: GraphNode; op: IvitOp; kind: string }[] {
  return [...model.builtLayers].filter((e): e is [GraphNode, IvitLayer] => e[1] instanceof IvitLayer).map(([node, l]) => ({ node, op: l.op, kind: l.kind }));
}

/** The records of the model's integer-only ops, or null when it has none. */
export function ivitRecords(model: Model): Record<string, IvitRecord> | null {
  const out: Record<string, IvitRecord> = {};
  let any = false;
  for (const [node, layer] of model.builtLayers) {
    if (!(layer instanceof IvitLayer)) continue;
    const key = node.outputs[0];
    // a layer built after calibration froze the others (a rebuilt one) still runs in float: its file would not
    if (!layer.scales) throw new ModelError(`save: integer-only layer '${key}' (${layer.op}) has no frozen scales (it was built after calibration)`);
    out[key] = { op: layer.op, ...layer.scales };
    any = true;
  }
  return any ? out : null;
}

/** The weight-layer unwrapped from its ShiftGELU epilogue (what the file's weight records hold). */
export function weightLayerOf(layer: ModelLayer | null): ModelLayer | null {
  return layer instanceof IvitActLinearLayer ? layer.inner : layer;
}

const FIELDS: Record<IvitOp, readonly string[]> = { 'I-LayerNorm': ['op', 'inScale', 'outScale'], Shiftmax: ['op', 'inScale'], ShiftGELU: ['op', 'inScale', 'outScale'] };

/**
 * The metadata's integer-only records, checked: each an object of exactly its op's fields, scales
 * finite and > 0, naming a node of the graph of that op (ShiftGELU: a weight layer of the file).
 */
export function parseIvitRecords(text: string, nodes: ReadonlyMap<string, GraphNode>, weightKeys: ReadonlySet<string>): Map<string, IvitRecord> {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new ModelError('load: the integer-only records in the metadata are not valid JSON');
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new ModelError('load: the integer-only records in the metadata are not an object');
  const out = new Map<string, IvitRecord>();
  for (const [key, r] of Object.entries(v)) {
    const bad = (what: string) => new ModelError(`load: integer-only layer '${key}' ${what}`);
    if (!r || typeof r !== 'object' || Array.isArray(r)) throw bad('has no record');
    const rec = r as Record<string, unknown>;
    if (typeof rec.op !== 'string' || !Object.hasOwn(FIELDS, rec.op)) throw bad(`field op: '${String(rec.op)}' is not one of ${Object.keys(FIELDS).join(', ')}`);
    const fields = FIELDS[rec.op as IvitOp];
    for (const f of Object.keys(rec)) if (!fields.includes(f)) throw bad(`has field ${f}, which a ${String(rec.op)} record does not have`);
    for (const f of fields.slice(1)) {
      const s = rec[f];
      if (typeof s !== 'number' || !Number.isFinite(s) || !(s > 0)) throw bad(`field ${f}: expected a finite number > 0, got ${JSON.stringify(s) ?? 'nothing'}`);
    }
    const node = nodes.get(key), op = rec.op as IvitOp;
    if (!node) throw bad('is not in this model (was the file saved from another model?)');
    const fits = op === 'I-LayerNorm' ? node.domain === '' && node.op === 'LayerNormalization' : op === 'Shiftmax' ? node.domain === 'lowbit' && node.op === 'Attention' : weightKeys.has(key);
    if (!fits) throw bad(`field op: ${op} does not fit its node (${node.domain ? `${node.domain}.` : ''}${node.op})`);
    out.set(key, rec as unknown as IvitRecord);
  }
  return out;
}

/** A loaded model's integer-only layers, each frozen at its saved scales as it is built. */
export function restoredIvit(records: ReadonlyMap<string, IvitRecord>): { layers: IvitLayers; wrap(rt: Runtime, node: GraphNode, spec: LayerSpec, build: (spec: LayerSpec) => ModelLayer): ModelLayer } {
  const layers = new IvitLayers((node, layer) => {
    const key = node.outputs[0], r = records.get(key);
    // quantizeModel would have run this op integer-only: without its scales the file cannot say how
    if (!r) throw new ModelError(`load: integer-only layer '${key}' (${layer.op}) has no record in the file (it was saved before this layer was built, or from another model)`);
    if (r.op !== layer.op) throw new ModelError(`load: integer-only layer '${key}' field op: the file says ${r.op}, the model's layer is ${layer.op}`);
    try {
      layer.freezeAt(r.op === 'Shiftmax' ? { inScale: r.inScale } : { inScale: r.inScale, outScale: r.outScale });
    } catch (e) {
      if (e instanceof ValueRangeError) throw new ModelError(`load: integer-only layer '${key}' (${r.op}): ${e.message}`);
      throw e;
    }
  });
  return {
    layers,
    wrap(rt, node, spec, build) {
      const alpha = shiftGeluAlpha(spec);
      if (alpha === null) {
        if (records.get(node.outputs[0])?.op === 'ShiftGELU') throw new ModelError(`load: integer-only layer '${node.outputs[0]}' field op: ShiftGELU, and the model's layer has no x·sigmoid(αx) epilogue`);
        return build(spec);
      }
      return layers.actLinear(rt, node, build({ ...spec, activation: null } as LayerSpec), alpha, (spec as { n: number }).n);
    },
  };
}
