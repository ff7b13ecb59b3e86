// Each layer's input Hessian H = XᵀX / rows (src/model/layer-hessians.ts) against its meaning, with
// onnxruntime-web as the oracle: for any ΔW, rows · tr(ΔW H ΔWᵀ) is ‖X ΔWᵀ‖², the squared output of
// the same layer with weights ΔW (no bias) over every calibration input. That checks the im2col
// rows (strides, pads, dilations, K's order = weightRows') and the linear rows. Then quantizeModel's
// antChoice: 'effect' end to end.

import { describe, expect, it } from 'vitest';
import { loadModel, quantizeModel, type Model } from '../src/index.js';
import { layerHessians } from '../src/model/layer-hessians.js';
import { weightRows } from '../src/model/quantize.js';
import type { LayerSpec } from '../src/model/model.js';
import type { GraphNode } from '../src/model/graph.js';
import { LowbitError } from '../src/errors.js';
import { OnnxBuilder, runOrtModel, type Feed } from './onnx-builder.js';
import { W, X } from './model-ort-check.js';
import { rng, useRuntimes } from './helpers.js';

const rts = useRuntimes();

/** the one weight layer of a model (after a run planned it) */
function onlyLayer(m: Model): { node: GraphNode; spec: LayerSpec } {
  const [[node, spec]] = [...m.layerSpecs];
  return { node, spec };
}

/** tr(ΔW H ΔWᵀ) with ΔW as GEMM rows [N][K] */
function trace(h: Float64Array, d: Float32Array, n: number, k: number): number {
  let s = 0;
  for (let r = 0; r < n; r++) for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) s += d[r * k + i] * h[i * k + j] * d[r * k + j];
  return s;
}

interface Case {
  name: string;
  /** a one-layer model with weights w (ONNX layout) and no bias */
  build: (w: number[]) => OnnxBuilder;
  wCount: number;
  feeds: Feed[];
}

const conv = (dims: number[], attrs: Record<string, number[] | number>) => (w: number[]) =>
  new OnnxBuilder(13).input('x', ['n', dims[1], 'h', 'w']).output('y').init('w', dims, w).node('Conv', ['x', 'w'], 'y', attrs);

const cases: Case[] = [
  {
    name: 'Conv 3x3, stride 2x1, asymmetric pads, dilation 1x2',
    build: conv([4, 3, 3, 3], { strides: [2, 1], pads: [1, 0, 2, 1], dilations: [1, 2] }),
    wCount: 4 * 3 * 9,
    feeds: [X([2, 3, 9, 11], 1), X([1, 3, 7, 8], 2)],
  },
  { name: 'Conv 1x3 (the recognizer\'s neck)', build: conv([5, 6, 1, 3], { pads: [0, 1, 0, 1] }), wCount: 5 * 6 * 3, feeds: [X([1, 6, 1, 10], 3), X([2, 6, 1, 4], 4)] },
  { name: 'Conv 1x1 (pointwise)', build: conv([7, 5, 1, 1], {}), wCount: 35, feeds: [X([2, 5, 3, 4], 5)] },
  {
    name: 'MatMul on [2, 5, K] rows',
    build: (w) => new OnnxBuilder(13).input('x', [2, 'm', 6]).output('y').init('w', [6, 4], w).node('MatMul', ['x', 'w'], 'y'),
    wCount: 24,
    feeds: [X([2, 5, 6], 6), X([2, 3, 6], 7)],
  },
  {
    name: 'Gemm with transB',
    build: (w) => new OnnxBuilder(13).input('x', ['m', 7]).output('y').init('w', [3, 7], w).node('Gemm', ['x', 'w'], 'y', { transB: 1 }),
    wCount: 21,
    feeds: [X([4, 7], 8)],
  },
];

describe('layerHessians', () => {
  for (const c of cases) {
    it(`${c.name}: rows · tr(ΔW H ΔWᵀ) is the squared output of the layer with weights ΔW (onnxruntime-web)`, async () => {
      const float = loadModel(rts.one, c.build(W(c.wCount, 10)).build());
      try {
        const hs = await layerHessians(float, c.feeds.map((x) => ({ x })));
        const { node, spec } = onlyLayer(float);
        expect([...hs.keys()]).toEqual([node]);
        const h = hs.get(node)!;
        const { k } = weightRows(spec);
        expect(h.length).toBe(k * k);
        for (let i = 0; i < k; i++) for (let j = 0; j < i; j++) expect(h[i * k + j]).toBe(h[j * k + i]);
        for (const seed of [11, 12]) {
          const dw = W(c.wCount, seed);
          // ΔW as the GEMM rows quantizers see (the same conversion quantizeModel uses)
          const d = weightRows({ ...spec, weight: Float32Array.from(dw) } as LayerSpec);
          // rows: the output's pixels (N·OH·OW) or M, as onnxruntime's output says
          let energy = 0;
          let rows = 0;
          for (const x of c.feeds) {
            const out = Object.values(await runOrtModel(c.build(dw).build(), { x }))[0];
            for (const v of out.data) energy += v * v;
            rows += out.data.length / d.n;
          }
          expect(trace(h, d.wnk, d.n, d.k) * rows).toBeCloseTo(energy, 3);
          expect(Math.abs(trace(h, d.wnk, d.n, d.k) * rows - energy) / energy).toBeLessThan(1e-5);
        }
      } finally {
        float.dispose();
      }
    });
  }

  it('skips depthwise convolutions and layers `want` leaves out, and takes a layer\'s input after the layers before it', async () => {
    const b = new OnnxBuilder(13).input('x', [1, 4, 5, 5]).output('y')
      .init('dw', [4, 1, 3, 3], W(36, 1)).init('w1', [6, 4, 1, 1], W(24, 2)).init('w2', [3, 6, 1, 1], W(18, 3))
      .node('Conv', ['x', 'dw'], 'a', { group: 4, pads: [1, 1, 1, 1] })
      .node('Conv', ['a', 'w1'], 'b')
      .node('Relu', ['b'], 'c')
      .node('Conv', ['c', 'w2'], 'y');
    const float = loadModel(rts.one, b.build());
    try {
      const feeds = [{ x: X([1, 4, 5, 5], 4) }];
      const all = await layerHessians(float, feeds);
      expect(all.size).toBe(2);
      const [first, second] = [...all.values()];
      expect(first.length).toBe(16);
      expect(second.length).toBe(36);
      // the second layer's input went through Relu: H is built from non-negative rows
      for (let i = 0; i < 36; i++) expect(second[i]).toBeGreaterThanOrEqual(0);
      const some = await layerHessians(float, feeds, (node) => node.inputs.includes('c'));
      expect(some.size).toBe(1);
      expect([...some.values()][0]).toEqual(second);
    } finally {
      float.dispose();
    }
  });
});

describe("quantizeModel's antChoice", () => {
  // one MatMul whose inputs are large in a few columns, where the weights are small: the squared
  // error chooses int4 for the uniform weights, the output error another type
  const k = 64, n = 16;
  const heavy = [3, 17, 40, 41, 58];
  const r = rng(21);
  const w = new Float32Array(k * n); // [K][N]
  for (let i = 0; i < k; i++) for (let j = 0; j < n; j++) w[i * n + j] = (2 * r() - 1) * (heavy.includes(i) ? 0.05 : 1);
  const feeds = [1, 2, 3].map((s) => {
    const x = X([8, k], 30 + s);
    for (let m = 0; m < 8; m++) for (const i of heavy) x.data[m * k + i] *= 30;
    return { x };
  });
  const bytes = new OnnxBuilder(13).input('x', ['m', k]).output('y').init('w', [k, n], w).node('MatMul', ['x', 'w'], 'y').build();

  async function quantized(float: Model, options: Record<string, unknown>): Promise<{ type: string; sqnr: number }> {
    const q = await quantizeModel(float, { scheme: 'ant4', calibration: feeds, ...options });
    try {
      let sig = 0, noise = 0;
      for (const f of feeds) {
        const a = Object.values(await float.run(f))[0].data, b = Object.values(await q.run(f))[0].data;
        for (let i = 0; i < a.length; i++) {
          sig += a[i] ** 2;
          noise += (a[i] - b[i]) ** 2;
        }
      }
      const layer = [...q.builtLayers.values()][0] as unknown as { weights: { format: { detail(d: unknown): string }; data: unknown } };
      return { type: layer.weights.format.detail(layer.weights.data), sqnr: 10 * Math.log10(sig / noise) };
    } finally {
      q.dispose();
    }
  }

  it("'effect' chooses by the layer's output on the calibration inputs: another type, a better output", async () => {
    const float = loadModel(rts.one, bytes);
    try {
      const byDefault = await quantized(float, {});
      const byError = await quantized(float, { antChoice: 'error' });
      const byEffect = await quantized(float, { antChoice: 'effect' });
      const typeOnly = await quantized(float, { antChoice: 'effect', antClipByEffect: false });
      expect(byDefault).toEqual(byEffect); // quantizeModel's default for ant4
      expect(byError.type).toBe('int4');
      expect(byEffect.type).not.toBe('int4');
      expect(byEffect.sqnr).toBeGreaterThan(byError.sqnr + 1);
      expect(typeOnly.type).toBe(byEffect.type);
      expect(byEffect.sqnr).toBeGreaterThanOrEqual(typeOnly.sqnr - 0.1);
    } finally {
      float.dispose();
    }
  });

  it('rejects a bad antChoice or antClipByEffect with an ArgumentError', async () => {
    const float = loadModel(rts.one, bytes);
    try {
      for (const [o, msg] of [
        [{ antChoice: 'output' }, /quantize: antChoice must be 'error' or 'effect', got output/],
        [{ antClipByEffect: 'yes' }, /quantize: antClipByEffect must be a boolean, got yes/],
      ] as const) {
        const err = await quantizeModel(float, { scheme: 'ant4', calibration: feeds, ...(o as object) }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(LowbitError);
        expect((err as Error).message).toMatch(msg);
        expect((err as LowbitError).code).toBe('ERR_ARGUMENT');
      }
    } finally {
      float.dispose();
    }
  });
});
