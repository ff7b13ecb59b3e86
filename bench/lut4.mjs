#!/usr/bin/env node
// LUT4 (table-driven 4-bit weights, runLut4) side by side with our INT4 kernel (qb4 W4A8, runQb4),
// in one process per build, same shapes, same thread count, interleaved repetitions, medians.
//
//   node bench/lut4.mjs                 1 thread: a baseline child, then a relaxed child
//   node bench/lut4.mjs --threads 2     ... at 2 threads
//   node bench/lut4.mjs --quick         smoke run (few repetitions)
//   node bench/lut4.mjs --rounds 15     interleaved rounds per shape (default 11)
//   node bench/lut4.mjs --shapes 1x4096x4096,8x4096x4096   only these shapes
//
// It imports ../dist/index.js: run `npm run build` first. The parent measures nothing; each child
// runs one build (the relaxed one under `--experimental-wasm-relaxed-simd --no-liftoff`, Node 20).
//
// Engines, all 4-bit codes of the same weights (bench/int4-lib.mjs int4Of: uniform W [N][K],
// symmetric RTN, block 32), activations quantized to int8 per block of 32 inside every call:
//   qb4           runQb4, per-block activations: our INT4 kernel (zero point 8)
//   lut4 int4     the same codes and scales with the table T[c] = c - 8 (qb4's grid as a LUT,
//                 span 15: the c4 layout on relaxed, GEMV int16 chunks of 32)
//   lut4 flint4   the ANT flint4 table (span 32: c4, chunks of 16)
//   lut4 pot4     the ANT pot4 table (span 128: the c2 kernel on both builds)
//   lut4 int4/ch  the int4 grid with one scale per output channel (one block of K)
//   lut4 3 tables a table per panel: int4, flint4 and flint4 reversed, channel j taking table
//                 j % 3 (every column regrouped and gathered back); widest span 32 as flint4's,
//                 so it compares with `lut4 flint4` (same layout and chunk)
//   lut4 ant3     int4, flint4, pot4 by channel (ANT per-channel types): pot4's span makes the
//                 whole tensor c2, so it compares with `lut4 pot4`
// Each round times every engine in turn (the order rotates per round) for a few calls, each call
// timed on its own; the result is the median over all calls of all rounds, so slow drift and
// other processes' bursts hit every engine alike. Times are whole calls as a caller sees them
// (copying A in, quantizing it, the kernel, copying Y out). For M = 1 and M = 8, every engine
// rotates copies of its weights over 3x L3 so they come from memory; 128x768x3072 is hot.

import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { antType, createRuntime } from '../dist/index.js';
import { packQb4, runQb4, packLut4, runLut4 } from '../dist/kernels.js';
import { activationsF32 } from './data.mjs';
import { copiesFor } from './lowbit.mjs';
import { int4Of, relDiff } from './int4-lib.mjs';
import { l3Bytes, loadavg, machine, otherLoadMeter, waitForQuiet } from './system.mjs';
import { buildBenchArgs, RELAXED_FLAGS } from './common.mjs';
import { median } from './timing.mjs';

const SHAPES = [
  { m: 1, k: 4096, n: 4096, stream: true },
  { m: 1, k: 4096, n: 11008, stream: true },
  { m: 8, k: 4096, n: 4096, stream: true },
  { m: 128, k: 768, n: 3072, stream: false },
];
const SELF = fileURLToPath(import.meta.url);
const log = (msg) => process.stderr.write(`${msg}\n`);

const parseArgs = (argv) => buildBenchArgs(argv, 11);

// ---------------------------------------------------------------------------------------------
// child

const INT4_GRID = Int8Array.from({ length: 16 }, (_, c) => c - 8);

function engines(rt, shape) {
  const { k, n } = shape;
  const blocks = int4Of(k, n);
  const perChannel = new Float32Array(n);
  const nb = Math.ceil(k / 32);
  for (let j = 0; j < n; j++) for (let b = 0; b < nb; b++) perChannel[j] = Math.max(perChannel[j], blocks.scales[j * nb + b]);
  const lut = (table, blockSize = 32, scales = blocks.scales) => ({ n, k, codes: blocks.q, scales, table, blockSize });
  const act = { activations: 'per-block' };
  const flint4 = antType('flint4').values;
  const columnTables = Int32Array.from({ length: n }, (_, j) => j % 3);
  const perPanel = (tables) => ({ n, k, codes: blocks.q, scales: blocks.scales, tables, columnTables, blockSize: 32 });
  return [
    { name: 'qb4', pack: () => packQb4(rt, blocks), run: (w, x, m) => runQb4(rt, x, m, w, act) },
    { name: 'lut4 int4', pack: () => packLut4(rt, lut(INT4_GRID)), run: (w, x, m) => runLut4(rt, x, m, w, act) },
    { name: 'lut4 flint4', pack: () => packLut4(rt, lut(antType('flint4').values)), run: (w, x, m) => runLut4(rt, x, m, w, act) },
    { name: 'lut4 pot4', pack: () => packLut4(rt, lut(antType('pot4').values)), run: (w, x, m) => runLut4(rt, x, m, w, act) },
    { name: 'lut4 int4/ch', pack: () => packLut4(rt, lut(INT4_GRID, 'channel', perChannel)), run: (w, x, m) => runLut4(rt, x, m, w, { activations: 'per-row' }) },
    { name: 'lut4 3 tables', vs: 'lut4 flint4', pack: () => packLut4(rt, perPanel([INT4_GRID, flint4, Int8Array.from(flint4).reverse()])), run: (w, x, m) => runLut4(rt, x, m, w, act) },
    { name: 'lut4 ant3', vs: 'lut4 pot4', pack: () => packLut4(rt, perPanel([INT4_GRID, flint4, antType('pot4').values])), run: (w, x, m) => runLut4(rt, x, m, w, act) },
  ];
}

async function child(args) {
  const rt = await createRuntime({ simd: args.simd, threads: args.threads });
  if (rt.features.simd !== args.simd) throw new Error(`expected the ${args.simd} build, got ${rt.features.simd}`);
  const rotate = 3 * l3Bytes();
  const out = { simd: args.simd, threads: args.threads, loadStart: loadavg(), shapes: [] };
  const wanted = args.shapes;
  for (const shape of SHAPES) {
    const { m, k, n } = shape;
    if (wanted && !wanted.includes(`${m}x${k}x${n}`)) continue;
    const x = activationsF32(shape);
    const es = engines(rt, shape);
    const packs = [];
    for (const e of es) {
      const first = e.pack();
      const copies = [first];
      for (let i = 1; i < copiesFor(shape, first.bytes, rotate); i++) copies.push(e.pack());
      packs.push(copies);
    }
    // outputs (first call), and a check that the int4 grid LUT computes what qb4 computes
    const outputs = [];
    for (let e = 0; e < es.length; e++) outputs.push(await es[e].run(packs[e][0], x, m));
    const diffQb4 = relDiff(outputs[1], outputs[0]);
    const ops = 2 * m * k * n;
    const reps = Math.max(2, Math.min(20, Math.round(0.03 / (ops / 30e9))));
    const samples = es.map(() => []);
    const roundMedians = es.map(() => []);
    const idx = es.map(() => 0);
    await waitForQuiet(args.quick ? 1 : 10);
    const other = otherLoadMeter();
    for (let r = 0; r < args.rounds; r++) {
      for (let j = 0; j < es.length; j++) {
        const e = (j + r) % es.length;
        const ts = [];
        for (let i = 0; i < reps; i++) {
          const w = packs[e][idx[e]++ % packs[e].length];
          const t0 = performance.now();
          await es[e].run(w, x, m);
          ts.push(performance.now() - t0);
        }
        samples[e].push(...ts);
        roundMedians[e].push(median(ts));
      }
    }
    const otherLoad = other();
    const res = es.map((e, i) => ({
      name: e.name,
      vs: e.vs ?? null,
      layout: packs[i][0].layout,
      chunk: packs[i][0].chunk ?? null,
      copies: packs[i].length,
      ms: median(samples[i]),
      roundMin: Math.min(...roundMedians[i]),
      roundMax: Math.max(...roundMedians[i]),
      samples: samples[i].length,
    }));
    for (const p of packs) for (const w of p) w.dispose();
    const line = res.map((r) => `${r.name} ${r.ms.toFixed(3)} ms`).join(', ');
    log(`  ${args.simd} x${args.threads} ${m}x${k}x${n}: ${line}; other load ${otherLoad.toFixed(2)}`);
    out.shapes.push({ shape: { m, k, n }, ops, reps, rounds: args.rounds, otherLoad, diffQb4, engines: res });
  }
  out.loadEnd = loadavg();
  rt.dispose();
  process.stdout.write(JSON.stringify(out));
}

// ---------------------------------------------------------------------------------------------
// parent

function runChild(simd, args) {
  const flags = simd === 'relaxed' ? RELAXED_FLAGS : [];
  const argv = [...flags, SELF, '--child', '--simd', simd, '--threads', String(args.threads), '--rounds', String(args.rounds)];
  if (args.quick) argv.push('--quick');
  if (args.shapes) argv.push('--shapes', args.shapes.join(','));
  log(`child: node ${argv.join(' ')}`);
  const r = spawnSync(process.execPath, argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`${simd} child failed (${r.status})`);
  return JSON.parse(r.stdout);
}

function render(results, args) {
  const mc = machine();
  const lines = [];
  lines.push(`# LUT4 vs INT4 (qb4 W4A8), ${args.threads} thread${args.threads > 1 ? 's' : ''}`);
  lines.push('');
  lines.push(`Command: \`node bench/lut4.mjs${args.threads !== 1 ? ` --threads ${args.threads}` : ''}${args.quick ? ' --quick' : ''}${args.shapes ? ` --shapes ${args.shapes.join(',')}` : ''}\`. ${new Date().toISOString()}. ` +
    `Machine: ${mc.model}, ${mc.cores} cores, ${mc.caches}; Node ${mc.node}, V8 ${mc.v8}; commit ${mc.commit}.`);
  lines.push('');
  lines.push('Medians over all calls of all interleaved rounds (each call timed alone); "rounds" = the range of the per-round medians. ' +
    'GOPS = 2·M·K·N / time. "vs qb4" = qb4 time / this engine\'s time (≥ 1: LUT4 as fast or faster). ' +
    '"other" = cores other processes kept busy meanwhile (the machine is shared: treat small differences as noise).');
  for (const res of results) {
    lines.push('');
    lines.push(`## ${res.simd} build (load average ${res.loadStart} at start, ${res.loadEnd} at end)`);
    lines.push('');
    lines.push('| shape M×K×N | engine | layout | ms | rounds (ms) | GOPS | vs qb4 | copies | other |');
    lines.push('|---|---|---|---:|---:|---:|---:|---:|---:|');
    for (const s of res.shapes) {
      const { m, k, n } = s.shape;
      const q = s.engines[0].ms;
      for (const e of s.engines) {
        const layout = e.chunk ? `${e.layout} (chunk ${e.chunk})` : e.layout;
        lines.push(`| ${m}x${k}x${n} | ${e.name} | ${layout} | ${e.ms.toFixed(3)} | ${e.roundMin.toFixed(3)}–${e.roundMax.toFixed(3)} | ` +
          `${(s.ops / (e.ms * 1e-3) / 1e9).toFixed(1)} | ${(q / e.ms).toFixed(2)}x | ${e.copies} | ${s.otherLoad.toFixed(2)} |`);
      }
    }
    const perPanel = res.shapes.map((s) => {
      const ms = Object.fromEntries(s.engines.map((e) => [e.name, e.ms]));
      const r = s.engines.filter((e) => e.vs).map((e) => `${e.name} / ${e.vs} ${(e.ms / ms[e.vs]).toFixed(2)}x`);
      return `${s.shape.m}x${s.shape.k}x${s.shape.n}: ${r.join(', ')}`;
    }).join('; ');
    lines.push('');
    lines.push(`Per-panel tables vs one table (time ratio, 1 = the same cost, the gather included): ${perPanel}.`);
    const diffs = res.shapes.map((s) => `${s.shape.m}x${s.shape.k}x${s.shape.n}: ${s.diffQb4.toExponential(1)}`).join(', ');
    lines.push('');
    lines.push(`lut4 int4 (qb4's grid as a table) vs qb4 outputs, max |Δ| / max |y|: ${diffs} (the same integer sums; float32 operations in a different order).`);
  }
  return lines.join('\n');
}

const args = parseArgs(process.argv.slice(2));
if (args.child) {
  await child(args);
} else {
  const results = [];
  for (const simd of ['baseline', 'relaxed']) results.push(runChild(simd, args));
  process.stdout.write(`${render(results, args)}\n`);
}
