#!/usr/bin/env node
// Every entry of the format table (src/formats/table.ts), through the table: each format's GEMM as
// model layers run it (float32 x in, float32 y out: activation quantization, the kernel and the
// epilogue included) beside our float32 GEMM, in one process per build, same shapes, same thread
// count, interleaved rounds, medians. A format added to the table is benched without touching this.
//
//   node bench/formats.mjs                       1 thread: a baseline child, then a relaxed child
//   node bench/formats.mjs --threads 2
//   node bench/formats.mjs --quick               smoke run (small shapes, 3 rounds)
//   node bench/formats.mjs --shapes 1x4096x4096  only these shapes
//
// It imports ../dist/index.js: run `npm run build` first. Weights are Gaussian (sigma 0.02), quantized
// once per shape and format (the time that takes is reported too: ANT's clip search is the slow
// one). Weights are hot (not rotated): compare with bench/int4.mjs and bench/lut4.mjs for streamed ones.

import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createRuntime, mulberry32, normalFloats, uint8Range, WEIGHT_FORMATS } from '../dist/index.js';
import { packF32, runF32 } from '../dist/kernels.js';
import { gemmRunner } from '../dist/layers/linear-runner.js';
import { loadavg, machine } from './system.mjs';
import { buildBenchArgs, RELAXED_FLAGS } from './common.mjs';
import { median } from './timing.mjs';

const SHAPES = ['1x4096x4096', '8x4096x4096', '128x768x3072'];
const QUICK_SHAPES = ['1x512x512', '16x256x384'];
const SELF = fileURLToPath(import.meta.url);

function parseArgs(argv) {
  const args = buildBenchArgs(argv, 9);
  args.shapes ??= args.quick ? QUICK_SHAPES : SHAPES;
  return args;
}

async function child(args) {
  const rt = await createRuntime({ simd: args.simd, threads: args.threads });
  if (rt.features.simd !== args.simd) throw new Error(`expected the ${args.simd} build, got ${rt.features.simd}`);
  const out = { simd: args.simd, threads: args.threads, loadStart: loadavg(), shapes: [] };
  for (const s of args.shapes) {
    const [m, k, n] = s.split('x').map(Number);
    const r = mulberry32(m * 7919 + k * 31 + n);
    const wkn = normalFloats(r, k * n, 0.02), x = normalFloats(r, m * k, 1);
    const wnk = new Float32Array(n * k);
    for (let t = 0; t < k; t++) for (let j = 0; j < n; j++) wnk[j * k + t] = wkn[t * n + j];
    const f32 = packF32(rt, wkn, k, n);
    const engines = [{ name: 'float32', run: () => runF32(rt, x, m, f32, null), quantizeS: 0, dispose: () => f32.dispose() }];
    for (const format of WEIGHT_FORMATS) {
      const t0 = performance.now();
      const data = format.quantize(wnk, n, k, { input: uint8Range(Math.min(...x), Math.max(...x)) });
      const quantizeS = (performance.now() - t0) / 1000;
      const runner = gemmRunner(rt, format.gemm(rt, data, null, null));
      engines.push({ name: format.name, run: () => runner.forward(x, m), quantizeS, dispose: () => runner.dispose() });
    }
    for (const e of engines) await e.run();
    const reps = Math.max(2, Math.min(20, Math.round(0.03 / ((2 * m * k * n) / 20e9))));
    const samples = engines.map(() => []);
    for (let round = 0; round < args.rounds; round++) {
      for (let j = 0; j < engines.length; j++) {
        const e = (j + round) % engines.length;
        for (let i = 0; i < reps; i++) {
          const t0 = performance.now();
          await engines[e].run();
          samples[e].push(performance.now() - t0);
        }
      }
    }
    const ms = samples.map(median);
    out.shapes.push({ shape: s, rows: engines.map((e, i) => ({ name: e.name, ms: ms[i], gops: (2 * m * k * n) / (ms[i] * 1e6), vsFloat: ms[0] / ms[i], quantizeS: e.quantizeS })) });
    for (const e of engines) e.dispose();
  }
  out.loadEnd = loadavg();
  rt.dispose();
  process.stdout.write(JSON.stringify(out));
}

function parent(args) {
  const m = machine();
  const vnni = [...new Set(readFileSync('/proc/cpuinfo', 'utf8').match(/\b(avx_vnni|avx512_vnni)\b/g) ?? [])].join(' ') || 'no VNNI';
  console.log(`# bench/formats.mjs: ${m.model} (${vnni}), ${m.cores} cores; node ${m.node} (V8 ${m.v8}); commit ${m.commit}`);
  console.log(`# threads=${args.threads}; ${args.rounds} interleaved rounds, medians; weights hot`);
  for (const simd of ['baseline', 'relaxed']) {
    const flags = simd === 'relaxed' ? RELAXED_FLAGS : [];
    const pass = ['--child', '--simd', simd, '--threads', String(args.threads), '--rounds', String(args.rounds), '--shapes', args.shapes.join(',')];
    const res = spawnSync(process.execPath, [...flags, SELF, ...pass], { encoding: 'utf8', maxBuffer: 1 << 26 });
    if (res.status !== 0) {
      console.log(`\n${simd}: the child failed\n${res.stderr}`);
      continue;
    }
    const r = JSON.parse(res.stdout);
    console.log(`\n## ${simd} build, ${r.threads} thread(s) (load ${r.loadStart} -> ${r.loadEnd})`);
    for (const s of r.shapes) {
      console.log(`\n${s.shape}\n| format | median ms | GOPS | vs float32 | quantize s |\n|---|---|---|---|---|`);
      for (const row of s.rows) console.log(`| ${row.name} | ${row.ms.toFixed(3)} | ${row.gops.toFixed(1)} | ${row.vsFloat.toFixed(2)}x | ${row.quantizeS.toFixed(1)} |`);
    }
  }
}

const args = parseArgs(process.argv.slice(2));
if (args.child) await child(args);
else parent(args);
