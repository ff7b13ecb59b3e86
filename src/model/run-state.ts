// A run's live values just before one top-level plan step, copied out, so that a later run can start
// at that step instead of from the feeds (quantizeModel's GPTQ pass: each round resumes where the one
// before stopped, so a calibration input goes through the model about once in all, not once per
// layer). A state fits a plan that has a step for the same node and the same live values there
// (names, types, dims, layout); where a plan differs (a rebuilt layer chose another layout), it does
// not fit and the run starts from the feeds as usual.

import type { ElemType, GraphNode, HostData } from './graph.js';
import type { Plan, PlanValue } from './plan-types.js';

interface SavedValue {
  readonly type: ElemType;
  readonly dims: readonly number[];
  readonly nhwc: boolean;
  readonly data: HostData;
}

/** What RunOptions.resume takes: the values live before the step of `node`. */
export interface RunState {
  readonly node: GraphNode;
  readonly values: ReadonlyMap<string, SavedValue>;
}

/** The runtime values live just before step `at`: inputs and earlier outputs that step `at` or a later one reads, and graph outputs. */
function liveValues(plan: Plan, at: number): PlanValue[] {
  const live: PlanValue[] = [];
  const add = (v: PlanValue) => {
    if (!v.value && (v.root ?? v).lastUse >= at) live.push(v);
  };
  plan.inputs.forEach(add);
  for (let i = 0; i < at; i++) plan.steps[i].outs.forEach(add);
  return live;
}

/** Copies the values live before step `at` (a step with a node) through `read`. */
export function captureState(plan: Plan, at: number, read: (v: PlanValue) => HostData): RunState {
  const values = new Map<string, SavedValue>();
  for (const v of liveValues(plan, at)) {
    const src = read(v);
    const data = new (src.constructor as new (n: number) => HostData)(src.length);
    data.set(src as never); // not slice(): ~7x slower on a view of wasm memory (V8 11.3)
    values.set(v.name, { type: v.type, dims: [...v.dims], nhwc: v.nhwc, data });
  }
  return { node: plan.steps[at].node!, values };
}

/**
 * The index of the step to resume `plan` at, after `write` has put the state's values in place; -1
 * (nothing written) when the state does not fit the plan.
 */
export function restoreState(plan: Plan, state: RunState, write: (v: PlanValue, data: HostData) => void): number {
  const at = plan.steps.findIndex((s) => s.node === state.node);
  if (at < 0) return -1;
  const live = liveValues(plan, at);
  if (live.length !== state.values.size) return -1;
  for (const v of live) {
    const s = state.values.get(v.name);
    if (!s || s.type !== v.type || s.nhwc !== v.nhwc || s.dims.length !== v.dims.length || s.dims.some((d, i) => d !== v.dims[i])) return -1;
  }
  for (const v of live) write(v, state.values.get(v.name)!.data);
  return at;
}
