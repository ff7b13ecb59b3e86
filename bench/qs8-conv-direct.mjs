// int8 convolutions: qs8-conv-direct (the staged image read in place) against the gathered rows
// (q_im2col_nhwc + the qs8 GEMM) and float32 (Conv2dF32, its direct way), per shape, 1 thread,
// variants interleaved per round, least of N process CPU ms per call (steadier than wall time on a
// shared machine; at 1 thread it is this thread's time). The grid behind src/layers/qconv-direct-rule.ts.
//   npx tsc -p tsconfig.json && node bench/qs8-conv-direct.mjs [--runs 9] [--threads 1]
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { createRuntime } from '../dist/index.js';
import { Conv2dGemm } from '../dist/layers/conv2d-gemm.js';
import { Conv2dF32, convOutSize } from '../dist/layers/conv2d.js';
import { Qs8Gemm } from '../dist/layers/gemm-qs8.js';
import { uint8Range } from '../dist/quant/activation-range.js';

const args = process.argv.slice(2);
const opt = (name, def) => (args.includes(name) ? args[args.indexOf(name) + 1] : def);
const RUNS = Number(opt('--runs', '9')), THREADS = Number(opt('--threads', '1'));
const flags = [...new Set(readFileSync('/proc/cpuinfo', 'utf8').match(/\b(avx_vnni|avx512_vnni)\b/g) ?? [])].sort();
const rt = await createRuntime({ threads: THREADS });
console.log(`qs8-conv-direct, ${THREADS} thread(s), least of ${RUNS}; ${os.cpus()[0].model}; Node ${process.version}; ${flags.join(' ')}; wasm ${rt.features.simd}; load ${os.loadavg().map((v) => v.toFixed(1)).join(' ')}`);
// [cin, cout, k, stride, h, w]: the detector's 3x3 shapes first, then a spread of channels, maps and strides
const SHAPES = [
  [96, 24, 3, 1, 160, 160], [96, 24, 3, 1, 80, 80], [96, 24, 3, 1, 40, 40], [96, 24, 3, 1, 20, 20],
  [8, 8, 3, 1, 80, 80], [16, 16, 3, 1, 80, 80], [16, 32, 3, 2, 160, 160], [32, 32, 3, 1, 40, 40],
  [64, 64, 3, 1, 20, 20], [64, 128, 3, 2, 40, 40], [128, 128, 3, 1, 10, 10], [12, 8, 3, 1, 3, 3],
  [24, 24, 3, 1, 40, 2], [256, 64, 3, 1, 6, 6],
];
let seed = 1;
const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
console.log('| cin->cout k/s | h x w | direct CPU ms | gathered CPU ms | float32 CPU ms | direct vs gathered | direct vs float32 | layout |');
console.log('|---|---|---|---|---|---|---|---|');
for (const [cin, cout, k, s, h, w] of SHAPES) {
  const p = (k - 1) >> 1;
  const g = { cin, cout, group: 1, kh: k, kw: k, sh: s, sw: s, dh: 1, dw: 1, pt: p, pl: p, pb: p, pr: p };
  const K = k * k * cin;
  // a quantized column reaches one end of [-127, 127], not both (what the split 7-bit c4 layout needs)
  const q = Int8Array.from({ length: K * cout }, () => Math.floor(rnd() * 254) - 126);
  const weights = { k: K, n: cout, q, scales: new Float32Array(cout).fill(0.01), input: uint8Range(-1, 1) };
  const wf = new Float32Array(cout * K).map(() => rnd() - 0.5);
  const layers = {
    direct: new Conv2dGemm(rt, g, new Qs8Gemm(rt, weights, null, null), true, true),
    gathered: new Conv2dGemm(rt, g, new Qs8Gemm(rt, weights, null, null), true, false),
    float32: new Conv2dF32(rt, g, wf, null),
  };
  if (!layers.direct.direct) throw new Error('direct path not taken');
  const [oh, ow] = convOutSize(g, h, w);
  const scratch = Math.max(...Object.values(layers).map((l) => l.scratchBytes(h, w)));
  const px = rt.alloc(h * w * cin * 4 + 64), py = rt.alloc(oh * ow * cout * 4 + 64), ps = rt.alloc(scratch + 64);
  rt.view(Float32Array, px, h * w * cin).set(Float32Array.from({ length: h * w * cin }, () => rnd() * 2 - 1));
  const best = { direct: Infinity, gathered: Infinity, float32: Infinity };
  const reps = Math.max(1, Math.round(1e8 / (oh * ow * K * cout)));
  for (let i = 0; i <= RUNS; i++) {
    for (const [name, l] of Object.entries(layers)) {
      const c0 = process.cpuUsage();
      for (let r = 0; r < reps; r++) await l.run(1, h, w, px, py, ps);
      const c = process.cpuUsage(c0), t = (c.user + c.system) / 1000 / reps;
      if (i > 0) best[name] = Math.min(best[name], t);
    }
  }
  console.log(`| ${cin}->${cout} ${k}x${k}/${s} | ${h}x${w} | ${best.direct.toFixed(3)} | ${best.gathered.toFixed(3)} | ${best.float32.toFixed(3)} | ${(best.gathered / best.direct).toFixed(2)}x | ${(best.float32 / best.direct).toFixed(2)}x | ${layers.direct.gemm.layout} |`);
  for (const l of Object.values(layers)) l.dispose();
  for (const a of [px, py, ps]) rt.free(a);
}
console.log(`load after: ${os.loadavg().map((v) => v.toFixed(1)).join(' ')}`);
process.exit(0);
