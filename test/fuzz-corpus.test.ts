// The fuzzer's corpus (test/fuzz/corpus/) replayed: every input the fuzzer once found to crash or run
// wrong must now give a typed error, or run with the outputs onnxruntime gives it. The seeds
// themselves must run and match onnxruntime-web.

import { afterAll, describe, expect, it } from 'vitest';
import { loadModel, quantizeModel, saveQuantized } from '../src/index.js';
import { SIMD, randNormal, rng, useRuntimes } from './helpers.js';
import { corpusFiles, corpusOnnx } from './fuzz/corpus.js';
import { applyModel } from './fuzz/mutate.js';
import { runInOrtProcess, stopOrt } from './fuzz/ort-process.js';
import { seeds } from './fuzz/seeds.js';
import { ortRunsOtherwise, runOnnx, runOrt, runSafetensors, runSaved, sameOutputs, type Outcome, type Ran } from './fuzz/targets.js';
import { OnnxBuilder, type Feed } from './onnx-builder.js';

/** 'ok or typed', or the crash's class and message */
const verdict = (o: Outcome) => (o.status === 'crash' ? `${o.error.name}: ${o.error.message}` : 'ok or typed');

const rts = useRuntimes();
const SEEDS = seeds();

describe(`fuzz corpus (${SIMD} build)`, () => {
  afterAll(stopOrt);

  // CI's fuzzing pass hung at 2026-12-06 (seed 265309710): this mutant of resize-pad (a dead Resize
  // whose scales input is rewired to the graph's output) blocks onnxruntime-web's run with its event
  // loop stopped, so the fuzzer's onnxruntime runs in a child process it kills at a deadline
  it.runIf(SIMD === 'baseline')('a mutant that hangs onnxruntime-web counts as no answer, and the next run gets one', async () => {
    const s = SEEDS.find((x) => x.name === 'resize-pad')!;
    const hangs = applyModel(s.bytes, [{ kind: 'wire', node: 27034, slot: 46722, to: 16680 }, { kind: 'wire', node: 56397, slot: 49832, to: 49774 }]);
    expect(await runInOrtProcess('web', hangs, s.feeds, true, 3000)).toBe('no-answer');
    const seedRun = await runInOrtProcess('web', s.bytes, s.feeds, true);
    expect(seedRun !== null && seedRun !== 'no-answer' && sameOutputs(seedRun, (await runOnnx(rts.one, s.bytes, s.feeds)) as Ran)).toBe(true);
  });

  it('the seeds run and match onnxruntime-web', async () => {
    for (const s of SEEDS) {
      const got = await runOnnx(rts.one, s.bytes, s.feeds);
      expect(got.status, s.name).toBe('ok');
      if (SIMD === 'baseline' && got.status === 'ok') expect(sameOutputs(got, (await runOrt(s.bytes, s.feeds))!), s.name).toBe(true);
    }
  });

  it('every ONNX input of the corpus is a typed error, or runs with the outputs onnxruntime-web gives', async () => {
    for (const { name, bytes, seed } of corpusOnnx()) {
      expect(seed, `${name}: no seed of that name`).toBeDefined();
      const got = await runOnnx(rts.one, bytes, seed!.feeds);
      expect(verdict(got), name).toBe('ok or typed');
      if (SIMD !== 'baseline' || got.status !== 'ok') continue;
      // what runs here, onnxruntime runs too, with the same outputs: onnxruntime-web as it is, or
      // another configuration where only that build or pass refuses it (targets.ts, ortRunsOtherwise)
      const theirs = await runOrt(bytes, seed!.feeds);
      if (theirs && theirs !== 'no-answer' && sameOutputs(got, theirs)) continue;
      expect(await ortRunsOtherwise(got, bytes, seed!.feeds), `${name}: no onnxruntime configuration runs it with these outputs`).not.toBeNull();
    }
  });

  // shape-ops-48653c7f70ad: a ReduceMean after a Transpose with keepdims 36. ONNX's shape inference
  // and reference implementation keep a reduced axis for keepdims == 1 only, and so do onnxruntime's
  // kernels and lowbit; onnxruntime's transpose optimizer alone reads any non-zero keepdims as "keep"
  // and then refuses its own rewritten graph ("Permutation length 3 does not match rank 2").
  it.runIf(SIMD === 'baseline')('keepdims other than 0 and 1 drops the axis, as onnxruntime\'s kernels do (its optimizer alone disagrees)', async () => {
    const x: Feed = { type: 'float32', dims: [2, 4, 3], data: randNormal(24, rng(5)) };
    for (const [op, after] of [['ReduceMean', true], ['ReduceMean', false], ['ReduceMax', true], ['ArgMax', true], ['ArgMin', false]] as const) {
      const b = new OnnxBuilder(13).input('x', [2, 4, 3]).output('y', op.startsWith('Arg') ? 'int64' : 'float32');
      if (after) b.node('Transpose', ['x'], 't', { perm: [0, 2, 1] });
      const bytes = b.node(op, [after ? 't' : 'x'], 'y', op.startsWith('Arg') ? { axis: 1, keepdims: 36 } : { axes: [1], keepdims: 36 }).build();
      const got = await runOnnx(rts.one, bytes, { x });
      expect(got.status, op).toBe('ok');
      const kernels = await runOrt(bytes, { x }, { optimize: false });
      expect(kernels!.dims, op).toEqual([after ? [2, 4] : [2, 3]]);
      expect(sameOutputs(got as Ran, kernels!), op).toBe(true);
      // with its optimizations on, onnxruntime refuses the Transpose -> Reduce/Arg graphs, and runs the others
      expect(await runOrt(bytes, { x }), op).toEqual(after ? null : kernels);
    }
  });

  // loadModel's random-access form walks the protobuf itself (src/model/onnx-source.ts) before
  // onnx-proto decodes the skeleton: every input of the corpus and every seed gets the verdict and
  // the outputs it gets from its bytes
  it('every ONNX input of the corpus, read through a ModelSource, gives what its bytes give', async () => {
    const inputs = [...SEEDS.map((s) => ({ name: s.name, bytes: s.bytes, seed: s })), ...corpusOnnx()];
    for (const { name, bytes, seed } of inputs) {
      const [fromBytes, fromSource] = [await runOnnx(rts.one, bytes, seed!.feeds), await runOnnx(rts.one, bytes, seed!.feeds, { source: true })];
      expect(verdict(fromSource), name).toBe('ok or typed');
      expect(fromSource.status, name).toBe(fromBytes.status);
      if (fromBytes.status === 'ok') expect(sameOutputs(fromSource as Ran, fromBytes, 0), name).toBe(true);
    }
  });

  it('every safetensors and saved-model input of the corpus is a typed error or loads', async () => {
    for (const { name, bytes } of corpusFiles('safetensors')) {
      expect(verdict(await runSafetensors(bytes)), name).toBe('ok or typed');
    }
    const seed = SEEDS[0];
    const float = loadModel(rts.one, seed.bytes);
    const q = await quantizeModel(float, { scheme: 'int8', speed: 'off', calibration: [seed.feeds] }); // int8 layers: the saved-file corpus is int8 records
    await q.run(seed.feeds); // layers are built at the first plan
    expect((await runSaved(float, saveQuantized(q), seed.feeds)).status).toBe('ok');
    q.dispose();
    for (const { name, bytes } of corpusFiles('saved')) expect(verdict(await runSaved(float, bytes, seed.feeds)), name).toBe('ok or typed');
    float.dispose();
  });
});
