// The Reduce* family, ArgMax/ArgMin and the pooling attribute checks, against onnxruntime-web on
// small generated graphs (test/model-ort-check.ts): axes as attribute (opset < 18) and as input
// (18+), negative and repeated axes, keepdims, noop_with_empty_axes, integer inputs, select_last_index.

import { describe, it } from 'vitest';
import { loadModel } from '../src/index.js';
import { ModelError } from '../src/errors.js';
import { SIMD, useRuntimes } from './helpers.js';
import { compareWithOrt, expectLowbitError, seeded } from './model-ort-check.js';
import { OnnxBuilder } from './onnx-builder.js';

const rts = useRuntimes();
const REDUCE = ['ReduceMax', 'ReduceMin', 'ReduceProd', 'ReduceL1', 'ReduceL2', 'ReduceSumSquare', 'ReduceLogSumExp', 'ReduceLogSum', 'ReduceSum', 'ReduceMean'];
const DIMS = [2, 3, 4];

/** op over x [2, 3, 4] (positive for ReduceLogSum) with the axes as the opset wants them */
function reduce(op: string, opset: number, axes: number[] | null, attrs: Record<string, number> = {}): OnnxBuilder {
  const b = new OnnxBuilder(opset).input('x', DIMS).output('y');
  let x = 'x';
  if (op === 'ReduceLogSum') b.node('Abs', ['x'], (x = 'ax'));
  const asInput = opset >= 18 || (op === 'ReduceSum' && opset >= 13);
  if (asInput && axes) b.ints('axes', axes);
  return b.node(op, asInput && axes ? [x, 'axes'] : [x], 'y', !asInput && axes ? { ...attrs, axes } : attrs);
}

describe(`reductions vs onnxruntime-web (${SIMD} build)`, () => {
  for (const op of REDUCE) {
    for (const opset of [13, 18]) {
      it(`${op} opset ${opset}: axes [1], [0, 2], [-1], [2, 0], [-3, -2, -1], all; keepdims 0 and 1`, async () => {
        // ReduceProd over many values would overflow: scale 1 is fine for 24 values
        for (const axes of [[1], [0, 2], [-1], [2, 0], [-3, -2, -1], null]) {
          for (const keepdims of [1, 0]) {
            await compareWithOrt(rts.one, reduce(op, opset, axes, { keepdims }), { x: seeded(DIMS, 21, 2) });
          }
        }
      });
    }
  }

  it('opset 11 (axes attribute) and 20/21; a size-1 reduced axis and a rank-1 input', async () => {
    for (const op of ['ReduceMax', 'ReduceMin', 'ReduceL2', 'ReduceProd']) {
      await compareWithOrt(rts.one, reduce(op, 11, [1, 2]), { x: seeded(DIMS, 22) });
      await compareWithOrt(rts.one, reduce(op, 20, [0], { keepdims: 0 }), { x: seeded(DIMS, 23) });
      const b = new OnnxBuilder(21).input('x', [5, 1]).output('y').output('z').ints('a1', [1]).node(op, ['x', 'a1'], 'y').node(op, ['x'], 'z', { keepdims: 0 });
      await compareWithOrt(rts.one, b, { x: seeded([5, 1], 24) });
    }
  });

  it('noop_with_empty_axes=1 with no or empty axes (opset 18): the input, through the elementwise part', async () => {
    for (const op of REDUCE) {
      for (const empty of [true, false]) {
        const b = new OnnxBuilder(18).input('x', DIMS).output('y');
        let x = 'x';
        if (op === 'ReduceLogSum') b.node('Abs', ['x'], (x = 'ax'));
        if (empty) b.ints('axes', [], [0]);
        b.node(op, empty ? [x, 'axes'] : [x], 'y', { noop_with_empty_axes: 1 });
        await compareWithOrt(rts.one, b, { x: seeded(DIMS, 25) });
      }
    }
  });

  it('an empty reduced axis (a Gather with no indices before it): each reduction\'s empty-set value, as onnxruntime gives it', async () => {
    // the fuzzer found ReduceMean of nothing giving NaN here and 0 in onnxruntime
    for (const op of REDUCE) {
      for (const opset of [13, 18]) {
        const b = new OnnxBuilder(opset).input('x', DIMS).output('y');
        b.ints('none', [], [0]).node('Gather', ['x', 'none'], 'g', { axis: 1 });
        const asInput = opset >= 18 || (op === 'ReduceSum' && opset >= 13);
        if (asInput) b.ints('axes', [1]);
        b.node(op, asInput ? ['g', 'axes'] : ['g'], 'y', asInput ? {} : { axes: [1] });
        await compareWithOrt(rts.one, b, { x: seeded(DIMS, 33) });
      }
    }
  });

  it('large values: LogSumExp does not overflow, Max/Min keep ±large', async () => {
    const x = seeded(DIMS, 26, 200);
    for (const op of ['ReduceLogSumExp', 'ReduceMax', 'ReduceMin']) await compareWithOrt(rts.one, reduce(op, 13, [2]), { x });
  });

  it('int64 and int32 inputs: Max, Min, Prod, Sum, SumSquare, L1; int32 Mean and L2 truncate', async () => {
    for (const [to, type] of [[7, 'int64'], [6, 'int32']] as const) {
      const b = new OnnxBuilder(13).input('x', DIMS);
      b.init('k', [], [3]).node('Mul', ['x', 'k'], 'x3').node('Cast', ['x3'], 'xi', { to });
      const ops = ['ReduceMax', 'ReduceMin', 'ReduceProd', 'ReduceSumSquare', 'ReduceL1', ...(type === 'int32' ? ['ReduceMean', 'ReduceL2'] : [])];
      for (const op of ops) b.node(op, ['xi'], op, { axes: [1] }).output(op, type);
      b.ints('ax', [-1]).node('ReduceSum', ['xi', 'ax'], 'sum', { keepdims: 0 }).output('sum', type);
      await compareWithOrt(rts.one, b, { x: seeded(DIMS, 27) });
    }
  });

  it('a channels-last input (after a Conv) and a constant input (folded)', async () => {
    const b = new OnnxBuilder(13).input('x', [1, 4, 3, 5]).output('y').output('z').output('w');
    b.init('w1', [4, 4, 1, 1], Array.from({ length: 16 }, (_, i) => (i % 5 === 0 ? 1 : 0.25))).node('Conv', ['x', 'w1'], 'c', { kernel_shape: [1, 1] });
    b.node('ReduceMax', ['c'], 'y', { axes: [1] }).node('ReduceL2', ['c'], 'z', { axes: [2, 3], keepdims: 0 });
    b.init('k', [2, 3], [1, -2, 3, -4, 5, -6]).node('ReduceProd', ['k'], 'kp', { axes: [0], keepdims: 0 }).node('ReduceMax', ['c'], 'm', { axes: [1, 2, 3], keepdims: 0 });
    b.node('Mul', ['m', 'kp'], 'w');
    await compareWithOrt(rts.one, b, { x: seeded([1, 4, 3, 5], 28) });
  });
});

describe(`ArgMax and ArgMin vs onnxruntime-web (${SIMD} build)`, () => {
  for (const op of ['ArgMax', 'ArgMin']) {
    it(`${op}: every axis (negative too), keepdims, select_last_index, with ties`, async () => {
      // values on a 0.5 grid: many ties along each axis
      const x = seeded(DIMS, 29, 1, 0.5);
      for (const axis of [0, 1, 2, -1, -3]) {
        const b = new OnnxBuilder(13).input('x', DIMS);
        for (const keepdims of [0, 1]) {
          for (const last of [0, 1]) b.node(op, ['x'], `y${keepdims}${last}`, { axis, keepdims, select_last_index: last }).output(`y${keepdims}${last}`, 'int64');
        }
        await compareWithOrt(rts.one, b, { x }, 0);
      }
      // defaults (axis 0, keepdims 1), opset 11 (no select_last_index), int64 input
      const b = new OnnxBuilder(11).input('x', DIMS).output('y', 'int64').output('z', 'int64');
      b.node(op, ['x'], 'y').node('Cast', ['x'], 'xi', { to: 7 }).node(op, ['xi'], 'z', { axis: 2, keepdims: 0 });
      await compareWithOrt(rts.one, b, { x: seeded(DIMS, 30, 3, 1) }, 0);
    });
  }

  it('ArgMax over a Conv output (channels-last, converted for the nchw op)', async () => {
    const b = new OnnxBuilder(13).input('x', [1, 4, 3, 5]).output('y', 'int64');
    b.init('w1', [4, 4, 1, 1], Array.from({ length: 16 }, (_, i) => ((i * 7) % 5) - 2)).node('Conv', ['x', 'w1'], 'c', { kernel_shape: [1, 1] }).node('ArgMax', ['c'], 'y', { axis: 1 });
    await compareWithOrt(rts.one, b, { x: seeded([1, 4, 3, 5], 31) }, 0);
  });
});

describe('pooling attributes outside ONNX\'s domain: ModelError at load naming the node and the attribute', () => {
  const CASES: [string, Record<string, number[]>, string][] = [
    ['kernel 0', { kernel_shape: [0, 2] }, 'kernel_shape'],
    ['kernel -1', { kernel_shape: [2, -1] }, 'kernel_shape'],
    ['stride 0', { kernel_shape: [2, 2], strides: [0, 1] }, 'strides'],
    ['stride -2', { kernel_shape: [2, 2], strides: [1, -2] }, 'strides'],
    ['dilation 0', { kernel_shape: [2, 2], dilations: [1, 0] }, 'dilations'],
    ['negative pad', { kernel_shape: [3, 3], pads: [0, -1, 0, 0] }, 'pads'],
    ['pad >= kernel', { kernel_shape: [2, 2], pads: [2, 0, 0, 0] }, 'pads'],
    ['no kernel_shape', {}, 'kernel_shape'],
  ];
  for (const op of ['MaxPool', 'AveragePool']) {
    for (const [what, attrs, name] of CASES) {
      it(`${op}: ${what}`, () => {
        const b = new OnnxBuilder(13).input('x', [1, 2, 6, 6]).output('y').node(op, ['x'], 'y', attrs, 'pool7');
        expectLowbitError(() => loadModel(rts.one, b.build()), ModelError, [`${op} node 'pool7'`, `'${name}'`]);
      });
    }
  }

  it('valid attributes still load and match onnxruntime-web (pads below the kernel, strides 2)', async () => {
    const b = new OnnxBuilder(13).input('x', [1, 2, 7, 6]).output('y').output('z');
    b.node('MaxPool', ['x'], 'y', { kernel_shape: [3, 2], strides: [2, 2], pads: [2, 1, 1, 0] });
    b.node('AveragePool', ['x'], 'z', { kernel_shape: [3, 3], strides: [2, 1], pads: [1, 2, 2, 1] });
    await compareWithOrt(rts.one, b, { x: seeded([1, 2, 7, 6], 32) });
  });
});
