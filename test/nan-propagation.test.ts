// NaN and ±Inf through the float operators of a model, beside onnxruntime-web: a NaN is never
// hidden as a number (issue 12). The fuzzing pass found Relu turning NaN into 0 (a rewired
// layer norm of hey_rhasspy took the square root of a negative bias: onnxruntime returned NaN,
// lowbit a confident 0.35; test/fuzz/corpus/onnx/real-rhasspy-27ffbb2235d3.json).

import { describe, expect, it } from 'vitest';
import { SIMD, useRuntimes } from './helpers.js';
import { OnnxBuilder } from './onnx-builder.js';
import { runOnnx, runOrt, sameOutputs, type Ran } from './fuzz/targets.js';

const rts = useRuntimes();
const x = { type: 'float32' as const, dims: [1, 2, 2, 2], data: Float32Array.from([NaN, -1, 2, -3, Infinity, -Infinity, 0.5, NaN]) };
const withW = (b: OnnxBuilder) => b.init('w', [8, 3], new Array(24).fill(0.5)).init('cw', [2, 2, 1, 1], [1, 0.5, 0.25, 1]);

const CASES: [string, (b: OnnxBuilder) => OnnxBuilder][] = [
  ...['Relu', 'LeakyRelu', 'ThresholdedRelu', 'HardSigmoid', 'HardSwish', 'Elu', 'Selu', 'Celu', 'Softplus', 'Softsign', 'Sigmoid', 'Tanh',
    'Sign', 'Abs', 'Floor', 'Round', 'Exp', 'Log', 'Neg', 'Reciprocal', 'Sqrt'].map((op): [string, (b: OnnxBuilder) => OnnxBuilder] => [op, (b) => b.node(op, ['x'], 'y')]),
  ['Clip(0, 1)', (b) => b.init('lo', [], [0]).init('hi', [], [1]).node('Clip', ['x', 'lo', 'hi'], 'y')],
  ...['Max', 'Min', 'PRelu', 'Pow', 'Add', 'Mul', 'Div'].map((op): [string, (b: OnnxBuilder) => OnnxBuilder] => [`${op} by 0.5`, (b) => b.init('z', [1], [0.5]).node(op, ['x', 'z'], 'y')]),
  ['Gemm then Relu', (b) => withW(b).node('Flatten', ['x'], 'f').node('Gemm', ['f', 'w'], 'g').node('Relu', ['g'], 'y')],
  ['Relu then Gemm', (b) => withW(b).node('Relu', ['x'], 'r').node('Flatten', ['r'], 'f').node('Gemm', ['f', 'w'], 'y')],
  ['MatMul, Add, Relu (a fused linear layer)', (b) => withW(b).init('bias', [3], [0.1, 0.2, 0.3]).node('Flatten', ['x'], 'f').node('MatMul', ['f', 'w'], 'm').node('Add', ['m', 'bias'], 'a').node('Relu', ['a'], 'y')],
  ['Conv then Relu (fused)', (b) => withW(b).node('Conv', ['x', 'cw'], 'c').node('Relu', ['c'], 'y')],
  ['Conv then Clip(0, 6) (fused)', (b) => withW(b).init('lo', [], [0]).init('hi', [], [6]).node('Conv', ['x', 'cw'], 'c').node('Clip', ['c', 'lo', 'hi'], 'y')],
  ['Conv then HardSwish (fused)', (b) => withW(b).node('Conv', ['x', 'cw'], 'c').node('HardSwish', ['c'], 'y')],
  ['Conv then LeakyRelu (fused)', (b) => withW(b).node('Conv', ['x', 'cw'], 'c').node('LeakyRelu', ['c'], 'y')],
  ['MaxPool', (b) => b.node('MaxPool', ['x'], 'y', { kernel_shape: [2, 2] })],
  ['AveragePool', (b) => b.node('AveragePool', ['x'], 'y', { kernel_shape: [2, 2] })],
  ['GlobalAveragePool', (b) => b.node('GlobalAveragePool', ['x'], 'y')],
  ...['ReduceMean', 'ReduceSumSquare', 'ReduceL1', 'ReduceL2', 'ReduceLogSumExp', 'ReduceProd'].map((op): [string, (b: OnnxBuilder) => OnnxBuilder] => [op, (b) => b.node(op, ['x'], 'y', { axes: [3] })]),
  ['Softmax', (b) => b.node('Softmax', ['x'], 'y')],
  ['BatchNormalization', (b) => b.init('s', [2], [1, 1]).init('bb', [2], [0, 0]).init('m', [2], [0, 0]).init('v', [2], [1, 1]).node('BatchNormalization', ['x', 's', 'bb', 'm', 'v'], 'y')],
  ['InstanceNormalization', (b) => b.init('s', [2], [1, 1]).init('bb', [2], [0, 0]).node('InstanceNormalization', ['x', 's', 'bb'], 'y')],
  ['LayerNormalization', (b) => b.init('s', [2], [1, 1]).node('LayerNormalization', ['x', 's'], 'y')],
  ['Resize (linear)', (b) => b.init('roi', [0], []).init('sc', [4], [1, 1, 2, 2]).node('Resize', ['x', 'roi', 'sc'], 'y', { mode: 'linear' })],
  ['Where(x > 0, x, 0)', (b) => b.init('z', [1], [0]).node('Greater', ['x', 'z'], 'c').node('Where', ['c', 'x', 'z'], 'y')],
];

describe.runIf(SIMD === 'baseline')('NaN and infinities through float operators, beside onnxruntime-web', () => {
  it.each(CASES)('%s', async (_, build) => {
    const bytes = build(new OnnxBuilder(17).input('x', [1, 2, 2, 2]).output('y')).build();
    const ours = await runOnnx(rts.one, bytes, { x });
    expect(ours.status).toBe('ok');
    const theirs = (await runOrt(bytes, { x }))!;
    expect(sameOutputs(ours as Ran, theirs), `lowbit ${(ours as Ran).outputs[0]} vs onnxruntime ${theirs.outputs[0]}`).toBe(true);
  });

  // where onnxruntime's answer depends on where the NaN sits (its max/min keep the first operand
  // when a comparison with NaN is false), ONNX's reference (np.maximum.reduce) gives NaN: so does lowbit
  it('ReduceMax and ReduceMin of a row holding NaN are NaN wherever it sits', async () => {
    for (const op of ['ReduceMax', 'ReduceMin']) {
      const bytes = new OnnxBuilder(17).input('x', [1, 2, 2, 2]).output('y').node(op, ['x'], 'y', { axes: [3] }).build();
      const ours = (await runOnnx(rts.one, bytes, { x })) as Ran;
      expect(ours.outputs[0].map(Number.isNaN), op).toEqual([true, false, false, true]);
    }
  });
});
