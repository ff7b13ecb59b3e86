// The I-ViT integer-only family (assembly/intops/ivit-*.ts through src/kernels/ivit.ts):
// Shiftmax, ShiftGELU and I-LayerNorm, bit for bit against the scalar references of
// src/kernels/reference/ivit.ts on seeded data, every length around the 4-lane groups and the
// 8/16-byte loads (every remainder), extremes (-128, 127, all-equal rows, one huge value), on 1
// thread and split over 2; then each op's error budget against float on realistic inputs (stated
// and asserted here, README's transformer section quotes them); then bad arguments.

import { describe, expect, it } from 'vitest';
import type { Runtime } from '../src/index.js';
import { ShapeError, ValueRangeError } from '../src/errors.js';
import { layerNormRows, shiftGelu, shiftmaxRows } from '../src/kernels/ivit.js';
import { refLayerNormRows, refShiftGelu, refShiftmaxRows } from '../src/kernels/reference/ivit.js';
import { layerNormParams, shiftGeluParams, shiftmaxParams, type LayerNormParams, type ShiftGeluParams, type ShiftmaxParams } from '../src/quant/ivit.js';
import { SIMD, firstMismatch, randInt8, randNormal, rng, useRuntimes } from './helpers.js';

const rts = useRuntimes();
const threadCases = () => [['1 thread', rts.one], ['2 threads', rts.two]] as const;
const LENGTHS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 15, 16, 17, 23, 31, 32, 33, 47, 64, 100, 120, 197];

async function runShiftmax(rt: Runtime, x: Int8Array, rows: number, n: number, p: ShiftmaxParams): Promise<Uint8Array> {
  return rt.scoped(async (alloc) => {
    const px = alloc(x.length + 16), py = alloc(x.length + 16);
    rt.view(Int8Array, px, x.length).set(x);
    rt.view(Uint8Array, py, x.length + 16).fill(0xee);
    await shiftmaxRows(rt, px, py, rows, n, p);
    expect(rt.read(Uint8Array, py + x.length, 16).every((b) => b === 0xee)).toBe(true); // nothing past the end
    return rt.read(Uint8Array, py, x.length);
  });
}

async function runGelu(rt: Runtime, x: Int8Array, p: ShiftGeluParams): Promise<Int8Array> {
  return rt.scoped(async (alloc) => {
    const px = alloc(x.length + 16), py = alloc(x.length + 16);
    rt.view(Int8Array, px, x.length).set(x);
    rt.view(Uint8Array, py, x.length + 16).fill(0xee);
    await shiftGelu(rt, px, py, x.length, p);
    expect(rt.read(Uint8Array, py + x.length, 16).every((b) => b === 0xee)).toBe(true);
    return rt.read(Int8Array, py, x.length);
  });
}

async function runLayerNorm(rt: Runtime, x: Int8Array, rows: number, n: number, p: LayerNormParams): Promise<Int8Array> {
  return rt.scoped(async (alloc) => {
    const px = alloc(x.length + 16), py = alloc(x.length + 16);
    rt.view(Int8Array, px, x.length).set(x);
    rt.view(Uint8Array, py, x.length + 16).fill(0xee);
    const gam = rt.put(p.gam), bet = rt.put(p.bet);
    try {
      await layerNormRows(rt, px, py, rows, n, gam, bet, p);
    } finally {
      rt.free(gam);
      rt.free(bet);
    }
    expect(rt.read(Uint8Array, py + x.length, 16).every((b) => b === 0xee)).toBe(true);
    return rt.read(Int8Array, py, x.length);
  });
}

/** rows with the extremes: all -128, all 127, all equal, one 127 among -128s, alternating, a ramp */
function extremeRows(n: number): Int8Array[] {
  const one = new Int8Array(n).fill(-128);
  one[n >> 1] = 127;
  return [
    new Int8Array(n).fill(-128), new Int8Array(n).fill(127), new Int8Array(n).fill(5), one,
    Int8Array.from({ length: n }, (_, i) => (i & 1 ? 127 : -128)), Int8Array.from({ length: n }, (_, i) => ((i * 37) % 256) - 128),
  ];
}

/** float x to int8 with scale absmax/127 */
function quantize(x: ArrayLike<number>): { q: Int8Array; scale: number } {
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i]));
  const scale = m / 127 || 1;
  return { q: Int8Array.from(x, (v) => Math.max(-128, Math.min(127, Math.round(v / scale)))), scale };
}

// float references: what the integer ops approximate (for the error budgets)

function floatSoftmaxRows(x: ArrayLike<number>, rows: number, n: number): Float64Array {
  const y = new Float64Array(rows * n);
  for (let r = 0; r < rows; r++) {
    let mx = -Infinity, s = 0;
    for (let j = 0; j < n; j++) mx = Math.max(mx, x[r * n + j]);
    for (let j = 0; j < n; j++) s += y[r * n + j] = Math.exp(x[r * n + j] - mx);
    for (let j = 0; j < n; j++) y[r * n + j] /= s;
  }
  return y;
}

/** x · sigmoid(alpha x) */
const floatSigmoidGelu = (x: number, alpha: number): number => x / (1 + Math.exp(-alpha * x));

function floatLayerNormRows(x: ArrayLike<number>, rows: number, n: number, gamma: ArrayLike<number>, beta: ArrayLike<number> | null, eps = 0): Float64Array {
  const y = new Float64Array(rows * n);
  for (let r = 0; r < rows; r++) {
    let m = 0, v = 0;
    for (let j = 0; j < n; j++) m += x[r * n + j] / n;
    for (let j = 0; j < n; j++) v += (x[r * n + j] - m) ** 2 / n;
    for (let j = 0; j < n; j++) y[r * n + j] = ((x[r * n + j] - m) / Math.sqrt(v + eps)) * gamma[j] + (beta ? beta[j] : 0);
  }
  return y;
}

describe(`ivit_shiftmax_rows (${SIMD} build)`, () => {
  it('equals refShiftmaxRows bit for bit: every length, scales 2^-10..8, 7 and 8 output bits, extremes, 1 and 2 threads', async () => {
    let seed = 1;
    for (const [label, rt] of threadCases()) {
      for (const n of LENGTHS) {
        for (const scale of [1 / 1024, 0.02, 0.1, 0.37, 2, 8]) {
          for (const bits of [7, 8] as const) {
            const rows = 1 + (n % 5);
            const p = shiftmaxParams(scale, bits);
            const x = randInt8(rows * n, rng(seed++));
            const all = new Int8Array([...x, ...extremeRows(n).flatMap((r) => [...r])]);
            const allRows = rows + 6;
            expect(firstMismatch(await runShiftmax(rt, all, allRows, n, p), refShiftmaxRows(all, allRows, n, p)), `${label} n ${n} scale ${scale} bits ${bits}`).toBeNull();
          }
        }
      }
    }
  });

  it('extremes: an all-equal row is uniform, one huge value takes everything, 256 caps at 255', async () => {
    const p = shiftmaxParams(0.1);
    const y = await runShiftmax(rts.one, new Int8Array([...extremeRows(8)[2], ...extremeRows(8)[3]]), 2, 8, p);
    expect([...y.subarray(0, 8)]).toEqual(new Array(8).fill(32)); // 1/8 = 32/256
    expect(y[8 + 4]).toBe(255); // e^-25.5 of the rest is 0 in Q15
    expect(y.subarray(8).reduce((a, b) => a + b, 0)).toBe(255);
  });

  it('error budget against float softmax of the same int8 input (attention scores N(0, 2..4), rows of 25..197): max |error| <= 5/256 (I-ViT’s linear 2^f costs up to 6% of a term), sum of |error| per row (the relative error of the distribution) <= 0.10', async () => {
    let seed = 100, worst = 0, worstL1 = 0;
    for (const [n, sigma] of [[25, 2], [80, 3], [197, 4], [64, 2.5]] as const) {
      const rows = 16;
      const { q, scale } = quantize(randNormal(rows * n, rng(seed++), sigma));
      const y = await runShiftmax(rts.one, q, rows, n, shiftmaxParams(scale));
      const want = floatSoftmaxRows(Array.from(q, (v) => v * scale), rows, n);
      for (let r = 0; r < rows; r++) {
        let l1 = 0;
        for (let j = 0; j < n; j++) {
          const e = Math.abs(y[r * n + j] / 256 - want[r * n + j]);
          worst = Math.max(worst, e);
          l1 += e;
        }
        worstL1 = Math.max(worstL1, l1);
      }
    }
    console.log(`shiftmax: max |err| ${(worst * 256).toFixed(2)} LSB (1/256), max row L1 ${worstL1.toFixed(4)}`);
    expect(worst).toBeLessThanOrEqual(5 / 256);
    expect(worstL1).toBeLessThanOrEqual(0.1);
  });
});

describe(`ivit_shiftgelu (${SIMD} build)`, () => {
  it('equals refShiftGelu bit for bit: every int8 value, every length, GELU and Swish slopes, scale ratios 2^-6..2^6, 1 and 2 threads', async () => {
    const every = Int8Array.from({ length: 256 }, (_, i) => i - 128);
    let seed = 7;
    for (const [label, rt] of threadCases()) {
      for (const [s, so, alpha] of [[0.05, 0.05, 1.702], [0.02, 0.015, 1], [0.5, 0.01, 1.702], [0.001, 0.05, 1.702], [8, 8, 1], [0.03, 1.5, 1.702]]) {
        const p = shiftGeluParams(s, so, alpha);
        expect(firstMismatch(await runGelu(rt, every, p), refShiftGelu(every, p)), `${label} ${s} ${so} ${alpha}`).toBeNull();
        for (const n of LENGTHS) {
          const x = randInt8(n, rng(seed++));
          expect(firstMismatch(await runGelu(rt, x, p), refShiftGelu(x, p)), `${label} n ${n}`).toBeNull();
        }
      }
    }
  });

  it('error budget against float x·sigmoid(alpha x) of the same int8 input (x ~ N(0, 1.5), output scale from the float output range): max |error| <= 1.5 output LSB, relative RMS error <= 2% (int8 rounding alone is ~0.8%)', async () => {
    for (const alpha of [1.702, 1]) {
      const { q, scale } = quantize(randNormal(4096, rng(alpha * 10), 1.5));
      const want = Array.from(q, (v) => floatSigmoidGelu(v * scale, alpha));
      const so = Math.max(...want.map(Math.abs)) / 127;
      const y = await runGelu(rts.one, q, shiftGeluParams(scale, so, alpha));
      let worst = 0, se = 0, ss = 0;
      want.forEach((w, i) => {
        worst = Math.max(worst, Math.abs(y[i] - w / so));
        se += (y[i] * so - w) ** 2;
        ss += w * w;
      });
      console.log(`shiftgelu alpha ${alpha}: max |err| ${worst.toFixed(2)} LSB, relative RMS ${(Math.sqrt(se / ss) * 100).toFixed(2)}%`);
      expect(worst).toBeLessThanOrEqual(1.5);
      expect(Math.sqrt(se / ss)).toBeLessThanOrEqual(0.02);
    }
  });
});

describe(`ivit_layernorm_rows (${SIMD} build)`, () => {
  it('equals refLayerNormRows bit for bit: every length (1..768), gamma/beta spreads, extremes (all-equal rows: std 0), 1 and 2 threads', async () => {
    let seed = 11;
    for (const [label, rt] of threadCases()) {
      for (const n of [...LENGTHS, 255, 768]) {
        for (const [gSpread, so] of [[0.2, 0.03], [3, 0.5], [0.01, 2], [50, 0.001]]) {
          const r = rng(seed++);
          const gamma = Array.from({ length: n }, () => 1 + gSpread * (r() - 0.5) * 2), beta = Array.from({ length: n }, () => (r() - 0.5));
          const p = layerNormParams(so, gamma, beta);
          const rows = 1 + (n % 4);
          const all = new Int8Array([...randInt8(rows * n, r), ...extremeRows(n).flatMap((row) => [...row])]);
          expect(firstMismatch(await runLayerNorm(rt, all, rows + 6, n, p), refLayerNormRows(all, rows + 6, n, p)), `${label} n ${n} ${gSpread} ${so}`).toBeNull();
        }
      }
    }
  });

  it('error budget against float LayerNorm of the same int8 input (rows of 64..768, per-channel offsets, gamma ~ 1±0.3, beta ~ ±0.2): max |error| <= 1 output LSB, relative RMS error <= 1.2% (int8 rounding alone is ~0.8%)', async () => {
    let seed = 50;
    for (const n of [64, 120, 384, 768]) {
      const rows = 8, r = rng(seed++);
      const offs = randNormal(n, r, 2), x = randNormal(rows * n, r, 1).map((v, i) => v + offs[i % n]);
      const { q, scale } = quantize(x);
      const gamma = Array.from({ length: n }, () => 1 + 0.6 * (r() - 0.5)), beta = Array.from({ length: n }, () => 0.4 * (r() - 0.5));
      const want = floatLayerNormRows(Array.from(q, (v) => v * scale), rows, n, gamma, beta);
      const so = want.reduce((a, b) => Math.max(a, Math.abs(b)), 0) / 127;
      const y = await runLayerNorm(rts.one, q, rows, n, layerNormParams(so, gamma, beta));
      let worst = 0, se = 0, ss = 0;
      want.forEach((w, i) => {
        worst = Math.max(worst, Math.abs(y[i] - w / so));
        se += (y[i] * so - w) ** 2;
        ss += w * w;
      });
      console.log(`layernorm n ${n}: max |err| ${worst.toFixed(2)} LSB, relative RMS ${(Math.sqrt(se / ss) * 100).toFixed(2)}%`);
      expect(worst).toBeLessThanOrEqual(1);
      expect(Math.sqrt(se / ss)).toBeLessThanOrEqual(0.012);
    }
  });
});

describe('I-ViT ops: bad arguments are typed errors naming the argument', () => {
  it('sizes, parameter ranges and scales', async () => {
    const rt = rts.one;
    const p = shiftmaxParams(0.1);
    expect(() => shiftmaxRows(rt, 64, 128, 1, 0, p)).toThrow(ShapeError);
    expect(() => shiftmaxRows(rt, 64, 128, 1, 70000, p)).toThrow(/shiftmaxRows: n must be an integer in \[1, 65535\]/);
    expect(() => shiftmaxRows(rt, 64, 128, -1, 4, p)).toThrow(/shiftmaxRows: rows/);
    expect(() => shiftmaxRows(rt, 64, 128, 1, 4, { ...p, g: 40 })).toThrow(/p\.g/);
    expect(() => shiftmaxRows(rt, 64, 128, 1, 4, { ...p, bits: 9 as 8 })).toThrow(ValueRangeError);
    expect(() => shiftGelu(rt, 64, 128, 1.5, shiftGeluParams(0.1, 0.1))).toThrow(/shiftGelu: count/);
    expect(() => shiftGelu(rt, 64, 128, 4, { ...shiftGeluParams(0.1, 0.1), mo: 4096 })).toThrow(/p\.mo/);
    expect(() => layerNormRows(rt, 64, 128, 1, 0, 0, 0, { gs: 0 })).toThrow(/layerNormRows: n/);
    expect(() => layerNormRows(rt, 64, 128, 1, 4, 0, 0, { gs: 12 })).toThrow(/p\.gs/);
    expect(() => shiftmaxParams(0)).toThrow(/shiftmaxParams: inScale must be a finite number > 0, got 0/);
    expect(() => shiftmaxParams(NaN)).toThrow(ValueRangeError);
    expect(() => shiftmaxParams(1000)).toThrow(/inScale 1000/);
    expect(() => shiftGeluParams(0.1, -1)).toThrow(/outScale/);
    expect(() => shiftGeluParams(1, 1e-9)).toThrow(/inScale \/ outScale must be in/);
    expect(() => shiftGeluParams(1e-6, 1)).toThrow(/inScale \/ outScale must be in/);
    expect(() => layerNormParams(0.1, [1, 2], [0])).toThrow(/beta must have gamma's length 2/);
    expect(() => layerNormParams(0.1, [1, NaN], null)).toThrow(/channel 1/);
  });
});
