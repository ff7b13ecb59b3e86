// Activation quantization of int8 layers: the range ('minmax', percentile, 'mse'), per-channel
// scales migrated into the weights (smoothing), and the learned rounding border (AQuant), from the
// math (src/quant/) through the int8 layer (bit for bit against its reference) to quantizeModel on
// generated models (output error against float32 in the direction that must hold), saving, and
// the typed errors of bad options.

import { describe, expect, it } from 'vitest';
import { ArgumentError, loadModel, loadQuantized, quantizeModel, saveQuantized, tensor, type Model } from '../src/index.js';
import { int8Format } from '../src/formats/int8.js';
import { runFormatGemm } from '../src/kernels.js';
import { RangeStats } from '../src/model/calibrate.js';
import { activationQuant, widenRange } from '../src/model/activation-calibration.js';
import { activationQuantMse, mseRange, percentileRange, uint8Range, type ActivationQuant } from '../src/quant/activation-range.js';
import { smoothingScales } from '../src/quant/channel-scales.js';
import { learnBorder } from '../src/quant/rounding-border.js';
import { outputOptimalRange, weightTerms } from '../src/quant/output-error.js';
import { SIMD, firstMismatch, randNormal, rng, useRuntimes } from './helpers.js';
import { OnnxBuilder } from './onnx-builder.js';

const rts = useRuntimes();
const sorted = (x: Float32Array) => x.slice().sort();
const minMax = (x: ArrayLike<number>): [number, number] => {
  let lo = Infinity, hi = -Infinity;
  for (let i = 0; i < x.length; i++) (lo = Math.min(lo, x[i])), (hi = Math.max(hi, x[i]));
  return [lo, hi];
};

describe('activation ranges', () => {
  it("'mse' clips planted outliers, with far less quantization error than min/max", () => {
    // uint8 clips only what is rarer than about 1 in 780300 / (range / outlier)^2 values
    const r = rng(1);
    const x = randNormal(2_000_000, r);
    x[12345] = 50;
    x[999] = 45;
    const [lo, hi] = minMax(x);
    const [mlo, mhi] = mseRange(sorted(x), lo, hi);
    expect(mhi).toBeLessThan(hi / 2);
    expect(mlo).toBeGreaterThanOrEqual(lo);
    const eMse = activationQuantMse(x, uint8Range(mlo, mhi)), eMinMax = activationQuantMse(x, uint8Range(lo, hi));
    expect(eMse).toBeLessThan(eMinMax / 2);
  });

  it("'mse' keeps min/max where there are no outliers (uniform, and one-sided after a ReLU)", () => {
    const r = rng(2);
    for (const [a, b] of [[-1, 2], [0, 3], [-5, -1]]) {
      const x = Float32Array.from({ length: 40000 }, () => a + (b - a) * r());
      const [lo, hi] = minMax(x);
      expect(mseRange(sorted(x), lo, hi), `[${a}, ${b}]`).toEqual([Math.min(lo, 0), Math.max(hi, 0)]);
    }
  });

  it('percentiles narrow each side to the sample value at that rank, never beyond min/max', () => {
    const x = Float32Array.from({ length: 10001 }, (_, i) => i - 5000); // -5000 .. 5000
    expect(percentileRange(sorted(x), 99, -5000, 5000)).toEqual([-4900, 4900]);
    expect(percentileRange(sorted(x), 100, -5000, 5000)).toEqual([-5000, 5000]);
    expect(percentileRange(sorted(x), 99.99, -5000, 5000)).toEqual([-4999, 4999]);
    expect(percentileRange(sorted(x), 99, -10, 10)).toEqual([-10, 10]); // clamped to the true extremes
    expect(percentileRange(new Float32Array(0), 99, -1, 1)).toEqual([-1, 1]);
  });

  it('rangeMargin widens each side away from zero (a positive min and a negative max stay), after the clip', () => {
    expect(widenRange([-2, 4], 0.25)).toEqual([-2.5, 5]);
    expect(widenRange([0.5, 4], 0.25)).toEqual([0.5, 5]);
    expect(widenRange([-3, -1], 0.5)).toEqual([-4.5, -1]);
    expect(widenRange([-2, 4], 0)).toEqual([-2, 4]);
    expect(widenRange([-2, 4])).toEqual([-2, 4]);
    const s = new RangeStats(4);
    s.add(Float32Array.from({ length: 400 }, (_, i) => (i % 7) - 1)); // values -1..5
    const base = activationQuant(s, {} as never), wide = activationQuant(s, { rangeMargin: 0.5 } as never);
    expect(wide.scale).toBeCloseTo(base.scale * 1.5, 6);
    expect(wide.zeroPoint * wide.scale).toBeCloseTo(1.5, 1); // min -1 -> -1.5
  });

  it('RangeStats samples whole rows: every channel is seen even when the row count is a power of two', () => {
    // 256 channels, channel c holds c; the old stride-2 sample saw only even channels
    const c = 256, s = new RangeStats(c);
    for (let t = 0; t < 3; t++) s.add(Float32Array.from({ length: c * 32 }, (_, i) => i % c));
    const seen = new Set(s.sample());
    expect(seen.size).toBe(c);
    expect([s.min, s.max]).toEqual([0, 255]);
    expect(s.channelMax[17]).toBe(17);
    expect(s.percentile(100)).toEqual([0, 255]);
    expect(s.sample().length % c).toBe(0);
  });
});

describe('per-channel scales and the rounding border', () => {
  it('weightTerms: g, Wbar over taps, and the weights\' own error at the mean input', () => {
    // N=2 rows, K=4 = 2 taps x 2 channels; stored weights differ from exact ones by 0.1 at k=1
    const stored = Float32Array.of(1, 2, 3, 4, 5, 6, 7, 8), exact = stored.slice();
    exact[1] -= 0.1;
    const rows = Float32Array.of(1, 10, 3, 20); // channel means 2 and 15
    const t = weightTerms(stored, 2, 4, 2, { wnk: exact, rows });
    expect([...t.g]).toEqual([1 + 9 + 25 + 49, 4 + 16 + 36 + 64]);
    expect([...t.wbar]).toEqual([4, 12, 6, 14]); // [C][N]
    expect(t.offset![0]).toBeCloseTo(15 * 0.1, 5);
    expect(t.offset![1]).toBe(0);
  });

  it("outputOptimalRange clips a channel's rare outliers when its weights are large, not when they are tiny", () => {
    // two channels: channel 0 Gaussian, channel 1 Gaussian with 1 in 500 values at 30
    const r = rng(8), rows = 4000;
    const x = Float32Array.from({ length: rows * 2 }, (_, i) => (i % 2 === 1 && (i >> 1) % 500 === 7 ? 30 : randNormal(1, r)[0]));
    const [lo, hi] = minMax(x);
    // heavy weights on channel 0: its rounding error dominates, so the range narrows
    const heavy0 = weightTerms(Float32Array.of(10, 0.01, -10, 0.01), 2, 2, 2);
    expect(outputOptimalRange(x, heavy0, lo, hi)[1]).toBeLessThan(hi);
    // heavy weights on channel 1: clipping its outliers costs more than the rounding saved
    const heavy1 = weightTerms(Float32Array.of(0.01, 10, 0.01, -10), 2, 2, 2);
    expect(outputOptimalRange(x, heavy1, lo, hi)).toEqual([Math.min(lo, 0), hi]);
  });

  it('smoothingScales: max|x|^a / max|W|^(1-a) per channel, 1 for a silent channel', () => {
    // W rows [N=2][K=4], two channels (k mod 2): channel 0 max |w| 4, channel 1 max |w| 1
    const w = Float32Array.of(1, 0.5, -4, 1, 2, -1, 0.25, 0.5);
    const s = smoothingScales(Float32Array.of(-16, 0), Float32Array.of(9, 0), w, 2, 4, 0.5);
    expect(s[0]).toBeCloseTo(Math.sqrt(16) / Math.sqrt(4), 6);
    expect(s[1]).toBe(1);
  });

  it('learnBorder cancels a rounding bias: the layer output error falls below rounding at 0.5', () => {
    const r = rng(3);
    const [c, rows, n] = [8, 600, 6];
    const q = { scale: 0.1, zeroPoint: 0 };
    // fractions in [0.3, 0.6): nearest rounding is biased low; positive weights add the bias up
    const x = Float32Array.from({ length: rows * c }, () => Math.fround((Math.floor(r() * 100) + 0.3 + 0.3 * r()) * 0.1));
    const w = Float32Array.from({ length: n * c }, () => 0.2 + r());
    const outErr = (border: ArrayLike<number>) => {
      let e = 0;
      for (let i = 0; i < rows; i++) {
        for (let j = 0; j < n; j++) {
          let d = 0;
          for (let t = 0; t < c; t++) {
            const v = x[i * c + t], b = border[t % border.length];
            d += (Math.min(255, Math.floor(Math.fround(Math.fround(v / q.scale) + Math.fround(1 - b)))) * q.scale - v) * w[j * c + t];
          }
          e += d * d;
        }
      }
      return e;
    };
    const nearest = outErr([0.5]);
    for (const mode of ['layer', 'channel'] as const) {
      const b = learnBorder(x, c, q, weightTerms(w, n, c, c), mode);
      expect(b.length).toBe(mode === 'layer' ? 1 : c);
      expect(b.reduce((a, v) => a + v, 0) / b.length, mode).toBeLessThan(0.5);
      expect(outErr(b), mode).toBeLessThan(nearest * 0.75);
    }
  });

  it('the int8 layer with channel scales and borders equals its reference bit for bit, and stays near float32', async () => {
    const r = rng(4);
    for (const [m, k, n, channels] of [[1, 9, 8, 9], [4, 33, 17, 3], [5, 64, 24, 16], [3, 7, 5, 1]] as const) {
      const w = randNormal(n * k, r, 0.1), x = randNormal(m * k, r), bias = randNormal(n, r, 0.5);
      const input: ActivationQuant = {
        ...uint8Range(-3, 3),
        channelScale: Float32Array.from({ length: channels }, () => 0.5 + r()),
        border: Float32Array.from({ length: channels }, () => 0.3 + 0.4 * r()),
      };
      const data = int8Format.quantize(w, n, k, { input });
      const want = int8Format.reference(data, x, m, bias);
      for (const rt of [rts.one, rts.two]) expect(firstMismatch(await runFormatGemm(rt, int8Format, data, x, m, bias), want), `${m}x${k}x${n}/${channels}`).toBeNull();
      // the float product: y = x W^T + bias, within a few quanta
      let worst = 0;
      for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
        let y = bias[j];
        for (let t = 0; t < k; t++) y += x[i * k + t] * w[j * k + t];
        worst = Math.max(worst, Math.abs(y - want[i * n + j]));
      }
      expect(worst).toBeLessThan(0.15);
    }
  });
});

/** y = relu(x W1) W2 on [rows, 16] inputs (one MatMul alone with `single`) */
function mlp(r: () => number, single = false): Uint8Array {
  const b = new OnnxBuilder().input('x', ['m', 16]).init('w1', [16, 24], randNormal(16 * 24, r, 0.3));
  if (single) return b.node('MatMul', ['x', 'w1'], 'y').output('y').build();
  return b.init('w2', [24, 8], randNormal(24 * 8, r, 0.3)).node('MatMul', ['x', 'w1'], 'h').node('Relu', ['h'], 'a').node('MatMul', ['a', 'w2'], 'y').output('y').build();
}

/** Gaussian rows with rare outliers in the first column (and, with `wide`, channel 3 x30 throughout) */
function inputs(r: () => number, count: number, wide = false) {
  return Array.from({ length: count }, () => {
    const x = randNormal(32 * 16, r);
    for (let i = 0; i < x.length; i += 16) {
      if (r() < 0.01) x[i] = 40;
      if (wide) x[i + 3] *= 30;
    }
    return { x: tensor('float32', x, [32, 16]) };
  });
}

async function outputError(float: Model, q: Model, test: ReturnType<typeof inputs>): Promise<number> {
  let e = 0;
  for (const f of test) {
    const a = (await float.run(f)).y.data as Float32Array, b = (await q.run(f)).y.data as Float32Array;
    for (let i = 0; i < a.length; i++) e += (a[i] - b[i]) ** 2;
  }
  return e;
}

describe(`quantizeModel's activation options (${SIMD} build)`, () => {
  it("each option's output error vs float32 is no worse than min/max where it must hold", async () => {
    const rt = rts.one, r = rng(5);
    const single = loadModel(rt, mlp(r, true)), two = loadModel(rt, mlp(r));
    const calibration = inputs(r, 6), test = inputs(r, 6);
    const err = async (float: Model, options: object, cal = calibration, t = test) => {
      // speed 'off': these small layers would stay float32 by the int8 shape rule; the options act on int8 layers
      const q = await quantizeModel(float, { scheme: 'int8', speed: 'off', calibration: cal, ...options });
      try {
        return await outputError(float, q, t);
      } finally {
        q.dispose();
      }
    };
    // one linear layer, scored on its calibration inputs: the MSE range and the border are fit to
    // exactly these, through error models (rounding error s^2/12, independent errors), so they are
    // no worse than min/max and nearest rounding up to those models' slack (2%)
    const onCal = (o: object) => err(single, o, calibration, calibration);
    const base = await onCal({});
    const mse = await onCal({ range: 'mse' });
    expect(mse).toBeLessThanOrEqual(base * 1.02);
    expect(await onCal({ range: 'output' })).toBeLessThanOrEqual(base * 1.02);
    expect(await onCal({ range: 'mse', roundingBorder: 'layer' })).toBeLessThanOrEqual(mse * 1.02);
    expect(await onCal({ range: 'mse', roundingBorder: 'channel' })).toBeLessThanOrEqual(mse * 1.02);
    // a channel 30x wider than the rest: per-channel scales take it off the shared step
    const wideCal = inputs(r, 6, true), wideTest = inputs(r, 6, true);
    expect(await err(single, { smoothing: 0.5 }, wideCal, wideTest)).toBeLessThan((await err(single, {}, wideCal, wideTest)) * 0.5);
    // two layers: every option still runs and stays within 2x of min/max
    const base2 = await err(two, {});
    for (const o of [{ range: 'mse' }, { range: 'output' }, { range: 99.99 }, { smoothing: 0.5 }, { roundingBorder: 'layer' }, { roundingBorder: 'channel', smoothing: 0.5, range: 'mse' }]) {
      expect(await err(two, o), JSON.stringify(o)).toBeLessThan(base2 * 2);
    }
    single.dispose();
    two.dispose();
  });

  it('rangeMargin: inputs 1.5x louder than the calibration inputs lose less with a margin (min/max clips them); within the range, a little more', async () => {
    const rt = rts.one, r = rng(8);
    const float = loadModel(rt, mlp(r, true));
    // plain Gaussian rows (no planted outliers): the calibrated max is the sample's own, ~3.5 sigma
    const gauss = (gain = 1) => Array.from({ length: 4 }, () => ({ x: tensor('float32', randNormal(32 * 16, r).map((v) => v * gain), [32, 16]) }));
    const calibration = gauss(), louder = gauss(1.5), quiet = gauss();
    const err = async (o: object, t: ReturnType<typeof inputs>) => {
      // every layer int8 (this small MLP's GEMMs are below the shape rule's size)
      const q = await quantizeModel(float, { scheme: 'int8', calibration, speed: 'off', ...o });
      try {
        return await outputError(float, q, t);
      } finally {
        q.dispose();
      }
    };
    expect(await err({ rangeMargin: 0.3 }, louder)).toBeLessThan((await err({}, louder)) * 0.5);
    expect(await err({ rangeMargin: 0.3 }, quiet)).toBeGreaterThan(await err({}, quiet));
    float.dispose();
  });

  it('a model with channel scales and borders saves and loads to the same outputs', async () => {
    const rt = rts.one, r = rng(6);
    const float = loadModel(rt, mlp(r));
    const calibration = inputs(r, 3, true);
    const q = await quantizeModel(float, { scheme: 'int8', speed: 'off', calibration, smoothing: 0.5, roundingBorder: 'channel' });
    const want = (await q.run(calibration[0])).y.data;
    const back = loadQuantized(float, saveQuantized(q));
    expect(firstMismatch((await back.run(calibration[0])).y.data as Float32Array, want as Float32Array)).toBeNull();
    q.dispose();
    back.dispose();
    float.dispose();
  });

  it('bad activation options are ArgumentErrors naming the option', async () => {
    const rt = rts.one, r = rng(7);
    const float = loadModel(rt, mlp(r, true));
    const calibration = inputs(r, 1);
    const bad: [object, RegExp][] = [
      [{ range: 'max' }, /range must be/],
      [{ range: 'output ' }, /range must be/],
      [{ range: 40 }, /range must be/],
      [{ range: NaN }, /range must be/],
      [{ range: 100.5 }, /range must be/],
      [{ smoothing: 1.5 }, /smoothing must be/],
      [{ smoothing: '0.5' }, /smoothing must be/],
      [{ roundingBorder: 'up' }, /roundingBorder must be/],
      [{ roundingBorder: true }, /roundingBorder must be/],
      [{ rangeMargin: -0.1 }, /rangeMargin must be a fraction from 0 to 4/],
      [{ rangeMargin: '0.2' }, /rangeMargin must be/],
      [{ rangeMargin: 5 }, /rangeMargin must be/],
    ];
    for (const [o, msg] of bad) {
      const p = quantizeModel(float, { scheme: 'int8', calibration, ...(o as object) });
      await expect(p, JSON.stringify(o)).rejects.toThrow(ArgumentError);
      await expect(quantizeModel(float, { scheme: 'int8', calibration, ...(o as object) })).rejects.toThrow(msg);
    }
    float.dispose();
  });
});
