// An int8-quantized model against a scalar simulation of what its saved file says it computes,
// through the public API only: quantizeModel -> saveQuantized -> readSafetensors gives the int8
// weights, their scales and the input's static uint8 quantization (src/model/saved.ts, top); the
// simulation quantizes x with them (x / scale in float32, round half to even, + zero point, clamp
// to [0, 255]), takes integer dot products, dequantizes with input scale * weight scale and adds the
// bias. A slip in any of these in the layer (a zero point off by one, a wrong scale, another
// rounding) moves outputs by whole quanta, far beyond the few float32 ulps allowed here.

import { describe, expect, it } from 'vitest';
import { loadModel, quantizeModel, readSafetensors, saveQuantized, tensor } from '../src/index.js';
import { SIMD, randNormal, rng, useRuntimes } from './helpers.js';
import { OnnxBuilder } from './onnx-builder.js';

const rts = useRuntimes();

function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

describe(`int8 model vs a scalar simulation of its saved quantization (${SIMD} build)`, () => {
  it('Gemm with bias: outputs within 4 float32 ulps of the simulation, the input quantization covers the calibration range', async () => {
    const [m, k, n] = [6, 37, 19];
    const r = rng(1234);
    const w = randNormal(k * n, r, 0.3);
    const bias = randNormal(n, r, 0.5);
    const onnx = new OnnxBuilder()
      .input('x', ['m', k])
      .init('w', [k, n], w)
      .init('b', [n], bias)
      .node('Gemm', ['x', 'w', 'b'], 'y')
      .output('y')
      .build();
    // calibration on positive-shifted data, so the zero point is far from both 0 and 128
    const calib = Array.from({ length: 3 }, () => ({ x: tensor('float32', randNormal(4 * k, r).map((v) => v + 0.8), [4, k]) }));
    let lo = Infinity, hi = -Infinity;
    for (const c of calib) for (const v of c.x.data) (lo = Math.min(lo, v)), (hi = Math.max(hi, v));

    for (const [label, rt] of [['1 thread', rts.one], ['2 threads', rts.two]] as const) {
      const float = loadModel(rt, onnx);
      const q = await quantizeModel(float, { scheme: 'int8', speed: 'off', calibration: calib }); // the int8 layer is what is checked, whatever its size
      // inputs inside the calibrated range and outside it (clamped at 0 and 255)
      const x = randNormal(m * k, r).map((v) => v + 0.8);
      x[0] = 50;
      x[1] = -50;
      const got = (await q.run({ x: tensor('float32', x, [m, k]) })).y.data as Float32Array;

      const { tensors, metadata } = readSafetensors(saveQuantized(q));
      const record = JSON.parse(metadata.layers).y as { scheme: string; k: number; n: number; input: { scale: number; zeroPoint: number } };
      expect([record.scheme, record.k, record.n]).toEqual(['int8', k, n]);
      const codes = tensors.get('y/q')!.data as Int8Array; // [K, N]
      const scales = tensors.get('y/scales')!.data as Float32Array; // [N]
      const { scale: sx, zeroPoint: zx } = record.input;

      // the input quantization is the asymmetric uint8 one of the calibration range (0 included)
      expect(sx).toBe(Math.fround((hi - Math.min(lo, 0)) / 255));
      expect(zx).toBe(roundHalfEven(-Math.min(lo, 0) / sx));
      expect(zx).toBeGreaterThan(5);
      expect(zx).toBeLessThan(120);
      // the weights: symmetric int8 per column, the largest |w| of a column at ±127
      for (let j = 0; j < n; j++) {
        let mx = 0, amax = 0;
        for (let t = 0; t < k; t++) (mx = Math.max(mx, Math.abs(codes[t * n + j]))), (amax = Math.max(amax, Math.abs(w[t * n + j])));
        expect(mx).toBe(127);
        expect(Math.abs(scales[j] - amax / 127)).toBeLessThanOrEqual(amax * 2 ** -23);
      }

      const qx = Array.from(x, (v) => Math.min(255, Math.max(0, roundHalfEven(Math.fround(v / sx)) + zx)));
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < n; j++) {
          let acc = 0;
          for (let t = 0; t < k; t++) acc += (qx[i * k + t] - zx) * codes[t * n + j];
          const want = acc * sx * scales[j] + bias[j];
          const ulp = 2 ** (Math.floor(Math.log2(Math.abs(acc * sx * scales[j]) + Math.abs(bias[j]))) - 23);
          expect(Math.abs(got[i * n + j] - want), `${label} row ${i} col ${j}: got ${got[i * n + j]}, want ${want}`).toBeLessThanOrEqual(4 * ulp);
        }
      }
      q.dispose();
      float.dispose();
    }
  });
});
