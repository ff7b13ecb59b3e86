// What Model.run() takes: float32, int64, int32, int8, uint8 and bool inputs as the model declares
// them (int64 as BigInt64Array, Float64Array of integers or numbers), typed errors naming the input
// for anything else, small integer inputs as constants of the plan (shape operands, If conditions
// fold), and a bounded plan cache.

import { describe, expect, it } from 'vitest';
import { ArgumentError, DTypeError, ShapeError, ValueRangeError, loadModel, type LowbitError, type Model, type ModelInputs } from '../src/index.js';
import { SIMD, randNormal, rng, useRuntimes } from './helpers.js';
import { X, withModel as withModelOn } from './model-ort-check.js';
import { OnnxBuilder, runOrtModel, type Feed, type IntFeed } from './onnx-builder.js';

const rts = useRuntimes();

const withModel = <T>(bytes: Uint8Array, fn: (m: Model) => Promise<T>): Promise<T> => withModelOn(rts.one, bytes, fn);

async function expectOrt(m: Model, bytes: Uint8Array, feeds: Record<string, Feed | IntFeed>, ours: ModelInputs = feeds as unknown as ModelInputs): Promise<void> {
  const got = await m.run(ours);
  const ref = await runOrtModel(bytes, feeds);
  for (const [name, r] of Object.entries(ref)) {
    expect(got[name].dims, name).toEqual(r.dims);
    got[name].data.forEach((v, i) => expect(v, `${name}[${i}]`).toBeCloseTo(r.data[i], 5));
  }
}

async function rejection(p: Promise<unknown>): Promise<LowbitError> {
  try {
    await p;
  } catch (e) {
    return e as LowbitError;
  }
  throw new Error('expected a rejection');
}

/** y = x + Cast<float>(a) for an input a of `type` */
function castModel(type: IntFeed['type']): Uint8Array {
  return new OnnxBuilder(13).input('x', [2, 3]).input('a', [2, 3], type).output('y').node('Cast', ['a'], 'af', { to: 1 }).node('Add', ['x', 'af'], 'y').build();
}

describe(`model inputs (${SIMD} build)`, () => {
  it('int64, int32, int8, uint8 and bool inputs match onnxruntime; int64 as BigInt64Array, Float64Array or numbers', async () => {
    const vals: Record<IntFeed['type'], number[]> = {
      int64: [-5, 0, 7, 2 ** 40, -(2 ** 33), 1], int32: [-(2 ** 31), 2 ** 31 - 1, 0, 5, -5, 1], int8: [-128, 127, 0, 1, -1, 3], uint8: [0, 255, 128, 1, 2, 3], bool: [0, 1, 1, 0, 1, 0],
    };
    for (const [type, data] of Object.entries(vals) as [IntFeed['type'], number[]][]) {
      const bytes = castModel(type);
      await withModel(bytes, async (m) => {
        const feeds = { x: X([2, 3]), a: { type, dims: [2, 3], data } };
        await expectOrt(m, bytes, feeds);
        const typed = { int64: BigInt64Array.from(data.map(BigInt)), int32: Int32Array.from(data), int8: Int8Array.from(data), uint8: Uint8Array.from(data), bool: Uint8Array.from(data) }[type];
        await expectOrt(m, bytes, feeds, { x: feeds.x, a: { type, dims: [2, 3], data: typed } } as ModelInputs);
        if (type === 'int64') await expectOrt(m, bytes, feeds, { x: feeds.x, a: { type, dims: [2, 3], data: Float64Array.from(data) } });
        if (type === 'bool') await expectOrt(m, bytes, feeds, { x: feeds.x, a: { type, dims: [2, 3], data: data.map(Boolean) } });
      });
    }
  });

  it('a Reshape target from an int64 input (a plan-time constant): one plan per value, matches onnxruntime', async () => {
    const bytes = new OnnxBuilder(13).input('x', [2, 6]).input('shape', [2], 'int64').output('y').node('Reshape', ['x', 'shape'], 'r').node('Relu', ['r'], 'y').build();
    await withModel(bytes, async (m) => {
      for (const shape of [[3, 4], [4, 3], [-1, 2], [3, 4]]) await expectOrt(m, bytes, { x: X([2, 6]), shape: { type: 'int64', dims: [2], data: shape } });
      expect(m.plans.size).toBe(3);
    });
  });

  it('Gather indices stay runtime values (token ids): one plan for any ids; a long int input too', async () => {
    const bytes = new OnnxBuilder(13).input('ids', [1, 'n'], 'int64').input('pos', [1, 'n'], 'int64').output('y')
      .init('emb', [10, 4], Array.from(randNormal(40, rng(4)))).node('Gather', ['emb', 'ids'], 'e').node('Cast', ['pos'], 'pf', { to: 1 })
      .node('Unsqueeze', ['pf', 'ax'], 'pu').ints('ax', [2]).node('Add', ['e', 'pu'], 'y').build();
    await withModel(bytes, async (m) => {
      await expectOrt(m, bytes, { ids: { type: 'int64', dims: [1, 3], data: [1, 9, 0] }, pos: { type: 'int64', dims: [1, 3], data: [0, 1, 2] } });
      await expectOrt(m, bytes, { ids: { type: 'int64', dims: [1, 3], data: [2, 2, 5] }, pos: { type: 'int64', dims: [1, 3], data: [0, 1, 2] } });
      expect(m.plans.size).toBe(1);
      const n = 100; // above the plan-time limit: a runtime value
      const pos = Array.from({ length: n }, (_, i) => i);
      await expectOrt(m, bytes, { ids: { type: 'int64', dims: [1, n], data: pos.map((i) => i % 10) }, pos: { type: 'int64', dims: [1, n], data: pos } });
      await expectOrt(m, bytes, { ids: { type: 'int64', dims: [1, n], data: pos.map((i) => (i * 7) % 10) }, pos: { type: 'int64', dims: [1, n], data: pos.reverse() } });
      expect(m.plans.size).toBe(2); // the 100-element pos is a runtime value: one plan for both
    });
  });

  it('the plan cache is bounded (LRU): old shapes are planned again when they come back', async () => {
    const bytes = new OnnxBuilder(13).input('x', [1, 'w']).output('y').node('Relu', ['x'], 'y').build();
    await withModel(bytes, async (m) => {
      expect(m.plans.capacity).toBe(16);
      m.plans.capacity = 3;
      for (let w = 1; w <= 6; w++) await m.run({ x: X([1, w]) });
      expect(m.plans.size).toBe(3);
      const p6 = m.plan({ x: [1, 6] });
      await m.run({ x: X([1, 1]) }); // evicts 4 (5, 6 were used more recently)
      expect(m.plan({ x: [1, 6] })).toBe(p6);
      expect(m.plans.size).toBe(3);
      const y = await m.run({ x: X([1, 4], 3) });
      expect(Array.from(y.y.data)).toEqual(Array.from(X([1, 4], 3).data, (v) => Math.max(0, v)));
    });
  });

  it('bad feeds: typed errors naming the input', async () => {
    const bytes = new OnnxBuilder(13).input('x', [2]).input('sr', [], 'int64').input('b', [2], 'bool').input('q', [2], 'int8').output('y')
      .node('Cast', ['sr'], 'f', { to: 1 }).node('Add', ['x', 'f'], 'y').build();
    const x = X([2]);
    const ok = { x, sr: { type: 'int64', dims: [], data: [16000] }, b: { type: 'bool', dims: [2], data: [1, 0] }, q: { type: 'int8', dims: [2], data: [1, -1] } };
    await withModel(bytes, async (m) => {
      expect((await m.run(ok as ModelInputs)).y.data[0]).toBeCloseTo(x.data[0] + 16000, 2);
      const cases: [unknown, new (...a: never[]) => LowbitError, RegExp][] = [
        [null, ArgumentError, /feeds must be an object.*'x', 'sr'/],
        [undefined, ArgumentError, /feeds must be an object/],
        [42, ArgumentError, /feeds must be an object/],
        [[x], ArgumentError, /feeds must be an object/],
        [{ x }, ArgumentError, /input 'sr' is missing/],
        [{ ...ok, sr: null }, ArgumentError, /input 'sr': expected a tensor/],
        [{ ...ok, sr: { type: 'float32', dims: [], data: Float32Array.of(1) } }, DTypeError, /'sr' is declared int64, got a tensor of type float32/],
        [{ ...ok, sr: { type: 'int64', dims: [], data: Int32Array.of(1) } }, DTypeError, /'sr'.*BigInt64Array or Float64Array/],
        [{ ...ok, sr: { type: 'int64', dims: [], data: [1.5] } }, ValueRangeError, /'sr': value 1.5 at index 0 is not an int64/],
        [{ ...ok, sr: { type: 'int64', dims: [], data: [NaN] } }, ValueRangeError, /'sr'/],
        [{ ...ok, sr: { type: 'int64', dims: [], data: ['7'] } }, ValueRangeError, /'sr'/],
        [{ ...ok, sr: { type: 'int64', dims: [1], data: [1, 2] } }, ShapeError, /'sr' has 2 values, dims \[1\] need 1/],
        [{ ...ok, sr: { type: 'int64', dims: [2], data: [1, 2] } }, ShapeError, /'sr' has dims \[2\], the model expects \[\]/],
        [{ ...ok, sr: { type: 'int64', dims: 'x', data: [1] } }, ShapeError, /'sr' needs dims/],
        [{ ...ok, b: { type: 'bool', dims: [2], data: [2, 0] } }, ValueRangeError, /'b': value 2 at index 0 is not a bool/],
        [{ ...ok, q: { type: 'int8', dims: [2], data: [300, 0] } }, ValueRangeError, /'q': value 300 at index 0 is not an int8/],
        [{ ...ok, q: { type: 'int8', dims: [2], data: Uint8Array.of(1, 2) } }, DTypeError, /'q'.*Int8Array/],
        [{ ...ok, x: { type: 'float32', dims: [2], data: [1, 2] } }, DTypeError, /'x'.*Float32Array/],
        [{ ...ok, x: { type: 'int64', dims: [2], data: [1, 2] } }, DTypeError, /'x' is declared float32/],
      ];
      for (const [feeds, cls, msg] of cases) {
        const e = await rejection(m.run(feeds as ModelInputs));
        expect(e, JSON.stringify(feeds)).toBeInstanceOf(cls);
        expect(e.message).toMatch(msg);
      }
      // still usable after every refusal
      expect((await m.run(ok as ModelInputs)).y.dims).toEqual([2]);
    });
  });

  it('a feed name the model does not take is an ArgumentError naming it and the inputs (onnxruntime refuses it too), in run() and prepare()', async () => {
    const bytes = new OnnxBuilder(13).input('x', [2]).input('y0', [2]).output('y').node('Add', ['x', 'y0'], 'y').build();
    const x = X([2]);
    await withModel(bytes, async (m) => {
      for (const [feeds, name] of [[{ x, y0: x, nosuch: x }, 'nosuch'], [{ x, y0: x, Y0: x }, 'Y0'], [{ x, y0: x, y: x }, 'y']] as const) {
        const e = await rejection(m.run(feeds as unknown as ModelInputs));
        expect(e, name).toBeInstanceOf(ArgumentError);
        expect(e.message).toBe(`run: '${name}' is not an input of the model (the model takes 'x', 'y0')`);
      }
      const p = await rejection(m.prepare({ x: [2], y0: x, extra: [2] } as never));
      expect(p).toBeInstanceOf(ArgumentError);
      expect(p.message).toMatch(/prepare: 'extra' is not an input of the model \(the model takes 'x', 'y0'\)/);
      await m.prepare({ x: [2], y0: x } as never); // dims for one, a tensor for the other: still fine
      expect(Array.from((await m.run({ x, y0: x } as ModelInputs)).y.data)).toEqual(Array.from(x.data, (v) => Math.fround(v + v)));
    });
    // onnxruntime-web refuses the same feed
    await expect(runOrtModel(bytes, { x, y0: x, nosuch: x })).rejects.toThrow(/nosuch/);
  });
});
