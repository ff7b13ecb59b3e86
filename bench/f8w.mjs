#!/usr/bin/env node
// FP8-weight GEMV/GEMM (f8w: E4M3FN and E5M2 codes, and the FPx splits E3M4 and E2M5, x float32
// activations) against lowbit's INT8 GEMV/GEMM (qs8, the same 1 byte per weight) and float32 GEMM
// (4 bytes per weight).
//
//   node bench/f8w.mjs                 both builds, 1 thread, prints a markdown table
//   node bench/f8w.mjs --threads 2     ... with 2-thread runtimes
//   node bench/f8w.mjs --quick         smoke run (short sampling)
//   node bench/f8w.mjs --builds relaxed  only these builds (comma-separated; default baseline,relaxed)
//   node bench/f8w.mjs --out FILE      also write the table to FILE
//
// It imports ../dist/index.js: run `npm run build` first.
//
// One child process per build (the relaxed build needs V8 flags on Node 20). In a child, for each
// shape, the four kernels are measured interleaved: a sample is a block of calls (as many as take
// ~40 ms, fixed per kernel after a calibration), and the kernels take turns sample by sample in a
// rotating order, so a slow spell of this shared 2-vCPU machine hits all of them alike. The
// reported rate is the median over samples (wall clock). The ratio is also given on CPU time
// (process.cpuUsage, 1 thread only), which is less sensitive to other processes taking the core.
// Weight-streaming shapes (M <= 8) rotate through copies of the weights covering 3x the L3, so
// each call reads them from DRAM; the BERT shape's weights stay hot.
//
// Data: W is Gaussian; f8w quantizes it with the default per-column absmax scales (so the codes have
// the subnormal fraction real weights have), qs8 gets full-range int8 weights ('c2' layout on both
// builds) and uint8 activations with a float32 dequantized output (the same kind of result as f8w),
// f32 gets W itself. Every call goes through the public API (runF8w / runQs8 / runF32): copying x
// in, staging, running, copying y out, as a user would.

import { fork } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createRuntime, mulberry32 } from '../dist/index.js';
import { packF8w, runF8w, quantizeF8w, packQs8, runQs8, packF32, runF32 } from '../dist/kernels.js';
import { l3Bytes, loadavg, machine, otherLoadMeter, waitForQuiet } from './system.mjs';
import { median } from './timing.mjs';
import { RELAXED_FLAGS } from './common.mjs';

const SHAPES = [
  { m: 1, k: 4096, n: 4096, stream: true },
  { m: 1, k: 4096, n: 11008, stream: true },
  { m: 8, k: 4096, n: 4096, stream: true },
  { m: 128, k: 768, n: 3072, stream: false },
];
const KERNELS = ['f8w e4m3', 'f8w e5m2', 'f8w e3m4', 'f8w e2m5', 'qs8', 'f32'];
const key = ({ m, k, n }) => `${m}×${k}×${n}`;
const log = (s) => process.stderr.write(`${s}\n`);

function parseArgs(argv) {
  const a = { quick: false, threads: 1, child: false, simd: 'baseline', out: null, builds: ['baseline', 'relaxed'] };
  for (let i = 0; i < argv.length; i++) {
    const x = argv[i];
    if (x === '--quick') a.quick = true;
    else if (x === '--child') a.child = true;
    else if (x === '--threads') a.threads = Number(argv[++i]);
    else if (x === '--simd') a.simd = argv[++i];
    else if (x === '--out') a.out = argv[++i];
    else if (x === '--builds') a.builds = argv[++i].split(',');
    else throw new Error(`unknown argument ${x}`);
  }
  return a;
}

function gaussian(n, seed) {
  const r = mulberry32(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
  return out;
}

// ---------------------------------------------------------------------------------------------
// child

async function measureShape(rt, shape, quick) {
  const { m, k, n, stream } = shape;
  const copies = (bytes) => (stream ? Math.max(1, Math.ceil((3 * l3Bytes()) / bytes)) : 1);
  const wf = gaussian(k * n, 1000 + n);
  const x = gaussian(m * k, 2000 + k);
  const r = mulberry32(3000 + n);
  const a8 = Uint8Array.from({ length: m * k }, () => Math.floor(r() * 256));
  const w8 = Int8Array.from({ length: k * n }, () => Math.floor(r() * 256) - 128);
  const colScale = new Float32Array(n).fill(1e-3);

  const kernels = {};
  let subnormals = 0;
  let subnormalsE2 = 0;
  for (const [name, format] of [['f8w e4m3', 'e4m3fn'], ['f8w e5m2', 'e5m2'], ['f8w e3m4', 'E3M4'], ['f8w e2m5', 'E2M5']]) {
    const q = quantizeF8w(wf, k, n, { format });
    if (format === 'e4m3fn') for (const c of q.codes) if ((c & 0x78) === 0 && (c & 7) !== 0) subnormals++;
    if (format === 'E2M5') for (const c of q.codes) if ((c & 0x60) === 0 && (c & 0x1f) !== 0) subnormalsE2++;
    const ws = Array.from({ length: copies(k * n) }, () => packF8w(rt, q, k, n));
    kernels[name] = { ws, call: (i) => runF8w(rt, x, m, ws[i % ws.length]) };
  }
  {
    const ws = Array.from({ length: copies(k * n) }, () => packQs8(rt, w8, k, n, new Int32Array(n)));
    kernels.qs8 = { ws, layout: ws[0].layout, call: (i) => runQs8(rt, a8, m, 128, ws[i % ws.length], { kind: 'float32', colScale }) };
  }
  {
    const ws = Array.from({ length: copies(4 * k * n) }, () => packF32(rt, wf, k, n));
    kernels.f32 = { ws, call: (i) => runF32(rt, x, m, ws[i % ws.length]) };
  }

  // calibrate: calls per sample so that a sample takes ~40 ms (5 ms in --quick)
  const target = quick ? 5 : 40;
  for (const kn of Object.values(kernels)) {
    for (let i = 0; i < 2; i++) await kn.call(i);
    const t0 = performance.now();
    let c = 0;
    while (performance.now() - t0 < target / 2 || c < 1) await kn.call(c++);
    kn.per = Math.max(1, Math.round((c * target) / (performance.now() - t0)));
    kn.wall = [];
    kn.cpu = [];
    kn.i = 0;
  }
  await waitForQuiet(quick ? 2 : 20);
  const other = otherLoadMeter();
  const samples = quick ? 5 : 21;
  const names = Object.keys(kernels);
  for (let s = 0; s < samples; s++) {
    for (let j = 0; j < names.length; j++) {
      const kn = kernels[names[(s + j) % names.length]];
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      for (let c = 0; c < kn.per; c++) await kn.call(kn.i++);
      const t1 = performance.now();
      const cu = process.cpuUsage(c0);
      kn.wall.push((t1 - t0) / 1e3 / kn.per);
      kn.cpu.push((cu.user + cu.system) / 1e6 / kn.per);
    }
  }
  const otherLoad = other();
  const ops = 2 * m * k * n;
  const res = { shape: key(shape), stream, otherLoad, subnormalFraction: subnormals / (k * n), subnormalFractionE2: subnormalsE2 / (k * n), qs8Layout: kernels.qs8.layout };
  for (const name of names) {
    const kn = kernels[name];
    res[name] = { gops: ops / median(kn.wall) / 1e9, gopsCpu: ops / median(kn.cpu) / 1e9, copies: kn.ws.length, per: kn.per };
    for (const w of kn.ws) w.dispose();
  }
  return res;
}

async function runChild({ simd, threads, quick }) {
  const rt = await createRuntime({ simd, threads });
  const out = { simd: rt.features.simd, threads, shapes: [] };
  for (const shape of SHAPES) {
    log(`[${simd} x${threads}] ${key(shape)}`);
    out.shapes.push(await measureShape(rt, shape, quick));
  }
  rt.dispose();
  return out;
}

// ---------------------------------------------------------------------------------------------
// parent

function childRun(simd, args) {
  return new Promise((resolve, reject) => {
    const argv = ['--child', '--simd', simd, '--threads', String(args.threads), ...(args.quick ? ['--quick'] : [])];
    const child = fork(fileURLToPath(import.meta.url), argv, { execArgv: simd === 'relaxed' ? RELAXED_FLAGS : [] });
    let result = null;
    child.on('message', (msg) => (result = msg));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 && result ? resolve(result) : reject(new Error(`${simd} child exited with ${code}`))));
  });
}

const f1 = (x) => x.toFixed(1);
const f2 = (x) => `${x.toFixed(2)}×`;

function render(results, args, started) {
  const mc = machine();
  const lines = [];
  lines.push('# f8w: FP8 weights × float32 activations');
  lines.push('');
  lines.push(`- Command: \`node bench/f8w.mjs${args.threads !== 1 ? ` --threads ${args.threads}` : ''}${args.builds.length < 2 ? ` --builds ${args.builds.join(',')}` : ''}${args.quick ? ' --quick' : ''}\` (after \`npm run build\`), ${started.toISOString()}`);
  lines.push(`- Machine: ${mc.model}, ${mc.cores} cores (${mc.caches}); Node ${mc.node}, V8 ${mc.v8}; lowbit ${mc.commit}`);
  lines.push(`- loadavg at the end: ${loadavg()}. **This is a shared 2-vCPU VM with other work running: read differences below ~15% as noise.**`);
  lines.push('- Rates in GOPS (2·M·K·N / time), median of interleaved samples, wall clock; "cpu" ratios use CPU time instead (1 thread). Weights rotated through copies covering 3× L3 (read from DRAM) for M ≤ 8; hot for 128×768×3072.');
  lines.push('- qs8: lowbit INT8 GEMM/GEMV (int8 weights, uint8 activations, float32 output; layout noted). f32: lowbit float32 GEMM/GEMV.');
  lines.push('');
  lines.push('| shape M×K×N | build | thr | f8w e4m3 | f8w e5m2 | f8w e3m4 | f8w e2m5 | qs8 int8 | f32 | e4m3 / qs8 | e5m2 / qs8 | e2m5 / e4m3 | e4m3 / qs8 (cpu) | e4m3 / f32 | other load (cores) |');
  lines.push('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const r of results) {
    for (const s of r.shapes) {
      const e4 = s['f8w e4m3'];
      const e5 = s['f8w e5m2'];
      const e3 = s['f8w e3m4'];
      const e2 = s['f8w e2m5'];
      const q = s.qs8;
      const f = s.f32;
      lines.push(`| ${s.shape}${s.stream ? ' (DRAM)' : ' (hot)'} | ${r.simd} | ${r.threads} | ${f1(e4.gops)} | ${f1(e5.gops)} | ${f1(e3.gops)} | ${f1(e2.gops)} | ${f1(q.gops)} (${s.qs8Layout}) | ${f1(f.gops)} | ${f2(e4.gops / q.gops)} | ${f2(e5.gops / q.gops)} | ${f2(e2.gops / e4.gops)} | ${r.threads === 1 ? f2(e4.gopsCpu / q.gopsCpu) : '—'} | ${f2(e4.gops / f.gops)} | ${s.otherLoad.toFixed(2)} |`);
    }
  }
  const sub = results[0]?.shapes.map((s) => `${s.shape}: ${(s.subnormalFraction * 100).toFixed(3)}%`).join(', ');
  lines.push('');
  lines.push(`E4M3 subnormal codes in the quantized Gaussian weights (default absmax scales): ${sub}.`);
  const sub2 = results[0]?.shapes.map((s) => `${s.shape}: ${(s.subnormalFractionE2 * 100).toFixed(1)}%`).join(', ');
  lines.push(`E2M5 subnormal codes (float32 subnormals after the decode): ${sub2}.`);
  return lines.join('\n');
}

const args = parseArgs(process.argv.slice(2));
if (args.child) {
  const out = await runChild(args);
  process.send(out);
} else {
  const started = new Date();
  const results = [];
  for (const simd of args.builds) results.push(await childRun(simd, args));
  const md = render(results, args, started);
  console.log(md);
  if (args.out) writeFileSync(args.out, `${md}\n`);
}
