// onnxruntime's com.microsoft Gelu, BiasGelu, FastGelu and QuickGelu against onnxruntime-web (which has
// them all): with and without bias, alpha default and set, ranks 1–3, size-1 dims, large
// inputs where tanh saturates; bad bias shapes refused with typed errors naming the node.

import { describe, it } from 'vitest';
import { ModelError, ShapeError } from '../src/errors.js';
import { loadModel } from '../src/index.js';
import { SIMD, useRuntimes } from './helpers.js';
import { type AttrSpec } from './onnx-builder.js';
import { W, X, expectLowbitError, expectLowbitRejection } from './model-ort-check.js';
import { checkAgainstOrt } from './ort-compare.js';
import { oneNode } from './ms-ops-helpers.js';

const rts = useRuntimes();

describe(`com.microsoft GELU family vs onnxruntime-web (${SIMD} build)`, () => {
  it('Gelu, QuickGelu (alpha default, 1, -0.5), FastGelu without bias: ranks 1-3, size-1 dims, large inputs', async () => {
    for (const dims of [[2, 3, 8], [8], [1, 1, 1]]) {
      for (const scale of [1, 6]) {
        const feeds = { x: X(dims, 1, scale) };
        const cases: [string, Record<string, AttrSpec>][] = [['Gelu', {}], ['FastGelu', {}], ['QuickGelu', {}], ['QuickGelu', { alpha: 1 }], ['QuickGelu', { alpha: -0.5 }]];
        for (const [op, attrs] of cases) {
          await checkAgainstOrt(rts.one, oneNode(op, 'com.microsoft', ['x'], feeds, {}, ['y'], attrs), feeds, 1e-5, `${op} ${JSON.stringify(attrs)} [${dims}] x${scale}`);
        }
      }
    }
  });

  it('FastGelu and BiasGelu with a bias over the last axis (a constant and a runtime input)', async () => {
    for (const dims of [[2, 3, 8], [8], [4, 1]]) {
      const n = dims[dims.length - 1];
      const feeds = { x: X(dims, 2, 3) };
      for (const op of ['FastGelu', 'BiasGelu']) {
        await checkAgainstOrt(rts.one, oneNode(op, 'com.microsoft', ['x', 'b'], feeds, { b: [[n], W(n, 3)] }, ['y']), feeds, 1e-5, `${op} [${dims}]`);
        const both = { ...feeds, b: X([n], 4) };
        await checkAgainstOrt(rts.one, oneNode(op, 'com.microsoft', ['x', 'b'], both, {}, ['y']), both, 1e-5, `${op} [${dims}] runtime bias`);
      }
    }
  });

  it('bad inputs: a bias of the wrong length or rank, BiasGelu without its bias', async () => {
    const feeds = { x: X([2, 8], 1) };
    const run = (op: string, b: [number[], number[]]) => {
      const m = loadModel(rts.one, oneNode(op, 'com.microsoft', ['x', 'b'], feeds, { b }, ['y']).build());
      return m.run(feeds).finally(() => m.dispose());
    };
    await expectLowbitRejection(run('FastGelu', [[4], W(4, 1)]), ShapeError, ["'n1'", "bias must be 1-D with the input's last dim 8", '[4]']);
    await expectLowbitRejection(run('BiasGelu', [[2, 8], W(16, 1)]), ShapeError, ["'n1'", 'bias must be 1-D', '[2,8]']);
    expectLowbitError(() => loadModel(rts.one, oneNode('BiasGelu', 'com.microsoft', ['x'], feeds, {}, ['y']).build()), ModelError, ["'n1'", 'has 1 inputs, expected 2']);
  });
});
