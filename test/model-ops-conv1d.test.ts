// 1-D Conv ([N, C, L] input, [M, C/group, k] weights), which lowbit runs as a 2-D Conv one row
// high (src/model/lower-conv1d.ts), against onnxruntime-web: pads, strides, dilations, groups,
// auto_pad, bias or none, the opsets where Unsqueeze/Squeeze take axes as an attribute or an input,
// with the load-time rewrites on and off, and with an activation after it (fused in the 2-D form).

import { describe, it } from 'vitest';
import { randNormal, rng, SIMD, useRuntimes } from './helpers.js';
import { compareWithOrt, seeded } from './model-ort-check.js';
import { OnnxBuilder } from './onnx-builder.js';

const rts = useRuntimes();

interface Conv1dCase {
  cin: number; cout: number; k: number; l: number; group?: number; bias?: boolean;
  attrs?: Record<string, number | number[] | string>; act?: string; opset?: number;
}

const CASES: Conv1dCase[] = [
  { cin: 1, cout: 4, k: 5, l: 40, attrs: { strides: [3] } },
  { cin: 3, cout: 8, k: 3, l: 17, attrs: { pads: [1, 2] } },
  { cin: 4, cout: 6, k: 3, l: 23, attrs: { dilations: [2], strides: [2], pads: [2, 0] }, bias: false },
  { cin: 6, cout: 6, k: 3, l: 19, group: 3, attrs: { pads: [1, 1] }, act: 'Relu' },
  { cin: 4, cout: 4, k: 4, l: 15, group: 4, attrs: { auto_pad: 'SAME_UPPER' }, opset: 11 },
  { cin: 2, cout: 5, k: 2, l: 9, attrs: { auto_pad: 'VALID', strides: [2] }, opset: 9, act: 'LeakyRelu' },
];

describe(`1-D Conv vs onnxruntime-web (${SIMD} build)`, () => {
  CASES.forEach((c, i) => {
    it(`cin ${c.cin} cout ${c.cout} k ${c.k} L ${c.l} group ${c.group ?? 1} ${JSON.stringify(c.attrs ?? {})}${c.act ? ` + ${c.act}` : ''} (opset ${c.opset ?? 13})`, async () => {
      const group = c.group ?? 1, fanIn = (c.cin / group) * c.k;
      const b = new OnnxBuilder(c.opset ?? 13).input('x', [2, c.cin, c.l]).output('y');
      b.init('w', [c.cout, c.cin / group, c.k], Array.from(randNormal(c.cout * fanIn, rng(50 + i), 1 / Math.sqrt(fanIn))));
      const inputs = ['x', 'w'];
      if (c.bias ?? true) {
        b.init('b', [c.cout], Array.from(randNormal(c.cout, rng(60 + i), 0.5)));
        inputs.push('b');
      }
      b.node('Conv', inputs, c.act ? 'c' : 'y', { kernel_shape: [c.k], group, ...(c.attrs ?? {}) });
      if (c.act) b.node(c.act, ['c'], 'y');
      for (const fuse of [true, false]) await compareWithOrt(rts.one, b, { x: seeded([2, c.cin, c.l], 70 + i) }, 1e-5, fuse);
    });
  });
});
