// The shape of an attention call: which query rows and which key rows each sequence has, checked.
// Batches come in three layouts:
// - ragged (`offsets`): sequences packed one after another, B + 1 token offsets into q (and into k
//   and v, or `kvOffsets` when they differ, e.g. a prefix of cached keys); nothing is padded;
// - padded (`lengths`): B sequences of L rows each (L = rows / B), lengths[b] of them real; every
//   row and key is computed and padded keys are masked (the dense baseline);
// - cached keys (`kvLengths` with k and v as [B, kvHeads, rows, h], the KV cache's layout).
// A sequence's query rows are its last tokens: row i of a sequence with S queries and T keys sits
// at position T - S + i, and with `causal` sees keys [0, T - S + i].

import { ArgumentError, ShapeError, ValueRangeError } from '../errors.js';
import { QS8_ATTN_MAX_KEYS } from '../kernels/qs8-attn.js';

export interface AttentionInt8Options {
  /** query heads; kvHeads (default heads) divides it: head n reads kv head n / (heads / kvHeads) */
  heads: number;
  kvHeads?: number;
  causal?: boolean;
  /** score scale (default 1 / sqrt(head size)) */
  scale?: number;
  /** ragged batch: B + 1 non-decreasing token offsets into q, starting at 0 */
  offsets?: ArrayLike<number>;
  /** key offsets when keys differ from queries (default: offsets) */
  kvOffsets?: ArrayLike<number>;
  /** padded batch: B valid lengths of sequences padded to one length */
  lengths?: ArrayLike<number>;
  /** keys in the cache layout [B, kvHeads, rows, h], kvLengths[b] rows of sequence b valid */
  kvLengths?: ArrayLike<number>;
  /** head size: needed with lengths (a padded batch), checked when given otherwise */
  headSize?: number;
  /**
   * SPRINT pruning, one of: theta, keep keys whose 4-bit approximate score is within theta of the
   * row's best; topk, keep the keys at or above the row's topk-th highest approximate score (ties at
   * the boundary all kept, so a row may keep more)
   */
  prune?: { theta: number; topk?: undefined } | { topk: number; theta?: undefined };
  /**
   * static K and V scales, one per kv head (calibrated): keys and values quantize as
   * clamp(nearest(x / scale), ±127) instead of by each sequence's absmax, so a cached row quantizes the
   * same at every step (an int8 KV cache) and a decode step reads the int8 values a full recompute would
   */
  kvScales?: { k: ArrayLike<number>; v: ArrayLike<number> };
}

export interface AttentionPlan {
  heads: number; kvHeads: number; h: number; scale: number; causal: boolean;
  batch: number;
  /** query tokens in all */
  tokens: number;
  /** per sequence: first query token, query rows, key rows (valid), keys a row computes (padded: L) */
  qStart: number[]; qLen: number[]; kvLen: number[];
  padded: number | null;
  /** per sequence and kv head: float offset of key row 0, and the float stride between key rows */
  kvBase: (b: number, kh: number) => number;
  kvStride: number;
  /** key rows in all (sizes the int8 buffers) and where sequence b's rows start among them */
  kvTotal: number; kvRowStart: number[];
  /** pruning: theta (threshold mode, topk 0) or topk > 0; null: dense */
  theta: number | null;
  topk: number;
  kvScales: { k: Float32Array; v: Float32Array } | null;
}

function ints(name: string, a: ArrayLike<number>): number[] {
  const out = Array.from(a);
  out.forEach((x, i) => {
    if (!Number.isInteger(x) || x < 0) throw new ValueRangeError(`attention: ${name}[${i}] must be a non-negative integer, got ${x}`);
  });
  return out;
}

function offsetsOf(name: string, a: ArrayLike<number>, total: number): number[] {
  const o = ints(name, a);
  if (o.length < 2) throw new ShapeError(`attention: ${name} must hold B + 1 >= 2 offsets, got ${o.length}`);
  if (o[0] !== 0) throw new ValueRangeError(`attention: ${name}[0] must be 0, got ${o[0]}`);
  for (let i = 1; i < o.length; i++) if (o[i] < o[i - 1]) throw new ValueRangeError(`attention: ${name} must not decrease, got ${name}[${i - 1}] = ${o[i - 1]} > ${name}[${i}] = ${o[i]}`);
  if (o[o.length - 1] !== total) throw new ShapeError(`attention: ${name} ends at ${o[o.length - 1]}, but the tensor holds ${total} rows`);
  return o;
}

function pruneOf(p: AttentionInt8Options['prune']): { theta: number | null; topk: number } {
  if (p === undefined) return { theta: null, topk: 0 };
  if (!p || typeof p !== 'object' || (p.theta === undefined) === (p.topk === undefined)) throw new ArgumentError('attention: prune must give exactly one of theta (a threshold) and topk (keys per row)');
  if (p.topk !== undefined) {
    if (!Number.isInteger(p.topk) || p.topk < 1 || p.topk > QS8_ATTN_MAX_KEYS) throw new ValueRangeError(`attention: prune.topk must be an integer from 1 to ${QS8_ATTN_MAX_KEYS}, got ${p.topk}`);
    return { theta: 0, topk: p.topk };
  }
  if (!(p.theta! >= 0)) throw new ValueRangeError(`attention: prune.theta must be >= 0, got ${p.theta}`);
  return { theta: p.theta!, topk: 0 };
}

function staticScales(s: { k: ArrayLike<number>; v: ArrayLike<number> }, kvHeads: number): { k: Float32Array; v: Float32Array } {
  if (!s || typeof s !== 'object') throw new ArgumentError('attention: kvScales must be { k, v }, one scale per kv head each');
  const one = (name: 'k' | 'v') => {
    const a = s[name];
    if (!a || typeof a.length !== 'number' || a.length !== kvHeads) throw new ShapeError(`attention: kvScales.${name} must hold ${kvHeads} scales (one per kv head), got ${a && typeof a.length === 'number' ? a.length : String(a)}`);
    const out = Float32Array.from(a);
    out.forEach((x, i) => {
      if (!(Number.isFinite(x) && x > 0)) throw new ValueRangeError(`attention: kvScales.${name}[${i}] must be a finite number > 0, got ${a[i]}`);
    });
    return out;
  };
  return { k: one('k'), v: one('v') };
}

export function planAttention(q: Float32Array, k: Float32Array, v: Float32Array, o: AttentionInt8Options): AttentionPlan {
  const heads = o.heads, kvHeads = o.kvHeads ?? heads;
  if (!Number.isInteger(heads) || heads < 1) throw new ArgumentError(`attention: heads must be a positive integer, got ${heads}`);
  if (!Number.isInteger(kvHeads) || kvHeads < 1 || heads % kvHeads !== 0) throw new ArgumentError(`attention: kvHeads must be a positive divisor of heads ${heads}, got ${kvHeads}`);
  for (const [name, x] of [['q', q], ['k', k], ['v', v]] as const) if (!(x instanceof Float32Array)) throw new ArgumentError(`attention: ${name} must be a Float32Array`);
  const layouts = [o.offsets, o.lengths].filter((x) => x !== undefined).length;
  if (layouts !== 1) throw new ArgumentError('attention: give exactly one of offsets (ragged batch) and lengths (padded batch)');
  if (o.kvLengths && o.lengths) throw new ArgumentError('attention: kvLengths (cached keys) goes with offsets, not lengths');
  const { theta, topk } = pruneOf(o.prune);
  const scaleOf = (h: number) => o.scale ?? Math.fround(1 / Math.sqrt(h));
  if (o.scale !== undefined && !Number.isFinite(o.scale)) throw new ValueRangeError(`attention: scale must be finite, got ${o.scale}`);
  const causal = o.causal ?? false;
  const kvScales = o.kvScales === undefined ? null : staticScales(o.kvScales, kvHeads);

  if (o.lengths) {
    const lengths = ints('lengths', o.lengths), b = lengths.length;
    if (b < 1) throw new ShapeError('attention: lengths must name at least one sequence');
    const h = o.headSize;
    if (h === undefined || !Number.isInteger(h) || h < 1) throw new ArgumentError(`attention: headSize must be a positive integer with lengths (a padded batch), got ${h}`);
    const padded = q.length / (b * heads * h);
    if (!Number.isInteger(padded)) throw new ShapeError(`attention: q holds ${q.length} values, not ${b} padded sequences (lengths) of heads ${heads} x headSize ${h}`);
    if (k.length !== b * padded * kvHeads * h || v.length !== k.length) throw new ShapeError(`attention: k and v must be [${b * padded}, ${kvHeads * h}] (${b * padded * kvHeads * h} values), got ${k.length} and ${v.length}`);
    for (let i = 0; i < b; i++) if (lengths[i] > padded) throw new ValueRangeError(`attention: lengths[${i}] = ${lengths[i]} is above the padded length ${padded}`);
    return {
      heads, kvHeads, h, scale: scaleOf(h), causal, batch: b, tokens: b * padded,
      qStart: lengths.map((_, i) => i * padded), qLen: lengths.map(() => padded), kvLen: lengths, padded,
      kvBase: (bi, kh) => bi * padded * kvHeads * h + kh * h, kvStride: kvHeads * h,
      kvTotal: b * padded, kvRowStart: lengths.map((_, i) => i * padded), theta, topk, kvScales,
    };
  }

  const off = Array.from(o.offsets!);
  const b = off.length - 1;
  // h from q: tokens * heads * h values
  const tokens = off[off.length - 1];
  if (!Number.isInteger(tokens) || tokens < 0) throw new ValueRangeError(`attention: offsets must end at the query token count, got ${tokens}`);
  if (tokens === 0 && q.length !== 0) throw new ShapeError(`attention: offsets hold no query token, but q holds ${q.length} values`);
  // no query rows: the head size from headSize (1 when not given), for checking k and v
  const h = tokens > 0 ? q.length / (tokens * heads) : (o.headSize ?? 1);
  if (o.headSize !== undefined && tokens > 0 && h !== o.headSize) throw new ShapeError(`attention: q holds ${q.length} values: offsets' ${tokens} tokens of heads ${heads} x headSize ${o.headSize} would be ${tokens * heads * o.headSize}`);
  if (tokens > 0 && (!Number.isInteger(h) || h < 1)) throw new ShapeError(`attention: q holds ${q.length} values, not offsets' ${tokens} tokens of heads ${heads} times a head size`);
  const qOff = offsetsOf('offsets', off, tokens);
  const qLen = qOff.slice(1).map((x, i) => x - qOff[i]);
  let kvLen: number[], kvBase: AttentionPlan['kvBase'], kvStride: number, kvRowStart: number[];
  if (o.kvLengths) {
    kvLen = ints('kvLengths', o.kvLengths);
    if (kvLen.length !== b) throw new ShapeError(`attention: kvLengths must hold ${b} lengths (one per sequence of offsets), got ${kvLen.length}`);
    const rows = k.length / (b * kvHeads * h);
    if (!Number.isInteger(rows) || v.length !== k.length) throw new ShapeError(`attention: k and v in the cache layout must be [${b}, ${kvHeads}, rows, ${h}], got ${k.length} and ${v.length} values`);
    kvLen.forEach((t, i) => { if (t > rows) throw new ValueRangeError(`attention: kvLengths[${i}] = ${t} is above the cache's ${rows} rows`); });
    kvBase = (bi, kh) => (bi * kvHeads + kh) * rows * h;
    kvStride = h;
  } else {
    const kvOff = o.kvOffsets ? offsetsOf('kvOffsets', o.kvOffsets, k.length / (kvHeads * h)) : qOff;
    if (o.kvOffsets && kvOff.length !== qOff.length) throw new ShapeError(`attention: kvOffsets must hold ${qOff.length} offsets like offsets, got ${kvOff.length}`);
    const kvTokens = kvOff[kvOff.length - 1];
    if (k.length !== kvTokens * kvHeads * h || v.length !== k.length) throw new ShapeError(`attention: k and v must be [${kvTokens}, ${kvHeads * h}] (${kvTokens * kvHeads * h} values), got ${k.length} and ${v.length}`);
    kvLen = kvOff.slice(1).map((x, i) => x - kvOff[i]);
    kvBase = (bi, kh) => kvOff[bi] * kvHeads * h + kh * h;
    kvStride = kvHeads * h;
  }
  // causal rows sit at the last keys' positions; without causal any number of queries may see the keys
  if (causal) for (let i = 0; i < b; i++) if (qLen[i] > kvLen[i]) throw new ValueRangeError(`attention: sequence ${i} has ${qLen[i]} queries but ${kvLen[i]} keys (the queries are the last keys' positions)`);
  kvRowStart = [];
  let total = 0;
  for (const t of kvLen) { kvRowStart.push(total); total += t; }
  return {
    heads, kvHeads, h, scale: scaleOf(h), causal, batch: b, tokens,
    qStart: qOff.slice(0, b), qLen, kvLen, padded: null, kvBase, kvStride, kvTotal: total, kvRowStart, theta, topk, kvScales,
  };
}
