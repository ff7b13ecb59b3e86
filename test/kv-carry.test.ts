// The shared KV cache stays in the model's arena between decode steps (RunOptions.carry,
// src/model/arena-carry.ts): no JS copy of it while decoding, and the same tokens and logits as the
// 'exact' cache (which feeds and copies everything each step) when the carry is broken: by another
// generation interleaved on the same model, by the cache growing while in the arena, by a
// generation that stops early and a new one that starts, and by the arena given back after a step.

import { describe, expect, it } from 'vitest';
import { SIMD, useRuntimes } from './helpers.js';
import { llmModel, TINY } from './llm-model.mjs';
import { generateStream, KvCache, loadModel, type GenerateOptions, type Model } from '../src/index.js';
import { ArenaHistory } from '../src/model/arena-history.js';

const rts = useRuntimes();
const bytes: Uint8Array = llmModel(TINY);
const promptA = [3, 17, 42, 5, 60, 11], promptB = [7, 1, 88, 23];

/** every step's tokens and logits (copied) */
async function run(model: Model, prompt: number[], options: GenerateOptions): Promise<{ tokens: (number | null)[]; logits: Float32Array[] }> {
  const out = { tokens: [] as (number | null)[], logits: [] as Float32Array[] };
  for await (const s of generateStream(model, prompt, options)) {
    out.tokens.push(s.tokens[0]);
    out.logits.push(Float32Array.from(s.logits));
  }
  return out;
}

describe(`KV cache kept in the arena (${SIMD} build)`, () => {
  it('decodes with no JS copy of the cache, bit-identical to the exact cache', async () => {
    const model = loadModel(rts.one, bytes);
    const seen: boolean[] = [];
    const held = KvCache.prototype.held;
    // each step after the prompt leaves the cache in the arena (held), the JS buffers dropped
    KvCache.prototype.held = function (this: KvCache) {
      held.call(this);
      seen.push(this.inArena && (this as unknown as { keys: Float32Array[] }).keys.every((k) => k.length === 0));
    };
    try {
      const shared = await run(model, promptA, { maxNewTokens: 8, cache: 'shared' });
      expect(seen).toEqual(new Array(7).fill(true));
      const exact = await run(model, promptA, { maxNewTokens: 8, cache: 'exact' });
      expect(shared.tokens).toEqual(exact.tokens);
      shared.logits.forEach((l, i) => expect(l).toEqual(exact.logits[i]));
    } finally {
      KvCache.prototype.held = held;
      model.dispose();
    }
  });

  it('gives the same bits when another generation runs between steps, when the cache grows in the arena, and after an early stop', async () => {
    const model = loadModel(rts.one, bytes);
    const want = async (p: number[]) => run(model, p, { maxNewTokens: 9, cache: 'exact' });
    const [wa, wb] = [await want(promptA), await want(promptB)];
    // interleaved: each step of one spills the other's cache out of the arena; cacheChunk 4 grows the
    // cache every 4 rows, while it is in the arena
    const a = generateStream(model, promptA, { maxNewTokens: 9, cacheChunk: 4 }), b = generateStream(model, promptB, { maxNewTokens: 9, cacheChunk: 4 });
    const got = { a: [] as Float32Array[], b: [] as Float32Array[] };
    for (;;) {
      const [x, y] = [await a.next(), await b.next()];
      if (!x.done) got.a.push(Float32Array.from(x.value.logits));
      if (!y.done) got.b.push(Float32Array.from(y.value.logits));
      if (x.done && y.done) break;
    }
    expect(got.a).toEqual(wa.logits);
    expect(got.b).toEqual(wb.logits);
    // stopped after 3 steps (its cache left in the arena), then a new generation from scratch
    const early = generateStream(model, promptA, { maxNewTokens: 9 });
    for (let i = 0; i < 3; i++) await early.next();
    await early.return(undefined);
    expect((await run(model, promptB, { maxNewTokens: 9 })).logits).toEqual(wb.logits);
    model.dispose();
  });

  it('gives the same bits when the arena is given back after every step (the cache copied out first)', async () => {
    const model = loadModel(rts.one, bytes);
    const want = await run(model, promptA, { maxNewTokens: 9, cache: 'exact' });
    const afterRun = ArenaHistory.prototype.afterRun;
    ArenaHistory.prototype.afterRun = () => true;
    try {
      expect((await run(model, promptA, { maxNewTokens: 9 })).logits).toEqual(want.logits);
    } finally {
      ArenaHistory.prototype.afterRun = afterRun;
      model.dispose();
    }
  });
});
