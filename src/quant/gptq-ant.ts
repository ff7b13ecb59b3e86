// GPTQ onto ANT's 4-bit types (src/quant/ant.ts): the shared GPTQ loop (src/quant/gptq.ts) with
// ANT's rounding as its grid. The type is chosen before (per tensor or per row, e.g. by
// selectAntType on the float weights); GPTQ then only decides the codes and the block scales.
// A block's scale comes from ANT's clip search (ratios 0.75..1.49 of the block's absmax, and the
// mirrored scales on int4's longer negative end: quantizeAnt's rules) run on the block's values as
// GPTQ has them when the block starts, rounded to float32 as ANT's search takes weights (with
// actOrder: on the unquantized weights, static groups). Each value's dequantized form is
// fround(scale · level), what the LUT4 kernel computes.

import { ShapeError, ValueRangeError, describe } from '../errors.js';
import { antRounding, packAntCodes, type AntQuantized, type AntType } from './ant.js';
import { checkHessian, gptqLoop, type GemmNT, type GptqGrid, type SyrkLower } from './gptq.js';

export interface AntGptqOptions {
  /** values of a row per scale (default K: one scale per row) */
  blockSize?: number;
  /** ANT's clip search per block (default true); false: alpha = the block's absmax */
  clipSearch?: boolean;
  /** also try the mirrored scale on int4's longer negative end (default true, as quantizeAnt) */
  mirror?: boolean;
  /** added to H's diagonal, as a fraction of its mean (default 0.01) */
  dampPercent?: number;
  /** columns in order of descending H diagonal, static block scales (default false) */
  actOrder?: boolean;
  /** columns per lazy batch update (default 128) */
  lazyBatch?: number;
  /** the factorization's rank updates done elsewhere with the same bits (see GptqOptions.syrk) */
  syrk?: SyrkLower;
  /** the lazy batch updates' products done elsewhere with the same bits (see GptqOptions.gemm) */
  gemm?: GemmNT;
}

type Rounding = ReturnType<typeof antRounding>;

/** ANT's rounding per block; the type of block b is its row's. */
class AntGrid implements GptqGrid {
  readonly scales: Float32Array;
  readonly ratios: Float32Array;
  private readonly rows: Rounding[];
  private readonly block: Float32Array;

  constructor(private readonly types: readonly AntType[], private readonly blocks: number, bs: number, clipSearch: boolean, mirror: boolean) {
    const byType = new Map<AntType, Rounding>();
    this.rows = types.map((t) => {
      let r = byType.get(t);
      if (!r) byType.set(t, (r = antRounding(t, clipSearch, mirror)));
      return r;
    });
    this.scales = new Float32Array(types.length * blocks);
    this.ratios = new Float32Array(types.length * blocks);
    this.block = new Float32Array(bs);
  }

  fit(block: number, values: ArrayLike<number>, start: number, end: number): void {
    const len = end - start;
    for (let i = 0; i < len; i++) this.block[i] = values[start + i];
    const { scale, r } = this.rows[Math.floor(block / this.blocks)].scale(this.block, 0, len);
    this.scales[block] = scale;
    this.ratios[block] = r;
  }

  code(block: number, v: number): number {
    const r = this.rows[Math.floor(block / this.blocks)];
    return r.codes[r.index(v / this.scales[block])];
  }

  value(block: number, code: number): number {
    return Math.fround(this.scales[block] * this.types[Math.floor(block / this.blocks)].levels[code]);
  }
}

/**
 * Quantizes W [N][K] (rows = output channels) to the given ANT type(s) (one, or one per row) with
 * GPTQ, given the layer's Hessian (K×K float64, e.g. XᵀX / rows of its inputs).
 */
export function quantizeAntGptq(w: Float32Array, n: number, k: number, types: AntType | readonly AntType[], hessian: Float64Array, options: AntGptqOptions = {}): AntQuantized {
  if (!Number.isInteger(k) || !Number.isInteger(n) || k < 1 || n < 1) throw new ShapeError(`K and N must be positive integers, got K=${k}, N=${n}`);
  if (!(w instanceof Float32Array) || w.length !== n * k) throw new ShapeError(`weights: expected a Float32Array of N*K = ${n * k}, got ${describe(w)}`);
  for (let i = 0; i < w.length; i++) if (!Number.isFinite(w[i])) throw new ValueRangeError(`weights: element ${i} is ${w[i]}; weights must be finite`);
  const rowTypes = Array.isArray(types) ? types : new Array<AntType>(n).fill(types as AntType);
  if (rowTypes.length !== n) throw new ShapeError(`types: expected one ANT type or one per row (N = ${n}), got ${rowTypes.length}`);
  const bs = Math.min(options.blockSize ?? k, k);
  if (!Number.isInteger(bs) || bs < 1) throw new ShapeError(`blockSize: must be a positive integer, got ${describe(options.blockSize)}`);
  const nb = Math.ceil(k / bs);
  const grid = new AntGrid(rowTypes, nb, bs, options.clipSearch !== false, options.mirror !== false);
  const h = checkHessian(hessian, k);
  const codes = gptqLoop(Float64Array.from(w), n, k, h, grid, { ...options, blockSize: bs }, 'hessian: H');

  const channelMse = new Float64Array(n);
  let sig = 0;
  let noise = 0;
  for (let j = 0; j < n; j++) {
    let e = 0;
    for (let i = j * k; i < (j + 1) * k; i++) {
      const d = grid.value(j * nb + Math.floor((i - j * k) / bs), codes[i]) - w[i];
      e += d * d;
      sig += w[i] * w[i];
    }
    channelMse[j] = e / k;
    noise += e;
  }
  return {
    channels: n, channelLength: k, blockSize: bs, blocks: nb, types: rowTypes, codes, packed: packAntCodes(codes, n, k),
    scales: grid.scales, clipRatios: grid.ratios, channelMse, mse: noise / w.length, sqnrDb: noise === 0 ? Infinity : 10 * Math.log10(sig / noise),
  };
}

/** GPTQ again over weights ANT quantized by rounding (the types and block size they chose), with `settings`. */
export function antGptqAfter(w: Float32Array, chosen: AntQuantized, hessian: Float64Array, settings: Omit<AntGptqOptions, 'blockSize'> = {}): AntQuantized {
  return quantizeAntGptq(w, chosen.channels, chosen.channelLength, chosen.types, hessian, { ...settings, blockSize: chosen.blockSize });
}
