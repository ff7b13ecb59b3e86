// qs8_attn: int8 attention rows of one (sequence, head), and the per-head quantization that feeds
// them. Wraps assembly/attention/qs8-attn.ts; the scalar references are in reference/qs8-attn.ts.
// Operands are already in linear memory (byte addresses): q, k, v (and k4) are rows of hp int8
// values, hp = the head size rounded up to 16 (qs8AttnRowBytes), zeros past the head size.
//
// Why not the qs8 GEMM: scores would go through memory as an S x T float matrix between two GEMMs,
// K would be packed (transposed) again at every decode step, and a GEMM tile ignores the per-row
// causal and padding limits. One fused row pass keeps a row of scores in cache and stops at the row's
// last visible key.

import { ShapeError, ValueRangeError } from '../errors.js';
import type { KernelHost } from '../runtime/host.js';
import { checkSizes } from './check.js';

/** Bytes of one int8 row of a head of h values (a multiple of 16, zeros past h). */
export function qs8AttnRowBytes(h: number): number {
  return Math.ceil(h / 16) * 16;
}

/** Longest key row (the int32 P·V sums: 255 · 127 · keys must stay below 2^31). */
export const QS8_ATTN_MAX_KEYS = 65536;

/** Longest head (the 4-bit approximate dot sums in int16 lanes in the baseline build). */
export const QS8_ATTN_MAX_HEAD = 2048;

export interface Qs8AttnRowsCall {
  /** query rows, head size, row bytes */
  m: number;
  h: number;
  hp: number;
  /** m int8 rows; m float32 score scales (query row scale · key scale · softmax scale) */
  q: number;
  qScale: number;
  /** key and value rows (at least the keys any row sees) */
  k: number;
  v: number;
  /** m int32: keys [0, his[i]) are visible to row i */
  his: number;
  /** every row computes n keys, masking those past his[i] (a padded batch); null: row i computes his[i] */
  n: number | null;
  vScale: number;
  /** longest key row of the call (sizes the scratch) */
  tmax: number;
  /** qs8AttnScratchBytes(tmax, hp) bytes */
  scratch: number;
  /** m rows of h float32, outStride bytes apart */
  out: number;
  outStride: number;
}

/** Pruned rows: also 4-bit queries (q4, int8 in [-7, 7]) with their scales, 4-bit keys stored + 8 (k4), and theta. */
export interface Qs8AttnPrunedCall extends Omit<Qs8AttnRowsCall, 'n'> {
  q4: number;
  q4Scale: number;
  k4: number;
  /** keep keys whose approximate score is within theta of the row's best (topk 0) */
  theta: number;
  /** > 0: keep instead the keys at or above the row's topk-th highest approximate score (ties at the boundary all kept) */
  topk?: number;
  /** m int32: how many keys each row kept */
  kept: number;
}

export function qs8AttnScratchBytes(tmax: number, hp: number): number {
  const t4 = (tmax + 7) & ~3;
  return t4 * 14 + hp * 2 + 64;
}

function checkRows(fn: string, c: Qs8AttnRowsCall | Qs8AttnPrunedCall): void {
  checkSizes(fn, { m: c.m, h: c.h, hp: c.hp, tmax: c.tmax, outStride: c.outStride });
  if (c.hp !== qs8AttnRowBytes(c.h)) throw new ShapeError(`${fn}: hp must be ${qs8AttnRowBytes(c.h)} for head size ${c.h}, got ${c.hp}`);
  if (c.h > QS8_ATTN_MAX_HEAD) throw new ShapeError(`${fn}: head size ${c.h} is above ${QS8_ATTN_MAX_HEAD}`);
  if (c.tmax > QS8_ATTN_MAX_KEYS) throw new ShapeError(`${fn}: ${c.tmax} keys is above ${QS8_ATTN_MAX_KEYS}`);
  if (c.outStride < c.h * 4) throw new ShapeError(`${fn}: outStride must be >= h*4 = ${c.h * 4}, got ${c.outStride}`);
}

/** Pieces a row split may make: one scratch each (what qs8AttnScratchCount says to allocate). */
export function qs8AttnScratchCount(threads: number): number {
  return threads > 1 ? threads * 4 : 1;
}

/**
 * Rows [0, m) split across threads (a piece's rows are whole rows: the same bits as one call), piece i
 * using `scratch + i * scratchStride`; `pieces` scratches (qs8AttnScratchCount) sit there. `work`
 * (multiply-adds) keeps small calls on this thread.
 */
function splitRows(rt: KernelHost, fn: string, m: number, pieces: number, work: number, call: (r0: number, r1: number, scratch: number) => Parameters<KernelHost['invoke']>[0], scratch: number, scratchStride: number): void {
  let i = 0;
  rt.parallelRowsNow(m, 2, (r0, r1) => {
    if (i >= pieces) throw new ShapeError(`${fn}: more row pieces than the ${pieces} scratches`);
    return call(r0, r1, scratch + i++ * scratchStride);
  }, 2, work);
}

/** The exact rows (see Qs8AttnRowsCall); with `pieces` scratches of `scratchStride` bytes, split across threads. */
export function qs8AttnRows(rt: KernelHost, c: Qs8AttnRowsCall, pieces = 1, scratchStride = 0): void {
  checkRows('qs8AttnRows', c);
  if (c.n !== null) checkSizes('qs8AttnRows', { n: c.n });
  if (c.n !== null && c.n > c.tmax) throw new ShapeError(`qs8AttnRows: n ${c.n} is above tmax ${c.tmax}`);
  const work = c.m * (c.n ?? c.tmax) * c.h * 2;
  splitRows(rt, 'qs8AttnRows', c.m, pieces, work, (r0, r1, scratch) => ['qs8_attn_rows', [r1 - r0, c.h, c.hp, c.q + r0 * c.hp, c.qScale + r0 * 4, c.k, c.v, c.n ?? 0, c.n === null ? 0 : 1, c.his + r0 * 4, c.vScale, c.tmax, scratch, c.out + r0 * c.outStride, c.outStride]], c.scratch, scratchStride);
}

/** The pruned rows (see Qs8AttnPrunedCall), split across threads as qs8AttnRows. */
export function qs8AttnRowsPruned(rt: KernelHost, c: Qs8AttnPrunedCall, pieces = 1, scratchStride = 0): void {
  checkRows('qs8AttnRowsPruned', c);
  if (!(c.theta >= 0)) throw new ValueRangeError(`qs8AttnRowsPruned: theta must be >= 0, got ${c.theta}`);
  const topk = c.topk ?? 0;
  if (!Number.isInteger(topk) || topk < 0 || topk > QS8_ATTN_MAX_KEYS) throw new ValueRangeError(`qs8AttnRowsPruned: topk must be an integer from 0 (threshold mode) to ${QS8_ATTN_MAX_KEYS}, got ${c.topk}`);
  const work = c.m * c.tmax * c.h;
  splitRows(rt, 'qs8AttnRowsPruned', c.m, pieces, work, (r0, r1, scratch) => ['qs8_attn_rows_pruned', [r1 - r0, c.h, c.hp, c.q + r0 * c.hp, c.qScale + r0 * 4, c.q4 + r0 * c.hp, c.q4Scale + r0 * 4, c.k, c.k4, c.v, c.his + r0 * 4, c.theta, topk, c.vScale, c.tmax, scratch, c.out + r0 * c.outStride, c.outStride, c.kept + r0 * 4]], c.scratch, scratchStride);
}

/** max |x| over m rows of h floats (xStride bytes apart): into out[i] per row, or out[0] for all. */
export function qs8AttnAbsmax(rt: KernelHost, m: number, h: number, x: number, xStride: number, perRow: boolean, out: number): void {
  checkSizes('qs8AttnAbsmax', { m, h, xStride });
  rt.kernels.qs8_attn_absmax(m, h, x, xStride, perRow ? 1 : 0, out);
}

/**
 * Rows of hp int8: clamp(nearest(x / scale), -qmax, qmax) + offset for j < h, zeros past h; the
 * scale per row (perRow) or scales[0]. qmax 127 for int8, 7 for the 4-bit approximate operands.
 */
export function qs8AttnQuantize(rt: KernelHost, m: number, h: number, x: number, xStride: number, scales: number, perRow: boolean, qmax: number, offset: number, out: number): void {
  checkSizes('qs8AttnQuantize', { m, h, xStride });
  if (qmax !== 127 && qmax !== 7) throw new ValueRangeError(`qs8AttnQuantize: qmax must be 127 or 7, got ${qmax}`);
  rt.kernels.qs8_attn_quantize(m, h, qs8AttnRowBytes(h), x, xStride, scales, perRow ? 1 : 0, qmax, offset, out);
}
