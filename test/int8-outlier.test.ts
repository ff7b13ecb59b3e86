// int8-outlier (LLM.int8): the split GEMM against its scalar reference and against float64, the
// gain over plain per-row int8 on planted outlier features, the no-outlier path equal to int8's
// dynamic-per-row layer bit for bit, the threshold's edges, bad options as typed errors, and the
// format in models (MatMul, Gemm, Conv with a fused activation) with save and load.

import { describe, expect, it } from 'vitest';
import {
  ArgumentError, ModelError, compareTo, loadModel, loadQuantized, quantizeModel, readSafetensors, saveQuantized, type Model, type Runtime,
} from '../src/index.js';
import { runFormatGemm } from '../src/kernels.js';
import { int8OutlierFormat as fmt } from '../src/formats/int8-outlier.js';
import type { OutlierWeights } from '../src/layers/gemm-int8-outlier.js';
import { gemmRunner } from '../src/layers/linear-runner.js';
import { calibratedOutliers, calibratedThreshold, outlierColumns, rowScales, splitRows } from '../src/quant/outliers.js';
import { SIMD, firstMismatch, randNormal, rng, withinTolerance } from './helpers.js';
import { useRuntimes } from './helpers.js';
import { OnnxBuilder } from './onnx-builder.js';
import { forge } from './saved-forge.js';

const rts = useRuntimes();

/** x [M][K] normal(0, 1) with `count` outlier feature columns: |x| uniform in [20, 60], random sign, in every row */
function planted(m: number, k: number, count: number, seed: number, at?: number[]): { x: Float32Array; cols: number[] } {
  const r = rng(seed);
  const x = randNormal(m * k, r);
  const cols = new Set<number>(at);
  while (cols.size < count) cols.add(Math.floor(r() * k));
  for (const c of cols) for (let i = 0; i < m; i++) x[i * k + c] = (r() < 0.5 ? -1 : 1) * (20 + 40 * r());
  return { x, cols: [...cols].sort((a, b) => a - b) };
}

/** y = x W in float64, W [K][N] */
function exact(x: Float32Array, w: Float32Array, m: number, k: number, n: number): Float64Array {
  const y = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let t = 0; t < k; t++) {
    const v = x[i * k + t];
    if (v !== 0) for (let j = 0; j < n; j++) y[i * n + j] += v * w[t * n + j];
  }
  return y;
}

const quantize = (w: Float32Array, k: number, n: number, options: Record<string, unknown> = {}): OutlierWeights => {
  // weights [K][N] as the format takes them: output-channel rows [N][K]
  const wnk = new Float32Array(n * k);
  for (let t = 0; t < k; t++) for (let j = 0; j < n; j++) wnk[j * k + t] = w[t * n + j];
  return fmt.quantize(wnk, n, k, { options });
};

describe(`int8-outlier (${SIMD} build)`, () => {
  it('finds outlier columns at |x| >= threshold exactly, and scales rows without them', () => {
    const t = 6, below = Math.fround(6) - 2 ** -21; // the float32 just below 6
    const x = Float32Array.from([0, 6, -1, below, 1, 0, -6, 2, 0.5, 0, 0, -below]);
    expect(Array.from(outlierColumns(x, 3, 4, t))).toEqual([1, 2]); // 6 in column 1, -6 in column 2; never column 3
    expect(Array.from(outlierColumns(x, 3, 4, Infinity))).toEqual([]);
    expect(Array.from(outlierColumns(new Float32Array(0), 0, 5, t))).toEqual([]);
    // row scales skip columns 1 and 2; an all-zero row gets scale 1
    expect(Array.from(rowScales(x, 3, 4, Int32Array.of(1, 2)))).toEqual([below, 2, below].map((a) => Math.fround(a / 127)));
    expect(Array.from(rowScales(new Float32Array(4), 1, 4, new Int32Array(0)))).toEqual([1]);
    // the one-pass scan gives the same as the two functions, with and without outliers
    for (const data of [x, x.map((v) => v / 2)]) {
      const { cols, rowScale } = splitRows(data, 3, 4, t);
      expect(Array.from(cols)).toEqual(Array.from(outlierColumns(data, 3, 4, t)));
      expect(Array.from(rowScale)).toEqual(Array.from(rowScales(data, 3, 4, cols)));
    }
    // calibrated: the quantile of the columns' max |x| (channel t mod C); a quantile of zeros turns the float part off
    expect(calibratedThreshold([-1, -9, 0, -2], [3, 1, 0.5, 7], 4, 0.75)).toBe(9);
    expect(calibratedThreshold([-1, -9, 0, -2], [3, 1, 0.5, 7], 8, 0.5)).toBe(7);
    expect(calibratedThreshold([0, 0], [0, 0], 2, 0.5)).toBe(Infinity);
    // the features calibration saw reach the threshold, at most `limit` of them (the largest)
    expect(Array.from(calibratedOutliers([-1, -9, 0, -2], [3, 1, 0.5, 7], 4, 2))).toEqual([0, 1, 3]);
    expect(Array.from(calibratedOutliers([-1, -9, 0, -2], [3, 1, 0.5, 7], 4, 2, 2))).toEqual([1, 3]);
    expect(() => calibratedOutliers([1, 2, 3], [1, 2, 3], 4, 2)).toThrow(ArgumentError);
  });

  it('GEMM equals its scalar reference (bit for bit on baseline) with 0 to all columns outliers, M = 1 to 33, 1 and 2 threads', async () => {
    const tolerance = SIMD === 'baseline' ? 0 : fmt.referenceTolerance;
    const cases: [number, number, number, number][] = [[1, 64, 24, 1], [1, 300, 40, 5], [3, 96, 17, 0], [5, 40, 9, 3], [4, 33, 16, 33], [9, 256, 33, 2], [33, 130, 7, 4]];
    for (const [m, k, n, count] of cases) {
      const { x } = planted(m, k, count, 100 + m);
      const r = rng(m * 7 + k);
      const w = randNormal(k * n, r, 0.1), bias = randNormal(n, r, 0.5);
      const data = quantize(w, k, n);
      const want = fmt.reference(data, x, m, bias);
      for (const rt of [rts.one, rts.two]) expect(withinTolerance(await runFormatGemm(rt, fmt, data, x, m, bias), want, tolerance), `${m}x${k}x${n}, ${count} outliers`).toBeNull();
    }
  });

  it('runs M = 0 (an empty batch) to an empty output', async () => {
    const data = quantize(randNormal(16 * 8, rng(5)), 16, 8);
    const gemm = fmt.gemm(rts.one, data, null, null);
    const p = rts.one.alloc(64);
    await gemm.run(0, p, p, p);
    rts.one.free(p);
    gemm.dispose();
    expect(fmt.reference(data, new Float32Array(0), 0, null).length).toBe(0);
  });

  it('applies a fused activation after the float part (relu, then a per-channel affine)', async () => {
    const [m, k, n] = [6, 64, 12];
    const { x } = planted(m, k, 2, 7);
    const r = rng(8);
    const w = randNormal(k * n, r, 0.2), bias = randNormal(n, r);
    const data = quantize(w, k, n);
    const scale = Float32Array.from({ length: n }, (_, j) => 1 + j / 8), shift = Float32Array.from({ length: n }, (_, j) => j / 4 - 1);
    const want = fmt.reference(data, x, m, bias).map((v, i) => Math.fround(Math.fround(Math.max(v, 0) * scale[i % n]) + shift[i % n]));
    for (const act of [{ kind: 1, alpha: 0, beta: 0, scale, shift }]) {
      const runner = gemmRunner(rts.one, fmt.gemm(rts.one, data, bias, act));
      const got = await runner.forward(x, m);
      runner.dispose();
      expect(withinTolerance(got, want, 1e-6)).toBeNull();
    }
  });

  it('within budget of float64 x W with planted outliers (0.1% to 1% of 2048 features): >= 15 dB over plain int8 per row with calibrated float rows', async () => {
    const [m, k, n] = [16, 2048, 64];
    const w = randNormal(k * n, rng(21), 0.05);
    for (const count of [2, 8, 20]) {
      const { x, cols } = planted(m, k, count, 30 + count);
      const calibration = planted(m, k, count, 60 + count, cols).x; // the same outlier features, other values
      const ref = exact(x, w, m, k, n);
      const plain = await rts.one.linear(w, [k, n], null, { dtype: 'int8', activations: 'dynamic-per-row' });
      const kept = await rts.one.linear(w, [k, n], null, { dtype: 'int8-outlier', calibration });
      const bare = await rts.one.linear(w, [k, n], null, { dtype: 'int8-outlier' });
      const int8 = compareTo(ref, await plain.forward(x)).sqnrDb, split = compareTo(ref, await kept.forward(x)).sqnrDb, dq = compareTo(ref, await bare.forward(x)).sqnrDb;
      console.log(`${count} outliers: int8 ${int8.toFixed(1)}, split ${split.toFixed(1)}, split with dequantized rows ${dq.toFixed(1)} dB`);
      expect(split, `${count} outliers`).toBeGreaterThanOrEqual(42);
      expect(split - int8, `${count} outliers: ${split.toFixed(1)} vs ${int8.toFixed(1)} dB`).toBeGreaterThanOrEqual(15);
      expect(dq, `${count} outliers`).toBeGreaterThanOrEqual(40);
      expect(dq - int8).toBeGreaterThanOrEqual(10);
      for (const l of [plain, kept, bare]) l.dispose();
    }
  });

  it('with no outlier column it is int8 dynamic-per-row, bit for bit (threshold 6 on normal inputs, and Infinity on any)', async () => {
    for (const [m, k, n] of [[1, 64, 24], [7, 300, 33], [16, 768, 64]]) {
      const r = rng(m + k + n);
      const w = randNormal(k * n, r, 0.1), bias = randNormal(n, r), x = randNormal(m * k, r).map((v) => Math.max(-5.9, Math.min(5.9, v)));
      const plain = await rts.one.linear(w, [k, n], bias, { dtype: 'int8', activations: 'dynamic-per-row' });
      const want = await plain.forward(x);
      for (const options of [{}, { outlierThreshold: 5.9000001 }]) {
        const lo = await rts.one.linear(w, [k, n], bias, { dtype: 'int8-outlier', ...options });
        expect(firstMismatch(await lo.forward(x), want)).toBeNull();
        lo.dispose();
      }
      const { x: big } = planted(m, k, 3, m);
      const off = await rts.one.linear(w, [k, n], bias, { dtype: 'int8-outlier', outlierThreshold: Infinity });
      expect(firstMismatch(await off.forward(big), await plain.forward(big))).toBeNull();
      off.dispose();
      plain.dispose();
    }
  });

  it('threshold edges: every column outlier is x times the dequantized weights in float32; a threshold equal to the largest |x| takes its column', async () => {
    const [m, k, n] = [3, 40, 10];
    const r = rng(44);
    const w = randNormal(k * n, r, 0.3), x = randNormal(m * k, r);
    const all = quantize(w, k, n, { outlierThreshold: 1e-30 });
    const got = await runFormatGemm(rts.one, fmt, all, x, m);
    const dq = fmt.dequantize(all); // [N][K]
    const want = new Float32Array(m * n);
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
      let s = 0;
      for (let t = 0; t < k; t++) s = Math.fround(s + Math.fround(x[i * k + t] * dq[j * k + t]));
      want[i * n + j] = s;
    }
    expect(withinTolerance(got, want, SIMD === 'baseline' ? 0 : 1e-6)).toBeNull();
    // the largest |x| as the threshold: exactly its column runs in float
    let at = 0;
    for (let i = 1; i < x.length; i++) if (Math.abs(x[i]) > Math.abs(x[at])) at = i;
    const edge = quantize(w, k, n, { outlierThreshold: Math.abs(x[at]) });
    expect(Array.from(outlierColumns(x, m, k, edge.threshold))).toEqual([at % k]);
    expect(withinTolerance(await runFormatGemm(rts.one, fmt, edge, x, m), fmt.reference(edge, x, m, null), SIMD === 'baseline' ? 0 : 1e-5)).toBeNull();
  });

  it('outlierQuantile calibrates the threshold from sample inputs; bad options are ArgumentErrors naming the option', async () => {
    const [k, n] = [64, 8];
    const w = randNormal(k * n, rng(3), 0.1);
    const cal = randNormal(4 * k, rng(4));
    for (let i = 0; i < 4; i++) cal[i * k + 5] = 30 + i; // one feature calibration sees large
    const lo = await rts.one.linear(w, [k, n], null, { dtype: 'int8-outlier', outlierQuantile: 0.99, calibration: cal });
    expect(lo.type).toBe('outliers |x| >= 33, 1 float rows');
    lo.dispose();
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ outlierThreshold: 0 }, /outlierThreshold: expected a number > 0/],
      [{ outlierThreshold: -6 }, /outlierThreshold/],
      [{ outlierThreshold: NaN }, /outlierThreshold/],
      [{ outlierThreshold: '6' }, /outlierThreshold/],
      [{ outlierQuantile: 1, calibration: cal }, /outlierQuantile: expected a number in \(0, 1\)/],
      [{ outlierQuantile: 0, calibration: cal }, /outlierQuantile/],
      [{ outlierQuantile: 0.9 }, /outlierQuantile: the threshold is calibrated from the layer input/],
      [{ outlierQuantile: 0.9, calibration: cal.subarray(1) }, /calibration/],
      [{ outlierQuantile: 0.9, calibration: cal, outlierThreshold: 6 }, /not both/],
      [{ calibration: [1, 2] }, /calibration: expected sample inputs as a Float32Array/],
      [{ calibration: Float32Array.of(1, NaN).subarray(0, 0) }, /calibration/],
      [{ activations: 'dynamic-per-row' }, /activations: dtype 'int8-outlier' does not take this option/],
    ];
    for (const [options, message] of bad) {
      const p = rts.one.linear(w, [k, n], null, { dtype: 'int8-outlier', ...options });
      await expect(p, JSON.stringify(options)).rejects.toThrow(ArgumentError);
      await expect(p).rejects.toThrow(message);
    }
  });

  describe('in models', () => {
    // MatMul [8, 64] x [64, 24]; Gemm (transB) on its output; Conv 3x3 + Relu on an image of 32 channels whose channel 2 has outliers
    const r = rng(90);
    const onnx = new OnnxBuilder(13).input('x', [8, 64]).input('img', [1, 32, 6, 6]).output('g').output('c')
      .init('wm', [64, 24], randNormal(64 * 24, r, 0.1)).init('wg', [16, 24], randNormal(16 * 24, r, 0.2)).init('bg', [16], randNormal(16, r))
      .init('wc', [5, 32, 3, 3], randNormal(5 * 288, r, 0.1)).init('bc', [5], randNormal(5, r, 0.1))
      .node('MatMul', ['x', 'wm'], 'h').node('Gemm', ['h', 'wg', 'bg'], 'g', { transB: 1 })
      .node('Conv', ['img', 'wc', 'bc'], 'cv', { pads: [1, 1, 1, 1] }).node('Relu', ['cv'], 'c')
      .build();
    const feeds = (seed: number) => {
      const { x } = planted(8, 64, 2, seed);
      const img = randNormal(32 * 36, rng(seed + 1));
      for (let p = 0; p < 36; p++) img[2 * 36 + p] *= 25; // channel 2: |x| up to ~100 (9 of K = 288 im2col features)
      return { x: { type: 'float32' as const, dims: [8, 64], data: x }, img: { type: 'float32' as const, dims: [1, 32, 6, 6], data: img } };
    };
    const calibration = [feeds(1), feeds(2)];
    const outs = async (model: Model) => {
      const o = await model.run(feeds(3));
      return { g: o.g.data as Float32Array, c: o.c.data as Float32Array };
    };

    it('quantizeModel: MatMul, Gemm and Conv (+ fused Relu) run split, far closer to float32 than static int8; save/load gives the same bits', async () => {
      const rt: Runtime = rts.one;
      const float = loadModel(rt, onnx);
      const want = await outs(float);
      const q = await quantizeModel(float, { scheme: 'int8-outlier', calibration });
      const int8 = await quantizeModel(float, { scheme: 'int8', speed: 'off', calibration });
      const got = await outs(q), base = await outs(int8);
      for (const name of ['g', 'c'] as const) {
        const split = compareTo(want[name], got[name]).sqnrDb, plain = compareTo(want[name], base[name]).sqnrDb;
        console.log(`model ${name}: int8-outlier ${split.toFixed(1)} dB, int8 ${plain.toFixed(1)} dB`);
        expect(split, `${name}: ${split.toFixed(1)} vs int8 ${plain.toFixed(1)} dB`).toBeGreaterThan(plain + 10);
        expect(split, name).toBeGreaterThan(30);
      }
      expect(Math.min(...got.c)).toBe(0); // the Relu ran after the float part
      const schemes = [...q.builtLayers.values()].map((l) => (l as { scheme?: string } | null)?.scheme);
      expect(schemes.filter((s) => s === 'int8-outlier').length).toBe(3);
      const file = saveQuantized(q);
      const back = loadQuantized(float, file);
      const again = await outs(back);
      expect(firstMismatch(again.g, got.g)).toBeNull();
      expect(firstMismatch(again.c, got.c)).toBeNull();
      // a damaged threshold is refused, naming the layer
      const { tensors, metadata } = readSafetensors(file);
      const layers = JSON.parse(metadata.layers) as Record<string, Record<string, unknown>>;
      const [name] = Object.keys(layers);
      for (const t of [0, -1, 'six', null]) {
        const bad = forge(tensors, metadata, { ...layers, [name]: { ...layers[name], threshold: t } });
        expect(() => loadQuantized(float, bad), String(t)).toThrow(ModelError);
        expect(() => loadQuantized(float, bad)).toThrow(new RegExp(`${name}.*threshold`));
      }
      for (const m of [q, int8, back, float]) m.dispose();
    });

    it('outlierQuantile per layer (saved, Infinity included), and bad quantizeModel options are ArgumentErrors', async () => {
      const float = loadModel(rts.one, onnx);
      const q = await quantizeModel(float, { scheme: 'int8-outlier', calibration, outlierQuantile: 0.9 });
      await q.run(feeds(3));
      const types = [...q.builtLayers.values()].map((l) => (l as { weights?: { format: typeof fmt; data: OutlierWeights } } | null)?.weights?.data.threshold).filter((t) => t !== undefined);
      expect(types.length).toBe(3);
      expect(new Set(types).size).toBe(3); // one threshold per layer, from its own input
      const back = loadQuantized(float, saveQuantized(q));
      expect(firstMismatch((await back.run(feeds(4))).g.data, (await q.run(feeds(4))).g.data)).toBeNull();
      const off = await quantizeModel(float, { scheme: 'int8-outlier', calibration, outlierThreshold: Infinity });
      await off.run(feeds(3));
      const offBack = loadQuantized(float, saveQuantized(off));
      expect(firstMismatch((await offBack.run(feeds(4))).c.data, (await off.run(feeds(4))).c.data)).toBeNull();
      for (const options of [{ outlierThreshold: -1 }, { outlierQuantile: 2 }, { outlierQuantile: 0.5, outlierThreshold: 3 }]) {
        await expect(quantizeModel(float, { scheme: 'int8-outlier', calibration, ...options }).then((m) => m.run(feeds(3))), JSON.stringify(options)).rejects.toThrow(ArgumentError);
      }
      for (const m of [q, back, off, offBack, float]) m.dispose();
    });
  });
});
