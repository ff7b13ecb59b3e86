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
import { ArgumentError, DTypeError, ShapeError, ValueRangeError, compareTo } from '../src/index.js';
import {
  refGemmF32, packLut4, runLut4, refLut4, refLut4Acc, lut4FromAnt, type Lut4Source, type Lut4Weights,
} from '../src/kernels.js';
import { antType, dequantizeAnt, packAntCodes, quantizeAnt, selectAntType } from '../src/quant/ant.js';
import { GEMM_K, GemmTester, type GemmCase, type GemmFamily } from './gemm-tester.js';
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

interface Lut4Data {
  m: number;
  src: Lut4Source;
  x: Float32Array;
  bias: Float32Array | null;
}

/**
 * lut4 data for a GEMM tester case: the table by the seed (all five in turn), or with `perPanel` three
 * tables assigned to columns at random; extremes: codes of each table's lowest and highest value,
 * activations ±1e4 (saturating the int8 quantizer)
 */
function lut4Data(bs: number | 'channel', perPanel: boolean) {
  return ({ m, k, n, seed, extremes }: GemmCase, r: () => number): Lut4Data => {
    const table = TABLES[seed % TABLES.length][1];
    const lo = table.indexOf(Math.min(...table)), hi = table.indexOf(Math.max(...table));
    const codes = extremes ? Uint8Array.from({ length: n * k }, (_, i) => (i % 3 ? hi : lo)) : undefined;
    let src = source(n, k, bs, table, r, codes);
    if (perPanel) {
      const { table: _t, ...rest } = src;
      src = { ...rest, tables: [TABLES[0][1], TABLES[1][1], TABLES[4][1]], columnTables: Int32Array.from({ length: n }, () => Math.floor(r() * 3)) };
    }
    const x = extremes ? Float32Array.from({ length: m * k }, (_, i) => (i % 3 ? 1e4 : -1e4)) : randNormal(m * k, r);
    return { m, src, x, bias: seed % 3 ? randNormal(n, r) : null };
  };
}

/** both activation schemes per case (their outputs one after the other), against refLut4 */
const lut4Family = (bs: number | 'channel', perPanel = false): GemmFamily<Lut4Data, Lut4Weights> => ({
  data: lut4Data(bs, perPanel),
  pack: (rt, d) => packLut4(rt, d.src),
  run: async (rt, d, p) => [...(await runLut4(rt, d.x, d.m, p, { bias: d.bias, activations: 'per-row' })), ...(await runLut4(rt, d.x, d.m, p, { bias: d.bias, activations: 'per-block' }))],
  ref: (d) => [...refLut4(d.x, d.m, d.src, d.bias, 'per-row'), ...refLut4(d.x, d.m, d.src, d.bias, 'per-block')],
});

/** K of the shared list and around the block (a channel block is K rounded up to 32) */
const lut4Ks = (bs: number) => [...new Set([...GEMM_K, 31, bs - 1, bs, bs + 1, 2 * bs, 3 * bs + 5])].sort((a, b) => a - b);

describe(`lut4 on the GEMM tester's shapes (${SIMD} build)`, () => {
  for (const bs of [32, 64, 256, 'channel'] as const) {
    it(`block ${bs}: bit for bit equal to refLut4 (5 tables in turn, per-row and per-block activations), K around the block, extremes, 1 and 2 threads`, async () => {
      const { runs, failures } = await new GemmTester().k(...lut4Ks(bs === 'channel' ? 32 : bs)).seed(bs === 'channel' ? 7000 : bs * 100).test(lut4Family(bs), [rts.one, rts.two]);
      expect(failures).toEqual([]);
      expect(runs).toBeGreaterThan(1000);
    });
  }

  it('a table per panel (three tables, columns assigned at random), blocks 32 and channel', async () => {
    for (const bs of [32, 'channel'] as const) {
      const { failures } = await new GemmTester().k(...lut4Ks(32)).seed(bs === 'channel' ? 8000 : 8500).test(lut4Family(bs, true), [rts.one, rts.two]);
      expect(failures, `bs=${bs}`).toEqual([]);
    }
  });
});

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

// ---- a table per panel of 8 columns (several tables, each output channel naming its own) ----

// span 15 like int4 but offset 127 (U = T + 127): panels of one set differ in offset, not only in U
const NARROW_TABLE = Int8Array.from({ length: 16 }, (_, i) => -127 + i);
const SPAN64_TABLE = Int8Array.from({ length: 16 }, (_, i) => (i === 15 ? 0 : -64 + 4 * i));
const INT4 = antType('int4').values!;
const FLINT4 = antType('flint4').values!;

// sets of distinct tables, and the relaxed build's GEMV int16 chunk (that of the widest table)
const TABLE_SETS: { name: string; tables: Int8Array[]; chunk: number }[] = [
  // span 15 everywhere: chunks of 32, the GEMM's int16 strip at block 32; offsets 8, 127, 8
  { name: 'int4+narrow+flip', tables: [INT4, NARROW_TABLE, Int8Array.from(INT4).reverse()], chunk: 32 },
  // span 64 widest: chunks of 8, the GEMM's paired int16 dots
  { name: 'flint4+int4+span64', tables: [FLINT4, INT4, SPAN64_TABLE], chunk: 8 },
  // span 100 widest: c4 with int32 sums throughout
  { name: 'int4+flint4+span100', tables: [INT4, FLINT4, SPAN100_TABLE], chunk: 0 },
  // pot4 (span 128) or the random table (-128..127): c2 on both builds, whatever the other tables
  { name: 'pot4+random+int4', tables: [antType('pot4').values!, RANDOM_TABLE, INT4], chunk: 0 },
];

type Assign = 'random' | 'cyclic' | 'runs';

function columnTablesOf(n: number, count: number, assign: Assign, r: () => number): Int32Array {
  return Int32Array.from({ length: n }, (_, j) => (assign === 'random' ? Math.floor(r() * count) : assign === 'cyclic' ? j % count : Math.floor(j / 5) % count));
}

function multiSource(n: number, k: number, bs: number | 'channel', tables: Int8Array[], columnTables: Int32Array, r: () => number, codes?: Uint8Array): Lut4Source {
  const { table: _, ...rest } = source(n, k, bs, tables[0], r, codes);
  return { ...rest, tables, columnTables };
}

/** The packing the docs promise: each used table's columns in order, padded to whole panels. */
function expectedPanels(n: number, tables: Int8Array[], columnTables: Int32Array): { np: number; panelTables: Int8Array[]; columns: number[] } {
  const columns = new Array<number>(n);
  const panelTables: Int8Array[] = [];
  let at = 0;
  tables.forEach((t, g) => {
    const cols = [...columnTables.keys()].filter((j) => columnTables[j] === g);
    cols.forEach((j, i) => (columns[j] = at + i));
    for (let p = 0; p < Math.ceil(cols.length / 8); p++) panelTables.push(t);
    at += Math.ceil(cols.length / 8) * 8;
  });
  return { np: at, panelTables, columns };
}

describe(`lut4 per-panel tables (${SIMD} build)`, () => {
  it('matches the reference bit for bit: 4 sets of 3 interleaved tables, M 1..9, N 1..40, K 1..100, blocks 32/64/channel', async () => {
    let seed = 500;
    const ms = [1, 2, 4, 5, 9]; // GEMV; GEMM strips of 4 with remainders 1 (M = 5, 9)
    const ns = [1, 3, 13, 29, 40]; // groups of 1..16 columns: rarely whole panels
    const ks = [1, 17, 32, 33, 100]; // K = 1 and K below a block
    const assigns: Assign[] = ['random', 'cyclic', 'runs'];
    let cases = 0, permuted = 0;
    for (const set of TABLE_SETS) {
      const maxSpan = Math.max(...set.tables.map(span));
      for (const bs of [32, 64, 'channel'] as const) {
        for (const k of ks) {
          for (const n of ns) {
            const r = rng(seed++);
            const assign = assigns[(k + n) % 3];
            const ct = columnTablesOf(n, set.tables.length, assign, r);
            const src = multiSource(n, k, bs, set.tables, ct, r);
            const pw = packLut4(rts.one, src);
            const where = `${set.name} ${assign} bs=${bs} k=${k} n=${n} layout=${pw.layout}`;
            // c4 only on relaxed with every table the channels use spanning <= 127; the chunk of
            // the widest (the set's when all three are used)
            const used = new Set(ct).size;
            const usedSpan = Math.max(...[...new Set(ct)].map((g) => span(set.tables[g])));
            expect(pw.layout, where).toBe(SIMD === 'relaxed' && usedSpan <= 127 ? 'c4' : 'c2');
            if (pw.layout === 'c4') expect(pw.chunk, where).toBe(used === set.tables.length ? set.chunk : ({ 15: 32, 32: 16, 64: 8 }[usedSpan] ?? 0));
            if (used === set.tables.length) expect(pw.layout, where).toBe(SIMD === 'relaxed' && maxSpan <= 127 ? 'c4' : 'c2');
            // the panels: each used table's columns in order, padded to whole panels
            const plan = expectedPanels(n, set.tables, ct);
            expect(pw.np, where).toBe(plan.np);
            expect(pw.tables.length, where).toBe(used === 1 ? 1 : plan.panelTables.length);
            if (used > 1) pw.tables.forEach((t, p) => expect(Array.from(t), `${where} panel ${p}`).toEqual(Array.from(plan.panelTables[p])));
            const identity = plan.columns.every((c, j) => c === j);
            expect(pw.columns === null, where).toBe(identity);
            if (pw.columns) {
              expect(Array.from(pw.columns), where).toEqual(plan.columns);
              permuted++;
            }
            for (const m of ms) {
              const x = randNormal(m * k, r);
              const bias = (m + n) % 2 ? randNormal(n, r) : null;
              const scheme = (m + k) % 2 ? 'per-block' : 'per-row';
              const got = await runLut4(rts.one, x, m, pw, { bias, activations: scheme });
              expect(firstMismatch(got, refLut4(x, m, src, bias, scheme)), `${where} m=${m} ${scheme}`).toBeNull();
              cases++;
            }
            pw.dispose();
          }
        }
      }
    }
    expect(cases).toBe(TABLE_SETS.length * 3 * 5 * 5 * 5);
    // most shapes really regroup their columns (the gather runs)
    expect(permuted).toBeGreaterThan(TABLE_SETS.length * 3 * 5 * 3);
  });

  it('2 threads give the bits of 1 thread and the reference (GEMV and GEMM, pieces across tables)', async () => {
    const r = rng(501);
    for (const set of [TABLE_SETS[0], TABLE_SETS[1], TABLE_SETS[3]]) {
      for (const [m, k, n, bs] of [[1, 512, 300, 32], [1, 1000, 205, 'channel'], [9, 256, 100, 64], [6, 96, 61, 32]] as const) {
        const src = multiSource(n, k, bs, set.tables, columnTablesOf(n, 3, 'random', r), r);
        const x = randNormal(m * k, r);
        const bias = randNormal(n, r);
        const p1 = packLut4(rts.one, src);
        const p2 = packLut4(rts.two, src);
        expect(p1.columns).not.toBeNull();
        const y1 = await runLut4(rts.one, x, m, p1, { bias, activations: 'per-block' });
        const where = `${set.name} m=${m} k=${k} n=${n}`;
        expect(firstMismatch(await runLut4(rts.two, x, m, p2, { bias, activations: 'per-block' }), y1), where).toBeNull();
        expect(firstMismatch(y1, refLut4(x, m, src, bias, 'per-block')), where).toBeNull();
        p1.dispose();
        p2.dispose();
      }
    }
  });

  it('is exact on extreme tables (-128 and 127; offsets 128 and 127 side by side) and saturated activations', async () => {
    // as the one-table test: even columns take their table's extremes with the activations' sign
    // pattern, odd columns its lowest value; tables alternate by column, so neighbouring panels
    // have offsets 128 (RANDOM_TABLE) and 127 (NARROW_TABLE)
    const tables = [RANDOM_TABLE, NARROW_TABLE];
    const ext = [[3, 11], [0, 15]]; // [lowest, highest] code of each table
    for (const [m, k, n, bs] of [[1, 64, 24, 32], [5, 96, 21, 32], [6, 100, 13, 64], [1, 65536, 11, 'channel'], [2, 65536, 9, 'channel']] as const) {
      const ct = columnTablesOf(n, 2, 'cyclic', rng(0));
      const codes = Uint8Array.from({ length: n * k }, (_, i) => {
        const j = Math.floor(i / k);
        const [lo, hi] = ext[ct[j]];
        return Math.floor(j / 2) % 2 === 0 && (i % k) % 2 === 0 ? hi : lo;
      });
      const src = multiSource(n, k, bs, tables, ct, rng(k + n), codes);
      const x = Float32Array.from({ length: m * k }, (_, i) => (Math.floor(i / k) % 2 === 0 && i % 2 ? -1e4 : 1e4));
      const pw = packLut4(rts.one, src);
      expect(pw.layout).toBe('c2');
      const got = await runLut4(rts.one, x, m, pw);
      pw.dispose();
      expect(firstMismatch(got, refLut4(x, m, src)), `m=${m} k=${k} n=${n}`).toBeNull();
      if (k === 65536 && m === 2) {
        const { acc } = refLut4Acc(x, m, src, 'per-row');
        expect(Math.max(...Array.from(acc, Math.abs))).toBeGreaterThan(1.05e9);
      }
    }
  });

  it('takes the int16 chunk of the widest table: partial sums at their bound in every panel', async () => {
    // every code decodes to its table's maximum, every activation +127: with span 15 and 64
    // side by side the chunk is 8 (4 * 127 * 64 = 32512); the narrow table's chunk of 32 would
    // overflow the span-64 panels (16 * 127 * 64 = 130048)
    for (const tables of [[NARROW_TABLE, SPAN64_TABLE], [NARROW_TABLE, FLINT4], [FLINT4, SPAN100_TABLE]]) {
      const tops = tables.map((t) => t.indexOf(Math.max(...t)));
      for (const bs of [32, 64, 'channel'] as const) {
        for (const [m, k, n] of [[1, 256, 24], [5, 256, 19]] as const) {
          const ct = columnTablesOf(n, 2, 'runs', rng(0));
          const codes = Uint8Array.from({ length: n * k }, (_, i) => tops[ct[Math.floor(i / k)]]);
          const src = multiSource(n, k, bs, tables, ct, rng(k + n), codes);
          const pw = packLut4(rts.one, src);
          if (pw.layout === 'c4') expect(pw.chunk).toBe({ 64: 8, 32: 16, 100: 0 }[Math.max(...tables.map(span))]);
          const got = await runLut4(rts.one, new Float32Array(m * k).fill(1e4), m, pw);
          pw.dispose();
          expect(firstMismatch(got, refLut4(new Float32Array(m * k).fill(1e4), m, src)), `spans ${tables.map(span)} bs=${bs} m=${m}`).toBeNull();
        }
      }
    }
  });

  it('one distinct table packs exactly as one table: no permutation, the same panel bytes', async () => {
    const r = rng(502);
    for (const [n, k] of [[13, 100], [1, 1], [24, 64]] as const) {
      const one = source(n, k, 32, FLINT4, r);
      const { table: _, ...rest } = one;
      const alike: Lut4Source[] = [
        { ...rest, tables: [FLINT4], columnTables: new Int32Array(n) },
        // equal tables given twice are one table
        { ...rest, tables: [FLINT4, Int8Array.from(FLINT4)], columnTables: columnTablesOf(n, 2, 'cyclic', r) },
        // a table no channel uses is dropped
        { ...rest, tables: [RANDOM_TABLE, FLINT4], columnTables: new Int32Array(n).fill(1) },
      ];
      const base = packLut4(rts.one, one);
      expect(base.columns).toBeNull();
      expect(base.perPanel).toBe(false);
      expect(base.tables.length).toBe(1);
      // 16 bytes of U, the offset padded to 16 bytes, then the panels as before
      expect(base.headerBytes).toBe(32);
      expect(base.bytes).toBe(32 + Math.ceil(n / 8) * Math.ceil(k / 32) * (32 * 4 + 32));
      const panelBytes = (w: typeof base) => Array.from(rts.one.view(Uint8Array, w.ptr, w.bytes));
      const x = randNormal(3 * k, r);
      const want = await runLut4(rts.one, x, 3, base);
      for (const [i, src] of alike.entries()) {
        const pw = packLut4(rts.one, src);
        expect(pw.columns, `variant ${i}`).toBeNull();
        expect(pw.perPanel, `variant ${i}`).toBe(false);
        expect(pw.np).toBe(base.np);
        expect(panelBytes(pw), `variant ${i}`).toEqual(panelBytes(base));
        expect(firstMismatch(await runLut4(rts.one, x, 3, pw), want), `variant ${i}`).toBeNull();
        pw.dispose();
      }
      base.dispose();
    }
  });

  it('tables already in order on panel boundaries keep the columns in place (a table per panel, no gather)', async () => {
    const r = rng(503);
    const n = 20;
    // panels 0 and 1: int4, panel 2: pot4 (4 real columns and 4 padded)
    const src = multiSource(n, 70, 32, [INT4, antType('pot4').values!], Int32Array.from({ length: n }, (_, j) => (j < 16 ? 0 : 1)), r);
    const pw = packLut4(rts.one, src);
    expect(pw.columns).toBeNull();
    expect(pw.perPanel).toBe(true);
    expect(pw.tables.map((t) => t[0])).toEqual([INT4[0], INT4[0], antType('pot4').values![0]]);
    expect(pw.np).toBe(24);
    for (const m of [1, 6]) {
      const x = randNormal(m * 70, r);
      const bias = randNormal(n, r);
      expect(firstMismatch(await runLut4(rts.one, x, m, pw, { bias }), refLut4(x, m, src, bias)), `m=${m}`).toBeNull();
    }
    pw.dispose();
  });

  it('rejects bad tables and table indices with clear LowbitErrors', () => {
    const r = rng(504);
    const { table: _, ...ok } = source(8, 64, 32, INT4, r);
    const tables = [INT4, FLINT4];
    const ct = columnTablesOf(8, 2, 'cyclic', r);
    const bad = (patch: Record<string, unknown>) => () => packLut4(rts.one, { ...ok, tables, columnTables: ct, ...patch } as Lut4Source);
    expect(bad({})).not.toThrow();
    expect(bad({ columnTables: ct.subarray(0, 7) })).toThrow(ShapeError);
    expect(bad({ columnTables: ct.subarray(0, 7) })).toThrow(/columnTables: expected N = 8 table indices, got 7/);
    expect(bad({ columnTables: [0, 1, 0, 2, 0, 1, 0, 1] })).toThrow(ValueRangeError);
    expect(bad({ columnTables: [0, 1, 0, 2, 0, 1, 0, 1] })).toThrow(/columnTables: channel 3 has table index 2; expected an integer 0\.\.1 \(2 tables\)/);
    expect(bad({ columnTables: [0, -1, 0, 1, 0, 1, 0, 1] })).toThrow(/channel 1 has table index -1/);
    expect(bad({ columnTables: [0, 1, 0.5, 1, 0, 1, 0, 1] })).toThrow(/channel 2 has table index 0\.5/);
    expect(bad({ columnTables: undefined })).toThrow(ArgumentError);
    expect(bad({ columnTables: undefined })).toThrow(/columnTables: expected N = 8 table indices \(one per output channel\) with tables, got undefined/);
    expect(bad({ tables: [INT4, new Int8Array(15)] })).toThrow(ShapeError);
    expect(bad({ tables: [INT4, new Int8Array(15)] })).toThrow(/tables\[1\]: expected 16 values \(one per 4-bit code\), got 15/);
    expect(bad({ tables: [new Uint8Array(16), INT4] })).toThrow(DTypeError);
    expect(bad({ tables: [new Uint8Array(16), INT4] })).toThrow(/tables\[0\]: expected an Int8Array of 16 values, got Uint8Array\(16\)/);
    expect(bad({ tables: [] })).toThrow(/tables: expected a non-empty array of Int8Array\(16\) tables/);
    expect(bad({ tables: INT4 })).toThrow(ArgumentError);
    expect(bad({ table: INT4 })).toThrow(ArgumentError);
    expect(bad({ table: INT4 })).toThrow(/weights: give either table \(one for every channel\) or tables with columnTables, not both/);
    expect(bad({ tables: undefined })).toThrow(/tables: expected a non-empty array/); // columnTables alone
    // the reference validates the same way
    expect(() => refLut4(new Float32Array(64), 1, { ...ok, tables, columnTables: [0, 1, 0, 1, 0, 1, 0, 9] } as Lut4Source)).toThrow(/channel 7 has table index 9/);
  });

  it('ANT with a type per channel (selectAntType perChannelType): a table per type, bit-exact, the dequantized weights\' error', async () => {
    const r = rng(505);
    const [m, k, n] = [3, 128, 45];
    // rows of three shapes, interleaved: uniform (int4's), Gaussian and heavy-tailed (flint4 / pot4)
    const wf = new Float32Array(n * k);
    for (let j = 0; j < n; j++) {
      for (let t = 0; t < k; t++) {
        const g = randNormal(1, r)[0];
        wf[j * k + t] = j % 3 === 0 ? r() * 2 - 1 : j % 3 === 1 ? g : g * g * g;
      }
    }
    const sel = selectAntType(wf, { channels: n, blockSize: 32, perChannelType: true });
    const src = lut4FromAnt(sel.quantized);
    expect(src.table).toBeUndefined();
    const names = [...new Set(sel.typeNames)];
    expect(names.length).toBeGreaterThan(1);
    expect(src.tables!.length).toBe(names.length);
    for (let j = 0; j < n; j++) expect(Array.from(src.tables![src.columnTables![j]])).toEqual(Array.from(antType(sel.typeNames[j] as 'int4').values!));
    const pw = packLut4(rts.one, src);
    const x = randNormal(m * k, r);
    const got = await runLut4(rts.one, x, m, pw);
    pw.dispose();
    expect(firstMismatch(got, refLut4(x, m, src))).toBeNull();
    const deq = dequantizeAnt(sel.quantized);
    const dqt = new Float32Array(k * n);
    for (let j = 0; j < n; j++) for (let t = 0; t < k; t++) dqt[t * n + j] = deq[j * k + t];
    expect(compareTo(refGemmF32(x, dqt, m, k, n), got).sqnrDb).toBeGreaterThan(35);
  });
});
