// ConvInteger and QLinearConv as graph nodes (src/model/ops/qconv-ops.ts) against onnxruntime-web:
// integer outputs exact, over every Conv attribute, uint8/int8, per-tensor and per-channel weight
// parameters, bias, saturation and group convs; the dynamically quantized CNN as onnxruntime's
// quantize_dynamic writes it (DynamicQuantizeLinear -> ConvInteger -> Cast -> Mul -> Add), and bad
// inputs. (The ONNX conformance cases run in test/model-conformance.test.ts.)

import { describe, expect, it } from 'vitest';
import { loadModel } from '../src/index.js';
import { DTypeError, ModelError, ShapeError, ValueRangeError } from '../src/errors.js';
import { SIMD, rng, useRuntimes } from './helpers.js';
import { OnnxBuilder, runOrtModel, type AttrSpec, type Feed, type IntFeed } from './onnx-builder.js';
import { expectLowbitRejection, expectOutputsClose, seeded, W } from './model-ort-check.js';

const rts = useRuntimes();
type Q = 'uint8' | 'int8';
const LO: Record<Q, number> = { uint8: 0, int8: -128 };

/** n seeded integers of type t, over its whole range */
function ints(n: number, seed: number, t: Q): number[] {
  const r = rng(seed);
  return Array.from({ length: n }, () => LO[t] + Math.floor(r() * 256));
}
const count = (d: readonly number[]) => d.reduce((a, b) => a * b, 1);
const feed = (t: Q, dims: number[], seed: number): IntFeed => ({ type: t, dims, data: ints(count(dims), seed, t) });

/** lowbit's outputs equal onnxruntime-web's (`oracle`: another graph computing the same, default `b`) */
async function sameAsOrt(b: OnnxBuilder, feeds: Record<string, Feed | IntFeed>, oracle = b, tol = 0): Promise<void> {
  const want = await runOrtModel(oracle.build(), feeds);
  const m = loadModel(rts.one, b.build());
  try {
    expectOutputsClose(await m.run(feeds as never), want, tol);
  } finally {
    m.dispose();
  }
}

interface ConvCase {
  what: string;
  x: number[];
  w: number[];
  attrs: Record<string, AttrSpec>;
}

// every attribute, 2-D and 1-D; taps x input channels stay small so float32 oracles are exact
const CASES: ConvCase[] = [
  { what: '3x3, no attributes', x: [2, 3, 7, 6], w: [5, 3, 3, 3], attrs: {} },
  { what: 'pads and strides', x: [1, 3, 9, 8], w: [4, 3, 3, 2], attrs: { pads: [1, 2, 0, 1], strides: [2, 1], kernel_shape: [3, 2] } },
  { what: 'dilations', x: [1, 2, 10, 9], w: [3, 2, 3, 3], attrs: { dilations: [2, 3], pads: [2, 2, 1, 3] } },
  { what: 'auto_pad SAME_UPPER, stride 2', x: [1, 3, 8, 7], w: [4, 3, 3, 3], attrs: { auto_pad: 'SAME_UPPER', strides: [2, 2] } },
  { what: 'auto_pad SAME_LOWER', x: [1, 2, 6, 7], w: [3, 2, 2, 4], attrs: { auto_pad: 'SAME_LOWER' } },
  { what: 'auto_pad VALID', x: [1, 2, 6, 7], w: [3, 2, 3, 2], attrs: { auto_pad: 'VALID', strides: [1, 2] } },
  { what: 'group 2', x: [1, 4, 6, 6], w: [6, 2, 3, 3], attrs: { group: 2, pads: [1, 1, 1, 1] } },
  { what: 'depthwise', x: [2, 5, 7, 7], w: [5, 1, 3, 3], attrs: { group: 5, pads: [1, 1, 1, 1], strides: [2, 2] } },
  { what: '1x1', x: [1, 16, 4, 5], w: [7, 16, 1, 1], attrs: {} },
  { what: '1-D with pads, strides and dilations', x: [2, 3, 13], w: [4, 3, 3], attrs: { pads: [1, 2], strides: [2], dilations: [2] } },
  { what: '1-D, SAME_UPPER', x: [1, 2, 9], w: [3, 2, 4], attrs: { auto_pad: 'SAME_UPPER', kernel_shape: [4] } },
];

/** the float32 Conv that computes (x - zx) conv (w - zw[m]): exact for these small sums */
function floatOracle(c: ConvCase, xt: Q, wt: Q, zx: number, zw: number[], w: number[]): OnnxBuilder {
  const m = c.w[0];
  const wf = w.map((v, i) => v - zw[Math.floor(i / (count(c.w) / m))]);
  return new OnnxBuilder(13).input('x', c.x, xt).output('y', 'int32')
    .init('zx', [], [zx]).init('w', c.w, wf)
    .node('Cast', ['x'], 'xf', { to: 1 }).node('Sub', ['xf', 'zx'], 'xc')
    .node('Conv', ['xc', 'w'], 'yf', c.attrs).node('Cast', ['yf'], 'y', { to: 6 });
}

describe(`ConvInteger and QLinearConv against onnxruntime-web (${SIMD} build)`, () => {
  it('ConvInteger: every attribute, uint8/int8 x and w, per-tensor zero points (extremes too), exact', async () => {
    let seed = 1;
    for (const c of CASES) {
      for (const [xt, wt] of [['uint8', 'int8'], ['uint8', 'uint8'], ['int8', 'int8'], ['int8', 'uint8']] as const) {
        for (const [zx, zw] of [[LO[xt] + 131, LO[wt] + 7], [LO[xt], LO[wt] + 255]]) {
          const w = ints(count(c.w), seed++, wt);
          const b = new OnnxBuilder(13).input('x', c.x, xt).output('y', 'int32')
            .init('w', c.w, w, wt).init('zx', [], [zx], xt).init('zw', [], [zw], wt)
            .node('ConvInteger', ['x', 'w', 'zx', 'zw'], 'y', c.attrs);
          await sameAsOrt(b, { x: feed(xt, c.x, seed++) });
        }
      }
    }
  });

  it('ConvInteger: per-channel w_zero_point, absent zero points, runtime weights (float32 Conv oracle), exact', async () => {
    let seed = 100;
    for (const c of CASES) {
      for (const [xt, wt] of [['uint8', 'int8'], ['int8', 'uint8']] as const) {
        const m = c.w[0];
        const w = ints(count(c.w), seed++, wt), zw = ints(m, seed++, wt), zx = ints(1, seed++, xt)[0];
        const b = new OnnxBuilder(13).input('x', c.x, xt).output('y', 'int32')
          .init('w', c.w, w, wt).init('zx', [], [zx], xt).init('zw', [m], zw, wt)
          .node('ConvInteger', ['x', 'w', 'zx', 'zw'], 'y', c.attrs);
        await sameAsOrt(b, { x: feed(xt, c.x, seed++) }, floatOracle(c, xt, wt, zx, zw, w));
      }
      // no zero points; w a runtime input
      const b = new OnnxBuilder(13).input('x', c.x, 'uint8').input('w', c.w, 'int8').output('y', 'int32')
        .node('ConvInteger', ['x', 'w'], 'y', c.attrs);
      await sameAsOrt(b, { x: feed('uint8', c.x, seed++), w: feed('int8', c.w, seed++) });
    }
  });

  it('QLinearConv: every attribute, uint8/int8, per-tensor and per-channel scales and zero points, bias, exact', async () => {
    let seed = 200;
    for (const c of CASES) {
      for (const [xt, wt] of [['uint8', 'uint8'], ['uint8', 'int8'], ['int8', 'int8']] as const) {
        for (const perChannel of [false, true]) {
          const m = c.w[0], r = rng(seed++);
          const ws = perChannel ? Array.from({ length: m }, () => 0.002 + r() * 0.01) : [0.004];
          const zw = perChannel ? ints(m, seed++, wt) : ints(1, seed++, wt);
          const bias = Array.from({ length: m }, () => Math.floor((r() - 0.5) * 20000));
          // output scale near the sums' spread: some values saturate at both ends
          const b = new OnnxBuilder(13).input('x', c.x, xt).output('y', xt)
            .init('xs', [], [0.05]).init('xz', [], ints(1, seed++, xt), xt)
            .init('w', c.w, ints(count(c.w), seed++, wt), wt).init('ws', perChannel ? [m] : [], ws).init('wz', perChannel ? [m] : [], zw, wt)
            .init('ys', [], [0.5 + r()]).init('yz', [], ints(1, seed++, xt), xt).init('B', [m], bias, 'int32')
            .node('QLinearConv', ['x', 'xs', 'xz', 'w', 'ws', 'wz', 'ys', 'yz', ...(seed % 2 ? ['B'] : [])], 'y', c.attrs);
          await sameAsOrt(b, { x: feed(xt, c.x, seed++) });
        }
      }
    }
  });

  it('QLinearConv: saturation at both ends of uint8 and int8, and the round-half-even ties', async () => {
    for (const t of ['uint8', 'int8'] as const) {
      // w = 1 everywhere, x - zx in {-1, 0, 1}: sums are small integers; y_scale 2 makes every odd sum a tie
      const x = Array.from({ length: 2 * 6 * 6 }, (_, i) => LO[t] + 100 + ((i * 5) % 3));
      for (const [ys, bias] of [[2, 0], [1e-3, 0], [2, 3], [1, 1e6], [1, -1e6]]) {
        const b = new OnnxBuilder(13).input('x', [1, 2, 6, 6], t).output('y', t)
          .init('xs', [], [1]).init('xz', [], [LO[t] + 101], t).init('w', [3, 2, 3, 3], new Array(54).fill(1), t)
          .init('ws', [], [1]).init('wz', [], [0], t).init('ys', [], [ys]).init('yz', [], [LO[t] + 128], t).init('B', [3], [bias, -bias, 2 * bias], 'int32')
          .node('QLinearConv', ['x', 'xs', 'xz', 'w', 'ws', 'wz', 'ys', 'yz', 'B'], 'y', { pads: [1, 1, 1, 1] });
        await sameAsOrt(b, { x: { type: t, dims: [1, 2, 6, 6], data: x } });
      }
    }
  });

  it('QLinearConv int8 x with uint8 w (no onnxruntime kernel) equals the uint8 x form with x + 128 and x_zero_point + 128', async () => {
    const xs = ints(2 * 3 * 7 * 7, 300, 'int8'), w = ints(4 * 3 * 9, 301, 'uint8');
    const model = (t: Q, shift: number) => new OnnxBuilder(13).input('x', [2, 3, 7, 7], t).output('y', t)
      .init('xs', [], [0.03]).init('xz', [], [-5 + shift], t).init('w', [4, 3, 3, 3], w, 'uint8')
      .init('ws', [4], [0.01, 0.02, 0.005, 0.03]).init('wz', [4], [120, 128, 131, 99], 'uint8').init('ys', [], [0.2]).init('yz', [], [7 + shift], t)
      .node('QLinearConv', ['x', 'xs', 'xz', 'w', 'ws', 'wz', 'ys', 'yz'], 'y', { strides: [2, 1], pads: [1, 0, 1, 2] });
    const run = async (t: Q, shift: number) => {
      const m = loadModel(rts.one, model(t, shift).build());
      try {
        return Array.from((await m.run({ x: { type: t, dims: [2, 3, 7, 7], data: xs.map((v) => v + shift) } as never })).y.data);
      } finally {
        m.dispose();
      }
    };
    expect(await run('int8', 0)).toEqual((await run('uint8', 128)).map((v) => v - 128));
  });
});

/**
 * A small CNN as onnxruntime's quantize_dynamic writes it (int8 weights, per-tensor for Conv, per
 * column for MatMul, uint8 activations from DynamicQuantizeLinear): conv 3x3 + relu, max pool, conv
 * 3x3 stride 2 + relu, flatten, MatMul head.
 */
export function dynamicCnn(h = 16, w = 16): OnnxBuilder {
  const b = new OnnxBuilder(13).input('x', [1, 3, h, w]).output('logits');
  const convLayer = (name: string, x: string, cin: number, cout: number, attrs: Record<string, AttrSpec>, seed: number): string => {
    const wq = ints(cout * cin * 9, seed, 'int8').map((v) => Math.max(-127, v));
    b.init(`${name}.w_quantized`, [cout, cin, 3, 3], wq, 'int8').init(`${name}.w_scale`, [], [0.004 + seed * 1e-4]).init(`${name}.w_zero_point`, [], [0], 'int8')
      .init(`${name}.bias`, [cout], W(cout, seed + 1, 0.1)).ints(`${name}.bias_shape`, [1, -1, 1, 1])
      .node('DynamicQuantizeLinear', [x], [`${x}_quantized`, `${x}_scale`, `${x}_zero_point`])
      .node('ConvInteger', [`${x}_quantized`, `${name}.w_quantized`, `${x}_zero_point`, `${name}.w_zero_point`], `${name}_output_quantized`, attrs, `${name}_quant`)
      .node('Cast', [`${name}_output_quantized`], `${name}_cast_output`, { to: 1 })
      .node('Mul', [`${x}_scale`, `${name}.w_scale`], `${name}_scales_mul:0`)
      .node('Mul', [`${name}_cast_output`, `${name}_scales_mul:0`], `${name}_scaled`)
      .node('Reshape', [`${name}.bias`, `${name}.bias_shape`], `${name}_bias_reshape_output`)
      .node('Add', [`${name}_scaled`, `${name}_bias_reshape_output`], `${name}_out`)
      .node('Relu', [`${name}_out`], `${name}_relu`);
    return `${name}_relu`;
  };
  const c1 = convLayer('conv1', 'x', 3, 8, { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }, 1);
  b.node('MaxPool', [c1], 'pool', { kernel_shape: [2, 2], strides: [2, 2] });
  const c2 = convLayer('conv2', 'pool', 8, 16, { kernel_shape: [3, 3], pads: [1, 1, 1, 1], strides: [2, 2] }, 2);
  const k = 16 * Math.ceil(h / 4) * Math.ceil(w / 4), n = 10;
  b.node('Flatten', [c2], 'flat', { axis: 1 })
    .init('fc.w_quantized', [k, n], ints(k * n, 3, 'int8'), 'int8').init('fc.w_scale', [n], W(n, 4).map((v) => 0.001 + Math.abs(v) * 1e-3)).init('fc.w_zero_point', [n], new Array(n).fill(0), 'int8')
    .init('fc.bias', [n], W(n, 5, 0.1))
    .node('DynamicQuantizeLinear', ['flat'], ['flat_quantized', 'flat_scale', 'flat_zero_point'])
    .node('MatMulInteger', ['flat_quantized', 'fc.w_quantized', 'flat_zero_point', 'fc.w_zero_point'], 'fc_output_quantized', {}, 'fc_quant')
    .node('Cast', ['fc_output_quantized'], 'fc_cast_output', { to: 1 })
    .node('Mul', ['flat_scale', 'fc.w_scale'], 'fc_scales_mul:0')
    .node('Mul', ['fc_cast_output', 'fc_scales_mul:0'], 'fc_scaled')
    .node('Add', ['fc_scaled', 'fc.bias'], 'logits');
  return b;
}

describe(`a dynamically quantized CNN (quantize_dynamic's pattern) against onnxruntime-web (${SIMD} build)`, () => {
  it('conv, relu, pool, conv, MatMul head: the same float32 values as onnxruntime-web, on 1 and 2 threads', async () => {
    for (const [h, w, seed] of [[16, 16, 1], [20, 12, 2]]) {
      const bytes = dynamicCnn(h, w).build(), feeds = { x: seeded([1, 3, h, w], seed, 2) };
      const want = await runOrtModel(bytes, feeds);
      for (const rt of [rts.one, rts.two]) {
        const m = loadModel(rt, bytes);
        try {
          // each chain is one int8 layer (3 input channels: float32 im2col; 8: the direct int8 conv); only the pool and the flatten stay separate steps
          expect(m.plan({ x: [1, 3, h, w] }).steps.map((s) => s.op)).toEqual([
            'layout', 'DynamicQuantConv im2col 3x3', 'MaxPool', 'DynamicQuantConv direct 3x3', 'layout', 'DynamicQuantMatMul',
          ]);
          // every step rounds as onnxruntime's does: the same float32 values
          expectOutputsClose(await m.run(feeds), want, 0, `${h}x${w}`);
        } finally {
          m.dispose();
        }
      }
    }
  });
});

/** x -> quantize_dynamic's chain around one ConvInteger (attrs, group, w [M, C/g, k…]) -> act -> y */
export function dynamicConvForDebug(...a: Parameters<typeof dynamicConv>) { return dynamicConv(...a); }
function dynamicConv(x: number[], w: number[], attrs: Record<string, AttrSpec>, act: 'Relu' | 'LeakyRelu' | null, extraOutput = false): OnnxBuilder {
  const m = w[0], rank = x.length;
  const b = new OnnxBuilder(13).input('x', x).output('y')
    .init('w', w, ints(count(w), 5, 'int8'), 'int8').init('ws', [], [0.01]).init('wz', [], [-3], 'int8')
    .init('bias', [m], W(m, 6)).ints('shape', rank === 4 ? [1, -1, 1, 1] : [1, -1, 1])
    .node('DynamicQuantizeLinear', ['x'], ['q', 's', 'z'])
    .node('ConvInteger', ['q', 'w', 'z', 'wz'], 'acc', attrs)
    .node('Cast', ['acc'], 'accf', { to: 1 }).node('Mul', ['s', 'ws'], 'sw').node('Mul', ['accf', 'sw'], 'scaled')
    .node('Reshape', ['bias', 'shape'], 'b4').node('Add', ['scaled', 'b4'], act ? 'pre' : 'y');
  if (act) b.node(act, ['pre'], 'y', act === 'LeakyRelu' ? { alpha: 0.2 } : {});
  if (extraOutput) b.output('accf');
  return b;
}

describe(`quantize_dynamic's chain: the int8 layer, the host fallback, and when it is not fused (${SIMD} build)`, () => {
  it('the fused layer equals the unfused nodes bit for bit (batch 2, strides, pads, 1x1, grouped, depthwise, LeakyRelu and Relu)', async () => {
    for (const [x, w, attrs, act] of [
      [[2, 3, 11, 9], [6, 3, 3, 3], { pads: [1, 0, 2, 1], strides: [2, 1] }, 'LeakyRelu'],
      [[1, 16, 5, 7], [8, 16, 1, 1], {}, 'Relu'],
      [[1, 4, 8, 8], [5, 4, 3, 2], { dilations: [2, 1], pads: [2, 1, 2, 0] }, null],
      [[1, 4, 9, 8], [5, 4, 3, 3], { auto_pad: 'SAME_UPPER', strides: [2, 2] }, 'Relu'],
      // grouped: the float32 conv, whose integer sums are exact
      [[2, 6, 9, 9], [6, 2, 3, 3], { group: 3, pads: [1, 1, 1, 1] }, 'Relu'],
      [[1, 8, 10, 7], [8, 1, 3, 3], { group: 8, pads: [1, 1, 1, 1], strides: [2, 1] }, 'LeakyRelu'],
    ] as const) {
      const bytes = dynamicConv([...x], [...w], attrs, act).build(), feeds = { x: seeded([...x], 3, 4) };
      const fused = loadModel(rts.one, bytes), plain = loadModel(rts.one, bytes, { fuse: false });
      try {
        expect(fused.plan({ x: [...x] }).steps.some((s) => s.op.startsWith('DynamicQuantConv'))).toBe(true);
        expect(Array.from((await fused.run(feeds)).y.data)).toEqual(Array.from((await plain.run(feeds)).y.data));
      } finally {
        fused.dispose();
        plain.dispose();
      }
      await sameAsOrt(dynamicConv([...x], [...w], attrs, act), feeds, undefined, 1e-6);
    }
  });

  it('1-D convs and groups too wide for exact float32 sums run the fused node on the host; a chain whose value is also a graph output is not fused', async () => {
    await sameAsOrt(dynamicConv([1, 600, 3, 3], [4, 300, 1, 1], { group: 2 }, 'Relu'), { x: seeded([1, 600, 3, 3], 4) }, undefined, 1e-6);
    await sameAsOrt(dynamicConv([2, 3, 17], [4, 3, 5], { pads: [2, 2], strides: [2] }, 'LeakyRelu'), { x: seeded([2, 3, 17], 5) }, undefined, 1e-6);
    const b = dynamicConv([1, 3, 8, 8], [4, 3, 3, 3], {}, 'Relu', true);
    const m = loadModel(rts.one, b.build());
    try {
      expect(m.plan({ x: [1, 3, 8, 8] }).steps.map((s) => s.op)).toContain('ConvInteger');
    } finally {
      m.dispose();
    }
    await sameAsOrt(b, { x: seeded([1, 3, 8, 8], 6) }, undefined, 1e-6);
  });

  it('NaN in the input of the fused layer is a ValueRangeError naming the node', async () => {
    const m = loadModel(rts.one, dynamicConv([1, 3, 6, 6], [4, 3, 3, 3], {}, null).build());
    try {
      const x = seeded([1, 3, 6, 6], 7);
      x.data[5] = NaN;
      await expectLowbitRejection(m.run({ x }), ValueRangeError, ['DynamicQuantizeLinear', 'x:', 'NaN']);
    } finally {
      m.dispose();
    }
  });
});

describe('bad ConvInteger and QLinearConv inputs are typed errors naming the node and the argument', () => {
  const qlinear = (over: Partial<Record<'ws' | 'wz' | 'B', { dims: number[]; data: number[]; type: 'float32' | 'int8' | 'uint8' | 'int32' }>>) => {
    const p = { ws: { dims: [], data: [0.1], type: 'float32' as const }, wz: { dims: [], data: [0], type: 'int8' as const }, B: { dims: [4], data: [0, 0, 0, 0], type: 'int32' as const }, ...over };
    return new OnnxBuilder(13).input('x', [1, 3, 5, 5], 'uint8').output('y', 'uint8')
      .init('xs', [], [0.1]).init('xz', [], [3], 'uint8').init('w', [4, 3, 3, 3], ints(108, 1, 'int8'), 'int8')
      .init('ws', p.ws.dims, p.ws.data, p.ws.type).init('wz', p.wz.dims, p.wz.data, p.wz.type).init('ys', [], [0.3]).init('yz', [], [9], 'uint8').init('B', p.B.dims, p.B.data, p.B.type)
      .node('QLinearConv', ['x', 'xs', 'xz', 'w', 'ws', 'wz', 'ys', 'yz', 'B'], 'y', {}, 'qconv');
  };
  const schemaRejects = (b: OnnxBuilder, parts: string[]) => {
    const bytes = b.build();
    expect(() => loadModel(rts.one, bytes)).toThrow(ModelError);
    try {
      loadModel(rts.one, bytes);
    } catch (e) {
      for (const p of parts) expect((e as Error).message).toContain(p);
    }
  };
  const rejects = async (b: OnnxBuilder, cls: typeof ShapeError, parts: string[]) => {
    const m = loadModel(rts.one, b.build());
    try {
      await expectLowbitRejection(m.run({ x: feed('uint8', [1, 3, 5, 5], 1) } as never), cls, parts);
    } finally {
      m.dispose();
    }
  };

  it('mismatched w_scale and w_zero_point lengths, wrong bias and zero point types', async () => {
    await rejects(qlinear({ ws: { dims: [3], data: [0.1, 0.1, 0.1], type: 'float32' } }), ShapeError, ["'qconv'", 'w_scale', '4']);
    await rejects(qlinear({ wz: { dims: [5], data: [0, 0, 0, 0, 0], type: 'int8' } }), ShapeError, ["'qconv'", 'w_zero_point']);
    // element types outside the operator's type constraints: refused at load by the schema check
    schemaRejects(qlinear({ wz: { dims: [], data: [0], type: 'uint8' } }), ["'qconv'", 'w_zero_point', 'int8', 'uint8']);
    schemaRejects(qlinear({ B: { dims: [4], data: [0, 0, 0, 0], type: 'float32' } }), ["'qconv'", 'B', 'float32', 'int32']);
    await rejects(qlinear({ B: { dims: [3], data: [0, 0, 0], type: 'int32' } }), ShapeError, ["'qconv'", 'B', '[4]']);
    await rejects(qlinear({ ws: { dims: [], data: [0], type: 'float32' } }), Error, ["'qconv'", 'w_scale', '> 0']);
  });

  it('ConvInteger with a float x, an int32 zero point, a per-channel x_zero_point; a zero point outside uint8 in the file', async () => {
    const conv = (xt: 'float32' | 'uint8', zx: { dims: number[]; type: 'uint8' | 'int32' }) =>
      new OnnxBuilder(13).input('x', [1, 3, 5, 5], xt).output('y', 'int32').init('w', [4, 3, 3, 3], ints(108, 1, 'int8'), 'int8')
        .init('zx', zx.dims, new Array(count(zx.dims)).fill(1), zx.type).node('ConvInteger', ['x', 'w', 'zx'], 'y', {}, 'cint');
    schemaRejects(conv('float32', { dims: [], type: 'uint8' }), ["'cint'", 'x', 'float32']);
    schemaRejects(conv('uint8', { dims: [], type: 'int32' }), ["'cint'", 'x_zero_point', 'int32']);
    await rejects(conv('uint8', { dims: [3], type: 'uint8' }), ShapeError, ["'cint'", 'x_zero_point', 'scalar']);
    const bad = new OnnxBuilder(13).input('x', [1, 3, 5, 5], 'uint8').output('y', 'int32').init('w', [4, 3, 3, 3], ints(108, 1, 'int8'), 'int8')
      .initProto({ name: 'zx', dims: [], dataType: 2, int32Data: [300] }).node('ConvInteger', ['x', 'w', 'zx'], 'y', {}, 'cint');
    expect(() => loadModel(rts.one, bad.build())).toThrow(ModelError);
    expect(() => loadModel(rts.one, bad.build())).toThrow(/zx.*300.*uint8/);
  });
});
