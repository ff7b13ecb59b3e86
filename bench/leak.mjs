#!/usr/bin/env node
// Leak test (issue 12, limits): many create/run/dispose cycles, with the JS heap (after a full GC)
// and the runtime's wasm memory (bytes allocated, heap high-water mark, memory size) sampled as it
// goes; the slope over the second half, in bytes per cycle, should be ~0.
//
//   node --expose-gc bench/leak.mjs                 10,000 model cycles, 4,000 quantize cycles, 200 runtimes
//   node --expose-gc bench/leak.mjs --quick         a tenth of each
//
// It imports ../dist/ (run `npx tsc -p tsconfig.json` first). Each cycle of "model" is loadModel of
// a small generated ONNX model (conv 3x3, relu, matmul), one run, dispose; "quantize" adds
// quantizeModel (int8, 2 calibration inputs) and disposes both; "runtime" creates a 2-thread
// runtime (a worker pool), runs a kernel, and disposes it.

import { readFileSync } from 'node:fs';
import onnxproto from 'onnx-proto';
import { createRuntime, loadModel, quantizeModel, mulberry32, normalFloats } from '../dist/index.js';
import { machine } from './system.mjs';

if (typeof globalThis.gc !== 'function') throw new Error('run with node --expose-gc bench/leak.mjs');
const quick = process.argv.includes('--quick');
const { onnx } = onnxproto;

function smallModel() {
  const r = mulberry32(1);
  const t = (name, dims, n, s) => ({ name, dims, dataType: 1, rawData: new Uint8Array(normalFloats(r, n, s).buffer) });
  const m = onnx.ModelProto.create({
    irVersion: 8, opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: 'leak', input: [{ name: 'x', type: { tensorType: { elemType: 1, shape: { dim: [1, 4, 8, 8].map((d) => ({ dimValue: d })) } } } }],
      output: [{ name: 'y', type: { tensorType: { elemType: 1 } } }],
      initializer: [t('w', [8, 4, 3, 3], 288, 0.3), t('m', [512, 10], 5120, 0.05), { name: 'shape', dims: [2], dataType: 7, rawData: new Uint8Array(new BigInt64Array([1n, 512n]).buffer) }],
      node: [
        { opType: 'Conv', input: ['x', 'w'], output: ['c'], attribute: [{ name: 'pads', ints: [1, 1, 1, 1], type: 7 }] },
        { opType: 'Relu', input: ['c'], output: ['r'] },
        { opType: 'Reshape', input: ['r', 'shape'], output: ['f'] },
        { opType: 'MatMul', input: ['f', 'm'], output: ['y'] },
      ],
    },
  });
  return onnx.ModelProto.encode(m).finish();
}

const bytes = smallModel();
const feed = (seed) => ({ x: { type: 'float32', dims: [1, 4, 8, 8], data: normalFloats(mulberry32(seed), 256, 1) } });

/** Least-squares slope of y over x. */
function slope(xs, ys) {
  const n = xs.length, mx = xs.reduce((a, b) => a + b, 0) / n, my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0, den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i] - mx) * (ys[i] - my);
    den += (xs[i] - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

async function phase(name, cycles, every, rt, body) {
  const samples = [];
  const t0 = performance.now();
  for (let i = 1; i <= cycles; i++) {
    await body(i);
    if (i % every === 0) {
      globalThis.gc();
      samples.push({ i, heap: process.memoryUsage().heapUsed, wasmInUse: rt?.heap.inUse ?? 0, wasmHeap: rt?.heap.heapSize ?? 0, wasmMemory: rt?.memory.buffer.byteLength ?? 0 });
    }
  }
  const half = samples.slice(Math.floor(samples.length / 2));
  const s = (k) => slope(half.map((x) => x.i), half.map((x) => x[k]));
  const first = samples[0], last = samples.at(-1);
  return {
    name, cycles, seconds: (performance.now() - t0) / 1000,
    heapBytesPerCycle: s('heap'), wasmInUseBytesPerCycle: s('wasmInUse'), wasmMemoryBytesPerCycle: s('wasmMemory'),
    heapMiB: [first.heap / 2 ** 20, last.heap / 2 ** 20], wasmInUse: [first.wasmInUse, last.wasmInUse], wasmMemoryMiB: [first.wasmMemory / 2 ** 20, last.wasmMemory / 2 ** 20],
  };
}

const k = quick ? 10 : 1;
const rt = await createRuntime({ threads: 1 });
const rows = [];
rows.push(await phase('model: load, run, dispose', 10000 / k, 500 / k, rt, async (i) => {
  const m = loadModel(rt, bytes);
  await m.run(feed(i));
  m.dispose();
}));
const float = loadModel(rt, bytes);
const calibration = [feed(1), feed(2)];
rows.push(await phase('quantize: int8, run, dispose', 4000 / k, 200 / k, rt, async (i) => {
  const q = await quantizeModel(float, { scheme: 'int8', calibration });
  await q.run(feed(i));
  q.dispose();
}));
float.dispose();
rt.dispose();
rows.push(await phase('runtime: 2 threads, create, run, dispose', 200 / k, 10 / k, null, async (i) => {
  const r2 = await createRuntime({ threads: 2 });
  const m = loadModel(r2, bytes);
  await m.run(feed(i));
  m.dispose();
  r2.dispose();
}));

const vnni = [...new Set(readFileSync('/proc/cpuinfo', 'utf8').match(/\b(avx512_vnni|avx_vnni)\b/g) ?? ['no VNNI'])].join(' ');
const mc = machine();
console.log(`${mc.model}; Node ${mc.node}; ${vnni}; commit ${mc.commit}\n`);
console.log('| cycles | count | s | JS heap MiB first→last | JS heap B/cycle (2nd half) | wasm bytes in use first→last | wasm in use B/cycle | wasm memory MiB first→last |');
console.log('|---|---|---|---|---|---|---|---|');
for (const r of rows) {
  console.log(`| ${r.name} | ${r.cycles} | ${r.seconds.toFixed(1)} | ${r.heapMiB.map((x) => x.toFixed(2)).join(' → ')} | ${r.heapBytesPerCycle.toFixed(1)} | ${r.wasmInUse.join(' → ')} | ${r.wasmInUseBytesPerCycle.toFixed(1)} | ${r.wasmMemoryMiB.map((x) => x.toFixed(2)).join(' → ')} |`);
}
