// onnxruntime's quantize_dynamic writes every Conv and MatMul with constant weights as
//   DynamicQuantizeLinear(x) -> ConvInteger / MatMulInteger (w, w_zero_point constants) -> Cast(to float)
//   -> Mul(x_scale * w_scale) [-> Add(bias, via a Reshape of constants for Conv)] [-> an activation]
// This load-time rewrite makes each such chain one lowbit.DynamicQuantConv / DynamicQuantMatMul node
// (src/model/ops/dyn-quant-ops.ts), which the planner runs as one int8 layer. Like fuse.ts, it fires
// only when every intermediate value has one reader and is not a graph output; the
// DynamicQuantizeLinear goes when nothing else reads it.

import type { Graph, GraphNode, HostTensor } from './graph.js';
import { activationWithBounds, Rewriter } from './fuse.js';

const is = (n: GraphNode | null | undefined, op: string): n is GraphNode => !!n && n.op === op && n.domain === '';
const EXACT_ACTIVATIONS = ['relu', 'clip', 'leakyrelu'];
const isQ8 = (t: HostTensor | undefined): t is HostTensor => !!t && (t.type === 'int8' || t.type === 'uint8');

/** The bias an Add adds per output channel: `cout` values on axis 1 (Conv) or the last axis (MatMul), by name. */
function biasOf(r: Rewriter, add: GraphNode, value: string, cout: number, conv: boolean): { name: string; also: GraphNode[] } | null {
  const other = add.inputs[0] === value ? add.inputs[1] : add.inputs[0];
  const direct = r.constant(other);
  const reshape = direct ? undefined : r.producerOf(other);
  const t = direct ?? (is(reshape, 'Reshape') && r.soleReader(other) === add ? r.constant(reshape.inputs[0]) : undefined);
  const shape = direct ? direct.dims : reshape && r.constant(reshape.inputs[1]) ? Array.from(r.constant(reshape.inputs[1])!.data) : null;
  if (!t || t.type !== 'float32' || t.data.length !== cout || !shape) return null;
  // as the Add broadcasts it: [1, cout, 1, 1] against a 2-D conv's output, [cout] against a MatMul's
  const dims = shape.map((d) => (d === -1 ? cout : d));
  const want = conv ? [1, cout, 1, 1] : [cout];
  if (dims.length > want.length || !dims.every((d, i) => d === want[want.length - dims.length + i])) return null;
  const name = r.addConstant(`${add.name}.bias`, { type: 'float32', dims: [cout], data: Float32Array.from(t.data) });
  return { name, also: reshape ? [reshape] : [] };
}

/** One chain starting at an integer node, rewritten; false when it is not quantize_dynamic's pattern. */
function fuseChain(r: Rewriter, g: Graph, ints: GraphNode): boolean {
  const conv = ints.op === 'ConvInteger';
  const [q, wName, zName, wzName] = ints.inputs;
  const dql = r.producerOf(q);
  const w = r.constant(wName), wz = wzName ? r.constant(wzName) : undefined;
  if (!is(dql, 'DynamicQuantizeLinear') || dql.outputs[0] !== q || zName !== dql.outputs[2]) return false;
  if (!isQ8(w) || (wzName && (!isQ8(wz) || wz.type !== w.type)) || (conv ? w.dims.length !== 4 : w.dims.length !== 2)) return false;
  const cout = conv ? w.dims[0] : w.dims[1];
  const cast = r.soleReader(ints.outputs[0]);
  if (!is(cast, 'Cast') || cast.attrs.get('to') !== 1) return false;
  const mul = r.soleReader(cast.outputs[0]);
  if (!is(mul, 'Mul')) return false;
  const scales = r.producerOf(mul.inputs[0] === cast.outputs[0] ? mul.inputs[1] : mul.inputs[0]);
  if (!is(scales, 'Mul') || !scales.inputs.includes(dql.outputs[1])) return false;
  const wsName = scales.inputs[0] === dql.outputs[1] ? scales.inputs[1] : scales.inputs[0];
  const ws = r.constant(wsName);
  // per tensor, or (MatMul) one scale per column, which the Mul broadcasts along the last axis (rank
  // at most 1: a higher-rank scale would change the output's rank)
  if (!ws || ws.type !== 'float32' || ws.dims.length > 1 || !(ws.data.length === 1 || (!conv && ws.data.length === cout))) return false;
  const remove = [ints, cast, mul];
  if (r.soleReader(scales.outputs[0]) === mul) remove.push(scales);
  let out = mul.outputs[0], bias = '';
  const add = r.soleReader(out);
  const b = is(add, 'Add') ? biasOf(r, add, out, cout, conv) : null;
  if (add && b) {
    remove.push(add, ...b.also);
    bias = b.name;
    out = add.outputs[0];
  }
  // an activation after it that the int8 epilogue computes exactly as the separate node does (Relu,
  // Clip, LeakyRelu then Max(x, c) as TensorFlow writes it); the others (HardSigmoid, …) round
  // differently in wasm, and one ulp moves the next DynamicQuantizeLinear's range
  const next = r.soleReader(out);
  const found = next ? activationWithBounds(r, next) : null;
  const act = found && EXACT_ACTIVATIONS.includes(found.name) ? found : null;
  if (act) {
    remove.push(...act.nodes);
    out = act.nodes[act.nodes.length - 1].outputs[0];
  }
  // the DynamicQuantizeLinear goes too when only this chain reads it
  const gone = new Set(remove);
  if (dql.outputs.every((o) => !g.outputs.includes(o) && (r.internalReaders(o) ?? []).every((n) => gone.has(n)))) remove.push(dql);
  const attrs = new Map(ints.attrs);
  if (act) attrs.set('activation', act.name).set('alpha', act.alpha).set('beta', act.beta);
  r.replace(remove, {
    name: remove.map((n) => n.name).join('+'), op: conv ? 'DynamicQuantConv' : 'DynamicQuantMatMul', domain: 'lowbit',
    inputs: [dql.inputs[0], wName, wzName ?? '', wsName, bias], outputs: [out], attrs,
  });
  return true;
}

/** The graph with quantize_dynamic's Conv and MatMul chains as single nodes, and how many. */
export function fuseDynamicQuant(g: Graph): { graph: Graph; fused: number } {
  if (!g.nodes.some((n) => n.domain === '' && (n.op === 'ConvInteger' || n.op === 'MatMulInteger'))) return { graph: g, fused: 0 };
  const r = new Rewriter(g);
  let fused = 0;
  for (const n of [...r.nodes]) if (n.domain === '' && (n.op === 'ConvInteger' || n.op === 'MatMulInteger') && fuseChain(r, g, n)) fused++;
  return { graph: r.graph(), fused };
}
