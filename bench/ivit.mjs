#!/usr/bin/env node
// The I-ViT integer-only ops (the ivit family: assembly/intops/) against our float counterparts on
// the same shapes, interleaved round by round in one process, one thread, wasm kernels called
// directly (no pool): Shiftmax vs f32_softmax_rows; ShiftGELU vs f32_act_nhwc's x·sigmoid(1.702x)
// (kind 3); I-LayerNorm vs the host LayerNormalization the model runs (there is no float SIMD
// LayerNorm kernel). Prints ms per call (wall-clock median and least of the rounds, and the median of
// this process's CPU time per call: the machine is shared) and the float/integer ratios of each.
//
//   node bench/ivit.mjs [--rounds 15]
// It imports ../dist/: run `npm run build` (or build:wasm and tsc) first.

import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { createRuntime } from '../dist/index.js';
import { shiftmaxParams, shiftGeluParams, layerNormParams } from '../dist/quant/ivit.js';
import { layerNorm } from '../dist/model/ops/reduce-ops.js';
import { loadavg } from './system.mjs';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '15' }, simd: { type: 'string', default: 'relaxed' } } });
const rounds = Number(values.rounds);
const rt = await createRuntime({ threads: 1, simd: values.simd });
const k = rt.kernels;
const flags = readFileSync('/proc/cpuinfo', 'utf8').match(/^flags\s*:(.*)$/m)?.[1].split(' ') ?? [];
const vnni = ['avx_vnni', 'avx512_vnni'].map((f) => `${f} ${flags.includes(f) ? 'yes' : 'no'}`).join(', ');
console.log(`# ${new Date().toISOString()} node ${process.version}, ${rt.features.simd} build, 1 thread; ${vnni}; load average before ${loadavg()}`);

let seed = 1;
const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
const int8 = (n) => Int8Array.from({ length: n }, () => Math.round((rnd() - 0.5) * 200));
const f32 = (q, s) => Float32Array.from(q, (v) => v * s);

const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e3;
};

/** ms per call of fn (wall and this process's CPU time), as repeated `reps` times in each round; variants interleaved */
function timeAll(variants, reps) {
  const times = variants.map(() => ({ wall: [], cpu: [] }));
  for (let r = 0; r < rounds; r++) {
    variants.forEach(([, fn], i) => {
      const t0 = performance.now(), c0 = cpuMs();
      for (let j = 0; j < reps; j++) fn();
      times[i].cpu.push((cpuMs() - c0) / reps);
      times[i].wall.push((performance.now() - t0) / reps);
    });
  }
  const stats = (t) => {
    t.sort((a, b) => a - b);
    return { median: t[t.length >> 1], least: t[0] };
  };
  return times.map((t) => ({ ...stats(t.wall), cpu: stats(t.cpu).median }));
}

function report(name, shape, variants, reps) {
  for (const [, fn] of variants) fn(); // warm up
  const [fl, it] = timeAll(variants, reps);
  const f = (t) => `${t.median.toFixed(4)} / ${t.least.toFixed(4)} / ${t.cpu.toFixed(4)}`;
  console.log(`| ${name} | ${shape} | ${f(fl)} | ${f(it)} | ${(fl.median / it.median).toFixed(2)}x / ${(fl.least / it.least).toFixed(2)}x / ${(fl.cpu / it.cpu).toFixed(2)}x |`);
}

console.log('| op | shape | float ms (median / least / median CPU) | integer ms (median / least / median CPU) | float / integer |');
console.log('|---|---|---|---|---|');
const s = 0.08;
for (const [rows, n, label] of [[320, 40, 'PP-OCRv4 SVTR: 8 heads x 40 x 40'], [12 * 197, 197, 'ViT-B: 12 heads x 197 x 197']]) {
  const q = int8(rows * n), px = rt.put(q, 16), pf = rt.put(f32(q, s), 16), py = rt.alloc(rows * n + 16), pyf = rt.alloc(rows * n * 4 + 16);
  const p = shiftmaxParams(s);
  report('Softmax', label, [['f32', () => k.f32_softmax_rows(pf, rows, n, pyf)], ['ivit', () => k.ivit_shiftmax_rows(px, rows, n, p.m, p.g, p.bits, py)]], Math.max(1, Math.round(2e6 / (rows * n))));
}
for (const [count, label] of [[40 * 240, 'PP-OCRv4 SVTR MLP: 40 x 240'], [197 * 3072, 'ViT-B MLP: 197 x 3072']]) {
  const q = int8(count), px = rt.put(q, 16), pf = rt.put(f32(q, s), 16), py = rt.alloc(count + 16), pyf = rt.alloc(count * 4 + 16);
  const one = rt.put(new Float32Array(1).fill(1), 16), zero = rt.put(new Float32Array(1), 16);
  const p = shiftGeluParams(s, s);
  report('GELU x·σ(1.702x)', label, [['f32', () => k.f32_act_nhwc(pf, count, 1, 3, 1.702, 0, one, zero, pyf)], ['ivit', () => k.ivit_shiftgelu(px, count, p.ms, p.gs, p.mo, p.go, py)]], Math.max(1, Math.round(2e6 / count)));
}
for (const [rows, n, label] of [[40, 120, 'PP-OCRv4 SVTR: 40 x 120'], [197, 768, 'ViT-B: 197 x 768']]) {
  const q = int8(rows * n), px = rt.put(q, 16), py = rt.alloc(rows * n + 16);
  const xf = f32(q, s), yf = new Float32Array(rows * n);
  const gamma = Float32Array.from({ length: n }, () => 0.8 + 0.4 * rnd()), beta = Float32Array.from({ length: n }, () => 0.2 * (rnd() - 0.5));
  const p = layerNormParams(0.03, gamma, beta), gam = rt.put(p.gam), bet = rt.put(p.bet);
  report('LayerNorm (float: host JS)', label, [['f32', () => layerNorm(xf, rows, n, gamma, beta, 1e-5, yf)], ['ivit', () => k.ivit_layernorm_rows(px, rows, n, gam, bet, p.gs, py)]], Math.max(1, Math.round(2e6 / (rows * n))));
}
console.log(`# load average after ${loadavg()}`);
rt.dispose();
