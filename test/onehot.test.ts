// OneHot (src/model/ops/onehot.ts) against onnxruntime-web: a constant depth, a depth computed at run
// time (read between plan stages, as TopK's K), negative and out-of-range indices, float indices,
// each axis; a run-time depth inside an If branch (a subgraph: its values cannot be read between
// stages) is a typed error naming the node, never a wrong answer.

import { describe, it } from 'vitest';
import { UnsupportedOperatorError, ValueRangeError, type Model } from '../src/index.js';
import { SIMD, useRuntimes } from './helpers.js';
import { OnnxBuilder, g, runOrtModel, type Feed, type IntFeed } from './onnx-builder.js';
import { expectLowbitRejection, expectOutputsClose, seeded, withModel } from './model-ort-check.js';

const rts = useRuntimes();
type Feeds = Record<string, Feed | IntFeed>;
const i64 = (dims: number[], data: number[]): IntFeed => ({ type: 'int64', dims, data });
const f32 = (dims: number[], data: number[]): Feed => ({ type: 'float32', dims, data: Float32Array.from(data) });

async function sameAsOrt(b: OnnxBuilder, runs: Feeds[], check?: (m: Model) => void): Promise<void> {
  const bytes = b.build();
  await withModel(rts.one, bytes, async (m) => {
    for (const [i, feeds] of runs.entries()) expectOutputsClose(await m.run(feeds as never), await runOrtModel(bytes, feeds), 0, `run ${i}`);
    check?.(m);
  });
}

describe(`OneHot (${SIMD} build)`, () => {
  const idx = i64([2, 3], [0, 2, -1, 4, -4, 1]); // depth 4: -1 -> 3, -4 -> 0; 4 is out of range

  it('constant depth, axis -1, 0 and 1, int64 indices (negative, out of range): as onnxruntime-web', async () => {
    for (const axis of [-1, 0, 1]) {
      const b = new OnnxBuilder(13).input('i', [2, 3], 'int64').output('y').init('depth', [], [4], 'int64').init('values', [2], [-0.5, 2])
        .node('OneHot', ['i', 'depth', 'values'], 'y', { axis });
      await sameAsOrt(b, [{ i: idx }]);
    }
  });

  it('depth computed at run time (Cast of a float input, truncated; float indices, non-integer ones hot nowhere): as onnxruntime-web, per depth', async () => {
    const b = new OnnxBuilder(13).input('i', [6]).input('d', [1]).output('y', 'int64').init('values', [2], [0, 7], 'int64')
      .node('Cast', ['d'], 'di', { to: 7 }).node('OneHot', ['i', 'di', 'values'], 'y', { axis: 0 });
    const i = f32([6], [0, 1.7, -1, 3, 9, -2.5]);
    await sameAsOrt(b, [{ i, d: f32([1], [3]) }, { i, d: f32([1], [5.9]) }, { i, d: f32([1], [3]) }], (m) => {
      if (m.plans.size !== 3) throw new Error(`expected 3 plans (a first stage, depth 3, depth 5), got ${m.plans.size}`);
    });
  });

  it('depth 0 from run-time data is a ValueRangeError naming the node', async () => {
    const b = new OnnxBuilder(13).input('i', [2], 'int64').input('d', [1]).output('y').init('values', [2], [0, 1])
      .node('Cast', ['d'], 'di', { to: 7 }).node('OneHot', ['i', 'di', 'values'], 'y', {}, 'oh');
    await withModel(rts.one, b.build(), (m) => expectLowbitRejection(m.run({ i: i64([2], [0, 1]), d: f32([1], [0]) }), ValueRangeError, ["OneHot node 'oh'", 'depth is 0']));
  });

  it('a run-time depth inside an If branch is a typed error naming the node', async () => {
    const branch = () => new OnnxBuilder(13).output('o').init('values', [2], [0, 1]).node('Cast', ['x'], 'dx', { to: 7 }).node('ReduceMax', ['dx'], 'dm', { keepdims: 0 })
      .node('OneHot', ['k', 'dm', 'values'], 'o', {}, 'oh_in_branch');
    const b = new OnnxBuilder(13).input('x', [3]).input('k', [2], 'int64').output('y').init('zero', [], [0])
      .node('ReduceSum', ['x'], 's', { keepdims: 0 }).node('Greater', ['s', 'zero'], 'c')
      .node('If', ['c'], 'y', { then_branch: g(branch()), else_branch: g(branch()) });
    await withModel(rts.one, b.build(), (m) => expectLowbitRejection(m.run({ x: seeded([3], 1, 5), k: i64([2], [0, 1]) }), UnsupportedOperatorError, ["OneHot node 'oh_in_branch'", 'must be known when the plan is made']));
  });

  it('a run-time depth inside a Loop body is a typed error naming the node', async () => {
    // body: carried x [3] passes through; scan output: ReduceSum over OneHot(k, depth = ReduceMax(Cast(x)))
    const body = new OnnxBuilder(13).input('iter', [], 'int64').input('cond_in', [], 'bool').input('xi', [3]).output('cond_out', 'bool').output('xo').output('s')
      .init('values', [2], [0, 1]).node('Identity', ['cond_in'], 'cond_out').node('Identity', ['xi'], 'xo')
      .node('Cast', ['xi'], 'dx', { to: 7 }).node('ReduceMax', ['dx'], 'dm', { keepdims: 0 }).node('OneHot', ['k', 'dm', 'values'], 'oh', {}, 'oh_in_loop')
      .node('ReduceSum', ['oh'], 's', { keepdims: 0 });
    const b = new OnnxBuilder(13).input('x', [3]).input('k', [2], 'int64').output('xf').output('ss').init('trips', [], [2], 'int64').init('yes', [], [1], 'bool')
      .node('Loop', ['trips', 'yes', 'x'], ['xf', 'ss'], { body: g(body) });
    await withModel(rts.one, b.build(), (m) => expectLowbitRejection(m.run({ x: f32([3], [1, 4, 2]), k: i64([2], [0, 1]) }), UnsupportedOperatorError, ["OneHot node 'oh_in_loop'", 'must be known when the plan is made']));
  });
});
