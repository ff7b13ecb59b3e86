// `lowbit run | compare | bench MODEL`: the model commands for any ONNX file. Inputs come from
// JSON files ({ "dims": [...], "data": [...] }, or an array of them: one per calibration input) or,
// with --shape only, seeded random normals (which quantize and compare calibrate on only when told
// to: --calibrate-random).

import { readFileSync, writeFileSync } from 'node:fs';
import cliProgress from 'cli-progress';
import {
  ArgumentError, FORMAT_NAMES, ShapeError, WEIGHT_FORMATS, compareModels, createRuntime, exportOnnxWithReport, integerOnlyOps, loadModel, loadQuantized, mulberry32, outputValues, quantizeModel, saveQuantized,
  type Feeds, type Model, type ModelInput, type QuantizeOptions, type AutoBudget, type SimdChoice, type Graph,
} from 'lowbit';
import { printColumns } from './model-demo.js';
import { printMix } from './mix-report.js';

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

/** An --input or --shape for a name the model does not take: an error, as run() gives for such a feed. */
function checkPairNames(model: Model, pairs: Map<string, string>, what: string): Map<string, string> {
  const names = model.graph.inputs.map((gi) => gi.name);
  for (const name of pairs.keys()) {
    if (!names.includes(name)) throw new ArgumentError(`${what} ${name}: the model has no input '${name}' (its inputs: ${names.map((n) => `'${n}'`).join(', ')})`);
  }
  return pairs;
}

/** The records of an --input file: one { dims, data } object, or an array of them. */
function readInputs(file: string, gi: Graph['inputs'][number]): ModelInput[] {
  const j = JSON.parse(readFileSync(file, 'utf8')) as unknown;
  const list = (Array.isArray(j) ? j : [j]) as { dims?: number[]; data?: number[] }[];
  if (list.length === 0) throw new ArgumentError(`--input ${gi.name}: ${file} holds an empty array`);
  return list.map((r) => {
    if (!r || !Array.isArray(r.dims) || !Array.isArray(r.data)) throw new ArgumentError(`--input ${gi.name}: ${file} must hold { "dims": [...], "data": [...] } or an array of them`);
    // float32 inputs as Float32Array; integer and bool inputs as the numbers given
    return (gi.type === 'float32' ? { type: 'float32', data: Float32Array.from(r.data), dims: r.dims } : { type: gi.type, data: r.data, dims: r.dims }) as ModelInput;
  });
}

/** Inputs for a model: from --input JSON files (their first record), else random normals of --shape (one set per seed). */
export function makeFeeds(model: Model, o: ModelCommandOptions, seed: number): Feeds {
  const files = checkPairNames(model, parsePairs(o.input, '--input'), '--input');
  const shapes = checkPairNames(model, parsePairs(o.shape, '--shape'), '--shape');
  const feeds: Record<string, ModelInput> = {};
  for (const gi of model.graph.inputs) {
    const file = files.get(gi.name);
    if (file) {
      feeds[gi.name] = readInputs(file, gi)[0];
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

export interface CalibrationCommandOptions extends ModelCommandOptions {
  /** random calibration inputs when not every input has an --input file */
  calibrate: number;
  /** the user's consent to calibrate on random normals */
  calibrateRandom?: boolean;
  /** how int4 (and auto's int4 candidates) are rounded: 'gptq' (default with real calibration inputs) or 'rtn' (default on random normals) */
  method?: 'rtn' | 'gptq';
}

/**
 * Calibration inputs: the records of the --input files (every model input needs one: a file holds
 * one record, or an array of them; one record is used for every calibration input), or --calibrate
 * random ones only with --calibrate-random: ranges calibrated on noise fit no real input.
 */
export function calibrationFeeds(model: Model, o: CalibrationCommandOptions): Feeds[] {
  const files = checkPairNames(model, parsePairs(o.input, '--input'), '--input');
  const missing = model.graph.inputs.filter((gi) => !files.has(gi.name)).map((gi) => gi.name);
  if (missing.length > 0) {
    if (!o.calibrateRandom) throw new ArgumentError(`refusing to calibrate on random noise: give real calibration inputs with ${missing.map((n) => `--input ${n}=file.json`).join(' ')} (a JSON { "dims": [...], "data": [...] } or an array of them, one per input), or pass --calibrate-random to calibrate on random normals anyway`);
    return Array.from({ length: o.calibrate }, (_, i) => makeFeeds(model, o, i + 1));
  }
  const records = model.graph.inputs.map((gi) => [gi.name, readInputs(files.get(gi.name)!, gi)] as const);
  const count = Math.max(...records.map(([, r]) => r.length));
  const odd = records.find(([, r]) => r.length !== 1 && r.length !== count);
  if (odd) throw new ArgumentError(`--input ${odd[0]}: ${odd[1].length} records, the other inputs have ${count}; give each input one record or ${count}`);
  return Array.from({ length: count }, (_, i) => Object.fromEntries(records.map(([name, r]) => [name, r[Math.min(i, r.length - 1)]])));
}

/** quantizeModel's 'auto' options from the command line. */
export interface AutoCommandOptions {
  maxSqnrDrop?: number;
  maxMib?: number;
  /** 'off': speed not weighed (commander would turn a parser's null into '') */
  maxSlowdown?: number | 'off';
  candidates?: string[];
  classifier?: boolean;
  speedCheck?: boolean;
  everyLayer?: boolean;
  /** --auto-baseline: quantizeModel's autoBaseline */
  autoBaseline?: 'int8' | 'all-int8';
  /** --integer-only: quantizeModel's integerOnly (I-ViT ops) */
  integerOnly?: boolean;
  /** --attention: quantizeModel's attention ('int8': the int8 attention layer for MultiHeadAttention and GroupQueryAttention) */
  attention?: 'float32' | 'int8';
}

function autoOptions(o: AutoCommandOptions): Partial<QuantizeOptions> {
  const budget: AutoBudget | undefined = o.maxSqnrDrop === undefined && o.maxMib === undefined && o.maxSlowdown === undefined ? undefined : { maxSqnrDropDb: o.maxSqnrDrop ?? (o.maxMib === undefined ? 1 : undefined), maxBytes: o.maxMib === undefined ? undefined : Math.floor(o.maxMib * 2 ** 20), maxSlowdown: o.maxSlowdown === 'off' ? null : o.maxSlowdown };
  if (budget?.maxSqnrDropDb === undefined) delete budget?.maxSqnrDropDb;
  if (budget?.maxBytes === undefined) delete budget?.maxBytes;
  if (budget?.maxSlowdown === undefined) delete budget?.maxSlowdown;
  return { autoBudget: budget, autoCandidates: o.candidates, classifier: o.classifier, ...(o.autoBaseline ? { autoBaseline: o.autoBaseline } : {}), ...(o.speedCheck ? { speed: 'measured' as const } : o.everyLayer ? { speed: 'off' as const } : {}), ...(o.integerOnly ? { integerOnly: true } : {}), ...(o.attention ? { attention: o.attention } : {}) };
}

/** The attention nodes that run in int8 (--attention int8): for --json by node, and one line. */
function attentionReport(q: Model): { json: Record<string, unknown>; line: string | null } {
  const nodes = q.graph.nodes.flatMap((node) => {
    const own = q.hostOp?.(node);
    return own && own.scheme === 'int8' ? [{ node: node.name || node.outputs[0], kind: own.kind }] : [];
  });
  if (nodes.length === 0) return { json: {}, line: null };
  return { json: { attention: nodes }, line: `int8 attention: ${nodes.length} node(s) (${nodes.map((n) => `${n.node}: ${n.kind}`).join('; ')})` };
}

/** Which ops run integer-only (--integer-only): for --json by layer, and one line of counts by op. */
function integerOnlyReport(q: Model): { json: Record<string, unknown>; line: string | null } {
  const ops = integerOnlyOps(q);
  if (ops.length === 0) return { json: {}, line: null };
  const counts: Record<string, number> = {};
  for (const o of ops) counts[o.op] = (counts[o.op] ?? 0) + 1;
  const line = `integer-only: ${Object.entries(counts).map(([op, n]) => `${n} ${op}`).join(', ')} (${ops.map((o) => `${layerName(o)}: ${o.op}`).join('; ')})`;
  return { json: { integerOnly: ops.map((o) => ({ layer: layerName(o), op: o.op, kind: o.kind })) }, line };
}

/**
 * A calibration-free scheme's inputs (int8-dynamic quantizes each input by its own range): the
 * --input files when every model input has one (the int8 shape rule's layer shapes, compare's
 * measurement), else none; any other scheme's calibration inputs (calibrationFeeds).
 */
export function schemeFeeds(model: Model, o: CalibrationCommandOptions & { scheme: string }): Feeds[] | undefined {
  if (!WEIGHT_FORMATS.find((f) => f.name === o.scheme)?.calibrationFree) return calibrationFeeds(model, o);
  const files = parsePairs(o.input, '--input');
  return model.graph.inputs.every((gi) => files.has(gi.name)) ? calibrationFeeds(model, o) : undefined;
}

/**
 * --method, else quantizeModel's default (GPTQ for int4, fp8 and auto) with real calibration inputs, and
 * round to nearest on random normals (GPTQ would fit the noise's statistics, not the model's inputs)
 */
function methodOption(model: Model, o: CalibrationCommandOptions): Partial<QuantizeOptions> {
  if (o.method) return { method: o.method };
  const random = model.graph.inputs.some((gi) => !parsePairs(o.input, '--input').has(gi.name));
  return random ? { method: 'rtn' } : {};
}

/** int8-sparse's (and int4-sparse's: block4x4 only) pruning from the command line (--pattern, --sparsity, --prune). */
export interface SparsityCommandOptions {
  pattern?: string;
  sparsity?: number;
  prune?: 'obc' | 'magnitude';
}

function sparsityOptions(o: SparsityCommandOptions & { scheme: string }): Partial<QuantizeOptions> {
  const given = o.pattern !== undefined || o.sparsity !== undefined || o.prune !== undefined;
  if (!given) return {};
  if (o.scheme !== 'int8-sparse' && o.scheme !== 'int4-sparse') throw new ArgumentError(`--pattern, --sparsity and --prune are int8-sparse's and int4-sparse's options (the scheme is ${o.scheme})`);
  const sparsity = { pattern: o.pattern, target: o.sparsity, method: o.prune } as NonNullable<QuantizeOptions['sparsity']>;
  for (const key of Object.keys(sparsity) as (keyof typeof sparsity)[]) if (sparsity[key] === undefined) delete sparsity[key];
  return { sparsity };
}

/** A layer's name for reports: its weight's name, else the node's. */
const layerName = (c: { node: { name: string; inputs: readonly string[] } }) => c.node.name || c.node.inputs[1] || '?';

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
      const values = outputValues(t);
      for (const v of values) {
        lo = Math.min(lo, v);
        hi = Math.max(hi, v);
        sum += v;
      }
      return { name, type: t.type, dims: t.dims, min: lo, max: hi, mean: sum / Math.max(values.length, 1), head: Array.from(values.slice(0, 8)) };
    });
    if (o.json) console.log(JSON.stringify({ ms, fusions: model.fusions, outputs: summary }, null, 2));
    else {
      console.log(`ran ${o.model} in ${ms.toFixed(1)} ms (first run: includes planning); fusions ${JSON.stringify(model.fusions)}`);
      for (const s of summary) console.log(`${s.name} ${s.type} [${s.dims.join(', ')}]  min ${s.min.toPrecision(4)}  max ${s.max.toPrecision(4)}  mean ${s.mean.toPrecision(4)}  first ${s.head.map((v) => v.toPrecision(4)).join(' ')}`);
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
export async function quantizeModelCommand(o: CalibrationCommandOptions & AutoCommandOptions & SparsityCommandOptions & { scheme: QuantizeOptions['scheme']; out?: string; onnx?: string }): Promise<void> {
  if (!o.out && !o.onnx) throw new ArgumentError('quantize: give -o/--out (lowbit\'s safetensors) or --onnx (an ONNX file), or both');
  const { rt, model } = await open(o);
  try {
    const calibration = schemeFeeds(model, o);
    const q = await quantizeModel(model, { scheme: o.scheme, ...(calibration && { calibration }), ...methodOption(model, o), ...autoOptions(o), ...sparsityOptions(o) });
    // one run builds the layers (a calibration-free scheme without --input files: on random normals of --shape, which calibrate nothing)
    await q.run(calibration?.[0] ?? makeFeeds(model, o, 1));
    const counts = [...q.builtLayers.values()].reduce<Record<string, number>>((m, l) => (l && l.weightBytes > 0 ? ((m[l.scheme] = (m[l.scheme] ?? 0) + 1), m) : m), {});
    const io = integerOnlyReport(q), att = attentionReport(q);
    const info: Record<string, unknown> = { scheme: o.scheme, layers: counts, weightBytes: { float32: model.weightBytes, quantized: q.weightBytes }, ...mixJson(q), ...io.json, ...att.json };
    if (!o.json && io.line) console.log(io.line);
    if (!o.json && att.line) console.log(att.line);
    if (!o.json && q.mix && q.choices) printMix(q.mix, q.choices, layerName);
    // why weight layers stayed float32 (the int8 shape rule, grouped convolutions, ...), by reason
    const reasons = [...(q.keptFloat ?? new Map()).values()].reduce<Record<string, number>>((m, why) => ((m[why] = (m[why] ?? 0) + 1), m), {});
    if (Object.keys(reasons).length) {
      info.keptFloat = reasons;
      if (!o.json) for (const [why, n] of Object.entries(reasons)) console.log(`${n} layer(s) float32: ${why}`);
    }
    const speed = (q as { speedChoices?: { node: { name: string; inputs: readonly string[] }; floatMs: number; quantizedMs: number; kept: string }[] }).speedChoices;
    if (speed) {
      info.speed = speed.map((c) => ({ layer: layerName(c), floatMs: c.floatMs, quantizedMs: c.quantizedMs, kept: c.kept }));
      if (!o.json) console.log(`speed check: ${speed.filter((c) => c.kept === 'float32').length} of ${speed.length} layers kept float32 (their ${o.scheme} step measured over 5% slower here)`);
    }
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

export async function compareModelCommand(o: CalibrationCommandOptions & AutoCommandOptions & SparsityCommandOptions & { scheme: QuantizeOptions['scheme'] }): Promise<void> {
  const { rt, model } = await open(o);
  try {
    const given = schemeFeeds(model, o);
    const q = await quantizeModel(model, { scheme: o.scheme, ...(given && { calibration: given }), ...methodOption(model, o), ...autoOptions(o), ...sparsityOptions(o) });
    // a calibration-free scheme without --input files is measured on --calibrate random normals (nothing was calibrated on them)
    const calibration = given ?? Array.from({ length: o.calibrate }, (_, i) => makeFeeds(model, o, i + 1));
    const bar = !o.json && process.stderr.isTTY ? new cliProgress.SingleBar({ format: 'per-layer error       {bar} {value}/{total}' }, cliProgress.Presets.shades_classic) : null;
    bar?.start(calibration.length, 0);
    const layers = await compareModels(model, q, calibration, () => bar?.increment());
    bar?.stop();
    const io = integerOnlyReport(q), att = attentionReport(q);
    if (o.json) console.log(JSON.stringify({ scheme: o.scheme, weightBytes: { float32: model.weightBytes, quantized: q.weightBytes }, layers, ...mixJson(q), ...io.json, ...att.json }, null, 2));
    else {
      if (io.line) console.log(io.line);
      if (att.line) console.log(att.line);
      if (q.mix && q.choices) {
        printMix(q.mix, q.choices, layerName);
        console.log('');
      }
      console.log(`${o.scheme}: weights ${(q.weightBytes / 2 ** 20).toFixed(2)} MiB (float32 ${(model.weightBytes / 2 ** 20).toFixed(2)} MiB); error accumulated through the model, ${calibration.length} ${given ? 'input(s)' : 'random normal input(s) (no --input files; the scheme needs no calibration)'}`);
      printColumns(['layer', 'kind', 'scheme', 'output', 'SQNR dB', 'cosine', 'max |err|'], layers.map((l) => [l.name, l.kind, l.scheme, `[${l.dims.join(',')}]`, l.sqnrDb.toFixed(1), l.cosine.toFixed(5), l.maxAbs.toExponential(2)]));
      // why a weight layer stayed float32 (grouped convolution, int8 shape rule, ...): one line each, not a wide column
      const kept = layers.filter((l) => l.why);
      if (kept.length) {
        console.log(`\n${kept.length} weight layer(s) stayed float32:`);
        for (const l of kept) console.log(`  ${l.name}: ${l.why}`);
      }
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

/** The 'auto' search's report for --json (layers by name). */
function mixJson(q: Awaited<ReturnType<typeof quantizeModel>>): Record<string, unknown> {
  if (!q.mix || !q.choices) return {};
  return { mix: q.mix, choices: q.choices.map((c) => ({ layer: layerName(c), scheme: c.scheme, why: c.why, trials: c.trials })) };
}
