// The 'auto' scheme on the project's other real models, on realistic inputs split into a
// calibration part and a test part: output SQNR against float32 on the test part for int8 and
// auto, auto's size and what it chose (with its own held-back check).
//   node bench/auto-models.mjs [--model det|cls|embedding|alexa|hey_jarvis|hey_mycroft|timer ...] [--json]
// It imports ../dist/ and ../packages/cli/dist/: run `npm run build` first.
//
// Inputs: the detector, synthetic text pages (as test/real-models.test.ts makes them); the angle
// classifier, the project's labelled text lines (clsInput); the embedding model, windows of mel
// frames of the committed wake-word clips (packages/cli/data/wakeword, through the float
// melspectrogram model); the heads, windows of those windows' embeddings. Clips alternate between
// calibration and test; pages and lines likewise.

import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { createRuntime, loadModel, quantizeModel } from '../dist/index.js';
import { modelSets } from './auto-model-sets.mjs';

const { values } = parseArgs({ options: { model: { type: 'string', multiple: true }, json: { type: 'boolean', default: false }, options: { type: 'string', default: '{"method":"gptq"}' } } });
const rt = await createRuntime({ threads: 1 });
const vnni = [...new Set(readFileSync('/proc/cpuinfo', 'utf8').match(/\b(avx512_vnni|avx_vnni)\b/g) ?? ['no VNNI'])].join(' ');
console.error(`Node ${process.version}, ${vnni}, ${rt.features.simd} build, 1 thread, load ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);

const sets = await modelSets(rt, new Set(values.model ?? ['cls', 'det', 'embedding', 'alexa', 'hey_jarvis', 'hey_mycroft', 'timer']));

async function sqnr(float, q, feeds) {
  let sig = 0, noise = 0;
  for (const f of feeds) {
    const a = await float.run(f), b = await q.run(f);
    for (const k of Object.keys(a)) for (let i = 0; i < a[k].data.length; i++) (sig += a[k].data[i] ** 2), (noise += (a[k].data[i] - b[k].data[i]) ** 2);
  }
  return noise === 0 ? Infinity : 10 * Math.log10(sig / noise);
}

const rows = [];
for (const [key, s] of Object.entries(sets)) {
  if (!s.calibration.length || !s.test.length) {
    console.error(`${s.name}: no inputs (clips shorter than its window)`);
    continue;
  }
  const float = loadModel(rt, s.bytes);
  await float.run(s.test[0]);
  const int8 = await quantizeModel(float, { scheme: 'int8', calibration: s.calibration });
  const t0 = performance.now(), c0 = process.cpuUsage();
  const auto = await quantizeModel(float, { scheme: 'auto', calibration: s.calibration, ...JSON.parse(values.options) });
  const quantizeS = (performance.now() - t0) / 1000;
  const cu = process.cpuUsage(c0), quantizeCpuS = (cu.user + cu.system) / 1e6; // the machine may be shared
  const s8 = await sqnr(float, int8, s.test), sa = await sqnr(float, auto, s.test);
  const mix = auto.choices.reduce((m, c) => ((m[c.scheme] = (m[c.scheme] ?? 0) + 1), m), {});
  const row = {
    model: key, name: s.name, calibration: s.calibration.length, test: s.test.length, int8TestSqnrDb: s8, autoTestSqnrDb: sa,
    float32MiB: float.weightBytes / 2 ** 20, int8MiB: int8.weightBytes / 2 ** 20, autoMiB: auto.weightBytes / 2 ** 20, quantizeS, quantizeCpuS, mix, rounds: auto.mix.rounds,
    heldOut: auto.mix.heldOut && { inputs: auto.mix.heldOut.inputs, int8: auto.mix.heldOut.int8.sqnrDb, mix: auto.mix.heldOut.mix.sqnrDb, withinBudget: auto.mix.heldOut.withinBudget },
    fallback: auto.mix.fallback, top1Used: auto.mix.search.int8.top1 !== undefined,
    gate: auto.mix.gate && { inputs: auto.mix.gate.inputs, outcome: auto.mix.gate.outcome, int8: auto.mix.gate.int8.sqnrDb, mix: auto.mix.gate.mix.sqnrDb, paired: auto.mix.gate.paired, misses: auto.mix.gate.misses, gaveBack: auto.mix.gate.gaveBack },
    search: auto.mix.search,
    choices: auto.choices.map((c) => ({ layer: c.node.name, scheme: c.scheme, why: c.why, trials: c.trials?.map((t) => [t.scheme, t.bytes, +t.proxySqnrDb.toFixed(1), t.output && +t.output.sqnrDb.toFixed(2), t.skipped?.slice(0, 40)]) })),
  };
  rows.push(row);
  console.error(`${key}: test SQNR int8 ${s8.toFixed(2)} auto ${sa.toFixed(2)}; MiB int8 ${row.int8MiB.toFixed(3)} auto ${row.autoMiB.toFixed(3)}; ${JSON.stringify(mix)}; ${quantizeS.toFixed(0)} s (${quantizeCpuS.toFixed(0)} CPU s); fallback ${auto.mix.fallback}; rounds ${JSON.stringify(auto.mix.rounds?.map((r) => [r.changes, +r.predicted.toFixed(3), +r.search.noiseRatio.toFixed(3), r.heldOut && +r.heldOut.noiseRatio.toFixed(3), r.heldOut?.ok ?? r.search.ok]))}`);
  if (!values.json) {
    console.log(`${s.name}: calibration ${row.calibration}, test ${row.test}; test SQNR int8 ${s8.toFixed(1)} dB, auto ${sa.toFixed(1)} dB (${(sa - s8).toFixed(2)}); MiB float32 ${row.float32MiB.toFixed(3)}, int8 ${row.int8MiB.toFixed(3)}, auto ${row.autoMiB.toFixed(3)}; auto ${JSON.stringify(mix)} in ${quantizeS.toFixed(0)} s; held-back ${row.heldOut ? `${row.heldOut.mix.toFixed(1)} vs int8 ${row.heldOut.int8.toFixed(1)} dB` : '-'}; fallback ${row.fallback}; top-1 used ${row.top1Used}`);
    const g = row.gate, p = g?.paired;
    if (g) console.log(`  gate (${g.inputs} held-back inputs): ${g.outcome}; pooled int8 ${g.int8.toFixed(2)} dB, mix ${g.mix.toFixed(2)} dB${p ? `; per input mix - int8 mean ${p.meanDb.toFixed(2)} dB, sd ${p.sdDb.toFixed(2)}, 95% lower bound ${p.lowerDb.toFixed(2)}, within budget on ${p.within}/${p.inputs}` : ''}${g.misses.length ? `; misses: ${g.misses.join(' | ')}` : ''}`);
    for (const c of row.choices.filter((c) => c.scheme !== 'int8' && !c.why.startsWith('depthwise') && !c.why.includes('shape rule'))) console.log(`    ${c.layer}: ${c.why}`);
  }
  for (const m of [float, int8, auto]) m.dispose();
}
if (values.json) console.log(JSON.stringify(rows, null, 2));
