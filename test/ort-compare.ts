// Runs one ONNX model in lowbit and in onnxruntime-web on the same feeds and compares every output:
// max |lowbit - ort| <= tol * max(1, max |ort|). Shared by the operator tests of Resize,
// ConvTranspose and the normalizations.

import fs from 'node:fs';
import path from 'node:path';
import onnxproto from 'onnx-proto';
import { expect } from 'vitest';
import { loadModel, type Runtime } from '../src/index.js';
import { count, expectOutputsClose, maxAbsDiff } from './model-ort-check.js';
import { runOrtModel, type Feed, type OnnxBuilder } from './onnx-builder.js';

const { onnx } = onnxproto;

export { W, X, count, maxAbsDiff } from './model-ort-check.js';

export async function checkAgainstOrt(rt: Runtime, b: OnnxBuilder, feeds: Record<string, Feed>, tol = 1e-5, what = ''): Promise<void> {
  const bytes = b.build();
  const want = await runOrtModel(bytes, feeds);
  const model = loadModel(rt, bytes);
  try {
    expectOutputsClose(await model.run(feeds), want, tol, what);
  } finally {
    model.dispose();
  }
}

// ONNX's own test cases: each model's non-X inputs become initializers (lowbit needs them at plan time)
export { ONNX_TESTDATA as ONNX_ROOT } from './system-packages.js';
import { ONNX_TESTDATA as ONNX_ROOT } from './system-packages.js';

function readTensor(file: string): { dims: number[]; data: Float32Array | Float64Array; type: number } {
  const t = onnx.TensorProto.decode(fs.readFileSync(file));
  const dims = (t.dims ?? []).map(Number);
  const n = count(dims);
  const T = onnx.TensorProto.DataType;
  const raw = t.rawData && t.rawData.length ? new Uint8Array(t.rawData) : null;
  if (t.dataType === T.FLOAT) return { dims, type: T.FLOAT, data: raw ? new Float32Array(raw.slice().buffer, 0, n) : Float32Array.from(t.floatData ?? []) };
  if (t.dataType === T.INT64) return { dims, type: T.INT64, data: raw ? Float64Array.from(new BigInt64Array(raw.slice().buffer, 0, n), Number) : Float64Array.from(t.int64Data ?? [], Number) };
  throw new Error(`${file}: data type ${t.dataType}`);
}

/**
 * Runs a conformance case in lowbit (input 0 fed, the rest folded in as initializers) and compares
 * with the case's outputs, or with onnxruntime-web on the same model when `oracle` is 'ort'.
 */
export async function runConformance(rt: Runtime, name: string, oracle: 'data' | 'ort' = 'data'): Promise<void> {
  const dir = path.join(ONNX_ROOT, name);
  const model = onnx.ModelProto.decode(fs.readFileSync(path.join(dir, 'model.onnx')));
  const set = path.join(dir, 'test_data_set_0');
  const files = (prefix: string) => fs.readdirSync(set).filter((f) => f.startsWith(prefix)).sort((a, b) => parseInt(a.slice(prefix.length)) - parseInt(b.slice(prefix.length)));
  const ins = files('input_').map((f) => readTensor(path.join(set, f)));
  const outs = files('output_').map((f) => readTensor(path.join(set, f)));
  const g = model.graph!;
  const inputs = g.input!.filter((i) => !(g.initializer ?? []).some((t) => t.name === i.name));
  inputs.slice(1).forEach((vi, i) => {
    const t = ins[i + 1];
    g.initializer = [...(g.initializer ?? []), { name: vi.name, dims: t.dims, dataType: t.type, rawData: new Uint8Array(t.type === onnx.TensorProto.DataType.INT64 ? BigInt64Array.from(t.data, (v) => BigInt(v)).buffer : Float32Array.from(t.data).buffer) }];
  });
  g.input = [inputs[0]];
  // lowbit reads opset 7 and later; the opset-6 cases (InstanceNormalization) mean the same at 7
  for (const o of model.opsetImport ?? []) if (!o.domain && Number(o.version) < 7) o.version = 7;
  const bytes = onnx.ModelProto.encode(model).finish();
  const feeds = { [inputs[0].name!]: { type: 'float32' as const, data: ins[0].data as Float32Array, dims: ins[0].dims } };
  if (oracle === 'ort') {
    const o = await runOrtModel(bytes, feeds);
    outs.splice(0, outs.length, ...g.output!.map((v) => ({ dims: o[v.name!].dims, type: 1, data: Float32Array.from(o[v.name!].data) })));
  }
  const m = loadModel(rt, bytes);
  try {
    const got = await m.run(feeds);
    outs.forEach((want, i) => {
      const y = got[g.output![i].name!];
      expect(y.dims, `${name} dims`).toEqual(want.dims);
      const { diff, at } = maxAbsDiff(y.data, want.data);
      expect(diff, `${name}: at ${at} lowbit ${y.data[at]}, expected ${want.data[at]}`).toBeLessThanOrEqual(1e-5 * (1 + Math.abs(want.data[at] ?? 0)));
    });
  } finally {
    m.dispose();
  }
}

