// Per-step time of one model run, float32 and int8 (RunOptions.timings), summed by step kind over
// many runs: where a small model's run goes (host steps, layers by kind and scheme).
//   node bench/step-profile.mjs MODEL.onnx --input name:d0,d1,... [--extra name:type:d0,..[:value]] [--runs 200]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { createRuntime, loadModel, quantizeModel } from '../dist/index.js';

const { values: a, positionals } = parseArgs({ allowPositionals: true, options: { input: { type: 'string', multiple: true }, runs: { type: 'string', default: '200' }, scheme: { type: "string", default: "float32,int8" }, least: { type: "boolean", default: false }, each: { type: "boolean", default: false } } });
const rt = await createRuntime({ threads: 1 });
let s = 12345;
const rnd = () => ((s = (s * 1103515245 + 12345) >>> 0), (s / 2 ** 32) * 2 - 1);
const feeds = {};
for (const spec of a.input) {
  const [name, type, d, value] = spec.split(':');
  const dims = d ? d.split(',').filter(Boolean).map(Number) : [];
  const n = dims.reduce((x, y) => x * y, 1);
  feeds[name] = type === 'int64' ? { type, dims, data: BigInt64Array.from({ length: n }, () => BigInt(value)) } : { type, dims, data: value === '0' ? new Float32Array(n) : Float32Array.from({ length: n }, rnd) };
}
const f32 = loadModel(rt, readFileSync(positionals[0]));
for (const scheme of a.scheme.split(',')) {
  const [sch, speed] = scheme.split('+');
  const net = sch === 'float32' ? f32 : await quantizeModel(f32, { scheme: sch, calibration: [feeds], ...(speed ? { speed } : {}) });
  for (let i = 0; i < 50; i++) await net.run(feeds);
  const by = new Map();
  const total = [];
  const runs = Number(a.runs);
  for (let i = 0; i < runs; i++) {
    const timings = [];
    const t0 = performance.now();
    await net.run(feeds, { timings });
    total.push(performance.now() - t0);
    const run = new Map();
    for (const { step, ms } of timings) {
      const g = step.layer?.geometry;
      const key = a.each ? `${step.label} ${step.layer?.kind ?? step.op} ${JSON.stringify(step.ins[0]?.dims)}${g ? ` ${g.cin}->${g.cout}` : ''}` : step.layer ? `${step.layer.kind} [${step.layer.scheme}]` : step.op;
      const e = run.get(key) ?? { ms: 0, n: 0 };
      e.ms += ms; e.n++;
      run.set(key, e);
    }
    for (const [key, e] of run) {
      const b = by.get(key) ?? { ms: [], n: e.n };
      b.ms.push(e.ms);
      by.set(key, b);
    }
  }
  total.sort((x, y) => x - y);
  const med = (v) => (a.least ? Math.min(...v) : v.sort((x, y) => x - y)[v.length >> 1]);
  const rows = [...by].map(([k, e]) => [k, med(e.ms), e.n]).sort((x, y) => y[1] - x[1]);
  const steps = rows.reduce((x, r) => x + r[1], 0);
  console.log(`\n${scheme}: median run ${total[runs >> 1].toFixed(3)} ms, least ${total[0].toFixed(3)} ms; sum of per-kind medians ${steps.toFixed(3)} ms (median per run, by step kind)`);
  for (const [k, ms, n] of rows) console.log(`  ${k.padEnd(50)} ${(ms * 1e3).toFixed(1).padStart(8)} µs/run  ${String(n).padStart(4)} steps  ${(ms / n * 1e3).toFixed(2).padStart(8)} µs/step`);
}
rt.dispose();
