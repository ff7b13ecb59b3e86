// int8-outlier (LLM.int8) overhead against plain int8, one thread, same process, interleaved runs:
//   int8 per row   rt.linear({ dtype: 'int8', activations: 'dynamic-per-row' }): the same int8 part
//   int8 static    int8's model GEMM (uint8 activations with a calibrated scale, quantized and staged in one pass)
//   int8-outlier   rt.linear({ dtype: 'int8-outlier' }) on inputs with 0, 0.1% and 1% outlier feature
//                  columns (|x| 20-60 in every row: the float part at its largest), weights' rows dequantized
// Each cell: the median CPU time per call over --reps samples, and the median of the per-sample
// ratios to int8 per row (variants timed back to back in each sample).
//   npx tsc -p tsconfig.json && node bench/int8-outlier.mjs [--reps 9] [--quick]
// Results: bench/RESULTS-int8-outlier.md.

import { execSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { createRuntime, mulberry32, normalFloats } from '../dist/index.js';
import { int8Format } from '../dist/formats/int8.js';
import { gemmRunner } from '../dist/layers/linear-runner.js';
import { uint8Range } from '../dist/quant/activation-range.js';
import { loadavg, otherLoadMeter, waitForQuiet } from './system.mjs';

const { values } = parseArgs({ options: { reps: { type: 'string', default: '9' }, quick: { type: 'boolean', default: false } } });
const reps = Number(values.reps);
const shapes = values.quick
  ? [[8, 768, 768], [128, 768, 768]]
  : [[8, 768, 768], [8, 768, 3072], [8, 4096, 4096], [128, 768, 768], [128, 768, 3072], [128, 4096, 4096]];

const rt = await createRuntime({ threads: 1 });
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e3;
};
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

/** x [M][K] normal with round(fraction * K) outlier columns (at least 1 when fraction > 0) */
function input(m, k, fraction, seed) {
  const r = mulberry32(seed);
  const x = normalFloats(r, m * k, 1);
  const count = fraction > 0 ? Math.max(1, Math.round(fraction * k)) : 0;
  const cols = new Set();
  while (cols.size < count) cols.add(Math.floor(r() * k));
  for (const c of cols) for (let i = 0; i < m; i++) x[i * k + c] = (r() < 0.5 ? -1 : 1) * (20 + 40 * r());
  return { x, count };
}

console.error(`simd ${rt.features.simd}, 1 thread, ${reps} reps, load average before: ${loadavg()}`);
const rows = [];
for (const [m, k, n] of shapes) {
  const r = mulberry32(k * 31 + n);
  const w = normalFloats(r, k * n, 0.05);
  const plain = await rt.linear(w, [k, n], null, { dtype: 'int8', activations: 'dynamic-per-row', reference: false });
  const split = await rt.linear(w, [k, n], null, { dtype: 'int8-outlier', reference: false });
  const inputs = [0, 0.001, 0.01].map((f, i) => input(m, k, f, 7 + i));
  // int8's model GEMM over the same weights (rows [N][K]), its input range from the clean input
  const wnk = new Float32Array(n * k);
  for (let t = 0; t < k; t++) for (let j = 0; j < n; j++) wnk[j * k + t] = w[t * n + j];
  const x0 = inputs[0].x;
  let lo = Infinity, hi = -Infinity;
  for (const v of x0) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
  const staticRunner = gemmRunner(rt, int8Format.gemm(rt, int8Format.quantize(wnk, n, k, { input: uint8Range(lo, hi) }), null, null));
  const calls = {
    'int8 per row': () => plain.forward(x0),
    'int8 static': () => staticRunner.forward(x0, m),
    'outlier 0%': () => split.forward(inputs[0].x),
    'outlier 0.1%': () => split.forward(inputs[1].x),
    'outlier 1%': () => split.forward(inputs[2].x),
  };
  // paired samples: each rep times every variant back to back (rotating the order), each sample
  // a batch of calls of >= 20 ms; the ratio is the median of the per-rep ratios to int8 per row.
  // Time is this process's CPU time (process.cpuUsage; one thread, no workers): on a shared machine
  // wall time also counts the time other processes held the core.
  const names = Object.keys(calls);
  for (const f of Object.values(calls)) await f(); // warm-up
  let t0 = cpuMs();
  await calls['int8 per row']();
  const batch = Math.max(1, Math.ceil(20 / Math.max(0.01, cpuMs() - t0)));
  const times = Object.fromEntries(names.map((name) => [name, []]));
  const ratios = Object.fromEntries(names.map((name) => [name, []]));
  const otherLoad = otherLoadMeter();
  await waitForQuiet(10);
  for (let i = 0; i < reps; i++) {
    const t = {};
    for (let j = 0; j < names.length; j++) {
      const name = names[(i + j) % names.length];
      t0 = cpuMs();
      for (let b = 0; b < batch; b++) await calls[name]();
      t[name] = (cpuMs() - t0) / batch;
      times[name].push(t[name]);
    }
    for (const name of names) ratios[name].push(t[name] / t['int8 per row']);
  }
  const ms = Object.fromEntries(Object.entries(times).map(([name, t]) => [name, median(t)]));
  const ratio = Object.fromEntries(Object.entries(ratios).map(([name, r]) => [name, median(r)]));
  const load = otherLoad();
  const row = { m, k, n, outliers: inputs.map((i) => i.count), ms, ratio, load };
  rows.push(row);
  console.error(`${m}x${k}x${n}: ${Object.entries(ms).map(([name, t]) => `${name} ${t.toFixed(3)} ms (${ratio[name].toFixed(2)}x)`).join(', ')}; other load ${load.toFixed(2)} cores`);
  plain.dispose();
  split.dispose();
  staticRunner.dispose();
}

const flags = (() => {
  try {
    return execSync("grep -o -w -E 'avx_vnni|avx512_vnni' /proc/cpuinfo | sort -u", { encoding: 'utf8' }).trim().split('\n').join(' ') || 'none';
  } catch {
    return 'none';
  }
})();
console.log(`CPU time per call (process.cpuUsage), medians; simd ${rt.features.simd}; 1 thread; CPU flags: ${flags}; load average after: ${loadavg()}; Node ${process.version}; medians of ${reps}\n`);
console.log('| M x K x N | outlier columns 0.1% / 1% | int8 per row ms | int8 static | int8-outlier, no outliers | 0.1% outlier columns | 1% outlier columns | other load (cores) |');
console.log('|---|---|---|---|---|---|---|---|');
for (const { m, k, n, outliers, ms, ratio, load } of rows) {
  const cell = (name) => `${ms[name].toFixed(3)} ms (${ratio[name].toFixed(2)}x)`;
  console.log(`| ${m}x${k}x${n} | ${outliers[1]} / ${outliers[2]} | ${ms['int8 per row'].toFixed(3)} | ${cell('int8 static')} | ${cell('outlier 0%')} | ${cell('outlier 0.1%')} | ${cell('outlier 1%')} | ${load.toFixed(2)} |`);
}
rt.dispose();
