// The format study: every weight tensor of a model quantized (and dequantized) in each format
// lowbit offers, per output channel, and the SQNR of each against float32 — the table papers print,
// computed on the user's own weights. 8-bit: int8, FP8 E4M3FN, FP8 E5M2, the best simulated FPx
// (E2M5/E3M4/E4M3/E5M2 with a searched per-channel exponent bias, as in "FP8 Quantization: The
// Power of the Exponent"). 4-bit: int4 per channel and ANT's adaptive type (int/flint/PoT chosen
// per tensor), both with ANT's clip search; and lowbit's int4 scheme (block 32, RTN with clip search).

import { decodeFp8, encodeFp8, FP8, type Fp8Format } from '../quant/fp8.js';
import { fpxSearch, sqnrDb, type FpxName } from '../quant/fpx.js';
import { selectAntType } from '../quant/ant.js';
import { dequantizeInt4, quantizeInt4Rtn } from '../quant/int4.js';
import { roundHalfEven } from '../quant/rounding.js';
import type { Graph } from '../model/graph.js';

export const STUDY_FORMATS = ['int8', 'fp8-e4m3', 'fp8-e5m2', 'fpx-best', 'int4', 'ant4', 'int4-b32'] as const;
export type StudyFormat = (typeof STUDY_FORMATS)[number];
export const EIGHT_BIT: readonly StudyFormat[] = ['int8', 'fp8-e4m3', 'fp8-e5m2', 'fpx-best'];
export const FOUR_BIT: readonly StudyFormat[] = ['int4', 'ant4'];

export interface StudyRow {
  name: string;
  /** output channels x elements per channel */
  rows: number;
  cols: number;
  sqnrDb: Record<StudyFormat, number>;
  /** the FPx format the search picked, e.g. 'E3M4' */
  fpxFormat: string;
  /** the ANT type picked for the tensor, e.g. 'flint4' */
  antType: string;
  best8: StudyFormat;
  best4: StudyFormat;
}

function perRowInt8(x: Float32Array, n: number, k: number): Float32Array {
  const y = new Float32Array(x.length);
  for (let j = 0; j < n; j++) {
    let m = 0;
    for (let i = j * k; i < (j + 1) * k; i++) m = Math.max(m, Math.abs(x[i]));
    const s = m > 0 ? m / 127 : 1;
    for (let i = j * k; i < (j + 1) * k; i++) y[i] = Math.max(-127, Math.min(127, roundHalfEven(x[i] / s))) * s;
  }
  return y;
}

function perRowFp8(x: Float32Array, n: number, k: number, format: Fp8Format): Float32Array {
  const y = new Float32Array(x.length);
  const max = FP8[format].max;
  for (let j = 0; j < n; j++) {
    const row = x.subarray(j * k, (j + 1) * k);
    let m = 0;
    for (const v of row) m = Math.max(m, Math.abs(v));
    const s = m > 0 ? m / max : 1;
    const codes = encodeFp8(row.map((v) => v / s), format, true);
    const back = decodeFp8(codes, format);
    for (let i = 0; i < k; i++) y[j * k + i] = back[i] * s;
  }
  return y;
}

/** One tensor, rows = output channels of k elements each (row-major). */
export function studyTensor(name: string, x: Float32Array, n: number, k: number, fpxFormats: readonly FpxName[] = ['E2M5', 'E3M4', 'E4M3', 'E5M2']): StudyRow {
  const s = {} as Record<StudyFormat, number>;
  s.int8 = sqnrDb(x, perRowInt8(x, n, k));
  s['fp8-e4m3'] = sqnrDb(x, perRowFp8(x, n, k, 'e4m3fn'));
  s['fp8-e5m2'] = sqnrDb(x, perRowFp8(x, n, k, 'e5m2'));
  let fpxFormat = '';
  s['fpx-best'] = -Infinity;
  for (const f of fpxFormats) {
    const r = fpxSearch(x, f, { layout: { outer: 1, channels: n, inner: k }, steps: 40 });
    if (r.sqnrDb > s['fpx-best']) {
      s['fpx-best'] = r.sqnrDb;
      fpxFormat = f;
    }
  }
  const ant = selectAntType(x, { channels: n });
  s.int4 = ant.sqnrDb.int4;
  s.ant4 = ant.sqnrDb.chosen;
  const bs = k >= 32 ? 32 : 16;
  s['int4-b32'] = sqnrDb(x, dequantizeInt4(quantizeInt4Rtn(x, n, k, { blockSize: bs, clipSearch: true })));
  const best = (set: readonly StudyFormat[]) => set.reduce((a, b) => (s[b] > s[a] ? b : a));
  return { name, rows: n, cols: k, sqnrDb: s, fpxFormat, antType: ant.typeNames[0], best8: best(EIGHT_BIT), best4: best(FOUR_BIT) };
}

/** The weight tensors of a graph's Conv/MatMul/Gemm nodes as [rows = outputs, cols = inputs]. */
export function weightTensors(g: Graph): { name: string; data: Float32Array; n: number; k: number }[] {
  const out: { name: string; data: Float32Array; n: number; k: number }[] = [];
  const seen = new Set<string>();
  for (const node of g.nodes) {
    const isConv = node.op === 'Conv' || node.op === 'FusedConv';
    if (!isConv && node.op !== 'MatMul' && node.op !== 'FusedMatMul' && node.op !== 'Gemm') continue;
    const w = g.constants.get(node.inputs[1]);
    if (!w || w.type !== 'float32' || w.dims.length < 2 || seen.has(node.inputs[1])) continue;
    seen.add(node.inputs[1]);
    const name = node.inputs[1].split('::')[0];
    if (isConv || (node.op === 'Gemm' && node.attrs.get('transB') === 1)) {
      const n = w.dims[0];
      out.push({ name, data: Float32Array.from(w.data), n, k: w.data.length / n });
    } else {
      // MatMul / Gemm weights are [K, N]: transpose to rows of output channels
      const [k, n] = [w.dims[w.dims.length - 2], w.dims[w.dims.length - 1]];
      if (w.data.length !== k * n) continue;
      const t = new Float32Array(k * n);
      for (let i = 0; i < k; i++) for (let j = 0; j < n; j++) t[j * k + i] = w.data[i * n + j];
      out.push({ name, data: t, n, k });
    }
  }
  return out;
}

export interface StudySummary {
  tensors: number;
  /** how many tensors each format wins, among the 8-bit and among the 4-bit formats */
  wins8: Record<string, number>;
  wins4: Record<string, number>;
  /** mean SQNR (dB) of each format over the tensors, and weighted by element count */
  meanSqnrDb: Record<StudyFormat, number>;
  weightedSqnrDb: Record<StudyFormat, number>;
  fpxFormats: Record<string, number>;
  antTypes: Record<string, number>;
}

export function summarizeStudy(rows: StudyRow[]): StudySummary {
  const count = (key: (r: StudyRow) => string) => rows.reduce<Record<string, number>>((m, r) => ((m[key(r)] = (m[key(r)] ?? 0) + 1), m), {});
  const mean = {} as Record<StudyFormat, number>, weighted = {} as Record<StudyFormat, number>;
  const total = rows.reduce((s, r) => s + r.rows * r.cols, 0);
  for (const f of STUDY_FORMATS) {
    mean[f] = rows.reduce((s, r) => s + r.sqnrDb[f], 0) / Math.max(rows.length, 1);
    weighted[f] = rows.reduce((s, r) => s + r.sqnrDb[f] * r.rows * r.cols, 0) / Math.max(total, 1);
  }
  return { tensors: rows.length, wins8: count((r) => r.best8), wins4: count((r) => r.best4), meanSqnrDb: mean, weightedSqnrDb: weighted, fpxFormats: count((r) => r.fpxFormat), antTypes: count((r) => r.antType) };
}
