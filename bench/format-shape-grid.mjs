// Each weight format's GEMM step time by shape: one model layer per format (LinearLayerF32, or
// QuantLinearLayer with the format's quantizer: staging, the NaN scan, the GEMM, the epilogue) per
// K x N, timed at M rows, formats interleaved, least of many calls (1 thread). What the cost table
// of 'auto''s speed budget (src/model/format-cost.ts) was fitted from: bench/format-cost-fit.mjs
// reads this output (committed as bench/format-shape-grid.tsv). Prints
// format M K N µs, tab-separated, after a '#' line naming the machine.
//   node bench/format-shape-grid.mjs > bench/format-shape-grid.tsv
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { createRuntime } from '../dist/index.js';
import { LinearLayerF32, QuantLinearLayer } from '../dist/model/layers.js';
import { findFormat } from '../dist/formats/table.js';
import { uint8Range } from '../dist/quant/activation-range.js';
const rt = await createRuntime({ threads: 1 });
// the formats 'auto' tries by default, quantized the quick way (their kernels, not their values, set the time)
const FORMATS = [['float32'], ['int8'], ['int4', { method: 'rtn' }], ['ant4', { antChoice: 'error' }], ['nf4'], ['fp8', { method: 'rtn' }], ['fpx', { fpxChoice: 'error' }]];
const Ms = [1, 16, 120, 480, 1920], Ks = [27, 96, 288, 1152], Ns = [16, 64, 240, 480];
const vnni = [...new Set(readFileSync('/proc/cpuinfo', 'utf8').match(/\b(avx512_vnni|avx_vnni)\b/g) ?? ['no VNNI'])].join(' ');
const cpu = readFileSync('/proc/cpuinfo', 'utf8').match(/model name\s*:\s*(.*)/)?.[1] ?? '?';
console.log(`# ${cpu}; ${vnni}; Node ${process.version}; ${rt.features.simd} build; 1 thread; load average at start ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
console.log('format\tM\tK\tN\tus');
const input = uint8Range(-1, 1);
for (const k of Ks) for (const n of Ns) {
  const wnk = Float32Array.from({ length: k * n }, (_, i) => Math.sin(i * 0.37) * 0.1);
  const layers = FORMATS.map(([name, options]) => {
    if (name === 'float32') return new LinearLayerF32(rt, k, n, wnk, new Float32Array(n), true, null);
    const format = findFormat(name);
    return new QuantLinearLayer(rt, { format, data: format.quantize(wnk, n, k, { input, options: options ?? {} }) }, new Float32Array(n), null);
  });
  for (const m of Ms) {
    const x = rt.alloc(m * k * 4 + 64), y = rt.alloc(m * n * 4 + 64);
    const scratch = Math.max(...layers.map((l) => l.scratchBytes?.([m, k]) ?? 0));
    const s = rt.alloc(scratch + 64);
    rt.view(Float32Array, x, m * k).set(Float32Array.from({ length: m * k }, (_, i) => Math.sin(i)));
    const io = { x, xs: [x], inDims: [[m, k]], y, ys: [y], scratch: s, dims: [m, k] };
    const best = layers.map(() => Infinity);
    const reps = Math.max(8, Math.min(400, Math.round(1e7 / (m * k * n))));
    for (let r = 0; r < reps; r++) for (const [j, l] of layers.entries()) {
      const t0 = performance.now(); await l.run(io); best[j] = Math.min(best[j], performance.now() - t0);
    }
    for (const [j, [name]] of FORMATS.entries()) console.log(`${name}\t${m}\t${k}\t${n}\t${(best[j] * 1e3).toFixed(2)}`);
    rt.free(x); rt.free(y); rt.free(s);
  }
  for (const l of layers) l.dispose?.();
}
console.log(`# load average at end ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
process.exit(0);
