// quantizeModel's attention 'int8': com.microsoft MultiHeadAttention and GroupQueryAttention steps
// run on the int8 attention layer (src/layers/attention-int8.ts) instead of their float rows. The
// operators' own code prepares the inputs (shapes, biases, rotary, the present buffers); only the
// attention itself changes. Each node first observes (runs in float and records each kv head's K
// and V absmax over the calibration inputs), then freezes static K and V scales; Q keeps the layer's
// per-row scale (a decode step's row then quantizes as in a full recompute, and a prompt unlike the
// calibration ones cannot clip it).
//
// The KV cache: with static scales every key and value row quantizes the same at every step, so the
// present_key / present_value rows a step adds are written on the int8 grid (q · scale, float32):
// the next step's int8 pass reads them back exactly (nearest(q · s / s) = q), and what a decode step
// computes is what a full recompute computes. The cache stays float32 in the model's interface (the
// graph's past/present tensors are float32), int8-exact in content.
//
// Inputs the int8 path does not take run in float (attention_bias, softcap, local windows, sinks, a
// per-row mask, a key mask that is not a prefix, cross attention with unidirectional): `floatWhy`
// says so, and the compare report shows that node's error as it is.

import { ModelError, ValueRangeError } from '../errors.js';
import { attentionInt8 } from '../layers/attention-int8.js';
import type { Runtime } from '../runtime/runtime.js';
import type { GraphNode } from './graph.js';
import type { HostOp } from './model.js';
import { mhaAttendFloat, mhaPrepare, type MhaPrepared } from './ops/ms-attention-ops.js';
import { gqaAttendFloat, gqaPrepare, type GqaPrepared } from './ops/ms-gqa-ops.js';
import { attr, type HostValue, type OpContext } from './ops/types.js';

export type AttentionOp = 'MultiHeadAttention' | 'GroupQueryAttention';

/** Static scales, one per kv head: what a saved model keeps. */
export interface AttentionScales {
  k: number[];
  v: number[];
}

const OPS: readonly string[] = ['MultiHeadAttention', 'GroupQueryAttention'];

/** The attention operator a node is, or null. */
export function attentionOpOf(node: GraphNode): AttentionOp | null {
  return node.domain === 'com.microsoft' && OPS.includes(node.op) ? (node.op as AttentionOp) : null;
}

/** K and V heads of an attention node (MultiHeadAttention: num_heads). */
export function kvHeadsOf(node: GraphNode): number {
  return node.op === 'GroupQueryAttention' ? attr(node, 'kv_num_heads', 0) : attr(node, 'num_heads', 0);
}

const f = Math.fround;

/** x rounded to the int8 grid of `scale` in place (h values at `at`): as qs8_attn_quantize rounds, then times scale. */
function snapRow(x: Float32Array, at: number, h: number, scale: number): void {
  for (let j = at; j < at + h; j++) {
    const q = Math.max(-127, Math.min(127, roundEven(f(x[j] / scale))));
    x[j] = f(q * scale);
  }
}

function roundEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

function absmaxRows(x: Float32Array, at: number, rows: number, h: number): number {
  let m = 0;
  for (let i = at; i < at + rows * h; i++) m = Math.max(m, Math.abs(x[i]));
  return m;
}

export class AttentionInt8Op implements HostOp {
  readonly kind: string;
  readonly scheme = 'int8';
  /** until frozen: run in float and record K and V ranges */
  observing = true;
  private readonly kAbs: Float64Array;
  private readonly vAbs: Float64Array;
  scales: AttentionScales | null = null;
  /** the last reason a call of this node ran in float, if one did */
  floatWhy: string | null = null;

  constructor(private readonly rt: Runtime, readonly op: AttentionOp, readonly kvHeads: number) {
    this.kind = `${op} (int8)`;
    this.kAbs = new Float64Array(kvHeads);
    this.vAbs = new Float64Array(kvHeads);
  }

  /** the observed ranges frozen into scales (absmax widened by `margin` of itself, / 127) */
  freeze(margin = 0): void {
    const s = (a: Float64Array) => Array.from(a, (x) => (x > 0 ? f((x * (1 + margin)) / 127) : 1));
    this.freezeAt({ k: s(this.kAbs), v: s(this.vAbs) });
  }

  /** given scales (a saved file's): checked against the node's kv heads */
  freezeAt(scales: AttentionScales): void {
    for (const name of ['k', 'v'] as const) {
      const a = scales[name];
      if (!Array.isArray(a) || a.length !== this.kvHeads) throw new ValueRangeError(`${name} must hold ${this.kvHeads} scales (one per kv head), got ${Array.isArray(a) ? a.length : typeof a}`);
      a.forEach((x, i) => {
        if (typeof x !== 'number' || !Number.isFinite(x) || !(x > 0) || f(x) !== x) throw new ValueRangeError(`${name}[${i}] must be a float32 number > 0, got ${JSON.stringify(x)}`);
      });
    }
    this.scales = { k: [...scales.k], v: [...scales.v] };
    this.observing = false;
  }

  async compute(ctx: OpContext, ins: (HostValue | null)[], outs: HostValue[]): Promise<void> {
    // the rows snap to the int8 grid only where they leave as present outputs (the next step's past)
    const cached = !!ctx.node.outputs[1];
    if (this.op === 'GroupQueryAttention') return this.gqa(gqaPrepare(ctx, ins, outs), outs[0].data as Float32Array, cached);
    return this.mha(mhaPrepare(ctx, ins, outs), outs[0].data as Float32Array, cached);
  }

  private observe(x: Float32Array, into: Float64Array, kh: number, at: number, rows: number, h: number): void {
    into[kh] = Math.max(into[kh], absmaxRows(x, at, rows, h));
  }

  /** an array that an allocation cannot detach: a wasm memory view is copied unless the memory is shared */
  private stable(x: Float32Array): Float32Array {
    const buf = this.rt.memory.buffer;
    return x.buffer === buf && !(typeof SharedArrayBuffer !== 'undefined' && buf instanceof SharedArrayBuffer) ? x.slice() : x;
  }

  /** y again after the int8 call (a view of a grown, non-shared memory is detached) */
  private fresh(y: Float32Array, wasm: boolean, at: number, length: number): Float32Array {
    return wasm ? new Float32Array(this.rt.memory.buffer, at, length) : y;
  }

  private async gqa(g: GqaPrepared, y: Float32Array, cached: boolean): Promise<void> {
    const { b, s, n, nk, h, present, K, V } = g;
    const rowsOf = (bi: number) => g.seqlens[bi] + 1;
    if (this.observing) {
      for (let bi = 0; bi < b; bi++) for (let kh = 0; kh < nk; kh++) {
        const at = (bi * nk + kh) * present * h;
        this.observe(K, this.kAbs, kh, at, rowsOf(bi), h);
        this.observe(V, this.vAbs, kh, at, rowsOf(bi), h);
      }
      return gqaAttendFloat(g, y);
    }
    const why = g.bias ? 'attention_bias' : g.softcap > 0 ? 'softcap' : g.window > 0 ? 'local_window_size' : g.sinks ? 'head_sink' : g.smooth ? 'smooth_softmax' : null;
    if (why) {
      this.floatWhy = `${why} is not taken by the int8 attention`;
      return gqaAttendFloat(g, y);
    }
    const sc = this.scales!;
    // this step's rows onto the int8 grid: the next step's past reads them back exactly
    if (cached) for (let bi = 0; bi < b; bi++) for (let kh = 0; kh < nk; kh++) for (let si = 0; si < s; si++) {
      const at = ((bi * nk + kh) * present + g.starts[bi] + si) * h;
      snapRow(K, at, h, sc.k[kh]);
      snapRow(V, at, h, sc.v[kh]);
    }
    // a first prompt's padded rows (past seqlens_k) attend in float: onnxruntime leaves them undefined
    const real = Array.from({ length: b }, (_, bi) => Math.min(s, rowsOf(bi) - g.starts[bi]));
    const compact = real.some((r) => r !== s);
    const d = n * h, q = compact ? new Float32Array(real.reduce((a, r) => a + r, 0) * d) : g.Q;
    const offsets = [0];
    for (let bi = 0; bi < b; bi++) {
      if (compact) q.set(g.Q.subarray(bi * s * d, (bi * s + real[bi]) * d), offsets[bi] * d);
      offsets.push(offsets[bi] + real[bi]);
    }
    const wasm = y.buffer === this.rt.memory.buffer, at = y.byteOffset, len = y.length;
    const k = this.stable(K), v = this.stable(V);
    const r = await attentionInt8(this.rt, q, k, v, { heads: n, kvHeads: nk, causal: true, scale: g.scale, offsets, kvLengths: real.map((_, bi) => rowsOf(bi)), headSize: h, kvScales: sc });
    const out = this.fresh(y, wasm, at, len);
    for (let bi = 0; bi < b; bi++) out.set(r.output.subarray(offsets[bi] * d, offsets[bi + 1] * d), bi * s * d);
    if (compact) gqaAttendFloat({ ...g, K: k, V: v }, out, (bi, si) => si >= real[bi]);
  }

  private async mha(m: MhaPrepared, y: Float32Array, cached: boolean): Promise<void> {
    const { b, s, n, h, hv, l, p, t } = m.sp;
    if (this.observing) {
      for (let bi = 0; bi < b; bi++) for (let kh = 0; kh < n; kh++) {
        this.observe(m.K, this.kAbs, kh, (bi * n + kh) * t * h, t, h);
        this.observe(m.V, this.vAbs, kh, (bi * n + kh) * t * hv, t, hv);
      }
      return mhaAttendFloat(m, y);
    }
    const lengths = this.mhaLengths(m);
    if (typeof lengths === 'string') {
      this.floatWhy = `${lengths} is not taken by the int8 attention`;
      return mhaAttendFloat(m, y);
    }
    const sc = this.scales!;
    // this call's new rows of the present outputs onto the int8 grid (as GroupQueryAttention's)
    if (cached) for (let bi = 0; bi < b; bi++) for (let kh = 0; kh < n; kh++) for (let li = p; li < t; li++) {
      const at = ((bi * n + kh) * t + li) * h;
      snapRow(m.K, at, h, sc.k[kh]);
      snapRow(m.V, at, h, sc.v[kh]);
    }
    // Q token-major (B, S, N·H), as the layer takes it
    const d = n * h, q = new Float32Array(b * s * d);
    for (let bi = 0; bi < b; bi++) for (let ni = 0; ni < n; ni++) for (let si = 0; si < s; si++) {
      q.set(m.Q.subarray(((bi * n + ni) * s + si) * h, ((bi * n + ni) * s + si + 1) * h), (bi * s + si) * d + ni * h);
    }
    const wasm = y.buffer === this.rt.memory.buffer, at = y.byteOffset, len = y.length;
    const r = await attentionInt8(this.rt, q, this.stable(m.K), this.stable(m.V), {
      heads: n, causal: m.causal, scale: m.scale, offsets: Array.from({ length: b + 1 }, (_, i) => i * s), kvLengths: lengths, headSize: h, kvScales: sc,
    });
    this.fresh(y, wasm, at, len).set(r.output);
  }

  /** each sequence's visible keys (a prefix of its t), or what the int8 path does not take */
  private mhaLengths(m: MhaPrepared): number[] | string {
    const { b, s, h, hv, l, t, mask } = m.sp;
    if (m.bias) return 'attention_bias';
    if (mask === 'rows') return 'a per-row key_padding_mask';
    if (hv !== h) return 'a value head size unlike the key head size';
    if (m.causal && l !== s) return 'unidirectional cross attention';
    const lengths: number[] = [];
    for (let bi = 0; bi < b; bi++) {
      let len = t;
      if (mask === 'lengths') len = m.mask![bi];
      else if (mask === 'keys') {
        len = 0;
        while (len < t && m.mask![bi * t + len] > 0) len++;
        for (let i = len; i < t; i++) if (m.mask![bi * t + i] > 0) return 'a key_padding_mask that is not a prefix';
      }
      // every key masked: onnxruntime averages them all (mask_filter_value is finite)
      if (!(len >= 1 && len <= t)) return 'a sequence with every key masked';
      if (m.causal && len !== t) return 'unidirectional with a key_padding_mask';
      lengths.push(len);
    }
    return lengths;
  }
}

/** The int8 attention nodes of one quantized model: made as its plan reaches them, frozen after calibration. */
export class AttentionInt8Ops {
  readonly ops = new Map<GraphNode, AttentionInt8Op>();

  /** `restore`: a loaded model's hook that freezes each node at its saved scales as it is made */
  constructor(private readonly rt: Runtime, private readonly restore?: (node: GraphNode, op: AttentionInt8Op) => void) {}

  hostOp = (node: GraphNode): HostOp | null => {
    const known = this.ops.get(node);
    if (known) return known;
    const op = attentionOpOf(node);
    if (!op) return null;
    const heads = kvHeadsOf(node);
    if (!Number.isInteger(heads) || heads < 1) throw new ModelError(`attention 'int8': node '${node.name}' has no valid kv head count (${heads})`);
    const made = new AttentionInt8Op(this.rt, op, heads);
    this.restore?.(node, made);
    this.ops.set(node, made);
    return made;
  };

  freeze(margin = 0): void {
    for (const o of this.ops.values()) if (o.observing) o.freeze(margin);
  }
}
