// qb4: 4-bit block-quantized weights x int8 activations -> float32 (W4A8). Wraps
// assembly/gemm/qb4.ts: packs Int4Blocks into the nibble panels of the build, quantizes the float
// activations to int8 (per row, or per block as ggml's Q8_0 does), splits columns across threads.
// The scalar reference at the bottom reproduces the kernel's float32 arithmetic bit for bit.

import { ArgumentError, ShapeError, ValueRangeError } from '../errors.js';
import type { KernelHost } from '../runtime/host.js';
import { blocksOf, type Int4Blocks, type Int4Nibbles } from '../quant/int4.js';
import { roundHalfEven } from '../quant/rounding.js';
import { checkActivationScales, quantizeActBlocks, type ActivationBlocks } from './act-blocks.js';
import { PackedWeights } from './packed.js';

/** columns per panel of the relaxed c4 layout (and of the scale/zero-point panels that go with it) */
export const QB4_NR = 8;
/** columns per panel of the baseline s4 shift layout */
export const QB4_NR_S4 = 16;
export type Qb4Layout = 'c4' | 's4';

export type { ActivationBlocks };

export class Qb4Weights extends PackedWeights {
  constructor(
    private readonly host: KernelHost,
    readonly layout: Qb4Layout,
    readonly k: number,
    readonly n: number,
    readonly blockSize: number,
    /** K rounded up to whole blocks */
    readonly kp: number,
    readonly np: number,
    readonly ptr: number,
    readonly scalesPtr: number,
    /** 0 when symmetric (zero point 8) */
    readonly zerosPtr: number,
  ) {
    super(host, [ptr, scalesPtr, zerosPtr]);
  }

  /** The canonical blocks these weights were packed from, read back out of linear memory (packing is lossless). */
  unpack(): Int4Blocks {
    if (this.disposed) throw new ArgumentError('qb4 weights: unpack() after dispose()');
    const { host, k, n, kp, np, blockSize, blocks: nb } = this;
    const q = new Uint8Array(n * k);
    if (this.layout === 's4') unpackS4(host.view(Int16Array, this.ptr, (kp * np) / 4), q, k, n, kp);
    else unpackC4(host.view(Uint8Array, this.ptr, (kp * np) / 2), q, k, n, kp);
    const nr = this.nr, sh = Math.log2(nr);
    const sc = host.view(Float32Array, this.scalesPtr, np * nb), zs = this.zerosPtr ? host.view(Float32Array, this.zerosPtr, np * nb) : null;
    const scales = new Float32Array(n * nb), zeroPoints = zs ? new Uint8Array(n * nb) : null;
    for (let j = 0; j < n; j++) {
      for (let b = 0; b < nb; b++) {
        const at = ((j >> sh) * nb + b) * nr + (j & (nr - 1));
        scales[j * nb + b] = sc[at];
        if (zeroPoints) zeroPoints[j * nb + b] = zs![at];
      }
    }
    return { k, n, blockSize, q, scales, zeroPoints };
  }

  get blocks(): number {
    return this.kp / this.blockSize;
  }

  /** columns per panel */
  get nr(): number {
    return this.layout === 's4' ? QB4_NR_S4 : QB4_NR;
  }

  /** bytes of packed nibbles plus scales (and zero points) */
  get bytes(): number {
    return (this.kp * this.np) / 2 + this.np * this.blocks * 4 * (this.zerosPtr ? 2 : 1);
  }
}

/**
 * Packs canonical 4-bit blocks for this runtime's build (c4 nibble panels on relaxed, s4 shift panels
 * on baseline); or Int4Nibbles (a MatMulNBits file's B as it is), read without expanding the codes.
 */
export function packQb4(rt: KernelHost, w: Int4Blocks | Int4Nibbles, options: { layout?: Qb4Layout } = {}): Qb4Weights {
  rt.check();
  const { k, n, blockSize: bs } = w;
  if (bs % 8 !== 0 || bs < 16) throw new ArgumentError(`packQb4: block size must be a multiple of 8 from 16, got ${bs}`);
  const layout: Qb4Layout = options.layout ?? (rt.features.simd === 'relaxed' ? 'c4' : 's4');
  if (layout === 'c4' && rt.features.simd !== 'relaxed') throw new ArgumentError(`packQb4: layout c4 needs the relaxed build`);
  const nr = layout === 's4' ? QB4_NR_S4 : QB4_NR;
  const nb = blocksOf(k, bs);
  const kp = nb * bs;
  const np = Math.ceil(n / nr) * nr;
  const bytes = (kp * np) / 2;
  const ptr = rt.alloc(bytes);
  const code = codeOf(w, kp);
  if (layout === 's4') packS4(rt.view(Int16Array, ptr, bytes / 2), code, k, n, kp);
  else packC4(rt.view(Uint8Array, ptr, bytes), code, k, n, kp);
  // both allocations before any view: an allocation can grow (and detach) the memory under a view
  const scalesPtr = rt.alloc(np * nb * 4);
  const zerosPtr = w.zeroPoints ? rt.alloc(np * nb * 4) : 0;
  const sc = rt.view(Float32Array, scalesPtr, np * nb);
  sc.fill(0);
  const zs = zerosPtr ? rt.view(Float32Array, zerosPtr, np * nb) : null;
  zs?.fill(0);
  const sh = Math.log2(nr);
  for (let j = 0; j < n; j++) {
    for (let b = 0; b < nb; b++) {
      const at = ((j >> sh) * nb + b) * nr + (j & (nr - 1));
      const s = w.scales[j * nb + b];
      if (!Number.isFinite(s)) throw new ValueRangeError(`weights: scale of row ${j}, block ${b} is ${s}`);
      sc[at] = s;
      if (zs) zs[at] = w.zeroPoints![j * nb + b];
    }
  }
  return new Qb4Weights(rt, layout, k, n, bs, kp, np, ptr, scalesPtr, zerosPtr);
}

/** the 4-bit code of column j at K index t */
function codeOf(w: Int4Blocks | Int4Nibbles, kp: number): (j: number, t: number) => number {
  if ('q' in w) {
    const { q, k } = w;
    return (j, t) => q[j * k + t];
  }
  const { nibbles } = w, half = kp / 2;
  return (j, t) => (nibbles[j * half + (t >> 1)] >> ((t & 1) << 2)) & 15;
}

function checkNibble(v: number, j: number, t: number): void {
  if (!(v >= 0 && v <= 15)) throw new ValueRangeError(`weights: q[${j}][${t}] = ${v} is not a 4-bit value`);
}

/**
 * s4 (baseline): 16 columns per panel, 16 bytes (8 int16 lanes) per pair of K; lane l holds
 * k + (l & 1) of columns g, g + 4, g + 8, g + 12 (g = l >> 1) in nibbles 0..3, the last xor 8.
 * Empty slots (padding) hold 0x8000: every nibble decodes to 0.
 */
function packS4(dst: Int16Array, code: (j: number, t: number) => number, k: number, n: number, kp: number): void {
  dst.fill(-0x8000);
  const panel = kp * 4; // int16 lanes per panel of 16 columns (kp / 2 pairs of K, 8 lanes each)
  for (let j = 0; j < n; j++) {
    const c = j & 15;
    const base = (j >> 4) * panel + (c & 3) * 2;
    const shift = (c >> 2) * 4;
    const flip = c >= 12 ? 8 : 0;
    for (let t = 0; t < k; t++) {
      const v = code(j, t);
      checkNibble(v, j, t);
      const at = base + (t >> 1) * 8 + (t & 1);
      dst[at] = (dst[at] & ~(15 << shift)) | ((v ^ flip) << shift);
    }
  }
}

/** packS4 backwards: the nibble of column j at K index t into q[j * k + t] */
function unpackS4(src: Int16Array, q: Uint8Array, k: number, n: number, kp: number): void {
  const panel = kp * 4;
  for (let j = 0; j < n; j++) {
    const c = j & 15;
    const base = (j >> 4) * panel + (c & 3) * 2;
    const shift = (c >> 2) * 4;
    const flip = c >= 12 ? 8 : 0;
    for (let t = 0; t < k; t++) q[j * k + t] = ((src[base + (t >> 1) * 8 + (t & 1)] >> shift) & 15) ^ flip;
  }
}

/** packC4 backwards */
function unpackC4(src: Uint8Array, q: Uint8Array, k: number, n: number, kp: number): void {
  const panelBytes = kp * 4;
  for (let j = 0; j < n; j++) {
    const base = (j >> 3) * panelBytes;
    const c = j & 7;
    for (let t = 0; t < k; t++) {
      const byte = src[base + (t >> 3) * 32 + (c >> 2) * 16 + (c & 3) * 4 + (t & 3)];
      q[j * k + t] = (t & 4) !== 0 ? byte >> 4 : byte & 15;
    }
  }
}

/** c4 (relaxed): 8 columns per panel, 32 bytes per 8 values of K: columns 0-3 then 4-7, each column's k0..k3 in low nibbles, k4..k7 in high ones. */
function packC4(dst: Uint8Array, code: (j: number, t: number) => number, k: number, n: number, kp: number): void {
  dst.fill(0);
  const panelBytes = kp * 4;
  for (let j = 0; j < n; j++) {
    const base = (j >> 3) * panelBytes;
    const c = j & 7;
    for (let t = 0; t < k; t++) {
      const v = code(j, t);
      checkNibble(v, j, t);
      const byte = base + (t >> 3) * 32 + (c >> 2) * 16 + (c & 3) * 4 + (t & 3);
      dst[byte] |= (t & 4) !== 0 ? v << 4 : v;
    }
  }
}

export interface QuantizedActivations {
  /** int8 [M][kp], zero-padded */
  q: Int8Array;
  /** [M][blocks][2]: the block's scale sa and sa * sum(q) */
  meta: Float32Array;
}

/** Symmetric int8 quantization of A [M][K] with one scale per row or per (row, block). */
export function quantizeActivations(x: Float32Array, m: number, k: number, blockSize: number, scheme: ActivationBlocks): QuantizedActivations {
  const nb = blocksOf(k, blockSize);
  const kp = nb * blockSize;
  const q = new Int8Array(m * kp);
  const meta = new Float32Array(m * nb * 2);
  for (let i = 0; i < m; i++) {
    let rowMax = 0;
    if (scheme === 'per-row') {
      for (let t = 0; t < k; t++) rowMax = Math.max(rowMax, Math.abs(x[i * k + t]));
      if (!Number.isFinite(rowMax)) throw new ValueRangeError(`x: row ${i} contains NaN or Infinity`);
    }
    for (let b = 0; b < nb; b++) {
      const t0 = b * blockSize;
      const t1 = Math.min(k, t0 + blockSize);
      let amax = rowMax;
      if (scheme === 'per-block') {
        amax = 0;
        for (let t = t0; t < t1; t++) amax = Math.max(amax, Math.abs(x[i * k + t]));
        if (!Number.isFinite(amax)) throw new ValueRangeError(`x: row ${i}, block ${b} contains NaN or Infinity`);
      }
      const sa = amax > 0 ? Math.fround(amax / 127) : 1;
      let sum = 0;
      for (let t = t0; t < t1; t++) {
        const v = Math.max(-127, Math.min(127, roundHalfEven(Math.fround(x[i * k + t] / sa))));
        q[i * kp + t] = v;
        sum += v;
      }
      meta[(i * nb + b) * 2] = sa;
      meta[(i * nb + b) * 2 + 1] = Math.fround(sa * sum);
    }
  }
  return { q, meta };
}

/** y[M][N] = x[M][K] · Wᵀ (+ bias), W the 4-bit blocks, x quantized to int8 on the fly. */
export async function runQb4(
  rt: KernelHost, x: Float32Array, m: number, w: Qb4Weights, options: { bias?: Float32Array | null; activations?: ActivationBlocks } = {},
): Promise<Float32Array> {
  if (w.disposed) throw new ArgumentError('runQb4: the packed weights were disposed');
  const { k, n, np } = w;
  if (x.length !== m * k) throw new ShapeError(`x: expected M*K = ${m}*${k} values, got ${x.length}`);
  const bias = options.bias ?? null;
  if (bias && bias.length !== n) throw new ShapeError(`bias: expected ${n} values, got ${bias.length}`);
  const activations = options.activations ?? 'per-row';
  return rt.scoped(async (alloc) => {
    const px = alloc(Math.max(m * k * 4, 16));
    rt.view(Float32Array, px, m * k).set(x);
    const pb = bias ? rt.putPadded(alloc, Float32Array, bias, np) : 0;
    const out = alloc(m * np * 4);
    const meta = await qb4Gemm(rt, alloc, { m, x: px, w, bias: pb, out, activations });
    checkActivationScales(rt, meta, m, w.kp / w.blockSize, activations);
    if (np === n || m === 1) return rt.read(Float32Array, out, m === 1 ? n : m * n);
    const res = new Float32Array(m * n);
    const v = rt.view(Float32Array, out, m * np);
    for (let i = 0; i < m; i++) res.set(v.subarray(i * np, i * np + n), i * n);
    return res;
  });
}

/** float32 sums of x per block of a row, added in order (the W4A32 kernel's xsum). */
function blockSums(x: Float32Array, k: number, bs: number, nb: number, out = new Float32Array(nb)): Float32Array {
  for (let b = 0; b < nb; b++) {
    let s = 0;
    for (let t = b * bs; t < Math.min(k, (b + 1) * bs); t++) s = Math.fround(s + x[t]);
    out[b] = s;
  }
  return out;
}

/**
 * W4A32: y[M][N] = x[M][K] · Wᵀ (+ bias) with float32 activations (no activation quantization),
 * one row at a time — for decoding (M small) when int8 activations cost too much accuracy.
 */
/**
 * The W4A8 GEMM/GEMV on buffers already in linear memory: x [M, K] float32 (row stride K) is
 * quantized to int8 on the fly (per row, or per block) into `alloc`'d scratch; out receives
 * M rows of N padded to whole panels (row stride Np floats), bias included. Returns the address of
 * the activations' block scales and sums (checkActivationScales reads them).
 */
export async function qb4Gemm(rt: KernelHost, alloc: (bytes: number) => number, call: { m: number; x: number; w: Qb4Weights; bias: number; out: number; activations?: ActivationBlocks }): Promise<number> {
  const { m, x, w } = call;
  if (w.disposed) throw new ArgumentError('qb4Gemm: the packed weights were disposed');
  const { k, n, kp, np, blockSize: bs } = w;
  const c4 = w.layout === 'c4';
  const { a, aStride, meta } = quantizeActBlocks(rt, alloc, { x, m, k, kp, bs, scheme: call.activations ?? 'per-row', wide: !c4 });
  const fn = c4 ? 'qb4_gemm_4x8c4_relaxed' : 'qb4_gemm_2x16s4';
  const nr = w.nr;
  if (m === 1) {
    await rt.parallelColumns(n, nr, (n0, n1) => [fn, [1, n0, n1, kp, bs, a, aStride, meta, w.ptr, w.scalesPtr, w.zerosPtr, call.bias, call.out, 0]], 64, k * n);
    return meta;
  }
  // GEMM accumulates into rows of whole panels, first set to the bias
  const o = rt.view(Float32Array, call.out, m * np);
  const bv = call.bias ? rt.view(Float32Array, call.bias, np) : null;
  for (let i = 0; i < m; i++) {
    if (bv) o.set(bv, i * np);
    else o.fill(0, i * np, (i + 1) * np);
  }
  await rt.parallelColumns(n, nr, (n0, n1) => [fn, [m, n0, n1, kp, bs, a, aStride, meta, w.ptr, w.scalesPtr, w.zerosPtr, 0, call.out, np * 4]], nr, m * k * n);
  return meta;
}

/** From this many rows on, W4A32 decodes each panel once and runs the f32 tile over the rows (qb4_f32_gemm). */
export const QB4_F32_ROWS_MIN = 4;
/** Column pieces of the multi-row W4A32 at most (each decodes into its own K x 8 float32 panel). */
const QB4_F32_ROW_PIECES = 8;

/** Scratch qb4F32Gemm needs for M rows (its `alloc` calls). */
export function qb4F32GemmScratch(w: Qb4Weights, m: number): number {
  const { kp, blockSize: bs } = w;
  if (m >= QB4_F32_ROWS_MIN) return QB4_F32_ROW_PIECES * (kp * 32 + 64);
  return (kp + kp / bs) * 4 + 128;
}

/**
 * W4A32 on buffers already in linear memory: x [M, K] float32 (row stride K) times the 4-bit weights;
 * out receives M rows of N padded to whole panels (row stride Np floats), bias included. Below
 * QB4_F32_ROWS_MIN rows, one GEMV per row (it reads every weight once per row: decoding); from it on,
 * each 8 columns are decoded to float32 once and multiplied by every row (a prompt). Rows are copied
 * to zero-padded `alloc`'d scratch when the GEMV needs K a whole number of blocks.
 */
export function qb4F32Gemm(rt: KernelHost, alloc: (bytes: number) => number, call: { m: number; x: number; w: Qb4Weights; bias: number; out: number }): void {
  const { m, x, w } = call;
  if (w.disposed) throw new ArgumentError('qb4F32Gemm: the packed weights were disposed');
  const { k, kp, np, blockSize: bs } = w;
  const s4 = w.layout === 's4' ? 1 : 0;
  if (m >= QB4_F32_ROWS_MIN) {
    // at most QB4_F32_ROW_PIECES pieces, each with its own decoded panel
    const minColumns = Math.max(w.nr, Math.ceil(w.n / QB4_F32_ROW_PIECES / w.nr) * w.nr);
    rt.parallelColumnsNow(w.n, w.nr, (n0, n1) => ['qb4_f32_gemm', [m, n0, n1 === w.n ? np : n1, k, kp, bs, s4, x, k * 4, w.ptr, w.scalesPtr, w.zerosPtr, call.bias, call.out, np * 4, alloc(kp * 32)]], minColumns, m * k * w.n);
    return;
  }
  const nb = kp / bs;
  const px = kp === k ? 0 : alloc(kp * 4);
  const ps = alloc(nb * 4);
  // a decode step runs ~100 of these: one thread's call allocates nothing (no views, closures or argument lists)
  const alone = rt.runsAlone(k * w.n);
  for (let i = 0; i < m; i++) {
    const xi = x + i * k * 4;
    const mem = rt.f32();
    blockSumsAt(mem, xi >> 2, k, bs, nb, ps >> 2);
    if (px) {
      mem.copyWithin(px >> 2, xi >> 2, (xi >> 2) + k);
      mem.fill(0, (px >> 2) + k, (px >> 2) + kp);
    }
    const out = call.out + i * np * 4;
    if (alone) rt.kernels.qb4_f32_gemv(0, w.n, kp, bs, s4, px || xi, ps, w.ptr, w.scalesPtr, w.zerosPtr, call.bias, out);
    else rt.parallelColumnsNow(w.n, w.nr, (n0, n1) => ['qb4_f32_gemv', [n0, n1, kp, bs, s4, px || xi, ps, w.ptr, w.scalesPtr, w.zerosPtr, call.bias, out]], 64, k * w.n);
  }
}

/** blockSums of the K floats at mem[x..] into mem[out..] (indices, not addresses): the same sums, in place in linear memory. */
function blockSumsAt(mem: Float32Array, x: number, k: number, bs: number, nb: number, out: number): void {
  for (let b = 0; b < nb; b++) {
    let s = 0;
    for (let t = b * bs; t < Math.min(k, (b + 1) * bs); t++) s = Math.fround(s + mem[x + t]);
    mem[out + b] = s;
  }
}

export async function runQb4F32(rt: KernelHost, x: Float32Array, m: number, w: Qb4Weights, bias: Float32Array | null = null): Promise<Float32Array> {
  if (w.disposed) throw new ArgumentError('runQb4F32: the packed weights were disposed');
  const { k, n, np } = w;
  if (x.length !== m * k) throw new ShapeError(`x: expected M*K = ${m}*${k} values, got ${x.length}`);
  if (bias && bias.length !== n) throw new ShapeError(`bias: expected ${n} values, got ${bias.length}`);
  for (let i = 0; i < x.length; i++) if (!Number.isFinite(x[i])) throw new ValueRangeError(`x: element ${i} is ${x[i]}`);
  const y = new Float32Array(m * n);
  await rt.scoped(async (alloc) => {
    const px = alloc(Math.max(m * k, 1) * 4);
    const pb = bias ? rt.putPadded(alloc, Float32Array, bias, np) : 0;
    const out = alloc(Math.max(m, 1) * np * 4);
    rt.view(Float32Array, px, m * k).set(x);
    qb4F32Gemm(rt, alloc, { m, x: px, w, bias: pb, out });
    const o = rt.view(Float32Array, out, m * np);
    for (let i = 0; i < m; i++) y.set(o.subarray(i * np, i * np + n), i * n);
  });
  return y;
}

/** The W4A32 kernel's float32 arithmetic, scalar: bit-exact with both layouts, every CPU and thread count (the GEMV per row below QB4_F32_ROWS_MIN rows, the decoded-panel path from it on). */
export function refQb4F32(x: Float32Array, m: number, w: Int4Blocks, bias: Float32Array | null): Float32Array {
  const f = Math.fround;
  const { k, n, blockSize: bs } = w;
  const nb = blocksOf(k, bs);
  const y = new Float32Array(m * n);
  if (m >= QB4_F32_ROWS_MIN) {
    // the multi-row path: each weight decoded to f32 (s * (q - z)), products added in K order, then the bias
    for (let j = 0; j < n; j++) {
      const wj = new Float32Array(k);
      for (let t = 0; t < k; t++) {
        const b = Math.floor(t / bs);
        wj[t] = (w.q[j * k + t] - (w.zeroPoints ? w.zeroPoints[j * nb + b] : 8)) * w.scales[j * nb + b];
      }
      for (let i = 0; i < m; i++) {
        let acc = 0;
        for (let t = 0; t < k; t++) acc = f(acc + f(x[i * k + t] * wj[t]));
        y[i * n + j] = f(acc + (bias ? bias[j] : 0));
      }
    }
    return y;
  }
  for (let i = 0; i < m; i++) {
    const row = x.subarray(i * k, (i + 1) * k);
    const xs = blockSums(row, k, bs, nb);
    for (let j = 0; j < n; j++) {
      let acc = bias ? bias[j] : 0;
      for (let b = 0; b < nb; b++) {
        const sj = [0, 0, 0, 0];
        for (let t = b * bs; t < Math.min(k, (b + 1) * bs); t++) sj[t & 3] = f(sj[t & 3] + f(w.q[j * k + t] * row[t]));
        const dot = f(f(sj[0] + sj[1]) + f(sj[2] + sj[3]));
        const z = w.zeroPoints ? w.zeroPoints[j * nb + b] : 8;
        acc = f(acc + f(w.scales[j * nb + b] * f(dot - f(z * xs[b]))));
      }
      y[i * n + j] = acc;
    }
  }
  return y;
}

/**
 * The kernel's arithmetic in scalar float32: per block, y += s * (sa * acc - z * asum), starting
 * from the bias, blocks in order. Bit-exact with every build, thread count and CPU.
 */
export function refQb4(x: Float32Array, m: number, w: Int4Blocks, bias: Float32Array | null, scheme: ActivationBlocks): Float32Array {
  const f = Math.fround;
  const { k, n, blockSize: bs } = w;
  const nb = blocksOf(k, bs);
  const kp = nb * bs;
  const act = quantizeActivations(x, m, k, bs, scheme);
  const y = new Float32Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let acc = bias ? bias[j] : 0;
      for (let b = 0; b < nb; b++) {
        let dot = 0;
        for (let t = b * bs; t < Math.min(k, (b + 1) * bs); t++) dot += act.q[i * kp + t] * w.q[j * k + t];
        const sa = act.meta[(i * nb + b) * 2];
        const asum = act.meta[(i * nb + b) * 2 + 1];
        const z = w.zeroPoints ? w.zeroPoints[j * nb + b] : 8;
        acc = f(acc + f(w.scales[j * nb + b] * f(f(sa * dot) - f(z * asum))));
      }
      y[i * n + j] = acc;
    }
  }
  return y;
}
