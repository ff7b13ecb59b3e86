// The protobuf framing check before onnx-proto decodes a model (src/model/onnx-framing.ts): files
// whose lengths or tags were corrupted are refused with a ModelError where protobufjs alone decodes
// them into another, plausible model; files as exporters write them (negative int64 attributes,
// subgraphs) load as before.

import { describe, expect, it } from 'vitest';
import onnxproto from 'onnx-proto';
import { loadModel, ModelError } from '../src/index.js';
import { applyBytes, type ByteMutation } from './fuzz/mutate.js';
import { seeds } from './fuzz/seeds.js';
import { sourceOf } from './fuzz/targets.js';
import { OnnxBuilder } from './onnx-builder.js';
import { randNormal, rng, useRuntimes } from './helpers.js';

const rts = useRuntimes();
const mutant = (seed: string, muts: ByteMutation[]) => applyBytes(seeds().find((s) => s.name === seed)!.bytes, muts);

describe('ONNX protobuf framing', () => {
  // both found by the fuzzer (byte mutants that loaded from bytes and were refused through a ModelSource)
  it('refuses a nested message that runs past its parent, which protobufjs reads on into the next bytes', () => {
    const bytes = mutant('conv-net', [{ kind: 'insert', at: 29441, bytes: [125, 52, 33, 51, 144] }]);
    expect(() => onnxproto.onnx.ModelProto.decode(bytes)).not.toThrow();
    for (const input of [bytes, sourceOf(bytes)]) expect(() => loadModel(rts.one, input)).toThrow(/runs past its message/);
  });

  it('refuses a flipped tag bit (wire type 7, which protobuf never writes; protobufjs reads it as the field\'s own type)', () => {
    const bytes = mutant('resize-pad', [{ kind: 'flip', at: 62136, bit: 2 }]);
    expect(() => onnxproto.onnx.ModelProto.decode(bytes)).not.toThrow();
    for (const input of [bytes, sourceOf(bytes)]) {
      expect(() => loadModel(rts.one, input)).toThrow(ModelError);
      expect(() => loadModel(rts.one, input)).toThrow(/not a valid ONNX protobuf/);
    }
  });

  it('loads negative int64 attributes (ten-byte varints) and every seed, from bytes and through a source', async () => {
    const x = { type: 'float32' as const, dims: [2, 5], data: randNormal(10, rng(3)) };
    const bytes = new OnnxBuilder(13).input('x', [2, 5]).output('y').node('Softmax', ['x'], 'y', { axis: -1 }).build();
    for (const input of [bytes, sourceOf(bytes)]) {
      const m = loadModel(rts.one, input);
      const y = (await m.run({ x })).y.data as Float32Array;
      expect(y[0] + y[1] + y[2] + y[3] + y[4]).toBeCloseTo(1, 5);
      m.dispose();
    }
    for (const s of seeds()) loadModel(rts.one, s.bytes).dispose();
  });

  it('reads a negative int64 where the source reader copies fields (model_version -1: a ten-byte varint) as the framing check does', async () => {
    const x = { type: 'float32' as const, dims: [2, 5], data: randNormal(10, rng(4)) };
    const proto = onnxproto.onnx.ModelProto.decode(new OnnxBuilder(13).input('x', [2, 5]).output('y').node('Relu', ['x'], 'y').build());
    proto.modelVersion = -1;
    const bytes = onnxproto.onnx.ModelProto.encode(proto).finish();
    expect(bytes.length).toBeGreaterThan(10);
    for (const input of [bytes, sourceOf(bytes)]) {
      const m = loadModel(rts.one, input);
      expect(Array.from((await m.run({ x })).y.data as Float32Array)).toEqual(Array.from(x.data, (v) => Math.max(v, 0)));
      m.dispose();
    }
  });
});
