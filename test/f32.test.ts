// f32 GEMM tester: against a float64 reference with a stated tolerance, on remainder shapes.

import { describe, expect, it } from 'vitest';
import { packF32, runF32, refGemmF32 } from '../src/index.js';
import { SIMD, firstMismatch, randNormal, rng, useRuntimes } from './helpers.js';

const rts = useRuntimes();

/** |got - ref| <= 1e-5 * (sum_k |a||w| + |bias|): a float32 dot product's rounding bound, loosened. */
function checkClose(got: Float32Array, a: Float32Array, w: Float32Array, m: number, k: number, n: number, bias: Float32Array | null) {
  const ref = refGemmF32(a, w, m, k, n, bias);
  const mag = refGemmF32(a.map(Math.abs), w.map(Math.abs), m, k, n, bias?.map(Math.abs));
  for (let i = 0; i < ref.length; i++) {
    const tol = 1e-5 * mag[i] + 1e-30;
    if (!(Math.abs(got[i] - ref[i]) <= tol)) return `index ${i}: got ${got[i]}, want ${ref[i]} ± ${tol}`;
  }
  return null;
}

describe(`f32 GEMM (${SIMD} build)`, () => {
  it('matches the float64 reference within 1e-5 relative on remainder shapes', async () => {
    let seed = 1;
    for (const m of [1, 2, 3, 4, 5, 9]) {
      for (const k of [1, 2, 7, 16, 33]) {
        for (const n of [1, 7, 8, 9, 16, 17, 40]) {
          const r = rng(seed++);
          const a = randNormal(m * k, r);
          const w = randNormal(k * n, r);
          const bias = seed % 2 ? randNormal(n, r) : null;
          const pw = packF32(rts.one, w, k, n);
          const got = await runF32(rts.one, a, m, pw, bias);
          pw.dispose();
          expect(checkClose(got, a, w, m, k, n, bias), `m=${m} k=${k} n=${n}`).toBeNull();
        }
      }
    }
  });

  it('clamps to [lo, hi] and keeps NaN', async () => {
    const a = Float32Array.of(1, 2, NaN, 1);
    const w = Float32Array.of(1, -1, 3, 0.5, 2, -2); // 2 x 3
    const pw = packF32(rts.one, w, 2, 3);
    const got = await runF32(rts.one, a, 2, pw, null, -1, 4);
    pw.dispose();
    // row 0 = [1, 2]: [1 + 1, -1 + 4, 3 - 4] = [2, 3, -1], inside [-1, 4]; row 1 has a NaN
    expect(Array.from(got.slice(0, 3))).toEqual([2, 3, -1]);
    expect(Number.isNaN(got[3])).toBe(true);
  });

  it('2 threads give the same bits as 1 thread', async () => {
    const r = rng(99);
    for (const [m, k, n] of [[1, 300, 257], [37, 64, 100]] as const) {
      const a = randNormal(m * k, r);
      const w = randNormal(k * n, r);
      const p1 = packF32(rts.one, w, k, n);
      const p2 = packF32(rts.two, w, k, n);
      const one = await runF32(rts.one, a, m, p1);
      const two = await runF32(rts.two, a, m, p2);
      p1.dispose();
      p2.dispose();
      expect(firstMismatch(two, one)).toBeNull();
    }
  });
});

describe(`f32 GEMM clamp (${SIMD} build)`, () => {
  it('clamps outside values to the bounds', async () => {
    const pw = packF32(rts.one, Float32Array.of(10, -10), 1, 2);
    const got = await runF32(rts.one, Float32Array.of(1), 1, pw, null, -1, 4);
    pw.dispose();
    expect(Array.from(got)).toEqual([4, -1]);
  });
});
