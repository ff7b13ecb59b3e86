// qs8: int8 x int8 -> int32 GEMM/GEMV with fused epilogues. Wraps assembly/gemm/qs8.ts: packs
// weights, stages A, folds zero points into the params block, splits columns across threads.
// The scalar references at the bottom define what the kernel must produce, bit for bit.

import { ArgumentError } from '../errors.js';
import type { KernelHost } from '../runtime/host.js';
import { roundHalfEven } from '../quant/rounding.js';
import {
  QS8_OUT_F32,
  QS8_OUT_I32,
  QS8_OUT_I8,
  QS8_OUT_U8,
  QS8_PRM_ACT,
  QS8_PRM_ACT_ALPHA,
  QS8_PRM_ACT_BETA,
  QS8_PRM_BIAS,
  QS8_PRM_BYTES,
  QS8_PRM_COL_BIAS,
  QS8_PRM_COL_FACTOR,
  QS8_PRM_COL_SCALE,
  QS8_PRM_OUT_KIND,
  QS8_PRM_OUT_ZP,
  QS8_PRM_POST_SCALE,
  QS8_PRM_POST_SHIFT,
  QS8_PRM_QMAX,
  QS8_PRM_QMIN,
  QS8_PRM_RELU,
  QS8_PRM_ROW_SCALE,
  QS8_PRM_ROW_SUM,
} from './params.js';
import { PackedWeights } from './packed.js';

export const QS8_NR = 8;

export type Qs8Layout = 'c2' | 'c4' | 'w16';

/** packQs8 picks the w16 layout (int16 weights, 2x the bytes of c2) from this many expected rows. */
export const QS8_W16_MIN_M = 16;

/** Weights packed for the qs8 kernels; see assembly/gemm/qs8.ts for the byte layout. */
export class Qs8Weights extends PackedWeights {
  constructor(
    rt: KernelHost,
    readonly layout: Qs8Layout,
    readonly k: number,
    readonly n: number,
    /** K rounded up to the layout's k-group (2 or 4) */
    readonly kp: number,
    /** N rounded up to 8 */
    readonly np: number,
    readonly ptr: number,
    /** zero point of each column, shifted to int8 (uint8 weights are stored as W - 128); length np */
    readonly zb: Int32Array,
    /** c4 only: per-column offset subtracted to bring W into [0, 127], and the sum of stored values */
    readonly offset: Int32Array | null,
    readonly storedSum: Int32Array | null,
  ) {
    super(rt, [ptr]);
  }

  get bytes(): number {
    return this.kp * this.np * (this.layout === 'w16' ? 2 : 1);
  }
}

export interface PackQs8Options {
  /** allow the 7-bit relaxed layout when the runtime has relaxed SIMD and the weights fit (default true) */
  allowSevenBit?: boolean;
  /**
   * Rows per call the caller expects (M). From QS8_W16_MIN_M on, the full-range layout is w16:
   * int16 weights (2x the memory of c2) for the compute-bound 4x8 w16 kernel. Unset, or below it
   * (GEMV, small batches): c2. Either layout runs any M with the same results.
   */
  expectedM?: number;
}

/**
 * Packs B (K x N, row-major, int8 or uint8) with per-column zero points zb (length N, in B's type).
 * Chooses the relaxed 7-bit layout when the runtime runs the relaxed build and every column of B
 * spans at most 127 (max - min), which keeps the result exact; otherwise w16 when options.expectedM
 * is at least QS8_W16_MIN_M, c2 below it.
 */
export function packQs8(rt: KernelHost, b: Int8Array | Uint8Array, k: number, n: number, zb: ArrayLike<number>, options: PackQs8Options = {}): Qs8Weights {
  rt.check();
  if (b.length !== k * n) throw new ArgumentError(`packQs8: B has ${b.length} elements, expected K*N = ${k}*${n}`);
  const signed = b instanceof Int8Array;
  const shift = signed ? 0 : 128;
  const np = Math.ceil(n / QS8_NR) * QS8_NR;
  const zbs = new Int32Array(np);
  for (let j = 0; j < n; j++) zbs[j] = zb[j] - shift;

  let sevenBit = false;
  let lo: Int32Array | null = null;
  if (rt.features.simd === 'relaxed' && options.allowSevenBit !== false) {
    lo = new Int32Array(np);
    const hi = new Int32Array(np);
    lo.fill(255, 0, n);
    hi.fill(-255, 0, n);
    for (let i = 0; i < k; i++) {
      const row = i * n;
      for (let j = 0; j < n; j++) {
        const v = b[row + j] - shift;
        if (v < lo[j]) lo[j] = v;
        if (v > hi[j]) hi[j] = v;
      }
    }
    sevenBit = true;
    for (let j = 0; j < n; j++) {
      if (hi[j] - lo[j] > 127) {
        sevenBit = false;
        break;
      }
    }
    if (k === 0) lo.fill(0);
  }

  if (sevenBit && lo) {
    const kp = Math.ceil(k / 4) * 4;
    const ptr = rt.alloc(kp * np);
    const dst = rt.view(Int8Array, ptr, kp * np);
    dst.fill(0);
    const sum = new Int32Array(np);
    for (let i = 0; i < k; i++) {
      const row = i * n;
      const kq = (i >> 2) * 32 + (i & 3);
      for (let j = 0; j < n; j++) {
        const v = b[row + j] - shift - lo[j];
        const c = j & 7;
        dst[(j >> 3) * kp * 8 + kq + (c >> 2) * 16 + (c & 3) * 4] = v;
        sum[j] += v;
      }
    }
    return new Qs8Weights(rt, 'c4', k, n, kp, np, ptr, zbs, lo, sum);
  }

  const kp = Math.ceil(k / 2) * 2;
  if ((options.expectedM ?? 0) >= QS8_W16_MIN_M) {
    // w16: the c2 order with int16 elements (assembly/gemm/qs8-w16.ts)
    const ptr = rt.alloc(kp * np * 2);
    const dst = rt.view(Int16Array, ptr, kp * np);
    dst.fill(0);
    for (let i = 0; i < k; i++) {
      const row = i * n;
      const kq = (i >> 1) * 16 + (i & 1);
      for (let j = 0; j < n; j++) dst[(j >> 3) * kp * 8 + kq + (j & 7) * 2] = b[row + j] - shift;
    }
    return new Qs8Weights(rt, 'w16', k, n, kp, np, ptr, zbs, null, null);
  }
  const ptr = rt.alloc(kp * np);
  const dst = rt.view(Int8Array, ptr, kp * np);
  dst.fill(0);
  for (let i = 0; i < k; i++) {
    const row = i * n;
    const kq = (i >> 1) * 16 + (i & 1);
    for (let j = 0; j < n; j++) {
      dst[(j >> 3) * kp * 8 + kq + (j & 7) * 2] = b[row + j] - shift;
    }
  }
  return new Qs8Weights(rt, 'c2', k, n, kp, np, ptr, zbs, null, null);
}

/** What the kernel writes: int32 sums, 8-bit requantized values, or float32. */
export type Qs8Output =
  | { kind: 'int32' }
  | { kind: 'uint8' | 'int8'; multiplier: Float32Array; zeroPoint: number; bias?: Int32Array; relu?: boolean }
  | { kind: 'float32'; colScale: Float32Array; rowScale?: Float32Array; bias?: Float32Array; relu?: boolean; activation?: EpilogueActivation };

/** An activation applied in the float32 epilogue, then a per-column affine (kinds: assembly/util/act.ts). */
export interface EpilogueActivation {
  kind: number;
  alpha: number;
  beta: number;
  /** per-column scale and shift after the activation (length N), or none */
  scale?: Float32Array;
  shift?: Float32Array;
}

const OUT_KIND = { int32: QS8_OUT_I32, uint8: QS8_OUT_U8, int8: QS8_OUT_I8, float32: QS8_OUT_F32 } as const;

/**
 * out[M x N] = epilogue((A - za) * (W - zb)), A: M x K int8/uint8 row-major, one zero point za.
 * Returns a fresh typed array of the output kind.
 */
export async function runQs8(
  rt: KernelHost,
  a: Int8Array | Uint8Array,
  m: number,
  za: number,
  w: Qs8Weights,
  output: Qs8Output,
): Promise<Int32Array | Uint8Array | Int8Array | Float32Array> {
  if (w.disposed) throw new ArgumentError('runQs8: the packed weights were disposed');
  const { n } = w;
  const signed = a instanceof Int8Array;
  const elem = output.kind === 'int32' || output.kind === 'float32' ? 4 : 1;
  return rt.scoped(async (alloc) => {
    const aRaw = rt.putPadded(alloc, signed ? Int8Array : Uint8Array, a, a.length + 16);
    const out = alloc(Math.max(m * n * elem, 16));
    await qs8Gemm(rt, alloc, { m, a: aRaw, signed, za, w, output, out, outStride: n * elem });
    switch (output.kind) {
      case 'int32':
        return rt.read(Int32Array, out, m * n);
      case 'float32':
        return rt.read(Float32Array, out, m * n);
      case 'uint8':
        return rt.read(Uint8Array, out, m * n);
      case 'int8':
        return rt.read(Int8Array, out, m * n);
    }
  });
}


export interface Qs8GemmCall {
  m: number;
  /** byte address of A (M x K, row-major, int8 or uint8), readable 16 bytes past its end */
  a: number;
  signed: boolean;
  za: number;
  w: Qs8Weights;
  output: Qs8Output;
  /** A already staged for w's layout with its row sums: `a` is then unused. c2 and w16: int16 A - za, Kp per row;
   *  c4: int8 A - 128 (uint8 A, signed false) or A (int8), Kp per row (qs8_stage_c4, qs8-stage-c4f) */
  staged?: { ptr: number; rowSum: number };
  /** byte address of the output and its row stride in bytes */
  out: number;
  outStride: number;
}

/**
 * Quantizes m float32 rows (x, rows xStride bytes apart) to uint8 with ONNX QuantizeLinear's rounding,
 * q = clamp(nearest(x / scale) + zeroPoint, 0, 255), and stages them for `w` (c2 layout) as int16
 * q - zeroPoint into `staged` (m * w.kp * 2 bytes) with their row sums into `rowSum` (m int32):
 * what qs8Gemm takes as `staged`.
 */
export function qs8StageF32(rt: KernelHost, w: Qs8Weights, m: number, x: number, xStride: number, scale: number, zeroPoint: number, staged: number, rowSum: number): void {
  if (w.layout === 'c4') throw new ArgumentError(`qs8StageF32: the weights must be packed in the c2 or w16 layout (packQs8 with allowSevenBit: false), got ${w.layout}`);
  if (!Number.isInteger(m) || m < 0) throw new ArgumentError(`qs8StageF32: m must be a non-negative integer, got ${m}`);
  if (!(xStride >= w.k * 4)) throw new ArgumentError(`qs8StageF32: xStride must be >= K*4 = ${w.k * 4} bytes, got ${xStride}`);
  if (!Number.isInteger(zeroPoint) || zeroPoint < 0 || zeroPoint > 255) throw new ArgumentError(`qs8StageF32: zeroPoint must be an integer in [0, 255], got ${zeroPoint}`);
  // rows split across threads; work counts an element (a division, rounding, narrowing) as 16
  // multiply-adds, as the element-wise passes do, so a 960 x 240 layer input is worth sharing
  rt.parallelRowsNow(m, 1, (r0, r1) => ['qs8_stage_f32_c2', [r1 - r0, w.k, w.kp, x + r0 * xStride, xStride, scale, zeroPoint, staged + r0 * w.kp * 2, rowSum + r0 * 4]], 16, m * w.k * 16);
}

/**
 * The params block of a GEMM over `w` (assembly/params.ts) without its row sums (QS8_PRM_ROW_SUM is
 * 0): zero points folded into column terms, the output's scales, bias and activation, each array
 * placed with `alloc`. What qs8Gemm builds per call; a layer that calls with the same output every
 * time builds it once (src/layers/qs8-prepared.ts).
 */
export function qs8Params(rt: KernelHost, alloc: (bytes: number) => number, w: Qs8Weights, za: number, signed: boolean, output: Qs8Output): Int32Array {
  const { k, n, np } = w;
  const c4 = w.layout === 'c4';
  // fold zero points (see the formulas in assembly/gemm/qs8.ts)
  const colBias = new Int32Array(np);
  let colFactor: Int32Array | null = null;
  if (c4) {
    const d = signed ? -za : 128 - za;
    const e = new Int32Array(np);
    let any = false;
    for (let j = 0; j < n; j++) {
      e[j] = w.offset![j] - w.zb[j];
      if (e[j] !== 0) any = true;
      colBias[j] = (Math.imul(d, w.storedSum![j]) + Math.imul(Math.imul(k, d), e[j])) | 0;
    }
    if (any) colFactor = e;
  } else {
    for (let j = 0; j < n; j++) {
      if (w.zb[j] !== 0) {
        colFactor ??= new Int32Array(np);
        colFactor[j] = -w.zb[j];
      }
    }
  }
  if ((output.kind === 'uint8' || output.kind === 'int8') && output.bias) {
    // an int32 bias (QLinear-style, in accumulator units) folds into the column bias
    for (let j = 0; j < n; j++) colBias[j] = (colBias[j] + output.bias[j]) | 0;
  }

  // the params block (byte offsets QS8_PRM_*: assembly/params.ts). Allocate everything first: an
  // allocation may grow (and so detach) a non-shared memory under any view made before it.
  const params = new Int32Array(QS8_PRM_BYTES / 4);
  params[QS8_PRM_COL_BIAS / 4] = rt.putPadded(alloc, Int32Array, colBias, np);
  params[QS8_PRM_COL_FACTOR / 4] = colFactor ? rt.putPadded(alloc, Int32Array, colFactor, np) : 0;
  params[QS8_PRM_OUT_KIND / 4] = OUT_KIND[output.kind];
  if (output.kind === 'uint8' || output.kind === 'int8') {
    params[QS8_PRM_COL_SCALE / 4] = rt.putPadded(alloc, Float32Array, output.multiplier, np);
    params[QS8_PRM_OUT_ZP / 4] = output.zeroPoint;
    const [qmin, qmax] = output.kind === 'int8' ? [-128, 127] : [0, 255];
    params[QS8_PRM_QMIN / 4] = output.relu ? Math.max(qmin, output.zeroPoint) : qmin;
    params[QS8_PRM_QMAX / 4] = qmax;
  } else if (output.kind === 'float32') {
    params[QS8_PRM_COL_SCALE / 4] = rt.putPadded(alloc, Float32Array, output.colScale, np);
    if (output.rowScale) params[QS8_PRM_ROW_SCALE / 4] = rt.putPadded(alloc, Float32Array, output.rowScale, output.rowScale.length);
    if (output.bias) params[QS8_PRM_BIAS / 4] = rt.putPadded(alloc, Float32Array, output.bias, np);
    params[QS8_PRM_RELU / 4] = output.relu ? 1 : 0;
    const act = output.activation;
    if (act) {
      params[QS8_PRM_ACT / 4] = act.kind;
      const f = new Float32Array(params.buffer);
      f[QS8_PRM_ACT_ALPHA / 4] = act.alpha;
      f[QS8_PRM_ACT_BETA / 4] = act.beta;
      if (act.scale && act.shift) {
        params[QS8_PRM_POST_SCALE / 4] = rt.putPadded(alloc, Float32Array, act.scale, np);
        params[QS8_PRM_POST_SHIFT / 4] = rt.putPadded(alloc, Float32Array, act.shift, np);
      }
    }
  }
  return params;
}

/** The GEMM on buffers already in linear memory; `alloc` gives the call's scratch (staged A, params). */
export async function qs8Gemm(rt: KernelHost, alloc: (bytes: number) => number, call: Qs8GemmCall): Promise<void> {
  const { m, a, signed, za, w, output, out, outStride } = call;
  if (w.disposed) throw new ArgumentError('qs8Gemm: the packed weights were disposed');
  const { k, n, kp, np } = w;
  const c4 = w.layout === 'c4';
  const rowSum = call.staged ? call.staged.rowSum : alloc(Math.max(m, 1) * 4);
  const staged = call.staged ? call.staged.ptr : alloc(m * kp * (c4 ? 1 : 2));
  if (!call.staged) {
    const ab = c4 ? kp : kp * 2;
    rt.parallelRowsNow(m, 1, (r0, r1) => (c4
      ? ['qs8_stage_c4', [r1 - r0, k, kp, a + r0 * k, signed ? 1 : 0, staged + r0 * ab, rowSum + r0 * 4]]
      : ['qs8_stage_c2', [r1 - r0, k, kp, a + r0 * k, signed ? 1 : 0, za, staged + r0 * ab, rowSum + r0 * 4]]), 16, m * k);
  }

  const params = qs8Params(rt, alloc, w, za, signed, output);
  params[QS8_PRM_ROW_SUM / 4] = rowSum;
  const prm = rt.putPadded(alloc, Int32Array, params, params.length);
  // w16 reads A' in strips of 4 interleaved rows, laid out once per call from the row-major staging
  const w16 = w.layout === 'w16';
  const strips = w16 && m > 0 ? alloc(Math.ceil(m / 4) * 4 * kp * 2) : 0;
  if (w16 && m > 0) rt.kernels.qs8_pack_a4(m, kp, staged, kp * 2, strips);
  const fn = c4 ? 'qs8_gemm_4x8c4_relaxed' : w16 ? 'qs8_gemm_4x8w16' : 'qs8_gemm_4x8c2';
  const aStride = c4 ? kp : kp * 2;
  const aPtr = w16 ? strips : staged; // rows m0 (a multiple of 4 for w16) start at aPtr + m0 * aStride
  if (m > 0 && n > 0) {
    // columns, or rows from m0: A, the output and the per-row params (row sums, row scales) offset
    const rowsFrom = (m0: number): number => {
      if (m0 === 0) return prm;
      const p = params.slice();
      p[QS8_PRM_ROW_SUM / 4] += m0 * 4;
      if (p[QS8_PRM_ROW_SCALE / 4]) p[QS8_PRM_ROW_SCALE / 4] += m0 * 4;
      return rt.putPadded(alloc, Int32Array, p, p.length);
    };
    await rt.parallelGemm(m, n, 4, QS8_NR, (m0, m1, n0, n1) => [fn, [m1 - m0, n0, n1, kp, aPtr + m0 * aStride, aStride, w.ptr, rowsFrom(m0), out + m0 * outStride, outStride]], m * k * n);
  }
}

// ---------------------------------------------------------------------------------------------
// scalar references

/** sum_k (A[m][k] - za) * (B[k][n] - zb[n]), wrapping modulo 2^32 like int32 accumulation. */
export function refMatMulInteger(a: ArrayLike<number>, b: ArrayLike<number>, m: number, k: number, n: number, za: number, zb: ArrayLike<number>): Int32Array {
  const out = new Int32Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let t = 0; t < k; t++) s = (s + Math.imul(a[i * k + t] - za, b[t * n + j] - zb[j])) | 0;
      out[i * n + j] = s;
    }
  }
  return out;
}

/**
 * y = saturate(roundHalfEven(float32(acc + bias[n]) * mult[n]) + zp), in float32 as onnxruntime does;
 * with relu the output is also clamped below at zp (the quantized 0).
 */
export function refRequantize(
  acc: Int32Array, m: number, n: number, mult: ArrayLike<number>, zp: number, signed: boolean, bias?: ArrayLike<number>, relu = false,
): Uint8Array | Int8Array {
  const out = signed ? new Int8Array(m * n) : new Uint8Array(m * n);
  const qmin = relu ? Math.max(zp, signed ? -128 : 0) : signed ? -128 : 0;
  const qmax = signed ? 127 : 255;
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      const v = Math.fround(Math.fround((acc[i * n + j] + (bias ? bias[j] : 0)) | 0) * Math.fround(mult[j]));
      out[i * n + j] = Math.min(qmax, Math.max(qmin, roundHalfEven(v) + zp));
    }
  }
  return out;
}

/** y = float32(acc) * (rowScale[m] * colScale[n]) + bias[n] (then max(y, 0)), in float32. */
export function refDequantizeAcc(
  acc: Int32Array, m: number, n: number, colScale: ArrayLike<number>, rowScale?: ArrayLike<number>, bias?: ArrayLike<number>, relu = false,
): Float32Array {
  const out = new Float32Array(m * n);
  for (let i = 0; i < m; i++) {
    const rs = rowScale ? rowScale[i] : 1;
    for (let j = 0; j < n; j++) {
      let v = Math.fround(Math.fround(acc[i * n + j]) * Math.fround(rs * colScale[j]));
      if (bias) v = Math.fround(v + bias[j]);
      if (relu && v < 0) v = 0;
      out[i * n + j] = v;
    }
  }
  return out;
}
