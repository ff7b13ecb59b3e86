#!/usr/bin/env node
// ANT by error vs by effect on the PP-OCRv4 recognizer (issue 14, item 5): quantizes to ant4 with
// each configuration on the calibration part of bench/accuracy.mjs's split and prints, per layer,
// the type each one chose and how many layers changed type against the first configuration
// (accuracy on the test part: bench/accuracy.mjs with the same configurations).
//
//   node bench/ant-choice.mjs                       by error vs by effect, per tensor and per channel
//   node bench/ant-choice.mjs --lines 120 --config '{"antChoice":"effect"}' ...
//
// It imports ../dist/ and ../packages/cli/dist/: run `npm run build` first.

import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { createRuntime, loadModel, quantizeModel } from '../dist/index.js';
import { toModelInput } from '../dist/ocr.js';
import { loadOcrLines } from '../packages/cli/dist/ocr-lines.js';
import { splitOcrLines } from '../packages/cli/dist/ocr-split.js';
import { ocrModelAsset } from '../packages/cli/dist/ocr-assets.js';

const DEFAULT_CONFIGS = ['{}', '{"antChoice":"effect"}', '{"ant4PerChannelType":true}', '{"ant4PerChannelType":true,"antChoice":"effect"}'];
const { values } = parseArgs({ options: { config: { type: 'string', multiple: true }, lines: { type: 'string' }, every: { type: 'string', default: '4' } } });
const configs = (values.config ?? DEFAULT_CONFIGS).map((c) => ({ label: c, options: JSON.parse(c) }));

const rt = await createRuntime({ threads: 1 });
let lines = loadOcrLines();
if (values.lines) lines = lines.slice(0, Number(values.lines));
const { calibration } = splitOcrLines(lines, Number(values.every));
const feeds = calibration.map((l) => ({ x: toModelInput([l]) }));
const float = loadModel(rt, new Uint8Array(readFileSync(ocrModelAsset('ch_PP-OCRv4_rec_infer.onnx'))));

/** per layer (in run order): label and the detail of its weights */
const results = [];
for (const c of configs) {
  const t0 = performance.now();
  const m = await quantizeModel(float, { scheme: 'ant4', calibration: feeds, ...c.options });
  await m.run(feeds[0]); // builds the layers
  const s = (performance.now() - t0) / 1000;
  const layers = [];
  for (const [node, layer] of m.builtLayers) {
    const w = layer?.weights;
    if (!w) continue;
    // each channel's table (its type), to count channels that changed type
    const src = w.data.source;
    const tables = Array.from({ length: src.n }, (_, j) => Array.from(src.table ?? src.tables[src.columnTables[j]]).join(','));
    layers.push({ node: node.name || node.op, detail: w.format.detail(w.data), tables });
  }
  results.push({ label: c.label, layers, seconds: s });
  console.error(`${c.label}: ${s.toFixed(1)} s`);
  m.dispose();
}

const base = results[0];
console.log(`calibration ${calibration.length} lines\n`);
console.log(`| layer | ${results.map((r) => r.label).join(' | ')} |`);
console.log(`|---|${results.map(() => '---').join('|')}|`);
base.layers.forEach((l, i) => console.log(`| ${l.node} | ${results.map((r) => r.layers[i]?.detail ?? '').join(' | ')} |`));
console.log('');
// each configuration against the first one with the same ant4PerChannelType
for (const [i, r] of results.entries()) {
  const ref = results.find((q) => !!configs[results.indexOf(q)].options.ant4PerChannelType === !!configs[i].options.ant4PerChannelType);
  let layersChanged = 0, channels = 0, channelsChanged = 0;
  r.layers.forEach((l, j) => {
    const o = ref.layers[j];
    if (l.detail !== o.detail) layersChanged++;
    channels += l.tables.length;
    l.tables.forEach((t, c) => (channelsChanged += t !== o.tables[c] ? 1 : 0));
  });
  const counts = {};
  for (const l of r.layers) counts[l.detail] = (counts[l.detail] ?? 0) + 1;
  console.log(`${r.label}: ${r.layers.length} layers; against ${ref.label}: ${layersChanged} layers and ${channelsChanged} of ${channels} channels changed type; ${Object.entries(counts).map(([k, v]) => `${v} × ${k}`).join(', ')}; quantized in ${r.seconds.toFixed(1)} s`);
}
rt.dispose?.();
