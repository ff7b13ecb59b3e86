// The peers, measured the same way as lowbit: onnxruntime-web (MatMulInteger, QLinearMatMul and
// MatMul, weights as initializers so ORT can prepack them) and tfjs-backend-wasm (matMul).

import { createRequire } from 'node:module';
import * as ort from 'onnxruntime-web';
import onnxproto from 'onnx-proto';
import { activationsU8, activationsF32, weightsI8, weightsF32, qparams } from './data.mjs';
import { copiesFor } from './lowbit.mjs';
import { timeAsync } from './timing.mjs';

const require = createRequire(import.meta.url);
const { onnx } = onnxproto;
const T = onnx.TensorProto.DataType;

// ---------------------------------------------------------------------------------------------
// onnxruntime-web

/** Must run before the first session: ORT reads its wasm settings once, at initialization. */
export function initOrt(threads) {
  ort.env.wasm.numThreads = threads;
  ort.env.logLevel = 'error';
}

const valueInfo = (name, type, dims) => ({
  name,
  type: { tensorType: { elemType: type, shape: { dim: dims.map((d) => ({ dimValue: d })) } } },
});

const bytesOf = (x) => new Uint8Array(x.buffer, x.byteOffset, x.byteLength);
const init = (name, type, dims, data) => ({ name, dims, dataType: type, rawData: bytesOf(data) });

function encodeModel(node, initializer, input, output) {
  const model = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    graph: { name: 'bench', node: [node], initializer, input: [input], output: [output] },
  });
  return onnx.ModelProto.encode(model).finish();
}

function matMulIntegerModel(shape, w, q) {
  const { m, k, n } = shape;
  return encodeModel(
    { opType: 'MatMulInteger', input: ['A', 'B', 'a_zero_point'], output: ['Y'] },
    [init('B', T.INT8, [k, n], w), init('a_zero_point', T.UINT8, [], new Uint8Array([q.aZero]))],
    valueInfo('A', T.UINT8, [m, k]),
    valueInfo('Y', T.INT32, [m, n]),
  );
}

function qlinearMatMulModel(shape, w, q) {
  const { m, k, n } = shape;
  const f = (x) => new Float32Array([x]);
  return encodeModel(
    { opType: 'QLinearMatMul', input: ['A', 'a_scale', 'a_zero_point', 'B', 'b_scale', 'b_zero_point', 'y_scale', 'y_zero_point'], output: ['Y'] },
    [
      init('a_scale', T.FLOAT, [], f(q.aScale)),
      init('a_zero_point', T.UINT8, [], new Uint8Array([q.aZero])),
      init('B', T.INT8, [k, n], w),
      init('b_scale', T.FLOAT, [], f(q.bScale)),
      init('b_zero_point', T.INT8, [], new Int8Array([0])),
      init('y_scale', T.FLOAT, [], f(q.yScale)),
      init('y_zero_point', T.UINT8, [], new Uint8Array([q.yZero])),
    ],
    valueInfo('A', T.UINT8, [m, k]),
    valueInfo('Y', T.UINT8, [m, n]),
  );
}

function matMulF32Model(shape, w) {
  const { m, k, n } = shape;
  return encodeModel(
    { opType: 'MatMul', input: ['A', 'B'], output: ['Y'] },
    [init('B', T.FLOAT, [k, n], w)],
    valueInfo('A', T.FLOAT, [m, k]),
    valueInfo('Y', T.FLOAT, [m, n]),
  );
}

/** One ORT operator: `copies` sessions (each holding its own weights) used in turn. */
async function timeOrt(name, modelBytes, copies, feed, opts) {
  const sessions = [];
  for (let i = 0; i < copies; i++) sessions.push(await ort.InferenceSession.create(modelBytes));
  const run = async (s) => (await s.run(feed())).Y.data;
  const output = await run(sessions[0]);
  let i = 0;
  const t = await timeAsync(name, () => run(sessions[i++ % copies]), opts);
  for (const s of sessions) await s.release();
  return { ...t, copies, output };
}

export async function measureOrt(shape, opts, rotateBytes) {
  const { m, k, n } = shape;
  const q = qparams(shape);
  const a = activationsU8(shape);
  const w = weightsI8(shape);
  const feedU8 = () => ({ A: new ort.Tensor('uint8', a, [m, k]) });
  const copies8 = copiesFor(shape, k * n, rotateBytes);
  const mmi = await timeOrt('ORT MatMulInteger', matMulIntegerModel(shape, w, q), copies8, feedU8, opts);
  const qlmm = await timeOrt('ORT QLinearMatMul', qlinearMatMulModel(shape, w, q), copies8, feedU8, opts);

  const af = activationsF32(shape);
  const feedF32 = () => ({ A: new ort.Tensor('float32', af, [m, k]) });
  const f32 = await timeOrt('ORT f32 MatMul', matMulF32Model(shape, weightsF32(shape)), copiesFor(shape, k * n * 4, rotateBytes), feedF32, opts);
  return { mmi, qlmm, f32 };
}

// ---------------------------------------------------------------------------------------------
// tfjs-backend-wasm

let tf = null;

/**
 * tfjs-backend-wasm finds its .wasm files next to its own module in Node, so no setWasmPaths is
 * needed. Its multithreaded build is disabled under Node (WASM_HAS_MULTITHREAD_SUPPORT is false
 * there, tfjs issue #3830; forcing it fails on blob: worker URLs), so it always runs 1 thread.
 */
export async function initTfjs() {
  tf = require('@tensorflow/tfjs-core');
  const wasm = require('@tensorflow/tfjs-backend-wasm');
  wasm.setThreadsCount(1);
  if (!(await tf.setBackend('wasm'))) throw new Error('tfjs: the wasm backend failed to initialize');
  await tf.ready();
  return { threads: wasm.getThreadsCount(), version: wasm.version_wasm, simd: await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT') };
}

export async function measureTfjs(shape, opts, rotateBytes) {
  const { m, k, n } = shape;
  const af = activationsF32(shape);
  const wf = weightsF32(shape);
  const weights = Array.from({ length: copiesFor(shape, k * n * 4, rotateBytes) }, () => tf.tensor2d(wf, [k, n]));
  const run = async (b) => {
    const x = tf.tensor2d(af, [m, k]);
    const y = tf.matMul(x, b);
    const out = await y.data();
    tf.dispose([x, y]);
    return out;
  };
  const output = await run(weights[0]);
  let i = 0;
  const t = await timeAsync('tfjs-wasm f32 matMul', () => run(weights[i++ % weights.length]), opts);
  tf.dispose(weights);
  return { ...t, copies: weights.length, output };
}
