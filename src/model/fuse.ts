// Graph rewrites done once at load, so the plan runs fewer, bigger steps:
//   - BatchNormalization after a Conv or ConvTranspose is folded into its weights (W' = W*s, B' = B*s + t);
//   - a constant per-channel Mul/Add after a Conv or ConvTranspose is folded the same way;
//   - exporters' decomposed activations are recognised: x*clip(x+3,0,6)/6 -> HardSwish,
//     x*sigmoid(a*x) -> Swish, the ReduceMean/Sub/Pow/Sqrt/Div chain -> LayerNormalization;
//   - an activation right after a Conv (ConvTranspose), and a per-channel affine after that, become
//     one lowbit.FusedConv (FusedConvTranspose) node, whose layer applies them in place while the
//     output is cache-hot.
// A rewrite only fires when every intermediate value has one reader and is not a graph output.

import type { AttrValue, Graph, GraphNode, HostTensor } from './graph.js';
import { elementCount } from './graph.js';
import { batchNormAffine } from './ops/math.js';

export interface FuseReport {
  foldedBatchNorms: number;
  foldedAffines: number;
  activations: number;
  layerNorms: number;
  fusedConvs: number;
  fusedMatMuls: number;
  attentions: number;
}

/** Activation codes shared with assembly/elementwise/f32-act.ts. */
export const ACTIVATIONS = { identity: 0, relu: 1, hardswish: 2, swish: 3, sigmoid: 4, hardsigmoid: 5, clip: 6, leakyrelu: 7 } as const;
export type ActivationName = keyof typeof ACTIVATIONS;

export class Rewriter {
  nodes: GraphNode[];
  constants: Map<string, HostTensor>;
  private readers = new Map<string, GraphNode[]>();
  private producer = new Map<string, GraphNode>();
  private counter = 0;

  constructor(private readonly g: Graph) {
    this.nodes = [...g.nodes];
    this.constants = new Map(g.constants);
    this.index();
  }

  index(): void {
    this.readers.clear();
    this.producer.clear();
    for (const n of this.nodes) {
      for (const i of n.inputs) if (i) this.readers.set(i, [...(this.readers.get(i) ?? []), n]);
      for (const o of n.outputs) this.producer.set(o, n);
    }
  }

  get opset(): number {
    return this.g.opset;
  }

  /** the single node reading `value`, if there is exactly one and the value is not a graph output */
  soleReader(value: string): GraphNode | null {
    const r = this.readers.get(value);
    return r && r.length === 1 && !this.g.outputs.includes(value) ? r[0] : null;
  }

  /** every node reading `value` (none of them if it is also a graph output, so rewrites leave it alone) */
  internalReaders(value: string): GraphNode[] | null {
    return this.g.outputs.includes(value) ? null : this.readers.get(value) ?? [];
  }

  producerOf(value: string): GraphNode | undefined {
    return this.producer.get(value);
  }

  constant(name: string): HostTensor | undefined {
    return this.constants.get(name);
  }

  scalar(name: string): number | null {
    const c = this.constants.get(name);
    return c && c.type === 'float32' && c.data.length === 1 ? c.data[0] : null;
  }

  addConstant(hint: string, t: HostTensor): string {
    const name = `${hint}::lowbit${this.counter++}`;
    this.constants.set(name, t);
    return name;
  }

  /** replace `remove` nodes by `add` */
  replace(remove: GraphNode[], add: GraphNode): void {
    // where the last removed node was: every input of the new node is computed by then
    const at = Math.max(...remove.map((n) => this.nodes.indexOf(n)));
    const gone = new Set(remove);
    const out: GraphNode[] = [];
    this.nodes.forEach((n, i) => {
      if (i === at) out.push(add);
      if (!gone.has(n)) out.push(n);
    });
    this.nodes = out;
    this.index();
  }

  graph(): Graph {
    return { ...this.g, nodes: this.nodes, constants: this.constants };
  }
}

/** A constant usable as a per-channel vector for a [N, C, ...] tensor: a scalar or C values on axis 1. */
function perChannel(t: HostTensor | undefined, c: number, rank: number): Float32Array | null {
  if (!t || t.type !== 'float32') return null;
  if (t.data.length === 1 && t.dims.length <= rank) return new Float32Array(c).fill(t.data[0]);
  if (t.data.length !== c) return null;
  // right-aligned against [N, C, H, W]: the one non-1 dim must be axis 1
  const off = rank - t.dims.length;
  if (off < 0) return null;
  for (let i = 0; i < t.dims.length; i++) if (t.dims[i] !== 1 && off + i !== 1) return null;
  return Float32Array.from(t.data);
}

function other(node: GraphNode, value: string): string {
  return node.inputs[0] === value ? node.inputs[1] : node.inputs[0];
}

function foldBatchNorms(r: Rewriter): number {
  let n = 0;
  for (const bn of [...r.nodes]) {
    if (bn.op !== 'BatchNormalization' || bn.domain !== '' || bn.outputs.filter(Boolean).length !== 1) continue;
    const conv = r.producerOf(bn.inputs[0]);
    if (!conv || !convLike(conv) || r.soleReader(conv.outputs[0]) !== bn) continue;
    const params = bn.inputs.slice(1, 5).map((name) => r.constant(name));
    const w = r.constant(conv.inputs[1]);
    if (!w || params.some((p) => !p || p.type !== 'float32' || p.data.length !== outChannels(conv, w).cout)) continue;
    const { scale, shift } = batchNormAffine(params.map((p) => p!.data), (bn.attrs.get('epsilon') as number | undefined) ?? 1e-5);
    if (scaleConv(r, conv, scale, shift, bn.outputs[0], [conv, bn])) n++;
  }
  return n;
}

const convLike = (n: GraphNode) => (n.op === 'Conv' || n.op === 'ConvTranspose') && n.domain === '';

/** Output channels of a Conv's weights [M, C/g, k…] or a ConvTranspose's [C, M/g, k…], and the output channel of weight element i. */
function outChannels(conv: GraphNode, w: HostTensor): { cout: number; channelOf: (i: number) => number } {
  if (conv.op === 'Conv') {
    const per = w.data.length / w.dims[0];
    return { cout: w.dims[0], channelOf: (i) => Math.floor(i / per) };
  }
  const group = (conv.attrs.get('group') as number | undefined) ?? 1;
  const opg = w.dims[1], taps = w.data.length / (w.dims[0] * opg), cpg = w.dims[0] / group;
  return { cout: opg * group, channelOf: (i) => Math.floor(Math.floor(i / (opg * taps)) / cpg) * opg + (Math.floor(i / taps) % opg) };
}

/** Conv' = Conv * scale + shift per output channel, writing `output`; false when W/B are not constants. */
function scaleConv(r: Rewriter, conv: GraphNode, scale: Float32Array, shift: Float32Array, output: string, remove: GraphNode[]): boolean {
  const w = r.constant(conv.inputs[1]);
  const b = conv.inputs[2] ? r.constant(conv.inputs[2]) : undefined;
  if (!w || w.type !== 'float32' || (conv.inputs[2] && (!b || b.type !== 'float32'))) return false;
  const { cout, channelOf } = outChannels(conv, w);
  const wd = new Float32Array(w.data.length), bd = new Float32Array(cout);
  for (let i = 0; i < wd.length; i++) wd[i] = w.data[i] * scale[channelOf(i)];
  for (let o = 0; o < cout; o++) bd[o] = (b ? b.data[o] : 0) * scale[o] + shift[o];
  const wName = r.addConstant(conv.inputs[1], { type: 'float32', dims: w.dims, data: wd });
  const bName = r.addConstant(`${conv.name}.bias`, { type: 'float32', dims: [cout], data: bd });
  r.replace(remove, { ...conv, name: remove.map((n) => n.name).join('+'), inputs: [conv.inputs[0], wName, bName], outputs: [output] });
  return true;
}

function foldAffines(r: Rewriter): number {
  let n = 0;
  for (let changed = true; changed; ) {
    changed = false;
    for (const conv of [...r.nodes]) {
      if (!convLike(conv)) continue;
      const next = r.soleReader(conv.outputs[0]);
      const w = r.constant(conv.inputs[1]);
      if (!next || !w || (next.op !== 'Mul' && next.op !== 'Add' && next.op !== 'Sub') || next.domain !== '') continue;
      if (next.op === 'Sub' && next.inputs[0] !== conv.outputs[0]) continue;
      const { cout } = outChannels(conv, w);
      const v = perChannel(r.constant(other(next, conv.outputs[0])), cout, 4);
      if (!v) continue;
      const ones = new Float32Array(cout).fill(1), zeros = new Float32Array(cout);
      const ok = next.op === 'Mul' ? scaleConv(r, conv, v, zeros, next.outputs[0], [conv, next]) : scaleConv(r, conv, ones, next.op === 'Add' ? v : v.map((x) => -x), next.outputs[0], [conv, next]);
      if (ok) {
        n++;
        changed = true;
        break;
      }
    }
  }
  return n;
}

function clipBounds(r: Rewriter, clip: GraphNode): [number, number] | null {
  if (clip.inputs.length > 1) {
    const lo = clip.inputs[1] ? r.scalar(clip.inputs[1]) : -Infinity, hi = clip.inputs[2] ? r.scalar(clip.inputs[2]) : Infinity;
    return lo === null || hi === null ? null : [lo, hi];
  }
  return [(clip.attrs.get('min') as number | undefined) ?? -Infinity, (clip.attrs.get('max') as number | undefined) ?? Infinity];
}

const near = (a: number | null, b: number) => a !== null && Math.abs(a - b) <= 1e-6 * Math.max(1, Math.abs(b));

function activationNode(name: string, x: string, out: string, act: ActivationName, alpha = 1, beta = 0): GraphNode {
  return { name, op: 'Activation', domain: 'lowbit', inputs: [x], outputs: [out], attrs: new Map<string, AttrValue>([['activation', act], ['alpha', alpha], ['beta', beta]]) };
}

/** x*clip(x+3,0,6)/6 (any operand order of the Mul), and x*sigmoid(a*x) / x*sigmoid(x). */
function recogniseActivations(r: Rewriter): number {
  let n = 0;
  for (let changed = true; changed; ) {
    changed = false;
    for (const add of [...r.nodes]) {
      // hardswish: Add(x, 3) -> Clip(0, 6) -> Mul(x, .) -> Div(., 6)   (or Mul(., 1/6))
      if (add.op === 'Add' && add.domain === '') {
        const x = r.scalar(add.inputs[1]) !== null ? add.inputs[0] : add.inputs[0] && r.scalar(add.inputs[0]) !== null ? add.inputs[1] : null;
        if (!x || !near(r.scalar(other(add, x)), 3)) continue;
        const clip = r.soleReader(add.outputs[0]);
        if (!clip || clip.op !== 'Clip') continue;
        const b = clipBounds(r, clip);
        if (!b || b[0] !== 0 || b[1] !== 6) continue;
        const mul = r.soleReader(clip.outputs[0]);
        if (!mul || mul.op !== 'Mul' || other(mul, clip.outputs[0]) !== x) continue;
        const div = r.soleReader(mul.outputs[0]);
        if (!div || !((div.op === 'Div' && div.inputs[0] === mul.outputs[0] && near(r.scalar(div.inputs[1]), 6)) || (div.op === 'Mul' && near(r.scalar(other(div, mul.outputs[0])), 1 / 6)))) continue;
        r.replace([add, clip, mul, div], activationNode(div.name, x, div.outputs[0], 'hardswish'));
        n++;
        changed = true;
        break;
      }
      // swish: [Mul(x, a) ->] Sigmoid -> Mul(x, .)
      if (add.op === 'Sigmoid' && add.domain === '') {
        const sig = add;
        const pre = r.producerOf(sig.inputs[0]);
        let x = sig.inputs[0], alpha = 1;
        const remove: GraphNode[] = [sig];
        if (pre && pre.op === 'Mul' && r.soleReader(pre.outputs[0]) === sig) {
          const c0 = r.scalar(pre.inputs[0]), c1 = r.scalar(pre.inputs[1]);
          if (c0 !== null || c1 !== null) {
            x = c1 !== null ? pre.inputs[0] : pre.inputs[1];
            alpha = (c1 ?? c0)!;
            remove.unshift(pre);
          }
        }
        const mul = r.soleReader(sig.outputs[0]);
        if (!mul || mul.op !== 'Mul' || other(mul, sig.outputs[0]) !== x) continue;
        remove.push(mul);
        r.replace(remove, activationNode(mul.name, x, mul.outputs[0], 'swish', alpha));
        n++;
        changed = true;
        break;
      }
    }
  }
  return n;
}

/** ReduceMean(x) -> Sub(x, m) -> Pow(d, 2) -> ReduceMean -> Add(eps) -> Sqrt -> Div(d, s) [-> Mul(g)] [-> Add(b)] over the last axis. */
function recogniseLayerNorms(r: Rewriter): number {
  let n = 0;
  const lastAxis = (node: GraphNode) => {
    const axes = node.attrs.get('axes') as number[] | undefined;
    return axes && axes.length === 1 && axes[0] === -1 && (node.attrs.get('keepdims') ?? 1) === 1;
  };
  for (let changed = true; changed; ) {
    changed = false;
    for (const rm of [...r.nodes]) {
      if (rm.op !== 'ReduceMean' || !lastAxis(rm)) continue;
      const x = rm.inputs[0];
      const readers = r.internalReaders(rm.outputs[0]);
      const sub = readers && readers.length === 1 ? readers[0] : null;
      if (!sub || sub.op !== 'Sub' || sub.inputs[0] !== x || sub.inputs[1] !== rm.outputs[0]) continue;
      const d = sub.outputs[0];
      const dReaders = r.internalReaders(d);
      if (!dReaders) continue;
      const pow = dReaders.find((k) => k.op === 'Pow' && k.inputs[0] === d && near(r.scalar(k.inputs[1]), 2));
      const div = dReaders.find((k) => k.op === 'Div' && k.inputs[0] === d);
      if (dReaders.length !== 2 || !pow || !div) continue;
      const rm2 = r.soleReader(pow.outputs[0]);
      if (!rm2 || rm2.op !== 'ReduceMean' || !lastAxis(rm2)) continue;
      const addEps = r.soleReader(rm2.outputs[0]);
      if (!addEps || addEps.op !== 'Add') continue;
      const eps = r.scalar(other(addEps, rm2.outputs[0]));
      const sqrt = r.soleReader(addEps.outputs[0]);
      if (eps === null || !sqrt || sqrt.op !== 'Sqrt' || r.soleReader(sqrt.outputs[0]) !== div || div.inputs[1] !== sqrt.outputs[0]) continue;
      const remove = [rm, sub, pow, rm2, addEps, sqrt, div];
      let out = div.outputs[0];
      let gamma: string | null = null, beta: string | null = null;
      const mul = r.soleReader(out);
      const gv = mul && mul.op === 'Mul' ? r.constant(other(mul, out)) : undefined;
      // gamma must span the normalised axis: a [1] gamma would broadcast, LayerNormalization's does not
      if (mul && gv && gv.dims.length === 1 && gv.data.length > 1) {
        gamma = other(mul, out);
        remove.push(mul);
        out = mul.outputs[0];
        const add = r.soleReader(out);
        const bv = add && add.op === 'Add' ? r.constant(other(add, out)) : undefined;
        if (add && bv && bv.dims.length === 1 && bv.data.length === gv.data.length) {
          beta = other(add, out);
          remove.push(add);
          out = add.outputs[0];
        }
      }
      if (!gamma) continue; // the width is only known with gamma; leave ungated chains alone
      r.replace(remove, {
        name: `${rm.name}…${remove[remove.length - 1].name}`, op: 'LayerNormalization', domain: '',
        inputs: beta ? [x, gamma, beta] : [x, gamma], outputs: [out],
        attrs: new Map<string, AttrValue>([['axis', -1], ['epsilon', eps]]),
      });
      n++;
      changed = true;
      break;
    }
  }
  return n;
}

const FUSABLE: Record<string, ActivationName> = { Relu: 'relu', HardSwish: 'hardswish', Sigmoid: 'sigmoid', HardSigmoid: 'hardsigmoid', Clip: 'clip', LeakyRelu: 'leakyrelu' };

/** Conv (ConvTranspose) -> activation [-> per-channel Mul/Add ...] as one lowbit.FusedConv (FusedConvTranspose). */
function fuseConvActivations(r: Rewriter): number {
  let n = 0;
  for (const conv of [...r.nodes]) {
    if (!convLike(conv)) continue;
    const w = r.constant(conv.inputs[1]);
    if (!w) continue;
    const { cout } = outChannels(conv, w);
    const act = r.soleReader(conv.outputs[0]);
    const found = act ? activationWithBounds(r, act) : null;
    if (!found) continue;
    const { name, alpha, beta } = found;
    const remove = [conv, ...found.nodes];
    let out = found.nodes[found.nodes.length - 1].outputs[0];
    const scale = new Float32Array(cout).fill(1), shift = new Float32Array(cout);
    for (;;) {
      const next = r.soleReader(out);
      if (!next || next.domain !== '' || (next.op !== 'Mul' && next.op !== 'Add')) break;
      const v = perChannel(r.constant(other(next, out)), cout, 4);
      if (!v) break;
      for (let c = 0; c < cout; c++) {
        if (next.op === 'Mul') {
          scale[c] *= v[c];
          shift[c] *= v[c];
        } else shift[c] += v[c];
      }
      remove.push(next);
      out = next.outputs[0];
    }
    const s = r.addConstant(`${conv.name}.post_scale`, { type: 'float32', dims: [cout], data: scale });
    const t = r.addConstant(`${conv.name}.post_shift`, { type: 'float32', dims: [cout], data: shift });
    const attrs = new Map(conv.attrs);
    attrs.set('activation', name);
    attrs.set('alpha', alpha);
    attrs.set('beta', beta);
    r.replace(remove, { name: remove.map((k) => k.name).join('+'), op: conv.op === 'Conv' ? 'FusedConv' : 'FusedConvTranspose', domain: 'lowbit', inputs: [...conv.inputs.slice(0, 3), ...(conv.inputs.length < 3 ? [''] : []), s, t].slice(0, 5), outputs: [out], attrs });
    n++;
  }
  return n;
}

/** The fusable activation a node computes ('relu', 'swish', …) with its parameters, or null. */
function activationOf(r: Rewriter, act: GraphNode): { name: ActivationName; alpha: number; beta: number } | null {
  if (act.domain === 'lowbit' && act.op === 'Activation') {
    return { name: act.attrs.get('activation') as ActivationName, alpha: act.attrs.get('alpha') as number, beta: act.attrs.get('beta') as number };
  }
  if (act.domain !== '' || !FUSABLE[act.op]) return null;
  const name = FUSABLE[act.op];
  if (name === 'hardsigmoid') return { name, alpha: (act.attrs.get('alpha') as number | undefined) ?? 0.2, beta: (act.attrs.get('beta') as number | undefined) ?? 0.5 };
  if (name === 'leakyrelu') return { name, alpha: (act.attrs.get('alpha') as number | undefined) ?? 0.01, beta: -Infinity };
  if (name === 'clip') {
    const b = clipBounds(r, act);
    return b ? { name, alpha: b[0], beta: b[1] } : null;
  }
  return { name, alpha: 1, beta: 0 };
}

/**
 * The constant one-element operand (rank <= 4, so it broadcasts to a conv output without changing its
 * dims) of a two-input Max/Min, or null. Not before opset 8: Max-6 and Min-6 do not broadcast (the
 * node stays, and planning refuses the shapes as onnxruntime does).
 */
function scalarOperand(r: Rewriter, node: GraphNode): number | null {
  if (node.domain !== '' || (node.op !== 'Max' && node.op !== 'Min') || node.inputs.length !== 2 || r.opset < 8) return null;
  const c = [0, 1].map((i) => (r.constant(node.inputs[i])?.dims.length ?? 5) <= 4 ? r.scalar(node.inputs[i]) : null);
  const v = c[1] ?? c[0];
  return v === null || Number.isNaN(v) ? null : v;
}

/**
 * The activation a node computes, with the Max/Min-by-a-constant nodes after it folded into its
 * bounds (TensorFlow exports write clamps that way: LeakyRelu then Max(x, -0.4), Relu then Min(x, 6)).
 * relu and clip become clip(lo, hi); a floor on leaky relu is its beta. `nodes`: what it replaces.
 */
export function activationWithBounds(r: Rewriter, first: GraphNode): { name: ActivationName; alpha: number; beta: number; nodes: GraphNode[] } | null {
  // a bare Max/Min by a constant is a clip of its own
  const c0 = scalarOperand(r, first);
  const base = c0 === null ? activationOf(r, first) : { name: 'clip' as const, alpha: first.op === 'Max' ? c0 : -Infinity, beta: first.op === 'Max' ? Infinity : c0 };
  if (!base) return null;
  let { name, alpha, beta } = base;
  if (name === 'relu') [name, alpha, beta] = ['clip', 0, Infinity];
  const nodes = [first];
  for (;;) {
    const next = r.soleReader(nodes[nodes.length - 1].outputs[0]);
    const c = next ? scalarOperand(r, next) : null;
    if (!next || c === null) break;
    if (name === 'clip') [alpha, beta] = next.op === 'Max' ? [Math.max(alpha, c), Math.max(beta, c)] : [Math.min(alpha, c), Math.min(beta, c)];
    else if (name === 'leakyrelu' && next.op === 'Max') beta = Math.max(beta, c);
    else break;
    nodes.push(next);
  }
  // a plain relu stays relu (its epilogue clamp needs no bounds)
  if (name === 'clip' && alpha === 0 && beta === Infinity && base.name === 'relu') name = 'relu';
  return { name, alpha, beta, nodes };
}

/** MatMul by a constant [K, N] then Add of a constant N-vector [then an activation]: one lowbit.FusedMatMul (a linear layer). */
function fuseMatMulBias(r: Rewriter): number {
  let n = 0;
  for (const mm of [...r.nodes]) {
    if (mm.op !== 'MatMul' || mm.domain !== '') continue;
    const w = r.constant(mm.inputs[1]);
    if (!w || w.type !== 'float32' || w.dims.length !== 2) continue;
    const add = r.soleReader(mm.outputs[0]);
    if (!add || add.op !== 'Add' || add.domain !== '') continue;
    const bName = other(add, mm.outputs[0]);
    const b = r.constant(bName);
    if (!b || b.type !== 'float32' || b.data.length !== w.dims[1] || b.dims.slice(0, -1).some((d) => d !== 1) || b.dims[b.dims.length - 1] !== w.dims[1]) continue;
    const remove = [mm, add];
    let out = add.outputs[0];
    const attrs = new Map<string, AttrValue>();
    // and the activation after it (a transformer MLP's swish/gelu-like gate), applied per output
    const act = r.soleReader(out);
    const name = act ? activationOf(r, act) : null;
    if (act && name) {
      attrs.set('activation', name.name);
      attrs.set('alpha', name.alpha);
      attrs.set('beta', name.beta);
      remove.push(act);
      out = act.outputs[0];
    }
    r.replace(remove, { name: remove.map((k) => k.name).join('+'), op: 'FusedMatMul', domain: 'lowbit', inputs: [mm.inputs[0], mm.inputs[1], bName], outputs: [out], attrs });
    n++;
  }
  return n;
}

/**
 * Scaled dot-product attention: MatMul(Q, Kᵀ) [-> Mul/Div by a scalar] -> Softmax -> MatMul(·, V),
 * a scalar Mul on Q before it folded in too, as one lowbit.Attention node (softmax over the last axis).
 */
function fuseAttention(r: Rewriter, opset: number): number {
  let n = 0;
  for (let changed = true; changed; ) {
    changed = false;
    for (const sm of [...r.nodes]) {
      if (sm.op !== 'Softmax' || sm.domain !== '') continue;
      const axis = (sm.attrs.get('axis') as number | undefined) ?? (opset >= 13 ? -1 : 1);
      if (axis === 1 && opset < 13 && !sm.attrs.has('axis')) continue;
      const remove: GraphNode[] = [sm];
      let scale = 1;
      let next: GraphNode = sm;
      let scores = r.producerOf(sm.inputs[0]);
      if (scores && (scores.op === 'Mul' || scores.op === 'Div') && scores.domain === '' && r.soleReader(scores.outputs[0]) === sm) {
        let val: number | null, from: string;
        if (scores.op === 'Div') {
          val = r.scalar(scores.inputs[1]);
          from = scores.inputs[0];
          if (val !== null) val = 1 / val;
        } else if (r.scalar(scores.inputs[1]) !== null) {
          val = r.scalar(scores.inputs[1]);
          from = scores.inputs[0];
        } else {
          val = r.scalar(scores.inputs[0]);
          from = scores.inputs[1];
        }
        if (val === null) continue;
        scale = val;
        remove.push(scores);
        next = scores;
        scores = r.producerOf(from);
      }
      if (!scores || scores.op !== 'MatMul' || scores.domain !== '' || r.soleReader(scores.outputs[0]) !== next) continue;
      const out = r.soleReader(sm.outputs[0]);
      if (!out || out.op !== 'MatMul' || out.domain !== '' || out.inputs[0] !== sm.outputs[0]) continue;
      if ([scores.inputs[1], out.inputs[1]].some((x) => r.constant(x))) continue; // keys and values are activations
      let q = scores.inputs[0];
      const qmul = r.producerOf(q);
      if (qmul && qmul.op === 'Mul' && r.soleReader(q) === scores) {
        const c = r.scalar(qmul.inputs[1]) ?? r.scalar(qmul.inputs[0]);
        if (c !== null) {
          scale *= c;
          q = r.scalar(qmul.inputs[1]) !== null ? qmul.inputs[0] : qmul.inputs[1];
          remove.push(qmul);
        }
      }
      remove.push(scores, out);
      r.replace(remove, {
        name: `attention:${out.name}`, op: 'Attention', domain: 'lowbit', inputs: [q, scores.inputs[1], out.inputs[1]], outputs: [out.outputs[0]],
        attrs: new Map<string, AttrValue>([['scale', scale], ['softmax_axis', axis], ['softmax_opset', opset]]),
      });
      n++;
      changed = true;
      break;
    }
  }
  return n;
}

export function fuseGraph(g: Graph): { graph: Graph; report: FuseReport } {
  const r = new Rewriter(g);
  const firstBatchNorms = foldBatchNorms(r);
  const activations = recogniseActivations(r);
  const layerNorms = recogniseLayerNorms(r);
  const foldedAffines = foldAffines(r);
  // a BatchNormalization after an affine folded just now (ConvTranspose -> Add(bias) -> BN in PP-OCR's head)
  const foldedBatchNorms = firstBatchNorms + foldBatchNorms(r);
  const fusedConvs = fuseConvActivations(r);
  const fusedMatMuls = fuseMatMulBias(r);
  const attentions = fuseAttention(r, g.opset);
  void elementCount;
  return { graph: r.graph(), report: { foldedBatchNorms, foldedAffines, activations, layerNorms, fusedConvs, fusedMatMuls, attentions } };
}
