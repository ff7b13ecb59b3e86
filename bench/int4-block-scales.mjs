#!/usr/bin/env node
// int4-sparse's per-block scales against its per-channel ones, layer by layer, on the PP-OCRv4
// recognizer (issue 16): each weight layer's output SQNR = 10 log10(tr(W H Wᵀ) / tr(ΔW H ΔWᵀ)) with
// H = XᵀX / rows of its input over bench/accuracy.mjs's calibration lines (from the float model, as
// bench/obc-layers.mjs), for 4x4 blocks pruned at each target by magnitude (round to nearest) and by
// OBC (rounding on the grid with error feedback), int4 codes with one scale per row ('channel') or a
// multiplier per kept block of the row scales ('block', src/quant/int4-blocks.ts).
//
//   node bench/int4-block-scales.mjs                         targets 0.25 and 0.5, both methods
//   node bench/int4-block-scales.mjs --targets 0.5 --no-obc --layers 0-10
//
// It imports ../dist/: run `npx tsc -p tsconfig.json` first.

import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { createRuntime, loadModel } from '../dist/index.js';
import { toModelInput } from '../dist/ocr.js';
import { layerHessians } from '../dist/model/layer-hessians.js';
import { weightRows } from '../dist/model/quantize.js';
import { int4SparseFormat as fmt } from '../dist/formats/int4-sparse.js';
import { uint8Range } from '../dist/quant/activation-range.js';
import { rowQuadForms } from '../dist/quant/hessian.js';
import { loadOcrLines } from '../packages/cli/dist/ocr-lines.js';
import { splitOcrLines } from '../packages/cli/dist/ocr-split.js';
import { ocrModelAsset } from '../packages/cli/dist/ocr-assets.js';
import { machine } from './system.mjs';

const { values } = parseArgs({ options: { targets: { type: 'string', default: '0.25,0.5' }, 'no-obc': { type: 'boolean', default: false }, lines: { type: 'string' }, layers: { type: 'string' }, json: { type: 'boolean', default: false } } });
const targets = values.targets.split(',').map(Number);
const methods = values['no-obc'] ? ['magnitude'] : ['magnitude', 'obc'];
const [first, last] = values.layers ? values.layers.split('-').map(Number) : [0, Infinity];

const rt = await createRuntime({ threads: 1 });
let lines = loadOcrLines();
if (values.lines) lines = lines.slice(0, Number(values.lines));
const { calibration } = splitOcrLines(lines, 4);
const float = loadModel(rt, new Uint8Array(readFileSync(ocrModelAsset('ch_PP-OCRv4_rec_infer.onnx'))));
const feeds = calibration.map((l) => ({ x: toModelInput([l]) }));
await float.run(feeds[0]);
const order = [...float.layerSpecs].filter(([, s]) => !(s.type === 'conv' && s.geometry.group !== 1)).map(([node]) => node);
const wanted = new Set(order.filter((_, j) => j >= first && j <= last));
const hessians = await layerHessians(float, feeds, (node) => wanted.has(node));
const log = (s) => values.json || console.error(s);
const m = machine();
log(`${m.model}, Node ${m.node}, commit ${m.commit}; ${hessians.size} layers, ${calibration.length} calibration lines`);

const sum = (a) => a.reduce((s, v) => s + v, 0);
const db = (signal, err) => 10 * Math.log10(signal / err);
const rows = [];
let i = 0;
for (const node of order) {
  const h = hessians.get(node);
  if (!h) { i++; continue; }
  const { wnk, n, k } = weightRows(float.layerSpecs.get(node));
  const signal = sum(rowQuadForms(h, k, wnk, null, n));
  for (const target of targets) {
    for (const method of methods) {
      const r = { layer: i, k, n, target, method };
      for (const scales of ['channel', 'block']) {
        const d = fmt.quantize(wnk, n, k, { input: uint8Range(-1, 1), hessian: method === 'obc' ? h : undefined, options: { sparsity: { target, method, scales } } });
        r[scales] = db(signal, sum(rowQuadForms(h, k, wnk, fmt.dequantize(d), n)));
        r[`${scales}Bytes`] = fmt.storedBytes(d);
      }
      rows.push(r);
      log(`${String(i).padStart(2)} K ${String(k).padStart(4)} N ${String(n).padStart(4)} ${target} ${method.padEnd(9)} channel ${r.channel.toFixed(2).padStart(6)} dB  block ${r.block.toFixed(2).padStart(6)} dB  gain ${(r.block - r.channel).toFixed(2)}  bytes ${r.channelBytes} -> ${r.blockBytes}`);
    }
  }
  i++;
}
if (values.json) console.log(JSON.stringify({ machine: m, calibration: calibration.length, rows }, null, 2));
else {
  for (const target of targets) for (const method of methods) {
    const rs = rows.filter((r) => r.target === target && r.method === method);
    const g = rs.map((r) => r.block - r.channel).sort((a, b) => a - b);
    console.log(`${target} ${method}: block above channel on ${g.filter((x) => x > 0).length} of ${g.length} layers; gain min ${g[0].toFixed(2)} / median ${g[g.length >> 1].toFixed(2)} / max ${g[g.length - 1].toFixed(2)} dB; bytes ${sum(rs.map((r) => r.channelBytes))} -> ${sum(rs.map((r) => r.blockBytes))}`);
  }
}
rt.dispose?.();
