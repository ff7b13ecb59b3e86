// lut4: table-driven 4-bit weights (any 16 int8 values: int4, PoT4, flint4, a learned codebook)
// x int8 activations -> float32. Wraps assembly/gemm/lut4.ts (see its header for the arithmetic,
// the layouts and why the table, offset to U = T - min(T), is the relaxed dot's 7-bit operand):
// validates and packs codes + scales + table(s) into 8-column panels, quantizes the float activations
// to int8 per row or per block, splits columns across threads. The scalar reference at the bottom
// reproduces the kernel's arithmetic bit for bit (exact int32 block sums, then the same float32
// operations in the same order).
//
//   y[m][n] = bias[n] + sum_b scales[n][b] * (sa[m][b] * sum_{k in b} table[code[n][k]] * q[m][k])
//
// One table per tensor (`table`), or several (`tables`, with `columnTables` giving each output
// channel's: ANT's per-channel types, any per-group codebook). One i8x16.swizzle decodes 16 codes
// of 4 or 8 columns with one table, so the unit that can have its own table is the 8-column panel:
// packLut4 permutes the columns so that columns of one table share panels (the columns of each
// table in their order, padded to a multiple of 8 with zero codes and scales), gives each panel
// its table U_p = T_p + o_p and offset o_p, and the outputs, which the kernel writes in panel
// order, are gathered back to the caller's columns. One table (or several tables whose columns
// happen to fall in order on panel boundaries) packs its panels exactly as before: no
// permutation, no gather (the header holds the offset beside the table: 32 bytes, was 16).
// Gather vs writing through a column index in the kernel: the gather (lut4_gather_columns, in wasm
// through a column index stored after the panels) measured 3 us at 1x4096 and 0.33 ms at 128x3072
// (~0.3% of the GEMV, ~2% of the 128x768x3072 GEMM; the same loop in JS over typed arrays took
// 14 us and 1.5 ms, ~10% of that GEMM); an indexed write would make the GEMM's per-block vector
// update of y a scalar scatter.

import { ArgumentError, DTypeError, ShapeError, ValueRangeError, describe } from '../errors.js';
import type { KernelHost } from '../runtime/host.js';
import type { AntQuantized, AntType } from '../quant/ant.js';
import { quantizeActivations } from './qb4.js';
import { checkActivationScales, quantizeActBlocks, type ActivationBlocks } from './act-blocks.js';
import { PackedWeights } from './packed.js';

export const LUT4_NR = 8;
/** largest block (and per-channel K): |acc| <= bs * 127 * 255 must fit int32 */
export const LUT4_MAX_BLOCK = 65536;
/** bytes before the panels: T tables U = T + o (16 bytes each), then T int32 offsets o, padded to 16 */
function lut4HeaderBytes(tables: number): number {
  return tables * 16 + Math.ceil((tables * 4) / 16) * 16;
}

/** What packLut4 takes: 4-bit codes [N][K] (one per byte, or two per byte as ant.ts packs them), scales, one table or a table per channel. */
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
  /** code -> int8 value, 16 entries, shared by every channel (or give tables and columnTables) */
  readonly table?: Int8Array;
  /** several tables of 16 int8 values each (with columnTables instead of table) */
  readonly tables?: readonly Int8Array[];
  /** [N] the index into tables of each output channel's table */
  readonly columnTables?: ArrayLike<number>;
  /** values of K per scale: a power of two from 32 to 256, or 'channel' (one block of K) */
  readonly blockSize: number | 'channel';
}

/** Block size in values of K for a source: 'channel' is K rounded up to 32. */
export function lut4BlockSize(k: number, blockSize: number | 'channel'): number {
  return blockSize === 'channel' ? Math.ceil(k / 32) * 32 : blockSize;
}

export class Lut4Weights extends PackedWeights {
  constructor(
    readonly runtime: KernelHost,
    readonly layout: 'c2' | 'c4',
    readonly k: number,
    readonly n: number,
    /** K per block (per channel: K rounded up to 32) */
    readonly blockSize: number,
    readonly kp: number,
    readonly np: number,
    /** the tables U = T + o (16 bytes each) and their offsets o, the panels, then columns (int32, when permuted) */
    readonly ptr: number,
    /** GEMV int16 chunk of the c4 kernel (0: int32 form) */
    readonly chunk: number,
    /** the tables: one, or one per panel (tables[p] is panel p's) */
    readonly tables: readonly Int8Array[],
    /**
     * per-panel tables with permuted columns: columns[j] is the panel column (0..np-1) holding the
     * caller's column j; null when panel column j is column j (one table, or tables already in order)
     */
    readonly columns: Int32Array | null,
  ) {
    super(runtime, [ptr]);
  }

  get blocks(): number {
    return this.kp / this.blockSize;
  }

  /** the table of every panel (one table) or one per panel */
  get perPanel(): boolean {
    return this.tables.length > 1;
  }

  /** bytes before the panels: tables and offsets */
  get headerBytes(): number {
    return lut4HeaderBytes(this.tables.length);
  }

  /** the column index in memory (int32 [N], for lut4_gather_columns), after the panels; 0 when columns is null */
  get columnsPtr(): number {
    return this.columns ? this.ptr + this.headerBytes + this.panelsBytes : 0;
  }

  private get panelsBytes(): number {
    return (this.np / LUT4_NR) * this.blocks * (this.blockSize * 4 + 32);
  }

  /** packed bytes: nibbles, scales, the tables and offsets, the column index */
  get bytes(): number {
    return this.headerBytes + this.panelsBytes + (this.columns ? this.n * 4 : 0);
  }
}

interface Checked {
  n: number;
  k: number;
  bs: number;
  nb: number;
  code: (j: number, t: number) => number;
  /** the distinct tables given */
  tables: readonly Int8Array[];
  /** [N] table index of each column, or null: tables[0] for all */
  columnTables: Int32Array | null;
}

function checkTable(t: unknown, name: string): Int8Array {
  if (!(t instanceof Int8Array)) throw new DTypeError(`${name}: expected an Int8Array of 16 values, got ${describe(t)}`);
  if (t.length !== 16) throw new ShapeError(`${name}: expected 16 values (one per 4-bit code), got ${t.length}`);
  return t;
}

function checkTables(src: Lut4Source, n: number): { tables: readonly Int8Array[]; columnTables: Int32Array | null } {
  const { table, tables, columnTables } = src;
  if (tables === undefined && columnTables === undefined) return { tables: [checkTable(table, 'table')], columnTables: null };
  if (table !== undefined) throw new ArgumentError('weights: give either table (one for every channel) or tables with columnTables, not both');
  if (!Array.isArray(tables) || tables.length === 0) throw new ArgumentError(`tables: expected a non-empty array of Int8Array(16) tables, got ${describe(tables)}`);
  tables.forEach((t, i) => checkTable(t, `tables[${i}]`));
  if (columnTables === undefined || columnTables === null || typeof columnTables !== 'object' || typeof (columnTables as ArrayLike<number>).length !== 'number') {
    throw new ArgumentError(`columnTables: expected N = ${n} table indices (one per output channel) with tables, got ${describe(columnTables)}`);
  }
  if (columnTables.length !== n) throw new ShapeError(`columnTables: expected N = ${n} table indices, got ${columnTables.length}`);
  const idx = new Int32Array(n);
  for (let j = 0; j < n; j++) {
    const g = columnTables[j];
    if (!Number.isInteger(g) || g < 0 || g >= tables.length) throw new ValueRangeError(`columnTables: channel ${j} has table index ${describe(g)}; expected an integer 0..${tables.length - 1} (${tables.length} tables)`);
    idx[j] = g;
  }
  return { tables, columnTables: idx };
}

function isPosInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v > 0;
}

/** Validates a source; returns its sizes and a code accessor. Every failure is a LowbitError. */
function checkSource(src: Lut4Source): Checked {
  if (src === null || typeof src !== 'object') throw new ArgumentError(`weights: expected a Lut4Source object, got ${describe(src)}`);
  const { n, k, scales, blockSize } = src;
  if (!isPosInt(n)) throw new ShapeError(`n: expected a positive integer, got ${describe(n)}`);
  if (!isPosInt(k)) throw new ShapeError(`k: expected a positive integer, got ${describe(k)}`);
  const { tables, columnTables } = checkTables(src, n);
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
    return { n, k, bs, nb, code: (j, t) => codes[j * k + t], tables, columnTables };
  }
  if (!(packed instanceof Uint8Array)) throw new DTypeError(`packed: expected a Uint8Array, got ${describe(packed)}`);
  const row = (k + 1) >> 1;
  if (packed.length !== n * row) throw new ShapeError(`packed: expected N*ceil(K/2) = ${n}*${row} = ${n * row} bytes, got ${packed.length}`);
  return { n, k, bs, nb, code: (j, t) => (packed[j * row + (t >> 1)] >> ((t & 1) << 2)) & 15, tables, columnTables };
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
 * Where each column goes: panel column of each caller column (null: the identity) and the table of
 * each panel. One table, or tables whose columns already sit in order on panel boundaries, keep
 * the caller's order.
 */
function panelPlan(n: number, tables: readonly Int8Array[], columnTables: Int32Array | null): { np: number; columns: Int32Array | null; panelTables: Int8Array[] } {
  if (!columnTables || tables.length === 1) {
    const np = Math.ceil(n / LUT4_NR) * LUT4_NR;
    return { np, columns: null, panelTables: [tables[0]] };
  }
  // group the columns by table (tables in order, columns in order inside a group), each group
  // padded to whole panels; groups of equal tables are one group
  const canon = tables.map((t) => tables.findIndex((u) => u.every((v, c) => v === t[c])));
  const members: number[][] = tables.map(() => []);
  for (let j = 0; j < n; j++) members[canon[columnTables[j]]].push(j);
  const columns = new Int32Array(n);
  const panelTables: Int8Array[] = [];
  let at = 0;
  for (let g = 0; g < tables.length; g++) {
    const cols = members[g];
    if (cols.length === 0) continue;
    cols.forEach((j, i) => (columns[j] = at + i));
    const panels = Math.ceil(cols.length / LUT4_NR);
    for (let p = 0; p < panels; p++) panelTables.push(tables[g]);
    at += panels * LUT4_NR;
  }
  if (panelTables.every((t) => t === panelTables[0])) return { np: at, columns: null, panelTables: [panelTables[0]] };
  const identity = columns.every((c, j) => c === j);
  return { np: at, columns: identity ? null : columns, panelTables };
}

/**
 * Packs 4-bit codes, their scales and the table(s) for this runtime: the c4 layout (relaxed dot)
 * on the relaxed build when every table spans at most 127, else c2 (any int8 table, both builds).
 * Several tables: a table per panel of 8 columns, columns grouped by table (panelPlan). The layout
 * (with an ASCII picture) is documented in assembly/gemm/lut4.ts.
 */
export function packLut4(rt: KernelHost, src: Lut4Source): Lut4Weights {
  rt.check();
  const { n, k, bs, nb, code, tables, columnTables } = checkSource(src);
  const { np, columns, panelTables } = panelPlan(n, tables, columnTables);
  const offs = panelTables.map(tableOffset);
  const span = Math.max(...offs.map((o) => o.span));
  const c4 = rt.features.simd === 'relaxed' && span <= 127;
  // GEMV int16 chunk: chunk / 2 products of at most 127 * span per int16 lane
  let chunk = 0;
  if (c4) for (const c of [32, 16, 8]) if (c <= bs && (c / 2) * 127 * span <= 32767) { chunk = c; break; }
  const kp = nb * bs;
  const blockBytes = bs * 4 + 32;
  const panelBytes = nb * blockBytes;
  const header = lut4HeaderBytes(panelTables.length);
  const panelsEnd = header + (np / LUT4_NR) * panelBytes;
  const total = panelsEnd + (columns ? n * 4 : 0);
  const ptr = rt.alloc(total);
  const bytes = rt.view(Uint8Array, ptr, total);
  bytes.fill(0);
  const offView = rt.view(Int32Array, ptr + panelTables.length * 16, panelTables.length);
  panelTables.forEach((t, p) => {
    for (let c = 0; c < 16; c++) bytes[p * 16 + c] = t[c] + offs[p].offset;
    offView[p] = offs[p].offset;
  });
  if (columns) rt.view(Int32Array, ptr + panelsEnd, n).set(columns);
  const dst = bytes.subarray(header);
  const f32 = rt.view(Float32Array, ptr + header, (panelsEnd - header) >> 2);
  for (let j = 0; j < n; j++) {
    const pj = columns ? columns[j] : j;
    const base = (pj >> 3) * panelBytes;
    const c = pj & 7;
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
  return new Lut4Weights(rt, c4 ? 'c4' : 'c2', k, n, bs, kp, np, ptr, chunk, panelTables.map((t) => Int8Array.from(t)), columns);
}

/**
 * A Lut4Source from ant.ts quantizeAnt / selectAntType output ([N][K]): its scales, per channel
 * (one block: blockSize 'channel') or per block (the block size must be one LUT4 takes, a power
 * of two from 32 to 256), and the type's table — or, when the channels differ in type
 * (selectAntType's perChannelType), one table per distinct type and each channel's index into
 * them (packLut4 gives each 8-column panel its own table). Every type's levels must fit int8
 * (not upot4).
 */
export function lut4FromAnt(q: AntQuantized): Lut4Source {
  const tables: Int8Array[] = [];
  const columnTables = new Int32Array(q.channels);
  const seen: AntType[] = [];
  for (let j = 0; j < q.channels; j++) {
    const t = q.types[j];
    let g = seen.findIndex((u) => u === t || sameLevels(u.levels, t.levels));
    if (g < 0) {
      if (!t.values) throw new ValueRangeError(`weights: the levels of ${t.name} (channel ${j}) do not fit int8; LUT4 needs 16 int8 values`);
      g = seen.length;
      seen.push(t);
      tables.push(t.values);
    }
    columnTables[j] = g;
  }
  const base = { n: q.channels, k: q.channelLength, packed: q.packed, scales: q.scales, blockSize: lut4AntBlock(q) };
  return tables.length === 1 ? { ...base, table: tables[0] } : { ...base, tables, columnTables };
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
 * quantized per row into `alloc`'d scratch; out receives M rows of whole panels (row stride Np
 * floats) in panel order, bias (a byte address of Np floats in panel order, or 0) included: with
 * per-panel tables and permuted columns (w.columns), the caller's column j is panel column
 * w.columns[j] (lut4GatherColumns). Returns the address of the activations' block scales and sums.
 */
export async function lut4Gemm(rt: KernelHost, alloc: (bytes: number) => number, call: { m: number; x: number; w: Lut4Weights; bias: number; out: number; activations?: ActivationBlocks }): Promise<number> {
  const { m, x, w } = call;
  if (w.disposed) throw new ArgumentError('lut4Gemm: the packed weights were disposed');
  const { k, n, kp, np, blockSize: bs } = w;
  const c4 = w.layout === 'c4';
  const { a, aStride, meta } = quantizeActBlocks(rt, alloc, { x, m, k, kp, bs, scheme: call.activations ?? 'per-row', wide: !c4 });
  const fn = c4 ? 'lut4_gemm_4x8c4_relaxed' : 'lut4_gemm_4x8c2';
  const tp = w.ptr;
  const op = w.ptr + w.tables.length * 16;
  const pmask = w.perPanel ? -1 : 0;
  const wp = w.ptr + w.headerBytes;
  // columns the kernel runs over: the caller's N, or every panel when columns are regrouped
  const nk = w.perPanel ? np : n;
  if (m === 1) {
    await rt.parallelColumns(nk, LUT4_NR, (n0, n1) => [fn, [1, n0, n1, kp, bs, a, aStride, meta, wp, tp, op, pmask, w.chunk, call.bias, call.out, 0]], 64, k * n);
    return meta;
  }
  const o = rt.view(Float32Array, call.out, m * np);
  const bv = call.bias ? rt.view(Float32Array, call.bias, np) : null;
  for (let i = 0; i < m; i++) {
    if (bv) o.set(bv, i * np);
    else o.fill(0, i * np, (i + 1) * np);
  }
  await rt.parallelColumns(nk, LUT4_NR, (n0, n1) => [fn, [m, n0, n1, kp, bs, a, aStride, meta, wp, tp, op, pmask, w.chunk, 0, call.out, np * 4]], LUT4_NR, m * k * n);
  return meta;
}

/** A bias [N] in the weights' panel order (Np floats, padding 0). */
export function lut4PanelBias(w: Lut4Weights, bias: Float32Array | null): Float32Array {
  const out = new Float32Array(w.np);
  if (!bias) return out;
  if (w.columns) for (let j = 0; j < w.n; j++) out[w.columns[j]] = bias[j];
  else out.set(bias);
  return out;
}

/**
 * M rows of panel-order outputs at src (row stride Np floats) -> [M][N] at dst in the caller's
 * column order, through w.columns (weights with permuted columns only; in wasm: see
 * lut4_gather_columns for why not in JS).
 */
export function lut4GatherColumns(rt: KernelHost, w: Lut4Weights, m: number, src: number, dst: number): void {
  if (!w.columns) throw new ArgumentError('lut4GatherColumns: these weights keep the columns in order (nothing to gather)');
  rt.kernels.lut4_gather_columns(m, w.n, w.columnsPtr, src, w.np * 4, dst, w.n * 4);
}

/** y[M][N] = x[M][K] · Wᵀ (+ bias), W the LUT4 weights, x quantized to int8 on the fly. */
export async function runLut4(
  rt: KernelHost, x: Float32Array, m: number, w: Lut4Weights, options: { bias?: Float32Array | null; activations?: ActivationBlocks } = {},
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
    const pb = !bias ? 0 : w.columns ? rt.putPadded(alloc, Float32Array, lut4PanelBias(w, bias), np) : rt.putPadded(alloc, Float32Array, bias, np);
    const out = alloc(m * np * 4);
    const meta = await lut4Gemm(rt, alloc, { m, x: px, w, bias: pb, out, activations: scheme });
    checkActivationScales(rt, meta, m, kp / bs, scheme);
    if (w.columns) {
      const res = alloc(m * n * 4);
      lut4GatherColumns(rt, w, m, out, res);
      return rt.read(Float32Array, res, m * n);
    }
    if (np === n || m === 1) return rt.read(Float32Array, out, m === 1 ? n : m * n);
    const res = new Float32Array(m * n);
    const v = rt.view(Float32Array, out, m * np);
    for (let i = 0; i < m; i++) res.set(v.subarray(i * np, i * np + n), i * n);
    return res;
  });
}

/**
 * The exact int32 block sums acc[m][n][b] = Σ_{k in b} T_n[code[n][k]] · q[m][k] of the kernel
 * (T_n the table of column n),
 * with the int8 activations q of quantizeActivations (the same values as the wasm quantizer).
 */
export function refLut4Acc(x: Float32Array, m: number, src: Lut4Source, scheme: ActivationBlocks): { acc: Int32Array; sa: Float32Array } {
  const { n, k, bs, nb, code, tables, columnTables } = checkSource(src);
  const kp = nb * bs;
  const act = quantizeActivations(x, m, k, bs, scheme);
  const acc = new Int32Array(m * n * nb);
  const sa = new Float32Array(m * nb);
  const wv = new Int32Array(k);
  for (let j = 0; j < n; j++) {
    const table = tables[columnTables ? columnTables[j] : 0];
    for (let t = 0; t < k; t++) wv[t] = table[code(j, t)];
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
