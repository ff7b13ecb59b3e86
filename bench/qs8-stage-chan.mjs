#!/usr/bin/env node
// qs8-stage-chan: the run-time cost of per-channel activation scales and the learned rounding
// border (AQuant). Times the int8 layer's activation staging, qs8_stage_f32_c2 (one scale, round to
// nearest) against qs8_stage_chan_c2 (a divisor and a rounding offset per input column), and the
// whole int8 GEMM of the same layer each way, on PP-OCRv4 recognizer shapes, one thread.
//
//   node bench/qs8-stage-chan.mjs [--simd baseline|relaxed]   (relaxed on Node 20: node --experimental-wasm-relaxed-simd --no-liftoff ...)
//
// It imports ../dist/: run `npx tsc -p tsconfig.json` first.

import { parseArgs } from 'node:util';
import { createRuntime, weightFormat, uint8Range } from '../dist/index.js';
import { packQs8, stageChanVectors } from '../dist/kernels.js';

const { values } = parseArgs({ options: { simd: { type: 'string', default: 'baseline' } } });
const rt = await createRuntime({ threads: 1, simd: values.simd });
const int8 = weightFormat('int8');

/** [M rows, K, N]: a 1x1 conv on a 4x80 map, a 3x3 conv's im2col rows, the SVTR linear layers */
const SHAPES = [[320, 120, 480], [320, 1080, 120], [40, 120, 360], [40, 480, 120]];

/** ms per call of a and of b, timed in alternating rounds (the best round of each: the machine is shared) */
async function timePair(a, b, reps, rounds = 15) {
  for (let i = 0; i < 10; i++) (await a(), await b());
  const best = [Infinity, Infinity];
  for (let r = 0; r < rounds; r++) {
    for (const [j, f] of [a, b].entries()) {
      const t0 = performance.now();
      for (let i = 0; i < reps; i++) await f();
      best[j] = Math.min(best[j], (performance.now() - t0) / reps);
    }
  }
  return best;
}

let seed = 7;
const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
console.log(`qs8-stage-chan, ${rt.features.simd} build, 1 thread (times in microseconds per call)`);
console.log('| M x K x N | stage f32 (1 scale) | stage chan (div + border) | overhead | int8 layer GEMM | with chan staging | layer overhead |');
console.log('|---|---|---|---|---|---|---|');
for (const [m, k, n] of SHAPES) {
  const x = Float32Array.from({ length: m * k }, () => rand() * 6 - 1);
  const w = Float32Array.from({ length: n * k }, () => rand() - 0.5);
  const plain = uint8Range(-1, 5);
  const chan = { ...plain, channelScale: Float32Array.from({ length: k }, () => 0.5 + rand()), border: Float32Array.from({ length: k }, () => 0.4 + 0.2 * rand()) };
  const packed = packQs8(rt, new Int8Array(k * n), k, n, new Int32Array(n), { allowSevenBit: false });
  const { div, off } = stageChanVectors(k, plain.scale, chan.channelScale, chan.border);
  const px = rt.alloc(x.length * 4 + 16), pd = rt.alloc(k * 4 + 16), po = rt.alloc(k * 4 + 16);
  const out = rt.alloc(m * packed.kp * 2 + 16), rs = rt.alloc(m * 4 + 16);
  rt.view(Float32Array, px, x.length).set(x);
  rt.view(Float32Array, pd, k).set(div);
  rt.view(Float32Array, po, k).set(off);
  const [tPlain, tChan] = (await timePair(
    () => rt.kernels.qs8_stage_f32_c2(m, k, packed.kp, px, k * 4, plain.scale, plain.zeroPoint, out, rs),
    () => rt.kernels.qs8_stage_chan_c2(m, k, packed.kp, px, k * 4, pd, po, plain.zeroPoint, out, rs),
    Math.max(10, Math.round(2e6 / (m * k))),
  )).map((t) => t * 1000);
  for (const p of [px, pd, po, out, rs]) rt.free(p);
  packed.dispose();
  // the layer's GEMM as a model runs it (weights packed once; x, y and scratch in linear memory)
  const gp = int8.gemm(rt, int8.quantize(w, n, k, { input: plain }), null, null), gc = int8.gemm(rt, int8.quantize(w, n, k, { input: chan }), null, null);
  const gx = rt.alloc(x.length * 4 + 16), gy = rt.alloc(m * n * 4 + 16), gs = rt.alloc(Math.max(gp.scratchBytes(m), gc.scratchBytes(m)) + 16);
  rt.view(Float32Array, gx, x.length).set(x);
  const [gPlain, gChan] = (await timePair(() => gp.run(m, gx, gy, gs), () => gc.run(m, gx, gy, gs), Math.max(5, Math.round(2e7 / (m * k * n))))).map((t) => t * 1000);
  for (const p of [gx, gy, gs]) rt.free(p);
  gp.dispose();
  gc.dispose();
  const pct = (a, b) => `${(((b - a) / a) * 100).toFixed(1)}%`;
  console.log(`| ${m} x ${k} x ${n} | ${tPlain.toFixed(1)} | ${tChan.toFixed(1)} | ${pct(tPlain, tChan)} | ${gPlain.toFixed(0)} | ${gChan.toFixed(0)} | ${pct(gPlain, gChan)} |`);
}
rt.dispose?.();
