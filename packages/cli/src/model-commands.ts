// `lowbit run | compare | bench MODEL`: the model commands for any ONNX file. Inputs come from
// JSON files ({ "dims": [...], "data": [...] }) or, with --shape only, seeded random normals.

import { readFileSync, writeFileSync } from 'node:fs';
import cliProgress from 'cli-progress';
import {
  ArgumentError, FORMAT_NAMES, ShapeError, compareModels, createRuntime, exportOnnxWithReport, loadModel, loadQuantized, mulberry32, quantizeModel, saveQuantized,
  type Feeds, type Model, type ModelInput, type QuantizeOptions, type SimdChoice,
} from 'lowbit';
import { printColumns } from './model-demo.js';

export interface ModelCommandOptions {
  model: string;
  /** name=path.json, repeatable */
  input?: string[];
  /** name=d0,d1,... for random inputs */
  shape?: string[];
  threads: number;
  simd: SimdChoice;
  json: boolean;
}

function parsePairs(list: string[] | undefined, what: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const item of list ?? []) {
    const i = item.indexOf('=');
    if (i <= 0) throw new ArgumentError(`${what}: expected name=value, got '${item}'`);
    m.set(item.slice(0, i), item.slice(i + 1));
  }
  return m;
}

/** Inputs for a model: from --input JSON files, else random normals of --shape (one set per seed). */
export function makeFeeds(model: Model, o: ModelCommandOptions, seed: number): Feeds {
  const files = parsePairs(o.input, '--input');
  const shapes = parsePairs(o.shape, '--shape');
  const feeds: Record<string, ModelInput> = {};
  for (const gi of model.graph.inputs) {
    const file = files.get(gi.name);
    if (file) {
      const j = JSON.parse(readFileSync(file, 'utf8')) as { dims?: number[]; data?: number[] };
      if (!Array.isArray(j.dims) || !Array.isArray(j.data)) throw new ArgumentError(`--input ${gi.name}: ${file} must hold { "dims": [...], "data": [...] }`);
      // float32 inputs as Float32Array; integer and bool inputs as the numbers given
      feeds[gi.name] = (gi.type === 'float32' ? { type: 'float32', data: Float32Array.from(j.data), dims: j.dims } : { type: gi.type, data: j.data, dims: j.dims }) as ModelInput;
      continue;
    }
    if (gi.type !== 'float32') {
      throw new ArgumentError(`input '${gi.name}' is ${gi.type}: give its values with --input ${gi.name}=file.json ({ "dims": [...], "data": [...] }); only float32 inputs are made up from --shape`);
    }
    const spec = shapes.get(gi.name) ?? (gi.dims.every((d) => typeof d === 'number') ? gi.dims.join(',') : undefined);
    if (!spec) throw new ShapeError(`input '${gi.name}' has symbolic dims [${gi.dims.join(', ')}]: give --shape ${gi.name}=d0,d1,... or --input ${gi.name}=file.json`);
    const dims = spec.split(',').map(Number);
    if (dims.some((d) => !Number.isInteger(d) || d < 1)) throw new ShapeError(`--shape ${gi.name}: expected positive integers, got '${spec}'`);
    const r = mulberry32(seed * 7919 + gi.name.length);
    const n = dims.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
    feeds[gi.name] = { type: 'float32', data, dims };
  }
  return feeds;
}

async function open(o: ModelCommandOptions) {
  const rt = await createRuntime({ simd: o.simd, threads: o.threads });
  const model = loadModel(rt, new Uint8Array(readFileSync(o.model)));
  return { rt, model };
}

export async function runModelCommand(o: ModelCommandOptions & { quantized?: string }): Promise<void> {
  const { rt, model: float } = await open(o);
  try {
    const model = o.quantized ? loadQuantized(float, new Uint8Array(readFileSync(o.quantized))) : float;
    const feeds = makeFeeds(model, o, 1);
    const t0 = performance.now();
    const out = await model.run(feeds);
    const ms = performance.now() - t0;
    const summary = Object.entries(out).map(([name, t]) => {
      let lo = Infinity, hi = -Infinity, sum = 0;
      for (const v of t.data) {
        lo = Math.min(lo, v);
        hi = Math.max(hi, v);
        sum += v;
      }
      return { name, dims: t.dims, min: lo, max: hi, mean: sum / Math.max(t.data.length, 1), head: Array.from(t.data.slice(0, 8)) };
    });
    if (o.json) console.log(JSON.stringify({ ms, fusions: model.fusions, outputs: summary }, null, 2));
    else {
      console.log(`ran ${o.model} in ${ms.toFixed(1)} ms (first run: includes planning); fusions ${JSON.stringify(model.fusions)}`);
      for (const s of summary) console.log(`${s.name} [${s.dims.join(', ')}]  min ${s.min.toPrecision(4)}  max ${s.max.toPrecision(4)}  mean ${s.mean.toPrecision(4)}  first ${s.head.map((v) => v.toPrecision(4)).join(' ')}`);
    }
    model.dispose();
  } finally {
    rt.dispose();
  }
}

/**
 * Quantize with calibration, run once (layers are built with the first plan), save as safetensors
 * (--out) and/or as an ONNX file other runtimes run (--onnx: QDQ int8, MatMulNBits int4).
 */
export async function quantizeModelCommand(o: ModelCommandOptions & { scheme: QuantizeOptions['scheme']; calibrate: number; out?: string; onnx?: string }): Promise<void> {
  if (!o.out && !o.onnx) throw new ArgumentError('quantize: give -o/--out (lowbit\'s safetensors) or --onnx (an ONNX file), or both');
  const { rt, model } = await open(o);
  try {
    const calibration = Array.from({ length: o.calibrate }, (_, i) => makeFeeds(model, o, i + 1));
    const q = await quantizeModel(model, { scheme: o.scheme, calibration });
    await q.run(calibration[0]);
    const counts = [...q.builtLayers.values()].reduce<Record<string, number>>((m, l) => (l && l.weightBytes > 0 ? ((m[l.scheme] = (m[l.scheme] ?? 0) + 1), m) : m), {});
    const info: Record<string, unknown> = { scheme: o.scheme, layers: counts, weightBytes: { float32: model.weightBytes, quantized: q.weightBytes } };
    if (o.out) {
      const file = saveQuantized(q);
      writeFileSync(o.out, file);
      info.out = o.out;
      info.bytes = file.length;
      if (!o.json) console.log(`wrote ${o.out}: ${(file.length / 2 ** 20).toFixed(2)} MiB (${o.scheme}; layers ${JSON.stringify(counts)}); run it with: lowbit run ${o.model} --quantized ${o.out} ...`);
    }
    if (o.onnx) {
      const exported = exportOnnxWithReport(q);
      writeFileSync(o.onnx, exported.bytes);
      const as = exported.layers.reduce<Record<string, number>>((m: Record<string, number>, l: { as: string }) => ((m[l.as] = (m[l.as] ?? 0) + 1), m), {});
      info.onnx = { file: o.onnx, bytes: exported.bytes.length, opset: exported.opset, layers: as, warnings: exported.warnings };
      if (!o.json) {
        console.log(`wrote ${o.onnx}: ${(exported.bytes.length / 2 ** 20).toFixed(2)} MiB, opset ${exported.opset}; layers ${JSON.stringify(as)}`);
        for (const w of exported.warnings) console.log(`warning: ${w}`);
      }
    }
    if (o.json) console.log(JSON.stringify(info, null, 2));
    q.dispose();
    model.dispose();
  } finally {
    rt.dispose();
  }
}

export async function compareModelCommand(o: ModelCommandOptions & { scheme: QuantizeOptions['scheme']; calibrate: number }): Promise<void> {
  const { rt, model } = await open(o);
  try {
    const calibration = Array.from({ length: o.calibrate }, (_, i) => makeFeeds(model, o, i + 1));
    const q = await quantizeModel(model, { scheme: o.scheme, calibration });
    const bar = !o.json && process.stderr.isTTY ? new cliProgress.SingleBar({ format: 'per-layer error       {bar} {value}/{total}' }, cliProgress.Presets.shades_classic) : null;
    bar?.start(calibration.length, 0);
    const layers = await compareModels(model, q, calibration, () => bar?.increment());
    bar?.stop();
    if (o.json) console.log(JSON.stringify({ scheme: o.scheme, weightBytes: { float32: model.weightBytes, quantized: q.weightBytes }, layers }, null, 2));
    else {
      console.log(`${o.scheme}: weights ${(q.weightBytes / 2 ** 20).toFixed(2)} MiB (float32 ${(model.weightBytes / 2 ** 20).toFixed(2)} MiB); error accumulated through the model, ${calibration.length} input(s)`);
      printColumns(['layer', 'kind', 'scheme', 'output', 'SQNR dB', 'cosine', 'max |err|'], layers.map((l) => [l.name, l.kind, l.scheme, `[${l.dims.join(',')}]`, l.sqnrDb.toFixed(1), l.cosine.toFixed(5), l.maxAbs.toExponential(2)]));
    }
    q.dispose();
    model.dispose();
  } finally {
    rt.dispose();
  }
}

export async function benchModelCommand(o: ModelCommandOptions & { runs: number; calibrate: number }): Promise<void> {
  const { rt, model } = await open(o);
  try {
    const feeds = makeFeeds(model, o, 1);
    const calibration = Array.from({ length: o.calibrate }, (_, i) => makeFeeds(model, o, i + 1));
    const models: [string, Model][] = [['float32', model]];
    for (const scheme of FORMAT_NAMES) models.push([scheme, await quantizeModel(model, { scheme, calibration })]);
    for (const [, m] of models) await m.run(feeds);
    const times = models.map(() => [] as number[]);
    for (let r = 0; r < o.runs; r++) {
      for (const [i, [, m]] of models.entries()) {
        const t0 = performance.now();
        await m.run(feeds);
        times[i].push(performance.now() - t0);
      }
    }
    const median = (t: number[]) => [...t].sort((a, b) => a - b)[Math.floor(t.length / 2)];
    const rows = models.map(([name, m], i) => ({ scheme: name, medianMs: median(times[i]), weightMiB: m.weightBytes / 2 ** 20 }));
    if (o.json) console.log(JSON.stringify({ threads: rt.threads, simd: rt.features.simd, rows }, null, 2));
    else printColumns(['scheme', 'median ms', 'weights MiB', 'vs float32'], rows.map((r) => [r.scheme, r.medianMs.toFixed(2), r.weightMiB.toFixed(2), `${(rows[0].medianMs / r.medianMs).toFixed(2)}x`]));
    for (const [, m] of models) m.dispose();
  } finally {
    rt.dispose();
  }
}
