// GPTQ onto 8-bit float weights (fp8's E4M3FN / E5M2, fpx's splits): lower output error than
// round to nearest on held-out correlated inputs, the same scales and code layout as quantizeF8w,
// exactly round to nearest when the Hessian is diagonal, given scales kept, bad input typed.

import { describe, expect, it } from 'vitest';
import { ShapeError, ValueRangeError, calibrationHessian, quantizeF8wGptq } from '../src/index.js';
import { dequantizeF8w, quantizeF8w, type F8wFormat, type F8wQuantized } from '../src/quant/fp8-weights.js';
import { randNormal, rng } from './helpers.js';

// correlated inputs with uneven channel energy, as in test/gptq.test.ts (smaller)
const K = 96;
const N = 24;
const r = rng(7);
const mix = randNormal(K * K, r, 1 / Math.sqrt(K));
const channel = Float64Array.from(randNormal(K, r, 0.5), (v) => Math.exp(v));
function inputs(rows: number): Float32Array {
  const z = randNormal(rows * K, r);
  const x = new Float32Array(rows * K);
  for (let i = 0; i < rows; i++) {
    for (let t = 0; t < K; t++) {
      let a = 0;
      for (let u = 0; u < K; u++) a += z[i * K + u] * mix[u * K + t];
      x[i * K + t] = a * channel[t];
    }
  }
  return x;
}
const calib = inputs(400);
const heldOut = inputs(400);
const H = calibrationHessian(calib, K);
const W = randNormal(N * K, r, 0.05); // [N][K]

/** relative output MSE of x (W − Wq)ᵀ; q's codes are K x N */
function outputError(q: F8wQuantized, x: Float32Array): number {
  const wq = dequantizeF8w(q); // K x N
  let e = 0;
  let p = 0;
  for (let i = 0; i < x.length / K; i++) {
    for (let j = 0; j < N; j++) {
      let a = 0;
      let b = 0;
      for (let t = 0; t < K; t++) {
        a += x[i * K + t] * (W[j * K + t] - wq[t * N + j]);
        b += x[i * K + t] * W[j * K + t];
      }
      e += a * a;
      p += b * b;
    }
  }
  return e / p;
}

describe('GPTQ onto FP8 grids', () => {
  const formats: F8wFormat[] = ['e4m3fn', 'e5m2', 'E3M4', 'E2M5'];
  for (const format of formats) {
    it(`${format}: below round to nearest on held-out inputs, same scales and layout`, () => {
      const rtn = quantizeF8w(W, K, N, { format, transposed: true });
      const gptq = quantizeF8wGptq(W, N, K, format, H);
      const act = quantizeF8wGptq(W, N, K, format, H, { actOrder: true });
      expect(gptq.format).toBe(format);
      expect([gptq.k, gptq.n]).toEqual([K, N]);
      expect(Array.from(gptq.scales)).toEqual(Array.from(rtn.scales)); // absmax / max of the unquantized channel
      const [e0, e1, e2] = [outputError(rtn, heldOut), outputError(gptq, heldOut), outputError(act, heldOut)];
      const report = `rtn ${e0.toExponential(2)}, gptq ${e1.toExponential(2)}, act-order ${e2.toExponential(2)}`;
      // measured (relative output MSE, rtn / gptq / act-order): e4m3fn 6.7e-4 / 3.5e-4 / 2.2e-4,
      // e5m2 2.5e-3 / 1.4e-3 / 9.1e-4, E3M4 1.6e-4 / 8.0e-5 / 5.2e-5, E2M5 4.2e-5 / 2.1e-5 / 1.4e-5
      expect(e1, report).toBeLessThan(0.65 * e0);
      expect(e2, report).toBeLessThan(0.5 * e0);
      expect(dequantizeF8w(gptq).every(Number.isFinite)).toBe(true);
    });
  }

  it('a diagonal Hessian leaves nothing to compensate: exactly round to nearest', () => {
    const d = new Float64Array(K * K);
    for (let i = 0; i < K; i++) d[i * K + i] = 1 + i / K;
    for (const format of ['e4m3fn', 'E3M4'] as const) {
      const rtn = quantizeF8w(W, K, N, { format, transposed: true });
      const gptq = quantizeF8wGptq(W, N, K, format, d, { dampPercent: 0 });
      expect(Array.from(gptq.codes), format).toEqual(Array.from(rtn.codes));
    }
  });

  it('given scales are the ones used', () => {
    const scales = Float32Array.from({ length: N }, (_, j) => 0.0004 * (1 + j / N));
    const q = quantizeF8wGptq(W, N, K, 'E3M4', H, { scales });
    expect(Array.from(q.scales)).toEqual(Array.from(scales));
    const rtn = quantizeF8w(W, K, N, { format: 'E3M4', transposed: true, scales });
    expect(outputError(q, heldOut)).toBeLessThan(outputError(rtn, heldOut));
  });

  it('bad input is a typed error naming it', () => {
    const w = Float32Array.from(W);
    w[5] = NaN;
    expect(() => quantizeF8wGptq(w, N, K, 'e4m3fn', H)).toThrow(ValueRangeError);
    expect(() => quantizeF8wGptq(w, N, K, 'e4m3fn', H)).toThrow(/W\[0\]\[5\] is NaN/);
    expect(() => quantizeF8wGptq(W, N, K + 1, 'e4m3fn', H)).toThrow(ShapeError);
    expect(() => quantizeF8wGptq(W, N, K, 'e4m3fn', H.subarray(1))).toThrow(/K x K|K×K|K \* K|expected/);
    expect(() => quantizeF8wGptq(W, N, K, 'e4m3fn', H, { scales: new Float32Array(N - 1) })).toThrow(/scales: expected a Float32Array of N = 24/);
    expect(() => quantizeF8wGptq(W, N, K, 'e4m3fn', H, { scales: new Float32Array(N) })).toThrow(/scales: element 0 is 0/);
  });
});
