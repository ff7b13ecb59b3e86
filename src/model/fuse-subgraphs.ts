// The load-time rewrites of fuse.ts inside If and Loop subgraphs too: each subgraph is rewritten as
// a graph of its own, innermost first. fuse.ts names the constants it makes after their weights, so
// a subgraph whose rewrite would add a name the model already uses keeps its nodes as they were:
// value names stay unique across the model (an inlined branch shares the plan's names).

import { fuseGraph, type FuseReport } from './fuse.js';
import { isSubgraph, type AttrValue, type Graph, type GraphNode, type HostTensor, type Subgraph } from './graph.js';

export function fuseSubgraphs(g: Graph, report: FuseReport): Graph {
  const taken = new Set<string>(g.inputs.map((i) => i.name));
  const collect = (nodes: readonly GraphNode[], constants: ReadonlyMap<string, HostTensor>) => {
    for (const k of constants.keys()) taken.add(k);
    for (const n of nodes) {
      for (const o of n.outputs) taken.add(o);
      for (const a of n.attrs.values()) if (isSubgraph(a)) {
        a.inputs.forEach((i) => taken.add(i));
        collect(a.nodes, a.constants);
      }
    }
  };
  collect(g.nodes, g.constants);

  /** `outer`: the constants the nodes' scope sees (fusions read weights from there) */
  const fuseNodes = (nodes: readonly GraphNode[], outer: ReadonlyMap<string, HostTensor>): GraphNode[] =>
    nodes.map((node) => {
      let attrs: Map<string, AttrValue> | null = null;
      for (const [k, a] of node.attrs) {
        if (!isSubgraph(a)) continue;
        const sg = fuseSubgraph(a, outer);
        if (sg !== a) (attrs ??= new Map(node.attrs)).set(k, sg);
      }
      return attrs ? { ...node, attrs } : node;
    });

  const fuseSubgraph = (sg: Subgraph, outer: ReadonlyMap<string, HostTensor>): Subgraph => {
    const visible = new Map([...outer, ...sg.constants]);
    const inner: Subgraph = { ...sg, nodes: fuseNodes(sg.nodes, visible) };
    const { graph, report: r } = fuseGraph({ name: sg.name, opset: g.opset, nodes: inner.nodes, inputs: [], outputs: sg.outputs, constants: visible });
    const before = new Set(inner.nodes.flatMap((n) => n.outputs));
    const made = [...graph.constants.keys()].filter((k) => !visible.has(k));
    const fresh = made.concat(graph.nodes.flatMap((n) => n.outputs).filter((o) => !before.has(o)));
    if (fresh.some((name) => taken.has(name))) return inner;
    for (const name of fresh) taken.add(name);
    for (const k of Object.keys(report) as (keyof FuseReport)[]) report[k] += r[k];
    // the subgraph keeps its own constants and those its rewrites made (they may read outer weights, now folded)
    const constants = new Map([...sg.constants, ...made.map((k) => [k, graph.constants.get(k)!] as const)]);
    return { ...inner, nodes: graph.nodes, constants };
  };

  return { ...g, nodes: fuseNodes(g.nodes, g.constants) };
}
