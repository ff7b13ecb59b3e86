// The KV cache of a decoder run by generate(): one key and one value buffer per layer, laid out as the
// model's past_key_values inputs are ([batch, kv_heads, rows, head_size]), each sequence's tokens in
// rows [0, lengths[b]) of every head.
//
// A model's present outputs come back in the cache's own buffers: a run copies its float32 feeds into
// the activation arena before any step, so it may write the presents over the past it was fed
// (RunOptions.into); a step allocates no cache, and the cache exists once in JS. The prompt's presents
// (no past) come back as fresh arrays, which the cache takes over as they are.
//
// Between decode steps the cache may live in the model's arena alone (it is an ArenaCarry): the
// present a step writes in place over its past stays there for the next step, so the JS buffers are
// dropped (held()) and a step copies nothing in or out; when the model needs the arena for something
// else it hands the rows back (spill()), and a later step feeds them again.
//
// With a 'shared' layout (every past is read by GroupQueryAttention only, which takes a past longer
// than the sequence: present has max(total, past) rows) the buffers are sized once for the
// whole generation (or grown by whole chunks), so the rows a step feeds do not change per token: the
// model keeps one plan for the decode instead of one per step.

import { ValueRangeError } from '../errors.js';
import type { ArenaCarry } from './arena-carry.js';
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

const EMPTY = new Float32Array(0);

export class KvCache implements ArenaCarry {
  /** per layer, [batch, kvHeads, rows, headSize] (empty while the arena holds them) */
  private keys: Float32Array[];
  private values: Float32Array[];
  /** rows of every buffer (the past_sequence_length fed) */
  rows = 0;
  /** tokens each sequence holds */
  readonly lengths: number[];
  /** [present, past] names (ArenaCarry) */
  readonly pairs: readonly (readonly [string, string])[];
  /** whether the model's arena holds the buffers (the JS ones are dropped) */
  private resident = false;
  /** where each past input and present output is: [layer, 0 key / 1 value] */
  private readonly where = new Map<string, [number, 0 | 1]>();

  constructor(readonly names: KvNames, readonly batch: number) {
    const empty = () => names.past.map(() => EMPTY);
    [this.keys, this.values] = [empty(), empty()];
    this.lengths = new Array<number>(batch).fill(0);
    this.pairs = names.present.flatMap(([k, v], l) => [[k, names.past[l][0]], [v, names.past[l][1]]] as const);
    names.past.forEach(([k, v], l) => this.where.set(k, [l, 0]).set(v, [l, 1]));
    names.present.forEach(([k, v], l) => this.where.set(k, [l, 0]).set(v, [l, 1]));
  }

  /** Whether the model's arena holds the cache now (no JS copy). */
  get inArena(): boolean {
    return this.resident;
  }

  valuesOf(input: string): Float32Array | null {
    if (this.resident) return null;
    const [l, kv] = this.where.get(input)!;
    return (kv ? this.values : this.keys)[l];
  }

  held(): void {
    this.resident = true;
    this.keys = this.keys.map(() => EMPTY);
    this.values = this.values.map(() => EMPTY);
  }

  spill(output: string, values: Float32Array): void {
    this.resident = false;
    const [l, kv] = this.where.get(output)!;
    // grown while in the arena (reserve): the rows go into the larger buffer now
    const old = values.length / (this.batch * this.names.kvHeads * this.names.headSize);
    (kv ? this.values : this.keys)[l] = old === this.rows ? values : this.grow(values, old, this.rows);
  }

  /** Bytes the buffers hold. */
  get bytes(): number {
    return this.keys.reduce((s, k, i) => s + 4 * (k.length + this.values[i].length), 0);
  }

  /** The past_key_values feeds: every buffer as it is (no copy; empty while the arena holds them, RunOptions.carry). */
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
        if (!this.resident) into[l] = t.data; // in the arena: the data is a view of it, not kept
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
    // in the arena: the rows are copied when the model spills them (the next step has another plan)
    if (!this.resident) {
      this.keys = this.keys.map((k) => this.grow(k, this.rows, grown));
      this.values = this.values.map((v) => this.grow(v, this.rows, grown));
    }
    this.rows = grown;
  }

  /** `old`'s rows (of `from` per head) at the start of each head's `to` rows, the rest zero. */
  private grow(old: Float32Array, from: number, to: number): Float32Array {
    const { kvHeads, headSize } = this.names;
    const buf = new Float32Array(this.batch * kvHeads * to * headSize);
    const f = from * headSize, t = to * headSize;
    for (let i = 0; i < this.batch * kvHeads; i++) buf.set(old.subarray(i * f, (i + 1) * f), i * t);
    return buf;
  }
}
