#!/usr/bin/env node
// How long GPTQ takes: quantizeModel on the PP-OCRv4 recognizer (round to nearest vs method
// 'gptq', calibrated on the calibration part of the labelled lines, as bench/accuracy.mjs does),
// and one 4096×4096 layer (its Hessian from S rows, then GPTQ given the Hessian, int4 and ANT).
// Medians over --reps runs; one thread, float64 host code (the GPTQ math is plain TypeScript).
//
//   node bench/gptq.mjs                     both parts, 3 runs each
//   node bench/gptq.mjs --part layer --reps 1 --rows 2048
//
// It imports ../dist/ and ../packages/cli/dist/: run `npm run build` first.

import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import {
  HessianSum, antType, createRuntime, loadModel, mulberry32, normalFloats, quantizeAntGptq, quantizeInt4GptqHessian, quantizeInt4Rtn, quantizeModel,
} from '../dist/index.js';
import { toModelInput } from '../dist/ocr.js';
import { loadOcrLines } from '../packages/cli/dist/ocr-lines.js';
import { splitOcrLines } from '../packages/cli/dist/ocr-split.js';
import { ocrModelAsset } from '../packages/cli/dist/ocr-assets.js';
import { machine } from './system.mjs';

const { values } = parseArgs({
  options: {
    part: { type: 'string', default: 'all' },
    reps: { type: 'string', default: '3' },
    rows: { type: 'string', default: '2048' },
    k: { type: 'string', default: '4096' },
  },
});
const reps = Number(values.reps);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
async function timed(f) {
  const ts = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await f();
    ts.push((performance.now() - t0) / 1000);
  }
  return { median: median(ts), all: ts };
}
const fmt = (t) => `${t.median.toFixed(2)} s (${t.all.map((x) => x.toFixed(2)).join(', ')})`;

const m0 = machine();
const vnni = readFileSync('/proc/cpuinfo', 'utf8').match(/\b(avx512_vnni|avx_vnni)\b/g);
console.log(`${m0.model}; ${m0.cores} cores; Node ${m0.node}; ${[...new Set(vnni ?? ['no VNNI'])].sort().join(' ')}; commit ${m0.commit}; load average at start ${loadavg().map((x) => x.toFixed(1)).join(' ')}; medians of ${reps}`);
console.log('\n| what | time |\n|---|---|');

if (values.part === 'all' || values.part === 'model') {
  const rt = await createRuntime({ threads: 1 });
  const float = loadModel(rt, new Uint8Array(readFileSync(ocrModelAsset('ch_PP-OCRv4_rec_infer.onnx'))));
  const { calibration } = splitOcrLines(loadOcrLines(), 4);
  const feeds = calibration.map((l) => ({ x: toModelInput([l]) }));
  for (const [label, o] of [
    ['int4 (round to nearest)', { scheme: 'int4' }],
    ['int4 GPTQ', { scheme: 'int4', method: 'gptq' }],
    ['int4 GPTQ act-order', { scheme: 'int4', method: 'gptq', actOrder: true }],
    ['ant4 GPTQ', { scheme: 'ant4', method: 'gptq' }],
  ]) {
    const t = await timed(async () => (await quantizeModel(float, { ...o, calibration: feeds })).dispose());
    console.log(`| PP-OCRv4 recognizer, quantizeModel ${label}, ${feeds.length} calibration lines | ${fmt(t)} |`);
  }
  rt.dispose?.();
}

if (values.part === 'all' || values.part === 'layer') {
  const k = Number(values.k), n = k, rows = Number(values.rows);
  const r = mulberry32(1);
  const w = normalFloats(r, n * k, 0.02);
  // correlated inputs: 64 shared factors plus noise, per-feature scales
  const f = normalFloats(r, rows * 64);
  const noise = normalFloats(r, rows * k, 0.5);
  const x = new Float32Array(rows * k);
  for (let i = 0; i < rows; i++) for (let t = 0; t < k; t++) x[i * k + t] = (f[i * 64 + (t & 63)] + noise[i * k + t]) * (1 + (t % 7) / 7);
  let h;
  const th = await timed(() => {
    const s = new HessianSum(k);
    for (let i = 0; i < rows; i++) s.addRow(x, i * k);
    h = s.result(1 / rows);
  });
  console.log(`| ${k}×${k} layer: Hessian XᵀX of ${rows} rows | ${fmt(th)} |`);
  const blockSize = 32;
  for (const [label, q] of [
    ['int4 round to nearest (clip search), no H', () => quantizeInt4Rtn(w, n, k, { blockSize, clipSearch: true })],
    ['int4 GPTQ, clip search, given H', () => quantizeInt4GptqHessian(w, n, k, h, { blockSize, clipSearch: true })],
    ['int4 GPTQ, act-order, clip search, given H', () => quantizeInt4GptqHessian(w, n, k, h, { blockSize, clipSearch: true, actOrder: true })],
    ['ant4 (int4 type) GPTQ, clip search, given H', () => quantizeAntGptq(w, n, k, antType('int4'), h, { blockSize })],
  ]) {
    console.log(`| ${k}×${k} layer: ${label} | ${fmt(await timed(q))} |`);
  }
}
