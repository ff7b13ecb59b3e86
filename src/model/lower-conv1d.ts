// 1-D convolutions (a 3-D input [N, C, L], weights [M, C/group, k]: audio front ends such as
// openWakeWord's melspectrogram and silero VAD write their STFT that way) run as 2-D ones over an
// image one row high: Unsqueeze(x, 2) -> Conv with weights [M, C/group, 1, k] -> Squeeze(y, 2).
// Applied at every load, rewrites on or off, inside If/Loop subgraphs too: it is how lowbit runs the
// operator, not an optimisation.

import { isSubgraph, type AttrValue, type Graph, type GraphNode, type HostTensor, type Subgraph } from './graph.js';

/** The graph with each 1-D Conv whose weights are constant replaced by its 2-D form. */
export function lowerConv1d(g: Graph): Graph {
  const constants = new Map(g.constants);
  const nodes = lowerNodes(g.nodes, constants, [], g.opset);
  return nodes === g.nodes ? g : { ...g, nodes, constants };
}

/**
 * `constants`: the scope's own (new weights go there); `outer`: the enclosing scopes' (a subgraph's
 * Conv may read a weight of the main graph). Returns `nodes` itself when nothing changed.
 */
function lowerNodes(nodes: readonly GraphNode[], constants: Map<string, HostTensor>, outer: ReadonlyMap<string, HostTensor>[], opset: number): readonly GraphNode[] {
  const out: GraphNode[] = [];
  let changed = false;
  const constant = (name: string) => constants.get(name) ?? outer.map((c) => c.get(name)).find((t) => t !== undefined);
  for (const node of nodes) {
    const sub = lowerSubgraphs(node, [constants, ...outer], opset);
    const w = node.op === 'Conv' && node.domain === '' ? constant(node.inputs[1]) : undefined;
    if (!w || w.dims.length !== 3) {
      out.push(sub);
      changed ||= sub !== node;
      continue;
    }
    changed = true;
    out.push(...conv2dForm(sub, w, constants, opset));
  }
  return changed ? out : nodes;
}

/** The node with its If/Loop subgraphs lowered (the node itself when none changed). */
function lowerSubgraphs(node: GraphNode, scopes: ReadonlyMap<string, HostTensor>[], opset: number): GraphNode {
  let attrs: Map<string, AttrValue> | null = null;
  for (const [name, v] of node.attrs) {
    if (!isSubgraph(v)) continue;
    const constants = new Map(v.constants);
    const nodes = lowerNodes(v.nodes, constants, scopes, opset);
    if (nodes === v.nodes) continue;
    attrs ??= new Map(node.attrs);
    attrs.set(name, { ...v, nodes, constants } satisfies Subgraph);
  }
  return attrs ? { ...node, attrs } : node;
}

function conv2dForm(node: GraphNode, w: HostTensor, constants: Map<string, HostTensor>, opset: number): GraphNode[] {
  const id = `${node.name || node.outputs[0]}::conv1d`;
  constants.set(`${id}.weight`, { type: w.type, dims: [w.dims[0], w.dims[1], 1, w.dims[2]], data: w.data });
  // Unsqueeze/Squeeze take their axes as an input from opset 13, as an attribute before
  const axesAttr = opset < 13 ? new Map<string, AttrValue>([['axes', [2]]]) : new Map<string, AttrValue>();
  if (opset >= 13) constants.set(`${id}.axes`, { type: 'int64', dims: [1], data: Float64Array.of(2) });
  const axesIn = opset >= 13 ? [`${id}.axes`] : [];
  const attrs = conv2dAttrs(node.attrs);
  return [
    { name: `${id}.unsqueeze`, op: 'Unsqueeze', domain: '', inputs: [node.inputs[0], ...axesIn], outputs: [`${id}.x`], attrs: axesAttr },
    // the 4-D output is named as conv1d-chains.ts names the 4-D twin of a 3-D value
    { ...node, inputs: [`${id}.x`, `${id}.weight`, ...node.inputs.slice(2)], outputs: [`${node.outputs[0]}::4d`], attrs },
    { name: `${id}.squeeze`, op: 'Squeeze', domain: '', inputs: [`${node.outputs[0]}::4d`, ...axesIn], outputs: [node.outputs[0]], attrs: axesAttr },
  ];
}

/** A 1-D convolution's attributes for its 2-D form (one row high): kernel, strides, dilations, pads. */
export function conv2dAttrs(attrs1d: ReadonlyMap<string, AttrValue>): Map<string, AttrValue> {
  const attrs = new Map(attrs1d);
  for (const name of ['kernel_shape', 'strides', 'dilations']) {
    const v = attrs1d.get(name);
    if (Array.isArray(v) && v.length === 1) attrs.set(name, [1, v[0]]);
  }
  const pads = attrs1d.get('pads');
  if (Array.isArray(pads) && pads.length === 2) attrs.set('pads', [0, pads[0], 0, pads[1]]);
  return attrs;
}
