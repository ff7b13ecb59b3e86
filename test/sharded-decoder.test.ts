// Models past 4 GiB (src/runtime/shards.ts, src/model/sharded-decoder.ts): a tiny Llama-shaped
// stack spread over several runtimes (each its own wasm memory) must give the same logits, bit for
// bit, as the same stack in one runtime: the shard cut only moves where each layer's weights live.

import { describe, expect, it } from 'vitest';
import { ArgumentError } from '../src/errors.js';
import { ShardedDecoder, decoderItemBytes, type DecoderShape } from '../src/model/sharded-decoder.js';
import { planShards } from '../src/runtime/shards.js';
import { SIMD } from './helpers.js';

const TINY: DecoderShape = { hidden: 64, ffn: 96, layers: 5, heads: 4, vocab: 80, blockSize: 32, maxSeq: 8 };
const TOKENS = [3, 41, 7, 79];

async function run(shape: DecoderShape, shardBytes: number | undefined, threads: number): Promise<{ logits: Float32Array[]; shards: number }> {
  const dec = await ShardedDecoder.createRandom(shape, { seed: 7, shardBytes, runtime: { simd: SIMD, threads, minParallelWork: 0 } });
  try {
    const logits: Float32Array[] = [];
    for (const t of TOKENS) logits.push(await dec.step(t));
    return { logits, shards: dec.shards.length };
  } finally {
    dec.dispose();
  }
}

describe(`sharded decoder (${SIMD} build)`, () => {
  it('plans contiguous shards within the budget, as even as the items allow', () => {
    expect(planShards([5, 5, 5, 5], 10)).toEqual({ shardOf: [0, 0, 1, 1], bytes: [10, 10] });
    expect(planShards([8, 1, 1, 1, 1], 10)).toEqual({ shardOf: [0, 1, 1, 1, 1], bytes: [8, 4] });
    expect(planShards([3, 3], 10)).toEqual({ shardOf: [0, 0], bytes: [6] });
    expect(() => planShards([3, 11], 10)).toThrow(/itemBytes\[1\]/);
    expect(() => planShards([3], 2 ** 33)).toThrow(ArgumentError);
  });

  it.each([false, true])('gives bit-identical logits over 3 shards (2 threads each) and in one runtime (zero points %s)', async (zeroPoints) => {
    const shape = { ...TINY, zeroPoints };
    const items = decoderItemBytes(shape);
    const budget = items[1] * 2 + items[0]; // embedding and two layers per shard at most
    const one = await run(shape, undefined, 1);
    const sharded = await run(shape, budget, 2);
    expect(one.shards).toBe(1);
    expect(sharded.shards).toBeGreaterThanOrEqual(3);
    for (let s = 0; s < TOKENS.length; s++) {
      const a = one.logits[s], b = sharded.logits[s];
      expect(a.length).toBe(TINY.vocab);
      expect(a.every(Number.isFinite)).toBe(true);
      expect(Math.max(...a) - Math.min(...a)).toBeGreaterThan(0.1); // not a degenerate stack
      expect(new Uint32Array(b.buffer)).toEqual(new Uint32Array(a.buffer));
    }
    // the KV cache matters: the same token at another position gives other logits
    expect(one.logits[3]).not.toEqual(one.logits[0]);
  });

  it('refuses a token outside the vocabulary and a step past the cache', async () => {
    const dec = await ShardedDecoder.createRandom({ ...TINY, maxSeq: 1 }, { runtime: { simd: SIMD } });
    try {
      await expect(dec.step(80)).rejects.toThrow(/token/);
      await dec.step(0);
      await expect(dec.step(0)).rejects.toThrow(/KV cache/);
    } finally {
      dec.dispose();
    }
  });
});
