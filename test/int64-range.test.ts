// int64 values beyond ±(2^53 − 1), which lowbit holds as numbers (exact to there): a value beyond
// may only reach places where its exact size does not matter: Slice bounds (INT64_MAX/INT64_MIN ends
// clamp), and ops that move or select values (Concat, Unsqueeze, Gather's data, Where, Min/Max, ...),
// whose result is refused in turn where it is used. Anywhere else (arithmetic, comparisons, Cast to
// another type, a graph output) it is a ValueRangeError naming the node and the tensor, never a
// rounded value that changes the answer. Each case is checked against onnxruntime-web.

import { describe, expect, it } from 'vitest';
import onnxproto from 'onnx-proto';
import { ValueRangeError, loadModel, type ModelInputs, type OutputTensor } from '../src/index.js';
import { SIMD, useRuntimes } from './helpers.js';
import { OnnxBuilder, runOrtModel, type Feed, type IntFeed } from './onnx-builder.js';
import { seeded } from './model-ort-check.js';

const T = onnxproto.onnx.TensorProto.DataType;
const rts = useRuntimes();
const MAX = 2n ** 63n - 1n, MIN = -(2n ** 63n);

/** an int64 initializer of any 64-bit values, as raw_data or as int64_data (protobuf Longs) */
const big = (name: string, values: bigint[], field: 'raw' | 'int64Data' = 'raw') => field === 'raw'
  ? { name, dims: [values.length], dataType: T.INT64, rawData: new Uint8Array(BigInt64Array.from(values).buffer) }
  : { name, dims: [values.length], dataType: T.INT64, int64Data: values.map((v) => String(v)) as never };

async function lowbit(bytes: Uint8Array, feeds: Record<string, Feed | IntFeed>): Promise<Record<string, OutputTensor> | Error> {
  const m = loadModel(rts.one, bytes);
  try {
    return await m.run(feeds as ModelInputs);
  } catch (e) {
    return e as Error;
  } finally {
    m.dispose();
  }
}

const refusedNaming = (got: unknown, parts: string[]) => {
  expect(got, 'a ValueRangeError').toBeInstanceOf(ValueRangeError);
  for (const p of parts) expect((got as Error).message).toContain(p);
};

describe(`int64 beyond 2^53 (${SIMD} build)`, () => {
  const x = { x: seeded([4, 3], 6) };

  it('Slice with INT64_MAX / INT64_MIN ends (raw_data, int64_data, a Constant node, through Concat): as onnxruntime-web', async () => {
    const b = new OnnxBuilder(13).input('x', [4, 3]).output('a').output('b').output('c').output('d')
      .ints('ax', [0]).ints('ax1', [1]).ints('one', [1]).ints('neg', [-1])
      .initProto(big('max', [MAX])).initProto(big('min', [MIN])).initProto(big('maxl', [MAX], 'int64Data')).initProto(big('minl', [MIN], 'int64Data'))
      .node('Constant', [], 'kmax', { value_ints: [0] }) // replaced below by a Long-valued attribute
      .node('Slice', ['x', 'one', 'max', 'ax'], 'a')
      .node('Slice', ['x', 'neg', 'min', 'ax', 'neg'], 'b')
      .node('Slice', ['x', 'one', 'maxl', 'ax1'], 'c')
      .node('Concat', ['minl', 'min'], 'ends', { axis: 0 }).node('Concat', ['neg', 'neg'], 'starts', { axis: 0 }).node('Concat', ['ax', 'ax1'], 'axes', { axis: 0 })
      .node('Slice', ['x', 'starts', 'ends', 'axes', 'starts'], 'd');
    const proto = b.proto();
    // the Constant's value_ints holds INT64_MAX as a protobuf Long (what exporters write)
    proto.graph!.node[0].attribute[0].ints = [onnxproto.onnx.TensorProto.fromObject({ int64Data: [String(MAX)] }).int64Data[0]] as never;
    proto.graph!.node.push({ name: 'use_k', opType: 'Slice', input: ['x', 'one', 'kmax', 'ax'], output: ['e'], attribute: [], domain: '' });
    proto.graph!.output.push({ name: 'e', type: { tensorType: { elemType: T.FLOAT } } });
    const bytes = onnxproto.onnx.ModelProto.encode(proto).finish();
    const want = await runOrtModel(bytes, x);
    const got = await lowbit(bytes, x);
    expect(got).not.toBeInstanceOf(Error);
    for (const k of ['a', 'b', 'c', 'd', 'e']) {
      const g = (got as Record<string, OutputTensor>)[k];
      expect(g.dims, k).toEqual(want[k].dims);
      expect(Array.from(g.data as Float32Array), k).toEqual(want[k].data);
    }
  });

  it('Min/Max/Clip against INT64_MAX select a value below 2^53 exactly: as onnxruntime-web', async () => {
    const bytes = new OnnxBuilder(13).input('k', [3], 'int64').output('lo', 'int64').output('cl', 'int64')
      .initProto(big('max', [MAX])).initProto(big('min', [MIN]))
      .node('Min', ['k', 'max'], 'lo').node('Clip', ['k', 'min', 'max'], 'cl').build();
    const feeds = { k: { type: 'int64', dims: [3], data: [5, -7, 2 ** 52] } as IntFeed };
    const want = await runOrtModel(bytes, feeds);
    const got = (await lowbit(bytes, feeds)) as Record<string, OutputTensor>;
    expect(Array.from(got.lo.data as BigInt64Array)).toEqual(want.lo.big);
    expect(Array.from(got.cl.data as BigInt64Array)).toEqual(want.cl.big);
  });

  // each of these gave a silent wrong answer before: the constants were clamped to ±2^53, so
  // 2^60 + 5 and 2^60 became the same number
  const wrongBefore: [string, (b: OnnxBuilder) => OnnxBuilder, string, string[]][] = [
    ['Sub of two constants beyond 2^53 (onnxruntime: 5)', (b) => b.node('Sub', ['c5', 'c0'], 'y', {}, 'the_sub').output('y', 'int64'), 'y', ["Sub node 'the_sub'", "'c5'", '2^53']],
    ['Equal of 2^60 + 5 and 2^60 (onnxruntime: false)', (b) => b.node('Equal', ['c5', 'c0'], 'y', {}, 'the_eq').output('y', 'bool'), 'y', ["Equal node 'the_eq'", "'c5'"]],
    ['Cast of 2^60 + 5 to float32 (onnxruntime: 1.1529215e18)', (b) => b.node('Cast', ['c5'], 'y', { to: T.FLOAT }, 'the_cast').output('y'), 'y', ["Cast node 'the_cast'", "'c5'"]],
    ['int64_data (a protobuf Long) 2^60 + 1 - 2^60 (onnxruntime: 1)', (b) => b.initProto(big('l1', [2n ** 60n + 1n], 'int64Data')).initProto(big('l0', [2n ** 60n], 'int64Data')).node('Sub', ['l1', 'l0'], 'y', {}, 'long_sub').output('y', 'int64'), 'y', ["Sub node 'long_sub'", "'l1'"]],
    ['Identity of 2^60 + 1 to an output (onnxruntime returns it exactly)', (b) => b.initProto(big('p', [2n ** 60n + 1n])).node('Identity', ['p'], 'y').output('y', 'int64'), 'y', ["output 'y'", '2^53']],
  ];
  for (const [name, build, out, parts] of wrongBefore) {
    it(`${name}: a typed error naming the node and tensor, never another value`, async () => {
      const b = build(new OnnxBuilder(13).input('x', [4, 3]).output('z').initProto(big('c5', [2n ** 60n + 5n])).initProto(big('c0', [2n ** 60n])).node('Relu', ['x'], 'z'));
      const bytes = b.build();
      const want = await runOrtModel(bytes, x);
      expect(want[out], 'onnxruntime computes it').toBeDefined();
      refusedNaming(await lowbit(bytes, x), parts);
    });
  }

  it('int64 arithmetic at run time whose result passes 2^53: refused at the node, not rounded into a Cast', async () => {
    // 'k' has 65 elements: above the plan-time limit, so a run-time value
    const bytes = new OnnxBuilder(13).input('k', [65], 'int64').output('y')
      .node('Mul', ['k', 'k'], 'sq', {}, 'the_mul').node('Cast', ['sq'], 'y', { to: T.FLOAT }).build();
    const ok = Array.from({ length: 65 }, (_, i) => i);
    const want = await runOrtModel(bytes, { k: { type: 'int64', dims: [65], data: ok } });
    const got = (await lowbit(bytes, { k: { type: 'int64', dims: [65], data: ok } as IntFeed })) as Record<string, OutputTensor>;
    expect(Array.from(got.y.data as Float32Array)).toEqual(want.y.data);
    const past = ok.map((v) => v + 2 ** 30 + 1); // (2^30 + 1)^2 > 2^53
    refusedNaming(await lowbit(bytes, { k: { type: 'int64', dims: [65], data: past } as IntFeed }), ["Mul node 'the_mul'", '2^53']);
  });
});
