// qb4 (W4A8) kernel tester: seeded 4-bit blocks and float activations, packed for the build under
// test, checked bit-exactly against the scalar float32 reference of the kernel's arithmetic, over
// remainder shapes, every block size, symmetric and asymmetric blocks, K not a multiple of the
// block, per-row and per-block activation scales, 1 and 2 threads; plus an error budget vs float.

import { describe, expect, it } from 'vitest';
import { compareTo, dequantizeInt4, quantizeInt4Rtn, type Int4Blocks } from '../src/index.js';
import { packQb4, refQb4, runQb4, runQb4F32, refQb4F32, refGemmF32, type Qb4Weights } from '../src/kernels.js';
import { blocksOf } from '../src/quant/int4.js';
import { GEMM_K, GemmTester, type GemmFamily } from './gemm-tester.js';
import { SIMD, firstMismatch, randNormal, rng, useRuntimes } from './helpers.js';

const rts = useRuntimes();

function randomBlocks(n: number, k: number, bs: number, asym: boolean, r: () => number, extremes = false): Int4Blocks {
  const nb = blocksOf(k, bs);
  return {
    k, n, blockSize: bs,
    q: Uint8Array.from({ length: n * k }, (_, i) => (extremes ? (i % 3 ? 15 : 0) : Math.floor(r() * 16))),
    scales: Float32Array.from({ length: n * nb }, () => 0.001 + r() * 0.05),
    zeroPoints: asym ? Uint8Array.from({ length: n * nb }, (_, i) => (extremes ? (i % 2 ? 15 : 0) : Math.floor(r() * 16))) : null,
  };
}

interface Qb4Data {
  m: number;
  w: Int4Blocks;
  x: Float32Array;
  bias: Float32Array | null;
}

/** qb4 data for a GEMM tester case: symmetric or asymmetric blocks by the seed; extremes: nibbles and zero points 0/15, activations ±1e4 */
function qb4Data(bs: number) {
  return ({ m, k, n, seed, extremes }: { m: number; k: number; n: number; seed: number; extremes: boolean }, r: () => number): Qb4Data => ({
    m,
    w: randomBlocks(n, k, bs, seed % 2 === 1, r, extremes),
    x: extremes ? Float32Array.from({ length: m * k }, (_, i) => (i % 3 ? 1e4 : -1e4)) : randNormal(m * k, r),
    bias: seed % 3 ? randNormal(n, r) : null,
  });
}

/** K of the shared list and around the block: below, at, above, two blocks, a partial third */
const blockKs = (bs: number) => [...new Set([...GEMM_K, bs - 1, bs, bs + 1, 2 * bs, 3 * bs + 5])].sort((a, b) => a - b);

/** W4A8: both activation schemes per case (their outputs one after the other), against refQb4 */
const w4a8 = (bs: number, layout?: 's4'): GemmFamily<Qb4Data, Qb4Weights> => ({
  data: qb4Data(bs),
  pack: (rt, d) => packQb4(rt, d.w, layout ? { layout } : {}),
  run: async (rt, d, p) => [...(await runQb4(rt, d.x, d.m, p, { bias: d.bias, activations: 'per-row' })), ...(await runQb4(rt, d.x, d.m, p, { bias: d.bias, activations: 'per-block' }))],
  ref: (d) => [...refQb4(d.x, d.m, d.w, d.bias, 'per-row'), ...refQb4(d.x, d.m, d.w, d.bias, 'per-block')],
});

describe(`qb4 on the GEMM tester's shapes (${SIMD} build)`, () => {
  for (const bs of [16, 32, 64, 128, 256]) {
    it(`W4A8 block ${bs}: bit for bit equal to refQb4 (per-row and per-block activations), K around the block, extremes, 1 and 2 threads`, async () => {
      const { runs, failures } = await new GemmTester().k(...blockKs(bs)).seed(bs * 1000).test(w4a8(bs), [rts.one, rts.two]);
      expect(failures).toEqual([]);
      expect(runs).toBeGreaterThan(1000);
    });
  }

  it.runIf(SIMD === 'relaxed')('W4A8 on the baseline s4 layout, on the relaxed build too (blocks 32 and 256)', async () => {
    for (const bs of [32, 256]) {
      const { failures } = await new GemmTester().k(...blockKs(bs)).seed(bs * 1000 + 1).test(w4a8(bs, 's4'), [rts.one]);
      expect(failures, `bs=${bs}`).toEqual([]);
    }
  });

  it('W4A32 (float activations): bit for bit equal to refQb4F32, blocks 16 and 128', async () => {
    for (const bs of [16, 128]) {
      const family: GemmFamily<Qb4Data, Qb4Weights> = {
        data: qb4Data(bs),
        pack: (rt, d) => packQb4(rt, d.w),
        run: (rt, d, p) => runQb4F32(rt, d.x, d.m, p, d.bias),
        ref: (d) => refQb4F32(d.x, d.m, d.w, d.bias),
      };
      const { failures } = await new GemmTester().k(...blockKs(bs)).seed(bs * 1000 + 2).test(family, [rts.one, rts.two]);
      expect(failures, `bs=${bs}`).toEqual([]);
    }
  });
});

describe(`qb4 W4A8 kernels (${SIMD} build)`, () => {
  it('matches the float32 reference bit for bit on remainder shapes, all block sizes, both zero-point modes', async () => {
    let seed = 1;
    for (const bs of [16, 32, 64, 128, 256]) {
      for (const [m, k, n] of [[1, bs, 8], [1, 3 * bs + 5, 17], [2, bs + 1, 9], [5, 2 * bs, 1], [4, bs - 3, 16], [7, 300, 33], [3, 1, 21]] as const) {
        for (const asym of [false, true]) {
          const r = rng(seed++);
          const w = randomBlocks(n, k, bs, asym, r);
          const x = randNormal(m * k, r);
          const bias = seed % 2 ? randNormal(n, r) : null;
          const pw = packQb4(rts.one, w);
          expect(pw.layout).toBe(SIMD === 'relaxed' ? 'c4' : 's4');
          for (const scheme of ['per-row', 'per-block'] as const) {
            const got = await runQb4(rts.one, x, m, pw, { bias, activations: scheme });
            const want = refQb4(x, m, w, bias, scheme);
            expect(firstMismatch(got, want), `bs=${bs} m=${m} k=${k} n=${n} asym=${asym} ${scheme}`).toBeNull();
          }
          pw.dispose();
        }
      }
    }
  });

  it('is exact on extreme nibbles and zero points (0 and 15) and on saturated activations', async () => {
    const r = rng(77);
    for (const [m, k, n] of [[1, 64, 24], [6, 100, 13]] as const) {
      const w = randomBlocks(n, k, 32, true, r, true);
      const x = Float32Array.from({ length: m * k }, (_, i) => (i % 2 ? 1e4 : -1e4));
      const pw = packQb4(rts.one, w);
      const got = await runQb4(rts.one, x, m, pw);
      pw.dispose();
      expect(firstMismatch(got, refQb4(x, m, w, null, 'per-row'))).toBeNull();
    }
  });

  it.runIf(SIMD === 'relaxed')('the s4 shift layout (baseline) and the c4 layout (relaxed) give the same bits, W4A8 and W4A32', async () => {
    const r = rng(91);
    for (const [m, k, n] of [[1, 200, 37], [5, 96, 20]] as const) {
      for (const asym of [false, true]) {
        const w = randomBlocks(n, k, 32, asym, r);
        const x = randNormal(m * k, r);
        const c4 = packQb4(rts.one, w);
        const s4 = packQb4(rts.one, w, { layout: 's4' });
        expect([c4.layout, s4.layout]).toEqual(['c4', 's4']);
        for (const scheme of ['per-row', 'per-block'] as const) {
          expect(firstMismatch(await runQb4(rts.one, x, m, s4, { activations: scheme }), await runQb4(rts.one, x, m, c4, { activations: scheme })), `m=${m} ${scheme}`).toBeNull();
        }
        expect(firstMismatch(await runQb4F32(rts.one, x, m, s4), await runQb4F32(rts.one, x, m, c4))).toBeNull();
        c4.dispose();
        s4.dispose();
      }
    }
  });

  it('2 threads give the same bits as 1 thread', async () => {
    const r = rng(5);
    for (const [m, k, n] of [[1, 512, 300], [9, 256, 100]] as const) {
      const w = randomBlocks(n, k, 32, false, r);
      const x = randNormal(m * k, r);
      const p1 = packQb4(rts.one, w);
      const p2 = packQb4(rts.two, w);
      expect(firstMismatch(await runQb4(rts.two, x, m, p2), await runQb4(rts.one, x, m, p1))).toBeNull();
      p1.dispose();
      p2.dispose();
    }
  });

  it('4-bit RTN weights with int8 activations stay within budget of the float32 layer', async () => {
    // LLM-like layer: weights N(0, 0.02), activations N(0, 1); block 32, symmetric with clip search
    const r = rng(2024);
    const k = 512;
    const n = 64;
    const m = 4;
    const wf = randNormal(n * k, r, 0.02);
    const x = randNormal(m * k, r);
    const blocks = quantizeInt4Rtn(wf, n, k, { blockSize: 32 });
    const pw = packQb4(rts.one, blocks);
    const got = await runQb4(rts.one, x, m, pw, { activations: 'per-block' });
    pw.dispose();
    // float reference: x · Wᵀ with W [N][K]
    const wt = new Float32Array(k * n);
    for (let j = 0; j < n; j++) for (let t = 0; t < k; t++) wt[t * n + j] = wf[j * k + t];
    const ref = refGemmF32(x, wt, m, k, n);
    const err = compareTo(ref, got);
    // measured ~20 dB; 4-bit weights put it near their own SQNR
    expect(err.sqnrDb).toBeGreaterThan(17);
    expect(err.cosine).toBeGreaterThan(0.99);
    // and the kernel adds almost nothing to the error of the 4-bit weights themselves
    const deq = dequantizeInt4(blocks);
    const dqt = new Float32Array(k * n);
    for (let j = 0; j < n; j++) for (let t = 0; t < k; t++) dqt[t * n + j] = deq[j * k + t];
    const wOnly = compareTo(ref, refGemmF32(x, dqt, m, k, n));
    expect(err.sqnrDb).toBeGreaterThan(wOnly.sqnrDb - 1);
  });
});

describe(`qb4 W4A32 (float activations) GEMV (${SIMD} build)`, () => {
  it('matches its float32 reference bit for bit (same bits from both nibble layouts), all block sizes, both zero-point modes', async () => {
    let seed = 500;
    for (const bs of [16, 32, 64, 128, 256]) {
      for (const [m, k, n] of [[1, bs, 8], [1, 3 * bs + 5, 17], [2, bs - 3, 9], [3, 300, 33]] as const) {
        for (const asym of [false, true]) {
          const r = rng(seed++);
          const w = randomBlocks(n, k, bs, asym, r);
          const x = randNormal(m * k, r);
          const bias = seed % 2 ? randNormal(n, r) : null;
          const pw = packQb4(rts.one, w);
          const got = await runQb4F32(rts.one, x, m, pw, bias);
          pw.dispose();
          expect(firstMismatch(got, refQb4F32(x, m, w, bias)), `bs=${bs} m=${m} k=${k} n=${n} asym=${asym}`).toBeNull();
        }
      }
    }
  });

  it('is more accurate than W4A8 against the dequantized weights in float64, and 2 threads agree (the GEMV and the multi-row path)', async () => {
    for (const m of [2, 8]) await moreAccurateThanW4A8(m);
  });

  async function moreAccurateThanW4A8(m: number) {
    const r = rng(31);
    const [k, n] = [1024, 48];
    const w = randomBlocks(n, k, 32, false, r);
    const x = randNormal(m * k, r);
    const deq = dequantizeInt4(w);
    const dqt = new Float32Array(k * n);
    for (let j = 0; j < n; j++) for (let t = 0; t < k; t++) dqt[t * n + j] = deq[j * k + t];
    const exact = refGemmF32(x, dqt, m, k, n);
    const p1 = packQb4(rts.one, w);
    const p2 = packQb4(rts.two, w);
    const f32 = await runQb4F32(rts.one, x, m, p1);
    const a8 = await runQb4(rts.one, x, m, p1, { activations: 'per-block' });
    expect(firstMismatch(await runQb4F32(rts.two, x, m, p2), f32)).toBeNull();
    p1.dispose();
    p2.dispose();
    const eF32 = compareTo(exact, f32).sqnrDb;
    const eA8 = compareTo(exact, a8).sqnrDb;
    // measured: W4A32 ~120 dB (float32 rounding only), W4A8 ~38 dB (int8 activations)
    expect(eF32, `m=${m}`).toBeGreaterThan(100);
    expect(eF32, `m=${m}`).toBeGreaterThan(eA8 + 40);
  }
});
