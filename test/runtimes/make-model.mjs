// Writes smoke-model.onnx beside this file, the small model the runtime smoke test loads (Conv 3x3 ->
// Relu -> GlobalAveragePool -> Flatten -> MatMul + bias, opset 13, seeded weights), and
// smoke-model.json, onnxruntime-node's output on the smoke input (smoke.mjs's modelInput()), which
// check-report.mjs compares each runtime's float32 and int8 outputs with. Both are committed; run
// this (plain node, after `npm run build`) only to change them.
//   node test/runtimes/make-model.mjs
import { writeFileSync } from 'node:fs';
import onnxproto from 'onnx-proto';
import { createRequire } from 'node:module';
import { modelInputData } from './input.mjs';

const { onnx } = onnxproto;
const FLOAT = onnx.TensorProto.DataType.FLOAT;
let seed = 5;
const r = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);
const init = (name, dims, s = 0.3) =>
  ({ name, dims, dataType: FLOAT, floatData: Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => Math.fround((r() * 2 - 1) * s)) });
const io = (name, dims) => ({ name, type: { tensorType: { elemType: FLOAT, shape: { dim: dims.map((d) => ({ dimValue: d })) } } } });
const ints = (name, v) => ({ name, type: onnx.AttributeProto.AttributeType.INTS, ints: v });

const graph = {
  name: 'lowbit-runtime-smoke',
  input: [io('x', [1, 3, 12, 10])],
  output: [io('y', [1, 10])],
  initializer: [init('w1', [16, 3, 3, 3]), init('b1', [16], 0.1), init('fc', [16, 10]), init('fcb', [10], 0.1)],
  node: [
    { opType: 'Conv', input: ['x', 'w1', 'b1'], output: ['c1'], attribute: [ints('kernel_shape', [3, 3]), ints('pads', [1, 1, 1, 1])] },
    { opType: 'Relu', input: ['c1'], output: ['r1'] },
    { opType: 'GlobalAveragePool', input: ['r1'], output: ['g'] },
    { opType: 'Flatten', input: ['g'], output: ['f'] },
    { opType: 'MatMul', input: ['f', 'fc'], output: ['m'] },
    { opType: 'Add', input: ['m', 'fcb'], output: ['y'] },
  ],
};
const model = { irVersion: 7, producerName: 'lowbit test/runtimes/make-model.mjs', opsetImport: [{ domain: '', version: 13 }], graph };
const bytes = onnx.ModelProto.encode(onnx.ModelProto.fromObject(model)).finish();
writeFileSync(new URL('./smoke-model.onnx', import.meta.url), bytes);
console.log(`smoke-model.onnx: ${bytes.length} bytes`);

const ort = createRequire(import.meta.url)('onnxruntime-node');
const session = await ort.InferenceSession.create(bytes);
const { y } = await session.run({ x: new ort.Tensor('float32', modelInputData(), [1, 3, 12, 10]) });
writeFileSync(new URL('./smoke-model.json', import.meta.url), JSON.stringify({ oracle: `onnxruntime-node ${ort.env.versions.common}`, y: [...y.data] }) + '\n');
