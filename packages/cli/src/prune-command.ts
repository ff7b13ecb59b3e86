// `lowbit prune MODEL --latency 0.7 -o out.safetensors`: int8-sparse with a latency budget (issue 16,
// CPrune-style): every prunable layer timed here in dense int8 and in each candidate pattern and
// sparsity on its real shape, pruned by OBC from the calibration inputs, and each layer's choice made
// to meet the budget at the least output error (quantizeModel's `sparsity: { latency }`). Prints the
// plan (per layer: the choice, µs dense and chosen, output SQNR), then the measured end-to-end speed-up
// over dense int8 and both models' output SQNR against float32 on the calibration inputs.

import { writeFileSync } from 'node:fs';
import cliProgress from 'cli-progress';
import { createRuntime, loadModel, quantizeModel, saveQuantized, type Feeds, type Model, type PrunePlan, type SimdChoice } from 'lowbit';
import { readFileSync } from 'node:fs';
import { calibrationFeeds, type CalibrationCommandOptions } from './model-commands.js';
import { printColumns } from './model-demo.js';

export interface PruneCommandOptions extends CalibrationCommandOptions {
  model: string;
  latency: number;
  pattern?: string[];
  targets?: number[];
  prune?: 'obc' | 'magnitude';
  out?: string;
  runs: number;
  simd: SimdChoice;
}

const db = (relativeError: number) => (relativeError > 0 ? -10 * Math.log10(relativeError) : Infinity);
const median = (v: number[]) => [...v].sort((a, b) => a - b)[v.length >> 1];

/** Each model's median ms over `runs` interleaved runs of `feeds` (after a warm-up run each). */
async function medianMs(models: Model[], feeds: Feeds, runs: number): Promise<number[]> {
  for (const m of models) await m.run(feeds);
  const t = models.map(() => [] as number[]);
  for (let r = 0; r < runs; r++) {
    for (const [i, m] of models.entries()) {
      const t0 = performance.now();
      await m.run(feeds);
      t[i].push(performance.now() - t0);
    }
  }
  return t.map(median);
}

/** Output SQNR (dB) of `model` against `float` over every float32 output of the inputs. */
async function outputSqnr(model: Model, float: Model, inputs: Feeds[]): Promise<number> {
  let signal = 0, noise = 0;
  for (const f of inputs) {
    const [a, b] = [await model.run(f), await float.run(f)];
    for (const name of Object.keys(b)) {
      const ref = b[name].data, got = a[name].data;
      if (!(ref instanceof Float32Array) || !(got instanceof Float32Array)) continue;
      for (let i = 0; i < ref.length; i++) ((signal += ref[i] * ref[i]), (noise += (got[i] - ref[i]) ** 2));
    }
  }
  return 10 * Math.log10(signal / noise);
}

export async function pruneCommand(o: PruneCommandOptions): Promise<void> {
  const rt = await createRuntime({ simd: o.simd, threads: o.threads });
  try {
    const float = loadModel(rt, new Uint8Array(readFileSync(o.model)));
    const calibration = calibrationFeeds(float, o);
    const bars = new Map<string, cliProgress.SingleBar>();
    const onProgress = o.json || !process.stderr.isTTY ? undefined : (done: number, total: number, phase: string) => {
      let b = bars.get(phase);
      if (!b) bars.set(phase, (b = new cliProgress.SingleBar({ format: `${phase.padEnd(16)} {bar} {value}/{total} {duration_formatted}`, clearOnComplete: false }, cliProgress.Presets.shades_classic))), b.start(total, 0);
      b.update(done);
      if (done === total) b.stop();
    };
    const sparsity = { latency: o.latency, ...(o.pattern && { pattern: o.pattern }), ...(o.targets && { targets: o.targets }), ...(o.prune && { method: o.prune }) } as never;
    const t0 = performance.now();
    const pruned = await quantizeModel(float, { scheme: 'int8-sparse', calibration, sparsity, onProgress });
    const quantizeS = (performance.now() - t0) / 1000;
    const plan = pruned.prunePlan as PrunePlan;
    const dense = await quantizeModel(float, { scheme: 'int8', calibration });
    const [denseMs, prunedMs] = await medianMs([dense, pruned], calibration[0], o.runs);
    const scored = calibration.slice(0, 8);
    const sqnr = { int8: await outputSqnr(dense, float, scored), pruned: await outputSqnr(pruned, float, scored) };
    const layers = plan.layers.map((l) => ({ layer: l.label, k: l.k, n: l.n, m: l.m, chosen: l.chosen, denseUs: l.denseUs, us: l.us, denseSqnrDb: db(l.denseError), sqnrDb: db(l.error) }));
    const summary = {
      latency: o.latency, layersUs: plan.us, layersDenseUs: plan.denseUs, layersRatio: plan.us / plan.denseUs,
      endToEnd: { int8Ms: denseMs, prunedMs, ratio: prunedMs / denseMs, runs: o.runs },
      outputSqnrDb: sqnr, calibrationInputs: calibration.length, scoredInputs: scored.length,
      weightBytes: { float32: float.weightBytes, int8: dense.weightBytes, pruned: pruned.weightBytes }, quantizeS,
    };
    let bytes: number | undefined;
    if (o.out) {
      const file = saveQuantized(pruned);
      writeFileSync(o.out, file);
      bytes = file.length;
    }
    if (o.json) console.log(JSON.stringify({ ...summary, layers, ...(o.out && { out: o.out, bytes }) }, null, 2));
    else {
      const chosen = layers.reduce<Record<string, number>>((m, l) => ((m[l.chosen] = (m[l.chosen] ?? 0) + 1), m), {});
      console.log(`latency budget ${o.latency} of dense int8 (prunable layers' GEMMs, timed here): ${Object.entries(chosen).map(([k, v]) => `${v} ${k}`).join(', ')}`);
      printColumns(['layer', 'K', 'N', 'M', 'chosen', 'dense µs', 'chosen µs', 'int8 dB', 'chosen dB'], layers.map((l) => [l.layer, String(l.k), String(l.n), String(l.m), l.chosen, l.denseUs.toFixed(1), l.us.toFixed(1), l.denseSqnrDb.toFixed(1), l.sqnrDb.toFixed(1)]));
      console.log(`layers: ${plan.us.toFixed(0)} µs of dense int8's ${plan.denseUs.toFixed(0)} (${(plan.us / plan.denseUs).toFixed(3)}x); SQNR dB = the layer output's, from tr(ΔW H ΔWᵀ) on the calibration inputs`);
      console.log(`end to end (median of ${o.runs} runs, first calibration input): int8 ${denseMs.toFixed(2)} ms, pruned ${prunedMs.toFixed(2)} ms (${(prunedMs / denseMs).toFixed(3)}x, ${(denseMs / prunedMs).toFixed(2)}x speed-up)`);
      console.log(`output SQNR vs float32 on ${scored.length} calibration input(s): int8 ${sqnr.int8.toFixed(2)} dB, pruned ${sqnr.pruned.toFixed(2)} dB; weights ${(pruned.weightBytes / 2 ** 20).toFixed(2)} MiB (int8 ${(dense.weightBytes / 2 ** 20).toFixed(2)}, float32 ${(float.weightBytes / 2 ** 20).toFixed(2)}); quantized in ${quantizeS.toFixed(1)} s`);
      if (o.out) console.log(`wrote ${o.out}: ${((bytes ?? 0) / 2 ** 20).toFixed(2)} MiB; run it with: lowbit run ${o.model} --quantized ${o.out} ...`);
    }
    for (const m of [pruned, dense, float]) m.dispose();
  } finally {
    rt.dispose();
  }
}
