// If and Loop in a plan (src/model/plan.ts): an If whose condition is known when planning is inlined
// (its branch's nodes join the plan); other Ifs become a step with a sub-plan per branch, which must
// agree on dims; a Loop on known values runs now, others become a step with the body's sub-plan
// (planned per iteration when it needs its iteration number) that the model runs
// (src/model/control-flow.ts).

import { ShapeError, UnsupportedOperatorError } from '../errors.js';
import { elementCount, hostArray, nodeLabel, type ElemType, type Graph, type GraphInput, type GraphNode, type HostTensor, type Subgraph } from './graph.js';
import { declaredInputs, subgraphAttr } from './ops/control-flow.js';
import type { Plan, PlanStep, PlanValue } from './plan-types.js';
import { RuntimeValueNeeded } from './ops/types.js';

/** A Loop on known values runs when planning up to this many iterations (more: at run time). */
const MAX_FOLDED_ITERATIONS = 1024;

/** What the planner lends to If and Loop: its values and steps so far, and how it makes values and plans. */
export interface PlanScope {
  readonly opset: number;
  readonly values: Map<string, PlanValue>;
  readonly steps: PlanStep[];
  constant(name: string, t: HostTensor): PlanValue;
  runtime(name: string, type: ElemType, dims: number[], nhwc: boolean): PlanValue;
  toStandard(v: PlanValue): PlanValue;
  planNodes(nodes: readonly GraphNode[]): void;
  /** a graph planned on its own, with the same layers */
  plan(graph: Graph, dims: Map<string, number[]>, known?: ReadonlyMap<string, HostTensor>): Plan;
}

/** A subgraph planned on its own: formal inputs typed by `formal`, outer runtime values as inputs, outer constants as constants. */
function subPlan(s: PlanScope, sg: Subgraph, formal: { type: ElemType; dims: number[] }[], known?: ReadonlyMap<string, HostTensor>): Plan {
  const subInputs: GraphInput[] = [];
  const dims = new Map<string, number[]>();
  const constants = new Map(sg.constants);
  const add = (name: string, type: ElemType, d: number[]) => {
    subInputs.push({ name, type, dims: d });
    dims.set(name, d);
  };
  sg.inputs.forEach((name, i) => add(name, formal[i].type, formal[i].dims));
  for (const name of sg.outer) {
    const v = s.values.get(name)!;
    if (v.value) constants.set(name, v.value);
    else add(name, v.type, v.dims);
  }
  return s.plan({ name: sg.name, opset: s.opset, nodes: sg.nodes, inputs: subInputs, outputs: sg.outputs, constants }, dims, known);
}
/** A step running sub-plans: reads the node's declared inputs and the outer runtime values they read. */
function controlStep(s: PlanScope, node: GraphNode, ins: (PlanValue | null)[], sub: Plan[], outs: { type: ElemType; dims: number[] }[], tripCount?: number, perIteration?: (i: number) => Plan): void {
  // declared inputs (omitted ones as ''), then the outer runtime values the subgraphs read
  const d = declaredInputs(node);
  const declared = node.inputs.slice(0, d);
  while (declared.length < (node.op === 'If' ? 1 : subgraphAttr(node, 'body').inputs.length)) declared.push('');
  const names = [...declared, ...node.inputs.slice(d).filter((name) => !s.values.get(name)!.value)];
  const stepIns = names.map((name) => (name === '' ? null : s.toStandard(s.values.get(name)!)));
  const out = outs.map((o, i) => s.runtime(node.outputs[i] || `${node.name}::unused${i}`, o.type, o.dims, false));
  node.outputs.forEach((name, i) => name && s.values.set(name, out[i]));
  const bytes = Math.max(0, ...sub.map((p) => p.arenaBytes));
  s.steps.push({ label: node.name, op: node.op, node, ins: stepIns, outs: out, layer: null, scratch: { bytes, offset: 0 }, sub: { plans: sub, names, tripCount, perIteration } });
}

export function planIf(s: PlanScope, node: GraphNode, ins: (PlanValue | null)[]): void {
  const cond = ins[0];
  if (!cond || elementCount(cond.dims) !== 1) throw new ShapeError(`${nodeLabel(node)}: the condition must be a tensor of one element, got dims [${cond?.dims ?? ''}]`);
  const branches = [subgraphAttr(node, 'then_branch'), subgraphAttr(node, 'else_branch')];
  if (cond.value) {
    // known when planning: the chosen branch's nodes join the plan, as if the graph had them
    const b = branches[cond.value.data[0] ? 0 : 1];
    for (const [name, t] of b.constants) s.values.set(name, s.constant(name, t));
    s.planNodes(b.nodes);
    node.outputs.forEach((name, i) => name && s.values.set(name, s.values.get(b.outputs[i])!));
    return;
  }
  const plans = branches.map((b) => subPlan(s, b, []));
  const [a, b] = plans.map((p) => p.outputs);
  a.forEach((o, i) => {
    if (o.type !== b[i].type || o.dims.length !== b[i].dims.length || o.dims.some((d, k) => d !== b[i].dims[k])) {
      throw new ShapeError(`${nodeLabel(node)}: output ${i} is ${o.type} [${o.dims}] in then_branch and ${b[i].type} [${b[i].dims}] in else_branch; with a condition known only at run time lowbit needs both branches to agree`);
    }
  });
  controlStep(s, node, ins, plans, a);
}

export function planLoop(s: PlanScope, node: GraphNode, ins: (PlanValue | null)[]): void {
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
  if (ins.every((v) => !v || v.value) && foldLoop(s, node, ins, body, formal, known)) return;
  let plan: Plan;
  let perIteration: ((i: number) => Plan) | undefined;
  try {
    plan = subPlan(s, body, formal, known());
  } catch (e) {
    if (!(e instanceof UnsupportedOperatorError)) throw e;
    // the body needs the iteration number when planning (a Slice at i): one plan per iteration, made as it runs
    perIteration = (i) => subPlan(s, body, formal, known(i));
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
    const msg = `${nodeLabel(node)}: has scan outputs, and its trip count is only known at run time (M must be known when planning and the body's condition always true)`;
    // M or cond only known at run time, the body's condition always true: a model run reads them
    // and plans the rest on them (staged-plan.ts), M first
    const later = (v: PlanValue | null) => !!v && !v.value;
    if (c && c.data[0] !== 0 && m && (m.value || later(m)) && (!cond || later(cond) || cond.value!.data[0] !== 0)) {
      if (later(m)) throw new RuntimeValueNeeded(msg, node, 0);
      if (later(cond)) throw new RuntimeValueNeeded(msg, node, 1);
    }
    throw new UnsupportedOperatorError(msg);
  }
  const outInfo = outs.map((o, i) => ({ type: o.type, dims: i < n ? o.dims : [tripCount!, ...o.dims] }));
  controlStep(s, node, ins, [plan], outInfo, tripCount, perIteration);
}

/** A Loop whose inputs and outer values are all known runs now: its outputs become constants (false: leave it to run time). */
function foldLoop(s: PlanScope, node: GraphNode, ins: (PlanValue | null)[], body: Subgraph, formal: { type: ElemType; dims: number[] }[], known: (i?: number) => Map<string, HostTensor>): boolean {
  const n = body.inputs.length - 2;
  const m = ins[0] ? ins[0].value!.data[0] : Infinity;
  let cond = ins[1] ? ins[1].value!.data[0] !== 0 : true;
  let state = ins.slice(2, 2 + n).map((v) => v!.value!);
  const scans: HostTensor[][] = [];
  for (let i = 0; i < m && cond; i++) {
    if (i >= MAX_FOLDED_ITERATIONS) return false;
    const given = known(i);
    state.forEach((t, j) => given.set(body.inputs[2 + j], t));
    const outs = subPlan(s, body, formal, given).outputs.map((o) => o.value);
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
  [...state, ...stacked].forEach((t, i) => node.outputs[i] && s.values.set(node.outputs[i], s.constant(node.outputs[i], t)));
  return true;
}
