// The KV cache of a decoder run by generate(): one key and one value buffer per layer, laid out as the
// model's past_key_values inputs are ([batch, kv_heads, rows, head_size]), each sequence's tokens in
// rows [0, lengths[b]) of every head.
//
// A model's present outputs come back in the cache's own buffers: a run copies its float32 feeds into
// the activation arena before any step, so it may write the presents over the past it was fed
// (RunOptions.into); a step allocates no cache, and the cache exists once in JS. The prompt's presents
// (no past) come back as fresh arrays, which the cache takes over as they are.
//
// With a 'shared' layout (every past is read by GroupQueryAttention only, which takes a past longer
// than the sequence: present has max(total, past) rows) the buffers are sized once for the
// whole generation (or grown by whole chunks), so the rows a step feeds do not change per token: the
// model keeps one plan for the decode instead of one per step.

import { ValueRangeError } from '../errors.js';
import type { ModelInput } from './feeds.js';
import type { OutputTensor } from './outputs.js';

/** Names and sizes of a decoder's cache, read off its graph (see generate.ts, decoderLayout). */
export interface KvNames {
  /** per layer: the past key and value input names, the present key and value output names */
  readonly past: readonly (readonly [string, string])[];
  readonly present: readonly (readonly [string, string])[];
  readonly kvHeads: number;
  readonly headSize: number;
}

export class KvCache {
  /** per layer, [batch, kvHeads, rows, headSize] */
  private keys: Float32Array[];
  private values: Float32Array[];
  /** rows of every buffer (the past_sequence_length fed) */
  rows = 0;
  /** tokens each sequence holds */
  readonly lengths: number[];

  constructor(readonly names: KvNames, readonly batch: number) {
    const empty = () => names.past.map(() => new Float32Array(0));
    [this.keys, this.values] = [empty(), empty()];
    this.lengths = new Array<number>(batch).fill(0);
  }

  /** Bytes the buffers hold. */
  get bytes(): number {
    return this.keys.reduce((s, k, i) => s + 4 * (k.length + this.values[i].length), 0);
  }

  /** The past_key_values feeds: every buffer as it is (no copy). */
  feeds(): Record<string, ModelInput> {
    const dims = [this.batch, this.names.kvHeads, this.rows, this.names.headSize];
    const out: Record<string, ModelInput> = {};
    this.names.past.forEach(([k, v], l) => {
      out[k] = { type: 'float32', data: this.keys[l], dims };
      out[v] = { type: 'float32', data: this.values[l], dims };
    });
    return out;
  }

  /**
   * Takes the present outputs of a step that added `added` tokens to every sequence as the new
   * buffers (they become the next step's past without a copy).
   */
  adopt(outputs: Record<string, OutputTensor>, added: number): void {
    const { kvHeads, headSize } = this.names;
    this.names.present.forEach(([k, v], l) => {
      for (const [name, into] of [[k, this.keys], [v, this.values]] as const) {
        const t = outputs[name];
        if (t.dims.length !== 4 || t.dims[0] !== this.batch || t.dims[1] !== kvHeads || t.dims[3] !== headSize || !(t.data instanceof Float32Array)) {
          throw new ValueRangeError(`generate: output '${name}' is ${t.type} [${t.dims}], expected float32 [${this.batch}, ${kvHeads}, rows, ${headSize}]`);
        }
        into[l] = t.data;
      }
    });
    this.rows = outputs[this.names.present[0][0]].dims[2];
    for (let b = 0; b < this.batch; b++) this.lengths[b] += added;
  }

  /** The arrays the next run writes its present outputs into (RunOptions.into): the past it is fed (used when the sizes match); added to `into`. */
  outputBuffers(into: Record<string, Float32Array> = {}): Record<string, Float32Array> {
    this.names.present.forEach(([k, v], l) => {
      into[k] = this.keys[l];
      into[v] = this.values[l];
    });
    return into;
  }

  /**
   * At least `rows` rows (at most `max`), grown to a multiple of `chunk`: a copy of every head's rows
   * into the larger buffers, once per chunk.
   */
  reserve(rows: number, chunk: number, max: number): void {
    if (rows <= this.rows) return;
    if (rows > max) throw new ValueRangeError(`generate: the cache needs ${rows} rows, more than the ${max} positions the model's rotary caches hold`);
    const grown = Math.min(max, Math.ceil(rows / chunk) * chunk);
    const { kvHeads, headSize } = this.names;
    const copy = (old: Float32Array) => {
      const buf = new Float32Array(this.batch * kvHeads * grown * headSize);
      const from = this.rows * headSize, to = grown * headSize;
      for (let i = 0; i < this.batch * kvHeads; i++) buf.set(old.subarray(i * from, (i + 1) * from), i * to);
      return buf;
    };
    this.keys = this.keys.map(copy);
    this.values = this.values.map(copy);
    this.rows = grown;
  }
}
