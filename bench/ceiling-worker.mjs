// One thread of a ceiling measurement: its own lowbit runtime (single-threaded build of the same
// SIMD flavour), warmed up so V8 has tiered the loop up, then timed on the parent's signal so that
// all threads run at once.

import { parentPort, workerData } from 'node:worker_threads';
import { createRuntime } from '../dist/index.js';

const { simd, kind, iters, bytes, reps } = workerData;
const rt = await createRuntime({ simd, threads: 1 });
const x = rt.kernels;

let call;
if (kind === 'stream_read') {
  const p = rt.alloc(bytes);
  // fill with nonzero data: untouched pages all map the zero page and would fake the bandwidth
  const view = rt.view(Uint8Array, p, bytes);
  for (let i = 0; i < bytes; i += 4096) view.fill((i >> 12) % 251 + 1, i, Math.min(bytes, i + 4096));
  call = () => x.ceiling_stream_read(p, bytes);
} else {
  const fn = x[`ceiling_${kind}`];
  call = (n = iters) => fn(n, 3);
}

// warm up for a while: the optimizing tier replaces Liftoff only for calls made after its
// background compile lands (a running call stays in its tier), and the core may need to clock up
const warmCall = () => (kind === 'stream_read' ? call() : call(Math.max(1, iters >> 4)));
for (const ms of [300, 100]) {
  const until = performance.now() + ms;
  while (performance.now() < until) warmCall();
  await new Promise((r) => setTimeout(r, 50));
}

parentPort.postMessage({ type: 'ready' });
parentPort.once('message', () => {
  const seconds = [];
  let sink = 0;
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    sink ^= call();
    seconds.push((performance.now() - t0) / 1e3);
  }
  parentPort.postMessage({ type: 'done', seconds, sink });
  rt.dispose();
});
