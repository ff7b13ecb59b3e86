// The quantized ONNX operators as graph nodes, against onnxruntime-web: QDQ, DynamicQuantizeLinear,
// MatMulInteger (integer results exact), and com.microsoft MatMulNBits (float tolerance stated).

import { describe, expect, it } from 'vitest';
import { loadModel, quantizeModel } from '../src/index.js';
import { SIMD, randNormal, rng, useRuntimes } from './helpers.js';
import { OnnxBuilder, runOrtModel, type Feed } from './onnx-builder.js';

const rts = useRuntimes();
const X = (dims: number[], seed: number, scale = 1): Feed => ({ type: 'float32', dims, data: randNormal(dims.reduce((a, b) => a * b, 1), rng(seed), scale) });

/** runs both; integer outputs must match exactly, float ones within tol * max(1, |ort|) */
async function check(b: OnnxBuilder, feeds: Record<string, Feed>, tol = 1e-5): Promise<void> {
  const bytes = b.build();
  const want = await runOrtModel(bytes, feeds);
  const model = loadModel(rts.one, bytes);
  try {
    const got = await model.run(feeds);
    for (const [name, w] of Object.entries(want)) {
      expect(got[name].dims, name).toEqual(w.dims);
      let worst = 0, scale = 0;
      for (let i = 0; i < w.data.length; i++) {
        worst = Math.max(worst, Math.abs(w.data[i] - got[name].data[i]));
        scale = Math.max(scale, Math.abs(w.data[i]));
      }
      expect(worst, `${name}: max |diff|`).toBeLessThanOrEqual(tol * Math.max(1, scale));
    }
  } finally {
    model.dispose();
  }
}

describe(`quantized ONNX operators as graph nodes (${SIMD} build)`, () => {
  it('QuantizeLinear -> DequantizeLinear on activations (uint8 and int8, per tensor), exact', async () => {
    for (const [t, zp] of [['uint8', 128], ['int8', -3], ['uint8', 0], ['uint8', 255]] as const) {
      const b = new OnnxBuilder(13).input('x', [2, 3, 17]).output('q', t).output('y')
        .init('s', [], [0.02]).init('z', [], [zp], t)
        .node('QuantizeLinear', ['x', 's', 'z'], 'q').node('DequantizeLinear', ['q', 's', 'z'], 'y');
      await check(b, { x: X([2, 3, 17], 1, 2) }, 0);
    }
  });

  it('QDQ weights (per-axis int8 DequantizeLinear of an initializer) fold into a float MatMul and a Conv', async () => {
    const r = rng(5);
    const wq = Array.from({ length: 12 * 7 }, () => Math.floor(r() * 255) - 127);
    const b = new OnnxBuilder(13).input('x', [4, 12]).output('y')
      .init('wq', [12, 7], wq, 'int8').init('ws', [7], Array.from({ length: 7 }, (_, i) => 0.01 * (i + 1))).init('wz', [7], new Array(7).fill(0), 'int8')
      .node('DequantizeLinear', ['wq', 'ws', 'wz'], 'w', { axis: 1 }).node('MatMul', ['x', 'w'], 'y');
    await check(b, { x: X([4, 12], 2) });
    const cq = Array.from({ length: 6 * 3 * 3 * 3 }, () => Math.floor(r() * 255) - 127);
    const c = new OnnxBuilder(13).input('x', [1, 3, 9, 8]).output('y')
      .init('wq', [6, 3, 3, 3], cq, 'int8').init('ws', [6], [0.01, 0.02, 0.015, 0.03, 0.005, 0.01]).init('wz', [6], new Array(6).fill(0), 'int8')
      .node('DequantizeLinear', ['wq', 'ws', 'wz'], 'w', { axis: 0 }).node('Conv', ['x', 'w'], 'y', { kernel_shape: [3, 3], pads: [1, 1, 1, 1] });
    await check(c, { x: X([1, 3, 9, 8], 3) });
  });

  it('DynamicQuantizeLinear -> MatMulInteger (per-column zero points) -> the int32 result, exact', async () => {
    const r = rng(9);
    const b = new OnnxBuilder(13).input('x', [3, 5, 16]).output('acc', 'int32').output('s').output('z', 'uint8')
      .init('w', [16, 9], Array.from({ length: 144 }, () => Math.floor(r() * 256) - 128), 'int8')
      .init('wz', [9], Array.from({ length: 9 }, () => Math.floor(r() * 256) - 128), 'int8')
      .node('DynamicQuantizeLinear', ['x'], ['q', 's', 'z'])
      .node('MatMulInteger', ['q', 'w', 'z', 'wz'], 'acc');
    await check(b, { x: X([3, 5, 16], 4, 3) }, 0);
  });

  it('MatMulNBits (4-bit blocks, with and without zero points and bias) matches onnxruntime-web, and runs as int4 layers without requantizing', async () => {
    const r = rng(11);
    for (const [k, n, bs, zp] of [[64, 24, 32, false], [48, 10, 16, true], [128, 40, 64, true]] as const) {
      const nb = Math.ceil(k / bs);
      const B = Array.from({ length: n * nb * (bs / 2) }, () => Math.floor(r() * 256));
      const scales = Array.from({ length: n * nb }, () => 0.01 + r() * 0.05);
      const bld = new OnnxBuilder(13).input('x', [2, 3, k]).output('y')
        .init('B', [n, nb, bs / 2], B, 'uint8').init('scales', [n * nb], scales)
        .init('bias', [n], Array.from({ length: n }, () => r() - 0.5));
      bld.domains.set('com.microsoft', 1);
      const ins = ['x', 'B', 'scales'];
      if (zp) {
        bld.init('zp', [n * Math.ceil(nb / 2)], Array.from({ length: n * Math.ceil(nb / 2) }, () => Math.floor(r() * 256)), 'uint8');
        ins.push('zp');
      } else ins.push('');
      ins.push('', 'bias');
      bld.node('MatMulNBits', ins, 'y', { K: k, N: n, bits: 4, block_size: bs }, 'mmnb', 'com.microsoft');
      const feeds = { x: X([2, 3, k], 12) };
      await check(bld, feeds, 2e-5);
      // the int4 scheme packs the file's blocks as they are (W4A8): close to the float result
      const float = loadModel(rts.one, bld.build());
      const q = await quantizeModel(float, { scheme: 'int4', calibration: [feeds] });
      const a = Object.values(await float.run(feeds))[0].data, c = Object.values(await q.run(feeds))[0].data;
      let sig = 0, noise = 0;
      for (let i = 0; i < a.length; i++) {
        sig += a[i] ** 2;
        noise += (a[i] - c[i]) ** 2;
      }
      // only the activations are quantized (per row, int8): well above 30 dB
      expect(10 * Math.log10(sig / noise)).toBeGreaterThan(30);
      q.dispose();
      float.dispose();
    }
  });

  it('MatMulNBits stays 4-bit in the float32 model (W4A32 on the file\'s blocks, never dequantized): one row and many, K a whole number of blocks or not', async () => {
    const r = rng(12);
    for (const [k, n, bs, zp, rows] of [[40, 20, 16, true, 1], [40, 20, 16, false, 7], [96, 33, 32, true, 5], [256, 64, 128, false, 1]] as const) {
      const nb = Math.ceil(k / bs);
      const bld = new OnnxBuilder(13).input('x', [rows, k]).output('y')
        .init('B', [n, nb, bs / 2], Array.from({ length: n * nb * (bs / 2) }, () => Math.floor(r() * 256)), 'uint8')
        .init('scales', [n * nb], Array.from({ length: n * nb }, () => 0.01 + r() * 0.05));
      bld.domains.set('com.microsoft', 1);
      const ins = ['x', 'B', 'scales'];
      if (zp) {
        bld.init('zp', [n * Math.ceil(nb / 2)], Array.from({ length: n * Math.ceil(nb / 2) }, () => Math.floor(r() * 256)), 'uint8');
        ins.push('zp');
      }
      bld.node('MatMulNBits', ins, 'y', { K: k, N: n, bits: 4, block_size: bs }, 'mmnb', 'com.microsoft');
      const feeds = { x: X([rows, k], 13) };
      await check(bld, feeds, 2e-5);
      const m = loadModel(rts.one, bld.build());
      await m.run(feeds);
      const [node, layer] = [...m.builtLayers][0];
      expect(layer!.kind).toBe('Linear 4-bit (W4A32)');
      // packed nibbles, scales and zero points (panel-padded): about the file's bytes, not 4 bytes a weight
      const fileBytes = n * nb * (bs / 2) + n * nb * 4;
      expect(layer!.weightBytes).toBeLessThan(2.5 * fileBytes);
      // the float rows exist only for a scheme that asks for them
      const spec = m.layerSpecs.get(node)!;
      expect(Object.getOwnPropertyDescriptor(spec, 'weight')?.get, 'weight is computed on demand').toBeTypeOf('function');
      m.dispose();
    }
  });
});
