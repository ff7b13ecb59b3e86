// The INT8 linear layer: error against its float32 reference within stated budgets, for every
// activation scheme and weight width; same results on 1 and 2 threads; clear errors on bad input.

import { describe, expect, it } from 'vitest';
import { LowbitError } from '../src/index.js';
import { SIMD, firstMismatch, randNormal, rng, useRuntimes } from './helpers.js';

const rts = useRuntimes();

// BERT-like: weights ~ N(0, 0.02), activations ~ N(0, 1)
const K = 256;
const N = 96;
const M = 24;
const r = rng(42);
const weight = randNormal(K * N, r, 0.02);
const bias = randNormal(N, r, 0.1);
const x = randNormal(M * K, r, 1);
const calibration = randNormal(64 * K, r, 1);

// Budgets: output SQNR / cosine for each scheme, ~2.5 dB under what was measured on this data
// (8-bit: 40.8 / 41.6 / 41.0 dB for per-tensor / per-row / static; 7-bit weights: 37.2 dB).
const BUDGETS = [
  { weightBits: 8, activations: 'dynamic-per-tensor', sqnr: 38, cosine: 0.9999 },
  { weightBits: 8, activations: 'dynamic-per-row', sqnr: 39, cosine: 0.9999 },
  { weightBits: 8, activations: 'static', sqnr: 38, cosine: 0.9999 },
  { weightBits: 7, activations: 'dynamic-per-tensor', sqnr: 35, cosine: 0.9998 },
] as const;

describe(`INT8 linear layer (${SIMD} build)`, () => {
  for (const b of BUDGETS) {
    it(`${b.weightBits}-bit weights, ${b.activations} activations: SQNR >= ${b.sqnr} dB, cosine >= ${b.cosine}`, async () => {
      const layer = await rts.one.linear(weight, [K, N], bias, { weightBits: b.weightBits, activations: b.activations, calibration, reference: true });
      const { error, quantized, reference } = await layer.compare(x);
      expect(quantized.length).toBe(M * N);
      expect(error.sqnrDb).toBeGreaterThanOrEqual(b.sqnr);
      expect(error.cosine).toBeGreaterThanOrEqual(b.cosine);
      expect(error.maxAbs).toBeLessThan(0.1 * Math.max(...reference.map(Math.abs)));
      if (b.weightBits === 7) expect(layer.kernelLayout).toBe(SIMD === 'relaxed' ? 'c4' : 'c2');
      layer.dispose();
    });
  }

  it('7-bit weights cost accuracy: their SQNR is below 8-bit weights on the same data', async () => {
    const l8 = await rts.one.linear(weight, [K, N], bias, { activations: 'dynamic-per-row', reference: true });
    const l7 = await rts.one.linear(weight, [K, N], bias, { activations: 'dynamic-per-row', weightBits: 7, reference: true });
    const e8 = (await l8.compare(x)).error.sqnrDb;
    const e7 = (await l7.compare(x)).error.sqnrDb;
    expect(e8).toBeGreaterThan(e7 + 1);
    l8.dispose();
    l7.dispose();
  });

  it('accepts PyTorch-style [N, K] weights with transposed', async () => {
    const wt = new Float32Array(N * K);
    for (let i = 0; i < K; i++) for (let j = 0; j < N; j++) wt[j * K + i] = weight[i * N + j];
    const a = await rts.one.linear(weight, [K, N], bias);
    const b = await rts.one.linear(wt, [N, K], bias, { transposed: true });
    expect(firstMismatch(await b.forward(x), await a.forward(x))).toBeNull();
    a.dispose();
    b.dispose();
  });

  it('takes a float32 tensor [..., K] as well as a Float32Array', async () => {
    const layer = await rts.one.linear(weight, [K, N], bias);
    const a = await layer.forward(x);
    const b = await layer.forward({ type: 'float32', data: x, dims: [2, M / 2, K] });
    expect(firstMismatch(b, a)).toBeNull();
    await expect(layer.forward({ type: 'float32', data: x, dims: [M * 2, K / 2] })).rejects.toThrow(/last dimension must be K = 256/);
    layer.dispose();
  });

  it('with reference: true keeps its own copy of the float weights (changing the caller\'s array changes nothing); by default none', async () => {
    const w = weight.slice();
    const layer = await rts.one.linear(w, [K, N], bias, { reference: true });
    const first = await layer.forwardFloat(x);
    w.fill(0);
    expect(firstMismatch(await layer.forwardFloat(x), first)).toBeNull();
    layer.dispose();
    const lean = await rts.one.linear(weight, [K, N], bias);
    await expect(lean.compare(x)).rejects.toThrow(/build it with reference: true/);
    lean.dispose();
  });

  it('ReLU clamps the output at 0 in both paths', async () => {
    const layer = await rts.one.linear(weight, [K, N], bias, { relu: true, reference: true });
    const q = await layer.forward(x);
    const f = await layer.forwardFloat(x);
    expect(Math.min(...q)).toBe(0);
    expect(Math.min(...f)).toBe(0);
    layer.dispose();
  });

  it('2 threads give the same bits as 1 thread', async () => {
    for (const activations of ['dynamic-per-tensor', 'dynamic-per-row'] as const) {
      const a = await rts.one.linear(weight, [K, N], bias, { activations });
      const b = await rts.two.linear(weight, [K, N], bias, { activations });
      expect(firstMismatch(await b.forward(x), await a.forward(x))).toBeNull();
      a.dispose();
      b.dispose();
    }
  });

  it('bad inputs are clear errors', async () => {
    const code = async (p: Promise<unknown>) => ((await p.then(() => null, (e) => e)) as LowbitError | null)?.code;
    expect(await code(rts.one.linear(weight, [K, N + 1]))).toBe('ERR_SHAPE');
    expect(await code(rts.one.linear(weight, [K, N], new Float32Array(3)))).toBe('ERR_SHAPE');
    const bad = weight.slice();
    bad[5] = NaN;
    await expect(rts.one.linear(bad, [K, N])).rejects.toThrow(/weight: element 5 is NaN/);
    const heapBefore = rts.one.heap.inUse;
    await expect(rts.one.linear(weight, [K, N], null, { activations: 'static' })).rejects.toThrow(/calibration/);
    await expect(rts.one.linear(weight, [K, N], null, { activations: 'static', calibration: new Float32Array(K).fill(NaN) })).rejects.toThrow(/calibration: contains NaN/);
    expect(rts.one.heap.inUse).toBe(heapBefore); // failed builds leak no linear memory
    const layer = await rts.one.linear(weight, [K, N]);
    await expect(layer.forward(new Float32Array(K + 1))).rejects.toThrow(/not a whole number of rows of K = 256/);
    const nan = x.slice();
    nan[3] = Infinity;
    await expect(layer.forward(nan)).rejects.toThrow(/NaN or Infinity/);
    layer.dispose();
    // every activation scheme refuses them: per row, and static ranges (which measure nothing at run
    // time, and once turned a NaN into the zero point)
    for (const activations of ['dynamic-per-row', 'static'] as const) {
      const l = await rts.one.linear(weight, [K, N], null, { activations, calibration: x });
      await expect(l.forward(nan), activations).rejects.toThrow(/NaN or Infinity/);
      nan[3] = NaN;
      await expect(l.forward(nan), activations).rejects.toThrow(/NaN or Infinity/);
      nan[3] = Infinity;
      l.dispose();
    }
  });
});
