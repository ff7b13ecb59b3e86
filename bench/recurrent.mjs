// One LSTM step as streaming audio models run it (silero VAD: batch 1, one step per 30 ms chunk,
// initial_h/initial_c fed back every call): lowbit's model runner vs onnxruntime-web (wasm, 1
// thread) on the same one-node model, plus lowbit's host LSTM op alone (compute() on host arrays:
// what runs when W/R/B are not constants). Also a 32-step sequence. Median of many calls; weights
// hot in cache. With constant weights model.run uses the f32 GEMM layer (src/model/recurrent-layer.ts:
// X·Wᵀ as one GEMM, per step h·Rᵀ as a wasm GEMV, Sigmoid/Tanh on the wasm sigmoid).
//
//   npx tsc -p tsconfig.json && node bench/recurrent.mjs [--rounds 31] [--calls 200]
//
// Measured 2026-12-05 ~15:05 UTC (AMD EPYC, 2 cores shared by ~8 jobs, load average ~8;
// avx512_vnni avx_vnni; Node 20.20, baseline SIMD build; --rounds 21 --calls 50), median CPU µs
// per call (wall in brackets):
//   | shape (T × batch 1, input I, hidden H) | lowbit model.run (f32 GEMM layer) | lowbit host op, compute only | onnxruntime-web session.run | lowbit/ort (CPU) |
//   |---|---:|---:|---:|---:|
//   | 1 × 1, I 128, H 128 | 25.6 (29.3) | 309.2 (321.7) | 134.9 (135.1) | 0.19 |
//   | 1 × 1, I 64, H 64 | 14.9 (15.0) | 50.3 (78.1) | 41.8 (45.0) | 0.36 |
//   | 32 × 1, I 128, H 128 | 336.2 (337.5) | 5381.9 (7533.6) | 353.8 (368.5) | 0.95 |
// (with --experimental-wasm-relaxed-simd, the relaxed build: 29.4 / 15.7 / 332.9 µs vs 133.6 /
// 60.9 / 357.3 µs.) Under this load single runs vary by 1.5x; the three columns take turns.
// Before the layer (host op only, same machine, load ~17): 189 / 64 / 5957 µs for the three rows.
// The layer's 32-step cost is mostly wasm products (X·Wᵀ GEMM ~100 µs, 32 GEMVs ~4.2 µs each at
// 128-bit SIMD; onnxruntime's MLAS uses AVX-512), the gates ~1.5 µs per step in wasm calls, ~1 µs
// of JavaScript.

import { readFileSync } from 'node:fs';
import os from 'node:os';
import * as ort from 'onnxruntime-web';
import onnxproto from 'onnx-proto';
import { createRuntime, loadModel, mulberry32, normalFloats } from '../dist/index.js';
import { OPS } from '../dist/model/ops/registry.js';

const { onnx } = onnxproto;
const args = process.argv.slice(2);
const opt = (name, def) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : def);
const ROUNDS = opt('--rounds', 31), CALLS = opt('--calls', 200);
ort.env.wasm.numThreads = 1;

const rand = (n, seed, scale) => normalFloats(mulberry32(seed), n, scale);
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

/** LSTM X [T, 1, I] with initial_h, initial_c -> Y, Y_h, Y_c; W, R, B initializers. */
function lstmModel(T, I, H) {
  const init = (name, dims, data) => ({ name, dims, dataType: 1, rawData: new Uint8Array(Float32Array.from(data).buffer) });
  const input = (name, dims) => ({ name, type: { tensorType: { elemType: 1, shape: { dim: dims.map((d) => ({ dimValue: d })) } } } });
  const s = 1 / Math.sqrt(H);
  const graph = {
    name: 'lstm',
    node: [{ opType: 'LSTM', name: 'lstm', input: ['X', 'W', 'R', 'B', '', 'h0', 'c0'], output: ['Y', 'Y_h', 'Y_c'], attribute: [{ name: 'hidden_size', type: 2, i: H }] }],
    initializer: [init('W', [1, 4 * H, I], rand(4 * H * I, 1, s)), init('R', [1, 4 * H, H], rand(4 * H * H, 2, s)), init('B', [1, 8 * H], rand(8 * H, 3, 0.1))],
    input: [input('X', [T, 1, I]), input('h0', [1, 1, H]), input('c0', [1, 1, H])],
    output: ['Y', 'Y_h', 'Y_c'].map((name) => ({ name, type: { tensorType: { elemType: 1 } } })),
  };
  const feeds = { X: rand(T * I, 4, 1), h0: rand(H, 5, 0.5), c0: rand(H, 6, 0.5) };
  const dims = { X: [T, 1, I], h0: [1, 1, H], c0: [1, 1, H] };
  return { bytes: onnx.ModelProto.encode({ irVersion: 8, opsetImport: [{ domain: '', version: 14 }], graph }).finish(), feeds, dims, graph };
}

/**
 * Median µs per call of each async fn: wall time, and CPU time of this process (the machine is
 * shared; CPU time leaves out the time other processes held the core, not their cache traffic).
 * The fns take turns round by round, so a burst of load on the machine hits them alike.
 */
async function time(fns) {
  for (const fn of fns) for (let i = 0; i < CALLS * 2; i++) await fn();
  const wall = fns.map(() => []), cpu = fns.map(() => []);
  for (let r = 0; r < ROUNDS; r++) {
    for (const [j, fn] of fns.entries()) {
      const t0 = performance.now(), c0 = process.cpuUsage();
      for (let i = 0; i < CALLS; i++) await fn();
      const c = process.cpuUsage(c0);
      wall[j].push(((performance.now() - t0) / CALLS) * 1e3);
      cpu[j].push((c.user + c.system) / CALLS);
    }
  }
  return fns.map((_, j) => ({ wall: median(wall[j]), cpu: median(cpu[j]) }));
}
const fmt = (t) => `${t.cpu.toFixed(1)} (${t.wall.toFixed(1)})`;

const rt = await createRuntime({ threads: 1 });
const cpuFlags = (readFileSync('/proc/cpuinfo', 'utf8').match(/\b(avx_vnni|avx512_vnni)\b/g) ?? []).filter((v, i, a) => a.indexOf(v) === i).sort();
console.log(`# LSTM step, lowbit vs onnxruntime-web ${ort.env.versions?.web ?? ''} (1 thread)`);
console.log(`${os.cpus()[0].model}, ${os.cpus().length} cores, CPU flags: ${cpuFlags.join(' ') || 'none'}; Node ${process.version}; lowbit ${rt.features.simd} build`);
console.log(`${ROUNDS} rounds of ${CALLS} calls; median CPU µs per call (wall µs in brackets); load average ${os.loadavg()[0].toFixed(2)} at start (shared machine)\n`);
console.log('| shape (T × batch 1, input I, hidden H) | lowbit model.run (f32 GEMM layer) | lowbit host op, compute only | onnxruntime-web session.run | lowbit/ort (CPU) |');
console.log('|---|---:|---:|---:|---:|');

for (const [T, I, H] of [[1, 128, 128], [1, 64, 64], [32, 128, 128]]) {
  const m = lstmModel(T, I, H);
  const tensors = Object.fromEntries(Object.entries(m.feeds).map(([k, v]) => [k, { type: 'float32', data: v, dims: m.dims[k] }]));

  const model = loadModel(rt, m.bytes);
  await model.run(tensors);
  const kinds = [...model.builtLayers.values()].map((l) => l?.kind);
  if (!kinds.includes('LSTM (f32 GEMM)')) throw new Error(`the LSTM did not run as the f32 GEMM layer: ${kinds}`);

  // the op alone: compute() on host arrays, as the runner calls it
  const node = { name: 'lstm', op: 'LSTM', domain: '', inputs: ['X', 'W', 'R', 'B', '', 'h0', 'c0'], outputs: ['Y', 'Y_h', 'Y_c'], attrs: new Map([['hidden_size', H]]) };
  const w = (name) => m.graph.initializer.find((t) => t.name === name);
  const hv = (dims, data) => ({ type: 'float32', dims, data, nhwc: false });
  const f32 = (t) => new Float32Array(t.rawData.slice().buffer);
  const ins = [hv(m.dims.X, m.feeds.X), hv(w('W').dims, f32(w('W'))), hv(w('R').dims, f32(w('R'))), hv(w('B').dims, f32(w('B'))), null, hv(m.dims.h0, m.feeds.h0), hv(m.dims.c0, m.feeds.c0)];
  const outs = [hv([T, 1, 1, H], new Float32Array(T * H)), hv([1, 1, H], new Float32Array(H)), hv([1, 1, H], new Float32Array(H))];
  const def = OPS.LSTM, ctx = { node, opset: 14 };

  const session = await ort.InferenceSession.create(m.bytes);
  const ortFeeds = Object.fromEntries(Object.entries(m.feeds).map(([k, v]) => [k, new ort.Tensor('float32', v, m.dims[k])]));
  const [lowbit, ortUs, computeOnly] = await time([() => model.run(tensors), () => session.run(ortFeeds), async () => def.compute(ctx, ins, outs)]);

  // same answer
  const a = await model.run(tensors), b = await session.run(ortFeeds);
  let diff = 0;
  for (const k of ['Y', 'Y_h', 'Y_c']) for (let i = 0; i < b[k].data.length; i++) diff = Math.max(diff, Math.abs(a[k].data[i] - b[k].data[i]));
  if (diff > 1e-5) throw new Error(`T ${T} I ${I} H ${H}: lowbit and onnxruntime differ by ${diff}`);
  await session.release();
  model.dispose();
  console.log(`| ${T} × 1, I ${I}, H ${H} | ${fmt(lowbit)} | ${fmt(computeOnly)} | ${fmt(ortUs)} | ${(lowbit.cpu / ortUs.cpu).toFixed(2)} |`);
}
rt.dispose();
