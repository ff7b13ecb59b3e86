#!/usr/bin/env node
// lowbit benchmark suite: INT8 and f32 GEMM/GEMV against onnxruntime-web and tfjs-backend-wasm,
// with the measured ceilings of this machine. The "Method" section of bench/RESULTS.md (written by
// bench/report.mjs) says what is measured and how.
//
//   node bench/run.mjs            full run (~10 min on 2 cores), prints the report
//   node bench/run.mjs --write    ... and writes bench/RESULTS.md (also: npm run bench -- --write)
//   node bench/run.mjs --quick    smoke run: two shapes, tiny sampling times (~1 min)
//
// It imports ../dist/index.js: run `npm run build` first.
//
// The parent process measures nothing itself. It runs one child per (build, threads) pair, one
// after another: ORT reads its thread count once per process, and the relaxed-SIMD build needs
// V8 flags on Node 20. Each child sends its numbers back over IPC. One more child per build
// measures lowbit's thread scaling with a 1-thread and a 2-thread runtime interleaved in the same
// process (bench/scaling.mjs): ratios between children run minutes apart are not reliable here.

import { fork } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRuntime } from '../dist/index.js';
import { bestOf, measureCeilings } from './ceilings.mjs';
import { measureBaseline, measureRelaxed, equalArrays } from './lowbit.mjs';
import { cpuTimes, l3Bytes, loadavg, machine, waitForQuiet } from './system.mjs';
import { timingOptions, waitedForQuiet } from './timing.mjs';
import { RELAXED_FLAGS } from './common.mjs';
import { measureScalingRound, scalingOptions, scalingRuntimes, scalingWaited, summarizeScaling } from './scaling.mjs';
import { renderReport } from './report.mjs';

const SHAPES = [
  // weight-streaming shapes (LLM decode, small batch): weights rotated so they come from DRAM
  { m: 1, k: 4096, n: 4096, stream: true },
  { m: 1, k: 4096, n: 11008, stream: true },
  { m: 8, k: 4096, n: 4096, stream: true },
  // BERT-base and a cube: weights fit in L2/L3 and stay hot
  { m: 128, k: 768, n: 768, stream: false },
  { m: 128, k: 768, n: 3072, stream: false },
  { m: 512, k: 512, n: 512, stream: false },
];
const QUICK_SHAPES = ['1x4096x4096', '128x768x3072'];


const CHILDREN = [
  { simd: 'baseline', threads: 1 },
  { simd: 'baseline', threads: 2 },
  { simd: 'baseline', scaling: true },
  { simd: 'relaxed', threads: 1 },
  { simd: 'relaxed', threads: 2 },
  { simd: 'relaxed', scaling: true },
];

const shapeKey = ({ m, k, n }) => `${m}x${k}x${n}`;

function parseArgs(argv) {
  const args = { quick: false, write: false, child: false, scaling: false, simd: 'baseline', threads: 1 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') args.quick = true;
    else if (a === '--write') args.write = true;
    else if (a === '--child') args.child = true;
    else if (a === '--scaling') args.scaling = true;
    else if (a === '--simd') args.simd = argv[++i];
    else if (a === '--threads') args.threads = Number(argv[++i]);
    else throw new Error(`unknown argument ${a} (expected --quick, --write)`);
  }
  return args;
}

const log = (msg) => process.stderr.write(`${msg}\n`);

// ---------------------------------------------------------------------------------------------
// child: one build, one thread count

/** Weight rotation covers 3x L3, so a rotated weight buffer is gone from cache when used again. */
const rotateBytes = () => 3 * l3Bytes();

async function runChild({ simd, threads, quick }) {
  const opts = timingOptions(quick);
  const shapes = quick ? SHAPES.filter((s) => QUICK_SHAPES.includes(shapeKey(s))) : SHAPES;
  const out = { simd, threads, shapes: {}, checks: {} };
  const cpu0 = process.cpuUsage();
  const say = (what) => log(`[${simd} x${threads}] ${what}`);

  say('ceilings');
  out.ceilings = await measureCeilings(simd, threads, quick);

  const rt = await createRuntime({ simd, threads });
  out.features = rt.features;
  const peerApi = simd === 'baseline' ? await import('./peers.mjs') : null;
  peerApi?.initOrt(threads);
  // tfjs-backend-wasm has no threads in Node: measured in the 1-thread child only
  if (peerApi && threads === 1) out.tfjs = await peerApi.initTfjs();

  // Rounds minutes apart, keeping each measurement's best round: the VM has slow spells that no
  // load figure shows. Within a round lowbit goes first, then the peers, so that ORT's threads
  // have not started yet while lowbit runs (in the first round at least).
  const lowbit = {};
  const peers = {};
  for (let round = 1; round <= opts.rounds; round++) {
    for (const shape of shapes) {
      const key = shapeKey(shape);
      say(`round ${round}: lowbit ${key}`);
      const measure = simd === 'relaxed' ? measureRelaxed : measureBaseline;
      lowbit[key] = keepBest(lowbit[key], await measure(rt, shape, opts, rotateBytes()));
    }
    if (!peerApi) continue;
    for (const shape of shapes) {
      const key = shapeKey(shape);
      say(`round ${round}: onnxruntime-web ${key}`);
      peers[key] = { ...peers[key], ort: keepBest(peers[key]?.ort, await peerApi.measureOrt(shape, opts, rotateBytes())) };
      if (threads === 1) {
        say(`round ${round}: tfjs-wasm ${key}`);
        peers[key].tfjs = keepBest(peers[key].tfjs, { f32: await peerApi.measureTfjs(shape, opts, rotateBytes()) });
      }
    }
  }
  rt.dispose();

  for (const shape of shapes) {
    const key = shapeKey(shape);
    out.shapes[key] = summarize(shape, lowbit[key], peers[key]);
    if (simd === 'baseline') out.checks[key] = checkAgainstPeers(lowbit[key], peers[key]);
    else out.checks[key] = { sevenExact: lowbit[key].sevenExact, fullHash: lowbit[key].fullHash };
  }
  // ceilings again: the better of both is the bound, should other load have hit one of them
  say('ceilings again');
  out.ceilings = bestOf(out.ceilings, await measureCeilings(simd, threads, quick));
  out.waited = waitedForQuiet();
  const cpu = process.cpuUsage(cpu0);
  out.cpuSeconds = (cpu.user + cpu.system) / 1e6;
  return out;
}

/**
 * Child for one build's thread scaling: a 1-thread and a 2-thread lowbit runtime in this process,
 * calls interleaved (bench/scaling.mjs). Rounds minutes apart as in runChild; each kernel's samples
 * of all rounds are pooled for the medians, and each round's own ratio is kept to show the spread.
 */
async function runScalingChild({ simd, quick }) {
  const opts = scalingOptions(quick);
  const shapes = quick ? SHAPES.filter((s) => QUICK_SHAPES.includes(shapeKey(s))) : SHAPES;
  const cpu0 = process.cpuUsage();
  const say = (what) => log(`[${simd} 1 vs 2 threads] ${what}`);
  const rts = await scalingRuntimes(simd);
  const rounds = [];
  for (let round = 1; round <= opts.rounds; round++) {
    say(`round ${round}`);
    rounds.push(await measureScalingRound(rts, simd, shapes, opts, rotateBytes(), say));
  }
  for (const rt of rts) rt.dispose();
  const out = { simd, scaling: true, features: rts[1].features, shapes: {} };
  for (const shape of shapes) {
    const key = shapeKey(shape);
    out.shapes[key] = { m: shape.m, k: shape.k, n: shape.n, stream: shape.stream };
    for (const name of Object.keys(rounds[0][key])) {
      const per = rounds.map((r) => r[key][name]);
      const pooled = summarizeScaling(per.flatMap((r) => r.t1), per.flatMap((r) => r.t2));
      out.shapes[key][name] = {
        ...pooled,
        reps: per[0].reps,
        copies: per[0].copies,
        layout: per[0].layout,
        otherLoad: Math.max(...per.map((r) => r.otherLoad)),
        rejected: per.reduce((sum, r) => sum + r.rejected, 0),
        loadedKept: per.reduce((sum, r) => sum + r.loadedKept, 0),
        rounds: per.map((r) => r.speedup),
        chunkRatios: per.flatMap((r) => r.chunkRatios),
      };
    }
  }
  out.waited = scalingWaited();
  const cpu = process.cpuUsage(cpu0);
  out.cpuSeconds = (cpu.user + cpu.system) / 1e6;
  return out;
}

/**
 * Merges a new round into the results so far: per timing, the faster round's result (with its
 * output) and the list of every round's median in `rounds`.
 */
function keepBest(prev, next) {
  const out = { ...(prev ?? next) };
  for (const [name, r] of Object.entries(next)) {
    if (!r?.seconds) continue;
    const rounds = [...(prev?.[name].rounds ?? []), r.seconds];
    out[name] = { ...(prev && prev[name].seconds <= r.seconds ? prev[name] : r), rounds };
  }
  return out;
}

/** Strips outputs: only timings, sample counts and layouts go back to the parent. */
function summarize(shape, lowbit, peers) {
  const t = (r) => r && { seconds: r.seconds, rounds: r.rounds, samples: r.samples, rme: r.rme, copies: r.copies, otherLoad: r.otherLoad };
  const s = { m: shape.m, k: shape.k, n: shape.n, stream: shape.stream };
  for (const [name, r] of Object.entries(lowbit)) if (r?.seconds) s[`lowbit_${name}`] = t(r);
  for (const name of ['layout', 'sevenLayout', 'fullLayout', 'i32Hash']) if (lowbit[name]) s[name] = lowbit[name];
  if (peers?.ort) for (const [name, r] of Object.entries(peers.ort)) s[`ort_${name}`] = t(r);
  if (peers?.tfjs) s.tfjs_f32 = t(peers.tfjs.f32);
  return s;
}

/** lowbit vs ORT outputs for the same inputs: int32 must match exactly; u8 and f32 closely. */
function checkAgainstPeers(lowbit, peers) {
  const ort = peers.ort;
  let u8Mismatch = 0;
  let u8MaxDiff = 0;
  for (let i = 0; i < ort.qlmm.output.length; i++) {
    const d = Math.abs(lowbit.u8.output[i] - ort.qlmm.output[i]);
    if (d) u8Mismatch++;
    u8MaxDiff = Math.max(u8MaxDiff, d);
  }
  const relDiff = (x, ref) => {
    let maxDiff = 0;
    let maxRef = 0;
    for (let i = 0; i < ref.length; i++) {
      maxDiff = Math.max(maxDiff, Math.abs(x[i] - ref[i]));
      maxRef = Math.max(maxRef, Math.abs(ref[i]));
    }
    return maxDiff / maxRef;
  };
  return {
    i32Equal: equalArrays(lowbit.i32.output, ort.mmi.output),
    u8Mismatch,
    u8MaxDiff,
    u8Count: ort.qlmm.output.length,
    f32RelDiffOrt: relDiff(lowbit.f32.output, ort.f32.output),
    f32RelDiffTfjs: peers.tfjs ? relDiff(lowbit.f32.output, peers.tfjs.f32.output) : null,
    i32Hash: lowbit.i32Hash,
  };
}

// ---------------------------------------------------------------------------------------------
// parent: run the children one after another, then report

function spawnChild(script, { simd, threads, scaling }, quick) {
  const args = ['--child', '--simd', simd, ...(scaling ? ['--scaling'] : ['--threads', String(threads)]), ...(quick ? ['--quick'] : [])];
  const execArgv = simd === 'relaxed' ? RELAXED_FLAGS : [];
  return new Promise((resolve, reject) => {
    const child = fork(script, args, { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let result = null;
    child.on('message', (m) => (result = m));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code === 0 && result && !result.error) resolve(result);
      else reject(new Error(`child ${simd} ${scaling ? '1 vs 2 threads' : `x${threads}`} failed (exit ${code}): ${result?.error ?? 'no result'}`));
    });
  });
}

async function runParent(args) {
  const script = fileURLToPath(import.meta.url);
  const started = new Date();
  const t0 = performance.now();
  const load = { before: loadavg() };
  const children = [];
  const cpu = { foreign: 0, steal: 0, waited: 0 };
  for (const c of CHILDREN) {
    cpu.waited += await waitForQuiet();
    const before = cpuTimes();
    const result = await spawnChild(script, c, args.quick);
    const after = cpuTimes();
    // busy CPU time of the machine not spent by our child: other people's builds and tests
    const foreign = Math.max(0, after.busy - before.busy - result.cpuSeconds);
    result.otherLoad = foreign / ((after.at - before.at) / 1e3);
    cpu.foreign += foreign;
    cpu.steal += after.steal - before.steal;
    cpu.waited += result.waited;
    children.push(result);
  }
  load.after = loadavg();
  const report = renderReport({
    command: ['node', path.relative(process.cwd(), script), ...process.argv.slice(2)].join(' '),
    date: started.toISOString(),
    minutes: (performance.now() - t0) / 6e4,
    machine: machine(),
    load,
    cpu,
    rotateMiB: rotateBytes() / 2 ** 20,
    quick: args.quick,
    scalingOptions: scalingOptions(args.quick),
    children,
  });
  process.stdout.write(report);
  if (args.write) {
    const file = new URL('./RESULTS.md', import.meta.url);
    writeFileSync(file, report);
    log(`wrote ${fileURLToPath(file)}`);
  }
}

const args = parseArgs(process.argv.slice(2));
if (args.child) {
  // started by hand (no IPC channel): print the result instead
  const send = (msg, code) => (process.send ? process.send(msg, () => process.exit(code)) : (console.log(JSON.stringify(msg, null, 1)), process.exit(code)));
  (args.scaling ? runScalingChild(args) : runChild(args)).then(
    (r) => send(r, 0),
    (e) => {
      log(e.stack ?? String(e));
      send({ error: String(e.message ?? e) }, 1);
    },
  );
} else {
  runParent(args).catch((e) => {
    log(e.stack ?? String(e));
    process.exit(1);
  });
}
