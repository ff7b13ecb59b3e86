// Scalar references of the qs8_attn kernels (assembly/attention/qs8-attn.ts): the same float32
// operations in the same order, so the kernels equal them bit for bit.

import { roundHalfEven } from '../../quant/rounding.js';

const f = Math.fround;

/** util/act.ts's vexp, one lane (clamped to [-87, 88], degree-7 polynomial, float32 steps). */
export function refExpF32(x: number): number {
  const xc = Math.min(Math.max(x, -87), 88);
  const n = roundHalfEven(f(xc * f(1.4426950408889634)));
  let r = f(xc - f(n * f(0.693145751953125)));
  r = f(r - f(n * f(1.428606765330187e-6)));
  const c = [1.984127e-4, 1.3888889e-3, 8.3333333e-3, 4.1666667e-2, 1.6666667e-1, 0.5, 1.0, 1.0];
  let p = f(c[0]);
  for (let i = 1; i < c.length; i++) p = f(f(p * r) + f(c[i]));
  return f(p * 2 ** n);
}

/** qs8_attn_quantize for one row: hp int8 values. */
export function refQs8AttnQuantizeRow(x: ArrayLike<number>, xo: number, h: number, hp: number, scale: number, qmax: number, offset: number): Int8Array {
  const out = new Int8Array(hp);
  for (let j = 0; j < h; j++) out[j] = Math.min(Math.max(roundHalfEven(f(x[xo + j] / scale)), -qmax), qmax) + offset;
  return out;
}

export interface RefQs8AttnRows {
  m: number; h: number; hp: number;
  /** m * hp int8 */ q: Int8Array;
  qScale: ArrayLike<number>;
  /** keys * hp int8 */ k: Int8Array; v: Int8Array;
  his: ArrayLike<number>;
  /** keys every row computes (a padded batch), or null */
  n: number | null;
  vScale: number;
}

/** softmax of scores (masked -inf past `valid`, padded to 4) into p, in the kernel's lane order; returns Σ e. */
function softmaxToP(sc: Float32Array, n4: number, p: Int32Array): number {
  let m = -Infinity;
  for (let t = 0; t < n4; t++) m = Math.max(m, sc[t]);
  const lanes = [0, 0, 0, 0];
  for (let t = 0; t < n4; t++) {
    const e = sc[t] === -Infinity ? 0 : refExpF32(f(sc[t] - m));
    lanes[t & 3] = f(lanes[t & 3] + e);
    p[t] = roundHalfEven(f(e * 127));
  }
  return f(f(lanes[0] + lanes[1]) + f(lanes[2] + lanes[3]));
}

function dot(q: Int8Array, qo: number, k: Int8Array, ko: number, hp: number): number {
  let s = 0;
  for (let j = 0; j < hp; j++) s += q[qo + j] * k[ko + j];
  return s;
}

/** out rows = what qs8_attn_rows writes for the keys `rows` (per query row), with `valid` visible. */
function attendKeys(r: Omit<RefQs8AttnRows, 'n'>, i: number, rows: number[], valid: number, out: Float32Array): void {
  const { h, hp } = r;
  const n4 = (rows.length + 3) & ~3;
  const sc = new Float32Array(n4).fill(-Infinity), p = new Int32Array(n4);
  rows.forEach((row, u) => {
    if (u < valid) sc[u] = f(f(dot(r.q, i * hp, r.k, row * hp, hp)) * f(r.qScale[i]));
  });
  const s = softmaxToP(sc, n4, p);
  const c = f(f(r.vScale) / f(s * 127));
  for (let j = 0; j < h; j++) {
    let acc = 0;
    rows.forEach((row, u) => { acc += p[u] * r.v[row * hp + j]; });
    out[i * h + j] = f(f(acc) * c);
  }
}

/** qs8_attn_rows: m rows of h floats. */
export function refQs8AttnRows(r: RefQs8AttnRows): Float32Array {
  const out = new Float32Array(r.m * r.h);
  for (let i = 0; i < r.m; i++) {
    const valid = r.his[i], cnt = r.n ?? valid;
    if (valid <= 0 || cnt <= 0) continue;
    attendKeys(r, i, Array.from({ length: cnt }, (_, t) => t), valid, out);
  }
  return out;
}

export interface RefQs8AttnPruned extends Omit<RefQs8AttnRows, 'n'> {
  q4: Int8Array; q4Scale: ArrayLike<number>; k4: Int8Array; theta: number;
  /** > 0: keep the keys at or above the topk-th highest approximate score */
  topk?: number;
}

/** qs8_attn_rows_pruned: the output rows and how many keys each row kept. */
export function refQs8AttnRowsPruned(r: RefQs8AttnPruned): { out: Float32Array; kept: Int32Array } {
  const { m, h, hp } = r;
  const out = new Float32Array(m * h), kept = new Int32Array(m);
  for (let i = 0; i < m; i++) {
    const valid = r.his[i];
    if (valid <= 0) continue;
    let qsum = 0;
    for (let j = 0; j < hp; j++) qsum += r.q4[i * hp + j];
    const approx = Array.from({ length: valid }, (_, t) => f(f(dot(r.q4, i * hp, r.k4, t * hp, hp) - 8 * qsum) * f(r.q4Scale[i])));
    const topk = r.topk ?? 0;
    const thr = topk <= 0 ? f(Math.max(...approx) - r.theta) : topk >= valid ? -Infinity : [...approx].sort((a, b) => b - a)[topk - 1];
    const rows = approx.flatMap((a, t) => (a >= thr ? [t] : []));
    kept[i] = rows.length;
    attendKeys(r, i, rows, rows.length, out);
  }
  return { out, kept };
}
