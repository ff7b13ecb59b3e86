#!/usr/bin/env node
// Each weight format's least step time per PP-OCRv4 layer, the models' runs interleaved (src/model/speed-check.ts),
// for the layers int8 quantizes: why auto's speed rule (src/model/auto-speed.ts) leaves PP-OCRv4 all-int8 here.
// The 4-bit and FP8 formats are quantized the quick way (round to nearest, by error): their kernels, not
// their values, set the time. node bench/format-step-times.mjs (after npm run build)
import { readFileSync } from 'node:fs';
import { createRuntime, loadModel, quantizeModel } from '../dist/index.js';
import { layerLatencies } from '../dist/model/speed-check.js';
import { toModelInput } from '../dist/ocr.js';
import { loadOcrLines } from '../packages/cli/dist/ocr-lines.js';
import { splitOcrLines } from '../packages/cli/dist/ocr-split.js';
import { ocrModelAsset } from '../packages/cli/dist/ocr-assets.js';
const rt = await createRuntime({ threads: 1 });
const float = loadModel(rt, new Uint8Array(readFileSync(ocrModelAsset('ch_PP-OCRv4_rec_infer.onnx'))));
const { calibration } = splitOcrLines(loadOcrLines(), 4);
const cal = calibration.slice(0, 8).map((l) => ({ x: toModelInput([l]) }));
const models = { float32: float };
for (const [name, o] of [['int8', {}], ['int4', { method: 'rtn' }], ['ant4', { antChoice: 'error' }], ['fp8', { method: 'rtn' }], ['fpx', { fpxChoice: 'error' }]]) models[name] = await quantizeModel(float, { scheme: name, calibration: cal, ...o });
const t = await layerLatencies(models, cal[0], 8);
const names = Object.keys(models);
const sum = Object.fromEntries(names.map((n) => [n, 0]));
let faster = Object.fromEntries(names.map((n) => [n, 0]));
for (const l of t.values()) {
  if (!models.int8.builtLayers.get(l.node) || models.int8.builtLayers.get(l.node).scheme !== 'int8') continue;
  for (const n of names) { sum[n] += l.ms[n]; if (l.ms[n] <= l.ms.int8 * 1.05) faster[n]++; }
  console.log(l.label.slice(0, 40).padEnd(40), names.map((n) => `${n} ${l.ms[n].toFixed(3)}`).join('  '));
}
console.log('sum over int8 layers (ms):', names.map((n) => `${n} ${sum[n].toFixed(2)}`).join(', '));
console.log('layers within 5% of int8:', JSON.stringify(faster));
const vnni = [...new Set(readFileSync('/proc/cpuinfo', 'utf8').match(/\b(avx512_vnni|avx_vnni)\b/g) ?? ['no VNNI'])].join(' ');
console.log(`${rt.features.simd} build, Node ${process.version}, ${vnni}, load average ${(await import('node:os')).loadavg().map((x) => x.toFixed(1)).join(' ')}`);
