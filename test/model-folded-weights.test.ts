// A weight layer whose weights fold from an input's values (here a plan-time integer input: W * k)
// must not keep the first run's weights: the layer is cached per node, and a later plan with other
// values used to reuse it, a silent wrong answer (found 2026-12-06). Checked against onnxruntime-web.

import { describe, expect, it } from 'vitest';
import { loadModel, quantizeModel } from '../src/index.js';
import { SIMD, useRuntimes } from './helpers.js';
import { expectOutputsClose, seeded, W } from './model-ort-check.js';
import { OnnxBuilder, runOrtModel } from './onnx-builder.js';

const rts = useRuntimes();

function foldedWeights(op: string): { bytes: Uint8Array; xDims: number[] } {
  const xDims = op === 'Conv' ? [1, 2, 4, 4] : [3, 4];
  const wDims = op === 'Conv' ? [3, 2, 1, 1] : [4, 5];
  const b = new OnnxBuilder(13).input('x', xDims).input('k', [1], 'int64').output('y');
  b.init('w0', wDims, W(wDims.reduce((a, c) => a * c), 5)).node('Cast', ['k'], 'kf', { to: 1 }).node('Mul', ['w0', 'kf'], 'w');
  b.node(op, ['x', 'w'], 'y');
  return { bytes: b.build(), xDims };
}

const feeds = (xDims: number[], k: number) => ({ x: seeded(xDims, 3), k: { type: 'int64' as const, dims: [1], data: [k] } });

describe(`weights folded from input values (${SIMD} build)`, () => {
  for (const op of ['Conv', 'MatMul', 'Gemm']) {
    it(`${op}: each run uses its own k (1, 2, 1, 3), as onnxruntime-web`, async () => {
      const { bytes, xDims } = foldedWeights(op);
      const m = loadModel(rts.one, bytes);
      try {
        for (const k of [1, 2, 1, 3]) expectOutputsClose(await m.run(feeds(xDims, k)), await runOrtModel(bytes, feeds(xDims, k)), 1e-5, `k ${k}`);
      } finally {
        m.dispose();
      }
    });
  }

  it('an int8 model of it: the layer is quantized again for another k (outputs scale with k)', async () => {
    const { bytes, xDims } = foldedWeights('MatMul');
    const float = loadModel(rts.one, bytes);
    const q = await quantizeModel(float, { scheme: 'int8', calibration: [feeds(xDims, 1)], speed: 'off' });
    try {
      const y1 = Array.from((await q.run(feeds(xDims, 1))).y.data as Float32Array);
      const y2 = Array.from((await q.run(feeds(xDims, 2))).y.data as Float32Array);
      const ratio = y2.reduce((s, v) => s + Math.abs(v), 0) / y1.reduce((s, v) => s + Math.abs(v), 0);
      expect(ratio).toBeGreaterThan(1.8);
      expect(ratio).toBeLessThan(2.2);
      // and it is int8: not float32's bits
      const f2 = Array.from((await float.run(feeds(xDims, 2))).y.data as Float32Array);
      expect(y2).not.toEqual(f2);
    } finally {
      q.dispose();
      float.dispose();
    }
  });
});
