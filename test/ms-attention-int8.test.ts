// quantizeModel's attention 'int8' (src/model/attention-int8-ops.ts): com.microsoft GroupQueryAttention
// and MultiHeadAttention nodes on the int8 attention layer with calibrated K/V scales.
// Error budget (stated here, asserted below):
// - TINY decoder (test/llm-model.mjs, weights float W4A32, only attention int8): every step's logits
//   cosine >= 0.999 vs float32 attention, and >= 14 of 16 greedy tokens equal; the same logits
//   against onnxruntime-web's within cosine 0.999;
// - 2-layer BERT-like encoder (MultiHeadAttention with a key padding mask), weights int8 too: output
//   SQNR >= 25 dB vs float32 and vs onnxruntime-web; the attention nodes alone (attention int8,
//   weights float32) >= 30 dB.
// Also: a decode step with the int8 cache reads exactly the int8 rows a full recompute would (the
// cache rows it writes are on the int8 grid), the compare report lists the attention nodes as int8,
// save/load keeps them (same bits) and refuses bad records naming the node and the field, and a bad
// option value is an ArgumentError.

import { describe, expect, it } from 'vitest';
import {
  ArgumentError, ModelError, compareModels, generate, loadModel, loadQuantized, quantizeModel, readSafetensors, saveQuantized, writeSafetensors, type Model,
} from '../src/index.js';
import { metadataChecksum } from '../src/model/saved.js';
import { SIMD, randNormal, rng, useRuntimes } from './helpers.js';
import { i32, oneNode } from './ms-ops-helpers.js';
import { runOrtModel, type Feed, type IntFeed } from './onnx-builder.js';
import { llmModel, TINY } from './llm-model.mjs';
import { encoder, encoderFeeds } from './ms-encoder-model.js';

const rts = useRuntimes();
const c = TINY;

function stats(a: ArrayLike<number>, b: ArrayLike<number>): { sqnr: number; cosine: number } {
  let sig = 0, noise = 0, dot = 0, bb = 0;
  for (let i = 0; i < a.length; i++) {
    sig += a[i] ** 2;
    noise += (a[i] - b[i]) ** 2;
    dot += a[i] * b[i];
    bb += b[i] ** 2;
  }
  return { sqnr: 10 * Math.log10(sig / noise), cosine: dot / Math.sqrt(sig * bb) };
}

/** a prompt run of the decoder (empty past) */
function promptFeeds(ids: number[]): Record<string, Feed | IntFeed> {
  const f: Record<string, Feed | IntFeed> = {
    input_ids: { type: 'int64', dims: [1, ids.length], data: ids },
    attention_mask: { type: 'int64', dims: [1, ids.length], data: ids.map(() => 1) },
  };
  for (let l = 0; l < c.layers; l++) for (const kv of ['key', 'value']) f[`past_key_values.${l}.${kv}`] = { type: 'float32', dims: [1, c.kvHeads, 0, c.headSize], data: new Float32Array(0) };
  return f;
}

const prompt = (n: number, seed: number) => Array.from({ length: n }, (_, i) => (i * 37 + seed * 11 + 5) % c.vocab);

async function greedy(model: Model, ids: number[], steps: number): Promise<{ tokens: number[]; logits: Float32Array[] }> {
  const logits: Float32Array[] = [];
  const r = await generate(model, ids, { maxNewTokens: steps, onToken: (s) => logits.push(Float32Array.from(s.logits)) });
  return { tokens: r.tokens[0], logits };
}

describe(`attention 'int8' in models (${SIMD} build)`, () => {
  it('decoder (GroupQueryAttention, KV cache): logits and greedy tokens vs float32 and onnxruntime-web, within the budget', async () => {
    const rt = rts.one, bytes = llmModel(c);
    const float = loadModel(rt, bytes);
    const calibration = [prompt(12, 1), prompt(20, 2), prompt(7, 3)].map(promptFeeds);
    const q = await quantizeModel(loadModel(rt, bytes), { scheme: 'int8', attention: 'int8', layerScheme: () => 'float32', calibration: calibration as never });
    try {
      const ids = prompt(9, 7), N = 16;
      const a = await greedy(float, ids, N), b = await greedy(q, ids, N);
      const same = a.tokens.filter((t, i) => t === b.tokens[i]).length;
      const cos = a.logits.map((l, i) => stats(l, b.logits[i]).cosine);
      expect(same, `greedy tokens equal: ${a.tokens} vs ${b.tokens}`).toBeGreaterThanOrEqual(14);
      expect(Math.min(...cos), `logits cosine per step ${cos.map((x) => x.toFixed(5))}`).toBeGreaterThanOrEqual(0.999);
      // every attention node ran in int8 (none fell back to float)
      expect([...q.attentionInt8!.ops.values()].map((o) => [o.scheme, o.floatWhy])).toEqual(Array(c.layers).fill(['int8', null]));
      // the prompt's logits against onnxruntime-web (float32) on the same file
      const ort = await runOrtModel(bytes, promptFeeds(ids));
      const V = c.vocab, last = ort.logits.data.slice((ids.length - 1) * V, ids.length * V);
      expect(stats(last, b.logits[0]).cosine).toBeGreaterThanOrEqual(0.999);
    } finally {
      q.dispose();
      float.dispose();
    }
  });

  it('the KV cache rows a step writes are on the int8 grid: a decode step = the full recompute, bit for bit', async () => {
    // one GroupQueryAttention node (4 heads over 2 kv heads of 16): the same rows fed whole, or as a 5-token prompt and one step
    const [n, nk, h, T] = [4, 2, 16, 6], r = rng(21);
    const q = randNormal(T * n * h, r, 1), k = randNormal(T * nk * h, r, 1), v = randNormal(T * nk * h, r, 1);
    const feeds = (from: number, to: number, past: Feed | null, pastV: Feed | null) => ({
      query: { type: 'float32', dims: [1, to - from, n * h], data: q.slice(from * n * h, to * n * h) } as Feed,
      key: { type: 'float32', dims: [1, to - from, nk * h], data: k.slice(from * nk * h, to * nk * h) } as Feed,
      value: { type: 'float32', dims: [1, to - from, nk * h], data: v.slice(from * nk * h, to * nk * h) } as Feed,
      past_key: past ?? { type: 'float32', dims: [1, nk, 0, h], data: new Float32Array(0) } as Feed,
      past_value: pastV ?? { type: 'float32', dims: [1, nk, 0, h], data: new Float32Array(0) } as Feed,
      seqlens_k: i32([1], [to - 1]), total_sequence_length: i32([1], [to]),
    });
    const f0 = feeds(0, T, null, null);
    const node = oneNode('GroupQueryAttention', 'com.microsoft', Object.keys(f0), f0, {}, ['y', 'present_key', 'present_value'], { num_heads: n, kv_num_heads: nk }, 17,
      { query: [1, 'S', n * h], key: [1, 'S', nk * h], value: [1, 'S', nk * h], past_key: [1, nk, 'P', h], past_value: [1, nk, 'P', h] });
    const rt = rts.one, qm = await quantizeModel(loadModel(rt, node.build()), { scheme: 'int8', attention: 'int8', calibration: [f0] as never });
    try {
      const full = await qm.run(f0 as never);
      const scales = qm.attentionInt8!.ops.values().next().value!.scales!;
      // present rows / scale are within float32 rounding of integers in [-127, 127], per kv head: they requantize to themselves
      const pk = full.present_key.data as Float32Array;
      for (let i = 0; i < pk.length; i++) {
        const x = Math.fround(pk[i] / scales.k[Math.floor(i / (T * h))]);
        expect(Math.abs(x - Math.round(x)) < 1e-4 && Math.abs(Math.round(x)) <= 127, `present key ${i}: ${pk[i]} / ${scales.k[Math.floor(i / (T * h))]}`).toBe(true);
      }
      const head = await qm.run(feeds(0, T - 1, null, null) as never);
      const step = await qm.run(feeds(T - 1, T, head.present_key as Feed, head.present_value as Feed) as never);
      expect(Array.from(step.y.data)).toEqual(Array.from(full.y.data.slice((T - 1) * n * h)));
      expect(Array.from(step.present_key.data)).toEqual(Array.from(full.present_key.data));
      // 2 threads (a shared memory: the present buffers are read in place, not copied): the same bits
      const q2 = await quantizeModel(loadModel(rts.two, node.build()), { scheme: 'int8', attention: 'int8', calibration: [f0] as never });
      try {
        expect(Array.from((await q2.run(f0 as never)).y.data)).toEqual(Array.from(full.y.data));
      } finally {
        q2.dispose();
      }
    } finally {
      qm.dispose();
    }
  });

  it('encoder (MultiHeadAttention, key padding mask): output SQNR vs float32 and onnxruntime-web; the compare report lists the attention nodes as int8', async () => {
    const rt = rts.one, bytes = encoder(2).build();
    const float = loadModel(rt, bytes);
    const calibration = [1, 2, 3].map((s) => encoderFeeds(s, 1));
    const onlyAttn = await quantizeModel(loadModel(rt, bytes), { scheme: 'int8', attention: 'int8', layerScheme: () => 'float32', calibration: calibration as never });
    const all = await quantizeModel(loadModel(rt, bytes), { scheme: 'int8', attention: 'int8', speed: 'off', calibration: calibration as never });
    try {
      const feeds = encoderFeeds(9, 2); // the second sequence padded by 2
      const ref = (await float.run(feeds as never)).y.data, ort = (await runOrtModel(bytes, feeds)).y.data;
      const a = (await onlyAttn.run(feeds as never)).y.data, b = (await all.run(feeds as never)).y.data;
      expect(stats(ref, a).sqnr, 'attention int8 alone vs float32').toBeGreaterThanOrEqual(30);
      expect(stats(ref, b).sqnr, 'int8 model vs float32').toBeGreaterThanOrEqual(25);
      expect(stats(ort, b).sqnr, 'int8 model vs onnxruntime-web').toBeGreaterThanOrEqual(25);
      const report = await compareModels(float, onlyAttn, [feeds as never]);
      const rows = report.filter((r) => r.kind === 'MultiHeadAttention (int8)');
      expect(rows.map((r) => [r.name, r.scheme])).toEqual([['l0_attn', 'int8'], ['l1_attn', 'int8']]);
      for (const r of rows) expect(r.sqnrDb, r.name).toBeGreaterThanOrEqual(30);
    } finally {
      onlyAttn.dispose();
      all.dispose();
      float.dispose();
    }
  });

  it('save/load keeps the int8 attention (same bits) and refuses bad records naming the node and the field', async () => {
    const rt = rts.one, bytes = encoder(2).build();
    const float = loadModel(rt, bytes);
    const q = await quantizeModel(float, { scheme: 'int8', attention: 'int8', speed: 'off', calibration: [encoderFeeds(1, 1), encoderFeeds(2, 1)] as never });
    const file = saveQuantized(q);
    const back = loadQuantized(float, file);
    try {
      const feeds = encoderFeeds(5, 2);
      expect(Array.from((await back.run(feeds as never)).y.data)).toEqual(Array.from((await q.run(feeds as never)).y.data));
      const { tensors, metadata } = readSafetensors(file);
      const recs = JSON.parse(metadata.attention);
      expect(Object.keys(recs)).toEqual(['l0_attn', 'l1_attn']);
      expect(recs.l0_attn.k).toHaveLength(4);
      const edit = (f: (r: Record<string, Record<string, unknown>>) => void) => {
        const r = JSON.parse(metadata.attention);
        f(r);
        const m = { ...metadata, attention: JSON.stringify(r) };
        return async () => loadQuantized(float, writeSafetensors(tensors, { ...m, sha256: metadataChecksum(m) })).run(feeds as never);
      };
      await expect(edit((r) => { r.l0_attn.k = [1, 2]; })()).rejects.toThrow(/int8 attention 'l0_attn' field k: expected 4 scales/);
      await expect(edit((r) => { (r.l1_attn.v as number[])[2] = -1; })()).rejects.toThrow(/int8 attention 'l1_attn' field v\[2\]: expected a float32 number > 0, got -1/);
      await expect(edit((r) => { r.l0_attn.v = [0.1, 0.1, 0.1, 0.1]; })()).rejects.toThrow(/field v\[0\]: expected a float32 number/);
      await expect(edit((r) => { r.l0_attn.op = 'GroupQueryAttention'; })()).rejects.toThrow(/int8 attention 'l0_attn' field op: the file says "GroupQueryAttention", the node is MultiHeadAttention/);
      await expect(edit((r) => { r.l0_attn.extra = 1; })()).rejects.toThrow(/'l0_attn' has field extra/);
      await expect(edit((r) => { r.l0_o = r.l0_attn; })()).rejects.toThrow(/'l0_o' is a MatMul node, not an attention node/);
      await expect(edit((r) => { delete r.l1_attn; })()).rejects.toThrow(/int8 attention 'l1_attn' \(MultiHeadAttention\) has no record in the file/);
      await expect(edit(() => undefined)()).resolves.toBeTruthy();
      // a checksum that does not cover the records would let an edit through
      expect(() => loadQuantized(float, writeSafetensors(tensors, { ...metadata, attention: metadata.attention.replace('"k":[', '"k":[1,') }))).toThrow(ModelError);
    } finally {
      back.dispose();
      q.dispose();
      float.dispose();
    }
  });

  it('refuses a bad attention option with an ArgumentError naming it', async () => {
    const float = loadModel(rts.one, encoder(1).build());
    try {
      for (const bad of ['int4', true, 8]) {
        await expect(quantizeModel(float, { scheme: 'int8', attention: bad as never, calibration: [encoderFeeds(1, 1)] as never })).rejects.toThrow(ArgumentError);
        await expect(quantizeModel(float, { scheme: 'int8', attention: bad as never, calibration: [encoderFeeds(1, 1)] as never })).rejects.toThrow(/attention must be 'float32' or 'int8', got/);
      }
    } finally {
      float.dispose();
    }
  });
});
