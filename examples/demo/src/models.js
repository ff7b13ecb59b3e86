// The models the page runs, all lowbit in this browser tab: the PP-OCRv4 recognizer in float32 and
// int8 (quantized here, on load, calibrated on 8 labelled lines the sample line is not among), and
// for pages the detector and angle classifier in float32 (fetched the first time a page is read).
import { createRuntime, loadModel, quantizeModel } from 'lowbit';
import { parseDictionary, toModelInput } from 'lowbit/ocr';
import { decodeImage, lineImage } from './image.js';

const bytes = async (url) => {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return new Uint8Array(await r.arrayBuffer());
};

/** { rt, dictionary, rec: { float32, int8 }, pageModels() }; `status` gets progress messages. */
export async function loadModels(status) {
  const rt = await createRuntime({ threads: 2 }); // one thread, with a console warning, where the page is not cross-origin isolated
  status('loading the PP-OCRv4 recognizer (10.8 MB)…');
  const [recBytes, keys, calibrationFiles] = await Promise.all([
    bytes('models/rec.onnx'), fetch('models/ppocr_keys_v1.txt').then((r) => r.text()), fetch('calibration/index.json').then((r) => r.json()),
  ]);
  const dictionary = parseDictionary(keys, 'ppocr_keys_v1.txt');
  const float32 = loadModel(rt, recBytes);
  status(`quantizing it to int8 (calibrating on ${calibrationFiles.length} lines)…`);
  const lines = await Promise.all(calibrationFiles.map(async (f) => lineImage(await decodeImage(new Blob([await bytes(`calibration/${f}`)])))));
  const t0 = performance.now();
  const int8 = await quantizeModel(float32, { scheme: 'int8', calibration: lines.map((l) => ({ x: toModelInput([l]) })) });
  const quantizeMs = performance.now() - t0;
  let page = null;
  const pageModels = () => (page ??= Promise.all([bytes('models/det.onnx'), bytes('models/cls.onnx')]).then(([d, c]) => ({ det: loadModel(rt, d), cls: loadModel(rt, c) })));
  return { rt, dictionary, rec: { float32, int8 }, quantizeMs, pageModels };
}
