// ONNX's own node test cases (Debian libonnx-testdata) for the tensor operators: ConstantOfShape,
// Size, Range, Tile, Split, TopK, CumSum, DepthToSpace, SpaceToDepth, Pad, Cast, CastLike, Gather, GatherElements, GatherND,
// ScatterElements, Scatter, ScatterND.
// Each case's model.onnx runs through lowbit's import and planner: its inputs become initializers
// (so every input type the importer reads works, int64 and double too), a dummy float input is
// added, and the plan folds the node; the folded outputs must have ONNX's type and dims, integer
// values must match exactly, float values within 1e-6 relative (float16 exactly).

import fs from 'node:fs';
import path from 'node:path';
import onnxproto from 'onnx-proto';
import { describe, expect, it } from 'vitest';
import type { ElemType } from '../src/model/graph.js';
import { importOnnx } from '../src/model/onnx.js';
import { makePlan } from '../src/model/plan.js';

const { onnx } = onnxproto;
import { ONNX_TESTDATA as ROOT, hasSystemPackage } from './system-packages.js';

const TYPES: Record<number, { type: ElemType; array: new (b: ArrayBuffer) => ArrayLike<number | bigint> }> = {
  1: { type: 'float32', array: Float32Array }, 2: { type: 'uint8', array: Uint8Array }, 3: { type: 'int8', array: Int8Array },
  4: { type: 'uint16', array: Uint16Array }, 5: { type: 'int16', array: Int16Array }, 6: { type: 'int32', array: Int32Array },
  7: { type: 'int64', array: BigInt64Array }, 9: { type: 'bool', array: Uint8Array }, 10: { type: 'float16', array: Uint16Array },
  11: { type: 'float64', array: Float64Array }, 12: { type: 'uint32', array: Uint32Array }, 13: { type: 'uint64', array: BigUint64Array },
};

function half(h: number): number {
  const s = h & 0x8000 ? -1 : 1, e = (h >> 10) & 31, m = h & 1023;
  return e === 0 ? s * m * 2 ** -24 : e === 31 ? (m ? NaN : s * Infinity) : s * (1 + m / 1024) * 2 ** (e - 15);
}

/** A TensorProto's element type, dims and values as numbers. */
function decode(t: onnxproto.onnx.TensorProto): { type: ElemType; dims: number[]; data: number[] } {
  const info = TYPES[t.dataType];
  if (!info) throw new Error(`data type ${t.dataType}`);
  const dims = (t.dims ?? []).map(Number);
  let vals: number[];
  if (t.rawData && t.rawData.length) {
    const copy = new Uint8Array(t.rawData.length);
    copy.set(t.rawData);
    vals = Array.from(new info.array(copy.buffer), Number);
  } else {
    const field = t.dataType === 1 ? t.floatData : t.dataType === 11 ? t.doubleData : t.dataType === 7 ? t.int64Data : t.dataType === 12 || t.dataType === 13 ? t.uint64Data : t.int32Data;
    vals = Array.from(field as ArrayLike<number | { toNumber(): number }>, (v) => (typeof v === 'number' ? v : v.toNumber()));
  }
  return { type: info.type, dims, data: t.dataType === 10 ? vals.map(half) : vals };
}

function runCase(name: string) {
  const dir = path.join(ROOT, name), set = path.join(dir, 'test_data_set_0');
  const model = onnx.ModelProto.decode(fs.readFileSync(path.join(dir, 'model.onnx')));
  const g = model.graph!;
  const read = (prefix: string) => fs.readdirSync(set).filter((f) => f.startsWith(prefix)).sort((a, b) => parseInt(a.slice(prefix.length)) - parseInt(b.slice(prefix.length)))
    .map((f) => onnx.TensorProto.decode(fs.readFileSync(path.join(set, f))));
  const inputs = read('input_');
  g.input!.forEach((v, i) => g.initializer!.push({ ...inputs[i], name: v.name }));
  g.input = [{ name: 'lowbit_dummy', type: { tensorType: { elemType: 1, shape: { dim: [{ dimValue: 1 }] } } } }];
  const graph = importOnnx(onnx.ModelProto.encode(model).finish());
  const plan = makePlan(graph, new Map([['lowbit_dummy', [1]]]), () => null);
  return { got: plan.outputs, want: read('output_').map(decode) };
}

const CASES = [
  'test_constantofshape_float_ones', 'test_constantofshape_int_shape_zero', 'test_constantofshape_int_zeros',
  'test_size', 'test_size_example',
  'test_range_float_type_positive_delta', 'test_range_int32_type_negative_delta',
  'test_tile', 'test_tile_precomputed',
  'test_split_equal_parts_1d', 'test_split_equal_parts_2d', 'test_split_equal_parts_default_axis', 'test_split_variable_parts_1d',
  'test_split_variable_parts_2d', 'test_split_variable_parts_default_axis', 'test_split_zero_size_splits',
  'test_top_k', 'test_top_k_negative_axis', 'test_top_k_smallest',
  'test_cumsum_1d', 'test_cumsum_1d_exclusive', 'test_cumsum_1d_reverse', 'test_cumsum_1d_reverse_exclusive', 'test_cumsum_2d_axis_0',
  'test_cumsum_2d_axis_1', 'test_cumsum_2d_negative_axis',
  'test_depthtospace_crd_mode', 'test_depthtospace_crd_mode_example', 'test_depthtospace_dcr_mode', 'test_depthtospace_example',
  'test_spacetodepth', 'test_spacetodepth_example',
  'test_constant_pad', 'test_edge_pad', 'test_reflect_pad',
  'test_cast_DOUBLE_to_FLOAT', 'test_cast_DOUBLE_to_FLOAT16', 'test_cast_FLOAT16_to_DOUBLE', 'test_cast_FLOAT16_to_FLOAT', 'test_cast_FLOAT_to_DOUBLE',
  'test_cast_FLOAT_to_FLOAT16',
  'test_castlike_DOUBLE_to_FLOAT', 'test_castlike_DOUBLE_to_FLOAT16', 'test_castlike_FLOAT16_to_DOUBLE', 'test_castlike_FLOAT16_to_FLOAT',
  'test_castlike_FLOAT_to_DOUBLE', 'test_castlike_FLOAT_to_FLOAT16',
  'test_gather_0', 'test_gather_1', 'test_gather_2d_indices', 'test_gather_negative_indices',
  'test_gathernd_example_float32', 'test_gathernd_example_int32', 'test_gathernd_example_int32_batch_dim1',
  'test_gather_elements_0', 'test_gather_elements_1', 'test_gather_elements_negative_indices',
  'test_scatter_elements_with_axis', 'test_scatter_elements_with_duplicate_indices', 'test_scatter_elements_with_negative_indices',
  'test_scatter_elements_without_axis', 'test_scatter_with_axis', 'test_scatter_without_axis',
  'test_scatternd', 'test_scatternd_add', 'test_scatternd_multiply',
];

describe.runIf(hasSystemPackage('libonnx-testdata'))('ONNX node test cases for the tensor operators (libonnx-testdata, through import and plan)', () => {
  it('the test data is installed (.ci/run installs Debian libonnx-testdata)', () => {
    expect(fs.existsSync(ROOT), `${ROOT} is missing: apt-get install libonnx-testdata`).toBe(true);
  });

  for (const name of CASES) {
    it(name, () => {
      const { got, want } = runCase(name);
      expect(got.length).toBe(want.length);
      want.forEach((w, i) => {
        const g = got[i];
        expect(g.value, `${name} output ${i} is folded`).toBeDefined();
        expect(g.type, `${name} output ${i} type`).toBe(w.type);
        expect(g.dims, `${name} output ${i} dims`).toEqual(w.dims);
        const data = Array.from(g.value!.data);
        const exact = w.type !== 'float32' && w.type !== 'float64';
        for (let j = 0; j < w.data.length; j++) {
          if (exact) expect(data[j], `${name} output ${i}[${j}]`).toBe(w.data[j]);
          else expect(Math.abs(data[j] - w.data[j]), `${name} output ${i}[${j}]: ${data[j]} vs ${w.data[j]}`).toBeLessThanOrEqual(1e-6 * (1 + Math.abs(w.data[j])));
        }
      });
    });
  }
});
