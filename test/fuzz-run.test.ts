// The time-boxed fuzzing pass (.ci/run gives it LOWBIT_FUZZ_SECONDS; without it this file skips):
// fast-check mutates the seeds (test/fuzz/seeds.ts) and feeds them to the ONNX importer, the
// safetensors reader and loadQuantized. Any outcome but success or a LowbitError is a crash: the
// shrunk input goes to test/fuzz/corpus/ and the test fails. ONNX mutants also run in
// onnxruntime-web, and the two are tallied: both run (and must agree: element types and values),
// only one runs, neither; a mutant onnxruntime refuses that runs here must give its seed's outputs,
// or the outputs another onnxruntime configuration gives it (targets.ts, ortRunsOtherwise), else it
// is printed and saved to the corpus (the test fails on it with LOWBIT_FUZZ_STRICT=1).
// The figures go to the console and to fuzz-report.json (for the closing note).

import fc from 'fast-check';
import { rmSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadModel, quantizeModel, saveQuantized, writeSafetensors, type Model } from '../src/index.js';
import { SIMD, randNormal, rng, useRuntimes } from './helpers.js';
import { saveToCorpus, type Target } from './fuzz/corpus.js';
import { applyBytes, applyModel, byteMutation, modelMutation, type ModelMutation } from './fuzz/mutate.js';
import { realSeeds, seeds } from './fuzz/seeds.js';
import { stopOrt } from './fuzz/ort-process.js';
import { ortRunsOtherwise, runOnnx, runOrt, runSafetensors, runSaved, sameOutputs, type Outcome, type Ran } from './fuzz/targets.js';

const SECONDS = Number(process.env.LOWBIT_FUZZ_SECONDS ?? 0);
const rts = useRuntimes();

interface Tally {
  tries: number;
  ok: number;
  typed: Record<string, number>;
  crashes: string[];
}
const tally = (): Tally => ({ tries: 0, ok: 0, typed: {}, crashes: [] });
function count(t: Tally, o: Outcome, target: Target, prefix: string, input: Uint8Array, muts?: readonly ModelMutation[]): boolean {
  t.tries++;
  if (o.status === 'ok') t.ok++;
  else if (o.status === 'typed') t.typed[o.error] = (t.typed[o.error] ?? 0) + 1;
  else {
    t.crashes.push(`${o.error.name}: ${o.error.message} -> ${saveToCorpus(target, prefix, input, muts)}`);
    return false;
  }
  return true;
}

// LOWBIT_FUZZ_SEED (.ci/run derives it from the commit) makes a pass reproducible: the same commit
// explores the same mutants first, so a failure in CI replays here; otherwise a new seed per run
const FUZZ_SEED = process.env.LOWBIT_FUZZ_SEED ? Number(process.env.LOWBIT_FUZZ_SEED) | 0 : Date.now() | 0;
console.error(`fuzz: seed ${FUZZ_SEED} (LOWBIT_FUZZ_SEED=${FUZZ_SEED} replays it)`);

// The input being tried, written before each lowbit run: a run that never returns (a hang no timer
// in this process can break) leaves it behind, and .ci/run prints it when its time box kills the pass
const IN_FLIGHT = 'fuzz-in-flight.json';
const inFlight = (what: object) => writeFileSync(IN_FLIGHT, `${JSON.stringify({ seed: FUZZ_SEED, ...what })}\n`);

/** Runs `prop` until `ms` have passed (fast-check's own time box), from FUZZ_SEED. */
async function fuzzFor<T>(ms: number, arb: fc.Arbitrary<T>, prop: (v: T) => Promise<boolean>): Promise<void> {
  await fc.assert(fc.asyncProperty(arb, prop), { numRuns: 1e9, interruptAfterTimeLimit: ms, markInterruptAsFailure: false, seed: FUZZ_SEED, endOnFailure: true }).catch(() => {});
}

describe.runIf(SECONDS > 0 && SIMD === 'baseline')('fuzzing pass', () => {
  it(`mutants of every seed: typed errors or runs, never a crash; beside onnxruntime-web (${SECONDS} s)`, async () => {
    // LOWBIT_FUZZ_MODELS=real: real models too (seeds.ts, realSeeds), for the ONNX mutants
    const SEEDS = [...seeds(), ...(process.env.LOWBIT_FUZZ_MODELS === 'real' ? realSeeds() : [])];
    const ms = SECONDS * 1000;
    const report: Record<string, unknown> = {};
    const rt = rts.one;

    // ONNX, structure-aware, with the onnxruntime cross-check
    const onnx = tally();
    // ortRunsOtherwise: onnxruntime-web refuses, and another onnxruntime configuration runs it with
    // lowbit's outputs (targets.ts says which and why): counted per configuration
    const vsOrt = { ortNoAnswer: 0, bothRun: 0, bothRunDisagree: [] as string[], onlyLowbitRuns: 0, ortRunsOtherwise: {} as Record<string, number>, onlyLowbitRunsChanged: 0, onlyOrtRuns: 0, neither: 0 };
    // a few of each disagreement, as seed + mutations, to read in the report
    const examples: Record<string, string[]> = { ortNoAnswer: [], onlyLowbitRunsChanged: [], onlyLowbitRunsSame: [], ortRunsOtherwise: [], onlyOrtRuns: [] };
    const note = (k: string, what: string) => examples[k].length < 40 && examples[k].push(what);
    const want = new Map(await Promise.all(SEEDS.map(async (s) => [s.name, (await runOnnx(rt, s.bytes, s.feeds)) as Ran] as const)));
    for (const s of SEEDS) expect((want.get(s.name) as Outcome).status, `seed ${s.name} runs`).toBe('ok');
    // every mutant onnxruntime refuses that ran here with outputs other than its seed's: seed, mutations, corpus file
    const changed: string[] = [];
    await fuzzFor(ms * 0.5, fc.tuple(fc.nat({ max: SEEDS.length - 1 }), fc.array(modelMutation, { minLength: 1, maxLength: 3 })), async ([i, muts]) => {
      const s = SEEDS[i];
      const bytes = applyModel(s.bytes, muts);
      inFlight({ target: 'onnx', seed: s.name, muts });
      const o = await runOnnx(rt, bytes, s.feeds);
      if (!count(onnx, o, 'onnx', s.name, bytes, muts)) return false;
      const theirs = await runOrt(bytes, s.feeds);
      let other: string | null = null;
      if (theirs === 'no-answer') {
        // onnxruntime hung (its process was killed at the deadline) or died: nothing to compare with
        vsOrt.ortNoAnswer++;
        note('ortNoAnswer', `${s.name} ${JSON.stringify(muts)}: ${o.status === 'ok' ? 'runs here' : o.status === 'typed' ? o.error : 'crash'}`);
      } else if (o.status === 'ok' && theirs) {
        vsOrt.bothRun++;
        if (!sameOutputs(o, theirs) && (other = await ortRunsOtherwise(o, bytes, s.feeds))) {
          // its optimized graph computes otherwise (a layer norm fused over a rewired epsilon)
          const k = `${other}, where its optimized run differs`;
          vsOrt.ortRunsOtherwise[k] = (vsOrt.ortRunsOtherwise[k] ?? 0) + 1;
          note('ortRunsOtherwise', `${s.name} ${JSON.stringify(muts)}: ${k}`);
        } else if (!sameOutputs(o, theirs)) {
          vsOrt.bothRunDisagree.push(`${s.name} ${JSON.stringify(muts)} -> ${saveToCorpus('onnx', s.name, bytes, muts)}`);
          return false;
        }
      } else if (o.status === 'ok' && (other = await ortRunsOtherwise(o, bytes, s.feeds))) {
        vsOrt.ortRunsOtherwise[other] = (vsOrt.ortRunsOtherwise[other] ?? 0) + 1;
        note('ortRunsOtherwise', `${s.name} ${JSON.stringify(muts)}: ${other}`);
      } else if (o.status === 'ok') {
        vsOrt.onlyLowbitRuns++;
        const same = sameOutputs(o, want.get(s.name)!);
        if (!same) {
          vsOrt.onlyLowbitRunsChanged++;
          changed.push(`${s.name} ${JSON.stringify(muts)} -> ${saveToCorpus('onnx', s.name, bytes, muts)}`);
        }
        note(same ? 'onlyLowbitRunsSame' : 'onlyLowbitRunsChanged', `${s.name} ${JSON.stringify(muts)}`);
      } else if (theirs) {
        vsOrt.onlyOrtRuns++;
        note('onlyOrtRuns', `${s.name} ${JSON.stringify(muts)}: ${o.status === 'typed' ? o.error : ''}`);
      }
      else vsOrt.neither++;
      return true;
    });
    report.onnxStructure = { ...onnx, vsOrt, examples };

    // ONNX, byte-level: from the bytes, and through a ModelSource over them (loadModel's random-access
    // form walks the protobuf itself first): never a crash; a verdict that differs is counted
    const bytesTally = tally(), sourceTally = tally();
    const sourceDiffers: string[] = [];
    await fuzzFor(ms * 0.15, fc.tuple(fc.nat({ max: SEEDS.length - 1 }), fc.array(byteMutation, { minLength: 1, maxLength: 4 })), async ([i, muts]) => {
      const s = SEEDS[i];
      const bytes = applyBytes(s.bytes, muts);
      inFlight({ target: 'onnx-bytes', seed: s.name, muts });
      const fromBytes = await runOnnx(rt, bytes, s.feeds);
      if (!count(bytesTally, fromBytes, 'onnx', s.name, bytes)) return false;
      inFlight({ target: 'onnx-bytes-source', seed: s.name, muts });
      const fromSource = await runOnnx(rt, bytes, s.feeds, { source: true });
      if (!count(sourceTally, fromSource, 'onnx', s.name, bytes)) return false;
      if (fromSource.status !== fromBytes.status || (fromBytes.status === 'ok' && !sameOutputs(fromSource as Ran, fromBytes, 0))) {
        sourceDiffers.push(`${s.name} ${JSON.stringify(muts)}: bytes ${fromBytes.status}, source ${fromSource.status}`);
      }
      return true;
    });
    report.onnxBytes = bytesTally;
    report.onnxBytesViaSource = { ...sourceTally, verdictDiffers: sourceDiffers.length, examples: sourceDiffers.slice(0, 20) };

    // safetensors: a small file of several dtypes
    const r = rng(7);
    const st = writeSafetensors(new Map([
      ['a', { dtype: 'F32', shape: [3, 4], data: randNormal(12, r) }],
      ['b', { dtype: 'U8', shape: [5], data: Uint8Array.from([1, 2, 3, 4, 5]) }],
      ['c', { dtype: 'I32', shape: [2, 2], data: Int32Array.from([1, -2, 3, -4]) }],
    ]), { note: 'fuzz seed' });
    const stTally = tally();
    await fuzzFor(ms * 0.15, fc.array(byteMutation, { minLength: 1, maxLength: 4 }), async (muts) => {
      const bytes = applyBytes(st, muts);
      inFlight({ target: 'safetensors', muts });
      return count(stTally, await runSafetensors(bytes), 'safetensors', 'st', bytes);
    });
    report.safetensors = stTally;

    // saved quantized models (int8 and int4 of the conv seed)
    const seed = SEEDS[0];
    const float: Model = loadModel(rt, seed.bytes);
    const files: Uint8Array[] = [];
    for (const scheme of ['int8', 'int4']) {
      // every layer quantized: the seed's small layers are below int8's shape rule (the default)
      const q = await quantizeModel(float, { scheme, calibration: [seed.feeds], speed: 'off' });
      await q.run(seed.feeds); // layers are built at the first plan
      files.push(saveQuantized(q));
      q.dispose();
    }
    const savedTally = tally();
    await fuzzFor(ms * 0.2, fc.tuple(fc.nat({ max: files.length - 1 }), fc.array(byteMutation, { minLength: 1, maxLength: 4 })), async ([i, muts]) => {
      const bytes = applyBytes(files[i], muts);
      inFlight({ target: 'saved', file: ['int8', 'int4'][i], muts });
      return count(savedTally, await runSaved(float, bytes, seed.feeds), 'saved', 'saved', bytes);
    });
    report.saved = savedTally;
    float.dispose();

    stopOrt();
    rmSync(IN_FLIGHT, { force: true });
    writeFileSync('fuzz-report.json', JSON.stringify(report, null, 2));
    console.log(JSON.stringify(report, null, 2));
    const crashes = [onnx, bytesTally, sourceTally, stTally, savedTally].flatMap((t) => t.crashes);
    expect(crashes).toEqual([]);
    expect(vsOrt.bothRunDisagree).toEqual([]);
    // A model onnxruntime refuses should not run here with different outputs (src/model/validate-schema.ts
    // refuses it at load, as onnxruntime does): each such mutant is printed and saved to the corpus.
    // Reported, not asserted (yet): CI runs at 2026-12-06 still found new classes (Flatten's negative
    // axis before opset 11, fixed; two more, in shape-ops and control-flow mutants, open). Set
    // LOWBIT_FUZZ_STRICT=1 to fail on them.
    if (changed.length > 0) console.error(`fuzz: ${changed.length} mutants onnxruntime refuses ran here with changed outputs:\n${changed.join('\n')}`);
    if (process.env.LOWBIT_FUZZ_STRICT === '1') expect(changed, 'mutants onnxruntime refuses that ran here with changed outputs (seed, mutations, corpus file)').toEqual([]);
  }, SECONDS * 1000 * 3 + 60_000);
});
