// The built-in real model end to end: PP-OCRv4's recognizer imported from ONNX must reproduce
// onnxruntime-web in float32, and the int8 scheme must keep its accuracy on the committed lines.

import { readFileSync } from 'node:fs';
import onnxproto from 'onnx-proto';
import * as ort from 'onnxruntime-web';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModel, quantizeModel, type Model } from '../src/index.js';
import { ctcGreedyDecode, scoreReadings, toModelInput } from '../src/ocr.js';
import { loadDictionary, ocrModelAsset } from '../packages/cli/src/ocr-assets.js';
import { loadOcrLines, type OcrLine } from '../packages/cli/src/ocr-lines.js';
import { SIMD, rng, useRuntimes } from './helpers.js';

const rts = useRuntimes();
const bytes = new Uint8Array(readFileSync(ocrModelAsset('ch_PP-OCRv4_rec_infer.onnx')));
const lines = loadOcrLines();
const dict = loadDictionary();
const feeds = (l: OcrLine) => ({ x: toModelInput([l]) });
let float: Model;
let session: ort.InferenceSession;
let logitsName = '';

/** The model with the input of its final Softmax (the logits) as a second graph output; sets logitsName. */
function withLogits() {
  const mp = onnxproto.onnx.ModelProto.decode(bytes);
  logitsName = mp.graph!.node!.find((n) => n.output![0] === mp.graph!.output![0].name)!.input![0];
  mp.graph!.output!.push(onnxproto.onnx.ValueInfoProto.create({ name: logitsName }));
  return mp;
}

beforeAll(async () => {
  float = loadModel(rts.one, bytes);
  ort.env.wasm.numThreads = 1;
  session = await ort.InferenceSession.create(onnxproto.onnx.ModelProto.encode(withLogits()).finish());
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

  // The issue asked for logits within 1e-4 of onnxruntime-web. That is below this model's float32
  // noise floor: onnxruntime-web disagrees with itself by more between its graph optimization
  // levels (measured 1.3e-4: it folds BatchNorm/Mul/Add into convs at 'all', not at 'disabled'),
  // and moving half the input pixels by one float32 ulp moves its own logits by ~1.2e-4. So the
  // bound we hold is relative to that floor, measured here on the same lines: lowbit without its
  // rewrites within 3x of it (measured 1.1x on the baseline build, 2.1x with the relaxed build's FMA), with
  // them within 6x (measured 4.4x; one ulp of
  // difference in a folded BatchNorm weight changes the logits by as much as the whole fused path).
  it('the logits differ from onnxruntime-web by a small multiple of its own float32 noise floor', async () => {
    const sample = lines.filter((_, i) => i % 44 === 0);
    const plain = loadModel(rts.one, bytes, { fuse: false });
    const unoptimized = await ort.InferenceSession.create(onnxproto.onnx.ModelProto.encode(withLogits()).finish(), { graphOptimizationLevel: 'disabled' });
    const logitsOf = async (m: Model, x: ReturnType<typeof toModelInput>) => {
      let out: Float32Array | null = null;
      await m.run({ x }, { onStep: (step, v) => { if (step.outs[0].name === logitsName) out = Float32Array.from(v[0]); } });
      return out!;
    };
    const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => { let m = 0; for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i])); return m; };
    const r = rng(7);
    let floor = 0, fused = 0, unfused = 0;
    for (const l of sample) {
      const x = toModelInput([l]);
      const oracle = async (s: ort.InferenceSession, data: Float32Array) => (await s.run({ x: new ort.Tensor('float32', data, [...x.dims]) }))[logitsName].data as Float32Array;
      const want = await oracle(session, x.data);
      const nudged = Float32Array.from(x.data), bits = new Uint32Array(nudged.buffer);
      for (let i = 0; i < bits.length; i++) if (nudged[i] !== 0 && r() < 0.5) bits[i] += r() < 0.5 ? 1 : -1;
      floor = Math.max(floor, maxDiff(want, await oracle(unoptimized, x.data)), maxDiff(want, await oracle(session, nudged)));
      fused = Math.max(fused, maxDiff(want, await logitsOf(float, x)));
      unfused = Math.max(unfused, maxDiff(want, await logitsOf(plain, x)));
    }
    plain.dispose();
    await unoptimized.release();
    expect(floor).toBeGreaterThan(1e-4);
    expect(unfused).toBeLessThanOrEqual(3 * floor);
    expect(fused).toBeLessThanOrEqual(6 * floor);
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
