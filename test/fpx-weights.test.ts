// The 'fpx' weight format: FPx codes (src/quant/fpx-codes.ts) against the study's fake quantization,
// the split chooser on planted data (uniform weights -> the most mantissa; heavy-tailed -> more
// exponent; an input Hessian that weighs the small weights -> the split that keeps them), the
// per-channel clip search, quantizeModel-style options, and the saved record's validation.

import { describe, expect, it } from 'vitest';
import { ArgumentError, FPX_SPLITS, ModelError, ValueRangeError, WEIGHT_FORMATS, fpxEncode, fpxFormat, fpxQuantize, fpxTable, quantizeFpxWeights, type FpxSplit, type SafeTensor, type SavedRecord } from '../src/index.js';
import type { SavedReader } from '../src/formats/format.js';
import { rng } from './helpers.js';

const fpx = WEIGHT_FORMATS.find((f) => f.name === 'fpx')!;

function gaussian(n: number, r: () => number): Float32Array {
  return Float32Array.from({ length: n }, () => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r()));
}

/** Cauchy (Student's t with nu = 1): very heavy-tailed weights, spanning many binades */
function cauchy(n: number, r: () => number): Float32Array {
  const z = gaussian(2 * n, r);
  return Float32Array.from({ length: n }, (_, i) => z[2 * i] / Math.abs(z[2 * i + 1]));
}

/** Student's t with nu = 2 (infinite variance): heavy-tailed weights */
function studentT2(n: number, r: () => number): Float32Array {
  const z = gaussian(3 * n, r);
  return Float32Array.from({ length: n }, (_, i) => z[3 * i] / Math.sqrt((z[3 * i + 1] ** 2 + z[3 * i + 2] ** 2) / 2));
}

/** sum dW^2 or tr(dW H dW^T) of dequantized weights against W (N rows of K) */
function error(w: Float32Array, q: Float32Array, n: number, k: number, h?: Float64Array): number {
  let e = 0;
  for (let j = 0; j < n; j++) {
    for (let t = 0; t < k; t++) {
      const dt = w[j * k + t] - q[j * k + t];
      if (!h) e += dt * dt;
      else for (let u = 0; u < k; u++) e += dt * h[t * k + u] * (w[j * k + u] - q[j * k + u]);
    }
  }
  return e;
}

function reader(tensors: Map<string, SafeTensor>): SavedReader {
  return {
    key: 'layer',
    has: (part) => tensors.has(part),
    tensor(part, dtype, count) {
      const t = tensors.get(part);
      if (!t || t.dtype !== dtype || t.data.length !== count) throw new ModelError(`needs ${part} as ${count} ${dtype} values`);
      return t.data;
    },
    error: (message) => new ModelError(`layer ${message}`),
  };
}

describe('fpx weights', () => {
  it('codes: every code decodes to the value fpxQuantize rounds to, and encodes back to itself (-0 to 0x80)', () => {
    for (const split of FPX_SPLITS) {
      const f = fpxFormat(split);
      const t = fpxTable(split);
      const q = fpxQuantize(t, split, f.standardMax);
      for (let c = 0; c < 256; c++) {
        expect(Object.is(q[c], t[c]), `${split} 0x${c.toString(16)}`).toBe(true);
        expect(fpxEncode(t[c], f), `${split} 0x${c.toString(16)}`).toBe(c);
      }
      expect(t[0x7f]).toBe(f.standardMax);
      expect(t[1]).toBe(2 ** (f.emin - f.m));
      // a midpoint between codes 2 and 3 goes to the even code; beyond max saturates
      expect(fpxEncode((t[2] + t[3]) / 2, f)).toBe(2);
      expect(fpxEncode(-1e30, f)).toBe(0xff);
    }
  });

  it('codes times scales are the fake quantization of the study (fpxQuantize with max = scale * standardMax)', () => {
    const r = rng(1);
    const [n, k] = [6, 50];
    const w = gaussian(n * k, r);
    for (const split of FPX_SPLITS) {
      const { weights } = quantizeFpxWeights(w, n, k, { splits: [split] });
      const f = fpxFormat(split);
      const max = Array.from(weights.scales, (s) => s * f.standardMax);
      const want = fpxQuantize(w, split, max, { outer: 1, channels: n, inner: k });
      const got = fpx.dequantize(weights) as Float32Array;
      for (let i = 0; i < w.length; i++) expect(Math.abs(got[i] - want[i]), `${split} ${i}`).toBeLessThanOrEqual(Math.abs(want[i]) * 2 ** -22);
    }
  });

  it('picks the split with the least error: uniform weights -> E1M6, Gaussian -> E1M6 or E2M5 (clipped: nearly uniform), very heavy-tailed (Cauchy) -> E3M4 or more exponent', () => {
    const r = rng(2);
    const [n, k] = [16, 256];
    const uniform = Float32Array.from({ length: n * k }, () => 2 * r() - 1);
    const cases: [string, Float32Array, FpxSplit[]][] = [['uniform', uniform, ['E1M6']], ['gaussian', gaussian(n * k, r), ['E1M6', 'E2M5']], ['cauchy', cauchy(n * k, r), ['E3M4', 'E4M3', 'E5M2']]];
    for (const [name, w, want] of cases) {
      const { weights, errors } = quantizeFpxWeights(w, n, k);
      expect(want, `${name}: got ${weights.format}, errors ${JSON.stringify(errors)}`).toContain(weights.format);
      expect(Object.keys(errors)).toEqual([...FPX_SPLITS]);
      for (const s of FPX_SPLITS) expect(errors[weights.format]!).toBeLessThanOrEqual(errors[s]!);
      // the reported error is the dequantized weights' squared error
      expect(error(w, fpx.dequantize(weights) as Float32Array, n, k)).toBeCloseTo(errors[weights.format]!, 6);
    }
  });

  it('the clip (bias) search beats absmax scales where clipping pays (an outlier over many weights), and is never worse', () => {
    const r = rng(3);
    const [n, k] = [4, 4096];
    // E1M6 is uniform: clipping an outlier of 30 a little costs it less than the 4095 others gain
    const outlier = gaussian(n * k, r);
    for (let j = 0; j < n; j++) outlier[j * k + 7] = 30;
    for (const [w, factor] of [[outlier, 0.99], [studentT2(n * k, r), 1], [Float32Array.from({ length: n * k }, () => 2 * r() - 1), 1]] as const) {
      const { weights } = quantizeFpxWeights(w, n, k, { splits: ['E1M6'] });
      const f = fpxFormat('E1M6');
      const absmax = Float32Array.from({ length: n }, (_, j) => Math.fround(w.subarray(j * k, (j + 1) * k).reduce((a, v) => Math.max(a, Math.abs(v)), 0) / f.standardMax));
      const codes = Uint8Array.from({ length: n * k }, (_, i) => fpxEncode(Math.fround(w[(i % n) * k + Math.floor(i / n)] / absmax[i % n]), f));
      const plain = error(w, fpx.dequantize({ ...weights, codes, scales: absmax }) as Float32Array, n, k);
      expect(error(w, fpx.dequantize(weights) as Float32Array, n, k)).toBeLessThanOrEqual(factor * plain);
    }
  });

  it('a channel too large for any split\'s scale (the f8w kernels stop at 2^62) is a ValueRangeError naming it, never clipped', () => {
    const [n, k] = [3, 32];
    const w = gaussian(n * k, rng(6));
    expect(() => quantizeFpxWeights(w, n, k)).not.toThrow();
    for (const big of [1e30, -3.4e38]) {
      const bad = w.slice();
      bad[1 * k + 5] = big;
      expect(() => quantizeFpxWeights(bad, n, k), `${big}`).toThrow(ValueRangeError);
      expect(() => quantizeFpxWeights(bad, n, k)).toThrow(/fpx: output channel 1 holds \|w\| = .*cannot be represented/);
    }
    const fine = w.slice();
    fine[1 * k + 5] = 1e18; // its scale stays below 2^62 in the widest split: quantized as usual
    const { weights } = quantizeFpxWeights(fine, n, k);
    expect(Math.abs((fpx.dequantize(weights) as Float32Array)[1 * k + 5] / 1e18 - 1)).toBeLessThan(0.1);
  });

  it('with the input Hessian the choice follows the output error tr(dW H dW^T), not the weights\' error', () => {
    const r = rng(4);
    const [n, k] = [8, 64];
    // half the inputs carry large weights with small inputs, half tiny weights (2^-10) with large
    // inputs: the weights' error ignores the tiny ones, the output error is all about them
    const w = Float32Array.from({ length: n * k }, (_, i) => ((i % k) < k / 2 ? 2 * r() - 1 : (2 * r() - 1) * 2 ** -10));
    const h = new Float64Array(k * k);
    for (let t = 0; t < k; t++) h[t * k + t] = t < k / 2 ? 1e-6 : 1e6;
    const plain = quantizeFpxWeights(w, n, k);
    const effect = quantizeFpxWeights(w, n, k, { hessian: h });
    expect(plain.weights.format).toBe('E1M6');
    expect(fpxFormat(effect.weights.format).e).toBeGreaterThanOrEqual(3);
    const out = (c: typeof plain) => error(w, fpx.dequantize(c.weights) as Float32Array, n, k, h);
    expect(out(effect)).toBeLessThan(out(plain) / 10);
    expect(effect.errors[effect.weights.format]!).toBeCloseTo(out(effect), 0);
    // the format entry passes ctx.hessian through
    expect((fpx.quantize(w, n, k, { hessian: h }) as { format: string }).format).toBe(effect.weights.format);
  });

  it('options: fpxSplits restricts the choice; bad splits, shapes and weights are typed errors', () => {
    const r = rng(5);
    const w = gaussian(4 * 32, r);
    expect((fpx.quantize(w, 4, 32, { options: { fpxSplits: ['E5M2'] } }) as { format: string }).format).toBe('E5M2');
    expect((fpx.quantize(w, 4, 32, { options: { fpxSplits: 'E4M3' } }) as { format: string }).format).toBe('E4M3');
    expect(() => fpx.quantize(w, 4, 32, { options: { fpxSplits: ['E6M1'] } })).toThrow(ArgumentError);
    expect(() => fpx.quantize(w, 4, 32, { options: { fpxSplits: [] } })).toThrow(/fpxSplits: expected a non-empty list/);
    expect(() => quantizeFpxWeights(w, 4, 31)).toThrow(/N\*K = 124/);
    expect(() => quantizeFpxWeights(w, 4, 32, { hessian: new Float64Array(5) })).toThrow(/K\*K = 1024/);
    const bad = w.slice();
    bad[33] = NaN;
    expect(() => quantizeFpxWeights(bad, 4, 32)).toThrow(/W\[1\]\[1\] is NaN/);
    // an all-zero channel keeps scale 1 and codes 0
    const z = w.slice();
    z.fill(0, 32, 64);
    const q = quantizeFpxWeights(z, 4, 32).weights;
    expect(q.scales[1]).toBe(1);
    for (let t = 0; t < 32; t++) expect(q.codes[t * 4 + 1]).toBe(0);
  });

  it('saved records: the split is validated; a bad split or bias (scale) in a file is a ModelError', () => {
    const r = rng(6);
    const [n, k] = [5, 40];
    const data = fpx.quantize(gaussian(n * k, r), n, k, {});
    const tensors = new Map<string, SafeTensor>();
    const fields = fpx.save(data, (part, t) => tensors.set(part, t));
    const record: SavedRecord = JSON.parse(JSON.stringify({ scheme: 'fpx', k, n, ...fields }));
    expect(FPX_SPLITS).toContain(record.split);
    expect(fpx.load(record, reader(tensors))).toEqual(data);
    for (const split of ['E6M1', 'e4m3fn', 'E4M4', 3, null, undefined]) {
      expect(() => fpx.load({ ...record, split }, reader(tensors)), String(split)).toThrow(ModelError);
    }
    expect(() => fpx.load({ ...record, split: 'E7M0' }, reader(tensors))).toThrow(/has split "E7M0"; expected one of E1M6, E2M5, E3M4, E4M3, E5M2/);
    const scales = tensors.get('scales')!;
    for (const [v, msg] of [[2 ** 64, /below 2\^63/], [0, /scales\[2\] = 0/], [-1, /scales\[2\] = -1/], [Infinity, /scales\[2\] = Infinity/]] as const) {
      const bad = new Map(tensors).set('scales', { ...scales, data: Float32Array.from(scales.data as Float32Array, (s, i) => (i === 2 ? v : s)) });
      expect(() => fpx.load(record, reader(bad))).toThrow(ModelError);
      expect(() => fpx.load(record, reader(bad))).toThrow(msg);
    }
    expect(() => fpx.load(record, reader(new Map([...tensors].filter(([p]) => p !== 'codes'))))).toThrow(ModelError);
    expect(fpx.detail(data)).toBe(record.split);
  });
});
