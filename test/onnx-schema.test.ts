// The load-time schema check (src/model/validate-schema.ts, src/model/ops/onnx-schemas.ts): one model
// per class of invalid graph the fuzzer found lowbit running and onnxruntime refusing, each refused by
// both (lowbit with a ModelError naming the node, the operator version and what it expected); and the
// two classes onnxruntime runs that lowbit refused (a damaged initializer nothing reads; an operator
// at a later opset than its last version), run by both with equal outputs.

import * as ort from 'onnxruntime-web';
import onnxproto from 'onnx-proto';
import { describe, expect, it } from 'vitest';
import { ModelError } from '../src/errors.js';
import { loadModel } from '../src/index.js';
import { MICROSOFT_OPS, OPS } from '../src/model/ops/registry.js';
import { schemaVersions } from '../src/model/ops/schemas.js';
import { SIMD, randNormal, rng, useRuntimes } from './helpers.js';
import { OnnxBuilder, g, type Feed } from './onnx-builder.js';

const { onnx } = onnxproto;
const rts = useRuntimes();
ort.env.logLevel = 'fatal';

const X = (dims: number[], seed = 1): Feed => ({ type: 'float32', dims, data: randNormal(dims.reduce((a, b) => a * b, 1), rng(seed)) });

/** onnxruntime-web's outputs, or its error message when it refuses the model or the run. */
async function ort_(bytes: Uint8Array, feeds: Record<string, Feed>): Promise<number[][] | string> {
  let s: ort.InferenceSession | undefined;
  try {
    s = await ort.InferenceSession.create(bytes);
    const f: Record<string, ort.Tensor> = {};
    for (const [k, v] of Object.entries(feeds)) f[k] = new ort.Tensor('float32', v.data as Float32Array, v.dims);
    return Object.values(await s.run(f)).map((t) => Array.from(t.data as ArrayLike<number>, Number));
  } catch (e) {
    return String((e as Error).message ?? e);
  } finally {
    await s?.release().catch(() => {});
  }
}

/** Refused by both: lowbit at load with a ModelError containing every part, onnxruntime at all. */
async function bothRefuse(bytes: Uint8Array, feeds: Record<string, Feed>, parts: string[]): Promise<void> {
  let err: unknown;
  try {
    loadModel(rts.one, bytes).dispose();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(ModelError);
  for (const p of parts) expect((err as Error).message).toContain(p);
  expect(typeof (await ort_(bytes, feeds)), 'onnxruntime refuses it too').toBe('string');
}

/** Run by both, with equal outputs. */
async function bothRun(bytes: Uint8Array, feeds: Record<string, Feed>): Promise<void> {
  const theirs = await ort_(bytes, feeds);
  expect(theirs, 'onnxruntime runs it').not.toBeTypeOf('string');
  const m = loadModel(rts.one, bytes);
  try {
    const ours = Object.values(await m.run(feeds)).map((t) => Array.from(t.data as ArrayLike<number>));
    expect(ours.length).toBe((theirs as number[][]).length);
    ours.forEach((o, i) => o.forEach((v, j) => expect(v).toBeCloseTo((theirs as number[][])[i][j], 4)));
  } finally {
    m.dispose();
  }
}

/** The model's protobuf, edited, re-encoded. */
function edited(b: OnnxBuilder, edit: (m: onnxproto.onnx.ModelProto) => void): Uint8Array {
  const m = onnx.ModelProto.decode(b.build());
  edit(m);
  return onnx.ModelProto.encode(m).finish();
}

const x23 = { x: X([2, 3]) };
const relu = (opset = 13) => new OnnxBuilder(opset).input('x', [2, 3]).output('y');

describe.runIf(SIMD === 'baseline')('ONNX schemas checked at load, as onnxruntime checks them', () => {
  it('every operator lowbit implements has a schema (a new operator cannot be added without one)', () => {
    const missing = [
      ...Object.keys(OPS).filter((op) => !schemaVersions('', op)),
      ...Object.keys(MICROSOFT_OPS).filter((op) => !schemaVersions('com.microsoft', op)).map((op) => `com.microsoft::${op}`),
    ];
    expect(missing, 'add them to scripts/gen-op-schemas.py (ONNX) or src/model/ops/contrib-schemas.ts').toEqual([]);
    // OpDef.opsets are ONNX versions of the operator: the first must be one of its since-versions
    const notVersions = Object.entries(OPS).filter(([op, d]) => d.opsets && !schemaVersions('', op)!.some((s) => s.since === d.opsets![0]) && d.opsets[0] > schemaVersions('', op)![0].since);
    expect(notVersions.map(([op, d]) => `${op} ${d.opsets}`)).toEqual([]);
  });

  it('1. input and output counts: more or fewer inputs than the schema allows, an output too many, a required input left empty', async () => {
    await bothRefuse(relu().node('Relu', ['x', 'x'], 'y', {}, 'Add_3').build(), x23, ["Relu node 'Add_3' (Relu-13)", 'has 2 inputs, expected 1']);
    await bothRefuse(relu().node('Add', ['x'], 'y', {}, 'a1').build(), x23, ["Add node 'a1' (Add-13)", 'has 1 inputs, expected 2']);
    await bothRefuse(relu().node('Relu', ['x'], ['y', 'z'], {}, 'r2').build(), x23, ["Relu node 'r2'", 'has 2 outputs, expected 1']);
    await bothRefuse(relu().node('Add', ['x', ''], 'y', {}, 'a2').build(), x23, ["Add node 'a2'", 'input 1 (B) is required and has no name']);
  });

  it('2. an attribute the operator does not have (Mul mode; ReduceMean axes at opset 18, where axes is an input)', async () => {
    await bothRefuse(relu().node('Mul', ['x', 'x'], 'y', { mode: 'linear' }, 'm1').build(), x23, ["Mul node 'm1' (Mul-13)", "attribute 'mode', which Mul-13 does not have"]);
    await bothRefuse(relu(18).node('ReduceMean', ['x'], 'y', { axes: [1] }, 'rm').build(), x23, ["ReduceMean node 'rm' (ReduceMean-18)", "attribute 'axes'"]);
  });

  it('3. a required attribute missing (Concat axis)', async () => {
    await bothRefuse(relu().node('Concat', ['x', 'x'], 'y', {}, 'c1').build(), x23, ["Concat node 'c1' (Concat-13)", "required attribute 'axis' is missing"]);
  });

  it('4. an AttributeProto whose type does not match its value (type STRING holding an int; two value fields; a float for an int)', async () => {
    const b = () => new OnnxBuilder(13).input('x', [1, 1, 2, 2]).output('y').init('roi', [0], []).init('scales', [4], [1, 1, 2, 2]).node('Resize', ['x', 'roi', 'scales'], 'y', { mode: 'nearest' }, 'rz');
    const x = { x: X([1, 1, 2, 2]) };
    await bothRefuse(edited(b(), (m) => { const a = m.graph!.node[0].attribute[0]; a.s = new Uint8Array(); delete (a as { s?: unknown }).s; a.i = 3; }), x, ["Resize node 'rz'", "attribute 'mode' says type string and holds a int"]);
    await bothRefuse(edited(b(), (m) => { m.graph!.node[0].attribute[0].i = 3; }), x, ["Resize node 'rz'", "attribute 'mode' holds int and string"]);
    const softmax = new OnnxBuilder(13).input('x', [2, 3]).output('y').node('Softmax', ['x'], 'y', { axis: 1 }, 'sm');
    await bothRefuse(edited(softmax, (m) => { const a = m.graph!.node[0].attribute[0]; delete (a as { i?: unknown }).i; a.type = 1; a.f = 1; }), x23, ["Softmax node 'sm'", "attribute 'axis' is a float, expected a int"]);
    // a Constant's tensor with an int beside it (the fuzzer's real-model mutants): onnx's checker refuses
    // it, as lowbit does; onnxruntime folds Constant nodes unchecked and runs it, which the message says
    const constant = new OnnxBuilder(13).input('x', [2, 3]).output('y').node('Constant', [], 'c', { value: { dims: [3], data: [1, 2, 3] } }, 'k').node('Add', ['x', 'c'], 'y');
    const mixed = edited(constant, (m) => { m.graph!.node[0].attribute[0].i = 7; });
    expect(() => loadModel(rts.one, mixed)).toThrow(/Constant node 'k' \(Constant-13\): attribute 'value' holds int and tensor: one value field only \(onnx's checker refuses this; onnxruntime alone reads a Constant's value by its type\)/);
    if (SIMD === 'baseline') expect(await ort_(mixed, x23)).not.toBeTypeOf('string');
  });

  it('5. input element types outside the type constraints (Conv bias int32, MatMul float x int32, Resize roi uint8)', async () => {
    const r = rng(3);
    const conv = new OnnxBuilder(13).input('x', [1, 1, 3, 3]).output('y').init('w', [2, 1, 1, 1], randNormal(2, r)).init('b', [2], [1, 2], 'int32').node('Conv', ['x', 'w', 'b'], 'y', {}, 'cv');
    await bothRefuse(conv.build(), { x: X([1, 1, 3, 3]) }, ["Conv node 'cv' (Conv-11)", "input 2 (B: 'b') is int32", 'float32']);
    const mm = relu().init('w', [3, 2], [1, 2, 3, 4, 5, 6], 'int32').node('MatMul', ['x', 'w'], 'y', {}, 'mm');
    await bothRefuse(mm.build(), x23, ["MatMul node 'mm' (MatMul-13)", 'T is bound to different types: float32 (input 0) and int32']);
    const rz = new OnnxBuilder(13).input('x', [1, 1, 2, 2]).output('y').init('roi', [0], [], 'uint8').init('scales', [4], [1, 1, 2, 2]).node('Resize', ['x', 'roi', 'scales'], 'y', {}, 'rz');
    await bothRefuse(rz.build(), { x: X([1, 1, 2, 2]) }, ["Resize node 'rz' (Resize-13)", "input 1 (roi: 'roi') is uint8", 'T2 allows']);
    // an If's outputs have its branches' types (the fuzzer's case: a float If output plus an int32 initializer)
    const branch = (out: string) => new OnnxBuilder(13).output(out).node('Relu', ['x'], out);
    const iff = relu().init('c', [], [1], 'bool').init('k', [3], [1, 2, 3], 'int32')
      .node('If', ['c'], 'v', { then_branch: g(branch('t')), else_branch: g(branch('e')) }, 'if1').node('Add', ['v', 'k'], 'y', {}, 'add');
    await bothRefuse(iff.build(), x23, ["Add node 'add' (Add-13)", 'T is bound to different types: float32 (input 0) and int32']);
  });

  it('6. initializers nothing reads are not decoded: damaged or oddly typed, the model runs', async () => {
    const b = relu().init('unused', [4], [1, 2, 3, 4]).init('strange', [2], [1, 2]).node('Relu', ['x'], 'y', {}, 'r');
    const bytes = edited(b, (m) => {
      m.graph!.initializer[0].rawData = Uint8Array.of(1, 2, 3); // 3 bytes for 4 floats
      m.graph!.initializer[1].dataType = 8; // string
    });
    await bothRun(bytes, x23);
    // read by a node, the same damage is refused
    const used = edited(relu().init('w', [4], [1, 2, 3, 4]).node('Add', ['x', 'w'], 'y', {}, 'r'), (m) => { m.graph!.initializer[0].rawData = Uint8Array.of(1, 2, 3); });
    expect(() => loadModel(rts.one, used)).toThrow(/initializer 'w'.*3 bytes/);
  });

  it('7. the version in effect is the latest since-version <= the opset: Resize at opsets 19, 21 and 23 is Resize-19', async () => {
    for (const opset of [19, 21, 23]) {
      const b = new OnnxBuilder(opset).input('x', [1, 2, 3, 3]).output('y').init('scales', [4], [1, 1, 2, 1.5]).node('Resize', ['x', '', 'scales'], 'y', { mode: 'linear' }, 'rz');
      await bothRun(b.build(), { x: X([1, 2, 3, 3]) });
    }
    // Mish has no version before 18: at opset 17 it does not exist
    expect(() => loadModel(rts.one, relu(17).node('Mish', ['x'], 'y', {}, 'mi').build())).toThrow(/Mish.*ONNX defines it from opset 18/);
  });

  it('8. found by the fuzzing pass: an empty member of a variadic input (Concat), a node output of another type than the graph declares', async () => {
    await bothRefuse(relu().node('Concat', ['x', ''], 'y', { axis: 0 }, 'cc').build(), x23, ["Concat node 'cc'", 'input 1 (inputs) is required and has no name']);
    const declaredInt = new OnnxBuilder(13).input('x', [2, 3]).output('y', 'int32').node('Relu', ['x'], 'y', {}, 'r');
    await bothRefuse(declaredInt.build(), x23, ["Relu node 'r'", "output 0 ('y') is float32, the graph declares it int32"]);
    // a value_info entry is a declaration too
    const vi = edited(relu().node('Relu', ['x'], 'h', {}, 'r1').node('Neg', ['h'], 'y'), (m) => { m.graph!.valueInfo = [{ name: 'h', type: { tensorType: { elemType: 7 } } }]; });
    await bothRefuse(vi, x23, ["Relu node 'r1'", "output 0 ('h') is float32, the graph declares it int64"]);
    // a Concat of one input, and matching declarations, still run
    await bothRun(relu().node('Concat', ['x'], 'y', { axis: 0 }).build(), x23);
  });

  it('9. a graph input declared with a dimension of 0 is that fixed size, as onnxruntime reads it (not any size)', async () => {
    const zero = edited(relu().node('Relu', ['x'], 'y'), (m) => { m.graph!.input[0].type!.tensorType!.shape!.dim![1] = { dimValue: 0 }; });
    const m = loadModel(rts.one, zero);
    await expect(m.run(x23)).rejects.toThrow(/input 'x' has dims \[2, 3\], the model expects \[2, 0\]/);
    m.dispose();
    expect(typeof (await ort_(zero, x23)), 'onnxruntime refuses the run too').toBe('string');
    // negative or unset: symbolic, any size
    const neg = edited(relu().node('Relu', ['x'], 'y'), (m) => { m.graph!.input[0].type!.tensorType!.shape!.dim![1] = { dimValue: -1 }; });
    await bothRun(neg, x23);
  });

  it('several problems in one error, each naming its node', () => {
    const b = relu().node('Relu', ['x', 'x'], 'a', {}, 'n1').node('Concat', ['a', 'a'], 'y', {}, 'n2');
    expect(() => loadModel(rts.one, b.build())).toThrow(/2 nodes do not match.*'n1'.*'n2'/);
  });
});
