// The wasm XᵀX accumulator (src/kernels/xtx.ts, assembly/gemm/f64-xtx.ts) against its scalar
// reference, HessianSum: the same bits, on random rows of every K remainder mod 4, chunk boundaries
// (255, 256, 257 rows), zero columns (ReLU, padding) and a wide dynamic range.

import { describe, expect, it } from 'vitest';
import { HessianSum } from '../src/quant/gptq.js';
import { XtxSum, XTX_CHUNK } from '../src/kernels/xtx.js';
import { randNormal, rng, useRuntimes } from './helpers.js';

const rts = useRuntimes();

function bothSums(k: number, rows: number, seed: number, zeroCols = false, range = 1) {
  const r = rng(seed);
  const x = randNormal(rows * k, r);
  for (let i = 0; i < x.length; i++) {
    x[i] *= range ** (r() * 2 - 1); // magnitudes across range^±1
    if (zeroCols && (i % k) % 3 === 1) x[i] = 0;
  }
  const ref = new HessianSum(k);
  const got = new XtxSum(rts.one, k);
  for (let i = 0; i < rows; i++) {
    ref.addRow(x, i * k);
    got.addRow(x, i * k);
  }
  return { ref, got, x };
}

describe('XtxSum (wasm f64_xtx_4x4) equals HessianSum bit for bit', () => {
  const cases: [number, number][] = [[1, 1], [3, 7], [4, 4], [5, 33], [7, 255], [8, 256], [13, 257], [64, 300], [67, 513], [130, 100], [257, 600]];
  for (const [k, rows] of cases) {
    it(`K ${k}, ${rows} rows`, () => {
      const { ref, got } = bothSums(k, rows, k * 1000 + rows, k % 2 === 1, k > 60 ? 1e6 : 1);
      expect(got.rows).toBe(rows);
      const a = ref.result(1 / rows), b = got.result(1 / rows);
      expect(Buffer.from(b.buffer).equals(Buffer.from(a.buffer))).toBe(true);
    });
  }

  it('goes on accumulating after result() (a running sum, as HessianSum)', () => {
    const k = 9;
    const { ref, got, x } = bothSums(k, XTX_CHUNK + 3, 5);
    ref.result(1);
    got.result(1);
    for (let i = 0; i < 10; i++) {
      ref.addRow(x, i * k);
      got.addRow(x, i * k);
    }
    const a = ref.result(0.5), b = got.result(0.5);
    expect(Buffer.from(b.buffer).equals(Buffer.from(a.buffer))).toBe(true);
    // and it is XᵀX: entry (2, 5) summed directly (to rounding)
    let s = 0;
    for (let r = 0; r < XTX_CHUNK + 3; r++) s += x[r * k + 2] * x[r * k + 5];
    for (let r = 0; r < 10; r++) s += x[r * k + 2] * x[r * k + 5];
    expect(b[2 * k + 5]).toBeCloseTo(s * 0.5, 9);
    expect(b[5 * k + 2]).toBe(b[2 * k + 5]);
  });

  it('frees its scratch: linear memory in use is the same before and after', () => {
    const { got } = bothSums(33, 600, 9);
    const before = rts.one.alloc(16);
    rts.one.free(before);
    got.result(1);
    const after = rts.one.alloc(16);
    rts.one.free(after);
    expect(after).toBe(before);
  });

  it('refuses a K that is not a positive integer', () => {
    expect(() => new XtxSum(rts.one, 0)).toThrow(/K must be a positive integer/);
    expect(() => new XtxSum(rts.one, 2.5)).toThrow(/K must be a positive integer/);
  });
});
