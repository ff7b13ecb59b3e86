// Reading the dropped image with the float32 and the int8 recognizer, and the per-layer error of the
// int8 model against float32 on this very input (lowbit's compareModels: each weight layer's output,
// the error accumulated through the quantized layers before it).
import { compareModels } from 'lowbit';
import { createOcr, ctcGreedyDecode, recordingModel, toModelInput } from 'lowbit/ocr';

const median = (t) => [...t].sort((a, b) => a - b)[t.length >> 1];

/** One text line (48 px high grey): text, confidence and median ms of 5 runs per model (alternating, so a busy spell of the machine hits both), and the layers. */
export async function readLine({ dictionary, rec }, line) {
  const feeds = { [rec.float32.inputNames[0]]: toModelInput([line]) };
  const run = async (model) => {
    const out = Object.values(await model.run(feeds))[0];
    return ctcGreedyDecode(out.data, out.dims, dictionary)[0];
  };
  const names = ['float32', 'int8'];
  const readings = {}, times = { float32: [], int8: [] };
  for (const n of names) readings[n] = await run(rec[n]); // warm-up: the first run at a width plans it
  for (let i = 0; i < 5; i++) {
    for (const n of names) {
      const t0 = performance.now();
      await run(rec[n]);
      times[n].push(performance.now() - t0);
    }
  }
  const layers = await compareModels(rec.float32, rec.int8, [feeds]);
  const result = (n) => ({ text: readings[n].text.trim(), confidence: readings[n].confidence, ms: median(times[n]) });
  return { kind: 'line', float32: result('float32'), int8: result('int8'), layers, layersOn: 'this line', timing: 'recognizer, median of 5 runs' };
}

/**
 * `model`, answering a run on an input it has already seen (same values) from memory: the two
 * columns read the same page, so the float32 detector and classifier work once for both.
 */
function remembering(model) {
  const seen = [];
  const same = (a, b) => a.length === b.length && a.every((v, i) => v === b[i]);
  return {
    inputNames: model.inputNames,
    outputNames: model.outputNames,
    async run(feeds) {
      const x = Object.values(feeds)[0].data;
      const hit = seen.find((s) => same(s.x, x));
      if (hit) return hit.out;
      const out = Object.fromEntries(Object.entries(await model.run(feeds)).map(([k, t]) => [k, { ...t, data: t.data.slice() }]));
      seen.push({ x: x.slice(), out });
      return out;
    },
  };
}

/**
 * A page: the detector and angle classifier (float32, shared) find and cut the lines, then each
 * recognizer reads them; the ms are the recognition stage of one read.
 */
export async function readPage({ dictionary, rec, pageModels }, image) {
  const models = await pageModels();
  const [det, cls] = [remembering(models.det), remembering(models.cls)];
  const fed = []; // the recognizer's first 2 batches of lines, for the per-layer comparison (each costs two instrumented runs)
  const read = async (model) => {
    const timings = {};
    const lines = await createOcr({ det, cls, rec: model, dictionary }).read(image, { timings });
    return { text: lines.map((l) => l.text).join('\n'), confidence: lines.reduce((s, l) => s + l.confidence, 0) / Math.max(lines.length, 1), ms: timings.recognize, lines: lines.length };
  };
  const float32 = await read(recordingModel(rec.float32, fed, 2));
  const int8 = await read(rec.int8);
  const layers = await compareModels(rec.float32, rec.int8, fed);
  return { kind: 'page', float32, int8, layers, layersOn: `the page's first ${fed.length} batch(es) of lines, padded to a common width`, timing: `recognizer, ${float32.lines} lines, one read, planning each batch width included` };
}
