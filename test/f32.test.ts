// f32 GEMM tester: against a float64 reference with a stated tolerance, on remainder shapes.

import { describe, expect, it } from 'vitest';
import { packF32, runF32, refGemmF32, type F32Weights } from '../src/kernels.js';
import { refF32Gemm } from '../src/kernels/reference/elementwise.js';
import { f32Gemv } from '../src/kernels/f32.js';
import { GEMM_K, GEMM_M, GEMM_N, GemmTester, type GemmCase, type GemmFamily } from './gemm-tester.js';
import { SIMD, firstMismatch, randNormal, rng, useRuntimes } from './helpers.js';

const rts = useRuntimes();

/** |got - ref| <= 1e-5 * (sum_k |a||w| + |bias|): a float32 dot product's rounding bound, loosened. */
function checkClose(got: Float32Array, a: Float32Array, w: Float32Array, m: number, k: number, n: number, bias: Float32Array | null, lo = -Infinity, hi = Infinity) {
  const ref = refGemmF32(a, w, m, k, n, bias);
  const mag = refGemmF32(a.map(Math.abs), w.map(Math.abs), m, k, n, bias?.map(Math.abs));
  for (let i = 0; i < ref.length; i++) {
    const tol = 1e-5 * mag[i] + 1e-30;
    const want = Math.min(Math.max(ref[i], lo), hi);
    if (!(Math.abs(got[i] - want) <= tol)) return `index ${i}: got ${got[i]}, want ${want} ± ${tol}`;
  }
  return null;
}

interface F32Data {
  m: number;
  k: number;
  n: number;
  a: Float32Array;
  /** K x N row-major */
  w: Float32Array;
  bias: Float32Array | null;
  lo: number;
  hi: number;
  transposed: boolean;
}

const transpose = (w: Float32Array, k: number, n: number) => Float32Array.from({ length: k * n }, (_, i) => w[(i % k) * n + Math.floor(i / k)]);

/**
 * f32 for the GEMM tester: bias on two cases in three, a clamp on every 4th, W packed transposed on
 * odd seeds; extremes: magnitudes near 1e15 (products near 1e30) and subnormal-sized ones.
 * Baseline: plain mul/add, so bit for bit equal to refF32Gemm; relaxed (FMA): the float64 bound.
 */
const f32Family: GemmFamily<F32Data, F32Weights> = {
  data: ({ m, k, n, seed, extremes }: GemmCase, r) => {
    const big = (len: number) => Float32Array.from({ length: len }, (_, i) => (i % 2 ? -1 : 1) * (i % 5 === 3 ? 1e-20 : 1e15) * (0.5 + r()));
    const [lo, hi] = seed % 4 === 0 ? [-0.5, 0.75] : [-Infinity, Infinity];
    return { m, k, n, a: extremes ? big(m * k) : randNormal(m * k, r), w: extremes ? big(k * n) : randNormal(k * n, r), bias: seed % 3 ? randNormal(n, r) : null, lo, hi, transposed: seed % 2 === 1 };
  },
  pack: (rt, d) => (d.transposed ? packF32(rt, transpose(d.w, d.k, d.n), d.k, d.n, true) : packF32(rt, d.w, d.k, d.n)),
  run: (rt, d, w) => runF32(rt, d.a, d.m, w, d.bias, d.lo, d.hi),
  ref: (d) => refF32Gemm(d.a, d.w, d.m, d.k, d.n, d.bias, d.lo, d.hi),
  check: (got, want, d) => {
    const close = checkClose(got as Float32Array, d.a, d.w, d.m, d.k, d.n, d.bias, d.lo, d.hi);
    return close ?? (SIMD === 'baseline' ? firstMismatch(got, want) : null);
  },
};

describe(`f32 GEMM (${SIMD} build)`, () => {
  it(`the GEMM tester's shapes (and M 9, K 7 16 33, N 40), W as K x N or transposed, bias, clamp, extremes: within 1e-5 relative of float64${SIMD === 'baseline' ? ', and bit for bit equal to the plain float32 reference' : ''}, 1 and 2 threads`, async () => {
    const tester = new GemmTester().m(...GEMM_M, 9).k(...GEMM_K, 7, 16, 33).n(...GEMM_N, 40);
    const { runs, failures } = await tester.test(f32Family, [rts.one, rts.two]);
    expect(failures).toEqual([]);
    expect(runs).toBe(2 * tester.cases().length);
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

describe(`f32 GEMV with its bias as its output (${SIMD} build)`, () => {
  // the recurrent layer accumulates in place, out = v·R + out (src/model/recurrent-layer.ts): every
  // column's bias must be read before any row store of the tile, aliased short-strip rows included
  it('out = a·W + out for every N remainder (the wide panel pair and the 4x8 tail), K 1 to 17', async () => {
    const r = rng(2026);
    const rt = rts.one;
    for (const k of [1, 3, 17]) {
      for (const n of [1, 7, 8, 9, 15, 16, 17, 24, 25, 33, 40]) {
        const a = randNormal(k, r), w = randNormal(k * n, r), b = randNormal(Math.ceil(n / 8) * 8, r);
        const pw = packF32(rt, w, k, n);
        const pa = rt.alloc(k * 4 + 64), pc = rt.alloc(b.length * 4 + 64);
        rt.view(Float32Array, pa, k).set(a);
        rt.view(Float32Array, pc, b.length).set(b);
        f32Gemv(rt, pa, pw, pc, pc);
        const got = rt.read(Float32Array, pc, n), want = refGemmF32(a, w, 1, k, n, b);
        for (const p of [pa, pc]) rt.free(p);
        pw.dispose();
        const worst = Math.max(...Array.from(got, (v, i) => Math.abs(v - want[i]) / Math.max(1, Math.abs(want[i]))));
        expect(worst, `K ${k}, N ${n}`).toBeLessThan(1e-5);
      }
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
