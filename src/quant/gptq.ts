// GPTQ for 4-bit block-wise weights (Frantar et al. 2022, "GPTQ: Accurate Post-Training Quantization
// for Generative Pre-trained Transformers", after Optimal Brain Compression): quantize W [N][K] one
// column of K at a time and spread each column's rounding error over the columns not yet quantized,
// weighted by the inverse Hessian of the layer's squared output error on calibration inputs,
// H = 2 XᵀX / S. The result is ordinary Int4Blocks (packs with packQb4, runs in Int4Linear).
// The loop (gptqLoop) is generic over the 4-bit grid (GptqGrid: a block's parameters from its
// values, a value's code and what it decodes to): int4 here (Int4Grid), ANT's types in
// src/quant/gptq-ant.ts. It takes the Hessian from calibration rows (quantizeInt4Gptq) or directly
// (quantizeInt4GptqHessian; quantizeModel's GPTQ pass hands each layer's XᵀX / rows).
//
// Clip search (not in the paper; its reference code has an optional one, Quantizer(mse=True): shrink
// ratios of the range down to 0.2 under an |error|^2.4 norm): with clipSearch, a block's scale is
// the one among quantizeInt4Rtn's ratios (1.0 down to 0.5 of the range) with the least squared
// error on the block's values as they stand when GPTQ reaches the block (error-updated by the
// columns before it), or on the unquantized weights with act-order (static groups).
//
// The arithmetic is float64 throughout. Everything heavy (XᵀX, the Cholesky factorization, the lazy
// batch updates) is one "dot form" product C += α A Bᵀ over row-major rows, tiled for the cache with
// a 3x3 register tile; on one core of the development machine V8 ran it at 2.0-2.4 G multiply-adds/s.
//
// The paper's reference algorithm uses U = the upper Cholesky factor of H⁻¹ (H⁻¹ = UᵀU) and, after
// quantizing column i, subtracts err_i · U[i][j] from every later column j, err_i = (w_i − q_i) / U_ii.
// Written out, that recurrence is  w_orig − q = err · U,  so  err = (w_orig − q) · Ũ  with Ũ = U⁻¹:
// an upper triangular matrix with H = Ũ Ũᵀ, which is the lower Cholesky factor of H with rows and
// columns reversed (J H J = L Lᵀ  ⇒  H = (J L J)(J L J)ᵀ). Each column's value at the moment it is
// quantized is then
//     w_i = w_orig_i + Σ_{j<i} d_j Ũ[j][i] / Ũ[i][i],        d_j = w_orig_j − q_j (dequantized),
// which needs one Cholesky factorization and no inverse (the paper: a Cholesky, an inverse and a
// second Cholesky): the same algorithm, a quarter of its O(K³) work. Lazy batches: the sum over the
// columns before the batch is one product for the whole batch (N × batch × i1), the columns inside
// the batch are added as they are quantized. A block's scale is set from the block's values as they
// stand when its first column c comes up, which the paper's recurrence has updated by the columns
// before c only: those are w_orig + y with y · Ũ[c:, c:] = (the sums over j < c), a forward
// substitution over the block's diagonal part of Ũ. (Tested equal to the paper's algorithm written
// out naively, bit for bit, in test/gptq.test.ts.)

import { ArgumentError, DTypeError, ShapeError, ValueRangeError } from '../errors.js';
import { roundHalfEven } from './rounding.js';
import { blocksOf, checkBlockSize, int4BlockParams, type Int4Blocks } from './int4.js';

export interface GptqOptions {
  /** values of K per scale (power of two from 16), as Int4Blocks */
  blockSize: number;
  /** 'symmetric' (zero point 8; default) or 'asymmetric' (a zero point per block) */
  scheme?: 'symmetric' | 'asymmetric';
  /** added to H's diagonal, as a fraction of its mean (default 0.01) */
  dampPercent?: number;
  /**
   * quantize the columns of K in order of descending H diagonal (largest input energy first; default
   * false). Block scales are then fixed up front from the unquantized weights ("static groups").
   */
  actOrder?: boolean;
  /** columns per lazy batch update (default 128); without actOrder rounded to whole blocks */
  lazyBatch?: number;
  /**
   * choose each block's scale by quantizeInt4Rtn's clip search (the ratio of the block's range,
   * 1.0 down to 0.5, with the least squared error) on the block's values as GPTQ has them when the
   * block starts (with actOrder: on the unquantized weights); default false, the full range
   */
  clipSearch?: boolean;
  /** the factorization's rank updates, done elsewhere with the same bits (quantizeModel passes wasm's; default syrkLower) */
  syrk?: SyrkLower;
  /** the lazy batch updates' products, done elsewhere with the same bits (quantizeModel passes wasm's; default gemmNT) */
  gemm?: GemmNT;
}

/** The GPTQ settings a model's layers share (quantizeModel's options; formats read them from ctx.options.gptq). */
export type GptqSettings = Pick<GptqOptions, 'actOrder' | 'dampPercent' | 'clipSearch' | 'syrk' | 'gemm'>;

// --- dense float64 kernels ----------------------------------------------------------------------------

/** depth per pass (the p loop): each entry adds one sum per KC of depth */
export const GEMM_KC = 256;
const KC = GEMM_KC;
const NC = 96; // rows of B per tile (a multiple of 3): NC × KC doubles = 192 KiB

/**
 * gemmNT without `lower`, and an interface for faster versions that give the same bits: for each
 * entry and each KC of depth, the sum of the products in order of p from 0, then c += alpha · sum
 * (src/kernels/xtx.ts: wasm's).
 */
export type GemmNT = (a: Float64Array, aOff: number, lda: number, b: Float64Array, bOff: number, ldb: number, c: Float64Array, cOff: number, ldc: number, m: number, n: number, depth: number, alpha: number) => void;

/**
 * C[i][j] += alpha · Σ_p A[i][p] · B[j][p] for i < m, j < n, p < depth; all row-major with leading
 * dimensions lda, ldb, ldc and offsets. With `lower`, only entries j <= i are wanted: tiles wholly
 * above the diagonal are skipped, and the 3x3 tiles that straddle it also write some entries above it.
 */
export function gemmNT(
  a: Float64Array, aOff: number, lda: number,
  b: Float64Array, bOff: number, ldb: number,
  c: Float64Array, cOff: number, ldc: number,
  m: number, n: number, depth: number, alpha: number, lower: boolean,
): void {
  for (let p0 = 0; p0 < depth; p0 += KC) {
    const kc = Math.min(KC, depth - p0);
    for (let j0 = 0; j0 < n; j0 += NC) {
      const j1 = Math.min(n, j0 + NC);
      for (let i = lower ? j0 : 0; i < m; i += 3) {
        const mi = Math.min(3, m - i);
        const jEnd = lower ? Math.min(j1, i + 3) : j1;
        for (let j = j0; j < jEnd; j += 3) {
          const nj = Math.min(3, jEnd - j);
          const ao = aOff + i * lda + p0;
          const bo = bOff + j * ldb + p0;
          const co = cOff + i * ldc + j;
          if (mi === 3 && nj === 3) tile33(a, ao, lda, b, bo, ldb, c, co, ldc, kc, alpha);
          else tileEdge(a, ao, lda, b, bo, ldb, c, co, ldc, mi, nj, kc, alpha);
        }
      }
    }
  }
}

function tile33(a: Float64Array, ao: number, lda: number, b: Float64Array, bo: number, ldb: number, c: Float64Array, co: number, ldc: number, kc: number, alpha: number): void {
  const a1 = ao + lda;
  const a2 = a1 + lda;
  const b1 = bo + ldb;
  const b2 = b1 + ldb;
  let c00 = 0, c01 = 0, c02 = 0, c10 = 0, c11 = 0, c12 = 0, c20 = 0, c21 = 0, c22 = 0;
  for (let p = 0; p < kc; p++) {
    const x0 = b[bo + p];
    const x1 = b[b1 + p];
    const x2 = b[b2 + p];
    let y = a[ao + p];
    c00 += y * x0; c01 += y * x1; c02 += y * x2;
    y = a[a1 + p];
    c10 += y * x0; c11 += y * x1; c12 += y * x2;
    y = a[a2 + p];
    c20 += y * x0; c21 += y * x1; c22 += y * x2;
  }
  c[co] += alpha * c00; c[co + 1] += alpha * c01; c[co + 2] += alpha * c02;
  const r1 = co + ldc;
  c[r1] += alpha * c10; c[r1 + 1] += alpha * c11; c[r1 + 2] += alpha * c12;
  const r2 = r1 + ldc;
  c[r2] += alpha * c20; c[r2 + 1] += alpha * c21; c[r2 + 2] += alpha * c22;
}

function tileEdge(a: Float64Array, ao: number, lda: number, b: Float64Array, bo: number, ldb: number, c: Float64Array, co: number, ldc: number, mi: number, nj: number, kc: number, alpha: number): void {
  for (let i = 0; i < mi; i++) {
    for (let j = 0; j < nj; j++) {
      const ar = ao + i * lda;
      const br = bo + j * ldb;
      let s = 0;
      for (let p = 0; p < kc; p++) s += a[ar + p] * b[br + p];
      c[co + i * ldc + j] += alpha * s;
    }
  }
}

/**
 * c[i][j] += alpha · Σ_p a[i][p] · a[j][p] for j <= i < m (a: m rows of `depth` at aOff, lda apart; c
 * row-major at cOff, ldc): gemmNT(a, a, …, lower) and an interface for faster versions that give
 * the same bits, i.e. for each entry and each KC of depth, the sum of the products in order of p
 * from 0, then c += alpha · sum (src/kernels/xtx.ts: wasm's). Entries above the diagonal may be written.
 */
export type SyrkLower = (a: Float64Array, aOff: number, lda: number, c: Float64Array, cOff: number, ldc: number, m: number, depth: number, alpha: number) => void;

export const syrkLower: SyrkLower = (a, aOff, lda, c, cOff, ldc, m, depth, alpha) => gemmNT(a, aOff, lda, a, aOff, lda, c, cOff, ldc, m, m, depth, alpha, true);

const NB = 96; // Cholesky panel width

/**
 * In-place lower Cholesky factorization of the symmetric K×K matrix `a` (row-major; only its lower
 * triangle is read): on return the lower triangle holds L with A = L Lᵀ, the upper triangle is
 * scratch. Blocked right-looking (panel, triangular solve, rank-NB update of the trailing matrix).
 * Returns -1, or the first column whose pivot is not positive — not above K·2⁻⁵² of its diagonal
 * entry, i.e. numerically singular — in which case `a` is left part-factored.
 */
export function choleskyLower(a: Float64Array, k: number, syrk: SyrkLower = syrkLower): number {
  if (a.length !== k * k) throw new ShapeError(`choleskyLower: expected ${k}x${k} = ${k * k} values, got ${a.length}`);
  const tiny = k * 2 ** -52;
  const diag = new Float64Array(k);
  for (let i = 0; i < k; i++) diag[i] = a[i * k + i];
  for (let k0 = 0; k0 < k; k0 += NB) {
    const k1 = Math.min(k, k0 + NB);
    // the diagonal block (already updated by the panels before it)
    for (let j = k0; j < k1; j++) {
      const rj = j * k;
      let s = a[rj + j];
      for (let p = k0; p < j; p++) s -= a[rj + p] * a[rj + p];
      if (!(s > tiny * diag[j]) || !Number.isFinite(s)) return j;
      const d = Math.sqrt(s);
      a[rj + j] = d;
      for (let i = j + 1; i < k1; i++) {
        const ri = i * k;
        let t = a[ri + j];
        for (let p = k0; p < j; p++) t -= a[ri + p] * a[rj + p];
        a[ri + j] = t / d;
      }
    }
    // the panel below it: row i of L21 solves L21[i] · L11ᵀ = A21[i] (forward substitution)
    for (let i = k1; i < k; i++) {
      const ri = i * k;
      for (let j = k0; j < k1; j++) {
        const rj = j * k;
        let t = a[ri + j];
        for (let p = k0; p < j; p++) t -= a[ri + p] * a[rj + p];
        a[ri + j] = t / a[rj + j];
      }
    }
    // trailing matrix: A22 -= L21 L21ᵀ (lower triangle)
    if (k1 < k) {
      const off = k1 * k + k0;
      syrk(a, off, k, a, k1 * k + k1, k, k - k1, k1 - k0, -1);
    }
  }
  return -1;
}

/** Reverses a flat array in place (for a row-major square matrix: rows and columns both reversed). */
function reverseInPlace(a: Float64Array): void {
  for (let i = 0, j = a.length - 1; i < j; i++, j--) {
    const t = a[i];
    a[i] = a[j];
    a[j] = t;
  }
}

/** Copies the upper triangle of a row-major square matrix onto its lower triangle (tiled). */
function mirrorUpperToLower(a: Float64Array, k: number): void {
  const T = 64;
  for (let i0 = 0; i0 < k; i0 += T) {
    for (let j0 = 0; j0 <= i0; j0 += T) {
      const i1 = Math.min(k, i0 + T);
      const j1 = Math.min(k, j0 + T);
      for (let i = i0; i < i1; i++) for (let j = j0; j < Math.min(j1, i); j++) a[i * k + j] = a[j * k + i];
    }
  }
}

function mirrorLowerToUpper(a: Float64Array, k: number): void {
  const T = 64;
  for (let i0 = 0; i0 < k; i0 += T) {
    for (let j0 = 0; j0 <= i0; j0 += T) {
      const i1 = Math.min(k, i0 + T);
      const j1 = Math.min(k, j0 + T);
      for (let i = i0; i < i1; i++) for (let j = j0; j < Math.min(j1, i); j++) a[j * k + i] = a[i * k + j];
    }
  }
}

/**
 * The factor GPTQ works with, in place: given symmetric positive definite H (K×K), returns with the
 * lower triangle of `h` holding R = Ũᵀ, where Ũ is upper triangular and H = Ũ Ũᵀ (so H = Rᵀ R);
 * row i of R is column i of Ũ, contiguous. Ũ⁻¹ is the upper Cholesky factor of H⁻¹ that the paper
 * uses. Returns -1, or the column (in H's order) where H is not numerically positive definite.
 */
export function gptqFactor(h: Float64Array, k: number, syrk?: SyrkLower): number {
  reverseInPlace(h); // J H J
  const bad = choleskyLower(h, k, syrk); // J H J = L Lᵀ
  if (bad >= 0) return k - 1 - bad;
  reverseInPlace(h); // upper triangle: Ũ = J L J
  mirrorUpperToLower(h, k); // lower triangle: R = Ũᵀ
  return -1;
}

/**
 * The paper's Hinv: the upper Cholesky factor U of H⁻¹ (H⁻¹ = UᵀU), as a full K×K row-major matrix
 * with zeros below the diagonal. Not used by quantizeInt4Gptq (which needs no inverse); for checking
 * and for callers who want it. Throws ValueRangeError if H is not positive definite.
 */
export function inverseCholeskyUpper(h: Float64Array, k: number): Float64Array {
  const r = Float64Array.from(h);
  const bad = gptqFactor(r, k);
  if (bad >= 0) throw new ValueRangeError(`H: not positive definite (pivot at column ${bad})`);
  // U = Ũ⁻¹ = (Rᵀ)⁻¹ = (R⁻¹)ᵀ; invert the lower triangular R row by row (forward substitution)
  const inv = new Float64Array(k * k); // lower: R⁻¹
  for (let i = 0; i < k; i++) {
    const ri = i * k;
    inv[ri + i] = 1 / r[ri + i];
    for (let j = 0; j < i; j++) {
      // (R⁻¹)[i][j] = −(Σ_{j<=p<i} R[i][p] (R⁻¹)[p][j]) / R[i][i]
      let s = 0;
      for (let p = j; p < i; p++) s += r[ri + p] * inv[p * k + j];
      inv[ri + j] = -s / r[ri + i];
    }
  }
  const u = new Float64Array(k * k);
  for (let i = 0; i < k; i++) for (let j = i; j < k; j++) u[i * k + j] = inv[j * k + i];
  return u;
}

/**
 * Running XᵀX over input rows of K (float64, lower triangle), without keeping the rows: they are
 * gathered into chunks of 256, transposed ([K][rows], a row of K per column), and each chunk is one
 * gemmNT. What quantizeModel's GPTQ pass accumulates a layer's input into (src/model/gptq-pass.ts).
 */
export class HessianSum {
  /** rows added so far */
  rows = 0;
  private readonly sum: Float64Array;
  private readonly xt: Float64Array; // [K][CHUNK]
  private fill = 0;
  static readonly CHUNK = 256;

  constructor(readonly k: number) {
    if (!Number.isInteger(k) || k < 1) throw new ShapeError(`K must be a positive integer, got ${k}`);
    this.sum = new Float64Array(k * k);
    this.xt = new Float64Array(k * HessianSum.CHUNK);
  }

  /** adds the row of K values at x[offset] */
  addRow(x: ArrayLike<number>, offset: number): void {
    const { k, xt, fill } = this;
    const c = HessianSum.CHUNK;
    for (let t = 0; t < k; t++) xt[t * c + fill] = x[offset + t];
    this.rows++;
    if (++this.fill === c) this.flush();
  }

  /**
   * Adds a row written by `write(xt, column, stride)`: value t of the row goes to xt[t·stride + column]
   * (how a caller builds an im2col row without a copy).
   */
  addRowBy(write: (xt: Float64Array, column: number, stride: number) => void): void {
    write(this.xt, this.fill, HessianSum.CHUNK);
    this.rows++;
    if (++this.fill === HessianSum.CHUNK) this.flush();
  }

  private flush(): void {
    const sc = this.fill;
    if (sc === 0) return;
    const c = HessianSum.CHUNK;
    if (sc < c) {
      // compact the partial chunk to a leading dimension of sc (gemmNT reads rows of depth sc)
      for (let t = 0; t < this.k; t++) this.xt.copyWithin(t * sc, t * c, t * c + sc);
    }
    gemmNT(this.xt, 0, sc, this.xt, 0, sc, this.sum, 0, this.k, this.k, this.k, sc, 1, true);
    this.fill = 0;
  }

  /** factor · XᵀX (K×K, both triangles filled); the sum goes on accumulating afterwards */
  result(factor: number): Float64Array {
    this.flush();
    const { k } = this;
    const h = new Float64Array(k * k);
    for (let i = 0; i < k; i++) for (let j = 0; j <= i; j++) h[i * k + j] = this.sum[i * k + j] * factor;
    mirrorLowerToUpper(h, k);
    return h;
  }
}

/**
 * H = 2 XᵀX / S for calibration inputs X [S][K] (float64, K×K, both triangles filled).
 */
export function calibrationHessian(x: Float32Array | Float64Array, k: number): Float64Array {
  if (!Number.isInteger(k) || k < 1) throw new ShapeError(`K must be a positive integer, got ${k}`);
  if (x.length % k !== 0 || x.length === 0) throw new ShapeError(`calibration: expected S rows of K = ${k} (S >= 1), got ${x.length} elements`);
  const s = x.length / k;
  const sum = new HessianSum(k);
  for (let i = 0; i < s; i++) sum.addRow(x, i * k);
  return sum.result(2 / s);
}

// --- GPTQ ---------------------------------------------------------------------------------------------

/**
 * The 4-bit grid GPTQ rounds to, one set of parameters per block of `blockSize` values along K
 * (block b of row j is block j·blocks + b). What varies between int4 and ANT's types is only here;
 * the GPTQ loop (gptqLoop) is shared.
 */
export interface GptqGrid {
  /** sets a block's parameters (scale, zero point …) from its values[start, end) */
  fit(block: number, values: ArrayLike<number>, start: number, end: number): void;
  /** the code (0..15) of v in that block */
  code(block: number, v: number): number;
  /** the value a code decodes to in that block */
  value(block: number, code: number): number;
}

export interface GptqLoopOptions {
  /** values of K per block of grid parameters (any positive integer; K for one per row) */
  blockSize: number;
  /** added to H's diagonal, as a fraction of its mean (default 0.01) */
  dampPercent?: number;
  /** quantize the columns of K in order of descending H diagonal (default false; see GptqOptions) */
  actOrder?: boolean;
  /** columns per lazy batch update (default 128); without actOrder rounded to whole blocks */
  lazyBatch?: number;
  /** see GptqOptions.syrk */
  syrk?: SyrkLower;
  /** see GptqOptions.gemm */
  gemm?: GemmNT;
}

/**
 * The GPTQ loop over W [N][K] (float64, consumed) with the Hessian H (K×K, both triangles,
 * consumed) onto any 4-bit grid: returns the codes [N][K]; the grid holds each block's parameters.
 * `what` names H's origin in the error thrown when it cannot be factored.
 *
 * Block parameters: the paper (and its reference code, Quantizer.find_params per group) sets a
 * group's grid from the group's weights as they stand when quantization reaches the group's first
 * column, i.e. already updated by the error of the columns before it; we do the same (grid.fit on
 * those values). With act-order the reference has two modes: groups in permuted order (each column
 * then needs its own group index, g_idx, which our kernels do not have) or "static groups", every
 * group's grid fixed up front from the unquantized weights; blocks here are contiguous along K, so
 * act-order uses static groups. A grid with a clip search (int4's or ANT's, the reference's
 * Quantizer(mse=True) has one too) runs it inside fit, on those same values.
 */
export function gptqLoop(wd: Float64Array, n: number, k: number, h: Float64Array, grid: GptqGrid, options: GptqLoopOptions, what: string): Uint8Array {
  const damp = options.dampPercent ?? 0.01;
  if (typeof damp !== 'number' || !Number.isFinite(damp) || damp < 0) throw new ValueRangeError(`dampPercent: expected a finite number >= 0 (a fraction of H's mean diagonal, e.g. 0.01), got ${String(damp)}`);
  const actOrder = options.actOrder ?? false;
  if (typeof actOrder !== 'boolean') throw new ArgumentError(`actOrder: expected true or false, got ${String(actOrder)}`);
  const lazy = options.lazyBatch ?? 128;
  if (!Number.isInteger(lazy) || lazy < 1) throw new ValueRangeError(`lazyBatch: expected a positive integer, got ${String(lazy)}`);
  const bs = options.blockSize;
  if (!Number.isInteger(bs) || bs < 1) throw new ValueRangeError(`blockSize: expected a positive integer, got ${String(bs)}`);
  const nb = blocksOf(k, bs);

  // dead inputs (never nonzero in the calibration set): weight 0, H_ii = 1
  const diag = new Float64Array(k);
  for (let i = 0; i < k; i++) {
    if (h[i * k + i] === 0) {
      h[i * k + i] = 1;
      for (let j = 0; j < n; j++) wd[j * k + i] = 0;
    }
    diag[i] = h[i * k + i];
  }

  const q = new Uint8Array(n * k);

  // order[c] = the column of K quantized c-th
  const order = Array.from({ length: k }, (_, i) => i);
  if (actOrder) {
    // static groups: every block's parameters from the unquantized weights
    for (let j = 0; j < n; j++) {
      for (let b = 0; b < nb; b++) grid.fit(j * nb + b, wd, j * k + b * bs, j * k + Math.min(k, (b + 1) * bs));
    }
    order.sort((x, y) => diag[y] - diag[x]); // stable: ties keep the order of K
    const hp = new Float64Array(k * k);
    for (let i = 0; i < k; i++) {
      const src = order[i] * k;
      for (let j = 0; j < k; j++) hp[i * k + j] = h[src + order[j]];
    }
    h = hp;
    const wp = new Float64Array(n * k);
    for (let j = 0; j < n; j++) for (let c = 0; c < k; c++) wp[j * k + c] = wd[j * k + order[c]];
    wd = wp;
  }
  const w0 = wd; // [N][K] in quantization order; column c becomes d_c = w_c − dequantized once quantized

  // damping
  let mean = 0;
  for (let i = 0; i < k; i++) mean += diag[i];
  mean /= k;
  for (let i = 0; i < k; i++) h[i * k + i] += damp * mean;

  const bad = gptqFactor(h, k, options.syrk);
  if (bad >= 0) {
    throw new ValueRangeError(
      `${what} is not positive definite even after damping ` +
        `(dampPercent ${damp}; it fails at input column ${order[bad]}); give more calibration samples (S >= K = ${k} and varied) or a larger dampPercent`,
    );
  }
  const r = h; // lower triangle: R = Ũᵀ
  const rdiag = new Float64Array(k);
  for (let i = 0; i < k; i++) rdiag[i] = r[i * k + i];

  // batches: without actOrder, whole blocks, so a block's parameters see every update before it
  const batch = actOrder ? Math.min(lazy, k) : Math.min(bs * Math.max(1, Math.floor(lazy / bs)), nb * bs);
  const t = new Float64Array(n * batch); // Σ_{j < i} d_j R[i][j] for the batch's columns
  const bt = new Float64Array(batch * batch); // bt[a][b] = R[i1+b][i1+a] = Ũ[i1+a][i1+b], a < b
  const vals = new Float64Array(Math.min(bs, k));
  const ys = new Float64Array(Math.min(bs, k));
  const blockOf = Int32Array.from(order, (c) => Math.floor(c / bs));

  for (let i1 = 0; i1 < k; i1 += batch) {
    const i2 = Math.min(k, i1 + batch);
    const nbat = i2 - i1;
    t.fill(0);
    if (i1 > 0) {
      if (options.gemm) options.gemm(w0, 0, k, r, i1 * k, k, t, 0, batch, n, nbat, i1, 1);
      else gemmNT(w0, 0, k, r, i1 * k, k, t, 0, batch, n, nbat, i1, 1, false);
    }
    for (let a = 0; a < nbat; a++) for (let b = a + 1; b < nbat; b++) bt[a * batch + b] = r[(i1 + b) * k + i1 + a];

    for (let j = 0; j < n; j++) {
      const row = j * k;
      const tr = j * batch;
      for (let a = 0; a < nbat; a++) {
        const c = i1 + a;
        const orig = w0[row + c];
        const blk = j * nb + blockOf[c];
        if (!actOrder && c % bs === 0) {
          // a block starts: its parameters from its current values (it lies inside this batch).
          // Those are w + y with y · Ũ[c:, c:] = z, z = t (the sums over the columns before c):
          // forward substitution over the block's diagonal part of Ũ (rows of R).
          const len = Math.min(k, c + bs) - c;
          for (let e = 0; e < len; e++) {
            const re = (c + e) * k + c;
            let z = t[tr + a + e];
            for (let f = 0; f < e; f++) z -= ys[f] * r[re + f];
            ys[e] = z / rdiag[c + e];
            vals[e] = w0[row + c + e] + ys[e];
          }
          grid.fit(blk, vals, 0, len);
        }
        const v = orig + t[tr + a] / rdiag[c];
        const qv = grid.code(blk, v);
        q[row + order[c]] = qv;
        const d = orig - grid.value(blk, qv);
        w0[row + c] = d;
        const br = a * batch;
        for (let b = a + 1; b < nbat; b++) t[tr + b] += d * bt[br + b];
      }
    }
  }
  return q;
}

/** Checks a Hessian given directly (K×K float64, finite, diagonal >= 0) and returns a copy to consume. */
export function checkHessian(h: unknown, k: number): Float64Array {
  if (!(h instanceof Float64Array)) throw new DTypeError(`hessian: expected a Float64Array of K×K = ${k * k} values, got ${(h as object | null | undefined)?.constructor?.name ?? typeof h}`);
  if (h.length !== k * k) throw new ShapeError(`hessian: expected K×K = ${k}×${k} = ${k * k} values, got ${h.length}`);
  for (let i = 0; i < h.length; i++) if (!Number.isFinite(h[i])) throw new ValueRangeError(`hessian: element ${i} (row ${Math.floor(i / k)}) is ${h[i]}; a Hessian must be finite`);
  for (let i = 0; i < k; i++) if (h[i * k + i] < 0) throw new ValueRangeError(`hessian: diagonal element ${i} is ${h[i * k + i]}; XᵀX has a diagonal >= 0`);
  return Float64Array.from(h);
}

/** int4 blocks as a GPTQ grid: zero point 8 (symmetric) or one per block, int4BlockParams' rules. */
export class Int4Grid implements GptqGrid {
  readonly scales: Float32Array;
  readonly zeroPoints: Uint8Array | null;

  constructor(blocks: number, private readonly asymmetric: boolean, private readonly clipSearch: boolean) {
    this.scales = new Float32Array(blocks);
    this.zeroPoints = asymmetric ? new Uint8Array(blocks) : null;
  }

  fit(block: number, values: ArrayLike<number>, start: number, end: number): void {
    const p = int4BlockParams(values, start, end, this.asymmetric, this.clipSearch);
    this.scales[block] = p.scale;
    if (this.zeroPoints) this.zeroPoints[block] = p.zeroPoint;
  }

  code(block: number, v: number): number {
    const zp = this.zeroPoints ? this.zeroPoints[block] : 8;
    return Math.min(15, Math.max(0, roundHalfEven(v / this.scales[block]) + zp));
  }

  value(block: number, code: number): number {
    return (code - (this.zeroPoints ? this.zeroPoints[block] : 8)) * this.scales[block];
  }
}

/**
 * Quantizes W [N][K] (rows = output features, float32) to 4-bit blocks with GPTQ, using calibration
 * inputs X (S rows of K, the layer's typical inputs). Same block scale rules as quantizeInt4Rtn
 * (its clip search only with clipSearch); without actOrder a block's scale and zero point come from
 * its weights as they stand (error-updated) when quantization reaches its first column, as the
 * reference implementation does; with actOrder they are fixed up front from the unquantized weights.
 */
export function quantizeInt4Gptq(w: Float32Array, n: number, k: number, calibration: Float32Array, options: GptqOptions): Int4Blocks {
  checkInt4Args(w, n, k, options);
  checkCalibration(calibration, k);
  const s = calibration.length / k;
  const what = `calibration: the Hessian 2XᵀX/S of the ${s} calibration row${s === 1 ? '' : 's'}`;
  return int4Gptq(w, n, k, calibrationHessian(calibration, k), options, what);
}

/**
 * quantizeInt4Gptq with the layer's Hessian given directly (K×K float64, e.g. XᵀX / rows of its
 * inputs; any positive multiple gives the same result).
 */
export function quantizeInt4GptqHessian(w: Float32Array, n: number, k: number, hessian: Float64Array, options: GptqOptions): Int4Blocks {
  checkInt4Args(w, n, k, options);
  return int4Gptq(w, n, k, checkHessian(hessian, k), options, 'hessian: H');
}

function checkInt4Args(w: Float32Array, n: number, k: number, options: GptqOptions): void {
  if (!Number.isInteger(k) || !Number.isInteger(n) || k < 1 || n < 1) throw new ShapeError(`K and N must be positive integers, got K=${k}, N=${n}`);
  if (options === null || typeof options !== 'object') throw new ArgumentError('options: expected { blockSize, scheme?, dampPercent?, actOrder?, lazyBatch?, clipSearch? }');
  checkBlockSize(options.blockSize);
  if (!(w instanceof Float32Array) || w.length !== n * k) throw new ShapeError(`weights: expected a Float32Array of N*K = ${n * k}, got ${w?.length}`);
  for (let i = 0; i < w.length; i++) if (!Number.isFinite(w[i])) throw new ValueRangeError(`weights: element ${i} is ${w[i]}; weights must be finite`);
  const scheme = options.scheme ?? 'symmetric';
  if (scheme !== 'symmetric' && scheme !== 'asymmetric') throw new ArgumentError(`scheme: expected 'symmetric' or 'asymmetric', got ${String(scheme)}`);
  if (options.clipSearch !== undefined && typeof options.clipSearch !== 'boolean') throw new ArgumentError(`clipSearch: expected true or false, got ${String(options.clipSearch)}`);
}

function int4Gptq(w: Float32Array, n: number, k: number, h: Float64Array, options: GptqOptions, what: string): Int4Blocks {
  const bs = options.blockSize;
  const grid = new Int4Grid(n * blocksOf(k, bs), options.scheme === 'asymmetric', options.clipSearch === true);
  const q = gptqLoop(Float64Array.from(w), n, k, h, grid, options, what);
  return { k, n, blockSize: bs, q, scales: grid.scales, zeroPoints: grid.zeroPoints };
}

function checkCalibration(x: unknown, k: number): asserts x is Float32Array {
  if (x === undefined || x === null) {
    throw new ArgumentError(`calibration: GPTQ needs calibration inputs, a Float32Array of S rows of K = ${k} (the layer's typical inputs, e.g. 128 or more)`);
  }
  if (!(x instanceof Float32Array)) throw new DTypeError(`calibration: expected a Float32Array of S rows of K = ${k}, got ${x?.constructor?.name ?? typeof x}`);
  if (x.length === 0) throw new ShapeError(`calibration: needs at least one row (S >= 1) of K = ${k}, got 0 elements`);
  if (x.length % k !== 0) throw new ShapeError(`calibration: ${x.length} elements is not a whole number of rows of K = ${k}`);
  for (let i = 0; i < x.length; i++) {
    if (!Number.isFinite(x[i])) throw new ValueRangeError(`calibration: element ${i} (row ${Math.floor(i / k)}) is ${x[i]}; calibration inputs must be finite`);
  }
}
