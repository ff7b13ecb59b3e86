// ONNX's own node test cases (Debian libonnx-testdata) run through the model runner (loadModel):
// each case is a one-node model.onnx with input_*.pb / output_*.pb TensorProtos. lowbit runs
// float32 inputs only, so each non-float input becomes a float32 graph input and a Cast to its
// type (exact for these small integer and bool values). Integer and bool outputs must match
// exactly, float outputs within 1e-5 relative. (test/onnx-conformance.test.ts runs the rt.ops
// kernels the same way.)

import fs from 'node:fs';
import path from 'node:path';
import onnxproto from 'onnx-proto';
import { describe, expect, it } from 'vitest';
import { loadModel } from '../src/index.js';
import { SIMD, useRuntimes } from './helpers.js';

const { onnx } = onnxproto;
const T = onnx.TensorProto.DataType;
import { ONNX_TESTDATA as ROOT, hasSystemPackage } from './system-packages.js';
const rts = useRuntimes();

type Long = { toNumber(): number };
const num = (v: number | Long) => (typeof v === 'number' ? v : v.toNumber());

/** A TensorProto's values as numbers (float, the integer types lowbit reads, bool). */
/** the output type Model.run gives for each element type these cases have */
const OUTPUT_TYPE: Record<number, string> = { [T.FLOAT]: 'float32', [T.INT64]: 'int64', [T.INT32]: 'int32', [T.INT8]: 'int8', [T.UINT8]: 'uint8', [T.BOOL]: 'bool' };

function values(t: onnxproto.onnx.TensorProto): { dims: number[]; data: number[] } {
  const dims = (t.dims ?? []).map((d) => num(d as number | Long));
  const n = dims.reduce((a, b) => a * b, 1);
  const raw = t.rawData && t.rawData.length ? t.rawData : null;
  const view = raw ? new DataView(raw.buffer, raw.byteOffset, raw.byteLength) : null;
  const data: number[] = [];
  for (let i = 0; i < n; i++) {
    switch (t.dataType) {
      case T.FLOAT: data.push(view ? view.getFloat32(i * 4, true) : t.floatData[i]); break;
      case T.INT64: data.push(view ? Number(view.getBigInt64(i * 8, true)) : num(t.int64Data[i] as number | Long)); break;
      case T.INT32: data.push(view ? view.getInt32(i * 4, true) : t.int32Data[i]); break;
      case T.INT8: data.push(view ? view.getInt8(i) : t.int32Data[i]); break;
      case T.UINT8: case T.BOOL: data.push(view ? view.getUint8(i) : t.int32Data[i]); break;
      default: throw new Error(`test data type ${t.dataType} is not handled`);
    }
  }
  return { dims, data };
}

/** model.onnx with every non-float input fed as float32 through a Cast */
function floatInputs(model: onnxproto.onnx.ModelProto): Uint8Array {
  const g = model.graph!;
  const casts: onnxproto.onnx.INodeProto[] = [];
  for (const v of g.input ?? []) {
    const tt = v.type!.tensorType!;
    if (tt.elemType === T.FLOAT) continue;
    casts.push({ opType: 'Cast', input: [`${v.name}__f32`], output: [v.name!], attribute: [{ name: 'to', type: onnx.AttributeProto.AttributeType.INT, i: tt.elemType! }] });
    v.name = `${v.name}__f32`;
    tt.elemType = T.FLOAT;
  }
  g.node = [...casts, ...(g.node ?? [])];
  // cases written at opset 1 or 6 (Not, Elu, Selu, Softplus, Softsign): these ops are unchanged
  // through opset 7, the oldest lowbit reads
  for (const o of model.opsetImport ?? []) if (!o.domain && num(o.version as number | Long) < 7) o.version = 7;
  return onnx.ModelProto.encode(model).finish();
}

async function runCase(name: string): Promise<void> {
  const dir = path.join(ROOT, name), set = path.join(dir, 'test_data_set_0');
  const model = onnx.ModelProto.decode(fs.readFileSync(path.join(dir, 'model.onnx')));
  const read = (prefix: string) => fs.readdirSync(set).filter((f) => f.startsWith(prefix))
    .sort((a, b) => parseInt(a.slice(prefix.length)) - parseInt(b.slice(prefix.length)))
    .map((f) => values(onnx.TensorProto.decode(fs.readFileSync(path.join(set, f)))));
  const inputs = read('input_'), outputs = read('output_');
  const g = model.graph!;
  const outNames = (g.output ?? []).map((v) => v.name!), outTypes = (g.output ?? []).map((v) => v.type!.tensorType!.elemType);
  const m = loadModel(rts.one, floatInputs(model));
  try {
    // the graph inputs as floatInputs() renamed them, in order
    const feeds = Object.fromEntries(g.input!.map((v, i) => [v.name!, { type: 'float32', dims: inputs[i].dims, data: Float32Array.from(inputs[i].data) }]));
    const got = await m.run(feeds);
    outputs.forEach((want, i) => {
      const o = got[outNames[i]];
      expect(o.dims, `${name} ${outNames[i]} dims`).toEqual(want.dims);
      expect(o.type, `${name} ${outNames[i]} type`).toBe(OUTPUT_TYPE[outTypes[i]!]);
      if (o.type === 'float32') {
        for (let j = 0; j < want.data.length; j++) {
          const w = want.data[j], v = o.data[j];
          if (Number.isNaN(w)) expect(v, `${name}[${j}]`).toBeNaN();
          else if (!Number.isFinite(w)) expect(v, `${name}[${j}]`).toBe(w);
          else expect(Math.abs(v - w), `${name} ${outNames[i]}[${j}]: lowbit ${v}, expected ${w}`).toBeLessThanOrEqual(1e-5 * (1 + Math.abs(w)));
        }
      } else {
        // integers held in float64 may be -0 (-4 % 2): the same integer
        expect(Array.from(o.data as ArrayLike<number | bigint>, (v) => Number(v) + 0), `${name} ${outNames[i]}`).toEqual(want.data);
      }
    });
  } finally {
    m.dispose();
  }
}

const ALL = fs.existsSync(ROOT) ? fs.readdirSync(ROOT) : [];
const pick = (re: RegExp, skip: RegExp = /_expanded$/) => ALL.filter((n) => re.test(n) && !skip.test(n));

/** the cases for the operators of logic-ops.ts, unary-ops.ts, arg-ops.ts, the reductions and pooling */
const CASES = [
  ...pick(/^test_(equal|greater|greater_equal|less|less_equal)(_bcast)?$/),
  ...pick(/^test_(and|or|xor)(\d|_bcast)/),
  ...pick(/^test_not_/),
  ...pick(/^test_where_/),
  ...pick(/^test_(log|sin|cos|floor|ceil|round|sign|softplus|softsign|elu|selu|celu|thresholdedrelu|isnan|isinf|prelu)(_|$)/),
  ...pick(/^test_isinf_/),
  // int16/uint16/uint32/uint64/float16/double: element types lowbit does not run
  ...pick(/^test_mod_/, /float16|float64|int16|uint16|uint32|uint64/),
  // (the log_sum_exp cases are double)
  ...pick(/^test_reduce_(max|min|prod|l1|l2|sum_square|log_sum)_/, /log_sum_exp/),
  ...pick(/^test_arg(max|min)_/),
  // 2-D pooling: pads, auto_pad, ceil_mode (dilations, 1-D/3-D: not supported)
  ...pick(/^test_(max|average)pool_2d_(ceil|default|pads|pads_count_include_pad|precomputed_pads|precomputed_pads_count_include_pad|precomputed_same_upper|precomputed_strides|same_lower|same_upper|strides|uint8)$/),
  // integer convolutions (src/model/ops/qconv-ops.ts)
  ...pick(/^test_(basic_convinteger|convinteger_with_padding|convinteger_without_padding|qlinearconv)$/),
];

describe.runIf(hasSystemPackage('libonnx-testdata'))(`ONNX node test cases through loadModel (libonnx-testdata, ${SIMD} build)`, () => {
  it('the test data is installed and has cases for these operators', () => {
    expect(fs.existsSync(ROOT), `${ROOT} is missing: apt-get install libonnx-testdata`).toBe(true);
    expect(CASES.length).toBeGreaterThan(150);
  });
  for (const name of [...new Set(CASES)]) it(name, () => runCase(name));
});
