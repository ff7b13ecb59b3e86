// openWakeWord's streaming pipeline over 80 ms chunks of 16 kHz audio:
//   chunk → MelStream (8 log-mel frames) → EmbeddingStream (one 96-value embedding)
//         → each head on its last `window` embeddings → score, detected
// The detector owns all the state (audio context, mel frames, embedding history, per-head patience
// and refractory counters); push() calls are queued, so they may be issued without awaiting.
//
// Start-up follows openWakeWord's Python: mel frames start at 1.0, scores are reported as 0 for the
// first 5 chunks. Where Python seeds the embedding history with embeddings of random noise, we use
// the embedding of the all-1.0 mel window (the same start every time), and the first chunk has 480
// zero samples before it (Python's first chunk gives 5 frames instead of 8).

import { ArgumentError, describe } from '../../errors.js';
import { chunkToPcm } from './audio-input.js';
import { EMBEDDING_DIM, EMBEDDING_FRAMES, EmbeddingStream, embed } from './embedding-stream.js';
import { checkThreshold, makeHead, scoreHead, type Head, type HeadSpec } from './heads.js';
import { MEL_BINS, MelStream } from './mel-stream.js';
import { checkRunner, type StageRunner } from './stage.js';

export interface WakeWordOptions {
  melspectrogram: StageRunner;
  embedding: StageRunner;
  /** the wake words: name → head model (or { model, window, threshold }) */
  heads: Record<string, StageRunner | HeadSpec>;
  /** a chunk is detected when the score is ≥ threshold (default 0.5, openWakeWord's) */
  threshold?: number;
  /** ...for this many consecutive chunks (default 1) */
  patience?: number;
  /** after a detection, this many chunks report detected: false (default 0) */
  refractoryChunks?: number;
  /** chunks after start or reset() whose scores are reported as 0 (default 5, as openWakeWord) */
  warmupChunks?: number;
}

export interface WakeWordScore {
  name: string;
  score: number;
  detected: boolean;
}

export interface WakeWordDetector {
  /** the wake words, in the order push() reports them */
  readonly names: readonly string[];
  /** Processes one 80 ms chunk (1280 samples: Float32Array in [-1, 1] or Int16Array PCM). */
  push(chunk: Float32Array | Int16Array): Promise<WakeWordScore[]>;
  /** Back to the start state (queued after pending pushes). */
  reset(): Promise<void>;
}

function count(v: unknown, what: string, fallback: number): number {
  if (v === undefined) return fallback;
  if (!Number.isSafeInteger(v) || (v as number) < 0) throw new ArgumentError(`createWakeWordDetector: ${what} must be a non-negative integer, got ${describe(v)}`);
  return v as number;
}

export async function createWakeWordDetector(options: WakeWordOptions): Promise<WakeWordDetector> {
  if (!options || typeof options !== 'object') throw new ArgumentError(`createWakeWordDetector: options must be an object, got ${describe(options)}`);
  const melModel = checkRunner(options.melspectrogram, 'melspectrogram');
  const embeddingModel = checkRunner(options.embedding, 'embedding');
  const threshold = checkThreshold(options.threshold ?? 0.5, 'threshold');
  const patience = Math.max(1, count(options.patience, 'patience', 1));
  const refractory = count(options.refractoryChunks, 'refractoryChunks', 0);
  const warmup = count(options.warmupChunks, 'warmupChunks', 5);
  if (!options.heads || typeof options.heads !== 'object' || Object.keys(options.heads).length === 0) {
    throw new ArgumentError(`createWakeWordDetector: heads must name at least one head model, got ${describe(options.heads)}`);
  }
  const heads: Head[] = Object.entries(options.heads).map(([name, spec]) => makeHead(name, spec, threshold));
  const historyRows = Math.max(...heads.map((h) => h.window));

  const restEmbedding = await embed(embeddingModel, new Float32Array(EMBEDDING_FRAMES * MEL_BINS).fill(1));
  const mel = new MelStream(melModel);
  const embeddings = new EmbeddingStream(embeddingModel);
  const history = new Float32Array(historyRows * EMBEDDING_DIM);
  const above = new Int32Array(heads.length); // consecutive chunks at or above the threshold
  const quiet = new Int32Array(heads.length); // refractory chunks left
  let chunks = 0;

  const resetNow = () => {
    mel.reset();
    embeddings.reset();
    for (let r = 0; r < historyRows; r++) history.set(restEmbedding, r * EMBEDDING_DIM);
    above.fill(0);
    quiet.fill(0);
    chunks = 0;
  };
  resetNow();

  const step = async (pcm: Float32Array): Promise<WakeWordScore[]> => {
    const embedding = await embeddings.push(await mel.push(pcm));
    history.copyWithin(0, EMBEDDING_DIM);
    history.set(embedding, history.length - EMBEDDING_DIM);
    const warm = chunks >= warmup;
    chunks++;
    const out: WakeWordScore[] = [];
    for (let i = 0; i < heads.length; i++) {
      const head = heads[i]!;
      const score = warm ? await scoreHead(head, history) : 0;
      above[i] = score >= head.threshold ? above[i]! + 1 : 0;
      let detected = above[i]! >= patience && quiet[i] === 0;
      if (quiet[i]! > 0) quiet[i]!--;
      if (detected) quiet[i] = refractory;
      out.push({ name: head.name, score, detected });
    }
    return out;
  };

  // one push or reset at a time: they share the state
  let queue: Promise<unknown> = Promise.resolve();
  const enqueue = <T>(job: () => Promise<T> | T): Promise<T> => {
    const next = queue.then(job);
    queue = next.catch(() => undefined);
    return next;
  };

  return {
    names: heads.map((h) => h.name),
    push(chunk) {
      let pcm: Float32Array;
      try {
        pcm = chunkToPcm(chunk); // checked and copied now: the caller may reuse its buffer
      } catch (e) {
        return Promise.reject(e);
      }
      return enqueue(() => step(pcm));
    },
    reset() {
      return enqueue(resetNow);
    },
  };
}
