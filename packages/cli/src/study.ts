// `lowbit study [model.onnx]`: the format study on a model's weights (default: the built-in
// PP-OCRv4 recognizer): per tensor SQNR of every format and which wins, then the summary.

import { readFileSync } from 'node:fs';
import cliProgress from 'cli-progress';
import { STUDY_FORMATS, fuseGraph, importOnnx, studyTensor, summarizeStudy, weightTensors, type StudyRow } from 'lowbit';
import { ocrModelAsset } from './ocr-assets.js';
import { printColumns } from './model-demo.js';

export async function runStudy(o: { model?: string; json: boolean; limit?: number }): Promise<StudyRow[]> {
  const path = o.model ?? ocrModelAsset('ch_PP-OCRv4_rec_infer.onnx');
  // the weights as lowbit runs them: BatchNorms and affines folded into the convolutions
  const { graph } = fuseGraph(importOnnx(new Uint8Array(readFileSync(path))));
  let tensors = weightTensors(graph);
  if (o.limit) tensors = tensors.slice(0, o.limit);
  const bar = !o.json && process.stderr.isTTY ? new cliProgress.SingleBar({ format: 'studying weights       {bar} {value}/{total} {duration_formatted}' }, cliProgress.Presets.shades_classic) : null;
  bar?.start(tensors.length, 0);
  const rows: StudyRow[] = [];
  for (const t of tensors) {
    rows.push(studyTensor(t.name, t.data, t.n, t.k));
    bar?.increment();
    await new Promise((r) => setImmediate(r));
  }
  bar?.stop();
  const summary = summarizeStudy(rows);
  if (o.json) {
    console.log(JSON.stringify({ model: path, rows, summary }, null, 2));
    return rows;
  }
  console.log(`format study: ${rows.length} weight tensors of ${path.split('/').pop()}, per-output-channel scales; SQNR dB vs float32\n`);
  printColumns(
    ['tensor', 'shape', ...STUDY_FORMATS, 'FPx', 'ANT', 'best 8-bit', 'best 4-bit'],
    rows.map((r) => [r.name, `${r.rows}x${r.cols}`, ...STUDY_FORMATS.map((f) => r.sqnrDb[f].toFixed(1)), r.fpxFormat, r.antType, r.best8, r.best4]),
  );
  console.log('');
  printColumns(
    ['format', 'mean SQNR dB', 'weighted by size', 'wins'],
    STUDY_FORMATS.map((f) => [f, summary.meanSqnrDb[f].toFixed(2), summary.weightedSqnrDb[f].toFixed(2), String(summary.wins8[f] ?? summary.wins4[f] ?? (f === 'int4-b32' ? '(not ranked)' : 0))]),
  );
  console.log(`\nFPx formats picked: ${JSON.stringify(summary.fpxFormats)}; ANT types picked: ${JSON.stringify(summary.antTypes)}`);
  console.log('int4-b32 is lowbit\'s int4 scheme (a scale per 32 weights); the ranked 4-bit formats use one scale per channel.');
  return rows;
}
