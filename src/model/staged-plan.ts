// Plans in stages, for graphs where a shape depends on run-time data (issue 13: NonZero on a float
// mask, TopK with a computed K, Reshape/Expand/Range/… fed by computed values, as detection and
// segmentation post-processing does). Planning stops at the first node that needs a run-time value's
// contents; the model runs the plan so far, reads that value, and plans the rest of the graph with it
// as a constant: a new graph whose inputs are the values live at the cut. The rest may stop again.
// NonZero needs only its input's count of non-zero elements: the rest is planned for that count and
// NonZero runs at run time (a mask of any size; masks with the same count share the plan).
// Each stage's plan is cached under its parent's key plus what was read, so runs with the same values
// reuse every stage. Graphs without such a node get one plan, as makePlan makes it.

import { UnsupportedOperatorError } from '../errors.js';
import { elementCount, type Graph, type GraphInput, type HostData, type HostTensor } from './graph.js';
import { planGraph, PLAN_VALUE_MAX_ELEMENTS, type LayerFactory, type Plan, type PlanCut } from './plan.js';

/** A plan that stops at a cut: run `prefix`, read `cut.need` from its outputs, then plan `rest`. */
export interface PlanStage {
  readonly prefix: Plan;
  readonly cut: PlanCut;
  /** the graph after the cut; its inputs are the prefix's run-time outputs */
  readonly rest: Graph;
}

export type StagedPlan = Plan | PlanStage;

export function isStage(p: StagedPlan): p is PlanStage {
  return 'prefix' in p;
}

/** The plan of `graph`, or its first stage when a node needs a run-time value's contents. */
export function planStaged(graph: Graph, inputDims: Map<string, number[]>, layerFor: LayerFactory, inputValues: ReadonlyMap<string, HostTensor>, nonZeroCounts?: ReadonlyMap<string, number>): StagedPlan {
  const { plan, cut } = planGraph(graph, inputDims, layerFor, inputValues, true, nonZeroCounts);
  if (!cut) return plan;
  const inputs: GraphInput[] = [];
  const constants = new Map(graph.constants);
  cut.live.forEach((name, i) => {
    const v = plan.outputs[i];
    if (v.value) constants.set(name, v.value);
    else inputs.push({ name, type: v.type, dims: [...v.dims] });
  });
  const rest: Graph = { name: graph.name, opset: graph.opset, nodes: graph.nodes.slice(cut.at), inputs, outputs: graph.outputs, constants };
  return { prefix: plan, cut, rest };
}

/** The prefix's run-time outputs, copied out of `read`'s views (the next stage reuses the arena), by name. */
export function stageOutputs(stage: PlanStage, read: (i: number) => HostData): Map<string, HostTensor> {
  const out = new Map<string, HostTensor>();
  stage.cut.live.forEach((name, i) => {
    const v = stage.prefix.outputs[i];
    if (v.value) return;
    const src = read(i);
    const data = new (src.constructor as new (n: number) => HostData)(src.length);
    data.set(src as never);
    out.set(name, { type: v.type, dims: [...v.dims], data });
  });
  return out;
}

/**
 * What the rest of the graph is planned on: the dims of every live value, and the value the cut
 * needs (bounded: it becomes a constant of the plan and part of its key) or, for NonZero, only its
 * count of non-zero elements (any size: the plan holds the count, NonZero runs at run time, and
 * masks with the same count share the plan); with the key's suffix.
 */
export function restInputs(stage: PlanStage, outs: ReadonlyMap<string, HostTensor>): { dims: Map<string, number[]>; values: Map<string, HostTensor>; counts: Map<string, number>; key: string } {
  const { need, error } = stage.cut;
  const t = outs.get(need)!;
  const dims = new Map(stage.rest.inputs.map((i) => [i.name, [...(i.dims as number[])]]));
  if (error.wants === 'count') {
    let n = 0;
    for (let i = 0; i < t.data.length; i++) if (t.data[i] !== 0) n++; // NaN counts, as in NonZero
    return { dims, values: new Map(), counts: new Map([[need, n]]), key: `\n${stage.cut.at}:${need}#${n}` };
  }
  const n = elementCount(t.dims);
  if (n > PLAN_VALUE_MAX_ELEMENTS) {
    throw new UnsupportedOperatorError(`${error.message}; lowbit reads such a value during the run and plans the rest with it, but '${need}' has ${n} elements at run time (dims [${t.dims.join(', ')}]) and at most ${PLAN_VALUE_MAX_ELEMENTS} are read (PLAN_VALUE_MAX_ELEMENTS)`);
  }
  return { dims, values: new Map([[need, t]]), counts: new Map(), key: `\n${stage.cut.at}:${need}=${valueKey(t.data)}` };
}

/** The exact contents as a string (float bits, so -0, NaN and Infinity stay distinct): a cache key. */
function valueKey(d: HostData): string {
  if (d instanceof Int8Array || d instanceof Uint8Array) return Array.from(d).join(',');
  const copy = d.slice(); // a whole buffer of its own, for the 16-bit view
  const u16 = new Uint16Array(copy.buffer);
  let s = '';
  for (let i = 0; i < u16.length; i += 4096) s += String.fromCharCode(...u16.subarray(i, i + 4096));
  return s;
}
