// NonZero against onnxruntime-web: int64 [rank, count] indices in row-major order for float, int and
// bool inputs, NaN counted as non-zero, an empty result, a scalar; folded from constants and from a
// plan-time int64 input; of a run-time float input (its output shape depends on the data: the run
// reads its count of non-zeros and plans the rest in a second stage, src/model/staged-plan.ts).

import { describe, expect, it } from 'vitest';
import { SIMD, useRuntimes } from './helpers.js';
import { OnnxBuilder, runOrtModel, type DType, type IntFeed } from './onnx-builder.js';
import { compareWithOrt, seeded, withModel } from './model-ort-check.js';

const rts = useRuntimes();

/** NonZero of an initializer of this type and dims, then Identity to the output. */
function ofConstant(type: DType, dims: number[], data: number[], opset = 13): OnnxBuilder {
  // a float input the graph also reads, so the model has one
  return new OnnxBuilder(opset).input('x', [1]).output('y', 'int64').output('z')
    .init('c', dims, data, type).node('NonZero', ['c'], 'y').node('Relu', ['x'], 'z');
}

describe(`NonZero (${SIMD} build)`, () => {
  const x = { x: seeded([1]) };
  const cases: [string, DType, number[], number[], number?][] = [
    ['float32 2-D with zeros', 'float32', [2, 3], [0, 1.5, 0, -2, 0, 3]],
    ['float32 NaN and -0', 'float32', [4], [NaN, -0, 0, 7]],
    ['bool 3-D', 'bool', [2, 2, 2], [1, 0, 0, 1, 1, 1, 0, 0]],
    ['int32', 'int32', [3, 2], [0, 0, 5, 0, -1, 2]],
    ['int64', 'int64', [5], [0, 9, 0, 0, -3]],
    ['uint8', 'uint8', [2, 3], [1, 2, 0, 255, 0, 0]],
    ['all zeros: empty [2, 0]', 'float32', [2, 2], [0, 0, 0, 0]],
    ['empty input [0, 3]', 'float32', [0, 3], []],
    ['scalar non-zero', 'float32', [], [4]],
    ['scalar zero', 'int64', [], [0]],
    ['opset 9', 'float32', [2, 2], [1, 0, 0, 1], 9],
  ];
  for (const [name, type, dims, data, opset] of cases) {
    it(`${name}: as onnxruntime-web`, async () => {
      await compareWithOrt(rts.one, ofConstant(type, dims, data, opset), x, 0);
    });
  }

  // onnxruntime-web has no NonZero kernel for int8 or double: what ONNX's reference (numpy) gives
  it('int8 and double (onnxruntime-web has no kernel for them): the indices ONNX specifies', async () => {
    for (const [type, dims, data, want] of [
      ['int8', [2, 2], [0, -1, 0, 3], [[2, 2], [0, 1, 1, 1]]],
      ['double', [3], [0, 1e-300, NaN], [[1, 2], [1, 2]]],
    ] as const) {
      await withModel(rts.one, ofConstant(type, [...dims], [...data]).build(), async (m) => {
        const y = (await m.run(x)).y;
        expect([y.type, y.dims, Array.from(y.data as BigInt64Array, Number)], type).toEqual(['int64', want[0], want[1]]);
      });
    }
  });

  it('feeds Transpose and Cast (folded downstream): as onnxruntime-web', async () => {
    const b = new OnnxBuilder(13).input('x', [2, 3]).output('y')
      .init('m', [2, 3], [0, 1, 1, 0, 0, 1], 'bool').node('NonZero', ['m'], 'nz').node('Transpose', ['nz'], 't', { perm: [1, 0] })
      .node('Cast', ['t'], 'tf', { to: 1 }).node('ReduceSum', ['tf'], 's', { keepdims: 0 }).node('Add', ['x', 's'], 'y');
    await compareWithOrt(rts.one, b, { x: seeded([2, 3]) }, 1e-6);
  });

  it('of a plan-time int64 input (small integer inputs are plan constants): as onnxruntime-web, per input value', async () => {
    const bytes = new OnnxBuilder(13).input('k', [2, 3], 'int64').output('y', 'int64').node('NonZero', ['k'], 'y').build();
    for (const data of [[0, 3, 0, 0, 0, -1], [0, 0, 0, 0, 0, 0], [1, 1, 1, 1, 1, 1]]) {
      const k: IntFeed = { type: 'int64', dims: [2, 3], data };
      const want = await runOrtModel(bytes, { k });
      await withModel(rts.one, bytes, async (m) => {
        const got = await m.run({ k });
        expect(got.y.dims).toEqual(want.y.dims);
        expect(Array.from(got.y.data as BigInt64Array, Number)).toEqual(want.y.data);
      });
    }
  });

  it('of a run-time float input (planned in stages on its values): as onnxruntime-web, for several inputs', async () => {
    const b = new OnnxBuilder(13).input('x', [2, 3]).output('y', 'int64').node('Relu', ['x'], 'r').node('NonZero', ['r'], 'y', {}, 'nz_runtime');
    for (const seed of [1, 2, 3]) await compareWithOrt(rts.one, b, { x: seeded([2, 3], seed) }, 0);
  });

  it('of a large run-time mask (only its count is read between stages): as onnxruntime-web', async () => {
    const b = new OnnxBuilder(13).input('x', [4, 100, 100]).output('y', 'int64').node('Relu', ['x'], 'r').node('NonZero', ['r'], 'y');
    await compareWithOrt(rts.one, b, { x: seeded([4, 100, 100], 4) }, 0);
  });
});
