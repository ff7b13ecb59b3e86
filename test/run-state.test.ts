// Model.run resuming from a state (RunOptions.resume, StepPlace.state(); src/model/run-state.ts), what
// quantizeModel's GPTQ pass runs on: on PP-OCRv4's recognizer (residual branches, host-side shape
// values, attention), a run resumed at any layer step gives the full run's outputs bit for bit; a
// state that does not fit the plan (another input width, another model) is ignored.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadModel, type RunState } from '../src/index.js';
import { toModelInput } from '../src/ocr.js';
import { ocrModelAsset } from '../packages/cli/src/ocr-assets.js';
import { loadOcrLines } from '../packages/cli/src/ocr-lines.js';
import { useRuntimes } from './helpers.js';

const rts = useRuntimes();
const bytes = new Uint8Array(readFileSync(ocrModelAsset('ch_PP-OCRv4_rec_infer.onnx')));
const lines = loadOcrLines();
const same = (a: Float32Array, b: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

describe('Model.run resumed from a state', () => {
  it('gives the full run\'s outputs bit for bit from any layer step, and skips the steps before it', async () => {
    const model = loadModel(rts.one, bytes);
    const feeds = { x: toModelInput([lines[0]]) };
    const full = Object.values(await model.run(feeds))[0].data as Float32Array;
    // states before every 7th layer step (and the last one)
    const states: { state: RunState; index: number }[] = [];
    let layerSteps = 0;
    await model.run(feeds, {
      beforeStep: (step, _ins, place) => {
        if (!step.layer || !place) return;
        if (layerSteps++ % 7 === 0 || place.index === place.plan.steps.length - 1) states.push({ state: place.state(), index: place.index });
      },
    });
    expect(states.length).toBeGreaterThan(5);
    const total = model.plan({ x: feeds.x.dims }).steps.length;
    for (const { state, index } of states) {
      let first: string | null = null;
      let stepsRun = 0;
      // the feeds are zeros: only the state's values can give the right outputs
      const zero = { x: { ...feeds.x, data: new Float32Array(feeds.x.data.length) } };
      const out = await model.run(zero, { resume: state, beforeStep: (step) => ((first ??= step.label), stepsRun++) });
      expect(first).toBe(state.node.name);
      expect(same(Object.values(out)[0].data as Float32Array, full), state.node.name).toBe(true);
      expect(stepsRun).toBe(total - index);
    }
    model.dispose();
  }, 120_000);

  it('ignores a state that does not fit: another input width, or a node of another model', async () => {
    const model = loadModel(rts.one, bytes);
    const a = { x: toModelInput([lines[0]]) }, b = { x: toModelInput([lines[1]]) };
    expect(a.x.dims[3]).not.toBe(b.x.dims[3]);
    let state: RunState | undefined;
    await model.run(a, { beforeStep: (step, _ins, place) => { if (step.layer && place && place.index > 40 && !state) state = place.state(); } });
    const fullB = Object.values(await model.run(b))[0].data as Float32Array;
    let stepsRun = 0;
    const outB = Object.values(await model.run(b, { resume: state, beforeStep: () => stepsRun++ }))[0].data as Float32Array;
    expect(same(outB, fullB)).toBe(true);
    expect(stepsRun).toBe(model.plan({ x: b.x.dims }).steps.length);
    const other = loadModel(rts.one, bytes); // same graph, other node objects
    const outOther = Object.values(await other.run(b, { resume: state }))[0].data as Float32Array;
    expect(same(outOther, fullB)).toBe(true);
    model.dispose();
    other.dispose();
  }, 120_000);
});
