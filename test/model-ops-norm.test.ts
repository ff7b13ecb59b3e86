// InstanceNormalization and GroupNormalization against onnxruntime-web (standard and channels-last
// inputs, ranks 3–5, epsilon, groups of 1 and of all channels) and the ONNX conformance cases.

import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ShapeError, loadModel } from '../src/index.js';
import { SIMD, useRuntimes } from './helpers.js';
import { OnnxBuilder } from './onnx-builder.js';
import { ONNX_ROOT, W, X, checkAgainstOrt, runConformance } from './ort-compare.js';
import { hasSystemPackage } from './system-packages.js';

const rts = useRuntimes();

function normModel(op: string, opset: number, dims: number[], params: number, attrs: Record<string, unknown>, conv = false): OnnxBuilder {
  const b = new OnnxBuilder(opset).input('x', dims).output('y');
  let x = 'x';
  if (conv) {
    const c = dims[1];
    b.init('cw', [c, c, 1, 1], W(c * c, 9, 0.6)).node('Conv', ['x', 'cw'], 'c');
    x = 'c';
  }
  b.init('s', [params], W(params, 2)).init('b', [params], W(params, 3));
  return b.node(op, [x, 's', 'b'], 'y', attrs as never);
}

describe(`InstanceNormalization and GroupNormalization vs onnxruntime-web (${SIMD} build)`, () => {
  it('InstanceNormalization: ranks 3-5, epsilon, channels-last input', async () => {
    for (const dims of [[2, 3, 7], [2, 4, 5, 6], [1, 2, 3, 4, 2], [1, 3, 1, 1]]) {
      for (const attrs of [{}, { epsilon: 0.1 }]) {
        await checkAgainstOrt(rts.one, normModel('InstanceNormalization', 13, dims, dims[1], attrs), { x: X(dims, 4, 3) }, 1e-5, `${dims} ${JSON.stringify(attrs)}`);
      }
    }
    await checkAgainstOrt(rts.one, normModel('InstanceNormalization', 13, [2, 4, 5, 6], 4, {}, true), { x: X([2, 4, 5, 6], 4, 3) }, 1e-5, 'nhwc');
  });

  it('GroupNormalization opset 21 (per-channel scale): 1, some and all-channel groups, channels-last input', async () => {
    for (const [dims, g] of [[[2, 6, 5, 4], 3], [[2, 6, 5, 4], 1], [[2, 6, 5, 4], 6], [[1, 4, 9], 2], [[1, 4, 2, 3, 2], 4]] as [number[], number][]) {
      await checkAgainstOrt(rts.one, normModel('GroupNormalization', 21, dims, dims[1], { num_groups: g, epsilon: 1e-3 }), { x: X(dims, 5, 2) }, 1e-5, `${dims} g${g}`);
    }
    await checkAgainstOrt(rts.one, normModel('GroupNormalization', 21, [1, 6, 4, 4], 6, { num_groups: 2 }, true), { x: X([1, 6, 4, 4], 5, 2) }, 1e-5, 'nhwc');
  });

  it('GroupNormalization opset 18 (per-group scale)', async () => {
    await checkAgainstOrt(rts.one, normModel('GroupNormalization', 18, [2, 6, 5, 4], 3, { num_groups: 3 }), { x: X([2, 6, 5, 4], 6, 2) });
  });

  it('bad num_groups and parameter lengths: ShapeError naming the node', async () => {
    const bad = async (b: OnnxBuilder, dims: number[], re: RegExp) => {
      const m = loadModel(rts.one, b.build());
      await expect(m.run({ x: X(dims) }).finally(() => m.dispose())).rejects.toThrow(ShapeError);
      const m2 = loadModel(rts.one, b.build());
      await expect(m2.run({ x: X(dims) }).finally(() => m2.dispose())).rejects.toThrow(re);
    };
    await bad(normModel('GroupNormalization', 21, [1, 6, 2, 2], 6, { num_groups: 4 }), [1, 6, 2, 2], /GroupNormalization node .*num_groups 4/);
    await bad(normModel('GroupNormalization', 21, [1, 6, 2, 2], 3, { num_groups: 3 }), [1, 6, 2, 2], /scale must be \[6\]/);
    await bad(normModel('GroupNormalization', 18, [1, 6, 2, 2], 6, { num_groups: 3 }), [1, 6, 2, 2], /scale must be \[3\] \(one per group\)/);
    await bad(normModel('InstanceNormalization', 13, [1, 6, 2, 2], 5, {}), [1, 6, 2, 2], /InstanceNormalization node .*scale must be \[6\]/);
    await bad(normModel('InstanceNormalization', 13, [6, 2], 6, {}), [6, 2], /X must be \[N, C, D1/);
  });
});

describe.runIf(hasSystemPackage('libonnx-testdata'))(`normalizations: ONNX conformance cases (${SIMD} build)`, () => {
  const cases = fs.existsSync(ONNX_ROOT) ? fs.readdirSync(ONNX_ROOT).filter((n) => n.startsWith('test_instancenorm') || n.startsWith('test_group_normalization')) : [];
  it('the cases are installed', () => expect(cases.length).toBeGreaterThanOrEqual(2));
  for (const name of cases) it(name, () => runConformance(rts.one, name));
});
