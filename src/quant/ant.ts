// ANT 4-bit data types (Guo et al., "ANT: Exploiting Adaptive Numerical Data Type for Low-bit Deep
// Neural Network Quantization", MICRO 2022): int, power-of-two (PoT) and flint, signed and unsigned;
// per-tensor or per-channel quantization with ANT's clip search; per-tensor or per-channel type
// selection by least squared error, or by the layer's output error given its input Hessian (see
// "By effect"); and an optional learned 16-entry codebook ('kmeans4').
//
// Every type is a table of 16 integers: code -> level, x ≈ scale · level[code]. `values` is that
// table as an Int8Array (what a LUT4 kernel loads into one v128 and decodes with i8x16.swizzle);
// upot4's levels reach 2^14 and do not fit int8, so its `values` is null (see below).
//
// Code tables (c = 4-bit code; signed types: bit 3 is the sign, bits 2..0 the magnitude code, and
// the code 8 (-0) decodes to 0, so the 16 codes hold 15 distinct values):
//
//   code     0  1  2  3  4  5  6  7 |  8   9  10  11  12  13  14  15
//   int4     0  1  2  3  4  5  6  7 | -8  -7  -6  -5  -4  -3  -2  -1    two's complement [-8, 7]
//   pot4     0  1  2  4  8 16 32 64 | -0  -1  -2  -4  -8 -16 -32 -64    sign + {0, 2^0..2^6}
//   flint4   0  1  2  3  4  6  8 16 | -0  -1  -2  -3  -4  -6  -8 -16    sign + 3-bit flint
//   uint4    0  1  2  3  4  5  6  7 |  8   9  10  11  12  13  14  15
//   upot4    0  1  2  4  8 16 32 64 |128 256 512 1024 2048 4096 8192 16384   {0, 2^0..2^14}
//   uflint4  0  1  2  3  4  5  6  7 |  8  10  12  14  16  24  32  64    4-bit flint
//
// Source and checks. The value sets are those of the authors' reference code
// (github.com/clevercool/ANT-Quantization, ant_quantization/antquant/quant_modules.py: int_value,
// pot_value, flint_value; each set is scaled there so that its largest value is 10, which is the
// same grid up to the scale). Worked through for 4 bits:
//  - int_value(q_type="int"), signed: 0, ±1..±7 and -8 -> [-8, 7]; unsigned: 0..15. The grid is
//    asymmetric and the scale maps the clip value to +7 (scale = alpha / max(grid)), so -8 is only
//    reached by values beyond -alpha. We follow that (int4 = [-8, 7], maxLevel 7) rather than the
//    symmetric [-7, 7]: it is the reference's grid, and -8 costs nothing in a LUT.
//  - pot_value, signed: 0 and ±2^i for i = 0..2^3-2 = 6, 15 values, padded with a second 0 to 16;
//    unsigned: 0 and 2^0..2^14 (16 values).
//  - flint_value, unsigned 4-bit: {0, 1/8, 2/8, …, 7/8, 1, 1.25, 1.5, 1.75, 2, 3, 4, 8} ×8 =
//    {0..7, 8, 10, 12, 14, 16, 24, 32, 64}; signed (3 value bits): {0, ±1/4, ±2/4, ±3/4, ±1, ±1.5,
//    ±2, ±4} ×4 = magnitudes {0, 1, 2, 3, 4, 6, 8, 16}, padded with a second 0. Both match the
//    flint values quoted from the paper.
// The reference code only builds value grids (it simulates quantization), so the bit-level codes
// come from the paper's description as we know it (its text was not at hand to re-check the bit
// layout; the values above are checked against the code): int is two's complement; PoT and flint are sign +
// magnitude; the flint magnitude code uses the paper's first-one exponent encoding, which for b bits
// reads: MSB 0 -> the code is the integer itself (0, 1, 2..3, 4..7: the exponent is the position of
// the first one, the bits after it the mantissa); MSB 1 -> n leading ones then a 0 give exponent
// b-2+n with the remaining m = b-1-n bits as mantissa, value (2^m + M)·2^(b-2+n-m), and all ones is
// 2^(2b-2). Magnitude codes are monotone in the value (for every type here), so a code compares like
// the value it stands for.
//
// upot4 does not fit int8: ANT's unsigned 4-bit PoT spans 2^0..2^14. We keep the reference grid
// (levels are exact, quantization works) and set values = null; a LUT4 int8 kernel cannot take it.
//
// Quantization (what the reference's quant/quant_kernel.cu and Quantizer.search_mse do):
//  - scale = fround(alpha / maxLevel), maxLevel = the largest level (int4 7, pot4 64, flint4 16,
//    uint4 15, upot4 16384, uflint4 64, a codebook 127); alpha = absmax · r for r in the clip grid
//    (default r = 0.75, 0.76, …, 1.49: the reference's w_low = 75, w_up = 150, range(75, 150)); the
//    r with the least squared error wins (first one on ties). r = 1 is in the grid, so the search is
//    never worse than the absmax scale. clipSearch: false uses r = 1 only.
//  - ours, not the reference's (option mirror, default on): on a grid whose negative end is longer
//    (int4: -8 vs +7) the search also tries the mirrored scales -alpha / 8 (r over the same grid),
//    under which +alpha decodes from -8. The positive scales already put a negative extreme on -8
//    (r near 7/8); the mirror gives a positive extreme the same extra level, as round-to-nearest
//    int4's signed scale does (quantizeInt4Rtn). The lower error wins, ties to the positive scale.
//  - each value goes to the nearest level of t = x / scale; a tie between two levels goes to the
//    larger one (the reference kernel scans the ascending grid keeping the last index with <=). A
//    value that several codes decode to (0 in the signed types) gets its lowest code.
//  - an all-zero channel gets scale 1 and code 0 (or the code of the level nearest 0).
//  - scale granularity: `channels` rows of the tensor viewed as [channels, length / channels] (rows
//    of an [N, K] weight = output channels); channels = 1 is one scale for the tensor. blockSize B
//    splits each row into blocks of B values (the last one shorter when B does not divide the row),
//    one scale and one clip search per block: scales are [channels][ceil(K / B)]. Blocks follow
//    the magnitude of the weights along K (a per-channel scale is set by the row's largest value,
//    so its small-valued stretches use few levels); the model scheme uses B = 32 as int4 does.
//
// Packed form (packAntCodes): [channels][ceil(K / 2)] bytes, element 2i of a row in the low nibble
// of byte i and element 2i+1 in the high nibble (ONNX MatMulNBits' order); an odd row's last high
// nibble is 0. With channels = 1 this is the flat packing of the whole tensor.
//
// Type selection (selectAntType): quantize with each candidate (clip search per channel or block)
// and keep the one with the least squared error — summed over the tensor (one type, as ANT does),
// or over each row (perChannelType). Ties go to the earlier candidate; the default order is ANT's: int, flint, PoT.
// The report gives every candidate's SQNR.
//
// By effect (not in ANT; issue 14): given the layer input's second moment H = XᵀX / rows (K x K,
// src/quant/hessian.ts), the type is chosen by the layer's output error on the calibration inputs,
// tr(ΔW H ΔWᵀ) = Σ_n Δw_n H Δw_nᵀ (per row n with perChannelType), instead of the weights' ‖ΔW‖²;
// H = c·I gives the squared-error choice. The clip search then weighs by H too (clipByEffect,
// default on): after the squared-error search, one pass over each row's blocks gives each block the
// candidate scale (the same ratios, both signs) with the least Δw_n H Δw_nᵀ of the whole row, the
// other blocks as they stand; the row keeps the pass only if it lowered that error, so the result is
// never worse than the squared-error clip's, and the type chosen by effect is never worse (in the
// output error) than the type chosen by squared error. Costs per row and candidate type: the output
// error Δw H Δwᵀ is K² multiply-adds; the clip pass, with B the block size and R the ratios tried
// (150 with the mirror), another K² (H Δw after it), 2K·B for H_bb w_b and the other blocks' pull,
// R·B·(3 + m) where m is how many levels change from one ratio to the next (H_bb times the
// candidate's levels is updated, not recomputed), and K per changed weight. Measured (B = 32, three
// types, random H, one loaded 2-core machine), against the squared-error selection: type by effect
// 1.3x (N = 6625, K = 120), 2.8x (480 x 480), 7.6x (N = 60, K = 2880); type and clip by effect 5.5x,
// 11x and 18x.
//
// 'kmeans4' (not in ANT): a 16-entry codebook of integers in [-127, 127] learned by Lloyd's
// algorithm on t = x / (absmax_c / 127), weighted by scale_c² so that it minimises the real squared
// error when channels have different scales: first in real numbers from quantile seeds, then with
// integer centroids (the best integer centroid of a cluster is its rounded mean, so each step still
// lowers the error). One codebook per tensor (shared by all channels; one swizzle table per tensor),
// maxLevel 127. Codes are the centroids in ascending order; fewer than 16 distinct centroids repeat
// the last.

import { ArgumentError, DTypeError, ShapeError, ValueRangeError, describe } from '../errors.js';
import { checkHessian, hessianTimes } from './hessian.js';

export type AntTypeName = 'int4' | 'pot4' | 'flint4' | 'uint4' | 'upot4' | 'uflint4';
export type AntCandidate = AntTypeName | 'kmeans4';

export const ANT_TYPE_NAMES: readonly AntTypeName[] = ['int4', 'pot4', 'flint4', 'uint4', 'upot4', 'uflint4'];

export interface AntType {
  readonly name: string;
  /** has negative levels */
  readonly signed: boolean;
  /** code -> level, exact, 16 entries */
  readonly levels: Int32Array;
  /** the same as int8, for a LUT4 kernel; null when a level does not fit int8 (upot4) */
  readonly values: Int8Array | null;
  /** the level the clip value maps to: scale = alpha / maxLevel */
  readonly maxLevel: number;
}

// --- bit-level codecs -------------------------------------------------------------------------------

function checkCode(code: number): void {
  if (!Number.isInteger(code) || code < 0 || code > 15) throw new ValueRangeError(`code: must be an integer 0..15, got ${describe(code)}`);
}

/** b-bit unsigned flint code -> integer value (b = 3 or 4). */
function uflintDecode(code: number, b: number): number {
  if (code >> (b - 1) === 0) return code; // MSB 0: the integer itself
  let n = 0;
  while (n < b && (code >> (b - 1 - n)) & 1) n++;
  if (n === b) return 2 ** (2 * b - 2);
  const m = b - 1 - n;
  const mant = code & ((1 << m) - 1);
  return ((1 << m) + mant) * 2 ** (b - 2 + n - m);
}

/** integer value -> b-bit unsigned flint code, or -1 when the value is not on the grid. */
function uflintEncode(v: number, b: number): number {
  if (!Number.isInteger(v) || v < 0) return -1;
  if (v < 2 ** (b - 1)) return v;
  if (v === 2 ** (2 * b - 2)) return (1 << b) - 1;
  const e = Math.floor(Math.log2(v));
  const n = e - (b - 2);
  if (n < 1 || n >= b) return -1;
  const m = b - 1 - n;
  const mant = v / 2 ** (e - m) - (1 << m);
  if (!Number.isInteger(mant) || mant < 0 || mant >= 1 << m) return -1;
  return (((1 << n) - 1) << (m + 1)) | mant;
}

/** b-bit unsigned PoT: code 0 -> 0, code c -> 2^(c-1). */
function upotDecode(code: number): number {
  return code === 0 ? 0 : 2 ** (code - 1);
}

function upotEncode(v: number, b: number): number {
  if (v === 0) return 0;
  if (!(v > 0)) return -1;
  const e = Math.log2(v);
  return Number.isInteger(e) && e >= 0 && e <= 2 ** b - 2 ? e + 1 : -1;
}

/** 4-bit code -> integer value of an ANT type (the bit-level decoder; the tables are built from it). */
export function antDecode(type: AntTypeName, code: number): number {
  checkCode(code);
  const sign = code & 8 ? -1 : 1;
  const mag = code & 7;
  switch (type) {
    case 'int4': return code >= 8 ? code - 16 : code;
    case 'uint4': return code;
    case 'pot4': return mag === 0 ? 0 : sign * upotDecode(mag);
    case 'upot4': return upotDecode(code);
    case 'flint4': return mag === 0 ? 0 : sign * uflintDecode(mag, 3);
    case 'uflint4': return uflintDecode(code, 4);
    default: throw unknownType(type);
  }
}

/** integer value -> 4-bit code of an ANT type (0 -> code 0); a value not on the grid is an error. */
export function antEncode(type: AntTypeName, value: number): number {
  let code = -1;
  const neg = value < 0;
  const mag = Math.abs(value);
  switch (type) {
    case 'int4': code = Number.isInteger(value) && value >= -8 && value <= 7 ? value & 15 : -1; break;
    case 'uint4': code = Number.isInteger(value) && value >= 0 && value <= 15 ? value : -1; break;
    case 'pot4': code = upotEncode(mag, 3); break;
    case 'upot4': code = upotEncode(value, 4); break;
    case 'flint4': code = uflintEncode(mag, 3); break;
    case 'uflint4': code = uflintEncode(value, 4); break;
    default: throw unknownType(type);
  }
  if ((type === 'pot4' || type === 'flint4') && code > 0 && neg) code |= 8;
  if (code < 0) {
    const grid = Array.from(new Set(antType(type).levels)).sort((a, b) => a - b);
    throw new ValueRangeError(`value: ${describe(value)} is not a ${type} level; expected one of ${grid.join(', ')}`);
  }
  return code;
}

function unknownType(type: unknown): ArgumentError {
  return new ArgumentError(`type: unknown ANT type ${JSON.stringify(type) ?? describe(type)}; expected one of ${[...ANT_TYPE_NAMES, 'kmeans4'].join(', ')} or an AntType`);
}

function makeType(name: string, signed: boolean, levels: Int32Array, maxLevel: number): AntType {
  const fits = levels.every((v) => v >= -128 && v <= 127);
  return Object.freeze({ name, signed, levels, values: fits ? Int8Array.from(levels) : null, maxLevel });
}

const BUILTIN = new Map<AntTypeName, AntType>();
for (const name of ANT_TYPE_NAMES) {
  const levels = Int32Array.from({ length: 16 }, (_, c) => antDecode(name, c));
  BUILTIN.set(name, makeType(name, levels.some((v) => v < 0), levels, Math.max(...levels)));
}

/** The table of a built-in ANT type. */
export function antType(name: AntTypeName): AntType {
  const t = BUILTIN.get(name);
  if (!t) throw unknownType(name);
  return t;
}

/**
 * A codebook type from up to 16 integer levels in [-128, 127] (sorted ascending; fewer than 16 are
 * padded by repeating the last). maxLevel: the level the clip value maps to (default: the largest
 * magnitude, so absmax lands on the outermost level).
 */
export function antCodebook(levels: ArrayLike<number>, name = 'codebook', maxLevel?: number): AntType {
  if (!levels || levels.length < 1 || levels.length > 16) throw new ShapeError(`levels: expected 1 to 16 integers, got ${describe(levels)}`);
  const sorted = Array.from(levels).sort((a, b) => a - b);
  sorted.forEach((v, i) => {
    if (!Number.isInteger(v) || v < -128 || v > 127) throw new ValueRangeError(`levels: element ${i} is ${v}; codebook levels are integers in [-128, 127]`);
  });
  while (sorted.length < 16) sorted.push(sorted[sorted.length - 1]);
  const ml = maxLevel ?? Math.max(...sorted.map(Math.abs));
  if (!(ml > 0) || !Number.isFinite(ml)) throw new ValueRangeError(`maxLevel: must be a positive number, got ${describe(ml)} (an all-zero codebook needs an explicit maxLevel)`);
  return makeType(name, sorted[0] < 0, Int32Array.from(sorted), ml);
}

function resolveType(type: AntTypeName | AntType): AntType {
  if (typeof type === 'string') return antType(type as AntTypeName);
  if (type && typeof type === 'object' && type.levels instanceof Int32Array && type.levels.length === 16 && type.maxLevel > 0) return type;
  throw unknownType(type);
}

// --- nearest level ----------------------------------------------------------------------------------

/**
 * Sorted distinct levels, the lowest code of each, and the midpoints between neighbours. Levels are
 * integers, so every midpoint is a multiple of 1/2 and the nearest level is constant on each
 * [u/2, (u+1)/2): `lut[floor(2t) - lutBase]` is the index of the level nearest t (a t exactly on a
 * midpoint u/2 falls in the bucket above it: ties to the larger level), clamped at both ends.
 */
interface Grid {
  levels: Float64Array;
  codes: Uint8Array;
  mids: Float64Array;
  lut: Uint8Array;
  lutBase: number;
}

const gridCache = new WeakMap<AntType, Grid>();

function gridOf(type: AntType): Grid {
  let g = gridCache.get(type);
  if (g) return g;
  const byValue = new Map<number, number>();
  type.levels.forEach((v, c) => {
    if (!byValue.has(v)) byValue.set(v, c);
  });
  const vals = Array.from(byValue.keys()).sort((a, b) => a - b);
  g = {
    levels: Float64Array.from(vals),
    codes: Uint8Array.from(vals, (v) => byValue.get(v)!),
    mids: Float64Array.from({ length: vals.length - 1 }, (_, i) => (vals[i] + vals[i + 1]) / 2),
    lut: new Uint8Array(2 * (vals[vals.length - 1] - vals[0]) + 1),
    lutBase: 2 * vals[0],
  };
  for (let u = 0; u < g.lut.length; u++) g.lut[u] = nearestSearch(g.mids, (u + g.lutBase) / 2);
  gridCache.set(type, g);
  return g;
}

/** index of the level nearest t, by the table (see Grid) */
function nearest(g: Grid, t: number): number {
  const u = Math.floor(2 * t) - g.lutBase;
  return u <= 0 ? g.lut[0] : u >= g.lut.length ? g.lut[g.lut.length - 1] : g.lut[u];
}

/** index into grid.levels of the level nearest t (ties: the larger level), by binary search. */
function nearestSearch(mids: Float64Array, t: number): number {
  let lo = 0;
  let hi = mids.length; // answer in [lo, hi]
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (t >= mids[mid]) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The code of the level nearest x / scale (ties to the larger level; NaN is an error). */
export function antQuantizeValue(type: AntTypeName | AntType, x: number, scale: number): number {
  const t = resolveType(type);
  if (!Number.isFinite(x)) throw new ValueRangeError(`x: must be finite, got ${x}`);
  if (!(scale > 0) || !Number.isFinite(scale)) throw new ValueRangeError(`scale: must be a positive finite number, got ${describe(scale)}`);
  const g = gridOf(t);
  return g.codes[nearest(g, x / scale)];
}

// --- quantization -----------------------------------------------------------------------------------

/** ANT's clip grid: r = 0.75, 0.76, …, 1.49 (w_low = 75, w_up = 150 in the reference). */
export const ANT_CLIP_RATIOS: readonly number[] = Object.freeze(Array.from({ length: 75 }, (_, i) => (75 + i) / 100));

export interface AntQuantizeOptions {
  /** rows of the tensor viewed as [channels, length / channels]; one scale each (default 1: per tensor) */
  channels?: number;
  /**
   * values of a row per scale (default: the whole row, one scale per channel); the last block of a
   * row is shorter when this does not divide it
   */
  blockSize?: number;
  /** search the clip ratio per channel or block (default true); false: alpha = absmax */
  clipSearch?: boolean;
  /** clip ratios to try (default ANT_CLIP_RATIOS) */
  clipRatios?: readonly number[];
  /**
   * also try the mirrored (negative) scale on grids whose negative end is longer (int4: -8 vs 7),
   * keeping whichever has less error (default true; false: the reference's positive scale only)
   */
  mirror?: boolean;
  /**
   * the layer input's second moment H = XᵀX / rows (K x K, K = the row length; src/quant/hessian.ts):
   * given, each row's output error Δw H Δwᵀ is reported (channelEffect, effect) and, unless
   * clipByEffect is false, the clip ratios are refined to lower it (see "By effect" above)
   */
  hessian?: Float64Array;
  /** with a hessian: refine the clip ratios by the output error (default true) */
  clipByEffect?: boolean;
}

export interface AntQuantized {
  /** N: rows, one scale each */
  readonly channels: number;
  /** K: elements per row */
  readonly channelLength: number;
  /** values of a row per scale (K when one scale per channel) */
  readonly blockSize: number;
  /** scales per row: ceil(K / blockSize) */
  readonly blocks: number;
  /** the type of each row (the same object in every row unless chosen per channel) */
  readonly types: readonly AntType[];
  /** one code 0..15 per element, [N][K] */
  readonly codes: Uint8Array;
  /** [N][ceil(K / 2)]: element 2i in the low nibble of byte i, 2i+1 in the high nibble */
  readonly packed: Uint8Array;
  /**
   * [N][blocks], float32: x[row][i] ≈ scales[row][floor(i / blockSize)] · types[row].levels[code];
   * negative where the mirrored scale won (see `mirror`)
   */
  readonly scales: Float32Array;
  /** [N][blocks] the clip ratio r chosen for each block (alpha = r · absmax of the block) */
  readonly clipRatios: Float32Array;
  /** [N] mean squared error of each row */
  readonly channelMse: Float64Array;
  /** mean squared error over the tensor */
  readonly mse: number;
  /** 10 log10(Σx² / Σ(x - x̂)²), Infinity when exact */
  readonly sqnrDb: number;
  /** with a hessian: [N] each row's output error Δw_n H Δw_nᵀ */
  readonly channelEffect?: Float64Array;
  /** with a hessian: tr(ΔW H ΔWᵀ), their sum */
  readonly effect?: number;
}

function checkBlockSize(blockSize: number | undefined, k: number): number {
  if (blockSize === undefined) return k;
  if (!Number.isInteger(blockSize) || blockSize < 1) throw new ShapeError(`blockSize: must be a positive integer, got ${describe(blockSize)}`);
  return Math.min(blockSize, k);
}

function checkTensor(x: Float32Array, channels: number | undefined): { n: number; k: number } {
  if (!(x instanceof Float32Array)) throw new DTypeError(`x: expected a Float32Array, got ${describe(x)}`);
  if (x.length === 0) throw new ShapeError('x: expected at least one element, got an empty Float32Array');
  for (let i = 0; i < x.length; i++) if (!Number.isFinite(x[i])) throw new ValueRangeError(`x: element ${i} is ${x[i]}; values must be finite`);
  const n = channels ?? 1;
  if (!Number.isInteger(n) || n < 1) throw new ShapeError(`channels: must be a positive integer, got ${describe(channels)}`);
  if (x.length % n !== 0) throw new ShapeError(`channels: ${n} does not divide the tensor's length ${x.length}; expected rows of equal length`);
  return { n, k: x.length / n };
}

function checkRatios(r: readonly number[] | undefined, search: boolean): readonly number[] {
  if (!search) return [1];
  if (r === undefined) return ANT_CLIP_RATIOS;
  if (!Array.isArray(r) || r.length === 0) throw new ValueRangeError(`clipRatios: expected a non-empty array of positive numbers, got ${describe(r)}`);
  r.forEach((v, i) => {
    if (!(v > 0) || !Number.isFinite(v)) throw new ValueRangeError(`clipRatios: element ${i} is ${describe(v)}; clip ratios must be positive and finite`);
  });
  return r;
}

function absmax(x: Float32Array, start: number, end: number): number {
  let a = 0;
  for (let i = start; i < end; i++) a = Math.max(a, Math.abs(x[i]));
  return a;
}

/** squared error of x[start, end) at this scale; stops early once past `bound`. */
function rowSse(x: Float32Array, start: number, end: number, g: Grid, scale: number, bound: number): number {
  let sse = 0;
  for (let i = start; i < end && sse <= bound; i++) {
    const v = x[i];
    const d = Math.fround(scale * g.levels[nearest(g, v / scale)]) - v;
    sse += d * d;
  }
  return sse;
}

function sqnr(sig: number, noise: number): number {
  return noise === 0 ? Infinity : 10 * Math.log10(sig / noise);
}

/** Packs one 4-bit code per byte ([n][k]) two to a byte: [n][ceil(k/2)], element 2i low nibble, 2i+1 high. */
export function packAntCodes(codes: Uint8Array, n: number, k: number): Uint8Array {
  if (!(codes instanceof Uint8Array) || !Number.isInteger(n) || !Number.isInteger(k) || n < 1 || k < 1 || codes.length !== n * k) {
    throw new ShapeError(`codes: expected a Uint8Array of n*k = ${n * k} codes (n=${n}, k=${k}), got ${describe(codes)}`);
  }
  const row = (k + 1) >> 1;
  const out = new Uint8Array(n * row);
  for (let j = 0; j < n; j++) {
    for (let i = 0; i < k; i++) {
      const c = codes[j * k + i];
      if (c > 15) throw new ValueRangeError(`codes: element ${j * k + i} is ${c}; 4-bit codes are 0..15`);
      out[j * row + (i >> 1)] |= c << ((i & 1) << 2);
    }
  }
  return out;
}

/** Inverse of packAntCodes. */
export function unpackAntCodes(packed: Uint8Array, n: number, k: number): Uint8Array {
  const row = (k + 1) >> 1;
  if (!(packed instanceof Uint8Array) || !Number.isInteger(n) || !Number.isInteger(k) || n < 1 || k < 1 || packed.length !== n * row) {
    throw new ShapeError(`packed: expected a Uint8Array of n*ceil(k/2) = ${n * row} bytes (n=${n}, k=${k}), got ${describe(packed)}`);
  }
  const out = new Uint8Array(n * k);
  for (let j = 0; j < n; j++) for (let i = 0; i < k; i++) out[j * k + i] = (packed[j * row + (i >> 1)] >> ((i & 1) << 2)) & 15;
  return out;
}

/**
 * Quantizes x to an ANT type with one scale per tensor (channels = 1) or per row of
 * [channels, length / channels], choosing each scale by ANT's clip search (least squared error).
 * 'kmeans4' first learns a codebook on x (learnAntCodebook) and quantizes to it.
 */
export function quantizeAnt(x: Float32Array, type: AntCandidate | AntType, options: AntQuantizeOptions = {}): AntQuantized {
  const { n, k } = checkTensor(x, options.channels);
  const bs = checkBlockSize(options.blockSize, k);
  const ratios = checkRatios(options.clipRatios, options.clipSearch !== false);
  const h = options.hessian === undefined ? null : checkHessian(options.hessian, k);
  const t = type === 'kmeans4' ? learnAntCodebook(x, { channels: n, blockSize: bs }) : resolveType(type);
  return quantizeChecked(x, n, k, bs, t, ratios, options.mirror !== false, h, options.clipByEffect !== false);
}

function quantizeChecked(
  x: Float32Array, n: number, k: number, bs: number, type: AntType, ratios: readonly number[], mirror: boolean, h: Float64Array | null = null, clipByEffect = false,
): AntQuantized {
  const g = gridOf(type);
  const nb = Math.ceil(k / bs);
  const codes = new Uint8Array(n * k);
  const scales = new Float32Array(n * nb);
  const chosen = new Float32Array(n * nb);
  const channelMse = new Float64Array(n);
  const channelEffect = h ? new Float64Array(n) : undefined;
  let sig = 0;
  let noise = 0;
  let effect = 0;
  for (let j = 0; j < n; j++) {
    let rowSse2 = 0;
    for (let b = 0; b < nb; b++) {
      const start = j * k + b * bs;
      const end = Math.min(start + bs, (j + 1) * k);
      const { scale, r, sse } = quantizeRange(x, start, end, g, type.maxLevel, ratios, mirror, codes);
      scales[j * nb + b] = scale;
      chosen[j * nb + b] = r;
      rowSse2 += sse;
    }
    if (h && channelEffect) {
      const rowQ = { x, j, k, bs, type, g, ratios, mirror, h, codes, scales, clip: chosen };
      channelEffect[j] = clipByEffect ? refineRowByEffect(rowQ) : rowEffect(rowQ).e;
      effect += channelEffect[j];
      if (clipByEffect) rowSse2 = rowEffect({ ...rowQ, h: null }).sse; // the refined row's own squared error
    }
    for (let i = j * k; i < (j + 1) * k; i++) sig += x[i] * x[i];
    channelMse[j] = rowSse2 / k;
    noise += rowSse2;
  }
  return {
    channels: n, channelLength: k, blockSize: bs, blocks: nb, types: new Array<AntType>(n).fill(type), codes, packed: packAntCodes(codes, n, k),
    scales, clipRatios: chosen, channelMse, mse: noise / x.length, sqnrDb: sqnr(sig, noise), ...(h ? { channelEffect, effect } : {}),
  };
}

/** One quantized row j of x [n][k] and what made it (codes, scales and clip ratios are the whole tensor's). */
interface RowQ {
  x: Float32Array; j: number; k: number; bs: number; type: AntType; g: Grid; ratios: readonly number[]; mirror: boolean;
  h: Float64Array | null; codes: Uint8Array; scales: Float32Array; clip: Float32Array;
}

/** Row j's error Δ = x̂ - x (written into d), its squared error and (with h) Δ H Δᵀ (H Δ written into hd). */
function rowEffect(q: RowQ, d = new Float64Array(q.k), hd = new Float64Array(q.k)): { sse: number; e: number } {
  const { x, j, k, bs, type, codes, scales } = q;
  const nb = Math.ceil(k / bs);
  let sse = 0;
  for (let i = 0; i < k; i++) {
    d[i] = Math.fround(scales[j * nb + Math.floor(i / bs)] * type.levels[codes[j * k + i]]) - x[j * k + i];
    sse += d[i] * d[i];
  }
  return { sse, e: q.h ? hessianTimes(q.h, k, d, hd) : 0 };
}

/**
 * The clip search by effect on row j (see "By effect" in the header): one pass over the row's
 * blocks, each taking the candidate scale with the least Δ H Δᵀ of the whole row, the other blocks
 * as they are. Keeps the squared-error choice unless the pass lowers the row's error; returns it.
 */
function refineRowByEffect(q: RowQ): number {
  const { x, j, k, bs, type, g, ratios, mirror, codes, scales, clip } = q;
  const h = q.h!;
  const nb = Math.ceil(k / bs);
  const off = j * k;
  const d = new Float64Array(k); // Δ of the row
  const hd = new Float64Array(k); // H Δ, kept up to date as blocks change
  const e0 = rowEffect(q, d, hd).e;
  const saved = { codes: codes.slice(off, off + k), scales: scales.slice(j * nb, (j + 1) * nb), clip: clip.slice(j * nb, (j + 1) * nb) };
  const minLevel = -g.levels[0];
  const signs = mirror && minLevel > type.maxLevel ? 2 : 1;
  const hw = new Float64Array(bs); // H_bb w_b
  const c = new Float64Array(bs); // the other blocks' pull on this one: (H Δ)_b - H_bb Δ_b
  const lv = new Float64Array(bs); // the candidate's levels
  const u = new Float64Array(bs); // H_bb lv, updated as levels change from one ratio to the next
  const idx = new Uint8Array(bs);
  const bestIdx = new Uint8Array(bs);
  for (let b = 0; b < nb; b++) {
    const b0 = b * bs;
    const len = Math.min(bs, k - b0);
    const amax = absmax(x, off + b0, off + b0 + len);
    if (amax === 0) continue;
    let wHw = 0;
    for (let i = 0; i < len; i++) {
      let s1 = 0;
      let s2 = 0;
      const hr = (b0 + i) * k + b0;
      for (let t = 0; t < len; t++) {
        s1 += h[hr + t] * x[off + b0 + t];
        s2 += h[hr + t] * d[b0 + t];
      }
      hw[i] = s1;
      c[i] = hd[b0 + i] - s2;
      wHw += x[off + b0 + i] * s1;
    }
    // the block's error with x̂_b = s·lv is s²·lv H_bb lvᵀ - 2s·lv·(H_bb w_b - c) + const
    const objective = (s: number): number => {
      let a = 0;
      let bc = 0;
      for (let i = 0; i < len; i++) {
        a += lv[i] * u[i];
        bc += lv[i] * (hw[i] - c[i]);
      }
      return s * s * a - 2 * s * bc;
    };
    const setLevels = (s: number): void => {
      for (let i = 0; i < len; i++) {
        const ix = nearest(g, x[off + b0 + i] / s);
        const delta = g.levels[ix] - lv[i];
        idx[i] = ix;
        if (delta === 0) continue;
        lv[i] = g.levels[ix];
        const hr = (b0 + i) * k + b0;
        for (let t = 0; t < len; t++) u[t] += delta * h[hr + t];
      }
    };
    const cur = scales[j * nb + b];
    lv.fill(0);
    u.fill(0);
    setLevels(cur);
    let best = objective(cur);
    const tol = 1e-7 * wHw; // a change must beat float32 rounding (the objective ignores it), so H = c·I keeps the squared-error choice
    let bestScale = cur;
    let bestR = clip[j * nb + b];
    bestIdx.set(idx.subarray(0, len));
    for (let side = 0; side < signs; side++) {
      lv.fill(0);
      u.fill(0);
      for (const r of ratios) {
        const scale = side === 0 ? Math.fround((amax * r) / type.maxLevel) : -Math.fround((amax * r) / minLevel);
        if (!(Math.abs(scale) > 0) || !Number.isFinite(scale)) continue;
        setLevels(scale);
        const e = objective(scale);
        if (e < best - tol) {
          best = e;
          bestScale = scale;
          bestR = r;
          bestIdx.set(idx.subarray(0, len));
        }
      }
    }
    if (bestScale === cur) continue;
    // take it: codes, scale, Δ_b and H Δ
    scales[j * nb + b] = bestScale;
    clip[j * nb + b] = bestR;
    for (let t = 0; t < len; t++) {
      codes[off + b0 + t] = g.codes[bestIdx[t]];
      const nd = Math.fround(bestScale * g.levels[bestIdx[t]]) - x[off + b0 + t];
      const delta = nd - d[b0 + t];
      d[b0 + t] = nd;
      if (delta === 0) continue;
      const hr = (b0 + t) * k; // H's row b0 + t is its column (symmetric)
      for (let i = 0; i < k; i++) hd[i] += h[hr + i] * delta;
    }
  }
  const e1 = rowEffect(q, d, hd).e;
  if (e1 < e0) return e1;
  codes.set(saved.codes, off);
  scales.set(saved.scales, j * nb);
  clip.set(saved.clip, j * nb);
  return e0;
}

/** One scale for x[start, end) by the clip search; writes the codes, returns the scale, r and the squared error. */
function quantizeRange(
  x: Float32Array, start: number, end: number, g: Grid, maxLevel: number, ratios: readonly number[], mirror: boolean, codes: Uint8Array,
): { scale: number; r: number; sse: number } {
  const amax = absmax(x, start, end);
  // mirrored scales decode +alpha from the most negative level: worth trying when that end is
  // longer (int4's -8), for blocks whose extreme is positive
  const minLevel = -g.levels[0];
  const signs = mirror && minLevel > maxLevel ? 2 : 1;
  let bestScale = 1;
  let bestR = 1;
  let best = Infinity;
  if (amax > 0) {
    for (let side = 0; side < signs; side++) {
      for (const r of ratios) {
        const scale = side === 0 ? Math.fround((amax * r) / maxLevel) : -Math.fround((amax * r) / minLevel);
        if (!(Math.abs(scale) > 0) || !Number.isFinite(scale)) continue; // underflow / overflow of float32
        const sse = rowSse(x, start, end, g, scale, best);
        if (sse < best) {
          best = sse;
          bestScale = scale;
          bestR = r;
        }
      }
    }
  }
  let sse = 0;
  for (let i = start; i < end; i++) {
    const v = x[i];
    const idx = nearest(g, v / bestScale);
    codes[i] = g.codes[idx];
    const d = Math.fround(bestScale * g.levels[idx]) - v;
    sse += d * d;
  }
  return { scale: bestScale, r: bestR, sse };
}

/** x̂ [N][K] as float32: scales[row][block] · types[row].levels[code]. */
export function dequantizeAnt(q: AntQuantized): Float32Array {
  const { channels: n, channelLength: k, blockSize: bs, blocks: nb } = q;
  const out = new Float32Array(n * k);
  for (let j = 0; j < n; j++) {
    const lv = q.types[j].levels;
    for (let i = 0; i < k; i++) out[j * k + i] = Math.fround(q.scales[j * nb + Math.floor(i / bs)] * lv[q.codes[j * k + i]]);
  }
  return out;
}

/**
 * ANT's rounding for GPTQ (src/quant/gptq-ant.ts): `scale` gives the scale of x[start, end) by the
 * clip search quantizeAnt runs (ratios, mirror) and its ratio; `index` the level nearest t = v / scale
 * (index into `levels`, ascending distinct levels; `codes[index]` is its code).
 */
export function antRounding(type: AntType, clipSearch: boolean, mirror = true): {
  levels: Float64Array; codes: Uint8Array;
  scale(x: Float32Array, start: number, end: number): { scale: number; r: number };
  index(t: number): number;
} {
  const g = gridOf(type);
  const ratios = clipSearch ? ANT_CLIP_RATIOS : [1];
  let scratch = new Uint8Array(0);
  return {
    levels: g.levels,
    codes: g.codes,
    scale(x, start, end) {
      if (scratch.length < end) scratch = new Uint8Array(end);
      const { scale, r } = quantizeRange(x, start, end, g, type.maxLevel, ratios, mirror, scratch);
      return { scale, r };
    },
    index: (t) => nearest(g, t),
  };
}

// --- learned codebook -------------------------------------------------------------------------------

export interface AntCodebookOptions {
  /** rows sharing the codebook, each normalised by its own absmax / 127 (default 1) */
  channels?: number;
  /** normalise each block of this many values of a row by its own absmax instead (default: the row) */
  blockSize?: number;
  /** Lloyd iterations in real numbers before the integer phase (default 50) */
  iterations?: number;
}

/**
 * 'kmeans4': 16 integer levels in [-127, 127] by weighted 1-D Lloyd on t = x / (absmax_row / 127)
 * (weight scale_row², so the objective is the real squared error), seeded at the quantiles, then
 * refined with integer centroids. Deterministic. maxLevel 127.
 */
export function learnAntCodebook(x: Float32Array, options: AntCodebookOptions = {}): AntType {
  const { n, k } = checkTensor(x, options.channels);
  const bs = checkBlockSize(options.blockSize, k);
  const iters = options.iterations ?? 50;
  if (!Number.isInteger(iters) || iters < 0) throw new ValueRangeError(`iterations: must be a non-negative integer, got ${describe(options.iterations)}`);
  // (t, w) pairs sorted by t, with prefix sums of w, w·t
  const ts = new Float64Array(x.length);
  const ws = new Float64Array(x.length);
  for (let j = 0; j < n; j++) {
    for (let b0 = 0; b0 < k; b0 += bs) {
      const start = j * k + b0;
      const end = j * k + Math.min(k, b0 + bs);
      const amax = absmax(x, start, end);
      const s = amax > 0 ? amax / 127 : 1;
      for (let i = start; i < end; i++) {
        ts[i] = x[i] / s;
        ws[i] = s * s;
      }
    }
  }
  const order = Uint32Array.from({ length: x.length }, (_, i) => i).sort((a, b) => ts[a] - ts[b]);
  const len = x.length;
  const st = new Float64Array(len);
  const pw = new Float64Array(len + 1);
  const pwt = new Float64Array(len + 1);
  for (let i = 0; i < len; i++) {
    st[i] = ts[order[i]];
    const w = ws[order[i]];
    pw[i + 1] = pw[i] + w;
    pwt[i + 1] = pwt[i] + w * st[i];
  }
  // first index with st >= v (ties to the larger centroid, as the encoder does)
  const lowerBound = (v: number): number => {
    let lo = 0;
    let hi = len;
    while (lo < hi) {
      const m = (lo + hi) >> 1;
      if (st[m] < v) lo = m + 1;
      else hi = m;
    }
    return lo;
  };
  // one Lloyd step on sorted distinct centroids c; returns the new centroids (sorted, distinct)
  const step = (c: number[], integer: boolean): number[] => {
    const bounds = [0];
    for (let i = 0; i + 1 < c.length; i++) bounds.push(lowerBound((c[i] + c[i + 1]) / 2));
    bounds.push(len);
    const next: number[] = [];
    for (let i = 0; i < c.length; i++) {
      const lo = bounds[i];
      const hi = bounds[i + 1];
      const w = pw[hi] - pw[lo];
      let v = w > 0 ? (pwt[hi] - pwt[lo]) / w : c[i]; // an empty cluster keeps its centroid
      if (integer) v = Math.max(-127, Math.min(127, Math.round(v)));
      next.push(v);
    }
    return Array.from(new Set(next)).sort((a, b) => a - b);
  };
  let c = Array.from(new Set(Array.from({ length: 16 }, (_, i) => st[Math.min(len - 1, Math.floor(((i + 0.5) / 16) * len))])));
  for (let it = 0; it < iters; it++) {
    const next = step(c, false);
    if (next.length === c.length && next.every((v, i) => v === c[i])) break;
    c = next;
  }
  c = Array.from(new Set(c.map((v) => Math.max(-127, Math.min(127, Math.round(v)))))).sort((a, b) => a - b);
  for (let it = 0; it < 100; it++) {
    const next = step(c, true);
    if (next.length === c.length && next.every((v, i) => v === c[i])) break;
    c = next;
  }
  return antCodebook(c, 'kmeans4', 127);
}

// --- type selection ---------------------------------------------------------------------------------

export interface AntSelectOptions extends AntQuantizeOptions {
  /** types to try, in tie-break order (default ANT's: int4, flint4, pot4) */
  candidates?: readonly (AntCandidate | AntType)[];
  /** choose a type for each row instead of one for the tensor (default false) */
  perChannelType?: boolean;
}

/** One row of the report: SQNR (dB) of every candidate, and the one chosen. */
export interface AntSelectionRow {
  /** a row index, or 'all' for the whole tensor */
  channel: number | 'all';
  chosen: string;
  [candidate: string]: number | string;
}

export interface AntSelection {
  /** the tensor quantized with the chosen type(s) */
  readonly quantized: AntQuantized;
  /** the chosen type's name per row */
  readonly typeNames: readonly string[];
  /**
   * for console.table: per-tensor selection one row ('all'); per-channel one row per channel, then
   * 'all' (each candidate's SQNR over the tensor, and `result`: the SQNR of the per-channel mix)
   */
  readonly table: AntSelectionRow[];
  /** SQNR (dB) of every candidate over the whole tensor, and of the result ('chosen') */
  readonly sqnrDb: Readonly<Record<string, number>>;
  /** what chose: the weights' squared error, or (given a hessian) the layer output's */
  readonly criterion: 'error' | 'effect';
  /**
   * given a hessian: the layer output's SQNR (dB) on the calibration inputs,
   * 10 log10(tr(W H Wᵀ) / tr(ΔW H ΔWᵀ)), of every candidate and of the result ('chosen')
   */
  readonly outputSqnrDb?: Readonly<Record<string, number>>;
}

export const ANT_DEFAULT_CANDIDATES: readonly AntTypeName[] = ['int4', 'flint4', 'pot4'];

/**
 * ANT's type selection: quantize with each candidate and keep the one with the least squared error,
 * or, given a hessian, the least output error tr(ΔW H ΔWᵀ) (per row with perChannelType).
 */
export function selectAntType(x: Float32Array, options: AntSelectOptions = {}): AntSelection {
  const { n, k } = checkTensor(x, options.channels);
  const bs = checkBlockSize(options.blockSize, k);
  const nb = Math.ceil(k / bs);
  const ratios = checkRatios(options.clipRatios, options.clipSearch !== false);
  const cands = options.candidates ?? ANT_DEFAULT_CANDIDATES;
  if (!Array.isArray(cands) || cands.length === 0) throw new ArgumentError(`candidates: expected a non-empty array of ANT types, got ${describe(cands)}`);
  const mirror = options.mirror !== false;
  const h = options.hessian === undefined ? null : checkHessian(options.hessian, k);
  const clipByEffect = options.clipByEffect !== false;
  const results = cands.map((c) => quantizeChecked(x, n, k, bs, c === 'kmeans4' ? learnAntCodebook(x, { channels: n, blockSize: bs }) : resolveType(c), ratios, mirror, h, clipByEffect));
  const names = results.map((r) => r.types[0].name);
  if (new Set(names).size !== names.length) throw new ArgumentError(`candidates: names must be distinct, got ${names.join(', ')}`);

  // squared signal per row, for per-row SQNR
  const rowSig = new Float64Array(n);
  let sig = 0;
  for (let j = 0; j < n; j++) {
    for (let i = j * k; i < (j + 1) * k; i++) rowSig[j] += x[i] * x[i];
    sig += rowSig[j];
  }
  const sqnrDb: Record<string, number> = {};
  results.forEach((r, c) => (sqnrDb[names[c]] = r.sqnrDb));

  // the cost that chooses: squared error, or the output error given a hessian
  const rowCost = (r: AntQuantized, j: number): number => (h ? r.channelEffect![j] : r.channelMse[j]);
  const cost = (r: AntQuantized): number => (h ? r.effect! : r.mse);
  const pick = new Uint8Array(n); // candidate index per row
  if (options.perChannelType) {
    for (let j = 0; j < n; j++) {
      let b = 0;
      for (let c = 1; c < results.length; c++) if (rowCost(results[c], j) < rowCost(results[b], j)) b = c;
      pick[j] = b;
    }
  } else {
    let b = 0;
    for (let c = 1; c < results.length; c++) if (cost(results[c]) < cost(results[b])) b = c;
    pick.fill(b);
  }

  let quantized: AntQuantized;
  if (!options.perChannelType || pick.every((p) => p === pick[0])) {
    quantized = results[pick[0]];
  } else {
    const codes = new Uint8Array(n * k);
    const scales = new Float32Array(n * nb);
    const clip = new Float32Array(n * nb);
    const channelMse = new Float64Array(n);
    const channelEffect = h ? new Float64Array(n) : undefined;
    const types: AntType[] = [];
    let sse = 0;
    let effect = 0;
    for (let j = 0; j < n; j++) {
      const r = results[pick[j]];
      codes.set(r.codes.subarray(j * k, (j + 1) * k), j * k);
      scales.set(r.scales.subarray(j * nb, (j + 1) * nb), j * nb);
      clip.set(r.clipRatios.subarray(j * nb, (j + 1) * nb), j * nb);
      channelMse[j] = r.channelMse[j];
      types.push(r.types[j]);
      sse += r.channelMse[j] * k;
      if (channelEffect) effect += channelEffect[j] = r.channelEffect![j];
    }
    quantized = {
      channels: n, channelLength: k, blockSize: bs, blocks: nb, types, codes, packed: packAntCodes(codes, n, k), scales, clipRatios: clip, channelMse,
      mse: sse / x.length, sqnrDb: sqnr(sig, sse), ...(h ? { channelEffect, effect } : {}),
    };
  }
  sqnrDb.chosen = quantized.sqnrDb;
  let outputSqnrDb: Record<string, number> | undefined;
  if (h) {
    let out = 0; // tr(W H Wᵀ)
    const g = new Float64Array(k);
    for (let j = 0; j < n; j++) out += hessianTimes(h, k, x.subarray(j * k, (j + 1) * k), g);
    outputSqnrDb = {};
    results.forEach((r, c) => (outputSqnrDb![names[c]] = sqnr(out, r.effect!)));
    outputSqnrDb.chosen = sqnr(out, quantized.effect!);
  }

  const table: AntSelectionRow[] = [];
  if (options.perChannelType) {
    for (let j = 0; j < n; j++) {
      const row: AntSelectionRow = { channel: j, chosen: names[pick[j]] };
      results.forEach((r, c) => (row[names[c]] = round2(sqnr(rowSig[j], r.channelMse[j] * k))));
      table.push(row);
    }
  }
  const all: AntSelectionRow = { channel: 'all', chosen: options.perChannelType && !pick.every((p) => p === pick[0]) ? 'per channel' : names[pick[0]] };
  results.forEach((r, c) => (all[names[c]] = round2(r.sqnrDb)));
  if (options.perChannelType) all.result = round2(quantized.sqnrDb);
  table.push(all);
  return { quantized, typeNames: quantized.types.map((t) => t.name), table, sqnrDb, criterion: h ? 'effect' : 'error', ...(outputSqnrDb ? { outputSqnrDb } : {}) };
}

function round2(v: number): number {
  return Number.isFinite(v) ? Math.round(v * 100) / 100 : v;
}
