#!/usr/bin/env node
// 4-bit weights for LLM-style decoding: lowbit W4A8 (runQb4, int8 activations per block of 32) and
// W4A32 (runQb4F32) against onnxruntime-web's com.microsoft MatMulNBits (accuracy_level 0 and 4),
// our INT8 (packQs8/runQs8, int32 out) and our f32 (packF32/runF32), per shape and for one
// 7B-class transformer block at M = 1. Writes bench/RESULTS-int4.md with --write.
//
//   node bench/int4.mjs                     1 thread: a baseline child (lowbit + ORT) and a relaxed child
//   node bench/int4.mjs --threads 1,2       ... and the same at 2 threads
//   node bench/int4.mjs --write             ... and writes bench/RESULTS-int4.md
//   node bench/int4.mjs --quick             smoke run (tiny sampling times, one round)
//   node bench/int4.mjs --save F            also saves the children's results as JSON in F
//   node bench/int4.mjs --load F1,F2 --write  renders saved results (e.g. two runs) without measuring
//
// It imports ../dist/index.js: run `npm run build` first. As in bench/run.mjs the parent measures
// nothing; one child per (build, threads), one after another (ORT fixes its thread count per
// process; the relaxed build needs V8 flags on Node 20). ORT runs in the baseline child only.

import { fork, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createRuntime, toMatMulNBits } from '../dist/index.js';
import { packQb4, runQb4, runQb4F32, refQb4, refQb4F32, packQs8, runQs8, packF32, runF32 } from '../dist/kernels.js';
import { activationsF32, activationsU8, weightsI8, hashOf } from './data.mjs';
import { copiesFor } from './lowbit.mjs';
import { l3Bytes, loadavg, machine } from './system.mjs';
import { timeAsync, timingOptions, waitedForQuiet } from './timing.mjs';
import { RELAXED_FLAGS } from './common.mjs';
import {
  BLOCK_SIZE, DECODE_BLOCK, DECODE_BLOCK_OUTPUTS, bitEqual, errorVsDequantized, int4Bytes, int4Of, nbitsBlockModel, nbitsModel, ortSession, ortTensor, relDiff,
  streamReadCeiling, weightsNK,
} from './int4-lib.mjs';

const SHAPES = [
  { m: 1, k: 4096, n: 4096, stream: true },
  { m: 1, k: 4096, n: 11008, stream: true },
  { m: 8, k: 4096, n: 4096, stream: true },
  { m: 128, k: 768, n: 3072, stream: false },
];

const BLOCK = DECODE_BLOCK;
const BLOCK_OUTPUTS = DECODE_BLOCK_OUTPUTS;
const BLOCK_OPS = BLOCK.reduce((s, l) => s + 2 * l.k * l.n, 0);
const MODEL_BLOCKS = 32;

const RESULTS = fileURLToPath(new URL('./RESULTS-int4.md', import.meta.url));
const shapeKey = ({ m, k, n }) => `${m}x${k}x${n}`;
const log = (msg) => process.stderr.write(`${msg}\n`);
/** weight copies rotate over 3x L3, as in bench/run.mjs */
const rotateBytes = () => 3 * l3Bytes();

function parseArgs(argv) {
  const args = { quick: false, write: false, child: false, simd: 'baseline', threads: [1], save: null, load: null, block: true, shapes: true };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') args.quick = true;
    else if (a === '--write') args.write = true;
    else if (a === '--child') args.child = true;
    else if (a === '--no-block') args.block = false;
    else if (a === '--block-only') args.shapes = false; // for merging with a run that has the shapes (--load)
    else if (a === '--simd') args.simd = argv[++i];
    else if (a === '--threads') args.threads = argv[++i].split(',').map(Number);
    else if (a === '--save') args.save = argv[++i];
    else if (a === '--load') args.load = argv[++i].split(',');
    else throw new Error(`unknown argument ${a}`);
  }
  return args;
}

// ---------------------------------------------------------------------------------------------
// child: one build, one thread count

/** Times run(copy) over the copies in turn (first call outside the timing, its output kept). */
async function timed(name, copies, run, opts) {
  const output = await run(copies[0]);
  let i = 0;
  const t = await timeAsync(name, () => run(copies[i++ % copies.length]), opts);
  return { seconds: t.seconds, samples: t.samples, rme: t.rme, otherLoad: t.otherLoad, copies: copies.length, output };
}

/** Keeps the faster round of each engine (its output from the first round) and every round's median. */
function merge(prev, next) {
  if (!prev) return { ...next, rounds: [next.seconds] };
  const best = next.seconds < prev.seconds ? { ...next, output: prev.output } : prev;
  return { ...best, rounds: [...prev.rounds, next.seconds] };
}

const disposeAll = (xs) => xs.forEach((x) => x.dispose());
const many = (count, make) => Array.from({ length: count }, make);

/** u8 activations for the next INT8 layer from int32 sums: dynamic per-tensor, zero point 128. */
function requantU8(acc) {
  let amax = 0;
  for (let i = 0; i < acc.length; i++) amax = Math.max(amax, Math.abs(acc[i]));
  const inv = amax > 0 ? 127 / amax : 0;
  const out = new Uint8Array(acc.length);
  for (let i = 0; i < acc.length; i++) out[i] = Math.round(acc[i] * inv) + 128;
  return out;
}

async function lowbitShape(rt, simd, shape, opts) {
  const { m, k, n } = shape;
  const rot = rotateBytes();
  const x = activationsF32(shape);
  const r = {};
  const blocks = int4Of(k, n);
  const w4 = many(copiesFor(shape, int4Bytes(k, n), rot), () => packQb4(rt, blocks));
  r.w4a8 = await timed('lowbit W4A8', w4, (p) => runQb4(rt, x, m, p, { activations: 'per-block' }), opts);
  if (m <= 8) r.w4a32 = await timed('lowbit W4A32', w4, (p) => runQb4F32(rt, x, m, p), opts);
  r.w4layout = w4[0].layout;
  disposeAll(w4);

  const a = activationsU8(shape);
  const zb = new Int8Array(n);
  const w8 = weightsI8(shape);
  const i8 = many(copiesFor(shape, k * n, rot), () => packQs8(rt, w8, k, n, zb, { allowSevenBit: false }));
  r.int8 = await timed('lowbit INT8', i8, (p) => runQs8(rt, a, m, 128, p, { kind: 'int32' }), opts);
  r.int8layout = i8[0].layout;
  disposeAll(i8);
  if (simd === 'relaxed') {
    const w7 = weightsI8(shape, true);
    const i7 = many(copiesFor(shape, k * n, rot), () => packQs8(rt, w7, k, n, zb));
    r.int8c4 = await timed('lowbit INT8 7-bit', i7, (p) => runQs8(rt, a, m, 128, p, { kind: 'int32' }), opts);
    r.int8c4layout = i7[0].layout;
    disposeAll(i7);
  }

  const wf = weightsNK(k, n);
  const f = many(copiesFor(shape, k * n * 4, rot), () => packF32(rt, wf, k, n, true));
  r.f32 = await timed('lowbit f32', f, (p) => runF32(rt, x, m, p), opts);
  disposeAll(f);
  return r;
}

async function ortShape(shape, opts) {
  const { m, k, n } = shape;
  const x = activationsF32(shape);
  const mnb = toMatMulNBits(int4Of(k, n));
  const copies = copiesFor(shape, mnb.B.byteLength + mnb.scales.byteLength, rotateBytes());
  const feed = { A: ortTensor(x, [m, k]) };
  const r = {};
  for (const level of [0, 4]) {
    const bytes = nbitsModel(shape, mnb, level);
    const sessions = [];
    for (let i = 0; i < copies; i++) sessions.push(await ortSession(bytes));
    r[`ort${level}`] = await timed(`ORT MatMulNBits acc${level}`, sessions, async (s) => (await s.run(feed)).Y.data, opts);
    for (const s of sessions) await s.release();
  }
  return r;
}

/** The block's layers, each with its own packed weights; `run(layer, input)` → output. */
async function blockForward(layers, x, run) {
  const h = { x };
  for (const l of layers) h[l.name] = await run(l, h[l.input]);
  return BLOCK_OUTPUTS.map((o) => h[o]);
}

async function lowbitBlock(rt, simd, opts) {
  const x = activationsF32({ m: 1, k: 4096, n: 4096 });
  const r = {};
  const w4 = BLOCK.map((l) => ({ ...l, w: packQb4(rt, int4Of(l.k, l.n)) }));
  r.bytesW4 = w4.reduce((s, l) => s + l.w.bytes, 0);
  r.w4a8 = await timed('block lowbit W4A8', [w4], (ls) => blockForward(ls, x, (l, v) => runQb4(rt, v, 1, l.w, { activations: 'per-block' })), opts);
  r.w4a32 = await timed('block lowbit W4A32', [w4], (ls) => blockForward(ls, x, (l, v) => runQb4F32(rt, v, 1, l.w)), opts);
  disposeAll(w4.map((l) => l.w));

  const a = activationsU8({ m: 1, k: 4096, n: 4096 });
  const int8Block = async (sevenBit) => {
    const ls = BLOCK.map((l) => ({
      ...l,
      w: packQs8(rt, weightsI8({ m: 1, k: l.k, n: l.n }, sevenBit), l.k, l.n, new Int8Array(l.n), { allowSevenBit: sevenBit }),
    }));
    // the first layer takes the u8 activations, later ones the previous int32 output requantized to u8
    const run = (l, v) => runQs8(rt, v instanceof Uint8Array ? v : requantU8(v), 1, 128, l.w, { kind: 'int32' });
    const t = await timed(`block lowbit INT8${sevenBit ? ' 7-bit' : ''}`, [ls], (xs) => blockForward(xs, a, run), opts);
    const layout = ls[0].w.layout;
    disposeAll(ls.map((l) => l.w));
    return { ...t, layout };
  };
  r.int8 = await int8Block(false);
  if (simd === 'relaxed') r.int8c4 = await int8Block(true);

  // f32: ~770 MB of weights, packed one layer at a time
  const fl = [];
  for (const l of BLOCK) fl.push({ ...l, w: packF32(rt, weightsNK(l.k, l.n), l.k, l.n, true) });
  r.bytesF32 = fl.reduce((s, l) => s + l.k * l.n * 4, 0);
  r.f32 = await timed('block lowbit f32', [fl], (ls) => blockForward(ls, x, (l, v) => runF32(rt, v, 1, l.w)), opts);
  disposeAll(fl.map((l) => l.w));
  return r;
}

async function ortBlock(opts) {
  const x = activationsF32({ m: 1, k: 4096, n: 4096 });
  const layers = BLOCK.map((l) => ({ ...l, mnb: toMatMulNBits(int4Of(l.k, l.n)) }));
  const r = {};
  for (const level of [0, 4]) {
    const s = await ortSession(nbitsBlockModel(layers, BLOCK_OUTPUTS, level));
    const feed = { x: ortTensor(x, [1, 4096]) };
    r[`ort${level}`] = await timed(`block ORT MatMulNBits acc${level}`, [s], async (ss) => {
      const out = await ss.run(feed);
      return BLOCK_OUTPUTS.map((o) => out[o].data);
    }, opts);
    await s.release();
  }
  return r;
}

async function runChild({ simd, threads, quick, block, shapes }) {
  const opts = timingOptions(quick);
  const say = (what) => log(`[int4 ${simd} x${threads}] ${what}`);
  const out = { simd, threads, shapes: {}, checks: {}, loadavgStart: loadavg() };
  const t0 = performance.now();
  say('streaming-read ceiling');
  out.streamGBs = await streamReadCeiling(simd, threads, quick);
  const rt = await createRuntime({ simd, threads });
  if (rt.features.simd !== simd) throw new Error(`asked for the ${simd} build, got ${rt.features.simd}`);
  out.features = rt.features;
  const withOrt = simd === 'baseline';
  if (withOrt) (await import('./peers.mjs')).initOrt(threads);

  const res = {};
  for (let round = 1; shapes && round <= opts.rounds; round++) {
    for (const shape of SHAPES) {
      const key = shapeKey(shape);
      say(`round ${round}: lowbit ${key}`);
      const r = await lowbitShape(rt, simd, shape, opts);
      res[key] ??= {};
      for (const [name, v] of Object.entries(r)) res[key][name] = typeof v === 'object' ? merge(res[key][name], v) : v;
    }
    if (!withOrt) continue;
    for (const shape of SHAPES) {
      const key = shapeKey(shape);
      say(`round ${round}: onnxruntime-web MatMulNBits ${key}`);
      for (const [name, v] of Object.entries(await ortShape(shape, opts))) res[key][name] = merge(res[key][name], v);
    }
  }

  // checks on the first round's outputs
  for (const shape of shapes ? SHAPES : []) {
    const key = shapeKey(shape);
    const r = res[key];
    const blocks = int4Of(shape.k, shape.n);
    const x = activationsF32(shape);
    const c = { hashW4A8: hashOf(r.w4a8.output) };
    if (r.w4a32) c.hashW4A32 = hashOf(r.w4a32.output);
    c.errW4A8 = errorVsDequantized(r.w4a8.output, x, shape.m, blocks);
    if (r.w4a32) c.errW4A32 = errorVsDequantized(r.w4a32.output, x, shape.m, blocks);
    if (key === '1x4096x4096') {
      c.w4a8MatchesRef = bitEqual(r.w4a8.output, refQb4(x, shape.m, blocks, null, 'per-block'));
      c.w4a32MatchesRef = bitEqual(r.w4a32.output, refQb4F32(x, shape.m, blocks, null));
    }
    if (withOrt) {
      c.errOrt0 = errorVsDequantized(r.ort0.output, x, shape.m, blocks);
      c.errOrt4 = errorVsDequantized(r.ort4.output, x, shape.m, blocks);
      c.ort4EqualsOrt0 = bitEqual(r.ort4.output, r.ort0.output);
      c.w4a8VsOrt4 = relDiff(r.w4a8.output, r.ort4.output);
      if (r.w4a32) {
        c.w4a32VsOrt0 = relDiff(r.w4a32.output, r.ort0.output);
        c.w4a32VsOrt0Ok = c.w4a32VsOrt0 <= 1e-3;
        say(`check ${key}: lowbit W4A32 vs ORT MatMulNBits acc0, max|diff|/max|ORT| = ${c.w4a32VsOrt0.toExponential(2)}: ${c.w4a32VsOrt0Ok ? 'OK' : 'MISMATCH'}`);
      }
    }
    out.checks[key] = c;
  }

  if (block) {
    const b = {};
    for (let round = 1; round <= opts.rounds; round++) {
      say(`round ${round}: decode block, lowbit`);
      const r = await lowbitBlock(rt, simd, opts);
      if (withOrt) {
        say(`round ${round}: decode block, onnxruntime-web`);
        Object.assign(r, await ortBlock(opts));
      }
      for (const [name, v] of Object.entries(r)) b[name] = typeof v === 'object' ? merge(b[name], v) : v;
    }
    if (withOrt) {
      // outputs [up, down] of the chain, from the first timed call of each
      const d = (p, q) => BLOCK_OUTPUTS.map((o, i) => `${o} ${relDiff(p.output[i], q.output[i]).toExponential(2)}`).join(', ');
      out.blockCheck = `W4A32 vs ORT acc0: ${d(b.w4a32, b.ort0)}; W4A8 vs ORT acc4: ${d(b.w4a8, b.ort4)}; W4A8 vs W4A32: ${d(b.w4a8, b.w4a32)}`;
      say(`check block: ${out.blockCheck}`);
    }
    out.block = b;
  }
  rt.dispose();

  const strip = (t) => t && { seconds: t.seconds, rounds: t.rounds ?? [t.seconds], samples: t.samples, rme: t.rme, copies: t.copies, otherLoad: t.otherLoad, layout: t.layout };
  for (const [key, r] of Object.entries(res)) {
    out.shapes[key] = { layouts: { w4: r.w4layout, int8: r.int8layout, int8c4: r.int8c4layout } };
    for (const [name, v] of Object.entries(r)) if (v?.seconds) out.shapes[key][name] = strip(v);
  }
  if (out.block) {
    for (const [name, v] of Object.entries(out.block)) if (v?.seconds) out.block[name] = strip(v);
  }
  say('streaming-read ceiling again');
  out.streamGBs = Math.max(out.streamGBs, await streamReadCeiling(simd, threads, quick));
  out.waited = waitedForQuiet();
  out.loadavgEnd = loadavg();
  out.minutes = (performance.now() - t0) / 60e3;
  return out;
}

// ---------------------------------------------------------------------------------------------
// parent

/** Other benchmark processes (bench/run.mjs) running now; pgrep without a shell matches only them. */
function otherBenchmarks() {
  const r = spawnSync('pgrep', ['-af', 'bench/run\\.mjs'], { encoding: 'utf8' });
  return (r.stdout ?? '').split('\n').filter(Boolean);
}

function runChildProcess(simd, threads, { quick, block, shapes }) {
  return new Promise((resolve, reject) => {
    const args = ['--child', '--simd', simd, '--threads', String(threads)];
    if (quick) args.push('--quick');
    if (!block) args.push('--no-block');
    if (!shapes) args.push('--block-only');
    const child = fork(fileURLToPath(import.meta.url), args, {
      execArgv: simd === 'relaxed' ? RELAXED_FLAGS : [],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    let result = null;
    child.on('message', (m) => (result = m));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 && result ? resolve(result) : reject(new Error(`child ${simd} x${threads} exited with ${code}`))));
  });
}

/**
 * Children of several saved runs with the same (build, threads) become one: per engine the faster
 * run's timing (every run's medians in `rounds`), the best streaming ceiling, the first run's checks.
 */
function mergeRuns(all) {
  const out = [];
  const best = (a, b) => (!a ? b : !b ? a : { ...(b.seconds < a.seconds ? b : a), rounds: [...a.rounds, ...b.rounds] });
  const mergeTimes = (x, y) => {
    const r = { ...x };
    for (const [name, v] of Object.entries(y ?? {})) r[name] = v?.seconds ? best(x?.[name], v) : (r[name] ?? v);
    return r;
  };
  for (const c of all) {
    const prev = out.find((o) => o.simd === c.simd && o.threads === c.threads);
    if (!prev) {
      out.push({ ...c, runs: 1 });
      continue;
    }
    prev.runs += 1;
    for (const key of Object.keys(c.shapes)) prev.shapes[key] = mergeTimes(prev.shapes[key], c.shapes[key]);
    if (c.block) prev.block = mergeTimes(prev.block, c.block);
    prev.streamGBs = Math.max(prev.streamGBs, c.streamGBs);
    prev.waited += c.waited;
    prev.minutes += c.minutes;
    prev.loadavgEnd = `${prev.loadavgEnd}; then ${c.loadavgStart} … ${c.loadavgEnd}`;
  }
  return out;
}

const ms = (t) => (t ? (t.seconds * 1e3).toFixed(3) : '—');
const gops = (ops, t) => (t ? (ops / t.seconds / 1e9).toFixed(1) : '—');
const ratio = (a, b) => (a && b ? `${(a / b).toFixed(2)}x` : '—');
const pct = (x) => `${(x * 100).toFixed(0)}%`;
const loadOf = (t) => (t ? t.otherLoad.toFixed(2) : '—');

function engines(simd, shape) {
  const list = [['w4a8', 'lowbit W4A8 (per-block int8 act)'], ['w4a32', 'lowbit W4A32']];
  list.push(['int8', simd === 'relaxed' ? 'lowbit INT8 full-range (c2)' : 'lowbit INT8']);
  if (simd === 'relaxed') list.push(['int8c4', 'lowbit INT8 7-bit (c4)']);
  list.push(['f32', 'lowbit f32']);
  if (simd === 'baseline') list.push(['ort0', 'ORT MatMulNBits acc 0'], ['ort4', 'ORT MatMulNBits acc 4']);
  return list;
}

/** bytes a GEMV engine must stream (weights only) */
function gemvBytes(name, k, n) {
  if (name.startsWith('w4') || name.startsWith('ort')) return int4Bytes(k, n);
  if (name.startsWith('int8')) return k * n;
  if (name === 'f32') return 4 * k * n;
  return 0;
}

function render(children, meta) {
  const L = [];
  const byThreads = [...new Set(children.map((c) => c.threads))].sort();
  const get = (simd, threads) => children.find((c) => c.simd === simd && c.threads === threads);
  // the streaming ceiling of a thread count: the best of its children (both builds read with plain loads)
  const ceiling = (threads) => Math.max(...children.filter((c) => c.threads === threads).map((c) => c.streamGBs)) * 1e9;
  L.push('# 4-bit weights (W4A8, W4A32) vs onnxruntime-web MatMulNBits, INT8 and f32');
  L.push('');
  L.push(`Command: \`${meta.command}\``);
  L.push('');
  L.push(`Date: ${meta.date}. Machine: ${meta.machine.model}, ${meta.machine.cores} cores, ${meta.machine.caches}, ${meta.machine.memoryGiB} GiB. ` +
    `Node ${meta.machine.node}, V8 ${meta.machine.v8}. onnxruntime-web ${meta.machine.versions['onnxruntime-web']}, benchmark.js ${meta.machine.versions.benchmark}. Commit ${meta.machine.commit}.`);
  L.push('');
  const others = meta.otherBench?.length ? `Other benchmark processes were running at the start: ${meta.otherBench.join('; ')}.` : 'No other benchmark process was running at the start (`pgrep -f bench/run.mjs` found nothing).';
  L.push(`**Load.** The machine is a shared 2-core VM. ${others} ` +
    'Each measurement first waits for other processes to go quiet (up to 15 s) and records how many cores other processes kept busy while it ran (column "other"). Per child:');
  L.push('');
  for (const c of children) {
    const runs = c.runs > 1 ? ` (${c.runs} runs, per engine the faster one)` : '';
    L.push(`* ${c.simd} x${c.threads}${runs}: load average ${c.loadavgStart} at start, ${c.loadavgEnd} at end; waited ${c.waited.toFixed(0)} s for quiet; ${c.minutes.toFixed(1)} min; streaming-read ceiling ${c.streamGBs.toFixed(2)} GB/s.`);
  }
  L.push('');
  L.push('**Method.** One child process per (build, threads): baseline build (ORT runs here, in the same process as lowbit), then the relaxed build ' +
    '(`node --experimental-wasm-relaxed-simd --no-liftoff`, `createRuntime({ simd: "relaxed" })`). Times are benchmark.js medians of the async call as a caller sees it ' +
    '(copying A in and the result out; W4A8 includes quantizing the activations to int8 per block of 32; ORT includes creating the input tensor\'s copy and reading Y). ' +
    `${meta.rounds} round(s) per shape, the faster round kept. Weights: symmetric 4-bit, block 32, round to nearest (quantizeInt4Rtn, clipSearch off) of uniform random W [N][K]; ` +
    'ORT gets the same blocks through toMatMulNBits (B uint8 [N, K/32, 16], scales float32 [N·K/32], no zero points, accuracy_level 0 and 4 as two models). ' +
    'INT8: u8 activations (zero point 128) × full-range int8 weights, int32 out (bench/data.mjs data, as in bench/RESULTS.md); on the relaxed build also 7-bit weights in the relaxed-dot layout (c4). ' +
    'f32: packF32 of the same float weights. For the M = 1 and M = 8 shapes every engine rotates copies of its weights over 3× L3 so they come from memory (column "copies"); 128×768×3072 is hot (1 copy). ' +
    'GOPS = 2·M·K·N / time. "% BW" (GEMV only) = (bytes of weights the engine must read) / time / streaming-read ceiling (the best of both children at that thread count); 4-bit bytes = K·N/2 + 4·N·K/32, INT8 K·N, f32 4·K·N.');
  L.push('');

  for (const threads of byThreads) {
    L.push(`## ${threads} thread${threads > 1 ? 's' : ''}`);
    L.push('');
    L.push('| shape M×K×N | build | engine | ms | GOPS | % BW | copies | other |');
    L.push('|---|---|---|---:|---:|---:|---:|---:|');
    for (const shape of SHAPES) {
      const key = shapeKey(shape);
      const ops = 2 * shape.m * shape.k * shape.n;
      for (const simd of ['baseline', 'relaxed']) {
        const c = get(simd, threads);
        if (!c) continue;
        const s = c.shapes[key];
        for (const [name, label] of engines(simd, shape)) {
          const t = s[name];
          if (!t) continue;
          const bw = shape.m === 1 ? pct(gemvBytes(name, shape.k, shape.n) / t.seconds / ceiling(threads)) : '';
          L.push(`| ${key} | ${simd} | ${label} | ${ms(t)} | ${gops(ops, t)} | ${bw} | ${t.copies} | ${loadOf(t)} |`);
        }
      }
    }
    L.push('');
    const base = get('baseline', threads);
    const rel = get('relaxed', threads);
    L.push(`### Ratios, ${threads} thread${threads > 1 ? 's' : ''} (speed-up = other engine's time / ours)`);
    L.push('');
    L.push('| shape | build | W4A8 vs ORT best | W4A32 vs ORT best | W4A8 vs our INT8 | W4A32 vs our INT8 | W4A8 vs INT8 7-bit | W4A8 vs f32 |');
    L.push('|---|---|---:|---:|---:|---:|---:|---:|');
    for (const shape of SHAPES) {
      const key = shapeKey(shape);
      const ortBest = base ? Math.min(base.shapes[key].ort0.seconds, base.shapes[key].ort4.seconds) : null;
      for (const c of [base, rel]) {
        if (!c) continue;
        const s = c.shapes[key];
        const v = (t) => t?.seconds;
        L.push(`| ${key} | ${c.simd} | ${ratio(ortBest, v(s.w4a8))} | ${ratio(ortBest, v(s.w4a32))} | ${ratio(v(s.int8), v(s.w4a8))} | ${ratio(v(s.int8), v(s.w4a32))} | ${ratio(v(s.int8c4), v(s.w4a8))} | ${ratio(v(s.f32), v(s.w4a8))} |`);
      }
    }
    L.push('');
    if (rel && base) L.push('The relaxed rows compare with ORT measured in the baseline child (another process, minutes apart).');
    L.push('');

    if (threads === 1) {
      L.push('### Targets (1 thread)');
      L.push('');
      L.push('| target | build | measured (best medians) | per round | |');
      L.push('|---|---|---:|---:|---|');
      for (const c of [base, rel]) {
        if (!c || !base) continue;
        const g = c.shapes['1x4096x4096'];
        const gOrt = Math.min(base.shapes['1x4096x4096'].ort0.seconds, base.shapes['1x4096x4096'].ort4.seconds);
        const m = c.shapes['128x768x3072'];
        const mOrt = Math.min(base.shapes['128x768x3072'].ort0.seconds, base.shapes['128x768x3072'].ort4.seconds);
        // the ratio in each round (rounds of the same index ran at about the same time in each run)
        const perRound = (num, den) => {
          const n = Math.min(num.length, den.length);
          const r = Array.from({ length: n }, (_, i) => num[i] / den[i]);
          return r.length ? `${Math.min(...r).toFixed(2)}x – ${Math.max(...r).toFixed(2)}x` : '—';
        };
        const ortRounds = (s) => s.ort0.rounds.map((x, i) => Math.min(x, s.ort4.rounds[i] ?? Infinity));
        const row = (what, x, goal, rounds) => L.push(`| ${what} | ${c.simd} | ${x.toFixed(2)}x | ${rounds} | ${x >= goal ? 'met' : 'missed'} |`);
        const gb = base.shapes['1x4096x4096'];
        const mb = base.shapes['128x768x3072'];
        row('W4 GEMV 1×4096×4096 (W4A8) ≥ 50× ORT MatMulNBits (best of acc 0/4)', gOrt / g.w4a8.seconds, 50, perRound(ortRounds(gb), g.w4a8.rounds));
        row('W4 GEMV 1×4096×4096 (W4A8) ≥ 1.3× our INT8 GEMV', g.int8.seconds / g.w4a8.seconds, 1.3, perRound(g.int8.rounds, g.w4a8.rounds));
        if (g.int8c4) row('  … against our 7-bit INT8 (c4) GEMV', g.int8c4.seconds / g.w4a8.seconds, 1.3, perRound(g.int8c4.rounds, g.w4a8.rounds));
        row('W4A8 GEMM 128×768×3072 ≥ 2× ORT MatMulNBits (best of acc 0/4)', mOrt / m.w4a8.seconds, 2, perRound(ortRounds(mb), m.w4a8.rounds));
        row('W4A8 GEMM 128×768×3072 ≥ 0.6× our INT8 GEMM', m.int8.seconds / m.w4a8.seconds, 0.6, perRound(m.int8.rounds, m.w4a8.rounds));
        if (m.int8c4) row('  … against our 7-bit INT8 (c4) GEMM', m.int8c4.seconds / m.w4a8.seconds, 0.6, perRound(m.int8c4.rounds, m.w4a8.rounds));
      }
      L.push('');
    }

    if (base?.block || rel?.block) {
      L.push(`### Decode step: one 7B-class block at M = 1, ${threads} thread${threads > 1 ? 's' : ''}`);
      L.push('');
      L.push('Seven linear layers (q, k, v, o 4096→4096; gate, up 4096→11008; down 11008→4096) run as a chain: q(x) → k → v → o, gate and up on o\'s output, down on gate\'s output ' +
        '(no attention, activation function or norms: only the weight-streaming part of a decode step). One copy of the block\'s weights; they exceed 3× L3 (4-bit ' +
        `${((base ?? rel).block.bytesW4 / 2 ** 20).toFixed(0)} MiB, INT8 ~${(BLOCK.reduce((s, l) => s + l.k * l.n, 0) / 2 ** 20).toFixed(0)} MiB, f32 ${((base ?? rel).block.bytesF32 / 2 ** 20).toFixed(0)} MiB), so every layer reads its weights from memory. ` +
        'INT8 requantizes each int32 output to u8 (per-tensor max) in JS for the next layer (included). ORT: one model with the 7 MatMulNBits nodes chained the same way, outputs up and down. ' +
        `tokens/s = 1000 / (${MODEL_BLOCKS} × ms per block): the linear layers of a 32-block model only.`);
      L.push('');
      L.push('| build | engine | ms per block | GOPS | % BW | tokens/s (32 blocks) | other |');
      L.push('|---|---|---:|---:|---:|---:|---:|');
      const blockBytes = (name) => BLOCK.reduce((s, l) => s + gemvBytes(name, l.k, l.n), 0);
      for (const c of [base, rel]) {
        if (!c?.block) continue;
        for (const [name, label] of engines(c.simd)) {
          const t = c.block[name];
          if (!t) continue;
          const bw = pct(blockBytes(name) / t.seconds / ceiling(threads));
          L.push(`| ${c.simd} | ${label} | ${ms(t)} | ${gops(BLOCK_OPS, t)} | ${bw} | ${(1000 / (MODEL_BLOCKS * t.seconds * 1e3)).toFixed(2)} | ${loadOf(t)} |`);
        }
      }
      L.push('');
    }
  }

  L.push('## Checks');
  L.push('');
  for (const c of children) {
    const lines = [];
    for (const [key, k] of Object.entries(c.checks)) {
      const parts = [`W4A8 err ${k.errW4A8.toExponential(1)}`];
      if (k.errW4A32 !== undefined) parts.push(`W4A32 err ${k.errW4A32.toExponential(1)}`);
      if (k.errOrt0 !== undefined) parts.push(`ORT acc0 err ${k.errOrt0.toExponential(1)}`, `ORT acc4 err ${k.errOrt4.toExponential(1)}`, `ORT acc4 ${k.ort4EqualsOrt0 ? '==' : '!='} acc0 bit for bit`, `W4A8 vs ORT acc4 ${k.w4a8VsOrt4.toExponential(1)}`);
      if (k.w4a32VsOrt0 !== undefined) parts.push(`**W4A32 vs ORT acc0 ${k.w4a32VsOrt0.toExponential(2)}: ${k.w4a32VsOrt0Ok ? 'OK' : 'MISMATCH'}**`);
      if (k.w4a8MatchesRef !== undefined) parts.push(`W4A8 ${k.w4a8MatchesRef ? '=' : '≠'} refQb4, W4A32 ${k.w4a32MatchesRef ? '=' : '≠'} refQb4F32 (bit for bit)`);
      lines.push(`  * ${key}: ${parts.join('; ')}`);
    }
    if (c.blockCheck) lines.push(`  * decode block: ${c.blockCheck}`);
    L.push(`* ${c.simd} x${c.threads}:`);
    L.push(...lines);
  }
  for (const threads of byThreads) {
    const b = get('baseline', threads);
    const r = get('relaxed', threads);
    if (!b || !r) continue;
    const same = Object.keys(b.checks).map((key) => {
      const x = b.checks[key];
      const y = r.checks[key];
      const w8 = x.hashW4A8 === y.hashW4A8 ? 'same' : 'DIFFERENT';
      const w32 = x.hashW4A32 ? (x.hashW4A32 === y.hashW4A32 ? 'same' : 'DIFFERENT') : 'n/a';
      return `${key}: W4A8 ${w8}, W4A32 ${w32}`;
    });
    L.push(`* baseline vs relaxed outputs (hashes), ${threads} thread${threads > 1 ? 's' : ''}: ${same.join('; ')}`);
  }
  L.push('');
  const notes = [];
  const baseChecks = children.filter((c) => c.simd === 'baseline').flatMap((c) => Object.values(c.checks));
  if (baseChecks.length && baseChecks.every((k) => k.ort4EqualsOrt0)) {
    notes.push('onnxruntime-web gave bit-identical outputs with accuracy_level 4 and 0 on every shape (and about the same times): in its wasm build, accuracy_level 4 did not switch MatMulNBits to int8 activations here.');
  }
  if (children.some((c) => c.block?.f32 && BLOCK.reduce((s, l) => s + 4 * l.k * l.n, 0) / c.block.f32.seconds > ceiling(c.threads))) {
    notes.push('"% BW" above 100% (f32): the streaming-read ceiling is one plain SIMD load loop per thread (bench/ceiling-worker.mjs); the f32 GEMV streams weights faster than that loop, so the ceiling is a reference rate rather than a hard bound.');
  }
  const firstRoundSlow = children.filter((c) => c.simd === 'baseline').flatMap((c) => Object.values(c.shapes)).filter((s) => s.w4a8?.rounds?.length > 1);
  if (firstRoundSlow.length) {
    notes.push('"per round" (targets) pairs the medians of rounds with the same index; it includes first rounds, which in the baseline child ran slower for the wasm kernels ' +
      '(likely V8 tier-up: the baseline child runs with Liftoff on, the relaxed child with --no-liftoff), and memory-bound engines (INT8, f32) varied by up to ~1.6x between runs minutes apart ' +
      'while the compute-bound baseline W4A8 did not, so the W4A8 / INT8 GEMV ratio on the baseline build moves with the machine\'s memory speed.');
  }
  if (notes.length) {
    L.push('Notes:');
    L.push('');
    for (const n of notes) L.push(`* ${n}`);
    L.push('');
  }
  L.push('"err" = max |y − y_ref| / max |y_ref| over the first 64 output columns, y_ref = x · dequant(W)ᵀ in float64 (the same 4-bit weights): float32 rounding (~1e-7 to 1e-6) for W4A32 and ORT, ' +
    'the activation-quantization error for W4A8. "W4A32 vs ORT acc0" = max |lowbit − ORT| / max |ORT| over the whole output (target ≤ 1e-3).');
  L.push('');
  return L.join('\n');
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  if (args.child) {
    const out = await runChild({ simd: args.simd, threads: args.threads[0], quick: args.quick, block: args.block, shapes: args.shapes });
    process.send(out);
    return;
  }
  let children;
  let meta;
  if (args.load) {
    const saved = args.load.map((f) => JSON.parse(readFileSync(f, 'utf8')));
    children = mergeRuns(saved.flatMap((s) => s.children));
    meta = {
      ...saved[0].meta,
      command: `${saved.map((s) => s.meta.command).join(' ; then ')} ; rendered with node bench/int4.mjs ${process.argv.slice(2).join(' ')}`,
      date: saved.map((s) => s.meta.date).join(' and '),
      otherBench: saved.flatMap((s) => s.meta.otherBench),
    };
  } else {
    meta = {
      command: `node bench/int4.mjs ${process.argv.slice(2).join(' ')}`.trim(),
      date: new Date().toISOString(),
      machine: machine(),
      rounds: timingOptions(args.quick).rounds,
      otherBench: otherBenchmarks(),
    };
    if (meta.otherBench.length) log(`warning: other benchmark processes are running: ${meta.otherBench.join('; ')}`);
    children = [];
    for (const threads of args.threads) {
      for (const simd of ['baseline', 'relaxed']) {
        log(`--- ${simd} x${threads}`);
        children.push(await runChildProcess(simd, threads, args));
      }
    }
    if (args.save) writeFileSync(args.save, JSON.stringify({ meta, children }, null, 1));
  }
  if (!args.load && !args.shapes) {
    log('--block-only: no shape tables to render; merge the saved file with a full run: --load FULL.json,THIS.json');
    return;
  }
  const report = render(children, meta);
  process.stdout.write(`${report}\n`);
  if (args.write) {
    writeFileSync(RESULTS, `${report}\n`);
    log(`wrote ${RESULTS}`);
  }
}

await main();
