// Hostile graphs are refused, not run: Conv attributes out of range (strides, dilations, kernel
// < 1, negative pads, group not dividing the channels, weights of the wrong dims) are typed errors
// at load naming the node and the attribute, where onnxruntime also refuses them; QuantizeLinear /
// DequantizeLinear in a model with a NaN, infinite, zero or negative scale, or a zero point out of
// its type's range, are typed errors naming the node and the input, as rt.ops gives.

import onnxproto from 'onnx-proto';
import { describe, expect, it } from 'vitest';
import { LowbitError, loadModel, type Model } from '../src/index.js';
import { SIMD, randNormal, rng, useRuntimes } from './helpers.js';
import { OnnxBuilder, runOrtModel, type AttrSpec } from './onnx-builder.js';

const rts = useRuntimes();

/** x [1, 4, 6, 6] -> Conv (W [8, 4 / group, 3, 3], bias) -> y */
function conv(attrs: Record<string, AttrSpec>, wDims = [8, 4, 3, 3]): Uint8Array {
  const count = wDims.reduce((a, b) => a * b, 1);
  return new OnnxBuilder(13).input('x', [1, 4, 6, 6]).output('y')
    .init('w', wDims, randNormal(count, rng(1), 0.3)).init('b', [8], randNormal(8, rng(2)))
    .node('Conv', ['x', 'w', 'b'], 'y', attrs, 'conv1')
    .build();
}
const feed = { x: { type: 'float32', dims: [1, 4, 6, 6], data: randNormal(144, rng(3)) } };

/** load and run: the error (a LowbitError), or null when it ran */
async function outcome(bytes: Uint8Array): Promise<LowbitError | null> {
  let model: Model | null = null;
  try {
    model = loadModel(rts.one, bytes);
    await model.run(feed);
    return null;
  } catch (e) {
    if (!(e instanceof LowbitError)) throw e;
    return e;
  } finally {
    model?.dispose();
  }
}

const ortRefuses = async (bytes: Uint8Array) => runOrtModel(bytes, { x: { dims: [1, 4, 6, 6], data: Array.from(feed.x.data) } }).then(() => false, () => true);

describe(`graph validation (${SIMD} build)`, () => {
  it('Conv attributes out of range: a typed error at load naming the node and the attribute (onnxruntime refuses them too)', async () => {
    const cases: [Record<string, AttrSpec>, RegExp][] = [
      [{ strides: [0, 1] }, /attribute strides is \[0, 1\]; expected integers >= 1/],
      [{ strides: [1, -2] }, /attribute strides is \[1, -2\]/],
      [{ dilations: [0, 0] }, /attribute dilations is \[0, 0\]; expected integers >= 1/],
      [{ kernel_shape: [0, 3] }, /attribute kernel_shape is \[0, 3\]/],
      [{ pads: [-1, 0, 0, 0] }, /attribute pads is \[-1, 0, 0, 0\]; expected integers >= 0/],
      [{ group: 0 }, /attribute group is 0; expected an integer >= 1/],
      [{ group: -1 }, /attribute group is -1/],
      [{ auto_pad: 'SAME' }, /attribute auto_pad is 'SAME'/],
    ];
    for (const [attrs, message] of cases) {
      const bytes = conv(attrs);
      expect(() => loadModel(rts.one, bytes), JSON.stringify(attrs)).toThrow(message);
      expect(() => loadModel(rts.one, bytes), JSON.stringify(attrs)).toThrow(/Conv node 'conv1'/);
      expect(await ortRefuses(bytes), `onnxruntime refuses ${JSON.stringify(attrs)}`).toBe(true);
    }
  });

  it('Conv weights that do not fit: group not dividing the channels, W of the wrong dims, kernel_shape disagreeing with W', async () => {
    const cases: [Record<string, AttrSpec>, number[], RegExp][] = [
      [{ group: 3 }, [8, 4, 3, 3], /attribute group 3 does not fit X channels 4/],
      [{ group: 2 }, [8, 4, 3, 3], /attribute group 2 does not fit X channels 4 and W \[8, 4, 3, 3\]/],
      [{}, [8, 3, 3, 3], /attribute group 1 does not fit X channels 4 and W \[8, 3, 3, 3\]/],
      [{ kernel_shape: [3, 2] }, [8, 4, 3, 3], /attribute kernel_shape \[3, 2\] differs from W's \[3, 3\]/],
      [{ strides: [1] }, [8, 4, 3, 3], /attribute strides \[1\] needs 2 values/],
      [{ pads: [1, 1] }, [8, 4, 3, 3], /attribute pads \[1, 1\] needs 4 values/],
      [{}, [8, 4, 3, 0], /W \[8, 4, 3, 0\] has an empty/],
    ];
    for (const [attrs, dims, message] of cases) {
      const bytes = conv(attrs, dims);
      const e = await outcome(bytes);
      expect(e, JSON.stringify([attrs, dims])).toBeInstanceOf(LowbitError);
      expect(e!.message, JSON.stringify([attrs, dims])).toMatch(message);
      expect(e!.message).toMatch(/Conv node 'conv1'/);
      expect(await ortRefuses(bytes), `onnxruntime refuses ${JSON.stringify([attrs, dims])}`).toBe(true);
    }
    // and valid ones still run: strides 2, dilations 2, group 2 (W [8, 2, 3, 3])
    expect(await outcome(conv({ strides: [2, 2], dilations: [2, 1], pads: [1, 1, 1, 1] }))).toBeNull();
    expect(await outcome(conv({ group: 2 }, [8, 2, 3, 3]))).toBeNull();
  });

  it('QuantizeLinear / DequantizeLinear in a model: NaN, infinite, 0 or negative scales and zero points out of range are typed errors naming the node and the input', async () => {
    // x -> QuantizeLinear(s, z) -> DequantizeLinear(s2, z2) -> y; the scales and zero points are initializers
    const qdq = (s: number, z: number, s2: number, z2: number, zType: 'uint8' | 'int8' = 'uint8') =>
      new OnnxBuilder(13).input('x', [1, 4, 6, 6]).output('y')
        .init('s', [], [s]).init('z', [], [z], zType).init('s2', [], [s2]).init('z2', [], [z2], zType)
        .node('QuantizeLinear', ['x', 's', 'z'], 'q', {}, 'quant').node('DequantizeLinear', ['q', 's2', 'z2'], 'y', {}, 'dequant')
        .build();
    expect(await outcome(qdq(0.05, 128, 0.05, 128))).toBeNull();
    for (const bad of [NaN, Infinity, -Infinity, 0, -0.05]) {
      const e1 = await outcome(qdq(bad, 128, 0.05, 128)), e2 = await outcome(qdq(0.05, 128, bad, 128));
      expect(e1?.message, String(bad)).toMatch(new RegExp(`QuantizeLinear node 'quant': y_scale: scales must be finite and > 0, got ${bad}`));
      expect(e2?.message, String(bad)).toMatch(new RegExp(`DequantizeLinear node 'dequant': x_scale: scales must be finite and > 0, got ${bad}`));
      expect(e1?.code).toBe('ERR_RANGE');
    }
  });

  it('a uint8 zero point of 300 stored in int32_data (the field the narrow types are widened into) is a ModelError at load, not 44', () => {
    const bytes = new OnnxBuilder(13).input('x', [1, 4]).output('y', 'uint8')
      .init('s', [], [0.05]).init('z', [], [128], 'uint8')
      .node('QuantizeLinear', ['x', 's', 'z'], 'y', {}, 'quant')
      .build();
    const m = onnxproto.onnx.ModelProto.decode(bytes);
    const z = m.graph!.initializer!.find((t) => t.name === 'z')!;
    for (const [value, ok] of [[300, false], [-1, false], [255, true]] as const) {
      z.rawData = new Uint8Array(0);
      z.int32Data = [value];
      const edited = onnxproto.onnx.ModelProto.encode(m).finish();
      if (ok) {
        loadModel(rts.one, edited).dispose();
        continue;
      }
      expect(() => loadModel(rts.one, edited), String(value)).toThrow(`value ${value} at index 0 is outside uint8's range 0..255`);
    }
  });
});
