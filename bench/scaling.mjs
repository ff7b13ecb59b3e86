// lowbit thread scaling measured inside ONE process: a 1-thread and a 2-thread runtime of the same
// build side by side, their calls on the same work interleaved (1, 2, 2, 1, 1, 2, ...), the median
// of each side and the ratio of the medians.
//
// Why: the per-(build, threads) child processes of run.mjs run minutes apart, and this VM has slow
// spells of 30-50% lasting seconds to minutes that no load figure shows, so dividing a 2-thread
// child's number by a 1-thread child's number can be off by that much. Interleaving puts both sides
// through the same spells. Peers can't do this: ORT reads its thread count once per process.

import { createRuntime } from '../dist/index.js';
import { packQs8, runQs8, packF32, runF32 } from '../dist/kernels.js';
import { activationsU8, activationsF32, weightsI8, weightsF32, qparams } from './data.mjs';
import { copiesFor } from './lowbit.mjs';
import { median } from './timing.mjs';
import { otherLoadMeter, waitForQuiet } from './system.mjs';

/**
 * Interleaving options: rounds over all shapes (a minute or more apart), pairs of samples per kernel
 * and round, how long one sample (a block of calls) and one chunk of pairs run, and how often a
 * chunk spoiled by other processes may be redone.
 */
export function scalingOptions(quick) {
  return quick
    ? { rounds: 1, pairs: 8, blockMs: 2, warmMs: 100, quietWait: 5, chunkMs: 50, maxRejects: 2 }
    : { rounds: 3, pairs: 60, blockMs: 5, warmMs: 300, quietWait: 20, chunkMs: 250, maxRejects: 20 };
}

let secondsWaited = 0;

/** Seconds this process has spent waiting for other processes to go quiet before scaling measurements. */
export const scalingWaited = () => secondsWaited;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Seconds per call of `reps` calls of `run` (cycling through its weight copies). */
async function block(side, reps) {
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) await side.run(side.copies[side.next++ % side.copies.length]);
  return (performance.now() - t0) / 1e3 / reps;
}

function quantile(sorted, q) {
  const x = (sorted.length - 1) * q;
  const lo = Math.floor(x);
  const hi = Math.ceil(x);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (x - lo);
}

// a chunk of pairs during which other processes kept more than this many cores busy is redone
const LOADED = 0.25;

/**
 * Interleaves `one` and `two` (each { run(copy), copies }) for opts.pairs pairs, alternating which
 * goes first (ABBA) so neither side always follows the other. Returns both sides' samples.
 *
 * Pairs come in chunks of >= opts.chunkMs; a chunk during which other processes were busy (another
 * process on the second core slows only the 2-thread side) is thrown away and redone after waiting
 * for quiet, up to opts.maxRejects times; after that loaded chunks are kept and counted.
 */
async function interleave(one, two, opts) {
  one.next = 0;
  two.next = 0;
  // warm up both sides: V8 tiers wasm up in the background, and a running call keeps its tier
  for (const ms of [opts.warmMs, opts.warmMs / 3]) {
    const until = performance.now() + ms;
    let calls = 0;
    while (performance.now() < until || calls < 2) {
      await block(one, 1);
      await block(two, 1);
      calls++;
    }
    await sleep(50);
  }
  // same number of calls per block on both sides; a block of the 1-thread side lasts ~blockMs
  const reps = Math.max(1, Math.round((opts.blockMs / 1e3) / (await block(one, 1))));
  const t1 = [];
  const t2 = [];
  let rejected = 0;
  let loadedKept = 0;
  let worstLoad = 0;
  const chunkRatios = [];
  while (t1.length < opts.pairs) {
    const c1 = [];
    const c2 = [];
    const meter = otherLoadMeter();
    const start = performance.now();
    while (t1.length + c1.length < opts.pairs && (performance.now() - start < opts.chunkMs || c1.length < 2)) {
      if ((t1.length + c1.length) % 2 === 0) {
        c1.push(await block(one, reps));
        c2.push(await block(two, reps));
      } else {
        c2.push(await block(two, reps));
        c1.push(await block(one, reps));
      }
    }
    const load = meter();
    if (load > LOADED && rejected < opts.maxRejects) {
      rejected++;
      secondsWaited += await waitForQuiet(opts.quietWait);
      continue;
    }
    if (load > LOADED) loadedKept++;
    worstLoad = Math.max(worstLoad, load);
    t1.push(...c1);
    t2.push(...c2);
    chunkRatios.push(median(c1) / median(c2));
  }
  return { t1, t2, reps, rejected, loadedKept, worstLoad, chunkRatios };
}

/** Medians, the ratio of medians, and the quartiles of the per-pair ratios. */
export function summarizeScaling(t1, t2) {
  const pairRatios = t1.map((x, i) => x / t2[i]).sort((a, b) => a - b);
  const m1 = median(t1);
  const m2 = median(t2);
  return {
    seconds1: m1,
    seconds2: m2,
    speedup: m1 / m2,
    pairP25: quantile(pairRatios, 0.25),
    pairP75: quantile(pairRatios, 0.75),
    pairs: t1.length,
  };
}

/** Measures one kernel on one shape; `make(rt)` packs the weight copies and returns { run, copies, dispose }. */
async function measureKernel(name, rts, make, opts) {
  secondsWaited += await waitForQuiet(opts.quietWait);
  const sides = rts.map(make);
  try {
    const r = await interleave(sides[0], sides[1], opts);
    const s = {
      ...summarizeScaling(r.t1, r.t2), reps: r.reps, copies: sides[0].copies.length, layout: sides[0].layout,
      otherLoad: r.worstLoad, rejected: r.rejected, loadedKept: r.loadedKept, chunkRatios: r.chunkRatios, t1: r.t1, t2: r.t2,
    };
    process.stderr.write(`    ${name}: 1 thr ${(s.seconds1 * 1e3).toFixed(3)} ms, 2 thr ${(s.seconds2 * 1e3).toFixed(3)} ms, ${s.speedup.toFixed(2)}x (pairs ${s.pairP25.toFixed(2)}-${s.pairP75.toFixed(2)}; ${s.pairs} pairs of ${s.reps} calls; chunks ${r.chunkRatios.map((x) => x.toFixed(2)).join(' ')}; ${r.rejected} loaded chunks redone, ${r.loadedKept} kept; worst other load ${r.worstLoad.toFixed(2)} cores)\n`);
    return s;
  } finally {
    for (const side of sides) side.dispose();
  }
}

function i8Side(rt, shape, w, copies, q, a) {
  const zb = new Int8Array(shape.n);
  const packs = Array.from({ length: copies }, () => packQs8(rt, w, shape.k, shape.n, zb));
  return {
    copies: packs,
    layout: packs[0].layout,
    run: (p) => runQs8(rt, a, shape.m, q.aZero, p, { kind: 'int32' }),
    dispose: () => packs.forEach((p) => p.dispose()),
  };
}

function f32Side(rt, shape, w, copies, a) {
  const packs = Array.from({ length: copies }, () => packF32(rt, w, shape.k, shape.n));
  return {
    copies: packs,
    run: (p) => runF32(rt, a, shape.m, p),
    dispose: () => packs.forEach((p) => p.dispose()),
  };
}

/**
 * One round over `shapes` for one build: int8 with int32 output (the relaxed build: 7-bit weights,
 * layout c4) and f32. Weight-streaming shapes rotate through copies covering `rotateBytes` on each
 * runtime, as the other measurements do.
 */
export async function measureScalingRound(rts, simd, shapes, opts, rotateBytes, say) {
  const out = {};
  for (const shape of shapes) {
    const key = `${shape.m}x${shape.k}x${shape.n}`;
    const q = qparams(shape);
    const a = activationsU8(shape);
    const w = weightsI8(shape, simd === 'relaxed');
    const copies8 = copiesFor(shape, shape.k * shape.n, rotateBytes);
    const int8Name = simd === 'relaxed' ? 'seven' : 'int8';
    say(`interleaved 1 vs 2 threads: ${key}`);
    const int8 = await measureKernel(`lowbit ${simd} ${int8Name} ${key}`, rts, (rt) => i8Side(rt, shape, w, copies8, q, a), opts);
    const af = activationsF32(shape);
    const wf = weightsF32(shape);
    const copiesF = copiesFor(shape, shape.k * shape.n * 4, rotateBytes);
    const f32 = await measureKernel(`lowbit ${simd} f32 ${key}`, rts, (rt) => f32Side(rt, shape, wf, copiesF, af), opts);
    out[key] = { [int8Name]: int8, f32 };
  }
  return out;
}

/** The 1-thread and 2-thread runtimes of one build. */
export async function scalingRuntimes(simd) {
  const rts = [await createRuntime({ simd, threads: 1 }), await createRuntime({ simd, threads: 2 })];
  if (rts[1].threads !== 2) throw new Error(`the 2-thread runtime runs ${rts[1].threads} thread(s)`);
  return rts;
}
