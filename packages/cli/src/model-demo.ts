// `lowbit demo`: the built-in model (PaddleOCR PP-OCRv4 text recognizer) on the project's own
// labelled text lines, in float32 and in each quantized scheme, beside onnxruntime-web running the
// float model in the same process. The lines are split (ocr-split.ts: every font in both parts):
// quantization calibrates on one part, accuracy is scored on the other. Prints accuracy (exact
// match, character error rate), latency, weight size and speed-ups, then the layers quantization
// hurt most.

import { readFileSync } from 'node:fs';
import cliProgress from 'cli-progress';
import {
  FORMAT_NAMES, WEIGHT_FORMATS, compareModels, createRuntime, floatData, loadModel, quantizeModel,
  type Feeds, type LayerError, type Model, type OutputMetric, type OutputTensor, type SimdChoice,
} from 'lowbit';
import { ctcGreedyDecode, scoreReadings, toModelInput } from 'lowbit/ocr';
import { loadDictionary, ocrModelAsset } from './ocr-assets.js';
import { loadOcrLines, type OcrLine } from './ocr-lines.js';
import { splitOcrLines } from './ocr-split.js';
import { budgetText } from './mix-report.js';
import { writeHtmlReport } from './html-report.js';

export interface ModelDemoOptions {
  threads: number;
  simd: SimdChoice;
  /** use the first N lines (default: all) */
  lines?: number;
  /** per font, every k-th line calibrates and the rest are scored (splitOcrLines; default 4) */
  calibrateEvery: number;
  json: boolean;
  html?: string;
  /** also run onnxruntime-web (if installed) */
  ort: boolean;
  /** the quantized schemes to run (default: all of DEMO_SCHEMES); float32 always runs */
  schemes?: readonly DemoScheme[];
}

/** every weight format of the table, then the auto-mixed scheme */
export const DEMO_SCHEMES: readonly string[] = [...FORMAT_NAMES, 'auto'];
export type DemoScheme = string;

export interface SchemeRow {
  scheme: string;
  exactMatch: number;
  cer: number;
  msPerLine: number;
  weightMB: number;
  vsFloat: number;
  vsOrt: number | null;
}

interface Runner {
  name: string;
  weightBytes: number;
  run: (f: Feeds) => Promise<{ data: Float32Array; dims: readonly number[] }>;
}

const MODEL_FILE = 'ch_PP-OCRv4_rec_infer.onnx';

function bar(label: string, total: number, quiet: boolean): { tick: () => void; stop: () => void } {
  if (quiet || !process.stderr.isTTY) return { tick: () => {}, stop: () => {} };
  const b = new cliProgress.SingleBar({ format: `${label.padEnd(22)} {bar} {value}/{total} {duration_formatted}`, hideCursor: true, clearOnComplete: false }, cliProgress.Presets.shades_classic);
  b.start(total, 0);
  return { tick: () => b.increment(), stop: () => b.stop() };
}

async function ortRunner(bytes: Uint8Array, threads: number): Promise<Runner | null> {
  let ort: typeof import('onnxruntime-web');
  try {
    ort = await import('onnxruntime-web');
  } catch {
    return null;
  }
  ort.env.wasm.numThreads = threads;
  const session = await ort.InferenceSession.create(bytes);
  return {
    name: 'onnxruntime-web float32',
    weightBytes: NaN,
    run: async (f) => {
      const x = f.x;
      const out = Object.values(await session.run({ x: new ort.Tensor('float32', x.data as Float32Array, [...x.dims]) }))[0];
      return { data: out.data as Float32Array, dims: out.dims };
    },
  };
}

const modelRunner = (name: string, m: Model): Runner => ({
  name,
  get weightBytes() {
    return m.weightBytes;
  },
  run: async (f) => {
    const out = Object.values(await m.run(f))[0];
    return { data: floatData(out, `${name}: the recognizer's output`), dims: out.dims };
  },
});

export async function runModelDemo(o: ModelDemoOptions): Promise<{ rows: SchemeRow[]; layers: LayerError[] }> {
  const log = (s: string) => o.json || console.log(s);
  const rt = await createRuntime({ simd: o.simd, threads: o.threads });
  try {
    const bytes = new Uint8Array(readFileSync(ocrModelAsset(MODEL_FILE)));
    const dict = loadDictionary();
    let all: OcrLine[] = loadOcrLines();
    if (o.lines) all = all.slice(0, o.lines);
    const split = splitOcrLines(all, o.calibrateEvery);
    const lines = split.test;
    const feeds = (l: OcrLine): Feeds => ({ x: toModelInput([l]) });
    log(`lowbit ${rt.features.simd} build (${rt.features.reason}), ${rt.threads} thread(s); PP-OCRv4 recognizer; quantization calibrates on ${split.calibration.length} text lines (1 line in ${o.calibrateEvery} of each font), scores are on the other ${lines.length} lines, never seen by calibration`);

    const float = loadModel(rt, bytes);
    const calibration = split.calibration.map(feeds);
    const want = new Set<DemoScheme>(o.schemes ?? DEMO_SCHEMES);
    // one quantized model per format asked for, in the table's order (int8's calibration shows progress)
    const quantized: [string, Model][] = [];
    for (const format of WEIGHT_FORMATS.filter((f) => want.has(f.name))) {
      const cb = format.needsInputRange ? bar(`calibrating ${format.name}`, calibration.length, o.json) : null;
      quantized.push([format.label, await quantizeModel(float, { scheme: format.name, calibration, onProgress: cb ? () => cb.tick() : undefined })]);
      cb?.stop();
    }
    let ab: ReturnType<typeof bar> | null = null;
    // the task's own metric for the search: lines read exactly as float32 reads them
    const text = (t: OutputTensor) => ctcGreedyDecode(floatData(t, 'the recognizer\'s output'), t.dims as number[], dict)[0].text;
    const sameText: OutputMetric = {
      name: 'lines read as float32 reads them',
      score: (ref, got) => ref.filter((r, i) => text(Object.values(r)[0]) === text(Object.values(got[i])[0])).length / Math.max(ref.length, 1),
    };
    const auto = !want.has('auto') ? null : await quantizeModel(float, {
      scheme: 'auto', calibration, metric: sameText,
      onProgress: (d, t, phase) => {
        if (phase !== 'measuring layers') return;
        ab ??= bar('auto-mixed search', t, o.json);
        ab.tick();
      },
    });
    (ab as ReturnType<typeof bar> | null)?.stop();
    const mix = (auto?.choices ?? []).reduce<Record<string, number>>((m, c) => ((m[c.scheme] = (m[c.scheme] ?? 0) + 1), m), {});
    const mixLabel = `auto-mixed (${Object.entries(mix).map(([scheme, n]) => `${n} ${scheme}`).join(', ')})`;
    if (auto) quantized.push([mixLabel, auto]);

    const runners: Runner[] = [modelRunner('float32', float), ...quantized.map(([label, m]) => modelRunner(label, m))];
    const ort = o.ort ? await ortRunner(bytes, o.threads) : null;
    if (ort) runners.push(ort);
    else if (o.ort) log('(onnxruntime-web is not installed: its column is left out)');

    // warm up each on one line, then run every line through every runner in turn
    for (const r of runners) await r.run(feeds(lines[0]));
    const hyps = runners.map(() => [] as string[]);
    const ms = runners.map(() => 0);
    const rb = bar('reading lines', lines.length, o.json);
    for (const [i, line] of lines.entries()) {
      const f = feeds(line);
      for (let j = 0; j < runners.length; j++) {
        const r = runners[(i + j) % runners.length];
        const k = runners.indexOf(r);
        const t0 = performance.now();
        const out = await r.run(f);
        ms[k] += performance.now() - t0;
        hyps[k].push(ctcGreedyDecode(out.data, out.dims as number[], dict)[0].text);
      }
      rb.tick();
    }
    rb.stop();

    const refs = lines.map((l) => l.label);
    const floatMs = ms[0], ortMs = ort ? ms[runners.indexOf(ort)] : null;
    const rows: SchemeRow[] = runners.map((r, k) => {
      const s = scoreReadings(refs, hyps[k]);
      return {
        scheme: r.name, exactMatch: s.accuracy, cer: s.meanCer, msPerLine: ms[k] / lines.length,
        weightMB: (r === ort ? float.weightBytes : r.weightBytes) / 2 ** 20, vsFloat: floatMs / ms[k], vsOrt: ortMs === null ? null : ortMs / ms[k],
      };
    });

    // the per-layer report is the first quantized scheme's (int8's, when it runs)
    const reported = quantized[0]?.[1];
    const reportedName = reported?.scheme ?? '';
    const lb = bar('per-layer error', Math.min(8, calibration.length), o.json);
    const layers = reported ? await compareModels(float, reported, calibration.slice(0, 8), () => lb.tick()) : [];
    lb.stop();

    if (o.json) {
      console.log(JSON.stringify({ features: rt.features, threads: rt.threads, lines: lines.length, calibrationLines: calibration.length, rows, layers, mix: auto?.mix, choices: auto?.choices?.map((c) => ({ layer: c.node.inputs[1]?.split('::')[0], scheme: c.scheme, why: c.why })) }, null, 2));
    } else {
      printTable(rows);
      if (auto?.mix) {
        const m = auto.mix, h = m.heldOut;
        console.log(`\n${mixLabel}: a format per layer by its measured effect on the output (budget: ${budgetText(m)}; per-frame top-1 disagreements grow at most as the noise may, and as many lines read as float32 reads them as all-int8 reads), searched on ${m.search.inputs} calibration lines (SQNR ${m.search.mix.sqnrDb.toFixed(1)} dB vs int8 ${m.search.int8.sqnrDb.toFixed(1)} dB)${h ? `, checked on ${h.inputs} held-back calibration lines (${h.mix.sqnrDb.toFixed(1)} vs ${h.int8.sqnrDb.toFixed(1)} dB: ${h.withinBudget ? 'within' : 'NOT within'} budget)` : ''}; depthwise convolutions stay float32. \`lowbit compare MODEL --scheme auto\` prints each layer's decision.`);
      }
      if (reported) printWorstLayers(layers, reportedName);
    }
    if (o.html) {
      writeHtmlReport(o.html, { title: 'lowbit demo: PP-OCRv4 recognizer', features: `${rt.features.simd}, ${rt.threads} thread(s)`, lines: lines.length, rows, layers });
      log(`\nHTML report: ${o.html}`);
    }
    for (const m of [float, ...quantized.map(([, q]) => q)]) m.dispose();
    return { rows, layers };
  } finally {
    rt.dispose();
  }
}

function printTable(rows: SchemeRow[]): void {
  const head = ['scheme', 'exact match', 'CER', 'ms/line', 'weights MiB', 'vs float32', 'vs ORT float'];
  const body = rows.map((r) => [
    r.scheme, `${(100 * r.exactMatch).toFixed(1)}%`, `${(100 * r.cer).toFixed(2)}%`, r.msPerLine.toFixed(1), r.weightMB.toFixed(2),
    `${r.vsFloat.toFixed(2)}x`, r.vsOrt === null ? '-' : `${r.vsOrt.toFixed(2)}x`,
  ]);
  printColumns(head, body);
}

export function printWorstLayers(layers: LayerError[], scheme: string, count = 8): void {
  const worst = [...layers].sort((a, b) => a.sqnrDb - b.sqnrDb).slice(0, count);
  console.log(`\nlayers furthest from float32 (${scheme}, accumulated error, on calibration lines):`);
  printColumns(
    ['layer', 'kind', 'scheme', 'SQNR dB', 'cosine', 'max |err|'],
    worst.map((l) => [l.name, l.kind, l.scheme, l.sqnrDb.toFixed(1), l.cosine.toFixed(5), l.maxAbs.toExponential(2)]),
  );
}

export function printColumns(head: string[], body: string[][]): void {
  const w = head.map((h, i) => Math.max(h.length, ...body.map((r) => r[i].length)));
  const fmt = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  ');
  console.log(fmt(head));
  for (const r of body) console.log(fmt(r));
}
