// spmm-srbcrs kernel tester (SR-BCRS-like 4x1 vector rows, stride 2): packs seeded vector-sparse
// int8 weights, runs the kernel and compares bit for bit with the format's scalar reference, over
// the GEMM tester's shapes (every remainder of the 8-row tiles and 4-row blocks, odd and even vector
// counts per row block, so padded and unpadded index streams, the 1-row GEMV), at 0%, 50%, 90% and
// 100% sparsity, with an empty row and an all-dense row block, extremes (-128/127, uint8 0/255 with
// extreme zero points), int32 and float32 outputs, on 1 and 2 threads.

import { describe, expect, it } from 'vitest';
import { ShapeError } from '../src/errors.js';
import {
  encodeSrbcrs4, packSpmmSrbcrs, refMatMulInteger, refSpmmF32, refSpmmSrbcrs4, runSpmmSrbcrs, srbcrs4Dense, SRBCRS_STRIDE,
  type SpmmOutput, type Srbcrs4Int8, type SpmmSrbcrsWeights,
} from '../src/kernels.js';
import { GemmTester, type GemmCase, type GemmFamily } from './gemm-tester.js';
import { SIMD, firstMismatch, randInt8, randUint8, rng, useRuntimes } from './helpers.js';

const rts = useRuntimes();
const SPARSITY = [0, 0.5, 0.9, 1];

/** dense int8 weights N x K pruned in 4x1 vectors at the case's sparsity; row 1 empty, row block 1 (rows 4-7) dense */
function vectorWeights(c: GemmCase, r: () => number): Int8Array {
  const { n, k, seed, extremes } = c;
  const s = SPARSITY[seed % 4];
  const val = (i: number) => (extremes ? (i % 2 ? -128 : 127) : randInt8(1, r)[0] || 1);
  const q = new Int8Array(n * k);
  for (let bi = 0; bi < n; bi += 4) {
    for (let col = 0; col < k; col++) {
      if (bi !== 4 && r() < s) continue;
      for (let row = bi; row < Math.min(n, bi + 4); row++) q[row * k + col] = bi !== 4 && r() < 0.2 ? 0 : val(row + col); // zeros inside kept vectors too
    }
  }
  if (n > 1) q.fill(0, k, 2 * k);
  return q;
}

interface Data {
  c: GemmCase;
  a: Int8Array | Uint8Array;
  za: number;
  q: Int8Array;
  fmt: Srbcrs4Int8;
}

function makeData(c: GemmCase, r: () => number): Data {
  const signed = c.seed % 3 === 0;
  let a: Int8Array | Uint8Array, za: number;
  if (c.extremes) {
    a = signed ? Int8Array.from({ length: c.m * c.k }, (_, i) => (i % 3 ? -128 : 127)) : Uint8Array.from({ length: c.m * c.k }, (_, i) => (i % 3 ? 255 : 0));
    za = signed ? [-128, 127, 0][c.seed % 3] : [0, 255, 128][c.seed % 3];
  } else {
    a = signed ? randInt8(c.m * c.k, r) : randUint8(c.m * c.k, r);
    za = signed ? 0 : (c.seed * 37) & 255;
  }
  const q = vectorWeights(c, r);
  return { c, a, za, q, fmt: encodeSrbcrs4(q, c.n, c.k) };
}

function family(output: (d: Data) => SpmmOutput): GemmFamily<Data, SpmmSrbcrsWeights> {
  return {
    data: makeData,
    pack: (rt, d) => packSpmmSrbcrs(rt, d.fmt),
    run: (rt, d, w) => runSpmmSrbcrs(rt, d.a, d.c.m, d.za, w, output(d)),
    ref: (d) => {
      const acc = refSpmmSrbcrs4(d.a, d.c.m, d.za, d.fmt);
      const o = output(d);
      return o.kind === 'int32' ? acc : refSpmmF32(acc, d.c.m, d.c.n, o.scale, o.bias);
    },
  };
}

const tester = () => new GemmTester().extremes([1, 1, 1], [1, 64, 130], [4, 8, 8], [5, 67, 9], [13, 300, 17], [17, 33, 6], [9, 4, 4], [8, 3, 5]);
const wideTester = () => new GemmTester().m(1, 7, 9, 16, 17, 24).k(1, 2, 3, 64, 131, 600).n(3, 4, 5, 13, 40).extremes().seed(1000);

const transpose = (q: Int8Array, n: number, k: number) => {
  const t = new Int8Array(n * k);
  for (let r = 0; r < n; r++) for (let c = 0; c < k; c++) t[c * n + r] = q[r * k + c];
  return t;
};

describe(`SpMM srbcrs (${SIMD} build)`, () => {
  it('int32 equals the format\'s scalar reference on every shape, sparsity 0/50/90/100%, extremes, 1 and 2 threads', async () => {
    for (const t of [tester(), wideTester()]) {
      const { runs, failures } = await t.test(family(() => ({ kind: 'int32' })), [rts.one, rts.two]);
      expect(failures).toEqual([]);
      expect(runs).toBeGreaterThan(100);
    }
  });

  it('float32 output (scale, with and without bias) equals the reference bit for bit', async () => {
    const output = (d: Data): SpmmOutput => {
      const r = rng(d.c.seed + 7);
      const scale = Float32Array.from({ length: d.c.n }, () => Math.fround(1e-4 + r() * 0.01));
      return d.c.seed % 2 ? { kind: 'float32', scale } : { kind: 'float32', scale, bias: Float32Array.from({ length: d.c.n }, () => Math.fround(r() * 2 - 1)) };
    };
    const { failures } = await new GemmTester().m(1, 5, 8, 13).k(1, 17, 64).n(1, 7, 9).test(family(output), [rts.one, rts.two]);
    expect(failures).toEqual([]);
  });

  it('the encoder keeps every nonzero, pads each row block to the stride with zero vectors: the reference equals the dense one', () => {
    for (const [m, k, n, seed] of [[3, 13, 7, 1], [1, 64, 9, 2], [9, 5, 4, 3], [2, 1, 1, 4], [4, 8, 6, 5], [2, 3, 12, 6]]) {
      const c: GemmCase = { m, k, n, seed, extremes: false };
      const d = makeData(c, rng(seed));
      for (let bi = 0; bi + 1 < d.fmt.vecPtr.length; bi++) expect((d.fmt.vecPtr[bi + 1] - d.fmt.vecPtr[bi]) % SRBCRS_STRIDE).toBe(0);
      expect([...srbcrs4Dense(d.fmt)]).toEqual([...d.q]);
      const want = refMatMulInteger(d.a, transpose(d.q, n, k), m, k, n, d.za, new Int32Array(n));
      expect(firstMismatch(refSpmmSrbcrs4(d.a, m, d.za, d.fmt), want)).toBeNull();
    }
    // one kept vector in a row block: a second, zero one at the same k
    const one = encodeSrbcrs4(Int8Array.of(0, 5, 0, 0, 0, 0, 0, 0), 2, 4);
    expect([...one.vecPtr]).toEqual([0, 2]);
    expect([...one.cols]).toEqual([1, 1]);
    expect([...one.values]).toEqual([5, 0, 0, 0, 0, 0, 0, 0]);
  });

  it('empty dimensions: M, K or N = 0 give an empty or all-zero output', async () => {
    for (const [m, k, n] of [[0, 5, 3], [3, 0, 5], [1, 0, 5], [2, 4, 0], [0, 0, 0]]) {
      for (const rt of [rts.one, rts.two]) {
        const w = packSpmmSrbcrs(rt, encodeSrbcrs4(Int8Array.from({ length: n * k }, (_, i) => (i % 3 === 0 ? 3 : 0)), n, k));
        try {
          expect([...(await runSpmmSrbcrs(rt, new Uint8Array(m * k).fill(9), m, 1, w, { kind: 'int32' }))], `${m}x${k}x${n}`).toEqual(new Array(m * n).fill(0));
          const z = await runSpmmSrbcrs(rt, new Int8Array(m * k), m, 0, w, { kind: 'float32', scale: new Float32Array(n).fill(2), bias: new Float32Array(n).fill(0.5) });
          expect([...z], `${m}x${k}x${n} float32`).toEqual(new Array(m * n).fill(0.5));
        } finally {
          w.dispose();
        }
      }
    }
  });

  it('bad packed arrays are ShapeErrors naming the field', () => {
    const rt = rts.one;
    const f = encodeSrbcrs4(Int8Array.of(1, 2, 0, 0, 0, 0, 3, 4), 2, 4);
    expect(() => packSpmmSrbcrs(rt, { ...f, cols: Uint16Array.of(0, 4, 2, 3) })).toThrow(/column 4/);
    expect(() => packSpmmSrbcrs(rt, { ...f, vecPtr: Int32Array.of(0, 3) })).toThrow(ShapeError);
    expect(() => packSpmmSrbcrs(rt, { ...f, n: 5, vecPtr: Int32Array.of(0, 1, 4) })).toThrow(/row block 0 has 1 vectors/);
    expect(() => packSpmmSrbcrs(rt, { ...f, values: new Int8Array(3) })).toThrow(/values \(3\)/);
    expect(() => encodeSrbcrs4(new Int8Array(3), 2, 2)).toThrow(ShapeError);
    // columns are uint16: K past 65536 refused by the encoder (the packer checks columns < K)
    expect(() => encodeSrbcrs4(new Int8Array(0), 0, 65537)).toThrow(/k must be <= 65536/);
  });

  it('M = 1: every vector count a row block can have mod the 4-step unroll (0 to 22 vectors), at every N remainder, 1 and 2 threads', async () => {
    // row block bi keeps 2 * (bi % 12) vectors at seeded columns; N >= 128 splits over 2 threads
    for (const n of [44, 47, 133, 134]) {
      const k = 40, r = rng(n);
      const q = new Int8Array(n * k);
      for (let bi = 0; bi * 4 < n; bi++) {
        const keep = [...Array(k).keys()].sort(() => r() - 0.5).slice(0, 2 * (bi % 12));
        for (const col of keep) for (let row = bi * 4; row < Math.min(n, bi * 4 + 4); row++) q[row * k + col] = (randInt8(1, r)[0] | 1);
      }
      const fmt = encodeSrbcrs4(q, n, k);
      const a = randUint8(k, r);
      for (const rt of [rts.one, rts.two]) {
        const w = packSpmmSrbcrs(rt, fmt);
        const scale = Float32Array.from({ length: n }, (_, i) => Math.fround(0.001 * (i + 1)));
        expect(firstMismatch(await runSpmmSrbcrs(rt, a, 1, 77, w, { kind: 'int32' }), refSpmmSrbcrs4(a, 1, 77, fmt)), `n ${n}`).toBeNull();
        expect(firstMismatch(await runSpmmSrbcrs(rt, a, 1, 77, w, { kind: 'float32', scale }), refSpmmF32(refSpmmSrbcrs4(a, 1, 77, fmt), 1, n, scale)), `n ${n} float32`).toBeNull();
        w.dispose();
      }
    }
  });

  it('K = 65536 (the uint16 columns\' limit): columns up to 65535, M = 1, 2 and 9, extremes', async () => {
    const k = 65536, n = 6, r = rng(5);
    const q = new Int8Array(n * k);
    // kept vectors near both ends of K (columns above 32767 would break a signed 16-bit index), extremes in the last
    for (const col of [0, 1, 300, 32767, 32768, 40000, 65534, 65535]) for (let row = 0; row < n; row++) q[row * k + col] = col === 65535 ? (row % 2 ? -128 : 127) : randInt8(1, r)[0];
    const fmt = encodeSrbcrs4(q, n, k);
    expect(Math.max(...fmt.cols)).toBe(65535);
    for (const m of [1, 2, 9]) {
      const a = Uint8Array.from({ length: m * k }, (_, i) => (i % k === 65535 ? 255 : r() * 256));
      for (const rt of [rts.one, rts.two]) {
        const w = packSpmmSrbcrs(rt, fmt);
        expect(firstMismatch(await runSpmmSrbcrs(rt, a, m, 0, w, { kind: 'int32' }), refSpmmSrbcrs4(a, m, 0, fmt)), `m ${m}`).toBeNull();
        w.dispose();
      }
    }
  });
});
