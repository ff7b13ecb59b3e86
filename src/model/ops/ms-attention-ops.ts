// com.microsoft MultiHeadAttention (BERT-style encoders and cross attention, as onnxruntime's
// transformer optimizer fuses them), and the attention row both it and GroupQueryAttention
// (ms-gqa-ops.ts) compute. As onnxruntime's CPU kernels: scores = scale · q·kᵀ + attention_bias + mask
// rounded to float32, softmax, times V; a masked key adds mask_filter_value (not -∞), so a row with every
// key masked still averages them, while unidirectional drops the later keys.

import { UnsupportedOperatorError } from '../../errors.js';
import { checkType, FLOAT } from './math.js';
import { attr, fail, need, type HostValue, type OpContext, type OpDef, type ValueInfo } from './types.js';

/**
 * One query row: out[oo + j] = Σ_t p_t · v[vo + t·hv + j] (j < hv) with p the softmax over t in [lo, hi)
 * of scale · q·k_t (then c·tanh(s / c) when softcap c > 0) + add(t), in float32 as onnxruntime rounds
 * it; q = q[qo…], k_t = k[ko + t·h…], h values each. A `sink` joins the softmax's denominator as one
 * more score with no value (smooth softmax). `buf` holds at least hi scores.
 */
export function attendRow(
  q: ArrayLike<number>, qo: number, k: ArrayLike<number>, ko: number, v: ArrayLike<number>, vo: number, h: number, hv: number,
  lo: number, hi: number, scale: number, softcap: number, add: ((t: number) => number) | null, out: { [i: number]: number }, oo: number, buf: Float64Array,
  sink: number | null = null,
): void {
  let max = sink ?? -Infinity;
  for (let t = lo; t < hi; t++) {
    let dot = 0;
    for (let i = 0, kt = ko + t * h; i < h; i++) dot += q[qo + i] * k[kt + i];
    let s = Math.fround(scale * dot);
    if (softcap > 0) s = Math.fround(softcap * Math.tanh(s / softcap));
    if (add) s = Math.fround(s + add(t));
    buf[t] = s;
    if (s > max) max = s;
  }
  let sum = sink === null ? 0 : Math.exp(sink - max);
  for (let t = lo; t < hi; t++) sum += buf[t] = Math.exp(buf[t] - max);
  for (let j = 0; j < hv; j++) out[oo + j] = 0;
  for (let t = lo; t < hi; t++) {
    const p = buf[t] / sum;
    for (let j = 0, vt = vo + t * hv; j < hv; j++) out[oo + j] += p * v[vt + j];
  }
}

/** An input the node gives, which lowbit does not implement. */
export function refuseInput(ctx: OpContext, ins: (ValueInfo | null)[], i: number, name: string): void {
  if (ins[i]) fail(ctx, `input ${i} (${name}) is not supported`, UnsupportedOperatorError);
}

/** An output the node asks for, which lowbit does not produce. */
export function refuseOutputs(ctx: OpContext, from: number, names: string[]): void {
  ctx.node.outputs.forEach((o, i) => {
    if (o && i >= from) fail(ctx, `output ${i} (${names[i - from] ?? '?'}) is not supported`, UnsupportedOperatorError);
  });
}

/** A 0/1 attribute that must have one value here. */
export function onlyValue(ctx: OpContext, name: string, fallback: number, allowed: number): void {
  const v = attr(ctx.node, name, fallback);
  if (v !== allowed) fail(ctx, `${name} ${v} is not supported (${allowed} is)`, UnsupportedOperatorError);
}

export interface MhaShape {
  b: number; s: number; n: number; h: number; hv: number; l: number; p: number; t: number;
  /** key and value given as (B, N, L, H): no bias, no past */
  bnsh: boolean;
  mask: 'none' | 'lengths' | 'keys' | 'rows';
}

function mhaShape(ctx: OpContext, ins: (ValueInfo | null)[]): MhaShape {
  const q = need(ctx, ins, 0, 'query');
  const n = attr(ctx.node, 'num_heads', 0);
  if (!Number.isInteger(n) || n < 1) fail(ctx, `num_heads must be a positive integer, got ${n}`);
  for (const [i, what] of [[0, 'query'], [1, 'key'], [2, 'value'], [3, 'bias'], [5, 'attention_bias'], [6, 'past_key'], [7, 'past_value']] as const) if (ins[i]) checkType(ctx, ins[i]!, what, FLOAT);
  if (q.dims.length === 5) fail(ctx, 'packed QKV query (B, L, N, 3, H) is not supported (onnxruntime\'s CPU kernel neither)', UnsupportedOperatorError);
  if (q.dims.length !== 3) fail(ctx, `query must be 3-D (batch, sequence, hidden), got [${q.dims}]`);
  const [b, s, d] = q.dims;
  const h = d / n;
  if (!Number.isInteger(h)) fail(ctx, `query's hidden size ${d} is not a multiple of num_heads ${n}`);
  const k = ins[1], v = ins[2];
  if (!k || !v) fail(ctx, 'key and value are required (a query packing Q, K and V is not supported)', UnsupportedOperatorError);
  if (k.dims.length === 5) fail(ctx, 'packed KV key (B, L, N, 2, H) is not supported (onnxruntime\'s CPU kernel neither)', UnsupportedOperatorError);
  const bnsh = k.dims.length === 4;
  let l: number, hv: number;
  if (bnsh) {
    if (v.dims.length !== 4 || k.dims[0] !== b || k.dims[1] !== n || k.dims[3] !== h || v.dims[0] !== b || v.dims[1] !== n || v.dims[2] !== k.dims[2]) {
      fail(ctx, `key and value as (batch, heads, kv_sequence, head_size) must be [${b}, ${n}, L, ${h}] and [${b}, ${n}, L, Hv], got [${k.dims}] and [${v.dims}]`);
    }
    if (ins[3] || ins[6] || ins[7]) fail(ctx, 'bias, past_key and past_value must be absent when key and value are 4-D');
    [l, hv] = [k.dims[2], v.dims[3]];
  } else {
    if (k.dims.length !== 3 || v.dims.length !== 3 || k.dims[0] !== b || k.dims[2] !== d || v.dims[0] !== b || v.dims[1] !== k.dims[1] || v.dims[2] % n !== 0) {
      fail(ctx, `key and value must be [${b}, L, ${d}] and [${b}, L, Dv] (Dv a multiple of num_heads), got [${k.dims}] and [${v.dims}]`);
    }
    [l, hv] = [k.dims[1], v.dims[2] / n];
  }
  const bias = ins[3];
  if (bias && (bias.dims.length !== 1 || bias.dims[0] !== 2 * d + n * hv)) fail(ctx, `bias must be [${2 * d + n * hv}] (Q, K and V biases), got [${bias.dims}]`);
  const pk = ins[6], pv = ins[7];
  if (!pk !== !pv) fail(ctx, 'past_key and past_value must be both present or both absent');
  let p = 0;
  if (pk && pv) {
    p = pk.dims[2];
    if (pk.dims.length !== 4 || pk.dims[0] !== b || pk.dims[1] !== n || pk.dims[3] !== h) fail(ctx, `past_key must be [${b}, ${n}, P, ${h}], got [${pk.dims}]`);
    if (pv.dims.length !== 4 || pv.dims[0] !== b || pv.dims[1] !== n || pv.dims[2] !== p || pv.dims[3] !== hv || hv !== h) fail(ctx, `past_value must be [${b}, ${n}, ${p}, ${h}] (value heads the size of key heads), got [${pv.dims}]`);
  }
  const t = p + l;
  refuseInput(ctx, ins, 8, 'past_sequence_length');
  refuseInput(ctx, ins, 9, 'cache_indirection');
  let mask: MhaShape['mask'] = 'none';
  const m = ins[4];
  if (m) {
    if (m.type !== 'int32') fail(ctx, `key_padding_mask must be int32, got ${m.type}`);
    const md = m.dims;
    if (md.length === 1 && md[0] === b) mask = 'lengths';
    else if (md.length === 2 && md[0] === b && md[1] === t) mask = 'keys';
    else if (md.length === 3 && md[0] === b && md[1] === s && md[2] === t) mask = 'rows';
    else if (md.length === 1 && md[0] === 3 * b + 2) fail(ctx, 'key_padding_mask of 3·batch + 2 values is not supported', UnsupportedOperatorError);
    else fail(ctx, `key_padding_mask must be [${b}] (key lengths), [${b}, ${t}] or [${b}, ${s}, ${t}] (0 masks a key; ${t} = past + kv sequence), got [${md}]`);
  }
  const ab = ins[5];
  if (ab && (ab.dims.length !== 4 || (ab.dims[0] !== b && ab.dims[0] !== 1) || (ab.dims[1] !== n && ab.dims[1] !== 1) || ab.dims[2] !== s || ab.dims[3] !== t)) {
    fail(ctx, `attention_bias must be [${b} or 1, ${n} or 1, ${s}, ${t}], got [${ab.dims}]`);
  }
  return { b, s, n, h, hv, l, p, t, bnsh, mask };
}

/** x (B, L, N·H) plus bias[off…] per head, into (B, N, T, H) rows [p, p + L) after past's P rows. */
export function toHeads(x: ArrayLike<number>, bias: ArrayLike<number> | null, off: number, past: ArrayLike<number> | null, b: number, l: number, n: number, h: number, p: number, dst: Float32Array): void {
  const t = p + l;
  for (let bi = 0; bi < b; bi++) for (let ni = 0; ni < n; ni++) {
    const base = (bi * n + ni) * t * h;
    if (past) for (let i = 0; i < p * h; i++) dst[base + i] = past[(bi * n + ni) * p * h + i];
    for (let li = 0; li < l; li++) for (let j = 0; j < h; j++) {
      dst[base + (p + li) * h + j] = x[(bi * l + li) * n * h + ni * h + j] + (bias ? bias[off + ni * h + j] : 0);
    }
  }
}

const multiHeadAttentionDef: OpDef = {
  layout: 'nchw',
  check: (ctx) => {
    refuseOutputs(ctx, 3, ['qk']);
    // onnxruntime's CPU kernel reads past_key and past_value only while writing both presents
    const [pk, pv] = [ctx.node.inputs[6], ctx.node.inputs[7]], [ok, ov] = [ctx.node.outputs[1], ctx.node.outputs[2]];
    if (pk && pv && !(ok && ov)) fail(ctx, 'past_key and past_value need both present_key and present_value outputs (onnxruntime ignores or misreads the past without them)', UnsupportedOperatorError);
    const u = attr(ctx.node, 'unidirectional', 0);
    if (u !== 0 && u !== 1) fail(ctx, `unidirectional must be 0 or 1, got ${u}`);
  },
  infer: (ctx, ins) => {
    const sp = mhaShape(ctx, ins);
    const all = [[sp.b, sp.s, sp.n * sp.hv], [sp.b, sp.n, sp.t, sp.h], [sp.b, sp.n, sp.t, sp.hv]];
    return all.slice(0, ctx.node.outputs.length).map((dims) => ({ type: 'float32', dims }));
  },
  compute: (ctx, ins, outs) => mhaAttendFloat(mhaPrepare(ctx, ins, outs), outs[0].data),
};

/** A MultiHeadAttention call ready to attend: Q (B, N, S, H), K and V (B, N, T, H) with bias and past, and its masks. */
export interface MhaPrepared {
  sp: MhaShape;
  Q: Float32Array;
  /** the present outputs when the node has them */
  K: Float32Array; V: Float32Array;
  scale: number; filter: number; causal: boolean;
  mask: ArrayLike<number> | null;
  bias: HostValue | null;
}

export function mhaPrepare(ctx: OpContext, ins: (HostValue | null)[], outs: HostValue[]): MhaPrepared {
  const sp = mhaShape(ctx, ins.map((v) => v && { type: v.type, dims: [...v.dims] }));
  const { b, s, n, h, hv, l, p, t } = sp;
  const bias = ins[3]?.data ?? null, d = n * h;
  const Q = new Float32Array(b * n * s * h);
  toHeads(ins[0]!.data, bias, 0, null, b, s, n, h, 0, Q);
  // K and V as (B, N, T, H): the present outputs when asked for
  const K = ctx.node.outputs[1] ? (outs[1].data as Float32Array) : new Float32Array(b * n * t * h);
  const V = ctx.node.outputs[2] ? (outs[2].data as Float32Array) : new Float32Array(b * n * t * hv);
  if (sp.bnsh) {
    K.set(ins[1]!.data);
    V.set(ins[2]!.data);
  } else {
    toHeads(ins[1]!.data, bias, d, ins[6]?.data ?? null, b, l, n, h, p, K);
    toHeads(ins[2]!.data, bias, 2 * d, ins[7]?.data ?? null, b, l, n, hv, p, V);
  }
  const scaleAttr = attr(ctx.node, 'scale', 0);
  return {
    sp, Q, K, V, scale: scaleAttr === 0 ? Math.fround(1 / Math.sqrt(h)) : scaleAttr, filter: attr(ctx.node, 'mask_filter_value', -10000),
    causal: attr(ctx.node, 'unidirectional', 0) === 1 && s > 1, mask: ins[4]?.data ?? null, bias: ins[5] ?? null,
  };
}

/** The keys query row si sees without masks: [0, hi). Causal: later keys get no weight; as onnxruntime, the last query row is not limited (that matters when kv_sequence > sequence). */
export function mhaRowEnd(m: MhaPrepared, si: number): number {
  return m.causal && si < m.sp.s - 1 ? m.sp.p + si + 1 : m.sp.t;
}

/** Float attention of the sequences `only` says yes to (default all), into y (B, S, N·Hv). */
export function mhaAttendFloat(m: MhaPrepared, y: { [i: number]: number }, only?: (bi: number) => boolean): void {
  const { sp, Q, K, V, scale, filter, mask } = m;
  const { b, s, n, h, hv, t } = sp;
  const ab = m.bias;
  const buf = new Float64Array(t);
  for (let bi = 0; bi < b; bi++) for (let ni = 0; ni < n; ni++) for (let si = 0; si < s; si++) {
    if (only && !only(bi)) continue;
    const abo = ab ? ((ab.dims[0] === 1 ? 0 : bi * ab.dims[1]) + (ab.dims[1] === 1 ? 0 : ni)) * s * t + si * t : 0;
    const add = (ti: number) => {
      let a = 0;
      if (sp.mask === 'lengths') a = ti >= mask![bi] ? filter : 0;
      else if (sp.mask === 'keys') a = mask![bi * t + ti] > 0 ? 0 : filter;
      else if (sp.mask === 'rows') a = mask![(bi * s + si) * t + ti] > 0 ? 0 : filter;
      return ab ? Math.fround(ab.data[abo + ti] + a) : a;
    };
    attendRow(Q, ((bi * n + ni) * s + si) * h, K, (bi * n + ni) * t * h, V, (bi * n + ni) * t * hv, h, hv, 0, mhaRowEnd(m, si), scale, 0, sp.mask !== 'none' || ab ? add : null, y, (bi * s + si) * n * hv + ni * hv, buf);
  }
}

export const MS_ATTENTION_OPS: Record<string, OpDef> = { MultiHeadAttention: multiHeadAttentionDef };
