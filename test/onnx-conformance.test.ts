// ONNX's own node test cases for our operators (Debian package libonnx-testdata: each case is a
// one-node model.onnx plus input_*.pb / output_*.pb TensorProtos). Integer outputs must match
// exactly, float outputs within 1e-5 relative.

import fs from 'node:fs';
import path from 'node:path';
import onnxproto from 'onnx-proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tensor, type Runtime, type Tensor } from '../src/index.js';
import { SIMD, testRuntime } from './helpers.js';

const { onnx } = onnxproto;
import { ONNX_TESTDATA as ROOT, hasSystemPackage } from './system-packages.js';

function toTensor(t: onnxproto.onnx.TensorProto): Tensor {
  const dims = (t.dims ?? []).map(Number);
  const raw = t.rawData && t.rawData.length ? t.rawData : null;
  const copy = (n: number) => {
    const b = new Uint8Array(n);
    b.set(raw!.subarray(0, n));
    return b.buffer;
  };
  const count = dims.reduce((a, b) => a * b, 1);
  const T = onnx.TensorProto.DataType;
  switch (t.dataType) {
    case T.FLOAT:
      return tensor('float32', raw ? new Float32Array(copy(count * 4)) : Float32Array.from(t.floatData), dims);
    case T.UINT8:
      return tensor('uint8', raw ? new Uint8Array(copy(count)) : Uint8Array.from(t.int32Data), dims);
    case T.INT8:
      return tensor('int8', raw ? new Int8Array(copy(count)) : Int8Array.from(t.int32Data), dims);
    case T.INT32:
      return tensor('int32', raw ? new Int32Array(copy(count * 4)) : Int32Array.from(t.int32Data), dims);
    default:
      throw new Error(`unsupported TensorProto data type ${t.dataType}`);
  }
}

function loadCase(name: string) {
  const dir = path.join(ROOT, name);
  const model = onnx.ModelProto.decode(fs.readFileSync(path.join(dir, 'model.onnx')));
  const node = model.graph!.node![0];
  const attrs: Record<string, number> = {};
  for (const a of node.attribute ?? []) attrs[a.name!] = a.type === onnx.AttributeProto.AttributeType.FLOAT ? a.f! : Number(a.i);
  const set = path.join(dir, 'test_data_set_0');
  const read = (prefix: string) =>
    fs.readdirSync(set).filter((f) => f.startsWith(prefix)).sort((a, b) => parseInt(a.slice(prefix.length)) - parseInt(b.slice(prefix.length)))
      .map((f) => toTensor(onnx.TensorProto.decode(fs.readFileSync(path.join(set, f)))));
  // optional inputs that the node leaves empty ('') are absent from the data set
  const given = read('input_');
  const inputs: (Tensor | null)[] = [];
  let g = 0;
  for (const name of node.input ?? []) inputs.push(name === '' ? null : given[g++]);
  return { op: node.opType!, inputs, outputs: read('output_'), attrs };
}

let rt: Runtime;
beforeAll(async () => {
  rt = await testRuntime(1);
});
afterAll(() => rt?.dispose());

async function run(op: string, x: (Tensor | null)[], attrs: Record<string, number>): Promise<Tensor[]> {
  const o = rt.ops;
  const t = (i: number) => x[i] as Tensor;
  switch (op) {
    case 'MatMulInteger':
      return [await o.matMulInteger(t(0), t(1), x[2], x[3])];
    case 'QLinearMatMul':
      return [await o.qlinearMatMul(t(0), t(1), t(2), t(3), t(4), t(5), t(6), t(7))];
    case 'QuantizeLinear':
      return [await o.quantizeLinear(t(0), t(1), x[2], { axis: attrs.axis })];
    case 'DequantizeLinear':
      return [await o.dequantizeLinear(t(0), t(1), x[2], { axis: attrs.axis })];
    case 'DynamicQuantizeLinear':
      return o.dynamicQuantizeLinear(t(0));
    case 'MatMul':
      return [await o.matMul(t(0), t(1))];
    case 'Gemm':
      return [await o.gemm(t(0), t(1), x[2], attrs)];
    default:
      throw new Error(`no mapping for ${op}`);
  }
}

const CASES = [
  'test_matmulinteger',
  'test_qlinearmatmul_2D',
  'test_qlinearmatmul_3D',
  'test_quantizelinear',
  'test_quantizelinear_axis',
  'test_dequantizelinear',
  'test_dequantizelinear_axis',
  'test_dynamicquantizelinear',
  'test_dynamicquantizelinear_max_adjusted',
  'test_dynamicquantizelinear_min_adjusted',
  'test_matmul_2d',
  'test_matmul_3d',
  'test_matmul_4d',
  'test_gemm_all_attributes',
  'test_gemm_alpha',
  'test_gemm_beta',
  'test_gemm_default_matrix_bias',
  'test_gemm_default_no_bias',
  'test_gemm_default_scalar_bias',
  'test_gemm_default_single_elem_vector_bias',
  'test_gemm_default_vector_bias',
  'test_gemm_default_zero_bias',
  'test_gemm_transposeA',
  'test_gemm_transposeB',
];

describe.runIf(hasSystemPackage('libonnx-testdata'))(`ONNX node test cases (libonnx-testdata, ${SIMD} build)`, () => {
  it('the test data is installed (.ci/run installs Debian libonnx-testdata)', () => {
    expect(fs.existsSync(ROOT), `${ROOT} is missing: apt-get install libonnx-testdata`).toBe(true);
  });

  for (const name of CASES) {
    it(name, async () => {
      const c = loadCase(name);
      const got = await run(c.op, c.inputs, c.attrs);
      expect(got.length).toBeGreaterThanOrEqual(c.outputs.length);
      c.outputs.forEach((want, i) => {
        expect(got[i].type).toBe(want.type);
        expect(got[i].dims).toEqual(want.dims);
        if (want.type === 'float32') {
          for (let j = 0; j < want.data.length; j++) {
            expect(Math.abs(got[i].data[j] - want.data[j]), `${name} output ${i}[${j}]`).toBeLessThanOrEqual(1e-5 * (1 + Math.abs(want.data[j])));
          }
        } else {
          expect(Array.from(got[i].data)).toEqual(Array.from(want.data));
        }
      });
    });
  }
});
