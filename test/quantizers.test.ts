// Unit tests with stated error budgets for the quantizers of src/quant that had none of their own:
// the 8-bit parameters (q8.ts) and the round-to-nearest 4-bit blocks (int4.ts). Each checks exact
// scales and zero points on known inputs, the rounding mode (half to even) on exact ties, the
// orientation (per column of W [K, N] for int8, per row and block of W [N, K] for int4), block
// boundaries with K not a multiple of the block, and the round-trip error: at most half a step per
// element, a whole step only where the grid's end clamps. (fp8, fpx, ant and gptq have their own
// files: fp8.test.ts, fpx.test.ts, ant.test.ts, gptq.test.ts.)

import { describe, expect, it } from 'vitest';
import { dequantizeInt4, dynamicQuantParams, quantizeInt4Rtn, uint8Range, ValueRangeError } from '../src/index.js';
import { quantizeColumnsSymmetric, symmetricColumnScales } from '../src/quant/q8.js';
import { randNormal, rng } from './helpers.js';

const f = Math.fround;

/** round half to even, written out here so the tests do not take the library's word for it */
function rhe(v: number): number {
  const fl = Math.floor(v);
  const d = v - fl;
  return d < 0.5 ? fl : d > 0.5 ? fl + 1 : fl % 2 === 0 ? fl : fl + 1;
}

describe('static uint8 activation ranges (quant/activation-range.ts)', () => {
  it('uint8Range: the range widened to hold 0, 255 steps, the zero point rounded half to even', () => {
    expect(uint8Range(-1, 3)).toEqual({ scale: f(4 / 255), zeroPoint: 64 }); // 1 / (4/255) = 63.75
    expect(uint8Range(2, 5)).toEqual({ scale: f(5 / 255), zeroPoint: 0 }); // widened to [0, 5]
    expect(uint8Range(-5, -2)).toEqual({ scale: f(5 / 255), zeroPoint: 255 }); // widened to [-5, 0]
    expect(uint8Range(2, 2)).toEqual({ scale: f(2 / 255), zeroPoint: 0 }); // one value: min = max is a range
    expect(uint8Range(0, 0)).toEqual({ scale: 1, zeroPoint: 0 }); // nothing but zeros: scale 1, not 0
    expect(uint8Range(-2.5, 252.5)).toEqual({ scale: 1, zeroPoint: 2 }); // 2.5 -> 2
    expect(uint8Range(-3.5, 251.5)).toEqual({ scale: 1, zeroPoint: 4 }); // 3.5 -> 4
  });

  it('uint8Range: a range that is not finite, or upside down, is a ValueRangeError', () => {
    for (const [lo, hi] of [[NaN, 1], [0, NaN], [-Infinity, 1], [0, Infinity], [2, 1]]) {
      expect(() => uint8Range(lo, hi), `${lo}, ${hi}`).toThrow(ValueRangeError);
      expect(() => uint8Range(lo, hi), `${lo}, ${hi}`).toThrow(/activation range .* must be finite with min <= max/);
    }
  });
});

describe('8-bit parameters (quant/q8.ts)', () => {
  it('dynamicQuantParams: uint8 scale and zero point exact on known ranges, 0 always in range, ties to even', () => {
    expect(dynamicQuantParams(-1, 3, 0, 255)).toEqual({ scale: f(4 / 255), zeroPoint: 64 }); // 1 / (4/255) = 63.75
    expect(dynamicQuantParams(2, 5, 0, 255)).toEqual({ scale: f(5 / 255), zeroPoint: 0 }); // widened to [0, 5]
    expect(dynamicQuantParams(-5, -2, 0, 255)).toEqual({ scale: f(5 / 255), zeroPoint: 255 }); // widened to [-5, 0]
    expect(dynamicQuantParams(0, 0, 0, 255)).toEqual({ scale: 1, zeroPoint: 0 }); // empty range
    // scale 1 exactly: the zero point is -min, 2.5 -> 2 and 3.5 -> 4 (half to even), 2.25 -> 2
    expect(dynamicQuantParams(-2.5, 252.5, 0, 255)).toEqual({ scale: 1, zeroPoint: 2 });
    expect(dynamicQuantParams(-3.5, 251.5, 0, 255)).toEqual({ scale: 1, zeroPoint: 4 });
    expect(dynamicQuantParams(-2.25, 252.75, 0, 255)).toEqual({ scale: 1, zeroPoint: 2 });
    // int8: the zero point is qmin - min / scale
    expect(dynamicQuantParams(-10.5, 244.5, -128, 127)).toEqual({ scale: 1, zeroPoint: -118 }); // -117.5 -> -118
    expect(dynamicQuantParams(-11.5, 243.5, -128, 127)).toEqual({ scale: 1, zeroPoint: -116 }); // -116.5 -> -116
  });

  it('dynamicQuantParams: x quantized with them round-trips within scale/2 over the whole range', () => {
    const r = rng(11);
    for (let t = 0; t < 200; t++) {
      const lo = -5 * r(), hi = 5 * r();
      const { scale, zeroPoint } = dynamicQuantParams(lo, hi, 0, 255);
      for (let i = 0; i <= 20; i++) {
        const x = f(lo + ((hi - lo) * i) / 20);
        const q = Math.min(255, Math.max(0, rhe(f(x / scale)) + zeroPoint));
        // the zero point's rounding shifts the grid by up to half a step, so the ends may clamp: 1 step there
        const err = Math.abs((q - zeroPoint) * scale - x);
        expect(err, `[${lo}, ${hi}] x=${x}`).toBeLessThanOrEqual(scale * (q === 0 || q === 255 ? 1 : 0.5) * (1 + 1e-6));
      }
      // 0 is exact (zero padding stays zero)
      expect(Math.min(255, Math.max(0, rhe(0 / scale) + zeroPoint)) - zeroPoint).toBe(0);
    }
  });

  it('symmetricColumnScales: max |W[:, j]| / qmax per column of W [K, N] (not per row), 1 for a zero column', () => {
    // K = 3 rows, N = 4 columns; the row maxima (2, 4, 3) differ from the column maxima (4, 3, 0, 0.75)
    const w = Float32Array.of(1, -2, 0, 0.5, -4, 1, 0, 0.25, 2, 3, 0, -0.75);
    expect(Array.from(symmetricColumnScales(w, 3, 4, 127))).toEqual([f(4 / 127), f(3 / 127), 1, f(0.75 / 127)]);
    expect(Array.from(symmetricColumnScales(w, 3, 4, 63))).toEqual([f(4 / 63), f(3 / 63), 1, f(0.75 / 63)]);
  });

  it('quantizeColumnsSymmetric: the column maximum at ±qmax, ties to even, round trip within scale/2 per element', () => {
    // a column with scale 2^-4 exactly (max 127/16): ties at 2.5, 3.5, -2.5, -3.5, 0.5 steps
    const steps = [127, 2.5, 3.5, -2.5, -3.5, 0.5, -127, 1.25];
    const w = Float32Array.from(steps, (s) => s / 16);
    const scales = symmetricColumnScales(w, steps.length, 1, 127);
    expect(scales[0]).toBe(1 / 16);
    expect(Array.from(quantizeColumnsSymmetric(w, steps.length, 1, scales, 127))).toEqual([127, 2, 4, -2, -4, 0, -127, 1]);

    const r = rng(12);
    for (const [k, n, qmax] of [[50, 9, 127], [7, 33, 63], [1, 5, 127]] as const) {
      const x = randNormal(k * n, r);
      for (let j = 0; j < n; j++) x[j] *= 1 + j; // columns of different ranges
      const s = symmetricColumnScales(x, k, n, qmax);
      const q = quantizeColumnsSymmetric(x, k, n, s, qmax);
      for (let j = 0; j < n; j++) {
        let top = 0;
        for (let i = 0; i < k; i++) {
          const e = Math.abs(q[i * n + j] * s[j] - x[i * n + j]);
          expect(e, `k=${k} n=${n} [${i}][${j}]`).toBeLessThanOrEqual((s[j] / 2) * (1 + 1e-6));
          top = Math.max(top, Math.abs(q[i * n + j]));
        }
        expect(top, `column ${j}`).toBe(qmax);
      }
    }
  });
});

describe('round-to-nearest 4-bit blocks (quant/int4.ts)', () => {
  it('known blocks: symmetric scale = (largest-magnitude value) / -8 with zero point 8, asymmetric scale = range / 15 with zero point round(-min / scale)', () => {
    const w = Float32Array.of(1, -2, 0.5, 3);
    const sym = quantizeInt4Rtn(w, 1, 4, { blockSize: 16, clipSearch: false });
    expect(sym.scales[0]).toBe(-0.375); // 3 / -8
    expect(sym.zeroPoints).toBeNull();
    expect(Array.from(sym.q)).toEqual([5, 13, 7, 0]); // round(x / -0.375) + 8: -2.67, 5.33, -1.33, -8
    const asym = quantizeInt4Rtn(w, 1, 4, { blockSize: 16, scheme: 'asymmetric', clipSearch: false });
    expect(asym.scales[0]).toBe(f(5 / 15));
    expect(Array.from(asym.zeroPoints!)).toEqual([6]); // 2 / (1/3)
    expect(Array.from(asym.q)).toEqual([9, 0, 7, 15]);
    // an all-positive block: the range is widened to include 0, zero point 0
    const pos = quantizeInt4Rtn(Float32Array.of(1, 2, 3), 1, 3, { blockSize: 16, scheme: 'asymmetric', clipSearch: false });
    expect([pos.scales[0], pos.zeroPoints![0]]).toEqual([f(3 / 15), 0]);
  });

  it('rounds ties to even (scale 1: the block maximum at -8)', () => {
    const w = Float32Array.of(-8, 2.5, 3.5, -2.5, 0.5, -0.5, 6.5, 1.5);
    const b = quantizeInt4Rtn(w, 1, 8, { blockSize: 16, clipSearch: false });
    expect(b.scales[0]).toBe(1);
    expect(Array.from(b.q)).toEqual([0, 10, 12, 6, 8, 8, 14, 10]);
  });

  it('each block of each row of W [N, K] gets the scale of its own values, the last block partial (K = 70, 100 in blocks of 32 / 64)', () => {
    const r = rng(21);
    for (const [n, k, bs] of [[3, 70, 32], [5, 100, 64], [2, 16, 16], [1, 1, 16]] as const) {
      const nb = Math.ceil(k / bs);
      const w = randNormal(n * k, r);
      // every (row, block) a different magnitude, so a row/column or block-boundary slip changes scales
      for (let j = 0; j < n; j++) for (let t = 0; t < k; t++) w[j * k + t] *= (1 + j) * (1 + 3 * Math.floor(t / bs));
      for (const scheme of ['symmetric', 'asymmetric'] as const) {
        const b = quantizeInt4Rtn(w, n, k, { blockSize: bs, scheme, clipSearch: false });
        expect(b.scales.length).toBe(n * nb);
        const deq = dequantizeInt4(b);
        for (let j = 0; j < n; j++) {
          for (let blk = 0; blk < nb; blk++) {
            const vals = Array.from(w.subarray(j * k + blk * bs, j * k + Math.min(k, (blk + 1) * bs)));
            const lo = Math.min(...vals, 0), hi = Math.max(...vals, 0);
            const big = vals.reduce((a, v) => (Math.abs(v) > Math.abs(a) ? v : a), 0);
            const s = scheme === 'symmetric' ? f(big / -8) : f((hi - lo) / 15);
            const z = scheme === 'symmetric' ? 8 : Math.min(15, Math.max(0, rhe(-lo / s)));
            const where = `${scheme} n=${n} k=${k} bs=${bs} row ${j} block ${blk}`;
            expect(b.scales[j * nb + blk], where).toBe(s);
            if (b.zeroPoints) expect(b.zeroPoints[j * nb + blk], where).toBe(z);
            vals.forEach((v, i) => {
              const t = j * k + blk * bs + i;
              const unclamped = rhe(v / s) + z;
              expect(b.q[t], `${where} element ${i}`).toBe(Math.min(15, Math.max(0, unclamped)));
              // budget: half a step; a whole step where the grid's end clamps (symmetric: the value of
              // opposite sign to the maximum rounding to +8; asymmetric: the shifted grid's ends)
              const budget = Math.abs(s) * (unclamped > 15 || unclamped < 0 ? 1 : 0.5) * (1 + 1e-6);
              expect(Math.abs(deq[t] - v), `${where} element ${i}`).toBeLessThanOrEqual(budget);
            });
          }
        }
      }
    }
  });
});
