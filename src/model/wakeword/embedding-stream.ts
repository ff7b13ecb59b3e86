// Streaming speech embeddings: Google's speech_embedding CNN (as openWakeWord ships it) over the last
// 76 mel frames after each chunk. A chunk adds 8 frames, so the windows step by 8 frames (80 ms),
// one 96-value embedding per chunk. The frame history starts as 76 frames of 1.0, as openWakeWord's
// does.

import type { StageRunner } from './stage.js';
import { runStage } from './stage.js';
import { MEL_BINS } from './mel-stream.js';

export const EMBEDDING_FRAMES = 76;
export const EMBEDDING_DIM = 96;

/** Runs the embedding model on one window of EMBEDDING_FRAMES × MEL_BINS frames. */
export function embed(model: StageRunner, window: Float32Array): Promise<Float32Array> {
  return runStage(model, 'embedding', window, [1, EMBEDDING_FRAMES, MEL_BINS, 1], EMBEDDING_DIM);
}

export class EmbeddingStream {
  private readonly frames = new Float32Array(EMBEDDING_FRAMES * MEL_BINS).fill(1);

  constructor(private readonly model: StageRunner) {}

  reset(): void {
    this.frames.fill(1);
  }

  /** Appends `newFrames` (k × 32) and embeds the last 76 frames. */
  push(newFrames: Float32Array): Promise<Float32Array> {
    const f = this.frames;
    f.copyWithin(0, newFrames.length);
    f.set(newFrames, f.length - newFrames.length);
    return embed(this.model, f.slice());
  }
}
