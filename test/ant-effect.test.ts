// ANT by effect (src/quant/ant.ts with a Hessian, src/quant/hessian.ts): the type and the clip
// ratios chosen by the layer's output error tr(ΔW H ΔWᵀ) instead of the weights' squared error.
// Checked here: with a planted Hessian that weighs some input columns heavily the choice changes and
// the output error drops; it is never higher than the squared-error choice's (by construction, on
// random Hessians); per-channel choice likewise; H = c·I gives the old choice bit for bit; the clip
// pass against a brute-force search; the ant4 format's antChoice; typed errors for bad Hessians.

import { describe, expect, it } from 'vitest';
import { dequantizeAnt, quantizeAnt, selectAntType, type AntSelectOptions } from '../src/quant/ant.js';
import { ant4Format } from '../src/formats/ant4.js';
import { LowbitError } from '../src/errors.js';
import { rng } from './helpers.js';

/** tr((x̂ - x) H (x̂ - x)ᵀ) over rows [n][k], per row, computed plainly */
function outputError(x: Float32Array, xhat: Float32Array, h: Float64Array, n: number, k: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < n; r++) {
    let s = 0;
    for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) s += (xhat[r * k + i] - x[r * k + i]) * h[i * k + j] * (xhat[r * k + j] - x[r * k + j]);
    out.push(s);
  }
  return out;
}
const sum = (a: number[]) => a.reduce((s, v) => s + v, 0);

function gauss(r: () => number): number {
  let u = 0;
  while (u === 0) u = r();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * r());
}

/** uniform weights [n][k] in [-1, 1] */
function uniform(n: number, k: number, seed: number): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n * k }, () => 2 * r() - 1);
}

/** H = XᵀX / rows of `rows` random input rows whose columns `heavy` are `weight` times larger, with correlated neighbours */
function randomHessian(k: number, seed: number, heavy: number[] = [], weight = 1, rows = 4 * k): Float64Array {
  const r = rng(seed);
  const h = new Float64Array(k * k);
  const row = new Float64Array(k);
  for (let m = 0; m < rows; m++) {
    let prev = 0;
    for (let i = 0; i < k; i++) {
      prev = 0.5 * prev + gauss(r); // neighbouring inputs correlate (as an image's pixels do)
      row[i] = prev * (heavy.includes(i) ? weight : 1);
    }
    for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) h[i * k + j] += (row[i] * row[j]) / rows;
  }
  return h;
}

function scaledIdentity(k: number, c: number): Float64Array {
  const h = new Float64Array(k * k);
  for (let i = 0; i < k; i++) h[i * k + i] = c;
  return h;
}

describe('selectAntType by effect', () => {
  it('with columns weighted heavily, chooses another type than squared error and lowers tr(ΔW H ΔWᵀ)', () => {
    // uniform weights: squared error picks int4; the heavy columns hold small values, which flint4
    // and PoT4 resolve finely near zero, and dominate the output error
    const n = 16, k = 64;
    const x = uniform(n, k, 1);
    const heavy = [3, 17, 40, 41, 58];
    for (let r = 0; r < n; r++) for (const i of heavy) x[r * k + i] *= 0.05;
    const h = randomHessian(k, 2, heavy, 30);
    const byError = selectAntType(x, { channels: n });
    const byEffect = selectAntType(x, { channels: n, hessian: h });
    expect(byError.typeNames[0]).toBe('int4');
    expect(byError.criterion).toBe('error');
    expect(byEffect.criterion).toBe('effect');
    expect(byEffect.typeNames[0]).not.toBe('int4');
    const eErr = sum(outputError(x, dequantizeAnt(byError.quantized), h, n, k));
    const eEff = sum(outputError(x, dequantizeAnt(byEffect.quantized), h, n, k));
    expect(eEff).toBeLessThan(0.7 * eErr);
    // the reported output error is the plain one, and the output SQNR follows from it
    expect(byEffect.quantized.effect).toBeCloseTo(eEff, 9);
    let sig = 0;
    for (let r = 0; r < n; r++) for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) sig += x[r * k + i] * h[i * k + j] * x[r * k + j];
    expect(byEffect.outputSqnrDb!.chosen).toBeCloseTo(10 * Math.log10(sig / eEff), 6);
    expect(byEffect.outputSqnrDb!.chosen).toBe(Math.max(byEffect.outputSqnrDb!.int4, byEffect.outputSqnrDb!.flint4, byEffect.outputSqnrDb!.pot4));
    // …while its squared error is higher: the two criteria disagree
    expect(byEffect.sqnrDb.chosen).toBeLessThan(byError.sqnrDb.chosen);
  });

  it('is never worse in tr(ΔW H ΔWᵀ) than the squared-error choice (random Hessians, tensor and channel choice, blocks)', () => {
    const shapes: [number, number, number | undefined][] = [[6, 40, undefined], [5, 70, 32], [4, 96, 32], [3, 33, 16]];
    let strictly = 0;
    let cases = 0;
    for (const [n, k, bs] of shapes) {
      for (const seed of [1, 2, 3]) {
        const r = rng(100 + seed);
        // rows of different shapes: uniform, Gaussian, heavy-tailed
        const x = Float32Array.from({ length: n * k }, (_, i) => {
          const kind = Math.floor(i / k) % 3;
          return kind === 0 ? 2 * r() - 1 : kind === 1 ? gauss(r) : gauss(r) ** 3;
        });
        const heavy = Array.from({ length: 4 }, () => Math.floor(r() * k));
        const h = randomHessian(k, 200 + seed, heavy, 1 + 20 * r());
        for (const perChannelType of [false, true]) {
          const o: AntSelectOptions = { channels: n, blockSize: bs, perChannelType };
          const byError = selectAntType(x, o);
          const byEffect = selectAntType(x, { ...o, hessian: h });
          const eErr = outputError(x, dequantizeAnt(byError.quantized), h, n, k);
          const eEff = outputError(x, dequantizeAnt(byEffect.quantized), h, n, k);
          const tol = 1e-9 * sum(eErr);
          if (perChannelType) eEff.forEach((e, row) => expect(e, `row ${row} of ${n}x${k} seed ${seed}`).toBeLessThanOrEqual(eErr[row] + tol));
          expect(sum(eEff), `${n}x${k} block ${bs} seed ${seed} perChannelType ${perChannelType}`).toBeLessThanOrEqual(sum(eErr) + tol);
          if (sum(eEff) < 0.999 * sum(eErr)) strictly++;
          cases++;
        }
      }
    }
    // and it is not a no-op: it helps in most of these cases
    expect(strictly).toBeGreaterThan(cases / 2);
  });

  it('chooses per channel by each row\'s Δw H Δwᵀ', () => {
    const n = 8, k = 64;
    const x = uniform(n, k, 5);
    const heavy = [2, 9, 33, 50];
    // rows 0..3 hold small values in the heavy columns, rows 4..7 do not
    for (let r = 0; r < 4; r++) for (const i of heavy) x[r * k + i] *= 0.05;
    const h = randomHessian(k, 6, heavy, 30);
    const byError = selectAntType(x, { channels: n, perChannelType: true });
    const byEffect = selectAntType(x, { channels: n, perChannelType: true, hessian: h });
    expect(byError.typeNames).toEqual(new Array(n).fill('int4'));
    expect(byEffect.typeNames.slice(0, 4).every((t) => t !== 'int4')).toBe(true);
    // each row is the best of the candidates quantized with H, row by row
    const single = ['int4', 'flint4', 'pot4'].map((t) => quantizeAnt(x, t as 'int4', { channels: n, hessian: h }));
    for (let r = 0; r < n; r++) {
      const best = Math.min(...single.map((q) => q.channelEffect![r]));
      expect(byEffect.quantized.channelEffect![r]).toBe(best);
    }
    const eErr = outputError(x, dequantizeAnt(byError.quantized), h, n, k);
    const eEff = outputError(x, dequantizeAnt(byEffect.quantized), h, n, k);
    for (let r = 0; r < 4; r++) expect(eEff[r]).toBeLessThan(0.8 * eErr[r]);
    expect(byEffect.table.at(-1)!.chosen).toBe('per channel');
  });

  it('gives the squared-error choice bit for bit when H is the identity, scaled', () => {
    const cases: [number, number, number | undefined, boolean][] = [[6, 40, undefined, false], [5, 70, 32, false], [6, 64, 32, true], [3, 33, 16, true]];
    for (const [n, k, bs, perChannelType] of cases) {
      const r = rng(n * k);
      const x = Float32Array.from({ length: n * k }, (_, i) => (Math.floor(i / k) % 2 ? gauss(r) : 2 * r() - 1));
      for (const c of [1, 3.7e-3, 250]) {
        const a = selectAntType(x, { channels: n, blockSize: bs, perChannelType });
        const b = selectAntType(x, { channels: n, blockSize: bs, perChannelType, hessian: scaledIdentity(k, c) });
        expect(b.typeNames).toEqual(a.typeNames);
        expect(Array.from(b.quantized.codes)).toEqual(Array.from(a.quantized.codes));
        expect(Array.from(b.quantized.scales)).toEqual(Array.from(a.quantized.scales));
        expect(b.quantized.effect! / c).toBeCloseTo(a.quantized.mse * n * k, 6);
      }
    }
  });
});

describe('clip search by effect', () => {
  it('is the brute-force best candidate scale by Δw H Δwᵀ when a row is one block', () => {
    const k = 12;
    const r = rng(7);
    const x = Float32Array.from({ length: 3 * k }, () => gauss(r));
    const h = randomHessian(k, 8, [1, 5], 10);
    for (const type of ['int4', 'flint4', 'pot4'] as const) {
      const q = quantizeAnt(x, type, { channels: 3, hessian: h });
      const plain = quantizeAnt(x, type, { channels: 3 });
      for (let row = 0; row < 3; row++) {
        // every candidate scale (positive; int4 also mirrored), its exact output error
        const w = x.subarray(row * k, (row + 1) * k);
        let best = Infinity;
        for (const s of candidateScales(type, w)) {
          const xhat = Float32Array.from(w, (v) => Math.fround(s * nearestLevel(type, v / s)));
          best = Math.min(best, outputError(w, xhat, h, 1, k)[0]);
        }
        const got = outputError(w, dequantizeAnt(q).subarray(row * k, (row + 1) * k), h, 1, k)[0];
        expect(got, `${type} row ${row}`).toBeLessThanOrEqual(best * (1 + 1e-6));
        expect(q.channelEffect![row]).toBeCloseTo(got, 9);
        // never worse than the squared-error clip in the output error
        expect(got).toBeLessThanOrEqual(outputError(w, dequantizeAnt(plain).subarray(row * k, (row + 1) * k), h, 1, k)[0] * (1 + 1e-12));
      }
    }
  });

  it('leaves the last block of a row at its best candidate scale given the blocks before it (two blocks, correlated across them)', () => {
    const k = 24, bs = 12, n = 6;
    const r = rng(17);
    const x = Float32Array.from({ length: n * k }, () => gauss(r));
    const h = randomHessian(k, 18, [4, 11, 12, 13, 20], 6);
    for (const type of ['int4', 'flint4'] as const) {
      const q = quantizeAnt(x, type, { channels: n, blockSize: bs, hessian: h });
      const plain = quantizeAnt(x, type, { channels: n, blockSize: bs });
      const got = outputError(x, dequantizeAnt(q), h, n, k);
      const before = outputError(x, dequantizeAnt(plain), h, n, k);
      let refined = 0;
      for (let row = 0; row < n; row++) {
        expect(got[row]).toBeLessThanOrEqual(before[row] * (1 + 1e-12));
        if (got[row] === before[row]) continue; // the pass did not help this row: the squared-error clip stays
        refined++;
        const w = x.subarray(row * k, (row + 1) * k);
        const xhat = dequantizeAnt(q).slice(row * k, (row + 1) * k);
        let best = Infinity;
        for (const s of candidateScales(type, w.subarray(bs))) {
          for (let i = bs; i < k; i++) xhat[i] = Math.fround(s * nearestLevel(type, w[i] / s));
          best = Math.min(best, outputError(w, xhat, h, 1, k)[0]);
        }
        expect(got[row], `${type} row ${row}`).toBeLessThanOrEqual(best * (1 + 1e-6));
      }
      expect(refined, type).toBeGreaterThan(n / 2);
    }
  });

  it('lowers the output error against the squared-error clip (blocks of 32), and clipByEffect: false keeps that clip', () => {
    const n = 8, k = 128;
    const x = uniform(n, k, 11);
    const h = randomHessian(k, 12, [5, 6, 70, 100], 8);
    for (const type of ['int4', 'flint4'] as const) {
      const plain = quantizeAnt(x, type, { channels: n, blockSize: 32 });
      const typeOnly = quantizeAnt(x, type, { channels: n, blockSize: 32, hessian: h, clipByEffect: false });
      const full = quantizeAnt(x, type, { channels: n, blockSize: 32, hessian: h });
      expect(Array.from(typeOnly.codes)).toEqual(Array.from(plain.codes));
      expect(typeOnly.effect).toBeCloseTo(sum(outputError(x, dequantizeAnt(plain), h, n, k)), 9);
      expect(full.effect!).toBeLessThan(0.97 * typeOnly.effect!);
      expect(full.effect).toBeCloseTo(sum(outputError(x, dequantizeAnt(full), h, n, k)), 9);
      // the refined row's own squared error is reported
      const d = dequantizeAnt(full);
      let sse = 0;
      for (let i = 0; i < x.length; i++) sse += (d[i] - x[i]) ** 2;
      expect(full.mse).toBeCloseTo(sse / x.length, 12);
    }
  });
});

/** ANT's candidate scales for a block: r · absmax / maxLevel for r = 0.75..1.49, int4 also mirrored (-r · absmax / 8) */
function candidateScales(type: 'int4' | 'flint4' | 'pot4', w: Float32Array): number[] {
  const amax = Math.max(...Array.from(w, Math.abs));
  const scales: number[] = [];
  for (let i = 75; i < 150; i++) scales.push(Math.fround((amax * i) / 100 / { int4: 7, flint4: 16, pot4: 64 }[type]));
  if (type === 'int4') for (let i = 75; i < 150; i++) scales.push(-Math.fround((amax * i) / 100 / 8));
  return scales;
}

/** the level of `type` nearest t (ties to the larger), for the brute force */
function nearestLevel(type: 'int4' | 'flint4' | 'pot4', t: number): number {
  const levels = { int4: [-8, -7, -6, -5, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5, 6, 7], flint4: [-16, -8, -6, -4, -3, -2, -1, 0, 1, 2, 3, 4, 6, 8, 16], pot4: [-64, -32, -16, -8, -4, -2, -1, 0, 1, 2, 4, 8, 16, 32, 64] }[type];
  let best = levels[0];
  for (const l of levels) if (Math.abs(t - l) <= Math.abs(t - best)) best = l;
  return best;
}

describe('ant4 format by effect', () => {
  const n = 16, k = 64;
  const x = uniform(n, k, 1);
  const heavy = [3, 17, 40, 41, 58];
  for (let r = 0; r < n; r++) for (const i of heavy) x[r * k + i] *= 0.05;
  const h = randomHessian(k, 2, heavy, 30);

  it('chooses by effect when given the Hessian, by error with antChoice: "error" or without one', () => {
    expect(ant4Format.quantize(x, n, k, {}).type).toBe('int4');
    expect(ant4Format.quantize(x, n, k, { hessian: h }).type).not.toBe('int4');
    expect(ant4Format.quantize(x, n, k, { hessian: h, options: { antChoice: 'effect' } }).type).not.toBe('int4');
    expect(ant4Format.quantize(x, n, k, { hessian: h, options: { antChoice: 'error' } }).type).toBe('int4');
    expect(ant4Format.quantize(x, n, k, { options: { antChoice: 'effect' } }).type).toBe('int4');
    const perChannel = ant4Format.quantize(x, n, k, { hessian: h, options: { ant4PerChannelType: true } });
    expect(perChannel.type).toMatch(/^per channel|^(flint4|pot4)$/);
  });

  it('rejects a bad antChoice and a bad Hessian with typed errors naming them', () => {
    const cases: [() => unknown, RegExp, string][] = [
      [() => ant4Format.quantize(x, n, k, { hessian: h, options: { antChoice: 'output' } }), /antChoice: expected 'error' or 'effect', got "output"/, 'ERR_ARGUMENT'],
      [() => ant4Format.quantize(x, n, k, { hessian: new Float64Array(63 * 63) }), /hessian: expected K x K = 4096 values for rows of K = 64, got 3969/, 'ERR_SHAPE'],
    ];
    for (const [f, msg, code] of cases) {
      let err: unknown;
      try {
        f();
      } catch (e) {
        err = e;
      }
      expect(err, String(msg)).toBeInstanceOf(LowbitError);
      expect((err as Error).message).toMatch(msg);
      expect((err as LowbitError).code).toBe(code);
    }
  });
});

describe('bad Hessians', () => {
  const x = uniform(2, 6, 3);
  it('are typed errors naming the argument, the value and what was expected', () => {
    const nan = scaledIdentity(6, 1);
    nan[7] = NaN;
    const inf = scaledIdentity(6, 1);
    inf[30] = Infinity;
    const neg = scaledIdentity(6, 1);
    neg[14] = -2;
    const cases: [() => unknown, RegExp, string][] = [
      [() => selectAntType(x, { channels: 2, hessian: new Float64Array(5 * 5) }), /hessian: expected K x K = 36 values for rows of K = 6, got 25/, 'ERR_SHAPE'],
      [() => quantizeAnt(x, 'int4', { channels: 2, hessian: new Float64Array(12 * 12) }), /hessian: expected K x K = 36 values for rows of K = 6, got 144/, 'ERR_SHAPE'],
      [() => selectAntType(x, { channels: 2, hessian: nan }), /hessian: element 7 \(row 1, column 1\) is NaN; values must be finite/, 'ERR_RANGE'],
      [() => quantizeAnt(x, 'flint4', { channels: 2, hessian: inf }), /hessian: element 30 \(row 5, column 0\) is Infinity/, 'ERR_RANGE'],
      [() => selectAntType(x, { channels: 2, hessian: neg }), /hessian: diagonal element 2 is -2; a second moment XᵀX\/rows has a non-negative diagonal/, 'ERR_RANGE'],
      [() => selectAntType(x, { channels: 2, hessian: new Float32Array(36) as unknown as Float64Array }), /hessian: expected a Float64Array \(K x K, K = 6\), got Float32Array/, 'ERR_DTYPE'],
    ];
    for (const [f, msg, code] of cases) {
      let err: unknown;
      try {
        f();
      } catch (e) {
        err = e;
      }
      expect(err, String(msg)).toBeInstanceOf(LowbitError);
      expect((err as Error).message).toMatch(msg);
      expect((err as LowbitError).code).toBe(code);
    }
  });
});
