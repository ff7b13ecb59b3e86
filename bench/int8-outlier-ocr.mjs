// int8-outlier (LLM.int8) on PP-OCRv4's recognizer: per-layer SQNR against float32 of its linear
// layers (the SVTR mixer's attention blocks and the CTC head; compareModels, as `lowbit compare`
// reports them) for int8, int8-outlier at the paper's threshold 6, and with a calibrated threshold
// (outlierQuantile), and the fraction of each layer's input feature columns that ran in float.
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

const reports = [];
for (const [label, options] of configs) {
  const t0 = performance.now();
  const q = await quantizeModel(float, { ...options, calibration: cal });
  const all = await compareModels(float, q, probe);
  const layers = all.filter((l) => l.kind === 'Linear' || l.name === float.outputNames[0]);
  const fractions = options.scheme === 'int8-outlier' ? await outlierFractions(q) : null;
  reports.push({ label, layers, fractions });
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
float.dispose();
rt.dispose();
