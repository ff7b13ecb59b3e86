// Row and column splits across threads (rt.parallelGemm, rt.parallelRows, the split staging passes):
// 2 threads must give the same bits as 1 thread, whichever way a GEMM is split, for M not a
// multiple of the 4-row tile, tiny M (one tile, a lone row), N below one panel, and the piece
// boundaries themselves (a short last piece joins the one before it).

import { afterEach, describe, expect, it } from 'vitest';
import { createRuntime } from '../src/index.js';
import { packF32, runF32, packQs8, runQs8, refMatMulInteger, refDequantizeAcc } from '../src/kernels.js';
import { qs8StageF32 } from '../src/kernels/qs8.js';
import { SIMD, firstMismatch, randInt8, randNormal, randUint8, rng, useRuntimes } from './helpers.js';

const rts = useRuntimes();

// [m, k, n]: M not divisible by 4 or by the pieces, tiny M, N < one panel, N not a panel multiple,
// tall-and-narrow (convolution-like) and wide shapes
const SHAPES = [
  [1, 37, 5], [2, 16, 3], [3, 9, 40], [5, 33, 7], [9, 20, 8], [13, 64, 1], [30, 17, 6],
  [37, 64, 100], [61, 48, 24], [130, 40, 16], [257, 24, 64], [64, 96, 200],
] as const;
const SPLITS = ['auto', 'rows', 'columns'] as const;

afterEach(() => {
  rts.two.splitGemm = 'auto';
});

describe(`row and column splits (${SIMD} build)`, () => {
  it('splits [0, m) into pieces of whole tiles whose short tail joins the piece before it', async () => {
    const seen: [number, number][][] = [];
    for (const m of [0, 1, 3, 4, 5, 9, 17, 33, 35, 100]) {
      const pieces: [number, number][] = [];
      await rts.two.parallelRows(m, 4, (m0, m1) => {
        pieces.push([m0, m1]);
        return ['f32_copy_rows', [0, 0, 0, 0, 0, 0]];
      });
      seen.push(pieces);
      // the pieces cover [0, m) in order, start at multiples of 4, and none but a lone one is under 4 rows
      let at = 0;
      for (const [a, b] of pieces) {
        expect(a, `m=${m}`).toBe(at);
        expect(a % 4, `m=${m}`).toBe(0);
        if (pieces.length > 1) expect(b - a, `m=${m}: ${JSON.stringify(pieces)}`).toBeGreaterThanOrEqual(4);
        at = b;
      }
      expect(at, `m=${m}`).toBe(m);
    }
    // the 2-thread runtime really splits (several pieces) once there are rows to share
    expect(seen[seen.length - 1].length).toBeGreaterThan(1);
  });

  it('f32 GEMM: 2 threads give the same bits as 1 thread, split by rows, by columns, or as it picks', async () => {
    const r = rng(4100);
    for (const [m, k, n] of SHAPES) {
      const a = randNormal(m * k, r);
      const w = randNormal(k * n, r);
      const bias = randNormal(n, r);
      const p1 = packF32(rts.one, w, k, n);
      const p2 = packF32(rts.two, w, k, n);
      const one = await runF32(rts.one, a, m, p1, bias, -2, 3);
      for (const split of SPLITS) {
        rts.two.splitGemm = split;
        const two = await runF32(rts.two, a, m, p2, bias, -2, 3);
        expect(firstMismatch(two, one), `m=${m} k=${k} n=${n} split=${split}`).toBeNull();
      }
      p1.dispose();
      p2.dispose();
    }
  });

  it('qs8 GEMM: 2 threads give the same bits as 1 thread (int32, float32 with row scales and bias, uint8), split either way', async () => {
    const r = rng(4200);
    for (const [m, k, n] of SHAPES) {
      const a = randUint8(m * k, r);
      const b = randInt8(k * n, r);
      const zb = Array.from({ length: n }, (_, j) => (j % 3) - 1);
      const colScale = Float32Array.from({ length: n }, () => 0.001 + r() * 0.01);
      const rowScale = Float32Array.from({ length: m }, () => 0.5 + r());
      const bias = randNormal(n, r);
      const multiplier = Float32Array.from({ length: n }, () => 0.0005 + r() * 0.001);
      const outputs = [
        { kind: 'int32' },
        { kind: 'float32', colScale, rowScale, bias, relu: true },
        { kind: 'uint8', multiplier, zeroPoint: 100 },
      ] as const;
      const w1 = packQs8(rts.one, b, k, n, zb);
      const w2 = packQs8(rts.two, b, k, n, zb);
      for (const output of outputs) {
        const one = await runQs8(rts.one, a, m, 77, w1, output);
        for (const split of SPLITS) {
          rts.two.splitGemm = split;
          const two = await runQs8(rts.two, a, m, 77, w2, output);
          expect(firstMismatch(two, one), `m=${m} k=${k} n=${n} ${output.kind} split=${split}`).toBeNull();
        }
        if (output.kind === 'int32') expect(firstMismatch(one, refMatMulInteger(a, b, m, k, n, 77, zb))).toBeNull();
        if (output.kind === 'float32') expect(firstMismatch(one, refDequantizeAcc(refMatMulInteger(a, b, m, k, n, 77, zb), m, n, colScale, rowScale, bias, true))).toBeNull();
      }
      w1.dispose();
      w2.dispose();
    }
  });

  it('float32 activation staging (qs8_stage_f32_c2) split over rows writes what one call writes', async () => {
    const r = rng(4300);
    for (const [m, k] of [[1, 5], [7, 33], [16, 8], [17, 64], [100, 3]] as const) {
      const x = randNormal(m * k, r, 3);
      const got = await Promise.all([rts.one, rts.two].map(async (rt) => {
        const w = packQs8(rt, new Int8Array(k * 8), k, 8, new Int32Array(8), { allowSevenBit: false });
        const kp = w.kp;
        return rt.scoped((alloc) => {
          const px = alloc(m * k * 4 + 16), staged = alloc(m * kp * 2 + 16), rowSum = alloc(m * 4 + 16);
          rt.view(Float32Array, px, m * k).set(x);
          qs8StageF32(rt, w, m, px, k * 4, 0.02, 128, staged, rowSum);
          const out = [rt.read(Int16Array, staged, m * kp), rt.read(Int32Array, rowSum, m)];
          w.dispose();
          return out;
        });
      }));
      expect(firstMismatch(got[1][0], got[0][0]), `m=${m} k=${k} staged`).toBeNull();
      expect(firstMismatch(got[1][1], got[0][1]), `m=${m} k=${k} row sums`).toBeNull();
    }
  });

  it('spinMs: idle workers spin that long (0: sleep at once) and the results stay the same; bad values are rejected', async () => {
    await expect(createRuntime({ threads: 2, spinMs: -1 })).rejects.toThrow(/spinMs: expected a number of milliseconds from 0 to 1000, got -1/);
    await expect(createRuntime({ spinMs: Number.NaN })).rejects.toThrow(/spinMs/);
    expect(rts.two.spinMs).toBe(0.1);
    expect(rts.one.spinMs).toBe(0);
    const r = rng(4400);
    const [m, k, n] = [61, 48, 24];
    const a = randNormal(m * k, r), w = randNormal(k * n, r);
    const p1 = packF32(rts.one, w, k, n), p2 = packF32(rts.two, w, k, n);
    const one = await runF32(rts.one, a, m, p1);
    try {
      for (const spin of [0, 0.05, 5]) {
        rts.two.spinMs = spin;
        expect(rts.two.spinMs).toBe(spin);
        for (let i = 0; i < 3; i++) {
          expect(firstMismatch(await runF32(rts.two, a, m, p2), one), `spinMs ${spin}`).toBeNull();
          await new Promise((done) => setTimeout(done, 2)); // idle: with spinMs 0 the workers sleep
        }
      }
    } finally {
      rts.two.spinMs = 0.1;
      p1.dispose();
      p2.dispose();
    }
  });
});
