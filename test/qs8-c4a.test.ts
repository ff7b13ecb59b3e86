// qs8-c4a (relaxed build): 8-bit weights on the relaxed dot by splitting the activations. The
// stager against the scalar quantization (refStageF32) bit for bit: lo / hi bytes, zero padding,
// each 4-row strip's list of hi quads and the identity list, over every remainder of the 16-wide
// loop and of the strips, ties, saturation, NaN and infinities, zero points at both ends. Then the
// int8 model layer that takes it (Qs8Gemm, layout 'c4a') against the int8 format's scalar reference
// bit for bit: every row remainder, K and N not multiples of the tiles, weights at -128 and 127,
// activations with no, some and only hi values, 1 and 2 threads, and equal to the forced weight
// split. On the baseline build the layer stays on c2 and packQs8C4a refuses.

import { describe, expect, it } from 'vitest';
import { WEIGHT_FORMATS } from '../src/index.js';
import { refStageF32 } from '../src/kernels/qs8-stage-c4f.js';
import { c4aScratch, packQs8C4a } from '../src/kernels/qs8-c4a.js';
import { uint8Range } from '../src/quant/activation-range.js';
import { Qs8Gemm, type Int8Weights } from '../src/layers/gemm-qs8.js';
import { gemmRunner } from '../src/layers/linear-runner.js';
import { ArgumentError } from '../src/errors.js';
import { SIMD, firstMismatch, randNormal, rng, useRuntimes } from './helpers.js';

const rts = useRuntimes();
const int8 = WEIGHT_FORMATS.find((f) => f.name === 'int8')!;

/** x with plain values, exact ties, saturating values, signed zeros and non-finite ones */
function makeX(n: number, scale: number, r: () => number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => {
    const t = (i * 7 + 3) % 11;
    if (t === 0) return (Math.floor(r() * 300) - 40 + 0.5) * scale;
    if (t === 1) return (r() < 0.5 ? -1 : 1) * 1e7;
    if (t === 2) return i % 2 ? -0 : 0;
    if (t === 3 && i % 5 === 0) return [NaN, Infinity, -Infinity][i % 3];
    return (r() * 2 - 1) * 200 * scale;
  });
}

describe.skipIf(SIMD !== 'relaxed')('qs8-c4a kernels (relaxed build)', () => {
  it('qs8_stage_f32_c4a: lo, hi, strip lists and identity list match the scalar quantization bit for bit', () => {
    const rt = rts.one;
    let seed = 18000;
    for (const k of [1, 3, 4, 5, 15, 16, 17, 33, 64, 67]) {
      for (const [m, zp] of [[1, 0], [3, 128], [4, 255], [5, 37], [9, 3]] as const) {
        const r = rng(seed++), scale = Math.fround(0.01 + r() * 0.1), kp = Math.ceil(k / 4) * 4;
        const x = makeX(m * k, scale, r), s = c4aScratch(m, kp);
        const px = rt.put(x, 16), sc = rt.alloc(s.bytes + 16);
        rt.view(Uint8Array, sc, s.bytes).fill(99); // the padding must be written
        rt.kernels.qs8_stage_f32_c4a(m, k, kp, px, k * 4, scale, zp, sc + s.lo, sc + s.hi, sc + s.list, sc + s.ids);
        const lo = rt.read(Uint8Array, sc + s.lo, m * kp), hi = rt.read(Uint8Array, sc + s.hi, m * kp);
        const lists = rt.read(Int32Array, sc + s.list, Math.ceil(m / 4) * (kp / 4 + 1)), ids = rt.read(Int32Array, sc + s.ids, kp / 4);
        rt.free(px), rt.free(sc);
        const qz = refStageF32(x, m, k, scale, zp), wantLo = new Uint8Array(m * kp), wantHi = new Uint8Array(m * kp);
        for (let i = 0; i < m; i++) for (let j = 0; j < k; j++) {
          const q = qz[i * k + j] + zp;
          wantLo[i * kp + j] = q & 127;
          wantHi[i * kp + j] = q >> 7;
        }
        const at = `k=${k} m=${m} zp=${zp}`;
        expect(firstMismatch(lo, wantLo), at).toBeNull();
        expect(firstMismatch(hi, wantHi), at).toBeNull();
        expect([...ids], at).toEqual(Array.from({ length: kp / 4 }, (_, q) => 4 * q));
        for (let st = 0; st * 4 < m; st++) {
          const want: number[] = [];
          for (let q = 0; q < kp; q += 4) {
            let any = false;
            for (let i = st * 4; i < Math.min(m, st * 4 + 4); i++) for (let j = q; j < q + 4; j++) any ||= wantHi[i * kp + j] !== 0;
            if (any) want.push(q);
          }
          const l = st * (kp / 4 + 1);
          expect([...lists.subarray(l + 1, l + 1 + lists[l])], `${at} strip ${st}`).toEqual(want);
        }
      }
    }
  });
});

describe(`int8 layer on c4a (${SIMD} build)`, () => {
  const SHAPES: [number, number, number][] = [[1, 64, 24], [2, 20, 8], [3, 96, 17], [4, 33, 16], [5, 40, 9], [6, 7, 5], [7, 130, 33], [8, 3, 40], [9, 256, 12], [13, 68, 31]];

  it('equals the int8 scalar reference and the forced weight split bit for bit; 1 and 2 threads; no, some and only hi activations', async () => {
    const r = rng(1818);
    let c4a = 0;
    for (const [m, k, n] of SHAPES) {
      for (const hi of ['none', 'some', 'all'] as const) {
        const x = randNormal(m * k, r);
        // none: the range's top at the largest x (codes <= 127 with zp 0 and a wide scale); all: zp 255
        const input = hi === 'none' ? uint8Range(0, 3 * Math.max(...x.map(Math.abs))) : hi === 'all' ? uint8Range(-Math.max(...x.map(Math.abs)) * 0.9, 0) : uint8Range(Math.min(...x) * 0.8, Math.max(...x) * 0.8);
        const data = int8.quantize(randNormal(n * k, r, 0.1), n, k, { input, options: { weightBits: 8 } }) as Int8Weights;
        // int8's ends: 127 in column 0, -128 in column n - 1 (one end per column keeps the split possible)
        for (let t = 0; t < k; t++) (data.q[t * n] = Math.max(-100, data.q[t * n])), (data.q[t * n + n - 1] = Math.min(100, data.q[t * n + n - 1]));
        data.q[0] = 127, data.q[(k - 1) * n + n - 1] = -128;
        const bias = randNormal(n, r, 0.5);
        const want = int8.reference(data, x, m, bias);
        for (const rt of [rts.one, rts.two]) {
          const g = gemmRunner(rt, new Qs8Gemm(rt, data, bias, null, true));
          const got = await g.forward(x, m);
          if (g.layout === 'c4a') c4a++;
          expect(g.layout).toBe(SIMD === 'relaxed' ? 'c4a' : 'c2');
          g.dispose();
          expect(firstMismatch(got, want), `${m}x${k}x${n} hi ${hi}, ${rt.threads} threads`).toBeNull();
          const split = gemmRunner(rt, new Qs8Gemm(rt, data, bias, null, true, false));
          expect(split.layout).toBe(SIMD === 'relaxed' ? 'c4 split' : 'c2');
          expect(firstMismatch(await split.forward(x, m), want), `split ${m}x${k}x${n} hi ${hi}, ${rt.threads} threads`).toBeNull();
          split.dispose();
        }
      }
    }
    expect(c4a > 0).toBe(SIMD === 'relaxed');
  });

  it('rows split across 2 threads start at a strip of 4 and its list', async () => {
    const r = rng(1820), [m, k, n] = [43, 72, 16], rt = rts.two;
    const x = randNormal(m * k, r);
    const data = int8.quantize(randNormal(n * k, r, 0.1), n, k, { input: uint8Range(Math.min(...x) * 0.5, Math.max(...x) * 0.5), options: { weightBits: 8 } }) as Int8Weights;
    const want = int8.reference(data, x, m, null);
    const [split0, work0] = [rt.splitGemm, rt.minParallelWork];
    try {
      rt.splitGemm = 'rows';
      rt.minParallelWork = 0;
      const g = gemmRunner(rt, new Qs8Gemm(rt, data, null, null, true));
      expect(firstMismatch(await g.forward(x, m), want)).toBeNull();
      g.dispose();
    } finally {
      rt.splitGemm = split0;
      rt.minParallelWork = work0;
    }
  });

  it('per-channel input quantization keeps the weight split (c4a takes one scale per tensor)', () => {
    const r = rng(1819), [k, n] = [24, 8];
    const input = uint8Range(-1, 1);
    input.channelScale = Float32Array.from({ length: k }, () => 0.5 + r());
    const data = int8.quantize(randNormal(n * k, r, 0.1), n, k, { input, options: { weightBits: 8 } }) as Int8Weights;
    const g = new Qs8Gemm(rts.one, data, null, null, true);
    expect(g.layout).toBe(SIMD === 'relaxed' ? 'c4 split' : 'c2');
    g.dispose();
  });

  it.skipIf(SIMD === 'relaxed')('packQs8C4a refuses the baseline build', () => {
    expect(() => packQs8C4a(rts.one, new Int8Array(4), 2, 2)).toThrow(ArgumentError);
  });
});
