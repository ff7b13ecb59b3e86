// Depthwise convolution (f32_dwconv_nhwc) on PP-OCRv4 recognizer shapes: GFLOPS of two builds of the
// kernel side by side, in one process, interleaved sample by sample, medians.
//
//   node bench/conv.mjs [--before a.wasm] [--after b.wasm] [--samples 21] [--ms 20] [--im2col]
//                       [--quiet 0.5] [--budget 30]
//
// Defaults: before = scratch/conv/before-baseline.wasm (the kernel as it was before the blocked
// rewrite, commit 02a8301; scratch/ is not committed, see load() to rebuild it), after = build/baseline.wasm. The two modules each get their own memory; the same seeded
// input and weights are placed in both, and the outputs are compared bit for bit (the baseline
// kernel's contract: same per-element order of accumulation, so the same bits whatever the blocking).
// For the relaxed builds pass their paths and run node with --experimental-wasm-relaxed-simd.
// GFLOPS = 2 * OH * OW * C * kh * kw / time (multiply-adds only): medians of wall time and of CPU time
// over the quiet pairs, and "best" = the fastest wall-time sample of all pairs. One thread. Inputs are hot in cache
// (the largest input is 1 MB), as they are between layers of the real model.
// --im2col also times f32_im2col_nhwc (GB/s of the matrix written) on the model's k x k convs.

import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { otherLoadMeter } from './system.mjs';

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : def;
};
const root = new URL('../', import.meta.url);
const beforePath = opt('--before', 'scratch/conv/before-baseline.wasm');
const afterPath = opt('--after', 'build/baseline.wasm');
const SAMPLES = Number(opt('--samples', '21'));
const SAMPLE_MS = Number(opt('--ms', '20'));
const QUIET = Number(opt('--quiet', '0.5')); // cores other processes may keep busy during a kept pair
const BUDGET_S = Number(opt('--budget', '30')); // seconds per shape to collect quiet pairs

function load(path) {
  if (!existsSync(new URL(path, root))) {
    throw new Error(`${path} not found. To rebuild the pre-rewrite kernel: take assembly/ from commit 02a8301 ` +
      `(mkdir /tmp/lb-before && git archive 02a8301 assembly asconfig.json | tar -x -C /tmp/lb-before), build it there with ` +
      `npx asc assembly/index.ts --target baseline -o before.wasm and pass --before /tmp/lb-before/before.wasm`);
  }
  const module = new WebAssembly.Module(readFileSync(new URL(path, root)));
  const memory = new WebAssembly.Memory({ initial: 512, maximum: 65536 });
  const inst = new WebAssembly.Instance(module, { env: { memory } });
  const k = inst.exports;
  let top = (k.heap_base() + 63) & ~63;
  const alloc = (bytes) => {
    const p = top;
    top = (top + bytes + 63) & ~63;
    return p;
  };
  return { path, k, memory, alloc };
}

function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// name, kh/kw, c, h, w, sh, sw, pad (all four sides)
const SHAPES = [
  ['dw3x3 c16 24x160 s1', 3, 16, 24, 160, 1, 1, 1],
  ['dw3x3 c64 24x160 s1', 3, 64, 24, 160, 1, 1, 1],
  ['dw3x3 c64 24x160 s2,1', 3, 64, 24, 160, 2, 1, 1],
  ['dw3x3 c128 12x160 s1', 3, 128, 12, 160, 1, 1, 1],
  ['dw3x3 c128 12x160 s1,2', 3, 128, 12, 160, 1, 2, 1],
  ['dw5x5 c240 12x80 s1', 5, 240, 12, 80, 1, 1, 2],
  ['dw5x5 c240 12x80 s2,1', 5, 240, 12, 80, 2, 1, 2],
  ['dw5x5 c480 6x80 s1', 5, 480, 6, 80, 1, 1, 2],
  ['dw5x5 c480 6x80 s2,1', 5, 480, 6, 80, 2, 1, 2],
];

function setupDw(mod, [, k, c, h, w, sh, sw, p]) {
  const oh = Math.floor((h + 2 * p - k) / sh) + 1, ow = Math.floor((w + 2 * p - k) / sw) + 1;
  const cp = Math.ceil(c / 4) * 4;
  const r = rng(c * 1000 + h);
  const x = mod.alloc(h * w * c * 4), wts = mod.alloc((k * k + 1) * cp * 4), y = mod.alloc(oh * ow * c * 4);
  const xv = new Float32Array(mod.memory.buffer, x, h * w * c);
  for (let i = 0; i < xv.length; i++) xv[i] = r() * 2 - 1;
  const wv = new Float32Array(mod.memory.buffer, wts, (k * k + 1) * cp);
  for (let i = 0; i < wv.length; i++) wv[i] = (i % cp) < c ? r() - 0.5 : 0;
  const run = () => mod.k.f32_dwconv_nhwc(h, w, c, k, k, sh, sw, p, p, 1, 1, 0, oh, ow, x, wts, y, -Infinity, Infinity);
  const out = () => new Uint32Array(mod.memory.buffer, y, oh * ow * c).slice();
  return { run, out, flops: 2 * oh * ow * c * k * k, bytes: 0 };
}

function setupIm2col(mod, [, k, c, h, w, sh, sw, p]) {
  const oh = Math.floor((h + 2 * p - k) / sh) + 1, ow = Math.floor((w + 2 * p - k) / sw) + 1;
  const x = mod.alloc(h * w * c * 4), out = mod.alloc(oh * ow * k * k * c * 4);
  const xv = new Float32Array(mod.memory.buffer, x, h * w * c);
  const r = rng(7);
  for (let i = 0; i < xv.length; i++) xv[i] = r();
  const run = () => mod.k.f32_im2col_nhwc(h, w, c, c, k, k, sh, sw, p, p, 1, 1, 0, oh, ow, x, out);
  const res = () => new Uint32Array(mod.memory.buffer, out, oh * ow * k * k * c).slice();
  return { run, out: res, flops: 0, bytes: oh * ow * k * k * c * 4 };
}

const IM2COL_SHAPES = [
  ['im2col 3x3 c3 48x320 s2', 3, 3, 48, 320, 2, 2, 1],
  ['im2col 3x3 c16 24x160 s1', 3, 16, 24, 160, 1, 1, 1],
];

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

function repsFor(run) {
  let reps = 1;
  for (;;) {
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) run();
    const dt = performance.now() - t0;
    if (dt >= SAMPLE_MS / 4) return Math.max(1, Math.round((reps * SAMPLE_MS) / dt));
    reps *= 2;
  }
}

// one sample: wall seconds per call, and this process's CPU seconds per call (user + system; on a
// shared machine the CPU time leaves out the time the scheduler gave to other processes)
function sample(run, reps) {
  const c0 = process.cpuUsage(), t0 = performance.now();
  for (let i = 0; i < reps; i++) run();
  const wall = (performance.now() - t0) / 1e3 / reps, c = process.cpuUsage(c0);
  return [wall, (c.user + c.system) / 1e6 / reps];
}

const before = load(beforePath), after = load(afterPath);
console.log(`f32_dwconv_nhwc, 1 thread; node ${process.version}; ${os.cpus()[0]?.model ?? '?'}; loadavg ${os.loadavg()[0].toFixed(2)}`);
console.log(`before: ${beforePath}\nafter:  ${afterPath}`);
console.log(`medians of ${SAMPLES} interleaved sample pairs of ~${SAMPLE_MS} ms each, kept where other processes kept < ${QUIET} cores busy`);
console.log(`(if fewer than ${SAMPLES} such pairs came in ${BUDGET_S} s, all pairs; "other load" is their median); CPU time = this process's\n`);

const rows = [];
const cases = [...SHAPES.map((s) => [s, setupDw])];
if (args.includes('--im2col')) cases.push(...IM2COL_SHAPES.map((s) => [s, setupIm2col]));
for (const [shape, setup] of cases) {
  const a = setup(before, shape), b = setup(after, shape);
  a.run();
  b.run();
  const oa = a.out(), ob = b.out();
  let diff = 0;
  for (let i = 0; i < oa.length; i++) if (oa[i] !== ob[i]) diff++;
  const ra = repsFor(a.run), rb = repsFor(b.run);
  // Sample pairs (before, after; the order alternates) until SAMPLES pairs ran while other processes
  // kept less than QUIET cores busy, or the time budget ran out (then every pair counts).
  const ta = [], tb = [], all = [];
  const t0 = performance.now();
  for (let s = 0; ta.length < SAMPLES && (performance.now() - t0 < BUDGET_S * 1e3 || all.length < SAMPLES); s++) {
    const other = otherLoadMeter();
    let pa, pb;
    if (s & 1) {
      pb = sample(b.run, rb);
      pa = sample(a.run, ra);
    } else {
      pa = sample(a.run, ra);
      pb = sample(b.run, rb);
    }
    const load = other();
    all.push([pa, pb, load]);
    if (load < QUIET) {
      ta.push(pa);
      tb.push(pb);
    }
  }
  let loads = all.filter((x) => x[2] < QUIET).map((x) => x[2]);
  if (ta.length < SAMPLES) {
    ta.length = tb.length = 0;
    for (const [pa, pb] of all) {
      ta.push(pa);
      tb.push(pb);
    }
    loads = all.map((x) => x[2]);
  }
  const wa = median(ta.map((t) => t[0])), wb = median(tb.map((t) => t[0]));
  const ca = median(ta.map((t) => t[1])), cb = median(tb.map((t) => t[1]));
  const ba = Math.min(...all.map((t) => t[0][0])), bb = Math.min(...all.map((t) => t[1][0]));
  const unit = a.flops ? (t) => a.flops / t / 1e9 : (t) => a.bytes / t / 1e9;
  rows.push([
    shape[0], unit(wa).toFixed(1), unit(wb).toFixed(1), (wa / wb).toFixed(2),
    unit(ca).toFixed(1), unit(cb).toFixed(1), (ca / cb).toFixed(2),
    unit(ba).toFixed(1), unit(bb).toFixed(1), (ba / bb).toFixed(2),
    diff ? `${diff} differ` : 'same bits', `${ta.length}/${all.length}`, median(loads).toFixed(2),
  ]);
  if (args.includes('--verbose')) console.log(rows.at(-1).join(' | '));
}
console.log(`unit: ${cases.some(([, s]) => s === setupIm2col) ? 'GFLOPS (dwconv), GB/s written (im2col)' : 'GFLOPS'}`);
console.log('| shape | before | after | speed-up | before (CPU time) | after (CPU time) | speed-up (CPU) | before (best) | after (best) | speed-up (best) | outputs | pairs kept | other load |');
console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|');
for (const r of rows) console.log(`| ${r.join(' | ')} |`);
// the register-only f32x4 mul+add loop of the after module (8 independent chains), same sampling
if (after.k.ceiling_f32_madd) {
  const iters = 1e5, flops = iters * 64;
  const run = () => after.k.ceiling_f32_madd(iters, 1);
  const reps = repsFor(run), ts = [];
  for (let s = 0; s < SAMPLES; s++) ts.push(sample(run, reps)[0]);
  const med = flops / median(ts) / 1e9, best = flops / Math.min(...ts) / 1e9;
  console.log(`\nregister-only ceiling (ceiling_f32_madd, after module): median ${med.toFixed(1)}, best ${best.toFixed(1)} GFLOPS`);
}
console.log(`\nloadavg at end ${os.loadavg()[0].toFixed(2)}`);
