#!/usr/bin/env node
// Baseline-build W4A8 layouts head to head: qb4 on the old 'c2' nibble panels vs the 's4' shift
// layout, and our INT8 GEMV (runQs8, int32 out) as the yardstick, in one process, interleaved:
// every round times each kernel once (median of ~0.4 s of calls), weights rotated over 3x L3.
// Prints the median over rounds and the ratios. 1 thread. --f32 adds W4A32 (runQb4F32) on both layouts.
//
//   node bench/qb4-layouts.mjs [--f32] [--rounds 7] [--shapes 1x4096x4096,1x4096x11008,8x4096x4096,128x768x3072]
//
// Imports ../dist/index.js: `npm run build` first.

import { createRuntime, packQb4, runQb4, runQb4F32, packQs8, runQs8 } from '../dist/index.js';
import { activationsF32, activationsU8, weightsI8 } from './data.mjs';
import { int4Bytes, int4Of } from './int4-lib.mjs';
import { copiesFor } from './lowbit.mjs';
import { l3Bytes } from './system.mjs';
import { median } from './timing.mjs';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const rounds = Number(opt('--rounds', 7));
const withF32 = args.includes('--f32');
const shapes = opt('--shapes', '1x4096x4096,1x4096x11008').split(',').map((s) => {
  const [m, k, n] = s.split('x').map(Number);
  return { m, k, n, stream: m <= 8 };
});

async function timeOnce(call, seconds = 0.4) {
  const ts = [];
  const end = performance.now() + seconds * 1e3;
  while (performance.now() < end || ts.length < 5) {
    const t0 = performance.now();
    await call();
    ts.push((performance.now() - t0) / 1e3);
  }
  return median(ts);
}

const rt = await createRuntime({ simd: 'baseline', threads: 1 });
const rot = 3 * l3Bytes();
for (const shape of shapes) {
  const { m, k, n } = shape;
  const x = activationsF32(shape);
  const blocks = int4Of(k, n);
  const copies4 = copiesFor(shape, int4Bytes(k, n), rot);
  const kernels = {};
  for (const layout of ['c2', 's4']) {
    const ws = Array.from({ length: copies4 }, () => packQb4(rt, blocks, { layout }));
    let i = 0;
    kernels[`qb4 ${layout}`] = { ws, call: () => runQb4(rt, x, m, ws[i++ % ws.length], { activations: 'per-block' }) };
    if (withF32) kernels[`w4a32 ${layout}`] = { ws: [], call: () => runQb4F32(rt, x, m, ws[i++ % ws.length]) };
  }
  const a = activationsU8(shape);
  const w8 = weightsI8(shape);
  const zb = new Int8Array(n);
  const ws8 = Array.from({ length: copiesFor(shape, k * n, rot) }, () => packQs8(rt, w8, k, n, zb, { allowSevenBit: false }));
  let j = 0;
  kernels.int8 = { ws: ws8, call: () => runQs8(rt, a, m, 128, ws8[j++ % ws8.length], { kind: 'int32' }) };
  // same bits from both layouts
  const y0 = await kernels['qb4 c2'].call(), y1 = await kernels['qb4 s4'].call();
  const same = y0.length === y1.length && y0.every((v, i) => Object.is(v, y1[i]));
  const t = Object.fromEntries(Object.keys(kernels).map((name) => [name, []]));
  for (let r = 0; r < rounds; r++) {
    const names = Object.keys(kernels);
    if (r % 2) names.reverse();
    for (const name of names) t[name].push(await timeOnce(kernels[name].call));
  }
  const gops = (s) => (2 * m * k * n) / s / 1e9;
  const med = Object.fromEntries(Object.entries(t).map(([name, ts]) => [name, median(ts)]));
  console.log(`${m}x${k}x${n} (${rounds} rounds, copies: qb4 ${copies4}, int8 ${ws8.length}; c2 and s4 outputs bit-identical: ${same})`);
  for (const [name, s] of Object.entries(med)) {
    console.log(`  ${name.padEnd(8)} ${(s * 1e3).toFixed(3).padStart(8)} ms  ${gops(s).toFixed(1).padStart(6)} GOPS  x${(med.int8 / s).toFixed(2)} of INT8  rounds(ms): ${t[name].map((v) => (v * 1e3).toFixed(2)).join(' ')}`);
  }
  console.log(`  s4 / c2 speed-up: x${(med['qb4 c2'] / med['qb4 s4']).toFixed(2)}`);
  for (const kk of Object.values(kernels)) kk.ws.forEach((w) => w.dispose());
}
rt.dispose();
