// The sparse int8 weight formats of the SpMM kernels (issue 16) as plain arrays, their encoders from
// a dense int8 matrix, and the scalar references the kernels (assembly/sparse/*) equal bit for bit.
// W is N x K (a row per output channel, K the reduction axis), A is M x K; every reference computes
// out[m][n] = sum_k (A[m][k] - za) * W[n][k] over the stored entries, wrapping like int32, straight
// from the format's own arrays (so a wrong encoder and a wrong kernel cannot agree by accident).

import { ShapeError, ValueRangeError } from '../../errors.js';

/** CSR: the nonzeros of each row, in column order. */
export interface CsrInt8 {
  n: number;
  k: number;
  /** N + 1 offsets into cols/values */
  rowPtr: Int32Array;
  cols: Int32Array;
  values: Int8Array;
}

/** 2:4: per row, kg = ceil(K / 4) groups of two values at positions i1 < i2 (padding past K is 0). */
export interface Nm24Int8 {
  n: number;
  k: number;
  /** N x kg x 2 */
  values: Int8Array;
  /** N x ceil(kg / 2) bytes, one nibble i1 | i2 << 2 per group, low nibble first */
  meta: Uint8Array;
}

/** Block-sparse rows of 4 x 4 blocks (4 rows of W x 4 consecutive k); N and K padded to 4. */
export interface Bsr4Int8 {
  n: number;
  k: number;
  /** ceil(N / 4) + 1 offsets into cols (blocks) */
  blockPtr: Int32Array;
  /** block column (k / 4) of each block */
  cols: Int32Array;
  /** 16 per block, row-major within the block */
  values: Int8Array;
}

/**
 * Block-sparse rows of 4 x 4 blocks of int4 values (int4-sparse): Bsr4Int8's block structure, 8
 * bytes per block: byte i = v[i] & 15 | (v[i + 8] & 15) << 4, v the block's 16 values row-major
 * (rows 0-1 in the low nibbles, rows 2-3 in the high ones), two's complement in [-8, 7].
 */
export interface Bsr4Int4 {
  n: number;
  k: number;
  blockPtr: Int32Array;
  cols: Int32Array;
  /** 8 per block */
  nibbles: Uint8Array;
  /**
   * per-block int4 scales: block b's values are its codes times subs[b] (an integer in [1, 63], a
   * multiplier of the row scales), so the sums stay exact int32; absent: codes only (per-row scales)
   */
  subs?: Uint8Array;
}

/** the largest per-block multiplier of Bsr4Int4.subs (|code * sub| <= 8 * 63 fits int16) */
export const BSR4_SUB_MAX = 63;

function checkDense(fn: string, q: Int8Array, n: number, k: number): void {
  for (const [name, v] of [['n', n], ['k', k]] as const) {
    if (!Number.isInteger(v) || v < 0) throw new ShapeError(`${fn}: ${name} must be an integer >= 0, got ${v}`);
  }
  if (q.length !== n * k) throw new ShapeError(`${fn}: the weights have ${q.length} elements, expected n*k = ${n}*${k}`);
}

/** The nonzeros of q (N x K) as CSR. */
export function encodeCsr(q: Int8Array, n: number, k: number): CsrInt8 {
  checkDense('encodeCsr', q, n, k);
  let nnz = 0;
  for (let i = 0; i < q.length; i++) if (q[i] !== 0) nnz++;
  const rowPtr = new Int32Array(n + 1), cols = new Int32Array(nnz), values = new Int8Array(nnz);
  let p = 0;
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < k; c++) {
      if (q[r * k + c] !== 0) (cols[p] = c), (values[p++] = q[r * k + c]);
    }
    rowPtr[r + 1] = p;
  }
  return { n, k, rowPtr, cols, values };
}

/** q (N x K) as 2:4; throws ValueRangeError when a group of 4 along K has more than 2 nonzeros. */
export function encodeNm24(q: Int8Array, n: number, k: number): Nm24Int8 {
  checkDense('encodeNm24', q, n, k);
  const kg = Math.ceil(k / 4), mb = Math.ceil(kg / 2);
  const values = new Int8Array(n * kg * 2), meta = new Uint8Array(n * mb);
  for (let r = 0; r < n; r++) {
    for (let g = 0; g < kg; g++) {
      const at: number[] = [];
      for (let i = 0; i < 4 && g * 4 + i < k; i++) if (q[r * k + g * 4 + i] !== 0) at.push(i);
      if (at.length > 2) throw new ValueRangeError(`encodeNm24: row ${r}, k ${g * 4}..${g * 4 + 3} has ${at.length} nonzeros, 2:4 allows 2`);
      // fill up to two distinct positions with zeros: (0, 1), or the free one next to a single value
      if (at.length === 0) at.push(0, 1);
      else if (at.length === 1) at.push(at[0] === 3 ? 2 : at[0] + 1), at.sort();
      const [i1, i2] = at;
      values[(r * kg + g) * 2] = g * 4 + i1 < k ? q[r * k + g * 4 + i1] : 0;
      values[(r * kg + g) * 2 + 1] = g * 4 + i2 < k ? q[r * k + g * 4 + i2] : 0;
      meta[r * mb + (g >> 1)] |= (i1 | (i2 << 2)) << ((g & 1) * 4);
    }
  }
  return { n, k, values, meta };
}

/** q (N x K) as block-sparse rows of 4 x 4 blocks: every block with a nonzero is stored. */
export function encodeBsr4(q: Int8Array, n: number, k: number): Bsr4Int8 {
  checkDense('encodeBsr4', q, n, k);
  const nb = Math.ceil(n / 4), kb = Math.ceil(k / 4);
  const at = (r: number, c: number) => (r < n && c < k ? q[r * k + c] : 0);
  const blockPtr = new Int32Array(nb + 1), cols: number[] = [], values: number[] = [];
  for (let bi = 0; bi < nb; bi++) {
    for (let bc = 0; bc < kb; bc++) {
      const block = Array.from({ length: 16 }, (_, i) => at(bi * 4 + (i >> 2), bc * 4 + (i & 3)));
      if (block.some((v) => v !== 0)) cols.push(bc), values.push(...block);
    }
    blockPtr[bi + 1] = cols.length;
  }
  return { n, k, blockPtr, cols: Int32Array.from(cols), values: Int8Array.from(values) };
}

/**
 * q (N x K, codes in [-8, 7]) as 4 x 4 blocks of int4: every block with a nonzero is stored. With
 * `blockSubs` (ceil(N/4) x ceil(K/4), block row-major, each in [1, 63]) the stored blocks keep theirs.
 */
export function encodeBsr4Int4(q: Int8Array, n: number, k: number, blockSubs?: Uint8Array): Bsr4Int4 {
  const bad = q.findIndex((v) => v < -8 || v > 7);
  if (bad >= 0) throw new ValueRangeError(`encodeBsr4Int4: q[${bad}] = ${q[bad]}, expected int4 codes in [-8, 7]`);
  const { blockPtr, cols, values } = encodeBsr4(q, n, k);
  const nibbles = new Uint8Array(cols.length * 8);
  for (let b = 0; b < cols.length; b++) for (let i = 0; i < 8; i++) nibbles[b * 8 + i] = (values[b * 16 + i] & 15) | ((values[b * 16 + i + 8] & 15) << 4);
  if (!blockSubs) return { n, k, blockPtr, cols, nibbles };
  const kb = Math.ceil(k / 4);
  if (blockSubs.length !== Math.ceil(n / 4) * kb) throw new ShapeError(`encodeBsr4Int4: blockSubs has ${blockSubs.length} elements, expected ceil(n/4)*ceil(k/4) = ${Math.ceil(n / 4) * kb}`);
  const subs = new Uint8Array(cols.length);
  for (let bi = 0; bi + 1 < blockPtr.length; bi++) {
    for (let b = blockPtr[bi]; b < blockPtr[bi + 1]; b++) {
      const s = blockSubs[bi * kb + cols[b]];
      if (!(s >= 1 && s <= BSR4_SUB_MAX)) throw new ValueRangeError(`encodeBsr4Int4: blockSubs[${bi * kb + cols[b]}] = ${s}, expected [1, ${BSR4_SUB_MAX}]`);
      subs[b] = s;
    }
  }
  return { n, k, blockPtr, cols, nibbles, subs };
}

/** value i (0..15, row-major) of int4 block b */
export function bsr4Int4Value(nibbles: Uint8Array, b: number, i: number): number {
  const byte = nibbles[b * 8 + (i & 7)];
  return (((i < 8 ? byte : byte >> 4) & 15) << 28) >> 28;
}

function refOut(fn: string, a: ArrayLike<number>, m: number, k: number): void {
  if (!Number.isInteger(m) || m < 0) throw new ShapeError(`${fn}: m must be an integer >= 0, got ${m}`);
  if (a.length !== m * k) throw new ShapeError(`${fn}: A has ${a.length} elements, expected m*k = ${m}*${k}`);
}

/** sum over the CSR entries of row n: (A[m][col] - za) * value */
export function refSpmmCsr(a: ArrayLike<number>, m: number, za: number, w: CsrInt8): Int32Array {
  refOut('refSpmmCsr', a, m, w.k);
  const out = new Int32Array(m * w.n);
  for (let i = 0; i < m; i++) {
    for (let r = 0; r < w.n; r++) {
      let s = 0;
      for (let p = w.rowPtr[r]; p < w.rowPtr[r + 1]; p++) s = (s + Math.imul(a[i * w.k + w.cols[p]] - za, w.values[p])) | 0;
      out[i * w.n + r] = s;
    }
  }
  return out;
}

/** sum over the groups of row n: the two stored values at their nibble's positions */
export function refSpmmNm24(a: ArrayLike<number>, m: number, za: number, w: Nm24Int8): Int32Array {
  refOut('refSpmmNm24', a, m, w.k);
  const kg = Math.ceil(w.k / 4), mb = Math.ceil(kg / 2);
  const out = new Int32Array(m * w.n);
  const x = (i: number, c: number) => (c < w.k ? a[i * w.k + c] - za : 0);
  for (let i = 0; i < m; i++) {
    for (let r = 0; r < w.n; r++) {
      let s = 0;
      for (let g = 0; g < kg; g++) {
        const nib = (w.meta[r * mb + (g >> 1)] >> ((g & 1) * 4)) & 15;
        s = (s + Math.imul(x(i, g * 4 + (nib & 3)), w.values[(r * kg + g) * 2])) | 0;
        s = (s + Math.imul(x(i, g * 4 + (nib >> 2)), w.values[(r * kg + g) * 2 + 1])) | 0;
      }
      out[i * w.n + r] = s;
    }
  }
  return out;
}

/** sum over the blocks of each block row, rows past N dropped */
export function refSpmmBsr4(a: ArrayLike<number>, m: number, za: number, w: Bsr4Int8): Int32Array {
  refOut('refSpmmBsr4', a, m, w.k);
  return bsr4Sums(a, m, za, w);
}

/** refSpmmBsr4's sums, the values any integers (int4 codes times their block's multiplier) */
function bsr4Sums(a: ArrayLike<number>, m: number, za: number, w: { n: number; k: number; blockPtr: Int32Array; cols: Int32Array; values: ArrayLike<number> }): Int32Array {
  const out = new Int32Array(m * w.n);
  const x = (i: number, c: number) => (c < w.k ? a[i * w.k + c] - za : 0);
  for (let bi = 0; bi + 1 < w.blockPtr.length; bi++) {
    for (let b = w.blockPtr[bi]; b < w.blockPtr[bi + 1]; b++) {
      for (let rr = 0; rr < 4 && bi * 4 + rr < w.n; rr++) {
        for (let i = 0; i < m; i++) {
          let s = out[i * w.n + bi * 4 + rr];
          for (let c = 0; c < 4; c++) s = (s + Math.imul(x(i, w.cols[b] * 4 + c), w.values[b * 16 + rr * 4 + c])) | 0;
          out[i * w.n + bi * 4 + rr] = s;
        }
      }
    }
  }
  return out;
}

/** refSpmmBsr4 on int4 blocks: each value read from its nibble, times its block's multiplier when subs are given */
export function refSpmmBsr4Int4(a: ArrayLike<number>, m: number, za: number, w: Bsr4Int4): Int32Array {
  refOut('refSpmmBsr4Int4', a, m, w.k);
  const values = Int16Array.from({ length: w.cols.length * 16 }, (_, i) => bsr4Int4Value(w.nibbles, i >> 4, i & 15) * (w.subs ? w.subs[i >> 4] : 1));
  return bsr4Sums(a, m, za, { n: w.n, k: w.k, blockPtr: w.blockPtr, cols: w.cols, values });
}

/** The float32 epilogue: y = f32(acc) * scale[n] (+ bias[n]), each op rounded to float32. */
export function refSpmmF32(acc: Int32Array, m: number, n: number, scale: ArrayLike<number>, bias?: ArrayLike<number>): Float32Array {
  const out = new Float32Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let v = Math.fround(Math.fround(acc[i * n + j]) * Math.fround(scale[j]));
      if (bias) v = Math.fround(v + Math.fround(bias[j]));
      out[i * n + j] = v;
    }
  }
  return out;
}
