// What the model runner refuses, and how: every refusal is a LowbitError subclass with a stable
// code and a message naming the thing at fault. Unsupported operators and malformed files are
// refused by loadModel (before anything runs); bad feeds by run().

import onnxproto from 'onnx-proto';
import { describe, expect, it } from 'vitest';
// ModelError and UnsupportedOperatorError are not exported from src/index.ts (yet)
import { ModelError, UnsupportedOperatorError } from '../src/errors.js';
import { ArgumentError, DTypeError, LowbitError, ShapeError, ValueRangeError, loadModel, type Model } from '../src/index.js';
import { SIMD, randNormal, rng, useRuntimes } from './helpers.js';
import { OnnxBuilder, g, runOrtModel, tensorProto, type Feed } from './onnx-builder.js';

const { onnx } = onnxproto;
const rts = useRuntimes();

type ErrorClass = new (...args: never[]) => LowbitError;

function X(dims: number[], seed = 1): Feed {
  return { type: 'float32', dims, data: randNormal(dims.reduce((a, b) => a * b, 1), rng(seed)) };
}

/** fn throws an instance of cls with this code, and a message containing every part */
function expectError(fn: () => unknown, cls: ErrorClass, code: string, parts: (string | RegExp)[] = []): LowbitError {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err, 'expected a throw').toBeInstanceOf(cls);
  const e = err as LowbitError;
  expect(e.code).toBe(code);
  for (const p of parts) expect(e.message).toMatch(typeof p === 'string' ? new RegExp(p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')) : p);
  return e;
}

async function expectRejection(p: Promise<unknown>, cls: ErrorClass, code: string, parts: (string | RegExp)[] = []): Promise<void> {
  let err: unknown;
  try {
    await p;
  } catch (e) {
    err = e;
  }
  expectError(() => {
    if (err) throw err;
  }, cls, code, parts);
}

/** A small valid model: x [1, 3, 'h', 'w'] -> Conv -> Relu -> GlobalAveragePool -> Flatten -> Gemm -> y [1, 4] */
function validModel(opset = 13): OnnxBuilder {
  const b = new OnnxBuilder(opset).input('x', [1, 3, 'h', 'w']).output('y');
  b.init('w', [8, 3, 3, 3], Array.from(randNormal(216, rng(1), 0.3))).init('bias', [8], new Array(8).fill(0.1));
  b.init('fc', [4, 8], Array.from(randNormal(32, rng(2), 0.3))).init('fcb', [4], [0, 1, 2, 3]);
  b.node('Conv', ['x', 'w', 'bias'], 'c', { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }, 'conv1').node('Relu', ['c'], 'r', {}, 'relu1');
  b.node('GlobalAveragePool', ['r'], 'g', {}, 'gap').node('Flatten', ['g'], 'f', {}, 'flat').node('Gemm', ['f', 'fc', 'fcb'], 'y', { transB: 1 }, 'fc1');
  return b;
}

function withModel<T>(bytes: Uint8Array, fn: (m: Model) => Promise<T>): Promise<T> {
  const m = loadModel(rts.one, bytes);
  return fn(m).finally(() => m.dispose());
}

describe(`model errors (${SIMD} build)`, () => {
  it('the valid model used below loads and runs', async () => {
    await withModel(validModel().build(), async (m) => {
      const y = await m.run({ x: X([1, 3, 6, 5]) });
      expect(y.y.dims).toEqual([1, 4]);
    });
  });

  it('Flatten with a negative axis before opset 11 is refused (onnxruntime refuses it; Flatten-11 counts from the back)', async () => {
    const flat = (opset: number) => {
      const b = new OnnxBuilder(opset).input('x', [2, 3, 4]).output('y');
      return b.node('Flatten', ['x'], 'y', { axis: -1 }, 'flat').build();
    };
    await withModel(flat(9), async (m) => {
      let err: unknown;
      await m.run({ x: X([2, 3, 4]) }).catch((e) => (err = e));
      expect(err).toBeInstanceOf(ShapeError);
      expect((err as Error).message).toMatch(/'flat'.*axis -1 is negative, which Flatten accepts from opset 11/);
    });
    await withModel(flat(11), async (m) => expect((await m.run({ x: X([2, 3, 4]) })).y.dims).toEqual([6, 4]));
  });

  // the fuzzer's control-flow-be6597e93a42 (test/fuzz/corpus): Add rewired off the initializer 'k',
  // whose data_type was set to 0; lowbit skipped the unread initializer and ran the rewired graph
  it('an initializer with data_type 0 (UNDEFINED) is refused even where nothing reads it, in a graph or a branch (onnxruntime refuses it too)', async () => {
    const untyped = (inBranch: boolean, dataType: number) => {
      const branch = (out: string) => new OnnxBuilder(13).init(`w_${out}`, [2, 3], randNormal(6, rng(1))).init(`stray_${out}`, [2], [1, 2]).output(out).node('MatMul', ['x', `w_${out}`], out);
      const b = new OnnxBuilder(13).input('x', [1, 2]).output('y').init('zero', [], [0]).init('stray', [3], [1, 2, 3])
        .node('ReduceSum', ['x'], 's', { keepdims: 0 }).node('Greater', ['s', 'zero'], 'c')
        .node('If', ['c'], 'y', { then_branch: g(branch('t')), else_branch: g(branch('e')) }, 'if');
      const p = b.proto();
      const stray = inBranch ? p.graph!.node[2].attribute.find((a) => a.name === 'else_branch')!.g!.initializer[1] : p.graph!.initializer[1];
      stray.dataType = dataType;
      return onnx.ModelProto.encode(p).finish();
    };
    for (const inBranch of [false, true]) {
      const bytes = untyped(inBranch, 0);
      expectError(() => loadModel(rts.one, bytes), ModelError, 'ERR_MODEL', [inBranch ? /'if' attribute 'else_branch'.*initializer 'stray_e' has data_type 0 \(UNDEFINED\)/ : /^model: initializer 'stray' has data_type 0 \(UNDEFINED\)/]);
      if (SIMD === 'baseline') await expect(runOrtModel(bytes, { x: X([1, 2]) })).rejects.toThrow(/Tensor does not have type information/);
      // typed (any type, even one lowbit lacks), unread: both run it
      const typed = untyped(inBranch, 15);
      const ours = await withModel(typed, (m) => m.run({ x: X([1, 2]) }));
      if (SIMD === 'baseline') expect(Array.from(ours.y.data as Float32Array)).toEqual(Array.from((await runOrtModel(typed, { x: X([1, 2]) })).y.data as ArrayLike<number>));
    }
  });

  // the fuzzer's real-embedding-e0f288c18060 (openWakeWord's embedding model at opset 7): its
  // Max(x, scalar) clamps ran here, fused into the convs; onnxruntime: "All inputs must have the same shape"
  it('Max, Min and Sum broadcast from opset 8 only: before, inputs of other shapes are refused (fused after a Conv too)', async () => {
    const r = rng(4);
    const net = (opset: number, op: string, fused: boolean) => {
      const b = new OnnxBuilder(opset).input('x', [1, 2, 3, 3]).output('y').init('lo', [1], [0.1]).init('w', [2, 2, 1, 1], randNormal(4, r));
      if (fused) b.node('Conv', ['x', 'w'], 'c', {}, 'conv');
      return b.node(op, [fused ? 'c' : 'x', 'lo'], 'y', {}, 'clamp').build();
    };
    for (const [op, fused] of [['Max', true], ['Max', false], ['Min', false], ['Sum', false]] as const) {
      await withModel(net(7, op, fused), async (m) => {
        await expectRejection(m.run({ x: X([1, 2, 3, 3]) }), ShapeError, 'ERR_SHAPE', [`${op} node 'clamp'`, 'input 1 has shape [1] and input 0 [1,2,3,3]', `${op} broadcasts from opset 8`]);
      });
      if (SIMD === 'baseline') await expect(runOrtModel(net(7, op, fused), { x: X([1, 2, 3, 3]) })).rejects.toThrow(/same shape/);
      await withModel(net(8, op, fused), async (m) => expect((await m.run({ x: X([1, 2, 3, 3]) })).y.dims).toEqual([1, 2, 3, 3]));
    }
    // one shape at opset 7 runs
    const same = new OnnxBuilder(7).input('x', [2, 3]).output('y').node('Max', ['x', 'x'], 'y').build();
    await withModel(same, async (m) => expect((await m.run({ x: X([2, 3]) })).y.dims).toEqual([2, 3]));
  });

  describe('unsupported operators: refused at load, naming op, node and opset', () => {
    it('an unknown default-domain op', () => {
      const b = validModel(13).node('NonMaxSuppression', ['y'], 'z', {}, 'nms_7').output('z');
      const e = expectError(() => loadModel(rts.one, b.build()), UnsupportedOperatorError, 'ERR_UNSUPPORTED_OP', ['NonMaxSuppression', "'nms_7'", 'opset 13']);
      expect(e.name).toBe('UnsupportedOperatorError');
    });

    it('at opset 9 and 17 the message names that opset', () => {
      for (const opset of [9, 17]) {
        const b = validModel(opset).node('RoiAlign', ['y'], 'z', {}, 'roi_1').output('z');
        expectError(() => loadModel(rts.one, b.build()), UnsupportedOperatorError, 'ERR_UNSUPPORTED_OP', ['RoiAlign', "'roi_1'", `opset ${opset}`]);
      }
    });

    it('an op in another domain (com.microsoft), with that domain\'s opset', () => {
      const b = validModel(13).node('FusedGemm', ['f', 'fc'], 'z', {}, 'fg', 'com.microsoft').output('z');
      b.domains.set('com.microsoft', 1);
      expectError(() => loadModel(rts.one, b.build()), UnsupportedOperatorError, 'ERR_UNSUPPORTED_OP', ['FusedGemm', "'fg'", 'com.microsoft', 'opset 1']);
    });

    it('an unsupported op with graph attributes (Scan) is reported as unsupported; an If without else_branch is malformed', () => {
      const sub = new OnnxBuilder(13).input('q', [1]).output('q2').node('Identity', ['q'], 'q2').proto().graph!;
      for (const [op, cls, code, parts] of [['Scan', UnsupportedOperatorError, 'ERR_UNSUPPORTED_OP', ['Scan', "'branch'", 'opset 13']], ['If', ModelError, 'ERR_MODEL', ["'branch'", 'else_branch']]] as const) {
        const model = validModel(13).proto();
        model.graph!.node!.push({ name: 'branch', opType: op, input: ['y'], output: ['z'], attribute: [{ name: op === 'If' ? 'then_branch' : 'body', type: onnx.AttributeProto.AttributeType.GRAPH, g: sub }] });
        const bytes = onnx.ModelProto.encode(model).finish();
        expectError(() => loadModel(rts.one, bytes), cls, code, [...parts]);
      }
    });

    it('attribute values lowbit does not implement are refused at load too (Cast to bfloat16, dilated MaxPool, MaxPool Indices)', () => {
      const cases: [string, (b: OnnxBuilder) => void][] = [
        ['Cast', (b) => b.node('Cast', ['y'], 'z', { to: 16 }, 'cast_bf16')],
        ['dilated', (b) => b.node('MaxPool', ['r'], 'z', { kernel_shape: [2, 2], dilations: [2, 2] }, 'pool')],
        ['Indices', (b) => b.node('MaxPool', ['r'], ['z', 'idx'], { kernel_shape: [2, 2] }, 'pool')],
      ];
      for (const [what, add] of cases) {
        const b = validModel(13);
        add(b);
        b.output('z', what === 'Cast' ? 16 : 'float32'); // declared as the node makes it: onnxruntime checks
        expectError(() => loadModel(rts.one, b.build()), UnsupportedOperatorError, 'ERR_UNSUPPORTED_OP', [what]);
      }
    });
  });

  describe('malformed files: ModelError at load', () => {
    it('not a Uint8Array, empty, random bytes', () => {
      expectError(() => loadModel(rts.one, 'model.onnx' as never), ModelError, 'ERR_MODEL', ['Uint8Array']);
      expectError(() => loadModel(rts.one, new Uint8Array(0)), ModelError, 'ERR_MODEL');
      for (let seed = 1; seed <= 20; seed++) {
        const r = rng(seed);
        const bytes = Uint8Array.from({ length: 64 + seed * 37 }, () => Math.floor(r() * 256));
        expectError(() => loadModel(rts.one, bytes), ModelError, 'ERR_MODEL');
      }
    });

    it('a valid file cut in half, and cut anywhere: ModelError or (at a field boundary that drops nothing needed) a model', () => {
      const bytes = validModel().build();
      expectError(() => loadModel(rts.one, bytes.subarray(0, bytes.length >> 1)), ModelError, 'ERR_MODEL', [/not a valid ONNX protobuf|no graph/]);
      let loaded = 0;
      for (let n = 0; n < bytes.length; n += 3) {
        try {
          loadModel(rts.one, bytes.slice(0, n)).dispose();
          loaded++;
        } catch (e) {
          expect(e, `cut at ${n} of ${bytes.length}`).toBeInstanceOf(ModelError);
        }
      }
      expect(loaded).toBeLessThan(3);
    });

    it('a file with flipped bytes: never anything but a ModelError or UnsupportedOperatorError (or a model)', () => {
      const bytes = validModel().build();
      const r = rng(3);
      for (let t = 0; t < 200; t++) {
        const b = bytes.slice();
        for (let k = 0; k < 3; k++) b[Math.floor(r() * b.length)] ^= 1 << Math.floor(r() * 8);
        try {
          loadModel(rts.one, b).dispose();
        } catch (e) {
          expect(e).toBeInstanceOf(LowbitError);
          expect(['ERR_MODEL', 'ERR_UNSUPPORTED_OP']).toContain((e as LowbitError).code);
        }
      }
    });

    it('an initializer whose raw data length does not match its dims', () => {
      const b = validModel();
      const t = tensorProto('bad_w', { dims: [4, 3], data: new Array(12).fill(1) });
      t.rawData = t.rawData!.subarray(0, 44);
      b.initProto(t).node('MatMul', ['f', 'bad_w'], 'z').output('z');
      expectError(() => loadModel(rts.one, b.build()), ModelError, 'ERR_MODEL', ["'bad_w'", '44 bytes', '48']);
    });

    it('an initializer with float_data of the wrong count, bad dims, an unsupported element type', () => {
      const cases: [onnxproto.onnx.ITensorProto, string[]][] = [
        [{ name: 'few', dims: [2, 3], dataType: 1, floatData: [1, 2, 3, 4, 5] }, ["'few'", '5 values']],
        [{ name: 'neg', dims: [2, -3], dataType: 1, floatData: [] }, ["'neg'", 'dims']],
        [{ name: 'str', dims: [1], dataType: 8, stringData: [new Uint8Array([65])] }, ["'str'", 'element type 8']],
        [{ name: 'huge', dims: [65536, 65536], dataType: 1, rawData: new Uint8Array(4) }, ["'huge'", 'wasm32']],
      ];
      for (const [t, parts] of cases) {
        // read by a node: an initializer nothing reads is not decoded (test/onnx-schema.test.ts)
        const b = validModel().initProto(t).node('Identity', [t.name!], `${t.name}_id`).output(`${t.name}_id`, t.dataType!);
        expectError(() => loadModel(rts.one, b.build()), ModelError, 'ERR_MODEL', parts);
      }
    });

    it('an initializer stored as external data', () => {
      const b = validModel();
      b.initProto({ name: 'ext', dims: [4, 8], dataType: 1, dataLocation: 1, externalData: [{ key: 'location', value: 'weights.bin' }, { key: 'offset', value: '0' }] });
      b.node('MatMul', ['f', 'ext'], 'z').output('z');
      expectError(() => loadModel(rts.one, b.build()), ModelError, 'ERR_MODEL', ["'ext'", 'external data']);
    });

    it('a cycle, a missing value, a value produced twice, an output nothing produces, no nodes, no inputs, a bad opset', () => {
      const cyc = new OnnxBuilder(13).input('x', [2]).output('y');
      cyc.node('Add', ['x', 'b'], 'a', {}, 'add_a').node('Relu', ['a'], 'b', {}, 'relu_b').node('Neg', ['a'], 'y');
      expectError(() => loadModel(rts.one, cyc.build()), ModelError, 'ERR_MODEL', ['cycle']);

      const missing = new OnnxBuilder(13).input('x', [2]).output('y').node('Add', ['x', 'nowhere'], 'y', {}, 'adder');
      expectError(() => loadModel(rts.one, missing.build()), ModelError, 'ERR_MODEL', ["'adder'", "'nowhere'"]);

      const twice = new OnnxBuilder(13).input('x', [2]).output('y').node('Relu', ['x'], 'y').node('Neg', ['x'], 'y', {}, 'neg2');
      expectError(() => loadModel(rts.one, twice.build()), ModelError, 'ERR_MODEL', ["'y'", 'twice', "'neg2'"]);

      const shadow = new OnnxBuilder(13).input('x', [2]).output('y').node('Relu', ['x'], 'x', {}, 'overwrites_input').node('Neg', ['x'], 'y');
      expectError(() => loadModel(rts.one, shadow.build()), ModelError, 'ERR_MODEL', ["'x'"]);

      const noOut = new OnnxBuilder(13).input('x', [2]).output('y').output('ghost').node('Relu', ['x'], 'y');
      expectError(() => loadModel(rts.one, noOut.build()), ModelError, 'ERR_MODEL', ["'ghost'"]);

      expectError(() => loadModel(rts.one, new OnnxBuilder(13).input('x', [2]).output('x').build()), ModelError, 'ERR_MODEL', ['no nodes']);

      const noIn = new OnnxBuilder(13).output('y').init('k', [2], [1, 2]).node('Relu', ['k'], 'y');
      expectError(() => loadModel(rts.one, noIn.build()), ModelError, 'ERR_MODEL', ['no inputs']);

      for (const opset of [0, 3, 99]) {
        const b = new OnnxBuilder(opset).input('x', [2]).output('y').node('Relu', ['x'], 'y');
        expectError(() => loadModel(rts.one, b.build()), ModelError, 'ERR_MODEL', [`opset ${opset}`]);
      }
    });

    it('a graph input of an element type lowbit does not take (string, float16)', () => {
      for (const t of ['float16'] as const) {
        const b = new OnnxBuilder(13).input('x', [2], t).output('y', t).node('Relu', ['x'], 'y');
        expectError(() => loadModel(rts.one, b.build()), ModelError, 'ERR_MODEL', ["'x'", 'element type']);
      }
      const m = new OnnxBuilder(13).input('x', [2]).output('y').node('Relu', ['x'], 'y').proto();
      m.graph!.input![0].type!.tensorType!.elemType = 8;
      expectError(() => loadModel(rts.one, onnx.ModelProto.encode(m).finish()), ModelError, 'ERR_MODEL', ["'x'"]);
    });
  });

  describe('bad feeds at run: named input, right error class', () => {
    const bytes = () => validModel().build();

    it('a missing input: ArgumentError naming it', async () => {
      await withModel(bytes(), (m) => expectRejection(m.run({}), ArgumentError, 'ERR_ARGUMENT', ["'x'", 'missing']));
      await withModel(bytes(), (m) => expectRejection(m.run({ X: X([1, 3, 4, 4]) }), ArgumentError, 'ERR_ARGUMENT', ["'x'"]));
    });

    it('a wrong dtype: DTypeError naming it', async () => {
      await withModel(bytes(), async (m) => {
        await expectRejection(m.run({ x: { type: 'int32', data: new Int32Array(48), dims: [1, 3, 4, 4] } }), DTypeError, 'ERR_DTYPE', ["'x'", 'int32']);
        await expectRejection(m.run({ x: { type: 'float32', data: new Float64Array(48), dims: [1, 3, 4, 4] } }), DTypeError, 'ERR_DTYPE', ["'x'"]);
        await expectRejection(m.run({ x: { type: 'float32', data: Array.from({ length: 48 }, () => 0), dims: [1, 3, 4, 4] } }), DTypeError, 'ERR_DTYPE', ["'x'"]);
      });
    });

    it('a wrong shape: ShapeError naming it and the expected dims', async () => {
      await withModel(bytes(), async (m) => {
        await expectRejection(m.run({ x: X([1, 4, 5, 5]) }), ShapeError, 'ERR_SHAPE', ["'x'", '[1, 4, 5, 5]', '[1, 3, h, w]']);
        await expectRejection(m.run({ x: X([3, 5, 5]) }), ShapeError, 'ERR_SHAPE', ["'x'"]);
        await expectRejection(m.run({ x: X([2, 3, 5, 5]) }), ShapeError, 'ERR_SHAPE', ["'x'"]);
        await expectRejection(m.run({ x: { type: 'float32', data: new Float32Array(10), dims: [1, 3, 2, 2] } }), ShapeError, 'ERR_SHAPE', ["'x'", '10 values']);
        // a dimension of 0 is a valid input (a decoder's empty past); a 0-high image is the convolution's to refuse
        await expectRejection(m.run({ x: { type: 'float32', data: new Float32Array(0), dims: [1, 3, 0, 4] } }), ShapeError, 'ERR_SHAPE', ["'conv1+relu1'"]);
        await expectRejection(m.run({ x: { type: 'float32', data: new Float32Array(36), dims: [1, 3, 2.5, 4.8] } }), ShapeError, 'ERR_SHAPE', ["'x'"]);
        // an image too small for the 3x3 kernel (with padding 1 a 1x1 works; but not 0-size)
        const y = await m.run({ x: X([1, 3, 1, 1]) });
        expect(y.y.dims).toEqual([1, 4]);
        // the model still works after all that
        expect((await m.run({ x: X([1, 3, 4, 4]) })).y.dims).toEqual([1, 4]);
      });
    });

    it('used after dispose: ArgumentError', async () => {
      const m = loadModel(rts.one, bytes());
      m.dispose();
      m.dispose();
      await expectRejection(m.run({ x: X([1, 3, 4, 4]) }), ArgumentError, 'ERR_ARGUMENT', ['dispose']);
      expectError(() => m.plan({ x: [1, 3, 4, 4] }), ArgumentError, 'ERR_ARGUMENT', ['dispose']);
    });

    // model.ts checks feeds against float32 only, not against the input's declared type: an int64
    // input fed float32 data reaches the arena with offset -1 (a RangeError, not a LowbitError).
    it('a feed for an input declared int64 is refused with a DTypeError', async () => {
      const b = new OnnxBuilder(13).input('ids', [4], 'int64').output('y').node('Cast', ['ids'], 'y', { to: 1 });
      await withModel(b.build(), (m) => expectRejection(m.run({ ids: X([4]) }), DTypeError, 'ERR_DTYPE', ["'ids'"]));
    });
  });

  describe('shape errors found when the plan is made', () => {
    it('Reshape to an impossible shape: ShapeError naming the node and both shapes', async () => {
      for (const target of [[5, -1], [7, 7], [-1, -1], [2, -2], [0, 0, 0, 0, 0]]) {
        const b = new OnnxBuilder(13).input('x', [2, 3, 4]).output('y').ints('s', target).node('Reshape', ['x', 's'], 'y', {}, 'reshape_bad');
        await withModel(b.build(), (m) => expectRejection(m.run({ x: X([2, 3, 4]) }), ShapeError, 'ERR_SHAPE', ["'reshape_bad'"]));
      }
      const b = new OnnxBuilder(13).input('x', [2, 3, 4]).output('y').ints('s', [5, -1]).node('Reshape', ['x', 's'], 'y', {}, 'reshape_bad');
      await withModel(b.build(), async (m) => {
        expectError(() => m.plan({ x: [2, 3, 4] }), ShapeError, 'ERR_SHAPE', ["'reshape_bad'", '[2,3,4]', '[5,-1]']);
        // with a symbolic-free model other shapes are refused before the Reshape: same error class
        expectError(() => m.plan({ x: [2, 3] }), ShapeError, 'ERR_SHAPE', ["'x'"]);
      });
    });

    it('a Reshape whose target shape is a runtime value: runs (a staged plan); Model.plan(), which makes one plan, throws UnsupportedOperatorError naming it', async () => {
      const b = new OnnxBuilder(13).input('x', [2, 3]).input('s', [2]).output('y').node('Cast', ['s'], 'si', { to: 7 }).node('Reshape', ['x', 'si'], 'y', {}, 'dyn');
      await withModel(b.build(), async (m) => {
        expect((await m.run({ x: X([2, 3]), s: { type: 'float32', data: Float32Array.of(3, 2), dims: [2] } })).y.dims).toEqual([3, 2]);
        expectError(() => m.plan({ x: [2, 3], s: [2] }), UnsupportedOperatorError, 'ERR_UNSUPPORTED_OP', ["'dyn'", 'shape']);
      });
    });

    it('broadcasting, MatMul, Conv channel and Gather index mismatches: ShapeError naming the node', async () => {
      const add = new OnnxBuilder(13).input('a', [2, 3]).input('b', [4]).output('y').node('Add', ['a', 'b'], 'y', {}, 'add1');
      await withModel(add.build(), (m) => expectRejection(m.run({ a: X([2, 3]), b: X([4]) }), ShapeError, 'ERR_SHAPE', ["'add1'", '[2,3]', '[4]']));
      const mm = new OnnxBuilder(13).input('a', [2, 3]).output('y').init('w', [4, 5], new Array(20).fill(0)).node('MatMul', ['a', 'w'], 'y', {}, 'mm1');
      await withModel(mm.build(), (m) => expectRejection(m.run({ a: X([2, 3]) }), ShapeError, 'ERR_SHAPE', ["'mm1'"]));
      const conv = new OnnxBuilder(13).input('x', [1, 'c', 'h', 'w']).output('y').init('w', [4, 3, 3, 3], new Array(108).fill(0)).node('Conv', ['x', 'w'], 'y', { kernel_shape: [3, 3] }, 'conv_c');
      await withModel(conv.build(), (m) => expectRejection(m.run({ x: X([1, 5, 6, 6]) }), ShapeError, 'ERR_SHAPE', ["'conv_c'", 'channels 5']));
      await withModel(conv.build(), (m) => expectRejection(m.run({ x: X([1, 3, 2, 2]) }), ShapeError, 'ERR_SHAPE', ["'conv_c'", 'does not fit']));
      const g = new OnnxBuilder(13).input('x', [3, 4]).output('y').ints('i', [0, 3]).node('Gather', ['x', 'i'], 'y', {}, 'gather1');
      await withModel(g.build(), (m) => expectRejection(m.run({ x: X([3, 4]) }), ShapeError, 'ERR_SHAPE', ["'gather1'", 'index 3']));
    });

    it('a Gather index computed at run time and out of range: ValueRangeError naming the node and the index', async () => {
      const g = new OnnxBuilder(13).input('x', [3, 4]).input('j', [2]).output('y').node('Cast', ['j'], 'jc', { to: 7 }).node('Gather', ['x', 'jc'], 'y', {}, 'gather2');
      await withModel(g.build(), async (m) => {
        const ok = await m.run({ x: X([3, 4]), j: { type: 'float32', data: Float32Array.of(2, -1), dims: [2] } });
        expect(Object.values(ok)[0].dims).toEqual([2, 4]);
        await expectRejection(m.run({ x: X([3, 4]), j: { type: 'float32', data: Float32Array.of(0, 5), dims: [2] } }), ValueRangeError, 'ERR_RANGE', ["'gather2'", 'indices[1] is 5']);
      });
    });
  });
});
