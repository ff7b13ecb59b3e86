// Model.prepare(): a run's plan and layers built ahead of the run, and quantizeModel returning a
// model whose layers are built (issue 12: quantizeModel "returned" in 1 s and the first run then
// took 15 s for ant4, quantizing the weights).

import { describe, expect, it } from 'vitest';
import { ArgumentError, DTypeError, ShapeError, loadModel, quantizeModel, saveQuantized, type Model } from '../src/index.js';
import { SIMD, randNormal, rng, useRuntimes } from './helpers.js';
import { OnnxBuilder, type Feed } from './onnx-builder.js';

const rts = useRuntimes();
const X = (dims: number[], seed = 1): Feed => ({ type: 'float32', dims, data: randNormal(dims.reduce((a, b) => a * b, 1), rng(seed)) });

/** x [1, 3, 'h', 'w'] -> Conv -> Relu -> GlobalAveragePool -> Flatten -> Gemm -> y [1, 4] */
function convNet(): Uint8Array {
  const r = rng(3);
  return new OnnxBuilder(13).input('x', [1, 3, 'h', 'w']).output('y')
    .init('w', [8, 3, 3, 3], randNormal(216, r, 0.3)).init('fc', [4, 8], randNormal(32, r, 0.3))
    .node('Conv', ['x', 'w'], 'c', { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }).node('Relu', ['c'], 'r')
    .node('GlobalAveragePool', ['r'], 'g').node('Flatten', ['g'], 'f').node('Gemm', ['f', 'fc'], 'y', { transB: 1 }).build();
}

const layersOf = (m: Model) => [...m.builtLayers.values()];

describe(`Model.prepare (${SIMD} build)`, () => {
  it('builds the plan and the layers without running; the run then reuses both and gives the same outputs', async () => {
    const bytes = convNet();
    const ref = loadModel(rts.one, bytes);
    const want = (await ref.run({ x: X([1, 3, 6, 5]) })).y.data;
    ref.dispose();
    for (const inputs of [{ x: X([1, 3, 6, 5], 9) }, { x: [1, 3, 6, 5] }]) {
      const m = loadModel(rts.one, bytes);
      expect(m.builtLayers.size).toBe(0);
      await m.prepare(inputs);
      const built = layersOf(m);
      expect(built.filter(Boolean).length).toBeGreaterThanOrEqual(2); // the conv and the Gemm at least
      expect(m.plans.size).toBe(1);
      expect(m.arenaBytes).toBe(0); // nothing ran
      expect((await m.run({ x: X([1, 3, 6, 5]) })).y.data).toEqual(want);
      expect(layersOf(m)).toEqual(built);
      expect(m.plans.size).toBe(1);
      m.dispose();
    }
  });

  it('quantizeModel returns its layers built (on the first calibration input\'s shape): the first run builds nothing, and it saves at once', async () => {
    const float = loadModel(rts.one, convNet());
    for (const scheme of ['int8', 'ant4']) {
      // speed 'off': both tiny layers quantized (int8's shape rule would keep them float32)
      const q = await quantizeModel(float, { scheme, speed: 'off', calibration: [{ x: X([1, 3, 8, 8], 2) }, { x: X([1, 3, 8, 8], 3) }] });
      const built = layersOf(q);
      expect(built.filter((l) => l?.scheme === scheme).length, scheme).toBe(2);
      expect(saveQuantized(q).length).toBeGreaterThan(0);
      await q.run({ x: X([1, 3, 12, 7], 4) }); // another shape: a new plan, the same layers
      expect(layersOf(q), scheme).toEqual(built);
      q.dispose();
    }
    float.dispose();
  });

  it('refuses bad inputs with typed errors naming the input', async () => {
    const m = loadModel(rts.one, convNet());
    await expect(m.prepare(null as never)).rejects.toThrow(ArgumentError);
    await expect(m.prepare({} as never)).rejects.toThrow(/prepare: input 'x' is missing \(the model takes 'x'\)/);
    await expect(m.prepare({ x: [1, 3, -1, 4] })).rejects.toThrow(ShapeError);
    await expect(m.prepare({ x: [1, 3, 2.5, 4] })).rejects.toThrow(/prepare: input 'x' has dims \[1, 3, 2.5, 4\]|prepare: input 'x' has dims/);
    await expect(m.prepare({ x: { type: 'int32', data: [1], dims: [1] } } as never)).rejects.toThrow(DTypeError);
    await expect(m.prepare({ x: { type: 'int32', data: [1], dims: [1] } } as never)).rejects.toThrow(/^prepare: input 'x' is declared float32/);
    await expect(m.prepare({ x: [1, 4, 6, 5] })).rejects.toThrow(ShapeError); // the conv takes 3 channels
    expect(m.builtLayers.size).toBe(0);
    // a refused prepare does not block the runs queued after it
    expect((await m.run({ x: X([1, 3, 4, 4]) })).y.dims).toEqual([1, 4]);
    m.dispose();
    await expect(m.prepare({ x: [1, 3, 4, 4] })).rejects.toThrow(/used after dispose/);
  });

  it('an integer input a plan folds (a Reshape\'s shape): given as dims alone, the plan stops where its values are needed (a staged plan\'s first stage); given by value, the run reuses the plan', async () => {
    const bytes = new OnnxBuilder(13).input('x', [2, 6]).input('shape', [2], 'int64').output('y').node('Reshape', ['x', 'shape'], 'y').build();
    const m = loadModel(rts.one, bytes);
    const shape = { type: 'int64' as const, data: [3, 4], dims: [2] };
    await m.prepare({ x: [2, 6], shape: [2] });
    expect(m.plans.size).toBe(1);
    await m.prepare({ x: X([2, 6]), shape });
    expect(m.plans.size).toBe(2);
    expect((await m.run({ x: X([2, 6]), shape })).y.dims).toEqual([3, 4]);
    expect(m.plans.size).toBe(2);
    m.dispose();
  });
});
