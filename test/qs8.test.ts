// qs8 kernel tester: packs seeded random data, runs the kernel, compares bit-exactly with the
// scalar reference, over shapes that hit every remainder path of the 4x8 tiles (and the 1x8 GEMV with its odd-K tail),
// extreme values and zero points, every epilogue, every weight layout, and 1 vs 2 threads. Every
// test runs twice: packed for small M (c2, or c4 for 7-bit weights on the relaxed build) and for
// large M (expectedM: w16, or c4), each running every M.

import { describe, expect, it } from 'vitest';
import type { Runtime } from '../src/index.js';
import { packQs8, runQs8, refMatMulInteger, refRequantize, refDequantizeAcc, type Qs8Weights } from '../src/kernels.js';
import { qs8Gemm, qs8StageF32, QS8_W16_MIN_M, type PackQs8Options } from '../src/kernels/qs8.js';
import { roundHalfEven } from '../src/quant/rounding.js';
import { GEMM_K, GEMM_M, GEMM_N, GemmTester, type GemmFamily } from './gemm-tester.js';
import { SIMD, firstMismatch, randInt8, randUint8, rng, useRuntimes } from './helpers.js';

interface Case {
  m: number;
  k: number;
  n: number;
  aSigned: boolean;
  bSigned: boolean;
  za: number;
  /** per-column zero points, or one for all */
  zb: number | 'random';
  /** 7-bit weights ([-64, 63] around the zero point) — the relaxed build packs these as c4 */
  sevenBit?: boolean;
  /** fill with extremes instead of random values */
  extremes?: boolean;
  seed: number;
}

function makeData(c: Case) {
  const r = rng(c.seed);
  const a = c.extremes
    ? (c.aSigned ? Int8Array.from({ length: c.m * c.k }, (_, i) => (i % 3 === 0 ? 127 : -128)) : Uint8Array.from({ length: c.m * c.k }, (_, i) => (i % 3 === 0 ? 0 : 255)))
    : c.aSigned ? randInt8(c.m * c.k, r) : randUint8(c.m * c.k, r);
  let b: Int8Array | Uint8Array;
  if (c.sevenBit) {
    // a 7-bit span per column, anywhere in the type's range
    const lo = c.bSigned ? -128 : 0;
    const base = Array.from({ length: c.n }, () => lo + Math.floor(r() * 129));
    const vals = Array.from({ length: c.k * c.n }, (_, i) => base[i % c.n] + Math.floor(r() * 128));
    if (c.extremes) for (let j = 0; j < c.n; j++) vals[j] = base[j] + 127;
    b = c.bSigned ? Int8Array.from(vals) : Uint8Array.from(vals);
  } else if (c.extremes) {
    b = c.bSigned ? Int8Array.from({ length: c.k * c.n }, (_, i) => (i % 2 ? -128 : 127)) : Uint8Array.from({ length: c.k * c.n }, (_, i) => (i % 2 ? 255 : 0));
  } else {
    b = c.bSigned ? randInt8(c.k * c.n, r) : randUint8(c.k * c.n, r);
  }
  const zb = Array.from({ length: c.n }, () =>
    c.zb === 'random' ? (c.bSigned ? -128 + Math.floor(r() * 256) : Math.floor(r() * 256)) : (c.zb as number),
  );
  return { a, b, zb };
}

/** the GEMM tester's shared shape list */
const shapes: [number, number, number][] = [];
for (const m of GEMM_M) for (const k of GEMM_K) for (const n of GEMM_N) shapes.push([m, k, n]);

const rts = useRuntimes();

/** the two packings every test runs with: the full-range layout each selects, and the options */
const PACKS: { layout: 'c2' | 'w16'; options: PackQs8Options }[] = [
  { layout: 'c2', options: {} },
  { layout: 'w16', options: { expectedM: QS8_W16_MIN_M } },
];

for (const pack of PACKS) {

async function runInt32(r: Runtime, c: Case, options: PackQs8Options) {
  const { a, b, zb } = makeData(c);
  const w = packQs8(r, b, c.k, c.n, zb, options);
  try {
    const got = (await runQs8(r, a, c.m, c.za, w, { kind: 'int32' })) as Int32Array;
    return { got, layout: w.layout, ref: refMatMulInteger(a, b, c.m, c.k, c.n, c.za, zb) };
  } finally {
    w.dispose();
  }
}

describe(`qs8 GEMM/GEMV int32 (${SIMD} build, ${pack.layout} packing)`, () => {
  it('matches the scalar reference on every shape of the GEMM tester (u8 x s8, random zero points; extremes), 1 and 2 threads', async () => {
    const family: GemmFamily<{ c: Case; a: Int8Array | Uint8Array; b: Int8Array | Uint8Array; zb: number[] }, Qs8Weights> = {
      data: ({ m, k, n, seed, extremes }) => {
        const c: Case = { m, k, n, aSigned: false, bSigned: true, za: extremes ? [0, 255, 128][seed % 3] : (seed * 37) & 255, zb: extremes ? [-128, 127, 0][seed % 3] : 'random', extremes, seed };
        return { c, ...makeData(c) };
      },
      pack: (rt, d) => packQs8(rt, d.b, d.c.k, d.c.n, d.zb, pack.options),
      run: (rt, d, w) => runQs8(rt, d.a, d.c.m, d.c.za, w, { kind: 'int32' }),
      ref: (d) => refMatMulInteger(d.a, d.b, d.c.m, d.c.k, d.c.n, d.c.za, d.zb),
    };
    const { runs, failures } = await new GemmTester().test(family, [rts.one, rts.two]);
    expect(failures).toEqual([]);
    expect(runs).toBe(2 * (shapes.length + 5));
  });

  it('matches on 7-bit weights, which the relaxed build runs through the c4 relaxed-dot kernel', async () => {
    let seed = 1000;
    for (const [m, k, n] of shapes) {
      for (const [aSigned, bSigned] of [[false, true], [true, true], [false, false], [true, false]]) {
        const c: Case = { m, k, n, aSigned, bSigned, za: aSigned ? -5 : 131, zb: 'random', sevenBit: true, seed: seed++ };
        const { got, ref, layout } = await runInt32(rts.one, c, pack.options);
        expect(layout).toBe(SIMD === 'relaxed' ? 'c4' : pack.layout);
        expect(firstMismatch(got, ref), `m=${m} k=${k} n=${n} aSigned=${aSigned} bSigned=${bSigned}`).toBeNull();
      }
    }
  });

  it('is exact on extreme values and zero points 0, 128, 255 / -128, 0, 127', async () => {
    const cases: Partial<Case>[] = [
      { aSigned: false, bSigned: true, za: 0, zb: 0 },
      { aSigned: false, bSigned: true, za: 255, zb: -128 },
      { aSigned: false, bSigned: true, za: 128, zb: 127 },
      { aSigned: true, bSigned: true, za: -128, zb: 127 },
      { aSigned: true, bSigned: false, za: 127, zb: 255 },
      { aSigned: false, bSigned: false, za: 255, zb: 0 },
      { aSigned: false, bSigned: false, za: 0, zb: 255, sevenBit: true },
      { aSigned: true, bSigned: true, za: -128, zb: -128, sevenBit: true },
    ];
    let seed = 5000;
    for (const partial of cases) {
      for (const [m, k, n] of [[1, 1, 1], [5, 67, 9], [4, 8, 8], [13, 300, 17], [1, 1000, 40]] as const) {
        const c = { m, k, n, extremes: true, seed: seed++, ...partial } as Case;
        const { got, ref } = await runInt32(rts.one, c, pack.options);
        expect(firstMismatch(got, ref), JSON.stringify(c)).toBeNull();
      }
    }
  });

  it('wraps modulo 2^32 like int32 accumulation on long K', async () => {
    // 255 * (-128 - 127) * 70000 = -4.55e9 overflows int32; onnxruntime wraps, and so must we
    const m = 2, k = 70000, n = 3;
    const a = new Uint8Array(m * k).fill(255);
    const b = new Int8Array(k * n).fill(-128);
    const zb = [127, 127, 127];
    expect(Math.abs(255 * -255 * k)).toBeGreaterThan(2 ** 31);
    const w = packQs8(rts.one, b, k, n, zb, pack.options);
    const got = await runQs8(rts.one, a, m, 0, w, { kind: 'int32' });
    w.dispose();
    expect(got[0]).toBe((255 * -255 * k) | 0);
    expect(firstMismatch(got, refMatMulInteger(a, b, m, k, n, 0, zb))).toBeNull();
  });
});

describe(`qs8 epilogues (${SIMD} build, ${pack.layout} packing)`, () => {
  it('requantizes to uint8 and int8 exactly like the float32 reference (round half to even, saturate)', async () => {
    let seed = 9000;
    for (const [m, k, n] of [[1, 5, 3], [3, 17, 9], [7, 64, 33], [13, 100, 17], [1, 300, 50]] as const) {
      for (const kind of ['uint8', 'int8'] as const) {
        for (const sevenBit of [false, true]) {
          const c: Case = { m, k, n, aSigned: false, bSigned: true, za: 100, zb: 'random', sevenBit, seed: seed++ };
          const { a, b, zb } = makeData(c);
          const r = rng(seed);
          const multiplier = Float32Array.from({ length: n }, () => 2 ** (-8 - 6 * r()));
          const zp = kind === 'uint8' ? 128 : -3;
          const w = packQs8(rts.one, b, k, n, zb, pack.options);
          const got = await runQs8(rts.one, a, m, c.za, w, { kind, multiplier, zeroPoint: zp });
          w.dispose();
          const ref = refRequantize(refMatMulInteger(a, b, m, k, n, c.za, zb), m, n, multiplier, zp, kind === 'int8');
          expect(firstMismatch(got, ref), `${kind} m=${m} k=${k} n=${n}`).toBeNull();
          // the test must reach both ends of the range and the middle
          if (m * n > 100) expect(new Set(got).size).toBeGreaterThan(10);
        }
      }
    }
  });

  it('requantizes with an int32 bias and a ReLU clamp at the zero point', async () => {
    let seed = 9500;
    for (const [m, k, n] of [[1, 30, 9], [5, 64, 17], [8, 33, 40]] as const) {
      for (const kind of ['uint8', 'int8'] as const) {
        const c: Case = { m, k, n, aSigned: true, bSigned: true, za: 3, zb: 0, seed: seed++ };
        const { a, b, zb } = makeData(c);
        const r = rng(seed);
        const multiplier = new Float32Array(n).fill(1 / 512);
        const bias = Int32Array.from({ length: n }, () => Math.floor((r() - 0.5) * 20000));
        const zp = kind === 'uint8' ? 100 : -20;
        const w = packQs8(rts.one, b, k, n, zb, pack.options);
        const got = await runQs8(rts.one, a, m, c.za, w, { kind, multiplier, zeroPoint: zp, bias, relu: true });
        w.dispose();
        const ref = refRequantize(refMatMulInteger(a, b, m, k, n, c.za, zb), m, n, multiplier, zp, kind === 'int8', bias, true);
        expect(firstMismatch(got, ref), `${kind} m=${m} k=${k} n=${n}`).toBeNull();
        expect(Math.min(...got)).toBe(zp);
      }
    }
  });

  it('rounds exact halves to even', async () => {
    // A = [1], B = [k] so acc = k; multiplier 0.5 gives k/2: 0.5 -> 0, 1.5 -> 2, 2.5 -> 2, -0.5 -> 0, -1.5 -> -2
    const vals = [1, 3, 5, -1, -3, 7, -7];
    const b = Int8Array.from(vals);
    const w = packQs8(rts.one, b, 1, vals.length, new Int32Array(vals.length), pack.options);
    const got = await runQs8(rts.one, Int8Array.of(1), 1, 0, w, { kind: 'int8', multiplier: new Float32Array(vals.length).fill(0.5), zeroPoint: 0 });
    w.dispose();
    expect(Array.from(got)).toEqual([0, 2, 2, 0, -2, 4, -4]);
  });

  it('dequantizes to float32 with row scale, column scale, bias and ReLU', async () => {
    let seed = 12000;
    for (const [m, k, n] of [[1, 9, 5], [4, 33, 16], [6, 40, 19], [1, 256, 40]] as const) {
      for (const relu of [false, true]) {
        const c: Case = { m, k, n, aSigned: true, bSigned: true, za: 0, zb: 0, seed: seed++ };
        const { a, b, zb } = makeData(c);
        const r = rng(seed);
        const colScale = Float32Array.from({ length: n }, () => 0.001 + r() * 0.01);
        const rowScale = Float32Array.from({ length: m }, () => 0.01 + r() * 0.1);
        const bias = Float32Array.from({ length: n }, () => r() * 2 - 1);
        const w = packQs8(rts.one, b, k, n, zb, pack.options);
        const got = await runQs8(rts.one, a, m, 0, w, { kind: 'float32', colScale, rowScale, bias, relu });
        w.dispose();
        const ref = refDequantizeAcc(refMatMulInteger(a, b, m, k, n, 0, zb), m, n, colScale, rowScale, bias, relu);
        expect(firstMismatch(got, ref), `m=${m} k=${k} n=${n} relu=${relu}`).toBeNull();
      }
    }
  });
});

describe(`qs8 threads (${SIMD} build, ${pack.layout} packing)`, () => {
  it('2 threads give the same bits as 1 thread', async () => {
    let seed = 20000;
    for (const [m, k, n] of [[1, 512, 300], [1, 64, 17], [7, 100, 129], [33, 64, 64], [128, 96, 200]] as const) {
      for (const sevenBit of [false, true]) {
        const c: Case = { m, k, n, aSigned: false, bSigned: true, za: 77, zb: 'random', sevenBit, seed: seed++ };
        const { a, b, zb } = makeData(c);
        const w1 = packQs8(rts.one, b, k, n, zb, pack.options);
        const w2 = packQs8(rts.two, b, k, n, zb, pack.options);
        const one = await runQs8(rts.one, a, m, c.za, w1, { kind: 'int32' });
        const two = await runQs8(rts.two, a, m, c.za, w2, { kind: 'int32' });
        w1.dispose();
        w2.dispose();
        expect(firstMismatch(two, one), `m=${m} k=${k} n=${n}`).toBeNull();
        expect(firstMismatch(one, refMatMulInteger(a, b, m, k, n, c.za, zb))).toBeNull();
      }
    }
  });
});

describe(`qs8 float32 staging and epilogue activations (${SIMD} build, ${pack.layout} packing)`, () => {
  it('qs8_stage_f32_c2 quantizes like QuantizeLinear (IEEE division, ties to even, saturation) and stages q - zp', () => {
    const rt = rts.one;
    const r = rng(31000);
    for (const [m, k, scale, zp] of [[1, 1, 0.1, 0], [3, 7, 0.05, 128], [2, 8, 0.02, 255], [5, 29, 0.5, 17], [4, 64, 1, 0]] as const) {
      const x = Float32Array.from({ length: m * k }, (_, i) => {
        const t = i % 6;
        if (t === 0) return (Math.floor(r() * 40) - 20 + 0.5) * scale; // exact halves
        if (t === 1) return (r() < 0.5 ? -1 : 1) * 1e6; // saturate at both ends
        if (t === 2) return i % 12 === 2 ? -0 : 0;
        return (r() * 2 - 1) * 200 * scale;
      });
      const kp = Math.ceil(k / 2) * 2;
      const px = rt.alloc(x.length * 4 + 16), out = rt.alloc(m * kp * 2 + 16), rs = rt.alloc(m * 4 + 16);
      rt.view(Float32Array, px, x.length).set(x);
      rt.kernels.qs8_stage_f32_c2(m, k, kp, px, k * 4, scale, zp, out, rs);
      const got = rt.read(Int16Array, out, m * kp), sums = rt.read(Int32Array, rs, m);
      rt.free(px); rt.free(out); rt.free(rs);
      for (let i = 0; i < m; i++) {
        let s = 0;
        for (let j = 0; j < kp; j++) {
          const want = j < k ? Math.min(255, Math.max(0, roundHalfEven(Math.fround(x[i * k + j] / Math.fround(scale))) + zp)) - zp : 0;
          expect(got[i * kp + j], `m=${m} k=${k} row ${i} col ${j} x=${x[i * k + j]}`).toBe(want);
          s += want;
        }
        expect(sums[i]).toBe(s);
      }
    }
  });

  it('applies each activation and a per-column affine in the float32 epilogue, bit for bit like the activation pass', async () => {
    const rt = rts.one;
    let seed = 32000;
    for (const [m, k, n] of [[1, 9, 5], [4, 33, 16], [6, 40, 19]] as const) {
      for (const kind of [1, 2, 3, 4, 5, 6]) {
        const c: Case = { m, k, n, aSigned: true, bSigned: true, za: 0, zb: 0, seed: seed++ };
        const { a, b, zb } = makeData(c);
        const r = rng(seed);
        const colScale = Float32Array.from({ length: n }, () => 0.001 + r() * 0.01);
        const bias = Float32Array.from({ length: n }, () => r() * 2 - 1);
        const scale = Float32Array.from({ length: n }, () => r() * 2 - 1);
        const shift = Float32Array.from({ length: n }, () => r() * 2 - 1);
        const [alpha, beta] = kind === 6 ? [-0.5, 0.7] : [1.3, 0.4];
        const w = packQs8(rt, b, k, n, zb, pack.options);
        const got = await runQs8(rt, a, m, 0, w, { kind: 'float32', colScale, bias, activation: { kind, alpha, beta, scale, shift } });
        w.dispose();
        const plain = refDequantizeAcc(refMatMulInteger(a, b, m, k, n, 0, zb), m, n, colScale, undefined, bias);
        // the reference activation: the f32_act_nhwc pass over the dequantized values
        const np = Math.ceil(n / 4) * 4;
        const pv = rt.alloc(plain.length * 4 + 16), ps = rt.alloc(np * 8);
        rt.view(Float32Array, pv, plain.length).set(plain);
        const st = rt.view(Float32Array, ps, 2 * np);
        st.fill(0);
        st.set(scale, 0);
        st.set(shift, np);
        rt.kernels.f32_act_nhwc(pv, m, n, kind, alpha, beta, ps, ps + np * 4, pv);
        const ref = rt.read(Float32Array, pv, plain.length);
        rt.free(pv); rt.free(ps);
        expect(firstMismatch(got, ref), `m=${m} k=${k} n=${n} kind=${kind}`).toBeNull();
      }
    }
  });
});
}

describe(`qs8 w16 layout (${SIMD} build)`, () => {
  it('is chosen from expectedM >= QS8_W16_MIN_M for full-range weights, takes 2 bytes per weight, and c2 stays the default', () => {
    const r = rng(40000);
    const b = randInt8(70 * 20, r);
    const zb = new Int32Array(20);
    const c2 = packQs8(rts.one, b, 70, 20, zb);
    const small = packQs8(rts.one, b, 70, 20, zb, { expectedM: QS8_W16_MIN_M - 1 });
    const w16 = packQs8(rts.one, b, 70, 20, zb, { expectedM: QS8_W16_MIN_M, allowSevenBit: false });
    expect([c2.layout, small.layout, w16.layout]).toEqual([SIMD === 'relaxed' ? c2.layout : 'c2', small.layout === 'c4' ? 'c4' : 'c2', 'w16']);
    expect(w16.bytes).toBe(2 * 70 * 24);
    for (const w of [c2, small, w16]) w.dispose();
  });

  it('matches the reference at large M (strip tails), K and N across its column blocks, 1 and 2 threads', async () => {
    let seed = 41000;
    // k = 1500: 24000-byte panels, so 256 KiB blocks hold 80 columns and n = 203 spans three
    for (const [m, k, n] of [[16, 64, 64], [17, 33, 40], [38, 1500, 203], [130, 96, 77], [64, 768, 96]] as const) {
      const c: Case = { m, k, n, aSigned: false, bSigned: true, za: 131, zb: 'random', seed: seed++ };
      const { a, b, zb } = makeData(c);
      const ref = refMatMulInteger(a, b, m, k, n, c.za, zb);
      for (const r of [rts.one, rts.two]) {
        const w = packQs8(r, b, k, n, zb, { expectedM: m, allowSevenBit: false });
        expect(w.layout).toBe('w16');
        const got = await runQs8(r, a, m, c.za, w, { kind: 'int32' });
        w.dispose();
        expect(firstMismatch(got, ref), `m=${m} k=${k} n=${n}`).toBeNull();
      }
    }
  });

  it('runs on A staged from float32 (qs8StageF32, the layers\' path) with the same bits as c2', async () => {
    const rt = rts.one;
    const r = rng(42000);
    for (const [m, k, n] of [[1, 7, 9], [5, 40, 17], [21, 130, 33]] as const) {
      const x = Float32Array.from({ length: m * k }, () => (r() * 2 - 1) * 3);
      const b = randInt8(k * n, r);
      const zb = new Int32Array(n);
      const colScale = Float32Array.from({ length: n }, () => 0.01 + r() * 0.01);
      const outs: Float32Array[] = [];
      for (const options of [{ allowSevenBit: false }, { allowSevenBit: false, expectedM: 64 }]) {
        const w = packQs8(rt, b, k, n, zb, options);
        outs.push(await rt.scoped(async (alloc) => {
          const px = rt.putPadded(alloc, Float32Array, x, x.length + 4);
          const staged = alloc(m * w.kp * 2 + 16), rowSum = alloc(m * 4 + 16), out = alloc(m * n * 4 + 16);
          qs8StageF32(rt, w, m, px, k * 4, 0.02, 128, staged, rowSum);
          await qs8Gemm(rt, alloc, { m, a: 0, signed: false, za: 128, w, output: { kind: 'float32', colScale }, staged: { ptr: staged, rowSum }, out, outStride: n * 4 });
          return rt.read(Float32Array, out, m * n);
        }));
        w.dispose();
      }
      expect(firstMismatch(outs[1], outs[0]), `m=${m} k=${k} n=${n}`).toBeNull();
    }
  });
});
