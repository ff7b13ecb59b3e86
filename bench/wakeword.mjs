// Wake-word measures (issue 13 item 3), on the committed clips (packages/cli/data/wakeword):
//   1. lowbit's pipeline against the same pipeline on onnxruntime-web: per clip and wake word,
//      detected or not, and the largest per-chunk score difference;
//   2. false accepts and false rejects per scheme (onnxruntime-web, lowbit float32, lowbit int8:
//      quantizeModel int8 on the embedding CNN and the heads, calibrated on a few clips);
//   3. CPU time per 80 ms chunk, 1 thread, medians (per stage too). On a shared machine wall time
//      counts the waits for a core; CPU time does not.
// A stage lowbit cannot load and run yet (a LowbitError: an operator it lacks or has only in part)
// runs on onnxruntime-web in every pipeline, and the report says so.
//
// Usage: npx tsc -p tsconfig.json && node bench/wakeword.mjs [--quick] [--timing-rounds N]
//   --quick: every 4th clip, fewer timing rounds

import { cpus } from 'node:os';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { createRuntime, loadModel, quantizeModel } from '../dist/index.js';
import { createWakeWordDetector, detectClip } from '../dist/wakeword.js';
import { HEAD_FILES, loadManifest, lowbitStage, ortStage, readClip } from './wakeword-lib.mjs';

const { values: args } = parseArgs({ options: { quick: { type: 'boolean', default: false }, 'timing-rounds': { type: 'string' } } });
const TIMING_ROUNDS = Number(args['timing-rounds'] ?? (args.quick ? 1 : 3));
const STAGE_FILES = { melspectrogram: 'melspectrogram.onnx', embedding: 'embedding_model.onnx', ...HEAD_FILES };

const rt = await createRuntime({ threads: 1 });
const manifest = loadManifest().filter((_, i) => !args.quick || i % 4 === 0);
const clips = manifest.map((c) => ({ ...c, samples: readClip(c.file) }));

// ---- the stages: onnxruntime-web for all; lowbit where it loads ---------------------------------
const ort = {};
const lowbit = {};
const fallback = {};
for (const [name, file] of Object.entries(STAGE_FILES)) {
  ort[name] = await ortStage(file);
  const r = await lowbitStage(rt, loadModel, file);
  lowbit[name] = r.model ?? ort[name];
  if (r.why) fallback[name] = r.why;
}

const headsOf = (stages) => Object.fromEntries(Object.keys(HEAD_FILES).map((n) => [n, { model: stages[n], window: ort[n].window }]));
const detectorOf = (stages) => createWakeWordDetector({ melspectrogram: stages.melspectrogram, embedding: stages.embedding, heads: headsOf(stages) });

// ---- int8: calibrate the embedding CNN and the heads on what they see in a few clean clips -------
/** A stage that keeps (a sample of) the inputs it is run on. */
function recording(stage, kept) {
  return { inputNames: stage.inputNames, outputNames: stage.outputNames, run: (feeds) => { kept.push(Object.values(feeds)[0]); return stage.run(feeds); } };
}
const calibrationClips = clips.filter((c) => c.snr === null).filter((_, i) => i % 5 === 0).slice(0, 6);
const seen = Object.fromEntries(Object.keys(STAGE_FILES).map((n) => [n, []]));
const recorder = await detectorOf(Object.fromEntries(Object.entries(lowbit).map(([n, s]) => [n, recording(s, seen[n])])));
for (const c of calibrationClips) await detectClip(recorder, c.samples);
const int8 = { ...lowbit };
const quantized = [];
for (const name of Object.keys(STAGE_FILES)) {
  if (name === 'melspectrogram' || fallback[name]) continue; // the STFT stays float32; ORT stages are ORT's
  const feeds = seen[name].filter((_, i, a) => i % Math.max(1, Math.floor(a.length / 48)) === 0).map((t) => ({ [lowbit[name].inputNames[0]]: { type: 'float32', data: Float32Array.from(t.data), dims: [...t.dims] } }));
  int8[name] = await quantizeModel(lowbit[name], { scheme: 'int8', calibration: feeds });
  quantized.push(`${name} (${feeds.length} inputs)`);
}

// ---- detections and scores per pipeline --------------------------------------------------------
async function runAll(stages) {
  const detector = await detectorOf(stages);
  const out = [];
  for (const c of clips) out.push(await detectClip(detector, c.samples));
  return out;
}
const pipelines = { 'onnxruntime-web': ort, 'lowbit float32': lowbit, 'lowbit int8': int8 };
const results = {};
for (const [name, stages] of Object.entries(pipelines)) {
  const t0 = performance.now();
  results[name] = await runAll(stages);
  console.error(`${name}: ${clips.length} clips in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

const heads = Object.keys(HEAD_FILES);
function errors(res) {
  let fa = 0, fr = 0, pos = 0, negPairs = 0;
  res.forEach((r, i) => r.forEach((h) => {
    const expected = clips[i].wakeWord === h.name;
    const detected = h.detections.length > 0;
    if (expected) { pos++; if (!detected) fr++; } else { negPairs++; if (detected) fa++; }
  }));
  return { fa, fr, pos, negPairs };
}
function agreement(res, ref) {
  let same = 0, total = 0, maxDiff = 0, worst = '';
  res.forEach((r, i) => r.forEach((h, j) => {
    total++;
    if ((h.detections.length > 0) === (ref[i][j].detections.length > 0)) same++;
    h.scores.forEach((s, k) => {
      const d = Math.abs(s - ref[i][j].scores[k]);
      if (d > maxDiff) { maxDiff = d; worst = `${clips[i].file} ${h.name}`; }
    });
  }));
  return { same, total, maxDiff, worst };
}

// ---- CPU time per chunk -----------------------------------------------------------------------
/** A stage that adds its CPU time (ms, this process: both runtimes run on this thread) to `ms[name]`. */
function timed(stage, name, ms) {
  return {
    inputNames: stage.inputNames,
    outputNames: stage.outputNames,
    run: async (feeds) => {
      const u = process.cpuUsage();
      const r = await stage.run(feeds);
      const du = process.cpuUsage(u);
      ms[name] += (du.user + du.system) / 1000;
      return r;
    },
  };
}
const median = (a) => { const s = [...a].sort((x, y) => x - y); return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };
async function timing(stages) {
  const ms = Object.fromEntries(Object.keys(STAGE_FILES).map((n) => [n, 0]));
  const detector = await detectorOf(Object.fromEntries(Object.entries(stages).map(([n, s]) => [n, timed(s, n, ms)])));
  const audio = clips.find((c) => c.wakeWord === 'hey_jarvis').samples;
  const chunks = [];
  for (let off = 0; off + 1280 <= audio.length; off += 1280) chunks.push(audio.subarray(off, off + 1280));
  for (const c of chunks.slice(0, 8)) await detector.push(c); // warm up: plans, arenas, JIT
  const cpu = [], wall = [];
  const perStage = Object.fromEntries(Object.keys(ms).map((n) => [n, []]));
  for (let r = 0; r < TIMING_ROUNDS; r++) {
    for (const c of chunks) {
      for (const n of Object.keys(ms)) ms[n] = 0;
      const u = process.cpuUsage(), t = performance.now();
      await detector.push(c);
      const du = process.cpuUsage(u);
      wall.push(performance.now() - t);
      cpu.push((du.user + du.system) / 1000);
      for (const n of Object.keys(ms)) perStage[n].push(ms[n]);
    }
  }
  return { cpu: median(cpu), wall: median(wall), stages: Object.fromEntries(Object.entries(perStage).map(([n, a]) => [n, median(a)])), n: cpu.length };
}
const times = {};
for (const [name, stages] of Object.entries(pipelines)) times[name] = await timing(stages);

// ---- report -----------------------------------------------------------------------------------
const flags = (readFileSync('/proc/cpuinfo', 'utf8').match(/\b(avx_vnni|avx512_vnni)\b/g) ?? []).filter((v, i, a) => a.indexOf(v) === i);
const nPos = clips.filter((c) => c.wakeWord).length;
console.log(`## Wake word (openWakeWord pipeline), ${clips.length} clips (${nPos} positive, ${clips.length - nPos} negative), heads: ${heads.join(', ')}\n`);
console.log(`Machine: ${cpus()[0].model}, ${cpus().length} cores shared; CPU flags: ${flags.join(' ') || 'no avx_vnni / avx512_vnni'}; Node ${process.version}; lowbit ${rt.features.simd} build; 1 thread (lowbit and onnxruntime-web).`);
console.log(`Command: node bench/wakeword.mjs${args.quick ? ' --quick' : ''}\n`);
for (const [n, why] of Object.entries(fallback)) console.log(`- ${n}: runs on onnxruntime-web in every pipeline (lowbit: ${why})`);
console.log(`- int8: quantizeModel(…, { scheme: 'int8' }) on ${quantized.join(', ')}; calibration: ${calibrationClips.map((c) => c.file).join(', ')}\n`);
console.log('| pipeline | detections = onnxruntime-web | max score diff (per chunk) | false accepts (clip × other head) | false rejects (positive clips) | CPU ms / chunk | wall ms / chunk | mel / embedding / heads, CPU ms |');
console.log('|---|---|---|---|---|---|---|---|');
for (const name of Object.keys(pipelines)) {
  const e = errors(results[name]);
  const a = agreement(results[name], results['onnxruntime-web']);
  const t = times[name];
  const headMs = heads.reduce((s, h) => s + t.stages[h], 0);
  console.log(`| ${name} | ${a.same}/${a.total} | ${a.maxDiff.toExponential(2)} | ${e.fa}/${e.negPairs} | ${e.fr}/${e.pos} | ${t.cpu.toFixed(2)} | ${t.wall.toFixed(2)} | ${t.stages.melspectrogram.toFixed(2)} / ${t.stages.embedding.toFixed(2)} / ${headMs.toFixed(2)} |`);
}
console.log(`\nCPU and wall time: medians over ${times['onnxruntime-web'].n} chunks (one clip's chunks × ${TIMING_ROUNDS}), after 8 warm-up chunks.`);
for (const name of Object.keys(pipelines)) {
  const a = agreement(results[name], results['onnxruntime-web']);
  if (a.maxDiff > 0) console.log(`- ${name}: largest score difference on ${a.worst}`);
}
console.log('\nPer clip (max score per head; * = detected):\n');
console.log(`| clip | expected | ${Object.keys(pipelines).join(' | ')} |`);
console.log(`|---|---|${Object.keys(pipelines).map(() => '---').join('|')}|`);
clips.forEach((c, i) => {
  const cell = (res) => res[i].map((h) => `${h.maxScore.toFixed(2)}${h.detections.length ? '*' : ''}`).join(' ');
  console.log(`| ${c.file} | ${c.wakeWord ?? '-'} | ${Object.keys(pipelines).map((n) => cell(results[n])).join(' | ')} |`);
});
for (const s of Object.values(ort)) await s.release();
