// 4-bit block quantization: the canonical in-memory form, round-to-nearest quantizers, and the
// file formats people bring (ONNX com.microsoft MatMulNBits, ggml Q4_0 / Q8_0).
//
// Canonical form (Int4Blocks), rows = output features as in both formats:
//   q          Uint8Array [N][K], one value 0..15 per byte (unpacked, easy to check and repack)
//   scales     Float32Array [N][blocks]           x ≈ (q - zeroPoint) * scale
//   zeroPoints Uint8Array [N][blocks] or null (null: 8 for every block, the symmetric default)
// blocks = ceil(K / blockSize); a short last block covers K % blockSize values.

import { ArgumentError, ShapeError, ValueRangeError } from '../errors.js';
import { roundHalfEven } from './rounding.js';
import { floatToFp16, fp16ToFloat } from './fp16.js';

export interface Int4Blocks {
  readonly k: number;
  readonly n: number;
  readonly blockSize: number;
  readonly q: Uint8Array;
  readonly scales: Float32Array;
  readonly zeroPoints: Uint8Array | null;
}

export const INT4_BLOCK_SIZES = [16, 32, 64, 128, 256] as const;

export function blocksOf(k: number, blockSize: number): number {
  return Math.ceil(k / blockSize);
}

export function checkBlockSize(blockSize: number, name = 'blockSize'): void {
  if (!Number.isInteger(blockSize) || blockSize < 16 || blockSize > 4096 || (blockSize & (blockSize - 1)) !== 0) {
    throw new ValueRangeError(`${name}: must be a power of two from 16 up, got ${blockSize}`);
  }
}

function checkDims(k: number, n: number): void {
  if (!Number.isInteger(k) || !Number.isInteger(n) || k < 1 || n < 1) throw new ShapeError(`K and N must be positive integers, got K=${k}, N=${n}`);
}

/** x[n][k] as floats (the dequantized weights, [N][K]). */
export function dequantizeInt4(b: Int4Blocks): Float32Array {
  const { k, n, blockSize } = b;
  const nb = blocksOf(k, blockSize);
  const out = new Float32Array(n * k);
  for (let j = 0; j < n; j++) {
    for (let t = 0; t < k; t++) {
      const blk = j * nb + Math.floor(t / blockSize);
      const z = b.zeroPoints ? b.zeroPoints[blk] : 8;
      out[j * k + t] = Math.fround((b.q[j * k + t] - z) * b.scales[blk]);
    }
  }
  return out;
}

// --- round to nearest -------------------------------------------------------------------------------

export interface RtnOptions {
  blockSize: number;
  /** 'symmetric' (zero point 8, as ggml Q4_0 and MatMulNBits' default) or 'asymmetric' (min/max) */
  scheme?: 'symmetric' | 'asymmetric';
  /**
   * search clip ratios (1.0 down to 0.5 of the block's range) for the one with the least squared
   * error, per block (default true); false keeps the full range
   */
  clipSearch?: boolean;
}

const CLIP_GRID = Array.from({ length: 11 }, (_, i) => 1 - i * 0.05);
const NO_CLIP = [1];

/**
 * One block's scale and zero point by the round-to-nearest rules (values[start, end)):
 * symmetric: scale = (value of largest magnitude) / -8, zero point 8; asymmetric: the range with 0
 * in it over 15 levels, zero point round(-min / scale). With clipSearch, the clip ratio (1.0 down to
 * 0.5 of the range) with the least squared error. The scale is a float32 value. Shared by
 * quantizeInt4Rtn and GPTQ (src/quant/gptq.ts).
 */
export function int4BlockParams(values: ArrayLike<number>, start: number, end: number, asymmetric: boolean, clipSearch: boolean): { scale: number; zeroPoint: number } {
  let lo = Infinity;
  let hi = -Infinity;
  let amax = 0;
  let signedMax = 0;
  for (let i = start; i < end; i++) {
    const v = values[i];
    if (v < lo) lo = v;
    if (v > hi) hi = v;
    if (Math.abs(v) > amax) {
      amax = Math.abs(v);
      signedMax = v;
    }
  }
  let best = Infinity;
  let bestScale = 1;
  let bestZp = 8;
  for (const r of clipSearch ? CLIP_GRID : NO_CLIP) {
    let scale: number;
    let zp: number;
    if (asymmetric) {
      const mn = Math.min(lo, 0) * r;
      const mx = Math.max(hi, 0) * r;
      scale = mx > mn ? Math.fround((mx - mn) / 15) : 1;
      zp = Math.min(15, Math.max(0, roundHalfEven(-mn / scale)));
    } else {
      scale = signedMax !== 0 ? Math.fround((signedMax * r) / -8) : 1;
      zp = 8;
    }
    if (!clipSearch) return { scale, zeroPoint: zp };
    let err = 0;
    for (let i = start; i < end && err < best; i++) {
      const qi = Math.min(15, Math.max(0, roundHalfEven(values[i] / scale) + zp));
      const d = (qi - zp) * scale - values[i];
      err += d * d;
    }
    if (err < best) {
      best = err;
      bestScale = scale;
      bestZp = zp;
    }
  }
  return { scale: bestScale, zeroPoint: bestZp };
}

/**
 * Quantizes W [N][K] (rows = output features) to 4 bits per block by rounding to nearest.
 * Symmetric: the value of largest magnitude maps to -8 (scale = max / -8, Q4_0's rule), q = x/s + 8.
 * Asymmetric: scale = (max - min) / 15, zero point = round(-min / scale).
 */
export function quantizeInt4Rtn(w: Float32Array, n: number, k: number, options: RtnOptions): Int4Blocks {
  checkDims(k, n);
  checkBlockSize(options.blockSize);
  if (!(w instanceof Float32Array) || w.length !== n * k) throw new ShapeError(`weights: expected a Float32Array of N*K = ${n * k}, got ${w?.length}`);
  for (let i = 0; i < w.length; i++) if (!Number.isFinite(w[i])) throw new ValueRangeError(`weights: element ${i} is ${w[i]}; weights must be finite`);
  const bs = options.blockSize;
  const nb = blocksOf(k, bs);
  const asym = options.scheme === 'asymmetric';
  const search = options.clipSearch !== false;
  const q = new Uint8Array(n * k);
  const scales = new Float32Array(n * nb);
  const zeroPoints = asym ? new Uint8Array(n * nb) : null;
  for (let j = 0; j < n; j++) {
    for (let b = 0; b < nb; b++) {
      const start = j * k + b * bs;
      const end = j * k + Math.min(k, (b + 1) * bs);
      const { scale, zeroPoint } = int4BlockParams(w, start, end, asym, search);
      scales[j * nb + b] = scale;
      if (zeroPoints) zeroPoints[j * nb + b] = zeroPoint;
      for (let i = start; i < end; i++) q[i] = Math.min(15, Math.max(0, roundHalfEven(w[i] / scale) + zeroPoint));
    }
  }
  return { k, n, blockSize: bs, q, scales, zeroPoints };
}

// --- ONNX com.microsoft MatMulNBits (bits = 4) ------------------------------------------------------

export interface MatMulNBitsWeights {
  /** uint8 [N][ceil(K / blockSize)][blockSize / 2]: element 2i in the low nibble, 2i+1 in the high */
  B: Uint8Array;
  /** [N][blocks], float32 (or fp16 bits as Uint16Array) */
  scales: Float32Array | Uint16Array;
  /** optional: packed uint8 [N][ceil(blocks / 2)] (low nibble first), or float [N][blocks] */
  zeroPoints?: Uint8Array | Float32Array | Uint16Array | null;
  K: number;
  N: number;
  blockSize: number;
}

/**
 * 4-bit blocks with the codes still two per byte as MatMulNBits stores them: row j's codes in bytes
 * [j * kp / 2, (j + 1) * kp / 2) (kp: K rounded up to whole blocks), element t in the low nibble of
 * byte t >> 1 when t is even, the high one when odd. What a packer reads without expanding the
 * codes to a byte each first (that copy is twice the file's bytes of the layer).
 */
export interface Int4Nibbles {
  readonly k: number;
  readonly n: number;
  readonly blockSize: number;
  readonly nibbles: Uint8Array;
  readonly scales: Float32Array;
  readonly zeroPoints: Uint8Array | null;
}

/** MatMulNBits' inputs checked, as Int4Nibbles: B as it is (not copied), scales and zero points one per block. */
export function nibblesOfMatMulNBits(m: MatMulNBitsWeights): Int4Nibbles {
  const { K: k, N: n, blockSize: bs } = m;
  checkDims(k, n);
  checkBlockSize(bs, 'block_size');
  const nb = blocksOf(k, bs);
  const blob = bs / 2;
  if (!(m.B instanceof Uint8Array) || m.B.length !== n * nb * blob) {
    throw new ShapeError(`B: expected uint8 [N, ceil(K/block_size), block_size/2] = [${n}, ${nb}, ${blob}] (${n * nb * blob} bytes), got ${m.B?.length}`);
  }
  if (m.scales?.length !== n * nb) throw new ShapeError(`scales: expected [N, blocks] = [${n}, ${nb}] (${n * nb} values), got ${m.scales?.length}`);
  // index loops, not from()/forEach: those box every float (a 100M-parameter file's 3M scales made
  // ~90 MiB of garbage while its layers packed, which grew V8's young generation for good)
  const scales = new Float32Array(n * nb);
  const src = m.scales;
  if (src instanceof Uint16Array) for (let i = 0; i < scales.length; i++) scales[i] = fp16ToFloat(src[i]);
  else scales.set(src);
  for (let i = 0; i < scales.length; i++) {
    if (!Number.isFinite(scales[i])) throw new ValueRangeError(`scales: element ${i} is ${scales[i]}; scales must be finite`);
  }
  let zeroPoints: Uint8Array | null = null;
  const zp = m.zeroPoints;
  if (zp) {
    zeroPoints = new Uint8Array(n * nb);
    if (zp instanceof Uint8Array) {
      const per = Math.ceil(nb / 2);
      if (zp.length !== n * per) throw new ShapeError(`zero_points: packed uint8 must be [N, ceil(blocks/2)] = [${n}, ${per}], got ${zp.length} bytes`);
      for (let j = 0; j < n; j++) for (let b = 0; b < nb; b++) {
        const byte = zp[j * per + (b >> 1)];
        zeroPoints[j * nb + b] = b & 1 ? byte >> 4 : byte & 15;
      }
    } else {
      if (zp.length !== n * nb) throw new ShapeError(`zero_points: float zero points must be [N, blocks] = [${n}, ${nb}], got ${zp.length}`);
      for (let i = 0; i < n * nb; i++) {
        const v = zp instanceof Uint16Array ? fp16ToFloat(zp[i]) : zp[i];
        if (!Number.isInteger(v) || v < 0 || v > 15) throw new ValueRangeError(`zero_points: element ${i} is ${v}; 4-bit zero points are integers 0..15`);
        zeroPoints[i] = v;
      }
    }
  }
  return { k, n, blockSize: bs, nibbles: m.B, scales, zeroPoints };
}

export function fromMatMulNBits(m: MatMulNBitsWeights): Int4Blocks {
  const { k, n, blockSize, nibbles, scales, zeroPoints } = nibblesOfMatMulNBits(m);
  const half = (blocksOf(k, blockSize) * blockSize) / 2;
  const q = new Uint8Array(n * k);
  for (let j = 0; j < n; j++) for (let t = 0; t < k; t++) q[j * k + t] = (nibbles[j * half + (t >> 1)] >> ((t & 1) << 2)) & 15;
  return { k, n, blockSize, q, scales, zeroPoints };
}

export function toMatMulNBits(b: Int4Blocks): MatMulNBitsWeights {
  const { k, n, blockSize: bs } = b;
  const nb = blocksOf(k, bs);
  const blob = bs / 2;
  const B = new Uint8Array(n * nb * blob);
  for (let j = 0; j < n; j++) {
    for (let t = 0; t < k; t++) {
      const blk = Math.floor(t / bs);
      const i = t % bs;
      B[(j * nb + blk) * blob + (i >> 1)] |= b.q[j * k + t] << (i & 1 ? 4 : 0);
    }
  }
  let zeroPoints: Uint8Array | null = null;
  if (b.zeroPoints) {
    const per = Math.ceil(nb / 2);
    zeroPoints = new Uint8Array(n * per);
    for (let j = 0; j < n; j++) for (let blk = 0; blk < nb; blk++) zeroPoints[j * per + (blk >> 1)] |= b.zeroPoints[j * nb + blk] << (blk & 1 ? 4 : 0);
  }
  return { B, scales: b.scales.slice(), zeroPoints, K: k, N: n, blockSize: bs };
}

// --- ggml Q4_0 and Q8_0 -------------------------------------------------------------------------------

const QK = 32;
export const Q4_0_BLOCK_BYTES = 18; // fp16 d, then 16 bytes: byte j = element j (low nibble) | element j+16 (high)
export const Q8_0_BLOCK_BYTES = 34; // fp16 d, then 32 int8

function checkGgml(k: number, n: number, data: Uint8Array, blockBytes: number, what: string): number {
  checkDims(k, n);
  if (k % QK !== 0) throw new ShapeError(`${what}: K must be a multiple of 32, got ${k}`);
  const nb = k / QK;
  if (!(data instanceof Uint8Array) || data.length !== n * nb * blockBytes) {
    throw new ShapeError(`${what}: expected ${n} rows of ${nb} blocks of ${blockBytes} bytes (${n * nb * blockBytes} bytes), got ${data?.length}`);
  }
  return nb;
}

/** ggml Q4_0 rows (N rows of K values) -> canonical blocks of 32, symmetric (x = (q - 8) * d). */
export function fromQ4_0(data: Uint8Array, n: number, k: number): Int4Blocks {
  const nb = checkGgml(k, n, data, Q4_0_BLOCK_BYTES, 'Q4_0');
  const q = new Uint8Array(n * k);
  const scales = new Float32Array(n * nb);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  for (let j = 0; j < n; j++) {
    for (let b = 0; b < nb; b++) {
      const o = (j * nb + b) * Q4_0_BLOCK_BYTES;
      const d = fp16ToFloat(view.getUint16(o, true));
      if (!Number.isFinite(d)) throw new ValueRangeError(`Q4_0: block ${b} of row ${j} has scale ${d}`);
      scales[j * nb + b] = d;
      for (let i = 0; i < 16; i++) {
        const byte = data[o + 2 + i];
        q[j * k + b * QK + i] = byte & 15;
        q[j * k + b * QK + i + 16] = byte >> 4;
      }
    }
  }
  return { k, n, blockSize: QK, q, scales, zeroPoints: null };
}

/** canonical symmetric blocks of 32 -> ggml Q4_0 bytes (scales rounded to fp16). */
export function toQ4_0(b: Int4Blocks): Uint8Array {
  if (b.blockSize !== QK || b.zeroPoints || b.k % QK !== 0) {
    throw new ArgumentError('toQ4_0: Q4_0 holds symmetric blocks of 32 (zero point 8) and K a multiple of 32');
  }
  const nb = b.k / QK;
  const out = new Uint8Array(b.n * nb * Q4_0_BLOCK_BYTES);
  const view = new DataView(out.buffer);
  for (let j = 0; j < b.n; j++) {
    for (let blk = 0; blk < nb; blk++) {
      const o = (j * nb + blk) * Q4_0_BLOCK_BYTES;
      view.setUint16(o, floatToFp16(b.scales[j * nb + blk]), true);
      for (let i = 0; i < 16; i++) out[o + 2 + i] = b.q[j * b.k + blk * QK + i] | (b.q[j * b.k + blk * QK + i + 16] << 4);
    }
  }
  return out;
}

/** ggml Q8_0 rows -> float32 [N][K] (x = q * d). */
export function dequantizeQ8_0(data: Uint8Array, n: number, k: number): Float32Array {
  const nb = checkGgml(k, n, data, Q8_0_BLOCK_BYTES, 'Q8_0');
  const out = new Float32Array(n * k);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  for (let j = 0; j < n; j++) {
    for (let b = 0; b < nb; b++) {
      const o = (j * nb + b) * Q8_0_BLOCK_BYTES;
      const d = fp16ToFloat(view.getUint16(o, true));
      for (let i = 0; i < QK; i++) out[j * k + b * QK + i] = Math.fround(view.getInt8(o + 2 + i) * d);
    }
  }
  return out;
}

/** float32 [N][K] -> ggml Q8_0 bytes: d = max|x| / 127 per block of 32 (stored as fp16), q = round(x / d). */
export function quantizeQ8_0(x: Float32Array, n: number, k: number): Uint8Array {
  checkDims(k, n);
  if (k % QK !== 0) throw new ShapeError(`Q8_0: K must be a multiple of 32, got ${k}`);
  if (x.length !== n * k) throw new ShapeError(`Q8_0: expected N*K = ${n * k} values, got ${x.length}`);
  const nb = k / QK;
  const out = new Uint8Array(n * nb * Q8_0_BLOCK_BYTES);
  const view = new DataView(out.buffer);
  for (let j = 0; j < n; j++) {
    for (let b = 0; b < nb; b++) {
      let amax = 0;
      for (let i = 0; i < QK; i++) amax = Math.max(amax, Math.abs(x[j * k + b * QK + i]));
      if (!Number.isFinite(amax)) throw new ValueRangeError(`Q8_0: row ${j}, block ${b} holds NaN or Infinity`);
      const d = amax / 127;
      const o = (j * nb + b) * Q8_0_BLOCK_BYTES;
      view.setUint16(o, floatToFp16(d), true);
      const inv = d ? 1 / d : 0;
      for (let i = 0; i < QK; i++) view.setInt8(o + 2 + i, Math.max(-127, Math.min(127, roundHalfEven(x[j * k + b * QK + i] * inv))));
    }
  }
  return out;
}
