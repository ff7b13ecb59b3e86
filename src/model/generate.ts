// Decoding with a loaded decoder in the transformers.js layout (decoder-layout.ts): the prompt in one
// run, then one token per run, the present outputs carried as the next past in a KvCache, greedy or
// sampled tokens, stop tokens, and each step streamed (an async iterator, or an onToken callback).
//
// Every run after the prompt feeds a past of `cache.rows` rows. When the layout is 'shared' (see
// DecoderLayout.shared) the buffers are sized once for the whole generation (up to 256 rows, or
// grown by options.cacheChunk rows) and attention_mask is as wide as the buffer (its sum still gives each
// sequence's length): the input dims stay the same, and attention_mask and position_ids stay run-time
// values, so one plan serves every decode step, and its arena is sized once (wasm memory never
// shrinks: growing step by step would leave every smaller size's arena behind). Otherwise ('exact')
// the past is as long as the sequences and each step plans again.

import { ArgumentError, ValueRangeError, describe } from '../errors.js';
import { decoderLayout, type DecoderLayout } from './decoder-layout.js';
import type { ModelInput } from './feeds.js';
import { KvCache } from './kv-cache.js';
import type { Model } from './model.js';
import { Sampler, type SamplingOptions } from './sampling.js';

export interface GenerateOptions {
  /** tokens to generate per sequence at most (> 0) */
  maxNewTokens: number;
  /** a sequence ends after emitting one of these */
  stopTokens?: readonly number[];
  /** absent: greedy */
  sampling?: SamplingOptions | null;
  /** called with each step as it is made */
  onToken?: (step: GenerationStep) => void;
  /** pads shorter prompts of a batch (default 0; attention_mask hides it) */
  padToken?: number;
  /** 'auto' (default): 'shared' when the layout allows it, else 'exact' */
  cache?: 'auto' | 'shared' | 'exact';
  /**
   * rows the shared cache grows by; default: sized once, at the first decode step, for the whole
   * generation (the longest prompt plus maxNewTokens, up to 256 rows, then grown by 256), so its
   * buffers are made once and reused, and one plan serves every step
   */
  cacheChunk?: number;
}

export interface GenerationStep {
  /** 0 for the token after the prompt */
  readonly step: number;
  /** the new token of each sequence, null for one that had already stopped */
  readonly tokens: readonly (number | null)[];
  /** the logits each token was chosen from, [batch, vocab] (this step's array: copy to keep) */
  readonly logits: Float32Array;
  /** wall time of the model run (ms) */
  readonly ms: number;
}

export interface GenerateResult {
  /** the new tokens of each sequence, stop tokens included */
  readonly tokens: number[][];
  /** why each sequence ended */
  readonly finish: ('stop' | 'length')[];
  /** prompt run and total decode run time (ms) */
  readonly promptMs: number;
  readonly decodeMs: number;
  /** the cache mode used */
  readonly cache: 'shared' | 'exact';
}

/**
 * The most rows the shared cache is sized for at once (past it, it grows by this many): every step
 * copies the whole buffer into the arena and back, so a generation that may stop early (a large
 * maxNewTokens, stop tokens) must not pay for thousands of rows it never fills.
 */
const CACHE_ROWS_AT_ONCE = 256;

const layouts = new WeakMap<Model, DecoderLayout>();

/** The decoder layout of `model` (read once per model). */
export function decoderLayoutOf(model: Model): DecoderLayout {
  let l = layouts.get(model);
  if (!l) layouts.set(model, (l = decoderLayout(model.graph)));
  return l;
}

/** Generates to the end and returns every sequence's new tokens. */
export async function generate(model: Model, prompt: ArrayLike<number> | readonly ArrayLike<number>[], options: GenerateOptions): Promise<GenerateResult> {
  const run = new Generation(model, prompt, options);
  for await (const step of run.steps()) options.onToken?.(step);
  return run.result();
}

/** The steps of a generation as they are made: `for await (const s of generateStream(...))`. */
export function generateStream(model: Model, prompt: ArrayLike<number> | readonly ArrayLike<number>[], options: GenerateOptions): AsyncGenerator<GenerationStep> {
  return new Generation(model, prompt, options).steps();
}

class Generation {
  private readonly layout: DecoderLayout;
  private readonly prompts: number[][];
  private readonly sampler: Sampler;
  private readonly shared: boolean;
  private readonly cache: KvCache;
  private readonly out: number[][];
  private readonly finish: ('stop' | 'length' | null)[];
  private promptMs = 0;
  private decodeMs = 0;

  constructor(private readonly model: Model, prompt: ArrayLike<number> | readonly ArrayLike<number>[], private readonly options: GenerateOptions) {
    this.layout = decoderLayoutOf(model);
    this.prompts = checkPrompt(prompt, this.layout.vocab);
    const o = checkOptions(options, this.layout.vocab);
    this.sampler = new Sampler(options.sampling);
    const mode = o.cache === 'auto' ? (this.layout.shared ? 'shared' : 'exact') : o.cache;
    if (mode === 'shared' && !this.layout.shared) throw new ArgumentError(`generate: options.cache 'shared' needs every past read by GroupQueryAttention alone and an attention_mask input; this model allows 'exact'`);
    this.shared = mode === 'shared';
    const lengths = this.prompts.map((p) => p.length);
    const ragged = lengths.some((n) => n !== lengths[0]);
    if (ragged && (!this.layout.attentionMask || !this.layout.shared)) {
      throw new ArgumentError(`generate: prompts of different lengths (${lengths.join(', ')}) need an attention_mask input read by GroupQueryAttention (its seqlens_k); this model takes one length per batch`);
    }
    const longest = Math.max(...lengths) + o.maxNewTokens;
    if (longest > this.layout.maxPositions) throw new ValueRangeError(`generate: a prompt of ${Math.max(...lengths)} tokens plus maxNewTokens ${o.maxNewTokens} needs ${longest} positions, the model's rotary caches hold ${this.layout.maxPositions}`);
    this.cache = new KvCache(this.layout, this.prompts.length);
    this.out = this.prompts.map(() => []);
    this.finish = this.prompts.map(() => null);
  }

  result(): GenerateResult {
    return { tokens: this.out, finish: this.finish.map((f) => f ?? 'length'), promptMs: this.promptMs, decodeMs: this.decodeMs, cache: this.shared ? 'shared' : 'exact' };
  }

  async *steps(): AsyncGenerator<GenerationStep> {
    const { maxNewTokens } = this.options;
    const batch = this.prompts.length, vocab = this.layout.vocab;
    const width = Math.max(...this.prompts.map((p) => p.length));
    // the rows every step will have fed by the last one (its own token is not fed back)
    const cacheChunk = this.options.cacheChunk ?? Math.min(this.layout.maxPositions, width + maxNewTokens - 1, CACHE_ROWS_AT_ONCE);
    // per-step arrays made once: the logits rows handed to the sampler and the caller, and the
    // decode steps' logits output (run() writes it there: RunOptions.into)
    const rows = new Float32Array(batch * (vocab ?? 0));
    const into: Record<string, Float32Array> = {};
    const ids = this.prompts.map((p) => [...p, ...new Array<number>(width - p.length).fill(this.options.padToken ?? 0)]);
    const last = this.prompts.map((p) => p.length - 1);
    // the shared cache stays in the model's arena between decode steps (kv-cache.ts, arena-carry.ts)
    const carry = this.shared ? this.cache : undefined;
    try {
      yield* this.stepsWith(ids, last, rows, into, cacheChunk, carry);
    } finally {
      if (carry) this.model.dropCarry(carry);
    }
  }

  private async *stepsWith(ids: number[][], last: number[], rows: Float32Array, into: Record<string, Float32Array>, cacheChunk: number, carry: KvCache | undefined): AsyncGenerator<GenerationStep> {
    const { maxNewTokens, stopTokens = [] } = this.options;
    const batch = this.prompts.length, vocab = this.layout.vocab;
    for (let step = 0; step < maxNewTokens && this.finish.includes(null); step++) {
      const s = ids[0].length;
      // the prompt runs on an empty past; decode steps on the cache (grown to hold one more row)
      if (step > 0 && this.shared) this.cache.reserve(Math.max(...this.cache.lengths) + 1, cacheChunk, this.layout.maxPositions);
      const t0 = performance.now();
      if (step > 0 && vocab !== null) into[this.layout.logits] ??= new Float32Array(batch * vocab);
      const outs = await this.model.run(this.feeds(ids), { runtimeInputs: [this.layout.attentionMask ?? '', this.layout.positionIds ?? ''], into: this.cache.outputBuffers(into), carry });
      const ms = performance.now() - t0;
      if (step === 0) this.promptMs = ms;
      else this.decodeMs += ms;
      this.cache.adopt(outs, s);
      if (step === 0) this.cache.lengths.forEach((_, b) => (this.cache.lengths[b] = this.prompts[b].length));
      const logits = outs[this.layout.logits];
      const v = logits.dims[2];
      if (logits.type !== 'float32' || logits.dims.length !== 3 || logits.dims[0] !== batch || logits.dims[1] !== s || (vocab !== null && v !== vocab)) {
        throw new ValueRangeError(`generate: output 'logits' is ${logits.type} [${logits.dims}], expected float32 [${batch}, ${s}, ${vocab ?? 'vocab'}]`);
      }
      if (rows.length !== batch * v) rows = new Float32Array(batch * v);
      const tokens = this.prompts.map((_, b) => {
        rows.set(logits.data.subarray((b * s + last[b]) * v, (b * s + last[b] + 1) * v), b * v);
        if (this.finish[b]) return null;
        const t = this.sampler.next(rows, b * v, v);
        this.out[b].push(t);
        if (stopTokens.includes(t)) this.finish[b] = 'stop';
        else if (this.out[b].length === maxNewTokens) this.finish[b] = 'length';
        return t;
      });
      yield { step, tokens, logits: rows, ms };
      // a stopped sequence goes on with its last token, unread
      ids = tokens.map((t, b) => [t ?? this.out[b][this.out[b].length - 1]]);
      last = last.map(() => 0);
    }
  }

  /** input_ids, attention_mask (each sequence's length as ones), position_ids and the past. */
  private feeds(ids: number[][]): Record<string, ModelInput> {
    const batch = ids.length, s = ids[0].length, lengths = this.cache.lengths;
    const prompt = this.cache.rows === 0;
    const held = (b: number) => (prompt ? this.prompts[b].length : lengths[b] + s);
    const f: Record<string, ModelInput> = {
      ...this.cache.feeds(),
      [this.layout.inputIds]: { type: this.layout.inputIdsType, dims: [batch, s], data: ids.flat() },
    };
    if (this.layout.attentionMask) {
      const w = prompt ? s : this.shared ? this.cache.rows : this.cache.rows + s;
      const mask = new Float64Array(batch * w);
      for (let b = 0; b < batch; b++) mask.fill(1, b * w, b * w + held(b));
      f[this.layout.attentionMask] = { type: 'int64', dims: [batch, w], data: mask };
    }
    if (this.layout.positionIds) {
      const pos = new Float64Array(batch * s);
      for (let b = 0; b < batch; b++) for (let i = 0; i < s; i++) pos[b * s + i] = (prompt ? 0 : lengths[b]) + i;
      f[this.layout.positionIds] = { type: 'int64', dims: [batch, s], data: pos };
    }
    return f;
  }
}

function checkPrompt(prompt: unknown, vocab: number | null): number[][] {
  const isList = (x: unknown): x is ArrayLike<unknown> => Array.isArray(x) || (ArrayBuffer.isView(x) && !(x instanceof DataView));
  if (!isList(prompt) || prompt.length === 0) throw new ArgumentError(`generate: prompt must be token ids (a non-empty array, or an array of them for a batch), got ${describe(prompt)}`);
  const rows = isList(prompt[0]) ? Array.from(prompt as ArrayLike<unknown>) : [prompt];
  return rows.map((r, b) => {
    if (!isList(r) || r.length === 0) throw new ArgumentError(`generate: prompt ${b} must be a non-empty array of token ids, got ${describe(r)}`);
    return Array.from(r as ArrayLike<unknown>, (t, i) => {
      if (typeof t !== 'number' || !Number.isInteger(t) || t < 0 || (vocab !== null && t >= vocab)) {
        throw new ValueRangeError(`generate: prompt ${b} token ${i} is ${describe(t)}, expected an integer id in [0, ${vocab ?? 'vocab'})`);
      }
      return t;
    });
  });
}

function checkOptions(o: GenerateOptions, vocab: number | null): Required<Pick<GenerateOptions, 'maxNewTokens' | 'cache'>> {
  if (o === null || typeof o !== 'object') throw new ArgumentError(`generate: options must be an object with maxNewTokens, got ${describe(o)}`);
  if (!Number.isInteger(o.maxNewTokens) || o.maxNewTokens <= 0) throw new ValueRangeError(`generate: options.maxNewTokens must be an integer > 0, got ${describe(o.maxNewTokens)}`);
  const id = (t: unknown) => typeof t === 'number' && Number.isInteger(t) && t >= 0 && (vocab === null || t < vocab);
  if (o.stopTokens !== undefined && (!Array.isArray(o.stopTokens) || !o.stopTokens.every(id))) throw new ValueRangeError(`generate: options.stopTokens must be token ids in [0, ${vocab ?? 'vocab'}), got ${describe(o.stopTokens)}`);
  if (o.padToken !== undefined && !id(o.padToken)) throw new ValueRangeError(`generate: options.padToken must be a token id in [0, ${vocab ?? 'vocab'}), got ${describe(o.padToken)}`);
  if (o.cacheChunk !== undefined && (!Number.isInteger(o.cacheChunk) || o.cacheChunk < 1)) throw new ValueRangeError(`generate: options.cacheChunk must be an integer >= 1, got ${describe(o.cacheChunk)}`);
  const cache = o.cache ?? 'auto';
  if (!['auto', 'shared', 'exact'].includes(cache)) throw new ArgumentError(`generate: options.cache must be 'auto', 'shared' or 'exact', got ${describe(cache)}`);
  if (o.onToken !== undefined && typeof o.onToken !== 'function') throw new ArgumentError(`generate: options.onToken must be a function, got ${describe(o.onToken)}`);
  return { maxNewTokens: o.maxNewTokens, cache };
}
