// A weight so large that the rest of its output channel rounds to 0 (1e30 among weights ~0.3):
// int8-sparse, int4-sparse (and the others) quantized it silently and the layer kept that one
// weight of the channel, the rest all 0: wrong wherever that weight's input is small or 0. Now a
// ValueRangeError at quantize time in every scheme, naming the channel and the weight
// (src/quant/crushed-weights.ts), as FPx refuses a channel its scales cannot reach. And an error
// raised while quantizing a model's layer names the node (name and op) and keeps its class
// (src/model/node-errors.ts).

import { describe, expect, it } from 'vitest';
import { FORMAT_NAMES, ValueRangeError, loadModel, quantizeModel } from '../src/index.js';
import { SIMD, randNormal, rng, useRuntimes } from './helpers.js';
import { OnnxBuilder } from './onnx-builder.js';

const rts = useRuntimes();
const SPARSE = ['int8-sparse', 'int4-sparse'];
const SCHEMES = FORMAT_NAMES.filter((f) => f !== 'float32');

describe(`weights that crush their channel (${SIMD} build)`, () => {
  const [k, n] = [32, 8];
  const w = randNormal(k * n, rng(31), 0.3), calibration = randNormal(4 * k, rng(32));

  it('rt.linear int8-sparse / int4-sparse: a 1e30 weight is a ValueRangeError naming it and its channel; a 1000x outlier quantizes as before', async () => {
    for (const dtype of SPARSE) {
      for (const method of ['obc', 'magnitude']) {
        const bad = w.slice();
        bad[5 * n + 2] = 1e30; // W [K, N]: input 5, output channel 2
        const e = await rts.one.linear(bad, [k, n], null, { dtype, calibration, sparsity: { method } }).then(() => null, (err: unknown) => err);
        expect(e, `${dtype} ${method}`).toBeInstanceOf(ValueRangeError);
        expect((e as Error).message).toMatch(new RegExp(`^weight \\(${dtype}\\): output channel 2 holds 1\\.0+\\d*e\\+30 \\(input 5\\), over 2\\^32 times every other weight of the channel`));
        const outlier = w.slice();
        outlier[5 * n + 2] = 300;
        (await rts.one.linear(outlier, [k, n], null, { dtype, calibration, sparsity: { method } })).dispose();
      }
    }
  });

  it("a channel whose other weights are negligible in the layer quantizes (PP-OCRv4's detector: one 2.6e-7 weight, the rest < 6e-17); one output channel of a 1e30 weight is still refused", async () => {
    const tiny = w.slice();
    for (let i = 0; i < k; i++) tiny[i * n + 3] = 1e-17 * (i % 3); // W [K, N]: channel 3 at 1e-17 ...
    tiny[7 * n + 3] = -2.55e-7; // ... but one weight 2^33 times the rest
    (await rts.one.linear(tiny, [k, n], null, { dtype: 'int8' })).dispose();
    const one = w.slice(0, k); // [K, 1]: the layer's only channel is its own yardstick
    one[4] = 1e30;
    const e = await rts.one.linear(one, [k, 1], null, { dtype: 'int8' }).then(() => null, (err: unknown) => err);
    expect(e).toBeInstanceOf(ValueRangeError);
  });

  it('rt.linear, every dtype: the same refusal for [K, N] and transposed [N, K] weights; a channel of one non-zero weight is fine', async () => {
    for (const dtype of SCHEMES) {
      const opts = SPARSE.includes(dtype) ? { dtype, calibration } : { dtype };
      const bad = w.slice();
      bad[5 * n + 2] = 1e30;
      await expect(rts.one.linear(bad, [k, n], null, opts), dtype).rejects.toThrow(/output channel 2 holds .*\(input 5\)/);
      const nk = new Float32Array(k * n);
      for (let i = 0; i < k; i++) for (let j = 0; j < n; j++) nk[j * k + i] = bad[i * n + j];
      await expect(rts.one.linear(nk, [n, k], null, { ...opts, transposed: true }), dtype).rejects.toThrow(ValueRangeError);
      const lone = w.slice();
      for (let i = 0; i < k; i++) lone[i * n + 2] = i === 5 ? 1e30 : 0;
      if (dtype !== 'fp8' && dtype !== 'fpx') (await rts.one.linear(lone, [k, n], null, opts)).dispose(); // FP8/FPx scales cannot reach 1e30 (their own error)
    }
  });

  // Conv 3x3 -> Relu -> GlobalAveragePool -> Flatten -> MatMul: a 1e30 in one conv channel or one MatMul column
  const model = (where: 'conv' | 'mm' | 'none') => {
    const r = rng(33);
    const wc = randNormal(8 * 4 * 9, r, 0.3), wm = randNormal(8 * 10, r, 0.3);
    if (where === 'conv') wc[5 * 36 + 7] = 1e30;
    if (where === 'mm') wm[3 * 10 + 2] = 1e30;
    return new OnnxBuilder(13).input('x', [1, 4, 8, 8]).output('y')
      .init('wc', [8, 4, 3, 3], wc).init('wm', [8, 10], wm)
      .node('Conv', ['x', 'wc'], 'c', { pads: [1, 1, 1, 1] }, 'conv').node('Relu', ['c'], 'h', {}, 'relu')
      .node('GlobalAveragePool', ['h'], 'g', {}, 'gap').node('Flatten', ['g'], 'f', {}, 'flat').node('MatMul', ['f', 'wm'], 'y', {}, 'mm')
      .build();
  };
  const feed = (s: number) => ({ x: { type: 'float32', dims: [1, 4, 8, 8], data: randNormal(256, rng(s)) } });

  it('quantizeModel, every scheme: a ValueRangeError naming the node and op; the same model without the huge weight quantizes', async () => {
    for (const where of ['conv', 'mm'] as const) {
      const float = loadModel(rts.one, model(where));
      const label = where === 'conv' ? /(Fused)?Conv node 'conv(\+relu)?'/ : /MatMul node 'mm'/;
      for (const scheme of SCHEMES) {
        const e = await quantizeModel(float, { scheme, speed: 'off', calibration: [feed(1), feed(2)] }).then(() => null, (err: unknown) => err);
        expect(e, `${where} ${scheme}`).toBeInstanceOf(ValueRangeError);
        expect((e as Error).message, `${where} ${scheme}`).toMatch(new RegExp(`^quantize: ${label.source} \\(${scheme}\\): `));
      }
      float.dispose();
    }
    const plain = loadModel(rts.one, model('none'));
    for (const scheme of SCHEMES) (await quantizeModel(plain, { scheme, speed: 'off', calibration: [feed(1), feed(2)] })).dispose();
    plain.dispose();
  }, 120_000);
});
