// Calibration: run the float model on user inputs and record what each weight layer's input
// looked like (its extremes, per channel too, and a bounded sample of whole rows for percentiles,
// MSE ranges and the rounding border), keyed by graph node.

import { percentileRange } from '../quant/activation-range.js';
import type { GraphNode } from './graph.js';
import type { Model, ModelInputs } from './model.js';

/** The inputs of one run (Model.run's feeds). */
export type Feeds = ModelInputs;

/** About this many values of each tensor are sampled per calibration input. */
const SAMPLE_VALUES = 4096;

/**
 * Running statistics of one tensor over calibration: extremes (overall and per channel) and a
 * bounded sample of whole rows of `channels` values (a pixel's channels, a linear layer's input row).
 * Rows are picked by a fixed hash, not a stride, so a stride that divides the row length cannot
 * make the sample see only some channels.
 */
export class RangeStats {
  min = Infinity;
  max = -Infinity;
  readonly channelMin: Float32Array;
  readonly channelMax: Float32Array;
  private rows: Float32Array[] = [];
  private joined: Float32Array | null = null;
  private ordered: Float32Array | null = null;

  /** the logical dims of the first input seen (the layer's shape: src/model/int8-shape-rule.ts) */
  dims: readonly number[] = [];

  /** `channels`: the length of a row (the values' channel is their index mod channels) */
  constructor(readonly channels = 1) {
    this.channelMin = new Float32Array(channels).fill(Infinity);
    this.channelMax = new Float32Array(channels).fill(-Infinity);
  }

  add(x: Float32Array): void {
    const c = this.channels, cmin = this.channelMin, cmax = this.channelMax;
    const nRows = Math.floor(x.length / c);
    for (let r = 0, i = 0; r < nRows; r++) {
      for (let j = 0; j < c; j++, i++) {
        const v = x[i];
        if (v < cmin[j]) cmin[j] = v;
        if (v > cmax[j]) cmax[j] = v;
      }
    }
    let lo = this.min, hi = this.max;
    for (let j = 0; j < c; j++) {
      if (cmin[j] < lo) lo = cmin[j];
      if (cmax[j] > hi) hi = cmax[j];
    }
    this.min = lo;
    this.max = hi;
    // one row from each of `want` equal blocks of rows, at a hashed place in its block
    const want = Math.min(nRows, Math.max(1, Math.ceil(SAMPLE_VALUES / c)));
    const s = new Float32Array(want * c);
    for (let b = 0; b < want; b++) {
      const start = Math.floor((b * nRows) / want), end = Math.floor(((b + 1) * nRows) / want);
      const r = start + (hash(b + this.rows.length * 7919) % Math.max(1, end - start));
      s.set(x.subarray(r * c, r * c + c), b * c);
    }
    this.rows.push(s);
    this.joined = this.ordered = null;
  }

  /** the sampled rows, one after another (row length `channels`) */
  sample(): Float32Array {
    if (!this.joined) {
      const out = new Float32Array(this.rows.reduce((a, s) => a + s.length, 0));
      let at = 0;
      for (const s of this.rows) out.set(s, (at += s.length) - s.length);
      this.joined = out;
    }
    return this.joined;
  }

  /** the sampled values in ascending order */
  sorted(): Float32Array {
    return (this.ordered ??= this.sample().slice().sort());
  }

  /** [min, max] narrowed to the given percentile of each side */
  percentile(p: number): [number, number] {
    return this.sorted().length === 0 ? [0, 0] : percentileRange(this.sorted(), p, this.min, this.max);
  }
}

/** A fixed integer hash (for sampling positions that do not follow any stride). */
function hash(i: number): number {
  let h = Math.imul(i ^ 0x9e3779b9, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** The channel count of a layer's input: a pixel's channels (NHWC) or the last dimension. */
function inputChannels(dims: readonly number[], nhwc: boolean): number {
  const c = nhwc && dims.length === 4 ? dims[1] : dims[dims.length - 1];
  return c > 0 ? c : 1;
}

/** Each weight layer's input statistics over the calibration inputs. */
export async function calibrate(model: Model, calibration: Feeds[], onProgress?: (done: number, total: number) => void): Promise<Map<GraphNode, RangeStats>> {
  const stats = new Map<GraphNode, RangeStats>();
  for (const [i, feeds] of calibration.entries()) {
    await model.run(feeds, {
      beforeStep: (step, ins) => {
        if (!step.layer || !step.node || !ins[0]) return;
        let s = stats.get(step.node);
        const v = step.ins[0]!;
        if (!s) {
          stats.set(step.node, (s = new RangeStats(inputChannels(v.dims, v.nhwc))));
          s.dims = v.dims;
        }
        s.add(ins[0]);
      },
    });
    onProgress?.(i + 1, calibration.length);
  }
  return stats;
}
