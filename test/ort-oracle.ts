// onnxruntime-web as a test oracle: builds a one-node ONNX model in memory and runs it.

import * as ort from 'onnxruntime-web';
import onnxproto from 'onnx-proto';
import type { Tensor } from '../src/index.js';

const { onnx } = onnxproto;
const T = onnx.TensorProto.DataType;
const ELEM: Record<string, number> = { float32: T.FLOAT, uint8: T.UINT8, int8: T.INT8, int32: T.INT32 };

ort.env.wasm.numThreads = 1;

// attributes ONNX declares as float (a JS number can't tell 2 from 2.0)
const FLOAT_ATTRIBUTES = new Set(['alpha', 'beta', 'epsilon']);

export interface OracleInput {
  name: string;
  tensor: Tensor;
}

/**
 * Runs `op` once in onnxruntime-web with the given inputs (in order; null = omitted optional input)
 * and attributes; returns the outputs by name.
 */
export async function runOrt(
  op: string, inputs: (Tensor | null)[], outputs: string[], attributes: Record<string, number> = {}, opset = 13,
): Promise<Record<string, Tensor>> {
  const names = inputs.map((t, i) => (t ? `in${i}` : ''));
  const graphInputs = inputs.flatMap((t, i) =>
    t ? [{ name: names[i], type: { tensorType: { elemType: ELEM[t.type], shape: { dim: t.dims.map((d) => ({ dimValue: d })) } } } }] : [],
  );
  const model = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: '', version: opset }],
    graph: {
      name: 'oracle',
      node: [{
        opType: op,
        input: names,
        output: outputs,
        attribute: Object.entries(attributes).map(([name, v]) =>
          !FLOAT_ATTRIBUTES.has(name) ? { name, type: onnx.AttributeProto.AttributeType.INT, i: v } : { name, type: onnx.AttributeProto.AttributeType.FLOAT, f: v }),
      }],
      input: graphInputs,
      output: outputs.map((name) => ({ name })),
    },
  });
  const session = await ort.InferenceSession.create(onnx.ModelProto.encode(model).finish());
  const feeds: Record<string, ort.Tensor> = {};
  inputs.forEach((t, i) => {
    if (t) feeds[names[i]] = new ort.Tensor(t.type, t.data as never, t.dims as number[]);
  });
  const result = await session.run(feeds);
  await session.release();
  const out: Record<string, Tensor> = {};
  for (const name of outputs) {
    const r = result[name];
    out[name] = { type: r.type as Tensor['type'], data: r.data as never, dims: [...r.dims] };
  }
  return out;
}
