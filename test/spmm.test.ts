// SpMM kernel tester (spmm-csr, spmm-nm, spmm-block with int8 and int4 values): packs seeded sparse int8 weights, runs the
// kernel and compares bit for bit with the format's scalar reference, over the GEMM tester's shapes
// (every remainder of the 8-row tiles, the 4-row blocks, the groups of 4 along K, the 1-row GEMV),
// at 0%, 50%, 90% and 100% sparsity with empty rows, extremes (-128/127, uint8 0/255 with extreme
// zero points; int4: -8/7, with per-block multipliers 1/63), int32 and float32 outputs, on 1 and 2 threads. The
// encoders are checked against the dense reference too.

import { describe, expect, it } from 'vitest';
import { ArgumentError, ShapeError, ValueRangeError } from '../src/errors.js';
import { BSR4_SUB_MAX } from '../src/kernels/reference/spmm.js';
import type { Runtime } from '../src/index.js';
import {
  encodeBsr4, encodeBsr4Int4, encodeCsr, encodeNm24, packSpmmBlock, packSpmmCsr, packSpmmNm, refMatMulInteger, refSpmmBsr4, refSpmmBsr4Int4, refSpmmCsr, refSpmmF32, refSpmmNm24,
  runSpmmBlock, runSpmmCsr, runSpmmNm, type SpmmOutput,
} from '../src/kernels.js';
import { GemmTester, type GemmCase, type GemmFamily } from './gemm-tester.js';
import { SIMD, firstMismatch, randInt8, randUint8, rng, useRuntimes } from './helpers.js';

const rts = useRuntimes();
const SPARSITY = [0, 0.5, 0.9, 1];

type Pattern = 'csr' | 'nm' | 'block' | 'block-int4' | 'block-int4s';
const PATTERNS = ['csr', 'nm', 'block', 'block-int4', 'block-int4s'] as const;

/** dense int8 weights N x K in the pattern (nm: 2 of 4 kept; csr / block: the case's sparsity), row 1 empty */
function sparseWeights(p: Pattern, c: GemmCase, r: () => number): Int8Array {
  const { n, k, seed, extremes } = c;
  const s = SPARSITY[seed % 4];
  const int4 = p.startsWith('block-int4');
  const val = (i: number) => (int4 ? (extremes ? (i % 2 ? -8 : 7) : randInt8(1, r, -8, 7)[0] || 1) : extremes ? (i % 2 ? -128 : 127) : randInt8(1, r)[0] || 1);
  const q = new Int8Array(n * k);
  if (p === 'nm') {
    for (let row = 0; row < n; row++) {
      for (let g = 0; g < k; g += 4) {
        const len = Math.min(4, k - g);
        const keep = s === 1 ? 0 : s === 0.9 ? Math.min(1, len) : Math.min(2, len); // fewer than 2 tests the padding
        const pos = Array.from({ length: len }, (_, i) => i).sort(() => r() - 0.5).slice(0, keep);
        for (const i of pos) q[row * k + g + i] = val(row + g + i);
      }
    }
  } else if (p.startsWith('block')) {
    for (let bi = 0; bi < n; bi += 4) {
      for (let bc = 0; bc < k; bc += 4) {
        if (r() < s) continue;
        for (let i = 0; i < 16; i++) {
          const row = bi + (i >> 2), col = bc + (i & 3);
          if (row < n && col < k) q[row * k + col] = r() < 0.2 ? 0 : val(i); // zeros inside kept blocks too
        }
      }
    }
  } else {
    for (let i = 0; i < n * k; i++) if (r() >= s) q[i] = val(i);
  }
  if (n > 1) q.fill(0, k, 2 * k); // an empty row
  return q;
}

interface Data {
  c: GemmCase;
  a: Int8Array | Uint8Array;
  za: number;
  q: Int8Array;
}

function makeData(p: Pattern, c: GemmCase, r: () => number): Data {
  const signed = c.seed % 3 === 0;
  let a: Int8Array | Uint8Array, za: number;
  if (c.extremes) {
    a = signed ? Int8Array.from({ length: c.m * c.k }, (_, i) => (i % 3 ? -128 : 127)) : Uint8Array.from({ length: c.m * c.k }, (_, i) => (i % 3 ? 255 : 0));
    za = signed ? [-128, 127, 0][c.seed % 3] : [0, 255, 128][c.seed % 3];
  } else {
    a = signed ? randInt8(c.m * c.k, r) : randUint8(c.m * c.k, r);
    za = signed ? 0 : (c.seed * 37) & 255;
  }
  return { c, a, za, q: sparseWeights(p, c, r) };
}

const FAMILIES = {
  csr: { encode: encodeCsr, pack: packSpmmCsr, run: runSpmmCsr, ref: refSpmmCsr },
  nm: { encode: encodeNm24, pack: packSpmmNm, run: runSpmmNm, ref: refSpmmNm24 },
  block: { encode: encodeBsr4, pack: packSpmmBlock, run: runSpmmBlock, ref: refSpmmBsr4 },
  'block-int4': { encode: (q: Int8Array, n: number, k: number) => encodeBsr4Int4(q, n, k), pack: packSpmmBlock, run: runSpmmBlock, ref: refSpmmBsr4Int4 },
  // per-block multipliers: seeded in [1, 63] (extremes: 63 and 1, so code x sub reaches -8 x 63)
  'block-int4s': {
    encode: (q: Int8Array, n: number, k: number, extremes = false, r = rng(n * 31 + k)) =>
      encodeBsr4Int4(q, n, k, Uint8Array.from({ length: Math.ceil(n / 4) * Math.ceil(k / 4) }, (_, i) => (extremes ? (i % 3 ? BSR4_SUB_MAX : 1) : 1 + Math.floor(r() * BSR4_SUB_MAX)))),
    pack: packSpmmBlock, run: runSpmmBlock, ref: refSpmmBsr4Int4,
  },
} as const;

function family(p: Pattern, output: (d: Data) => SpmmOutput) {
  const f = FAMILIES[p] as unknown as {
    encode(q: Int8Array, n: number, k: number, extremes?: boolean, r?: () => number): unknown;
    pack(rt: Runtime, fmt: unknown): { dispose(): void };
    run(rt: Runtime, a: Int8Array | Uint8Array, m: number, za: number, w: unknown, o: SpmmOutput): Promise<Int32Array | Float32Array>;
    ref(a: ArrayLike<number>, m: number, za: number, fmt: unknown): Int32Array;
  };
  const fam: GemmFamily<Data & { fmt: unknown }, { dispose(): void }> = {
    data: (c, r) => {
      const d = makeData(p, c, r);
      return { ...d, fmt: f.encode(d.q, c.n, c.k, c.extremes, r) };
    },
    pack: (rt, d) => f.pack(rt, d.fmt),
    run: (rt, d, w) => f.run(rt, d.a, d.c.m, d.za, w, output(d)),
    ref: (d) => {
      const acc = f.ref(d.a, d.c.m, d.za, d.fmt);
      const o = output(d);
      return o.kind === 'int32' ? acc : refSpmmF32(acc, d.c.m, d.c.n, o.scale, o.bias);
    },
  };
  return fam;
}

/** the shared shapes, plus M past one and two tiles of 8 and N past block rows, with longer K */
const tester = () => new GemmTester().extremes([1, 1, 1], [1, 64, 130], [4, 8, 8], [5, 67, 9], [13, 300, 17], [17, 33, 6], [9, 4, 4]);
// K = 600: several of spmm-nm's K chunks (64 groups of 4)
const wideTester = () => new GemmTester().m(7, 9, 16, 17, 24).k(3, 64, 131, 600).n(3, 4, 5, 13, 40).extremes().seed(1000);

describe(`SpMM int8 (${SIMD} build)`, () => {
  for (const p of PATTERNS) {
    it(`spmm-${p}: int32 equals the format's scalar reference on every shape, sparsity 0/50/90/100%, extremes, 1 and 2 threads`, async () => {
      for (const t of [tester(), wideTester()]) {
        const { runs, failures } = await t.test(family(p, () => ({ kind: 'int32' })), [rts.one, rts.two]);
        expect(failures).toEqual([]);
        expect(runs).toBeGreaterThan(100);
      }
    });

    it(`spmm-${p}: float32 output (scale, with and without bias) equals the reference bit for bit`, async () => {
      const output = (d: Data): SpmmOutput => {
        const r = rng(d.c.seed + 7);
        const scale = Float32Array.from({ length: d.c.n }, () => Math.fround(1e-4 + r() * 0.01));
        return d.c.seed % 2 ? { kind: 'float32', scale } : { kind: 'float32', scale, bias: Float32Array.from({ length: d.c.n }, () => Math.fround(r() * 2 - 1)) };
      };
      const { failures } = await new GemmTester().m(1, 5, 8, 13).k(1, 17, 64).n(1, 7, 9).test(family(p, output), [rts.one, rts.two]);
      expect(failures).toEqual([]);
    });
  }

  it('empty dimensions: M, K or N = 0 give an empty or all-zero output (int32 and float32)', async () => {
    for (const p of PATTERNS) {
      const f = FAMILIES[p] as unknown as {
        encode(q: Int8Array, n: number, k: number): unknown;
        pack(rt: Runtime, fmt: unknown): { dispose(): void };
        run(rt: Runtime, a: Int8Array | Uint8Array, m: number, za: number, w: unknown, o: SpmmOutput): Promise<Int32Array | Float32Array>;
      };
      for (const [m, k, n] of [[0, 5, 3], [3, 0, 5], [1, 0, 5], [2, 4, 0], [0, 0, 0]]) {
        for (const rt of [rts.one, rts.two]) {
          const w = f.pack(rt, f.encode(Int8Array.from({ length: n * k }, (_, i) => ((i % k) % 4 === 0 ? 3 : 0)), n, k));
          try {
            const y = await f.run(rt, new Uint8Array(m * k).fill(9), m, 1, w, { kind: 'int32' });
            expect([...y], `${p} ${m}x${k}x${n}`).toEqual(new Array(m * n).fill(0));
            const z = await f.run(rt, new Int8Array(m * k), m, 0, w, { kind: 'float32', scale: new Float32Array(n).fill(2), bias: new Float32Array(n).fill(0.5) });
            expect([...z], `${p} ${m}x${k}x${n} float32`).toEqual(new Array(m * n).fill(0.5));
          } finally {
            w.dispose();
          }
        }
      }
    }
  });

  it('the encoders keep every nonzero: the format references equal the dense reference', () => {
    for (const p of ['csr', 'nm', 'block', 'block-int4'] as const) {
      for (const [m, k, n, seed] of [[3, 13, 7, 1], [1, 64, 9, 2], [9, 5, 4, 3], [2, 1, 1, 4], [4, 8, 6, 5]]) {
        const c: GemmCase = { m, k, n, seed, extremes: false };
        const d = makeData(p, c, rng(seed));
        const f = FAMILIES[p] as unknown as { encode(q: Int8Array, n: number, k: number): unknown; ref(a: ArrayLike<number>, m: number, za: number, fmt: unknown): Int32Array };
        const want = refMatMulInteger(d.a, transpose(d.q, n, k), m, k, n, d.za, new Int32Array(n));
        expect(firstMismatch(f.ref(d.a, m, d.za, f.encode(d.q, n, k)), want)).toBeNull();
      }
    }
  });

  it("int4 blocks' multipliers: the reference scales each block's codes by its own (the dense reference on code x sub)", () => {
    const [m, k, n] = [3, 9, 6];
    const r = rng(5);
    const q = randInt8(n * k, r, -8, 7), a = randUint8(m * k, r);
    const kb = Math.ceil(k / 4), subs = Uint8Array.from({ length: Math.ceil(n / 4) * kb }, (_, i) => 1 + ((i * 17) % BSR4_SUB_MAX));
    const enc = encodeBsr4Int4(q, n, k, subs);
    const want = new Int32Array(m * n);
    for (let i = 0; i < m; i++) for (let row = 0; row < n; row++) for (let c = 0; c < k; c++) want[i * n + row] += (a[i * k + c] - 7) * q[row * k + c] * subs[(row >> 2) * kb + (c >> 2)];
    expect(firstMismatch(refSpmmBsr4Int4(a, m, 7, enc), want)).toBeNull();
  });

  it('bad arguments are typed errors naming the argument', async () => {
    const rt = rts.one;
    const q = Int8Array.of(1, 2, 3, 0, 0, 0, 0, 4);
    expect(() => encodeNm24(q, 1, 8)).toThrow(ValueRangeError);
    expect(() => encodeCsr(q, 3, 3)).toThrow(ShapeError);
    const csr = encodeCsr(q, 2, 4);
    expect(() => packSpmmCsr(rt, { ...csr, cols: Int32Array.of(0, 1, 9, 3) })).toThrow(/column 9/);
    expect(() => packSpmmCsr(rt, { ...csr, rowPtr: Int32Array.of(0, 4) })).toThrow(ShapeError);
    const nm = encodeNm24(Int8Array.of(1, 0, 0, 2), 1, 4);
    expect(() => packSpmmNm(rt, { ...nm, meta: Uint8Array.of(0x5) })).toThrow(/i1 < i2/);
    const blk = encodeBsr4(q, 2, 4);
    expect(() => packSpmmBlock(rt, { ...blk, cols: Int32Array.of(1) })).toThrow(/column 1/);
    expect(() => encodeBsr4Int4(q, 2, 4)).not.toThrow();
    expect(() => encodeBsr4Int4(Int8Array.of(8, 0, 0, 0), 1, 4)).toThrow(/q\[0\] = 8/);
    const b4 = encodeBsr4Int4(q, 2, 4);
    expect(() => packSpmmBlock(rt, { ...b4, nibbles: new Uint8Array(7) })).toThrow(/nibbles \(7\)/);
    expect(() => encodeBsr4Int4(q, 2, 4, Uint8Array.of(0))).toThrow(/blockSubs\[0\] = 0/);
    expect(() => encodeBsr4Int4(q, 2, 4, Uint8Array.of(1, 1))).toThrow(ShapeError);
    expect(() => packSpmmBlock(rt, { ...b4, subs: Uint8Array.of(64) })).toThrow(/subs\[0\] = 64/);
    expect(() => packSpmmBlock(rt, { ...b4, subs: Uint8Array.of(1, 1) })).toThrow(/one per block/);
    const w = packSpmmCsr(rt, csr);
    await expect(runSpmmCsr(rt, new Int8Array(7), 2, 0, w, { kind: 'int32' })).rejects.toThrow(ShapeError);
    await expect(runSpmmCsr(rt, new Int8Array(8), 2, 0, w, { kind: 'float32', scale: new Float32Array(3) })).rejects.toThrow(/output.scale/);
    await expect(runSpmmCsr(rt, new Int8Array(8), 2, 200, w, { kind: 'int32' })).rejects.toThrow(/za/);
    w.dispose();
    await expect(runSpmmCsr(rt, new Int8Array(8), 2, 0, w, { kind: 'int32' })).rejects.toThrow(ArgumentError);
  });
});

function transpose(q: Int8Array, n: number, k: number): Int8Array {
  const t = new Int8Array(n * k);
  for (let r = 0; r < n; r++) for (let c = 0; c < k; c++) t[c * n + r] = q[r * k + c];
  return t;
}
