// The int8 attention layer: per-head dynamic quantization of Q (per row), K and V (per sequence and
// kv head, over its valid rows), then the qs8_attn rows kernel per (sequence, head): int8 QKᵀ, float
// softmax, 7-bit probabilities times int8 V, float out. A ragged batch computes only real rows and
// keys; a padded batch (the dense baseline) computes every row and key and masks the padded keys,
// with the same bits on the real rows. With `prune`, keys are first scored with 4-bit Q and K and
// only those within theta of a row's best approximate score (or its top k) are scored exactly (SPRINT). With
// `kvScales` (calibrated, per kv head) K and V quantize by those instead: an int8 KV cache.

import { ValueRangeError } from '../errors.js';
import { qs8AttnAbsmax, qs8AttnQuantize, qs8AttnRowBytes, qs8AttnRows, qs8AttnRowsPruned, qs8AttnScratchBytes, qs8AttnScratchCount } from '../kernels/qs8-attn.js';
import { hasNonFinite } from '../kernels/q8.js';
import type { KernelHost } from '../runtime/host.js';
import { planAttention, type AttentionInt8Options, type AttentionPlan } from './attention-shape.js';

export type { AttentionInt8Options } from './attention-shape.js';

export interface AttentionInt8Result {
  /** [query tokens, heads * headSize] */
  output: Float32Array;
  dims: [number, number];
  /** with prune: the fraction of visible (query, key) pairs whose exact score was skipped */
  skipped?: number;
}

const f = Math.fround;
/** a scale from an absmax: absmax / qmax, 1 for an all-zero block (its values quantize to 0 either way) */
const scaleOf = (a: number, qmax: number) => (a > 0 ? f(a / qmax) : 1);

export async function attentionInt8(rt: KernelHost, q: Float32Array, k: Float32Array, v: Float32Array, options: AttentionInt8Options): Promise<AttentionInt8Result> {
  rt.check();
  const p = planAttention(q, k, v, options);
  const { heads, kvHeads, h, batch, tokens } = p;
  const hp = qs8AttnRowBytes(h), group = heads / kvHeads;
  const output = new Float32Array(tokens * heads * h);
  if (tokens === 0) return { output, dims: [0, heads * h], skipped: p.theta === null ? undefined : 0 };
  const prune = p.theta !== null;
  const tmax = p.padded ?? Math.max(...p.kvLen, 1);
  return rt.scoped((alloc) => {
    // every allocation first: an allocation may grow (and detach) a non-shared memory
    const px = alloc(q.length * 4), pk = alloc(k.length * 4), pv = alloc(v.length * 4);
    const q8 = alloc(heads * tokens * hp), qAbs = alloc(heads * tokens * 4), qS = alloc(heads * tokens * 4);
    const k8 = alloc(kvHeads * p.kvTotal * hp), v8 = alloc(kvHeads * p.kvTotal * hp);
    const q4 = prune ? alloc(heads * tokens * hp) : 0, q4S = prune ? alloc(heads * tokens * 4) : 0;
    const k4 = prune ? alloc(kvHeads * p.kvTotal * hp) : 0, kept = prune ? alloc(heads * tokens * 4) : 0;
    const blockAbs = alloc(16), blockS = alloc(16);
    // one scratch per piece of rows a thread may take
    const pieces = qs8AttnScratchCount(rt.features.threads), stride = Math.ceil(qs8AttnScratchBytes(tmax, hp) / 64) * 64;
    const his = alloc(tokens * 4), scratch = alloc(pieces * stride), out = alloc(output.length * 4);
    rt.view(Float32Array, px, q.length).set(q);
    rt.view(Float32Array, pk, k.length).set(k);
    rt.view(Float32Array, pv, v.length).set(v);
    for (const [name, ptr, n] of [['q', px, q.length], ['k', pk, k.length], ['v', pv, v.length]] as const) {
      if (hasNonFinite(rt, ptr, n)) throw new ValueRangeError(`attention: ${name} contains NaN or Infinity`);
    }
    const qStride = heads * h * 4;
    // Q: one scale per row of each head (a decode step's row then quantizes as in a full recompute)
    for (let n = 0; n < heads; n++) qs8AttnAbsmax(rt, tokens, h, px + n * h * 4, qStride, true, qAbs + n * tokens * 4);
    const abs = rt.read(Float32Array, qAbs, heads * tokens);
    const s8 = abs.map((a) => scaleOf(a, 127)), s4 = prune ? abs.map((a) => scaleOf(a, 7)) : null;
    rt.view(Float32Array, qS, heads * tokens).set(s8);
    if (s4) rt.view(Float32Array, q4S, heads * tokens).set(s4);
    for (let n = 0; n < heads; n++) {
      qs8AttnQuantize(rt, tokens, h, px + n * h * 4, qStride, qS + n * tokens * 4, true, 127, 0, q8 + n * tokens * hp);
      if (s4) qs8AttnQuantize(rt, tokens, h, px + n * h * 4, qStride, q4S + n * tokens * 4, true, 7, 0, q4 + n * tokens * hp);
    }
    // K and V: one scale per (sequence, kv head) from its valid rows; all its rows quantized
    const kS = new Float32Array(batch * kvHeads), vS = new Float32Array(batch * kvHeads), k4S = new Float32Array(batch * kvHeads);
    const rowsOf = (b: number) => p.padded ?? p.kvLen[b];
    for (let b = 0; b < batch; b++) for (let kh = 0; kh < kvHeads; kh++) {
      const base = p.kvBase(b, kh) * 4, stride = p.kvStride * 4, dst = (kh * p.kvTotal + p.kvRowStart[b]) * hp;
      const block = (src: number, qmax: number, offset: number, into: number, fixed?: number): number => {
        if (fixed === undefined) qs8AttnAbsmax(rt, p.kvLen[b], h, src + base, stride, false, blockAbs);
        const s = fixed ?? scaleOf(rt.view(Float32Array, blockAbs, 1)[0], qmax);
        rt.view(Float32Array, blockS, 1)[0] = s;
        qs8AttnQuantize(rt, rowsOf(b), h, src + base, stride, blockS, false, qmax, offset, into + dst);
        return s;
      };
      kS[b * kvHeads + kh] = block(pk, 127, 0, k8, p.kvScales?.k[kh]);
      vS[b * kvHeads + kh] = block(pv, 127, 0, v8, p.kvScales?.v[kh]);
      if (prune) k4S[b * kvHeads + kh] = block(pk, 7, 8, k4);
    }
    // visible keys per query row (causal: up to its own position)
    const hisV = new Int32Array(tokens);
    for (let b = 0; b < batch; b++) {
      const past = p.padded === null ? p.kvLen[b] - p.qLen[b] : 0;
      for (let i = 0; i < p.qLen[b]; i++) hisV[p.qStart[b] + i] = p.causal ? Math.min(past + i + 1, p.kvLen[b]) : p.kvLen[b];
    }
    rt.view(Int32Array, his, tokens).set(hisV);
    // score scales per (head, row): query row scale * key scale * softmax scale, in float32
    const rowScales = (s: Float32Array, key: Float32Array, into: number) => {
      const all = new Float32Array(heads * tokens);
      for (let n = 0; n < heads; n++) for (let b = 0; b < batch; b++) {
        const ks = key[b * kvHeads + Math.floor(n / group)];
        for (let i = p.qStart[b]; i < p.qStart[b] + p.qLen[b]; i++) all[n * tokens + i] = f(f(s[n * tokens + i] * ks) * p.scale);
      }
      rt.view(Float32Array, into, all.length).set(all);
    };
    rowScales(s8, kS, qS);
    if (s4) rowScales(s4, k4S, q4S);
    for (let b = 0; b < batch; b++) for (let n = 0; n < heads; n++) {
      const kh = Math.floor(n / group), m = p.qLen[b], r0 = p.qStart[b];
      if (m === 0) continue;
      const kv = (kh * p.kvTotal + p.kvRowStart[b]) * hp;
      const common = {
        m, h, hp, q: q8 + (n * tokens + r0) * hp, qScale: qS + (n * tokens + r0) * 4, k: k8 + kv, v: v8 + kv, his: his + r0 * 4,
        vScale: vS[b * kvHeads + kh], tmax, scratch, out: out + (r0 * heads + n) * h * 4, outStride: qStride,
      };
      if (prune) {
        qs8AttnRowsPruned(rt, { ...common, q4: q4 + (n * tokens + r0) * hp, q4Scale: q4S + (n * tokens + r0) * 4, k4: k4 + kv, theta: p.theta!, topk: p.topk, kept: kept + (n * tokens + r0) * 4 }, pieces, stride);
      } else {
        qs8AttnRows(rt, { ...common, n: p.padded }, pieces, stride);
      }
    }
    output.set(rt.view(Float32Array, out, output.length));
    const result: AttentionInt8Result = { output, dims: [tokens, heads * h] };
    if (prune) result.skipped = skippedFraction(rt.read(Int32Array, kept, heads * tokens), hisV, heads, p);
    return result;
  });
}

/** 1 - kept / visible over every (head, query row). */
function skippedFraction(kept: Int32Array, his: Int32Array, heads: number, p: AttentionPlan): number {
  let k = 0, visible = 0;
  for (let n = 0; n < heads; n++) for (let i = 0; i < p.tokens; i++) {
    k += kept[n * p.tokens + i];
    visible += his[i];
  }
  return visible > 0 ? 1 - k / visible : 0;
}
