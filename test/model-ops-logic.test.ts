// Comparison, logic and Where, and the elementwise math ops of unary-ops.ts, against
// onnxruntime-web on small generated graphs (test/model-ort-check.ts): broadcasting, integer and
// bool inputs, channels-last (after a Conv) operands, every attribute, and typed errors.

import { describe, expect, it } from 'vitest';
import { DTypeError, ShapeError, loadModel } from '../src/index.js';
import { ModelError, UnsupportedOperatorError, ValueRangeError } from '../src/errors.js';
import { SIMD, useRuntimes } from './helpers.js';
import { compareWithOrt, expectLowbitError, expectLowbitRejection, seeded } from './model-ort-check.js';
import { OnnxBuilder, f, type DType } from './onnx-builder.js';

const rts = useRuntimes();
const CAST: Partial<Record<DType, number>> = { int64: 7, int32: 6, bool: 9, uint8: 2, int8: 3 };

/** inputs a [2, 3, 4] and b of `bdims`, both rounded to 0.5 (so Equal has ties), cast to `type` */
function pair(opset: number, bdims: number[], type: DType = 'float32') {
  const b = new OnnxBuilder(opset).input('a', [2, 3, 4]).input('b', bdims);
  let a = 'a', bb = 'b';
  if (type !== 'float32') {
    // values x2 so integer casts keep distinct values (and ties)
    b.init('two', [], [2]).node('Mul', ['a', 'two'], 'a2').node('Mul', ['b', 'two'], 'b2');
    b.node('Cast', ['a2'], 'ac', { to: CAST[type]! }).node('Cast', ['b2'], 'bc', { to: CAST[type]! });
    [a, bb] = ['ac', 'bc'];
  }
  return { b, a, bb, feeds: { a: seeded([2, 3, 4], 1, 1, 0.5), b: seeded(bdims, 2, 1, 0.5) } };
}

/** a channels-last value: Conv 1x1 over x [1, 4, 3, 5] (lowbit stores conv outputs NHWC) */
function nhwc(b: OnnxBuilder, x: string, y: string): OnnxBuilder {
  const w = Array.from({ length: 16 }, (_, i) => (i % 5 === 0 ? 1 : 0));
  return b.init(`${y}.w`, [4, 4, 1, 1], w).node('Conv', [x, `${y}.w`], y, { kernel_shape: [1, 1] });
}

describe(`comparison, logic and Where vs onnxruntime-web (${SIMD} build)`, () => {
  const COMPARE = ['Equal', 'Less', 'Greater', 'LessOrEqual', 'GreaterOrEqual'];
  for (const op of COMPARE) {
    for (const type of ['float32', 'int64', 'int32'] as DType[]) {
      it(`${op} ${type}: same dims, [3, 1], [4], scalar operands`, async () => {
        for (const bdims of [[2, 3, 4], [3, 1], [4], []]) {
          const { b, a, bb, feeds } = pair(op.endsWith('Equal') && op !== 'Equal' ? 12 : 13, bdims, type);
          b.node(op, [a, bb], 'y').node(op, [bb, a], 'z').output('y', 'bool').output('z', 'bool');
          await compareWithOrt(rts.one, b, feeds);
        }
      });
    }
  }

  it('Equal on bools; comparisons at opset 7 and 21', async () => {
    const { b, feeds } = pair(13, [3, 1]);
    b.init('zero', [], [0]).node('Greater', ['a', 'zero'], 'ga').node('Greater', ['b', 'zero'], 'gb').node('Equal', ['ga', 'gb'], 'y').output('y', 'bool');
    await compareWithOrt(rts.one, b, feeds);
    for (const opset of [7, 21]) {
      const c = pair(opset, [4]);
      c.b.node('Less', ['a', 'b'], 'y').node('Greater', ['a', 'b'], 'z').output('y', 'bool').output('z', 'bool');
      if (opset === 21) c.b.node('GreaterOrEqual', ['a', 'b'], 'w').output('w', 'bool');
      await compareWithOrt(rts.one, c.b, c.feeds);
    }
  });

  it('channels-last operands: a Conv output against a per-channel constant, another NHWC value, and an NCHW one', async () => {
    const b = new OnnxBuilder(13).input('x', [1, 4, 3, 5]).input('u', [1, 4, 3, 5]);
    nhwc(b, 'x', 'c').init('k', [1, 4, 1, 1], [0, 0.5, -0.5, 1]).node('GreaterOrEqual', ['c', 'k'], 'y');
    nhwc(b, 'u', 'd').node('Less', ['c', 'd'], 'z').node('Equal', ['c', 'u'], 'e');
    b.node('Where', ['y', 'c', 'u'], 'w').node('Where', ['z', 'k', 'd'], 'v');
    b.output('y', 'bool').output('z', 'bool').output('e', 'bool').output('w').output('v');
    b.node('Not', ['y'], 'n').node('Xor', ['y', 'z'], 'xo').output('n', 'bool').output('xo', 'bool');
    await compareWithOrt(rts.one, b, { x: seeded([1, 4, 3, 5], 3, 1, 0.5), u: seeded([1, 4, 3, 5], 4, 1, 0.5) });
  });

  it('Not, And, Or, Xor with broadcasting', async () => {
    for (const bdims of [[2, 3, 4], [3, 1], [1, 4], []]) {
      const { b, feeds } = pair(13, bdims);
      b.init('zero', [], [0]).node('Greater', ['a', 'zero'], 'p').node('Less', ['b', 'zero'], 'q');
      for (const op of ['And', 'Or', 'Xor']) b.node(op, ['p', 'q'], op).node(op, ['q', 'p'], `${op}r`).output(op, 'bool').output(`${op}r`, 'bool');
      b.node('Not', ['p'], 'np').node('Not', ['q'], 'nq').output('np', 'bool').output('nq', 'bool');
      await compareWithOrt(rts.one, b, feeds);
    }
  });

  it('Where: the three broadcast together; float, int64, int32 and uint8 X/Y', async () => {
    for (const [cd, xd, yd] of [[[2, 3, 4], [2, 3, 4], [2, 3, 4]], [[3, 1], [2, 1, 4], [4]], [[], [3, 4], [2, 1, 1]], [[2, 1, 4], [], [3, 1]]]) {
      const b = new OnnxBuilder(16).input('c', cd).input('x', xd).input('y', yd);
      b.init('zero', [], [0]).node('Greater', ['c', 'zero'], 'cb').node('Where', ['cb', 'x', 'y'], 'w').output('w');
      b.node('Cast', ['x'], 'xi', { to: 7 }).node('Cast', ['y'], 'yi', { to: 7 }).node('Where', ['cb', 'xi', 'yi'], 'wi').output('wi', 'int64');
      b.node('Cast', ['x'], 'x32', { to: 6 }).node('Cast', ['y'], 'y32', { to: 6 }).node('Where', ['cb', 'x32', 'y32'], 'w32').output('w32', 'int32');
      b.node('Abs', ['x'], 'ax').node('Abs', ['y'], 'ay').node('Cast', ['ax'], 'x8', { to: 2 }).node('Cast', ['ay'], 'y8', { to: 2 }).node('Where', ['cb', 'x8', 'y8'], 'w8').output('w8', 'uint8');
      await compareWithOrt(rts.one, b, { c: seeded(cd, 5), x: seeded(xd, 6, 3), y: seeded(yd, 7, 3) });
    }
  });

  it('Where on bool X/Y (onnxruntime has no bool Where): equals (c and x) or (not c and y)', async () => {
    const b = new OnnxBuilder(16).input('c', [3, 1]).input('x', [2, 1, 4]).input('y', [4]).output('w', 'bool').output('v', 'bool');
    b.init('zero', [], [0]).node('Greater', ['c', 'zero'], 'cb').node('Less', ['x', 'zero'], 'xb').node('Less', ['y', 'zero'], 'yb');
    b.node('Where', ['cb', 'xb', 'yb'], 'w').node('And', ['cb', 'xb'], 'p').node('Not', ['cb'], 'nc').node('And', ['nc', 'yb'], 'q').node('Or', ['p', 'q'], 'v');
    const m = loadModel(rts.one, b.build());
    const out = await m.run({ c: seeded([3, 1], 5), x: seeded([2, 1, 4], 6), y: seeded([4], 7) });
    m.dispose();
    expect(out.w.dims).toEqual([2, 3, 4]);
    expect(Array.from(out.w.data)).toEqual(Array.from(out.v.data));
    expect(new Set(out.w.data).size).toBe(2);
  });

  it('folds when every input is a constant (shape arithmetic)', async () => {
    const b = new OnnxBuilder(13).input('x', [2, 3]).output('y');
    b.init('p', [3], [1, 5, 3]).init('q', [3], [2, 5, 1]).node('LessOrEqual', ['p', 'q'], 'le');
    b.node('Where', ['le', 'p', 'q'], 'm').node('Add', ['x', 'm'], 'y');
    await compareWithOrt(rts.one, b, { x: seeded([2, 3], 8) });
  });

  describe('typed errors naming the node and the input', () => {
    // element types outside the schema's constraints are refused at load (src/model/validate-schema.ts)
    it('element types: And on floats, Less on bools, Where with X float and Y int64, Not on float, Equal across types', async () => {
      const cases: [string, (b: OnnxBuilder) => void, string[]][] = [
        ['And', (b) => b.node('And', ['a', 'a'], 'y', {}, 'and1'), ["And node 'and1'", 'A', 'float32', 'bool']],
        ['Less', (b) => b.node('Greater', ['a', 'a'], 'g').node('Less', ['g', 'g'], 'y', {}, 'less1'), ["Less node 'less1'", 'bool']],
        ['Where', (b) => b.node('Greater', ['a', 'a'], 'g').node('Cast', ['a'], 'ai', { to: 7 }).node('Where', ['g', 'a', 'ai'], 'y', {}, 'w1'), ["Where node 'w1'", 'T is bound to different types', 'float32', 'int64']],
        ['Where cond', (b) => b.node('Where', ['a', 'a', 'a'], 'y', {}, 'w2'), ["Where node 'w2'", 'condition', 'float32']],
        ['Not', (b) => b.node('Not', ['a'], 'y', {}, 'not1'), ["Not node 'not1'", 'X', 'float32']],
        ['Equal', (b) => b.node('Cast', ['a'], 'ai', { to: 7 }).node('Equal', ['a', 'ai'], 'y', {}, 'eq1'), ["Equal node 'eq1'", 'float32', 'int64']],
      ];
      for (const [, add] of cases) {
        const b = new OnnxBuilder(13).input('a', [2, 3]).output('y');
        add(b);
        expectLowbitError(() => loadModel(rts.one, b.build()), ModelError, cases.find(([, f]) => f === add)![2]);
      }
    });

    it('shapes that do not broadcast; GreaterOrEqual before opset 12', async () => {
      const b = new OnnxBuilder(13).input('a', [2, 3]).input('c', [2]).output('y', 'bool').node('Less', ['a', 'c'], 'y', {}, 'lt');
      const m = loadModel(rts.one, b.build());
      await expectLowbitRejection(m.run({ a: seeded([2, 3]), c: seeded([2]) }), ShapeError, ["Less node 'lt'", '[2,3]', '[2]']);
      m.dispose();
      const w = new OnnxBuilder(13).input('a', [2, 3]).input('c', [2, 1, 1]).output('y').init('x', [4], [1, 2, 3, 4]);
      w.init('z', [], [0]).node('Greater', ['a', 'z'], 'g').node('Where', ['g', 'c', 'x'], 'y', {}, 'wh');
      const m2 = loadModel(rts.one, w.build());
      await expectLowbitRejection(m2.run({ a: seeded([2, 3]), c: seeded([2, 1, 1]) }), ShapeError, ["Where node 'wh'", 'broadcast']);
      m2.dispose();
      const old = new OnnxBuilder(11).input('a', [2]).output('y', 'bool').node('GreaterOrEqual', ['a', 'a'], 'y', {}, 'ge');
      expectLowbitError(() => loadModel(rts.one, old.build()), UnsupportedOperatorError, ["'ge'", 'opset 11']);
    });
  });
});

describe(`elementwise math vs onnxruntime-web (${SIMD} build)`, () => {
  const UNARY: [string, Record<string, unknown>, number, ((x: Float32Array) => void)?][] = [
    ['Log', {}, 13, (x) => x.forEach((v, i) => (x[i] = Math.abs(v) + 1e-3))],
    ['Sin', {}, 7],
    ['Cos', {}, 13],
    ['Floor', {}, 13],
    ['Ceil', {}, 13],
    // halves and near-halves: ties go to the even neighbour
    ['Round', {}, 11, (x) => x.forEach((v, i) => (x[i] = i % 2 ? Math.round(v * 4) / 2 : v))],
    ['Sign', {}, 13, (x) => x.forEach((v, i) => (x[i] = i % 3 ? v : 0))],
    ['Softplus', {}, 13],
    ['Softsign', {}, 13],
    ['Elu', {}, 13],
    ['Elu', { alpha: 0.5 }, 7],
    ['Selu', {}, 13],
    ['Selu', { alpha: 1.5, gamma: 2 }, 13],
    ['Celu', {}, 13],
    ['Celu', { alpha: 2.5 }, 13],
    ['Mish', {}, 18],
    ['ThresholdedRelu', {}, 10],
    ['ThresholdedRelu', { alpha: 0.3 }, 13],
  ];
  for (const [op, attrs, opset, prep] of UNARY) {
    it(`${op} ${JSON.stringify(attrs)} (opset ${opset})`, async () => {
      // wide range: exp overflow in Softplus/Mish, saturation, large |x| for trig
      const x = seeded([3, 40], 11, 6);
      x.data[0] = 90;
      x.data[1] = -90;
      prep?.(x.data);
      const fattrs = Object.fromEntries(Object.entries(attrs).map(([k, v]) => [k, f(v as number)]));
      const b = new OnnxBuilder(opset).input('x', [3, 40]).output('y').node(op, ['x'], 'y', fattrs);
      await compareWithOrt(rts.one, b, { x });
    });
  }

  it('Round: exact halves to even, negative halves, -0.5, large values', async () => {
    const vals = [0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 3.5, 4.5, 0.49999997, -0.49999997, 1e7 + 0.5, 8388607.5, -8388607.5, 123456.5, 2.4999998];
    const b = new OnnxBuilder(11).input('x', [vals.length]).output('y').node('Round', ['x'], 'y');
    await compareWithOrt(rts.one, b, { x: { type: 'float32', dims: [vals.length], data: Float32Array.from(vals) } }, 0);
  });

  it('Sign on int64 and int32; unary ops on a channels-last value', async () => {
    const b = new OnnxBuilder(13).input('x', [4, 5]).output('s', 'int64').output('t', 'int32');
    b.init('three', [], [3]).node('Mul', ['x', 'three'], 'x3').node('Cast', ['x3'], 'xi', { to: 7 }).node('Sign', ['xi'], 's');
    b.node('Cast', ['x3'], 'x32', { to: 6 }).node('Sign', ['x32'], 't');
    await compareWithOrt(rts.one, b, { x: seeded([4, 5], 12) });
    const c = new OnnxBuilder(18).input('x', [1, 4, 3, 5]);
    nhwc(c, 'x', 'h');
    for (const op of ['Softplus', 'Elu', 'Mish', 'Floor', 'Sin']) c.node(op, ['h'], op).output(op);
    await compareWithOrt(rts.one, c, { x: seeded([1, 4, 3, 5], 13, 2) });
  });

  it('Clip with runtime min and max (scalars computed from the input), and min > max (all max)', async () => {
    const b = new OnnxBuilder(13).input('x', [3, 5]).output('y').output('z').output('w');
    b.node('ReduceMax', ['x'], 'hi', { keepdims: 0 }).init('half', [], [0.5]).node('Mul', ['hi', 'half'], 'mx').node('Neg', ['mx'], 'mn');
    b.node('Clip', ['x', 'mn', 'mx'], 'y').node('Clip', ['x', 'mn'], 'z').node('Clip', ['x', 'mx', 'mn'], 'w');
    await compareWithOrt(rts.one, b, { x: seeded([3, 5], 20) });
    const c = new OnnxBuilder(13).input('x', [3, 5]).output('y').init('lo', [], [1]).init('hi', [], [-1]).node('Clip', ['x', 'lo', 'hi'], 'y');
    await compareWithOrt(rts.one, c, { x: seeded([3, 5], 21) });
    const bad = new OnnxBuilder(13).input('x', [3, 5]).output('y').init('lo', [2], [0, 1]).node('Clip', ['x', 'lo'], 'y', {}, 'clip2');
    const m = loadModel(rts.one, bad.build());
    await expectLowbitRejection(m.run({ x: seeded([3, 5]) }), ShapeError, ["Clip node 'clip2'", 'min', 'scalar']);
    m.dispose();
  });

  it('IsNaN and IsInf (detect_negative / detect_positive)', async () => {
    const b = new OnnxBuilder(13).input('x', [2, 6]).output('n', 'bool');
    // x / k with k holding zeros: 0/0 = NaN, ±x/0 = ±Inf
    b.init('k', [6], [0, 1, 0, 2, 0, -1]).node('Div', ['x', 'k'], 'q').node('IsNaN', ['q'], 'n');
    for (const [name, neg, pos] of [['i', 1, 1], ['ineg', 1, 0], ['ipos', 0, 1], ['none', 0, 0]] as const) {
      b.node('IsInf', ['q'], name, { detect_negative: neg, detect_positive: pos }).output(name, 'bool');
    }
    await compareWithOrt(rts.one, b, { x: { type: 'float32', dims: [2, 6], data: Float32Array.from([0, 1, 2, -3, -4, 5, 6, 0, -1, 2, 0, 3]) } });
  });

  it('PRelu: slope [C] on the last axis, [3, 1], scalar, per-channel [C, 1, 1] on a channels-last value; opset 7 and 16', async () => {
    for (const [opset, sdims] of [[7, [4]], [9, [3, 1]], [16, [1]], [16, [2, 3, 4]], [16, []]] as [number, number[]][]) {
      const b = new OnnxBuilder(opset).input('x', [2, 3, 4]).output('y').init('s', sdims, seeded(sdims, 14).data).node('PRelu', ['x', 's'], 'y');
      await compareWithOrt(rts.one, b, { x: seeded([2, 3, 4], 15) });
    }
    const c = new OnnxBuilder(13).input('x', [1, 4, 3, 5]).output('y').init('s', [4, 1, 1], [0.1, -0.2, 0.3, 2]);
    nhwc(c, 'x', 'h').node('PRelu', ['h', 's'], 'y');
    await compareWithOrt(rts.one, c, { x: seeded([1, 4, 3, 5], 16) });
    // a runtime slope
    const d = new OnnxBuilder(13).input('x', [2, 3]).input('s', [3]).output('y').node('PRelu', ['x', 's'], 'y');
    await compareWithOrt(rts.one, d, { x: seeded([2, 3], 17), s: seeded([3], 18) });
  });

  it('PRelu on int64 (onnxruntime has float PRelu only): x < 0 ? x * slope : x', async () => {
    const b = new OnnxBuilder(16).input('x', [2, 3]).output('z');
    b.init('s', [3], [2, -3, 0], 'int64').node('Cast', ['x'], 'xi', { to: 7 }).node('PRelu', ['xi', 's'], 'zi').node('Cast', ['zi'], 'z', { to: 1 });
    const x = Float32Array.from([-4, 5, -6, 7, -1, 0]);
    const m = loadModel(rts.one, b.build());
    const out = await m.run({ x: { type: 'float32', dims: [2, 3], data: x } });
    m.dispose();
    expect(Array.from(out.z.data, (v) => v + 0)).toEqual([-8, 5, 0, 7, 3, 0]);
  });

  it('Mod: fmod=1 on floats (sign of the dividend), fmod=0 on int64/int32 (sign of the divisor), broadcasting', async () => {
    const b = new OnnxBuilder(13).input('a', [3, 4]).input('d', [4]).output('f').output('m', 'int64').output('m32', 'int32');
    b.node('Mod', ['a', 'd'], 'f', { fmod: 1 });
    b.init('ten', [], [10]).node('Mul', ['a', 'ten'], 'a10').node('Cast', ['a10'], 'ai', { to: 7 }).node('Cast', ['a10'], 'a32', { to: 6 });
    b.init('di', [4], [3, -3, 7, -2], 'int64').node('Mod', ['ai', 'di'], 'm').init('d32', [1], [-4], 'int32').node('Mod', ['a32', 'd32'], 'm32');
    b.node('Mod', ['ai', 'di'], 'mf', { fmod: 1 }).output('mf', 'int64');
    await compareWithOrt(rts.one, b, { a: seeded([3, 4], 19, 3), d: { type: 'float32', dims: [4], data: Float32Array.from([1.5, -2, 0.7, -0.3]) } });
  });

  describe('typed errors', () => {
    it('Log on int64, PRelu slope that does not broadcast to X, Mod fmod=0 on floats, integer Mod by zero, Round before opset 11', async () => {
      const runErr = async (b: OnnxBuilder, cls: new (...a: never[]) => Error, parts: string[]) => {
        const m = loadModel(rts.one, b.build());
        await expectLowbitRejection(m.run({ x: seeded([2, 3]) }), cls as never, parts);
        m.dispose();
      };
      expectLowbitError(() => loadModel(rts.one, new OnnxBuilder(13).input('x', [2, 3]).output('y').node('Cast', ['x'], 'i', { to: 7 }).node('Log', ['i'], 'y', {}, 'log1').build()), ModelError, ["Log node 'log1'", 'input', 'int64']);
      await runErr(new OnnxBuilder(13).input('x', [2, 3]).output('y').init('s', [2, 1, 3], [1, 2, 3, 4, 5, 6]).node('PRelu', ['x', 's'], 'y', {}, 'pr'), ShapeError, ["PRelu node 'pr'", '[2,3]', '[2,1,3]']);
      await runErr(new OnnxBuilder(13).input('x', [2, 3]).output('y').node('Mod', ['x', 'x'], 'y', {}, 'md'), ValueRangeError, ["Mod node 'md'", 'fmod']);
      await runErr(new OnnxBuilder(13).input('x', [2, 3]).output('y', 'int64').node('Cast', ['x'], 'i', { to: 7 }).init('z', [3], [1, 0, 2], 'int64').node('Mod', ['i', 'z'], 'y', {}, 'mz'), ValueRangeError, ["Mod node 'mz'", 'zero']);
      expectLowbitError(() => loadModel(rts.one, new OnnxBuilder(10).input('x', [2]).output('y').node('Round', ['x'], 'y', {}, 'rd').build()), UnsupportedOperatorError, ["'rd'", 'opset 10']);
    });
  });
});
