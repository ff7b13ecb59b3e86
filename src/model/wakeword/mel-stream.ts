// Streaming log-mel frames: openWakeWord's melspectrogram model (512-sample STFT window, hop 160)
// on each 1280-sample chunk together with the 480 samples before it, so every chunk gives exactly
// 8 new frames of 32 bins and consecutive chunks tile the signal without gaps or overlaps (frame j
// starts at sample 160·j of the stream, counting 480 leading zeros). One model call per chunk, never
// batched: the model floors its output at (max − 80 dB) over everything it is given, so a call over
// more audio would change the frames.

import type { StageRunner } from './stage.js';
import { runStage } from './stage.js';
import { CHUNK_SAMPLES } from './audio-input.js';

export const MEL_BINS = 32;
export const MEL_CONTEXT = 480;
export const MEL_FRAMES_PER_CHUNK = 8;

export class MelStream {
  /** the last MEL_CONTEXT samples of the previous chunks, then the current chunk */
  private readonly window = new Float32Array(MEL_CONTEXT + CHUNK_SAMPLES);

  constructor(private readonly model: StageRunner) {}

  reset(): void {
    this.window.fill(0);
  }

  /** The 8 new frames (8 × 32, row-major) for this chunk of PCM-scale samples. */
  async push(pcm: Float32Array): Promise<Float32Array> {
    const w = this.window;
    w.copyWithin(0, CHUNK_SAMPLES);
    w.set(pcm, MEL_CONTEXT);
    const frames = await runStage(this.model, 'melspectrogram', w.slice(), [1, w.length], MEL_FRAMES_PER_CHUNK * MEL_BINS);
    // openWakeWord's transform, which brings the ONNX model's dB values near Google's speech_embedding input
    return frames.map((x) => x / 10 + 2);
  }
}
