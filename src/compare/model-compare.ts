// Per-layer error of a quantized model against its float reference: both run on the same inputs,
// every weight layer's output (and each graph output) is held against the float one. The error
// is accumulated (the quantized model's own activations flow on), which is what a user gets.

import type { Model } from '../model/model.js';
import type { Feeds } from '../model/calibrate.js';

export interface LayerError {
  /** the layer's weight tensor name (what exporters name layers by), or the output's name */
  name: string;
  /** what ran: 'Conv pointwise 1x1 + hardswish', 'Linear', ... */
  kind: string;
  scheme: string;
  /** output dims on the last input */
  dims: readonly number[];
  weightBytes: number;
  /** a float32 weight layer of a quantized model: why it stayed float32 (quantizeModel's keptFloat) */
  why?: string;
  sqnrDb: number;
  cosine: number;
  maxAbs: number;
}

interface Acc {
  name: string; kind: string; scheme: string; dims: readonly number[]; weightBytes: number; why?: string;
  sig: number; noise: number; dot: number; xx: number; maxAbs: number;
}

interface Captured { label: string; data: Float32Array; kind: string; scheme: string; dims: readonly number[]; weightBytes: number; why?: string }

async function capture(model: Model, feeds: Feeds, also: ReadonlySet<string> = new Set()): Promise<Map<string, Captured>> {
  const out = new Map<string, Captured>();
  const outputs = new Set(model.outputNames);
  const keptFloat = (model as { keptFloat?: Map<unknown, string> }).keptFloat;
  await model.run(feeds, {
    onStep: (step, values) => {
      if (!step.node) return;
      const name = step.outs[0].name;
      const weighted = !!step.layer && step.layer.weightBytes > 0;
      // a host step the model computes its own way (int8 attention) is reported like a layer, by its output
      const own = step.layer ? null : (model.hostOp?.(step.node) ?? null);
      if (!weighted && !own && !outputs.has(name) && !also.has(name)) return;
      out.set(name, {
        label: weighted && step.node.inputs[1] ? step.node.inputs[1].split('::')[0] : name,
        data: Float32Array.from(values[0]),
        kind: step.layer ? step.layer.kind : own ? own.kind : step.op,
        scheme: step.layer ? step.layer.scheme : own ? own.scheme : 'float32',
        dims: step.outs[0].dims,
        weightBytes: step.layer?.weightBytes ?? 0,
        why: weighted && step.layer!.scheme === 'float32' ? keptFloat?.get(step.node) : undefined,
      });
    },
  });
  return out;
}

/** Layer-by-layer error of `model` against `reference` over the given inputs, in execution order. */
export async function compareModels(reference: Model, model: Model, inputs: Feeds[], onProgress?: (done: number, total: number) => void): Promise<LayerError[]> {
  const acc = new Map<string, Acc>();
  for (const [i, feeds] of inputs.entries()) {
    const got = await capture(model, feeds);
    const ref = await capture(reference, feeds, new Set(got.keys()));
    for (const [name, g] of got) {
      const r = ref.get(name);
      if (!r || r.data.length !== g.data.length) continue;
      let a = acc.get(name);
      if (!a) acc.set(name, (a = { name: g.label, kind: g.kind, scheme: g.scheme, dims: g.dims, weightBytes: g.weightBytes, why: g.why, sig: 0, noise: 0, dot: 0, xx: 0, maxAbs: 0 }));
      a.dims = g.dims;
      for (let j = 0; j < r.data.length; j++) {
        const x = r.data[j], y = g.data[j], d = x - y;
        a.sig += x * x;
        a.noise += d * d;
        a.dot += x * y;
        a.xx += y * y;
        const ad = Math.abs(d);
        if (ad > a.maxAbs || Number.isNaN(ad)) a.maxAbs = ad;
      }
    }
    onProgress?.(i + 1, inputs.length);
  }
  return [...acc.values()].map((a) => ({
    name: a.name, kind: a.kind, scheme: a.scheme, dims: a.dims, weightBytes: a.weightBytes, ...(a.why ? { why: a.why } : {}),
    sqnrDb: a.noise === 0 ? Infinity : 10 * Math.log10(a.sig / a.noise),
    cosine: a.sig === 0 || a.xx === 0 ? (a.sig === a.xx ? 1 : 0) : a.dot / Math.sqrt(a.sig * a.xx),
    maxAbs: a.maxAbs,
  }));
}
