#!/usr/bin/env node
// Accuracy of quantization schemes on the PP-OCRv4 recognizer, on a calibration/test split of the
// project's labelled lines (packages/cli/src/ocr-split.ts: every font in both parts, no line in
// both): each configuration is calibrated on the calibration part and scored on the test part
// (exact match and character error rate against the labels, beside float32), with its weight size
// and the time quantizeModel took. Speed is not measured here (bench/models.mjs does that).
//
//   node bench/accuracy.mjs                                  the default configurations
//   node bench/accuracy.mjs --config int8 --config 'int4 {"method":"gptq"}'
//   node bench/accuracy.mjs --lines 80 --json               a quick look; machine-readable rows
//   node bench/accuracy.mjs --sqnr --config int8             also the output SQNR vs float32 on the test part
//   node bench/accuracy.mjs --calibrate-fonts DejaVuSans,LiberationSerif
//                                                            a split by font: calibrate on every 2nd line of those
//                                                            fonts (66 lines), test on every line of the other fonts
//   node bench/accuracy.mjs --unseen                         also score every model on packages/cli/data/ocr-unseen/:
//                                                            fonts and conditions (size, blur, noise, contrast) the
//                                                            calibration lines never have (scripts/render-ocr-unseen.sh)
//   node bench/accuracy.mjs --speed --config int8 --config int8-dynamic
//                                                            also each model's time per line in this run: rounds over the
//                                                            same 16 test lines, the models interleaved, least CPU and wall
//                                                            time of 5 rounds (one thread; the machine may be shared)
//   node bench/accuracy.mjs --config 'int8-dynamic {"uncalibrated":true}'
//                                                            a calibration-free scheme quantized without calibration
//                                                            inputs (without them the int8 shape rule sees K and N only)
//
// A configuration is a scheme name, optionally followed by a JSON object of quantizeModel options.
// It imports ../dist/ and ../packages/cli/dist/: run `npm run build` first.

import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { createRuntime, loadModel, quantizeModel } from '../dist/index.js';
import { ctcGreedyDecode, scoreReadings, toModelInput } from '../dist/ocr.js';
import { loadOcrLines } from '../packages/cli/dist/ocr-lines.js';
import { splitOcrLines } from '../packages/cli/dist/ocr-split.js';
import { loadDictionary, ocrModelAsset } from '../packages/cli/dist/ocr-assets.js';
import { machine } from './system.mjs';

const DEFAULT_CONFIGS = ['int8', 'int4', 'fp8', 'ant4', 'nf4', 'auto'];

const { values } = parseArgs({
  options: {
    config: { type: 'string', multiple: true },
    lines: { type: 'string' },
    every: { type: 'string', default: '4' },
    json: { type: 'boolean', default: false },
    sqnr: { type: 'boolean', default: false },
    unseen: { type: 'boolean', default: false },
    'calibrate-fonts': { type: 'string' },
    speed: { type: 'boolean', default: false },
  },
});

/** 'int4 {"method":"gptq"}' -> { scheme: 'int4', options: { method: 'gptq' }, label }; "ocrMetric": true passes the demo's task metric (lines read as float32 reads them) */
function parseConfig(text) {
  const space = text.indexOf(' ');
  const scheme = space < 0 ? text : text.slice(0, space);
  const { ocrMetric, uncalibrated, ...options } = space < 0 ? {} : JSON.parse(text.slice(space + 1));
  return { scheme, options: ocrMetric ? { ...options, metric: sameText } : options, label: text, uncalibrated: uncalibrated === true };
}

const rt = await createRuntime({ threads: 1 });
const dict = loadDictionary();
// the demo's metric for auto (packages/cli/src/model-demo.ts): the share of lines whose greedy reading is float32's
const text = (t) => ctcGreedyDecode(t.data, t.dims, dict)[0].text;
const sameText = { name: 'lines read as float32 reads them', score: (ref, got) => ref.filter((r, i) => text(Object.values(r)[0]) === text(Object.values(got[i])[0])).length / Math.max(ref.length, 1) };
const configs = (values.config ?? DEFAULT_CONFIGS).map(parseConfig);
let lines = loadOcrLines();
if (values.lines) lines = lines.slice(0, Number(values.lines));
/** --calibrate-fonts: fonts A calibrate (every 2nd line of each, about the default split's count), every line in the other fonts tests */
function fontSplit(names) {
  const a = new Set(names.split(',')), fonts = new Set(lines.map((l) => l.font));
  for (const f of a) if (!fonts.has(f)) throw new Error(`--calibrate-fonts: no line in font '${f}'; the fonts are ${[...fonts].join(', ')}`);
  if (a.size >= fonts.size) throw new Error('--calibrate-fonts: leave at least one font to test on');
  return { calibration: splitOcrLines(lines.filter((l) => a.has(l.font)), 2).calibration, test: lines.filter((l) => !a.has(l.font)) };
}
const { calibration, test } = values['calibrate-fonts'] ? fontSplit(values['calibrate-fonts']) : splitOcrLines(lines, Number(values.every));
const splitNote = values['calibrate-fonts'] ? `; split by font: calibration in ${values['calibrate-fonts']}, test in ${[...new Set(test.map((l) => l.font))].join(',')}` : '';
// lines in fonts and conditions calibration never sees (font column "font/condition")
const unseen = values.unseen ? loadOcrLines(new URL('../packages/cli/data/ocr-unseen/', import.meta.url)) : [];
const feeds = (l) => ({ x: toModelInput([l]) });
const float = loadModel(rt, new Uint8Array(readFileSync(ocrModelAsset('ch_PP-OCRv4_rec_infer.onnx'))));

// --sqnr: float32's outputs on the test part, and each model's output SQNR against them (dB, over all lines)
const floatOuts = new Map();
let noise = 0, signal = 0;

async function score(model, part) {
  const hyps = [];
  for (const l of part) {
    const out = Object.values(await model.run(feeds(l)))[0];
    hyps.push(ctcGreedyDecode(out.data, out.dims, dict)[0].text);
    if (values.sqnr && part !== calibration) {
      const ref = floatOuts.get(l) ?? (floatOuts.set(l, out.data), out.data);
      for (let i = 0; i < ref.length; i++) ((signal += ref[i] * ref[i]), (noise += (out.data[i] - ref[i]) ** 2));
    }
  }
  return { ...scoreReadings(part.map((l) => l.label), hyps), hyps };
}
/** the test part's score, and with --sqnr its output SQNR vs float32; with --unseen the same on the unseen set, and exact per condition there */
async function scoreTest(model) {
  noise = signal = 0;
  const s = await score(model, test);
  const out = values.sqnr ? { ...s, sqnrDb: 10 * Math.log10(signal / noise) } : s;
  if (!values.unseen) return out;
  noise = signal = 0;
  const u = await score(model, unseen);
  const byCondition = {};
  for (const c of new Set(unseen.map((l) => l.font.split('/')[1]))) {
    const at = unseen.flatMap((l, i) => (l.font.endsWith(`/${c}`) ? [i] : []));
    byCondition[c] = scoreReadings(at.map((i) => unseen[i].label), at.map((i) => u.hyps[i])).accuracy;
  }
  return { ...out, unseen: { exact: u.accuracy, cer: u.meanCer, ...(values.sqnr && { sqnrDb: 10 * Math.log10(signal / noise) }), byCondition } };
}

const row = (label, s, c, weightBytes, quantizeS, extra) => ({
  config: label, testExact: s.accuracy, testCer: s.meanCer, ...(s.unseen && { unseen: s.unseen }), calibrationExact: c.accuracy, weightMiB: weightBytes / 2 ** 20, quantizeS, ...(s.sqnrDb !== undefined && { sqnrDb: s.sqnrDb }), ...extra,
});
/** --speed: the models kept for timing, [label, model] */
const timed = [['float32', float]];
/** least CPU and wall ms per line of each kept model over 5 rounds of the same 16 test lines, models interleaved within a round */
async function timeModels() {
  const part = test.slice(0, 16).map(feeds), best = new Map(timed.map(([label]) => [label, { cpu: Infinity, wall: Infinity }]));
  for (const [, m] of timed) for (const f of part.slice(0, 2)) await m.run(f); // plans and first-run costs out of the way
  for (let r = 0; r < 5; r++) {
    for (const [label, m] of timed) {
      const c0 = process.cpuUsage(), t0 = performance.now();
      for (const f of part) await m.run(f);
      const cu = process.cpuUsage(c0), b = best.get(label);
      b.cpu = Math.min(b.cpu, (cu.user + cu.system) / 1000 / part.length);
      b.wall = Math.min(b.wall, (performance.now() - t0) / part.length);
    }
  }
  for (const row of rows) if (best.has(row.config)) row.speed = best.get(row.config);
  const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  log(`speed (ms per line, least of 5 rounds over 16 test lines, models interleaved; load average ${load}):`);
  const ref = best.get(timed.find(([l]) => l === 'int8')?.[0] ?? 'float32');
  for (const [label] of timed) {
    const b = best.get(label);
    log(`  ${label}: CPU ${b.cpu.toFixed(2)} ms/line, wall ${b.wall.toFixed(2)} ms/line (CPU x${(b.cpu / ref.cpu).toFixed(3)} of ${timed.some(([l]) => l === 'int8') ? 'int8' : 'float32'})`);
  }
}
const rows = [row('float32', await scoreTest(float), await score(float, calibration), float.weightBytes, 0)];
const log = (s) => values.json || console.error(s);
const m0 = machine(), vnni = readFileSync('/proc/cpuinfo', 'utf8').match(/\b(avx512_vnni|avx_vnni)\b/g);
log(`${m0.model}, Node ${m0.node}, ${[...new Set(vnni ?? ['no VNNI'])].join(' ')}, commit ${m0.commit}; ${rt.features.simd} build; PP-OCRv4 recognizer; calibration ${calibration.length} lines, test ${test.length} lines${splitNote}`);
const unseenNote = (r) => (r.unseen ? `; unseen ${(r.unseen.exact * 100).toFixed(1)}% exact (${Object.entries(r.unseen.byCondition).map(([k, v]) => `${k} ${(v * 100).toFixed(0)}%`).join(', ')})` : '');
log(`float32: test ${(rows[0].testExact * 100).toFixed(1)}% exact${unseenNote(rows[0])}`);
for (const c of configs) {
  const t0 = performance.now(), c0 = process.cpuUsage();
  const m = await quantizeModel(float, { scheme: c.scheme, ...(!c.uncalibrated && { calibration: calibration.map(feeds) }), ...c.options });
  const quantizeS = (performance.now() - t0) / 1000;
  const cu = process.cpuUsage(c0), quantizeCpuS = (cu.user + cu.system) / 1e6; // the machine may be shared: CPU seconds hold better than wall time
  const mix = m.choices ? m.choices.reduce((acc, x) => ((acc[x.scheme] = (acc[x.scheme] ?? 0) + 1), acc), {}) : undefined;
  rows.push(row(c.label, await scoreTest(m), await score(m, calibration), m.weightBytes, quantizeS, { quantizeCpuS, ...(mix && { mix }) }));
  log(`${c.label}: test ${(rows.at(-1).testExact * 100).toFixed(1)}% exact${unseenNote(rows.at(-1))} (${quantizeS.toFixed(1)} s to quantize, ${quantizeCpuS.toFixed(1)} CPU s)`);
  // the auto search's own figures: logit SQNR of all-int8 and of the mix on its search and held-back inputs
  const x = m.mix, db = (s) => `${s.sqnrDb.toFixed(2)} dB${s.top1 === undefined ? "" : ` top-1 ${(s.top1 * 100).toFixed(2)}%`}`;
  if (x?.speed) log(`  speed (${x.speed.from}): searched layers ${x.speed.ms.toFixed(2)} ms vs all-int8 ${x.speed.int8Ms.toFixed(2)} ms (x${(x.speed.ms / x.speed.int8Ms).toFixed(3)}, allowed x${(1 + x.speed.maxSlowdown).toFixed(3)})`);
  if (x) log(`  search (${x.search.inputs} lines): int8 ${db(x.search.int8)}, mix ${db(x.search.mix)}${x.heldOut ? `; held back (${x.heldOut.inputs}): int8 ${db(x.heldOut.int8)}, mix ${db(x.heldOut.mix)}, ${x.heldOut.checks} checks` : ''}; fallback ${x.fallback}; ${(x.bytes / 2 ** 20).toFixed(2)} MiB`);
  const gs = (s) => `${s.inputs} lines all frames, ${s.frames}/${s.totalFrames} frames, logits ${s.sqnrDb.toFixed(2)} dB${s.outputSqnrDb === undefined ? '' : `, softmax ${s.outputSqnrDb.toFixed(2)} dB`}${s.marginLoss === undefined ? '' : `, margin loss ${s.marginLoss.toFixed(2)}`}${s.metric === undefined ? '' : `, metric ${s.metric.toFixed(4)}`}`;
  const pg = x?.gate?.paired;
  if (pg) log(`  gate per line, mix - int8 logit SQNR: mean ${pg.meanDb.toFixed(2)} dB, sd ${pg.sdDb.toFixed(2)}, 95% lower bound ${pg.lowerDb.toFixed(2)}, within budget on ${pg.within}/${pg.inputs}`);
  if (x?.gate) log(`  gate (${x.gate.inputs} lines): int8 ${gs(x.gate.int8)}; mix ${gs(x.gate.mix)}; ${x.gate.outcome}${x.gate.gaveBack.length ? ` (gave back ${x.gate.gaveBack.join(', ')})` : ''}; ${x.gate.checks} checks${x.gate.misses.length ? `; misses: ${x.gate.misses.join(' | ')}` : ''}`);
  for (const [i, r] of (x?.rounds ?? []).entries()) log(`  round ${i + 1}: factor ${r.factor.toFixed(2)}, ${r.changes} changes, ${(r.bytes / 2 ** 20).toFixed(2)} MiB, noise vs int8 predicted x${r.predicted.toFixed(3)}, search x${r.search.noiseRatio.toFixed(3)}${r.search.ok ? '' : ' (miss)'}${r.heldOut ? `, held back x${r.heldOut.noiseRatio.toFixed(3)}${r.heldOut.ok ? '' : ' (miss)'}` : ''}`);
  if (values.speed) timed.push([c.label, m]);
  else m.dispose?.();
}
if (values.speed) await timeModels();
if (values.json) console.log(JSON.stringify({ machine: machine(), calibration: calibration.length, test: test.length, unseen: unseen.length, rows }, null, 2));
else {
  const f = rows[0];
  console.log(`${m0.model}; ${m0.cores} cores; Node ${m0.node}; ${[...new Set(vnni ?? ['no VNNI'])].join(' ')}; commit ${m0.commit}; calibration ${calibration.length} lines, test ${test.length} lines${splitNote}`);
  const sq = values.sqnr ? ' output SQNR dB |' : '';
  console.log(`\n| configuration | test exact | vs float32 | test CER | calibration exact | weights MiB | quantize s |${sq}`);
  console.log(`|---|---|---|---|---|---|---|${sq ? '---|' : ''}`);
  for (const r of rows) {
    const pts = ((r.testExact - f.testExact) * 100).toFixed(1);
    console.log(`| ${r.config}${r.mix ? ` (${Object.entries(r.mix).map(([k, v]) => `${v} ${k}`).join(', ')})` : ''} | ${(r.testExact * 100).toFixed(1)}% | ${r === f ? '' : pts} | ${(r.testCer * 100).toFixed(2)}% | ${(r.calibrationExact * 100).toFixed(1)}% | ${r.weightMiB.toFixed(2)} | ${r.quantizeS.toFixed(1)} |${sq ? ` ${r === f ? '' : r.sqnrDb.toFixed(2)} |` : ''}`);
  }
  if (values.unseen) {
    const conds = Object.keys(f.unseen.byCondition);
    console.log(`\nunseen fonts and conditions (${unseen.length} lines, packages/cli/data/ocr-unseen/):\n`);
    console.log(`| configuration | unseen exact | vs float32 | unseen CER |${values.sqnr ? ' output SQNR dB |' : ''} ${conds.join(' | ')} |`);
    console.log(`|---|---|---|---|${values.sqnr ? '---|' : ''}${conds.map(() => '---|').join('')}`);
    for (const r of rows) {
      const u = r.unseen;
      console.log(`| ${r.config} | ${(u.exact * 100).toFixed(1)}% | ${r === f ? '' : ((u.exact - f.unseen.exact) * 100).toFixed(1)} | ${(u.cer * 100).toFixed(2)}% |${values.sqnr ? ` ${r === f ? '' : u.sqnrDb.toFixed(2)} |` : ''} ${conds.map((c) => `${(u.byCondition[c] * 100).toFixed(0)}%`).join(' | ')} |`);
    }
  }
}
rt.dispose?.();
