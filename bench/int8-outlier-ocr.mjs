// int8-outlier (LLM.int8) on PP-OCRv4's recognizer: per-layer SQNR against float32 of its linear
// layers (the SVTR mixer's attention blocks and the CTC head; compareModels, as `lowbit compare`
// reports them) for int8, int8-outlier at the paper's threshold 6, and with a calibrated threshold
// (outlierQuantile), and the fraction of each layer's input feature columns that ran in float; then
// each linear layer alone, on the float model's own inputs to it.
//   npx tsc -p tsconfig.json && (cd packages/cli && npx tsc -p .) && node bench/int8-outlier-ocr.mjs [--lines 24] [--quantile 0.99]
// Calibration: the accuracy bench's calibration part (every 4th line); compared on --lines test lines.

import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { compareModels, createRuntime, loadModel, quantizeModel } from '../dist/index.js';
import { splitRows } from '../dist/quant/outliers.js';
import { toModelInput } from '../dist/ocr.js';
import { loadOcrLines } from '../packages/cli/dist/ocr-lines.js';
import { splitOcrLines } from '../packages/cli/dist/ocr-split.js';
import { ocrModelAsset } from '../packages/cli/dist/ocr-assets.js';

const { values } = parseArgs({ options: { lines: { type: 'string', default: '24' }, quantile: { type: 'string', default: '0.99' } } });
const rt = await createRuntime({ threads: 1 });
const { calibration, test } = splitOcrLines(loadOcrLines(), 4);
const feeds = (l) => ({ x: toModelInput([l]) });
const float = loadModel(rt, new Uint8Array(readFileSync(ocrModelAsset('ch_PP-OCRv4_rec_infer.onnx'))));
const cal = calibration.map(feeds), probe = test.slice(0, Number(values.lines)).map(feeds);
const quantile = Number(values.quantile);

// the split on the linear layers only (MatMul, Gemm), the convolutions int8: its own effect, apart
// from what per-row symmetric activations do to the CNN's post-activation (non-negative) inputs
const linears = (node) => (['MatMul', 'Gemm', 'FusedMatMul'].includes(node.op) ? 'int8-outlier' : undefined);
const configs = [
  ['int8', { scheme: 'int8' }],
  ['int8-outlier (6)', { scheme: 'int8-outlier' }],
  [`int8-outlier (q ${quantile})`, { scheme: 'int8-outlier', outlierQuantile: quantile }],
  ['int8, linears per-row int8 (threshold ∞)', { scheme: 'int8', layerScheme: linears, outlierThreshold: Infinity }],
  ['int8, linears int8-outlier (6)', { scheme: 'int8', layerScheme: linears }],
  [`int8, linears int8-outlier (q ${quantile})`, { scheme: 'int8', layerScheme: linears, outlierQuantile: quantile }],
];

/** per linear layer (by its weight name): outlier columns / K over the probe runs, at each layer's threshold */
async function outlierFractions(model) {
  const out = new Map();
  for (const f of probe) {
    await model.run(f, {
      beforeStep: (step, ins) => {
        const layer = step.layer;
        const data = layer?.weights?.data;
        if (!layer || layer.kind !== 'Linear' || !data || data.threshold === undefined) return;
        const k = data.k, m = ins[0].length / k;
        const { cols } = splitRows(ins[0], m, k, data.threshold);
        const name = step.node.inputs[1].split('::')[0];
        const a = out.get(name) ?? { cols: 0, k: 0, threshold: data.threshold, kept: data.floatIndex.length };
        a.cols += cols.length;
        a.k += k;
        out.set(name, a);
      },
    });
  }
  return out;
}

// each linear layer's own error: its float32 inputs and outputs on the probe lines, then each
// quantized model's layer run on exactly those inputs (no error from upstream)
const captured = new Map();
for (const f of probe) {
  let pending = null;
  await float.run(f, {
    beforeStep: (step, ins) => {
      if (step.layer?.kind === 'Linear' && step.node) pending = { node: step.node, x: Float32Array.from(ins[0]), dims: step.ins[0].dims };
    },
    onStep: (step, values) => {
      if (!pending || step.node !== pending.node) return;
      if (!captured.has(pending.node)) captured.set(pending.node, []);
      captured.get(pending.node).push({ ...pending, y: Float32Array.from(values[0]) });
      pending = null;
    },
  });
}
async function isolated(model) {
  const out = new Map();
  for (const [node, samples] of captured) {
    const layer = model.builtLayers.get(node);
    if (!layer) continue;
    let sig = 0, noise = 0;
    for (const { x, dims, y } of samples) {
      const px = rt.put(x, 16), py = rt.alloc(y.length * 4 + 16), ps = rt.alloc(layer.scratchBytes(dims) + 64);
      try {
        await layer.run({ x: px, xs: [px], inDims: [dims], y: py, ys: [py], scratch: ps, dims });
        const got = rt.view(Float32Array, py, y.length);
        for (let i = 0; i < y.length; i++) ((sig += y[i] * y[i]), (noise += (got[i] - y[i]) ** 2));
      } finally {
        rt.free(px);
        rt.free(py);
        rt.free(ps);
      }
    }
    out.set(node.inputs[1].split('::')[0], 10 * Math.log10(sig / noise));
  }
  return out;
}

const reports = [];
for (const [label, options] of configs) {
  const t0 = performance.now();
  const q = await quantizeModel(float, { ...options, calibration: cal });
  const all = await compareModels(float, q, probe);
  const layers = all.filter((l) => l.kind === 'Linear' || l.name === float.outputNames[0]);
  const fractions = options.scheme === 'int8-outlier' ? await outlierFractions(q) : null;
  reports.push({ label, layers, fractions, own: await isolated(q) });
  console.error(`${label}: ${((performance.now() - t0) / 1e3).toFixed(1)} s`);
  q.dispose();
}

const names = reports[0].layers.map((l) => l.name);
console.log(`PP-OCRv4 rec, linear layers: SQNR vs float32 (dB) over ${probe.length} test lines; calibration ${cal.length} lines; outlier columns: % of K that ran in float (threshold; float rows kept)\n`);
console.log(`| layer | dims | ${reports.map((r) => r.label).join(' | ')} | outliers at 6 | outliers at q ${quantile} |`);
console.log(`|---|---|${reports.map(() => '---').join('|')}|---|---|`);
for (const name of names) {
  const cells = reports.map((r) => r.layers.find((l) => l.name === name)?.sqnrDb.toFixed(2) ?? '');
  const frac = (r) => {
    const a = r.fractions?.get(name);
    return a ? `${((100 * a.cols) / a.k).toFixed(2)}% (${+a.threshold.toPrecision(3)}; ${a.kept})` : '';
  };
  const dims = reports[0].layers.find((l) => l.name === name).dims;
  console.log(`| ${name} | [${dims.join(', ')}] | ${cells.join(' | ')} | ${frac(reports[1])} | ${frac(reports[2])} |`);
}
console.log(`\nEach linear layer alone: SQNR (dB) of its output on the float32 model's own inputs to it (no upstream error), ${probe.length} test lines\n`);
console.log(`| layer | ${reports.map((r) => r.label).join(' | ')} |`);
console.log(`|---|${reports.map(() => '---').join('|')}|`);
for (const name of reports[0].own.keys()) console.log(`| ${name} | ${reports.map((r) => r.own.get(name)?.toFixed(2) ?? '').join(' | ')} |`);
float.dispose();
rt.dispose();
