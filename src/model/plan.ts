// A plan: the graph specialised to concrete input dims. Shapes are inferred, constant and
// shape-only subgraphs are folded, convolutions and matrix products with constant weights become
// layers, layout conversions are inserted where a channels-last value meets an operator that needs
// the standard layout, and every runtime value gets an offset in one arena from its lifetime.

import { ModelError, ShapeError } from '../errors.js';
import { ARENA_ALIGN, ArenaPlanner } from './arena.js';
import { elementCount, hostArray, isFloat8, isSubgraph, nodeLabel, type ElemType, type Graph, type GraphNode, type HostData, type HostTensor } from './graph.js';
import { logicalStrides, stridedCopy } from './ops/layout.js';
import { opDef } from './ops/registry.js';
import { checkExactInputs, checkExactOutputs } from './int64-exact.js';
import { planIf, planLoop, type PlanScope } from './plan-control.js';
import { RuntimeValueNeeded, type HostValue, type OpContext, type ValueInfo } from './ops/types.js';
import type { ModelLayer } from './layers.js';
import type { Plan, PlanStep, PlanValue } from './plan-types.js';

export type { Plan, PlanStep, PlanValue } from './plan-types.js';

/** Builds (or reuses) the layer for a node with constant weights; null means: run on the host. */
export type LayerFactory = (node: GraphNode, ins: (ValueInfo | null)[]) => ModelLayer | null;

/** Integer inputs with at most this many elements can be constants of the plan. */
export const PLAN_VALUE_MAX_ELEMENTS = 64;

/**
 * The integer and bool inputs whose values, when they have at most PLAN_VALUE_MAX_ELEMENTS elements,
 * are constants of the plan (and part of its key): shapes computed from them fold, and an If on them
 * is decided when planning (silero VAD's `sr`). Inputs read as Gather indices are data (token ids),
 * kept at run time: folding them would fold the whole network into one plan per input.
 */
export function planTimeInputs(graph: Graph): Set<string> {
  const indices = new Set<string>();
  const walk = (nodes: readonly GraphNode[]) => {
    for (const n of nodes) {
      if (n.domain === '' && (n.op === 'Gather' || n.op === 'GatherElements' || n.op === 'GatherND')) indices.add(n.inputs[1]);
      for (const a of n.attrs.values()) if (isSubgraph(a)) walk(a.nodes);
    }
  };
  walk(graph.nodes);
  return new Set(graph.inputs.filter((i) => i.type !== 'float32' && !isFloat8(i.type) && !indices.has(i.name)).map((i) => i.name));
}

/**
 * The plan of `graph` for these input dims. Inputs in `inputValues` are constants of this plan (their
 * dims must agree); the others are runtime values.
 */
export function makePlan(graph: Graph, inputDims: Map<string, number[]>, layerFor: LayerFactory, inputValues: ReadonlyMap<string, HostTensor> = new Map()): Plan {
  return planGraph(graph, inputDims, layerFor, inputValues, false).plan;
}

/**
 * Where planning stopped: top-level node `at` needs the contents of the run-time value `need`. The
 * plan made so far outputs `live` (by name, in order): every value computed before the cut that a
 * later node or the graph's outputs read.
 */
export interface PlanCut {
  readonly at: number;
  readonly need: string;
  readonly live: readonly string[];
  readonly error: RuntimeValueNeeded;
}

/**
 * makePlan, or with `staged` the plan up to the first top-level node that needs a run-time value's
 * contents (RuntimeValueNeeded), and where it stopped (staged-plan.ts goes on from there).
 * `nonZeroCounts`: how many elements of these run-time values are non-zero (read by a stage before).
 */
export function planGraph(graph: Graph, inputDims: Map<string, number[]>, layerFor: LayerFactory, inputValues: ReadonlyMap<string, HostTensor>, staged: boolean, nonZeroCounts?: ReadonlyMap<string, number>): { plan: Plan; cut?: PlanCut } {
  const values = new Map<string, PlanValue>();
  const steps: PlanStep[] = [];
  const constant = (name: string, t: HostTensor): PlanValue => ({ name, type: t.type, dims: [...t.dims], nhwc: false, value: t, offset: -1, bytes: 0, lastUse: -1 });
  const runtime = (name: string, type: ElemType, dims: number[], nhwc: boolean, root?: PlanValue): PlanValue => ({
    name, type, dims, nhwc: nhwc && dims.length === 4, offset: -1, bytes: elementCount(dims) * 4, root, lastUse: -1,
  });
  for (const [name, t] of graph.constants) values.set(name, constant(name, t));
  // who reads each value (OpDef.inPlace writes over a value only its own node reads)
  const readers = new Map<string, number>();
  for (const n of graph.nodes) for (const name of n.inputs) readers.set(name, (readers.get(name) ?? 0) + 1);
  const topNodes = new Set(graph.nodes), graphOutputs = new Set(graph.outputs);
  const overwritable = (node: GraphNode, ins: (PlanValue | null)[], j: number | undefined, type: ElemType, dims: readonly number[]): PlanValue | undefined => {
    const v = j === undefined ? null : ins[j];
    if (!v || v.value || v.root || v.nhwc || v.type !== type || v.dims.length !== dims.length || v.dims.some((d, k) => d !== dims[k])) return undefined;
    const name = node.inputs[j!];
    const alone = topNodes.has(node) && readers.get(name) === 1 && !graphOutputs.has(name) && ins.filter((x) => x === v).length === 1;
    return alone ? v : undefined;
  };

  const inputs: PlanValue[] = [];
  for (const gi of graph.inputs) {
    const dims = inputDims.get(gi.name);
    if (!dims) throw new ShapeError(`input '${gi.name}' is missing; the model takes ${graph.inputs.map((i) => `'${i.name}' [${i.dims.join(', ')}]`).join(', ')}`);
    if (dims.length !== gi.dims.length || gi.dims.some((d, i) => typeof d === 'number' && d !== dims[i])) {
      throw new ShapeError(`input '${gi.name}' has dims [${dims.join(', ')}], the model expects [${gi.dims.join(', ')}]`);
    }
    const known = inputValues.get(gi.name);
    if (known) {
      if (known.type !== gi.type || known.dims.length !== dims.length || known.dims.some((d, i) => d !== dims[i])) throw new ShapeError(`input '${gi.name}': its plan-time value does not match its type and dims`);
      values.set(gi.name, constant(gi.name, known));
      continue;
    }
    const v = runtime(gi.name, gi.type, [...dims], false);
    values.set(gi.name, v);
    inputs.push(v);
  }

  const toStandard = (v: PlanValue): PlanValue => {
    if (!v.nhwc) return v;
    const key = `${v.name}::nchw`;
    const have = values.get(key);
    if (have) return have;
    const same = sameBytesInBothLayouts(v.dims);
    const out = runtime(key, v.type, v.dims, false, same ? (v.root ?? v) : undefined);
    if (!same) steps.push({ label: `${v.name} → NCHW`, op: 'layout', node: null, ins: [v], outs: [out], layer: null, scratch: { bytes: 0, offset: 0 } });
    values.set(key, out);
    return out;
  };
  const toNhwc = (v: PlanValue): PlanValue => {
    if (v.nhwc || v.dims.length !== 4) return v;
    const key = `${v.name}::nhwc`;
    const have = values.get(key);
    if (have) return have;
    const same = sameBytesInBothLayouts(v.dims);
    const out = runtime(key, v.type, v.dims, true, same ? (v.root ?? v) : undefined);
    if (!same) steps.push({ label: `${v.name} → NHWC`, op: 'layout', node: null, ins: [v], outs: [out], layer: null, scratch: { bytes: 0, offset: 0 } });
    values.set(key, out);
    return out;
  };

  const scope: PlanScope = {
    opset: graph.opset, values, steps, constant, runtime, toStandard,
    planNodes: (nodes) => planNodes(nodes),
    plan: (g, dims, known) => makePlan(g, dims, layerFor, known),
  };

  const planNodes = (nodes: readonly GraphNode[]) => {
    for (const node of nodes) planNode(node);
  };

  const planNode = (node: GraphNode) => {
    const def = opDef(node)!;
    const ctx: OpContext = { node, opset: graph.opset };
    let ins = node.inputs.map((name) => {
      if (name === '') return null;
      const v = values.get(name);
      if (!v) throw new ModelError(`${nodeLabel(node)} reads '${name}', which is not computed before it`);
      return v;
    });
    if (node.domain === '' && node.op === 'If') return planIf(scope, node, ins);
    if (node.domain === '' && node.op === 'Loop') return planLoop(scope, node, ins);
    const info = (v: PlanValue | null): (ValueInfo & { nhwc?: boolean }) | null => (v ? { type: v.type, dims: v.dims, value: v.value, nonZeroCount: nonZeroCounts?.get(v.name), nhwc: v.nhwc } : null);
    const outInfo = def.infer(ctx, ins.map(info));

    // fold: every input known (Shape only needs dims)
    if (node.op === 'Shape' || ins.every((v) => v === null || v.value)) {
      const hostIns = ins.map((v) => (v ? { type: v.type, dims: v.dims, data: v.value?.data ?? new Float32Array(0), nhwc: false } : null));
      const outs = outInfo.map((o) => ({ type: o.type, dims: o.dims, data: hostArray(o.type, elementCount(o.dims)), nhwc: false }));
      checkExactInputs(node, hostIns);
      def.compute!(ctx, hostIns, outs);
      checkExactOutputs(node, outs);
      node.outputs.forEach((name, i) => name && values.set(name, constant(name, { type: outs[i].type, dims: outs[i].dims, data: outs[i].data })));
      return;
    }

    const layer = layerFor(node, ins.map(info));
    if (layer) {
      // a layer reads its first `inputs` runtime values, channels-last if it says so
      const nhwc = layer.layout === 'nhwc';
      const xs = ins.filter((v): v is PlanValue => !!v && !v.value).slice(0, layer.inputs ?? 1).map((v) => (nhwc && v.dims.length === 4 ? toNhwc(v) : toStandard(v)));
      // it writes its node's first output, or all the non-empty ones ('all': LSTM's Y, Y_h, Y_c)
      const outs = node.outputs.flatMap((name, i) => ((layer.outputs === 'all' ? name : i === 0) ? [runtime(name, 'float32', outInfo[i].dims, nhwc)] : []));
      for (const o of outs) values.set(o.name, o);
      steps.push({ label: node.name, op: layer.kind, node, ins: xs, outs, layer, scratch: { bytes: layer.scratchBytes(xs[0].dims), offset: 0 } });
      return;
    }
    if (!def.compute) throw new ModelError(`${nodeLabel(node)}: needs constant weights in this version of lowbit`);
    if (def.layout === 'nchw') ins = ins.map((v) => (v && !v.value ? toStandard(v) : v));
    const layoutIns = ins.map((v) => v && { type: v.type, dims: v.dims, value: v.value, nhwc: v.nhwc });
    const outNhwc = def.layout === 'any' ? !!ins[0]?.nhwc : def.layout === 'aware' ? !!def.outNhwc?.(layoutIns, outInfo.map((o) => o.dims)) : false;
    const outs = outInfo.map((o, i) => {
      const alias = def.alias && ins[0]!.type === o.type ? (ins[0]!.root ?? ins[0]!) : overwritable(node, ins, def.inPlace?.find(([out]) => out === i)?.[1], o.type, o.dims);
      const v = runtime(node.outputs[i], o.type, o.dims, outNhwc, alias);
      values.set(node.outputs[i], v);
      return v;
    });
    if (outs.every((o) => o.root)) return; // a pure view: no work
    steps.push({ label: node.name, op: node.op, node, ins, outs, layer: null, scratch: { bytes: 0, offset: 0 } });
  };
  let cut: PlanCut | undefined;
  if (!staged) planNodes(graph.nodes);
  for (let at = 0; staged && !cut && at < graph.nodes.length; at++) {
    const before = steps.length;
    try {
      planNode(graph.nodes[at]);
    } catch (e) {
      if (!(e instanceof RuntimeValueNeeded)) throw e;
      const live = liveNames(graph, at, values);
      const need = e.node.inputs[e.input];
      // a value only a subgraph knows (inside an If or Loop body) cannot be read between stages
      if (!live.includes(need)) throw e;
      steps.length = before; // an inlined If's branch may have planned some of its nodes
      cut = { at, need, live, error: e };
    }
  }

  const outputs = (cut ? cut.live : graph.outputs).map((name) => {
    let v = values.get(name);
    if (!v) throw new ModelError(`graph output '${name}' was not computed`);
    if (v.nhwc) v = toStandard(v);
    return v;
  });
  return { plan: place(steps, inputs, outputs, graph.opset), cut };
}

/** The values planned before node `at` (not the graph's own constants) that it, a later node or the graph's outputs read. */
function liveNames(graph: Graph, at: number, values: ReadonlyMap<string, PlanValue>): string[] {
  const read = new Set([...graph.nodes.slice(at).flatMap((n) => n.inputs), ...graph.outputs]);
  return [...read].filter((name) => name !== '' && values.has(name) && !graph.constants.has(name));
}

/** Lifetimes and arena offsets; graph inputs and outputs live for the whole run. */
function place(steps: PlanStep[], inputs: PlanValue[], outputs: PlanValue[], opset: number): Plan {
  const rootOf = (v: PlanValue) => v.root ?? v;
  steps.forEach((s, i) => s.ins.forEach((v) => v && !v.value && (rootOf(v).lastUse = i)));
  for (const v of outputs) rootOf(v).lastUse = Infinity;
  for (const v of inputs) rootOf(v).lastUse = Infinity;
  const arena = new ArenaPlanner();
  let unshared = 0;
  const inArena = (v: PlanValue) => v.type === 'float32' && !v.value;
  for (const v of [...inputs, ...outputs]) {
    const r = rootOf(v);
    if (inArena(r) && r.offset < 0) {
      r.offset = arena.alloc(r.bytes);
      unshared += r.bytes;
    }
  }
  steps.forEach((s, i) => {
    for (const o of s.outs) {
      const r = rootOf(o);
      if (inArena(r) && r.offset < 0) {
        r.offset = arena.alloc(r.bytes);
        unshared += r.bytes;
      }
    }
    if (s.scratch.bytes > 0) s.scratch.offset = arena.alloc(s.scratch.bytes);
    if (s.scratch.bytes > 0) arena.release(s.scratch.offset);
    // by root: two views of one buffer read by the same step release it once
    for (const r of new Set(s.ins.flatMap((v) => (v && !v.value ? [rootOf(v)] : [])))) {
      if (r.lastUse === i && r.offset >= 0) arena.release(r.offset);
    }
    // values nobody reads die at once
    for (const o of s.outs) {
      const r = rootOf(o);
      if (r.lastUse < 0 && r.offset >= 0) arena.release(r.offset);
    }
  });
  // views share their root's offset (also views no step reads: a graph output that is a Reshape/Flatten)
  for (const v of [...outputs, ...steps.flatMap((s) => [...s.ins, ...s.outs])]) if (v?.root && !v.value) v.offset = v.root.offset;
  return { inputs, outputs, steps, arenaBytes: Math.max(arena.peak, ARENA_ALIGN), unsharedBytes: unshared, opset };
}

/**
 * Whether a 4-D value is stored the same in NCHW and NHWC: one channel, or one pixel per image. Its
 * conversion is then a view of the same buffer, not a step (silero's 1-channel audio into its first
 * 1-D convolution, 1-channel outputs, squeeze-excitation vectors).
 */
function sameBytesInBothLayouts(dims: readonly number[]): boolean {
  return dims.length === 4 && (dims[1] === 1 || dims[2] * dims[3] === 1);
}

/** Runs a layout conversion step on host views. */
export function convertLayout(src: HostValue, dst: HostValue): void {
  const d = src.dims;
  if (d.length === 4 && src.nhwc !== dst.nhwc) {
    // per image [C][H*W] <-> [H*W][C], written in order: the generic copy's inner loop runs over
    // C (3 for an image input), which made the recognizer's input conversion 0.4 ms of serial time
    const [n, c, h, w] = d, hw = h * w;
    const x = src.data as { [i: number]: number }, y = dst.data as { [i: number]: number };
    for (let base = 0; base < n * c * hw; base += c * hw) {
      if (dst.nhwc) {
        for (let p = 0, o = base; p < hw; p++) for (let ch = 0, i = base + p; ch < c; ch++, i += hw) y[o++] = x[i];
      } else {
        for (let ch = 0, o = base; ch < c; ch++) for (let p = 0, i = base + ch; p < hw; p++, i += c) y[o++] = x[i];
      }
    }
    return;
  }
  stridedCopy(src.data, 0, logicalStrides(src.dims, src.nhwc), src.dims, dst.data, 0, logicalStrides(dst.dims, dst.nhwc));
}
