// generate() on a Llama-style q4 decoder in the transformers.js layout (test/llm-model.mjs), token by
// token against onnxruntime-web driven the way transformers.js drives it (the past exactly as long as
// the sequence, present fed back as past): the same greedy tokens and logits within tolerance at every
// step, for batch 1 and a ragged batch of 2 (attention_mask padding), both rotary layouts (inside
// GroupQueryAttention, or RotaryEmbedding nodes on position_ids), both cache modes; seeded sampling,
// stop tokens, streaming, the plans a decode makes, and bad input.

import { describe, expect, it } from 'vitest';
import { SIMD, rng, useRuntimes } from './helpers.js';
import { runOrtModel, OnnxBuilder, type Feed, type IntFeed } from './onnx-builder.js';
import { llmModel, TINY } from './llm-model.mjs';
import {
  ArgumentError, ModelError, Sampler, ValueRangeError, generate, generateStream, loadModel, type GenerateOptions, type Model, type Runtime,
} from '../src/index.js';

const rts = useRuntimes();
type Config = typeof TINY;
const STEPS = 18;

/** onnxruntime-web, greedy: the tokens and the [batch, vocab] logits rows of every step. */
async function ortGreedy(c: Config, bytes: Uint8Array, prompts: number[][], steps: number): Promise<{ tokens: number[][]; logits: Float32Array[] }> {
  const B = prompts.length, V = c.vocab, lens = prompts.map((p) => p.length), width = Math.max(...lens);
  let ids = prompts.map((p) => [...p, ...new Array(width - p.length).fill(0)]), last = lens.map((n) => n - 1);
  let past: Record<string, Feed> = {};
  for (let l = 0; l < c.layers; l++) for (const kv of ['key', 'value']) past[`past_key_values.${l}.${kv}`] = { type: 'float32', dims: [B, c.kvHeads, 0, c.headSize], data: new Float32Array(0) };
  let rows = 0;
  const tokens: number[][] = prompts.map(() => []), logits: Float32Array[] = [];
  for (let t = 0; t < steps; t++) {
    const s = ids[0].length, w = rows + s;
    const held = (b: number) => (t === 0 ? lens[b] : lens[b] + t);
    const mask = Array.from({ length: B * w }, (_, i) => +(i % w < held(Math.floor(i / w))));
    const pos = Array.from({ length: B * s }, (_, i) => (t === 0 ? i % s : held(Math.floor(i / s)) - 1));
    const feeds: Record<string, Feed | IntFeed> = { ...past, input_ids: { type: 'int64', dims: [B, s], data: ids.flat() }, attention_mask: { type: 'int64', dims: [B, w], data: mask } };
    if (c.rotary === 'node') feeds.position_ids = { type: 'int64', dims: [B, s], data: pos };
    const o = await runOrtModel(bytes, feeds);
    const row = new Float32Array(B * V);
    for (let b = 0; b < B; b++) row.set(o.logits.data.slice((b * s + last[b]) * V, (b * s + last[b] + 1) * V), b * V);
    logits.push(row);
    const next = prompts.map((_, b) => new Sampler(null).next(row, b * V, V));
    next.forEach((x, b) => tokens[b].push(x));
    past = {};
    for (let l = 0; l < c.layers; l++) for (const kv of ['key', 'value']) {
      const p = o[`present.${l}.${kv}`];
      past[`past_key_values.${l}.${kv}`] = { type: 'float32', dims: p.dims, data: Float32Array.from(p.data) };
    }
    rows = o[`present.0.key`].dims[2];
    ids = next.map((x) => [x]);
    last = last.map(() => 0);
  }
  return { tokens, logits };
}

function expectLogitsClose(got: Float32Array, want: Float32Array, what: string, tol = 1e-4): void {
  let d = 0, m = 1;
  for (let i = 0; i < want.length; i++) [d, m] = [Math.max(d, Math.abs(got[i] - want[i])), Math.max(m, Math.abs(want[i]))];
  expect(d / m, what).toBeLessThanOrEqual(tol);
}

async function check(rt: Runtime, c: Config, prompts: number[][], options: Partial<GenerateOptions> = {}): Promise<Model> {
  const bytes = llmModel(c);
  const want = await ortGreedy(c, bytes, prompts, STEPS);
  const model = loadModel(rt, bytes);
  const logits: Float32Array[] = [];
  const got = await generate(model, prompts, { maxNewTokens: STEPS, onToken: (s) => logits.push(Float32Array.from(s.logits)), ...options });
  expect(got.tokens).toEqual(want.tokens);
  expect(logits.length).toBe(STEPS);
  logits.forEach((l, t) => expectLogitsClose(l, want.logits[t], `step ${t}`));
  return model;
}

const PROMPT = [3, 17, 42, 8, 77];

describe(`generate() on a transformers.js-layout q4 decoder vs onnxruntime-web (${SIMD} build)`, () => {
  it(`batch 1, rotary in GroupQueryAttention: the same greedy tokens and logits over ${STEPS} steps; one plan per cache chunk, not per step`, async () => {
    const model = await check(rts.one, TINY, [PROMPT], { cacheChunk: 8 });
    // the prompt's plan, then rows 8, 16, 24: 4 plans for 18 steps
    expect(model.plans.size).toBe(4);
    model.dispose();
  });

  it('the exact cache (past as long as the sequence, a plan per step) gives the same tokens', async () => {
    const model = loadModel(rts.one, llmModel(TINY));
    model.plans.capacity = 64;
    const exact = await generate(model, [PROMPT], { maxNewTokens: 10, cache: 'exact' });
    expect(exact.cache).toBe('exact');
    expect(model.plans.size).toBe(10);
    const shared = await generate(model, PROMPT, { maxNewTokens: 10 });
    expect(shared.cache).toBe('shared');
    expect(shared.tokens).toEqual(exact.tokens);
    model.dispose();
  });

  it('batch 1, RotaryEmbedding nodes on position_ids, 2 threads', async () => {
    (await check(rts.two, { ...TINY, rotary: 'node', seed: 2 }, [PROMPT])).dispose();
  });

  it('a ragged batch of 2 (attention_mask padding): each sequence as onnxruntime-web, and as alone', async () => {
    const prompts = [PROMPT, [9, 60, 2]];
    for (const c of [TINY, { ...TINY, rotary: 'node', seed: 3 }]) {
      const model = await check(rts.one, c, prompts, { padToken: 5 });
      const alone = await generate(model, prompts[1], { maxNewTokens: STEPS });
      const both = await generate(model, prompts, { maxNewTokens: STEPS, cacheChunk: 4 });
      expect(both.tokens[1]).toEqual(alone.tokens[0]);
      model.dispose();
    }
  });

  it('sampling: a seed gives the same tokens, another seed others; top-k 1 is greedy', async () => {
    const model = loadModel(rts.one, llmModel(TINY));
    const run = (sampling: GenerateOptions['sampling']) => generate(model, PROMPT, { maxNewTokens: 16, sampling }).then((r) => r.tokens[0]);
    const a = await run({ temperature: 1.5, topK: 40, topP: 0.95, seed: 7 });
    expect(await run({ temperature: 1.5, topK: 40, topP: 0.95, seed: 7 })).toEqual(a);
    expect(await run({ temperature: 1.5, topK: 40, topP: 0.95, seed: 8 })).not.toEqual(a);
    expect(await run({ temperature: 1, topK: 1, seed: 3 })).toEqual(await run(null));
    model.dispose();
  });

  it('stop tokens end a sequence; the stream yields what generate returns', async () => {
    const model = loadModel(rts.one, llmModel(TINY));
    const greedy = (await generate(model, PROMPT, { maxNewTokens: 8 })).tokens[0];
    const stop = greedy[3];
    const stopped = await generate(model, PROMPT, { maxNewTokens: 8, stopTokens: [stop] });
    expect(stopped.tokens[0]).toEqual(greedy.slice(0, greedy.indexOf(stop) + 1));
    expect(stopped.finish).toEqual(['stop']);
    expect((await generate(model, PROMPT, { maxNewTokens: 8 })).finish).toEqual(['length']);
    const streamed: number[] = [];
    for await (const s of generateStream(model, PROMPT, { maxNewTokens: 8 })) streamed.push(s.tokens[0]!);
    expect(streamed).toEqual(greedy);
    // batch: the stopped sequence reports null while the other goes on
    const steps: (number | null)[][] = [];
    await generate(model, [PROMPT, PROMPT.slice(1)], { maxNewTokens: 8, stopTokens: [stop], onToken: (s) => steps.push([...s.tokens]) });
    const at = greedy.indexOf(stop);
    if (at < 7) expect(steps[at + 1][0]).toBeNull();
    model.dispose();
  });
});

/**
 * A decoder whose cache is not GroupQueryAttention's: present = Concat(past, this step's embeddings),
 * logits = (embedding + sum of present over the sequence) · W. generate() runs it with the 'exact'
 * cache (past as long as the sequence).
 */
function concatCacheModel(V: number, extraInput = false): Uint8Array {
  const b = new OnnxBuilder(17).input('input_ids', ['batch', 'seq'], 'int64').input('attention_mask', ['batch', 'total'], 'int64');
  if (extraInput) b.input('num_logits_to_keep', [], 'int64');
  b.input('past_key_values.0.key', ['batch', 1, 'past', 4]).input('past_key_values.0.value', ['batch', 1, 'past', 4]);
  const r = rng(11);
  b.init('E', [V, 4], Array.from({ length: V * 4 }, () => r() * 2 - 1)).init('W', [4, V], Array.from({ length: V * 4 }, () => r() * 2 - 1));
  b.ints('ax1', [1]).ints('ax2', [2]);
  b.node('Gather', ['E', 'input_ids'], 'e').node('Unsqueeze', ['e', 'ax1'], 'eu');
  b.node('Concat', ['past_key_values.0.key', 'eu'], 'present.0.key', { axis: 2 }).node('Concat', ['past_key_values.0.value', 'eu'], 'present.0.value', { axis: 2 });
  b.node('ReduceSum', ['present.0.key', 'ax2'], 'm', { keepdims: 1 }).node('Squeeze', ['m', 'ax1'], 'ms').node('Add', ['e', 'ms'], 'h').node('MatMul', ['h', 'W'], 'logits');
  return b.output('logits').output('present.0.key').output('present.0.value').build();
}

describe(`generate() on a Concat-cache decoder (not GroupQueryAttention) vs onnxruntime-web (${SIMD} build)`, () => {
  it(`the exact cache: the same greedy tokens and logits over ${STEPS} steps; the shared cache and ragged batches refused`, async () => {
    const V = 40, c = { ...TINY, vocab: V, layers: 1, kvHeads: 1, headSize: 4 }, bytes = concatCacheModel(V);
    const want = await ortGreedy(c, bytes, [PROMPT.map((t) => t % V)], STEPS);
    const model = loadModel(rts.one, bytes);
    const logits: Float32Array[] = [];
    const got = await generate(model, PROMPT.map((t) => t % V), { maxNewTokens: STEPS, onToken: (s) => logits.push(Float32Array.from(s.logits)) });
    expect(got.cache).toBe('exact');
    expect(got.tokens).toEqual(want.tokens);
    logits.forEach((l, t) => expectLogitsClose(l, want.logits[t], `step ${t}`, 1e-5));
    await expect(generate(model, [1, 2], { maxNewTokens: 2, cache: 'shared' })).rejects.toThrow(ArgumentError);
    await expect(generate(model, [[1, 2], [3]], { maxNewTokens: 2 })).rejects.toThrow(ArgumentError);
    const extra = loadModel(rts.one, concatCacheModel(V, true));
    await expect(generate(extra, [1, 2], { maxNewTokens: 2 })).rejects.toThrow(/num_logits_to_keep/);
    extra.dispose();
    // equal lengths batch fine
    expect((await generate(model, [[1, 2], [3, 4]], { maxNewTokens: 3 })).tokens).toHaveLength(2);
    model.dispose();
  });
});

describe('sampling', () => {
  const logits = Float32Array.from([1, 5, 4.5, -2, 4.9, 0, 3]);
  it('top-k keeps the k most likely, top-p the smallest set reaching p; frequencies follow the softmax', () => {
    const draws = (o: ConstructorParameters<typeof Sampler>[0], n = 3000) => {
      const s = new Sampler(o), seen = new Array(logits.length).fill(0);
      for (let i = 0; i < n; i++) seen[s.next(logits, 0, logits.length)]++;
      return seen.map((x) => x / n);
    };
    expect(draws({ topK: 2, seed: 1 }).map((f, i) => (f > 0 ? i : -1)).filter((i) => i >= 0)).toEqual([1, 4]);
    // p(1) ≈ 0.41, p(4) ≈ 0.37 at T = 1: 0.7 needs both
    expect(draws({ topP: 0.7, seed: 2 }).map((f, i) => (f > 0 ? i : -1)).filter((i) => i >= 0)).toEqual([1, 4]);
    expect(draws({ topP: 0.3, seed: 2 })).toEqual([0, 1, 0, 0, 0, 0, 0]);
    const z = Array.from(logits, (x) => Math.exp(x)), sum = z.reduce((a, b) => a + b);
    draws({ seed: 4 }, 20000).forEach((f, i) => expect(Math.abs(f - z[i] / sum)).toBeLessThan(0.015));
    // lower id first on ties, greedy
    expect(new Sampler(null).next([2, 7, 7, 1], 0, 4)).toBe(1);
    expect(new Sampler({ temperature: 0 }).next([2, 7, 9, 1], 1, 3)).toBe(1);
  });
  it('refuses bad options', () => {
    for (const o of [{ temperature: -1 }, { temperature: NaN }, { topK: 1.5 }, { topK: -1 }, { topP: 0 }, { topP: 1.2 }, { seed: 0.5 }]) expect(() => new Sampler(o)).toThrow(ValueRangeError);
  });
});

describe('generate() refuses bad input with typed errors', () => {
  it('models without the layout, token ids, options', async () => {
    const plain = new OnnxBuilder(17).input('x', [1, 4]).output('y');
    plain.node('Relu', ['x'], 'y');
    const noLayout = loadModel(rts.one, plain.build());
    await expect(generate(noLayout, [1], { maxNewTokens: 1 })).rejects.toThrow(ModelError);
    noLayout.dispose();
    const model = loadModel(rts.one, llmModel(TINY));
    const bad: [unknown, Partial<GenerateOptions>, new (m: string) => Error][] = [
      [[1, TINY.vocab], {}, ValueRangeError], [[1, -1], {}, ValueRangeError], [[1.5], {}, ValueRangeError], [[], {}, ArgumentError], [[[1], []], {}, ArgumentError],
      ['abc', {}, ArgumentError], [[1], { maxNewTokens: 0 }, ValueRangeError], [[1], { maxNewTokens: 2.5 }, ValueRangeError],
      [[1], { stopTokens: [TINY.vocab] }, ValueRangeError], [[1], { cache: 'x' as never }, ArgumentError], [[1], { cacheChunk: 0 }, ValueRangeError],
      [[1], { sampling: { topP: 2 } }, ValueRangeError], [[1], { maxNewTokens: TINY.maxPositions }, ValueRangeError],
    ];
    for (const [prompt, o, E] of bad) await expect(generate(model, prompt as number[], { maxNewTokens: 2, ...o }), JSON.stringify([prompt, o])).rejects.toThrow(E);
    model.dispose();
  });
});
