// One 80 ms chunk of 16 kHz audio, checked and brought to the scale openWakeWord's models expect:
// 16-bit PCM sample values as float32 (its Python feeds int16 samples cast to float, unscaled).

import { DTypeError, ShapeError, ValueRangeError, describe } from '../../errors.js';

export const SAMPLE_RATE = 16000;
/** 80 ms at 16 kHz: the pipeline advances one embedding per chunk */
export const CHUNK_SAMPLES = 1280;

/**
 * An Int16Array is 16-bit PCM as it is; a Float32Array holds samples in [-1, 1] (Web Audio's
 * convention) and is scaled by 32768. Returns a new array (the caller may reuse its buffer).
 */
export function chunkToPcm(chunk: unknown): Float32Array {
  if (!(chunk instanceof Float32Array) && !(chunk instanceof Int16Array)) {
    throw new DTypeError(`wake word push: chunk must be a Float32Array (samples in [-1, 1]) or an Int16Array (16-bit PCM), got ${describe(chunk)}`);
  }
  if (chunk.length !== CHUNK_SAMPLES) {
    throw new ShapeError(`wake word push: chunk has ${chunk.length} samples, expected ${CHUNK_SAMPLES} (80 ms at ${SAMPLE_RATE} Hz)`);
  }
  const pcm = new Float32Array(CHUNK_SAMPLES);
  if (chunk instanceof Int16Array) {
    pcm.set(chunk);
    return pcm;
  }
  for (let i = 0; i < CHUNK_SAMPLES; i++) {
    const v = chunk[i]!;
    if (!Number.isFinite(v)) throw new ValueRangeError(`wake word push: chunk sample ${i} is ${v}, expected a finite number`);
    pcm[i] = v * 32768;
  }
  return pcm;
}
