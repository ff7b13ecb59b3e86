// The 'auto' scheme's search: which layers can go from int8 to int4 without costing the model's
// decisions, measured on the model's real output over calibration inputs.

import type { GraphNode } from './graph.js';
import type { Feeds, RangeStats } from './calibrate.js';
import type { Model } from './model.js';
import type { LayerChoice, LayerScheme, MixReport, QuantizeOptions } from './quantize-options.js';

/** Runs the search on `model` (built with every layer int8 unless `choice` says otherwise), filling `choice`, model.choices and model.mix. */
export async function autoMix(float: Model, model: Model & { choices?: LayerChoice[]; mix?: MixReport }, stats: Map<GraphNode, RangeStats>, choice: Map<GraphNode, LayerScheme>, options: QuantizeOptions): Promise<void> {
  const probe = options.calibration.slice(0, Math.max(1, Math.min(options.sensitivityInputs ?? 16, options.calibration.length)));
  const reference = await outputsOf(float, probe);
  // a mix is scored by the decisions it keeps (top-1 agreement with float32 along the output's
  // last axis), then by its output SQNR
  const score = async (): Promise<[number, number]> => {
    const got = await outputsOf(model, probe);
    return [top1Agreement(reference, got), outputSqnr(reference, got)];
  };
  const better = (x: [number, number], y: [number, number]) => x[0] > y[0] || (x[0] === y[0] && x[1] > y[1]);
  const [baseTop1, base] = await score(); // every layer int8
  const budget = options.top1Budget ?? baseTop1 - (options.top1Allowance ?? 0);
  const candidates = [...stats.keys()].filter((n) => {
    const spec = float.layerSpecs.get(n);
    return spec && !(spec.type === 'conv' && spec.geometry.group !== 1) && !options.layerScheme?.(n);
  });
  // sensitivity: the model with one layer lowered to int4, the rest int8
  const sens = new Map<GraphNode, [number, number]>();
  const total = candidates.length * 2;
  for (const [i, node] of candidates.entries()) {
    choice.set(node, 'int4');
    await model.rebuild([node]);
    sens.set(node, await score());
    choice.delete(node);
    await model.rebuild([node]);
    options.onProgress?.(i + 1, total, 'measuring layers');
  }
  // lower the least sensitive first, one at a time, keeping each only if the mix stays in budget
  let current: [number, number] = [baseTop1, base];
  const order = [...candidates].sort((a, b) => (better(sens.get(a)!, sens.get(b)!) ? -1 : better(sens.get(b)!, sens.get(a)!) ? 1 : 0));
  for (const [i, node] of order.entries()) {
    if (sens.get(node)![0] >= budget) {
      choice.set(node, 'int4');
      await model.rebuild([node]);
      const now = await score();
      if (now[0] >= budget) current = now;
      else {
        choice.delete(node);
        await model.rebuild([node]);
      }
    }
    options.onProgress?.(candidates.length + i + 1, total, 'measuring layers');
  }
  model.choices = [...stats.keys()].filter((n) => float.layerSpecs.has(n)).map((node) => {
    const spec = float.layerSpecs.get(node)!;
    const scheme: LayerScheme = options.layerScheme?.(node) ?? (spec.type === 'conv' && spec.geometry.group !== 1 ? 'float32' : choice.get(node) ?? 'int8');
    const m = sens.get(node);
    return { node, scheme, top1WhenInt4: m?.[0], outputSqnrDbWhenInt4: m?.[1] };
  });
  model.mix = { top1: current[0], outputSqnrDb: current[1], int8Top1: baseTop1, int8OutputSqnrDb: base, top1Budget: budget, probeInputs: probe.length };
}

async function outputsOf(model: Model, inputs: Feeds[]): Promise<Float32Array[]> {
  const out: Float32Array[] = [];
  for (const f of inputs) {
    for (const t of Object.values(await model.run(f))) {
      lastAxis.set(t.data, t.dims[t.dims.length - 1] ?? t.data.length);
      out.push(t.data);
    }
  }
  return out;
}

function outputSqnr(ref: Float32Array[], got: Float32Array[]): number {
  let sig = 0, noise = 0;
  ref.forEach((r, i) => {
    for (let j = 0; j < r.length; j++) {
      const d = r[j] - got[i][j];
      sig += r[j] * r[j];
      noise += d * d;
    }
  });
  return noise === 0 ? Infinity : 10 * Math.log10(sig / noise);
}

/** Fraction of rows (along the last axis of each output) whose argmax agrees. */
function top1Agreement(ref: Float32Array[], got: Float32Array[], rowLength?: number): number {
  let same = 0, rows = 0;
  ref.forEach((r, i) => {
    const n = rowLength ?? lastAxis.get(r) ?? r.length;
    for (let o = 0; o + n <= r.length; o += n) {
      let a = o, b = o;
      for (let j = o + 1; j < o + n; j++) {
        if (r[j] > r[a]) a = j;
        if (got[i][j] > got[i][b]) b = j;
      }
      if (a === b) same++;
      rows++;
    }
  });
  return rows === 0 ? 1 : same / rows;
}

/** the last-axis length of each reference output (set by outputsOf) */
const lastAxis = new WeakMap<Float32Array, number>();
