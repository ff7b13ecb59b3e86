// Helpers for bench/int4.mjs: onnxruntime-web com.microsoft MatMulNBits models (one node, or a
// transformer block's chain of them), the streaming-read ceiling (the same worker and method as
// bench/ceilings.mjs, stream_read only), test weights, and output comparisons.

import { Worker } from 'node:worker_threads';
import * as ort from 'onnxruntime-web';
import onnxproto from 'onnx-proto';
import { quantizeInt4Rtn } from '../dist/index.js';
import { rng } from './data.mjs';
import { waitForQuiet } from './system.mjs';

const { onnx } = onnxproto;
const T = onnx.TensorProto.DataType;
const INT = onnx.AttributeProto.AttributeType.INT;

export const BLOCK_SIZE = 32;

/**
 * One LLaMA-7B-style block at M = 1, as a chain: each layer takes the previous output where the
 * dims allow (q → k → v → o → gate; up takes o's output too; down takes gate's).
 */
export const DECODE_BLOCK = [
  { name: 'q', input: 'x', k: 4096, n: 4096 },
  { name: 'k', input: 'q', k: 4096, n: 4096 },
  { name: 'v', input: 'k', k: 4096, n: 4096 },
  { name: 'o', input: 'v', k: 4096, n: 4096 },
  { name: 'gate', input: 'o', k: 4096, n: 11008 },
  { name: 'up', input: 'o', k: 4096, n: 11008 },
  { name: 'down', input: 'gate', k: 11008, n: 4096 },
];
export const DECODE_BLOCK_OUTPUTS = ['up', 'down'];

// ---------------------------------------------------------------------------------------------
// weights

/** W [N][K] (rows = output features, as MatMulNBits and Int4Blocks have them), uniform in [-0.5, 0.5). */
export function weightsNK(k, n) {
  const next = rng((k * 19349663) ^ (n * 83492791) ^ 0x1b4);
  const w = new Float32Array(n * k);
  for (let i = 0; i < w.length; i++) w[i] = next() / 4294967296 - 0.5;
  return w;
}

const int4Cache = new Map();

/**
 * The 4-bit blocks of weightsNK(k, n): symmetric, block 32, round to nearest (no clip search: the
 * weights are uniform noise, and the search only moves scales, which the timing does not see).
 */
export function int4Of(k, n) {
  const key = `${k}x${n}`;
  if (!int4Cache.has(key)) int4Cache.set(key, quantizeInt4Rtn(weightsNK(k, n), n, k, { blockSize: BLOCK_SIZE, scheme: 'symmetric', clipSearch: false }));
  return int4Cache.get(key);
}

/** Bytes a 4-bit GEMV has to read: packed nibbles K·N/2 plus float32 scales 4·N·K/32. */
export const int4Bytes = (k, n) => (k * n) / 2 + (4 * n * k) / BLOCK_SIZE;

// ---------------------------------------------------------------------------------------------
// onnxruntime-web MatMulNBits

const valueInfo = (name, type, dims) => ({
  name,
  type: { tensorType: { elemType: type, shape: { dim: dims.map((d) => ({ dimValue: d })) } } },
});
const bytesOf = (x) => new Uint8Array(x.buffer, x.byteOffset, x.byteLength);
const init = (name, type, dims, data) => ({ name, dims, dataType: type, rawData: bytesOf(data) });
const intAttr = (name, i) => ({ name, type: INT, i });

/**
 * One MatMulNBits node `name`: input → output, B uint8 [N, K/32, 16] and scales float32 [N·K/32]
 * as initializers (mnb from toMatMulNBits), no zero points (default 8: symmetric).
 */
function nbitsNode(name, input, output, mnb, accuracyLevel) {
  const { K, N, blockSize } = mnb;
  const nb = Math.ceil(K / blockSize);
  return {
    node: {
      name,
      opType: 'MatMulNBits',
      domain: 'com.microsoft',
      input: [input, `${name}_B`, `${name}_scales`],
      output: [output],
      attribute: [intAttr('K', K), intAttr('N', N), intAttr('bits', 4), intAttr('block_size', blockSize), intAttr('accuracy_level', accuracyLevel)],
    },
    initializer: [init(`${name}_B`, T.UINT8, [N, nb, blockSize / 2], mnb.B), init(`${name}_scales`, T.FLOAT, [N * nb], mnb.scales)],
  };
}

function encode(nodes, inputs, outputs) {
  const model = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }, { domain: 'com.microsoft', version: 1 }],
    graph: {
      name: 'int4-bench',
      node: nodes.map((x) => x.node),
      initializer: nodes.flatMap((x) => x.initializer),
      input: inputs,
      output: outputs,
    },
  });
  return onnx.ModelProto.encode(model).finish();
}

/** A [M, K] float32 → MatMulNBits → Y [M, N]. */
export function nbitsModel({ m, k, n }, mnb, accuracyLevel) {
  return encode([nbitsNode('W', 'A', 'Y', mnb, accuracyLevel)], [valueInfo('A', T.FLOAT, [m, k])], [valueInfo('Y', T.FLOAT, [m, n])]);
}

/**
 * The decode block as one graph: layers [{ name, input, k, n, mnb }] in order, graph input 'x'
 * [1, K0]; outputs the named tensors (each [1, n of its layer]).
 */
export function nbitsBlockModel(layers, outputs, accuracyLevel) {
  const nodes = layers.map((l) => nbitsNode(l.name, l.input, l.name, l.mnb, accuracyLevel));
  const width = Object.fromEntries(layers.map((l) => [l.name, l.n]));
  return encode(nodes, [valueInfo('x', T.FLOAT, [1, layers[0].k])], outputs.map((o) => valueInfo(o, T.FLOAT, [1, width[o]])));
}

export const ortSession = (bytes) => ort.InferenceSession.create(bytes);
export const ortTensor = (data, dims) => new ort.Tensor('float32', data, dims);

// ---------------------------------------------------------------------------------------------
// streaming-read ceiling: bench/ceiling-worker.mjs on `threads` workers at once, summed; each
// worker's best of 15 reads of a filled 256 MiB buffer, best of two attempts (bench/ceilings.mjs)

const STREAM_BYTES = 256 * 1024 * 1024;

async function streamOnce(simd, threads, quick) {
  const data = { simd, kind: 'stream_read', iters: 0, bytes: quick ? STREAM_BYTES / 4 : STREAM_BYTES, reps: quick ? 3 : 15 };
  const workers = Array.from({ length: threads }, () => {
    const w = new Worker(new URL('./ceiling-worker.mjs', import.meta.url), { workerData: data });
    const ready = new Promise((resolve, reject) => {
      w.once('error', reject);
      w.once('message', resolve);
    });
    return { w, ready };
  });
  await Promise.all(workers.map((x) => x.ready));
  await waitForQuiet(10);
  const done = workers.map(({ w }) => new Promise((resolve, reject) => {
    w.once('error', reject);
    w.on('message', (msg) => msg.type === 'done' && resolve(msg));
  }));
  for (const { w } of workers) w.postMessage('go');
  const results = await Promise.all(done);
  await Promise.all(workers.map(({ w }) => w.terminate()));
  return results.reduce((sum, r) => sum + data.bytes / Math.min(...r.seconds), 0);
}

/** GB/s that `threads` threads of this build read from memory at best. */
export async function streamReadCeiling(simd, threads, quick) {
  let best = 0;
  for (let i = 0; i < (quick ? 1 : 2); i++) best = Math.max(best, await streamOnce(simd, threads, quick));
  return best / 1e9;
}

// ---------------------------------------------------------------------------------------------
// comparisons

/** max |a − b| / max |b| over all elements (normwise relative difference). */
export function relDiff(a, b) {
  if (a.length !== b.length) return Infinity;
  let d = 0;
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    s = Math.max(s, Math.abs(b[i]));
  }
  return s > 0 ? d / s : d;
}

export function bitEqual(a, b) {
  if (a.length !== b.length) return false;
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

/**
 * Float64 reference x · dequant(W)ᵀ for the first `cols` output columns (W the 4-bit blocks), and
 * the normwise relative error of `y` [M][N] on those columns.
 */
export function errorVsDequantized(y, x, m, blocks, cols = 64) {
  const { k, n, blockSize: bs } = blocks;
  const nb = Math.ceil(k / bs);
  const c = Math.min(cols, n);
  let d = 0;
  let s = 0;
  for (let j = 0; j < c; j++) {
    const w = new Float64Array(k);
    for (let t = 0; t < k; t++) w[t] = (blocks.q[j * k + t] - 8) * blocks.scales[j * nb + Math.floor(t / bs)];
    for (let i = 0; i < m; i++) {
      let acc = 0;
      for (let t = 0; t < k; t++) acc += x[i * k + t] * w[t];
      d = Math.max(d, Math.abs(y[i * n + j] - acc));
      s = Math.max(s, Math.abs(acc));
    }
  }
  return s > 0 ? d / s : d;
}
