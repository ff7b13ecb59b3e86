// onnxruntime's contrib normalisations against onnxruntime-web (which has them all): com.microsoft
// SkipLayerNormalization and SkipSimplifiedLayerNormalization (skip broadcast, every optional input
// and output present and absent, epsilon default and set), SimplifiedLayerNormalization and
// LayerNormalization-1 in the default domain (onnxruntime's own, before ONNX's LayerNormalization-17),
// and bad inputs refused with typed errors naming the node and the argument.

import { describe, it } from 'vitest';
import { DTypeError, ModelError, ShapeError, UnsupportedOperatorError } from '../src/errors.js';
import { loadModel } from '../src/index.js';
import { SIMD, useRuntimes } from './helpers.js';
import { OnnxBuilder, type AttrSpec } from './onnx-builder.js';
import { oneNode } from './ms-ops-helpers.js';
import { W, X, expectLowbitError, expectLowbitRejection } from './model-ort-check.js';
import { checkAgainstOrt } from './ort-compare.js';

const rts = useRuntimes();

const H = 8;
const vec = (seed: number, scale = 1): [number[], number[]] => [[H], W(H, seed, scale)];
const params = { gamma: vec(3), beta: vec(4, 0.5), bias: vec(5, 0.5) };

describe(`com.microsoft SkipLayerNormalization / SkipSimplifiedLayerNormalization vs onnxruntime-web (${SIMD} build)`, () => {
  it('SkipLayerNormalization: skip [B,S,H], [1,S,H], [S,H] and 2-D, beta and bias present and absent, every output', async () => {
    for (const [xd, sd] of [[[2, 3, H], [2, 3, H]], [[2, 3, H], [1, 3, H]], [[2, 3, H], [3, H]], [[5, H], [5, H]], [[1, 1, H], [1, H]]]) {
      for (const [beta, bias] of [['beta', 'bias'], ['', ''], ['beta', ''], ['', 'bias']]) {
        const ins = ['x', 's', 'gamma', beta, bias];
        while (ins[ins.length - 1] === '') ins.pop();
        const feeds = { x: X(xd, 1, 2), s: X(sd, 2) };
        for (const outs of [['y'], ['y', 'mean', 'inv', 'sum'], ['y', '', '', 'sum'], ['y', '', 'inv']]) {
          await checkAgainstOrt(rts.one, oneNode('SkipLayerNormalization', 'com.microsoft', ins, feeds, params, outs), feeds, 1e-5, `${xd} skip ${sd} ${ins} -> ${outs}`);
        }
      }
    }
  });

  it('epsilon: the default (1e-12) and a set value, on rows of tiny variance where it matters; hidden size 1', async () => {
    const feeds = { x: X([2, 3, H], 1, 1e-3), s: X([2, 3, H], 2, 1e-3) };
    for (const op of ['SkipLayerNormalization', 'SkipSimplifiedLayerNormalization']) {
      for (const attrs of [{}, { epsilon: 1e-5 }, { epsilon: 0.5 }]) {
        await checkAgainstOrt(rts.one, oneNode(op, 'com.microsoft', ['x', 's', 'gamma'], feeds, params, ['y', '', 'inv'], attrs), feeds, 1e-5, `${op} ${JSON.stringify(attrs)}`);
      }
      const one = { x: X([2, 3, 1], 1), s: X([2, 3, 1], 2) };
      const p1 = { g: [[1], [1.5]] as [number[], number[]], b: [[1], [0.25]] as [number[], number[]] };
      const ins = op === 'SkipLayerNormalization' ? ['x', 's', 'g', 'b', 'b'] : ['x', 's', 'g', 'b'];
      await checkAgainstOrt(rts.one, oneNode(op, 'com.microsoft', ins, one, p1, ['y', '', '', 'sum'], { epsilon: 1e-3 }), one, 1e-5, `${op} hidden 1`);
    }
  });

  it('SkipSimplifiedLayerNormalization: skip shapes, bias present and absent, inv_std_var and the sum', async () => {
    for (const [xd, sd] of [[[2, 3, H], [2, 3, H]], [[2, 3, H], [1, 3, H]], [[2, 3, H], [3, H]], [[4, H], [4, H]]]) {
      for (const bias of ['bias', '']) {
        const ins = bias ? ['x', 's', 'gamma', 'bias'] : ['x', 's', 'gamma'];
        const feeds = { x: X(xd, 6, 2), s: X(sd, 7) };
        for (const outs of [['y'], ['y', '', 'inv', 'sum'], ['y', '', '', 'sum']]) {
          await checkAgainstOrt(rts.one, oneNode('SkipSimplifiedLayerNormalization', 'com.microsoft', ins, feeds, params, outs), feeds, 1e-5, `${xd} skip ${sd} ${ins} -> ${outs}`);
        }
      }
    }
  });

  it('bad inputs: typed errors naming the node and the argument', async () => {
    const run = (op: string, xd: number[], sd: number[], ins: string[], inits: Record<string, [number[], number[]]> = params) => {
      const feeds = { x: X(xd, 1), s: X(sd, 2) };
      const m = loadModel(rts.one, oneNode(op, 'com.microsoft', ins, feeds, inits, ['y']).build());
      return m.run(feeds).finally(() => m.dispose());
    };
    await expectLowbitRejection(run('SkipLayerNormalization', [2, 3, H], [2, 1, H], ['x', 's', 'gamma']), ShapeError, ["'n1'", 'skip must have', '[2,1,8]']);
    await expectLowbitRejection(run('SkipLayerNormalization', [2, 3, H], [H], ['x', 's', 'gamma']), ShapeError, ["'n1'", 'skip']);
    await expectLowbitRejection(run('SkipLayerNormalization', [1, 2, 3, H], [1, 2, 3, H], ['x', 's', 'gamma']), ShapeError, ["'n1'", 'input must be 3-D']);
    await expectLowbitRejection(run('SkipLayerNormalization', [2, 3, H], [2, 3, H], ['x', 's', 'gamma'], { gamma: [[4], [1, 2, 3, 4]] }), ShapeError, ["'n1'", 'gamma must be 1-D [8]']);
    await expectLowbitRejection(run('SkipSimplifiedLayerNormalization', [2, 3, H], [2, 3, H], ['x', 's', 'gamma', 'bias'], { gamma: params.gamma, bias: [[1, H], W(H, 1)] }), ShapeError, ["'n1'", 'bias must be 1-D']);
    // RMS norm has no mean: refused at load rather than returning zeros
    const feeds = { x: X([2, 3, H], 1), s: X([2, 3, H], 2) };
    expectLowbitError(() => loadModel(rts.one, oneNode('SkipSimplifiedLayerNormalization', 'com.microsoft', ['x', 's', 'gamma'], feeds, params, ['y', 'mean']).build()), UnsupportedOperatorError, ["'n1'", 'output 1 (mean)']);
    // int32 skip: the schema's type constraint, at load
    const b = new OnnxBuilder(17).input('x', [2, H]).input('s', [2, H], 'int32').init('gamma', [H], W(H, 3)).output('y');
    b.domains.set('com.microsoft', 1);
    b.node('SkipLayerNormalization', ['x', 's', 'gamma'], 'y', {}, 'n1', 'com.microsoft');
    expectLowbitError(() => loadModel(rts.one, b.build()), ModelError, ["'n1'", 'skip', 'int32']);
  });
});

describe(`SimplifiedLayerNormalization and LayerNormalization-1 (onnxruntime, default domain) vs onnxruntime-web (${SIMD} build)`, () => {
  it('SimplifiedLayerNormalization: axis -1, -2, 1, 0; inv_std_var; epsilon default and set; opsets 13 and 17', async () => {
    const xd = [2, 3, 4];
    for (const axis of [-1, -2, 1, 0, undefined]) {
      const a = axis === undefined ? 2 : axis < 0 ? axis + 3 : axis;
      const n = xd.slice(a).reduce((p, q) => p * q, 1);
      for (const attrs of [{}, { epsilon: 0.01 }]) {
        for (const opset of [13, 17]) {
          const feeds = { x: X(xd, 3, 0.01) };
          const at = axis === undefined ? attrs : { ...attrs, axis };
          for (const outs of [['y'], ['y', 'inv']]) {
            await checkAgainstOrt(rts.one, oneNode('SimplifiedLayerNormalization', '', ['x', 'g'], feeds, { g: [xd.slice(a), W(n, 4)] }, outs, at, opset), feeds, 1e-5, `axis ${axis} ${JSON.stringify(attrs)} opset ${opset} ${outs}`);
          }
        }
      }
    }
  });

  it('LayerNormalization at opset 13 (onnxruntime registers it from version 1): with and without B', async () => {
    const feeds = { x: X([2, 3, H], 5, 3) };
    for (const ins of [['x', 'gamma', 'beta'], ['x', 'gamma']]) {
      await checkAgainstOrt(rts.one, oneNode('LayerNormalization', '', ins, feeds, params, ['y'], {}, 13), feeds, 1e-5, `${ins}`);
    }
  });

  it('bad inputs: a scale of the wrong size, an integer X, an axis out of range', async () => {
    const feeds = { x: X([2, 3, 4], 1) };
    const run = (inits: Record<string, [number[], number[]]>, attrs: Record<string, AttrSpec> = {}) => {
      const m = loadModel(rts.one, oneNode('SimplifiedLayerNormalization', '', ['x', 'g'], feeds, inits, ['y'], attrs).build());
      return m.run(feeds).finally(() => m.dispose());
    };
    await expectLowbitRejection(run({ g: [[3], [1, 2, 3]] }), ShapeError, ["'n1'", 'scale must have 4 elements']);
    await expectLowbitRejection(run({ g: [[4], [1, 2, 3, 4]] }, { axis: 3 }), ShapeError, ["'n1'", 'axis 3 is out of range']);
    const b = new OnnxBuilder(17).input('x', [2, 4], 'int32').init('g', [4], [1, 2, 3, 4]).output('y').node('SimplifiedLayerNormalization', ['x', 'g'], 'y', {}, 'n1');
    expectLowbitError(() => loadModel(rts.one, b.build()), ModelError, ["'n1'", 'int32']);
    void DTypeError;
  });
});
