// 1-D convolutions (a 3-D input [N, C, L], weights [M, C/group, k]: audio front ends such as
// openWakeWord's melspectrogram write their STFT that way) run as 2-D ones over an image one row
// high: Unsqueeze(x, 2) -> Conv with weights [M, C/group, 1, k] -> Squeeze(y, 2). Applied at every
// load, rewrites on or off: it is how lowbit runs the operator, not an optimisation.

import type { AttrValue, Graph, GraphNode, HostTensor } from './graph.js';

/** The graph with each 1-D Conv whose weights are constant replaced by its 2-D form. */
export function lowerConv1d(g: Graph): Graph {
  const constants = new Map(g.constants);
  const nodes: GraphNode[] = [];
  let axes = '';
  for (const node of g.nodes) {
    const w = node.op === 'Conv' && node.domain === '' ? constants.get(node.inputs[1]) : undefined;
    if (!w || w.dims.length !== 3) {
      nodes.push(node);
      continue;
    }
    const id = `${node.name || node.outputs[0]}::conv1d`;
    const w2: HostTensor = { type: w.type, dims: [w.dims[0], w.dims[1], 1, w.dims[2]], data: w.data };
    constants.set(`${id}.weight`, w2);
    // Unsqueeze/Squeeze take their axes as an input from opset 13, as an attribute before
    const axesAttr = g.opset < 13 ? new Map<string, AttrValue>([['axes', [2]]]) : new Map<string, AttrValue>();
    if (g.opset >= 13 && !axes) {
      axes = `${id}.axes`;
      constants.set(axes, { type: 'int64', dims: [1], data: Float64Array.of(2) });
    }
    const axesIn = g.opset >= 13 ? [axes] : [];
    const attrs = new Map(node.attrs);
    const widen = (name: string, fill: number) => {
      const v = node.attrs.get(name);
      if (Array.isArray(v) && v.length === 1) attrs.set(name, [fill, v[0]]);
    };
    widen('kernel_shape', 1);
    widen('strides', 1);
    widen('dilations', 1);
    const pads = node.attrs.get('pads');
    if (Array.isArray(pads) && pads.length === 2) attrs.set('pads', [0, pads[0], 0, pads[1]]);
    nodes.push(
      { name: `${id}.unsqueeze`, op: 'Unsqueeze', domain: '', inputs: [node.inputs[0], ...axesIn], outputs: [`${id}.x`], attrs: axesAttr },
      { ...node, inputs: [`${id}.x`, `${id}.weight`, ...node.inputs.slice(2)], outputs: [`${id}.y`], attrs },
      { name: `${id}.squeeze`, op: 'Squeeze', domain: '', inputs: [`${id}.y`, ...axesIn], outputs: [node.outputs[0]], attrs: axesAttr },
    );
  }
  return nodes.length === g.nodes.length ? g : { ...g, nodes, constants };
}
