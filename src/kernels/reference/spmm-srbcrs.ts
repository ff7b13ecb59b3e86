// The SR-BCRS-like vector-row format of the spmm-srbcrs kernel (issue 16) as plain arrays, its
// encoder from a dense int8 matrix, and the scalar reference the kernel (assembly/sparse/spmm-srbcrs.ts)
// equals bit for bit. W is N x K (a row per output channel); a vector is 4 consecutive rows (one row
// block, N padded to 4) at one k. Each row block's vectors are in ascending k and their count is
// padded to SRBCRS_STRIDE with zero vectors at the last kept k (so the kernel has no remainder).

import { ShapeError } from '../../errors.js';

/** rows of W a vector spans (one row block) */
export const SRBCRS_V = 4;
/** the multiple of vectors each row block stores (the kernel's step) */
export const SRBCRS_STRIDE = 2;
/** the largest K: columns are uint16 (in the kernel and in saved files) */
export const SRBCRS_MAX_K = 65536;

export interface Srbcrs4Int8 {
  n: number;
  k: number;
  /** ceil(N / 4) + 1 offsets into cols (vectors), every difference a multiple of SRBCRS_STRIDE */
  vecPtr: Int32Array;
  /** k of each vector: ascending within a row block, padding repeating the last (uint16: K <= SRBCRS_MAX_K) */
  cols: Uint16Array;
  /** 4 per vector: rows 0..3 of the row block (rows past N are 0) */
  values: Int8Array;
}

function checkDense(q: Int8Array, n: number, k: number): void {
  for (const [name, v] of [['n', n], ['k', k]] as const) {
    if (!Number.isInteger(v) || v < 0) throw new ShapeError(`encodeSrbcrs4: ${name} must be an integer >= 0, got ${v}`);
  }
  if (k > SRBCRS_MAX_K) throw new ShapeError(`encodeSrbcrs4: k must be <= ${SRBCRS_MAX_K} (uint16 columns), got ${k}`);
  if (q.length !== n * k) throw new ShapeError(`encodeSrbcrs4: the weights have ${q.length} elements, expected n*k = ${n}*${k}`);
}

/** q (N x K) as vector rows: every 4x1 vector with a nonzero is stored, each row block padded to the stride. */
export function encodeSrbcrs4(q: Int8Array, n: number, k: number): Srbcrs4Int8 {
  checkDense(q, n, k);
  const nb = Math.ceil(n / SRBCRS_V);
  const vecPtr = new Int32Array(nb + 1), cols: number[] = [], values: number[] = [];
  for (let bi = 0; bi < nb; bi++) {
    const start = cols.length;
    for (let c = 0; c < k; c++) {
      const v = Array.from({ length: SRBCRS_V }, (_, r) => (bi * SRBCRS_V + r < n ? q[(bi * SRBCRS_V + r) * k + c] : 0));
      if (v.some((x) => x !== 0)) cols.push(c), values.push(...v);
    }
    while ((cols.length - start) % SRBCRS_STRIDE !== 0) cols.push(cols[cols.length - 1]), values.push(0, 0, 0, 0);
    vecPtr[bi + 1] = cols.length;
  }
  return { n, k, vecPtr, cols: Uint16Array.from(cols), values: Int8Array.from(values) };
}

/** sum over the stored vectors (padding included) of each row block, rows past N dropped, wrapping like int32 */
export function refSpmmSrbcrs4(a: ArrayLike<number>, m: number, za: number, w: Srbcrs4Int8): Int32Array {
  if (!Number.isInteger(m) || m < 0) throw new ShapeError(`refSpmmSrbcrs4: m must be an integer >= 0, got ${m}`);
  if (a.length !== m * w.k) throw new ShapeError(`refSpmmSrbcrs4: A has ${a.length} elements, expected m*k = ${m}*${w.k}`);
  const out = new Int32Array(m * w.n);
  for (let bi = 0; bi + 1 < w.vecPtr.length; bi++) {
    for (let r = 0; r < SRBCRS_V && bi * SRBCRS_V + r < w.n; r++) {
      const row = bi * SRBCRS_V + r;
      for (let i = 0; i < m; i++) {
        let s = 0;
        for (let v = w.vecPtr[bi]; v < w.vecPtr[bi + 1]; v++) s = (s + Math.imul(a[i * w.k + w.cols[v]] - za, w.values[v * SRBCRS_V + r])) | 0;
        out[i * w.n + row] = s;
      }
    }
  }
  return out;
}

/** The int8 weights as dense rows N x K. */
export function srbcrs4Dense(w: Srbcrs4Int8): Int8Array {
  const q = new Int8Array(w.n * w.k);
  for (let bi = 0; bi + 1 < w.vecPtr.length; bi++) {
    for (let v = w.vecPtr[bi]; v < w.vecPtr[bi + 1]; v++) {
      for (let r = 0; r < SRBCRS_V && bi * SRBCRS_V + r < w.n; r++) if (w.values[v * SRBCRS_V + r] !== 0) q[(bi * SRBCRS_V + r) * w.k + w.cols[v]] = w.values[v * SRBCRS_V + r];
    }
  }
  return q;
}
