// Finite inputs near float32's extremes (±3.4e38) in the quantized layers whose float32 arithmetic
// overflowed there: int4/ant4/nf4 (4-bit kernels form sa * acc and z * sa * sum(q) before the weight
// scale) and fp8/fpx (activations staged as x * 2^(63 - bias)). Both gave NaN where float32 gives a
// finite answer. Rows holding |x| >= 2^64 now run scaled by a power of two (src/layers/huge-rows.ts):
// a row scaled by 2^s gives the outputs of the unscaled row times 2^s (exactly, without bias), and
// every other row keeps its bits. Layers with a static int8 input range (int8, int8-sparse,
// int4-sparse) saturated 3.4e38 at the calibrated end and answered confidently wrong: a value over
// 2^16 times that range is now a ValueRangeError naming the node (src/layers/nonfinite.ts).

import { describe, expect, it } from 'vitest';
import { Linear, ValueRangeError, loadModel, quantizeModel } from '../src/index.js';
import { int8Format } from '../src/formats/int8.js';
import { SIMD, randNormal, rng, useRuntimes } from './helpers.js';
import { OnnxBuilder } from './onnx-builder.js';

const rts = useRuntimes();
const SCHEMES = ['int4', 'ant4', 'nf4', 'fp8', 'fpx'];

describe(`huge finite inputs, rt.linear (${SIMD} build)`, () => {
  const [m, k, n] = [5, 96, 20];
  const r = rng(21);
  const w = randNormal(k * n, r, 0.1), bias = randNormal(n, r), x = randNormal(m * k, r);
  const SHIFTS = [0, 64, 100, 125, 0]; // row i scaled by 2^SHIFTS[i]; 2^125 * |x| reaches ~3e38
  const scaled = () => x.map((v, j) => v * 2 ** SHIFTS[Math.floor(j / k)]);

  for (const dtype of SCHEMES) {
    it(`${dtype}: a row scaled by 2^s gives its outputs times 2^s (bias: within float32 rounding); other rows keep their bits`, async () => {
      const plain = await rts.one.linear(w, [k, n], null, { dtype });
      const biased = await rts.one.linear(w, [k, n], bias, { dtype });
      const [y0, y] = [await plain.forward(x), await plain.forward(scaled())];
      const [b0, b] = [await biased.forward(x), await biased.forward(scaled())];
      for (let i = 0; i < m; i++) {
        const f = 2 ** SHIFTS[i];
        for (let j = i * n; j < (i + 1) * n; j++) {
          expect(y[j], `${dtype} row ${i} col ${j - i * n}`).toBe(Math.fround(y0[j] * f));
          if (SHIFTS[i] === 0) expect(b[j], `${dtype} row ${i}`).toBe(b0[j]);
          else expect(Math.abs(b[j] - (y0[j] * f + bias[j - i * n])), `${dtype} row ${i}`).toBeLessThanOrEqual(1e-6 * Math.abs(y0[j] * f) + 1e-6);
        }
      }
      expect(Array.from(await biased.forward(x)), 'the input was put back').toEqual(Array.from(b0));
      plain.dispose();
      biased.dispose();
    });
  }
});

describe(`huge finite inputs, quantized models (${SIMD} build)`, () => {
  // Conv 3x3 pad 1 + bias -> Relu (fused as the epilogue clamp on fp8/fpx) -> MatMul [8, 5]
  const r = rng(22);
  const onnx = new OnnxBuilder(13).input('x', [1, 4, 8, 8]).output('y')
    .init('wc', [6, 4, 3, 3], randNormal(6 * 4 * 9, r, 0.3)).init('bc', [6], randNormal(6, r, 0.1)).init('wm', [8, 5], randNormal(40, r, 0.3))
    .node('Conv', ['x', 'wc', 'bc'], 'c', { pads: [1, 1, 1, 1] }).node('Relu', ['c'], 'h').node('MatMul', ['h', 'wm'], 'y')
    .build();
  const feed = (d: Float32Array) => ({ x: { type: 'float32', dims: [1, 4, 8, 8], data: d } });
  const base = randNormal(256, rng(23));

  it('int4, ant4, nf4, fp8, fpx: ±3.4e38 in the input gives finite outputs where float32 does, within the weights\' rounding of it', async () => {
    const float = loadModel(rts.one, onnx);
    for (const scheme of SCHEMES) {
      const q = await quantizeModel(float, { scheme, speed: 'off', calibration: [feed(randNormal(256, rng(1)))] });
      for (const v of [3.4e38, -3.4e38]) {
        const d = base.slice();
        d[2 * 64 + 3 * 8 + 4] = v;
        const want = Array.from((await float.run(feed(d))).y.data), got = Array.from((await q.run(feed(d))).y.data);
        // the pixels the huge value reaches: their outputs are ~1e37, dominated by it; the rest stay small
        const big = Math.max(...want.map(Math.abs));
        expect(big, 'float32 is finite and huge').toBeGreaterThan(1e35);
        want.forEach((e, i) => {
          expect(Number.isFinite(got[i]), `${scheme} ${v} y[${i}]`).toBe(Number.isFinite(e));
          expect(Math.abs(got[i] - e), `${scheme} ${v} y[${i}]`).toBeLessThanOrEqual(0.35 * big);
        });
      }
      q.dispose();
    }
    float.dispose();
  }, 60_000);
});

describe(`huge finite inputs, static int8 input ranges (${SIMD} build)`, () => {
  const r = rng(24);
  const onnx = new OnnxBuilder(13).input('x', [1, 4, 8, 8]).output('y')
    .init('wc', [6, 4, 3, 3], randNormal(6 * 4 * 9, r, 0.3)).init('bc', [6], randNormal(6, r, 0.1))
    .node('Conv', ['x', 'wc', 'bc'], 'y', { pads: [1, 1, 1, 1] })
    .build();
  const feed = (d: Float32Array) => ({ x: { type: 'float32', dims: [1, 4, 8, 8], data: d } });
  const base = randNormal(256, rng(25));

  it('int8, int8-sparse, int4-sparse: ±3.4e38 is a ValueRangeError naming the node and the range, in either nonFinite mode; 100x beyond still saturates and runs', async () => {
    const float = loadModel(rts.one, onnx);
    for (const scheme of ['int8', 'int8-sparse', 'int4-sparse']) {
      for (const nonFinite of ['nan', 'error'] as const) {
        const q = await quantizeModel(float, { scheme, speed: 'off', nonFinite, calibration: [feed(randNormal(256, rng(1)))] });
        const want = Array.from((await q.run(feed(base))).y.data);
        for (const v of [3.4e38, -3.4e38, 1e6]) {
          const d = base.slice();
          d[2 * 64 + 3 * 8 + 4] = v;
          const e = await q.run(feed(d)).then(() => null, (err: unknown) => err);
          expect(e, `${scheme} ${nonFinite} ${v}`).toBeInstanceOf(ValueRangeError);
          expect((e as Error).message).toMatch(/Conv node '\w+': input row \d+ holds -?\d.*over 2\^16 times the range \[-?[\d.]+, [\d.]+\]/);
        }
        const d = base.slice();
        d[2 * 64 + 3 * 8 + 4] = 300; // ~100x the calibrated end: saturates, as QuantizeLinear does
        expect((await q.run(feed(d))).y.data.every(Number.isFinite), scheme).toBe(true);
        expect(Array.from((await q.run(feed(base))).y.data), `${scheme}: ordinary inputs keep their bits`).toEqual(want);
        q.dispose();
      }
    }
    float.dispose();
  }, 60_000);
});

describe(`huge finite inputs, rt.linear with static int8 input ranges (${SIMD} build)`, () => {
  // as the model layers above: rt.linear saturated 3.4e38 at the calibrated end and answered wrong
  const [m, k, n] = [4, 64, 12];
  const r = rng(26);
  const w = randNormal(k * n, r, 0.1), bias = randNormal(n, r), x = randNormal(m * k, r), calibration = randNormal(8 * k, r);
  const layers = async (nonFinite: 'nan' | 'error'): Promise<[string, Linear][]> => {
    const int8 = await rts.one.linear(w, [k, n], bias, { dtype: 'int8', activations: 'static', calibration, nonFinite });
    const data = int8.weights.data as { k: number; n: number; q: Int8Array; scales: Float32Array; input: unknown };
    return [
      ['int8 static', int8],
      // weights with their input quantization: the model layer's GEMM, and the user runner's 'static'
      ['int8 fromWeights', await Linear.fromWeights(rts.one, int8Format, data as never, bias, { nonFinite })],
      ['int8 fromWeights static', await Linear.fromWeights(rts.one, int8Format, data as never, bias, { activations: 'static', nonFinite })],
      ['int8-sparse', await rts.one.linear(w, [k, n], bias, { dtype: 'int8-sparse', calibration, nonFinite })],
      ['int4-sparse', await rts.one.linear(w, [k, n], bias, { dtype: 'int4-sparse', calibration, nonFinite })],
    ];
  };

  it('int8 static, int8-sparse, int4-sparse: ±3.4e38 is a ValueRangeError naming x, the row and the range, in either nonFinite mode; 100x beyond saturates and runs', async () => {
    for (const nonFinite of ['nan', 'error'] as const) {
      for (const [name, layer] of await layers(nonFinite)) {
        const want = Array.from(await layer.forward(x));
        for (const v of [3.4e38, -3.4e38, 1e6]) {
          const d = x.slice();
          d[2 * k + 5] = v;
          const e = await layer.forward(d).then(() => null, (err: unknown) => err);
          expect(e, `${name} ${nonFinite} ${v}`).toBeInstanceOf(ValueRangeError);
          expect((e as Error).message, name).toMatch(/^x: input row 2 holds -?\d.*over 2\^16 times the range \[-?[\d.]+, [\d.]+\]/);
        }
        const d = x.slice();
        d[2 * k + 5] = 300; // ~100x the calibrated end: saturates, as QuantizeLinear does
        expect((await layer.forward(d)).every(Number.isFinite), name).toBe(true);
        expect(Array.from(await layer.forward(x)), `${name}: ordinary inputs keep their bits`).toEqual(want);
        layer.dispose();
      }
    }
  });
});
