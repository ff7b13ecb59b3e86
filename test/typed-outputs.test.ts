// Model.run returns each output in its ONNX element type, as onnxruntime-web does: the same `type`,
// the same typed array, dims and values (int64 exact as BigInt64Array, bool as Uint8Array, float16
// as its bits …). 64-bit integers lowbit cannot hold exactly (beyond ±(2^53 − 1)) are refused with a
// ValueRangeError, never returned rounded (issue 12).

import { describe, expect, it } from 'vitest';
import onnxproto from 'onnx-proto';
import { DTypeError, ValueRangeError, floatData, loadModel, type ModelInputs, type OutputTensor } from '../src/index.js';
import { SIMD, randNormal, rng, useRuntimes } from './helpers.js';
import { OnnxBuilder, runOrtModel, type Feed, type IntFeed, type OrtOutputs } from './onnx-builder.js';

const { onnx } = onnxproto;
const T = onnx.TensorProto.DataType;
const rts = useRuntimes();

const X = (dims: number[], seed = 1, step = 0): Feed => {
  const data = randNormal(dims.reduce((a, b) => a * b, 1), rng(seed), 3);
  if (step) for (let i = 0; i < data.length; i++) data[i] = Math.round(data[i] / step) * step;
  return { type: 'float32', dims, data };
};
const I = (type: IntFeed['type'], dims: number[], data: number[]): IntFeed => ({ type, dims, data });

/** an int64 initializer holding any 64-bit values (the builder's take numbers) */
const bigInit = (name: string, values: bigint[]) => ({ name, dims: [values.length], dataType: T.INT64, rawData: new Uint8Array(BigInt64Array.from(values).buffer) });

async function lowbitRun(bytes: Uint8Array, feeds: Record<string, Feed | IntFeed>): Promise<Record<string, OutputTensor>> {
  const model = loadModel(rts.one, bytes);
  try {
    return await model.run(feeds as ModelInputs);
  } finally {
    model.dispose();
  }
}

/** Same names, type, typed array, dims and values (int64 compared as BigInt: exactly). */
function expectSame(got: Record<string, OutputTensor>, want: OrtOutputs): void {
  expect(Object.keys(got).sort()).toEqual(Object.keys(want).sort());
  for (const [name, w] of Object.entries(want)) {
    const g = got[name];
    expect(g.type, `${name} type`).toBe(w.type);
    expect(g.data.constructor.name, `${name} array`).toBe(w.array);
    expect(g.dims, `${name} dims`).toEqual(w.dims);
    if (w.big) expect(Array.from(g.data as BigInt64Array), `${name} values`).toEqual(w.big);
    else expect(Array.from(g.data as ArrayLike<number>), `${name} values`).toEqual(w.data);
  }
}

interface Case { name: string; build: () => OnnxBuilder; feeds: Record<string, Feed | IntFeed> }

const big = [2 ** 31 + 1, -(2 ** 31) - 7, 2 ** 40 + 3, 2 ** 53 - 1, -(2 ** 53 - 1), 0];
const cases: Case[] = [
  {
    name: 'int64 above 2^31 up to 2^53 − 1: Identity, Cast to int64, Neg of an input',
    build: () => new OnnxBuilder(13).input('x', [6], 'int64').output('a', 'int64').output('b', 'int64').output('c', 'int64')
      .node('Identity', ['x'], 'a').node('Cast', ['x'], 'b', { to: T.INT64 }).node('Neg', ['x'], 'c'),
    feeds: { x: I('int64', [6], big) },
  },
  {
    name: 'Cast float32 → int64 above 2^31 (and to int32, int8, uint8, float64, float16)',
    build: () => new OnnxBuilder(13).input('x', [2, 3]).input('s', [4]).input('p', [4]).output('a', 'int64').output('b', 'int32').output('c', 'int8').output('d', 'uint8').output('e', 'double').output('f', 'float16')
      .node('Cast', ['x'], 'a', { to: T.INT64 }).node('Cast', ['s'], 'b', { to: T.INT32 }).node('Cast', ['s'], 'c', { to: T.INT8 }).node('Cast', ['p'], 'd', { to: T.UINT8 })
      .node('Cast', ['s'], 'e', { to: T.DOUBLE }).node('Cast', ['s'], 'f', { to: T.FLOAT16 }),
    feeds: { x: { type: 'float32', dims: [2, 3], data: Float32Array.from([3e9, -3e9, 2 ** 40, 1e12, -(2 ** 52), 7.9]) }, s: { type: 'float32', dims: [4], data: Float32Array.from([1.5, -2.25, 100.75, 0.1]) }, p: { type: 'float32', dims: [4], data: Float32Array.from([1.5, 255, 100.75, 0.1]) } },
  },
  {
    name: 'Cast to int16, uint16, uint32, uint64',
    build: () => new OnnxBuilder(13).input('s', [4]).input('u', [4]).output('a', T.INT16).output('b', T.UINT16).output('c', T.UINT32).output('d', T.UINT64)
      .node('Cast', ['s'], 'a', { to: T.INT16 }).node('Cast', ['s'], 'b', { to: T.UINT16 }).node('Cast', ['u'], 'c', { to: T.UINT32 }).node('Cast', ['u'], 'd', { to: T.UINT64 }),
    // values in each type's range (out of range, float → integer casts are undefined in ONNX)
    feeds: { s: { type: 'float32', dims: [4], data: Float32Array.from([1, 300, 30000, 7.5]) }, u: { type: 'float32', dims: [4], data: Float32Array.from([1, 3e9, 2 ** 31, 0]) } },
  },
  {
    name: 'Gather on int64 data above 2^31, Range from 2^40',
    build: () => new OnnxBuilder(13).input('i', [5], 'int64').input('lo', [], 'int64').output('g', 'int64').output('r', 'int64')
      .ints('d', [2 ** 41 + 1, -(2 ** 50) - 3, 2 ** 52 + 5, 7]).ints('hi', [2 ** 40 + 7], []).ints('st', [2], [])
      .node('Gather', ['d', 'i'], 'g', { axis: 0 }).node('Range', ['lo', 'hi', 'st'], 'r'),
    feeds: { i: I('int64', [5], [3, 0, 2, 2, -3]), lo: I('int64', [], [2 ** 40]) },
  },
  {
    name: 'ArgMax, ArgMin (keepdims, select_last_index), TopK values and indices',
    build: () => new OnnxBuilder(13).input('x', [3, 7]).output('a', 'int64').output('b', 'int64').output('v').output('k', 'int64').ints('K', [3])
      .node('ArgMax', ['x'], 'a', { axis: 1, keepdims: 0 }).node('ArgMin', ['x'], 'b', { axis: 0, keepdims: 1, select_last_index: 1 })
      .node('TopK', ['x', 'K'], ['v', 'k'], { axis: -1 }),
    feeds: { x: X([3, 7], 2, 0.5) },
  },
  {
    name: 'bool (Greater, Not, Or, Equal)',
    build: () => new OnnxBuilder(13).input('x', [2, 5]).input('y', [5]).output('g', 'bool').output('n', 'bool').output('o', 'bool').output('e', 'bool')
      .node('Greater', ['x', 'y'], 'g').node('Not', ['g'], 'n').node('Or', ['g', 'n'], 'o').node('Equal', ['x', 'y'], 'e'),
    feeds: { x: X([2, 5], 3, 1), y: X([5], 4, 1) },
  },
  {
    name: 'QuantizeLinear to uint8 and int8',
    build: () => new OnnxBuilder(13).input('x', [8]).output('u', 'uint8').output('s', 'int8')
      .init('sc', [], [0.05]).init('zu', [], [128], 'uint8').init('zs', [], [-3], 'int8')
      .node('QuantizeLinear', ['x', 'sc', 'zu'], 'u').node('QuantizeLinear', ['x', 'sc', 'zs'], 's'),
    feeds: { x: X([8], 5) },
  },
];

describe(`typed model outputs vs onnxruntime-web (${SIMD} build)`, () => {
  for (const c of cases) {
    it(c.name, async () => {
      const bytes = c.build().build();
      expectSame(await lowbitRun(bytes, c.feeds), await runOrtModel(bytes, c.feeds));
    });
  }

  it('Shape and Size past 2^24 are exact (a float32 output would round 16777217 to 16777216)', async () => {
    const n = 2 ** 24 + 1;
    const bytes = new OnnxBuilder(13).input('x', [n], 'uint8').output('s', 'int64').output('z', 'int64').node('Shape', ['x'], 's').node('Size', ['x'], 'z').build();
    const feeds = { x: { type: 'uint8' as const, dims: [n], data: new Uint8Array(n) } };
    const got = await lowbitRun(bytes, feeds);
    expectSame(got, await runOrtModel(bytes, feeds as never));
    expect(got.s.data).toEqual(BigInt64Array.from([BigInt(n)]));
  });

  it('int64 initializers beyond 2^53 still work as Slice bounds (INT64_MAX, INT64_MIN)', async () => {
    const b = new OnnxBuilder(13).input('x', [4, 3]).output('y').output('r').ints('ax', [0]).ints('one', [1]).ints('neg', [-1])
      .initProto(bigInit('max', [2n ** 63n - 1n])).initProto(bigInit('min', [-(2n ** 63n)]))
      .node('Slice', ['x', 'one', 'max', 'ax'], 'y').node('Slice', ['x', 'neg', 'min', 'ax', 'neg'], 'r');
    const feeds = { x: X([4, 3], 6) };
    expectSame(await lowbitRun(b.build(), feeds), await runOrtModel(b.build(), feeds));
  });

  describe('64-bit integers beyond 2^53 − 1 are refused, never rounded', () => {
    const refused = async (bytes: Uint8Array, feeds: Record<string, Feed | IntFeed>, parts: string[]) => {
      const err = await lowbitRun(bytes, feeds).catch((e: Error) => e);
      expect(err).toBeInstanceOf(ValueRangeError);
      for (const p of parts) expect((err as Error).message).toContain(p);
    };

    it('an int64 initializer 2^60 + 1 passed to an output (onnxruntime returns it exactly)', async () => {
      const bytes = new OnnxBuilder(13).input('x', [1]).output('y', 'int64').output('z').initProto(bigInit('c', [2n ** 60n + 1n, 5n])).node('Identity', ['c'], 'y').node('Relu', ['x'], 'z').build();
      const feeds = { x: X([1]) };
      expect((await runOrtModel(bytes, feeds)).y.big).toEqual([2n ** 60n + 1n, 5n]);
      await refused(bytes, feeds, ["output 'y'", 'index 0', '2^53']);
    });

    it('an int64 input beyond 2^53 − 1 (BigInt64Array or numbers)', async () => {
      const bytes = new OnnxBuilder(13).input('x', [2], 'int64').output('y', 'int64').node('Identity', ['x'], 'y').build();
      const model = loadModel(rts.one, bytes);
      try {
        for (const data of [BigInt64Array.from([1n, 2n ** 60n + 1n]), [1, 2 ** 53], Float64Array.from([1, -(2 ** 54)])]) {
          const err = await model.run({ x: { type: 'int64', dims: [2], data } }).catch((e: Error) => e);
          expect(err).toBeInstanceOf(ValueRangeError);
          expect((err as Error).message).toContain("input 'x'");
          expect((err as Error).message).toContain('index 1');
        }
        // the edge of the exact range passes, exactly
        const ok = await model.run({ x: { type: 'int64', dims: [2], data: BigInt64Array.from([2n ** 53n - 1n, -(2n ** 53n) + 1n]) } });
        expect(ok.y.data).toEqual(BigInt64Array.from([2n ** 53n - 1n, -(2n ** 53n) + 1n]));
      } finally {
        model.dispose();
      }
    });

    it('an Add whose int64 sum passes 2^53, and a Cast of 2^60 from float32', async () => {
      const bytes = new OnnxBuilder(13).input('x', [2], 'int64').input('f', [1]).output('y', 'int64').output('c', 'int64')
        .node('Add', ['x', 'x'], 'y').node('Cast', ['f'], 'c', { to: T.INT64 }).build();
      const feeds = { x: I('int64', [2], [3, 2 ** 52 + 1]), f: { type: 'float32' as const, dims: [1], data: Float32Array.from([2 ** 60]) } };
      const want = await runOrtModel(bytes, feeds);
      expect(want.y.big).toEqual([6n, 2n ** 53n + 2n]);
      await refused(bytes, feeds, ["Add node 'Add_0'", "('y')", 'index 1']); // at the node that computes it (int64-exact.ts)
      // alone, the Cast is refused too
      const cast = new OnnxBuilder(13).input('f', [1]).output('c', 'int64').node('Cast', ['f'], 'c', { to: T.INT64 }).build();
      await refused(cast, { f: feeds.f }, ["output 'c'", 'index 0']);
    });
  });

  it('floatData gives a float32 output and a DTypeError naming any other', async () => {
    const bytes = new OnnxBuilder(13).input('x', [3]).output('y').output('a', 'int64').node('Relu', ['x'], 'y').node('ArgMax', ['x'], 'a').build();
    const got = await lowbitRun(bytes, { x: X([3]) });
    expect(floatData(got.y, 'y')).toBeInstanceOf(Float32Array);
    expect(() => floatData(got.a, "output 'a'")).toThrow(DTypeError);
    expect(() => floatData(got.a, "output 'a'")).toThrow(/output 'a'.*int64/);
  });
});
