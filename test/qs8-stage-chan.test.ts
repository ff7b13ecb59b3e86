// qs8-stage-chan: the staging kernel with a per-column divisor and rounding offset (per-channel
// activation scales, AQuant's rounding border) against its scalar reference, bit for bit, over
// every remainder of the 8-wide vector loop, odd K (the kp padding), ties at the border, saturation,
// NaN and infinities, and zero points at both ends; and the int8 layer that runs it.

import { describe, expect, it } from 'vitest';
import { packQs8, qs8StageChan, refStageChan, stageChanVectors } from '../src/kernels.js';
import { ArgumentError } from '../src/errors.js';
import { SIMD, firstMismatch, rng, useRuntimes } from './helpers.js';

const rts = useRuntimes();

/** x with a mix of plain values, values exactly on the border, saturating values, zeros and non-finite ones */
function makeX(m: number, k: number, div: Float32Array, off: Float32Array, r: () => number): Float32Array {
  return Float32Array.from({ length: m * k }, (_, i) => {
    const j = i % k, t = (i * 7 + 3) % 11;
    if (t === 0) return (Math.floor(r() * 40) - 20 + (1 - off[j])) * div[j]; // on the border
    if (t === 1) return (r() < 0.5 ? -1 : 1) * 1e7;
    if (t === 2) return i % 2 ? -0 : 0;
    if (t === 3 && i % 5 === 0) return [NaN, Infinity, -Infinity][i % 3];
    return (r() * 2 - 1) * 300 * div[j];
  });
}

function stage(rtIndex: 'one' | 'two', x: Float32Array, m: number, k: number, div: Float32Array, off: Float32Array, zp: number): { got: Int16Array; sums: Int32Array; kp: number } {
  const rt = rts[rtIndex];
  const w = packQs8(rt, new Int8Array(k * 8), k, 8, new Int32Array(8), { allowSevenBit: false });
  const kp = w.kp;
  const px = rt.alloc(x.length * 4 + 16), pd = rt.alloc(k * 4 + 16), po = rt.alloc(k * 4 + 16);
  const out = rt.alloc(m * kp * 2 + 16), rs = rt.alloc(m * 4 + 16);
  rt.view(Float32Array, px, x.length).set(x);
  rt.view(Float32Array, pd, k).set(div);
  rt.view(Float32Array, po, k).set(off);
  qs8StageChan(rt, w, m, px, k * 4, pd, po, zp, out, rs);
  const got = rt.read(Int16Array, out, m * kp), sums = rt.read(Int32Array, rs, m);
  for (const p of [px, pd, po, out, rs]) rt.free(p);
  w.dispose();
  return { got, sums, kp };
}

describe(`qs8-stage-chan kernel (${SIMD} build)`, () => {
  it('matches refStageChan bit for bit for every K remainder, odd K, borders, zero points and non-finite values', () => {
    let seed = 41000, runs = 0;
    for (const k of [1, 2, 3, 5, 7, 8, 9, 15, 16, 17, 23, 24, 31, 64, 67]) {
      for (const [m, zp] of [[1, 0], [3, 128], [2, 255], [4, 37]] as const) {
        const r = rng(seed++);
        const channels = [1, k, k % 3 === 0 ? 3 : 1][seed % 3];
        const cs = Float32Array.from({ length: channels }, () => 0.25 + r() * 4);
        const border = Float32Array.from({ length: channels }, () => 0.05 + r() * 0.9);
        const { div, off } = stageChanVectors(k, 0.037 + r() * 0.1, cs, border);
        const x = makeX(m, k, div, off, r);
        const want = refStageChan(x, m, k, div, off, zp);
        const { got, sums, kp } = stage('one', x, m, k, div, off, zp);
        for (let i = 0; i < m; i++) {
          const row = got.subarray(i * kp, i * kp + k);
          expect(firstMismatch(row, want.subarray(i * k, (i + 1) * k)), `k=${k} m=${m} zp=${zp} row ${i}`).toBeNull();
          expect([...got.subarray(i * kp + k, (i + 1) * kp)].every((v) => v === 0), 'kp padding is zero').toBe(true);
          expect(sums[i]).toBe(want.subarray(i * k, (i + 1) * k).reduce((a, b) => a + b, 0));
        }
        runs++;
      }
    }
    expect(runs).toBe(60);
  });

  it('rounds up exactly at the border and down just below it, clamping to 0..255 around the zero point', () => {
    const k = 9, zp = 10;
    // divisor 1: x = 3 + border rounds to 4, x just below to 3; the border differs per channel
    const border = Float32Array.from({ length: k }, (_, j) => 0.1 + 0.1 * j);
    const { div, off } = stageChanVectors(k, 1, undefined, border);
    const at = Float32Array.from({ length: k }, (_, j) => Math.fround(3 + Math.fround(1 - off[j])));
    const below = at.map((v) => v - 0.01);
    const big = Float32Array.from({ length: k }, (_, j) => (j % 2 ? 1000 : -1000));
    const x = Float32Array.from([...at, ...below, ...big]);
    const { got, kp } = stage('one', x, 3, k, div, off, zp);
    for (let j = 0; j < k; j++) {
      expect(got[j], `at border ${border[j]}`).toBe(4);
      expect(got[kp + j], `below border ${border[j]}`).toBe(3);
      expect(got[2 * kp + j]).toBe(j % 2 ? 255 - zp : -zp);
    }
  });

  it('zero stays zero for any border in (0, 1) (im2col padding is exact)', () => {
    const k = 13;
    const border = Float32Array.from({ length: k }, (_, j) => 0.01 + (0.98 * j) / (k - 1));
    const { div, off } = stageChanVectors(k, 0.3, Float32Array.of(0.5, 2), border);
    const { got } = stage('one', new Float32Array(2 * k), 2, k, div, off, 77);
    expect([...got].every((v) => v === 0)).toBe(true);
  });

  it('the wrapper refuses a c4 packing, a bad m, a short stride and a bad zero point', () => {
    const rt = rts.one;
    const w = packQs8(rt, new Int8Array(16 * 8), 16, 8, new Int32Array(8), { allowSevenBit: false });
    expect(() => qs8StageChan(rt, w, -1, 0, 64, 0, 0, 0, 0, 0)).toThrow(ArgumentError);
    expect(() => qs8StageChan(rt, w, 1, 0, 60, 0, 0, 0, 0, 0)).toThrow(/xStride/);
    expect(() => qs8StageChan(rt, w, 1, 0, 64, 0, 0, 256, 0, 0)).toThrow(/zeroPoint/);
    w.dispose();
    if (rt.features.simd === 'relaxed') {
      const c4 = packQs8(rt, new Int8Array(16 * 8), 16, 8, new Int32Array(8));
      expect(() => qs8StageChan(rt, c4, 1, 0, 64, 0, 0, 0, 0, 0)).toThrow(/c2 or w16 layout/);
      c4.dispose();
    }
  });
});
