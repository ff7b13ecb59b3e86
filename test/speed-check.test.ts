// Per-layer latency inside whole runs (src/model/speed-check.ts) and quantizeModel's speed: 'measured',
// which keeps float32 where the quantized layer measured slower. Timing decides, so the tests check
// the table's shape and that the decisions are applied as recorded, not which layer wins.

import { describe, expect, it } from 'vitest';
import { ArgumentError, compareModels, loadModel, quantizeModel } from '../src/index.js';
import { layerLatencies, slowerQuantizedLayers } from '../src/model/speed-check.js';
import { gemmShape, int8Pays } from '../src/model/int8-shape-rule.js';
import { SIMD, randNormal, rng, useRuntimes } from './helpers.js';
import { OnnxBuilder, type Feed } from './onnx-builder.js';

const rts = useRuntimes();

/** a tiny 1x1 convolution (K = 4), then a 64x96 MatMul */
function net() {
  const r = rng(3);
  return new OnnxBuilder(13).input('x', [1, 4, 8, 8]).output('y')
    .init('w', [6, 4, 1, 1], randNormal(24, r)).init('b', [6], randNormal(6, r))
    .init('shape', [2], [8, 48], 'int64').init('m', [48, 96], randNormal(48 * 96, r))
    .node('Conv', ['x', 'w', 'b'], 'c').node('Relu', ['c'], 'r').node('Reshape', ['r', 'shape'], 'f').node('MatMul', ['f', 'm'], 'y');
}
const feeds = { x: { type: 'float32', dims: [1, 4, 8, 8], data: randNormal(256, rng(4)) } as Feed };

describe(`speed check (${SIMD} build)`, () => {
  it('times every layer in each model (the least of the runs), keyed by node', async () => {
    const float = loadModel(rts.one, net().build());
    const q = await quantizeModel(float, { scheme: 'int8', calibration: [feeds], speed: 'off' }); // both layers int8
    const table = await layerLatencies({ float32: float, int8: q }, feeds, 3);
    expect(table.size).toBe(2);
    for (const l of table.values()) {
      expect(Object.keys(l.ms).sort()).toEqual(['float32', 'int8']);
      for (const ms of Object.values(l.ms)) expect(ms).toBeGreaterThan(0);
    }
    await expect(layerLatencies({ a: float }, feeds, 0)).rejects.toThrow(ArgumentError);
    const other = loadModel(rts.one, net().build());
    await expect(layerLatencies({ a: float, b: other }, feeds, 1)).rejects.toThrow(/share one graph/);
    // the margin decides: any time beats -100%, none beats +infinity
    expect((await slowerQuantizedLayers(float, q, feeds, -1, 2)).map((c) => c.kept)).toEqual(['float32', 'float32']);
    expect((await slowerQuantizedLayers(float, q, feeds, Infinity, 2)).map((c) => c.kept)).toEqual(['quantized', 'quantized']);
    for (const m of [float, q, other]) m.dispose();
  });

  it("quantizeModel speed: 'measured' builds each layer as its decision says, and records it", async () => {
    const float = loadModel(rts.one, net().build());
    const q = await quantizeModel(float, { scheme: 'int8', calibration: [feeds], speed: 'measured' });
    expect(q.speedChoices).toHaveLength(2);
    await q.run(feeds);
    for (const c of q.speedChoices!) {
      expect(c.floatMs).toBeGreaterThan(0);
      expect(q.builtLayers.get(c.node)!.scheme, c.label).toBe(c.kept === 'float32' ? 'float32' : 'int8');
    }
    await expect(quantizeModel(float, { scheme: 'int8', calibration: [feeds], speed: 'fast' as never })).rejects.toThrow(/speed must be 'measured', 'shape' or 'off'/);
    // (with scheme 'auto', speed says where its speed budget's times come from: auto-speed.test.ts)
    q.dispose();
    float.dispose();
  });

  it("speed: 'shape' keeps float32 for the int8 layers too small to win, from the shape alone (no timing)", async () => {
    // the crossings the rule was derived from: small K or N lose, both large win, tiny calls lose
    expect(int8Pays(2304, 8, 200)).toBe(false);
    expect(int8Pays(288, 16, 88)).toBe(false);
    expect(int8Pays(288, 88, 88)).toBe(true);
    expect(int8Pays(192, 200, 32)).toBe(true);
    expect(int8Pays(1, 88, 88)).toBe(false);
    expect(int8Pays(1, 200, 200)).toBe(true);
    const float = loadModel(rts.one, net().build());
    const q = await quantizeModel(float, { scheme: 'int8', calibration: [feeds], speed: 'shape' });
    // (specs are read at planning) the 1x1 convolution on 8x8 pixels: M 64, K 4, N 6; the MatMul on [8, 48]: M 8, K 48, N 96
    const specs = [...float.layerSpecs.values()];
    expect(specs.map((s) => gemmShape(s, s.type === 'conv' ? [1, 4, 8, 8] : [8, 48]))).toEqual([[64, 4, 6], [8, 48, 96]]);
    const forced = await quantizeModel(float, { scheme: 'int8', calibration: [feeds], layerScheme: (n) => (n.op.includes('Conv') ? 'float32' : undefined) });
    const a = await q.run(feeds), b = await forced.run(feeds);
    expect([...q.builtLayers.values()].filter((l) => l).map((l) => `${l!.kind.split(' ')[0]} ${l!.scheme}`).sort()).toEqual(['Conv float32', 'Linear int8']);
    expect(Array.from(a.y.data as Float32Array)).toEqual(Array.from(b.y.data as Float32Array));
    // other schemes are unchanged by it
    const i4 = await quantizeModel(float, { scheme: 'int4', calibration: [feeds], speed: 'shape' });
    expect([...i4.builtLayers.values()].some((l) => l?.scheme === 'int4')).toBe(true);
    for (const m of [float, q, forced, i4]) m.dispose();
  });

  it("is int8's default; speed 'off' quantizes every layer; the model and compareModels say why a layer stayed float32", async () => {
    const float = loadModel(rts.one, net().build());
    const byDefault = await quantizeModel(float, { scheme: 'int8', calibration: [feeds] });
    const shape = await quantizeModel(float, { scheme: 'int8', calibration: [feeds], speed: 'shape' });
    const every = await quantizeModel(float, { scheme: 'int8', calibration: [feeds], speed: 'off' });
    const schemes = (m: typeof float) => [...m.builtLayers.values()].filter((l) => l).map((l) => `${l!.kind.split(' ')[0]} ${l!.scheme}`).sort();
    await byDefault.run(feeds);
    await shape.run(feeds);
    await every.run(feeds);
    expect(schemes(byDefault)).toEqual(['Conv float32', 'Linear int8']);
    expect(schemes(every)).toEqual(['Conv int8', 'Linear int8']);
    expect(Array.from((await byDefault.run(feeds)).y.data)).toEqual(Array.from((await shape.run(feeds)).y.data));
    // the reason names the rule, the GEMM shape and the way out
    const conv = [...float.layerSpecs.keys()].find((n) => n.op.includes('Conv'))!;
    expect(byDefault.keptFloat!.get(conv)).toMatch(/int8 shape rule: GEMM 64x4x6 .*speed 'off'/);
    expect(byDefault.keptFloat!.size).toBe(1);
    expect(every.keptFloat!.size).toBe(0);
    const layers = await compareModels(float, byDefault, [feeds]);
    expect(layers.filter((l) => l.why).map((l) => [l.scheme, l.why!.split(':')[0]])).toEqual([['float32', 'int8 shape rule']]);
    expect((await compareModels(float, every, [feeds])).some((l) => l.why)).toBe(false);
    // other reasons: a grouped convolution; layerScheme
    const forced = await quantizeModel(float, { scheme: 'int8', calibration: [feeds], speed: 'off', layerScheme: (n) => (n === conv ? 'float32' : undefined) });
    expect(forced.keptFloat!.get(conv)).toBe('layerScheme chose float32');
    for (const m of [float, byDefault, shape, every, forced]) m.dispose();
  });
});
