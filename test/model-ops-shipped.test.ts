// Operators that shipped ONNX models use and lowbit lacked: LogSoftmax and Hardmax (the softmax axis
// rule of each opset), GlobalMaxPool, Dropout at inference, and the trigonometric and hyperbolic
// functions. Each against onnxruntime-web on seeded inputs (tests/model-ort-check.ts).

import { describe, expect, it } from 'vitest';
import { loadModel, UnsupportedOperatorError } from '../src/index.js';
import { ValueRangeError } from '../src/errors.js';
import { SIMD, useRuntimes } from './helpers.js';
import { W, X, compareWithOrt, seeded } from './model-ort-check.js';
import { f, OnnxBuilder, type Feed } from './onnx-builder.js';

const rts = useRuntimes();

function single(opset: number, op: string, dims: number[], attrs: Record<string, number | string> = {}): OnnxBuilder {
  return new OnnxBuilder(opset).input('x', dims).output('y').node(op, ['x'], 'y', attrs);
}

describe(`operators of shipped models vs onnxruntime-web (${SIMD} build)`, () => {
  it('LogSoftmax and Hardmax: opset 11 (2-D coercion at axis, default 1) and 13 (one axis, default -1), negative axes', async () => {
    for (const op of ['LogSoftmax', 'Hardmax', 'Softmax']) {
      for (const opset of [11, 13]) {
        for (const axis of [undefined, 0, 1, 2, -1, -2]) {
          const attrs = axis === undefined ? {} : { axis };
          // ties (step 0.5) for Hardmax's first-maximum rule
          await compareWithOrt(rts.one, single(opset, op, [2, 3, 5], attrs), { x: seeded([2, 3, 5], 7 + (axis ?? 9), 3, op === 'Hardmax' ? 0.5 : 0) });
        }
      }
    }
  });

  it('LogSoftmax keeps large logits finite (no log of an underflowed exp)', async () => {
    const x: Feed = { type: 'float32', dims: [1, 4], data: Float32Array.from([1000, -1000, 0, 999]) };
    await compareWithOrt(rts.one, single(13, 'LogSoftmax', [1, 4]), { x });
  });

  it('GlobalMaxPool: 3-D, 4-D, 5-D inputs and a conv output (channels-last)', async () => {
    for (const dims of [[2, 3, 7], [2, 3, 5, 6], [1, 2, 3, 4, 5], [1, 4, 1, 1]]) {
      await compareWithOrt(rts.one, single(13, 'GlobalMaxPool', dims), { x: X(dims, 21) });
    }
    const b = new OnnxBuilder(13).input('x', [2, 3, 6, 7]).output('y');
    b.init('w', [5, 3, 3, 3], W(135, 22, 0.3)).init('bias', [5], W(5, 23));
    b.node('Conv', ['x', 'w', 'bias'], 'c', { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }).node('GlobalMaxPool', ['c'], 'y');
    await compareWithOrt(rts.one, b, { x: X([2, 3, 6, 7], 24) });
    await compareWithOrt(rts.one, b, { x: X([2, 3, 6, 7], 24) }, 1e-5, false);
  });

  it('GlobalMaxPool: NaN wins, -Infinity stays', async () => {
    const x: Feed = { type: 'float32', dims: [1, 3, 2], data: Float32Array.from([1, NaN, -Infinity, -Infinity, -1, 5]) };
    await compareWithOrt(rts.one, single(13, 'GlobalMaxPool', [1, 3, 2]), { x });
  });

  it('Dropout at inference: opset 7 and 10 (ratio attribute, mask), 12 and 13 (ratio and training_mode false inputs), no mask', async () => {
    for (const opset of [7, 10]) {
      const b = new OnnxBuilder(opset).input('x', [2, 5]).output('y').output('m', opset >= 10 ? 'bool' : 'float32');
      b.node('Dropout', ['x'], ['d', 'm'], { ratio: 0.3 }).node('Relu', ['d'], 'y');
      await compareWithOrt(rts.one, b, { x: X([2, 5], 31) });
    }
    for (const opset of [12, 13]) {
      const b = new OnnxBuilder(opset).input('x', [3, 4]).output('y').output('m', 'bool').output('z');
      b.init('r', [], [0.5]).init('t', [], [0], 'bool');
      b.node('Dropout', ['x', 'r', 't'], ['d', 'm']).node('Sigmoid', ['d'], 'y').node('Dropout', ['x'], 'z');
      await compareWithOrt(rts.one, b, { x: X([3, 4], 32) });
    }
  });

  it('Dropout with training_mode true (a constant or a graph input) is refused when run, naming the node', async () => {
    const b = new OnnxBuilder(13).input('x', [3, 4]).input('t2', [], 'bool').output('y').output('z');
    b.init('r', [], [0.5]).init('t', [], [1], 'bool').node('Dropout', ['x', 'r', 't'], 'y', {}, 'drop1').node('Dropout', ['x', 'r', 't2'], 'z', {}, 'drop2');
    const m = loadModel(rts.one, b.build());
    try {
      const run = (t: number) => m.run({ x: X([3, 4], 1), t2: { type: 'bool', dims: [], data: [t] } });
      await expect(run(0)).rejects.toThrow(UnsupportedOperatorError);
      await expect(run(0)).rejects.toThrow(/drop1.*training_mode/);
      const b2 = new OnnxBuilder(13).input('x', [3, 4]).input('t2', [], 'bool').output('z');
      b2.init('r', [], [0.5]).node('Dropout', ['x', 'r', 't2'], 'z', {}, 'drop2');
      const m2 = loadModel(rts.one, b2.build());
      await expect(m2.run({ x: X([3, 4], 1), t2: { type: 'bool', dims: [], data: [1] } })).rejects.toThrow(/drop2.*training_mode/);
      expect((await m2.run({ x: X([3, 4], 1), t2: { type: 'bool', dims: [], data: [0] } })).z.dims).toEqual([3, 4]);
      m2.dispose();
    } finally {
      m.dispose();
    }
  });

  it('Tan, Asin, Acos, Atan, Sinh, Cosh, Asinh, Acosh, Atanh (inside and outside their domains: NaN as onnxruntime)', async () => {
    const data = Float32Array.from([-3, -1.5, -1, -0.999, -0.5, -0.1, 0, 0.1, 0.5, 0.999, 1, 1.5, 3, 10, -10, Infinity]);
    const x: Feed = { type: 'float32', dims: [data.length], data };
    for (const op of ['Tan', 'Asin', 'Acos', 'Atan', 'Sinh', 'Cosh', 'Asinh', 'Acosh', 'Atanh']) {
      await compareWithOrt(rts.one, single(9, op, [data.length]), { x }, 2e-6);
      await compareWithOrt(rts.one, single(13, op, [2, 3]), { x: X([2, 3], 41, 0.6) }, 2e-6);
    }
  });
});

describe(`Upsample (opsets 7-9) vs onnxruntime-web (${SIMD} build)`, () => {
  const SCALES = [[1, 1, 2, 2], [1, 1, 3, 1.5], [1, 1, 1, 2.5], [2, 1, 2, 1]];
  it('opset 9: scales input; nearest and linear; on an input and a conv output', async () => {
    for (const mode of ['nearest', 'linear']) {
      for (const s of SCALES) {
        if (mode === 'linear' && (s[0] !== 1 || s[1] !== 1)) continue; // onnxruntime's linear Upsample takes 2-D or [N, C, H, W] with N and C kept
        const b = new OnnxBuilder(9).input('x', [2, 3, 4, 5]).output('y').output('z');
        b.init('s', [4], s).init('w', [4, 3, 3, 3], W(108, 51, 0.3));
        b.node('Upsample', ['x', 's'], 'y', { mode });
        b.node('Conv', ['x', 'w'], 'c', { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }).node('Upsample', ['c', 's'], 'z', { mode });
        await compareWithOrt(rts.one, b, { x: X([2, 3, 4, 5], 52) });
      }
    }
  });

  it('opset 7: scales attribute; nearest and linear; 3-D nearest', async () => {
    for (const mode of ['nearest', 'linear']) {
      const b = new OnnxBuilder(7).input('x', [1, 2, 3, 4]).output('y');
      b.node('Upsample', ['x'], 'y', { mode, scales: f([1, 1, 2, 3]) });
      await compareWithOrt(rts.one, b, { x: X([1, 2, 3, 4], 53) });
    }
    const b = new OnnxBuilder(8).input('x', [2, 3, 4]).output('y').node('Upsample', ['x'], 'y', { scales: f([1, 2, 2]) });
    await compareWithOrt(rts.one, b, { x: X([2, 3, 4], 54) });
  });

  it('a bad mode or a missing scales attribute is refused at load, naming the node', () => {
    const bad = new OnnxBuilder(9).input('x', [1, 1, 2, 2]).output('y').init('s', [4], [1, 1, 2, 2]).node('Upsample', ['x', 's'], 'y', { mode: 'cubic' }, 'up1');
    expect(() => loadModel(rts.one, bad.build())).toThrow(/up1.*cubic/);
    const none = new OnnxBuilder(7).input('x', [1, 1, 2, 2]).output('y').node('Upsample', ['x'], 'y', {}, 'up2');
    expect(() => loadModel(rts.one, none.build())).toThrow(/up2.*scales/);
  });

  it('a scale below 1 is a ValueRangeError naming the node (ONNX: scales >= 1)', async () => {
    const b = new OnnxBuilder(9).input('x', [1, 1, 4, 4]).output('y').init('s', [4], [1, 1, 0.5, 2]).node('Upsample', ['x', 's'], 'y', {}, 'up3');
    const m = loadModel(rts.one, b.build());
    await expect(m.run({ x: X([1, 1, 4, 4], 1) })).rejects.toThrow(ValueRangeError);
    await expect(m.run({ x: X([1, 1, 4, 4], 1) })).rejects.toThrow(/up3.*scales/);
    m.dispose();
  });
});
