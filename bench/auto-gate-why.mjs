// Why does auto's final gate rank a mix above int8 on its held-back inputs while unseen inputs do
// not? Per input, output SQNR against float32 of: int8 as `scheme: 'int8'` gives it (the shape rule
// keeps small layers float32), all-int8 (`speed: 'off'`: the baseline auto's search and gate compare
// against), all-int8 with its activation ranges fitted on the fit part only (are the gate's ranges
// fitted on the gate's own inputs?), and auto's mix; on the gate's inputs and on the test inputs.
//   node bench/auto-gate-why.mjs [--model det|cls|embedding|... ...] [--options '{"method":"gptq"}']
// It imports ../dist/: run `npm run build` first.

import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { createRuntime, loadModel, quantizeModel } from '../dist/index.js';
import { calibrationParts } from '../dist/model/calibration-split.js';
import { modelSets } from './auto-model-sets.mjs';

const { values } = parseArgs({ options: { model: { type: 'string', multiple: true }, options: { type: 'string', default: '{"method":"gptq"}' } } });
const rt = await createRuntime({ threads: 1 });
const sets = await modelSets(rt, new Set(values.model ?? ['det', 'embedding']));
const vnni = [...new Set(readFileSync('/proc/cpuinfo', 'utf8').match(/\b(avx512_vnni|avx_vnni)\b/g) ?? ['no VNNI'])].join(' ');
console.log(`Node ${process.version}, ${vnni}, ${rt.features.simd} build, load ${(await import('node:os')).loadavg().map((x) => x.toFixed(1)).join(' ')}`);

/** output SQNR (dB) of `q` against float32's outputs `refs`, per input */
async function perInput(q, feeds, refs) {
  const out = [];
  for (const [i, f] of feeds.entries()) {
    const b = await q.run(f);
    let sig = 0, noise = 0;
    for (const [k, t] of Object.entries(refs[i])) for (let j = 0; j < t.length; j++) (sig += t[j] ** 2), (noise += (t[j] - b[k].data[j]) ** 2);
    out.push({ sig, noise, db: 10 * Math.log10(sig / noise) });
  }
  return out;
}
const pooled = (r) => 10 * Math.log10(r.reduce((a, x) => a + x.sig, 0) / r.reduce((a, x) => a + x.noise, 0));
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;

for (const [key, s] of Object.entries(sets)) {
  const float = loadModel(rt, s.bytes);
  const part = calibrationParts(s.calibration.length);
  const of = (p) => s.calibration.filter((_, i) => part[i] === p);
  const gate = of(2), fit = of(0);
  const refsOf = async (feeds) => { const r = []; for (const f of feeds) r.push(Object.fromEntries(Object.entries(await float.run(f)).map(([k, t]) => [k, t.data.slice()]))); return r; };
  const gateRefs = await refsOf(gate), testRefs = await refsOf(s.test);
  const models = {
    'int8 (shape rule)': await quantizeModel(float, { scheme: 'int8', calibration: s.calibration }),
    'all-int8': await quantizeModel(float, { scheme: 'int8', calibration: s.calibration, speed: 'off' }),
    'all-int8, ranges from fit part': await quantizeModel(float, { scheme: 'int8', calibration: fit, speed: 'off' }),
  };
  const auto = await quantizeModel(float, { scheme: 'auto', calibration: s.calibration, ...JSON.parse(values.options) });
  models.auto = auto;
  const counts = auto.choices.reduce((m, c) => ((m[c.scheme] = (m[c.scheme] ?? 0) + 1), m), {});
  console.log(`\n## ${s.name}: calibration ${s.calibration.length} (fit ${fit.length}, search ${of(1).length}, gate ${gate.length}), test ${s.test.length}; auto ${JSON.stringify(counts)}, ${(auto.weightBytes / 2 ** 20).toFixed(3)} MiB; gate ${auto.mix.gate ? `${auto.mix.gate.outcome}: int8 ${auto.mix.gate.int8.sqnrDb.toFixed(2)} mix ${auto.mix.gate.mix.sqnrDb.toFixed(2)} dB` : '-'}`);
  const res = {};
  for (const [name, m] of Object.entries(models)) res[name] = { gate: await perInput(m, gate, gateRefs), test: await perInput(m, s.test, testRefs) };
  for (const where of ['gate', 'test']) {
    console.log(`\n${where} (${where === 'gate' ? gate.length : s.test.length} inputs) | pooled dB | mean of dB | min | max`);
    for (const [name, r] of Object.entries(res)) {
      const d = r[where].map((x) => x.db);
      console.log(`  ${name} | ${pooled(r[where]).toFixed(2)} | ${mean(d).toFixed(2)} | ${Math.min(...d).toFixed(2)} | ${Math.max(...d).toFixed(2)}`);
    }
    for (const base of ['int8 (shape rule)', 'all-int8']) {
      const diff = res.auto[where].map((x, i) => x.db - res[base][where][i].db);
      const sd = Math.sqrt(diff.reduce((a, d) => a + (d - mean(diff)) ** 2, 0) / Math.max(diff.length - 1, 1));
      console.log(`  auto - ${base}, per input: mean ${mean(diff).toFixed(2)} dB, sd ${sd.toFixed(2)}, auto wins ${diff.filter((d) => d > 0).length}/${diff.length}${diff.length <= 24 ? `: ${diff.map((d) => d.toFixed(1)).join(' ')}` : ''}`);
    }
  }
  for (const m of [float, ...Object.values(models)]) m.dispose();
}
