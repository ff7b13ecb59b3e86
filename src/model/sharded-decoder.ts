// A Llama-shaped decoder whose weights are spread over several runtimes (src/runtime/shards.ts), so
// a 4-bit model past the 4 GiB of one wasm32 memory runs: the embedding table, each layer (its
// 4-bit weights and KV cache) and the head live whole in one shard's memory; a decode step walks
// the layers in order and carries the hidden state (hidden floats) from shard to shard through JS.
//
// Per layer: RMSNorm, fused QKV projection, RoPE, attention over the KV cache, O projection,
// residual, RMSNorm, fused gate/up projection, SwiGLU, down projection, residual; then RMSNorm and
// the lm_head. The projections are the W4A32 kernel (qb4F32Gemm: 4-bit weights, float activations,
// bit-exact on every build, CPU and thread count); the vector math in between is plain JS on a few
// thousand floats. Weights are seeded random (random-qb4.ts), generated item by item straight into
// their shard's memory: no buffer ever holds more than one matrix.

import { ArgumentError, ValueRangeError } from '../errors.js';
import { qb4F32Gemm, type Qb4Weights } from '../kernels/qb4.js';
import type { KernelRuntime, RuntimeOptions } from '../runtime/runtime.js';
import { createShards, DEFAULT_SHARD_BYTES, planShards, shardMemory, type ShardMemory, type ShardPlan } from '../runtime/shards.js';
import { mixSeed, randomQb4, randomQb4Bytes, xorshift32 } from './random-qb4.js';

export interface DecoderShape {
  readonly hidden: number;
  readonly ffn: number;
  readonly layers: number;
  readonly heads: number;
  readonly vocab: number;
  /** K values per 4-bit block (one float32 scale each) */
  readonly blockSize: number;
  /** positions the KV cache holds */
  readonly maxSeq: number;
  /** a float32 zero point per 4-bit block besides its scale (asymmetric, as MatMulNBits' zero_points); default symmetric */
  readonly zeroPoints?: boolean;
}

/** Llama-7B's shapes with 4-bit block-32 projections and lm_head, a float32 embedding table. */
export const LLAMA_7B_SHAPE: DecoderShape = { hidden: 4096, ffn: 11008, layers: 32, heads: 32, vocab: 32000, blockSize: 32, maxSeq: 64 };

export interface ShardedDecoderOptions {
  /** weights seed (default 1) */
  seed?: number;
  /** bytes of weights and cache per shard (default 3.5 GiB) */
  shardBytes?: number;
  /** options of every shard's runtime (threads, simd …) */
  runtime?: RuntimeOptions;
  /** called after each item (0: embedding, 1..layers, layers + 1: head) is in its shard */
  onItem?: (item: number, shard: number) => void;
}

interface Layer {
  readonly rt: KernelRuntime;
  readonly qkv: Qb4Weights;
  readonly o: Qb4Weights;
  readonly gateUp: Qb4Weights;
  readonly down: Qb4Weights;
  readonly attnNorm: Float32Array;
  readonly ffnNorm: Float32Array;
  /** [maxSeq][hidden] float32 keys (after RoPE) and values in the shard's memory */
  readonly keys: number;
  readonly values: number;
}

/** Bytes of each item in shard order: embedding, layers (4-bit weights and KV cache), head. */
export function decoderItemBytes(s: DecoderShape): number[] {
  const { hidden: h, ffn: f, blockSize: bs } = s;
  const q4 = (k: number, n: number) => randomQb4Bytes(k, n, bs, s.zeroPoints);
  const layer = q4(h, 3 * h) + q4(h, h) + q4(h, 2 * f) + q4(f, h) + 2 * s.maxSeq * h * 4;
  return [s.vocab * h * 4, ...Array<number>(s.layers).fill(layer), q4(h, s.vocab)];
}

function checkShape(s: DecoderShape): void {
  for (const key of ['hidden', 'ffn', 'layers', 'heads', 'vocab', 'blockSize', 'maxSeq'] as const) {
    if (!(Number.isInteger(s[key]) && s[key] >= 1)) throw new ArgumentError(`shape.${key}: expected a positive integer, got ${String(s[key])}`);
  }
  if (s.hidden % s.heads !== 0 || (s.hidden / s.heads) % 2 !== 0) throw new ArgumentError(`shape.heads: ${s.heads} heads do not split hidden ${s.hidden} into even head sizes`);
}

function randomGains(n: number, seed: number): Float32Array {
  const next = xorshift32(seed);
  return Float32Array.from({ length: n }, () => 0.9 + next() / 2 ** 32 / 5);
}

function rmsNorm(x: Float32Array, g: Float32Array): Float32Array {
  let ss = 0;
  for (let i = 0; i < x.length; i++) ss += x[i] * x[i];
  const r = 1 / Math.sqrt(ss / x.length + 1e-5);
  return x.map((v, i) => v * r * g[i]);
}

/** Rotary embedding (rotate-half pairing, base 10000) of each head of x at `pos`, in place. */
function rope(x: Float32Array, heads: number, pos: number): void {
  const d = x.length / heads, half = d / 2;
  for (let i = 0; i < half; i++) {
    const a = pos * Math.pow(10000, (-2 * i) / d), c = Math.cos(a), s = Math.sin(a);
    for (let h = 0; h < heads; h++) {
      const j = h * d + i, x1 = x[j], x2 = x[j + half];
      x[j] = x1 * c - x2 * s;
      x[j + half] = x2 * c + x1 * s;
    }
  }
}

export class ShardedDecoder {
  /** the position the next step writes in the KV cache */
  position = 0;
  private disposed = false;

  private constructor(
    readonly shape: DecoderShape,
    readonly plan: ShardPlan,
    readonly shards: KernelRuntime[],
    private readonly embedRt: KernelRuntime,
    private readonly embed: number,
    private readonly layers: Layer[],
    private readonly headRt: KernelRuntime,
    private readonly head: Qb4Weights,
    private readonly finalNorm: Float32Array,
  ) {}

  /** Plans the shards for `shape`, creates their runtimes and fills each with its seeded random weights. */
  static async createRandom(shape: DecoderShape, options: ShardedDecoderOptions = {}): Promise<ShardedDecoder> {
    checkShape(shape);
    const seed = options.seed ?? 1;
    const plan = planShards(decoderItemBytes(shape), options.shardBytes ?? DEFAULT_SHARD_BYTES);
    const shards = await createShards(plan.bytes.length, options.runtime);
    try {
      const { hidden: h, ffn: f, vocab, blockSize: bs, maxSeq } = shape;
      const rtOf = (item: number) => shards[plan.shardOf[item]];
      const embedRt = rtOf(0);
      const embed = embedRt.alloc(vocab * h * 4);
      const next = xorshift32(mixSeed(seed, 0));
      for (let row = 0; row < vocab; row++) {
        const v = embedRt.view(Float32Array, embed + row * h * 4, h);
        for (let i = 0; i < h; i++) v[i] = next() / 2 ** 31 - 1;
      }
      options.onItem?.(0, plan.shardOf[0]);
      const layers: Layer[] = [];
      for (let l = 0; l < shape.layers; l++) {
        const rt = rtOf(l + 1), s = (m: number) => mixSeed(seed, l + 1, m);
        const q4 = (k: number, n: number, m: number) => randomQb4(rt, k, n, bs, s(m), shape.zeroPoints);
        layers.push({
          rt,
          qkv: q4(h, 3 * h, 0), o: q4(h, h, 1), gateUp: q4(h, 2 * f, 2), down: q4(f, h, 3),
          attnNorm: randomGains(h, s(4)), ffnNorm: randomGains(h, s(5)),
          keys: rt.alloc(maxSeq * h * 4), values: rt.alloc(maxSeq * h * 4),
        });
        options.onItem?.(l + 1, plan.shardOf[l + 1]);
      }
      const headRt = rtOf(shape.layers + 1);
      const head = randomQb4(headRt, h, vocab, bs, mixSeed(seed, shape.layers + 1, 0), shape.zeroPoints);
      const finalNorm = randomGains(h, mixSeed(seed, shape.layers + 1, 1));
      options.onItem?.(shape.layers + 1, plan.shardOf[shape.layers + 1]);
      return new ShardedDecoder(shape, plan, shards, embedRt, embed, layers, headRt, head, finalNorm);
    } catch (e) {
      for (const rt of shards) rt.dispose();
      throw e;
    }
  }

  /** Each shard's linear memory and allocated bytes. */
  memory(): ShardMemory[] {
    return this.shards.map(shardMemory);
  }

  /** Forgets the KV cache: the next step is position 0. */
  reset(): void {
    this.position = 0;
  }

  /** One decode step: feeds `token` at the current position and returns the next token's logits [vocab]. */
  async step(token: number): Promise<Float32Array> {
    if (this.disposed) throw new ArgumentError('step: the decoder was disposed');
    const { hidden: h, heads, vocab, maxSeq } = this.shape;
    if (!(Number.isInteger(token) && token >= 0 && token < vocab)) throw new ValueRangeError(`token: expected an integer from 0 to ${vocab - 1}, got ${String(token)}`);
    const pos = this.position;
    if (pos >= maxSeq) throw new ValueRangeError(`step: the KV cache holds ${maxSeq} positions and all are used (reset() to start over)`);
    let x = this.embedRt.read(Float32Array, this.embed + token * h * 4, h);
    for (const L of this.layers) {
      const qkv = await linear(L.rt, L.qkv, rmsNorm(x, L.attnNorm));
      const q = qkv.subarray(0, h), k = qkv.subarray(h, 2 * h);
      rope(q, heads, pos);
      rope(k, heads, pos);
      L.rt.view(Float32Array, L.keys + pos * h * 4, h).set(k);
      L.rt.view(Float32Array, L.values + pos * h * 4, h).set(qkv.subarray(2 * h));
      const att = attend(q, L.rt.view(Float32Array, L.keys, (pos + 1) * h), L.rt.view(Float32Array, L.values, (pos + 1) * h), heads, pos + 1);
      const o = await linear(L.rt, L.o, att);
      x = x.map((v, i) => v + o[i]);
      const gu = await linear(L.rt, L.gateUp, rmsNorm(x, L.ffnNorm));
      const f = gu.length / 2;
      const act = new Float32Array(f);
      for (let i = 0; i < f; i++) act[i] = (gu[i] / (1 + Math.exp(-gu[i]))) * gu[f + i];
      const d = await linear(L.rt, L.down, act);
      x = x.map((v, i) => v + d[i]);
    }
    this.position = pos + 1;
    return linear(this.headRt, this.head, rmsNorm(x, this.finalNorm));
  }

  /** Frees every shard's weights and runtime (its memory goes with the last reference to the decoder). */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const rt of this.shards) rt.dispose();
    this.shards.length = 0;
    this.layers.length = 0;
  }
}

/** y = W x through the W4A32 kernel, x and y in scratch of the weights' shard. */
function linear(rt: KernelRuntime, w: Qb4Weights, x: Float32Array): Promise<Float32Array> {
  return rt.scoped(async (alloc) => {
    const px = alloc(w.k * 4);
    rt.view(Float32Array, px, w.k).set(x);
    const out = alloc(w.np * 4);
    qb4F32Gemm(rt, alloc, { m: 1, x: px, w, bias: 0, out });
    return rt.read(Float32Array, out, w.n);
  });
}

/** Causal attention of one query over `len` cached positions, per head: softmax(q k / sqrt(d)) v. */
function attend(q: Float32Array, keys: Float32Array, values: Float32Array, heads: number, len: number): Float32Array {
  const h = q.length, d = h / heads, out = new Float32Array(h), p = new Float64Array(len);
  for (let hd = 0; hd < heads; hd++) {
    const o = hd * d;
    let max = -Infinity;
    for (let t = 0; t < len; t++) {
      let s = 0;
      for (let i = 0; i < d; i++) s += q[o + i] * keys[t * h + o + i];
      p[t] = s / Math.sqrt(d);
      max = Math.max(max, p[t]);
    }
    let sum = 0;
    for (let t = 0; t < len; t++) sum += p[t] = Math.exp(p[t] - max);
    for (let t = 0; t < len; t++) {
      const wt = p[t] / sum;
      for (let i = 0; i < d; i++) out[o + i] += wt * values[t * h + o + i];
    }
  }
  return out;
}
