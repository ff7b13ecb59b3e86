// int8-sparse: pruned int8 weights (issue 16) on the SpMM kernels. The weights are pruned in a
// pattern, quantized symmetric int8 per output channel, and stored in the pattern's encoding
// (src/kernels/reference/spmm.ts); activations are uint8 per tensor with int8's static calibrated
// scale and zero point (src/layers/gemm-spmm.ts). Pruning: 'obc' (the default where the layer input's
// Hessian is known: quantizeModel's sequential pass, rt.linear's calibration rows) is Optimal Brain
// Compression, pruning and int8 with the output error corrected (src/quant/obc.ts); 'magnitude'
// (src/quant/prune.ts, the default without a Hessian) prunes by |w| and rounds to nearest.
//   'block4x4'     4x4 blocks by L2 norm, block-sparse rows (the default, at 50%: the pattern that
//                  beats dense int8, bench/RESULTS-spmm.md)
//   'unstructured' single weights by |w|, CSR (pays at M = 128 from ~55% sparsity)
//   '2:4'          2 of every 4 along K, values + index nibbles (sparsity 50%; slower than dense)
//   'srbcrs'       4x1 vectors (4 output channels at one k) by L2 norm, SR-BCRS-like vector rows
//                  padded to 2 vectors a row block (finer than 4x4 blocks, near their speed at M >= 2)
// Options (quantizeModel's `sparsity`): { pattern, target, method } (target: the fraction pruned, [0, 1)),
// or { latency, pattern(s), targets, method }: each layer's pattern and target (or dense int8) chosen
// to meet a latency budget, measured on this engine (CPrune-style; src/model/prune-latency.ts).
// Both methods meet the same pattern and sparsity: OBC prunes magnitude's total, spread evenly over
// the rows (bands of 4 rows for blocks), choosing which weights go by their effect on the layer output.
// rt.linear({ dtype: 'int8-sparse', calibration, sparsity }): the input range from sample inputs.
// Column indices are saved as I32, but srbcrs's as U16 ('cols16': K <= 65536, the kernel's own width;
// files saved before it have I32 'cols', which load to the same bits).
//
//   saved: scales F32 [N], and per pattern
//     block4x4:     blockPtr I32 [ceil(N/4)+1], cols I32 [B], values I8 [B*16]      record: blocks B
//     unstructured: rowPtr I32 [N+1], cols I32 [nnz], values I8 [nnz]                record: nnz
//     2:4:          values I8 [N*kg*2], meta U8 [N*ceil(kg/2)] (kg = ceil(K/4))
//     srbcrs:       vecPtr I32 [ceil(N/4)+1], cols16 U16 [V], values I8 [V*4]      record: vectors V
//   record: pattern, target, sparsity, method, input { scale, zeroPoint }

import { ArgumentError, ValueRangeError, describe } from '../errors.js';
import { gemmRunner } from '../layers/linear-runner.js';
import { staticInputRange } from '../layers/nonfinite.js';
import { minMaxF32, refQuantize } from '../kernels/q8.js';
import { uint8Range } from '../quant/activation-range.js';
import { encodeBsr4, encodeCsr, encodeNm24, refSpmmBsr4, refSpmmCsr, refSpmmF32, refSpmmNm24 } from '../kernels/reference/spmm.js';
import { SPMM_CSR_MAX_K } from '../kernels/spmm-csr.js';
import { SPMM_SRBCRS_MAX_K } from '../kernels/spmm-srbcrs.js';
import { encodeSrbcrs4, refSpmmSrbcrs4, srbcrs4Dense, SRBCRS_STRIDE, SRBCRS_V } from '../kernels/reference/spmm-srbcrs.js';
import { SpmmGemm, type SparseEncoding, type SparsePattern, type SparseWeights } from '../layers/gemm-spmm.js';
import { applyMask, pruneMask, quantizeRowsInt8, type PrunePattern } from '../quant/prune.js';
import { obcInt8 } from '../quant/obc.js';
import { calibrationHessian } from '../quant/gptq.js';
import { checkLatencyBudget } from '../quant/latency-search.js';
import { checkScales, type SavedReader, type WeightFormat } from './format.js';

const f = Math.fround;

export const SPARSE_PATTERNS: readonly SparsePattern[] = ['block4x4', 'unstructured', '2:4', 'srbcrs'];
export const PRUNE_METHODS = ['obc', 'magnitude'] as const;
export type PruneMethod = (typeof PRUNE_METHODS)[number];
/** int8-sparse weights, with the pruning that made them (absent in files saved before OBC: magnitude) */
type Weights = SparseWeights & { method?: PruneMethod };
const PRUNE: Record<SparsePattern, PrunePattern> = { block4x4: { kind: 'block', rows: 4, cols: 4 }, unstructured: { kind: 'unstructured' }, '2:4': { kind: 'nm', n: 2, m: 4 }, srbcrs: { kind: 'block', rows: SRBCRS_V, cols: 1 } };

/** The patterns a latency search tries by default (2:4 is slower than dense int8 on every shape measured, bench/RESULTS-spmm.md). */
export const LATENCY_PATTERNS: readonly SparsePattern[] = ['block4x4', 'unstructured'];
/** Each pattern's targets a latency search tries by default (2:4 has only its own). */
export const LATENCY_TARGETS: Readonly<Record<SparsePattern, readonly number[]>> = { block4x4: [0.25, 0.5, 0.75], unstructured: [0.5, 0.75, 0.9], '2:4': [0.5], srbcrs: [0.5, 0.75, 0.9] };

/** int8-sparse's options, checked. */
export interface SparsityOptions {
  pattern: SparsePattern;
  target: number;
  method?: PruneMethod;
  /**
   * a latency budget: the prunable layers together at most this fraction of their dense int8 time,
   * each layer's pattern and target (or dense int8) chosen by quantizeModel's search over `patterns`
   * x `targets` (src/model/prune-latency.ts)
   */
  latency?: number;
  patterns?: SparsePattern[];
  targets?: number[];
  /** int4-sparse's scaling: a multiplier per kept block ('block') or the row scales alone ('channel'); int8-sparse refuses it */
  scales?: 'block' | 'channel';
}

function checkPattern(pattern: unknown, argument: string): SparsePattern {
  if (!SPARSE_PATTERNS.includes(pattern as SparsePattern)) throw new ArgumentError(`${argument}: expected one of ${SPARSE_PATTERNS.map((p) => `'${p}'`).join(', ')}, got ${describe(pattern)}`);
  return pattern as SparsePattern;
}

const isFraction = (v: unknown): v is number => typeof v === 'number' && v >= 0 && v < 1;

/**
 * quantizeModel's `sparsity` option, checked: the pattern and target, defaults filled (block4x4 at
 * 0.5); method as given (undefined: OBC where the layer's Hessian is known, else magnitude). With
 * `latency` (a fraction of dense int8's time in (0, 1]) the pattern may be a list, `targets` lists
 * the fractions to try (default LATENCY_TARGETS), and `target` is chosen per layer, not given.
 */
export function checkSparsity(value: unknown): SparsityOptions {
  if (value === undefined) return { pattern: 'block4x4', target: 0.5 };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ArgumentError(`sparsity: expected { pattern, target, method } or { latency, pattern, targets, method }, got ${describe(value)}`);
  const { pattern = 'block4x4', target, method, latency, targets, scales, ...rest } = value as { pattern?: unknown; target?: unknown; method?: unknown; latency?: unknown; targets?: unknown; scales?: unknown };
  const extra = Object.keys(rest);
  if (extra.length) throw new ArgumentError(`sparsity: unknown field '${extra[0]}' (expected pattern, target, method, latency, targets, scales)`);
  if (method !== undefined && !PRUNE_METHODS.includes(method as PruneMethod)) throw new ArgumentError(`sparsity.method: expected 'obc' or 'magnitude', got ${describe(method)}`);
  if (scales !== undefined && scales !== 'block' && scales !== 'channel') throw new ArgumentError(`sparsity.scales: expected 'block' or 'channel', got ${describe(scales)}`);
  const how = { ...(method !== undefined && { method: method as PruneMethod }), ...(scales !== undefined && { scales: scales as 'block' | 'channel' }) };
  if (latency !== undefined) {
    checkLatencyBudget(latency, 'sparsity.latency');
    if (target !== undefined) throw new ArgumentError(`sparsity.target: chosen per layer when sparsity.latency is given (list the fractions to try in sparsity.targets), got ${describe(target)}`);
    // default: both patterns that can beat dense int8 (PP-OCRv4: unstructured alone was chosen at 0.9 and 0.8, bench/RESULTS-cprune.md)
    const given = (value as { pattern?: unknown }).pattern ?? LATENCY_PATTERNS;
    const patterns = (Array.isArray(given) ? given : [given]).map((p, i) => checkPattern(p, Array.isArray(given) ? `sparsity.pattern[${i}]` : 'sparsity.pattern'));
    if (patterns.length === 0) throw new ArgumentError('sparsity.pattern: expected at least one pattern, got []');
    if (targets !== undefined && !(Array.isArray(targets) && targets.length > 0 && targets.every((t) => isFraction(t) && t > 0))) throw new ArgumentError(`sparsity.targets: expected a non-empty list of fractions in (0, 1), got ${describe(targets)}`);
    return { pattern: patterns[0], target: 0.5, ...how, latency: latency as number, patterns: [...new Set(patterns)], ...(targets !== undefined && { targets: [...new Set(targets as number[])] }) };
  }
  if (targets !== undefined) throw new ArgumentError(`sparsity.targets: only with sparsity.latency (one fraction for every layer is sparsity.target), got ${describe(targets)}`);
  checkPattern(pattern, 'sparsity.pattern');
  if (target !== undefined && !isFraction(target)) throw new ArgumentError(`sparsity.target: expected a fraction in [0, 1), got ${describe(target)}`);
  if (pattern === '2:4' && target !== undefined && target !== 0.5) throw new ArgumentError(`sparsity.target: pattern '2:4' prunes exactly 0.5, got ${describe(target)}`);
  return { pattern: pattern as SparsePattern, target: (target as number | undefined) ?? 0.5, ...how };
}

/** A latency search's candidates for `sparsity` (checked, with latency): each pattern at each of its targets. */
export function latencyCandidates(s: SparsityOptions): { label: string; sparsity: { pattern: SparsePattern; target: number; method?: PruneMethod } }[] {
  const out = [];
  for (const pattern of s.patterns ?? [s.pattern]) {
    const targets = pattern === '2:4' ? [0.5] : s.targets ?? LATENCY_TARGETS[pattern];
    for (const target of targets) out.push({ label: `${pattern} ${+(target * 100).toFixed(1)}%`, sparsity: { pattern, target, ...(s.method && { method: s.method }) } });
  }
  return out;
}

/** The int8 weights as dense rows N x K, from the pattern's encoding. */
function denseRows(w: SparseEncoding): Int8Array {
  const { n, k } = w.enc;
  if (w.pattern === 'srbcrs') return srbcrs4Dense(w.enc);
  const q = new Int8Array(n * k);
  if (w.pattern === 'unstructured') {
    const { rowPtr, cols, values } = w.enc;
    for (let r = 0; r < n; r++) for (let p = rowPtr[r]; p < rowPtr[r + 1]; p++) q[r * k + cols[p]] = values[p];
  } else if (w.pattern === '2:4') {
    const kg = Math.ceil(k / 4), mb = Math.ceil(kg / 2), { values, meta } = w.enc;
    for (let r = 0; r < n; r++) {
      for (let g = 0; g < kg; g++) {
        const nib = (meta[r * mb + (g >> 1)] >> ((g & 1) * 4)) & 15;
        for (const [j, i] of [[0, nib & 3], [1, nib >> 2]]) if (g * 4 + i < k) q[r * k + g * 4 + i] = values[(r * kg + g) * 2 + j];
      }
    }
  } else {
    const { blockPtr, cols, values } = w.enc;
    for (let bi = 0; bi + 1 < blockPtr.length; bi++) {
      for (let b = blockPtr[bi]; b < blockPtr[bi + 1]; b++) {
        for (let i = 0; i < 16; i++) {
          const r = bi * 4 + (i >> 2), c = cols[b] * 4 + (i & 3);
          if (r < n && c < k) q[r * k + c] = values[b * 16 + i];
        }
      }
    }
  }
  return q;
}

function zeroFraction(q: Int8Array): number {
  let zeros = 0;
  for (let i = 0; i < q.length; i++) if (q[i] === 0) zeros++;
  return q.length ? zeros / q.length : 0;
}

/** int32 sums of (A - za) over the stored weights, by the pattern's scalar reference */
function refAcc(w: SparseEncoding, a: Uint8Array, m: number, za: number): Int32Array {
  if (w.pattern === 'unstructured') return refSpmmCsr(a, m, za, w.enc);
  if (w.pattern === '2:4') return refSpmmNm24(a, m, za, w.enc);
  if (w.pattern === 'srbcrs') return refSpmmSrbcrs4(a, m, za, w.enc);
  return refSpmmBsr4(a, m, za, w.enc);
}

/** An offsets tensor: starts at 0, never decreases, ends at `total`. */
export function checkOffsets(read: SavedReader, name: string, ptr: Int32Array, total: number): void {
  for (let i = 0; i < ptr.length; i++) {
    const lo = i === 0 ? 0 : ptr[i - 1];
    if (!(ptr[i] >= lo && ptr[i] <= total) || (i === 0 && ptr[0] !== 0) || (i === ptr.length - 1 && ptr[i] !== total)) {
      throw read.error(`has ${name}[${i}] = ${ptr[i]}; expected offsets from 0 to ${total} that never decrease`);
    }
  }
}

/** Column indices of each row (offsets `ptr`) ascending and below `limit`. */
export function checkColumns(read: SavedReader, ptr: Int32Array, cols: Int32Array, limit: number): void {
  for (let r = 0; r + 1 < ptr.length; r++) {
    for (let p = ptr[r]; p < ptr[r + 1]; p++) {
      if (!(cols[p] >= 0 && cols[p] < limit && (p === ptr[r] || cols[p] > cols[p - 1]))) throw read.error(`has cols[${p}] = ${cols[p]}; expected ascending columns in [0, ${limit}) within each row`);
    }
  }
}

function checkCodes(read: SavedReader, values: Int8Array): Int8Array {
  const bad = values.indexOf(-128);
  if (bad >= 0) throw read.error(`has values[${bad}] = -128; expected codes in [-127, 127]`);
  return values;
}

/** srbcrs's arrays, checked: counts a multiple of the stride, columns ascending below K (a repeated one only as a zero padding vector) */
function loadSrbcrs(r: Record<string, unknown>, read: SavedReader, n: number, k: number) {
  if (k > SPMM_SRBCRS_MAX_K) throw read.error(`has K = ${k}; the srbcrs kernel takes K <= ${SPMM_SRBCRS_MAX_K}`);
  const nb = Math.ceil(n / SRBCRS_V);
  const vectors = count(read, r.vectors, 'vectors', nb * (k + SRBCRS_STRIDE));
  const vecPtr = read.tensor('vecPtr', 'I32', nb + 1) as Int32Array;
  // 'cols' I32: a file saved before the U16 columns (checked below K <= 65536, so the same bits as uint16)
  const cols = read.has('cols16') ? (read.tensor('cols16', 'U16', vectors) as Uint16Array) : (read.tensor('cols', 'I32', vectors) as Int32Array);
  checkOffsets(read, 'vecPtr', vecPtr, vectors);
  const values = checkCodes(read, read.tensor('values', 'I8', vectors * SRBCRS_V) as Int8Array);
  for (let bi = 0; bi < nb; bi++) {
    if ((vecPtr[bi + 1] - vecPtr[bi]) % SRBCRS_STRIDE !== 0) throw read.error(`has ${vecPtr[bi + 1] - vecPtr[bi]} vectors in row block ${bi}; expected a multiple of ${SRBCRS_STRIDE}`);
    for (let v = vecPtr[bi]; v < vecPtr[bi + 1]; v++) {
      const repeat = v > vecPtr[bi] && cols[v] === cols[v - 1];
      if (!(cols[v] >= 0 && cols[v] < k && (v === vecPtr[bi] || cols[v] >= cols[v - 1])) || (repeat && values.subarray(v * SRBCRS_V, (v + 1) * SRBCRS_V).some((x) => x !== 0))) {
        throw read.error(`has cols[${v}] = ${cols[v]}; expected ascending columns in [0, ${k}) within each row block (a repeat only for a zero padding vector)`);
      }
    }
  }
  return { n, k, vecPtr, cols: cols instanceof Uint16Array ? cols : Uint16Array.from(cols), values };
}

export const count = (read: SavedReader, v: unknown, name: string, max: number): number => {
  if (!Number.isInteger(v) || (v as number) < 0 || (v as number) > max) throw read.error(`has ${name} ${describe(v)}; expected a count from 0 to ${max}`);
  return v as number;
};

export const int8SparseFormat: WeightFormat<Weights> = {
  name: 'int8-sparse',
  label: 'int8-sparse (OBC-pruned, SpMM)',
  summary: "pruned int8 weights per channel (block4x4 50% by default; sparsity: { pattern, target, method: 'obc' | 'magnitude' }, or { latency } for a measured latency budget: lowbit prune), uint8 activations with static calibrated ranges",
  needsInputRange: true,
  // pruning trades accuracy for speed: not a step on auto's size/accuracy ladder
  autoCandidate: false,
  referenceTolerance: 0,

  quantize(wnk, n, k, { input, options, hessian }) {
    if (!input) throw new ArgumentError('int8-sparse weights need the activation quantization of the layer input (calibration)');
    if (input.channelScale || input.border) throw new ArgumentError('int8-sparse: per-channel activation scales or borders are not supported (use per-tensor activations)');
    const { pattern, target, method: asked, latency, scales: scaling } = checkSparsity(options?.sparsity);
    if (scaling !== undefined) throw new ArgumentError(`sparsity.scales: int8-sparse has one scale per output channel (per-block scales are int4-sparse's), got ${describe(scaling)}`);
    if (latency !== undefined) throw new ArgumentError('sparsity.latency: a budget over a whole model, which quantizeModel searches (one layer alone takes sparsity: { pattern, target })');
    // OBC needs the layer's Hessian; a layer calibration never reached has none and is pruned by magnitude
    const method: PruneMethod = hessian && asked !== 'magnitude' ? 'obc' : 'magnitude';
    const { q, scales } = method === 'obc' ? obcInt8(wnk, n, k, hessian!, PRUNE[pattern], target) : quantizeRowsInt8(applyMask(wnk, pruneMask(wnk, n, k, PRUNE[pattern], target).mask), n, k);
    const enc: SparseEncoding =
      pattern === 'unstructured' ? { pattern, enc: encodeCsr(q, n, k) } : pattern === '2:4' ? { pattern, enc: encodeNm24(q, n, k) } : pattern === 'srbcrs' ? { pattern, enc: encodeSrbcrs4(q, n, k) } : { pattern, enc: encodeBsr4(q, n, k) };
    return { ...enc, k, n, scales, input, target: pattern === '2:4' ? 0.5 : target, sparsity: zeroFraction(q), method };
  },
  dims: (w) => ({ k: w.k, n: w.n }),
  gemm: (host, w, bias, activation) => new SpmmGemm(host, w, bias, activation),

  reference(w, x, m, bias) {
    const { k, n, input } = w;
    // what the GEMM stages: clamp(round(x / s) + zp, 0, 255) (q8_quantize_f32), then A - zp
    const a = refQuantize(x, { outer: 1, channels: 1, inner: m * k }, [input.scale], [input.zeroPoint], false) as Uint8Array;
    return refSpmmF32(refAcc(w, a, m, input.zeroPoint), m, n, w.scales.map((s) => f(s * input.scale)), bias ?? undefined);
  },
  dequantize(w) {
    const q = denseRows(w);
    return Float32Array.from(q, (v, i) => f(v * w.scales[Math.floor(i / w.k)]));
  },
  detail: (w) => `${w.pattern}, ${+(w.sparsity * 100).toFixed(1)}% zeros${w.method === 'obc' ? ', OBC' : ''}`,
  storedBytes(w) {
    // cols: 2 bytes each for srbcrs (U16), 4 for the others
    const own = w.pattern === '2:4' ? w.enc.meta.length : (w.pattern === 'unstructured' ? w.enc.rowPtr : w.pattern === 'srbcrs' ? w.enc.vecPtr : w.enc.blockPtr).length * 4 + w.enc.cols.byteLength;
    return w.scales.length * 4 + w.enc.values.length + own;
  },

  save(w, put) {
    put('scales', { dtype: 'F32', shape: [w.n], data: w.scales });
    const fields: Record<string, unknown> = { pattern: w.pattern, target: w.target, sparsity: w.sparsity, ...(w.method && { method: w.method }), input: { scale: w.input.scale, zeroPoint: w.input.zeroPoint } };
    if (w.pattern === '2:4') {
      put('values', { dtype: 'I8', shape: [w.enc.values.length], data: w.enc.values });
      put('meta', { dtype: 'U8', shape: [w.enc.meta.length], data: w.enc.meta });
      return fields;
    }
    const [ptrName, ptr, countName] = w.pattern === 'unstructured' ? ['rowPtr', w.enc.rowPtr, 'nnz'] : w.pattern === 'srbcrs' ? ['vecPtr', w.enc.vecPtr, 'vectors'] : ['blockPtr', w.enc.blockPtr, 'blocks'];
    put(ptrName, { dtype: 'I32', shape: [ptr.length], data: ptr });
    if (w.pattern === 'srbcrs') put('cols16', { dtype: 'U16', shape: [w.enc.cols.length], data: w.enc.cols });
    else put('cols', { dtype: 'I32', shape: [w.enc.cols.length], data: w.enc.cols });
    put('values', { dtype: 'I8', shape: [w.enc.values.length], data: w.enc.values });
    return { ...fields, [countName]: w.enc.cols.length };
  },
  load(r, read) {
    const { k, n } = r;
    const pattern = r.pattern as SparsePattern;
    if (!SPARSE_PATTERNS.includes(pattern)) throw read.error(`has pattern ${describe(r.pattern)}; expected one of ${SPARSE_PATTERNS.join(', ')}`);
    for (const name of ['target', 'sparsity'] as const) {
      if (!(typeof r[name] === 'number' && (r[name] as number) >= 0 && (r[name] as number) <= 1)) throw read.error(`has ${name} ${describe(r[name])}; expected a fraction in [0, 1]`);
    }
    const input = r.input as { scale?: unknown; zeroPoint?: unknown } | undefined;
    if (!input || !(typeof input.scale === 'number' && input.scale > 0 && Number.isFinite(input.scale)) || !(Number.isInteger(input.zeroPoint) && (input.zeroPoint as number) >= 0 && (input.zeroPoint as number) <= 255)) {
      throw read.error(`has input ${describe(input)}; expected { scale > 0, zeroPoint 0..255 }`);
    }
    if (r.method !== undefined && !PRUNE_METHODS.includes(r.method as PruneMethod)) throw read.error(`has method ${describe(r.method)}; expected 'obc' or 'magnitude'`);
    const scales = checkScales(read, read.tensor('scales', 'F32', n) as Float32Array, true);
    const base = { k, n, scales, input: { scale: input.scale as number, zeroPoint: input.zeroPoint as number }, target: r.target as number, sparsity: r.sparsity as number, ...(r.method !== undefined && { method: r.method as PruneMethod }) };
    if (pattern === '2:4') {
      const kg = Math.ceil(k / 4), mb = Math.ceil(kg / 2);
      const values = checkCodes(read, read.tensor('values', 'I8', n * kg * 2) as Int8Array), meta = read.tensor('meta', 'U8', n * mb) as Uint8Array;
      for (let row = 0; row < n; row++) {
        for (let g = 0; g < kg; g++) {
          const nib = (meta[row * mb + (g >> 1)] >> ((g & 1) * 4)) & 15;
          if (!((nib & 3) < nib >> 2)) throw read.error(`has meta nibble ${nib} at row ${row}, group ${g}; expected positions i1 < i2`);
        }
      }
      return { ...base, pattern, enc: { n, k, values, meta } };
    }
    if (pattern === 'unstructured') {
      if (k > SPMM_CSR_MAX_K) throw read.error(`has K = ${k}; the CSR kernel takes K <= ${SPMM_CSR_MAX_K}`);
      const nnz = count(read, r.nnz, 'nnz', n * k);
      const rowPtr = read.tensor('rowPtr', 'I32', n + 1) as Int32Array, cols = read.tensor('cols', 'I32', nnz) as Int32Array;
      checkOffsets(read, 'rowPtr', rowPtr, nnz);
      checkColumns(read, rowPtr, cols, k);
      return { ...base, pattern, enc: { n, k, rowPtr, cols, values: checkCodes(read, read.tensor('values', 'I8', nnz) as Int8Array) } };
    }
    if (pattern === 'srbcrs') return { ...base, pattern, enc: loadSrbcrs(r, read, n, k) };
    const nb = Math.ceil(n / 4), kb = Math.ceil(k / 4);
    const blocks = count(read, r.blocks, 'blocks', nb * kb);
    const blockPtr = read.tensor('blockPtr', 'I32', nb + 1) as Int32Array, cols = read.tensor('cols', 'I32', blocks) as Int32Array;
    checkOffsets(read, 'blockPtr', blockPtr, blocks);
    checkColumns(read, blockPtr, cols, kb);
    return { ...base, pattern, enc: { n, k, blockPtr, cols, values: checkCodes(read, read.tensor('values', 'I8', blocks * 16) as Int8Array) } };
  },

  linear: {
    // rt.linear: the input range from sample inputs (static, as int8's 'static' activations), and
    // for OBC (the default) the Hessian XᵀX/rows of those rows
    options: ['sparsity', 'calibration'],
    async build(host, rows, n, k, bias, o) {
      const cal = o.calibration;
      if (!(cal instanceof Float32Array) || cal.length === 0 || cal.length % k !== 0) throw new ArgumentError(`calibration: 'int8-sparse' needs sample inputs as a Float32Array of rows of ${k}, got ${describe(cal)}`);
      const [lo, hi] = await minMaxF32(host, cal);
      if (!Number.isFinite(lo) || !Number.isFinite(hi)) throw new ValueRangeError('calibration: contains NaN or Infinity');
      const obc = checkSparsity(o.sparsity).method !== 'magnitude';
      const data = int8SparseFormat.quantize(rows, n, k, { input: uint8Range(lo, hi), options: o, hessian: obc ? calibrationHessian(cal, k) : undefined });
      // NaN and infinities refused by a wasm pass over x in linear memory (not the layer's JS scan)
      return { data, runner: gemmRunner(host, int8SparseFormat.gemm(host, data, bias, null), true, staticInputRange(data)) };
    },
  },
};
