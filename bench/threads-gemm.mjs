// 1 vs 2 threads on GEMM shapes, interleaved in one process (see bench/scaling.mjs): the OCR
// recognizer's convolutions as GEMMs (M = pixels, K = C_in, N = C_out) and the issue's 128-row and
// 512^3 shapes, each as the model layers run them on buffers already in linear memory:
//   float32: f32Gemm (bias);  int8: qs8StageF32 (quantize + stage) then qs8Gemm with a float32 epilogue.
// Sides: 1 thread, 2 threads split by columns, 2 threads split by rows, 2 threads as rt.parallelGemm picks.
//
//   npx tsc -p tsconfig.json && node bench/threads-gemm.mjs [--ms 400] [--shapes 960x240x240,...]

import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { createRuntime } from '../dist/index.js';
import { packF32, f32Gemm } from '../dist/kernels/f32.js';
import { packQs8, qs8Gemm, qs8StageF32 } from '../dist/kernels/qs8.js';
import { loadavg, machine, otherLoadMeter } from './system.mjs';
import { median } from './timing.mjs';

const OCR = ['3840x32x64', '3840x64x64', '1920x128x128', '960x128x240', '960x240x240', '480x240x480', '480x480x480', '240x480x480', '40x120x6625'];
const ISSUE = ['128x768x768', '128x768x3072', '512x512x512'];
const { values: opt } = parseArgs({ options: { ms: { type: 'string', default: '400' }, shapes: { type: 'string', default: [...OCR, ...ISSUE].join(',') } } });

const cpuFlags = () => ['avx_vnni', 'avx512_vnni'].filter((x) => new RegExp(`\\b${x}\\b`).test(readFileSync('/proc/cpuinfo', 'utf8'))).join(', ') || 'no VNNI';

function rand(n, seed, scale = 1) {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (s * 1103515245 + 12345) >>> 0;
    return ((s / 2 ** 32) * 2 - 1) * scale;
  });
}

/** One side: a runtime with its weights and buffers placed; run() does one layer's GEMM. */
function side(rt, kind, m, k, n) {
  const a = rand(m * k, 1), w = rand(k * n, 2, 0.1), bias = rand(n, 3);
  const x = rt.alloc(m * k * 4 + 64), y = rt.alloc(m * n * 4 + 64);
  rt.view(Float32Array, x, m * k).set(a);
  if (kind === 'float32') {
    const pw = packF32(rt, w, k, n);
    const pb = rt.alloc(pw.np * 4);
    rt.view(Float32Array, pb, pw.np).set(bias);
    return () => f32Gemm(rt, { m, a: x, aStride: k * 4, w: pw, c: y, cStride: n * 4, bias: pb, lo: -Infinity, hi: Infinity });
  }
  const q = Int8Array.from(w, (v) => Math.max(-127, Math.min(127, Math.round(v * 1270))));
  const pw = packQs8(rt, q, k, n, new Int32Array(n), { allowSevenBit: false });
  const staged = rt.alloc(m * pw.kp * 2 + 64), rowSum = rt.alloc(m * 4 + 64);
  const colScale = new Float32Array(n).fill(1e-4);
  return async () => {
    qs8StageF32(rt, pw, m, x, k * 4, 0.01, 128, staged, rowSum);
    await rt.scoped((alloc) => qs8Gemm(rt, alloc, { m, a: 0, signed: false, za: 128, w: pw, staged: { ptr: staged, rowSum }, output: { kind: 'float32', colScale, bias }, out: y, outStride: n * 4 }));
  };
}

async function main() {
  const mc = machine();
  console.log(`# bench/threads-gemm.mjs: ${mc.model} (${cpuFlags()}), ${mc.cores} cores; node ${mc.node}; commit ${mc.commit}; load ${loadavg()}`);
  console.log(`# each cell: median ms of blocks of calls lasting ~2 ms, the 4 sides interleaved (rotating order) for ~${opt.ms} ms per shape; ratio = 1 thr / 2 thr\n`);
  console.log('| kind | M x K x N | 1 thr ms | 2 thr columns | 2 thr rows | 2 thr auto (picks) | best ratio | auto ratio | other load |\n|---|---|---|---|---|---|---|---|---|');
  const one = await createRuntime({ threads: 1 });
  const two = await createRuntime({ threads: 2 });
  for (const kind of ['float32', 'int8']) {
    for (const s of opt.shapes.split(',')) {
      const [m, k, n] = s.split('x').map(Number);
      const r1 = side(one, kind, m, k, n), r2 = side(two, kind, m, k, n);
      const sides = [
        { run: r1, split: 'auto', ts: [] },
        { run: r2, split: 'columns', ts: [] },
        { run: r2, split: 'rows', ts: [] },
        { run: r2, split: 'auto', ts: [] },
      ];
      let picked = '';
      await (two.splitGemm = 'auto', two.parallelGemm(m, n, 4, 8, (m0, m1, n0, n1) => {
        picked = n1 - n0 < n ? 'columns' : m1 - m0 < m ? 'rows' : 'one piece';
        return ['f32_copy_rows', [0, 0, 0, 0, 0, 0]];
      }, Infinity));
      // calls per block: ~2 ms on one thread
      const t0 = performance.now();
      await r1();
      await r1();
      const reps = Math.max(1, Math.round(2 / ((performance.now() - t0) / 2)));
      for (let i = 0; i < 3; i++) for (const sd of sides) { two.splitGemm = sd.split; await sd.run(); }
      const meter = otherLoadMeter();
      const end = performance.now() + Number(opt.ms);
      for (let round = 0; performance.now() < end || round < 8; round++) {
        for (let j = 0; j < sides.length; j++) {
          const sd = sides[(j + round) % sides.length];
          two.splitGemm = sd.split;
          const b0 = performance.now();
          for (let i = 0; i < reps; i++) await sd.run();
          sd.ts.push((performance.now() - b0) / reps);
        }
      }
      two.splitGemm = 'auto';
      const [t1, tc, tr, ta] = sides.map((sd) => median(sd.ts));
      console.log(`| ${kind} | ${s} | ${t1.toFixed(3)} | ${tc.toFixed(3)} | ${tr.toFixed(3)} | ${ta.toFixed(3)} (${picked}) | ${(t1 / Math.min(tc, tr)).toFixed(2)}x | ${(t1 / ta).toFixed(2)}x | ${meter().toFixed(2)} |`);
    }
  }
  one.dispose();
  two.dispose();
  console.log(`\nload after: ${loadavg()}`);
  process.exit(0);
}

await main();
