// The dynamically quantized conv (quantize_dynamic's DynamicQuantizeLinear -> ConvInteger -> Cast ->
// Mul -> Add chain, fused to one layer) on the int8 conv paths: pixels staged once and read in place
// (qs8-conv-direct) or gathered (q_im2col_nhwc), against the float32 im2col path the layer took
// before, bit for bit: channel counts around the vector widths, widths and heights that leave
// remainder rows, strides 1 and 2, uneven pads, int8 and uint8 weights with per-tensor and
// per-channel zero points at both ends, the run's zero point at 0 and 255 with saturating inputs,
// bias and activations, 1 and 2 threads, nothing written past the scratch the layer asks for. Then whole graphs of the chain against onnxruntime-web.

import { describe, expect, it } from 'vitest';
import { loadModel } from '../src/index.js';
import { Conv2dGemm } from '../src/layers/conv2d-gemm.js';
import { convOutSize, type ConvGeometry } from '../src/layers/conv2d.js';
import { DynamicQs8Gemm } from '../src/layers/gemm-qs8-dynamic.js';
import { ACTIVATIONS } from '../src/model/fuse.js';
import { SIMD, firstMismatch, rng, useRuntimes } from './helpers.js';
import { convGeometry as geom, convOut, makeX } from './conv-geometry.js';
import { OnnxBuilder, runOrtModel } from './onnx-builder.js';
import type { Runtime } from '../src/index.js';
import { expectOutputsClose, seeded, W } from './model-ort-check.js';

const rts = useRuntimes();

/** convOut (conv-geometry.ts) with a canary after the scratch scratchBytes() asks for: a path writing past it fails */
async function convOutFenced(rt: Runtime, conv: Conv2dGemm, n: number, h: number, w: number, x: Float32Array): Promise<Uint32Array> {
  const g = conv.geometry, [oh, ow] = convOutSize(g, h, w), bytes = conv.scratchBytes(h, w);
  const px = rt.alloc(x.length * 4 + 64), py = rt.alloc(n * oh * ow * g.cout * 4 + 64), ps = rt.alloc(bytes + 256);
  rt.view(Float32Array, px, x.length).set(x);
  rt.view(Uint8Array, ps + bytes, 256).fill(0x5a);
  await conv.run(n, h, w, px, py, ps);
  const y = rt.read(Uint32Array, py, n * oh * ow * g.cout), canary = rt.read(Uint8Array, ps + bytes, 256);
  for (const p of [px, py, ps]) rt.free(p);
  expect(canary.every((v) => v === 0x5a), 'a write past the scratch').toBe(true);
  return y;
}

// [geometry, h, w]: direct where the window is wider than a pixel and not dilated across, else gathered
const LAYERS: [ConvGeometry, number, number][] = [
  [geom(8, 5, [3, 3], [1, 1], [1, 1], [1, 1, 1, 1]), 6, 7],
  [geom(9, 8, [3, 3], [2, 2], [1, 1], [1, 1, 0, 0]), 9, 8],
  [geom(17, 9, [3, 3], [2, 2], [1, 1], [0, 1, 1, 0]), 7, 10],
  [geom(24, 16, [3, 2], [1, 2], [2, 1], [2, 0, 2, 1]), 8, 7],
  [geom(64, 13, [3, 3], [1, 1], [1, 1], [1, 1, 1, 1]), 5, 11],
  [geom(33, 7, [5, 5], [1, 1], [1, 1], [2, 2, 2, 2]), 6, 5],
  [geom(16, 12, [3, 3], [1, 1], [2, 2], [2, 2, 2, 2]), 7, 6], // dilated across: gathered
  [geom(24, 10, [1, 1], [2, 2], [1, 1], [0, 0, 0, 0]), 7, 6], // 1x1 stride 2: gathered
];

type WeightKind = 'int8' | 'int8 per channel' | 'uint8' | 'uint8 per channel';
const WEIGHTS: WeightKind[] = ['int8', 'int8 per channel', 'uint8', 'uint8 per channel'];

/** weights [K][N] over the type's whole range (its ends in every column), zero points at its ends too */
function makeWeights(kind: WeightKind, k: number, n: number, r: () => number, variant: number) {
  const u = kind.startsWith('uint8'), lo = u ? 0 : -128, perChannel = kind.endsWith('channel');
  const ends = [lo, lo + 255];
  const q = Array.from({ length: k * n }, (_, i) => (i < 2 * n ? ends[Math.floor(i / n)] : lo + Math.floor(r() * 256)));
  const zOf = (j: number) => (perChannel ? [lo, lo + 255, lo + 128, lo + 1][(j + variant) % 4] : [lo, lo + 255, lo + 128][variant % 3]);
  const zw = Array.from({ length: n }, (_, j) => zOf(j));
  return { b: u ? Uint8Array.from(q) : Int8Array.from(q), zw };
}

describe(`dynamically quantized conv on the int8 conv paths (${SIMD} build)`, () => {
  it('direct and gathered staging give the float32 im2col path\'s bits: every geometry, weight type and zero point, activations, 1 and 2 threads', async () => {
    let seed = 97000, runs = 0;
    for (const rt of [rts.one, rts.two]) {
      for (const [g, h, w] of LAYERS) {
        for (const kind of WEIGHTS) {
          for (const [zp, variant] of [[0, 0], [255, 1], [131, 2], [1, 3]] as const) {
            const r = rng(seed++);
            const k = g.kh * g.kw * g.cin, n = g.cout;
            const { b, zw } = makeWeights(kind, k, n, r, variant);
            const wScale = Float32Array.from({ length: n }, () => 0.001 + r() * 0.01);
            const bias = variant === 3 ? null : Float32Array.from({ length: n }, () => r() - 0.5);
            const act = variant === 1 ? { kind: ACTIVATIONS.relu, alpha: 0, beta: 0 } : variant === 2 ? { kind: ACTIVATIONS.leakyrelu, alpha: Math.fround(0.2), beta: 0 } : undefined;
            const scale = Math.fround(0.02 + r() * 0.05);
            const make = (staged: boolean, direct: boolean) => {
              const gemm = new DynamicQs8Gemm(rt, b, k, n, zw, wScale, bias, act);
              gemm.setInput({ scale, zeroPoint: zp });
              return new Conv2dGemm(rt, g, gemm, staged, direct);
            };
            const direct = make(true, true), gathered = make(true, false), old = make(false, false);
            const label = `${g.kh}x${g.kw}/${g.sh},${g.sw} d${g.dh},${g.dw} cin=${g.cin} cout=${n} ${h}x${w} ${kind} zp=${zp} v${variant} threads=${rt.threads}`;
            expect(gathered.staged, label).not.toBeNull();
            expect(old.staged).toBeNull();
            expect(direct.direct !== null, label).toBe(g.dw === 1 && g.kh * g.kw > 1);
            const batch = 1 + (seed % 2);
            const x = makeX(batch * h * w * g.cin, scale, r);
            const want = await convOut(rt, old, batch, h, w, x);
            expect(firstMismatch(await convOutFenced(rt, direct, batch, h, w, x), want), `direct ${label}`).toBeNull();
            expect(firstMismatch(await convOutFenced(rt, gathered, batch, h, w, x), want), `gathered ${label}`).toBeNull();
            direct.dispose(), gathered.dispose(), old.dispose();
            runs++;
          }
        }
      }
    }
    expect(runs).toBe(2 * LAYERS.length * WEIGHTS.length * 4);
  });

  it('a new input scale and zero point between runs: each run gives what a fresh layer with that input gives', async () => {
    const rt = rts.two, g = LAYERS[0][0], [h, w] = [9, 8], r = rng(97900);
    const k = 9 * g.cin, n = g.cout, { b, zw } = makeWeights('uint8 per channel', k, n, r, 1);
    const wScale = new Float32Array(n).fill(0.004), bias = new Float32Array(n).fill(0.25);
    const reused = new Conv2dGemm(rt, g, new DynamicQs8Gemm(rt, b, k, n, zw, wScale, bias, undefined));
    expect(reused.direct).not.toBeNull();
    for (const [scale, zp] of [[0.05, 0], [0.013, 255], [0.05, 0], [0.031, 77]] as const) {
      const x = makeX(h * w * g.cin, scale, r);
      (reused.gemm as DynamicQs8Gemm).setInput({ scale, zeroPoint: zp });
      const fresh = new DynamicQs8Gemm(rt, b, k, n, zw, wScale, bias, undefined);
      fresh.setInput({ scale, zeroPoint: zp });
      const old = new Conv2dGemm(rt, g, fresh, false, false);
      expect(firstMismatch(await convOut(rt, reused, 1, h, w, x), await convOut(rt, old, 1, h, w, x)), `scale=${scale} zp=${zp}`).toBeNull();
      old.dispose();
    }
    reused.dispose();
  });
});

/** x -> DynamicQuantizeLinear -> ConvInteger (w of type wt, one zero point) -> Cast -> Mul -> Add -> Relu */
function chain(x: number[], m: number, k: number, attrs: Record<string, number[]>, wt: 'int8' | 'uint8', zw: number[]): OnnxBuilder {
  const lo = wt === 'uint8' ? 0 : -128, r = rng(97500 + m);
  const wd = [m, x[1], k, k], wn = wd.reduce((a, b) => a * b, 1);
  return new OnnxBuilder(13).input('x', x).output('y')
    .init('w', wd, Array.from({ length: wn }, (_, i) => (i < 2 ? lo + 255 * i : lo + Math.floor(r() * 256))), wt)
    .init('ws', [], [0.003]).init('wz', [], zw, wt)
    .init('bias', [m], W(m, 6, 0.2)).ints('shape', [1, -1, 1, 1])
    .node('DynamicQuantizeLinear', ['x'], ['q', 's', 'z'])
    .node('ConvInteger', ['q', 'w', 'z', 'wz'], 'acc', attrs)
    .node('Cast', ['acc'], 'accf', { to: 1 }).node('Mul', ['s', 'ws'], 'sw').node('Mul', ['accf', 'sw'], 'scaled')
    .node('Reshape', ['bias', 'shape'], 'b4').node('Add', ['scaled', 'b4'], 'pre').node('Relu', ['pre'], 'y');
}

describe(`the fused chain on the direct and gathered int8 convs against onnxruntime-web (${SIMD} build)`, () => {
  it('int8 and uint8 weights, zero points at their ends, strides 1 and 2, 1x1: the same float32 values (onnxruntime takes per-tensor weight zero points only)', async () => {
    const cases: [number[], number, number, Record<string, number[]>, 'int8' | 'uint8', number[], string][] = [
      [[1, 16, 9, 11], 12, 3, { pads: [1, 1, 1, 1] }, 'uint8', [255], 'direct'],
      [[2, 9, 8, 7], 5, 3, { pads: [1, 0, 0, 1], strides: [2, 2] }, 'int8', [-128], 'direct'],
      [[1, 64, 6, 5], 10, 3, { pads: [1, 1, 1, 1] }, 'uint8', [0], 'direct'],
      [[1, 24, 7, 6], 8, 1, { strides: [2, 2] }, 'int8', [127], 'staged'],
    ];
    for (const [x, m, k, attrs, wt, zw, path] of cases) {
      const b = chain(x, m, k, attrs, wt, zw), feeds = { x: seeded(x, m, 3) };
      const want = await runOrtModel(b.build(), feeds);
      for (const rt of [rts.one, rts.two]) {
        const model = loadModel(rt, b.build());
        try {
          expect(model.plan({ x }).steps.map((s) => s.op)).toContain(`DynamicQuantConv ${path} ${k}x${k}`);
          expectOutputsClose(await model.run(feeds), want, 0, `${x} ${wt} ${zw} threads=${rt.threads}`);
        } finally {
          model.dispose();
        }
      }
    }
  });
});
