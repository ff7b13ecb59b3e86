// The model runner's operators against onnxruntime-web: each case builds a small ONNX graph
// (test/onnx-builder.ts), runs it in lowbit (src/model) and in onnxruntime-web on the same seeded
// random input, and compares every output: max |lowbit - ort| <= tol * max(1, max |ort|), with
// tol = 1e-5 unless a case says otherwise (float32 everywhere; lowbit's host code accumulates in
// float64, its conv/linear kernels in float32). Cases with a convolution run with the load-time
// rewrites on and off (off keeps the per-channel Add/Mul/BN on the channels-last conv output), and
// the rewrites that should fire are asserted from model.fusions.

import { describe, expect, it } from 'vitest';
import { loadModel, type Runtime } from '../src/index.js';
import type { FuseReport } from '../src/model/fuse.js';
import { SIMD, randNormal, rng, useRuntimes } from './helpers.js';
import { W, X, count, expectOutputsClose } from './model-ort-check.js';
import { f, OnnxBuilder, runOrtModel, type Feed } from './onnx-builder.js';

const rts = useRuntimes();
const TOL = 1e-5;


interface CheckOptions {
  tol?: number;
  /** run with the load-time rewrites on (default), off, or both */
  fuse?: boolean | 'both';
  /** the exact fusion report expected with rewrites on (unlisted fields must be 0) */
  fusions?: Partial<FuseReport>;
  threads?: 1 | 2;
}

const NO_FUSIONS: FuseReport = { foldedBatchNorms: 0, foldedAffines: 0, activations: 0, layerNorms: 0, fusedConvs: 0, fusedMatMuls: 0, attentions: 0 };

async function check(b: OnnxBuilder, feeds: Record<string, Feed>, o: CheckOptions = {}): Promise<void> {
  const bytes = b.build();
  const want = await runOrtModel(bytes, feeds);
  const rt: Runtime = o.threads === 2 ? rts.two : rts.one;
  for (const fuse of o.fuse === 'both' ? [true, false] : [o.fuse ?? true]) {
    const model = loadModel(rt, bytes, { fuse });
    try {
      if (fuse && o.fusions) expect(model.fusions, 'fusions').toEqual({ ...NO_FUSIONS, ...o.fusions });
      const got = await model.run(feeds);
      expectOutputsClose(got, want, o.tol ?? TOL, `(fuse ${fuse})`);
      // a second run on the same plan gives the same bits
      const again = await model.run(feeds);
      for (const name of Object.keys(want)) expect(Array.from(again[name].data)).toEqual(Array.from(got[name].data));
    } finally {
      model.dispose();
    }
  }
}

/** one node on one input x: y = op(x, ...constants) */
function single(opset: number, op: string, dims: (number | string)[], attrs: Record<string, unknown> = {}, extra: (b: OnnxBuilder) => string[] = () => []): OnnxBuilder {
  const b = new OnnxBuilder(opset).input('x', dims).output('y');
  const more = extra(b);
  return b.node(op, ['x', ...more], 'y', attrs as never);
}

interface ConvOpts {
  cin: number;
  cout: number;
  k?: [number, number];
  group?: number;
  pads?: number[];
  strides?: number[];
  dilations?: number[];
  bias?: boolean;
  autoPad?: string;
  seed?: number;
}

/** adds Conv(x) -> y with seeded weights */
function conv(b: OnnxBuilder, x: string, y: string, c: ConvOpts): OnnxBuilder {
  const [kh, kw] = c.k ?? [3, 3];
  const group = c.group ?? 1;
  const fanIn = (c.cin / group) * kh * kw;
  const seed = c.seed ?? 7;
  b.init(`${y}.w`, [c.cout, c.cin / group, kh, kw], W(c.cout * fanIn, seed, 1 / Math.sqrt(fanIn)));
  const inputs = [x, `${y}.w`];
  if (c.bias ?? true) {
    b.init(`${y}.b`, [c.cout], W(c.cout, seed + 1, 0.5));
    inputs.push(`${y}.b`);
  }
  const attrs: Record<string, number | number[] | string> = { kernel_shape: [kh, kw] };
  if (group !== 1) attrs.group = group;
  if (c.pads) attrs.pads = c.pads;
  if (c.strides) attrs.strides = c.strides;
  if (c.dilations) attrs.dilations = c.dilations;
  if (c.autoPad) attrs.auto_pad = c.autoPad;
  return b.node('Conv', inputs, y, attrs);
}

describe(`model operators vs onnxruntime-web (${SIMD} build)`, () => {
  describe('unary', () => {
    const unaries: [string, Record<string, unknown>, number][] = [
      ['Relu', {}, 13],
      ['LeakyRelu', { alpha: 0.1 }, 13],
      ['Sigmoid', {}, 13],
      ['HardSigmoid', { alpha: 0.3, beta: 0.4 }, 13],
      ['HardSigmoid', {}, 9],
      ['HardSwish', {}, 14],
      ['Tanh', {}, 13],
      ['Erf', {}, 13],
      ['Neg', {}, 13],
      ['Abs', {}, 13],
      ['Exp', {}, 13],
      ['Reciprocal', {}, 13],
      ['Identity', {}, 13],
      ['Gelu', {}, 20],
      ['Gelu', { approximate: 'tanh' }, 20],
    ];
    for (const [op, attrs, opset] of unaries) {
      it(`${op} ${JSON.stringify(attrs)} (opset ${opset})`, async () => {
        await check(single(opset, op, [2, 3, 4, 5], attrs), { x: X([2, 3, 4, 5], 11, 2) });
      });
    }

    it('Sqrt (of |x|)', async () => {
      const b = new OnnxBuilder(13).input('x', [3, 7]).output('y').node('Abs', ['x'], 'a').node('Sqrt', ['a'], 'y');
      await check(b, { x: X([3, 7], 2, 3) });
    });

    it('Clip opset 9 (min/max attributes), defaults and one-sided', async () => {
      await check(single(9, 'Clip', [4, 6], { min: -0.5, max: 0.7 }), { x: X([4, 6], 3) });
      await check(single(9, 'Clip', [4, 6], { max: 0.2 }), { x: X([4, 6], 3) });
      await check(single(9, 'Clip', [4, 6]), { x: X([4, 6], 3) });
    });

    it('Clip opset 11/13 (min/max inputs, omitted ones)', async () => {
      for (const opset of [11, 13]) {
        await check(single(opset, 'Clip', [4, 6], {}, (b) => (b.init('lo', [], [-0.3]).init('hi', [], [0.6]), ['lo', 'hi'])), { x: X([4, 6], 4) });
        await check(single(opset, 'Clip', [4, 6], {}, (b) => (b.init('hi', [], [0.1]), ['', 'hi'])), { x: X([4, 6], 4) });
        await check(single(opset, 'Clip', [4, 6], {}, (b) => (b.constant('lo', [], [-0.2]), ['lo'])), { x: X([4, 6], 4) });
        await check(single(opset, 'Clip', [4, 6]), { x: X([4, 6], 4) });
      }
    });

    it('unary ops on a channels-last conv output', async () => {
      const b = new OnnxBuilder(13).input('x', [1, 5, 6, 7]).output('y');
      conv(b, 'x', 'c', { cin: 5, cout: 6, pads: [1, 1, 1, 1] }).node('Tanh', ['c'], 't').node('Exp', ['t'], 'y');
      await check(b, { x: X([1, 5, 6, 7], 5) }, { fuse: 'both' });
    });
  });

  describe('binary with broadcasting', () => {
    const shapes: [number[], number[]][] = [
      [[2, 3, 4, 5], [2, 3, 4, 5]],
      [[2, 3, 4, 5], [5]],
      [[2, 3, 4, 5], [3, 1, 1]],
      [[2, 3, 4, 5], []],
      [[3, 4, 1], [1, 5]],
      [[1], [2, 3]],
      [[2, 1, 4, 1], [1, 3, 1, 5]],
    ];
    for (const op of ['Add', 'Sub', 'Mul', 'Div', 'Max', 'Min']) {
      it(`${op}: dynamic x dynamic and x const, broadcast both ways`, async () => {
        for (const [i, [da, db]] of shapes.entries()) {
          const b = new OnnxBuilder(13).input('a', da).input('b', db).output('y').output('z').output('w');
          b.init('k', db, W(count(db), 30 + i));
          b.node(op, ['a', 'b'], 'y').node(op, ['b', 'a'], 'z').node(op, ['a', 'k'], 'w');
          await check(b, { a: X(da, 10 + i), b: X(db, 20 + i, op === 'Div' ? 0.2 : 1) }, { tol: op === 'Div' ? 1e-5 : TOL });
        }
      });
    }

    it('Pow: positive base, const and dynamic exponents (2, 0.5, 3, per-element)', async () => {
      for (const e of [2, 0.5, 3, -1.5]) {
        const b = new OnnxBuilder(13).input('x', [3, 4]).output('y').init('e', [], [e]);
        b.node('Abs', ['x'], 'a').init('h', [], [0.5]).node('Add', ['a', 'h'], 'p').node('Pow', ['p', 'e'], 'y');
        await check(b, { x: X([3, 4], 40) });
      }
      const b = new OnnxBuilder(13).input('x', [3, 4]).input('e', [4]).output('y');
      b.node('Abs', ['x'], 'a').init('h', [], [0.5]).node('Add', ['a', 'h'], 'p').node('Pow', ['p', 'e'], 'y');
      await check(b, { x: X([3, 4], 41), e: X([4], 42) });
    });

    it('Max/Min with 1 and 3 inputs (variadic, opset 13)', async () => {
      for (const op of ['Max', 'Min']) {
        const b = new OnnxBuilder(13).input('a', [2, 3, 4]).input('b', [3, 1]).input('c', [4]).output('y').output('z');
        b.node(op, ['a', 'b', 'c'], 'y').node(op, ['b'], 'z');
        await check(b, { a: X([2, 3, 4], 43), b: X([3, 1], 44), c: X([4], 45) });
      }
    });

    it('Sum of 3 broadcast inputs (and of 1)', async () => {
      const b = new OnnxBuilder(13).input('a', [2, 3, 4]).input('b', [3, 1]).input('c', [4]).output('y').output('z');
      b.node('Sum', ['a', 'b', 'c'], 'y').node('Sum', ['b'], 'z');
      await check(b, { a: X([2, 3, 4], 46), b: X([3, 1], 47), c: X([4], 48) });
    });

    // per-channel constants against convolution outputs, which lowbit stores channels-last
    for (const op of ['Add', 'Sub', 'Mul', 'Div', 'Max', 'Min', 'Pow']) {
      it(`${op} of a conv output (channels-last) and a [C,1,1] / [1,C,1,1] / [W] / scalar constant, both operand orders`, async () => {
        for (const [ki, kd] of [[6, 1, 1], [1, 6, 1, 1], [7], [], [1, 1, 5, 7]].entries()) {
          const b = new OnnxBuilder(13).input('x', [2, 5, 5, 7]).output('y').output('z');
          conv(b, 'x', 'c', { cin: 5, cout: 6, pads: [1, 1, 1, 1] });
          b.init('k', kd, op === 'Pow' ? Array.from({ length: count(kd) }, (_, i) => 1 + (i % 3)) : W(count(kd), 50 + ki).map((v) => (op === 'Div' ? 1 + Math.abs(v) : v)));
          b.node(op, ['c', 'k'], 'y');
          // k / c would divide by conv outputs near 0 (ill-conditioned); k / exp(c) still has the conv operand second
          if (op === 'Pow') b.node('Identity', ['c'], 'z');
          else if (op === 'Div') b.node('Exp', ['c'], 'e').node(op, ['k', 'e'], 'z');
          else b.node(op, ['k', 'c'], 'z');
          await check(b, { x: X([2, 5, 5, 7], 60 + ki) }, { fuse: 'both' });
        }
      });
    }

    it('Add of a conv output (channels-last) and a graph input (standard layout), and of two conv outputs', async () => {
      const b = new OnnxBuilder(13).input('x', [1, 3, 6, 6]).input('r', [1, 4, 6, 6]).output('y').output('z');
      conv(b, 'x', 'c1', { cin: 3, cout: 4, pads: [1, 1, 1, 1], seed: 1 });
      conv(b, 'x', 'c2', { cin: 3, cout: 4, k: [1, 1], seed: 2 });
      b.node('Add', ['c1', 'r'], 'y').node('Mul', ['c1', 'c2'], 'z');
      await check(b, { x: X([1, 3, 6, 6], 61), r: X([1, 4, 6, 6], 62) }, { fuse: 'both' });
    });

    it('conv output folds a following per-channel Mul/Add/Sub (foldedAffines)', async () => {
      const b = new OnnxBuilder(13).input('x', [1, 3, 6, 6]).output('y');
      conv(b, 'x', 'c', { cin: 3, cout: 5, pads: [1, 1, 1, 1] });
      b.init('s', [5, 1, 1], W(5, 70)).init('t', [1, 5, 1, 1], W(5, 71)).init('u', [], [0.25]);
      b.node('Mul', ['s', 'c'], 'm').node('Add', ['m', 't'], 'a').node('Sub', ['a', 'u'], 'y');
      await check(b, { x: X([1, 3, 6, 6], 72) }, { fuse: 'both', fusions: { foldedAffines: 3 } });
    });
  });

  describe('Cast, BatchNormalization', () => {
    it('Cast float -> int32/int64 -> float (truncation), -> bool -> float', async () => {
      const b = new OnnxBuilder(13).input('x', [4, 5]).output('y').output('z').output('w');
      b.node('Cast', ['x'], 'i', { to: 6 }).node('Cast', ['i'], 'y', { to: 1 });
      b.node('Cast', ['x'], 'l', { to: 7 }).node('Cast', ['l'], 'z', { to: 1 });
      b.init('h', [], [0.5]).node('Greater', ['x', 'h'], 'g').node('Cast', ['g'], 'q', { to: 9 }).node('Cast', ['q'], 'w', { to: 1 });
      await check(b, { x: X([4, 5], 80, 3) });
    });

    it('Equal / Less / Greater with broadcasting -> bool -> Cast to float', async () => {
      // Equal on integers: Cast(a) to int64 (truncates) against constant 0/1
      const b2 = new OnnxBuilder(13).input('a', [3, 4]).input('b', [4]).output('y').output('z').output('w');
      b2.node('Less', ['a', 'b'], 'l').node('Cast', ['l'], 'y', { to: 1 }).node('Greater', ['b', 'a'], 'g').node('Cast', ['g'], 'z', { to: 1 });
      b2.init('k', [4], [0, 1, 0, 1]).node('Cast', ['a'], 'ai', { to: 7 }).node('Cast', ['k'], 'ki', { to: 7 }).node('Equal', ['ai', 'ki'], 'e').node('Cast', ['e'], 'w', { to: 1 });
      await check(b2, { a: X([3, 4], 90, 2), b: X([4], 91) });
    });

    it('initializer element types and encodings: float16, double, int32, int8, uint8, bool, int64_data, float_data, Constant value_float(s)/value_int(s)', async () => {
      const b = new OnnxBuilder(13).input('x', [2, 3]).output('y');
      b.init('h', [3], [0.5, -1.25, 3], 'float16').init('d', [3], [0.1, 0.2, 0.3], 'double').init('i', [3], [-7, 0, 9], 'int32');
      b.init('s8', [3], [-128, 5, 127], 'int8').init('u8', [3], [0, 128, 255], 'uint8').init('bo', [3], [1, 0, 1], 'bool');
      b.initProto({ name: 'l', dims: [3], dataType: 7, int64Data: [-3, 4, 1e6] }).initProto({ name: 'fd', dims: [3], dataType: 1, floatData: [1.5, -2, 0.25] });
      b.node('Constant', [], 'cf', { value_float: 0.75 }).node('Constant', [], 'cfs', { value_floats: [1, 2, 3.5] }).node('Constant', [], 'cis', { value_ints: [2, 1, 0] });
      let acc = 'x', k = 0;
      for (const name of ['h', 'd', 'i', 's8', 'u8', 'bo', 'l', 'cis']) {
        b.node('Cast', [name], `${name}.f`, { to: 1 }).node('Add', [acc, `${name}.f`], `acc${k}`);
        acc = `acc${k++}`;
      }
      b.node('Mul', [acc, 'fd'], 'm1').node('Mul', ['m1', 'cf'], 'm2').node('Add', ['m2', 'cfs'], 'y');
      await check(b, { x: X([2, 3], 92) });
    });

    it('omitted optional outputs (\'\') and initializers also listed as graph inputs (IR 3 exporters)', async () => {
      const b = new OnnxBuilder(17, 3).input('x', [2, 5, 6]).input('g', [6]).output('y').output('z');
      b.init('g', [6], W(6, 93)).init('bb', [6], W(6, 94));
      b.node('LayerNormalization', ['x', 'g', 'bb'], ['y', '', ''], { epsilon: 1e-5 });
      b.init('sc', [5], W(5, 95)).init('bi', [5], W(5, 96)).init('mu', [5], W(5, 97)).init('va', [5], W(5, 98).map((v) => 1 + Math.abs(v)));
      b.node('BatchNormalization', ['x', 'sc', 'bi', 'mu', 'va'], ['z'], {});
      await check(b, { x: X([2, 5, 6], 99) });
    });

    for (const opset of [9, 15]) {
      it(`BatchNormalization standalone on 4-D, 3-D and 2-D inputs (opset ${opset})`, async () => {
        for (const dims of [[2, 3, 4, 5], [2, 3, 7], [5, 3]]) {
          const b = new OnnxBuilder(opset).input('x', dims).output('y');
          b.init('g', [3], W(3, 81)).init('bb', [3], W(3, 82)).init('m', [3], W(3, 83)).init('v', [3], W(3, 84).map((v) => 0.5 + Math.abs(v)));
          b.node('BatchNormalization', ['x', 'g', 'bb', 'm', 'v'], 'y', { epsilon: 1e-3 });
          await check(b, { x: X(dims, 85) });
        }
      });
    }

    it('BatchNormalization after a Conv: folded into it, and (fuse off) on the channels-last output', async () => {
      for (const bias of [true, false]) {
        const b = new OnnxBuilder(13).input('x', [2, 3, 6, 6]).output('y');
        conv(b, 'x', 'c', { cin: 3, cout: 5, pads: [1, 1, 1, 1], bias });
        b.init('g', [5], W(5, 86)).init('bb', [5], W(5, 87)).init('m', [5], W(5, 88)).init('v', [5], W(5, 89).map((v) => 0.5 + Math.abs(v)));
        b.node('BatchNormalization', ['c', 'g', 'bb', 'm', 'v'], 'y');
        await check(b, { x: X([2, 3, 6, 6], 90) }, { fuse: 'both', fusions: { foldedBatchNorms: 1 } });
      }
    });
  });

  describe('shape and data movement', () => {
    it('Shape -> Gather -> Unsqueeze -> Concat -> Reshape (folded at plan time)', async () => {
      const b = new OnnxBuilder(13).input('x', [2, 3, 4, 5]).output('y').output('s', 'int64');
      b.node('Shape', ['x'], 's').ints('i0', [0], []).node('Gather', ['s', 'i0'], 'n').ints('ax', [0]).node('Unsqueeze', ['n', 'ax'], 'nu');
      b.ints('m1', [-1]).node('Concat', ['nu', 'm1'], 'shape', { axis: 0 }).node('Reshape', ['x', 'shape'], 'y');
      await check(b, { x: X([2, 3, 4, 5], 100) });
    });

    it('Shape with start/end (opset 15)', async () => {
      const b = new OnnxBuilder(15).input('x', [2, 3, 4, 5]).output('y', 'int64').output('z', 'int64').output('w', 'int64');
      b.node('Shape', ['x'], 'y', { start: 1 }).node('Shape', ['x'], 'z', { start: -3, end: -1 }).node('Shape', ['x'], 'w', { end: 10 });
      await check(b, { x: X([2, 3, 4, 5], 100) });
    });

    it('Reshape with 0 (copy) and -1 (infer), and of a conv output', async () => {
      for (const target of [[0, -1, 5], [-1], [2, 0, 20], [0, 0, -1, 1]]) {
        const b = new OnnxBuilder(13).input('x', [2, 3, 4, 5]).output('y').ints('s', target).node('Reshape', ['x', 's'], 'y');
        await check(b, { x: X([2, 3, 4, 5], 101) });
      }
      const b = new OnnxBuilder(13).input('x', [2, 3, 4, 5]).output('y');
      conv(b, 'x', 'c', { cin: 3, cout: 4, pads: [1, 1, 1, 1] }).ints('s', [0, 0, -1]).node('Reshape', ['c', 's'], 'y');
      await check(b, { x: X([2, 3, 4, 5], 102) }, { fuse: 'both' });
    });

    it('Flatten axis 0, 1, 2, -1, and of a conv output (opset 9)', async () => {
      for (const axis of [0, 1, 2, -1]) {
        const b = new OnnxBuilder(13).input('x', [2, 3, 4, 5]).output('y').node('Flatten', ['x'], 'y', { axis });
        await check(b, { x: X([2, 3, 4, 5], 103) });
      }
      const b = new OnnxBuilder(9).input('x', [2, 3, 4, 5]).output('y');
      conv(b, 'x', 'c', { cin: 3, cout: 4, pads: [1, 1, 1, 1] }).node('Flatten', ['c'], 'y');
      await check(b, { x: X([2, 3, 4, 5], 104) }, { fuse: 'both' });
    });

    it('Squeeze/Unsqueeze: attribute form (opset 11) and input form (opset 13)', async () => {
      const b11 = new OnnxBuilder(11).input('x', [2, 1, 4, 1]).output('y').output('z').output('w');
      b11.node('Squeeze', ['x'], 'y', { axes: [1, -1] }).node('Squeeze', ['x'], 'z').node('Unsqueeze', ['x'], 'w', { axes: [0, -1] });
      await check(b11, { x: X([2, 1, 4, 1], 105) });
      const b13 = new OnnxBuilder(13).input('x', [2, 1, 4, 1]).output('y').output('z').output('w');
      b13.ints('a', [1, -1]).ints('u', [0, 5]).node('Squeeze', ['x', 'a'], 'y').node('Squeeze', ['x'], 'z').node('Unsqueeze', ['x', 'u'], 'w');
      await check(b13, { x: X([2, 1, 4, 1], 105) });
    });

    it('Transpose: explicit perm, default (reverse), of a conv output', async () => {
      const b = new OnnxBuilder(13).input('x', [2, 3, 4, 5]).output('y').output('z').output('w');
      b.node('Transpose', ['x'], 'y', { perm: [0, 2, 3, 1] }).node('Transpose', ['x'], 'z');
      conv(b, 'x', 'c', { cin: 3, cout: 6, pads: [0, 1, 0, 1] }).node('Transpose', ['c'], 'w', { perm: [0, 3, 1, 2] });
      await check(b, { x: X([2, 3, 4, 5], 106) }, { fuse: 'both' });
    });

    it('Concat: axis 1 of two conv outputs (channels-last), conv output + input, axis 3, axis -1 on 3-D, with a constant', async () => {
      const b = new OnnxBuilder(13).input('x', [2, 3, 5, 6]).input('r', [2, 2, 5, 6]).input('t', [2, 3, 4]).output('y').output('z').output('w').output('v').output('u');
      conv(b, 'x', 'c1', { cin: 3, cout: 5, pads: [1, 1, 1, 1], seed: 1 });
      conv(b, 'x', 'c2', { cin: 3, cout: 3, k: [1, 1], seed: 2 });
      b.node('Concat', ['c1', 'c2'], 'y', { axis: 1 });
      b.node('Concat', ['c2', 'r', 'c1'], 'z', { axis: 1 });
      b.node('Concat', ['c1', 'c1'], 'w', { axis: 3 });
      b.init('k', [2, 3, 2], W(12, 107)).node('Concat', ['t', 'k', 't'], 'v', { axis: -1 });
      b.node('Concat', ['c1', 'c2'], 'cc', { axis: 1 }).node('Relu', ['cc'], 'u');
      await check(b, { x: X([2, 3, 5, 6], 108), r: X([2, 2, 5, 6], 109), t: X([2, 3, 4], 110) }, { fuse: 'both' });
    });

    it('Slice opset 9 (attributes), with and without axes', async () => {
      const b = new OnnxBuilder(9).input('x', [4, 5, 6]).output('y').output('z');
      b.node('Slice', ['x'], 'y', { starts: [1, -4], ends: [3, 1000], axes: [0, 2] });
      b.node('Slice', ['x'], 'z', { starts: [0, 1], ends: [-1, 4] });
      await check(b, { x: X([4, 5, 6], 111) });
    });

    it('Slice opset 10/13 (inputs): axes, steps, negative steps, out-of-range and INT64 extremes', async () => {
      const cases: [number[], number[], number[] | null, number[] | null][] = [
        [[1], [3], [1], null],
        [[0, 1], [6, 5], [2, 1], [2, 2]],
        [[-1], [-1000], [2], [-1]],
        [[4, 3], [0, -100], [0, 1], [-2, -1]],
        [[5], [1], [-1], [-2]],
        [[2], [Number.MAX_SAFE_INTEGER], [-1], [1]],
        [[-Number.MAX_SAFE_INTEGER], [-Number.MAX_SAFE_INTEGER], [-1], [-1]],
        [[-100], [-Number.MAX_SAFE_INTEGER], [-1], [-1]],
        [[3], [3], [0], null],
      ];
      for (const opset of [10, 13]) {
        for (const [starts, ends, axes, steps] of cases) {
          const b = new OnnxBuilder(opset).input('x', [4, 5, 6]).output('y');
          b.ints('s', starts).ints('e', ends);
          const ins = ['x', 's', 'e'];
          if (axes) ins.push(b.ints('a', axes) && 'a');
          if (steps) {
            if (!axes) ins.push('');
            ins.push(b.ints('p', steps) && 'p');
          }
          b.node('Slice', ins, 'y');
          await check(b, { x: X([4, 5, 6], 112) });
        }
      }
    });

    it('Slice of a conv output', async () => {
      const b = new OnnxBuilder(13).input('x', [1, 3, 6, 6]).output('y');
      conv(b, 'x', 'c', { cin: 3, cout: 8, pads: [1, 1, 1, 1] });
      b.ints('s', [1, 5]).ints('e', [7, 0]).ints('a', [1, 3]).ints('p', [2, -1]).node('Slice', ['c', 's', 'e', 'a', 'p'], 'y');
      await check(b, { x: X([1, 3, 6, 6], 113) }, { fuse: 'both' });
    });

    it('Gather: axis 0/1/-1, scalar, negative and 2-D indices', async () => {
      const b = new OnnxBuilder(13).input('x', [4, 5, 6]).output('y').output('z').output('w');
      b.ints('i', [3, -1, 0]).ints('j', [2], []).ints('k', [0, 1, -2, 4], [2, 2]);
      b.node('Gather', ['x', 'i'], 'y').node('Gather', ['x', 'j'], 'z', { axis: 1 }).node('Gather', ['x', 'k'], 'w', { axis: -1 });
      await check(b, { x: X([4, 5, 6], 114) });
    });

    it('Expand: to a bigger rank, and with 1s in the target', async () => {
      const b = new OnnxBuilder(13).input('x', [3, 1]).output('y').output('z');
      b.ints('s', [2, 3, 4]).ints('t', [1, 1]).node('Expand', ['x', 's'], 'y').node('Expand', ['x', 't'], 'z');
      await check(b, { x: X([3, 1], 115) });
    });
  });

  describe('reductions and normalisations', () => {
    it('ReduceMean/ReduceSum: axes attribute (ReduceMean 13, ReduceSum 11), keepdims 0/1, trailing and inner axes, all axes', async () => {
      for (const [op, opset] of [['ReduceMean', 13], ['ReduceSum', 11]] as const) {
        for (const axes of [[-1], [1], [0, 2], [1, 2, 3], null]) {
          for (const keepdims of [0, 1]) {
            const attrs: Record<string, unknown> = { keepdims };
            if (axes) attrs.axes = axes;
            await check(single(opset, op, [2, 3, 4, 5], attrs), { x: X([2, 3, 4, 5], 120) });
          }
        }
      }
    });

    it('ReduceMean (opset 18) / ReduceSum (opset 13) with axes as an input, empty axes, noop_with_empty_axes', async () => {
      for (const [op, opset] of [['ReduceMean', 18], ['ReduceSum', 13]] as const) {
        for (const axes of [[-1], [1, 3], [0], null]) {
          for (const keepdims of [0, 1]) {
            await check(single(opset, op, [2, 3, 4, 5], { keepdims }, (b) => (axes ? (b.ints('ax', axes), ['ax']) : [])), { x: X([2, 3, 4, 5], 121) });
          }
        }
        await check(single(opset, op, [2, 3, 4], { noop_with_empty_axes: 1 }), { x: X([2, 3, 4], 122) });
      }
    });

    it('ReduceMean of a conv output (channels-last) over H and W', async () => {
      const b = new OnnxBuilder(13).input('x', [2, 3, 5, 6]).output('y');
      conv(b, 'x', 'c', { cin: 3, cout: 5, pads: [1, 1, 1, 1] }).node('ReduceMean', ['c'], 'y', { axes: [2, 3], keepdims: 1 });
      await check(b, { x: X([2, 3, 5, 6], 123) }, { fuse: 'both' });
    });

    it('Softmax: opset 11 (coerced to 2-D at axis) vs opset 13 (one axis), default axes', async () => {
      for (const opset of [11, 13]) {
        for (const axis of [0, 1, 2, -1, null]) {
          await check(single(opset, 'Softmax', [2, 3, 4], axis === null ? {} : { axis }), { x: X([2, 3, 4], 124, 3) });
        }
      }
    });

    it('LayerNormalization (opset 17): axis -1 and -2, with and without bias, epsilon', async () => {
      for (const [axis, bias] of [[-1, true], [-1, false], [-2, true], [1, true]] as const) {
        const inner = axis === -1 ? [6] : [5, 6];
        const b = new OnnxBuilder(17).input('x', [2, 5, 6]).output('y');
        b.init('g', inner, W(count(inner), 125)).init('bb', inner, W(count(inner), 126));
        b.node('LayerNormalization', bias ? ['x', 'g', 'bb'] : ['x', 'g'], 'y', { axis, epsilon: 1e-3 });
        await check(b, { x: X([2, 5, 6], 127, 2) });
      }
    });

    it('AveragePool: pads, strides, count_include_pad 0 and 1; on an input and a conv output', async () => {
      for (const countPad of [0, 1]) {
        for (const [k, s, p] of [[[3, 3], [1, 1], [1, 1, 1, 1]], [[2, 3], [2, 2], [0, 1, 1, 0]], [[2, 2], [2, 2], [0, 0, 0, 0]], [[3, 3], [2, 1], [1, 2, 2, 1]]]) {
          const b = new OnnxBuilder(11).input('x', [2, 3, 7, 8]).output('y').output('z');
          b.node('AveragePool', ['x'], 'y', { kernel_shape: k, strides: s, pads: p, count_include_pad: countPad });
          conv(b, 'x', 'c', { cin: 3, cout: 5, pads: [1, 1, 1, 1] }).node('AveragePool', ['c'], 'z', { kernel_shape: k, strides: s, pads: p, count_include_pad: countPad });
          await check(b, { x: X([2, 3, 7, 8], 128) }, { fuse: 'both' });
        }
      }
    });

    it('MaxPool: pads, strides; on an input and a conv output', async () => {
      for (const [k, s, p] of [[[3, 3], [2, 2], [1, 1, 1, 1]], [[2, 2], [2, 2], [0, 0, 0, 0]], [[1, 3], [1, 2], [0, 1, 0, 1]]]) {
        const b = new OnnxBuilder(12).input('x', [2, 3, 7, 8]).output('y').output('z');
        b.node('MaxPool', ['x'], 'y', { kernel_shape: k, strides: s, pads: p });
        conv(b, 'x', 'c', { cin: 3, cout: 5, pads: [1, 1, 1, 1] }).node('MaxPool', ['c'], 'z', { kernel_shape: k, strides: s, pads: p });
        await check(b, { x: X([2, 3, 7, 8], 129) }, { fuse: 'both' });
      }
    });

    it('GlobalAveragePool: on an input, a conv output, and 3-D', async () => {
      const b = new OnnxBuilder(13).input('x', [2, 3, 7, 8]).input('t', [2, 3, 5]).output('y').output('z').output('w');
      b.node('GlobalAveragePool', ['x'], 'y').node('GlobalAveragePool', ['t'], 'w');
      conv(b, 'x', 'c', { cin: 3, cout: 6, pads: [1, 1, 1, 1] }).node('GlobalAveragePool', ['c'], 'z');
      await check(b, { x: X([2, 3, 7, 8], 130), t: X([2, 3, 5], 131) }, { fuse: 'both' });
    });
  });

  describe('MatMul and Gemm', () => {
    it('MatMul with a constant 2-D weight becomes a wasm Linear layer (2-D, 3-D, 4-D inputs; N not a multiple of 8)', async () => {
      for (const [dims, n] of [[[5, 16], 8], [[2, 3, 16], 13], [[1, 2, 3, 7], 1], [[1, 33], 40]] as const) {
        const k = dims[dims.length - 1];
        const b = new OnnxBuilder(13).input('x', [...dims]).output('y').init('w', [k, n], W(k * n, 140, 1 / Math.sqrt(k)));
        b.node('MatMul', ['x', 'w'], 'y');
        for (const threads of [1, 2] as const) await check(b, { x: X([...dims], 141) }, { threads });
        const m = loadModel(rts.one, b.build());
        m.plan({ x: [...dims] });
        expect(m.weightBytes).toBeGreaterThan(0);
        expect([...m.builtLayers.values()].some((l) => l?.kind === 'Linear')).toBe(true);
        m.dispose();
      }
    });

    it('MatMul dynamic x dynamic: batched, broadcast batch dims, 1-D operands', async () => {
      const cases: [number[], number[]][] = [
        [[2, 3, 4, 5], [2, 3, 5, 6]],
        [[3, 4, 5], [5, 6]],
        [[4, 5], [2, 5, 6]],
        [[2, 1, 4, 5], [3, 5, 6]],
        [[5], [5, 6]],
        [[5], [2, 5, 6]],
        [[2, 4, 5], [5]],
        [[5], [5]],
      ];
      for (const [da, db] of cases) {
        const b = new OnnxBuilder(13).input('a', da).input('b', db).output('y').node('MatMul', ['a', 'b'], 'y');
        await check(b, { a: X(da, 142), b: X(db, 143) });
      }
    });

    it('MatMul with constant 1-D operands and a constant A', async () => {
      const b = new OnnxBuilder(13).input('x', [3, 5]).input('v', [5]).output('y').output('z').output('w');
      b.init('k', [5], W(5, 144)).init('m', [4, 3], W(12, 145));
      b.node('MatMul', ['x', 'k'], 'y').node('MatMul', ['k', 'v'], 'z').node('MatMul', ['m', 'x'], 'w');
      await check(b, { x: X([3, 5], 146), v: X([5], 147) });
    });

    it('Gemm: transA/transB, alpha/beta, C as [N], [M,N], [M,1], [1], scalar, none; constant and dynamic B', async () => {
      const [m, k, n] = [3, 7, 5];
      const cs: (number[] | null)[] = [[n], [m, n], [m, 1], [1], [], [1, n], null];
      let seed = 150;
      for (const ta of [0, 1]) for (const tb of [0, 1]) for (const [alpha, beta] of [[1, 1], [0.5, 2], [1, -0.5]]) for (const c of cs) {
        for (const constB of [true, false]) {
          const da = ta ? [k, m] : [m, k], dbs = tb ? [n, k] : [k, n];
          const b = new OnnxBuilder(13).input('a', da).output('y');
          if (constB) b.init('b', dbs, W(k * n, seed++));
          else b.input('b', dbs);
          const ins = ['a', 'b'];
          if (c) ins.push(b.init('c', c, W(count(c), seed++)) && 'c');
          b.node('Gemm', ins, 'y', { transA: ta, transB: tb, alpha: f(alpha), beta: f(beta) });
          const feeds: Record<string, Feed> = { a: X(da, seed++) };
          if (!constB) feeds.b = X(dbs, seed++);
          await check(b, feeds);
        }
      }
    });

    it('MatMul with a constant weight over the last axis of a conv output (channels-last -> standard -> Linear)', async () => {
      const b = new OnnxBuilder(13).input('x', [2, 3, 5, 6]).output('y');
      conv(b, 'x', 'c', { cin: 3, cout: 4, pads: [1, 1, 1, 1] }).init('w', [6, 9], W(54, 163, 0.4)).node('MatMul', ['c', 'w'], 'y');
      await check(b, { x: X([2, 3, 5, 6], 164) }, { fuse: 'both', threads: 2 });
    });

    it('Flatten -> Gemm(transB=1, C=[N]) classifier head after a conv (Linear layer)', async () => {
      const b = new OnnxBuilder(11).input('x', [2, 3, 4, 4]).output('y');
      conv(b, 'x', 'c', { cin: 3, cout: 4, pads: [1, 1, 1, 1] }).node('Flatten', ['c'], 'fl');
      b.init('w', [10, 64], W(640, 160, 0.125)).init('bias', [10], W(10, 161)).node('Gemm', ['fl', 'w', 'bias'], 'y', { transB: 1 });
      await check(b, { x: X([2, 3, 4, 4], 162) }, { fuse: 'both' });
    });
  });

  describe('Conv', () => {
    const convCases: [string, ConvOpts, number[]][] = [
      ['3x3 pads 1', { cin: 4, cout: 8, pads: [1, 1, 1, 1] }, [2, 4, 9, 10]],
      ['3x3 stride 2, asymmetric pads, no bias', { cin: 3, cout: 5, strides: [2, 2], pads: [0, 1, 1, 0], bias: false }, [1, 3, 9, 8]],
      ['5x3 dilation 2x1, stride 1x2', { cin: 5, cout: 6, k: [5, 3], dilations: [2, 1], strides: [1, 2], pads: [2, 1, 2, 1] }, [1, 5, 11, 9]],
      ['2x2 no pad (C 6 -> 3)', { cin: 6, cout: 3, k: [2, 2] }, [2, 6, 5, 5]],
      ['1x1 pointwise (C 5 -> 7)', { cin: 5, cout: 7, k: [1, 1] }, [2, 5, 6, 6]],
      ['1x1 pointwise no bias (C 3 -> 16)', { cin: 3, cout: 16, k: [1, 1], bias: false }, [1, 3, 5, 7]],
      ['1x1 stride 2', { cin: 4, cout: 6, k: [1, 1], strides: [2, 2] }, [1, 4, 7, 7]],
      ['depthwise 3x3 (C 6)', { cin: 6, cout: 6, group: 6, pads: [1, 1, 1, 1] }, [2, 6, 7, 8]],
      ['depthwise 3x3 (C 5) no bias', { cin: 5, cout: 5, group: 5, pads: [1, 1, 1, 1], bias: false }, [1, 5, 6, 6]],
      ['depthwise 5x5 stride 2 (C 8)', { cin: 8, cout: 8, group: 8, k: [5, 5], strides: [2, 2], pads: [2, 2, 2, 2] }, [1, 8, 11, 10]],
      ['depthwise 5x5 stride 2 (C 3), asymmetric pads', { cin: 3, cout: 3, group: 3, k: [5, 5], strides: [2, 2], pads: [1, 2, 2, 1] }, [2, 3, 9, 9]],
      ['depthwise 3x3 dilation 2', { cin: 4, cout: 4, group: 4, dilations: [2, 2], pads: [2, 2, 2, 2] }, [1, 4, 8, 8]],
      ['depthwise multiplier 2 (group 3, C 3 -> 6)', { cin: 3, cout: 6, group: 3, pads: [1, 1, 1, 1] }, [1, 3, 6, 6]],
      ['grouped group 2 (C 6 -> 4, 3 per group)', { cin: 6, cout: 4, group: 2, pads: [1, 1, 1, 1] }, [2, 6, 6, 7]],
      ['grouped group 2 1x1 (C 4 -> 6)', { cin: 4, cout: 6, group: 2, k: [1, 1] }, [1, 4, 5, 5]],
      ['grouped group 3 stride 2 (C 6 -> 9)', { cin: 6, cout: 9, group: 3, strides: [2, 2], pads: [1, 1, 1, 1] }, [1, 6, 8, 8]],
      ['auto_pad SAME_UPPER 3x3 stride 2', { cin: 3, cout: 4, strides: [2, 2], autoPad: 'SAME_UPPER' }, [1, 3, 8, 7]],
      ['auto_pad SAME_UPPER 4x4 stride 1', { cin: 3, cout: 4, k: [4, 4], autoPad: 'SAME_UPPER' }, [1, 3, 6, 6]],
      ['auto_pad SAME_LOWER 4x4 stride 1', { cin: 3, cout: 4, k: [4, 4], autoPad: 'SAME_LOWER' }, [1, 3, 6, 6]],
      ['auto_pad VALID', { cin: 3, cout: 4, autoPad: 'VALID' }, [1, 3, 6, 6]],
      ['kernel as big as the input', { cin: 2, cout: 3, k: [4, 5] }, [1, 2, 4, 5]],
    ];
    for (const [name, c, dims] of convCases) {
      it(name, async () => {
        const b = new OnnxBuilder(13).input('x', dims).output('y');
        conv(b, 'x', 'y', c);
        await check(b, { x: X(dims, 170) }, { fuse: 'both' });
      });
    }

    it('a chain: conv 3x3 -> depthwise -> 1x1 -> grouped (all channels-last in between), 2 threads', async () => {
      const b = new OnnxBuilder(13).input('x', [1, 3, 12, 11]).output('y');
      conv(b, 'x', 'c1', { cin: 3, cout: 6, strides: [2, 2], pads: [1, 1, 1, 1], seed: 1 });
      conv(b, 'c1', 'c2', { cin: 6, cout: 6, group: 6, pads: [1, 1, 1, 1], seed: 2 });
      conv(b, 'c2', 'c3', { cin: 6, cout: 10, k: [1, 1], seed: 3 });
      conv(b, 'c3', 'y', { cin: 10, cout: 4, group: 2, pads: [1, 1, 1, 1], seed: 4 });
      await check(b, { x: X([1, 3, 12, 11], 171) }, { fuse: 'both', threads: 2 });
    });

    it('the same model at two input sizes (symbolic H, W)', async () => {
      const b = new OnnxBuilder(13).input('x', [1, 3, 'h', 'w']).output('y');
      conv(b, 'x', 'c', { cin: 3, cout: 5, pads: [1, 1, 1, 1] }).node('Relu', ['c'], 'y');
      await check(b, { x: X([1, 3, 8, 9], 172) });
      await check(b, { x: X([1, 3, 5, 17], 173) });
    });
  });

  describe('fusion patterns', () => {
    const hardswish = (b: OnnxBuilder, x: string, y: string, opset: number, divide = true) => {
      b.init(`${y}.3`, [], [3]).init(`${y}.6`, [], [6]).init(`${y}.0`, [], [0]).init(`${y}.inv6`, [], [1 / 6]);
      b.node('Add', [x, `${y}.3`], `${y}.a`);
      if (opset >= 11) b.node('Clip', [`${y}.a`, `${y}.0`, `${y}.6`], `${y}.c`);
      else b.node('Clip', [`${y}.a`], `${y}.c`, { min: 0, max: 6 });
      b.node('Mul', [`${y}.c`, x], `${y}.m`);
      if (divide) b.node('Div', [`${y}.m`, `${y}.6`], y);
      else b.node('Mul', [`${y}.m`, `${y}.inv6`], y);
    };

    it('x*clip(x+3,0,6)/6 -> HardSwish (opset 9 Clip attributes, opset 13 inputs, Mul by 1/6)', async () => {
      for (const [opset, divide] of [[9, true], [13, true], [13, false]] as const) {
        const b = new OnnxBuilder(opset).input('x', [2, 3, 4, 5]).output('y');
        hardswish(b, 'x', 'y', opset, divide);
        await check(b, { x: X([2, 3, 4, 5], 180, 4) }, { fuse: 'both', fusions: { activations: 1 } });
      }
    });

    it('Conv -> x*clip(x+3,0,6)/6 -> one FusedConv with hardswish', async () => {
      const b = new OnnxBuilder(13).input('x', [1, 3, 6, 7]).output('y');
      conv(b, 'x', 'c', { cin: 3, cout: 6, pads: [1, 1, 1, 1] });
      hardswish(b, 'c', 'y', 13);
      await check(b, { x: X([1, 3, 6, 7], 181, 3) }, { fuse: 'both', fusions: { activations: 1, fusedConvs: 1 } });
    });

    it('x*sigmoid(x) and x*sigmoid(1.7x) -> Swish; after a conv -> FusedConv', async () => {
      for (const alpha of [null, 1.702]) {
        for (const withConv of [false, true]) {
          const b = new OnnxBuilder(13).input('x', [1, 4, 5, 6]).output('y');
          let x = 'x';
          if (withConv) conv(b, 'x', (x = 'c'), { cin: 4, cout: 5, pads: [1, 1, 1, 1] });
          let s = x;
          if (alpha !== null) b.init('al', [], [alpha]).node('Mul', ['al', x], (s = 'ax'));
          b.node('Sigmoid', [s], 'sg').node('Mul', [x, 'sg'], 'y');
          await check(b, { x: X([1, 4, 5, 6], 182, 3) }, { fuse: 'both', fusions: { activations: 1, fusedConvs: withConv ? 1 : 0 } });
        }
      }
    });

    it('sigmoid gating that is not swish is left alone (x * sigmoid(y))', async () => {
      const b = new OnnxBuilder(13).input('x', [2, 6]).input('g', [2, 6]).output('y');
      b.node('Sigmoid', ['g'], 's').node('Mul', ['x', 's'], 'y');
      await check(b, { x: X([2, 6], 183), g: X([2, 6], 184) }, { fusions: {} });
    });

    it('decomposed LayerNorm chain -> LayerNormalization (with and without beta)', async () => {
      for (const withBeta of [true, false]) {
        const b = new OnnxBuilder(13).input('x', [2, 5, 8]).output('y');
        b.init('two', [], [2]).init('eps', [], [1e-5]).init('g', [8], W(8, 185)).init('bt', [8], W(8, 186));
        b.node('ReduceMean', ['x'], 'mu', { axes: [-1] }).node('Sub', ['x', 'mu'], 'd').node('Pow', ['d', 'two'], 'd2');
        b.node('ReduceMean', ['d2'], 'var', { axes: [-1] }).node('Add', ['var', 'eps'], 've').node('Sqrt', ['ve'], 'sd');
        b.node('Div', ['d', 'sd'], 'n');
        if (withBeta) b.node('Mul', ['n', 'g'], 'ng').node('Add', ['ng', 'bt'], 'y');
        else b.node('Mul', ['n', 'g'], 'y');
        await check(b, { x: X([2, 5, 8], 187, 2) }, { fuse: 'both', fusions: { layerNorms: 1 } });
      }
    });

    it('Conv -> Relu, Conv -> Clip(0,6), Conv -> Sigmoid -> one FusedConv each', async () => {
      for (const [act, attrs, opset] of [['Relu', {}, 13], ['Clip', { min: 0, max: 6 }, 9], ['Sigmoid', {}, 13], ['HardSigmoid', { alpha: 0.25, beta: 0.45 }, 13]] as const) {
        const b = new OnnxBuilder(opset).input('x', [1, 5, 7, 6]).output('y');
        conv(b, 'x', 'c', { cin: 5, cout: 6, pads: [1, 1, 1, 1] }).node(act, ['c'], 'y', attrs);
        await check(b, { x: X([1, 5, 7, 6], 188, 2) }, { fuse: 'both', fusions: { fusedConvs: 1 } });
      }
      const b = new OnnxBuilder(13).input('x', [1, 5, 7, 6]).output('y').init('lo', [], [0]).init('hi', [], [6]);
      conv(b, 'x', 'c', { cin: 5, cout: 6, group: 1, pads: [1, 1, 1, 1] }).node('Clip', ['c', 'lo', 'hi'], 'y');
      await check(b, { x: X([1, 5, 7, 6], 189, 2) }, { fuse: 'both', fusions: { fusedConvs: 1 } });
    });

    it('Conv -> LeakyRelu [-> Max/Min by a constant] and Conv -> Relu/Max/Min chains -> one FusedConv (TensorFlow exports clamp that way)', async () => {
      const cases: [string, (b: OnnxBuilder) => OnnxBuilder][] = [
        // openWakeWord's embedding CNN: LeakyRelu(0.2) then Max(x, -0.4) with a [1,1,1,1] constant
        ['leaky relu, floor', (b) => b.node('LeakyRelu', ['c'], 'l', { alpha: f(0.2) }).node('Max', ['l', 'k4'], 'y')],
        ['leaky relu, default alpha', (b) => b.node('LeakyRelu', ['c'], 'y')],
        ['leaky relu, alpha 1.5, floor first operand', (b) => b.node('LeakyRelu', ['c'], 'l', { alpha: f(1.5) }).node('Max', ['k0', 'l'], 'y')],
        ['relu, min 0.7', (b) => b.node('Relu', ['c'], 'r').node('Min', ['r', 'k0'], 'y')],
        ['max, min, max', (b) => b.node('Max', ['c', 'kn'], 'a').node('Min', ['a', 'k0'], 'm').node('Max', ['m', 'k4'], 'y')],
      ];
      for (const [label, tail] of cases) {
        const b = new OnnxBuilder(13).input('x', [1, 5, 7, 6]).output('y').init('k4', [1, 1, 1, 1], [-0.4]).init('k0', [], [0.7]).init('kn', [1], [-1.25]);
        tail(conv(b, 'x', 'c', { cin: 5, cout: 6, pads: [1, 1, 1, 1] }));
        await check(b, { x: X([1, 5, 7, 6], 190, 2) }, { fuse: 'both', fusions: { fusedConvs: 1 } }).catch((e) => { throw new Error(`${label}: ${e.message}`); });
      }
      // a Min after leaky relu is not a floor: the leaky relu fuses, the Min runs on its own
      const b = new OnnxBuilder(13).input('x', [1, 5, 7, 6]).output('y').init('k0', [], [0.7]);
      conv(b, 'x', 'c', { cin: 5, cout: 6, pads: [1, 1, 1, 1] }).node('LeakyRelu', ['c'], 'l', { alpha: f(0.2) }).node('Min', ['l', 'k0'], 'y');
      await check(b, { x: X([1, 5, 7, 6], 191, 2) }, { fuse: 'both', fusions: { fusedConvs: 1 } });
    });

    it('MatMul by constant weights then Add of a bias vector -> one FusedMatMul (a linear layer with bias)', async () => {
      for (const bdims of [[7], [1, 7], [1, 1, 7]]) {
        const b = new OnnxBuilder(13).input('x', [2, 5, 12]).output('y')
          .init('w', [12, 7], Array.from(randNormal(84, rng(190), 0.3)))
          .init('bias', bdims, Array.from(randNormal(7, rng(191), 1)))
          .node('MatMul', ['x', 'w'], 'm').node('Add', ['m', 'bias'], 'y');
        await check(b, { x: X([2, 5, 12], 192, 2) }, { fuse: 'both', fusions: { fusedMatMuls: 1 } });
      }
      // with the activation after it: Relu, and the decomposed swish x*sigmoid(x)
      for (const act of ['relu', 'swish'] as const) {
        const b = new OnnxBuilder(13).input('x', [2, 5, 12]).output('y')
          .init('w', [12, 7], Array.from(randNormal(84, rng(196), 0.3)))
          .init('bias', [7], Array.from(randNormal(7, rng(197), 1)))
          .node('MatMul', ['x', 'w'], 'm').node('Add', ['m', 'bias'], 'a');
        if (act === 'relu') b.node('Relu', ['a'], 'y');
        else b.node('Sigmoid', ['a'], 's').node('Mul', ['a', 's'], 'y');
        await check(b, { x: X([2, 5, 12], 198, 2) }, { fuse: 'both', fusions: act === 'relu' ? { fusedMatMuls: 1 } : { fusedMatMuls: 1, activations: 1 } });
      }
      // a bias that is not a vector over the last axis stays an Add
      const b = new OnnxBuilder(13).input('x', [2, 5, 12]).output('y')
        .init('w', [12, 7], Array.from(randNormal(84, rng(193), 0.3)))
        .init('bias', [5, 1], Array.from(randNormal(5, rng(194), 1)))
        .node('MatMul', ['x', 'w'], 'm').node('Add', ['m', 'bias'], 'y');
      await check(b, { x: X([2, 5, 12], 195, 2) }, { fuse: 'both', fusions: {} });
    });

    it('scaled dot-product attention (scale on Q, or Mul/Div on the scores) -> one lowbit.Attention', async () => {
      for (const [form, opset] of [['q', 13], ['mul', 13], ['div', 9], ['none', 11]] as const) {
        const b = new OnnxBuilder(opset).input('q', [1, 3, 5, 4]).input('k', [1, 3, 4, 6]).input('v', [1, 3, 6, 7]).output('y').init('c', [], [0.5]);
        let q = 'q';
        if (form === 'q') {
          b.node('Mul', ['q', 'c'], 'qs');
          q = 'qs';
        }
        b.node('MatMul', [q, 'k'], 's');
        let s = 's';
        if (form === 'mul' || form === 'div') {
          b.node(form === 'mul' ? 'Mul' : 'Div', ['s', 'c'], 's2');
          s = 's2';
        }
        b.node('Softmax', [s], 'p', opset >= 13 ? { axis: -1 } : { axis: 3 }).node('MatMul', ['p', 'v'], 'y');
        await check(b, { q: X([1, 3, 5, 4], 201), k: X([1, 3, 4, 6], 202), v: X([1, 3, 6, 7], 203) }, { fuse: 'both', fusions: { attentions: 1 } });
      }
    });

    it('depthwise Conv -> BN -> Relu: BN folded, then fused', async () => {
      const b = new OnnxBuilder(13).input('x', [1, 6, 7, 6]).output('y');
      conv(b, 'x', 'c', { cin: 6, cout: 6, group: 6, pads: [1, 1, 1, 1] });
      b.init('g', [6], W(6, 190)).init('bb', [6], W(6, 191)).init('m', [6], W(6, 192)).init('v', [6], W(6, 193).map((v) => 0.5 + Math.abs(v)));
      b.node('BatchNormalization', ['c', 'g', 'bb', 'm', 'v'], 'bn').node('Relu', ['bn'], 'y');
      await check(b, { x: X([1, 6, 7, 6], 194) }, { fuse: 'both', fusions: { foldedBatchNorms: 1, fusedConvs: 1 } });
    });

    it('Conv -> HardSigmoid -> Mul const -> Add const -> one FusedConv with a post affine', async () => {
      for (const [cin, cout, group] of [[3, 5, 1], [6, 6, 6], [4, 4, 2]]) {
        const b = new OnnxBuilder(13).input('x', [2, cin, 6, 5]).output('y');
        conv(b, 'x', 'c', { cin, cout, group, pads: [1, 1, 1, 1] }).node('HardSigmoid', ['c'], 'h', { alpha: 0.2, beta: 0.5 });
        b.init('s', [cout, 1, 1], W(cout, 195)).init('t', [], [0.3]);
        b.node('Mul', ['h', 's'], 'm').node('Add', ['t', 'm'], 'y');
        for (const threads of [1, 2] as const) await check(b, { x: X([2, cin, 6, 5], 196, 2) }, { fuse: 'both', fusions: { fusedConvs: 1 }, threads });
      }
    });

    it('hardswish with the operands the other way round: Add(3, x), Mul(x, clip)', async () => {
      const b = new OnnxBuilder(13).input('x', [2, 8]).output('y').init('three', [], [3]).init('zero', [], [0]).init('six', [], [6]);
      b.node('Add', ['three', 'x'], 'a').node('Clip', ['a', 'zero', 'six'], 'c').node('Mul', ['x', 'c'], 'm').node('Div', ['m', 'six'], 'y');
      await check(b, { x: X([2, 8], 199, 4) }, { fuse: 'both', fusions: { activations: 1 } });
    });

    it('Conv -> Relu / Clip -> per-channel Mul -> Add: fused with a post affine (not the plain clamp)', async () => {
      for (const act of ['Relu', 'Clip']) {
        const b = new OnnxBuilder(9).input('x', [1, 4, 6, 6]).output('y');
        conv(b, 'x', 'c', { cin: 4, cout: 7, pads: [1, 1, 1, 1] }).node(act, ['c'], 'r', act === 'Clip' ? { min: -0.5, max: 1 } : {});
        b.init('s', [1, 7, 1, 1], W(7, 200)).init('t', [7, 1, 1], W(7, 201));
        b.node('Mul', ['r', 's'], 'm').node('Add', ['m', 't'], 'y');
        await check(b, { x: X([1, 4, 6, 6], 202, 2) }, { fuse: 'both', fusions: { fusedConvs: 1 } });
      }
    });

    it('decomposed LayerNorm with a [1]-shaped gamma, with ReduceMean axes as an input (opset 18): runs, whether or not it is recognised', async () => {
      const b = new OnnxBuilder(13).input('x', [2, 5, 8]).output('y');
      b.init('two', [], [2]).init('eps', [], [1e-5]).init('g', [1], [1.5]).init('bt', [1], [0.25]);
      b.node('ReduceMean', ['x'], 'mu', { axes: [-1] }).node('Sub', ['x', 'mu'], 'd').node('Pow', ['d', 'two'], 'd2');
      b.node('ReduceMean', ['d2'], 'var', { axes: [-1] }).node('Add', ['var', 'eps'], 've').node('Sqrt', ['ve'], 'sd');
      b.node('Div', ['d', 'sd'], 'n').node('Mul', ['n', 'g'], 'ng').node('Add', ['ng', 'bt'], 'y');
      await check(b, { x: X([2, 5, 8], 203, 2) }, { fuse: 'both' });
      const b18 = new OnnxBuilder(18).input('x', [2, 5, 8]).output('y');
      b18.init('two', [], [2]).init('eps', [], [1e-5]).init('g', [8], W(8, 204)).ints('ax', [-1]);
      b18.node('ReduceMean', ['x', 'ax'], 'mu').node('Sub', ['x', 'mu'], 'd').node('Pow', ['d', 'two'], 'd2');
      b18.node('ReduceMean', ['d2', 'ax'], 'var').node('Add', ['var', 'eps'], 've').node('Sqrt', ['ve'], 'sd');
      b18.node('Div', ['d', 'sd'], 'n').node('Mul', ['n', 'g'], 'y');
      await check(b18, { x: X([2, 5, 8], 205, 2) }, { fuse: 'both' });
    });

    it('a decomposed LayerNorm whose mean or centred value is also a graph output is left alone', async () => {
      for (const extra of ['mu', 'd']) {
        const b = new OnnxBuilder(13).input('x', [2, 5, 8]).output('y').output(extra);
        b.init('two', [], [2]).init('eps', [], [1e-5]).init('g', [8], W(8, 206));
        b.node('ReduceMean', ['x'], 'mu', { axes: [-1] }).node('Sub', ['x', 'mu'], 'd').node('Pow', ['d', 'two'], 'd2');
        b.node('ReduceMean', ['d2'], 'var', { axes: [-1] }).node('Add', ['var', 'eps'], 've').node('Sqrt', ['ve'], 'sd');
        b.node('Div', ['d', 'sd'], 'n').node('Mul', ['n', 'g'], 'y');
        await check(b, { x: X([2, 5, 8], 207, 2) }, { fusions: {} });
      }
    });

    it('a MobileNetV3 block: 1x1 expand + hardswish, depthwise + BN, squeeze-excite (GAP, 1x1 convs, HardSigmoid, Mul), 1x1 project, residual', async () => {
      const b = new OnnxBuilder(13).input('x', [2, 6, 9, 8]).output('y');
      conv(b, 'x', 'e', { cin: 6, cout: 12, k: [1, 1], seed: 1 });
      hardswish(b, 'e', 'eh', 13);
      conv(b, 'eh', 'd', { cin: 12, cout: 12, group: 12, k: [5, 5], pads: [2, 2, 2, 2], seed: 2, bias: false });
      b.init('g', [12], W(12, 210)).init('bb', [12], W(12, 211)).init('m', [12], W(12, 212)).init('v', [12], W(12, 213).map((v) => 0.5 + Math.abs(v)));
      b.node('BatchNormalization', ['d', 'g', 'bb', 'm', 'v'], 'dn').node('Relu', ['dn'], 'dr');
      b.node('GlobalAveragePool', ['dr'], 'p');
      conv(b, 'p', 's1', { cin: 12, cout: 4, k: [1, 1], seed: 3 }).node('Relu', ['s1'], 's1r');
      conv(b, 's1r', 's2', { cin: 4, cout: 12, k: [1, 1], seed: 4 }).node('HardSigmoid', ['s2'], 's2h', { alpha: 0.2, beta: 0.5 });
      b.node('Mul', ['dr', 's2h'], 'se');
      conv(b, 'se', 'pr', { cin: 12, cout: 6, k: [1, 1], seed: 5 }).node('Add', ['pr', 'x'], 'y');
      for (const threads of [1, 2] as const) {
        await check(b, { x: X([2, 6, 9, 8], 214) }, { fuse: 'both', threads, fusions: { foldedBatchNorms: 1, activations: 1, fusedConvs: 4 } });
      }
    });

    it('a rewrite does not fire when an intermediate is also a graph output or read twice', async () => {
      const b = new OnnxBuilder(13).input('x', [1, 3, 5, 5]).output('y').output('c');
      conv(b, 'x', 'c', { cin: 3, cout: 4, pads: [1, 1, 1, 1] }).node('Relu', ['c'], 'y');
      await check(b, { x: X([1, 3, 5, 5], 197) }, { fusions: {} });
      const b2 = new OnnxBuilder(13).input('x', [2, 6]).output('y').output('z');
      b2.node('Sigmoid', ['x'], 's').node('Mul', ['x', 's'], 'y').node('Neg', ['s'], 'z');
      await check(b2, { x: X([2, 6], 198) }, { fusions: {} });
    });
  });
});
