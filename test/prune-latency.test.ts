// int8-sparse's latency budget in quantizeModel (src/model/prune-latency.ts): with a latency table
// given (an injected timer, so the plan is deterministic) the model's layers get the weights the
// search chose, the budget is met, the timer sees each layer's real shape, the result runs, saves and
// loads; bad latency options are ArgumentErrors naming the field.

import { describe, expect, it } from 'vitest';
import { ArgumentError, ValueRangeError, loadModel, loadQuantized, quantizeModel, saveQuantized, type LayerTimer, type Model } from '../src/index.js';
import type { SparseWeights } from '../src/layers/gemm-spmm.js';
import { SIMD, randNormal, rng, useRuntimes } from './helpers.js';
import { OnnxBuilder } from './onnx-builder.js';

const rts = useRuntimes();

describe(`int8-sparse sparsity.latency (${SIMD} build)`, () => {
  // MatMul [5, 64] x [64, 48] -> h (an output), Gemm (transB) [32, 48] -> y
  const r = rng(21);
  const onnx = new OnnxBuilder(13).input('x', [5, 64]).output('h').output('y')
    .init('wm', [64, 48], randNormal(64 * 48, r, 0.1)).init('wg', [32, 48], randNormal(32 * 48, r, 0.2))
    .node('MatMul', ['x', 'wm'], 'h').node('Gemm', ['h', 'wg'], 'y', { transB: 1 })
    .build();
  const feeds = (seed: number) => ({ x: { type: 'float32' as const, dims: [5, 64], data: randNormal(5 * 64, rng(seed)) } });
  // 14 inputs of 5 rows: at least K rows per layer (the search leaves layers with fewer dense)
  const calibration = Array.from({ length: 14 }, (_, i) => feeds(40 + i));
  // µs: dense K·N/100, block4x4 25/50/75% at 0.8/0.55/0.3 of it
  const speed: Record<string, number> = { dense: 1, 'block4x4 25%': 0.8, 'block4x4 50%': 0.55, 'block4x4 75%': 0.3 };
  const seen: { label: string; m: number; k: number; n: number; candidates: string[] }[] = [];
  const timer: LayerTimer = (layer, candidates) => {
    seen.push({ ...layer, candidates: candidates.map((c) => c.label) });
    return candidates.map((c) => ((layer.k * layer.n) / 100) * speed[c.label]);
  };
  const layersOf = (q: Model) => [...q.builtLayers.values()].map((l) => (l as { weights?: { format: { name: string }; data: SparseWeights } } | null)?.weights).filter((w) => w !== undefined);

  for (const budget of [0.9, 0.6, 0.35]) {
    it(`budget ${budget}: the plan meets it on the given table, and the model's layers are the plan's`, async () => {
      const float = loadModel(rts.one, onnx);
      seen.length = 0;
      const q = await quantizeModel(float, { scheme: 'int8-sparse', calibration, sparsity: { latency: budget, pattern: 'block4x4' }, latencyTimer: timer });
      const plan = q.prunePlan!;
      expect(seen.map((s) => [s.m, s.k, s.n])).toEqual([[5, 64, 48], [5, 48, 32]]);
      expect(seen[0].candidates).toEqual(['dense', 'block4x4 25%', 'block4x4 50%', 'block4x4 75%']);
      expect(plan.denseUs).toBeCloseTo((64 * 48 + 48 * 32) / 100, 9);
      expect(plan.us).toBeLessThanOrEqual(budget * plan.denseUs + 1e-9);
      const want = plan.layers.map((l) => l.chosen);
      const built = layersOf(q).sort((a, b) => b!.data.k - a!.data.k);
      expect(built.map((w) => (w!.format.name === 'int8' ? 'dense' : `${w!.data.pattern} ${w!.data.target * 100}%`))).toEqual(want);
      // every layer's relative output error: dense int8 below any pruned candidate here
      for (const l of plan.layers) for (const c of l.candidates.slice(1)) expect(c.error).toBeGreaterThan(l.candidates[0].error);
      if (budget === 0.35) expect(want).toEqual(['block4x4 75%', 'block4x4 75%']); // 0.3 of dense is the only way
      const out = await q.run(feeds(99));
      const back = loadQuantized(float, saveQuantized(q));
      const again = await back.run(feeds(99));
      expect(again.y.data).toEqual(out.y.data);
      for (const m of [q, back, float]) m.dispose();
    });
  }

  it("latencyTable: another budget searched on a plan's table and candidate weights gives the plan measured afresh, without timing again", async () => {
    const float = loadModel(rts.one, onnx);
    const loose = await quantizeModel(float, { scheme: 'int8-sparse', calibration, sparsity: { latency: 0.9, pattern: 'block4x4' }, latencyTimer: timer });
    const fresh = await quantizeModel(float, { scheme: 'int8-sparse', calibration, sparsity: { latency: 0.6, pattern: 'block4x4' }, latencyTimer: timer });
    seen.length = 0;
    const reused = await quantizeModel(float, { scheme: 'int8-sparse', calibration, sparsity: { latency: 0.6, pattern: 'block4x4' }, latencyTable: loose.prunePlan });
    expect(seen).toEqual([]);
    expect(reused.prunePlan!.layers.map((l) => l.chosen)).toEqual(fresh.prunePlan!.layers.map((l) => l.chosen));
    expect(reused.prunePlan!.us).toBe(fresh.prunePlan!.us);
    expect((await reused.run(feeds(99))).y.data).toEqual((await fresh.run(feeds(99))).y.data);
    await expect(quantizeModel(float, { scheme: 'int8', calibration, latencyTable: loose.prunePlan })).rejects.toThrow(/latencyTable: only with scheme 'int8-sparse' and sparsity\.latency/);
    for (const m of [loose, fresh, reused, float]) m.dispose();
  });

  it('the default candidates: block4x4 25/50/75% and unstructured 50/75/90%; sparsity.targets replaces the fractions', async () => {
    const float = loadModel(rts.one, onnx);
    const table: LayerTimer = (layer, candidates) => candidates.map((c, i) => 100 - i);
    seen.length = 0;
    const q = await quantizeModel(float, { scheme: 'int8-sparse', calibration, sparsity: { latency: 0.99 }, latencyTimer: (l, c) => (seen.push({ ...l, candidates: c.map((x) => x.label) }), table(l, c)) });
    expect(seen[0].candidates).toEqual(['dense', 'block4x4 25%', 'block4x4 50%', 'block4x4 75%', 'unstructured 50%', 'unstructured 75%', 'unstructured 90%']);
    seen.length = 0;
    const t = await quantizeModel(float, { scheme: 'int8-sparse', calibration, sparsity: { latency: 0.99, pattern: ['unstructured', '2:4'], targets: [0.6] }, latencyTimer: (l, c) => (seen.push({ ...l, candidates: c.map((x) => x.label) }), table(l, c)) });
    expect(seen[0].candidates).toEqual(['dense', 'unstructured 60%', '2:4 50%']);
    for (const m of [q, t, float]) m.dispose();
  });

  it('bad latency options are ArgumentErrors naming the field; an unreachable budget a ValueRangeError', async () => {
    const float = loadModel(rts.one, onnx);
    const bad: [unknown, RegExp][] = [
      [{ latency: 0 }, /sparsity\.latency: expected a fraction of dense int8's latency in \(0, 1\]/],
      [{ latency: 1.2 }, /sparsity\.latency/],
      [{ latency: '0.7' }, /sparsity\.latency/],
      [{ latency: 0.7, target: 0.5 }, /sparsity\.target: chosen per layer/],
      [{ latency: 0.7, targets: [0.5, 1] }, /sparsity\.targets/],
      [{ latency: 0.7, targets: [] }, /sparsity\.targets/],
      [{ targets: [0.5] }, /sparsity\.targets: only with sparsity\.latency/],
      [{ latency: 0.7, pattern: ['block4x4', '3:4'] }, /sparsity\.pattern\[1\]/],
    ];
    for (const [sparsity, message] of bad) {
      const p = quantizeModel(float, { scheme: 'int8-sparse', calibration, sparsity: sparsity as never, latencyTimer: timer });
      await expect(p, JSON.stringify(sparsity)).rejects.toThrow(ArgumentError);
      await expect(p).rejects.toThrow(message);
    }
    const p = quantizeModel(float, { scheme: 'int8-sparse', calibration, sparsity: { latency: 0.2, pattern: 'block4x4' }, latencyTimer: timer });
    await expect(p).rejects.toThrow(ValueRangeError);
    await expect(p).rejects.toThrow(/sparsity\.latency: 0\.2 is out of reach; the fastest candidates give 0\.300/);
    // one layer alone has no model to budget over
    await expect(rts.one.linear(randNormal(64 * 48, rng(1)), [64, 48], null, { dtype: 'int8-sparse', calibration: randNormal(64 * 10, rng(2)), sparsity: { latency: 0.7 } })).rejects.toThrow(/sparsity\.latency: a budget over a whole model/);
    float.dispose();
  });
});
