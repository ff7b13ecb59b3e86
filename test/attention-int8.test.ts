// int8 attention: the qs8_attn kernels bit-exact against their scalar references (every tail of the
// 4-key groups and of the head's 16-value rows), the layer against a float64 reference within its
// budget, ragged = padded-and-masked on the real rows (same bits), causal masking, a KV-cache decode
// step = the full recompute's last row, pruning (threshold and top-k) that keeps every key = dense,
// static kvScales, and typed errors.

import { describe, expect, it } from 'vitest';
import { attentionReference, compareTo, ArgumentError, ShapeError, ValueRangeError } from '../src/index.js';
import { qs8AttnQuantize, qs8AttnRowBytes, qs8AttnRows, qs8AttnRowsPruned, qs8AttnScratchBytes } from '../src/kernels/qs8-attn.js';
import { refQs8AttnQuantizeRow, refQs8AttnRows, refQs8AttnRowsPruned } from '../src/kernels/reference/qs8-attn.js';
import { firstMismatch, randInt8, randNormal, rng, useRuntimes } from './helpers.js';

const rts = useRuntimes();

/** int8 rows of hp values, zeros past h */
function rows(n: number, h: number, r: () => number, lo: number, hi: number): Int8Array {
  const hp = qs8AttnRowBytes(h), out = new Int8Array(n * hp);
  for (let i = 0; i < n; i++) out.set(randInt8(h, r, lo, hi), i * hp);
  return out;
}

describe('qs8_attn kernels = scalar references', () => {
  for (const h of [1, 7, 16, 33, 64, 80]) for (const t of [1, 3, 4, 5, 37]) {
    it(`h ${h}, ${t} keys: exact rows (ragged, causal and padded) and pruned rows`, async () => {
      const rt = rts.one, r = rng(h * 100 + t), hp = qs8AttnRowBytes(h), m = 6;
      const q = rows(m, h, r, -127, 127), k = rows(t, h, r, -127, 127), v = rows(t, h, r, -127, 127);
      const q4 = rows(m, h, r, -7, 7), k4 = rows(t, h, r, 1, 15);
      const qScale = Float32Array.from({ length: m }, () => 1e-4 + r() * 3e-3), q4Scale = Float32Array.from({ length: m }, () => 0.01 + r() * 0.1);
      const his = Int32Array.from({ length: m }, (_, i) => (i === 0 ? 0 : Math.min(t, 1 + Math.floor(r() * t))));
      const vScale = 0.013;
      for (const n of [null, t]) {
        const want = refQs8AttnRows({ m, h, hp, q, qScale, k, v, his, n, vScale });
        const got = await rt.scoped((alloc) => {
          const [pq, pk, pv] = [rt.put(q, 16), rt.put(k, 16), rt.put(v, 16)];
          const [ps, ph] = [rt.put(qScale), rt.put(his)];
          const scratch = alloc(qs8AttnScratchBytes(t, hp)), out = alloc(m * h * 4);
          qs8AttnRows(rt, { m, h, hp, q: pq, qScale: ps, k: pk, v: pv, his: ph, n, vScale, tmax: t, scratch, out, outStride: h * 4 });
          const res = rt.read(Float32Array, out, m * h);
          for (const p of [pq, pk, pv, ps, ph]) rt.free(p);
          return res;
        });
        expect(firstMismatch(got, want), `n ${n}`).toBeNull();
      }
      // threshold mode (topk 0), then top-k (with theta ignored): 1, 2, 3 keys, and more than a row has
      for (const [theta, topk] of [[0, 0], [0.05, 0], [Infinity, 0], [0, 1], [0.05, 2], [0, 3], [0, 64]]) {
        const want = refQs8AttnRowsPruned({ m, h, hp, q, qScale, k, v, his, vScale, q4, q4Scale, k4, theta, topk });
        const got = await rt.scoped((alloc) => {
          const ptrs = [q, k, v, q4, k4].map((x) => rt.put(x, 16)), [ps, p4, ph] = [rt.put(qScale), rt.put(q4Scale), rt.put(his)];
          const scratch = alloc(qs8AttnScratchBytes(t, hp)), out = alloc(m * h * 4), kept = alloc(m * 4);
          qs8AttnRowsPruned(rt, { m, h, hp, q: ptrs[0], qScale: ps, k: ptrs[1], v: ptrs[2], q4: ptrs[3], k4: ptrs[4], q4Scale: p4, his: ph, theta, topk, vScale, tmax: t, scratch, out, outStride: h * 4, kept });
          const res = { out: rt.read(Float32Array, out, m * h), kept: rt.read(Int32Array, kept, m) };
          for (const p of [...ptrs, ps, p4, ph]) rt.free(p);
          return res;
        });
        expect(firstMismatch(got.kept, want.kept), `kept, theta ${theta}, topk ${topk}`).toBeNull();
        if (topk > 0) for (let i = 0; i < m; i++) expect(got.kept[i], `row ${i} kept`).toBeGreaterThanOrEqual(Math.min(topk, his[i]));
        expect(firstMismatch(got.out, want.out), `theta ${theta}, topk ${topk}`).toBeNull();
      }
    });
  }

  it('quantizes rows as the reference does (ties to even, clamp, offset, zeros past h)', async () => {
    const rt = rts.one, h = 21, m = 5, x = randNormal(m * h, rng(3), 3);
    x[0] = 0.5; x[1] = 1.5; x[2] = -2.5; x[3] = 1e9; x[4] = -1e9;
    const scales = Float32Array.from({ length: m }, (_, i) => 0.5 + i * 0.25);
    for (const [qmax, offset] of [[127, 0], [7, 8]]) {
      const got = await rt.scoped((alloc) => {
        const px = rt.put(x), ps = rt.put(scales), out = alloc(m * qs8AttnRowBytes(h));
        qs8AttnQuantize(rt, m, h, px, h * 4, ps, true, qmax, offset, out);
        return rt.read(Int8Array, out, m * qs8AttnRowBytes(h));
      });
      const want = new Int8Array(m * qs8AttnRowBytes(h));
      for (let i = 0; i < m; i++) want.set(refQs8AttnQuantizeRow(x, i * h, h, qs8AttnRowBytes(h), scales[i], qmax, offset), i * qs8AttnRowBytes(h));
      expect(firstMismatch(got, want)).toBeNull();
    }
  });
});

/** a ragged batch of the given lengths, and the same batch padded to the longest with garbage rows */
function batch(lengths: number[], heads: number, kvHeads: number, h: number, seed: number) {
  const r = rng(seed), tokens = lengths.reduce((a, b) => a + b, 0), L = Math.max(...lengths);
  const q = randNormal(tokens * heads * h, r, 1), k = randNormal(tokens * kvHeads * h, r, 1), v = randNormal(tokens * kvHeads * h, r, 1);
  const offsets = [0];
  for (const l of lengths) offsets.push(offsets[offsets.length - 1] + l);
  const pad = (x: Float32Array, width: number) => {
    const out = randNormal(lengths.length * L * width, r, 5); // padding holds garbage: it must not matter
    lengths.forEach((l, b) => out.set(x.subarray(offsets[b] * width, offsets[b + 1] * width), b * L * width));
    return out;
  };
  return { q, k, v, offsets, L, padded: { q: pad(q, heads * h), k: pad(k, kvHeads * h), v: pad(v, kvHeads * h) } };
}

describe('int8 attention layer', () => {
  // the budget: int8 Q, K, V per head and 7-bit probabilities stay above 30 dB SQNR against float64
  const BUDGET_DB = 30;

  for (const [heads, kvHeads, h, causal] of [[4, 4, 64, false], [4, 4, 64, true], [6, 2, 32, true], [2, 1, 20, false]] as const) {
    it(`heads ${heads}/${kvHeads}, h ${h}${causal ? ', causal' : ''}: ragged within ${BUDGET_DB} dB of float64, = padded on the real rows`, async () => {
      const lengths = [5, 17, 1, 33, 12];
      const { q, k, v, offsets, L, padded } = batch(lengths, heads, kvHeads, h, heads * 7 + h);
      let first: Float32Array | null = null;
      for (const rt of [rts.one, rts.two]) {
        const ragged = await rt.attention(q, k, v, { heads, kvHeads, causal, offsets });
        // rows split across 2 threads: the same bits as one
        if (first) expect(firstMismatch(ragged.output, first)).toBeNull();
        first = ragged.output;
        const ref = attentionReference(q, k, v, { heads, kvHeads, causal, offsets });
        const err = compareTo(ref, ragged.output);
        expect(err.sqnrDb).toBeGreaterThan(BUDGET_DB);
        const dense = await rt.attention(padded.q, padded.k, padded.v, { heads, kvHeads, causal, lengths, headSize: h });
        const w = heads * h, real = new Float32Array(q.length);
        lengths.forEach((l, b) => real.set(dense.output.subarray(b * L * w, (b * L + l) * w), offsets[b] * w));
        expect(firstMismatch(real, ragged.output)).toBeNull();
      }
    });
  }

  it('causal: a row does not change when later keys and values do', async () => {
    const rt = rts.one, h = 16, heads = 2, n = 20;
    const { q, k, v } = batch([n], heads, heads, h, 5);
    const a = await rt.attention(q, k, v, { heads, causal: true, offsets: [0, n] });
    // later keys change; the key and value scales come from every row, so keep the changes below the row maxima
    const k2 = k.slice(), v2 = v.slice();
    for (let i = 12 * heads * h; i < k.length; i++) { k2[i] *= 0.5; v2[i] *= -0.5; }
    const b = await rt.attention(q, k2, v2, { heads, causal: true, offsets: [0, n] });
    const kAbs = (x: Float32Array, hd: number) => Math.max(...Array.from({ length: 12 }, (_, t) => Math.max(...x.subarray(t * heads * h + hd * h, t * heads * h + hd * h + h).map(Math.abs))));
    const kAll = (x: Float32Array, hd: number) => Math.max(...Array.from({ length: n }, (_, t) => Math.max(...x.subarray(t * heads * h + hd * h, t * heads * h + hd * h + h).map(Math.abs))));
    // only meaningful when the first 12 rows hold each head's maximum (then the scales agree)
    for (let hd = 0; hd < heads; hd++) if (kAbs(k, hd) < kAll(k, hd) || kAbs(v, hd) < kAll(v, hd)) return;
    expect(firstMismatch(a.output.subarray(0, 12 * heads * h), b.output.subarray(0, 12 * heads * h))).toBeNull();
    expect(firstMismatch(a.output.subarray(12 * heads * h), b.output.subarray(12 * heads * h))).not.toBeNull();
    // row 0 sees only key 0: its output is value 0, dequantized
    const ref = attentionReference(q, k, v, { heads, causal: true, offsets: [0, n] });
    for (let j = 0; j < h; j++) expect(Math.abs(a.output[j] - v[j])).toBeLessThan(0.02 * Math.max(...v.map(Math.abs)));
    expect(compareTo(ref, a.output).sqnrDb).toBeGreaterThan(30);
  });

  it('a KV-cache decode step (cache layout, rows past each length garbage) = the full recompute\'s last row', async () => {
    const rt = rts.one, heads = 4, kvHeads = 2, h = 24, lengths = [9, 30, 1], rows = 40;
    const { q, k, v, offsets } = batch(lengths, heads, kvHeads, h, 11);
    const full = await rt.attention(q, k, v, { heads, kvHeads, causal: true, offsets });
    // the cache: [B, kvHeads, rows, h]; the step's queries: each sequence's last token
    const r = rng(12), kc = randNormal(lengths.length * kvHeads * rows * h, r, 9), vc = randNormal(kc.length, r, 9);
    const qs = new Float32Array(lengths.length * heads * h);
    lengths.forEach((l, b) => {
      for (let kh = 0; kh < kvHeads; kh++) for (let t = 0; t < l; t++) for (let j = 0; j < h; j++) {
        const src = (offsets[b] + t) * kvHeads * h + kh * h + j, dst = ((b * kvHeads + kh) * rows + t) * h + j;
        kc[dst] = k[src];
        vc[dst] = v[src];
      }
      qs.set(q.subarray((offsets[b + 1] - 1) * heads * h, offsets[b + 1] * heads * h), b * heads * h);
    });
    const step = await rt.attention(qs, kc, vc, { heads, kvHeads, causal: true, offsets: [0, 1, 2, 3], kvLengths: lengths });
    const last = new Float32Array(qs.length);
    lengths.forEach((_, b) => last.set(full.output.subarray((offsets[b + 1] - 1) * heads * h, offsets[b + 1] * heads * h), b * heads * h));
    expect(firstMismatch(step.output, last)).toBeNull();
    // a chunk of 3 new tokens after a past (chunked prefill), keys packed by kvOffsets = the full run's rows
    const chunk = new Float32Array(lengths.length * 3 * heads * h), want = new Float32Array(chunk.length);
    const qOff = [0, 3, 6, 9];
    const lens = [9, 30, 3]; // the third sequence must hold 3 tokens here
    const c = batch(lens, heads, kvHeads, h, 13);
    const fullC = await rt.attention(c.q, c.k, c.v, { heads, kvHeads, causal: true, offsets: c.offsets });
    lens.forEach((_, b) => {
      chunk.set(c.q.subarray((c.offsets[b + 1] - 3) * heads * h, c.offsets[b + 1] * heads * h), qOff[b] * heads * h);
      want.set(fullC.output.subarray((c.offsets[b + 1] - 3) * heads * h, c.offsets[b + 1] * heads * h), qOff[b] * heads * h);
    });
    const stepC = await rt.attention(chunk, c.k, c.v, { heads, kvHeads, causal: true, offsets: qOff, kvOffsets: c.offsets });
    expect(firstMismatch(stepC.output, want)).toBeNull();
  });

  it('pruning: theta = Infinity keeps every key and equals dense; a small theta skips keys within a stated error', async () => {
    const rt = rts.one, heads = 2, h = 64, lengths = [200, 77];
    const { q, k, v, offsets } = batch(lengths, heads, heads, h, 21);
    // sharper scores than random data (a trained model's attention is peaked): scale q up
    const qs = q.map((x) => x * 3);
    const dense = await rt.attention(qs, k, v, { heads, offsets, causal: true });
    const all = await rt.attention(qs, k, v, { heads, offsets, causal: true, prune: { theta: Infinity } });
    expect(all.skipped).toBe(0);
    expect(firstMismatch(all.output, dense.output)).toBeNull();
    const ref = attentionReference(qs, k, v, { heads, offsets, causal: true });
    const pruned = await rt.attention(qs, k, v, { heads, offsets, causal: true, prune: { theta: 6 } });
    const pruned2 = await rts.two.attention(qs, k, v, { heads, offsets, causal: true, prune: { theta: 6 } });
    expect(firstMismatch(pruned2.output, pruned.output)).toBeNull();
    expect(pruned2.skipped).toBe(pruned.skipped);
    expect(pruned.skipped).toBeGreaterThan(0.3);
    // budget: 20 dB against float64 with a third or more of the keys skipped (dense int8 is above 30)
    expect(compareTo(ref, pruned.output).sqnrDb).toBeGreaterThan(20);
    // top-k: k at least the longest row keeps every key (= dense); k = 32 of up to 200 keys: ties may
    // keep a few more, the rest skipped, within the same budget; 2 threads the same bits
    const allK = await rt.attention(qs, k, v, { heads, offsets, causal: true, prune: { topk: 200 } });
    expect(allK.skipped).toBe(0);
    expect(firstMismatch(allK.output, dense.output)).toBeNull();
    const top = await rt.attention(qs, k, v, { heads, offsets, causal: true, prune: { topk: 32 } });
    const top2 = await rts.two.attention(qs, k, v, { heads, offsets, causal: true, prune: { topk: 32 } });
    expect(firstMismatch(top2.output, top.output)).toBeNull();
    expect(top.skipped).toBeGreaterThan(0.5);
    expect(compareTo(ref, top.output).sqnrDb).toBeGreaterThan(20);
  });

  it('static kvScales: equal to the dynamic scales they copy (same bits), and a value past the range clamps as the kernel does', async () => {
    const rt = rts.one, heads = 4, kvHeads = 2, h = 16, lengths = [11];
    const { q, k, v, offsets } = batch(lengths, heads, kvHeads, h, 41);
    const absOf = (x: Float32Array, kh: number) => {
      let m = 0;
      for (let t = 0; t < 11; t++) for (let j = 0; j < h; j++) m = Math.max(m, Math.abs(x[(t * kvHeads + kh) * h + j]));
      return Math.fround(m / 127);
    };
    const kvScales = { k: [absOf(k, 0), absOf(k, 1)], v: [absOf(v, 0), absOf(v, 1)] };
    const dyn = await rt.attention(q, k, v, { heads, kvHeads, causal: true, offsets });
    const fixed = await rt.attention(q, k, v, { heads, kvHeads, causal: true, offsets, kvScales });
    expect(firstMismatch(fixed.output, dyn.output)).toBeNull();
    // halved scales clip half the range: still a valid run, and further from float64 than the exact scales
    const ref = attentionReference(q, k, v, { heads, kvHeads, causal: true, offsets });
    const clipped = await rt.attention(q, k, v, { heads, kvHeads, causal: true, offsets, kvScales: { k: kvScales.k.map((x) => x / 2), v: kvScales.v.map((x) => x / 2) } });
    expect(compareTo(ref, clipped.output).sqnrDb).toBeLessThan(compareTo(ref, fixed.output).sqnrDb);
  });

  it('empty sequences, a padded sequence of length 0, all-zero keys and values', async () => {
    const rt = rts.one, heads = 2, h = 8;
    const { q, k, v } = batch([4, 3], heads, heads, h, 31);
    // a sequence of 0 tokens between two others: no rows, nothing computed for it
    const a = await rt.attention(q, k, v, { heads, offsets: [0, 4, 4, 7] });
    const b = await rt.attention(q, k, v, { heads, offsets: [0, 4, 7] });
    expect(firstMismatch(a.output, b.output)).toBeNull();
    // a padded sequence of length 0: its rows see no key and are 0
    const pad = (x: Float32Array) => {
      const y = new Float32Array(8 * heads * h).fill(3);
      y.set(x.subarray(0, 4 * heads * h));
      return y;
    };
    const d = await rt.attention(pad(q), pad(k), pad(v), { heads, lengths: [4, 0], headSize: h });
    expect(d.output.subarray(4 * heads * h).every((x) => x === 0)).toBe(true);
    // zero keys: uniform attention; zero values: zero out
    const z = await rt.attention(q, new Float32Array(k.length), new Float32Array(v.length), { heads, offsets: [0, 4, 7] });
    expect(z.output.every((x) => x === 0)).toBe(true);
    const empty = await rt.attention(new Float32Array(0), new Float32Array(0), new Float32Array(0), { heads, offsets: [0, 0] });
    expect(empty.output.length).toBe(0);
  });

  it('typed errors name the argument', async () => {
    const rt = rts.one, q = new Float32Array(4 * 8), k = new Float32Array(4 * 8), v = new Float32Array(4 * 8);
    const bad = async (o: Parameters<typeof rt.attention>[3], cls: unknown, msg: RegExp, x = q) => {
      await expect(rt.attention(x, k, v, o)).rejects.toThrow(cls as never);
      await expect(rt.attention(x, k, v, o)).rejects.toThrow(msg);
    };
    await bad({ heads: 2, offsets: [0, 3, 2, 4] }, ValueRangeError, /offsets must not decrease/);
    await bad({ heads: 2, offsets: [1, 4] }, ValueRangeError, /offsets\[0\] must be 0/);
    await bad({ heads: 2, offsets: [0, 1.5, 4] }, ValueRangeError, /offsets\[1\]/);
    await bad({ heads: 2, offsets: [0, 2, 4], kvOffsets: [0, 1, 5] }, ShapeError, /kvOffsets ends at 5/);
    await bad({ heads: 2, causal: true, offsets: [0, 3, 4], kvOffsets: [0, 2, 4] }, ValueRangeError, /sequence 0 has 3 queries but 2 keys/);
    await bad({ heads: 3, offsets: [0, 4] }, ShapeError, /q holds 32 values/);
    await bad({ heads: 2, offsets: [0, 0] }, ShapeError, /offsets hold no query token, but q holds 32 values/);
    await bad({ heads: 2, kvHeads: 3, offsets: [0, 4] }, ArgumentError, /kvHeads/);
    await bad({ heads: 2, lengths: [2, 3], headSize: 4 }, ValueRangeError, /lengths\[1\] = 3 is above the padded length 2/);
    await bad({ heads: 2, lengths: [2, 2] }, ArgumentError, /headSize/);
    await bad({ heads: 2, offsets: [0, 4], lengths: [4] }, ArgumentError, /exactly one of offsets/);
    await bad({ heads: 2, offsets: [0, 4], prune: { theta: -1 } }, ValueRangeError, /prune.theta/);
    await bad({ heads: 2, offsets: [0, 4], prune: { topk: 0 } }, ValueRangeError, /prune.topk must be an integer from 1/);
    await bad({ heads: 2, offsets: [0, 4], prune: { topk: 2.5 } }, ValueRangeError, /prune.topk must be an integer from 1/);
    await bad({ heads: 2, offsets: [0, 4], prune: { topk: 2, theta: 1 } as never }, ArgumentError, /exactly one of theta/);
    await bad({ heads: 2, offsets: [0, 2], kvLengths: [5] }, ValueRangeError, /kvLengths\[0\] = 5 is above the cache's 4 rows/, new Float32Array(2 * 8));
    await bad({ heads: 2, offsets: [0, 4], kvScales: { k: [1], v: [1, 1] } }, ShapeError, /kvScales.k must hold 2 scales/);
    await bad({ heads: 2, offsets: [0, 4], kvScales: { k: [1, 1], v: [1, 0] } }, ValueRangeError, /kvScales.v\[1\] must be a finite number > 0, got 0/);
    // without causal, more queries than keys is fine (each sees every key)
    await expect(rt.attention(q, k.subarray(0, 2 * 8), v.subarray(0, 2 * 8), { heads: 2, offsets: [0, 4], kvOffsets: [0, 2] })).resolves.toBeTruthy();
    const nan = q.slice();
    nan[5] = NaN;
    await bad({ heads: 2, offsets: [0, 4] }, ValueRangeError, /q contains NaN/, nan);
  });
});
