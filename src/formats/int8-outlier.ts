// int8-outlier: LLM.int8() (Dettmers et al. 2022). int8 weights per output column (absmax,
// symmetric) and int8 activations per row, quantized at run time, except the input's outlier
// feature columns (some |x| >= threshold in this input), which run in float32 against W's rows
// for them (src/layers/gemm-int8-outlier.ts).
//
// Which weight rows the float part takes: the paper keeps all of W in fp16, since any feature may
// be an outlier at run time; here that would make the layer 5x int8's size. So the features
// calibration saw reach the threshold (LLM.int8's outliers are systematic: the same few features
// across inputs) keep their float32 rows (a few % more bytes, at most 1 row in 32); a feature that
// turns outlier only at run time takes its int8 row dequantized. Why not dequantized rows everywhere: an outlier x of
// 40 times the row's int8 error (~42 dB of the row) caps the output's SQNR at about that where
// outliers carry most of the output's energy (1% of 2048 features at 20-60: 43.5 dB, vs 53.1 dB
// with the float rows; plain int8 per row gets 30.2 dB there; test/int8-outlier.test.ts).
//
// Options (quantizeModel's and rt.linear's): outlierThreshold, a number > 0 (default 6, the
// paper's; Infinity: plain int8 per row), or outlierQuantile in (0, 1): the layer's threshold is
// that quantile of its input features' max |x| over calibration, so about (1 - q) of the features
// calibration saw run in float (for a model whose activations never reach 6). rt.linear takes
// sample inputs as `calibration` (rows of K) for the kept float rows and outlierQuantile.
//
//   saved: q I8 [K, N], scales F32 [N], floatIndex I32 [F], floatRows F32 [F, N] (when F > 0)
//   record: threshold (a number, or 'Infinity'), floatRows: F

import { ArgumentError, describe } from '../errors.js';
import { transposeKN } from '../layers/conv2d-gemm.js';
import { floatRow, Int8OutlierGemm, keptRows, type OutlierWeights } from '../layers/gemm-int8-outlier.js';
import { gemmRunner } from '../layers/linear-runner.js';
import { refQuantize } from '../kernels/q8.js';
import { refDequantizeAcc, refMatMulInteger } from '../kernels/qs8.js';
import { quantizeColumnsSymmetric, symmetricColumnScales } from '../quant/q8.js';
import { calibratedOutliers, calibratedThreshold, checkQuantile, checkThreshold, DEFAULT_OUTLIER_THRESHOLD, splitRows } from '../quant/outliers.js';
import { checkScales, type QuantizeContext, type WeightFormat } from './format.js';

const f = Math.fround;

/**
 * At most one kept float row per this many features (the largest calibrated ones): their bytes stay
 * within 4/32 = 12.5% of the int8 weights' where a layer's activations are large everywhere
 * (PP-OCRv4's CTC head sees 43% of its features reach 6); the rest take dequantized rows.
 */
const FLOAT_ROWS_PER = 32;

/** The layer's threshold from the options (and the input's calibrated extremes for outlierQuantile). */
function threshold(k: number, ctx: QuantizeContext): number {
  const o = ctx.options ?? {};
  if (o.outlierQuantile === undefined) return o.outlierThreshold === undefined ? DEFAULT_OUTLIER_THRESHOLD : checkThreshold(o.outlierThreshold);
  if (o.outlierThreshold !== undefined) throw new ArgumentError(`outlierQuantile: give outlierThreshold or outlierQuantile, not both (got ${describe(o.outlierThreshold)} and ${describe(o.outlierQuantile)})`);
  const q = checkQuantile(o.outlierQuantile);
  const r = ctx.inputChannels;
  if (!r) throw new ArgumentError('outlierQuantile: the threshold is calibrated from the layer input, and there was no calibration data (rt.linear: pass calibration)');
  return calibratedThreshold(r.channelMin, r.channelMax, k, q);
}

export const int8OutlierFormat: WeightFormat<OutlierWeights> = {
  name: 'int8-outlier',
  label: 'int8-outlier (LLM.int8, per-row)',
  summary: 'int8 weights per channel, int8 activations per row; input features with |x| >= 6 run in float (LLM.int8)',
  needsInputRange: false,
  // int8's size and int8's speed class: not a step on auto's size/accuracy ladder (name it in autoCandidates to try it)
  autoCandidate: false,
  // the float part runs on the f32 kernel, which fuses multiply-adds on the relaxed build; the int8 part is bit for bit
  referenceTolerance: 1e-5,

  quantize(wnk, n, k, ctx) {
    const t = threshold(k, ctx);
    const wkn = transposeKN(wnk, n, k);
    const scales = symmetricColumnScales(wkn, k, n, 127);
    const r = ctx.inputChannels;
    const floatIndex = r ? calibratedOutliers(r.channelMin, r.channelMax, k, t, Math.ceil(k / FLOAT_ROWS_PER)) : new Int32Array(0);
    const floatRows = new Float32Array(floatIndex.length * n);
    floatIndex.forEach((f, i) => floatRows.set(wkn.subarray(f * n, f * n + n), i * n));
    return { k, n, q: quantizeColumnsSymmetric(wkn, k, n, scales, 127), scales, threshold: t, floatIndex, floatRows };
  },
  dims: (w) => ({ k: w.k, n: w.n }),
  gemm: (host, w, bias, activation) => new Int8OutlierGemm(host, w, bias, activation),

  reference(w, x, m, bias) {
    const { k, n, q, scales } = w;
    const { cols, rowScale: rs } = splitRows(x, m, k, w.threshold);
    const a = refQuantize(x, { outer: 1, channels: m, inner: k }, rs, new Int32Array(m), true);
    for (let i = 0; i < m; i++) for (const t of cols) a[i * k + t] = 0;
    const y = refDequantizeAcc(refMatMulInteger(a, q, m, k, n, 0, new Int32Array(n)), m, n, scales, rs, bias ?? undefined);
    if (cols.length === 0) return y;
    const keptAt = keptRows(w), wo = new Float32Array(cols.length * n);
    cols.forEach((t, j) => floatRow(w, keptAt[t], t, wo, j * n));
    // the f32 kernel's order: products added in column order from 0, then its (zero) bias
    for (let i = 0; i < m; i++) {
      for (let c = 0; c < n; c++) {
        let s = 0;
        for (let j = 0; j < cols.length; j++) s = f(s + f(x[i * k + cols[j]] * wo[j * n + c]));
        y[i * n + c] = f(y[i * n + c] + f(s + 0));
      }
    }
    return y;
  },
  dequantize(w) {
    // the kept float rows where there are some (what an outlier feature runs with), else int8's
    const out = new Float32Array(w.n * w.k), keptAt = keptRows(w), row = new Float32Array(w.n);
    for (let t = 0; t < w.k; t++) {
      floatRow(w, keptAt[t], t, row);
      for (let j = 0; j < w.n; j++) out[j * w.k + t] = row[j];
    }
    return out;
  },
  detail: (w) => `outliers |x| >= ${Number.isFinite(w.threshold) ? +w.threshold.toPrecision(4) : 'Infinity'}${w.floatIndex.length ? `, ${w.floatIndex.length} float rows` : ''}`,
  storedBytes: (w) => w.q.length + w.scales.length * 4 + w.floatIndex.length * 4 + w.floatRows.length * 4,

  save(w, put) {
    put('q', { dtype: 'I8', shape: [w.k, w.n], data: w.q });
    put('scales', { dtype: 'F32', shape: [w.n], data: w.scales });
    if (w.floatIndex.length > 0) {
      put('floatIndex', { dtype: 'I32', shape: [w.floatIndex.length], data: w.floatIndex });
      put('floatRows', { dtype: 'F32', shape: [w.floatIndex.length, w.n], data: w.floatRows });
    }
    return { threshold: Number.isFinite(w.threshold) ? w.threshold : 'Infinity', floatRows: w.floatIndex.length };
  },
  load(r, read) {
    const t = r.threshold === 'Infinity' ? Infinity : r.threshold;
    if (typeof t !== 'number' || !(t > 0)) throw read.error(`has threshold ${describe(r.threshold)}; expected a number > 0 or 'Infinity'`);
    const scales = checkScales(read, read.tensor('scales', 'F32', r.n) as Float32Array, true);
    const q = read.tensor('q', 'I8', r.k * r.n) as Int8Array;
    const bad = q.indexOf(-128);
    if (bad >= 0) throw read.error(`has q[${bad}] = -128; expected codes in [-127, 127]`);
    const count = r.floatRows ?? 0;
    if (!Number.isInteger(count) || (count as number) < 0 || (count as number) > r.k) throw read.error(`has floatRows ${describe(r.floatRows)}; expected a count of rows from 0 to K = ${r.k}`);
    const floatIndex = count ? (read.tensor('floatIndex', 'I32', count as number) as Int32Array) : new Int32Array(0);
    const floatRows = count ? (read.tensor('floatRows', 'F32', (count as number) * r.n) as Float32Array) : new Float32Array(0);
    for (let i = 0; i < floatIndex.length; i++) {
      if (!(floatIndex[i] >= 0 && floatIndex[i] < r.k && (i === 0 || floatIndex[i] > floatIndex[i - 1]))) throw read.error(`has floatIndex[${i}] = ${floatIndex[i]}; expected ascending features in [0, ${r.k})`);
    }
    checkScales(read, floatRows, false, 'floatRows');
    return { k: r.k, n: r.n, q, scales, threshold: t, floatIndex, floatRows };
  },

  linear: {
    options: ['outlierThreshold', 'outlierQuantile', 'calibration'],
    async build(host, rows, n, k, bias, o) {
      let inputChannels: QuantizeContext['inputChannels'];
      const cal = o.calibration;
      if (cal !== undefined) {
        if (!(cal instanceof Float32Array) || cal.length === 0 || cal.length % k !== 0) throw new ArgumentError(`calibration: expected sample inputs as a Float32Array of rows of ${k}, got ${describe(cal)}`);
        const channelMin = new Float32Array(k).fill(Infinity), channelMax = new Float32Array(k).fill(-Infinity);
        for (let i = 0; i < cal.length; i++) {
          const v = cal[i], t = i % k;
          if (!Number.isFinite(v)) throw new ArgumentError(`calibration: element ${i} is ${v}; calibration inputs must be finite`);
          if (v < channelMin[t]) channelMin[t] = v;
          if (v > channelMax[t]) channelMax[t] = v;
        }
        inputChannels = { channelMin, channelMax };
      }
      const data = int8OutlierFormat.quantize(rows, n, k, { options: o, inputChannels });
      // NaN and infinities refused by a wasm pass over x in linear memory (not the layer's JS scan)
      return { data, runner: gemmRunner(host, int8OutlierFormat.gemm(host, data, bias, null), true) };
    },
  },
};
