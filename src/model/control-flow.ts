// Running If and Loop steps whose branch or trip count is only known at run time: their
// sub-plans (planned with the parent, src/model/plan.ts) run in the step's scratch part of the
// arena, fed from the step's inputs; results are copied into the step's outputs. Loop iterates
// on the host, carrying its values in host arrays.

import { ModelError, ShapeError } from '../errors.js';
import { elementCount, hostArray, type HostData } from './graph.js';
import { subgraphAttr } from './ops/control-flow.js';
import type { Plan, PlanStep, PlanValue } from './plan.js';

/** What the model lends a control-flow step: running a plan at an arena, and reading a value there. */
export interface PlanRunner {
  execute(plan: Plan, arena: number, feed: (v: PlanValue) => HostData): Promise<void>;
  read(v: PlanValue, arena: number): HostData;
  alloc(bytes: number): number;
  free(ptr: number): void;
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
  const { perIteration } = step.sub!;
  const formal = subgraphAttr(step.node!, 'body').inputs;
  const n = formal.length - 2;
  const m = step.ins[0] ? read(step.ins[0], arena)[0] : Infinity;
  let cond = step.ins[1] ? read(step.ins[1], arena)[0] !== 0 : true;
  let state = step.ins.slice(2, 2 + n).map((v) => read(v!, arena).slice());
  const iter = Float64Array.of(0);
  const feed = (v: PlanValue): HostData => {
    const j = formal.indexOf(v.name);
    return j === 0 ? iter : j >= 2 ? state[j - 2] : outer(v);
  };
  let extra = { ptr: 0, bytes: 0 }; // a per-iteration plan may need more than the step's scratch
  try {
    for (let i = 0; i < m && cond; i++) {
      if (tripCount !== undefined && i >= tripCount) throw new ModelError(`${step.label}: ran past the ${tripCount} iterations it was planned for`);
      iter[0] = i;
      const body = perIteration && i > 0 ? perIteration(i) : plans[0];
      let at = sub;
      if (body.arenaBytes > step.scratch.bytes) {
        if (body.arenaBytes > extra.bytes) {
          if (extra.ptr) runner.free(extra.ptr);
          extra = { ptr: 0, bytes: 0 };
          extra = { ptr: runner.alloc(body.arenaBytes), bytes: body.arenaBytes };
        }
        at = extra.ptr;
      }
      if (body !== plans[0]) checkSameDims(step, plans[0], body);
      await runner.execute(body, at, feed);
      const outs = body.outputs.map((o) => read(o, at));
      if (step.ins[1]) cond = outs[0][0] !== 0;
      state = outs.slice(1, 1 + n).map((d) => d.slice()); // the next iteration overwrites the arena
      outs.slice(1 + n).forEach((d, k) => write(step.outs[n + k], d, i * d.length));
    }
  } finally {
    if (extra.ptr) runner.free(extra.ptr);
  }
  state.forEach((d, j) => write(step.outs[j], d));
}

/** A body planned for a later iteration must give what iteration 0's plan promised. */
function checkSameDims(step: PlanStep, first: Plan, plan: Plan): void {
  plan.outputs.forEach((o, i) => {
    const f = first.outputs[i];
    if (o.type !== f.type || o.dims.join() !== f.dims.join()) {
      throw new ShapeError(`${step.label}: body output ${i} is ${o.type} [${o.dims}] in a later iteration, ${f.type} [${f.dims}] in the first; lowbit needs them equal`);
    }
  });
}
