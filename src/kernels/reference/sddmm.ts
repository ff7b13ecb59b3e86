// SDDMM (sampled dense-dense matmul, issue 16): the masks as plain arrays, their encoders from a
// dense 0/1 mask, and the scalar references the kernels (assembly/sparse/sddmm.ts) equal bit for
// bit. A is M x K, B is N x K (int8, row-major); at each mask entry (i, j) the output is
// dot(A[i,:], B[j,:]) wrapping like int32, or the float32 f32(acc) * rowScale[i] * colScale[j]
// (each product rounded to float32): attention scores Q Kᵀ with Q's scale per row and K's per row
// of K (a column of the scores), 1/sqrt(d) folded into either.

import { ShapeError } from '../../errors.js';

/** CSR mask: the sampled columns of each row; the output is one value per entry, in this order. */
export interface SddmmCsrMask {
  m: number;
  n: number;
  /** M + 1 offsets into cols */
  rowPtr: Int32Array;
  cols: Int32Array;
}

/** Block mask: bm x bn blocks, block rows of bm rows; the output is bm x bn values per block (row-major), 0 past M or N. */
export interface SddmmBlockMask {
  m: number;
  n: number;
  bm: number;
  bn: number;
  /** ceil(M / bm) + 1 offsets into cols */
  blockPtr: Int32Array;
  /** block column (j / bn) of each block */
  cols: Int32Array;
}

/** float32 output's scales: f32(acc) * rowScale[i] * colScale[j] */
export type SddmmOutput = { kind: 'int32' } | { kind: 'float32'; rowScale: Float32Array; colScale: Float32Array };

function checkDims(fn: string, mask: Uint8Array, m: number, n: number): void {
  for (const [name, v] of [['m', m], ['n', n]] as const) {
    if (!Number.isInteger(v) || v < 0) throw new ShapeError(`${fn}: ${name} must be an integer >= 0, got ${v}`);
  }
  if (mask.length !== m * n) throw new ShapeError(`${fn}: mask has ${mask.length} elements, expected m*n = ${m}*${n}`);
}

/** The nonzeros of a dense M x N 0/1 mask as a CSR mask. */
export function sddmmMaskCsr(mask: Uint8Array, m: number, n: number): SddmmCsrMask {
  checkDims('sddmmMaskCsr', mask, m, n);
  const rowPtr = new Int32Array(m + 1), cols: number[] = [];
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) if (mask[i * n + j]) cols.push(j);
    rowPtr[i + 1] = cols.length;
  }
  return { m, n, rowPtr, cols: Int32Array.from(cols) };
}

/** The bm x bn blocks of a dense M x N 0/1 mask that hold a set entry, as a block mask. */
export function sddmmMaskBlock(mask: Uint8Array, m: number, n: number, bm: number, bn: number): SddmmBlockMask {
  checkDims('sddmmMaskBlock', mask, m, n);
  for (const [name, v] of [['bm', bm], ['bn', bn]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new ShapeError(`sddmmMaskBlock: ${name} must be an integer >= 1, got ${v}`);
  }
  const nbr = Math.ceil(m / bm), nbc = Math.ceil(n / bn);
  const blockPtr = new Int32Array(nbr + 1), cols: number[] = [];
  for (let bi = 0; bi < nbr; bi++) {
    for (let bc = 0; bc < nbc; bc++) {
      let any = false;
      for (let i = bi * bm; i < Math.min(m, bi * bm + bm) && !any; i++) for (let j = bc * bn; j < Math.min(n, bc * bn + bn); j++) any ||= mask[i * n + j] !== 0;
      if (any) cols.push(bc);
    }
    blockPtr[bi + 1] = cols.length;
  }
  return { m, n, bm, bn, blockPtr, cols: Int32Array.from(cols) };
}

function checkOperands(fn: string, a: ArrayLike<number>, b: ArrayLike<number>, k: number, m: number, n: number): void {
  if (!Number.isInteger(k) || k < 0) throw new ShapeError(`${fn}: k must be an integer >= 0, got ${k}`);
  if (a.length !== m * k) throw new ShapeError(`${fn}: A has ${a.length} elements, expected m*k = ${m}*${k}`);
  if (b.length !== n * k) throw new ShapeError(`${fn}: B has ${b.length} elements, expected n*k = ${n}*${k}`);
}

/** one output: int32 dot, or its float32 dequantization */
function value(a: ArrayLike<number>, b: ArrayLike<number>, k: number, i: number, j: number, o: SddmmOutput): number {
  let s = 0;
  for (let c = 0; c < k; c++) s = (s + Math.imul(a[i * k + c], b[j * k + c])) | 0;
  return o.kind === 'int32' ? s : Math.fround(Math.fround(Math.fround(s) * o.rowScale[i]) * o.colScale[j]);
}

/** out[p] = dot(A[i,:], B[cols[p],:]) for the entries p of row i */
export function refSddmmCsr(a: ArrayLike<number>, b: ArrayLike<number>, k: number, mask: SddmmCsrMask, output: SddmmOutput = { kind: 'int32' }): Int32Array | Float32Array {
  checkOperands('refSddmmCsr', a, b, k, mask.m, mask.n);
  const out = output.kind === 'int32' ? new Int32Array(mask.cols.length) : new Float32Array(mask.cols.length);
  for (let i = 0; i < mask.m; i++) for (let p = mask.rowPtr[i]; p < mask.rowPtr[i + 1]; p++) out[p] = value(a, b, k, i, mask.cols[p], output);
  return out;
}

/** bm x bn values per block, row-major, 0 where the block passes M or N */
export function refSddmmBlock(a: ArrayLike<number>, b: ArrayLike<number>, k: number, mask: SddmmBlockMask, output: SddmmOutput = { kind: 'int32' }): Int32Array | Float32Array {
  checkOperands('refSddmmBlock', a, b, k, mask.m, mask.n);
  const { bm, bn } = mask, size = bm * bn * mask.cols.length;
  const out = output.kind === 'int32' ? new Int32Array(size) : new Float32Array(size);
  for (let bi = 0; bi + 1 < mask.blockPtr.length; bi++) {
    for (let q = mask.blockPtr[bi]; q < mask.blockPtr[bi + 1]; q++) {
      for (let r = 0; r < bm; r++) {
        for (let t = 0; t < bn; t++) {
          const i = bi * bm + r, j = mask.cols[q] * bn + t;
          if (i < mask.m && j < mask.n) out[q * bm * bn + r * bn + t] = value(a, b, k, i, j, output);
        }
      }
    }
  }
  return out;
}
