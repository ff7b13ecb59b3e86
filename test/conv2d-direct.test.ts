// float32 convolutions on the zero-bordered image (f32_pad_nhwc + f32_conv_direct_4x8, no im2col
// matrix) against the im2col path bit for bit: the same sums in the same order, so the same output
// on either build. Strides, dilation down the window, one-tap-wide windows dilated across, padding on
// every side (and more than the window reads), widths that leave short strips of 1 to 3 pixels,
// channel counts that leave partial panels, clamp and non-clamp activations, NaN and infinities,
// batches, 1 and 2 threads. Then where the direct way does not apply, and the wrappers' refusals.

import { describe, expect, it } from 'vitest';
import { Conv2dF32, type ConvActivation, type ConvGeometry } from '../src/layers/conv2d.js';
import { convDirectNhwc, padNhwc } from '../src/kernels/conv.js';
import { packF32 } from '../src/kernels/f32.js';
import { ArgumentError } from '../src/errors.js';
import { SIMD, firstMismatch, rng, useRuntimes } from './helpers.js';
import { convGeometry, convOut } from './conv-geometry.js';

const rts = useRuntimes();
const RELU = 1, HARDSWISH = 2;

const geom = convGeometry;

const run = convOut;

describe(`float32 convolution without im2col (${SIMD} build)`, () => {
  const CASES: [ConvGeometry, number, number][] = [
    [geom(3, 16, [3, 3], [2, 2], [1, 1], [1, 1, 1, 1]), 9, 11],
    [geom(16, 24, [3, 3], [1, 1], [1, 1], [1, 1, 1, 1]), 6, 7],
    [geom(5, 9, [3, 3], [1, 1], [1, 1], [0, 0, 0, 0]), 5, 6],
    [geom(4, 3, [3, 3], [1, 2], [2, 1], [2, 1, 2, 0]), 8, 9],
    [geom(7, 17, [1, 3], [2, 1], [1, 1], [0, 2, 1, 2]), 5, 5],
    [geom(6, 8, [3, 1], [1, 1], [1, 3], [1, 0, 1, 0]), 6, 5],
    [geom(2, 1, [5, 5], [1, 1], [1, 1], [2, 2, 2, 2]), 4, 3],
    [geom(8, 27, [1, 1], [2, 2], [1, 1], [0, 0, 0, 0]), 7, 6],
    [geom(3, 5, [2, 2], [2, 2], [1, 1], [3, 0, 1, 4]), 4, 5],
    [geom(1, 2, [3, 3], [3, 3], [1, 1], [0, 0, 0, 0]), 10, 13],
  ];
  const ACTS: (ConvActivation | null)[] = [
    null,
    { kind: RELU, alpha: 0, beta: 0, scale: new Float32Array(0), shift: new Float32Array(0) },
    { kind: HARDSWISH, alpha: 0, beta: 0, scale: new Float32Array(0), shift: new Float32Array(0) },
  ];

  it('gives the im2col path\'s output bits for every window, width remainder, channel count and activation, 1 and 2 threads', async () => {
    let seed = 95000, runs = 0;
    for (const rt of [rts.one, rts.two]) {
      for (const [g, h, w] of CASES) {
        for (const act0 of ACTS) {
          const r = rng(seed++);
          const act = act0 && act0.kind !== RELU ? { ...act0, scale: new Float32Array(g.cout).fill(1), shift: new Float32Array(g.cout) } : act0;
          const weight = Float32Array.from({ length: g.cout * g.cin * g.kh * g.kw }, () => (r() - 0.5) * 2);
          const bias = seed % 2 ? Float32Array.from({ length: g.cout }, () => r() - 0.5) : null;
          const a = new Conv2dF32(rt, g, weight, bias, act), b = new Conv2dF32(rt, g, weight, bias, act, false);
          expect(a.direct).toBe(true);
          expect(b.direct).toBe(false);
          const n = 1 + (seed % 2);
          const x = Float32Array.from({ length: n * h * w * g.cin }, (_, i) => (i % 37 === 5 ? [NaN, Infinity, -Infinity, 3e38][i % 4] : (r() - 0.5) * 8));
          const ya = await run(rt, a, n, h, w, x), yb = await run(rt, b, n, h, w, x);
          expect(firstMismatch(ya, yb), `${g.kh}x${g.kw} s${g.sh},${g.sw} d${g.dh},${g.dw} cin=${g.cin} cout=${g.cout} act=${act?.kind ?? '-'} threads=${rt.threads}`).toBeNull();
          a.dispose(), b.dispose();
          runs++;
        }
      }
    }
    expect(runs).toBe(2 * CASES.length * ACTS.length);
  });

  it('keeps im2col for windows dilated across and for grouped convolutions', () => {
    const rt = rts.one;
    const dil = geom(4, 4, [3, 3], [1, 1], [1, 2], [1, 2, 1, 2]);
    const a = new Conv2dF32(rt, dil, new Float32Array(4 * 4 * 9), null);
    expect(a.direct).toBe(false);
    const grouped = { ...geom(4, 4, [3, 3], [1, 1], [1, 1], [1, 1, 1, 1]), group: 2 };
    const b = new Conv2dF32(rt, grouped, new Float32Array(4 * 2 * 9), null);
    expect(b.direct).toBe(false);
    a.dispose(), b.dispose();
  });

  it('the wrappers refuse a window dilated across, mismatched weights, disposed weights and a buffer too small', async () => {
    const rt = rts.one, g = geom(4, 8, [3, 3], [1, 1], [1, 1], [1, 1, 1, 1]);
    const w = packF32(rt, new Float32Array(36 * 8), 36, 8);
    const call = { xp: 0, wp: 6, c: 4, w, y: 0, oh: 4, ow: 4, bias: 0, lo: -Infinity, hi: Infinity };
    expect(() => convDirectNhwc(rt, { ...g, dw: 2 }, call)).toThrow(ArgumentError);
    expect(() => convDirectNhwc(rt, g, { ...call, c: 5 })).toThrow(/K = 36/);
    expect(() => padNhwc(rt, 0, 0, 4, 4, 4, 1, 1, 4, 6)).toThrow(ArgumentError);
    w.dispose();
    expect(() => convDirectNhwc(rt, g, call)).toThrow(/disposed/);
  });
});
