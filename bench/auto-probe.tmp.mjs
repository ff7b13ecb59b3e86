// temporary: auto on the split, with its report (not committed)
import { readFileSync, writeFileSync } from 'node:fs';
import { createRuntime, loadModel, quantizeModel } from '../dist/index.js';
import { ctcGreedyDecode, scoreReadings, toModelInput } from '../dist/ocr.js';
import { loadOcrLines } from '../packages/cli/dist/ocr-lines.js';
import { splitOcrLines } from '../packages/cli/dist/ocr-split.js';
import { loadDictionary, ocrModelAsset } from '../packages/cli/dist/ocr-assets.js';
const [linesArg, optsArg, outFile] = process.argv.slice(2);
const rt = await createRuntime({ threads: 1 });
const dict = loadDictionary();
let lines = loadOcrLines();
if (linesArg !== 'all') lines = lines.slice(0, Number(linesArg));
const { calibration, test } = splitOcrLines(lines, 4);
const feeds = (l) => ({ x: toModelInput([l]) });
const float = loadModel(rt, new Uint8Array(readFileSync(ocrModelAsset('ch_PP-OCRv4_rec_infer.onnx'))));
async function score(model) {
  const hyps = [];
  for (const l of test) { const out = Object.values(await model.run(feeds(l)))[0]; hyps.push(ctcGreedyDecode(out.data, out.dims, dict)[0].text); }
  return scoreReadings(test.map((l) => l.label), hyps).accuracy;
}
const f = await score(float);
const t0 = performance.now();
let last = '';
const m = await quantizeModel(float, { scheme: 'auto', calibration: calibration.map(feeds), ...JSON.parse(optsArg ?? '{}'), onProgress: (d, t, p) => { if (p !== last) { console.error(`${((performance.now() - t0) / 1000).toFixed(0)} s: ${p}`); last = p; } } });
const s = (performance.now() - t0) / 1000;
const acc = await score(m);
const counts = m.choices.reduce((a, x) => ((a[x.scheme] = (a[x.scheme] ?? 0) + 1), a), {});
const mx = m.mix;
console.log(JSON.stringify({ opts: optsArg, float: f, auto: acc, mib: m.weightBytes / 2 ** 20, int8MiB: mx.int8Bytes / 2 ** 20, quantizeS: s, counts, fallback: mx.fallback, search: mx.search, heldOut: mx.heldOut, judgedOn: mx.judgedOn }, null, 1));
if (outFile) writeFileSync(outFile, JSON.stringify(m.choices.map((c) => ({ node: c.node.name, scheme: c.scheme, why: c.why, trials: c.trials?.map((t) => ({ s: t.scheme, b: t.bytes, p: +t.proxySqnrDb.toFixed(1), o: t.output && +t.output.sqnrDb.toFixed(2), sk: !!t.skipped })) })), null, 1));
