// ConvTranspose against onnxruntime-web: 2-D with constant weights runs as a layer (the GEMM +
// pixel-shuffle form when stride = kernel, else GEMM + col2im), on standard and channels-last
// inputs; weights that are a runtime value, and 1-D / 3-D, run on the host. Then the ONNX
// conformance cases and the shape errors.

import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ShapeError, loadModel } from '../src/index.js';
import { SIMD, useRuntimes } from './helpers.js';
import { OnnxBuilder } from './onnx-builder.js';
import { ONNX_ROOT, W, X, checkAgainstOrt, count, runConformance } from './ort-compare.js';
import { hasSystemPackage } from './system-packages.js';

const rts = useRuntimes();

interface Case {
  x: number[];
  /** output channels per group */
  m: number;
  k: number[];
  attrs?: Record<string, unknown>;
  bias?: boolean;
  /** W as a graph input (host path) instead of an initializer */
  dynamicW?: boolean;
  /** feed the node a channels-last conv output */
  conv?: boolean;
}

function model(c: Case): { b: OnnxBuilder; feeds: Record<string, ReturnType<typeof X>> } {
  const group = (c.attrs?.group as number | undefined) ?? 1;
  const cin = c.x[1];
  const wDims = [cin, c.m, ...c.k];
  const b = new OnnxBuilder(13).input('x', c.x).output('y');
  const feeds: Record<string, ReturnType<typeof X>> = { x: X(c.x, 3) };
  let x = 'x';
  if (c.conv) {
    b.init('cw', [cin, cin, 1, 1], W(cin * cin, 9, 0.6)).node('Conv', ['x', 'cw'], 'c');
    x = 'c';
  }
  if (c.dynamicW) {
    b.input('w', wDims);
    feeds.w = X(wDims, 4, 0.5);
  } else b.init('w', wDims, W(count(wDims), 4, 0.5));
  const ins = [x, 'w'];
  if (c.bias) {
    b.init('b', [c.m * group], W(c.m * group, 5));
    ins.push('b');
  }
  b.node('ConvTranspose', ins, 'y', (c.attrs ?? {}) as never);
  return { b, feeds };
}

const check = async (c: Case, rt = rts.one) => {
  const { b, feeds } = model(c);
  await checkAgainstOrt(rt, b, feeds, 1e-5, JSON.stringify(c));
};

const CASES: Case[] = [
  { x: [1, 3, 5, 6], m: 4, k: [3, 3] },
  { x: [2, 4, 5, 7], m: 3, k: [2, 2], attrs: { strides: [2, 2] }, bias: true },
  { x: [1, 8, 6, 5], m: 1, k: [2, 2], attrs: { strides: [2, 2] } },
  { x: [1, 3, 4, 5], m: 2, k: [3, 2], attrs: { strides: [3, 2] }, bias: true },
  { x: [1, 3, 5, 5], m: 2, k: [3, 3], attrs: { strides: [2, 2], pads: [1, 1, 1, 1], output_padding: [1, 1] }, bias: true },
  { x: [1, 3, 5, 4], m: 2, k: [3, 3], attrs: { strides: [2, 1], pads: [0, 2, 1, 0] } },
  { x: [1, 2, 4, 5], m: 3, k: [3, 2], attrs: { dilations: [2, 3], strides: [1, 2] }, bias: true },
  { x: [1, 6, 4, 4], m: 2, k: [3, 3], attrs: { group: 3, strides: [2, 2] }, bias: true },
  { x: [2, 4, 3, 4], m: 1, k: [2, 2], attrs: { group: 4, strides: [2, 2] }, bias: true },
  { x: [1, 3, 4, 5], m: 2, k: [3, 3], attrs: { strides: [2, 2], auto_pad: 'SAME_LOWER' } },
  { x: [1, 3, 4, 5], m: 2, k: [3, 3], attrs: { strides: [2, 2], auto_pad: 'SAME_UPPER' } },
  { x: [1, 3, 4, 5], m: 2, k: [4, 2], attrs: { strides: [1, 3], auto_pad: 'SAME_UPPER' } },
  { x: [1, 3, 4, 5], m: 2, k: [3, 3], attrs: { strides: [2, 2], output_shape: [9, 12] } },
  { x: [1, 3, 4, 5], m: 2, k: [3, 3], attrs: { strides: [2, 2], auto_pad: 'VALID' } },
  { x: [1, 3, 4, 5], m: 2, k: [3, 3], attrs: { strides: [3, 2], output_shape: [10, 10] }, bias: true },
  { x: [1, 3, 4, 5], m: 2, k: [1, 1], attrs: { strides: [2, 2] } },
  { x: [1, 3, 1, 1], m: 5, k: [2, 3] },
];

describe(`ConvTranspose vs onnxruntime-web (${SIMD} build)`, () => {
  it('2-D, constant weights (layer): strides, pads, output_padding, dilations, groups, auto_pad, output_shape, bias', async () => {
    for (const c of CASES) await check(c);
  });

  it('the same on a channels-last input (conv output), and with 2 threads', async () => {
    for (const c of CASES) await check({ ...c, conv: true });
    for (const c of CASES.slice(0, 4)) await check(c, rts.two);
  });

  it('weights as a runtime value (host), and 1-D / 3-D (host)', async () => {
    for (const c of CASES) await check({ ...c, dynamicW: true });
    await check({ x: [2, 3, 7], m: 2, k: [3], attrs: { strides: [2], pads: [1, 0], output_padding: [1] }, bias: true });
    await check({ x: [1, 4, 5], m: 1, k: [2], attrs: { group: 2, dilations: [2] } });
    await check({ x: [1, 2, 3, 4, 3], m: 2, k: [2, 3, 2], attrs: { strides: [2, 1, 2], pads: [0, 1, 0, 1, 0, 1] }, bias: true });
  });

  it('a per-channel Add, BatchNormalization and Mul after it fold into its weights (PP-OCR\'s head), groups included', async () => {
    for (const group of [1, 2]) {
      const b = new OnnxBuilder(13).input('x', [1, 4, 5, 6]).output('y');
      b.init('w', [4, 3, 2, 2], W(48, 4, 0.5)).init('ab', [1, 3 * group, 1, 1], W(3 * group, 6));
      b.init('s', [3 * group], W(3 * group, 7)).init('t', [3 * group], W(3 * group, 8)).init('mu', [3 * group], W(3 * group, 9)).init('var', [3 * group], W(3 * group, 10).map((v) => 0.5 + v * v));
      b.init('m', [3 * group, 1, 1], W(3 * group, 11));
      b.node('ConvTranspose', ['x', 'w'], 'c', { strides: [2, 2], group }).node('Add', ['c', 'ab'], 'a').node('BatchNormalization', ['a', 's', 't', 'mu', 'var'], 'n').node('Mul', ['n', 'm'], 'y');
      // (with group 2, W [4, 3, 2, 2] has 6 output channels.) The Add folds, then the BN; the Mul,
      // seen by the affine pass before the BN was gone, stays
      const m = loadModel(rts.one, b.build());
      expect(m.fusions).toMatchObject({ foldedAffines: 1, foldedBatchNorms: 1 });
      m.dispose();
      await checkAgainstOrt(rts.one, b, { x: X([1, 4, 5, 6], 2) }, 1e-5, `group ${group}`);
    }
  });

  it('size-1 and empty edge cases: one input pixel, one channel, batch 3', async () => {
    await check({ x: [3, 1, 1, 1], m: 1, k: [2, 2], attrs: { strides: [2, 2] }, bias: true });
    await check({ x: [1, 1, 3, 1], m: 1, k: [1, 3] });
  });
});

describe.runIf(hasSystemPackage('libonnx-testdata'))(`ConvTranspose: ONNX conformance cases (${SIMD} build)`, () => {
  const cases = fs.existsSync(ONNX_ROOT) ? fs.readdirSync(ONNX_ROOT).filter((n) => n.startsWith('test_convtranspose')) : [];
  it('the cases are installed', () => expect(cases.length).toBeGreaterThanOrEqual(10));
  for (const name of cases) it(name, () => runConformance(rts.one, name));
});

describe('ConvTranspose: errors', () => {
  const bad = async (c: Case, what: string) => {
    const { b, feeds } = model(c);
    let err: unknown;
    try {
      const m = loadModel(rts.one, b.build());
      await m.run(feeds).finally(() => m.dispose());
    } catch (e) {
      err = e;
    }
    expect(err, what).toBeInstanceOf(ShapeError);
    expect((err as Error).message, what).toMatch(new RegExp(`ConvTranspose node .*${what}`));
  };

  it('bad shapes and attributes: ShapeError naming the node and the argument', async () => {
    await bad({ x: [1, 3, 4, 4], m: 2, k: [3, 3], attrs: { group: 2 } }, 'group 2');
    await bad({ x: [1, 3, 4, 4], m: 2, k: [3, 3], attrs: { strides: [2] } }, 'strides');
    await bad({ x: [1, 3, 4, 4], m: 2, k: [3, 3], attrs: { strides: [2, 2], output_padding: [2, 0] } }, 'output_padding');
    await bad({ x: [1, 3, 4, 4], m: 2, k: [3, 3], attrs: { pads: [5, 5, 5, 5] } }, 'pads');
    await bad({ x: [1, 3, 4, 4], m: 2, k: [3, 3], attrs: { output_shape: [4, -4] } }, 'output_shape');
    await bad({ x: [1, 3, 4, 4], m: 2, k: [3, 3], attrs: { output_shape: [1, 2, 4, 4] } }, 'output_shape');
    await bad({ x: [1, 3, 4, 4], m: 2, k: [3, 3], attrs: { kernel_shape: [2, 2] } }, 'kernel_shape');
    await bad({ x: [1, 3, 4, 4], m: 2, k: [3, 3], attrs: { auto_pad: 'SAME' } }, 'auto_pad');
    await bad({ x: [1, 3, 4, 4], m: 2, k: [3, 3], attrs: { dilations: [0, 1] } }, 'dilations');
    await bad({ x: [3, 4], m: 2, k: [3], attrs: {} }, 'X must be');
    // W with the wrong number of input channels, and a bias of the wrong length
    const b = new OnnxBuilder(13).input('x', [1, 3, 4, 4]).output('y').init('w', [2, 2, 3, 3], W(36, 1)).node('ConvTranspose', ['x', 'w'], 'y', {}, 'ct');
    await expect(loadModel(rts.one, b.build()).run({ x: X([1, 3, 4, 4]) })).rejects.toThrow(/'ct'.*input channels/);
    const c = new OnnxBuilder(13).input('x', [1, 3, 4, 4]).output('y').init('w', [3, 2, 3, 3], W(54, 1)).init('b', [3], [1, 2, 3]).node('ConvTranspose', ['x', 'w', 'b'], 'y', {}, 'ct');
    await expect(loadModel(rts.one, c.build()).run({ x: X([1, 3, 4, 4]) })).rejects.toThrow(ShapeError);
  });
});
