// The built-in real model end to end: PP-OCRv4's recognizer imported from ONNX must reproduce
// onnxruntime-web in float32, and the int8 scheme must keep its accuracy on the committed lines.

import { readFileSync } from 'node:fs';
import onnxproto from 'onnx-proto';
import * as ort from 'onnxruntime-web';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModel, quantizeModel, type Model } from '../src/index.js';
import { ctcGreedyDecode, loadDictionary, ocrModelAsset, scoreReadings } from '../src/model/ocr/ctc.js';
import { loadOcrLines, toModelInput, type OcrLine } from '../src/model/ocr/data.js';
import { SIMD, useRuntimes } from './helpers.js';

const rts = useRuntimes();
const bytes = new Uint8Array(readFileSync(ocrModelAsset('ch_PP-OCRv4_rec_infer.onnx')));
const lines = loadOcrLines();
const dict = loadDictionary();
const feeds = (l: OcrLine) => ({ x: toModelInput([l]) });
let float: Model;
let session: ort.InferenceSession;
let logitsName = '';

beforeAll(async () => {
  float = loadModel(rts.one, bytes);
  ort.env.wasm.numThreads = 1;
  // the oracle also returns the logits: the input of the final Softmax becomes a graph output
  const mp = onnxproto.onnx.ModelProto.decode(bytes);
  logitsName = mp.graph!.node!.find((n) => n.output![0] === mp.graph!.output![0].name)!.input![0];
  mp.graph!.output!.push(onnxproto.onnx.ValueInfoProto.create({ name: logitsName }));
  session = await ort.InferenceSession.create(onnxproto.onnx.ModelProto.encode(mp).finish());
});
afterAll(() => float?.dispose());

describe(`PP-OCRv4 recognizer (${SIMD} build)`, () => {
  // Measured on these lines: max |diff| 1.5e-4 on the probabilities and 6.3e-4 on logits up to
  // 41.7 in magnitude (1.5e-5 of it; a float32 ulp there is 3.8e-6). The differences are
  // summation order and activation rounding compounding over ~40 layers; without lowbit's
  // Conv+activation fusion they are 5e-5 and 2.2e-4. The budgets below leave ~1.5x margin.
  it('float32 reproduces onnxruntime-web: same decoded text, probabilities within 2.5e-4, logits within 2.5e-5 of their range', async () => {
    const sample = lines.filter((_, i) => i % 22 === 0);
    let worstP = 0, worstL = 0, range = 0;
    for (const l of sample) {
      const x = toModelInput([l]);
      const ref = await session.run({ x: new ort.Tensor('float32', x.data, [...x.dims]) });
      const want = ref[float.outputNames[0]], wantLogits = ref[logitsName].data as Float32Array;
      let logits: Float32Array | null = null;
      const got = Object.values(await float.run({ x }, { onStep: (step, v) => { if (step.outs[0].name === logitsName) logits = Float32Array.from(v[0]); } }))[0];
      expect(got.dims).toEqual(want.dims);
      const w = want.data as Float32Array;
      for (let i = 0; i < w.length; i++) {
        worstP = Math.max(worstP, Math.abs(w[i] - got.data[i]));
        worstL = Math.max(worstL, Math.abs(wantLogits[i] - logits![i]));
        range = Math.max(range, Math.abs(wantLogits[i]));
      }
      expect(ctcGreedyDecode(got.data, got.dims, dict)[0].text).toBe(ctcGreedyDecode(w, want.dims, dict)[0].text);
    }
    expect(worstP).toBeLessThanOrEqual(2.5e-4);
    expect(worstL).toBeLessThanOrEqual(2.5e-5 * range);
  });

  it('without the Conv+activation fusion it is closer still: probabilities within 1e-4', async () => {
    const plain = loadModel(rts.one, bytes, { fuse: false });
    let worst = 0;
    for (const l of lines.filter((_, i) => i % 44 === 0)) {
      const x = toModelInput([l]);
      const w = (await session.run({ x: new ort.Tensor('float32', x.data, [...x.dims]) }))[float.outputNames[0]].data as Float32Array;
      const got = Object.values(await plain.run({ x }))[0].data;
      for (let i = 0; i < w.length; i++) worst = Math.max(worst, Math.abs(w[i] - got[i]));
    }
    plain.dispose();
    expect(worst).toBeLessThanOrEqual(1e-4);
  });

  it('the load-time rewrites fire on this model (BatchNorm, affines, activations, LayerNorm, Conv fusion, attention)', () => {
    expect(float.fusions.foldedBatchNorms).toBe(6);
    expect(float.fusions.layerNorms).toBe(5);
    expect(float.fusions.attentions).toBe(2);
    expect(float.fusions.fusedConvs).toBeGreaterThanOrEqual(30);
  });

  it('peak memory of a run is at most 1.5x (weights + the two largest activations)', () => {
    const plan = float.plan({ x: [1, 3, 48, 320] });
    const sizes = plan.steps.flatMap((s) => s.outs.map((o) => o.bytes)).sort((a, b) => b - a);
    const bound = 1.5 * (float.weightBytes + sizes[0] + sizes[1]);
    expect(float.weightBytes + plan.arenaBytes).toBeLessThanOrEqual(bound);
    expect(plan.arenaBytes).toBeLessThan(plan.unsharedBytes / 4);
  });

  it('int8 (static, calibrated) keeps exact-match accuracy within 1 point of float32 on every committed line', async () => {
    const int8 = await quantizeModel(float, { scheme: 'int8', calibration: lines.filter((_, i) => i % 8 === 0).map(feeds) });
    const refs = lines.map((l) => l.label);
    const read = async (m: Model) => {
      const out: string[] = [];
      for (const l of lines) {
        const y = Object.values(await m.run(feeds(l)))[0];
        out.push(ctcGreedyDecode(y.data, y.dims, dict)[0].text);
      }
      return scoreReadings(refs, out);
    };
    const f = await read(float);
    const q = await read(int8);
    // the float model reads these lines well: a fair test of what quantization loses
    expect(f.accuracy).toBeGreaterThan(0.9);
    expect(q.accuracy).toBeGreaterThanOrEqual(f.accuracy - 0.01);
    expect(q.meanCer).toBeLessThanOrEqual(f.meanCer + 0.005);
    // and it is smaller: int8 weights are about a quarter of float32's
    expect(int8.weightBytes).toBeLessThan(float.weightBytes * 0.35);
    int8.dispose();
  }, 240_000);
});
