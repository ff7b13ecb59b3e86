// qs8-stage-c4f: float32 -> uint8 quantization fused with the c4 staging (int8 q - 128, K padded to
// 4, row sums), against the scalar references bit for bit: the one-scale kernel and the per-column
// one, over every remainder of the 16-wide vector loop, ties, saturation, NaN and infinities, zero
// points at both ends, each row staged once or twice (copies). The kernels are plain SIMD, so both
// builds run them. Then the int8 model format: on the relaxed build 7-bit weights take the c4
// layout and 8-bit weights the c4 layout split in two 7-bit halves (splitSevenBit), and either still
// equals the scalar reference bit for bit (the same bits as the baseline build's c2 path),
// per-channel staging too.

import { describe, expect, it } from 'vitest';
import { WEIGHT_FORMATS, type Runtime } from '../src/index.js';
import { packQs8, refStageChan, runFormatGemm, stageChanVectors } from '../src/kernels.js';
import { qs8StageChanC4, qs8StageF32C4, refStageC4, refStageF32 } from '../src/kernels/qs8-stage-c4f.js';
import { uint8Range } from '../src/quant/activation-range.js';
import { Qs8Gemm, splitSevenBit, type Int8Weights } from '../src/layers/gemm-qs8.js';
import { gemmRunner } from '../src/layers/linear-runner.js';
import { relaxedDotIsFast } from '../src/kernels/relaxed-speed.js';
import { ArgumentError } from '../src/errors.js';
import { SIMD, firstMismatch, randNormal, rng, useRuntimes } from './helpers.js';

const rts = useRuntimes();
const int8 = WEIGHT_FORMATS.find((f) => f.name === 'int8')!;
const KS = [1, 2, 3, 4, 5, 7, 15, 16, 17, 31, 32, 33, 47, 64, 67];

/** x with plain values, exact ties (half a quantum), saturating values, signed zeros and non-finite ones */
function makeX(n: number, quantum: (i: number) => number, r: () => number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => {
    const t = (i * 7 + 3) % 11;
    if (t === 0) return (Math.floor(r() * 40) - 20 + 0.5) * quantum(i);
    if (t === 1) return (r() < 0.5 ? -1 : 1) * 1e7;
    if (t === 2) return i % 2 ? -0 : 0;
    if (t === 3 && i % 5 === 0) return [NaN, Infinity, -Infinity][i % 3];
    return (r() * 2 - 1) * 300 * quantum(i);
  });
}

/** runs a kernel on x (m rows of k) and reads back the staged rows (kp = copies * K rounded up to 4) and sums */
function stage(rt: Runtime, x: Float32Array, m: number, k: number, copies: number, call: (px: number, out: number, rs: number, kp: number) => void): { staged: Int8Array; sums: Int32Array; kp: number } {
  const kp = Math.ceil((copies * k) / 4) * 4;
  const px = rt.alloc(x.length * 4 + 16), out = rt.alloc(m * kp + 16), rs = rt.alloc(m * 4 + 16);
  rt.view(Float32Array, px, x.length).set(x);
  rt.view(Int8Array, out, m * kp).fill(99); // the padding must be written
  call(px, out, rs, kp);
  const staged = rt.read(Int8Array, out, m * kp), sums = rt.read(Int32Array, rs, m);
  for (const p of [px, out, rs]) rt.free(p);
  return { staged, sums, kp };
}

describe(`qs8-stage-c4f kernels (${SIMD} build)`, () => {
  it('qs8_stage_f32_c4 matches refStageF32 + refStageC4 bit for bit for every K remainder, ties, saturation and non-finite values', () => {
    const rt = rts.one;
    let seed = 52000, runs = 0;
    for (const k of KS) {
      for (const [m, zp, copies] of [[1, 0, 1], [3, 128, 2], [2, 255, 1], [5, 37, 2]] as const) {
        const r = rng(seed++);
        const scale = Math.fround(0.013 + r() * 0.1);
        const x = makeX(m * k, () => scale, r);
        const { staged, sums, kp } = stage(rt, x, m, k, copies, (px, out, rs, kp) => rt.kernels.qs8_stage_f32_c4(m, k, kp, px, k * 4, scale, zp, out, rs, copies));
        const want = refStageC4(refStageF32(x, m, k, scale, zp), m, k, kp, zp, copies);
        expect(firstMismatch(staged, want.staged), `k=${k} m=${m} zp=${zp} copies=${copies}`).toBeNull();
        expect(firstMismatch(sums, want.rowSum), `sums k=${k} m=${m} zp=${zp} copies=${copies}`).toBeNull();
        runs++;
      }
    }
    expect(runs).toBe(KS.length * 4);
  });

  it('qs8_stage_chan_c4 matches refStageChan + refStageC4 bit for bit (per-channel divisors and rounding borders)', () => {
    const rt = rts.one;
    let seed = 53000;
    for (const k of KS) {
      for (const [m, zp, copies] of [[1, 0, 2], [3, 128, 1], [2, 255, 2], [4, 37, 1]] as const) {
        const r = rng(seed++);
        const channels = [1, k, k % 3 === 0 ? 3 : 1][seed % 3];
        const cs = Float32Array.from({ length: channels }, () => 0.25 + r() * 4);
        const border = Float32Array.from({ length: channels }, () => 0.05 + r() * 0.9);
        const { div, off } = stageChanVectors(k, 0.037 + r() * 0.1, cs, border);
        const x = makeX(m * k, (i) => div[i % k], r);
        const pd = rt.alloc(k * 4 + 16), po = rt.alloc(k * 4 + 16);
        rt.view(Float32Array, pd, k).set(div);
        rt.view(Float32Array, po, k).set(off);
        const { staged, sums, kp } = stage(rt, x, m, k, copies, (px, out, rs, kp) => rt.kernels.qs8_stage_chan_c4(m, k, kp, px, k * 4, pd, po, zp, out, rs, copies));
        rt.free(pd), rt.free(po);
        const want = refStageC4(refStageChan(x, m, k, div, off, zp), m, k, kp, zp, copies);
        expect(firstMismatch(staged, want.staged), `k=${k} m=${m} zp=${zp} copies=${copies}`).toBeNull();
        expect(firstMismatch(sums, want.rowSum), `sums k=${k} m=${m} zp=${zp} copies=${copies}`).toBeNull();
      }
    }
  });

  it('the wrappers refuse a c2 packing, a bad m, a short stride and a bad zero point', () => {
    const rt = rts.one;
    const c2 = packQs8(rt, new Int8Array(16 * 8), 16, 8, new Int32Array(8), { allowSevenBit: false });
    expect(() => qs8StageF32C4(rt, c2, 1, 0, 64, 1, 0, 0, 0)).toThrow(/c4 layout/);
    expect(() => qs8StageChanC4(rt, c2, 1, 0, 64, 0, 0, 0, 0, 0)).toThrow(/c4 layout/);
    c2.dispose();
    if (rt.features.simd === 'relaxed') {
      const c4 = packQs8(rt, new Int8Array(16 * 8), 16, 8, new Int32Array(8));
      expect(c4.layout).toBe('c4');
      expect(() => qs8StageF32C4(rt, c4, -1, 0, 64, 1, 0, 0, 0)).toThrow(ArgumentError);
      expect(() => qs8StageF32C4(rt, c4, 1, 0, 60, 1, 0, 0, 0)).toThrow(/xStride/);
      expect(() => qs8StageChanC4(rt, c4, 1, 0, 64, 0, 0, 256, 0, 0)).toThrow(/zeroPoint/);
      expect(() => qs8StageF32C4(rt, c4, 1, 0, 64, 1, 0, 0, 0, 3)).toThrow(/copies/);
      const odd = packQs8(rt, new Int8Array(15 * 8), 15, 8, new Int32Array(8));
      expect(() => qs8StageF32C4(rt, odd, 1, 0, 64, 1, 0, 0, 0, 2)).toThrow(/does not divide/);
      odd.dispose();
      c4.dispose();
    }
  });
});

describe(`int8 model format with 7-bit weights (${SIMD} build)`, () => {
  const SHAPES: [number, number, number][] = [[1, 64, 24], [1, 20, 8], [3, 96, 17], [5, 40, 9], [4, 33, 16], [9, 256, 33], [2, 130, 7], [7, 3, 5]];

  it('weightBits 7 gives |q| <= 63 (at 63 in every column), 8 gives |q| <= 127; anything else is an ArgumentError', () => {
    const r = rng(7), [k, n] = [50, 12];
    const w = randNormal(n * k, r, 0.1), input = uint8Range(-1, 1);
    for (const [bits, qmax] of [[7, 63], [8, 127]] as const) {
      const d = int8.quantize(w, n, k, { input, options: { weightBits: bits } }) as { q: Int8Array };
      for (let j = 0; j < n; j++) {
        let hi = 0;
        for (let t = 0; t < k; t++) hi = Math.max(hi, Math.abs(d.q[t * n + j]));
        expect(hi, `${bits} bits, column ${j}`).toBe(qmax);
      }
    }
    expect(() => int8.quantize(w, n, k, { input, options: { weightBits: 6 } })).toThrow(ArgumentError);
  });

  it('8-bit weights: a column whose ends round to both -127 and 127 is requantized with max |w| / 126; the others keep max |w| / 127', () => {
    const [k, n] = [4, 3], input = uint8Range(-1, 1);
    // [N][K] rows: ends 1 and -0.999 (both round to 127), -1 (twice) and 0.998 (too), 1 and -0.9 (no)
    const w = Float32Array.from([1, -0.999, 0.5, 0, -1, 0.998, 0.25, -1, 1, -0.9, 0.1, 0.2]);
    const d = int8.quantize(w, n, k, { input, options: { weightBits: 8 } }) as { q: Int8Array; scales: Float32Array };
    const col = (j: number) => Array.from({ length: k }, (_, t) => d.q[t * n + j]);
    expect(col(0)).toEqual([126, -126, 63, 0]);
    expect(col(1)).toEqual([-126, 126, 31, -126]); // 0.25 / f32(1 / 126) = 31.4999…
    expect(col(2)).toEqual([127, -114, 13, 25]);
    expect([...d.scales]).toEqual([Math.fround(1 / 126), Math.fround(1 / 126), Math.fround(1 / 127)]);
    expect(splitSevenBit(d.q, k, n)).not.toBeNull();
  });

  it('splitSevenBit: W1 + W2 = W, each column of both halves within 128 values; null when W fits or a column holds both -127 and 127', () => {
    const r = rng(56), [k, n] = [37, 11];
    const q = Int8Array.from({ length: k * n }, () => Math.round((r() * 2 - 1) * 120));
    for (let j = 0; j < n; j++) q[((j * 5) % k) * n + j] = j % 2 ? 127 : -127; // every column reaches one end
    q[3 * n + 4] = -128; // int8's own end too (column 4 reaches -127 at most otherwise)
    const s = splitSevenBit(q, k, n)!;
    expect(s.length).toBe(2 * k * n);
    for (let j = 0; j < n; j++) {
      let lo = 127, hi = -128;
      for (let t = 0; t < k; t++) {
        expect(s[t * n + j] + s[(k + t) * n + j], `W[${t}][${j}]`).toBe(q[t * n + j]);
        for (const v of [s[t * n + j], s[(k + t) * n + j]]) (lo = Math.min(lo, v)), (hi = Math.max(hi, v));
      }
      expect(hi - lo, `column ${j}`).toBeLessThanOrEqual(127);
    }
    expect(splitSevenBit(Int8Array.from({ length: k * n }, (_, i) => (i % 127) - 63), k, n)).toBeNull();
    const both = q.slice();
    both[0] = 127, both[n] = -127;
    expect(splitSevenBit(both, k, n)).toBeNull();
  });

  it('runs on c4 (7-bit) or c4 split (8-bit) exactly where the runtime is relaxed, and equals the scalar reference bit for bit, 1 and 2 threads, per-tensor and per-channel staging', async () => {
    const r = rng(54);
    let splits = 0;
    for (const [m, k, n] of SHAPES) {
      for (const [perChannel, bits] of [[false, 7], [true, 7], [false, 8], [true, 8]] as const) {
        const w = randNormal(n * k, r, 0.1), x = randNormal(m * k, r), bias = randNormal(n, r, 0.5);
        const input = uint8Range(Math.min(...x) * 0.8, Math.max(...x) * 0.8); // some values saturate
        if (perChannel) {
          input.channelScale = Float32Array.from({ length: k }, () => 0.5 + r());
          input.border = Float32Array.from({ length: k }, () => 0.1 + 0.8 * r());
        }
        const data = int8.quantize(w, n, k, { input, options: { weightBits: bits } });
        const want = int8.reference(data, x, m, bias);
        for (const rt of [rts.one, rts.two]) {
          const g = int8.gemm(rt, data, bias, null) as Qs8Gemm;
          // 8 bits: split where the relaxed dot is fast (not Node 20), unless a column holds both -127 and 127
          const split = bits === 8 && relaxedDotIsFast(rt) && splitSevenBit((data as Int8Weights).q, k, n) !== null;
          expect(g.layout, `${m}x${k}x${n} ${bits} bits`).toBe(rt.features.simd === 'relaxed' ? (bits === 7 ? 'c4' : split ? 'c4 split' : 'c2') : 'c2');
          g.dispose();
          const got = await runFormatGemm(rt, int8, data, x, m, bias);
          expect(firstMismatch(got, want), `${m}x${k}x${n} ${bits} bits, per-channel ${perChannel}, ${rt.threads} threads`).toBeNull();
          // the split forced, whatever the engine's speed
          const forced = gemmRunner(rt, new Qs8Gemm(rt, data as Int8Weights, bias, null, true));
          const gotSplit = await forced.forward(x, m);
          if (forced.layout === 'c4 split') splits++;
          forced.dispose();
          expect(firstMismatch(gotSplit, want), `forced split ${m}x${k}x${n} ${bits} bits, per-channel ${perChannel}, ${rt.threads} threads`).toBeNull();
        }
      }
    }
    expect(splits > 0).toBe(SIMD === 'relaxed');
  });

  it('8-bit weights with a column at both -127 and 127 stay on c2, and still equal the reference', async () => {
    const r = rng(55), [m, k, n] = [3, 40, 16];
    const data = int8.quantize(randNormal(n * k, r, 0.1), n, k, { input: uint8Range(-1, 1), options: { weightBits: 8 } }) as { q: Int8Array };
    data.q[0] = 127, data.q[n] = -127;
    const g = int8.gemm(rts.one, data, null, null) as Qs8Gemm;
    expect(g.layout).toBe('c2');
    g.dispose();
    const x = randNormal(m * k, r);
    expect(firstMismatch(await runFormatGemm(rts.one, int8, data, x, m), int8.reference(data, x, m, null))).toBeNull();
  });
});
