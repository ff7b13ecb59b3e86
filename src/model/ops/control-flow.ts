// If and Loop: their GRAPH attributes are checked here at load; the planner (src/model/plan.ts)
// inlines an If whose condition it knows and makes sub-plans for the rest, which the model runs
// (src/model/control-flow.ts). Outer-scope values a subgraph reads follow the declared inputs as
// implicit inputs (see Subgraph in graph.ts).

import { ModelError, UnsupportedOperatorError } from '../../errors.js';
import { isSubgraph, nodeLabel, type GraphNode, type Subgraph } from '../graph.js';
import { fail, type OpContext, type OpDef } from './types.js';

/** The subgraph attribute `name` of a node (a ModelError when absent or not a graph). */
export function subgraphAttr(node: GraphNode, name: string): Subgraph {
  const g = node.attrs.get(name);
  if (!isSubgraph(g)) throw new ModelError(`${nodeLabel(node)}: attribute '${name}' must be a graph`);
  return g;
}

/** How many of a node's inputs are declared (the rest are its subgraphs' outer-scope reads). */
export function declaredInputs(node: GraphNode): number {
  const implicit = new Set<string>();
  for (const a of node.attrs.values()) if (isSubgraph(a)) for (const o of a.outer) implicit.add(o);
  return node.inputs.length - implicit.size;
}

const planned = (ctx: OpContext): never => fail(ctx, 'runs inside a model plan only', UnsupportedOperatorError);

const If: OpDef = {
  layout: 'nchw',
  check(ctx) {
    const { node } = ctx;
    const branches = [subgraphAttr(node, 'then_branch'), subgraphAttr(node, 'else_branch')];
    if (declaredInputs(node) !== 1) fail(ctx, 'takes one input (the condition)', ModelError);
    for (const [i, b] of branches.entries()) {
      if (b.inputs.length > 0) fail(ctx, `${i ? 'else' : 'then'}_branch takes no inputs, it has ${b.inputs.length}`, ModelError);
      if (b.outputs.length !== node.outputs.length) fail(ctx, `${i ? 'else' : 'then'}_branch has ${b.outputs.length} outputs, the node ${node.outputs.length}`, ModelError);
    }
  },
  infer: planned,
};

const Loop: OpDef = {
  layout: 'nchw',
  check(ctx) {
    const { node } = ctx;
    const body = subgraphAttr(node, 'body');
    const n = body.inputs.length - 2; // M, cond, then the loop-carried values
    if (n < 0) fail(ctx, `body takes ${body.inputs.length} inputs, expected the iteration number, the condition and the loop-carried values`, ModelError);
    const declared = declaredInputs(node); // M and cond may be left out at the end when nothing follows
    if (declared !== n + 2 && !(n === 0 && declared < 2)) fail(ctx, `has ${declared} inputs, its body takes ${n + 2} (M, cond and ${n} loop-carried values)`, ModelError);
    if (body.outputs.length < n + 1) fail(ctx, `body has ${body.outputs.length} outputs, expected at least ${n + 1} (condition and ${n} loop-carried values)`, ModelError);
    if (node.outputs.length !== body.outputs.length - 1) fail(ctx, `has ${node.outputs.length} outputs, its body gives ${body.outputs.length - 1} (loop-carried and scan outputs)`, ModelError);
  },
  infer: planned,
};

export const CONTROL_FLOW_OPS: Record<string, OpDef> = { If, Loop };
