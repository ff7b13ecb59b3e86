// Kernel-level tests of the float32 kernels without weights: f32_act_nhwc, f32_softmax_rows,
// f32_attention_rows, f32_gap_nhwc, f32_avgpool_nhwc, f32_scale_channels_nhwc, f32_add_nhwc,
// f32_copy_rows, f32_matmul_rows.
// (There is no max-pool kernel: MaxPool runs on the host.) They use plain IEEE mul/add in both
// builds, so the tolerance is zero: bit for bit equal to the scalar references of
// src/kernels/reference/elementwise.ts (the ones scripts/determinism.mjs digests), on seeded data,
// sizes below/at/above the 4-lane vectors, primes, size 1, extremes (±1e30, ±Inf, -Inf masks, NaN
// where the op passes it through), on 1 thread and split over 2 as src/model/kernel-layers.ts splits.

import { describe, expect, it } from 'vitest';
import type { Runtime } from '../src/index.js';
import {
  poolOutput, refActNhwc, refAddNhwc, refCopyRows, refAttentionRows, refAvgpoolNhwc, refMaxpoolNhwc, refGapNhwc, refMatmulRows, refScaleChannelsNhwc, refSoftmaxRows, type PoolGeometry2d,
} from '../src/kernels/reference/elementwise.js';
import { SIMD, firstMismatch, randNormal, rng, useRuntimes } from './helpers.js';

const rts = useRuntimes();
const threadCases = () => [['1 thread', rts.one], ['2 threads', rts.two]] as const;

/**
 * The one place this file calls a kernel (re-point it when kernel calls get typed wrappers):
 * copies `inputs` into wasm memory (16 zero bytes after each), then runs `name` over `split` items
 * with rt.parallelColumns, `args(inputPtrs, outPtr, i0, i1)` giving the arguments for items [i0, i1)
 * (split = 0: one rt.invoke with i0 = i1 = 0), and reads `outLength` floats back.
 */
async function callKernel(
  rt: Runtime, name: string, inputs: Float32Array[], outLength: number, split: number,
  args: (x: number[], out: number, i0: number, i1: number) => number[],
): Promise<Float32Array> {
  return rt.scoped(async (alloc) => {
    const ptrs = inputs.map((a) => alloc(a.byteLength + 16));
    const out = alloc(outLength * 4 + 16);
    inputs.forEach((a, i) => {
      const v = rt.view(Float32Array, ptrs[i], a.length + 4);
      v.fill(0);
      v.set(a);
    });
    rt.view(Float32Array, out, outLength + 4).fill(0);
    if (split === 0) rt.invoke([name, args(ptrs, out, 0, 0)]);
    else await rt.parallelColumns(split, 1, (i0, i1) => [name, args(ptrs, out, i0, i1)], 1);
    return rt.read(Float32Array, out, outLength);
  });
}

/** normal floats with extremes mixed in: ±1e30, ±Inf (when `inf`), signed zeros, a subnormal */
function withExtremes(x: Float32Array, every: number, inf: boolean): Float32Array {
  const specials = [1e30, -1e30, -0, 0, 2 ** -140, 88.5, -87.5, ...(inf ? [Infinity, -Infinity] : [])];
  for (let i = 2; i < x.length; i += every) x[i] = specials[Math.floor(i / every) % specials.length];
  return x;
}

const CHANNELS = [1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 31];

describe(`f32_act_nhwc (${SIMD} build)`, () => {
  it('equals refActNhwc bit for bit: every activation, channels around the vector width, extremes, ±Inf, NaN, 1 and 2 threads', async () => {
    let seed = 1;
    const kinds = [[0, 0, 0], [1, 0, 0], [2, 0, 0], [3, 1.702, 0], [4, 1, 0], [5, 0.2, 0.5], [6, -0.5, 0.7], [7, 0.2, -0.4], [7, 0.01, -Infinity], [7, 1.5, 0.25]];
    for (const [kind, alpha, beta] of kinds) {
      for (const c of CHANNELS) {
        for (const pixels of [1, 2, 7, 13]) {
          const r = rng(seed++);
          const x = withExtremes(randNormal(pixels * c, r, 4), 5, true);
          if (x.length > 7) x[7] = NaN;
          const cp = Math.ceil(c / 4) * 4;
          const ss = new Float32Array(2 * cp); // scale [cp], shift [cp], padded with 0 (the kernel's contract)
          ss.set(randNormal(c, r), 0);
          ss.set(randNormal(c, r), cp);
          const want = refActNhwc(x, pixels, c, kind, alpha, beta, ss, ss.subarray(cp));
          for (const [label, rt] of threadCases()) {
            const got = await callKernel(rt, 'f32_act_nhwc', [x, ss], pixels * c, pixels, ([px, ps], y, p0, p1) =>
              [px + p0 * c * 4, p1 - p0, c, kind, alpha, beta, ps, ps + cp * 4, y + p0 * c * 4]);
            expect(firstMismatch(got, want), `kind=${kind} c=${c} pixels=${pixels} ${label}`).toBeNull();
          }
        }
      }
    }
  });
});

describe(`f32_softmax_rows (${SIMD} build)`, () => {
  it('equals refSoftmaxRows bit for bit: lengths around the vector width and primes, -Inf masks, large magnitudes, 1 and 2 threads', async () => {
    let seed = 100;
    for (const n of [1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 31, 64, 257]) {
      for (const rows of [1, 3, 8]) {
        const r = rng(seed++);
        const x = randNormal(rows * n, r, 5);
        if (rows > 1) for (let j = 1; j < n; j += 3) x[n + j] = -Infinity; // row 1: masked entries (never all of them)
        if (rows > 2) for (let j = 0; j < n; j++) x[2 * n + j] = (j % 2 ? -1 : 1) * 1e30 * (1 + r()); // row 2: huge, exp underflows
        const want = refSoftmaxRows(x, rows, n);
        for (const [label, rt] of threadCases()) {
          const got = await callKernel(rt, 'f32_softmax_rows', [x], rows * n, rows, ([px], y, r0, r1) => [px + r0 * n * 4, r1 - r0, n, y + r0 * n * 4]);
          expect(firstMismatch(got, want), `rows=${rows} n=${n} ${label}`).toBeNull();
        }
      }
    }
  });

  it('is within 2e-6 relative of the exact softmax (float64), and a masked (-Inf) entry is below 2e-38', () => {
    // the reference's own accuracy: the exp polynomial (3e-7 near 0, more for large |x - max|: x - n ln2
    // in float32), float32 sums and one division; measured 1.05e-6 here
    const r = rng(7);
    const n = 100;
    const x = randNormal(n, r, 5);
    for (let j = 0; j < n; j += 7) x[j] = -Infinity;
    const got = refSoftmaxRows(x, 1, n);
    const e = Array.from(x, (v) => Math.exp(v - Math.max(...x)));
    const s = e.reduce((a, b) => a + b, 0);
    for (let j = 0; j < n; j++) {
      if (x[j] === -Infinity) expect(got[j]).toBeLessThan(2e-38); // exp is clamped at -87: tiny, not 0
      else expect(Math.abs(got[j] - e[j] / s)).toBeLessThanOrEqual(2e-6 * (e[j] / s));
    }
  });
});

describe(`f32_attention_rows (${SIMD} build)`, () => {
  it('equals refAttentionRows bit for bit: heads, rows, k, n and dv around the vector width, 1 and 2 threads', async () => {
    let seed = 200;
    for (const [heads, m, k, n, dv] of [
      [1, 1, 1, 1, 1], [1, 1, 4, 5, 3], [3, 5, 15, 40, 15], [2, 7, 8, 9, 6], [2, 2, 3, 33, 5], [4, 3, 17, 4, 8], [3, 1, 16, 7, 9], [5, 2, 2, 13, 4],
    ] as const) {
      const r = rng(seed++);
      const q = randNormal(heads * m * k, r, 2);
      const kt = randNormal(heads * k * n, r, 2);
      const v = randNormal(heads * n * dv, r);
      if (q.length > 1) q[1] = 40; // one very peaked row of scores
      const scale = 1 / Math.sqrt(k);
      const want = refAttentionRows(q, kt, v, heads, m, k, n, dv, scale);
      for (const [label, rt] of threadCases()) {
        const got = await callKernel(rt, 'f32_attention_rows', [q, kt, v, new Float32Array(heads * n)], heads * m * dv, heads, ([pq, pk, pv, ps], out, h0, h1) =>
          [h0, h1, m, k, n, dv, scale, pq, pk, pv, out, ps]);
        expect(firstMismatch(got, want), `heads=${heads} m=${m} k=${k} n=${n} dv=${dv} ${label}`).toBeNull();
      }
    }
  });
});

describe(`f32_gap_nhwc (${SIMD} build)`, () => {
  it('equals refGapNhwc bit for bit: channels around the vector width, 1 to 49 pixels, extremes', async () => {
    let seed = 300;
    for (const c of CHANNELS) {
      for (const hw of [1, 2, 7, 49]) {
        const x = withExtremes(randNormal(hw * c, rng(seed++), 3), 11, true);
        const got = await callKernel(rts.one, 'f32_gap_nhwc', [x], c, 0, ([px], y) => [px, hw, c, y]);
        expect(firstMismatch(got, refGapNhwc(x, hw, c)), `hw=${hw} c=${c}`).toBeNull();
      }
    }
  });
});

describe(`f32_avgpool_nhwc (${SIMD} build)`, () => {
  it('equals refAvgpoolNhwc bit for bit: windows, strides, pads (a window past the image), count_include_pad, 1 and 2 threads', async () => {
    let seed = 400;
    for (const [h, w, c, kh, kw, sh, sw, pads] of [
      [7, 9, 17, 3, 3, 2, 2, [1, 1, 1, 1]], [8, 8, 5, 2, 2, 2, 2, [0, 0, 0, 0]], [6, 11, 16, 3, 5, 1, 2, [1, 2, 1, 2]],
      [5, 5, 7, 5, 5, 1, 1, [2, 2, 2, 2]], [7, 7, 3, 3, 3, 2, 2, [0, 0, 1, 1]], [1, 1, 1, 1, 1, 1, 1, [0, 0, 0, 0]],
      [3, 4, 4, 3, 3, 3, 3, [2, 2, 2, 2]], [13, 2, 9, 2, 1, 3, 1, [0, 0, 1, 0]],
    ] as const) {
      for (const countPad of [false, true]) {
        const g: PoolGeometry2d = { h, w, c, kh, kw, sh, sw, pads, countPad };
        const [oh, ow] = poolOutput(g);
        const x = withExtremes(randNormal(h * w * c, rng(seed++), 3), 13, false);
        const want = refAvgpoolNhwc(x, g);
        for (const [label, rt] of threadCases()) {
          const got = await callKernel(rt, 'f32_avgpool_nhwc', [x], oh * ow * c, oh, ([px], y, r0, r1) =>
            [h, w, c, kh, kw, sh, sw, pads[0], pads[1], pads[2], pads[3], countPad ? 1 : 0, r0, r1, ow, px, y]);
          expect(firstMismatch(got, want), `${JSON.stringify(g)} ${label}`).toBeNull();
        }
      }
    }
  });
});

describe(`f32_maxpool_nhwc (${SIMD} build)`, () => {
  it('equals refMaxpoolNhwc bit for bit: windows, strides, pads (a window past the image), NaN, ±0, ±Inf, 1 and 2 threads', async () => {
    let seed = 450;
    for (const [h, w, c, kh, kw, sh, sw, pads] of [
      [7, 9, 17, 3, 3, 2, 2, [1, 1, 1, 1]], [8, 8, 5, 2, 2, 2, 2, [0, 0, 0, 0]], [6, 11, 16, 3, 5, 1, 2, [1, 2, 1, 2]],
      [5, 5, 7, 5, 5, 1, 1, [2, 2, 2, 2]], [7, 7, 3, 3, 3, 2, 2, [0, 0, 1, 1]], [1, 1, 1, 1, 1, 1, 1, [0, 0, 0, 0]],
      [38, 16, 24, 2, 2, 2, 2, [0, 0, 0, 0]], [19, 8, 48, 1, 2, 1, 2, [0, 0, 0, 0]], [13, 2, 9, 2, 1, 3, 1, [0, 0, 1, 0]],
    ] as const) {
      const g: PoolGeometry2d = { h, w, c, kh, kw, sh, sw, pads, countPad: false };
      const [oh, ow] = poolOutput(g);
      const x = withExtremes(randNormal(h * w * c, rng(seed++), 3), 13, true);
      if (x.length > 40) [x[3], x[20], x[40]] = [NaN, -0, 0];
      const want = refMaxpoolNhwc(x, g);
      for (const [label, rt] of threadCases()) {
        const got = await callKernel(rt, 'f32_maxpool_nhwc', [x], oh * ow * c, oh, ([px], y, r0, r1) =>
          [h, w, c, kh, kw, sh, sw, pads[0], pads[1], r0, r1, ow, px, y]);
        expect(firstMismatch(got, want), `${JSON.stringify(g)} ${label}`).toBeNull();
      }
    }
  });
});

describe(`f32_scale_channels_nhwc (${SIMD} build)`, () => {
  it('equals refScaleChannelsNhwc bit for bit: channels around the vector width, extremes (overflow to Inf, Inf * 0), 1 and 2 threads', async () => {
    let seed = 500;
    for (const c of [...CHANNELS, 33]) {
      for (const pixels of [1, 3, 13, 70]) {
        const r = rng(seed++);
        const x = withExtremes(randNormal(pixels * c, r, 4), 7, true);
        const s = new Float32Array(Math.ceil(c / 4) * 4); // padded to whole vectors (the layer's contract)
        s.set(randNormal(c, r, 1e9)); // 1e30 * 1e9 overflows to Inf
        s[0] = 0;
        const want = refScaleChannelsNhwc(x, c, s);
        for (const [label, rt] of threadCases()) {
          const got = await callKernel(rt, 'f32_scale_channels_nhwc', [x, s], pixels * c, pixels, ([px, ps], y, p0, p1) =>
            [px + p0 * c * 4, p1 - p0, c, ps, y + p0 * c * 4]);
          expect(firstMismatch(got, want), `pixels=${pixels} c=${c} ${label}`).toBeNull();
        }
      }
    }
  });
});

describe(`f32_add_nhwc (${SIMD} build)`, () => {
  it('equals refAddNhwc bit for bit: channels around the vector width, extremes (overflow to Inf, Inf - Inf, NaN), in place, 1 and 2 threads', async () => {
    let seed = 700;
    for (const c of [...CHANNELS, 33, 96]) {
      for (const pixels of [1, 3, 13, 70]) {
        const r = rng(seed++);
        const a = withExtremes(randNormal(pixels * c, r, 4), 7, true), b = withExtremes(randNormal(pixels * c, r, 4), 5, true);
        if (a.length > 3) a[3] = NaN;
        const want = refAddNhwc(a, b);
        for (const [label, rt] of threadCases()) {
          const got = await callKernel(rt, 'f32_add_nhwc', [a, b], pixels * c, pixels, ([pa, pb], y, p0, p1) =>
            [pa + p0 * c * 4, pb + p0 * c * 4, p1 - p0, c, y + p0 * c * 4]);
          expect(firstMismatch(got, want), `pixels=${pixels} c=${c} ${label}`).toBeNull();
        }
      }
    }
    // in place (y = a)
    await rts.one.scoped(async (alloc) => {
      const a = randNormal(37, rng(9), 3), b = randNormal(37, rng(10), 3);
      const pa = alloc(a.byteLength), pb = alloc(b.byteLength);
      rts.one.view(Float32Array, pa, 37).set(a);
      rts.one.view(Float32Array, pb, 37).set(b);
      rts.one.invoke(['f32_add_nhwc', [pa, pb, 37, 1, pa]]);
      expect(firstMismatch(rts.one.read(Float32Array, pa, 37), refAddNhwc(a, b))).toBeNull();
    });
  });
});

describe(`f32_copy_rows (${SIMD} build)`, () => {
  it('equals refCopyRows bit for bit: row lengths around the vector width, strides wider than the rows (Concat on channels), the gaps untouched, 1 and 2 threads', async () => {
    let seed = 800;
    for (const n of [...CHANNELS, 33]) {
      for (const [rows, extra] of [[1, 0], [3, 1], [13, 5], [70, 24]]) {
        const r = rng(seed++);
        const xStride = n + (extra % 3), yStride = n + extra;
        const x = withExtremes(randNormal(rows * xStride, r, 4), 6, true);
        const y = randNormal(rows * yStride, r, 1);
        const want = refCopyRows(x, xStride, y, yStride, rows, n);
        for (const [label, rt] of threadCases()) {
          // y is both an input (the floats between its rows must survive) and the output
          const out = await rt.scoped(async (alloc) => {
            const px = alloc(x.byteLength + 16), py = alloc(y.byteLength + 16);
            rt.view(Float32Array, px, x.length).set(x);
            rt.view(Float32Array, py, y.length).set(y);
            await rt.parallelColumns(rows, 1, (r0, r1) => ['f32_copy_rows', [px + r0 * xStride * 4, xStride * 4, r1 - r0, n, py + r0 * yStride * 4, yStride * 4]], 1);
            return rt.read(Float32Array, py, y.length);
          });
          expect(firstMismatch(out, want), `rows=${rows} n=${n} strides ${xStride}/${yStride} ${label}`).toBeNull();
        }
      }
    }
  });
});

describe(`f32_matmul_rows (${SIMD} build)`, () => {
  it('equals refMatmulRows bit for bit: m, k, n around the vector width and primes, batches split over threads', async () => {
    let seed = 600;
    for (const batch of [1, 3]) {
      for (const m of [1, 2, 5]) {
        for (const k of [1, 2, 7, 16, 33]) {
          for (const n of [1, 3, 4, 5, 8, 9, 17]) {
            const r = rng(seed++);
            const a = randNormal(batch * m * k, r);
            const b = randNormal(batch * k * n, r);
            if (a.length > 2) a[2] = 3e38; // products overflow to ±Inf (and Inf - Inf to NaN) in the affected rows
            const want = refMatmulRows(a, b, batch, m, k, n);
            for (const [label, rt] of threadCases()) {
              const got = await callKernel(rt, 'f32_matmul_rows', [a, b], batch * m * n, batch, ([pa, pb], out, b0, b1) => [b0, b1, m, k, n, pa, pb, out]);
              expect(firstMismatch(got, want), `batch=${batch} m=${m} k=${k} n=${n} ${label}`).toBeNull();
            }
          }
        }
      }
    }
  });
});
