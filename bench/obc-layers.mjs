#!/usr/bin/env node
// OBC against magnitude pruning, layer by layer, on the PP-OCRv4 recognizer (issue 16): each weight
// layer's output error tr(ΔW H ΔWᵀ) with H = XᵀX / rows of its input over the calibration lines of
// bench/accuracy.mjs's split, taken from the FLOAT model (src/model/layer-hessians.ts; quantizeModel
// takes them sequentially, through the layers pruned before), as SQNR = 10 log10(tr(W H Wᵀ) / error),
// for magnitude pruning + int8 round to nearest and for OBC + int8 (src/quant/obc.ts), per pattern;
// which OBC engine ran (ExactOBS or the column sweep) and the seconds OBC took.
//
//   node bench/obc-layers.mjs                       block4x4 50%, unstructured 50%, 2:4
//   node bench/obc-layers.mjs --patterns unstructured:0.75 --lines 40 --json
//   node bench/obc-layers.mjs --layers 7-10 --exact-budget 0    layers 7 to 10, the column sweep everywhere
//
// It imports ../dist/: run `npx tsc -p tsconfig.json` first.

import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { createRuntime, loadModel } from '../dist/index.js';
import { toModelInput } from '../dist/ocr.js';
import { layerHessians } from '../dist/model/layer-hessians.js';
import { weightRows } from '../dist/model/quantize.js';
import { obcInt8 } from '../dist/quant/obc.js';
import { applyMask, pruneMask, quantizeRowsInt8 } from '../dist/quant/prune.js';
import { rowQuadForms } from '../dist/quant/hessian.js';
import { loadOcrLines } from '../packages/cli/dist/ocr-lines.js';
import { splitOcrLines } from '../packages/cli/dist/ocr-split.js';
import { ocrModelAsset } from '../packages/cli/dist/ocr-assets.js';
import { machine } from './system.mjs';

const { values } = parseArgs({ options: { patterns: { type: 'string', default: 'block4x4:0.5,unstructured:0.5,2:4:0.5' }, lines: { type: 'string' }, json: { type: 'boolean', default: false }, 'exact-budget': { type: 'string' }, 'solve-budget': { type: 'string' }, layers: { type: 'string' } } });
const obcOptions = { ...(values['exact-budget'] && { exactBudget: Number(values['exact-budget']) }), ...(values['solve-budget'] && { solveBudget: Number(values['solve-budget']) }) };
const [first, last] = values.layers ? values.layers.split('-').map(Number) : [0, Infinity];
const PRUNE = { block4x4: { kind: 'block', rows: 4, cols: 4 }, unstructured: { kind: 'unstructured' }, '2:4': { kind: 'nm', n: 2, m: 4 } };
const patterns = values.patterns.split(',').map((p) => { const i = p.lastIndexOf(':'); return { name: p.slice(0, i), target: Number(p.slice(i + 1)) }; });

const rt = await createRuntime({ threads: 1 });
let lines = loadOcrLines();
if (values.lines) lines = lines.slice(0, Number(values.lines));
const { calibration } = splitOcrLines(lines, 4);
const float = loadModel(rt, new Uint8Array(readFileSync(ocrModelAsset('ch_PP-OCRv4_rec_infer.onnx'))));
const t0 = performance.now();
const feeds = calibration.map((l) => ({ x: toModelInput([l]) }));
await float.run(feeds[0]); // plans the model: its layer specs
// the weight layers in order (grouped convolutions stay float), numbered as printed
const order = [...float.layerSpecs].filter(([, s]) => !(s.type === 'conv' && s.geometry.group !== 1)).map(([node]) => node);
const wanted = new Set(order.filter((_, j) => j >= first && j <= last));
const hessians = await layerHessians(float, feeds, (node) => wanted.has(node));
const log = (s) => values.json || console.error(s);
log(`${machine().model}, Node ${machine().node}, commit ${machine().commit}; Hessians of ${hessians.size} layers from ${calibration.length} calibration lines in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

const db = (signal, err) => 10 * Math.log10(signal / err);
const sum = (a) => a.reduce((s, v) => s + v, 0);
const rows = [];
let i = 0;
for (const node of order) {
  const h = hessians.get(node);
  if (!h) { i++; continue; }
  const { wnk, n, k } = weightRows(float.layerSpecs.get(node));
  const signal = sum(rowQuadForms(h, k, wnk, null, n));
  for (const p of patterns) {
    const mask = pruneMask(wnk, n, k, PRUNE[p.name], p.target).mask;
    const m8 = quantizeRowsInt8(applyMask(wnk, mask), n, k);
    const magW = Float64Array.from(m8.q, (v, j) => v * m8.scales[Math.floor(j / k)]);
    const t1 = performance.now();
    const o = obcInt8(wnk, n, k, h, PRUNE[p.name], p.target, obcOptions);
    const s = (performance.now() - t1) / 1000;
    const magErr = sum(rowQuadForms(h, k, wnk, magW, n)), obcErr = sum(rowQuadForms(h, k, wnk, o.w, n));
    const r = { layer: i, name: node.name || node.inputs[1], k, n, pattern: `${p.name} ${p.target}`, magnitudeDb: db(signal, magErr), obcDb: db(signal, obcErr), engine: o.exact ? 'ExactOBS' : 'sweep', obcS: s, obcBelow: obcErr < magErr };
    rows.push(r);
    log(`${String(i).padStart(2)} ${r.name.slice(0, 40).padEnd(40)} K ${String(k).padStart(4)} N ${String(n).padStart(4)} ${r.pattern.padEnd(16)} magnitude ${r.magnitudeDb.toFixed(2).padStart(6)} dB  OBC ${r.obcDb.toFixed(2).padStart(6)} dB  ${r.engine.padEnd(8)} ${s.toFixed(2)} s${r.obcBelow ? '' : '  <-- OBC NOT BELOW'}`);
  }
  i++;
}
if (values.json) console.log(JSON.stringify({ machine: machine(), calibration: calibration.length, rows }, null, 2));
else {
  for (const p of patterns) {
    const rs = rows.filter((r) => r.pattern === `${p.name} ${p.target}`);
    console.log(`${p.name} ${p.target}: OBC below magnitude on ${rs.filter((r) => r.obcBelow).length} of ${rs.length} layers; median gain ${(rs.map((r) => r.obcDb - r.magnitudeDb).sort((a, b) => a - b)[rs.length >> 1]).toFixed(2)} dB; OBC ${sum(rs.map((r) => r.obcS)).toFixed(1)} s in all`);
  }
}
rt.dispose?.();
