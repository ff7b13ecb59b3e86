// MaxPool and AveragePool geometry that exported models use: ceil_mode=1 (PyTorch's
// ceil_mode=True, as in U²-Net and ISNet) and auto_pad SAME_UPPER / SAME_LOWER / VALID, against
// onnxruntime-web, on a graph input (host code) and on a conv output (the channels-last wasm kernel).

import { describe, expect, it } from 'vitest';
import { loadModel } from '../src/index.js';
import { ModelError } from '../src/errors.js';
import { SIMD, useRuntimes } from './helpers.js';
import { W, X, expectOutputsClose } from './model-ort-check.js';
import { OnnxBuilder, runOrtModel, type Feed } from './onnx-builder.js';

const rts = useRuntimes();

type Attrs = Record<string, number | number[] | string>;

/** y = pool(x) and z = pool(conv(x)); checked with the load-time rewrites on and off */
function pooled(op: 'MaxPool' | 'AveragePool', attrs: Attrs, dims: number[], opset = 19): OnnxBuilder {
  const b = new OnnxBuilder(opset).input('x', dims).output('y').output('z');
  b.init('cw', [4, dims[1], 3, 3], W(4 * dims[1] * 9, 5, 0.3)).init('cb', [4], W(4, 6, 0.5));
  b.node(op, ['x'], 'y', attrs as never);
  b.node('Conv', ['x', 'cw', 'cb'], 'c', { kernel_shape: [3, 3], pads: [1, 1, 1, 1] });
  return b.node(op, ['c'], 'z', attrs as never);
}

async function check(b: OnnxBuilder, feeds: Record<string, Feed>): Promise<void> {
  const bytes = b.build();
  const want = await runOrtModel(bytes, feeds);
  for (const fuse of [true, false]) {
    const m = loadModel(rts.one, bytes, { fuse });
    try {
      expectOutputsClose(await m.run(feeds), want, 1e-5, `(fuse ${fuse})`);
    } finally {
      m.dispose();
    }
  }
}

// [input H, W], kernel, strides, pads: the last window of ceil mode inside the input, in the right
// padding (dropped: 6 with k 2, s 2, pads 0/1 gives 3 rows, not 4), and odd sizes
const GEOMETRIES: [number[], number[], number[], number[]][] = [
  [[7, 8], [3, 3], [2, 2], [0, 0, 0, 0]],
  [[6, 6], [2, 2], [2, 2], [0, 0, 1, 1]],
  [[5, 9], [3, 2], [2, 3], [1, 0, 1, 1]],
  [[9, 7], [2, 2], [2, 2], [0, 0, 0, 0]],
  [[4, 4], [3, 3], [3, 3], [1, 1, 1, 1]],
  [[1, 5], [1, 2], [1, 2], [0, 0, 0, 0]],
];

describe(`pooling geometry vs onnxruntime-web (${SIMD} build)`, () => {
  it('MaxPool ceil_mode 0 and 1', async () => {
    for (const [[h, w], k, s, p] of GEOMETRIES) {
      for (const ceil of [0, 1]) {
        const dims = [2, 3, h, w];
        await check(pooled('MaxPool', { kernel_shape: k, strides: s, pads: p, ceil_mode: ceil }, dims), { x: X(dims, 11 + h) });
      }
    }
  });

  it('AveragePool ceil_mode 0 and 1, count_include_pad 0 and 1', async () => {
    for (const [[h, w], k, s, p] of GEOMETRIES) {
      for (const ceil of [0, 1]) {
        for (const countPad of [0, 1]) {
          const dims = [1, 2, h, w];
          await check(pooled('AveragePool', { kernel_shape: k, strides: s, pads: p, ceil_mode: ceil, count_include_pad: countPad }, dims), { x: X(dims, 21 + w) });
        }
      }
    }
  });

  it('auto_pad SAME_UPPER, SAME_LOWER and VALID (MaxPool, AveragePool with and without the pads counted)', async () => {
    for (const autoPad of ['SAME_UPPER', 'SAME_LOWER', 'VALID']) {
      for (const [[h, w], k, s] of [[[7, 8], [3, 3], [2, 2]], [[6, 5], [2, 3], [1, 2]], [[5, 5], [4, 4], [3, 3]]]) {
        const dims = [1, 3, h, w];
        await check(pooled('MaxPool', { kernel_shape: k, strides: s, auto_pad: autoPad }, dims), { x: X(dims, 31) });
        for (const countPad of [0, 1]) {
          await check(pooled('AveragePool', { kernel_shape: k, strides: s, auto_pad: autoPad, count_include_pad: countPad }, dims), { x: X(dims, 32) });
        }
      }
    }
  });

  it('ceil_mode at opset 10 and 12 (the versions before 19 have it too)', async () => {
    for (const opset of [10, 12]) {
      const dims = [1, 2, 6, 7];
      await check(pooled('MaxPool', { kernel_shape: [2, 2], strides: [2, 2], ceil_mode: 1 }, dims, opset), { x: X(dims, 41) });
    }
  });

  it('an auto_pad or ceil_mode outside ONNX is a ModelError naming the node and attribute', () => {
    for (const [attrs, what] of [[{ auto_pad: 'SAME' }, 'auto_pad'], [{ ceil_mode: 2 }, 'ceil_mode']] as const) {
      const b = new OnnxBuilder(13).input('x', [1, 1, 4, 4]).output('y');
      b.node('MaxPool', ['x'], 'y', { kernel_shape: [2, 2], ...attrs } as never, 'pool1');
      expect(() => loadModel(rts.one, b.build())).toThrow(ModelError);
      expect(() => loadModel(rts.one, b.build())).toThrow(new RegExp(`pool1.*${what}`));
    }
  });
});
