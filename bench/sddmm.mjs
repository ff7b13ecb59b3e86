#!/usr/bin/env node
// sddmm: int8 SDDMM (sddmm-csr with a random mask, sddmm-block with random 16x16 blocks) against
// dense masked int8 Q Kᵀ on attention shapes, same process, one thread. Dense = the qs8 GEMM of Q
// (L x d) by Kᵀ (packed once, not timed: a lower bound on what attention pays, which packs K per
// call) with int32 output, the mask not even applied: so each ratio is a lower bound on the speed-up
// over "dense GEMM then mask". Q and K random int8; int32 output. Least time of alternating calls
// (on a shared machine a long call is preempted more often than a short one: medians favour the
// short sparse calls, the least time of each does not).
//
//   node bench/sddmm.mjs [--simd baseline|relaxed] [--quick] [--shapes L:d,...]
//
// It imports ../dist/: run `npx tsc -p tsconfig.json` (and `npm run build:wasm`) first.

import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { createRuntime, mulberry32 } from '../dist/index.js';
import { packQs8, packSddmmCsr, packSddmmBlock, sddmmGemm, sddmmMaskCsr, sddmmMaskBlock } from '../dist/kernels.js';
import { qs8Gemm } from '../dist/kernels/qs8.js';

const { values } = parseArgs({ options: { simd: { type: 'string', default: 'baseline' }, quick: { type: 'boolean', default: false }, shapes: { type: 'string' } } });
const rt = await createRuntime({ threads: 1, simd: values.simd });
const SHAPES = values.shapes ? values.shapes.split(',').map((s) => s.split(':').map(Number)) : [[256, 64], [256, 128], [1024, 64], [1024, 128]];
const SPARSITY = [0.5, 0.75, 0.9, 0.95];
const BLOCK = 16;
const budgetMs = values.quick ? 100 : 300;

/** least ms of a() and b(), called alternately until each has run budgetMs (at least 15 calls) */
async function timePair(a, b) {
  await a(), await b();
  const ta = [], tb = [];
  let spent = 0;
  while (ta.length < 15 || spent < 2 * budgetMs) {
    for (const [f, t] of [[a, ta], [b, tb]]) {
      const t0 = performance.now();
      await f();
      const dt = performance.now() - t0;
      t.push(dt);
      spent += dt;
    }
    if (ta.length >= 300) break;
  }
  return [Math.min(...ta), Math.min(...tb)];
}

const load = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const flags = [...new Set(readFileSync('/proc/cpuinfo', 'utf8').match(/\b(avx_vnni|avx512_vnni)\b/g) ?? [])].join(' ') || 'none';
console.log(`sddmm vs dense int8 Q Kᵀ (qs8), ${rt.features.simd} build, 1 thread, Node ${process.version}, CPU flags ${flags}, load average at start ${load()}`);
// speed-up against the least dense time over the shape's cells (the same dense call in each): one
// preempted dense cell would otherwise inflate its ratio
console.log('| L x d | dense ms, least over the shape (G MAC/s) | mask | sparsity (stored) | sddmm ms | G MAC/s kept | speed-up | target |');
console.log('|---|---|---|---|---|---|---|---|');
for (const [L, d] of SHAPES) {
  const r = mulberry32(L * 31 + d);
  const q = Int8Array.from({ length: L * d }, () => Math.floor(r() * 256) - 128);
  const k = Int8Array.from({ length: L * d }, () => Math.floor(r() * 256) - 128);
  const qp = rt.alloc(q.length + 16), kp = rt.alloc(k.length + 16), out = rt.alloc(L * L * 4 + 16);
  rt.view(Int8Array, qp, q.length).set(q);
  rt.view(Int8Array, kp, k.length).set(k);
  const kt = new Int8Array(d * L); // Kᵀ (d x L) for packQs8 (K x N)
  for (let j = 0; j < L; j++) for (let i = 0; i < d; i++) kt[i * L + j] = k[j * d + i];
  const dense = packQs8(rt, kt, d, L, new Int32Array(L), { expectedM: L });
  const runDense = () => rt.scoped((alloc) => qs8Gemm(rt, alloc, { m: L, a: qp, signed: true, za: 0, w: dense, output: { kind: 'int32' }, out, outStride: L * 4 }));
  const call = { k: d, a: qp, lda: d, b: kp, ldb: d, output: { kind: 'int32' }, out };
  const rows = [];
  let dmin = Infinity;
  for (const s of SPARSITY) {
    for (const kind of ['csr', 'block']) {
      const mr = mulberry32(L + d + Math.round(s * 100));
      let mask;
      if (kind === 'csr') {
        mask = packSddmmCsr(rt, sddmmMaskCsr(Uint8Array.from({ length: L * L }, () => (mr() >= s ? 1 : 0)), L, L));
      } else {
        const nb = L / BLOCK, dm = new Uint8Array(L * L);
        for (let bi = 0; bi < nb; bi++) for (let bc = 0; bc < nb; bc++) if (mr() >= s) for (let i = 0; i < BLOCK; i++) dm.fill(1, (bi * BLOCK + i) * L + bc * BLOCK, (bi * BLOCK + i) * L + bc * BLOCK + BLOCK);
        mask = packSddmmBlock(rt, sddmmMaskBlock(dm, L, L, BLOCK, BLOCK));
      }
      const [td, ts] = await timePair(runDense, () => rt.scoped((alloc) => sddmmGemm(rt, alloc, call, mask)));
      const kept = mask.size; // outputs computed (block: whole blocks)
      mask.dispose();
      dmin = Math.min(dmin, td);
      rows.push({ s, kind, kept, ts });
    }
  }
  const gm = (macs, ms) => (macs / ms / 1e6).toFixed(1);
  for (const { s, kind, kept, ts } of rows) {
    const speed = dmin / ts;
    const tgt = s === 0.9 ? `3x: ${speed >= 3 ? 'met' : 'missed'}` : '';
    console.log(`| ${L} x ${d} | ${dmin.toFixed(3)} (${gm(L * L * d, dmin)}) | ${kind === 'csr' ? 'csr' : `block ${BLOCK}x${BLOCK}`} | ${(s * 100).toFixed(0)}% (${((1 - kept / (L * L)) * 100).toFixed(1)}%) | ${ts.toFixed(3)} | ${gm(kept * d, ts)} | ${speed.toFixed(2)}x | ${tgt} |`);
  }
  dense.dispose();
  for (const p of [qp, kp, out]) rt.free(p);
}
console.log(`\nload average at end ${load()}`);
rt.dispose?.();
