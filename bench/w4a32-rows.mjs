#!/usr/bin/env node
// W4A32 (4-bit block weights, float32 activations: MatMulNBits at accuracy_level 0) at several rows,
// as a prompt runs it: lowbit's multi-row path (each 8 columns decoded once, the f32 tile over the
// rows: runQb4F32 with M >= QB4_F32_ROWS_MIN) against M single-row GEMV calls (what a prompt ran
// before) and onnxruntime-web's MatMulNBits in its own process. Least time of one call per round,
// median over rounds; the children alternate which runs first. Shapes: the 100M decoder of
// bench/decode.mjs (hidden 768, FFN 2048) and a 7B-class 4096².
//
//   node bench/w4a32-rows.mjs [--rounds 5] [--ms 300]     (dist/ built: npx tsc -p tsconfig.json)

import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadavg, machine } from './system.mjs';

const SHAPES = [
  ...[1, 4, 8, 32].map((m) => ({ m, k: 768, n: 2048 })),
  ...[4, 32].map((m) => ({ m, k: 2048, n: 768 })),
  ...[8, 32].map((m) => ({ m, k: 4096, n: 4096 })),
];
const arg = (name, d) => { const i = process.argv.indexOf(name); return i > 0 ? Number(process.argv[i + 1]) : d; };
const ROUNDS = arg('--rounds', 5), MS = arg('--ms', 300);

async function least(call) {
  for (let t0 = performance.now(); performance.now() - t0 < 200;) await call(); // warm past tier-up
  let best = Infinity;
  for (let t0 = performance.now(), i = 0; i < 3 || performance.now() - t0 < MS; i++) {
    const t = performance.now();
    await call();
    best = Math.min(best, performance.now() - t);
  }
  return best;
}

async function child(kind) {
  const { int4Of, nbitsModel, ortSession, ortTensor } = await import('./int4-lib.mjs');
  const { activationsF32 } = await import('./data.mjs');
  const out = [];
  if (kind === 'lowbit') {
    const { createRuntime } = await import('../dist/index.js');
    const { packQb4, runQb4F32 } = await import('../dist/kernels.js');
    const rt = await createRuntime({ threads: 1, simd: 'baseline' });
    for (const s of SHAPES) {
      const w = packQb4(rt, int4Of(s.k, s.n));
      const x = activationsF32(s);
      const rows = Array.from({ length: s.m }, (_, i) => x.subarray(i * s.k, (i + 1) * s.k));
      const multi = await least(() => runQb4F32(rt, x, s.m, w));
      const gemv = await least(async () => { for (const r of rows) await runQb4F32(rt, r, 1, w); });
      out.push({ ...s, rows: multi, gemv, layout: w.layout });
      w.dispose();
    }
  } else {
    const { toMatMulNBits } = await import('../dist/index.js');
    for (const s of SHAPES) {
      const session = await ortSession(nbitsModel(s, toMatMulNBits(int4Of(s.k, s.n)), 0));
      const feeds = { A: ortTensor(activationsF32(s), [s.m, s.k]) };
      out.push({ ...s, ort: await least(() => session.run(feeds)) });
    }
  }
  process.send(out);
}

const run = (kind) => new Promise((resolve, reject) => {
  const c = fork(fileURLToPath(import.meta.url), ['--child', kind, '--ms', String(MS)]);
  c.on('message', resolve);
  c.on('exit', (code) => code && reject(new Error(`${kind} child exited ${code}`)));
});

if (process.argv.includes('--child')) await child(process.argv[process.argv.indexOf('--child') + 1]);
else {
  const m = machine(), vnni = [...new Set(readFileSync('/proc/cpuinfo', 'utf8').match(/\b(avx512_vnni|avx_vnni)\b/g) ?? ['no VNNI'])];
  console.log(`# W4A32 at several rows: Node ${m.node} (V8 ${m.v8}), ${m.model}, CPU flags ${vnni.join(' ')}, onnxruntime-web ${m.versions['onnxruntime-web']}, commit ${m.commit}; load ${loadavg()} (before)`);
  const per = SHAPES.map(() => ({ rows: [], gemv: [], ort: [] }));
  for (let r = 0; r < ROUNDS; r++) {
    const order = r % 2 ? ['ort', 'lowbit'] : ['lowbit', 'ort'];
    for (const kind of order) (await run(kind)).forEach((o, i) => { for (const key of ['rows', 'gemv', 'ort']) if (o[key] !== undefined) per[i][key].push(o[key]); });
  }
  const med = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
  console.log(`\n${ROUNDS} rounds, ${MS} ms each; median over rounds of each round's least ms; 1 thread, baseline build; load ${loadavg()} (after)\n`);
  console.log('| M×K×N | lowbit rows path ms | M GEMV calls ms | onnxruntime-web MatMulNBits ms | GEMV calls / rows | ORT / rows |\n|---|---|---|---|---|---|');
  SHAPES.forEach((s, i) => {
    const [a, b, o] = ['rows', 'gemv', 'ort'].map((k) => med(per[i][k]));
    console.log(`| ${s.m}×${s.k}×${s.n} | ${a.toFixed(3)} | ${b.toFixed(3)} | ${o.toFixed(3)} | ${(b / a).toFixed(2)}× | ${(o / a).toFixed(2)}× |`);
  });
}
