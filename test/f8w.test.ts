// f8w tester: 8-bit float weights (OCP E4M3FN / E5M2, and the FPx splits E1M6 … E5M2 whose codes
// are all finite; per-column scale) x float32 activations.
//
// Baseline build: bit-exact against refF8w (the same float32 operations in the same order: products
// rounded, k increasing, then * scale, + bias, clamp). Relaxed build (FMA): against a float64
// evaluation of the same FP8 values, |y - y64| <= (K + 3) * 2^-24 * (sum_k |x w| |scale| + |bias|),
// the float32 summation bound with a little room. Decoding itself is exact on both builds (checked
// code by code through one-hot rows). Quantization error of the default scales: SQNR of Gaussian W.

import { describe, expect, it } from 'vitest';
import { FP8, FP8_TABLE_BITS, LowbitError, fp8IsNaN, fpxFormat, fpxTable, type Fp8Format, type FpxSplit } from '../src/index.js';
import {
  dequantizeF8w, f8wGemm, packF8w, quantizeF8Activations, quantizeF8w, refF8w, runF8f8, runF8w, F8W_FORMATS, type F8wFormat, type F8wQuantized, type F8wWeights,
} from '../src/kernels.js';
import { GEMM_K, GEMM_M, GemmTester, type GemmCase, type GemmFamily } from './gemm-tester.js';
import { SIMD, firstMismatch, randNormal, rng, useRuntimes } from './helpers.js';

const rts = useRuntimes();
/** OCP FP8 (activations too) */
const FORMATS: Fp8Format[] = ['e4m3fn', 'e5m2'];
/** every weight format of the kernels: OCP and the FPx splits */
const WFORMATS: readonly F8wFormat[] = F8W_FORMATS;
const isOcp = (f: F8wFormat): f is Fp8Format => f === 'e4m3fn' || f === 'e5m2';

const finite = (c: number, f: F8wFormat) => !isOcp(f) || (!fp8IsNaN(c, f) && !(f === 'e5m2' && (c & 0x7f) === 0x7c));
const mantissaBits = (f: F8wFormat) => (isOcp(f) ? FP8[f].m : fpxFormat(f).m);
const maxCode = (f: F8wFormat) => (isOcp(f) ? FP8[f].maxCode : 0x7f);
const table = (f: F8wFormat) => (isOcp(f) ? new Float32Array(FP8_TABLE_BITS[f].buffer.slice(0)) : fpxTable(f as FpxSplit));
const decode = (codes: Uint8Array, f: F8wFormat) => Float32Array.from(codes, (c) => table(f)[c]);

/** random finite codes, with the special ones (±0, smallest/largest subnormal, ±max) mixed in */
function randCodes(len: number, f: F8wFormat, r: () => number): Uint8Array {
  const mc = maxCode(f);
  const specials = [0x00, 0x80, 0x01, 0x81, (1 << mantissaBits(f)) - 1, 0x80 | ((1 << mantissaBits(f)) - 1), mc, 0x80 | mc];
  const out = new Uint8Array(len);
  for (let i = 0; i < len; i++) {
    let c: number;
    if (r() < 0.1) c = specials[Math.floor(r() * specials.length)];
    else do c = Math.floor(r() * 256); while (!finite(c, f));
    out[i] = c;
  }
  return out;
}

function gaussian(n: number, r: () => number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
  return out;
}

/** float64 y and the bound of the relaxed check */
function closeTo(got: Float32Array, x: Float32Array, m: number, q: F8wQuantized, bias: Float32Array | null, lo: number, hi: number): string | null {
  const { k, n, codes, scales } = q;
  const t = decode(codes, q.format);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      let a = 0;
      for (let u = 0; u < k; u++) {
        const p = x[i * k + u] * t[u * n + j];
        s += p;
        a += Math.abs(p);
      }
      const b = bias ? bias[j] : 0;
      const y = Math.min(Math.max(s * scales[j] + b, lo), hi);
      const tol = (k + 3) * 2 ** -24 * (a * Math.abs(scales[j]) + Math.abs(b)) + 1e-38;
      const g = got[i * n + j];
      if (!(Math.abs(g - y) <= tol)) return `[${i}][${j}]: got ${g}, want ${y} ± ${tol}`;
    }
  }
  return null;
}

function check(got: Float32Array, x: Float32Array, m: number, q: F8wQuantized, bias: Float32Array | null, lo = -Infinity, hi = Infinity): string | null {
  if (SIMD === 'baseline') return firstMismatch(got, refF8w(x, m, q, bias, lo, hi));
  return closeTo(got, x, m, q, bias, lo, hi);
}

interface F8wData {
  m: number;
  q: F8wQuantized;
  x: Float32Array;
  bias: Float32Array | null;
  lo: number;
  hi: number;
  /** row strides in floats (x, out) for f8wGemm on linear memory, or null for runF8w */
  strides: [number, number] | null;
}

/** what f8wGemm must leave in the gaps between strided output rows */
const GAP = -7777;

/**
 * f8w for the GEMM tester: random finite codes (extremes: ±max codes, activations ±1e3), a clamp on
 * every 4th case, a bias on two in three; odd seeds run f8wGemm with padded row strides and return
 * the whole output buffer, gaps included (they must keep GAP).
 */
const f8wFamily = (format: F8wFormat): GemmFamily<F8wData, F8wWeights> => ({
  data: ({ m, k, n, seed, extremes }: GemmCase, r) => {
    const max = maxCode(format);
    const codes = extremes ? Uint8Array.from({ length: k * n }, (_, i) => (i % 2 ? max : 0x80 | max)) : randCodes(k * n, format, r);
    const scales = Float32Array.from({ length: n }, () => 0.001 + r());
    const x = extremes ? Float32Array.from({ length: m * k }, (_, i) => (i % 3 ? 1e3 : -1e3)) : randNormal(m * k, r);
    const [lo, hi] = seed % 4 === 0 ? [-0.5, 0.75] : [-Infinity, Infinity];
    return { m, q: { format, k, n, codes, scales }, x, bias: seed % 3 ? randNormal(n, r) : null, lo, hi, strides: seed % 2 ? [k + 3, n + 5] : null };
  },
  pack: (rt, d) => packF8w(rt, d.q.codes, d.q.k, d.q.n, { format, scales: d.q.scales }),
  run: (rt, d, w) => {
    if (!d.strides) return runF8w(rt, d.x, d.m, w, d.bias, d.lo, d.hi);
    const { k, n } = d.q;
    const [xs, os] = d.strides;
    return rt.scoped(async (alloc) => {
      const px = alloc(d.m * xs * 4), out = alloc(d.m * os * 4);
      const xv = rt.view(Float32Array, px, d.m * xs);
      xv.fill(NaN); // the gaps of x must not be read
      for (let i = 0; i < d.m; i++) xv.set(d.x.subarray(i * k, (i + 1) * k), i * xs);
      rt.view(Float32Array, out, d.m * os).fill(GAP);
      await f8wGemm(rt, alloc, { m: d.m, x: px, xStride: xs * 4, w, out, outStride: os * 4, bias: d.bias, lo: d.lo, hi: d.hi });
      return rt.read(Float32Array, out, d.m * os);
    });
  },
  ref: (d) => refF8w(d.x, d.m, d.q, d.bias, d.lo, d.hi),
  check: (got, want, d) => {
    let y = got as Float32Array;
    if (d.strides) {
      const { n } = d.q;
      const os = d.strides[1];
      y = new Float32Array(d.m * n);
      for (let i = 0; i < d.m; i++) {
        for (let j = 0; j < os; j++) {
          if (j < n) y[i * n + j] = got[i * os + j];
          else if (got[i * os + j] !== GAP) return `row ${i}: the gap at column ${j} was written (${got[i * os + j]})`;
        }
      }
    }
    return SIMD === 'baseline' ? firstMismatch(y, want) : closeTo(y, d.x, d.m, d.q, d.bias, d.lo, d.hi);
  },
});

describe(`f8w GEMM/GEMV (${SIMD} build)`, () => {
  for (const [fi, format] of WFORMATS.entries()) {
    it(`${format}: the GEMM tester's shapes (and K 15, 16, 100, M 9), row strides through f8wGemm, extremes, ${SIMD === 'baseline' ? 'bit-exact vs refF8w' : 'within the float32 summation bound'}, 1 and 2 threads`, async () => {
      const tester = new GemmTester().m(...GEMM_M, 9).k(...GEMM_K, 15, 16, 100).seed(format === 'e4m3fn' ? 7 : format === 'e5m2' ? 70000 : 700 + 1000 * fi);
      const { runs, failures } = await tester.test(f8wFamily(format), [rts.one, rts.two]);
      expect(failures).toEqual([]);
      expect(runs).toBe(2 * tester.cases().length);
    });

    it(`${format}: every finite code decodes exactly (one-hot rows, ±0, subnormals, ±max)`, async () => {
      const all: number[] = [];
      for (let c = 0; c < 256; c++) if (finite(c, format)) all.push(c);
      // K = M = all.length codes down one column, plus a column of the same codes reversed
      const k = all.length;
      const n = 2;
      const codes = new Uint8Array(k * n);
      for (let i = 0; i < k; i++) {
        codes[i * n] = all[i];
        codes[i * n + 1] = all[k - 1 - i];
      }
      const x = new Float32Array(k * k);
      for (let i = 0; i < k; i++) x[i * k + i] = 1;
      for (const rt of [rts.one, rts.two]) {
        const w = packF8w(rt, codes, k, n, { format, scales: [1, 1] });
        const got = await runF8w(rt, x, k, w);
        w.dispose();
        const want = decode(codes, format);
        for (let i = 0; i < k * n; i++) {
          // -0 comes out as +0 (the sum starts at +0), every other value exactly
          expect(got[i] === want[i], `code 0x${codes[i].toString(16)}: got ${got[i]}, want ${want[i]}`).toBe(true);
        }
      }
      // the extremes times a scale: ±max * 2, smallest subnormal * 2
      const max = isOcp(format) ? FP8[format].max : fpxFormat(format).standardMax;
      const minSub = isOcp(format) ? FP8[format].minSubnormal : 2 ** (fpxFormat(format).emin - fpxFormat(format).m);
      const w = packF8w(rts.one, Uint8Array.of(maxCode(format), 0x80 | maxCode(format), 0x01), 1, 3, { format, scales: [2, 2, 2] });
      const got = await runF8w(rts.one, Float32Array.of(1), 1, w);
      w.dispose();
      expect(Array.from(got)).toEqual([2 * max, -2 * max, 2 * minSub]);
    });

    it(`${format}: GEMV and GEMM give the same bits for the same row; threads and column splits too`, async () => {
      const r = rng(5 + fi);
      const k = 300;
      const n = 300;
      const m = 10; // 3 row strips: the decode-once GEMM path
      const codes = randCodes(k * n, format, r);
      const scales = Float32Array.from({ length: n }, () => 0.01 + r());
      const x = randNormal(m * k, r);
      const bias = randNormal(n, r);
      const w1 = packF8w(rts.one, codes, k, n, { format, scales });
      const w2 = packF8w(rts.two, codes, k, n, { format, scales });
      const all1 = await runF8w(rts.one, x, m, w1, bias);
      const all2 = await runF8w(rts.two, x, m, w2, bias);
      expect(firstMismatch(all1, all2)).toBeNull();
      if (SIMD === 'baseline') {
        expect(firstMismatch(all1, refF8w(x, m, { format, k, n, codes, scales }, bias))).toBeNull();
        for (let i = 0; i < m; i++) {
          const row = await runF8w(rts.two, x.subarray(i * k, (i + 1) * k), 1, w2, bias);
          expect(firstMismatch(row, all1.subarray(i * n, (i + 1) * n)), `row ${i}`).toBeNull();
        }
      }
      w1.dispose();
      w2.dispose();
    });

    it(`${format}: float32 weights: default per-column scales, transposed input, same as codes + scales`, async () => {
      const r = rng(11);
      const k = 40;
      const n = 21;
      const wf = gaussian(k * n, r);
      const q = quantizeF8w(wf, k, n, { format });
      // scale = absmax / max: the largest |code| of each column is max (or the column is 0)
      for (let j = 0; j < n; j++) {
        let a = 0;
        for (let i = 0; i < k; i++) a = Math.max(a, Math.abs(wf[i * n + j]));
        expect(q.scales[j]).toBe(Math.fround(a / (isOcp(format) ? FP8[format].max : fpxFormat(format).standardMax)));
      }
      const wt = new Float32Array(k * n);
      for (let i = 0; i < k; i++) for (let j = 0; j < n; j++) wt[j * k + i] = wf[i * n + j];
      const x = randNormal(3 * k, r);
      const a = packF8w(rts.one, wf, k, n, { format });
      const b = packF8w(rts.one, wt, k, n, { format, transposed: true });
      const c = packF8w(rts.one, q.codes, k, n, { format, scales: q.scales });
      const d = packF8w(rts.one, q, k, n);
      const ya = await runF8w(rts.one, x, 3, a);
      for (const p of [b, c, d]) expect(firstMismatch(await runF8w(rts.one, x, 3, p), ya)).toBeNull();
      expect(check(ya, x, 3, q, null)).toBeNull();
      expect(a.bytes).toBe(k * 32 + 32 * 4);
      for (const p of [a, b, c, d]) p.dispose();
    });
  }

  it('quantization error of Gaussian W with the default scales: E4M3 SQNR >= 30 dB, E5M2 >= 24 dB, E1M6 … E3M4 >= 34 dB', async () => {
    const r = rng(2024);
    const k = 512;
    const n = 128;
    const m = 4;
    const wf = gaussian(k * n, r);
    const x = gaussian(m * k, r);
    const budget: Record<F8wFormat, number> = { e4m3fn: 30, e5m2: 24, E1M6: 34, E2M5: 34, E3M4: 34, E4M3: 30, E5M2: 24 };
    for (const format of WFORMATS) {
      const q = quantizeF8w(wf, k, n, { format });
      const dq = dequantizeF8w(q);
      let sw = 0;
      let ew = 0;
      for (let i = 0; i < wf.length; i++) {
        sw += wf[i] ** 2;
        ew += (wf[i] - dq[i]) ** 2;
      }
      const weightDb = 10 * Math.log10(sw / ew);
      // end to end: the GEMM output against float64 x * W
      const w = packF8w(rts.one, wf, k, n, { format });
      const y = await runF8w(rts.one, x, m, w);
      w.dispose();
      let sy = 0;
      let ey = 0;
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < n; j++) {
          let s = 0;
          for (let u = 0; u < k; u++) s += x[i * k + u] * wf[u * n + j];
          sy += s * s;
          ey += (s - y[i * n + j]) ** 2;
        }
      }
      const outDb = 10 * Math.log10(sy / ey);
      console.info(`f8w ${format} (${SIMD}): SQNR of W ${weightDb.toFixed(2)} dB, of x·W ${outDb.toFixed(2)} dB (Gaussian ${k}x${n})`);
      expect(weightDb).toBeGreaterThanOrEqual(budget[format]);
      expect(outDb).toBeGreaterThanOrEqual(budget[format]);
    }
  });

  it('f8wGemm on buffers in linear memory with row strides leaves the gaps alone', async () => {
    const rt = rts.two;
    const r = rng(3);
    const [m, k, n] = [5, 19, 130];
    const codes = randCodes(k * n, 'e4m3fn', r);
    const scales = Float32Array.from({ length: n }, () => 0.5 + r());
    const w = packF8w(rt, codes, k, n, { scales });
    const x = randNormal(m * k, r);
    const bias = randNormal(n, r);
    const xStride = (k + 3) * 4;
    const outStride = (n + 5) * 4;
    const got = await rt.scoped(async (alloc) => {
      const px = alloc(m * xStride);
      const po = alloc(m * outStride);
      const xv = rt.view(Float32Array, px, (m * xStride) / 4);
      xv.fill(NaN);
      for (let i = 0; i < m; i++) xv.set(x.subarray(i * k, (i + 1) * k), (i * xStride) / 4);
      rt.view(Float32Array, po, (m * outStride) / 4).fill(-7);
      await f8wGemm(rt, alloc, { m, x: px, xStride, w, out: po, outStride, bias, lo: -1, hi: 1 });
      return rt.read(Float32Array, po, (m * outStride) / 4);
    });
    // without an allocator, and the bias as an address in linear memory
    const got2 = await rt.scoped(async (alloc) => {
      const px = alloc(m * k * 4);
      const po = alloc(m * n * 4);
      const pb = alloc(n * 4 + 4) + 2; // unaligned on purpose
      rt.view(Float32Array, px, m * k).set(x);
      new Uint8Array(rt.memory.buffer, pb, n * 4).set(new Uint8Array(bias.buffer, bias.byteOffset, n * 4));
      await f8wGemm(rt, { m, x: px, w, out: po, outStride: n * 4, bias: pb, lo: -1, hi: 1 });
      return rt.read(Float32Array, po, m * n);
    });
    w.dispose();
    const y = new Float32Array(m * n);
    for (let i = 0; i < m; i++) {
      y.set(got.subarray((i * outStride) / 4, (i * outStride) / 4 + n), i * n);
      for (let j = n; j < outStride / 4; j++) expect(got[(i * outStride) / 4 + j]).toBe(-7);
    }
    expect(check(y, x, m, { format: 'e4m3fn', k, n, codes, scales }, bias, -1, 1)).toBeNull();
    expect(firstMismatch(got2, y)).toBeNull();
  });

  it('bad inputs are clear errors', async () => {
    const rt = rts.one;
    const codes = new Uint8Array(6);
    const wf = new Float32Array(6).fill(0.5);
    const err = (f: () => unknown, code: string, msg: RegExp) => {
      let e: unknown;
      try {
        f();
      } catch (x) {
        e = x;
      }
      expect(e).toBeInstanceOf(LowbitError);
      expect((e as LowbitError).code).toBe(code);
      expect((e as Error).message).toMatch(msg);
    };
    // NaN / Inf weights
    err(() => packF8w(rt, Float32Array.of(0, 1, NaN, 0, 0, 0), 2, 3), 'ERR_RANGE', /W\[0\]\[2\] is NaN/);
    err(() => packF8w(rt, Float32Array.of(0, 1, 0, 0, -Infinity, 0), 2, 3), 'ERR_RANGE', /W\[1\]\[1\] is -Infinity/);
    err(() => packF8w(rt, Uint8Array.of(0, 0, 0, 0x7f, 0, 0), 2, 3, { scales: [1, 1, 1] }), 'ERR_RANGE', /0x7f at W\[1\]\[0\] is NaN in e4m3fn/);
    err(() => packF8w(rt, Uint8Array.of(0, 0xff, 0, 0, 0, 0), 2, 3, { scales: [1, 1, 1] }), 'ERR_RANGE', /0xff .* NaN/);
    err(() => packF8w(rt, Uint8Array.of(0, 0, 0xfc, 0, 0, 0), 2, 3, { format: 'e5m2', scales: [1, 1, 1] }), 'ERR_RANGE', /0xfc .* infinite in e5m2/);
    err(() => packF8w(rt, Uint8Array.of(0, 0, 0, 0, 0, 0x7d), 2, 3, { format: 'e5m2', scales: [1, 1, 1] }), 'ERR_RANGE', /0x7d .* NaN in e5m2/);
    // scales
    err(() => packF8w(rt, codes, 2, 3, { scales: [1, 1] }), 'ERR_SHAPE', /scales has 2 elements, expected N = 3/);
    err(() => packF8w(rt, wf, 2, 3, { scales: [1, 1, 1, 1] }), 'ERR_SHAPE', /scales has 4 elements, expected N = 3/);
    err(() => packF8w(rt, codes, 2, 3), 'ERR_ARGUMENT', /need options.scales/);
    err(() => packF8w(rt, codes, 2, 3, { scales: [1, NaN, 1] }), 'ERR_RANGE', /scales\[1\] is NaN/);
    err(() => packF8w(rt, wf, 2, 3, { scales: [1, 0, 1] }), 'ERR_RANGE', /scales\[1\] is 0/);
    // format and shapes
    err(() => packF8w(rt, wf, 2, 3, { format: 'e4m3' as Fp8Format }), 'ERR_ARGUMENT', /format must be one of 'e4m3fn', 'e5m2', 'E1M6', .*, got 'e4m3'/);
    err(() => packF8w(rt, codes, 2, 3, { format: 'fp8' as Fp8Format, scales: [1, 1, 1] }), 'ERR_ARGUMENT', /got 'fp8'/);
    err(() => packF8w(rt, wf, 3, 3), 'ERR_SHAPE', /W has 6 elements, expected K\*N = 3\*3/);
    const w = packF8w(rt, wf, 2, 3);
    await expect(runF8w(rt, new Float32Array(5), 2, w)).rejects.toMatchObject({ code: 'ERR_SHAPE' });
    await expect(runF8w(rt, new Float32Array(4), 2, w, new Float32Array(2))).rejects.toMatchObject({ code: 'ERR_SHAPE' });
    await expect(runF8w(rt, new Float32Array(4), 2, w, null, 1, 0)).rejects.toMatchObject({ code: 'ERR_RANGE' });
    await expect(rt.scoped((alloc) => f8wGemm(rt, alloc, { m: 1, x: rt.memory.buffer.byteLength - 4, w, out: 64, outStride: 12 }))).rejects.toMatchObject({ code: 'ERR_ARGUMENT' });
    await expect(rt.scoped((alloc) => f8wGemm(rt, alloc, { m: 2, x: 64, w, out: 128, outStride: 8 }))).rejects.toMatchObject({ code: 'ERR_SHAPE' });
    w.dispose();
    await expect(runF8w(rt, new Float32Array(4), 2, w)).rejects.toMatchObject({ code: 'ERR_DISPOSED' });
    // M = 0 is an empty result
    const w2 = packF8w(rt, wf, 2, 3);
    expect((await runF8w(rt, new Float32Array(0), 0, w2)).length).toBe(0);
    w2.dispose();
  });

  it('FP8 x FP8: activations per row with power-of-two scales; every product exact, so bit-exact on both builds', async () => {
    const r = rng(77);
    const [k, n] = [100, 37];
    for (const xf of FORMATS) {
      for (const wfmt of FORMATS) {
        for (const m of [1, 3, 10]) {
          const x = randNormal(m * k, r, 3);
          x[0] = 0;
          if (m > 1) x.fill(0, k, 2 * k); // an all-zero row
          const codes = randCodes(k * n, wfmt, r);
          const scales = Float32Array.from({ length: n }, () => 0.01 + r());
          const bias = randNormal(n, r);
          const xq = quantizeF8Activations(x, m, k, xf);
          for (let i = 0; i < m; i++) {
            const e = Math.log2(xq.rowScales[i]);
            expect(Number.isInteger(e), `row ${i} scale ${xq.rowScales[i]}`).toBe(true);
            let a = 0;
            let b = 0;
            for (let j = 0; j < k; j++) {
              a = Math.max(a, Math.abs(x[i * k + j]));
              b = Math.max(b, Math.abs(xq.values[i * k + j]));
            }
            if (a > 0) expect(a / xq.rowScales[i]).toBeGreaterThan(FP8[xf].max / 2);
            expect(b).toBeLessThanOrEqual(FP8[xf].max * xq.rowScales[i]);
          }
          for (const rt of [rts.one, rts.two]) {
            const w = packF8w(rt, codes, k, n, { format: wfmt, scales });
            const got = await runF8f8(rt, x, m, w, { format: xf, bias, lo: -4, hi: 4 });
            w.dispose();
            const want = refF8w(xq.values, m, { format: wfmt, k, n, codes, scales }, bias, -4, 4);
            expect(firstMismatch(got, want), `x ${xf} w ${wfmt} m=${m}`).toBeNull();
          }
        }
      }
    }
    const w = packF8w(rts.one, new Float32Array(k * n).fill(1), k, n);
    await expect(runF8f8(rts.one, Float32Array.of(NaN, ...new Array(k - 1).fill(0)), 1, w)).rejects.toMatchObject({ code: 'ERR_RANGE' });
    await expect(runF8f8(rts.one, new Float32Array(k), 1, w, { format: 'int8' as Fp8Format })).rejects.toMatchObject({ code: 'ERR_ARGUMENT' });
    w.dispose();
  });

  it('FP8 x FP8 error: E4M3 x E4M3 output SQNR >= 27 dB, E5M2 activations >= 22 dB (Gaussian)', async () => {
    const r = rng(4242);
    const [m, k, n] = [8, 512, 64];
    const wf = gaussian(k * n, r);
    const x = gaussian(m * k, r);
    const budget = { e4m3fn: 27, e5m2: 22 };
    const w = packF8w(rts.one, wf, k, n);
    for (const xf of FORMATS) {
      const y = await runF8f8(rts.one, x, m, w, { format: xf });
      let sy = 0;
      let ey = 0;
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < n; j++) {
          let s = 0;
          for (let u = 0; u < k; u++) s += x[i * k + u] * wf[u * n + j];
          sy += s * s;
          ey += (s - y[i * n + j]) ** 2;
        }
      }
      const db = 10 * Math.log10(sy / ey);
      console.info(`f8f8 x ${xf} x W e4m3fn (${SIMD}): SQNR of x·W ${db.toFixed(2)} dB`);
      expect(db).toBeGreaterThanOrEqual(budget[xf]);
    }
    w.dispose();
  });

  it('the reference decodes with the exact FP8 / FPx table', () => {
    // refF8w on one-hot x is the table value times the scale, rounded once to float32
    for (const format of WFORMATS) {
      const t = table(format);
      const y = refF8w(Float32Array.of(1), 1, { format, k: 1, n: 2, codes: Uint8Array.of(0x01, 0x35), scales: [3, 0.1] });
      expect(y[0]).toBe(Math.fround(t[1] * 3));
      expect(y[1]).toBe(Math.fround(t[0x35] * Math.fround(0.1)));
    }
  });
});
