// The streaming wake-word pipeline (lowbit/wakeword): openWakeWord's melspectrogram → embedding →
// heads over 80 ms chunks. Stages lowbit loads and runs run on lowbit; the others (the
// melspectrogram until Log, ReduceMax and 1-D Conv land, hey_jarvis until GreaterOrEqual and If do)
// on onnxruntime-web, and the tests that need them on lowbit say why they skip.

import { afterAll, describe, expect, it } from 'vitest';
import { ArgumentError, DTypeError, ModelError, ShapeError, ValueRangeError, loadModel, type Model } from '../src/index.js';
import { CHUNK_SAMPLES, EMBEDDING_DIM, EMBEDDING_FRAMES, MEL_BINS, MEL_CONTEXT, createWakeWordDetector, detectClip, type StageRunner, type WakeWordOptions } from '../src/wakeword.js';
// @ts-expect-error: a plain .mjs module shared with bench/wakeword.mjs
import { HEAD_FILES, loadManifest, lowbitStage, modelBytes, ortStage, readClip } from '../bench/wakeword-lib.mjs';
import { testRuntime } from './helpers.js';

type OrtStage = StageRunner & { window?: number; release(): Promise<void> };
type Clip = { file: string; wakeWord: string | null; snr: number | null };

const rt = await testRuntime(1);
const ort: Record<string, OrtStage> = {
  melspectrogram: await ortStage('melspectrogram.onnx'),
  embedding: await ortStage('embedding_model.onnx'),
};
for (const [name, file] of Object.entries(HEAD_FILES as Record<string, string>)) ort[name] = await ortStage(file);

/** lowbit's Model for a stage if it loads and runs it, else why not (the tests that need it skip). */
const tryLowbit = async (file: string): Promise<Model | string> => {
  const r = await lowbitStage(rt, loadModel, file);
  return r.model ?? r.why;
};
const lowbitMel = await tryLowbit('melspectrogram.onnx');
const lowbitJarvis = await tryLowbit('hey_jarvis_v0.1.onnx');
const lowbitEmbedding = loadModel(rt, modelBytes('embedding_model.onnx'));
const lowbitAlexa = loadModel(rt, modelBytes('alexa_v0.1.onnx'));
const lowbitMycroft = loadModel(rt, modelBytes('hey_mycroft_v0.1.onnx'));

/** The best pipeline available: lowbit for every stage it loads, onnxruntime-web for the rest. */
const best: WakeWordOptions = {
  melspectrogram: typeof lowbitMel === 'string' ? ort.melspectrogram! : lowbitMel,
  embedding: lowbitEmbedding,
  heads: {
    hey_jarvis: typeof lowbitJarvis === 'string' ? { model: ort.hey_jarvis!, window: ort.hey_jarvis!.window } : lowbitJarvis,
    alexa: lowbitAlexa,
    hey_mycroft: lowbitMycroft,
  },
};
const ortOnly: WakeWordOptions = {
  melspectrogram: ort.melspectrogram!,
  embedding: ort.embedding!,
  heads: Object.fromEntries(Object.keys(HEAD_FILES).map((n) => [n, { model: ort[n]!, window: ort[n]!.window }])),
};

afterAll(async () => {
  for (const s of Object.values(ort)) await s.release();
  for (const m of [lowbitMel, lowbitJarvis, lowbitEmbedding, lowbitAlexa, lowbitMycroft]) if (typeof m !== 'string') m.dispose();
  rt.dispose();
});

const manifest = loadManifest() as Clip[];
const clip = (pred: (c: Clip) => boolean): Clip & { samples: Int16Array } => {
  const c = manifest.find(pred)!;
  return { ...c, samples: readClip(c.file) };
};
const alexaClean = clip((c) => c.wakeWord === 'alexa' && c.snr === null);
const chunksOf = (a: Int16Array | Float32Array) => Array.from({ length: Math.floor(a.length / CHUNK_SAMPLES) }, (_, i) => a.subarray(i * CHUNK_SAMPLES, (i + 1) * CHUNK_SAMPLES));
/** 1 s of silence, the clip, 1 s of silence (as detectClip pads) */
const padded = (s: Int16Array) => {
  const a = new Int16Array(Math.ceil((s.length + 32000) / CHUNK_SAMPLES) * CHUNK_SAMPLES);
  a.set(s, 16000);
  return a;
};
const first = async (stage: StageRunner, data: Float32Array, dims: number[]) => Float32Array.from((await stage.run({ [stage.inputNames[0]!]: { type: 'float32', data, dims } }))[stage.outputNames[0]!]!.data);

describe('wake word: streaming', () => {
  it('streaming scores equal the pipeline computed in one piece (all frames, one batched embedding call, then the heads)', async () => {
    const audio = padded(alexaClean.samples);
    const nChunks = audio.length / CHUNK_SAMPLES;
    const detector = await createWakeWordDetector(best);
    const streamed: number[][] = [];
    for (const c of chunksOf(audio)) streamed.push((await detector.push(c)).map((s) => s.score));

    // one piece: the stream with 480 zeros in front; the melspectrogram per 1760-sample window (its
    // dB floor is relative to the max of each call, so that is what a chunk means), frames after 76
    // rows of 1.0; every 76-frame window at stride 8 embedded in ONE call; the heads on the rows
    const stream = new Float32Array(MEL_CONTEXT + audio.length);
    stream.set(audio, MEL_CONTEXT);
    const frames = new Float32Array((EMBEDDING_FRAMES + 8 * nChunks) * MEL_BINS).fill(1);
    for (let k = 0; k < nChunks; k++) {
      const mel = await first(best.melspectrogram, stream.slice(k * CHUNK_SAMPLES, k * CHUNK_SAMPLES + MEL_CONTEXT + CHUNK_SAMPLES), [1, MEL_CONTEXT + CHUNK_SAMPLES]);
      frames.set(mel.map((x) => x / 10 + 2), (EMBEDDING_FRAMES + 8 * k) * MEL_BINS);
    }
    const windows = new Float32Array((nChunks + 1) * EMBEDDING_FRAMES * MEL_BINS);
    for (let k = 0; k <= nChunks; k++) windows.set(frames.subarray(8 * k * MEL_BINS, (8 * k + EMBEDDING_FRAMES) * MEL_BINS), k * EMBEDDING_FRAMES * MEL_BINS);
    const emb = await first(best.embedding, windows, [nChunks + 1, EMBEDDING_FRAMES, MEL_BINS, 1]); // window 0 = all 1.0: the start
    const W = 16;
    const rows = new Float32Array((W - 1 + nChunks) * EMBEDDING_DIM);
    for (let r = 0; r < W - 1; r++) rows.set(emb.subarray(0, EMBEDDING_DIM), r * EMBEDDING_DIM);
    rows.set(emb.subarray(EMBEDDING_DIM), (W - 1) * EMBEDDING_DIM);
    const heads = Object.values(best.heads).map((h) => ('run' in h ? h : h.model));
    let maxDiff = 0;
    let maxScore = 0;
    for (let k = 0; k < nChunks; k++) {
      for (const [i, head] of heads.entries()) {
        const score = k < 5 ? 0 : (await first(head, rows.slice(k * EMBEDDING_DIM, (k + W) * EMBEDDING_DIM), [1, W, EMBEDDING_DIM]))[0]!;
        maxDiff = Math.max(maxDiff, Math.abs(score - streamed[k]![i]!));
        maxScore = Math.max(maxScore, streamed[k]![i]!);
      }
    }
    expect(maxScore).toBeGreaterThan(0.5); // the clip says "alexa": the comparison covers a detection
    expect(maxDiff).toBeLessThan(1e-4);
  }, 120_000);

  it('queued pushes (not awaited, buffer reused) give the same scores as awaited ones; Float32 [-1, 1] equals Int16 PCM', async () => {
    const audio = padded(alexaClean.samples).subarray(0, 30 * CHUNK_SAMPLES);
    const a = await createWakeWordDetector(best);
    const awaited: number[] = [];
    for (const c of chunksOf(audio)) awaited.push(...(await a.push(c)).map((s) => s.score));

    const b = await createWakeWordDetector(best);
    const buf = new Float32Array(CHUNK_SAMPLES);
    const pending = chunksOf(audio).map((c) => {
      for (let i = 0; i < CHUNK_SAMPLES; i++) buf[i] = c[i]! / 32768;
      return b.push(buf); // the detector copies: the next chunk overwrites buf at once
    });
    const queued = (await Promise.all(pending)).flatMap((r) => r.map((s) => s.score));
    expect(queued.length).toBe(awaited.length);
    for (let i = 0; i < queued.length; i++) expect(Math.abs(queued[i]! - awaited[i]!), `score ${i}`).toBeLessThan(1e-6);
  }, 120_000);

  it('reset() returns to the start state: a clip after reset scores as on a fresh detector, and differs without reset', async () => {
    const jarvis = clip((c) => c.wakeWord === 'hey_jarvis' && c.snr === null);
    const b = chunksOf(alexaClean.samples).slice(0, 12);
    const scoresOf = async (d: Awaited<ReturnType<typeof createWakeWordDetector>>) => {
      const out: number[] = [];
      for (const c of b) out.push(...(await d.push(c)).map((s) => s.score));
      return out;
    };
    const fresh = await scoresOf(await createWakeWordDetector({ ...best, warmupChunks: 0 }));
    const used = await createWakeWordDetector({ ...best, warmupChunks: 0 });
    for (const c of chunksOf(jarvis.samples)) await used.push(c);
    const noReset = await scoresOf(used);
    await used.reset();
    for (const c of chunksOf(jarvis.samples)) await used.push(c);
    await used.reset();
    const afterReset = await scoresOf(used);
    expect(afterReset).toEqual(fresh);
    expect(Math.max(...noReset.map((s, i) => Math.abs(s - fresh[i]!)))).toBeGreaterThan(1e-3);
  }, 120_000);
});

/** A stage that returns scripted values: a melspectrogram of 8 × 32, an embedding of 96, a head score. */
function scripted(size: number, values: () => number): StageRunner {
  return {
    inputNames: ['x'],
    outputNames: ['y'],
    run: async () => ({ y: { data: new Float32Array(size).fill(values()), dims: [size] } }),
  };
}

describe('wake word: threshold, patience, refractory, warm-up', () => {
  const mel = scripted(8 * MEL_BINS, () => 0);
  const embedding = scripted(EMBEDDING_DIM, () => 0);
  const run = async (scores: number[], options: Partial<WakeWordOptions>) => {
    let i = 0;
    const head = scripted(1, () => scores[Math.min(i++, scores.length - 1)]!);
    const d = await createWakeWordDetector({ melspectrogram: mel, embedding, heads: { w: head }, warmupChunks: 0, ...options });
    const out: string[] = [];
    for (let k = 0; k < scores.length; k++) {
      const [r] = await d.push(new Int16Array(CHUNK_SAMPLES));
      out.push(r!.detected ? 'D' : '.');
    }
    return out.join('');
  };

  it('detected when score ≥ threshold (default 0.5); per-head thresholds override', async () => {
    expect(await run([0.49, 0.5, 0.51, 0.2], {})).toBe('.DD.');
    expect(await run([0.49, 0.5, 0.8, 0.2], { threshold: 0.7 })).toBe('..D.');
    let i = 0;
    const s = [0.6, 0.9];
    const d = await createWakeWordDetector({ melspectrogram: mel, embedding, heads: { w: { model: scripted(1, () => s[i++ % 2]!), threshold: 0.8 } }, warmupChunks: 0 });
    expect((await d.push(new Int16Array(CHUNK_SAMPLES)))[0]!.detected).toBe(false);
    expect((await d.push(new Int16Array(CHUNK_SAMPLES)))[0]!.detected).toBe(true);
  });

  it('patience: that many consecutive chunks at or above the threshold', async () => {
    expect(await run([0.9, 0.2, 0.9, 0.9, 0.9, 0.9], { patience: 2 })).toBe('...DDD');
    expect(await run([0.9, 0.9, 0.2, 0.9, 0.9, 0.9], { patience: 3 })).toBe('.....D');
  });

  it('refractory: after a detection, that many chunks report no detection', async () => {
    expect(await run([0.9, 0.9, 0.9, 0.9, 0.9, 0.2, 0.9], { refractoryChunks: 2 })).toBe('D..D..D');
  });

  it('warm-up: the first chunks score 0 (openWakeWord: 5)', async () => {
    let calls = 0;
    const head = scripted(1, () => { calls++; return 0.9; });
    const d = await createWakeWordDetector({ melspectrogram: mel, embedding, heads: { w: head } });
    const got: number[] = [];
    for (let k = 0; k < 7; k++) got.push((await d.push(new Int16Array(CHUNK_SAMPLES)))[0]!.score);
    expect(got.map((s) => Math.round(s * 10) / 10)).toEqual([0, 0, 0, 0, 0, 0.9, 0.9]);
    expect(calls).toBe(2);
  });
});

describe('wake word: bad input gives typed errors', () => {
  it('push: wrong type, wrong length, non-finite samples; the state does not move', async () => {
    const d = await createWakeWordDetector(best);
    const ok = new Int16Array(CHUNK_SAMPLES);
    await expect(d.push(new Float64Array(CHUNK_SAMPLES) as never)).rejects.toThrow(DTypeError);
    await expect(d.push(Array.from(ok) as never)).rejects.toThrow(DTypeError);
    await expect(d.push(null as never)).rejects.toThrow(DTypeError);
    await expect(d.push(new Int16Array(CHUNK_SAMPLES - 1))).rejects.toThrow(ShapeError);
    await expect(d.push(new Float32Array(CHUNK_SAMPLES + 1))).rejects.toThrow(/1281 samples, expected 1280/);
    for (const bad of [NaN, Infinity, -Infinity]) {
      const f = new Float32Array(CHUNK_SAMPLES);
      f[700] = bad;
      await expect(d.push(f)).rejects.toThrow(ValueRangeError);
      await expect(d.push(f)).rejects.toThrow(/sample 700/);
    }
    // nothing above was processed: the detector is where a fresh one is
    const fresh = await createWakeWordDetector(best);
    const chunk = chunksOf(alexaClean.samples)[10]!;
    for (let k = 0; k < 6; k++) expect(await d.push(chunk)).toEqual(await fresh.push(chunk));
  }, 60_000);

  it('options: missing or malformed stages, heads, threshold, patience', async () => {
    const base = { melspectrogram: ort.melspectrogram!, embedding: lowbitEmbedding, heads: { alexa: lowbitAlexa } };
    await expect(createWakeWordDetector(undefined as never)).rejects.toThrow(ArgumentError);
    await expect(createWakeWordDetector({ ...base, melspectrogram: {} as never })).rejects.toThrow(/melspectrogram must be a model/);
    await expect(createWakeWordDetector({ ...base, embedding: null as never })).rejects.toThrow(/embedding must be a model/);
    await expect(createWakeWordDetector({ ...base, heads: {} })).rejects.toThrow(/heads must name at least one/);
    await expect(createWakeWordDetector({ ...base, heads: { alexa: null as never } })).rejects.toThrow(/heads.alexa must be a model/);
    await expect(createWakeWordDetector({ ...base, heads: { alexa: { model: lowbitAlexa, window: 0 } } })).rejects.toThrow(/heads.alexa.window/);
    await expect(createWakeWordDetector({ ...base, threshold: 1.5 })).rejects.toThrow(/threshold must be a number in \[0, 1\]/);
    await expect(createWakeWordDetector({ ...base, threshold: NaN })).rejects.toThrow(ArgumentError);
    await expect(createWakeWordDetector({ ...base, heads: { alexa: { model: lowbitAlexa, threshold: -1 } } })).rejects.toThrow(/heads.alexa.threshold/);
    await expect(createWakeWordDetector({ ...base, patience: 1.5 })).rejects.toThrow(/patience must be a non-negative integer/);
    await expect(createWakeWordDetector({ ...base, refractoryChunks: -1 })).rejects.toThrow(/refractoryChunks/);
  });

  it('a model that gives the wrong output size is a ModelError naming the stage', async () => {
    await expect(createWakeWordDetector({ melspectrogram: ort.melspectrogram!, embedding: scripted(95, () => 0), heads: { alexa: lowbitAlexa } })).rejects.toThrow(/the embedding model gave 95 values/);
    const d = await createWakeWordDetector({ melspectrogram: ort.melspectrogram!, embedding: lowbitEmbedding, heads: { alexa: scripted(2, () => 0.5) }, warmupChunks: 0 });
    await expect(d.push(new Int16Array(CHUNK_SAMPLES))).rejects.toThrow(ModelError);
    await expect(d.push(new Int16Array(CHUNK_SAMPLES))).rejects.toThrow(/'alexa' head model gave 2 values/);
    const m = await createWakeWordDetector({ melspectrogram: scripted(5 * MEL_BINS, () => 0), embedding: lowbitEmbedding, heads: { alexa: lowbitAlexa } });
    await expect(m.push(new Int16Array(CHUNK_SAMPLES))).rejects.toThrow(/the melspectrogram model gave 160 values/);
  }, 60_000);

  it('detectClip: bad samples and padding', async () => {
    const d = await createWakeWordDetector(best);
    await expect(detectClip(d, [1, 2, 3] as never)).rejects.toThrow(DTypeError);
    await expect(detectClip(d, new Int16Array(10), { padSeconds: -1 })).rejects.toThrow(ArgumentError);
  });
});

describe('wake word: committed clips', () => {
  // one clip per wake word that onnxruntime-web's pipeline detects (bench/wakeword.mjs lists them all)
  const pick = ['pos-hey_jarvis-en-gb-160-20.wav', 'pos-alexa-en-gb-190-20.wav', 'pos-hey_mycroft-en-gb-130-20.wav'].map((f) => clip((c) => c.file === f));
  const negatives = ['hello there', 'what time is it'].map((p) => clip((c) => (c as Clip & { phrase: string }).phrase === p && c.snr === 10));

  it('each wake word is detected in its clip (20 dB SNR) and nowhere else; everyday phrases (10 dB SNR) trigger nothing', async () => {
    const d = await createWakeWordDetector(best);
    for (const c of [...pick, ...negatives]) {
      const r = await detectClip(d, c.samples);
      const detected = r.filter((h) => h.detections.length > 0).map((h) => h.name);
      expect(detected, c.file).toEqual(c.wakeWord ? [c.wakeWord] : []);
    }
  }, 240_000);

  it('lowbit scores match onnxruntime-web chunk by chunk (max |diff| ≤ 1e-4)', async () => {
    const c = pick[2]!; // hey mycroft: both lowbit heads and the embedding CNN on lowbit
    const [lb, or] = await Promise.all([createWakeWordDetector(best), createWakeWordDetector(ortOnly)]);
    const a = await detectClip(lb, c.samples);
    const b = await detectClip(or, c.samples);
    let maxDiff = 0;
    a.forEach((h, i) => h.scores.forEach((s, k) => { maxDiff = Math.max(maxDiff, Math.abs(s - b[i]!.scores[k]!)); }));
    expect(Math.max(...a[2]!.scores)).toBeGreaterThan(0.5);
    expect(maxDiff).toBeLessThan(1e-4);
  }, 240_000);
});

describe('wake word: stages lowbit is gaining', () => {
  const melSkip = typeof lowbitMel === 'string' ? ` (skipped: ${lowbitMel})` : '';
  const jarvisSkip = typeof lowbitJarvis === 'string' ? ` (skipped: ${lowbitJarvis})` : '';

  it.skipIf(typeof lowbitMel === 'string')(`lowbit's melspectrogram matches onnxruntime-web on real and silent chunks${melSkip}`, async () => {
    const m = lowbitMel as Model;
    const audio = padded(alexaClean.samples);
    for (const k of [0, 14, 20]) { // silence (the dB floor), speech
      const x = Float32Array.from(audio.subarray(k * CHUNK_SAMPLES, k * CHUNK_SAMPLES + 1760));
      const [want, got] = [await first(ort.melspectrogram!, x, [1, 1760]), await first(m, x, [1, 1760])];
      const range = Math.max(...want) - Math.min(...want);
      let d = 0;
      want.forEach((v, i) => { d = Math.max(d, Math.abs(v - got[i]!)); });
      expect(d / Math.max(range, 1), `chunk ${k}`).toBeLessThanOrEqual(1e-4);
    }
  });

  it.skipIf(typeof lowbitJarvis === 'string')(`lowbit's hey_jarvis head detects "hey jarvis" and matches onnxruntime-web${jarvisSkip}`, async () => {
    const c = clip((x) => x.file === 'pos-hey_jarvis-en-gb-160-20.wav');
    const lb = await createWakeWordDetector({ ...best, heads: { hey_jarvis: lowbitJarvis as Model } });
    const or = await createWakeWordDetector({ ...best, heads: { hey_jarvis: { model: ort.hey_jarvis!, window: 16 } } });
    const [a] = await detectClip(lb, c.samples);
    const [b] = await detectClip(or, c.samples);
    expect(a!.detections.length).toBeGreaterThan(0);
    a!.scores.forEach((s, k) => expect(Math.abs(s - b!.scores[k]!), `chunk ${k}`).toBeLessThan(1e-4));
  }, 120_000);
});
