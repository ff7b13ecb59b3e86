// Same-shape Add and Concat on channels as wasm kernel layers (src/model/kernel-layers.ts AddLayer,
// ConcatChannelsLayer) against onnxruntime-web: on channels-last conv outputs, on standard graph
// inputs, odd channel counts, batch > 1, axis 1 and -3, 1 and 2 threads; and the cases that stay on
// the host (broadcasting, another axis, a constant operand).

import { describe, expect, it } from 'vitest';
import { loadModel } from '../src/index.js';
import { SIMD, useRuntimes } from './helpers.js';
import { OnnxBuilder } from './onnx-builder.js';
import { W, X, checkAgainstOrt } from './ort-compare.js';

const rts = useRuntimes();

/** a 1x1 conv of x to `cout` channels (a channels-last value), named `out` */
function conv(b: OnnxBuilder, x: string, cin: number, cout: number, out: string, seed: number): OnnxBuilder {
  return b.init(`${out}.w`, [cout, cin, 1, 1], W(cout * cin, seed, 0.7)).node('Conv', [x, `${out}.w`], out);
}

/** the plan's step kinds for these input dims */
function kinds(b: OnnxBuilder, dims: Record<string, number[]>): string[] {
  const m = loadModel(rts.one, b.build());
  try {
    return m.plan(dims).steps.map((s) => s.op);
  } finally {
    m.dispose();
  }
}

describe(`Add (same shape) and Concat (channels) as wasm layers vs onnxruntime-web (${SIMD} build)`, () => {
  it('Add of two channels-last conv outputs, channels around the vector width, batch 1 and 2, 1 and 2 threads', async () => {
    for (const [n, c, h, w] of [[1, 1, 3, 4], [1, 5, 4, 3], [2, 8, 3, 5], [1, 24, 7, 6], [1, 3, 1, 1]]) {
      const b = new OnnxBuilder(13).input('x', [n, 3, h, w]).output('y');
      conv(b, 'x', 3, c, 'a', 2);
      conv(b, 'x', 3, c, 'b', 3).node('Add', ['a', 'b'], 'y');
      expect(kinds(b, { x: [n, 3, h, w] })).toContain('Add (same shape)');
      for (const rt of [rts.one, rts.two]) await checkAgainstOrt(rt, b, { x: X([n, 3, h, w], 4) }, 1e-5, `Add ${[n, c, h, w]}`);
    }
  });

  it('Add of two standard graph inputs, and a value added to itself', async () => {
    const d = [2, 3, 4, 5];
    const b = new OnnxBuilder(13).input('p', d).input('q', d).output('y').output('z').node('Add', ['p', 'q'], 'y').node('Add', ['p', 'p'], 'z');
    await checkAgainstOrt(rts.one, b, { p: X(d, 5), q: X(d, 6) }, 0, 'standard inputs');
  });

  it('Add that broadcasts or has a constant operand, and 3-D Add, stay on the host', async () => {
    const b = new OnnxBuilder(13).input('p', [1, 4, 3, 3]).input('q', [1, 4, 1, 3]).input('r', [2, 3, 4]).output('y').output('z').output('u');
    b.init('k', [1, 4, 3, 3], W(36, 7)).node('Add', ['p', 'q'], 'y').node('Add', ['p', 'k'], 'z').node('Add', ['r', 'r'], 'u');
    expect(kinds(b, { p: [1, 4, 3, 3], q: [1, 4, 1, 3], r: [2, 3, 4] })).not.toContain('Add (same shape)');
    await checkAgainstOrt(rts.one, b, { p: X([1, 4, 3, 3], 8), q: X([1, 4, 1, 3], 9), r: X([2, 3, 4], 10) }, 0, 'host Adds');
  });

  it('Concat of channels-last conv outputs along C (axis 1 and -3), uneven channel counts, batch 2, 1 and 2 threads', async () => {
    for (const [axis, chans, n] of [[1, [24, 24, 24, 24], 1], [-3, [1, 5, 3], 2], [1, [7], 1], [1, [4, 1], 2]] as [number, number[], number][]) {
      const dims = [n, 3, 5, 6];
      const b = new OnnxBuilder(13).input('x', dims).output('y');
      chans.forEach((c, i) => conv(b, 'x', 3, c, `c${i}`, 10 + i));
      b.node('Concat', chans.map((_, i) => `c${i}`), 'y', { axis });
      expect(kinds(b, { x: dims })).toContain('Concat (channels)');
      for (const rt of [rts.one, rts.two]) await checkAgainstOrt(rt, b, { x: X(dims, 12) }, 1e-5, `Concat ${chans} axis ${axis}`);
    }
  });

  it('Concat of standard graph inputs and of one value twice; another axis or a constant operand stays on the host', async () => {
    const b = new OnnxBuilder(13).input('p', [1, 2, 3, 4]).input('q', [1, 3, 3, 4]).output('y').output('z').output('u');
    b.init('k', [1, 1, 3, 4], W(12, 13)).node('Concat', ['p', 'q', 'p'], 'y', { axis: 1 }).node('Concat', ['p', 'p'], 'z', { axis: 2 }).node('Concat', ['p', 'k'], 'u', { axis: 1 });
    expect(kinds(b, { p: [1, 2, 3, 4], q: [1, 3, 3, 4] }).filter((k) => k === 'Concat (channels)')).toHaveLength(1);
    await checkAgainstOrt(rts.one, b, { p: X([1, 2, 3, 4], 14), q: X([1, 3, 3, 4], 15) }, 0, 'Concat mix');
  });
});
