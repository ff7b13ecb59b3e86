// Running If and Loop steps whose branch or trip count is only known at run time: their
// sub-plans (planned with the parent, src/model/plan.ts) run in the step's scratch part of the
// arena, fed from the step's inputs; results are copied into the step's outputs. Loop iterates
// on the host, carrying its values in host arrays.

import { ModelError } from '../errors.js';
import { elementCount, hostArray, type HostData } from './graph.js';
import { subgraphAttr } from './ops/control-flow.js';
import type { Plan, PlanStep, PlanValue } from './plan.js';

/** What the model lends a control-flow step: running a plan at an arena, and reading a value there. */
export interface PlanRunner {
  execute(plan: Plan, arena: number, feed: (v: PlanValue) => HostData): Promise<void>;
  read(v: PlanValue, arena: number): HostData;
}

export async function runControlStep(step: PlanStep, arena: number, runner: PlanRunner): Promise<void> {
  const { plans, names, tripCount } = step.sub!;
  const sub = arena + step.scratch.offset;
  const read = (v: PlanValue, at: number) => runner.read(v, at);
  for (const o of step.outs) if (o.type !== 'float32') o.host = hostArray(o.type, elementCount(o.dims));
  const write = (dst: PlanValue, src: HostData, offset = 0) => (read(dst, arena) as Float32Array).set(src, offset);
  /** a sub-plan input that is an outer value: the step input of that name */
  const outer = (v: PlanValue): HostData => {
    const i = names.indexOf(v.name);
    if (i < 0 || !step.ins[i]) throw new ModelError(`${step.label}: its subgraph reads '${v.name}', which the step was not given`);
    return read(step.ins[i]!, arena);
  };

  if (step.op === 'If') {
    const plan = plans[read(step.ins[0]!, arena)[0] ? 0 : 1];
    await runner.execute(plan, sub, outer);
    plan.outputs.forEach((o, i) => write(step.outs[i], read(o, sub)));
    return;
  }

  // Loop: M and cond may be absent; without cond the body's condition is ignored (a for loop)
  const formal = subgraphAttr(step.node!, 'body').inputs;
  const n = formal.length - 2;
  const body = plans[0];
  const m = step.ins[0] ? read(step.ins[0], arena)[0] : Infinity;
  let cond = step.ins[1] ? read(step.ins[1], arena)[0] !== 0 : true;
  let state = step.ins.slice(2, 2 + n).map((v) => read(v!, arena).slice());
  const iter = Float64Array.of(0), condIn = Uint8Array.of(1);
  const feed = (v: PlanValue): HostData => {
    const j = formal.indexOf(v.name);
    return j === 0 ? iter : j === 1 ? condIn : j >= 2 ? state[j - 2] : outer(v);
  };
  for (let i = 0; i < m && cond; i++) {
    if (tripCount !== undefined && i >= tripCount) throw new ModelError(`${step.label}: ran past the ${tripCount} iterations it was planned for`);
    iter[0] = i;
    condIn[0] = cond ? 1 : 0;
    await runner.execute(body, sub, feed);
    const outs = body.outputs.map((o) => read(o, sub));
    if (step.ins[1]) cond = outs[0][0] !== 0;
    state = outs.slice(1, 1 + n).map((d) => d.slice()); // the next iteration overwrites the arena
    outs.slice(1 + n).forEach((d, k) => write(step.outs[n + k], d, i * d.length));
  }
  state.forEach((d, j) => write(step.outs[j], d));
}
