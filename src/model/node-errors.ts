// Errors raised while quantizing one node's layer (a weight no scheme can hold, a Hessian that
// will not factor, a bad option for that layer's shape) name the node they came from: the user
// sees which layer of a hundred failed. The error keeps its class and fields; only its message
// gains the node's name and op (unless it already names them).

import { nodeLabel, type GraphNode } from './graph.js';

/** fn(), with an error it throws annotated with `node` (the same error object, so the same class) */
export function namingNode<T>(node: GraphNode, scheme: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    const label = nodeLabel(node);
    if (e instanceof Error && !e.message.includes(label)) e.message = `quantize: ${label} (${scheme}): ${e.message}`;
    throw e;
  }
}
