// lut4: table-driven 4-bit weights (any 16 int8 values: int4, PoT4, flint4, a learned codebook)
// x int8 activations -> float32. Wraps assembly/gemm/lut4.ts (see its header for the arithmetic,
// the layouts and why the table, offset to U = T - min(T), is the relaxed dot's 7-bit operand):
// validates and packs codes + scales + table into 8-column panels, quantizes the float activations
// to int8 per row or per block, splits columns across threads. The scalar reference at the bottom
// reproduces the kernel's arithmetic bit for bit (exact int32 block sums, then the same float32
// operations in the same order).
//
//   y[m][n] = bias[n] + sum_b scales[n][b] * (sa[m][b] * sum_{k in b} table[code[n][k]] * q[m][k])
//
// One table per tensor. Per-channel tables (ANT's per-channel type selection) are not supported:
// one i8x16.swizzle decodes 16 codes with one table, and both layouts put 4 or 8 columns in a
// vector; a table per column needs a layout with one column per vector (e.g. 32 values of K of a
// column per 16 bytes, activations loaded once and shared by the 8 columns, a horizontal reduction
// per block), which is left for later. lut4FromAnt refuses tensors whose channels differ in type.

import { ArgumentError, DTypeError, ShapeError, ValueRangeError, describe } from '../errors.js';
import type { Runtime } from '../runtime/runtime.js';
import type { AntQuantized } from '../quant/ant.js';
import { checkActivationScales, quantizeActivations, type ActivationBlocks } from './qb4.js';

export const LUT4_NR = 8;
/** largest block (and per-channel K): |acc| <= bs * 127 * 255 must fit int32 */
export const LUT4_MAX_BLOCK = 65536;
/** bytes before the panels: the table U = T + offset */
const LUT4_HEADER = 16;

/** What packLut4 takes: 4-bit codes [N][K] (one per byte, or two per byte as ant.ts packs them), scales, one table. */
export interface Lut4Source {
  /** output channels (rows of the [N, K] weight) */
  readonly n: number;
  /** inner dimension */
  readonly k: number;
  /** codes 0..15, [N][K], one per byte */
  readonly codes?: Uint8Array;
  /** or codes packed two per byte, [N][ceil(K / 2)]: element 2i low nibble, 2i+1 high (packAntCodes) */
  readonly packed?: Uint8Array;
  /** float32 [N][blocks]: one scale per output channel and block of K */
  readonly scales: Float32Array;
  /** code -> int8 value, 16 entries, shared by every channel */
  readonly table: Int8Array;
  /** values of K per scale: a power of two from 32 to 256, or 'channel' (one block of K) */
  readonly blockSize: number | 'channel';
}

/** Block size in values of K for a source: 'channel' is K rounded up to 32. */
export function lut4BlockSize(k: number, blockSize: number | 'channel'): number {
  return blockSize === 'channel' ? Math.ceil(k / 32) * 32 : blockSize;
}

export class Lut4Weights {
  private live = true;
  constructor(
    readonly runtime: Runtime,
    readonly layout: 'c2' | 'c4',
    readonly k: number,
    readonly n: number,
    /** K per block (per channel: K rounded up to 32) */
    readonly blockSize: number,
    readonly kp: number,
    readonly np: number,
    /** table U = T + offset (16 bytes), then the panels */
    readonly ptr: number,
    /** o = -min(T) */
    readonly offset: number,
    /** GEMV int16 chunk of the c4 kernel (0: int32 form) */
    readonly chunk: number,
    readonly table: Int8Array,
  ) {}

  get blocks(): number {
    return this.kp / this.blockSize;
  }

  /** packed bytes: nibbles, scales and the table */
  get bytes(): number {
    return LUT4_HEADER + (this.np / LUT4_NR) * this.blocks * (this.blockSize * 4 + 32);
  }

  dispose(): void {
    if (!this.live) return;
    this.live = false;
    this.runtime.free(this.ptr);
  }

  get disposed(): boolean {
    return !this.live;
  }
}

interface Checked {
  n: number;
  k: number;
  bs: number;
  nb: number;
  code: (j: number, t: number) => number;
}

function isPosInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v > 0;
}

/** Validates a source; returns its sizes and a code accessor. Every failure is a LowbitError. */
function checkSource(src: Lut4Source): Checked {
  if (src === null || typeof src !== 'object') throw new ArgumentError(`weights: expected a Lut4Source object, got ${describe(src)}`);
  const { n, k, table, scales, blockSize } = src;
  if (!isPosInt(n)) throw new ShapeError(`n: expected a positive integer, got ${describe(n)}`);
  if (!isPosInt(k)) throw new ShapeError(`k: expected a positive integer, got ${describe(k)}`);
  if (!(table instanceof Int8Array)) throw new DTypeError(`table: expected an Int8Array of 16 values, got ${describe(table)}`);
  if (table.length !== 16) throw new ShapeError(`table: expected 16 values (one per 4-bit code), got ${table.length}`);
  if (blockSize !== 'channel' && !(Number.isInteger(blockSize) && blockSize >= 32 && blockSize <= 256 && (blockSize & (blockSize - 1)) === 0)) {
    throw new ArgumentError(`blockSize: expected a power of two from 32 to 256 or 'channel', got ${describe(blockSize)}`);
  }
  const bs = lut4BlockSize(k, blockSize);
  if (bs > LUT4_MAX_BLOCK) {
    throw new ShapeError(`k: per-channel blocks take K up to ${LUT4_MAX_BLOCK} (int32 sums), got ${k}; use a block size of 32..256`);
  }
  const nb = Math.ceil(k / bs);
  if (!(scales instanceof Float32Array)) throw new DTypeError(`scales: expected a Float32Array, got ${describe(scales)}`);
  if (scales.length !== n * nb) throw new ShapeError(`scales: expected N*blocks = ${n}*${nb} = ${n * nb} values, got ${scales.length}`);
  for (let i = 0; i < scales.length; i++) {
    if (!Number.isFinite(scales[i])) throw new ValueRangeError(`scales: the scale of channel ${Math.floor(i / nb)}, block ${i % nb} is ${scales[i]}; scales must be finite`);
  }
  const { codes, packed } = src;
  if ((codes === undefined) === (packed === undefined)) throw new ArgumentError('weights: give exactly one of codes ([N][K]) and packed ([N][ceil(K/2)])');
  if (codes !== undefined) {
    if (!(codes instanceof Uint8Array)) throw new DTypeError(`codes: expected a Uint8Array, got ${describe(codes)}`);
    if (codes.length !== n * k) throw new ShapeError(`codes: expected N*K = ${n}*${k} = ${n * k} codes, got ${codes.length}`);
    for (let i = 0; i < codes.length; i++) {
      if (codes[i] > 15) throw new ValueRangeError(`codes: code[${Math.floor(i / k)}][${i % k}] is ${codes[i]}; 4-bit codes are 0..15`);
    }
    return { n, k, bs, nb, code: (j, t) => codes[j * k + t] };
  }
  if (!(packed instanceof Uint8Array)) throw new DTypeError(`packed: expected a Uint8Array, got ${describe(packed)}`);
  const row = (k + 1) >> 1;
  if (packed.length !== n * row) throw new ShapeError(`packed: expected N*ceil(K/2) = ${n}*${row} = ${n * row} bytes, got ${packed.length}`);
  return { n, k, bs, nb, code: (j, t) => (packed[j * row + (t >> 1)] >> ((t & 1) << 2)) & 15 };
}

/** o = -min(T) and the span max(T) - min(T) of a table. */
function tableOffset(table: Int8Array): { offset: number; span: number } {
  let lo = 127;
  let hi = -128;
  for (const v of table) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  return { offset: -lo, span: hi - lo };
}

/**
 * Packs 4-bit codes, their scales and the table for this runtime: the c4 layout (relaxed dot) on the
 * relaxed build when the table spans at most 127, else c2 (any int8 table, both builds). The layout
 * (with an ASCII picture) is documented in assembly/gemm/lut4.ts.
 */
export function packLut4(rt: Runtime, src: Lut4Source): Lut4Weights {
  rt.check();
  const { n, k, bs, nb, code } = checkSource(src);
  const { offset, span } = tableOffset(src.table);
  const c4 = rt.features.simd === 'relaxed' && span <= 127;
  // GEMV int16 chunk: chunk / 2 products of at most 127 * span per int16 lane
  let chunk = 0;
  if (c4) for (const c of [32, 16, 8]) if (c <= bs && (c / 2) * 127 * span <= 32767) { chunk = c; break; }
  const kp = nb * bs;
  const np = Math.ceil(n / LUT4_NR) * LUT4_NR;
  const blockBytes = bs * 4 + 32;
  const panelBytes = nb * blockBytes;
  const total = LUT4_HEADER + (np / LUT4_NR) * panelBytes;
  const ptr = rt.alloc(total);
  const bytes = rt.view(Uint8Array, ptr, total);
  bytes.fill(0);
  for (let c = 0; c < 16; c++) bytes[c] = src.table[c] + offset;
  const dst = bytes.subarray(LUT4_HEADER);
  const f32 = rt.view(Float32Array, ptr + LUT4_HEADER, (total - LUT4_HEADER) >> 2);
  for (let j = 0; j < n; j++) {
    const base = (j >> 3) * panelBytes;
    const c = j & 7;
    for (let b = 0; b < nb; b++) {
      const at = base + b * blockBytes;
      f32[(at + bs * 4 + c * 4) >> 2] = src.scales[j * nb + b];
      const t1 = Math.min(k, (b + 1) * bs);
      for (let t = b * bs; t < t1; t++) {
        const tb = t - b * bs;
        const v = code(j, t);
        let byte: number;
        let high: boolean;
        if (c4) {
          // 32 bytes per 8 k: cols 0-3 then 4-7; low nibbles k0..k3 of the group, high k4..k7
          byte = at + (tb >> 3) * 32 + (c >> 2) * 16 + (c & 3) * 4 + (tb & 3);
          high = (tb & 4) !== 0;
        } else {
          // 16 bytes per 4 k: [c0k0 c0k1 c1k0 c1k1 ...]; low nibbles k0,k1 of the group, high k2,k3
          byte = at + (tb >> 2) * 16 + c * 2 + (tb & 1);
          high = (tb & 2) !== 0;
        }
        dst[byte] |= high ? v << 4 : v;
      }
    }
  }
  return new Lut4Weights(rt, c4 ? 'c4' : 'c2', k, n, bs, kp, np, ptr, offset, chunk, Int8Array.from(src.table));
}

/**
 * A Lut4Source from ant.ts quantizeAnt / selectAntType output ([N][K]): its scales, per channel
 * (one block: blockSize 'channel') or per block (the block size must be one LUT4 takes, a power
 * of two from 32 to 256), and the type's table. One table per tensor: every channel must have the
 * same type, whose levels fit int8 (not upot4).
 */
export function lut4FromAnt(q: AntQuantized): Lut4Source {
  const t = q.types[0];
  for (let j = 1; j < q.types.length; j++) {
    if (q.types[j] !== t && !sameLevels(q.types[j].levels, t.levels)) {
      throw new ArgumentError(`weights: channel ${j} has type ${q.types[j].name}, channel 0 ${t.name}; LUT4 takes one table per tensor`);
    }
  }
  if (!t.values) throw new ValueRangeError(`weights: the levels of ${t.name} do not fit int8; LUT4 needs 16 int8 values`);
  return { n: q.channels, k: q.channelLength, packed: q.packed, scales: q.scales, table: t.values, blockSize: lut4AntBlock(q) };
}

/** The LUT4 block size of ANT output: its block when LUT4 takes it, 'channel' for one block per row. */
function lut4AntBlock(q: AntQuantized): number | 'channel' {
  const bs = q.blockSize;
  if (bs >= 32 && bs <= 256 && (bs & (bs - 1)) === 0) return bs;
  if (q.blocks === 1) return 'channel';
  throw new ArgumentError(`weights: ANT blocks of ${bs} values; LUT4 takes a power of two from 32 to 256, or one scale per channel`);
}

function sameLevels(a: Int32Array, b: Int32Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/**
 * The LUT4 GEMM/GEMV on buffers already in linear memory (model layers): x [M, K] float32 is
 * quantized per row into `alloc`'d scratch; out receives M rows padded to whole panels (row stride
 * Np floats), bias (a byte address of Np floats, or 0) included. Returns the address of the
 * activations' block scales and sums.
 */
export async function lut4Gemm(rt: Runtime, alloc: (bytes: number) => number, call: { m: number; x: number; w: Lut4Weights; bias: number; out: number; activations?: ActivationBlocks }): Promise<number> {
  const { m, x, w } = call;
  if (w.disposed) throw new ArgumentError('lut4Gemm: the packed weights were disposed');
  const { k, n, kp, np, blockSize: bs } = w;
  const c4 = w.layout === 'c4';
  const nb = kp / bs;
  const aStride = c4 ? kp : kp * 2;
  const a = alloc(m * aStride);
  const meta = alloc(m * nb * 8);
  rt.kernels.lut4_quantize_activations(x, m, k, kp, bs, call.activations === 'per-block' ? 1 : 0, c4 ? 0 : 1, a, meta);
  const fn = c4 ? 'lut4_gemm_4x8c4_relaxed' : 'lut4_gemm_4x8c2';
  const wp = w.ptr + LUT4_HEADER;
  if (m === 1) {
    await rt.parallelColumns(n, LUT4_NR, (n0, n1) => [fn, [1, n0, n1, kp, bs, a, aStride, meta, wp, w.ptr, w.offset, w.chunk, call.bias, call.out, 0]], 64, k * n);
    return meta;
  }
  const o = rt.view(Float32Array, call.out, m * np);
  const bv = call.bias ? rt.view(Float32Array, call.bias, np) : null;
  for (let i = 0; i < m; i++) {
    if (bv) o.set(bv, i * np);
    else o.fill(0, i * np, (i + 1) * np);
  }
  await rt.parallelColumns(n, LUT4_NR, (n0, n1) => [fn, [m, n0, n1, kp, bs, a, aStride, meta, wp, w.ptr, w.offset, w.chunk, 0, call.out, np * 4]], LUT4_NR, m * k * n);
  return meta;
}

/** y[M][N] = x[M][K] · Wᵀ (+ bias), W the LUT4 weights, x quantized to int8 on the fly. */
export async function runLut4(
  rt: Runtime, x: Float32Array, m: number, w: Lut4Weights, options: { bias?: Float32Array | null; activations?: ActivationBlocks } = {},
): Promise<Float32Array> {
  if (!(w instanceof Lut4Weights)) throw new ArgumentError(`runLut4: expected Lut4Weights from packLut4, got ${describe(w)}`);
  if (w.disposed) throw new ArgumentError('runLut4: the packed weights were disposed');
  if (w.runtime !== rt) throw new ArgumentError('runLut4: the weights were packed for another runtime (pack them with this one)');
  rt.check();
  const { k, n, kp, np, blockSize: bs } = w;
  if (!isPosInt(m)) throw new ShapeError(`m: expected a positive integer, got ${describe(m)}`);
  if (!(x instanceof Float32Array)) throw new DTypeError(`x: expected a Float32Array, got ${describe(x)}`);
  if (x.length !== m * k) throw new ShapeError(`x: expected M*K = ${m}*${k} values, got ${x.length}`);
  const bias = options.bias ?? null;
  if (bias !== null && !(bias instanceof Float32Array)) throw new DTypeError(`bias: expected a Float32Array, got ${describe(bias)}`);
  if (bias && bias.length !== n) throw new ShapeError(`bias: expected ${n} values, got ${bias.length}`);
  const scheme = options.activations ?? 'per-row';
  if (scheme !== 'per-row' && scheme !== 'per-block') throw new ArgumentError(`activations: expected 'per-row' or 'per-block', got ${describe(scheme)}`);
  return rt.scoped(async (alloc) => {
    const px = alloc(Math.max(m * k * 4, 16));
    rt.view(Float32Array, px, m * k).set(x);
    const pb = bias ? rt.putPadded(alloc, Float32Array, bias, np) : 0;
    const out = alloc(m * np * 4);
    const meta = await lut4Gemm(rt, alloc, { m, x: px, w, bias: pb, out, activations: scheme });
    checkActivationScales(rt, meta, m, kp / bs, scheme);
    if (np === n || m === 1) return rt.read(Float32Array, out, m === 1 ? n : m * n);
    const res = new Float32Array(m * n);
    const v = rt.view(Float32Array, out, m * np);
    for (let i = 0; i < m; i++) res.set(v.subarray(i * np, i * np + n), i * n);
    return res;
  });
}

/**
 * The exact int32 block sums acc[m][n][b] = Σ_{k in b} table[code[n][k]] · q[m][k] of the kernel,
 * with the int8 activations q of quantizeActivations (the same values as the wasm quantizer).
 */
export function refLut4Acc(x: Float32Array, m: number, src: Lut4Source, scheme: ActivationBlocks): { acc: Int32Array; sa: Float32Array } {
  const { n, k, bs, nb, code } = checkSource(src);
  const kp = nb * bs;
  const act = quantizeActivations(x, m, k, bs, scheme);
  const acc = new Int32Array(m * n * nb);
  const sa = new Float32Array(m * nb);
  const wv = new Int32Array(k);
  for (let j = 0; j < n; j++) {
    for (let t = 0; t < k; t++) wv[t] = src.table[code(j, t)];
    for (let i = 0; i < m; i++) {
      for (let b = 0; b < nb; b++) {
        let s = 0;
        for (let t = b * bs; t < Math.min(k, (b + 1) * bs); t++) s += act.q[i * kp + t] * wv[t];
        acc[(i * n + j) * nb + b] = s;
      }
    }
  }
  for (let i = 0; i < m * nb; i++) sa[i] = act.meta[2 * i];
  return { acc, sa };
}

/**
 * The kernel's arithmetic in scalar float32: per block, y += s * (sa * float(acc)), starting from
 * the bias, blocks in order. Bit-exact with every build, layout, thread count and CPU.
 */
export function refLut4(x: Float32Array, m: number, src: Lut4Source, bias: Float32Array | null = null, scheme: ActivationBlocks = 'per-row'): Float32Array {
  const f = Math.fround;
  const { n, k } = src;
  const nb = Math.ceil(k / lut4BlockSize(k, src.blockSize));
  const { acc, sa } = refLut4Acc(x, m, src, scheme);
  const y = new Float32Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let v = bias ? bias[j] : 0;
      for (let b = 0; b < nb; b++) v = f(v + f(src.scales[j * nb + b] * f(sa[i * nb + b] * f(acc[(i * n + j) * nb + b]))));
      y[i * n + j] = v;
    }
  }
  return y;
}
