#!/usr/bin/env node
// spmm: sparse int8 SpMM (spmm-csr unstructured, spmm-block 4x4 with int8 or int4 values, spmm-nm 2:4, spmm-srbcrs 4x1 vector rows) against the dense int8
// GEMM (qs8) in the same process, same shapes, one thread: speed-up per sparsity and the break-even
// sparsity (linear interpolation of the speed-up between the measured sparsities). Weights: normal
// floats pruned by magnitude (src/quant/prune.ts) and quantized per row to int8 (int4: codes in
// [-7, 7], quantizeRowsSymmetric); activations uint8
// with zero point 128; int32 output; each call includes staging A (as the dense call does).
// Weights are hot (the same packed weights every call). Median of timed calls, the dense and sparse
// calls of a shape alternating so a load change hits both.
//
//   node bench/spmm.mjs [--simd baseline|relaxed] [--quick] [--shapes MxKxN,...] [--formats csr,block4x4,block4x4-int4,2:4,srbcrs] [--least]
//   (--least: the least time of the alternating calls, not the median: on a crowded machine a long
//   call is preempted more often than a short one, which the median turns into a bias)
//
// It imports ../dist/: run `npx tsc -p tsconfig.json` (and `npm run build:wasm`) first.

import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { createRuntime, normalFloats, mulberry32, pruneMask, applyMask, quantizeRowsInt8, quantizeRowsSymmetric } from '../dist/index.js';
import { packQs8, encodeCsr, encodeNm24, encodeBsr4, encodeBsr4Int4, packSpmmCsr, packSpmmNm, packSpmmBlock, spmmCsrGemm, spmmNmGemm, spmmBlockGemm, encodeSrbcrs4, packSpmmSrbcrs, spmmSrbcrsGemm } from '../dist/kernels.js';
import { qs8Gemm } from '../dist/kernels/qs8.js';
import { int4BlockGrid, quantizeInt4Grid } from '../dist/quant/int4-blocks.js';

const { values } = parseArgs({ options: { simd: { type: 'string', default: 'baseline' }, quick: { type: 'boolean', default: false }, shapes: { type: 'string' }, formats: { type: 'string' }, least: { type: 'boolean', default: false } } });
const rt = await createRuntime({ threads: 1, simd: values.simd });
const SHAPES = values.shapes
  ? values.shapes.split(',').map((s) => s.split('x').map(Number))
  : [1, 8, 128].flatMap((m) => [[m, 768, 768], [m, 768, 3072], [m, 3072, 768], [m, 3072, 3072]]);
const ALL_FORMATS = [
  { name: 'csr', pattern: { kind: 'unstructured' }, sparsities: [0.5, 0.75, 0.9, 0.95], encode: encodeCsr, pack: packSpmmCsr, gemm: spmmCsrGemm, target: [0.9, 3] },
  { name: 'block4x4', pattern: { kind: 'block', rows: 4, cols: 4 }, sparsities: [0.5, 0.75, 0.9], encode: encodeBsr4, pack: packSpmmBlock, gemm: spmmBlockGemm, target: [0.75, 2] },
  { name: 'block4x4-int4', pattern: { kind: 'block', rows: 4, cols: 4 }, sparsities: [0.5, 0.75, 0.9], encode: encodeBsr4Int4, pack: packSpmmBlock, gemm: spmmBlockGemm, target: [0.75, 2], qmax: 7 },
  // int4-sparse's per-block scales: a multiplier per block (src/quant/int4-blocks.ts), one i16 multiply pair more per block
  { name: 'block4x4-int4s', pattern: { kind: 'block', rows: 4, cols: 4 }, sparsities: [0.5, 0.75, 0.9], encode: encodeBsr4Int4, pack: packSpmmBlock, gemm: spmmBlockGemm, target: [0.75, 2], blockScales: true },
  { name: '2:4', pattern: { kind: 'nm', n: 2, m: 4 }, sparsities: [0.5], encode: encodeNm24, pack: packSpmmNm, gemm: spmmNmGemm, target: [0.5, 1.5] },
  // SR-BCRS-like: 4x1 vectors (4 output channels at one k) pruned by L2 norm, row blocks padded to 2 vectors
  { name: 'srbcrs', pattern: { kind: 'block', rows: 4, cols: 1 }, sparsities: [0.5, 0.75, 0.9], encode: encodeSrbcrs4, pack: packSpmmSrbcrs, gemm: spmmSrbcrsGemm, target: [0.75, 2] },
];
const FORMATS = values.formats ? ALL_FORMATS.filter((f) => values.formats.split(',').includes(f.name)) : ALL_FORMATS;
const budgetMs = values.quick ? 150 : 400;

/** median ms of a() and b(), called alternately until each has run budgetMs (at least 5 calls) */
async function timePair(a, b) {
  await a(), await b();
  const ta = [], tb = [];
  let spent = 0;
  while (ta.length < 5 || spent < 2 * budgetMs) {
    for (const [f, t] of [[a, ta], [b, tb]]) {
      const t0 = performance.now();
      await f();
      const dt = performance.now() - t0;
      t.push(dt);
      spent += dt;
    }
    if (ta.length >= 200) break;
  }
  const med = (t) => (values.least ? Math.min(...t) : t.sort((x, y) => x - y)[t.length >> 1]);
  return [med(ta), med(tb)];
}

const load = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
console.log(`spmm vs dense int8 (qs8), ${rt.features.simd} build, 1 thread, Node ${process.version}, load average at start ${load()}`);
console.log('| M x K x N | dense int8 ms | format | sparsity | sparse ms | speed-up | target |');
console.log('|---|---|---|---|---|---|---|');
const breakEven = [];
for (const [m, k, n] of SHAPES) {
  const r = mulberry32(m * 7 + k * 3 + n);
  const wf = normalFloats(r, n * k, 1); // N x K: a row per output channel
  const a = Uint8Array.from({ length: m * k }, () => Math.floor(r() * 256));
  const ap = rt.alloc(a.length + 16), out = rt.alloc(m * n * 4 + 16);
  rt.view(Uint8Array, ap, a.length).set(a);
  const call = { m, a: ap, signed: false, za: 128, output: { kind: 'int32' }, out, outStride: n * 4 };
  // dense: the same weights unpruned, K x N for packQs8
  const { q: qd } = quantizeRowsInt8(wf, n, k);
  const kn = new Int8Array(k * n);
  for (let j = 0; j < n; j++) for (let i = 0; i < k; i++) kn[i * n + j] = qd[j * k + i];
  const dense = packQs8(rt, kn, k, n, new Int32Array(n));
  const runDense = () => rt.scoped((alloc) => qs8Gemm(rt, alloc, { ...call, za: 128, w: dense, output: { kind: 'int32' } }));
  for (const f of FORMATS) {
    const points = [];
    for (const s of f.sparsities) {
      const { mask } = pruneMask(wf, n, k, f.pattern, s);
      let enc;
      if (f.blockScales) {
        const pruned = applyMask(wf, mask), grid = int4BlockGrid(pruned, n, k);
        enc = f.encode(quantizeInt4Grid(pruned, n, k, grid), n, k, grid.subs);
      } else {
        const { q } = f.qmax ? quantizeRowsSymmetric(applyMask(wf, mask), n, k, f.qmax) : quantizeRowsInt8(applyMask(wf, mask), n, k);
        enc = f.encode(q, n, k);
      }
      const w = f.pack(rt, enc);
      const [td, ts] = await timePair(runDense, () => rt.scoped((alloc) => f.gemm(rt, alloc, call, w)));
      w.dispose();
      const speed = td / ts;
      points.push([s, speed]);
      const tgt = f.target[0] === s ? `${f.target[1]}x: ${speed >= f.target[1] ? 'met' : 'missed'}` : '';
      console.log(`| ${m} x ${k} x ${n} | ${td.toFixed(3)} | ${f.name} | ${(s * 100).toFixed(0)}% | ${ts.toFixed(3)} | ${speed.toFixed(2)}x | ${tgt} |`);
    }
    breakEven.push([`${m} x ${k} x ${n}`, f.name, points]);
  }
  dense.dispose();
  rt.free(ap);
  rt.free(out);
}

/** the sparsity where the speed-up crosses 1 (linear between measured points), or a bound */
function crossing(points) {
  if (points.length === 1) return points[0][1] >= 1 ? `<= ${points[0][0] * 100}%` : `none (${points[0][1].toFixed(2)}x at ${points[0][0] * 100}%)`;
  if (points[0][1] >= 1) return `<= ${points[0][0] * 100}%`;
  for (let i = 1; i < points.length; i++) {
    const [s0, v0] = points[i - 1], [s1, v1] = points[i];
    if (v1 >= 1) return `${((s0 + ((1 - v0) / (v1 - v0)) * (s1 - s0)) * 100).toFixed(0)}%`;
  }
  const [s, v] = points[points.length - 1];
  return `> ${s * 100}% (${v.toFixed(2)}x at ${s * 100}%)`;
}
console.log('\nbreak-even sparsity (speed-up = 1 against dense int8)\n');
console.log('| M x K x N | csr | block4x4 | block4x4-int4 | block4x4-int4s | 2:4 | srbcrs |');
console.log('|---|---|---|---|---|---|---|');
const byShape = new Map();
for (const [shape, name, points] of breakEven) {
  if (!byShape.has(shape)) byShape.set(shape, {});
  byShape.get(shape)[name] = crossing(points);
}
for (const [shape, v] of byShape) console.log(`| ${shape} | ${v.csr ?? '-'} | ${v.block4x4 ?? '-'} | ${v['block4x4-int4'] ?? '-'} | ${v['block4x4-int4s'] ?? '-'} | ${v['2:4'] ?? '-'} | ${v.srbcrs ?? '-'} |`);
console.log(`\nload average at end ${load()}`);
rt.dispose?.();
