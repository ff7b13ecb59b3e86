// One definition per ONNX operator: rt.ops runs an operator's run() (wasm kernels), a model's host
// steps and plan-time folding its compute() (scalar). For the integer and float8 operators both
// must give the same bits; and QLinearMatMul, new to models, must match onnxruntime-web there.

import { describe, expect, it } from 'vitest';
import { loadModel } from '../src/index.js';
import { elementCount, hostArray, type AttrValue, type HostData } from '../src/model/graph.js';
import { OPS } from '../src/model/ops/registry.js';
import type { HostValue, OpContext } from '../src/model/ops/types.js';
import { SIMD, randInt8, randNormal, randUint8, rng, useRuntimes } from './helpers.js';
import { OnnxBuilder, runOrtModel } from './onnx-builder.js';

const rts = useRuntimes();
const v = (type: HostValue['type'], data: HostData, dims: number[]): HostValue => ({ type, data, dims, nhwc: false });

/** compute() and run() of one definition on the same inputs: outputs as arrays of bits. */
async function bothPaths(op: string, ins: (HostValue | null)[], attrs: Record<string, AttrValue> = {}) {
  const def = OPS[op];
  const ctx: OpContext = { node: { name: op, op, domain: '', inputs: [], outputs: ['y'], attrs: new Map(Object.entries(attrs)) }, opset: 21 };
  def.check?.(ctx);
  const outs = def.infer(ctx, ins.map((x) => x && { type: x.type, dims: [...x.dims] }));
  const host = outs.map((o) => v(o.type, hostArray(o.type, elementCount(o.dims)), o.dims));
  def.compute!(ctx, ins, host);
  const ran = await def.run!(rts.one, ctx, ins, outs);
  const bits = (d: HostData) => Array.from(d instanceof Float32Array ? new Uint32Array(d.buffer, d.byteOffset, d.length) : d);
  return { compute: host.map((h) => bits(h.data)), run: ran.map(bits) };
}

describe(`operator definitions: compute() and run() agree bit for bit (${SIMD} build)`, () => {
  const r = rng(21);
  const x = randNormal(2 * 3 * 10, r, 4);
  for (const k of [3, 5, 7, 11, 33, 41]) x[k] = [NaN, Infinity, -Infinity, 0.5, 1e30, -0][k % 6];
  const X = v('float32', x, [2, 3, 10]);
  const s3 = v('float32', Float32Array.of(0.02, 0.05, 0.3), [3]);

  it('QuantizeLinear and DequantizeLinear: 8-bit, per tensor and per axis; float8, both saturate modes', async () => {
    for (const [zp, axisScale] of [[v('uint8', Uint8Array.of(0, 128, 255), [3]), s3], [v('int8', Int8Array.of(-3), []), v('float32', Float32Array.of(0.07), [])]] as const) {
      const q = await bothPaths('QuantizeLinear', [X, axisScale, zp], { axis: 1 });
      expect(q.run).toEqual(q.compute);
      const qx = v(zp.type, zp.type === 'int8' ? Int8Array.from(q.run[0]) : Uint8Array.from(q.run[0]), [2, 3, 10]);
      const d = await bothPaths('DequantizeLinear', [qx, axisScale, zp], { axis: 1 });
      expect(d.run).toEqual(d.compute);
    }
    for (const to of [17, 19]) {
      for (const saturate of [0, 1]) {
        const q = await bothPaths('QuantizeLinear', [X, s3, null], { axis: 1, output_dtype: to, saturate });
        expect(q.run).toEqual(q.compute);
        const type = to === 17 ? 'float8e4m3fn' : 'float8e5m2';
        const d = await bothPaths('DequantizeLinear', [v(type, Uint8Array.from(q.run[0]), [2, 3, 10]), s3, null], { axis: 1 });
        expect(d.run).toEqual(d.compute);
        const c = await bothPaths('Cast', [X], { to, saturate });
        expect(c.run).toEqual(c.compute);
      }
    }
    const i32 = v('int32', Float64Array.from({ length: 60 }, () => Math.floor((r() - 0.5) * 2 ** 32)), [2, 3, 10]);
    const d = await bothPaths('DequantizeLinear', [i32, s3, null], { axis: 1 });
    expect(d.run).toEqual(d.compute);
  });

  it('DynamicQuantizeLinear, MatMulInteger and QLinearMatMul (batched, per-column B parameters)', async () => {
    const dq = await bothPaths('DynamicQuantizeLinear', [v('float32', randNormal(77, r, 3), [7, 11])]);
    expect(dq.run).toEqual(dq.compute);
    const A = v('uint8', randUint8(2 * 4 * 19, r), [2, 4, 19]);
    const B = v('int8', randInt8(19 * 6, r), [19, 6]);
    const B3 = v('int8', randInt8(2 * 19 * 6, r), [2, 19, 6]);
    const za = v('uint8', Uint8Array.of(131), []);
    const zb = v('int8', randInt8(6, r), [6]);
    for (const b of [B, B3]) {
      const mi = await bothPaths('MatMulInteger', [A, b, za, zb]);
      expect(mi.run).toEqual(mi.compute);
      const sb = v('float32', Float32Array.from({ length: 6 }, () => 0.002 + r() * 0.01), [6]);
      for (const yz of [v('uint8', Uint8Array.of(120), []), v('int8', Int8Array.of(-7), [])]) {
        const ql = await bothPaths('QLinearMatMul', [A, v('float32', Float32Array.of(0.02), []), za, b, sb, zb, v('float32', Float32Array.of(0.9), []), yz]);
        expect(ql.run).toEqual(ql.compute);
      }
    }
  });
});

describe(`QLinearMatMul as a graph node (${SIMD} build)`, () => {
  it('QuantizeLinear -> QLinearMatMul (per-column b scales) -> DequantizeLinear matches onnxruntime-web exactly', async () => {
    const r = rng(23);
    const b = new OnnxBuilder(13).input('x', [3, 16]).output('y')
      .init('xs', [], [0.03]).init('xz', [], [128], 'uint8')
      .init('w', [16, 5], Array.from(randInt8(80, r)), 'int8').init('ws', [5], [0.01, 0.02, 0.005, 0.03, 0.015]).init('wz', [5], [0, 0, 0, 0, 0], 'int8')
      .init('ys', [], [0.2]).init('yz', [], [100], 'uint8')
      .node('QuantizeLinear', ['x', 'xs', 'xz'], 'q')
      .node('QLinearMatMul', ['q', 'xs', 'xz', 'w', 'ws', 'wz', 'ys', 'yz'], 'qy')
      .node('DequantizeLinear', ['qy', 'ys', 'yz'], 'y');
    const feeds = { x: { type: 'float32' as const, dims: [3, 16], data: randNormal(48, r, 2) } };
    const want = await runOrtModel(b.build(), feeds);
    const model = loadModel(rts.one, b.build());
    try {
      const got = await model.run(feeds);
      expect(Array.from(got.y.data)).toEqual(Array.from(want.y.data));
    } finally {
      model.dispose();
    }
  });
});
