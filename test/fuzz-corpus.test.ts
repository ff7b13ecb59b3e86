// The fuzzer's corpus (test/fuzz/corpus/) replayed: every input the fuzzer once found to crash or run
// wrong must now give a typed error (or run, matching onnxruntime where it runs too). The seeds
// themselves must run and match onnxruntime-web.

import { describe, expect, it } from 'vitest';
import { loadModel, quantizeModel, saveQuantized } from '../src/index.js';
import { SIMD, useRuntimes } from './helpers.js';
import { corpusFiles } from './fuzz/corpus.js';
import { seeds } from './fuzz/seeds.js';
import { runOnnx, runOrt, runSafetensors, runSaved, sameOutputs, type Outcome } from './fuzz/targets.js';

/** 'ok or typed', or the crash's class and message */
const verdict = (o: Outcome) => (o.status === 'crash' ? `${o.error.name}: ${o.error.message}` : 'ok or typed');

const rts = useRuntimes();
const SEEDS = seeds();

describe(`fuzz corpus (${SIMD} build)`, () => {
  it('the seeds run and match onnxruntime-web', async () => {
    for (const s of SEEDS) {
      const got = await runOnnx(rts.one, s.bytes, s.feeds);
      expect(got.status, s.name).toBe('ok');
      if (SIMD === 'baseline' && got.status === 'ok') expect(sameOutputs(got, (await runOrt(s.bytes, s.feeds))!), s.name).toBe(true);
    }
  });

  it('every ONNX input of the corpus is a typed error or runs', async () => {
    for (const { name, bytes } of corpusFiles('onnx')) {
      const seed = SEEDS.find((s) => name.startsWith(`${s.name}-`));
      expect(seed, `${name}: no seed of that name`).toBeDefined();
      const got = await runOnnx(rts.one, bytes, seed!.feeds);
      expect(verdict(got), name).toBe('ok or typed');
    }
  });

  it('every safetensors and saved-model input of the corpus is a typed error or loads', async () => {
    for (const { name, bytes } of corpusFiles('safetensors')) {
      expect(verdict(await runSafetensors(bytes)), name).toBe('ok or typed');
    }
    const seed = SEEDS[0];
    const float = loadModel(rts.one, seed.bytes);
    const q = await quantizeModel(float, { scheme: 'int8', calibration: [seed.feeds] });
    await q.run(seed.feeds); // layers are built at the first plan
    expect((await runSaved(float, saveQuantized(q), seed.feeds)).status).toBe('ok');
    q.dispose();
    for (const { name, bytes } of corpusFiles('saved')) expect(verdict(await runSaved(float, bytes, seed.feeds)), name).toBe('ok or typed');
    float.dispose();
  });
});
