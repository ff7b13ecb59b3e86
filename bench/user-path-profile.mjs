// Where an int8 rt.linear forward spends its time: each step of the per-tensor path timed on its own
// (copy in, min/max, quantize + stage, the GEMM alone on staged data, copy out) next to the whole
// forward and the bare kernel (runQs8). Least time of one call over many interleaved calls.
//   node bench/user-path-profile.mjs [--shape 128x768x768] [--simd baseline] [--calls 300]

import { parseArgs } from 'node:util';
import { createRuntime } from '../dist/index.js';
import { qs8Gemm, qs8StageF32, packQs8, runQs8 } from '../dist/kernels/qs8.js';

const { values: a } = parseArgs({ options: { shape: { type: 'string', default: '128x768x768' }, simd: { type: 'string', default: 'baseline' }, calls: { type: 'string', default: '300' } } });
const [m, k, n] = a.shape.split('x').map(Number);
const rt = await createRuntime({ simd: a.simd });
const r = () => Math.random() - 0.5;
const w = Float32Array.from({ length: k * n }, r), x = Float32Array.from({ length: m * k }, r);
const layer = await rt.linear(w, [k, n], null, { reference: false });
const { q, scales } = layer.weights.data;
const packed = packQs8(rt, q, k, n, new Int32Array(n), { allowSevenBit: false });
const px = rt.alloc(m * k * 4 + 64), staged = rt.alloc(m * packed.kp * 2 + 64), rowSum = rt.alloc(m * 4 + 64), out = rt.alloc(m * n * 4 + 64), mm = rt.alloc(64);
const u8 = Uint8Array.from({ length: m * k }, () => (Math.random() * 256) | 0);
const rowScale = new Float32Array(m).fill(0.01);
const epi = { kind: 'float32', colScale: scales, rowScale };
qs8StageF32(rt, packed, m, px, k * 4, 0.01, 128, staged, rowSum);

const steps = {
  'copy in': () => rt.view(Float32Array, px, x.length).set(x),
  'min/max (f32_minmax_finite)': () => rt.kernels.f32_minmax_finite(px, x.length, mm),
  'min/max (old f32_minmax)': () => rt.kernels.f32_minmax(px, x.length, mm),
  'quantize+stage (qs8StageF32)': () => qs8StageF32(rt, packed, m, px, k * 4, 0.01, 128, staged, rowSum),
  'per-row stage (qs8_stage_f32_rows_c2)': () => rt.kernels.qs8_stage_f32_rows_c2(m, k, packed.kp, px, k * 4, mm, staged, rowSum),
  'GEMM on staged data (qs8Gemm)': () => rt.scoped((al) => qs8Gemm(rt, al, { m, a: 0, signed: false, za: 128, w: packed, staged: { ptr: staged, rowSum }, output: epi, out, outStride: n * 4 })),
  'copy out': () => rt.read(Float32Array, out, m * n),
  'rt.linear forward (per-tensor)': () => layer.forward(x),
  'kernel (runQs8, u8 in)': () => runQs8(rt, u8, m, 128, packed, epi),
};
const best = Object.fromEntries(Object.keys(steps).map((s) => [s, Infinity]));
const calls = Number(a.calls);
for (let i = 0; i < calls; i++) {
  for (const [s, f] of Object.entries(steps)) {
    const t0 = performance.now();
    await f();
    best[s] = Math.min(best[s], performance.now() - t0);
  }
}
console.log(`${a.shape}, ${a.simd}, 1 thread, least of ${calls} calls each (ms):`);
for (const [s, t] of Object.entries(best)) console.log(`  ${s.padEnd(40)} ${(t * 1e3).toFixed(1).padStart(8)} µs`);
