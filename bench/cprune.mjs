#!/usr/bin/env node
// The CPrune-style latency-aware pruning (issue 16) on the PP-OCRv4 recognizer: int8-sparse with
// `sparsity: { latency }` (each layer's pattern/target or dense int8 chosen from latencies measured
// here and OBC's output error), against dense int8, on bench/accuracy.mjs's split (calibration on
// every 4th line per font, the rest scored). Per budget: test exact match and CER, weight MiB, the
// search's own layer total (µs, chosen vs dense), and the measured end-to-end latency of the pruned
// model against dense int8 (and float32) in the same process: per test line, the models run in turn
// `--reps` times; the median of each; the ratio of the sums over the lines.
//
//   node bench/cprune.mjs --budget 0.9 --budget 0.8 --budget 0.7   (the loosest is measured; the others search its table)
//   node bench/cprune.mjs --budget 0.7 --pattern block4x4,unstructured --lines 80 --json
//
// It imports ../dist/ and ../packages/cli/dist/: run `npx tsc -p tsconfig.json` first.

import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { createRuntime, loadModel, quantizeModel } from '../dist/index.js';
import { ctcGreedyDecode, scoreReadings, toModelInput } from '../dist/ocr.js';
import { loadOcrLines } from '../packages/cli/dist/ocr-lines.js';
import { splitOcrLines } from '../packages/cli/dist/ocr-split.js';
import { loadDictionary, ocrModelAsset } from '../packages/cli/dist/ocr-assets.js';
import { machine } from './system.mjs';

const { values } = parseArgs({
  options: {
    budget: { type: 'string', multiple: true },
    pattern: { type: 'string', default: 'block4x4,unstructured' },
    lines: { type: 'string' },
    'time-lines': { type: 'string', default: '40' },
    reps: { type: 'string', default: '5' },
    json: { type: 'boolean', default: false },
  },
});
// loosest first: its latency table and candidate weights serve the tighter budgets (latencyTable)
const budgets = (values.budget ?? ['0.9', '0.8', '0.7']).map(Number).sort((a, b) => b - a);
const patterns = values.pattern.split(',');
const log = (s) => console.error(`[${new Date().toISOString().slice(11, 19)}] ${s}`);

const rt = await createRuntime({ threads: 1 });
const dict = loadDictionary();
let lines = loadOcrLines();
if (values.lines) lines = lines.slice(0, Number(values.lines));
const { calibration, test } = splitOcrLines(lines, 4);
const feeds = (l) => ({ x: toModelInput([l]) });
const float = loadModel(rt, new Uint8Array(readFileSync(ocrModelAsset('ch_PP-OCRv4_rec_infer.onnx'))));
const m0 = machine(), vnni = [...new Set(readFileSync('/proc/cpuinfo', 'utf8').match(/\b(avx512_vnni|avx_vnni)\b/g) ?? ['no VNNI'])].join(' ');
log(`${m0.model}, Node ${m0.node}, ${vnni}, commit ${m0.commit}; ${rt.features.simd} build, 1 thread; calibration ${calibration.length} lines, test ${test.length}`);

async function score(model, part) {
  const hyps = [];
  for (const l of part) {
    const out = Object.values(await model.run(feeds(l)))[0];
    hyps.push(ctcGreedyDecode(out.data, out.dims, dict)[0].text);
  }
  return scoreReadings(part.map((l) => l.label), hyps);
}

const median = (v) => [...v].sort((a, b) => a - b)[v.length >> 1];
/** per test line, each model `reps` times in turn; the sum over lines of each model's median ms */
async function endToEnd(models) {
  const part = test.slice(0, Number(values['time-lines']));
  const sums = models.map(() => 0);
  for (const m of models) await m.run(feeds(part[0]));
  for (const l of part) {
    const f = feeds(l), t = models.map(() => []);
    for (let r = 0; r < Number(values.reps); r++) {
      for (const [i, m] of models.entries()) {
        const t0 = performance.now();
        await m.run(f);
        t[i].push(performance.now() - t0);
      }
    }
    t.forEach((v, i) => (sums[i] += median(v)));
  }
  return sums.map((s) => s / part.length);
}

const load0 = (await import('node:os')).loadavg()[0];
let t0 = performance.now();
const dense = await quantizeModel(float, { scheme: 'int8', calibration: calibration.map(feeds) });
const denseS = (performance.now() - t0) / 1000;
const rows = [
  { config: 'float32', test: await score(float, test), mib: float.weightBytes / 2 ** 20 },
  { config: 'int8 (dense)', test: await score(dense, test), mib: dense.weightBytes / 2 ** 20, quantizeS: denseS },
];
log(`int8: ${(rows[1].test.accuracy * 100).toFixed(1)}% exact`);
const plans = [];
let table;
for (const budget of budgets) {
  t0 = performance.now();
  let q;
  try {
    q = await quantizeModel(float, {
      scheme: 'int8-sparse', calibration: calibration.map(feeds), sparsity: { latency: budget, pattern: patterns }, latencyTable: table,
      onProgress: (d, t, phase) => (d === t || phase === 'latency table') && log(`  ${phase} ${d}/${t}`),
    });
  } catch (e) {
    log(`latency ${budget}: ${e.message}`);
    rows.push({ config: `latency ${budget}`, error: e.message });
    continue;
  }
  table ??= q.prunePlan;
  const quantizeS = (performance.now() - t0) / 1000;
  const s = await score(q, test);
  log(`latency ${budget}: ${(s.accuracy * 100).toFixed(1)}% exact, ${quantizeS.toFixed(0)} s to quantize; timing end to end`);
  const [fMs, dMs, qMs] = await endToEnd([float, dense, q]);
  const p = q.prunePlan;
  const chosen = p.layers.reduce((acc, l) => ((acc[l.chosen] = (acc[l.chosen] ?? 0) + 1), acc), {});
  rows.push({ config: `int8-sparse {"sparsity":{"latency":${budget}${patterns.length > 1 || patterns[0] !== 'block4x4' ? `,"pattern":${JSON.stringify(patterns)}` : ''}}}`, test: s, mib: q.weightBytes / 2 ** 20, quantizeS, budget, searchRatio: p.us / p.denseUs, searchUs: p.us, searchDenseUs: p.denseUs, floatMs: fMs, denseMs: dMs, ms: qMs, chosen });
  plans.push({ budget, layers: p.layers.map((l) => ({ label: l.label, k: l.k, n: l.n, m: l.m, chosen: l.chosen, denseUs: l.denseUs, us: l.us, denseError: l.denseError, error: l.error, candidates: l.candidates })) });
  log(`  e2e ms/line: float32 ${fMs.toFixed(2)}, int8 ${dMs.toFixed(2)}, pruned ${qMs.toFixed(2)} (${(qMs / dMs).toFixed(3)}x of int8); search ${(p.us / p.denseUs).toFixed(3)}`);
  if (q.prunePlan !== table) q.dispose();
}
const load1 = (await import('node:os')).loadavg()[0];
if (values.json) console.log(JSON.stringify({ machine: m0, vnni, load: [load0, load1], rows, plans }, null, 2));
else {
  console.log(`${m0.model}; Node ${m0.node}; ${vnni}; commit ${m0.commit}; load ${load0.toFixed(1)} -> ${load1.toFixed(1)}; calibration ${calibration.length} lines, test ${test.length}`);
  console.log('\n| configuration | test exact | CER | weights MiB | layers chosen | search: layers µs (of dense int8) | end to end ms/line: pruned / int8 / float32 | pruned vs int8 | quantize s |');
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) {
    if (r.error) { console.log(`| ${r.config} | ${r.error} |||||||| `); continue; }
    const e2e = r.ms ? `${r.ms.toFixed(2)} / ${r.denseMs.toFixed(2)} / ${r.floatMs.toFixed(2)} | ${(r.ms / r.denseMs).toFixed(3)}x` : ' | ';
    console.log(`| ${r.config} | ${(r.test.accuracy * 100).toFixed(1)}% | ${(r.test.meanCer * 100).toFixed(2)}% | ${r.mib.toFixed(2)} | ${r.chosen ? Object.entries(r.chosen).map(([k, v]) => `${v} ${k}`).join(', ') : ''} | ${r.searchUs ? `${r.searchUs.toFixed(0)} of ${r.searchDenseUs.toFixed(0)} (${r.searchRatio.toFixed(3)})` : ''} | ${e2e} | ${r.quantizeS ? r.quantizeS.toFixed(0) : ''} |`);
  }
  for (const p of plans) {
    console.log(`\nlatency ${p.budget}: per layer (µs at M rows; error = tr(ΔW H ΔWᵀ) / tr(W H Wᵀ), dB = -10 log10)`);
    console.log('| layer | K | N | M | chosen | dense µs | chosen µs | dense int8 dB | chosen dB |');
    console.log('|---|---|---|---|---|---|---|---|---|');
    for (const l of p.layers) console.log(`| ${l.label} | ${l.k} | ${l.n} | ${l.m} | ${l.chosen} | ${l.denseUs.toFixed(1)} | ${l.us.toFixed(1)} | ${(-10 * Math.log10(l.denseError)).toFixed(1)} | ${(-10 * Math.log10(l.error)).toFixed(1)} |`);
  }
}
rt.dispose?.();
