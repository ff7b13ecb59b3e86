// int4-sparse: pruned 4x4 blocks of int4 weights (issue 16, OBC's joint sparsity + 4-bit
// quantization). The weights are pruned in 4x4 blocks (L2 norm), the kept ones quantized symmetric
// int4 per output channel (codes in [-7, 7], scale max|w| / 7 of the pruned row), stored as
// block-sparse rows with 8 bytes of nibbles per block (Bsr4Int4, src/kernels/reference/spmm.ts) and
// run by spmm-block's kernel with bits = 4 (int4 x uint8 -> int32, float32 epilogue): half the value
// bytes of int8-sparse's blocks. Activations as int8-sparse: uint8 per tensor, static calibrated
// range. Pruning: 'obc' where the layer input's Hessian is known (OBC pruning, then the kept weights
// rounded to int4 with each rounding error corrected on the columns after it: src/quant/obc.ts),
// else 'magnitude' (block norms, round to nearest).
// Options (quantizeModel's `sparsity`): { pattern: 'block4x4' (the only one), target, method,
// scales: 'block' | 'channel' }.
// Scales: per block by default (src/quant/int4-blocks.ts): a weight is code x sub x rowScale, sub an
// integer in [1, 63] per kept block, so the sums stay exact int32 over a whole row and the kernel is
// int8-sparse's block kernel with a different weight load and one int16 multiply per block.
// 'channel': one scale per row (max|w| / 7), the format's first scaling (records without `scaling`).
//
//   saved: scales F32 [N], blockPtr I32 [ceil(N/4)+1], cols I32 [B], nibbles U8 [B*8],
//          subs U8 [B] (scaling 'block' only)
//   record: target, sparsity, method, blocks, input { scale, zeroPoint }, scaling ('block' | 'channel'; absent: 'channel')

import { ArgumentError, ValueRangeError, describe } from '../errors.js';
import { gemmRunner } from '../layers/linear-runner.js';
import { staticInputRange } from '../layers/nonfinite.js';
import { minMaxF32, refQuantize } from '../kernels/q8.js';
import { uint8Range } from '../quant/activation-range.js';
import { bsr4Int4Value, encodeBsr4Int4, refSpmmBsr4Int4, refSpmmF32, type Bsr4Int4 } from '../kernels/reference/spmm.js';
import { SpmmGemm, type SpmmLayerWeights } from '../layers/gemm-spmm.js';
import { applyMask, pruneMask, quantizeRowsSymmetric, type PrunePattern } from '../quant/prune.js';
import { obcQuantized } from '../quant/obc.js';
import { calibrationHessian } from '../quant/gptq.js';
import { INT4_SUB_MAX, int4BlockGrid, int4GridStep, quantizeInt4Grid } from '../quant/int4-blocks.js';
import { obcOnGrid } from '../quant/obc.js';
import { checkScales, type WeightFormat } from './format.js';
import { PRUNE_METHODS, checkColumns, checkOffsets, checkSparsity, count, type PruneMethod } from './int8-sparse.js';

const f = Math.fround;
const BLOCKS: PrunePattern = { kind: 'block', rows: 4, cols: 4 };
const QMAX = 7;

export type Int4SparseWeights = SpmmLayerWeights & {
  enc: Bsr4Int4;
  /** the sparsity asked for, and the fraction of zero int4 weights it gave */
  target: number;
  sparsity: number;
  method: PruneMethod;
  /** 'block': a multiplier per kept block (enc.subs); 'channel': the row scales alone */
  scaling: Int4Scaling;
};

export type Int4Scaling = 'block' | 'channel';
const SCALINGS: readonly Int4Scaling[] = ['block', 'channel'];

/** int4-sparse's sparsity options: int8-sparse's, with block4x4 the only pattern, no latency budget, and the scaling. */
function checkInt4Sparsity(value: unknown): { target: number; method?: PruneMethod; scaling: Int4Scaling } {
  const s = checkSparsity(value);
  if (s.latency !== undefined) throw new ArgumentError("sparsity.latency: int4-sparse has no latency search (it is int8-sparse's)");
  if (s.pattern !== 'block4x4') throw new ArgumentError(`sparsity.pattern: int4-sparse stores 4x4 blocks, expected 'block4x4', got ${describe(s.pattern)}`);
  return { target: s.target, ...(s.method && { method: s.method }), scaling: s.scales ?? 'block' };
}

/** Pruned and quantized: codes, row scales and (block scaling) the dense grid of multipliers. */
function compress(wnk: Float32Array, n: number, k: number, hessian: Float64Array | undefined, target: number, method: PruneMethod, scaling: Int4Scaling): { q: Int8Array; scales: Float32Array; subs?: Uint8Array } {
  if (scaling === 'channel') {
    return method === 'obc' ? obcQuantized(wnk, n, k, hessian!, BLOCKS, target, QMAX) : quantizeRowsSymmetric(applyMask(wnk, pruneMask(wnk, n, k, BLOCKS, target).mask), n, k, QMAX);
  }
  if (method === 'obc') {
    let grid!: ReturnType<typeof int4BlockGrid>;
    const { q } = obcOnGrid(wnk, n, k, hessian!, BLOCKS, target, {}, QMAX, (pruned) => {
      grid = int4BlockGrid(pruned, n, k);
      return (j, c) => int4GridStep(grid, k, j, c);
    });
    return { q, ...grid };
  }
  const pruned = applyMask(wnk, pruneMask(wnk, n, k, BLOCKS, target).mask), grid = int4BlockGrid(pruned, n, k);
  return { q: quantizeInt4Grid(pruned, n, k, grid), ...grid };
}

/** The integer weights (codes times their block's multiplier) as dense rows N x K. */
function denseCodes(w: Int4SparseWeights): Int16Array {
  const { n, k, enc } = w;
  const q = new Int16Array(n * k);
  for (let bi = 0; bi + 1 < enc.blockPtr.length; bi++) {
    for (let b = enc.blockPtr[bi]; b < enc.blockPtr[bi + 1]; b++) {
      for (let i = 0; i < 16; i++) {
        const r = bi * 4 + (i >> 2), c = enc.cols[b] * 4 + (i & 3);
        if (r < n && c < k) q[r * k + c] = bsr4Int4Value(enc.nibbles, b, i) * (enc.subs ? enc.subs[b] : 1);
      }
    }
  }
  return q;
}

const gemmWeights = (w: Int4SparseWeights) => ({ pattern: 'block4x4-int4' as const, enc: w.enc, k: w.k, n: w.n, scales: w.scales, input: w.input });

export const int4SparseFormat: WeightFormat<Int4SparseWeights> = {
  name: 'int4-sparse',
  label: 'int4-sparse (OBC-pruned 4x4 blocks, 4-bit, SpMM)',
  summary: "pruned 4x4 blocks of int4 weights with a scale per block (50% by default; sparsity: { target, method: 'obc' | 'magnitude', scales: 'block' | 'channel' }), uint8 activations with static calibrated ranges",
  needsInputRange: true,
  autoCandidate: false,
  referenceTolerance: 0,

  quantize(wnk, n, k, { input, options, hessian }) {
    if (!input) throw new ArgumentError('int4-sparse weights need the activation quantization of the layer input (calibration)');
    if (input.channelScale || input.border) throw new ArgumentError('int4-sparse: per-channel activation scales or borders are not supported (use per-tensor activations)');
    const { target, method: asked, scaling } = checkInt4Sparsity(options?.sparsity);
    const method: PruneMethod = hessian && asked !== 'magnitude' ? 'obc' : 'magnitude';
    const { q, scales, subs } = compress(wnk, n, k, hessian, target, method, scaling);
    let zeros = 0;
    for (let i = 0; i < q.length; i++) if (q[i] === 0) zeros++;
    return { enc: encodeBsr4Int4(q, n, k, subs), k, n, scales, input, target, sparsity: q.length ? zeros / q.length : 0, method, scaling };
  },
  dims: (w) => ({ k: w.k, n: w.n }),
  gemm: (host, w, bias, activation) => new SpmmGemm(host, gemmWeights(w), bias, activation),

  reference(w, x, m, bias) {
    const { k, n, input } = w;
    const a = refQuantize(x, { outer: 1, channels: 1, inner: m * k }, [input.scale], [input.zeroPoint], false) as Uint8Array;
    return refSpmmF32(refSpmmBsr4Int4(a, m, input.zeroPoint, w.enc), m, n, w.scales.map((s) => f(s * input.scale)), bias ?? undefined);
  },
  dequantize(w) {
    return Float32Array.from(denseCodes(w), (v, i) => f(v * w.scales[Math.floor(i / w.k)]));
  },
  detail: (w) => `block4x4 int4${w.scaling === 'block' ? ' (block scales)' : ''}, ${+(w.sparsity * 100).toFixed(1)}% zeros${w.method === 'obc' ? ', OBC' : ''}`,
  storedBytes: (w) => w.scales.length * 4 + w.enc.nibbles.length + (w.enc.subs?.length ?? 0) + (w.enc.blockPtr.length + w.enc.cols.length) * 4,

  save(w, put) {
    put('scales', { dtype: 'F32', shape: [w.n], data: w.scales });
    put('blockPtr', { dtype: 'I32', shape: [w.enc.blockPtr.length], data: w.enc.blockPtr });
    put('cols', { dtype: 'I32', shape: [w.enc.cols.length], data: w.enc.cols });
    put('nibbles', { dtype: 'U8', shape: [w.enc.nibbles.length], data: w.enc.nibbles });
    if (w.enc.subs) put('subs', { dtype: 'U8', shape: [w.enc.subs.length], data: w.enc.subs });
    return { target: w.target, sparsity: w.sparsity, method: w.method, blocks: w.enc.cols.length, input: { scale: w.input.scale, zeroPoint: w.input.zeroPoint }, scaling: w.scaling };
  },
  load(r, read) {
    const { k, n } = r;
    for (const name of ['target', 'sparsity'] as const) {
      if (!(typeof r[name] === 'number' && (r[name] as number) >= 0 && (r[name] as number) <= 1)) throw read.error(`has ${name} ${describe(r[name])}; expected a fraction in [0, 1]`);
    }
    const input = r.input as { scale?: unknown; zeroPoint?: unknown } | undefined;
    if (!input || !(typeof input.scale === 'number' && input.scale > 0 && Number.isFinite(input.scale)) || !(Number.isInteger(input.zeroPoint) && (input.zeroPoint as number) >= 0 && (input.zeroPoint as number) <= 255)) {
      throw read.error(`has input ${describe(input)}; expected { scale > 0, zeroPoint 0..255 }`);
    }
    if (!PRUNE_METHODS.includes(r.method as PruneMethod)) throw read.error(`has method ${describe(r.method)}; expected 'obc' or 'magnitude'`);
    const scales = checkScales(read, read.tensor('scales', 'F32', n) as Float32Array, true);
    const nb = Math.ceil(n / 4), kb = Math.ceil(k / 4);
    if (kb > 65536) throw read.error(`has K = ${k}; the block kernel takes K <= ${65536 * 4}`);
    const blocks = count(read, r.blocks, 'blocks', nb * kb);
    const blockPtr = read.tensor('blockPtr', 'I32', nb + 1) as Int32Array, cols = read.tensor('cols', 'I32', blocks) as Int32Array;
    checkOffsets(read, 'blockPtr', blockPtr, blocks);
    checkColumns(read, blockPtr, cols, kb);
    const nibbles = read.tensor('nibbles', 'U8', blocks * 8) as Uint8Array;
    // files from before per-block scales have no `scaling`: their rows' scales alone
    const scaling = r.scaling ?? 'channel';
    if (!SCALINGS.includes(scaling as Int4Scaling)) throw read.error(`has scaling ${describe(r.scaling)}; expected 'block' or 'channel'`);
    if (scaling === 'channel' && read.has('subs')) throw read.error("has a subs tensor with scaling 'channel'; expected none");
    const subs = scaling === 'block' ? (read.tensor('subs', 'U8', blocks) as Uint8Array) : undefined;
    const bad = subs ? subs.findIndex((s) => s < 1 || s > INT4_SUB_MAX) : -1;
    if (bad >= 0) throw read.error(`has subs[${bad}] = ${subs![bad]}; expected block multipliers in [1, ${INT4_SUB_MAX}]`);
    const enc = { n, k, blockPtr, cols, nibbles, ...(subs && { subs }) };
    return { k, n, scales, input: { scale: input.scale as number, zeroPoint: input.zeroPoint as number }, target: r.target as number, sparsity: r.sparsity as number, method: r.method as PruneMethod, scaling: scaling as Int4Scaling, enc };
  },

  linear: {
    // rt.linear: the input range from sample inputs, and for OBC (the default) the Hessian of those rows
    options: ['sparsity', 'calibration'],
    async build(host, rows, n, k, bias, o) {
      const cal = o.calibration;
      if (!(cal instanceof Float32Array) || cal.length === 0 || cal.length % k !== 0) throw new ArgumentError(`calibration: 'int4-sparse' needs sample inputs as a Float32Array of rows of ${k}, got ${describe(cal)}`);
      const [lo, hi] = await minMaxF32(host, cal);
      if (!Number.isFinite(lo) || !Number.isFinite(hi)) throw new ValueRangeError('calibration: contains NaN or Infinity');
      const obc = checkInt4Sparsity(o.sparsity).method !== 'magnitude';
      const data = int4SparseFormat.quantize(rows, n, k, { input: uint8Range(lo, hi), options: o, hessian: obc ? calibrationHessian(cal, k) : undefined });
      return { data, runner: gemmRunner(host, int4SparseFormat.gemm(host, data, bias, null), true, staticInputRange(data)) };
    },
  },
};
