// Staged plans (src/model/staged-plan.ts) against onnxruntime-web: graphs where a shape depends on
// run-time data (NonZero on a float input, TopK with a computed K, Range from run-time scalars,
// Reshape and Expand to computed shapes, two such nodes in one graph) run as onnxruntime runs them;
// new values make new stage plans, repeated values reuse them (NonZero: the same count of non-zeros);
// a value past the read bound is a typed error; a quantized (int8) model with a Conv before NonZero calibrates, runs, saves and loads.

import { describe, expect, it } from 'vitest';
import { loadModel, loadQuantized, quantizeModel, saveQuantized, UnsupportedOperatorError, type Model } from '../src/index.js';
import { SIMD, useRuntimes } from './helpers.js';
import { OnnxBuilder, g, runOrtModel, type Feed, type IntFeed } from './onnx-builder.js';
import { expectLowbitRejection, expectOutputsClose, seeded, W, withModel } from './model-ort-check.js';

const rts = useRuntimes();
type Feeds = Record<string, Feed | IntFeed>;
const f32 = (dims: number[], data: number[]): Feed => ({ type: 'float32', dims, data: data.length ? Float32Array.from(data) : new Float32Array(dims.reduce((a, b) => a * b, 1)) });

/** lowbit on each feed set equals onnxruntime-web (int outputs exact, float within tol); the model stays loaded across them */
async function sameAsOrt(b: OnnxBuilder, runs: Feeds[], tol = 1e-6, check?: (m: Model, i: number) => void): Promise<void> {
  const bytes = b.build();
  await withModel(rts.one, bytes, async (m) => {
    for (const [i, feeds] of runs.entries()) {
      const want = await runOrtModel(bytes, feeds);
      expectOutputsClose(await m.run(feeds as never), want, tol, `run ${i}`);
      check?.(m, i);
    }
  });
}

/** x [3, 4] -> Relu -> NonZero -> Transpose -> GatherND (the kept values) and the indices */
const nonZeroGather = () => new OnnxBuilder(13).input('x', [3, 4]).output('y').output('nz', 'int64')
  .node('Relu', ['x'], 'r').node('NonZero', ['r'], 'nz').node('Transpose', ['nz'], 't', { perm: [1, 0] }).node('GatherND', ['r', 't'], 'y');

describe(`staged plans: shapes from run-time values (${SIMD} build)`, () => {
  it('NonZero on a float input -> Transpose -> GatherND: as onnxruntime-web, a plan per count of non-zeros, reused for the same count', async () => {
    const a = f32([3, 4], [1, 0, 2, 0, 0, 3, -1, 0, 0, 0, 5, 0]), b = seeded([3, 4], 2);
    const sameCount = f32([3, 4], [0, 7, 0, 0, 8, 0, 0, 9, 0, 0, 0, 6]); // another mask, 4 kept as in a
    const zeros = f32([3, 4], new Array(12).fill(0));
    const sizes: number[] = [];
    await sameAsOrt(nonZeroGather(), [{ x: a }, { x: b }, { x: sameCount }, { x: zeros }], 0, (m) => sizes.push(m.plans.size));
    // the first stage (1), then one rest per new count; the third run reuses the first's
    expect(sizes).toEqual([2, 3, 3, 4]);
  });

  it('TopK with K = ReduceMax of an int64 input (run-time: 100 elements): as onnxruntime-web, per K', async () => {
    const b = new OnnxBuilder(13).input('x', [2, 10]).input('k', [100], 'int64').output('v').output('i', 'int64')
      .node('ReduceMax', ['k'], 'kmax', { keepdims: 1 }).node('TopK', ['x', 'kmax'], ['v', 'i'], { axis: 1 });
    const k = (max: number): IntFeed => ({ type: 'int64', dims: [100], data: Array.from({ length: 100 }, (_, j) => (j * 7) % (max + 1)) });
    await sameAsOrt(b, [{ x: seeded([2, 10], 3), k: k(3) }, { x: seeded([2, 10], 4), k: k(7) }, { x: seeded([2, 10], 5), k: k(3) }]);
  });

  it('Range from run-time scalars (Cast of float inputs): as onnxruntime-web', async () => {
    const b = new OnnxBuilder(13).input('s', []).input('n', []).output('y', 'int64').output('z')
      .ints('one', [1], []).node('Cast', ['s'], 'si', { to: 7 }).node('Cast', ['n'], 'ni', { to: 7 })
      .node('Range', ['si', 'ni', 'one'], 'y').node('Cast', ['y'], 'yf', { to: 1 }).node('Mul', ['yf', 's'], 'z');
    await sameAsOrt(b, [{ s: f32([], [2]), n: f32([], [9]) }, { s: f32([], [-3]), n: f32([], [1]) }, { s: f32([], [5]), n: f32([], [5]) }]);
  });

  it('Reshape to a shape computed by Cast(float) -> Mul: as onnxruntime-web, per shape', async () => {
    const b = new OnnxBuilder(13).input('x', [24]).input('sf', [2]).output('y')
      .ints('two', [1, 2]).node('Cast', ['sf'], 'si', { to: 7 }).node('Mul', ['si', 'two'], 'shape').node('Reshape', ['x', 'shape'], 'r').node('Relu', ['r'], 'y');
    await sameAsOrt(b, [{ x: seeded([24], 6), sf: f32([2], [4, 3]) }, { x: seeded([24], 7), sf: f32([2], [1, 12]) }]);
  });

  it('Expand by a run-time shape: as onnxruntime-web', async () => {
    const b = new OnnxBuilder(13).input('x', [1, 3]).input('sf', [3]).output('y')
      .node('Cast', ['sf'], 'shape', { to: 7 }).node('Expand', ['x', 'shape'], 'e').node('Add', ['e', 'e'], 'y');
    await sameAsOrt(b, [{ x: seeded([1, 3], 8), sf: f32([3], [2, 4, 1]) }, { x: seeded([1, 3], 9), sf: f32([3], [1, 1, 3]) }]);
  });

  it('Slice (run-time starts and ends: two stages at one node), Tile, Pad and ConstantOfShape on run-time values: as onnxruntime-web', async () => {
    const b = new OnnxBuilder(13).input('x', [4, 5]).input('se', [4]).input('rp', [2]).output('s').output('t').output('p').output('c')
      .ints('two', [2]).ints('lo', [0]).ints('hi', [2]).ints('four', [4]).ints('zero', [0]).node('Cast', ['se'], 'sei', { to: 7 })
      .node('Slice', ['sei', 'lo', 'hi'], 'starts').node('Slice', ['sei', 'hi', 'four'], 'ends').node('Slice', ['x', 'starts', 'ends'], 's')
      .node('Cast', ['rp'], 'rpi', { to: 7 }).node('Tile', ['x', 'rpi'], 't')
      .node('Concat', ['rpi', 'rpi'], 'pads', { axis: 0 }).node('Pad', ['x', 'pads'], 'p', { mode: 'reflect' })
      .node('ConstantOfShape', ['rpi'], 'c', { value: { dims: [1], data: [1.5], type: 'float32' } });
    await sameAsOrt(b, [
      { x: seeded([4, 5], 11), se: f32([4], [1, 0, 3, -1]), rp: f32([2], [1, 2]) },
      { x: seeded([4, 5], 12), se: f32([4], [0, 2, 4, 5]), rp: f32([2], [2, 1]) },
    ]);
  });

  it('two stages (NonZero, then Range) and values from both: as onnxruntime-web, plans reused for the same values', async () => {
    const b = nonZeroGather().input('n', []).output('z').ints('zero', [0], []).ints('one', [1], [])
      .node('Cast', ['n'], 'ni', { to: 7 }).node('Range', ['zero', 'ni', 'one'], 'rg').node('Cast', ['rg'], 'rf', { to: 1 })
      .node('ReduceSum', ['y'], 'ys', { keepdims: 0 }).node('Add', ['rf', 'ys'], 'z');
    const x = seeded([3, 4], 10);
    const sizes: number[] = [];
    await sameAsOrt(b, [{ x, n: f32([], [4]) }, { x, n: f32([], [6]) }, { x, n: f32([], [4]) }], 1e-6, (m) => sizes.push(m.plans.size));
    // first stage, NonZero's rest (stops at Range), Range's rest; a new n adds one plan; the same n none
    expect(sizes).toEqual([3, 4, 4]);
  });

  it('a shape past PLAN_VALUE_MAX_ELEMENTS: a typed error naming the node and the value', async () => {
    const long = new OnnxBuilder(13).input('x', [1]).input('sf', [65]).output('y').node('Cast', ['sf'], 's', { to: 7 }).node('Reshape', ['x', 's'], 'y', {}, 'rs_long').build();
    await withModel(rts.one, long, (m) => expectLowbitRejection(m.run({ x: seeded([1]), sf: f32([65], new Array(65).fill(1)) }), UnsupportedOperatorError, ["Reshape node 'rs_long'", "'s' has 65 elements", 'PLAN_VALUE_MAX_ELEMENTS']));
  });

  it('a value computed inside an If branch (a subgraph) cannot be read between stages: still refused, naming the node', async () => {
    const branch = () => new OnnxBuilder(13).output('o', 'int64').node('Relu', ['x'], 'rl').node('NonZero', ['rl'], 'o', {}, 'nz_in_branch');
    const b = new OnnxBuilder(13).input('x', [2, 3]).output('y', 'int64').init('zero', [], [0])
      .node('ReduceSum', ['x'], 's', { keepdims: 0 }).node('Greater', ['s', 'zero'], 'c')
      .node('If', ['c'], 'y', { then_branch: g(branch()), else_branch: g(branch()) });
    await withModel(rts.one, b.build(), (m) => expectLowbitRejection(m.run({ x: seeded([2, 3]) }), UnsupportedOperatorError, ["NonZero node 'nz_in_branch'", 'must be known when the plan is made']));
  });

  it('Model.plan() of a staged graph still refuses it (it has no one plan), naming the node', async () => {
    await withModel(rts.one, nonZeroGather().build(), async (m) => {
      expect(() => m.plan({ x: [3, 4] })).toThrow(UnsupportedOperatorError);
      await m.run({ x: seeded([3, 4]) });
      expect(() => m.plan({ x: [3, 4] })).toThrow(/NonZero node .* must be known when the plan is made/);
    });
  });

  it('int8: a Conv before NonZero calibrates (its layer is seen in the first stage), runs, saves and loads', async () => {
    const b = new OnnxBuilder(13).input('x', [1, 3, 6, 6]).output('y').output('nz', 'int64')
      .init('w', [4, 3, 3, 3], W(108, 11, 0.3)).init('bias', [4], W(4, 12, 0.1))
      .node('Conv', ['x', 'w', 'bias'], 'c', { pads: [1, 1, 1, 1] }).node('Relu', ['c'], 'r')
      .node('NonZero', ['r'], 'nz').node('Transpose', ['nz'], 't', { perm: [1, 0] }).node('GatherND', ['r', 't'], 'y');
    const float = loadModel(rts.one, b.build());
    const feeds = (s: number) => ({ x: seeded([1, 3, 6, 6], s) });
    const q = await quantizeModel(float, { scheme: 'int8', calibration: [feeds(1), feeds(2)], speed: 'off' });
    try {
      const conv = [...q.builtLayers.values()].filter((l) => l);
      expect(conv.length, 'the Conv has a quantized layer').toBe(1);
      const file = saveQuantized(q);
      const back = loadQuantized(float, file);
      try {
        for (const s of [3, 4]) {
          const want = await float.run(feeds(s)), got = await q.run(feeds(s)), again = await back.run(feeds(s));
          // int8 rounding moves values near 0 across it, so the kept set may differ: compare where it agrees
          expect(got.nz.dims[0]).toBe(4);
          expect(again.nz.dims).toEqual(got.nz.dims);
          expect(Array.from(again.y.data as Float32Array)).toEqual(Array.from(got.y.data as Float32Array));
          const f = Array.from(want.y.data as Float32Array), g = Array.from(got.y.data as Float32Array);
          const n = Math.min(f.length, g.length);
          expect(Math.abs(f.length - g.length), `kept ${g.length} vs float ${f.length}`).toBeLessThanOrEqual(Math.ceil(0.1 * f.length));
          expect(g.reduce((a, v) => a + v, 0)).toBeCloseTo(f.reduce((a, v) => a + v, 0), 0);
          expect(n).toBeGreaterThan(0);
        }
      } finally {
        back.dispose();
      }
    } finally {
      q.dispose();
      float.dispose();
    }
  });
});
