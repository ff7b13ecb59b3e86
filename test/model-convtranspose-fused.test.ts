// ConvTranspose + activation [+ per-channel Mul/Add] fused into one lowbit.FusedConvTranspose
// (src/model/fuse.ts), run by the ConvTranspose layer's epilogue (the GEMM clamp for relu/clip, an
// activation pass over each finished band of rows otherwise, one pass after col2im) or on the host
// (1-D / 3-D), against onnxruntime-web; with { fuse: false } the same graphs give the same answer.

import { describe, expect, it } from 'vitest';
import { loadModel } from '../src/index.js';
import { SIMD, useRuntimes } from './helpers.js';
import { OnnxBuilder } from './onnx-builder.js';
import { W, X, checkAgainstOrt, count } from './ort-compare.js';

const rts = useRuntimes();

interface Case {
  x: number[];
  m: number;
  k: number[];
  attrs?: Record<string, unknown>;
  /** the activation node(s) after it: [op, attrs, extra constant inputs] */
  act: [string, Record<string, unknown>?, number[]?];
  /** a per-channel Mul then Add after the activation */
  affine?: boolean;
  /** feed it a channels-last conv output */
  conv?: boolean;
}

function model(c: Case): OnnxBuilder {
  const group = (c.attrs?.group as number | undefined) ?? 1;
  const cin = c.x[1], cout = c.m * group;
  const b = new OnnxBuilder(14).input('x', c.x).output('y');
  let x = 'x';
  if (c.conv && c.x.length === 4) {
    b.init('cw', [cin, cin, 1, 1], W(cin * cin, 9, 0.6)).node('Conv', ['x', 'cw'], 'c');
    x = 'c';
  }
  const wDims = [cin, c.m, ...c.k];
  b.init('w', wDims, W(count(wDims), 4, 0.5)).init('b', [cout], W(cout, 5, 0.5));
  b.node('ConvTranspose', [x, 'w', 'b'], 't', (c.attrs ?? {}) as never);
  const [op, attrs, consts] = c.act;
  const ins = ['t'];
  (consts ?? []).forEach((v, i) => {
    b.init(`k${i}`, [], [v]);
    ins.push(`k${i}`);
  });
  const actOut = c.affine ? 'a' : 'y';
  b.node(op, ins, actOut, (attrs ?? {}) as never);
  if (c.affine) {
    const ones = Array(c.x.length - 2).fill(1);
    b.init('s', [cout, ...ones], W(cout, 6)).init('h', [1, cout, ...ones], W(cout, 7));
    b.node('Mul', ['a', 's'], 'm').node('Add', ['m', 'h'], 'y');
  }
  return b;
}

const ACTS: Case['act'][] = [['Relu'], ['Sigmoid'], ['Clip', {}, [-0.3, 0.4]], ['LeakyRelu', { alpha: 0.1 }], ['HardSigmoid', { alpha: 0.3, beta: 0.4 }], ['HardSwish']];

async function check(c: Case, rt = rts.one): Promise<void> {
  const b = model(c);
  const feeds = { x: X(c.x, 3) };
  const m = loadModel(rt, b.build());
  try {
    expect(m.fusions.fusedConvs, JSON.stringify(c)).toBe(1);
    if (c.x.length === 4) expect(m.plan({ x: c.x }).steps.map((s) => s.op)).toContain(`ConvTranspose ${c.k.join('x')} + ${c.act[0] === 'Relu' ? 'relu' : c.act[0].toLowerCase()}`);
  } finally {
    m.dispose();
  }
  await checkAgainstOrt(rt, b, feeds, 1e-5, JSON.stringify(c));
}

describe(`ConvTranspose + activation fused (${SIMD} build)`, () => {
  it('the shuffle path (stride = kernel): every activation kind, with and without a per-channel affine, one output channel', async () => {
    for (const act of ACTS) {
      await check({ x: [1, 5, 3, 4], m: 3, k: [2, 2], attrs: { strides: [2, 2] }, act });
      await check({ x: [2, 4, 3, 3], m: 1, k: [2, 2], attrs: { strides: [2, 2] }, act, affine: true, conv: true });
    }
  });

  it('one scale for all channels (the output taken as flat): bands and outputs that are not whole vectors', async () => {
    for (const act of [ACTS[1], ACTS[0], ACTS[3]]) {
      await check({ x: [1, 4, 3, 3], m: 1, k: [1, 3], attrs: { strides: [1, 3] }, act }); // bands of 9 floats
      await check({ x: [1, 2, 3, 5], m: 3, k: [1, 1], act }); // 3 channels, 15 pixels
      await check({ x: [1, 3, 3, 3], m: 1, k: [3, 3], attrs: { strides: [2, 2] }, act }); // col2im, 7x7 floats
    }
  });

  it('the col2im path: overlapping taps, pads, groups; every activation kind', async () => {
    for (const act of ACTS) {
      await check({ x: [1, 3, 4, 5], m: 2, k: [3, 3], attrs: { strides: [2, 2], pads: [1, 1, 1, 1] }, act });
      await check({ x: [1, 6, 4, 4], m: 2, k: [3, 3], attrs: { group: 3, strides: [2, 1] }, act, affine: true, conv: true });
    }
  });

  it('2 threads (the PP-OCR head: 2x2/2, relu then sigmoid on 1 channel)', async () => {
    await check({ x: [1, 8, 9, 7], m: 4, k: [2, 2], attrs: { strides: [2, 2] }, act: ['Relu'], conv: true }, rts.two);
    await check({ x: [1, 8, 9, 7], m: 1, k: [2, 2], attrs: { strides: [2, 2] }, act: ['Sigmoid'], conv: true }, rts.two);
    await check({ x: [1, 4, 5, 6], m: 3, k: [3, 3], attrs: { strides: [2, 2] }, act: ['Sigmoid'], affine: true }, rts.two);
  });

  it('1-D and 3-D run the fused node on the host', async () => {
    await check({ x: [2, 3, 7], m: 2, k: [3], attrs: { strides: [2], pads: [1, 0] }, act: ['Sigmoid'], affine: true });
    await check({ x: [1, 2, 3, 4, 3], m: 2, k: [2, 3, 2], attrs: { strides: [2, 1, 2] }, act: ['Clip', {}, [-0.2, 0.3]] });
  });

  it('an activation output that is also read elsewhere is not fused', async () => {
    const b = new OnnxBuilder(13).input('x', [1, 3, 4, 4]).output('y').output('t');
    b.init('w', [3, 2, 2, 2], W(24, 4, 0.5)).node('ConvTranspose', ['x', 'w'], 't', { strides: [2, 2] }).node('Relu', ['t'], 'y');
    const m = loadModel(rts.one, b.build());
    expect(m.fusions.fusedConvs).toBe(0);
    m.dispose();
    await checkAgainstOrt(rts.one, b, { x: X([1, 3, 4, 4], 2) }, 1e-5, 'unfused');
  });
});
