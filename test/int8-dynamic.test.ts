// Scheme int8-dynamic: int8's weights, each input quantized per run by ONNX DynamicQuantizeLinear's
// rule. The model layers (linear, and convs on the direct, staged, gathered and 1x1 paths) against a
// scalar composition written here from the ONNX operator definitions (DynamicQuantizeLinear over the
// whole input tensor -> MatMulInteger -> Cast -> Mul(x_scale * w_scale) -> Add bias), bit for bit;
// extremes (an all-equal input, zeros, one sign, huge values, NaN rows); quantizeModel without
// calibration against onnxruntime-web running that chain; and the saved file reloading to the same bits.

import { describe, expect, it } from 'vitest';
import { loadModel, loadQuantized, quantizeModel, saveQuantized } from '../src/index.js';
import { ArgumentError, ValueRangeError } from '../src/errors.js';
import { int8DynamicFormat } from '../src/formats/int8-dynamic.js';
import { Conv2dGemm, convWeightsNK, transposeKN } from '../src/layers/conv2d-gemm.js';
import { convOutSize, type ConvGeometry } from '../src/layers/conv2d.js';
import type { Int8Weights } from '../src/layers/gemm-qs8.js';
import { NonFiniteGuard } from '../src/layers/nonfinite.js';
import { gemmRunner } from '../src/layers/linear-runner.js';
import { roundHalfEven } from '../src/quant/rounding.js';
import type { Runtime } from '../src/index.js';
import { SIMD, firstMismatch, randNormal, rng, useRuntimes } from './helpers.js';
import { convGeometry as geom, convOut } from './conv-geometry.js';
import { OnnxBuilder, runOrtModel } from './onnx-builder.js';
import { expectOutputsClose, seeded, W } from './model-ort-check.js';

const rts = useRuntimes();
const f = Math.fround;

/** ONNX DynamicQuantizeLinear's scale and zero point: the range widened to 0, uint8, float32 arithmetic */
function onnxDynamicQuant(x: ArrayLike<number>): { scale: number; zp: number } {
  let lo = 0, hi = 0;
  for (let i = 0; i < x.length; i++) (lo = Math.min(lo, x[i])), (hi = Math.max(hi, x[i]));
  const scale = hi === lo ? 1 : f(f(f(hi) - f(lo)) / 255);
  return { scale, zp: roundHalfEven(Math.min(255, Math.max(0, f(0 - f(lo / scale))))) };
}

/** the chain on GEMM rows a [M][K] (im2col rows for a conv; padding 0), quantized by the whole input `tensor`'s range */
function refChain(tensor: ArrayLike<number>, a: Float32Array, m: number, w: Int8Weights, bias: Float32Array | null): Float32Array {
  const { k, n, q, scales } = w;
  const { scale, zp } = onnxDynamicQuant(tensor);
  const xq = Int32Array.from(a, (v) => Math.min(255, Math.max(0, roundHalfEven(f(v / scale)) + zp)));
  const y = new Float32Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let acc = 0;
      for (let t = 0; t < k; t++) acc += (xq[i * k + t] - zp) * q[t * n + j];
      const v = f(f(acc) * f(scale * scales[j]));
      y[i * n + j] = bias ? f(v + bias[j]) : v;
    }
  }
  return y;
}

/** im2col rows of x [h][w][cin] (NHWC, one image), zero padding */
function im2col(x: Float32Array, g: ConvGeometry, h: number, w: number): Float32Array {
  const [oh, ow] = convOutSize(g, h, w), k = g.kh * g.kw * g.cin, out = new Float32Array(oh * ow * k);
  for (let oy = 0; oy < oh; oy++) for (let ox = 0; ox < ow; ox++) {
    for (let ky = 0; ky < g.kh; ky++) for (let kx = 0; kx < g.kw; kx++) {
      const iy = oy * g.sh - g.pt + ky * g.dh, ix = ox * g.sw - g.pl + kx * g.dw;
      if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
      for (let c = 0; c < g.cin; c++) out[(oy * ow + ox) * k + (ky * g.kw + kx) * g.cin + c] = x[(iy * w + ix) * g.cin + c];
    }
  }
  return out;
}

const weights = (n: number, k: number, seed: number): Int8Weights => int8DynamicFormat.quantize(randNormal(n * k, rng(seed), 0.3), n, k, {});

/** the model's linear layer: the format's GEMM behind the NaN guard */
async function linear(rt: Runtime, w: Int8Weights, bias: Float32Array | null, x: Float32Array, m: number, mode: 'nan' | 'error' = 'nan'): Promise<Float32Array> {
  const runner = gemmRunner(rt, new NonFiniteGuard(rt, int8DynamicFormat.gemm(rt, w, bias, null), mode, 'test'));
  try {
    return await runner.forward(x, m);
  } finally {
    runner.dispose();
  }
}

describe(`int8-dynamic layers against the DynamicQuantizeLinear -> MatMulInteger chain (${SIMD} build)`, () => {
  it('linear: random shapes with remainders, bit for bit, 1 and 2 threads', async () => {
    for (const [m, k, n] of [[1, 1, 1], [3, 7, 5], [17, 33, 9], [5, 64, 16], [40, 65, 33], [130, 48, 24]]) {
      const r = rng(m * 1000 + k * 10 + n), w = weights(n, k, m + k + n), bias = randNormal(n, r, 0.5);
      const x = Float32Array.from(randNormal(m * k, r, 2), (v, i) => (i % 5 === 0 ? v + 1.5 : v));
      const want = refChain(x, x, m, w, bias);
      for (const rt of [rts.one, rts.two]) expect(firstMismatch(await linear(rt, w, bias, x, m), want), `${m}x${k}x${n} threads=${rt.threads}`).toBeNull();
      expect(firstMismatch(int8DynamicFormat.reference(w, x, m, bias), want)).toBeNull();
    }
  });

  it('extremes: an all-equal input, zeros, one sign only, a huge value (wide scale), the range at float32 limits', async () => {
    const m = 6, k = 19, n = 7, w = weights(n, k, 5), rt = rts.one;
    const cases: [string, Float32Array][] = [
      ['all equal', new Float32Array(m * k).fill(0.37)],
      ['all equal negative', new Float32Array(m * k).fill(-2.5)],
      ['zeros', new Float32Array(m * k)],
      ['positive only', Float32Array.from(randNormal(m * k, rng(3)), (v) => Math.abs(v) + 1)],
      ['negative only', Float32Array.from(randNormal(m * k, rng(4)), (v) => -Math.abs(v) - 1)],
      ['one huge value', Float32Array.from(randNormal(m * k, rng(6)), (v, i) => (i === 40 ? 3e37 : v))],
      ['one row all equal, others random', Float32Array.from(randNormal(m * k, rng(7)), (v, i) => (i < k ? 0.5 : v))],
    ];
    for (const [what, x] of cases) expect(firstMismatch(await linear(rt, w, null, x, m), refChain(x, x, m, w, null)), what).toBeNull();
  });

  it('a range past float32 (huge values of both signs) is a ValueRangeError; NaN rows give NaN (or the error mode\'s error), the rest as quantized without them', async () => {
    const m = 4, k = 9, n = 5, w = weights(n, k, 8), rt = rts.one;
    const huge = Float32Array.from(randNormal(m * k, rng(9)), (v, i) => (i === 3 ? 3e38 : i === 20 ? -3e38 : v));
    await expect(linear(rt, w, null, huge, m)).rejects.toThrow(ValueRangeError);
    await expect(linear(rt, w, null, huge, m)).rejects.toThrow(/x: int8-dynamic quantizes its input by its range/);
    const x = randNormal(m * k, rng(10));
    x[k + 2] = NaN;
    const got = await linear(rt, w, null, x, m);
    const zeroed = x.map((v) => (Number.isNaN(v) ? 0 : v)), want = refChain(zeroed, zeroed, m, w, null).fill(NaN, n, 2 * n);
    expect(firstMismatch(got, want)).toBeNull();
    await expect(linear(rt, w, null, x, m, 'error')).rejects.toThrow(ValueRangeError);
  });

  it('convolutions: direct, staged, gathered (a 1x1 stride-2 conv skips pixels: the range is still the whole input\'s) and 1x1 paths, bit for bit', async () => {
    // [geometry, h, w]
    const layers: [ConvGeometry, number, number][] = [
      [geom(16, 12, [3, 3], [1, 1], [1, 1], [1, 1, 1, 1]), 7, 9],
      [geom(9, 8, [3, 3], [2, 2], [1, 1], [1, 0, 0, 1]), 9, 8],
      [geom(24, 10, [1, 1], [2, 2], [1, 1], [0, 0, 0, 0]), 7, 6],
      [geom(33, 7, [5, 5], [1, 1], [1, 1], [2, 2, 2, 2]), 6, 5],
      [geom(16, 12, [3, 3], [1, 1], [2, 2], [2, 2, 2, 2]), 7, 6],
      [geom(20, 11, [1, 1], [1, 1], [1, 1], [0, 0, 0, 0]), 5, 3],
      [geom(3, 8, [3, 3], [2, 2], [1, 1], [1, 1, 1, 1]), 8, 8],
    ];
    for (const [i, [g, h, wd]] of layers.entries()) {
      const k = g.kh * g.kw * g.cin, w = weights(g.cout, k, 30 + i), bias = randNormal(g.cout, rng(40 + i), 0.2);
      const x = randNormal(h * wd * g.cin, rng(50 + i), 1.5);
      x[g.cin] = 9.5; // pixel (0, 1): a stride-2 1x1 conv never reads it
      const want = refChain(x, im2col(x, g, h, wd), convOutSize(g, h, wd).reduce((a, b) => a * b), w, bias);
      for (const rt of [rts.one, rts.two]) {
        for (const [staged, direct] of [[true, true], [true, false], [false, false]]) {
          const conv = new Conv2dGemm(rt, g, new NonFiniteGuard(rt, int8DynamicFormat.gemm(rt, w, bias, null), 'nan', 'conv'), staged, direct);
          try {
            const got = new Float32Array((await convOut(rt, conv, 1, h, wd, x)).buffer);
            expect(firstMismatch(got, want), `layer ${i} staged=${staged} direct=${direct} threads=${rt.threads}`).toBeNull();
          } finally {
            conv.dispose();
          }
        }
      }
    }
  });
});

/** float graph: Conv (x) and MatMul + Add (v); the quantized chain onnxruntime runs, from lowbit's own int8 weights */
function graphs(cw: Float32Array, cb: number[], mw: Float32Array, mb: number[], g: ConvGeometry, kdim: number, ndim: number) {
  const float = new OnnxBuilder(13).input('x', [1, g.cin, 8, 7]).input('v', [5, kdim]).output('yc').output('ym')
    .init('cw', [g.cout, g.cin, g.kh, g.kw], cw).init('cb', [g.cout], cb).init('mw', [kdim, ndim], mw).init('mb', [ndim], mb)
    .node('Conv', ['x', 'cw', 'cb'], 'yc', { pads: [1, 1, 1, 1] }).node('MatMul', ['v', 'mw'], 'mm').node('Add', ['mm', 'mb'], 'ym');
  const k = g.kh * g.kw * g.cin;
  const cq = int8DynamicFormat.quantize(convWeightsNK(cw, g), g.cout, k, {});
  const mq = int8DynamicFormat.quantize(transposeKN(mw, kdim, ndim), ndim, kdim, {});
  // lowbit's conv weights [K = (ky, kx, c)][N] back to ONNX's [N][C][kh][kw]
  const cwq = new Int8Array(cw.length);
  for (let j = 0; j < g.cout; j++) for (let c = 0; c < g.cin; c++) for (let ky = 0; ky < g.kh; ky++) for (let kx = 0; kx < g.kw; kx++) {
    cwq[((j * g.cin + c) * g.kh + ky) * g.kw + kx] = cq.q[((ky * g.kw + kx) * g.cin + c) * g.cout + j];
  }
  const chain = new OnnxBuilder(13).input('x', [1, g.cin, 8, 7]).input('v', [5, kdim]).output('yc').output('ym')
    .init('cwq', [g.cout, g.cin, g.kh, g.kw], cwq, 'int8').init('cws', [1, g.cout, 1, 1], cq.scales).init('cb4', [1, g.cout, 1, 1], cb)
    .init('mwq', [kdim, ndim], mq.q, 'int8').init('mws', [ndim], mq.scales).init('mb', [ndim], mb)
    .node('DynamicQuantizeLinear', ['x'], ['xq', 'xs', 'xz']).node('ConvInteger', ['xq', 'cwq', 'xz'], 'cacc', { pads: [1, 1, 1, 1] })
    .node('Cast', ['cacc'], 'caccf', { to: 1 }).node('Mul', ['xs', 'cws'], 'csw').node('Mul', ['caccf', 'csw'], 'cs').node('Add', ['cs', 'cb4'], 'yc')
    .node('DynamicQuantizeLinear', ['v'], ['vq', 'vs', 'vz']).node('MatMulInteger', ['vq', 'mwq', 'vz'], 'macc')
    .node('Cast', ['macc'], 'maccf', { to: 1 }).node('Mul', ['vs', 'mws'], 'msw').node('Mul', ['maccf', 'msw'], 'ms').node('Add', ['ms', 'mb'], 'ym');
  return { float: float.build(), chain: chain.build() };
}

describe(`quantizeModel int8-dynamic: no calibration, onnxruntime-web's DynamicQuantizeLinear chain, save and load (${SIMD} build)`, () => {
  const g = geom(16, 24, [3, 3], [1, 1], [1, 1], [1, 1, 1, 1]), kdim = 40, ndim = 48;
  const cw = randNormal(g.cout * g.cin * 9, rng(71), 0.2), mw = randNormal(kdim * ndim, rng(72), 0.2);
  const { float, chain } = graphs(cw, W(g.cout, 73, 0.1), mw, W(ndim, 74, 0.1), g, kdim, ndim);
  const feeds = { x: seeded([1, g.cin, 8, 7], 75, 2), v: seeded([5, kdim], 76, 3) };

  it('without calibration inputs, every layer int8-dynamic: the same float32 values as onnxruntime-web on the chain; the saved file reloads to the same bits', async () => {
    const want = await runOrtModel(chain, feeds);
    for (const rt of [rts.one, rts.two]) {
      const model = loadModel(rt, float);
      const q = await quantizeModel(model, { scheme: 'int8-dynamic', speed: 'off' });
      try {
        const got = await q.run(feeds);
        expect([...q.builtLayers.values()].filter((l) => l && l.scheme.startsWith('int8-dynamic')).length, 'both layers quantized').toBe(2);
        expectOutputsClose(got, want, 0, `threads=${rt.threads}`);
        const bytes = saveQuantized(q);
        const back = loadQuantized(model, bytes);
        try {
          const again = await back.run(feeds);
          for (const name of ['yc', 'ym']) expect(firstMismatch(again[name].data as Float32Array, got[name].data as Float32Array), name).toBeNull();
        } finally {
          back.dispose();
        }
      } finally {
        q.dispose();
        model.dispose();
      }
    }
  });

  it('calibration: optional for int8-dynamic only (a typed error naming it for others); the shape rule without calibration keeps small layers float32', async () => {
    const rt = rts.one, model = loadModel(rt, float);
    try {
      await expect(quantizeModel(model, { scheme: 'int8' } as never)).rejects.toThrow(ArgumentError);
      await expect(quantizeModel(model, { scheme: 'int8', calibration: [] })).rejects.toThrow(/calibration needs at least one input .*only 'int8-dynamic' quantizes without calibration/);
      await expect(quantizeModel(model, { scheme: 'int8-dynamic', speed: 'measured' })).rejects.toThrow(/give calibration/);
      // by K and N alone (M unknown): the conv (K 144, N 24) pays, the MatMul (K 40, N 48) does not and stays float32, saying why
      const q = await quantizeModel(model, { scheme: 'int8-dynamic' });
      try {
        await q.run(feeds);
        expect([...q.keptFloat!.values()]).toEqual([expect.stringMatching(/int8 shape rule: GEMM K 40 x N 48 \(no calibration: M unknown\)/)]);
        expect([...q.builtLayers.values()].filter((l) => l && l.scheme.startsWith('int8-dynamic')).length).toBe(1);
      } finally {
        q.dispose();
      }
      // with calibration given it is used for the shapes only: the same layers as without, quantized the same
      const qc = await quantizeModel(model, { scheme: 'int8-dynamic', calibration: [feeds], speed: 'off' });
      const qn = await quantizeModel(model, { scheme: 'int8-dynamic', speed: 'off' });
      try {
        const a = await qc.run(feeds), b = await qn.run(feeds);
        for (const name of ['yc', 'ym']) expect(firstMismatch(a[name].data as Float32Array, b[name].data as Float32Array), name).toBeNull();
      } finally {
        qc.dispose();
        qn.dispose();
      }
    } finally {
      model.dispose();
    }
  });
});
