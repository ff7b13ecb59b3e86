// Keeps the 4-D form between lowered 1-D convolutions. lower-conv1d.ts runs each 1-D Conv as
// Unsqueeze -> 2-D Conv -> Squeeze; the 2-D Conv works channels-last, and the Squeeze (a 3-D value)
// forces the standard layout, so a chain Conv -> Relu -> Conv converted to NCHW and back at every
// Conv (silero VAD legacy: 32 layout steps a run). Here the elementwise nodes between lowered
// convolutions run on the 4-D values instead ([N, C, L] as [N, C, 1, L]: same elements, so the
// plan keeps them channels-last), an Unsqueeze of such a value becomes the value itself, and the
// 3-D value is made (by the lowering's Squeeze) only where something else reads it: a Transpose, a
// graph or branch output, a subgraph. Then Conv -> Relu is adjacent and fuse.ts fuses it.
// 4-D twins are named `<3-D name>::4d`; exportOnnx maps them back to the file's names.

import { isSubgraph, type AttrValue, type Graph, type GraphNode, type Subgraph } from './graph.js';

/** elementwise ops with one input that run alike on [N, C, L] and [N, C, 1, L] */
const UNARY = new Set(['Relu', 'LeakyRelu', 'Sigmoid', 'Tanh', 'HardSigmoid', 'HardSwish', 'Elu', 'Selu', 'Softplus', 'Neg', 'Abs']);
/** elementwise ops with two inputs: both must have a 4-D twin (broadcasting then agrees: axis 2 is 1 in both) */
const BINARY = new Set(['Add', 'Sub', 'Mul', 'Div']);

export const TWIN_SUFFIX = '::4d';

const lowered = (n: GraphNode, part: 'unsqueeze' | 'squeeze') => n.domain === '' && n.name.endsWith(`::conv1d.${part}`);

export function keepConv1dChains(g: Graph): Graph {
  const nodes = chainNodes(g.nodes, g.outputs);
  return nodes === g.nodes ? g : { ...g, nodes };
}

/** `outputs`: the scope's outputs (they must exist as 3-D values at its end). Returns `nodes` when nothing changed. */
function chainNodes(nodes: readonly GraphNode[], outputs: readonly string[]): readonly GraphNode[] {
  if (!nodes.some((n) => lowered(n, 'squeeze') || n.attrs.size > 0)) return nodes;
  /** 3-D name -> its 4-D twin, and the Squeeze that makes the 3-D value from it */
  const twin = new Map<string, { name: string; squeeze: GraphNode }>();
  const made = new Set<string>();
  const rename = new Map<string, string>();
  const unsqueezed = new Map<string, string>();
  const out: GraphNode[] = [];
  let changed = false;
  /** the 3-D value, made from its twin where first read as 3-D */
  const need = (name: string) => {
    const t = twin.get(name);
    if (!t || made.has(name)) return;
    made.add(name);
    out.push(t.squeeze);
  };
  for (const n0 of nodes) {
    const node = withSubgraphs(n0);
    const ins = node.inputs.map((i) => rename.get(i) ?? i);
    if (lowered(node, 'squeeze')) {
      // the Conv's 4-D output stands for the 3-D value; the Squeeze runs only if someone needs 3-D
      twin.set(node.outputs[0], { name: ins[0], squeeze: { ...node, inputs: ins } });
      changed = true;
      continue;
    }
    if (lowered(node, 'unsqueeze')) {
      const t = twin.get(ins[0]);
      const same = unsqueezed.get(ins[0]);
      if (t || same) {
        // a 4-D twin exists (or another lowered Unsqueeze of the same value): read it, no step
        rename.set(node.outputs[0], t ? t.name : same!);
        changed = true;
        continue;
      }
      unsqueezed.set(ins[0], node.outputs[0]);
    }
    const x = twin.get(ins[0]);
    const elementwise = node.domain === '' && node.outputs.length === 1 && x &&
      ((UNARY.has(node.op) && ins.length === 1) || (BINARY.has(node.op) && ins.length === 2 && twin.has(ins[1])));
    if (elementwise) {
      const name = `${node.outputs[0]}${TWIN_SUFFIX}`;
      out.push({ ...node, inputs: ins.map((i) => twin.get(i)!.name), outputs: [name] });
      twin.set(node.outputs[0], { name, squeeze: { ...x.squeeze, name: `${node.outputs[0]}::squeeze`, inputs: [name, ...x.squeeze.inputs.slice(1)], outputs: [node.outputs[0]] } });
      changed = true;
      continue;
    }
    for (const i of ins) need(i);
    for (const a of node.attrs.values()) if (isSubgraph(a)) for (const o of a.outer) need(rename.get(o) ?? o);
    changed ||= node !== n0 || ins.some((i, k) => i !== node.inputs[k]);
    out.push(ins.every((i, k) => i === node.inputs[k]) ? node : { ...node, inputs: ins });
  }
  for (const o of outputs) need(o);
  return changed ? out : nodes;
}

/** The node with its If/Loop bodies rewritten (the node itself when none changed). */
function withSubgraphs(node: GraphNode): GraphNode {
  let attrs: Map<string, AttrValue> | null = null;
  for (const [name, v] of node.attrs) {
    if (!isSubgraph(v)) continue;
    const nodes = chainNodes(v.nodes, v.outputs);
    if (nodes === v.nodes) continue;
    attrs ??= new Map(node.attrs);
    attrs.set(name, { ...v, nodes } satisfies Subgraph);
  }
  return attrs ? { ...node, attrs } : node;
}

