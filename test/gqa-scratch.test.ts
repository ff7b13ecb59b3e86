// GroupQueryAttention's float path keeps its new rows and scores in module scratch reused by every
// call (ms-gqa-ops.ts: a decode step then makes no arrays), and the W4A32 GEMV reads linear memory
// through one cached view (rt.f32()). Neither may carry values from one call into another: runs of
// other models (other head counts, lengths, a prompt and a decode step) between two runs of the same
// feeds must give the same bits; the cached view must follow the memory when it grows.

import { describe, expect, it } from 'vitest';
import { loadModel, type Model } from '../src/index.js';
import { SIMD, useRuntimes } from './helpers.js';
import { type Feed, type IntFeed } from './onnx-builder.js';
import { X } from './model-ort-check.js';
import { checkMs, i32, oneNode, ropeCaches } from './ms-ops-helpers.js';

const rts = useRuntimes();
const OUTS = ['y', 'present_key', 'present_value'];

/** a GQA model: decode-shaped (one new token after `past` rows) or a first prompt (past 0), rotary on */
function gqaModel(n: number, nk: number, h: number, s: number, past: number, seed: number) {
  const total = past + s;
  const feeds: Record<string, Feed | IntFeed> = { q: X([1, s, n * h], seed), k: X([1, s, nk * h], seed + 1), v: X([1, s, nk * h], seed + 2) };
  if (past) Object.assign(feeds, { pk: X([1, nk, past, h], seed + 3), pv: X([1, nk, past, h], seed + 4) });
  Object.assign(feeds, { sk: i32([1], [total - 1]), tl: i32([1], [total]) });
  const { cos, sin } = ropeCaches(16, h / 2);
  const ins = ['q', 'k', 'v', past ? 'pk' : '', past ? 'pv' : '', 'sk', 'tl', 'cos', 'sin'];
  const b = oneNode('GroupQueryAttention', 'com.microsoft', ins, feeds, { cos, sin }, OUTS, { num_heads: n, kv_num_heads: nk, do_rotary: 1 });
  return { b, bytes: b.build(), feeds };
}

const outputs = async (m: Model, feeds: Record<string, Feed | IntFeed>) => {
  const o = await m.run(feeds as never);
  return OUTS.map((name) => Array.from(o[name].data as Float32Array));
};

describe(`reused scratch leaks nothing between calls (${SIMD} build)`, () => {
  it('GroupQueryAttention: the same feeds give the same bits whatever ran in between', async () => {
    const decode = gqaModel(4, 2, 16, 1, 6, 1), prompt = gqaModel(2, 1, 32, 5, 0, 11), other = gqaModel(4, 2, 16, 1, 6, 21);
    const [md, mp] = [loadModel(rts.one, decode.bytes), loadModel(rts.one, prompt.bytes)];
    try {
      const want = await outputs(md, decode.feeds);
      const wantPrompt = await outputs(mp, prompt.feeds);
      // other lengths (the prompt), then the same shapes with other values, then the first feeds again
      expect(await outputs(mp, prompt.feeds)).toEqual(wantPrompt);
      expect(await outputs(md, other.feeds)).not.toEqual(want);
      expect(await outputs(md, decode.feeds)).toEqual(want);
      expect(await outputs(mp, prompt.feeds)).toEqual(wantPrompt);
      // a fresh model of the same file agrees too
      const fresh = loadModel(rts.one, decode.bytes);
      expect(await outputs(fresh, decode.feeds)).toEqual(want);
      fresh.dispose();
    } finally {
      md.dispose();
      mp.dispose();
    }
  });

  it('GroupQueryAttention with as many kv heads as heads (Q, K and V rows of one length, each in its own scratch) matches onnxruntime-web', async () => {
    for (const [s, past] of [[1, 6], [4, 0]]) {
      const m = gqaModel(2, 2, 16, s, past, 31);
      await checkMs(rts.one, m.b, m.feeds, 1e-5, `heads = kv heads, ${s} new rows after ${past}`);
    }
  });

  it('rt.f32() is all of linear memory, made again when the memory grows', () => {
    const rt = rts.one;
    const a = rt.f32();
    expect(a.buffer).toBe(rt.memory.buffer);
    expect(a.length).toBe(rt.memory.buffer.byteLength / 4);
    expect(rt.f32()).toBe(a); // no new view while the memory stays
    const p = rt.alloc(rt.memory.buffer.byteLength + (1 << 16)); // past the top: the memory grows
    try {
      const b = rt.f32();
      expect(b.buffer).toBe(rt.memory.buffer);
      expect(b.length).toBe(rt.memory.buffer.byteLength / 4);
      b[(p >> 2) + 3] = 1.5;
      expect(rt.view(Float32Array, p, 4)[3]).toBe(1.5);
    } finally {
      rt.free(p);
    }
  });
});
