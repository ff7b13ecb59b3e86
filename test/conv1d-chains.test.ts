// Chains of lowered 1-D convolutions stay 4-D and channels-last between the convolutions
// (src/model/conv1d-chains.ts): the outputs equal onnxruntime-web's (fusion on and off, Unsqueeze
// axes as an input and as an attribute, the chain inside If branches reading outer values), the
// plan converts layouts only where a 3-D value is really read, and a quantized chain exports to a
// QDQ file onnxruntime runs.

import { describe, expect, it } from 'vitest';
import { exportOnnxWithReport, loadModel, quantizeModel } from '../src/index.js';
import { SIMD, useRuntimes } from './helpers.js';
import { compareWithOrt, expectOutputsClose, seeded, W } from './model-ort-check.js';
import { g, OnnxBuilder, runOrtModel } from './onnx-builder.js';

const rts = useRuntimes();
const C = 6, L = 21;

/**
 * silero's encoder block in miniature, on x [2, 4, L]: a = Relu(Conv k3(x)), b = Conv 1x1(a), a
 * projection p = Conv 1x1(x), r = Relu(b + p); two convolutions read r (a fork), y = Sigmoid(d + e);
 * z = Transpose(r) reads the 3-D value. Weights are named with `tag` (If branches own theirs).
 */
function chain(b: OnnxBuilder, x: string, y: string, z: string, tag: string, seed: number): OnnxBuilder {
  const conv = (name: string, input: string, cin: number, k: number, out: string, pads: number[] = [0, 0]) => {
    b.init(`w${name}${tag}`, [C, cin, k], W(C * cin * k, seed++, 1 / Math.sqrt(cin * k))).init(`b${name}${tag}`, [C], W(C, seed++, 0.3));
    b.node('Conv', [input, `w${name}${tag}`, `b${name}${tag}`], out, { kernel_shape: [k], pads }, `conv_${name}${tag}`);
  };
  conv('a', x, 4, 3, `a0${tag}`, [1, 1]);
  b.node('Relu', [`a0${tag}`], `a${tag}`);
  conv('b', `a${tag}`, C, 1, `b${tag}`);
  conv('p', x, 4, 1, `p${tag}`);
  b.node('Add', [`b${tag}`, `p${tag}`], `s${tag}`).node('Relu', [`s${tag}`], `r${tag}`);
  conv('d', `r${tag}`, C, 3, `d${tag}`, [1, 1]);
  conv('e', `r${tag}`, C, 1, `e${tag}`);
  b.node('Add', [`d${tag}`, `e${tag}`], `f${tag}`).node('Sigmoid', [`f${tag}`], y);
  return b.node('Transpose', [`r${tag}`], z, { perm: [0, 2, 1] });
}

describe(`1-D convolution chains stay channels-last (${SIMD} build)`, () => {
  it('match onnxruntime-web (fusion on and off, opsets 13 and 11) and convert layouts only where a 3-D value is read', async () => {
    for (const opset of [13, 11]) {
      const b = chain(new OnnxBuilder(opset).input('x', [2, 4, L]).output('y').output('z'), 'x', 'y', 'z', '', 1);
      const feeds = { x: seeded([2, 4, L], 7) };
      for (const fuse of [true, false]) await compareWithOrt(rts.one, b, feeds, 1e-5, fuse);
      const m = loadModel(rts.one, b.build());
      try {
        const plan = m.plan({ x: [2, 4, L] });
        // x into channels-last once (two convolutions read it), r and the output back once each;
        // before: every convolution's input and output converted (12 steps)
        expect(plan.steps.filter((s) => s.op === 'layout').map((s) => s.label)).toEqual(['conv_a::conv1d.x → NHWC', 'r::4d → NCHW', 'y::4d → NCHW']);
        // Conv -> Relu adjacent again: fused into conv_a (the others follow an Add)
        expect(plan.steps.filter((s) => s.op === 'Relu' || s.op === 'Sigmoid').map((s) => s.label)).toEqual(['Relu_2', 'Sigmoid_4']);
        expect(plan.steps.find((s) => s.node?.name.startsWith('conv_a'))!.op).toMatch(/\+ relu$/);
      } finally {
        m.dispose();
      }
    }
  });

  it('an elementwise node with an operand that has no 4-D twin (a [C, 1] constant, a graph input) reads the 3-D value', async () => {
    const b = new OnnxBuilder(13).input('x', [2, 4, L]).input('u', [2, C, L]).output('y').output('v');
    b.init('w', [C, 4, 3], W(C * 12, 3, 0.3)).init('s', [C, 1], W(C, 4, 1));
    b.node('Conv', ['x', 'w'], 'c', { kernel_shape: [3], pads: [1, 1] }).node('Relu', ['c'], 'r');
    b.node('Mul', ['r', 's'], 'y').node('Add', ['u', 'r'], 'v');
    for (const fuse of [true, false]) await compareWithOrt(rts.one, b, { x: seeded([2, 4, L], 11), u: seeded([2, C, L], 12) }, 1e-5, fuse);
  });

  it('inside If branches that read the outer input and their own weights', async () => {
    const b = new OnnxBuilder(13).input('x', [2, 4, L]).input('c', [], 'bool').output('y').output('z');
    const branch = (tag: string, seed: number) => chain(new OnnxBuilder(13).output(`y${tag}`).output(`z${tag}`), 'x', `y${tag}`, `z${tag}`, tag, seed);
    b.node('If', ['c'], ['y', 'z'], { then_branch: g(branch('t', 1)), else_branch: g(branch('e', 40)) }, 'pick');
    for (const c of [true, false]) await compareWithOrt(rts.one, b, { x: seeded([2, 4, L], 9), c: { type: 'bool', dims: [], data: Uint8Array.of(c ? 1 : 0) } }, 1e-5);
  });

  it('a quantized chain exports to a QDQ file whose outputs onnxruntime-web matches', async () => {
    const src = chain(new OnnxBuilder(13).input('x', [2, 4, L]).output('y').output('z'), 'x', 'y', 'z', '', 1).build();
    const float = loadModel(rts.one, src);
    const calibration = [3, 4].map((s) => ({ x: seeded([2, 4, L], s) }));
    const q = await quantizeModel(float, { scheme: 'int8', calibration, speed: 'off' }); // every layer int8: the export maps each
    await q.run(calibration[0]);
    const { bytes, layers } = exportOnnxWithReport(q);
    expect(layers.map((l) => l.as)).toEqual(Array(5).fill('QDQ int8'));
    const feeds = { x: seeded([2, 4, L], 5) };
    expectOutputsClose(await runOrtModel(bytes, feeds), await q.run(feeds), 2e-3);
    q.dispose();
    float.dispose();
  });
});
