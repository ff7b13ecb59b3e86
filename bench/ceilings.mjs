// Measured ceilings from the register-only and streaming loops in assembly/probe/probe.ts, run on
// `threads` worker threads at once (one runtime each) and summed, so the 2-thread rows are compared
// with what two cores can actually do together. A ceiling is a bound, so each thread's rate is its
// best of several runs (other load on the machine can only slow a run down).

import { Worker } from 'node:worker_threads';
import { waitForQuiet } from './system.mjs';

// ops per loop iteration, as counted in assembly/probe/probe.ts
const OPS_PER_ITER = { dot_i16x8: 8 * 16, relaxed_dot: 8 * 32, f32_madd: 8 * 8 };

const STREAM_BYTES = 256 * 1024 * 1024; // far beyond L3; a multiple of 64

function startWorker(data) {
  const w = new Worker(new URL('./ceiling-worker.mjs', import.meta.url), { workerData: data });
  const ready = new Promise((resolve, reject) => {
    w.once('error', reject);
    w.once('message', resolve);
  });
  return { w, ready };
}

/** Runs `kind` on `threads` workers simultaneously; returns the summed rate (ops/s or bytes/s). */
async function measureOnce(simd, kind, threads, quick) {
  const data = {
    simd,
    kind,
    iters: quick ? 2e6 : 1e7, // ~20 ms a run: short runs are likelier to find the machine quiet
    bytes: quick ? STREAM_BYTES / 4 : STREAM_BYTES,
    reps: quick ? 3 : 15,
  };
  const workers = Array.from({ length: threads }, () => startWorker(data));
  await Promise.all(workers.map((x) => x.ready));
  await waitForQuiet(10);
  const done = workers.map(({ w }) => new Promise((resolve, reject) => {
    w.once('error', reject);
    w.on('message', (m) => m.type === 'done' && resolve(m));
  }));
  for (const { w } of workers) w.postMessage('go');
  const results = await Promise.all(done);
  await Promise.all(workers.map(({ w }) => w.terminate()));
  const perCall = kind === 'stream_read' ? data.bytes : data.iters * OPS_PER_ITER[kind];
  return results.reduce((sum, r) => sum + perCall / Math.min(...r.seconds), 0);
}

/**
 * The best of a few attempts, each with fresh workers: on this VM a core sometimes runs the same
 * loop ~25% slower for a while, invisible to the load figures (host-level contention).
 */
async function measure(simd, kind, threads, quick) {
  let best = 0;
  for (let i = 0; i < (quick ? 1 : 2); i++) best = Math.max(best, await measureOnce(simd, kind, threads, quick));
  return best;
}

/**
 * Ceilings for one build and thread count: GOPS / GFLOPS for the compute loops, GB/s for the
 * streaming read. The relaxed dot only exists in the relaxed build.
 */
export async function measureCeilings(simd, threads, quick) {
  const out = {
    dot_i16x8: (await measure(simd, 'dot_i16x8', threads, quick)) / 1e9,
    f32_madd: (await measure(simd, 'f32_madd', threads, quick)) / 1e9,
    stream_read: (await measure(simd, 'stream_read', threads, quick)) / 1e9,
  };
  if (simd === 'relaxed') out.relaxed_dot = (await measure(simd, 'relaxed_dot', threads, quick)) / 1e9;
  return out;
}

/** The better of two measurements of the same ceilings (e.g. at the start and end of a run). */
export function bestOf(a, b) {
  return Object.fromEntries(Object.keys(a).map((k) => [k, Math.max(a[k], b[k])]));
}
