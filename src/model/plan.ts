// A plan: the graph specialised to concrete input dims. Shapes are inferred, constant and
// shape-only subgraphs are folded, convolutions and matrix products with constant weights become
// layers, layout conversions are inserted where a channels-last value meets an operator that needs
// the standard layout, and every runtime value gets an offset in one arena from its lifetime.

import { ModelError, ShapeError, UnsupportedOperatorError } from '../errors.js';
import { ARENA_ALIGN, ArenaPlanner } from './arena.js';
import { elementCount, hostArray, isFloat8, isSubgraph, nodeLabel, type ElemType, type Graph, type GraphInput, type GraphNode, type HostData, type HostTensor, type Subgraph } from './graph.js';
import { logicalStrides, stridedCopy } from './ops/layout.js';
import { opDef } from './ops/registry.js';
import { declaredInputs, subgraphAttr } from './ops/control-flow.js';
import type { HostValue, OpContext, ValueInfo } from './ops/types.js';
import type { ModelLayer } from './layers.js';

export interface PlanValue {
  readonly name: string;
  readonly type: ElemType;
  readonly dims: number[];
  readonly nhwc: boolean;
  /** contents, when known at plan time */
  readonly value?: HostTensor;
  /** arena byte offset (float32 runtime values); -1 otherwise */
  offset: number;
  readonly bytes: number;
  /** shares this value's buffer (Reshape & co.) */
  readonly root?: PlanValue;
  /** runtime non-float32 values live on the host */
  host?: HostData;
  /** index of the last step that reads it (Infinity for graph outputs) */
  lastUse: number;
}

export interface PlanStep {
  readonly label: string;
  readonly op: string;
  readonly node: GraphNode | null;
  readonly ins: (PlanValue | null)[];
  readonly outs: PlanValue[];
  readonly layer: ModelLayer | null;
  scratch: { bytes: number; offset: number };
  /**
   * If and Loop run at run time: their sub-plans (then, else; or the body) run in this step's
   * scratch; `names` are the value names of `ins`, which feed the sub-plans' inputs of those names;
   * `tripCount`: a Loop's iterations when known at plan time (needed for scan outputs);
   * `perIteration`: a Loop body that needs its iteration number when planning, planned per iteration
   */
  readonly sub?: { plans: Plan[]; names: string[]; tripCount?: number; perIteration?: (i: number) => Plan };
}

export interface Plan {
  readonly inputs: PlanValue[];
  readonly outputs: PlanValue[];
  readonly steps: PlanStep[];
  /** bytes of the activation arena */
  readonly arenaBytes: number;
  /** the sum of all runtime values' bytes (what a plan without reuse would need) */
  readonly unsharedBytes: number;
  readonly opset: number;
}

/** Builds (or reuses) the layer for a node with constant weights; null means: run on the host. */
export type LayerFactory = (node: GraphNode, ins: (ValueInfo | null)[]) => ModelLayer | null;

/** A Loop on known values runs when planning up to this many iterations (more: at run time). */
const MAX_FOLDED_ITERATIONS = 1024;

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
  const values = new Map<string, PlanValue>();
  const steps: PlanStep[] = [];
  const constant = (name: string, t: HostTensor): PlanValue => ({ name, type: t.type, dims: [...t.dims], nhwc: false, value: t, offset: -1, bytes: 0, lastUse: -1 });
  const runtime = (name: string, type: ElemType, dims: number[], nhwc: boolean, root?: PlanValue): PlanValue => ({
    name, type, dims, nhwc: nhwc && dims.length === 4, offset: -1, bytes: elementCount(dims) * 4, root, lastUse: -1,
  });
  for (const [name, t] of graph.constants) values.set(name, constant(name, t));

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
    const out = runtime(key, v.type, v.dims, false);
    steps.push({ label: `${v.name} → NCHW`, op: 'layout', node: null, ins: [v], outs: [out], layer: null, scratch: { bytes: 0, offset: 0 } });
    values.set(key, out);
    return out;
  };
  const toNhwc = (v: PlanValue): PlanValue => {
    if (v.nhwc || v.dims.length !== 4) return v;
    const key = `${v.name}::nhwc`;
    const have = values.get(key);
    if (have) return have;
    const out = runtime(key, v.type, v.dims, true);
    steps.push({ label: `${v.name} → NHWC`, op: 'layout', node: null, ins: [v], outs: [out], layer: null, scratch: { bytes: 0, offset: 0 } });
    values.set(key, out);
    return out;
  };

  /** A subgraph planned on its own: formal inputs typed by `formal`, outer runtime values as inputs, outer constants as constants. */
  const subPlan = (sg: Subgraph, formal: { type: ElemType; dims: number[] }[], known?: ReadonlyMap<string, HostTensor>): Plan => {
    const subInputs: GraphInput[] = [];
    const dims = new Map<string, number[]>();
    const constants = new Map(sg.constants);
    const add = (name: string, type: ElemType, d: number[]) => {
      subInputs.push({ name, type, dims: d });
      dims.set(name, d);
    };
    sg.inputs.forEach((name, i) => add(name, formal[i].type, formal[i].dims));
    for (const name of sg.outer) {
      const v = values.get(name)!;
      if (v.value) constants.set(name, v.value);
      else add(name, v.type, v.dims);
    }
    return makePlan({ name: sg.name, opset: graph.opset, nodes: sg.nodes, inputs: subInputs, outputs: sg.outputs, constants }, dims, layerFor, known);
  };
  /** A step running sub-plans: reads the node's declared inputs and the outer runtime values they read. */
  const controlStep = (node: GraphNode, ins: (PlanValue | null)[], sub: Plan[], outs: { type: ElemType; dims: number[] }[], tripCount?: number, perIteration?: (i: number) => Plan) => {
    // declared inputs (omitted ones as ''), then the outer runtime values the subgraphs read
    const d = declaredInputs(node);
    const declared = node.inputs.slice(0, d);
    while (declared.length < (node.op === 'If' ? 1 : subgraphAttr(node, 'body').inputs.length)) declared.push('');
    const names = [...declared, ...node.inputs.slice(d).filter((name) => !values.get(name)!.value)];
    const stepIns = names.map((name) => (name === '' ? null : toStandard(values.get(name)!)));
    const out = outs.map((o, i) => runtime(node.outputs[i] || `${node.name}::unused${i}`, o.type, o.dims, false));
    node.outputs.forEach((name, i) => name && values.set(name, out[i]));
    const bytes = Math.max(0, ...sub.map((p) => p.arenaBytes));
    steps.push({ label: node.name, op: node.op, node, ins: stepIns, outs: out, layer: null, scratch: { bytes, offset: 0 }, sub: { plans: sub, names, tripCount, perIteration } });
  };

  const planIf = (node: GraphNode, ins: (PlanValue | null)[]) => {
    const cond = ins[0];
    if (!cond || elementCount(cond.dims) !== 1) throw new ShapeError(`${nodeLabel(node)}: the condition must be a tensor of one element, got dims [${cond?.dims ?? ''}]`);
    const branches = [subgraphAttr(node, 'then_branch'), subgraphAttr(node, 'else_branch')];
    if (cond.value) {
      // known when planning: the chosen branch's nodes join the plan, as if the graph had them
      const b = branches[cond.value.data[0] ? 0 : 1];
      for (const [name, t] of b.constants) values.set(name, constant(name, t));
      planNodes(b.nodes);
      node.outputs.forEach((name, i) => name && values.set(name, values.get(b.outputs[i])!));
      return;
    }
    const plans = branches.map((b) => subPlan(b, []));
    const [a, b] = plans.map((p) => p.outputs);
    a.forEach((o, i) => {
      if (o.type !== b[i].type || o.dims.length !== b[i].dims.length || o.dims.some((d, k) => d !== b[i].dims[k])) {
        throw new ShapeError(`${nodeLabel(node)}: output ${i} is ${o.type} [${o.dims}] in then_branch and ${b[i].type} [${b[i].dims}] in else_branch; with a condition known only at run time lowbit needs both branches to agree`);
      }
    });
    controlStep(node, ins, plans, a);
  };

  const planLoop = (node: GraphNode, ins: (PlanValue | null)[]) => {
    const body = subgraphAttr(node, 'body');
    const n = body.inputs.length - 2;
    const [m, cond] = [ins[0] ?? null, ins[1] ?? null];
    for (const [v, what] of [[m, 'M'], [cond, 'cond']] as const) {
      if (v && elementCount(v.dims) !== 1) throw new ShapeError(`${nodeLabel(node)}: ${what} must be a tensor of one element, got dims [${v.dims}]`);
    }
    const carried = ins.slice(2, 2 + n).map((v, j) => {
      if (!v) throw new ShapeError(`${nodeLabel(node)}: loop-carried input ${j} is required`);
      return v;
    });
    const formal = [{ type: 'int64' as const, dims: [] }, { type: 'bool' as const, dims: [] }, ...carried.map((v) => ({ type: v.type, dims: v.dims }))];
    // the body only runs while the condition holds: its condition input is the constant true
    const known = (i?: number) => new Map<string, HostTensor>([
      [body.inputs[1], { type: 'bool', dims: [], data: Uint8Array.of(1) }],
      ...(i === undefined ? [] : [[body.inputs[0], { type: 'int64', dims: [], data: Float64Array.of(i) }] as [string, HostTensor]]),
    ]);
    if (ins.every((v) => !v || v.value) && foldLoop(node, ins, body, formal, known)) return;
    let plan: Plan;
    let perIteration: ((i: number) => Plan) | undefined;
    try {
      plan = subPlan(body, formal, known());
    } catch (e) {
      if (!(e instanceof UnsupportedOperatorError)) throw e;
      // the body needs the iteration number when planning (a Slice at i): one plan per iteration, made as it runs
      perIteration = (i) => subPlan(body, formal, known(i));
      plan = perIteration(0);
    }
    const outs = plan.outputs.slice(1);
    outs.slice(0, n).forEach((o, j) => {
      const v = carried[j];
      if (o.type !== v.type || o.dims.length !== v.dims.length || o.dims.some((d, k) => d !== v.dims[k])) {
        throw new ShapeError(`${nodeLabel(node)}: loop-carried value ${j} enters as ${v.type} [${v.dims}] and leaves the body as ${o.type} [${o.dims}]; lowbit needs them equal`);
      }
    });
    // scan outputs stack one slice per iteration: the count must be known now, so M must be, and the
    // loop may not stop early (without a cond input the body's condition is ignored: a for loop)
    let tripCount: number | undefined;
    const c = plan.outputs[0].value;
    if (m?.value && (!cond || (cond.value && cond.value.data[0] !== 0 && c && c.data[0] !== 0))) tripCount = Math.max(0, m.value.data[0]);
    if (outs.length > n && tripCount === undefined) {
      throw new UnsupportedOperatorError(`${nodeLabel(node)}: has scan outputs, and its trip count is only known at run time (M must be known when planning and the body's condition always true)`);
    }
    const outInfo = outs.map((o, i) => ({ type: o.type, dims: i < n ? o.dims : [tripCount!, ...o.dims] }));
    controlStep(node, ins, [plan], outInfo, tripCount, perIteration);
  };

  /** A Loop whose inputs and outer values are all known runs now: its outputs become constants (false: leave it to run time). */
  const foldLoop = (node: GraphNode, ins: (PlanValue | null)[], body: Subgraph, formal: { type: ElemType; dims: number[] }[], known: (i?: number) => Map<string, HostTensor>): boolean => {
    const n = body.inputs.length - 2;
    const m = ins[0] ? ins[0].value!.data[0] : Infinity;
    let cond = ins[1] ? ins[1].value!.data[0] !== 0 : true;
    let state = ins.slice(2, 2 + n).map((v) => v!.value!);
    const scans: HostTensor[][] = [];
    for (let i = 0; i < m && cond; i++) {
      if (i >= MAX_FOLDED_ITERATIONS) return false;
      const given = known(i);
      state.forEach((t, j) => given.set(body.inputs[2 + j], t));
      const outs = subPlan(body, formal, given).outputs.map((o) => o.value);
      if (outs.some((o) => !o)) return false;
      if (ins[1]) cond = outs[0]!.data[0] !== 0;
      state = outs.slice(1, 1 + n) as HostTensor[];
      scans.push(outs.slice(1 + n) as HostTensor[]);
    }
    const k = body.outputs.length - 1 - n;
    if (k > 0 && scans.length === 0) return false; // no iteration: the slices' dims come from the runtime plan
    state.forEach((t, j) => {
      if (t.type !== formal[2 + j].type || t.dims.join() !== formal[2 + j].dims.join()) {
        throw new ShapeError(`${nodeLabel(node)}: loop-carried value ${j} enters as ${formal[2 + j].type} [${formal[2 + j].dims}] and leaves the body as ${t.type} [${t.dims}]; lowbit needs them equal`);
      }
    });
    const stacked = Array.from({ length: k }, (_, s) => {
      const first = scans[0][s];
      if (scans.some((it) => it[s].type !== first.type || it[s].dims.join() !== first.dims.join())) throw new ShapeError(`${nodeLabel(node)}: scan output ${s} changes dims between iterations`);
      const data = hostArray(first.type, scans.length * first.data.length);
      scans.forEach((it, i) => data.set(it[s].data, i * first.data.length));
      return { type: first.type, dims: [scans.length, ...first.dims], data };
    });
    [...state, ...stacked].forEach((t, i) => node.outputs[i] && values.set(node.outputs[i], constant(node.outputs[i], t)));
    return true;
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
    if (node.domain === '' && node.op === 'If') return planIf(node, ins);
    if (node.domain === '' && node.op === 'Loop') return planLoop(node, ins);
    const info = (v: PlanValue | null): ValueInfo | null => (v ? { type: v.type, dims: v.dims, value: v.value } : null);
    const outInfo = def.infer(ctx, ins.map(info));

    // fold: every input known (Shape only needs dims)
    if (node.op === 'Shape' || ins.every((v) => v === null || v.value)) {
      const hostIns = ins.map((v) => (v ? { type: v.type, dims: v.dims, data: v.value?.data ?? new Float32Array(0), nhwc: false } : null));
      const outs = outInfo.map((o) => ({ type: o.type, dims: o.dims, data: hostArray(o.type, elementCount(o.dims)), nhwc: false }));
      def.compute!(ctx, hostIns, outs);
      node.outputs.forEach((name, i) => name && values.set(name, constant(name, { type: outs[i].type, dims: outs[i].dims, data: outs[i].data })));
      return;
    }

    const layer = layerFor(node, ins.map(info));
    if (layer) {
      // a layer reads its first `inputs` runtime values, channels-last if it says so
      const nhwc = layer.layout === 'nhwc';
      const xs = ins.filter((v): v is PlanValue => !!v && !v.value).slice(0, layer.inputs ?? 1).map((v) => (nhwc && v.dims.length === 4 ? toNhwc(v) : toStandard(v)));
      const out = runtime(node.outputs[0], 'float32', outInfo[0].dims, nhwc);
      values.set(node.outputs[0], out);
      steps.push({ label: node.name, op: layer.kind, node, ins: xs, outs: [out], layer, scratch: { bytes: layer.scratchBytes(xs[0].dims), offset: 0 } });
      return;
    }
    if (!def.compute) throw new ModelError(`${nodeLabel(node)}: needs constant weights in this version of lowbit`);
    if (def.layout === 'nchw') ins = ins.map((v) => (v && !v.value ? toStandard(v) : v));
    const layoutIns = ins.map((v) => v && { type: v.type, dims: v.dims, value: v.value, nhwc: v.nhwc });
    const outNhwc = def.layout === 'any' ? !!ins[0]?.nhwc : def.layout === 'aware' ? !!def.outNhwc?.(layoutIns, outInfo.map((o) => o.dims)) : false;
    const outs = outInfo.map((o, i) => {
      const alias = def.alias && ins[0]!.type === o.type ? (ins[0]!.root ?? ins[0]!) : undefined;
      const v = runtime(node.outputs[i], o.type, o.dims, outNhwc, alias);
      values.set(node.outputs[i], v);
      return v;
    });
    if (outs.every((o) => o.root)) return; // a pure view: no work
    steps.push({ label: node.name, op: node.op, node, ins, outs, layer: null, scratch: { bytes: 0, offset: 0 } });
  };
  planNodes(graph.nodes);

  const outputs = graph.outputs.map((name) => {
    let v = values.get(name);
    if (!v) throw new ModelError(`graph output '${name}' was not computed`);
    if (v.nhwc) v = toStandard(v);
    return v;
  });
  return place(steps, inputs, outputs, graph.opset);
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

/** Runs a layout conversion step on host views. */
export function convertLayout(src: HostValue, dst: HostValue): void {
  stridedCopy(src.data, 0, logicalStrides(src.dims, src.nhwc), src.dims, dst.data, 0, logicalStrides(dst.dims, dst.nhwc));
}
