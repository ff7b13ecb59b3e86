// A standalone Relu, Clip or LeakyRelu on a channels-last image (BlazeFace's Relu after each
// residual Add) runs on the wasm activation kernel, not host code: the same outputs as
// onnxruntime-web, NaN and infinities included, and the kernel taken only where the value already
// is channels-last (no layout change for a value in the standard layout).

import { describe, expect, it } from 'vitest';
import { loadModel } from '../src/index.js';
import { SIMD, useRuntimes } from './helpers.js';
import { compareWithOrt, seeded } from './model-ort-check.js';
import { f, OnnxBuilder, type Feed } from './onnx-builder.js';

const rts = useRuntimes();

/** seeded values with NaN, ±Infinity and -0 among them */
function special(dims: number[], seed: number): Feed {
  const x = seeded(dims, seed, 3);
  const d = x.data as Float32Array;
  [NaN, Infinity, -Infinity, -0, 0, 6, -6].forEach((v, i) => (d[i * 5] = v));
  return x;
}

function residual(opset: number, dims: number[]): OnnxBuilder {
  const b = new OnnxBuilder(opset).input('a', dims).input('b', dims).output('relu').output('leaky').output('clip').output('clipped');
  b.node('Add', ['a', 'b'], 's').node('Relu', ['s'], 'relu').node('LeakyRelu', ['s'], 'leaky', { alpha: 0.2 });
  if (opset >= 11) {
    b.init('lo', [], [0]).init('hi', [], [6]).init('lo2', [], [2]).init('hi2', [], [-1]);
    b.node('Clip', ['s', 'lo', 'hi'], 'clip').node('Clip', ['s', 'lo2', 'hi2'], 'clipped');
  } else {
    // onnxruntime refuses min > max in attributes (opsets 6-10)
    b.node('Clip', ['s'], 'clip', { min: f(0), max: f(6) }).node('Clip', ['s'], 'clipped', { min: f(-1), max: f(2) });
  }
  return b;
}

describe(`standalone activations on the wasm kernel vs onnxruntime-web (${SIMD} build)`, () => {
  it('Relu, LeakyRelu, Clip (attributes at opset 7, inputs at 13 with min > max) after a residual Add', async () => {
    for (const opset of [7, 13]) {
      for (const dims of [[2, 6, 5, 7], [1, 3, 5, 7]]) {
        const b = residual(opset, dims);
        await compareWithOrt(rts.one, b, { a: special(dims, 3), b: seeded(dims, 4) }, 0);
        const m = loadModel(rts.one, b.build());
        try {
          const kinds = m.plan({ a: dims, b: dims }).steps.map((s) => `${s.op}${s.layer ? ' (kernel)' : ''}`);
          expect(kinds.filter((k) => /Relu|Clip/.test(k))).toEqual(['Relu (kernel)', 'LeakyRelu (kernel)', 'Clip (kernel)', 'Clip (kernel)']);
        } finally {
          m.dispose();
        }
      }
    }
  });

  it('a Relu on a value in the standard layout stays a host step (no layout change)', async () => {
    const dims = [1, 4, 3, 5];
    const b = new OnnxBuilder(13).input('x', dims).output('y').node('Relu', ['x'], 'y');
    await compareWithOrt(rts.one, b, { x: special(dims, 5) }, 0);
    const m = loadModel(rts.one, b.build());
    try {
      const steps = m.plan({ x: dims }).steps;
      expect(steps.map((s) => s.op)).toEqual(['Relu']);
      expect(steps[0].layer).toBeNull();
    } finally {
      m.dispose();
    }
  });
});
