// What a plan is made of (src/model/plan.ts makes plans; src/model/plan-control.ts adds If and
// Loop steps; the model runs them).

import type { ElemType, GraphNode, HostData, HostTensor } from './graph.js';
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
