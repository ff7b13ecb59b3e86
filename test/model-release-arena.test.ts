// Model.releaseArena and quantizeModel's use of it: models on one runtime share its 4 GiB, and a
// large-image model's arena (ISNet at 1024 x 1024: 2.3 GB) and its quantized copy's did not both fit
// (quantizeModel ran out of memory after calibrating). The float model now gives its arena back
// before the quantized model is built, and allocates it again on its next run.

import { describe, expect, it } from 'vitest';
import { loadModel, quantizeModel } from '../src/index.js';
import { SIMD, useRuntimes } from './helpers.js';
import { W, X } from './model-ort-check.js';
import { OnnxBuilder } from './onnx-builder.js';

const rts = useRuntimes();

function convNet(): Uint8Array {
  const b = new OnnxBuilder(13).input('x', [1, 4, 16, 16]).output('y');
  b.init('w', [8, 4, 3, 3], W(288, 1, 0.3)).init('b', [8], W(8, 2));
  b.node('Conv', ['x', 'w', 'b'], 'c', { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }).node('Relu', ['c'], 'y');
  return b.build();
}

describe(`releasing a model's activation arena (${SIMD} build)`, () => {
  it('quantizeModel gives back the float model\'s arena; both models still run, with the same outputs as before', async () => {
    const float = loadModel(rts.one, convNet());
    const feeds = { x: X([1, 4, 16, 16], 3) };
    const before = await float.run(feeds);
    expect(float.arenaBytes).toBeGreaterThan(0);
    const q = await quantizeModel(float, { scheme: 'int8', calibration: [feeds] });
    expect(float.arenaBytes).toBe(0);
    const y8 = await q.run(feeds);
    expect(y8.y.dims).toEqual([1, 8, 16, 16]);
    const again = await float.run(feeds);
    expect(float.arenaBytes).toBeGreaterThan(0);
    expect(Array.from(again.y.data)).toEqual(Array.from(before.y.data));
    q.dispose();
    float.dispose();
  });

  it('releaseArena waits for a run in progress (it is queued like a run)', async () => {
    const m = loadModel(rts.one, convNet());
    const feeds = { x: X([1, 4, 16, 16], 4) };
    const want = await m.run(feeds);
    const running = m.run(feeds);
    const released = m.releaseArena();
    expect(Array.from((await running).y.data)).toEqual(Array.from(want.y.data));
    await released;
    expect(m.arenaBytes).toBe(0);
    m.dispose();
  });
});
