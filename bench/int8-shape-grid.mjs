// Where int8 beats float32 by GEMM shape: one float32 and one int8 model layer (LinearLayerF32,
// QuantLinearLayer with the int8 format: staging, the NaN scan, the GEMM, the epilogue) per K x N,
// timed at M rows, interleaved, least of many calls (1 thread). What src/model/int8-shape-rule.ts
// was derived from; prints M K N float32-µs int8-µs ratio, tab-separated.
//   node bench/int8-shape-grid.mjs > grid.tsv
import { createRuntime } from '../dist/index.js';
import { LinearLayerF32, QuantLinearLayer } from '../dist/model/layers.js';
import { int8Format } from '../dist/formats/int8.js';
const rt = await createRuntime({ threads: 1 });
const Ms = [1, 8, 32, 96, 288, 1152, 2304], Ks = [8, 16, 32, 88, 200], Ns = [8, 16, 32, 88, 200];
const rows = [];
for (const k of Ks) for (const n of Ns) {
  const wf = Float32Array.from({ length: k * n }, (_, i) => Math.sin(i * 0.37));
  const q = Int8Array.from(wf, (v) => Math.round(v * 127));
  const f = new LinearLayerF32(rt, k, n, wf, new Float32Array(n), false, null);
  const i8 = new QuantLinearLayer(rt, { format: int8Format, data: { k, n, q, scales: new Float32Array(n).fill(1 / 127), input: { scale: 0.01, zeroPoint: 128 } } }, new Float32Array(n), null);
  for (const m of Ms) {
    const x = rt.alloc(m * k * 4 + 64), y = rt.alloc(m * n * 4 + 64), s = rt.alloc(i8.scratchBytes([m, k]) + 64);
    rt.view(Float32Array, x, m * k).set(Float32Array.from({ length: m * k }, (_, i) => Math.sin(i)));
    const io = { x, xs: [x], inDims: [[m, k]], y, ys: [y], scratch: s, dims: [m, k] };
    const best = [Infinity, Infinity];
    const reps = Math.max(30, Math.min(2000, Math.round(2e7 / (m * k * n))));
    for (let r = 0; r < reps; r++) for (const [j, l] of [f, i8].entries()) {
      const t0 = performance.now(); await l.run(io); best[j] = Math.min(best[j], performance.now() - t0);
    }
    rows.push({ m, k, n, f: best[0] * 1e3, q: best[1] * 1e3 });
    rt.free(x); rt.free(y); rt.free(s);
  }
}
for (const r of rows) console.log(`${r.m}\t${r.k}\t${r.n}\t${r.f.toFixed(2)}\t${r.q.toFixed(2)}\t${(r.f / r.q).toFixed(2)}`);
process.exit(0);
