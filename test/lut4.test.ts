// lut4 (W-LUT4 x A-int8) kernel tester: seeded 4-bit codes, scales and float activations, a 16-entry
// int8 table (ANT int4, pot4, flint4 and a random one including -128 and 127), packed for the build
// under test, run, and compared with the scalar reference refLut4.
//
// Tolerance: none. The reference computes the same exact int32 block sums Σ table[code]·q and then
// the same float32 operations in the same order (y = bias, then y += s · (sa · float(acc)) block by
// block), so every output must be bit-identical (Object.is) on both builds (vitest runs this file
// on baseline and relaxed), both layouts (c2, c4), GEMV and GEMM, 1 and 2 threads.
// Lossy end to end (flint4 weights via ant.ts, int8 activations) is checked by SQNR vs float.

import { describe, expect, it } from 'vitest';
import {
  ArgumentError, DTypeError, ShapeError, ValueRangeError, compareTo, refGemmF32,
  packLut4, runLut4, refLut4, refLut4Acc, lut4FromAnt, type Lut4Source,
} from '../src/index.js';
import { antType, dequantizeAnt, packAntCodes, quantizeAnt } from '../src/quant/ant.js';
import { SIMD, firstMismatch, randNormal, rng, useRuntimes } from './helpers.js';

const rts = useRuntimes();

const RANDOM_TABLE = (() => {
  const r = rng(4242);
  const t = Int8Array.from({ length: 16 }, () => Math.floor(r() * 256) - 128);
  t[3] = -128;
  t[11] = 127;
  return t;
})();

// span 100: the relaxed build takes c4 with int32 sums throughout (too wide for the int16 GEMV chunks)
const SPAN100_TABLE = Int8Array.from([-50, -40, -31, -20, -13, -7, -2, 0, 3, 8, 15, 22, 29, 37, 44, 50]);

const TABLES: [string, Int8Array][] = [
  ['int4', antType('int4').values!],
  ['pot4', antType('pot4').values!],
  ['flint4', antType('flint4').values!],
  ['random', RANDOM_TABLE],
  ['span100', SPAN100_TABLE],
];

function span(t: Int8Array): number {
  return Math.max(...t) - Math.min(...t);
}

function source(n: number, k: number, bs: number | 'channel', table: Int8Array, r: () => number, codes?: Uint8Array): Lut4Source {
  const b = bs === 'channel' ? Math.ceil(k / 32) * 32 : bs;
  const nb = Math.ceil(k / b);
  return {
    n, k, table, blockSize: bs,
    codes: codes ?? Uint8Array.from({ length: n * k }, () => Math.floor(r() * 16)),
    scales: Float32Array.from({ length: n * nb }, () => (r() < 0.1 ? -1 : 1) * (0.001 + r() * 0.05)),
  };
}

describe(`lut4 kernels (${SIMD} build)`, () => {
  it('packs to the layout of the build: c4 only on relaxed with a table spanning <= 127', () => {
    const r = rng(1);
    for (const [name, t] of TABLES) {
      const pw = packLut4(rts.one, source(9, 40, 32, t, r));
      expect(pw.layout, name).toBe(SIMD === 'relaxed' && span(t) <= 127 ? 'c4' : 'c2');
      // GEMV int16 chunk: int4 (U in [0, 15]) 32 values of K, flint4 ([0, 32]) 16, span 100: none
      const chunk = { int4: 32, flint4: 16, pot4: 0, random: 0, span100: 0 }[name];
      expect(pw.chunk, name).toBe(pw.layout === 'c4' ? chunk : 0);
      pw.dispose();
    }
  });

  it('matches the reference bit for bit: M 1..9, N 1..17, K 1..269, blocks 32/64/channel, 5 tables', async () => {
    let seed = 10;
    const ms = [1, 2, 3, 4, 5, 7, 8, 9];
    const ns = [1, 7, 8, 9, 17];
    const ks = [1, 31, 32, 33, 64, 100, 256 + 13];
    let cases = 0;
    for (const [name, table] of TABLES) {
      for (const bs of [32, 64, 'channel'] as const) {
        for (const k of ks) {
          for (const n of ns) {
            const r = rng(seed++);
            const src = source(n, k, bs, table, r);
            const pw = packLut4(rts.one, src);
            for (const m of ms) {
              const x = randNormal(m * k, r);
              const bias = (m + n) % 2 ? randNormal(n, r) : null;
              const scheme = (m + k) % 2 ? 'per-block' : 'per-row';
              const got = await runLut4(rts.one, x, m, pw, { bias, activations: scheme });
              const want = refLut4(x, m, src, bias, scheme);
              const where = `${name} bs=${bs} m=${m} k=${k} n=${n} ${scheme} layout=${pw.layout}`;
              expect(firstMismatch(got, want), where).toBeNull();
              cases++;
            }
            pw.dispose();
          }
        }
      }
    }
    expect(cases).toBe(TABLES.length * 3 * 7 * 5 * 8);
  });

  it('takes codes packed two per byte (ant.ts packAntCodes) with the same result', async () => {
    const r = rng(3);
    for (const k of [1, 33, 100]) {
      const src = source(11, k, 32, antType('flint4').values!, r);
      const packed: Lut4Source = { ...src, codes: undefined, packed: packAntCodes(src.codes!, 11, k) };
      const x = randNormal(3 * k, r);
      const a = packLut4(rts.one, src);
      const b = packLut4(rts.one, packed);
      expect(firstMismatch(await runLut4(rts.one, x, 3, b), await runLut4(rts.one, x, 3, a))).toBeNull();
      expect(firstMismatch(await runLut4(rts.one, x.subarray(0, k), 1, b), refLut4(x.subarray(0, k), 1, src))).toBeNull();
      a.dispose();
      b.dispose();
    }
  });

  it('is exact on extreme tables, codes and saturated activations, up to the largest per-channel block', async () => {
    // ±1e4 activations quantize to ±127 (even rows alternate in sign, odd rows are all positive);
    // even columns pick the table's extremes with the activations' sign pattern, odd columns its
    // lowest value, so |acc| reaches ~127 * 127 * K (K = 65536: ~1.06e9, near the int32 limit)
    const narrow = Int8Array.from({ length: 16 }, (_, i) => -127 + i); // span 15, offset 127
    const wide = RANDOM_TABLE; // -128 at code 3, 127 at code 11
    for (const [table, lo, hi] of [[wide, 3, 11], [narrow, 0, 15]] as const) {
      for (const [m, k, n, bs] of [[1, 64, 24, 32], [5, 96, 16, 32], [6, 100, 13, 64], [1, 65536, 8, 'channel'], [2, 65536, 9, 'channel']] as const) {
        const codes = Uint8Array.from({ length: n * k }, (_, i) => (Math.floor(i / k) % 2 === 0 && (i % k) % 2 === 0 ? hi : lo));
        const src = source(n, k, bs, table, rng(k + n), codes);
        const x = Float32Array.from({ length: m * k }, (_, i) => (Math.floor(i / k) % 2 === 0 && i % 2 ? -1e4 : 1e4));
        const pw = packLut4(rts.one, src);
        const got = await runLut4(rts.one, x, m, pw);
        pw.dispose();
        expect(firstMismatch(got, refLut4(x, m, src)), `table span ${span(table)} m=${m} k=${k}`).toBeNull();
        if (k === 65536 && m === 2) {
          const { acc } = refLut4Acc(x, m, src, 'per-row');
          expect(Math.max(...Array.from(acc, Math.abs))).toBeGreaterThan(1.05e9);
        }
      }
    }
  });

  it('is exact with the relaxed int16 partial sums at their bound (span 15, 32, 64; GEMV and GEMM)', async () => {
    // every code decodes to U = span (the table's maximum) and every activation is +127, so each
    // int16 lane reaches chunk/2 * 127 * span (30480, 32512, 32512) before it is widened (and the
    // int32 sums their largest U for the wider tables, which take the int32 form or c2)
    const span64 = Int8Array.from({ length: 16 }, (_, i) => (i === 15 ? 0 : -64 + 4 * i));
    const span15 = Int8Array.from({ length: 16 }, (_, i) => -127 + i);
    for (const table of [span15, antType('flint4').values!, span64, SPAN100_TABLE, RANDOM_TABLE]) {
      const top = table.indexOf(Math.max(...table));
      for (const bs of [32, 64, 'channel'] as const) {
        for (const [m, k, n] of [[1, 256, 16], [5, 256, 9]] as const) {
          const src = source(n, k, bs, table, rng(k + n), new Uint8Array(n * k).fill(top));
          const x = new Float32Array(m * k).fill(1e4);
          const pw = packLut4(rts.one, src);
          const got = await runLut4(rts.one, x, m, pw);
          pw.dispose();
          expect(firstMismatch(got, refLut4(x, m, src)), `span ${span(table)} bs=${bs} m=${m}`).toBeNull();
        }
      }
    }
  });

  it('2 threads give the same bits as 1 thread (GEMV and GEMM, both table kinds)', async () => {
    const r = rng(5);
    for (const table of [antType('int4').values!, RANDOM_TABLE]) {
      for (const [m, k, n, bs] of [[1, 512, 300, 32], [1, 1000, 260, 'channel'], [9, 256, 100, 64]] as const) {
        const src = source(n, k, bs, table, r);
        const x = randNormal(m * k, r);
        const p1 = packLut4(rts.one, src);
        const p2 = packLut4(rts.two, src);
        const y1 = await runLut4(rts.one, x, m, p1, { activations: 'per-block' });
        expect(firstMismatch(await runLut4(rts.two, x, m, p2, { activations: 'per-block' }), y1)).toBeNull();
        expect(firstMismatch(y1, refLut4(x, m, src, null, 'per-block'))).toBeNull();
        p1.dispose();
        p2.dispose();
      }
    }
  });

  it('rejects bad inputs with clear LowbitErrors', async () => {
    const r = rng(6);
    const ok = source(8, 64, 32, antType('int4').values!, r);
    const bad = (patch: Partial<Record<keyof Lut4Source, unknown>>) => () => packLut4(rts.one, { ...ok, ...patch } as Lut4Source);
    expect(bad({ table: new Int8Array(15) })).toThrow(ShapeError);
    expect(bad({ table: new Int8Array(15) })).toThrow(/table: expected 16 values/);
    expect(bad({ table: new Int8Array(17) })).toThrow(ShapeError);
    expect(bad({ table: new Uint8Array(16) })).toThrow(DTypeError);
    expect(bad({ blockSize: 24 })).toThrow(ArgumentError);
    expect(bad({ blockSize: 24 })).toThrow(/blockSize: expected a power of two from 32 to 256 or 'channel', got 24/);
    expect(bad({ blockSize: 512 })).toThrow(ArgumentError);
    expect(bad({ scales: new Float32Array(8) })).toThrow(ShapeError);
    expect(bad({ scales: new Float32Array(8) })).toThrow(/scales: expected N\*blocks = 8\*2 = 16 values, got 8/);
    const nan = Float32Array.from(ok.scales);
    nan[5] = NaN;
    expect(bad({ scales: nan })).toThrow(ValueRangeError);
    expect(bad({ scales: nan })).toThrow(/channel 2, block 1 is NaN/);
    const big = Uint8Array.from(ok.codes!);
    big[70] = 16;
    expect(bad({ codes: big })).toThrow(ValueRangeError);
    expect(bad({ codes: big })).toThrow(/code\[1\]\[6\] is 16/);
    expect(bad({ codes: new Uint8Array(10) })).toThrow(ShapeError);
    expect(bad({ packed: new Uint8Array(8 * 32) })).toThrow(ArgumentError); // both codes and packed
    expect(bad({ codes: undefined, packed: new Uint8Array(10) })).toThrow(ShapeError);
    expect(bad({ k: 70000, blockSize: 'channel', codes: new Uint8Array(8 * 70000), scales: new Float32Array(8) })).toThrow(ShapeError);
    const pw = packLut4(rts.one, ok);
    await expect(runLut4(rts.one, new Float32Array(63), 1, pw)).rejects.toThrow(ShapeError);
    await expect(runLut4(rts.one, new Float32Array(64), 1, pw, { bias: new Float32Array(7) })).rejects.toThrow(ShapeError);
    await expect(runLut4(rts.two, new Float32Array(64), 1, pw)).rejects.toThrow(/packed for another runtime/);
    const xn = new Float32Array(128);
    xn[100] = NaN;
    await expect(runLut4(rts.one, xn, 2, pw)).rejects.toThrow(/x: row 1 contains NaN or Infinity/);
    pw.dispose();
    await expect(runLut4(rts.one, new Float32Array(64), 1, pw)).rejects.toThrow(/disposed/);
  });

  it('flint4 (and a learned kmeans4 codebook) from ant.ts, per channel, stay within budget of the float32 layer', async () => {
    // LLM-like layer: W [N][K] ~ N(0, 0.02), x ~ N(0, 1); ANT's clip search per channel.
    // Measured (SQNR of the outputs vs float32): flint4 18.9 dB (the dequantized weights alone give
    // 19.0), kmeans4 22.7 (22.6); against the dequantized weights, the int8 activations cost ~43 dB.
    const r = rng(2025);
    const [m, k, n] = [1, 1024, 96];
    const wf = randNormal(n * k, r, 0.02);
    const x = randNormal(m * k, r);
    const wt = new Float32Array(k * n);
    for (let j = 0; j < n; j++) for (let t = 0; t < k; t++) wt[t * n + j] = wf[j * k + t];
    const ref = refGemmF32(x, wt, m, k, n);
    for (const [type, budget] of [['flint4', 17], ['kmeans4', 20]] as const) {
      const q = quantizeAnt(wf, type, { channels: n });
      const src = lut4FromAnt(q);
      const pw = packLut4(rts.one, src);
      const got = await runLut4(rts.one, x, m, pw);
      pw.dispose();
      expect(firstMismatch(got, refLut4(x, m, src)), type).toBeNull();
      const err = compareTo(ref, got);
      expect(err.sqnrDb, type).toBeGreaterThan(budget);
      expect(err.cosine, type).toBeGreaterThan(0.99);
      // int8 activations add almost nothing to the error of the 4-bit weights themselves
      const deq = dequantizeAnt(q);
      const dqt = new Float32Array(k * n);
      for (let j = 0; j < n; j++) for (let t = 0; t < k; t++) dqt[t * n + j] = deq[j * k + t];
      const exact = refGemmF32(x, dqt, m, k, n);
      expect(err.sqnrDb, type).toBeGreaterThan(compareTo(ref, exact).sqnrDb - 0.5);
      expect(compareTo(exact, got).sqnrDb, type).toBeGreaterThan(38);
    }
  });

  it('takes block-wise ANT (blocks of 32 and 64, a partial last block): bit-exact, the dequantized weights\' error', async () => {
    const r = rng(2026);
    for (const [m, k, n, bs] of [[1, 100, 20, 32], [5, 256, 17, 64], [3, 96, 9, 32], [2, 40, 8, 64]] as const) {
      const wf = randNormal(n * k, r, 0.02);
      const x = randNormal(m * k, r);
      const q = quantizeAnt(wf, 'flint4', { channels: n, blockSize: bs });
      const src = lut4FromAnt(q);
      // one block per row (K <= the block) is per channel; else the ANT block
      expect(src.blockSize).toBe(k <= bs ? 'channel' : bs);
      expect(src.scales.length).toBe(n * Math.ceil(k / bs));
      const pw = packLut4(rts.one, src);
      const got = await runLut4(rts.one, x, m, pw);
      pw.dispose();
      expect(firstMismatch(got, refLut4(x, m, src)), `m=${m} k=${k} n=${n} bs=${bs}`).toBeNull();
      const deq = dequantizeAnt(q);
      const dqt = new Float32Array(k * n);
      for (let j = 0; j < n; j++) for (let t = 0; t < k; t++) dqt[t * n + j] = deq[j * k + t];
      expect(compareTo(refGemmF32(x, dqt, m, k, n), got).sqnrDb).toBeGreaterThan(35);
    }
    // ANT blocks LUT4 does not take
    expect(() => lut4FromAnt(quantizeAnt(randNormal(4 * 64, r), 'int4', { channels: 4, blockSize: 16 }))).toThrow(/weights: ANT blocks of 16 values; LUT4 takes a power of two from 32 to 256/);
  });

  it('refuses ANT tensors it cannot take as one int8 table', () => {
    const r = rng(8);
    const wf = randNormal(4 * 32, r);
    expect(() => lut4FromAnt(quantizeAnt(wf, 'upot4', { channels: 4 }))).toThrow(ValueRangeError);
  });
});
