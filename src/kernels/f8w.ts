// f8w: 8-bit float weights (OCP E4M3FN / E5M2 codes, or FPx codes of any split E1M6 … E5M2; one
// float32 scale per output column) x float32 activations -> float32, GEMM and GEMV with bias and
// clamp. Wraps assembly/gemm/f8w.ts (one variant per exponent width; panels of 16 columns, K-major,
// raw codes; the layout picture and the exactness argument are there).
//
//   y[m][n] = clamp(scale[n] * sum_k x[m][k] * fp8(W[k][n]) + bias[n], lo, hi)
//
// Baseline build: bit-identical to refF8w below (float32, k in increasing order, one accumulator,
// products rounded, then * scale, + bias, clamp) for every M, column split and thread count, as long
// as no product |x * fp8(w)| is below 2^-62 (nonzero) and |x| < 2^72. Relaxed build: the products are
// fused into the sums (FMA), so within the float32 summation error of that value.

import { ArgumentError, LowbitError, ShapeError, ValueRangeError } from '../errors.js';
import type { KernelHost } from '../runtime/host.js';
import { decodeFp8, encodeFp8, FP8, FP8_FORMATS, type Fp8Format } from '../quant/fp8.js';
import {
  checkFp8wDims as checkDims, checkFp8wFormat as checkFormat, F8W_MAX_SCALE as MAX_SCALE, f8wBadCode, f8wExponentBits, f8wTable, quantizeF8w,
  type F8wFormat, type F8wQuantized, type QuantizeF8wOptions,
} from '../quant/fp8-weights.js';

export { dequantizeF8w, quantizeF8w, F8W_FORMATS, type F8wFormat, type F8wQuantized, type QuantizeF8wOptions } from '../quant/fp8-weights.js';
import { decodeFp8Wasm, encodeFp8Wasm } from './fp8.js';
import { PackedWeights } from './packed.js';

export const F8W_NR = 16;

/**
 * 2^c that the activations are staged with (x' = x * 2^c), per exponent width e and M: the plain
 * decode gives a code's value times 2^(b0 - 127), b0 = 2^(e-1) - 1, so c = 63 - b0 puts every
 * product 2^64 below x * w (E4M3 56, E5M2 48, E3M4 60, E2M5 62, E1M6 63); the normalising decode
 * (e <= 3 with M > 8, assembly/gemm/f8w.ts) gives the value times 2^-64 already, so c = 0.
 */
const stageExp = (e: number, m: number) => (e <= 3 && m > 8 ? 0 : 63 - (2 ** (e - 1) - 1));
/** The column scale is stored times 2^64 (exact for |scale| < 2^64). */
const SCALE_FOLD = 2 ** 64;
type F8wKernel = 'f8w_e1m6_gemm_4x8' | 'f8w_e2m5_gemm_4x8' | 'f8w_e3m4_gemm_4x8' | 'f8w_e4m3_gemm_4x8' | 'f8w_e5m2_gemm_4x8';
/** the variant per exponent width */
const KERNEL: readonly F8wKernel[] = ['f8w_e1m6_gemm_4x8', 'f8w_e1m6_gemm_4x8', 'f8w_e2m5_gemm_4x8', 'f8w_e3m4_gemm_4x8', 'f8w_e4m3_gemm_4x8', 'f8w_e5m2_gemm_4x8'];

/** FP8 weights packed for the f8w kernels; see assembly/gemm/f8w.ts for the byte layout. */
export class F8wWeights extends PackedWeights {
  constructor(
    rt: KernelHost,
    readonly format: F8wFormat,
    readonly k: number,
    readonly n: number,
    /** N rounded up to 16 */
    readonly np: number,
    /** the packed codes (k * np bytes) */
    readonly ptr: number,
    /** the column scales times 2^64, padded to np */
    readonly scalePtr: number,
    /** the column scales (length n) */
    readonly scales: Float32Array,
  ) {
    super(rt, [ptr, scalePtr]);
  }

  /** bytes of linear memory held: the codes and the scales */
  get bytes(): number {
    return this.k * this.np + this.np * 4;
  }
}

export interface PackF8wOptions extends QuantizeF8wOptions {}

/**
 * Packs 8-bit float weights for runF8w / f8wGemm. `w` is either float32 W (K x N, or N x K with
 * `transposed`), quantized with quantizeF8w (per-column scales: given, or absmax / max finite), or
 * codes (Uint8Array, same shapes) with `scales` required. NaN/Inf weights or (OCP) codes are errors.
 */
export function packF8w(rt: KernelHost, w: Float32Array | Uint8Array | F8wQuantized, k: number, n: number, options: PackF8wOptions = {}): F8wWeights {
  rt.check();
  const fn = 'packF8w';
  let q: F8wQuantized;
  if (w instanceof Float32Array) {
    q = quantizeF8w(w, k, n, options);
  } else {
    let codes: Uint8Array;
    let scalesIn: ArrayLike<number> | undefined;
    let format: F8wFormat;
    let transposed = options.transposed === true;
    if (w instanceof Uint8Array) {
      codes = w;
      scalesIn = options.scales;
      format = checkFormat(fn, options.format ?? 'e4m3fn');
    } else if (w && typeof w === 'object' && (w as F8wQuantized).codes instanceof Uint8Array) {
      codes = w.codes;
      scalesIn = w.scales;
      format = checkFormat(fn, w.format);
      if (w.k !== k || w.n !== n) throw new ShapeError(`${fn}: the quantized weights are ${w.k} x ${w.n}, expected K x N = ${k} x ${n}`);
      transposed = false;
    } else {
      throw new ArgumentError(`${fn}: W must be a Float32Array (weights), a Uint8Array (FP8 codes) or quantizeF8w's result`);
    }
    checkDims(fn, k, n);
    if (codes.length !== k * n) throw new ShapeError(`${fn}: codes has ${codes.length} elements, expected K*N = ${k}*${n} = ${k * n}`);
    if (scalesIn == null) throw new ArgumentError(`${fn}: FP8 codes need options.scales (one per output column, N = ${n})`);
    if (scalesIn.length !== n) throw new ShapeError(`${fn}: scales has ${scalesIn.length} elements, expected N = ${n}`);
    const scales = Float32Array.from(scalesIn);
    for (let j = 0; j < n; j++) {
      if (!Number.isFinite(scales[j]) || Math.abs(scales[j]) >= MAX_SCALE) {
        throw new ValueRangeError(`${fn}: scales[${j}] is ${scalesIn[j]}; expected finite with |scale| < 2^63`);
      }
    }
    for (let i = 0; i < codes.length; i++) {
      const bad = f8wBadCode(codes[i], format);
      if (bad) {
        const [r, col] = transposed ? [i % k, Math.floor(i / k)] : [Math.floor(i / n), i % n];
        throw new ValueRangeError(`${fn}: code 0x${codes[i].toString(16).padStart(2, '0')} at W[${r}][${col}] is ${bad} in ${format}; FP8 weights must be finite`);
      }
    }
    if (transposed) {
      const t = new Uint8Array(k * n);
      for (let j = 0; j < n; j++) for (let i = 0; i < k; i++) t[i * n + j] = codes[j * k + i];
      codes = t;
    }
    q = { format, k, n, codes, scales };
  }

  const np = Math.ceil(q.n / F8W_NR) * F8W_NR;
  // allocate both blocks before making views (an allocation may grow and detach the memory)
  const ptr = rt.alloc(Math.max(q.k * np, 16));
  let scalePtr: number;
  try {
    scalePtr = rt.alloc(np * 4);
  } catch (e) {
    rt.free(ptr);
    throw e;
  }
  const dst = rt.view(Uint8Array, ptr, q.k * np);
  dst.fill(0);
  const { codes } = q;
  for (let i = 0; i < q.k; i++) {
    const row = i * q.n;
    for (let j = 0; j < q.n; j++) dst[(j >> 4) * q.k * 16 + i * 16 + (j & 15)] = codes[row + j];
  }
  const sv = rt.view(Float32Array, scalePtr, np);
  sv.fill(0);
  for (let j = 0; j < q.n; j++) sv[j] = q.scales[j] * SCALE_FOLD;
  return new F8wWeights(rt, q.format, q.k, q.n, np, ptr, scalePtr, Float32Array.from(q.scales));
}

function checkClamp(fn: string, lo: number, hi: number): void {
  if (typeof lo !== 'number' || Number.isNaN(lo)) throw new ValueRangeError(`${fn}: lo must be a number (not NaN), got ${String(lo)}`);
  if (typeof hi !== 'number' || Number.isNaN(hi)) throw new ValueRangeError(`${fn}: hi must be a number (not NaN), got ${String(hi)}`);
  if (lo > hi) throw new ValueRangeError(`${fn}: lo (${lo}) must be <= hi (${hi})`);
}

/** y[M x N] = clamp(x[M x K] * dequant(W) + bias, lo, hi), as a new Float32Array. */
export async function runF8w(
  rt: KernelHost, x: Float32Array, m: number, w: F8wWeights, bias?: Float32Array | null, lo = -Infinity, hi = Infinity,
): Promise<Float32Array> {
  const fn = 'runF8w';
  if (!(w instanceof F8wWeights)) throw new ArgumentError(`${fn}: weights must come from packF8w`);
  if (w.disposed) throw new LowbitError('ERR_DISPOSED', `${fn}: the packed weights were disposed`);
  if (!Number.isInteger(m) || m < 0) throw new ShapeError(`${fn}: M must be a non-negative integer, got ${m}`);
  if (!(x instanceof Float32Array)) throw new ArgumentError(`${fn}: x must be a Float32Array`);
  const { k, n } = w;
  if (x.length !== m * k) throw new ShapeError(`${fn}: x has ${x.length} elements, expected M*K = ${m}*${k} = ${m * k}`);
  if (bias != null && (!(bias instanceof Float32Array) || bias.length !== n)) {
    throw new ShapeError(`${fn}: bias must be a Float32Array of N = ${n} elements, got ${bias instanceof Float32Array ? bias.length : typeof bias}`);
  }
  checkClamp(fn, lo, hi);
  return rt.scoped(async (alloc) => {
    const px = alloc(Math.max(m * k * 4, 16));
    rt.view(Float32Array, px, m * k).set(x);
    const out = alloc(Math.max(m * n * 4, 16));
    await f8wGemm(rt, alloc, { m, x: px, w, out, outStride: n * 4, bias, lo, hi });
    return rt.read(Float32Array, out, m * n);
  });
}

export interface F8wGemmCall {
  m: number;
  /** byte address of x (M rows of K float32) and its row stride in bytes (default K * 4) */
  x: number;
  xStride?: number;
  w: F8wWeights;
  /** byte address of the output (M rows of N float32) and its row stride in bytes */
  out: number;
  outStride: number;
  /** N float32: an array, or the byte address of N float32 in linear memory */
  bias?: Float32Array | number | null;
  lo?: number;
  hi?: number;
}

/**
 * The GEMM on buffers already in linear memory (for model layers). `alloc`, when given, supplies the
 * call's scratch (the staged activations, the padded bias, decode blocks), freed by its owner;
 * without it the call uses (and frees) its own. Columns are split across the runtime's threads.
 */
export function f8wGemm(rt: KernelHost, call: F8wGemmCall): Promise<void>;
export function f8wGemm(rt: KernelHost, alloc: (bytes: number) => number, call: F8wGemmCall): Promise<void>;
export async function f8wGemm(rt: KernelHost, a: ((bytes: number) => number) | F8wGemmCall, b?: F8wGemmCall): Promise<void> {
  if (typeof a !== 'function') return rt.scoped((alloc) => gemm(rt, alloc, a));
  if (b == null) throw new ArgumentError('f8wGemm: the call description is missing');
  return gemm(rt, a, b);
}

async function gemm(rt: KernelHost, alloc: (bytes: number) => number, call: F8wGemmCall): Promise<void> {
  const fn = 'f8wGemm';
  const { m, x, w, out, outStride } = call;
  const lo = call.lo ?? -Infinity;
  const hi = call.hi ?? Infinity;
  rt.check();
  if (!(w instanceof F8wWeights)) throw new ArgumentError(`${fn}: weights must come from packF8w`);
  if (w.disposed) throw new LowbitError('ERR_DISPOSED', `${fn}: the packed weights were disposed`);
  const { k, n, np } = w;
  const xStride = call.xStride ?? k * 4;
  if (!Number.isInteger(m) || m < 0) throw new ShapeError(`${fn}: M must be a non-negative integer, got ${m}`);
  if (!Number.isInteger(xStride) || xStride < k * 4) throw new ShapeError(`${fn}: xStride must be an integer >= K*4 = ${k * 4} bytes, got ${xStride}`);
  if (!Number.isInteger(outStride) || outStride < n * 4) throw new ShapeError(`${fn}: outStride must be an integer >= N*4 = ${n * 4} bytes, got ${outStride}`);
  const size = rt.memory.buffer.byteLength;
  const inRange = (p: number, bytes: number) => Number.isInteger(p) && p > 0 && p + bytes <= size;
  if (m > 0) {
    const xBytes = (m - 1) * xStride + k * 4;
    const outBytes = (m - 1) * outStride + n * 4;
    if (!inRange(x, xBytes)) throw new ArgumentError(`${fn}: x = ${x} with ${xBytes} bytes is not inside linear memory (${size} bytes)`);
    if (!inRange(out, outBytes)) throw new ArgumentError(`${fn}: out = ${out} with ${outBytes} bytes is not inside linear memory (${size} bytes)`);
  }
  const bias = call.bias;
  if (typeof bias === 'number') {
    if (!inRange(bias, n * 4)) throw new ArgumentError(`${fn}: bias = ${bias} with N*4 = ${n * 4} bytes is not inside linear memory (${size} bytes)`);
  } else if (bias != null && (!(bias instanceof Float32Array) || bias.length !== n)) {
    throw new ShapeError(`${fn}: bias must be a Float32Array of N = ${n} elements or a byte address`);
  }
  checkClamp(fn, lo, hi);
  if (m === 0) return;
  const staged = alloc(Math.max(m * k * 4, 16));
  let pb = 0;
  if (bias instanceof Float32Array) pb = rt.putPadded(alloc, Float32Array, bias, np);
  else if (typeof bias === 'number') {
    pb = alloc(np * 4); // the kernel reads whole groups of 8: copy into a padded block
    const v = rt.view(Uint8Array, pb, np * 4);
    v.fill(0);
    v.set(rt.view(Uint8Array, bias, n * 4)); // bytes: the address need not be 4-aligned
  }
  const e = f8wExponentBits(w.format);
  rt.kernels.f8w_stage_f32(x, m, k, xStride, 2 ** stageExp(e, m), staged);
  const name = KERNEL[e];
  // M > 8 (3+ row strips): each call decodes 8 columns at a time into its own scratch, once
  const scratch = () => (m > 8 ? alloc(Math.max(k * 32, 16)) : 0);
  // GEMV streams W: give each thread at least 64 columns; GEMM splits at panel granularity
  await rt.parallelColumns(n, F8W_NR, (n0, n1) => [name, [m, n0, n1, k, staged, k * 4, w.ptr, out, outStride, w.scalePtr, pb, lo, hi, scratch()]], m === 1 ? 64 : F8W_NR, m * k * n);
}

// ---------------------------------------------------------------------------------------------
// FP8 x FP8: the activations also go through FP8, per row, with a power-of-two scale
//
// Row m is stored as codes c = fp8(x[m][k] / 2^e[m]), e[m] = ceil(log2(absmax of the row / max)), and
// used as x^[m][k] = fp8(c) * 2^e[m] (exact). With a power-of-two scale every product
// x^ * fp8(w) has at most 8 significant bits, so it is exact in float32: only the sums, the column
// scale and the bias round. (A power-of-two scale costs FP8 nothing in relative precision; it only
// moves where the row's largest value lands below max, by less than one binade.) The decoded
// activations then run through the f8w kernel: decoding them again inside the kernel would redo
// each one N/16 times (once per panel), decoding once per call does it once.

export interface F8ActivationsQuantized {
  format: Fp8Format;
  /** M x K codes */
  codes: Uint8Array;
  /** per row: the scale 2^e */
  rowScales: Float32Array;
  /** M x K: fp8(code) * rowScale, exact */
  values: Float32Array;
}

/** FP8 activations are OCP E4M3FN or E5M2 */
function checkActFormat(fn: string, format: unknown): Fp8Format {
  if (!(FP8_FORMATS as readonly unknown[]).includes(format)) throw new ArgumentError(`${fn}: format must be 'e4m3fn' or 'e5m2', got ${typeof format === 'string' ? `'${format}'` : String(format)}`);
  return format as Fp8Format;
}

function rowExponents(fn: string, x: Float32Array, m: number, k: number, format: Fp8Format): Float32Array {
  const max = FP8[format].max;
  const rowScales = new Float32Array(m);
  for (let i = 0; i < m; i++) {
    let a = 0;
    for (let j = 0; j < k; j++) {
      const v = x[i * k + j];
      if (!Number.isFinite(v)) throw new ValueRangeError(`${fn}: x[${i}][${j}] is ${v}; FP8 activations must be finite`);
      a = Math.max(a, Math.abs(v));
    }
    let e = a > 0 ? Math.ceil(Math.log2(a / max)) : 0;
    while (e < 127 && a > max * 2 ** e) e++;
    while (e > -126 && a <= max * 2 ** (e - 1)) e--;
    rowScales[i] = 2 ** e;
  }
  return rowScales;
}

/** FP8 activations with per-row power-of-two scales (the TS codec; runF8f8 does the same in wasm). */
export function quantizeF8Activations(x: Float32Array, m: number, k: number, format: Fp8Format = 'e4m3fn'): F8ActivationsQuantized {
  const fn = 'quantizeF8Activations';
  checkActFormat(fn, format);
  if (!(x instanceof Float32Array) || x.length !== m * k) throw new ShapeError(`${fn}: x must be a Float32Array of M*K = ${m}*${k} elements`);
  const rowScales = rowExponents(fn, x, m, k, format);
  const scaled = new Float32Array(m * k);
  for (let i = 0; i < m; i++) for (let j = 0; j < k; j++) scaled[i * k + j] = x[i * k + j] / rowScales[i];
  const codes = encodeFp8(scaled, format, true);
  const values = decodeFp8(codes, format);
  for (let i = 0; i < m; i++) for (let j = 0; j < k; j++) values[i * k + j] *= rowScales[i];
  return { format, codes, rowScales, values };
}

export interface RunF8f8Options {
  /** the activations' FP8 format (default 'e4m3fn'; the weights keep theirs) */
  format?: Fp8Format;
  bias?: Float32Array | null;
  lo?: number;
  hi?: number;
}

/**
 * FP8 x FP8: y = clamp(x^ * dequant(W) + bias, lo, hi) with x^ the FP8 round trip of x per row
 * (see quantizeF8Activations); bit-identical (baseline) to refF8w on quantizeF8Activations(x).values.
 */
export async function runF8f8(rt: KernelHost, x: Float32Array, m: number, w: F8wWeights, options: RunF8f8Options = {}): Promise<Float32Array> {
  const fn = 'runF8f8';
  const format = checkActFormat(fn, options.format ?? 'e4m3fn');
  if (!(w instanceof F8wWeights)) throw new ArgumentError(`${fn}: weights must come from packF8w`);
  if (!Number.isInteger(m) || m < 0) throw new ShapeError(`${fn}: M must be a non-negative integer, got ${m}`);
  const { k } = w;
  if (!(x instanceof Float32Array) || x.length !== m * k) throw new ShapeError(`${fn}: x must be a Float32Array of M*K = ${m}*${k} elements, got ${x instanceof Float32Array ? x.length : typeof x}`);
  const rowScales = rowExponents(fn, x, m, k, format);
  const scaled = new Float32Array(m * k);
  for (let i = 0; i < m; i++) {
    const inv = 1 / rowScales[i]; // a power of two: exact
    for (let j = 0; j < k; j++) scaled[i * k + j] = x[i * k + j] * inv;
  }
  const values = await decodeFp8Wasm(rt, await encodeFp8Wasm(rt, scaled, format, true), format);
  for (let i = 0; i < m; i++) {
    const s = rowScales[i];
    for (let j = 0; j < k; j++) values[i * k + j] *= s;
  }
  return runF8w(rt, values, m, w, options.bias, options.lo, options.hi);
}

// ---------------------------------------------------------------------------------------------
// scalar reference

/**
 * What the baseline kernel computes, in the same order and float32 roundings: for each output,
 * acc = 0; acc = f32(acc + f32(x * fp8(code))) for k = 0..K-1; y = f32(acc * scale); y = f32(y + bias)
 * (+0 without bias); then y < lo ? lo : y, then hi < y ? hi : y. codes K x N row-major.
 */
export function refF8w(
  x: ArrayLike<number>, m: number, q: { format: F8wFormat; k: number; n: number; codes: Uint8Array; scales: ArrayLike<number> },
  bias?: ArrayLike<number> | null, lo = -Infinity, hi = Infinity,
): Float32Array {
  const { k, n, codes } = q;
  const table = f8wTable(q.format);
  const f = Math.fround;
  const out = new Float32Array(m * n);
  const xs = Float32Array.from(x as ArrayLike<number>);
  const flo = f(lo);
  const fhi = f(hi);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let acc = 0;
      for (let t = 0; t < k; t++) acc = f(acc + f(xs[i * k + t] * table[codes[t * n + j]]));
      let y = f(f(acc * f(q.scales[j])) + (bias ? f(bias[j]) : 0));
      if (y < flo) y = flo;
      if (fhi < y) y = fhi;
      out[i * n + j] = y;
    }
  }
  return out;
}
