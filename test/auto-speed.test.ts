// 'auto''s speed budget (src/model/auto-speed.ts, mix-speed.ts): the mix's summed step time may pass
// all-int8's by at most autoBudget.maxSlowdown. By default the times come from the cost table by GEMM
// shape (format-cost.ts), so the choice is the same on every machine and under any timer; with speed
// 'measured' from a timer the test passes (a table by format).

import { describe, expect, it } from 'vitest';
import { ArgumentError, loadModel, quantizeModel, tensor, type Feeds, type Model } from '../src/index.js';
import { formatLatencies, stepTimes, tooSlow, type StepTimer } from '../src/model/auto-speed.js';
import { FORMAT_COSTS, stepCostMs } from '../src/model/format-cost.js';
import { fitTime, pickMs } from '../src/model/mix-speed.js';
import type { GraphNode } from '../src/model/graph.js';
import { SIMD, randNormal, rng, useRuntimes } from './helpers.js';
import { OnnxBuilder } from './onnx-builder.js';

const rts = useRuntimes();

/** x [1, 8, 10, 10] -> Conv 3x3 (8->64) Relu -> [1, 100, 64] -> MatMul 64->32 + b: two layers where int4 alone keeps the output within 30 dB */
function net(): Uint8Array {
  const r = rng(11);
  return new OnnxBuilder()
    .input('x', [1, 8, 10, 10])
    .init('w1', [64, 8, 3, 3], randNormal(64 * 8 * 9, r, Math.sqrt(2 / 72)))
    .init('b1', [64], randNormal(64, r, 0.1))
    .ints('shape', [1, 64, 100])
    .init('w2', [64, 32], randNormal(64 * 32, r, Math.sqrt(2 / 64)))
    .init('b2', [32], randNormal(32, r, 0.1))
    .node('Conv', ['x', 'w1', 'b1'], 'c1', { pads: [1, 1, 1, 1] })
    .node('Relu', ['c1'], 'r1')
    .node('Reshape', ['r1', 'shape'], 's')
    .node('Transpose', ['s'], 't', { perm: [0, 2, 1] })
    .node('MatMul', ['t', 'w2'], 'm')
    .node('Add', ['m', 'b2'], 'y')
    .output('y')
    .build();
}

const inputs = (count: number, seed: number): Feeds[] => {
  const r = rng(seed);
  return Array.from({ length: count }, () => ({ x: tensor('float32', randNormal(800, r), [1, 8, 10, 10]) }));
};

/** a timer that reads each built layer's scheme and answers from a table (ms per layer) */
function tableTimer(ms: Record<string, number>, calls: string[] = []): StepTimer {
  return async (model: Model, feeds: Feeds) => {
    await model.run(feeds); // builds the layers as the real timer's run does
    const out = new Map<GraphNode, number>();
    const built = [...model.builtLayers].filter(([, l]) => l);
    for (const [node, layer] of built) out.set(node, ms[layer!.scheme] ?? 1);
    calls.push(built.map(([, l]) => l!.scheme).join(','));
    return out;
  };
}

describe(`'auto' weighs speed (${SIMD} build)`, () => {
  const calibration = inputs(12, 1);

  it('tooSlow: a format whose extra time at one layer is over the whole allowance; an unmeasured layer is never too slow', () => {
    expect(tooSlow(1.6, 1, 0.5)).toBe(true);
    expect(tooSlow(1.5, 1, 0.5)).toBe(false);
    expect(tooSlow(0.5, 1, 0)).toBe(false);
    expect(tooSlow(1.01, 1, 0)).toBe(true);
    expect(tooSlow(undefined, 1, 0)).toBe(false);
    expect(tooSlow(2, undefined, 0)).toBe(false);
  });

  it('the cost table: the fitted formula, int8 ahead of the FP8 kernels at a large GEMM, float32 ahead of int8 at the smallest, unknown formats uncosted', () => {
    const c = FORMAT_COSTS.int8;
    expect(stepCostMs('int8', 10, 20, 30)).toBeCloseTo((c.fixed + c.input * 200 + c.output * 300 + c.mac * 6000 + c.weight * 600) / 1000, 12);
    expect(stepCostMs('fpx', 480, 480, 480)!).toBeGreaterThan(1.5 * stepCostMs('int8', 480, 480, 480)!);
    expect(stepCostMs('float32', 2928, 27, 16)!).toBeLessThan(stepCostMs('int8', 2928, 27, 16)!);
    expect(stepCostMs('int8-sparse', 10, 10, 10)).toBeUndefined();
  });

  it('fitTime gives back the change that saves the fewest bytes per ms it adds until the summed time fits', () => {
    // layer 0: int4 saves 100 bytes for +1 ms; layer 1: int4 saves 100 for +2 ms, float32 costs 300 for +1 ms
    const table = [[{ bytes: 200, noise: 1 }, { bytes: 100, noise: 2 }], [{ bytes: 200, noise: 1 }, { bytes: 100, noise: 2 }, { bytes: 500, noise: 0.5 }]];
    const ms = [[1, 2], [1, 3, 2]];
    expect(pickMs(ms, [1, 1])).toBe(5);
    expect(fitTime(table, ms, [1, 1], 5)).toEqual([1, 1]);
    expect(fitTime(table, ms, [1, 1], 4)).toEqual([1, 0]); // layer 1 saves 50 bytes per ms, layer 0 100
    expect(fitTime(table, ms, [1, 2], 3)).toEqual([1, 0]); // the float32 change (it costs bytes) goes first
    expect(fitTime(table, ms, [1, 1], 2)).toEqual([0, 0]);
    expect(fitTime(table, [[1, 0.5], [1, 3, 2]], [1, 1], 2.5)).toEqual([1, 0]); // a faster format is never given back
  });

  it('by default the choice comes from the cost table: the same in two runs, under a slow and a fast timer, and the timer is never called', async () => {
    const float = loadModel(rts.one, net());
    // 50%: the table lets int4 in at either layer alone, not at both; the MatMul's int4 saves more bytes per ms (the conv's K, 72, pads to int4's blocks of 32)
    // top-1 loosened too: the final gate (mix-gate.ts) would otherwise give back any change that flips a frame
    const opts = { scheme: 'auto', autoBaseline: 'all-int8', calibration, autoCandidates: ['int4'], autoBudget: { maxSqnrDropDb: 30, maxSlowdown: 0.5 }, top1Allowance: 1 } as const;
    const calls: string[] = [];
    const runs = [];
    for (const timer of [tableTimer({ int8: 1, int4: 100 }, calls), tableTimer({ int8: 1, int4: 0.01 }, calls), undefined]) runs.push(await quantizeModel(float, { ...opts, autoStepTimer: timer }));
    expect(calls).toHaveLength(0);
    for (const q of runs) {
      expect(q.choices!.map((c) => c.scheme)).toEqual(['int8', 'int4']);
      expect(q.mix!.speed!.from).toBe('shape');
      expect(q.mix!.speed).toEqual(runs[0].mix!.speed);
      expect(q.mix!.speed!.ms).toBeLessThanOrEqual(1.5 * q.mix!.speed!.int8Ms);
      expect(q.mix!.speed!.ms).toBeGreaterThan(q.mix!.speed!.int8Ms);
      expect(q.choices!.map((c) => c.trials!.map((t) => t.ms))).toEqual(runs[0].choices!.map((c) => c.trials!.map((t) => t.ms)));
    }
    // the default 5%: int4 adds more than that at either layer here (its input staging): all-int8, each trial says why
    const strict = await quantizeModel(float, { ...opts, autoBudget: { maxSqnrDropDb: 30 } });
    expect(strict.choices!.map((c) => c.scheme)).toEqual(['int8', 'int8']);
    for (const c of strict.choices!) expect(c.trials!.find((t) => t.scheme === 'int4')!.skipped).toMatch(/^slower than int8 at this layer by more than the model's allowance: .* \(maxSlowdown 0\.05 of all-int8's [\d.]+ ms, shape\)$/);
    for (const m of [...runs, strict, float]) m.dispose();
  }, 120_000);

  it("speed 'measured': a format too slow for the whole allowance is no candidate; a looser one takes what fits; the times are reported", async () => {
    const float = loadModel(rts.one, net());
    const opts = { scheme: 'auto', autoBaseline: 'all-int8', calibration, autoCandidates: ['int4'], autoBudget: { maxSqnrDropDb: 30 }, speed: 'measured', top1Allowance: 1 } as const;
    // without the budget (the old search): int4 at both layers (30 dB lets it)
    const ignored = await quantizeModel(float, { ...opts, autoBudget: { maxSqnrDropDb: 30, maxSlowdown: null }, autoStepTimer: tableTimer({ int8: 1, int4: 1.5 }) });
    expect(ignored.choices!.map((c) => c.scheme)).toEqual(['int4', 'int4']);
    expect(ignored.mix!.speed).toBeUndefined();
    const slow = await quantizeModel(float, { ...opts, autoStepTimer: tableTimer({ int8: 1, int4: 1.5 }) });
    expect(slow.choices!.map((c) => c.scheme)).toEqual(['int8', 'int8']);
    for (const c of slow.choices!) {
      const t = c.trials!.find((x) => x.scheme === 'int4')!;
      expect(t.ms).toBe(1.5);
      expect(t.skipped).toMatch(/^slower than int8 at this layer by more than the model's allowance: 1\.500 vs 1\.000 ms \(maxSlowdown 0\.05 of all-int8's 2\.000 ms, measured\)/);
      expect(c.why).toMatch(/no other candidate was eligible \(pruned by the proxy, slower than int8/);
    }
    expect(slow.mix!.speed).toEqual({ maxSlowdown: 0.05, from: 'measured', int8Ms: 2, ms: 2 });
    // 30% of 2 ms: int4 fits at one layer (+0.5 ms), not at both (+1 ms): the conv keeps it (more bytes saved)
    const one = await quantizeModel(float, { ...opts, autoBudget: { maxSqnrDropDb: 30, maxSlowdown: 0.3 }, autoStepTimer: tableTimer({ int8: 1, int4: 1.5 }) });
    expect(one.choices!.map((c) => c.scheme)).toEqual(['int4', 'int8']);
    expect(one.mix!.speed).toEqual({ maxSlowdown: 0.3, from: 'measured', int8Ms: 2, ms: 2.5 });
    const loose = await quantizeModel(float, { ...opts, autoBudget: { maxSqnrDropDb: 30, maxSlowdown: 0.6 }, autoStepTimer: tableTimer({ int8: 1, int4: 1.5 }) });
    expect(loose.choices!.map((c) => c.scheme)).toEqual(['int4', 'int4']);
    expect(loose.mix!.speed).toEqual({ maxSlowdown: 0.6, from: 'measured', int8Ms: 2, ms: 3 });
    const fast = await quantizeModel(float, { ...opts, autoStepTimer: tableTimer({ int8: 1, int4: 0.8 }) });
    expect(fast.choices!.map((c) => c.scheme)).toEqual(['int4', 'int4']);
    expect(fast.mix!.speed!.ms).toBeCloseTo(1.6, 10);
    for (const m of [ignored, slow, one, loose, fast, float]) m.dispose();
  }, 120_000);

  it('a size budget alone does not weigh speed unless maxSlowdown is given', async () => {
    const float = loadModel(rts.one, net());
    const int4 = await quantizeModel(float, { scheme: 'int4', calibration });
    await int4.run(calibration[0]);
    const calls: string[] = [];
    const q = await quantizeModel(float, { scheme: 'auto', autoBaseline: 'all-int8', calibration, autoCandidates: ['int4'], autoBudget: { maxBytes: int4.weightBytes + 100 }, speed: 'measured', autoStepTimer: tableTimer({ int8: 1, int4: 1.5 }, calls) });
    expect(calls).toHaveLength(0);
    expect(q.choices!.map((c) => c.scheme)).toEqual(['int4', 'int4']);
    for (const speed of ['measured', 'shape'] as const) {
      const err = await quantizeModel(float, { scheme: 'auto', autoBaseline: 'all-int8', calibration, autoCandidates: ['int4'], autoBudget: { maxBytes: int4.weightBytes + 100, maxSlowdown: 0 }, speed, autoStepTimer: tableTimer({ int8: 1, int4: 1.5 }) }).catch((e: unknown) => e);
      expect(err, speed).toBeInstanceOf(ArgumentError); // int4 is too slow everywhere: no mix fits that size
      expect((err as Error).message).toMatch(/maxBytes \d+ is below the smallest mix/);
    }
    for (const m of [int4, q, float]) m.dispose();
  }, 120_000);

  it('formatLatencies times int8 at every layer and each format at its layers, interleaved, and leaves every layer int8', async () => {
    const float = loadModel(rts.one, net());
    const q = await quantizeModel(float, { scheme: 'auto', autoBaseline: 'all-int8', calibration, autoCandidates: ['int4'], autoBudget: { maxSqnrDropDb: 0, maxSlowdown: null } });
    const layers = [...q.builtLayers].filter(([, l]) => l).map(([n]) => n);
    const calls: string[] = [];
    const choice = new Map<GraphNode, string>();
    // the test's own choice map stands in for the search's: the model here is already built, so read the schemes from `choice`
    const timer: StepTimer = async () => (calls.push(layers.map((n) => choice.get(n) ?? 'int8').join(',')), new Map(layers.map((n) => [n, choice.get(n) === 'int4' ? 3 + calls.length : 1 + calls.length])));
    const set = (node: GraphNode, s: string) => (s === 'int8' ? choice.delete(node) : choice.set(node, s));
    const t = await formatLatencies(q, layers, new Map([['int4', [layers[1]]], ['fp8', []]]), set, calibration[0], timer, 2, 2);
    // per pass: int8 (warm-up + 2), int4 at layer 2 (warm-up + 2); fp8 has no layer, not timed
    expect(calls).toEqual(['int8,int8', 'int8,int8', 'int8,int8', 'int8,int4', 'int8,int4', 'int8,int4', 'int8,int8', 'int8,int8', 'int8,int8', 'int8,int4', 'int8,int4', 'int8,int4']);
    expect([...t.keys()]).toEqual(['int8', 'int4']);
    expect(t.get('int8')!.get(layers[0])).toBe(3); // the least of calls 2, 3, 8, 9 (warm-ups not counted)
    expect(t.get('int4')!.get(layers[1])).toBe(8); // 3 + call 5
    expect(t.get('int4')!.has(layers[0])).toBe(false);
    expect(choice.size).toBe(0);
    // the real timer: a time for every weight layer
    const real = await stepTimes(q, calibration[0]);
    expect([...real.keys()].sort()).toEqual(layers.sort());
    for (const ms of real.values()) expect(ms).toBeGreaterThanOrEqual(0);
    for (const m of [q, float]) m.dispose();
  }, 120_000);

  it('a bad maxSlowdown or timer is an ArgumentError naming it', async () => {
    const float = loadModel(rts.one, net());
    for (const [o, re] of [
      [{ autoBudget: { maxSqnrDropDb: 1, maxSlowdown: -0.1 } }, /autoBudget\.maxSlowdown must be a finite fraction >= 0 .* got -0\.1/],
      [{ autoBudget: { maxSqnrDropDb: 1, maxSlowdown: Infinity } }, /autoBudget\.maxSlowdown must be/],
      [{ autoBudget: { maxSqnrDropDb: 1, maxSlowdown: '5%' as never } }, /autoBudget\.maxSlowdown must be/],
      [{ autoStepTimer: 3 as never }, /autoStepTimer must be a function/],
    ] as const) {
      const err = await quantizeModel(float, { scheme: 'auto', autoBaseline: 'all-int8', calibration: calibration.slice(0, 3), ...o }).catch((e: unknown) => e);
      expect(err, JSON.stringify(o)).toBeInstanceOf(ArgumentError);
      expect((err as Error).message).toMatch(re);
    }
    float.dispose();
  });
});
