// A 4-bit model past the 4 GiB of one wasm32 memory: a generated Llama-7B-shaped decoder (seeded
// random weights, real layer shapes) sharded over several runtimes, each its own wasm memory
// (src/runtime/shards.ts, src/model/sharded-decoder.ts). Loads it shard by shard (weights written
// straight into each shard's memory), runs decode steps over a growing KV cache, and reports each
// shard's memory, the process RSS, load time and tokens per second; then frees everything and
// reports the RSS again.
//
//   node bench/past-4gib.mjs [--threads 2] [--steps 8] [--simd auto|baseline|relaxed] [--shard-gib 3.5] [--layers 32] [--zero-points]
//   node bench/past-4gib.mjs --overhead --layers 8   the cost of the cut: the same stack in one shard and
//                                                    in several (shards of the embedding's size), steps alternated
//
// Needs ~5 GiB of RAM. Build first (npx tsc -p tsconfig.json). Re-runs itself with --expose-gc
// (and, on Node 20 with --simd relaxed, the relaxed-SIMD flags).

import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { RELAXED_FLAGS } from './common.mjs';
import { loadavg, machine, otherLoadMeter } from './system.mjs';
import { median } from './timing.mjs';

const { values: args } = parseArgs({
  options: {
    threads: { type: 'string', default: '2' },
    steps: { type: 'string', default: '8' },
    simd: { type: 'string', default: 'auto' },
    'shard-gib': { type: 'string', default: '3.5' },
    layers: { type: 'string', default: '32' },
    'zero-points': { type: 'boolean', default: false },
    overhead: { type: 'boolean', default: false },
    child: { type: 'boolean', default: false },
  },
});

if (!args.child) {
  const flags = ['--expose-gc', ...(args.simd === 'relaxed' ? RELAXED_FLAGS : [])];
  const r = spawnSync(process.execPath, [...flags, fileURLToPath(import.meta.url), ...process.argv.slice(2), '--child'], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}

const { ShardedDecoder, LLAMA_7B_SHAPE, decoderItemBytes } = await import('../dist/model/sharded-decoder.js');

const GiB = 2 ** 30;
const gib = (b) => (b / GiB).toFixed(3);
const rss = () => process.memoryUsage().rss;
const cpuFeatures = [...new Set(readFileSync('/proc/cpuinfo', 'utf8').match(/\b(avx_vnni|avx512_vnni)\b/g) ?? [])].join(' ') || 'neither avx_vnni nor avx512_vnni';

const shape = { ...LLAMA_7B_SHAPE, layers: Number(args.layers), zeroPoints: args['zero-points'] };
const threads = Number(args.threads), steps = Number(args.steps);
const m = machine();
console.log(`# past 4 GiB: ${m.model}, ${m.cores} cores, ${m.memoryGiB} GiB; CPU features: ${cpuFeatures}; Node ${m.node} (V8 ${m.v8}); commit ${m.commit}; load ${loadavg()}`);
console.log(`shape: hidden ${shape.hidden}, FFN ${shape.ffn}, ${shape.layers} layers, ${shape.heads} heads, vocab ${shape.vocab}, 4-bit blocks of ${shape.blockSize} (float32 scale${shape.zeroPoints ? ' and zero point' : ''} each), KV cache ${shape.maxSeq} positions`);

const items = decoderItemBytes(shape);
const h = shape.hidden, f = shape.ffn, bs = shape.blockSize;
const q4 = (k, n) => (k * n) / 2 + ((n * k * 4) / bs) * (shape.zeroPoints ? 2 : 1);
const layerWeights = q4(h, 3 * h) + q4(h, h) + q4(h, 2 * f) + q4(f, h);
const kv = 2 * shape.maxSeq * h * 4;
const total = items.reduce((a, b) => a + b, 0);
console.log(`per layer: 4-bit QKV ${h}x${3 * h}, O ${h}x${h}, gate/up ${h}x${2 * f}, down ${f}x${h} = ${gib(layerWeights)} GiB (+ KV cache ${(kv / 2 ** 20).toFixed(1)} MiB)`);
console.log(`embedding float32 ${shape.vocab}x${h} = ${gib(items[0])} GiB; lm_head 4-bit ${h}x${shape.vocab} = ${gib(items[items.length - 1])} GiB`);
console.log(`4-bit weights (layers + lm_head) ${gib(layerWeights * shape.layers + items[items.length - 1])} GiB; all weights ${gib(layerWeights * shape.layers + items[0] + items[items.length - 1])} GiB; with KV cache ${gib(total)} GiB; one wasm32 memory holds 4 GiB`);

if (args.overhead) {
  // same seed, same build: the two decoders are the same model, cut differently
  const opts = { seed: 1, runtime: { threads, simd: args.simd } };
  const one = await ShardedDecoder.createRandom(shape, opts);
  const cut = await ShardedDecoder.createRandom(shape, { ...opts, shardBytes: items[0] });
  const times = [[], []];
  let same = true;
  for (let s = 0; s < steps; s++) {
    const out = [];
    for (const [i, d] of (s % 2 ? [[1, cut], [0, one]] : [[0, one], [1, cut]])) {
      const a = performance.now();
      out[i] = await d.step(17 + s);
      times[i].push(performance.now() - a);
    }
    same &&= out[0].every((v, j) => Object.is(v, out[1][j]));
  }
  const [m1, mN] = times.map((t) => median(t.slice(2)));
  console.log(`overhead: ${shape.layers} layers in 1 shard vs ${cut.shards.length} shards; median ms per step ${m1.toFixed(0)} vs ${mN.toFixed(0)} (ratio ${(mN / m1).toFixed(3)}; steps 3-${steps}, alternated); logits bit-identical: ${same}`);
  one.dispose();
  cut.dispose();
  process.exit(0);
}

const rss0 = rss();
const t0 = performance.now();
const others = otherLoadMeter();
let dec = await ShardedDecoder.createRandom(shape, {
  seed: 1,
  shardBytes: Math.round(Number(args['shard-gib']) * GiB),
  runtime: { threads, simd: args.simd },
  onItem: (item, shard) => {
    if (item % 8 === 0 || item === shape.layers + 1) console.log(`  item ${item} in shard ${shard}: ${((performance.now() - t0) / 1e3).toFixed(1)} s, RSS ${gib(rss())} GiB`);
  },
});
const loadS = (performance.now() - t0) / 1e3;
console.log(`loaded in ${loadS.toFixed(1)} s (other processes' load ${others().toFixed(2)} cores); build ${dec.shards[0].features.simd}, ${threads} thread(s) per shard`);
const mem = dec.memory();
for (let s = 0; s < mem.length; s++) {
  const mine = dec.plan.shardOf.flatMap((sh, i) => (sh === s ? [i] : []));
  const names = mine.map((i) => (i === 0 ? 'embedding' : i === shape.layers + 1 ? 'lm_head' : `L${i - 1}`));
  const span = names.length > 3 ? `${names[0]} … ${names[names.length - 1]} (${names.length} items)` : names.join(', ');
  console.log(`shard ${s}: ${span}; planned ${gib(dec.plan.bytes[s])} GiB, allocated ${gib(mem[s].inUse)} GiB, linear memory ${gib(mem[s].linearBytes)} GiB`);
}
const totalLinear = mem.reduce((a, x) => a + x.linearBytes, 0);
console.log(`total linear memory ${gib(totalLinear)} GiB over ${mem.length} shards; process RSS ${gib(rss())} GiB (${gib(rss() - rss0)} GiB more than before loading)`);

// decode: each step feeds one token at the next position (the KV cache grows by one per step)
const tokens = [1, 450, 4996, 17354, 1701, 432, 17204, 975, 278, 17366, 11203, 29889];
const ms = [], cpu = [];
const load2 = otherLoadMeter();
let logits;
for (let s = 0; s < steps; s++) {
  const a = performance.now(), c = process.cpuUsage();
  logits = await dec.step(tokens[s % tokens.length]);
  ms.push(performance.now() - a);
  const d = process.cpuUsage(c); // this process's threads (main and the shards' workers)
  cpu.push((d.user + d.system) / 1e3);
}
let top = 0;
for (let i = 1; i < logits.length; i++) if (logits[i] > logits[top]) top = i;
const med = median(ms.slice(1));
console.log(`decode: ${steps} steps, ms per step ${ms.map((x) => x.toFixed(0)).join(' ')}; median after the first ${med.toFixed(0)} ms = ${(1000 / med).toFixed(2)} tokens/s (other processes' load ${load2().toFixed(2)} cores)`);
const streamed = layerWeights * shape.layers + items[items.length - 1];
console.log(`CPU time of this process per step (ms, all its threads) ${cpu.map((x) => x.toFixed(0)).join(' ')}; median after the first ${median(cpu.slice(1)).toFixed(0)} ms`);
console.log(`weights streamed per token ${gib(streamed)} GiB: ${(streamed / 1e9 / (med / 1000)).toFixed(1)} GB/s; last logits finite ${logits.every(Number.isFinite)}, top-1 ${top}`);

dec.dispose();
dec = null;
logits = null;
// a shared memory goes when the last isolate holding it (the shards' workers end asynchronously) is
// collected: collect until the RSS stops falling
const tFree = performance.now();
for (let i = 0, last = Infinity; i < 40; i++) {
  globalThis.gc();
  await new Promise((r) => setTimeout(r, 250));
  if (rss() < rss0 + 0.1 * GiB || (i >= 4 && rss() >= last)) break;
  last = rss();
}
console.log(`after dispose and GC: RSS ${gib(rss())} GiB after ${((performance.now() - tFree) / 1e3).toFixed(1)} s (before loading ${gib(rss0)} GiB)`);
