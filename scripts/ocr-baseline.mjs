// How well does the float PP-OCRv4 recognizer (onnxruntime-web, wasm, 1 thread) read lowbit's OCR
// test lines (packages/cli/data/ocr-lines/)? Prints exact-match accuracy and mean CER over the set and
// per font, and every line it reads wrongly. Needs the compiled code: npm run build:ts && npm run build:cli
//
// Usage: node scripts/ocr-baseline.mjs [--batch N] [--dir DIR] [--model FILE] [--json]
//   --batch N   lines per run, sorted by width and padded with mid-grey to the batch's widest
//               (default 1: every line at its own width)
import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-web';
import { toModelInput, ctcGreedyDecode, scoreReadings, characterErrorRate } from '../dist/ocr.js';
import { loadOcrLines } from '../packages/cli/dist/ocr-lines.js';
import { loadDictionary, ocrModelAsset } from '../packages/cli/dist/ocr-assets.js';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const batch = Number(opt('--batch', '1'));
if (!Number.isInteger(batch) || batch < 1) throw new Error(`--batch must be a positive integer, got ${opt('--batch')}`);
const dir = opt('--dir', undefined);
const modelPath = opt('--model', ocrModelAsset('ch_PP-OCRv4_rec_infer.onnx'));
const asJson = args.includes('--json');

ort.env.wasm.numThreads = 1;
ort.env.logLevel = 'error';
const session = await ort.InferenceSession.create(readFileSync(modelPath), { executionProviders: ['wasm'] });
const dict = loadDictionary();
const lines = loadOcrLines(dir);

const order = lines.map((_, i) => i).sort((a, b) => lines[a].width - lines[b].width || a - b);
const hyps = new Array(lines.length);
const confs = new Array(lines.length);
const t0 = performance.now();
for (let s = 0; s < order.length; s += batch) {
  const idx = order.slice(s, s + batch);
  const input = toModelInput(idx.map((i) => lines[i]));
  const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', input.data, input.dims) };
  const out = (await session.run(feeds))[session.outputNames[0]];
  const readings = ctcGreedyDecode(out.data, out.dims, dict);
  idx.forEach((i, k) => {
    hyps[i] = readings[k].text;
    confs[i] = readings[k].confidence;
  });
}
const seconds = (performance.now() - t0) / 1000;

const refs = lines.map((l) => l.label);
const total = scoreReadings(refs, hyps);
const fonts = [...new Set(lines.map((l) => l.font))];
const perFont = Object.fromEntries(
  fonts.map((f) => {
    const ids = lines.map((l, i) => (l.font === f ? i : -1)).filter((i) => i >= 0);
    return [f, scoreReadings(ids.map((i) => refs[i]), ids.map((i) => hyps[i]))];
  }),
);
const wrong = lines
  .map((l, i) => ({ file: l.file, font: l.font, label: l.label, read: hyps[i], cer: characterErrorRate(l.label, hyps[i]), confidence: confs[i] }))
  .filter((r) => r.label !== r.read);

if (asJson) {
  console.log(JSON.stringify({ model: modelPath, batch, seconds, total, perFont, wrong }, null, 2));
} else {
  const fmt = (s) => `${s.exactMatches}/${s.count} exact (${(100 * s.accuracy).toFixed(1)}%), mean CER ${(100 * s.meanCer).toFixed(2)}%`;
  console.log(`PP-OCRv4 rec float32, onnxruntime-web ${ort.env.versions?.web ?? ''} wasm 1 thread, batch ${batch}, ${seconds.toFixed(1)} s`);
  console.log(`all: ${fmt(total)}`);
  for (const f of fonts) console.log(`  ${f.padEnd(16)} ${fmt(perFont[f])}`);
  console.log(`wrong (${wrong.length}):`);
  for (const w of wrong) {
    console.log(`  ${w.file} ${w.font.padEnd(16)} ${JSON.stringify(w.label)} -> ${JSON.stringify(w.read)}  cer ${w.cer.toFixed(3)} conf ${w.confidence.toFixed(3)}`);
  }
}
