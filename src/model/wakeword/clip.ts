// A whole clip through a detector, chunk by chunk, as openWakeWord's predict_clip does: silence
// before and after (1 s each by default, so a short clip fills the heads' window), the last chunk
// padded with zeros. Returns each wake word's best score and the chunks where it was detected.

import { ArgumentError, DTypeError, describe } from '../../errors.js';
import { CHUNK_SAMPLES, SAMPLE_RATE } from './audio-input.js';
import type { WakeWordDetector } from './detector.js';

export interface ClipResult {
  name: string;
  /** the highest score over the clip */
  maxScore: number;
  /** chunk indices (80 ms each, counting the leading silence) with detected: true */
  detections: number[];
  /** every chunk's score */
  scores: Float32Array;
}

export interface ClipOptions {
  /** seconds of silence before and after the clip (default 1) */
  padSeconds?: number;
}

export async function detectClip(detector: WakeWordDetector, samples: Float32Array | Int16Array, options: ClipOptions = {}): Promise<ClipResult[]> {
  if (!(samples instanceof Float32Array) && !(samples instanceof Int16Array)) {
    throw new DTypeError(`detectClip: samples must be a Float32Array or an Int16Array, got ${describe(samples)}`);
  }
  const pad = options.padSeconds ?? 1;
  if (typeof pad !== 'number' || !(pad >= 0 && pad <= 60)) throw new ArgumentError(`detectClip: padSeconds must be in [0, 60], got ${describe(pad)}`);
  const padSamples = Math.round(pad * SAMPLE_RATE);
  const total = Math.ceil((samples.length + 2 * padSamples) / CHUNK_SAMPLES) * CHUNK_SAMPLES;
  const audio = samples instanceof Int16Array ? new Int16Array(total) : new Float32Array(total);
  audio.set(samples, padSamples);
  const nChunks = total / CHUNK_SAMPLES;
  await detector.reset();
  const results: ClipResult[] = detector.names.map((name) => ({ name, maxScore: 0, detections: [], scores: new Float32Array(nChunks) }));
  for (let c = 0; c < nChunks; c++) {
    const scores = await detector.push(audio.subarray(c * CHUNK_SAMPLES, (c + 1) * CHUNK_SAMPLES));
    scores.forEach((s, i) => {
      const r = results[i]!;
      r.scores[c] = s.score;
      r.maxScore = Math.max(r.maxScore, s.score);
      if (s.detected) r.detections.push(c);
    });
  }
  return results;
}
