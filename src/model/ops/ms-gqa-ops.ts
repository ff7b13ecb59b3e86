// com.microsoft GroupQueryAttention: the attention of transformers.js / onnxruntime-genai LLM exports,
// with its KV cache. As onnxruntime's CPU kernel:
// - past_key / past_value (B, kv_heads, P, H) hold each sequence right-padded; seqlens_k[b] + 1 is its
//   total length after this step, so this step's S tokens start at past_b = seqlens_k[b] + 1 - S (0 for
//   the first prompt, S == total_sequence_length);
// - present_key / present_value (B, kv_heads, max(total_sequence_length, P), H): past rows [0, past_b),
//   the new ones after them, zeros beyond;
// - query row s sees keys [0, past_b + s] (causal), the last local_window_size of them when set;
//   scores scale · q·k, softcapped, plus attention_bias, softmax (with head_sink / smooth_softmax's sink
//   in the denominator), times V; query head i reads kv head i / (heads / kv_heads);
// - do_rotary rotates the new q and k rows at positions past_b + s.
// Padded rows of a ragged first prompt (s > seqlens_k[b]) see keys [0, seqlens_k[b]] here; onnxruntime
// reads unwritten memory for them.

import { UnsupportedOperatorError, ValueRangeError } from '../../errors.js';
import { attendRow, onlyValue, refuseInput, refuseOutputs } from './ms-attention-ops.js';
import { checkPosition, rotateRow } from './ms-rotary-ops.js';
import { checkType, FLOAT } from './math.js';
import { attr, constInts, fail, need, type HostValue, type OpContext, type OpDef, type ValueInfo } from './types.js';

interface GqaShape {
  b: number; s: number; n: number; nk: number; h: number;
  /** past buffer rows, present buffer rows, total_sequence_length */
  p: number; present: number; total: number;
  packed: boolean; firstPrompt: boolean;
  /** rotated values per head (0: no rotary) */
  rot: number; cacheRows: number;
}

const REFUSED_INPUTS: [number, string][] = [[9, 'position_ids'], [12, 'k_scale'], [13, 'v_scale'], [14, 'q_norm_weight'], [15, 'k_norm_weight']];
const FLOAT_INPUTS: [number, string][] = [[0, 'query'], [1, 'key'], [2, 'value'], [3, 'past_key'], [4, 'past_value'], [7, 'cos_cache'], [8, 'sin_cache']];

function gqaShape(ctx: OpContext, ins: (ValueInfo | null)[]): GqaShape {
  const q = need(ctx, ins, 0, 'query');
  const n = attr(ctx.node, 'num_heads', 0), nk = attr(ctx.node, 'kv_num_heads', 0);
  if (!Number.isInteger(n) || !Number.isInteger(nk) || n < 1 || nk < 1 || n % nk !== 0) fail(ctx, `num_heads ${n} must be a positive multiple of kv_num_heads ${nk}`);
  // index loops over module-level lists: this runs per layer per decoded token (for…of over literals made most of its garbage)
  for (let j = 0; j < FLOAT_INPUTS.length; j++) if (ins[FLOAT_INPUTS[j][0]]) checkType(ctx, ins[FLOAT_INPUTS[j][0]]!, FLOAT_INPUTS[j][1], FLOAT);
  if (q.dims.length !== 3) fail(ctx, `query must be 3-D (batch, sequence, hidden), got [${q.dims}]`);
  const b = q.dims[0], s = q.dims[1], d = q.dims[2]; // no array destructuring: an iterator per call
  const k = ins[1], v = ins[2];
  if (!k !== !v) fail(ctx, 'key and value must be both present or both absent (absent: query packs Q, K and V)');
  const packed = !k;
  const h = d / (packed ? n + 2 * nk : n);
  if (!Number.isInteger(h)) fail(ctx, `query's hidden size ${d} does not split into ${packed ? `num_heads + 2·kv_num_heads = ${n + 2 * nk}` : `num_heads ${n}`} heads`);
  for (let j = 1; j <= 2; j++) {
    const x = ins[j];
    if (x && (x.dims.length !== 3 || x.dims[0] !== b || x.dims[1] !== s || x.dims[2] !== nk * h)) fail(ctx, `${j === 1 ? 'key' : 'value'} must be [${b}, ${s}, ${nk * h}] (kv_num_heads · head_size), got [${x.dims}]`);
  }
  const pk = ins[3], pv = ins[4];
  if (!pk !== !pv) fail(ctx, 'past_key and past_value must be both present or both absent');
  const p = pk ? pk.dims[2] : 0;
  for (let j = 3; j <= 4; j++) {
    const x = ins[j];
    if (x && (x.dims.length !== 4 || x.dims[0] !== b || x.dims[1] !== nk || x.dims[2] !== p || x.dims[3] !== h)) fail(ctx, `${j === 3 ? 'past_key' : 'past_value'} must be [${b}, ${nk}, ${p}, ${h}] (batch, kv_num_heads, past, head_size), got [${x.dims}]`);
  }
  const sk = need(ctx, ins, 5, 'seqlens_k'), ts = need(ctx, ins, 6, 'total_sequence_length');
  if (sk.type !== 'int32' || sk.dims.length !== 1 || sk.dims[0] !== b) fail(ctx, `seqlens_k must be int32 [${b}] (batch), got ${sk.type} [${sk.dims}]`);
  if (ts.type !== 'int32' || count(ts.dims) !== 1) fail(ctx, `total_sequence_length must be one int32, got ${ts.type} [${ts.dims}]`);
  const total = constInts(ctx, ins, 6, 'total_sequence_length')![0];
  if (!Number.isInteger(total) || total < 1) fail(ctx, `total_sequence_length ${total} must be positive`, ValueRangeError);
  // a prompt after past context (S > 1, S != total): batch 1 only, as onnxruntime
  const firstPrompt = s === total;
  if (!firstPrompt && s > 1 && b !== 1) fail(ctx, `a prompt of ${s} tokens after past context (total_sequence_length ${total}) needs batch 1, got ${b}`);
  if (total < s) fail(ctx, `total_sequence_length ${total} is shorter than the ${s} new tokens`, ValueRangeError);
  const cos = ins[7], sin = ins[8];
  if (!cos !== !sin) fail(ctx, 'cos_cache and sin_cache must be both present or both absent');
  let rot = 0, cacheRows = 0;
  if (cos && sin) {
    if (cos.dims.length !== 2 || sin.dims.length !== 2 || cos.dims[0] !== sin.dims[0] || cos.dims[1] !== sin.dims[1] || cos.dims[1] * 2 > h) {
      fail(ctx, `cos_cache and sin_cache must be 2-D of one shape (rows, at most head_size / 2 = ${h / 2}), got [${cos.dims}] and [${sin.dims}]`);
    }
    if (cos.dims[0] < total) fail(ctx, `cos_cache and sin_cache have ${cos.dims[0]} rows, fewer than total_sequence_length ${total}`);
    rot = attr(ctx.node, 'do_rotary', 0) === 1 ? cos.dims[1] * 2 : 0;
    cacheRows = cos.dims[0];
  }
  if (attr(ctx.node, 'do_rotary', 0) === 1 && !cos) fail(ctx, 'do_rotary needs cos_cache and sin_cache');
  for (let j = 0; j < REFUSED_INPUTS.length; j++) refuseInput(ctx, ins, REFUSED_INPUTS[j][0], REFUSED_INPUTS[j][1]);
  const ab = ins[10], sinks = ins[11];
  if (ab) {
    checkType(ctx, ab, 'attention_bias', FLOAT);
    if (ab.dims.length !== 4 || (ab.dims[0] !== b && ab.dims[0] !== 1) || (ab.dims[1] !== n && ab.dims[1] !== 1) || ab.dims[2] !== s || ab.dims[3] !== total) {
      fail(ctx, `attention_bias must be [${b} or 1, ${n} or 1, ${s}, ${total}] (total_sequence_length), got [${ab.dims}]`);
    }
  }
  if (sinks) {
    checkType(ctx, sinks, 'head_sink', FLOAT);
    if (sinks.dims.length !== 1 || sinks.dims[0] !== n) fail(ctx, `head_sink must be [${n}] (num_heads), got [${sinks.dims}]`);
  }
  return { b, s, n, nk, h, p, present: Math.max(total, p), total, packed, firstPrompt, rot, cacheRows };
}

const groupQueryAttentionDef: OpDef = {
  layout: 'nchw',
  // a past as long as the present (a decoder's preallocated cache) is updated where it lies
  inPlace: [[1, 3], [2, 4]],
  check: (ctx) => {
    refuseOutputs(ctx, 3, ['output_qk']);
    onlyValue(ctx, 'causal', 1, 1);
    onlyValue(ctx, 'qk_output', 0, 0);
    if (![0, 1].includes(attr(ctx.node, 'smooth_softmax', 0))) fail(ctx, `smooth_softmax must be 0 or 1, got ${attr(ctx.node, 'smooth_softmax', 0)}`);
    onlyValue(ctx, 'sliding_window_cache', 0, 0);
    for (const a of ['k_quant_type', 'v_quant_type']) {
      if (attr(ctx.node, a, 'NONE') !== 'NONE') fail(ctx, `${a} ${attr(ctx.node, a, 'NONE')} is not supported (a float32 KV cache is: NONE)`, UnsupportedOperatorError);
    }
    for (const a of ['do_rotary', 'rotary_interleaved']) if (![0, 1].includes(attr(ctx.node, a, 0))) fail(ctx, `${a} must be 0 or 1, got ${attr(ctx.node, a, 0)}`);
  },
  infer: (ctx, ins) => {
    const sp = gqaShape(ctx, ins);
    const all = [[sp.b, sp.s, sp.n * sp.h], [sp.b, sp.nk, sp.present, sp.h], [sp.b, sp.nk, sp.present, sp.h]];
    return all.slice(0, ctx.node.outputs.length).map((dims) => ({ type: 'float32', dims }));
  },
  // synchronous: the new rows may go to scratch reused by the next call (gqaPrepare's `reuse`)
  compute: (ctx, ins, outs) => gqaAttendFloat(gqaPrepare(ctx, ins, outs, true), outs[0].data),
};

/** A GroupQueryAttention step ready to attend: rotated Q, the present K and V, and where each row looks. */
export interface GqaPrepared {
  ctx: OpContext;
  b: number; s: number; n: number; nk: number; h: number;
  /** present rows (the cache buffers' third axis) */
  present: number;
  total: number;
  /** (B, S, heads, H) */
  Q: Float32Array;
  /** (B, kv_heads, present, H): the present outputs when the node has them */
  K: Float32Array; V: Float32Array;
  /** per sequence: where this step's tokens start, and seqlens_k */
  starts: number[]; seqlens: ArrayLike<number>;
  scale: number; softcap: number; window: number;
  /** head_sink's scores, or null */
  sinks: ArrayLike<number> | null; smooth: boolean;
  bias: HostValue | null;
}

/**
 * The shape checks, rotary, and the present buffers of one step (what both the float and the int8
 * attention read). `reuse`: Q may be module scratch, overwritten by the next call (the caller reads
 * it before anything else runs: the float path); a decode step then makes no arrays here.
 */
export function gqaPrepare(ctx: OpContext, ins: (HostValue | null)[], outs: HostValue[], reuse = false): GqaPrepared {
  const sp = gqaShape(ctx, infosOf(ins));
  const { b, s, n, nk, h, p, present } = sp;
  const seqlens = ins[5]!.data;
  // where this step's tokens start in each sequence, checked against the buffers
  const starts: number[] = [];
  for (let bi = 0; bi < b; bi++) {
    const total = seqlens[bi] + 1, start = sp.firstPrompt ? 0 : total - s;
    const ok = Number.isInteger(total) && (sp.firstPrompt ? total >= 1 && total <= s : start >= 0 && start <= p && total <= present);
    if (!ok) fail(ctx, `seqlens_k[${bi}] = ${seqlens[bi]} does not fit ${sp.firstPrompt ? `a first prompt of ${s} tokens` : `${s} new token${s > 1 ? 's' : ''} after a past of ${p} rows (present ${present})`}`, ValueRangeError);
    starts.push(start);
  }
  // the new rows, per head (B, S, heads, H), rotated when do_rotary
  const rowLen = sp.packed ? (n + 2 * nk) * h : n * h;
  const q = ins[0]!.data;
  const r = { ctx, sp, starts, cos: ins[7]?.data ?? null, sin: ins[8]?.data ?? null, interleaved: attr(ctx.node, 'rotary_interleaved', 0) === 1 };
  const Q = heads(r, q, rowLen, 0, n, sp.rot > 0, rowsBuffer(0, b * s * n * h, reuse));
  // K and V rows only go into the present buffers below: scratch whenever they are small
  const kvLength = b * s * nk * h;
  const Kn = sp.packed ? heads(r, q, rowLen, n * h, nk, sp.rot > 0, rowsBuffer(1, kvLength, true)) : heads(r, ins[1]!.data, nk * h, 0, nk, sp.rot > 0, rowsBuffer(1, kvLength, true));
  const Vn = sp.packed ? heads(r, q, rowLen, (n + nk) * h, nk, false, rowsBuffer(2, kvLength, true)) : heads(r, ins[2]!.data, nk * h, 0, nk, false, rowsBuffer(2, kvLength, true));
  const K = presentBuffer(ctx, outs, 1, sp, starts, ins[3]?.data, Kn), V = presentBuffer(ctx, outs, 2, sp, starts, ins[4]?.data, Vn);
  const scaleAttr = attr(ctx.node, 'scale', 0);
  const scale = scaleAttr === 0 ? Math.fround(1 / Math.sqrt(h)) : scaleAttr;
  return {
    ctx, b, s, n, nk, h, present, total: sp.total, Q, K, V, starts, seqlens, scale,
    softcap: attr(ctx.node, 'softcap', 0), window: attr(ctx.node, 'local_window_size', -1),
    sinks: ins[11]?.data ?? null, smooth: attr(ctx.node, 'smooth_softmax', 0) === 1, bias: ins[10] ?? null,
  };
}

const count = (dims: readonly number[]) => {
  let c = 1;
  for (let i = 0; i < dims.length; i++) c *= dims[i];
  return c;
};

/** the ValueInfo list gqaShape reads, made once per host step's input list (a decode step reuses its HostValues) */
const infoCache = new WeakMap<readonly (HostValue | null)[], (ValueInfo | null)[]>();
function infosOf(ins: readonly (HostValue | null)[]): (ValueInfo | null)[] {
  const c = infoCache.get(ins);
  if (c && c.length === ins.length && sameInfos(c, ins)) return c;
  const made = ins.map((v) => v && { type: v.type, dims: [...v.dims], value: v });
  infoCache.set(ins, made);
  return made;
}
function sameInfos(c: readonly (ValueInfo | null)[], ins: readonly (HostValue | null)[]): boolean {
  for (let i = 0; i < ins.length; i++) {
    const a = c[i], v = ins[i];
    if (!a || !v) {
      if (a !== v) return false;
      continue;
    }
    if (a.value !== v || a.type !== v.type || a.dims.length !== v.dims.length) return false;
    for (let j = 0; j < v.dims.length; j++) if (a.dims[j] !== v.dims[j]) return false;
  }
  return true;
}

/** Scratch for the new rows, by slot (Q, K, V), exact length; up to this many floats (a long prompt's rows are its own) */
const SCRATCH_MAX = 1 << 16;
const scratch = [new Float32Array(0), new Float32Array(0), new Float32Array(0)];
function rowsBuffer(slot: number, length: number, reuse: boolean): Float32Array {
  if (!reuse || length > SCRATCH_MAX) return new Float32Array(length);
  if (scratch[slot].length !== length) scratch[slot] = new Float32Array(length);
  return scratch[slot];
}

interface Rotation { ctx: OpContext; sp: GqaShape; starts: readonly number[]; cos: ArrayLike<number> | null; sin: ArrayLike<number> | null; interleaved: boolean }

/** `count` heads of each new row of x (row stride `stride`, from `off`) into out (B, S, count, H), rotated when `rotate`; every value written. */
function heads(r: Rotation, x: ArrayLike<number>, stride: number, off: number, count: number, rotate: boolean, out: Float32Array): Float32Array {
  const { b, s, h } = r.sp;
  for (let bi = 0; bi < b; bi++) for (let si = 0; si < s; si++) {
    const pos = r.sp.firstPrompt ? si : r.starts[bi] + si;
    if (rotate && !(Number.isInteger(pos) && pos >= 0 && pos < r.sp.cacheRows)) checkPosition(r.ctx, pos, r.sp.cacheRows, `rotary position of token ${si} in sequence ${bi}`);
    for (let hi = 0; hi < count; hi++) {
      const src = (bi * s + si) * stride + off + hi * h, dst = ((bi * s + si) * count + hi) * h;
      for (let j = 0; j < h; j++) out[dst + j] = x[src + j];
      if (rotate) rotateRow(x, src, out, dst, r.sp.rot, r.cos!, r.sin!, pos, r.interleaved);
    }
  }
  return out;
}

/** Present buffer o (1 key, 2 value) (B, kv_heads, present, H): the output when the node has it, the past's kept rows, the new rows, zeros after. */
function presentBuffer(ctx: OpContext, outs: HostValue[], o: number, sp: GqaShape, starts: readonly number[], past: ArrayLike<number> | undefined, rows: Float32Array): Float32Array {
  const { b, s, nk, h, p, present } = sp;
  const buf = ctx.node.outputs[o] ? (outs[o].data as Float32Array) : new Float32Array(b * nk * present * h);
  // block copies (a decode step moves the whole cache: element loops made it a fifth of the step)
  for (let bi = 0; bi < b; bi++) for (let ki = 0; ki < nk; ki++) {
    const base = (bi * nk + ki) * present * h, from = (bi * nk + ki) * p * h, keep = starts[bi] * h;
    if (past instanceof Float32Array && past.buffer === buf.buffer && past.byteOffset === buf.byteOffset && from === base) {
      // in place (OpDef.inPlace): the kept rows are where they are
    } else if (past instanceof Float32Array) buf.set(past.subarray(from, from + keep), base);
    else if (past) for (let i = 0; i < keep; i++) buf[base + i] = past[from + i];
    // the new rows: h values each, a loop (a subarray per row was a decode step's garbage)
    for (let si = 0; si < s; si++) {
      const src = ((bi * s + si) * nk + ki) * h, dst = base + (starts[bi] + si) * h;
      for (let j = 0; j < h; j++) buf[dst + j] = rows[src + j];
    }
    buf.fill(0, base + (starts[bi] + s) * h, base + present * h);
  }
  return buf;
}

/** The keys query row si of sequence bi sees: [lo, hi) (causal, local window). */
export function gqaRowKeys(g: GqaPrepared, bi: number, si: number): [number, number] {
  const hi = Math.min(g.starts[bi] + si + 1, g.seqlens[bi] + 1);
  return [g.window > 0 && hi > g.window ? hi - g.window : 0, hi];
}

let scores = new Float64Array(0);

/** Float attention of rows (bi, ni, si) for which `only` says yes (default all), into y (B, S, heads·H). */
export function gqaAttendFloat(g: GqaPrepared, y: { [i: number]: number }, only?: (bi: number, si: number) => boolean): void {
  const { b, s, n, nk, h, Q, K, V, present, bias: ab } = g;
  // every score attendRow reads it wrote first: one buffer serves every call (a very long one's is its own)
  if (scores.length < present && present <= SCRATCH_MAX) scores = new Float64Array(present);
  const buf = present <= SCRATCH_MAX ? scores : new Float64Array(present), group = n / nk;
  // head_sink: one more score per head in the softmax's denominator; smooth_softmax: a sink of 0
  for (let bi = 0; bi < b; bi++) for (let ni = 0; ni < n; ni++) for (let si = 0; si < s; si++) {
    if (only && !only(bi, si)) continue;
    // gqaRowKeys, without its array
    const hi = Math.min(g.starts[bi] + si + 1, g.seqlens[bi] + 1), lo = g.window > 0 && hi > g.window ? hi - g.window : 0;
    const kv = (bi * nk + Math.floor(ni / group)) * present * h;
    const abo = ab ? (((ab.dims[0] === 1 ? 0 : bi) * ab.dims[1] + (ab.dims[1] === 1 ? 0 : ni)) * s + si) * g.total : 0;
    const add = ab ? (t: number) => ab.data[abo + t] : null;
    attendRow(Q, ((bi * s + si) * n + ni) * h, K, kv, V, kv, h, h, lo, hi, g.scale, g.softcap, add, y, ((bi * s + si) * n + ni) * h, buf, g.sinks ? g.sinks[ni] : g.smooth ? 0 : null);
  }
}

export const MS_GQA_OPS: Record<string, OpDef> = { GroupQueryAttention: groupQueryAttentionDef };
