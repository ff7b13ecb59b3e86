// Cache-efficiency proxy for rows vs columns (`node bench/threads-pieces.mjs`, after npx tsc): the 8 pieces of a 2-thread split run one after another on ONE thread
import { createRuntime } from '../dist/index.js';
import { packF32 } from '../dist/kernels/f32.js';
import { packQs8 } from '../dist/kernels/qs8.js';
import { splitRange } from '../dist/runtime/runtime.js';
const rt = await createRuntime({ threads: 1 });
const K = rt.kernels;
const med = (a) => { a.sort((x, y) => x - y); return a[a.length >> 1]; };
console.log('| kind | MxKxN | one call ms | 8 row pieces ms | 8 column pieces ms |\n|---|---|---|---|---|');
for (const s of ['3840x32x64', '3840x64x64', '1920x128x128', '960x240x240', '480x480x480', '128x768x768', '512x512x512']) {
  const [m, k, n] = s.split('x').map(Number);
  const a = rt.alloc(m * k * 4 + 64), c = rt.alloc(m * n * 4 + 64);
  const w = new Float32Array(k * n).map((_, i) => (i % 7) * 0.01);
  const pf = packF32(rt, w, k, n);
  const pq = packQs8(rt, new Int8Array(k * n).map((_, i) => (i % 9) - 4), k, n, new Int32Array(n), { allowSevenBit: false });
  const prm = rt.alloc(256); rt.view(Int32Array, prm, 64).fill(0);
  const colBias = rt.alloc(pq.np * 4); rt.view(Int32Array, colBias, pq.np).fill(0);
  rt.view(Int32Array, prm, 64)[0] = colBias; // QS8_PRM_COL_BIAS = 0, out kind int32 = 0
  const rows = splitRange(m, 4, 8, 4), cols = splitRange(n, 8, 8, 8);
  const kinds = {
    float32: { one: () => K.f32_gemm_4x8(m, 0, n, k, a, k * 4, pf.ptr, c, n * 4, 0, -Infinity, Infinity),
      rows: () => { for (const [r0, r1] of rows) K.f32_gemm_4x8(r1 - r0, 0, n, k, a + r0 * k * 4, k * 4, pf.ptr, c + r0 * n * 4, n * 4, 0, -Infinity, Infinity); },
      cols: () => { for (const [n0, n1] of cols) K.f32_gemm_4x8(m, n0, n1, k, a, k * 4, pf.ptr, c, n * 4, 0, -Infinity, Infinity); } },
    int8: { one: () => K.qs8_gemm_4x8c2(m, 0, n, pq.kp, a, pq.kp * 2, pq.ptr, prm, c, n * 4),
      rows: () => { for (const [r0, r1] of rows) K.qs8_gemm_4x8c2(r1 - r0, 0, n, pq.kp, a + r0 * pq.kp * 2, pq.kp * 2, pq.ptr, prm, c + r0 * n * 4, n * 4); },
      cols: () => { for (const [n0, n1] of cols) K.qs8_gemm_4x8c2(m, n0, n1, pq.kp, a, pq.kp * 2, pq.ptr, prm, c, n * 4); } },
  };
  for (const [kind, f] of Object.entries(kinds)) {
    const t = { one: [], rows: [], cols: [] };
    for (let i = 0; i < 5; i++) for (const x of Object.keys(t)) f[x]();
    for (let r = 0; r < 40; r++) for (const x of Object.keys(t)) { const t0 = performance.now(); f[x](); f[x](); t[x].push((performance.now() - t0) / 2); }
    console.log(`| ${kind} | ${s} | ${med(t.one).toFixed(3)} | ${med(t.rows).toFixed(3)} | ${med(t.cols).toFixed(3)} |`);
  }
}
process.exit(0);
