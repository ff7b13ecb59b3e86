// The `lowbit/wakeword` entry: openWakeWord's streaming wake-word pipeline (melspectrogram →
// speech embedding → wake-word heads) over 80 ms chunks of 16 kHz audio, with each stage a model
// you load (a lowbit Model, or anything with the same run(feeds)). Pure: no file, audio-device or
// network access; reading WAV files and finding the models are the caller's (the lowbit CLI's
// `wakeword` command does both).

export { createWakeWordDetector, type WakeWordDetector, type WakeWordOptions, type WakeWordScore } from './model/wakeword/detector.js';
export { detectClip, type ClipOptions, type ClipResult } from './model/wakeword/clip.js';
export type { HeadSpec } from './model/wakeword/heads.js';
export type { StageRunner, StageTensor } from './model/wakeword/stage.js';
export { CHUNK_SAMPLES, SAMPLE_RATE } from './model/wakeword/audio-input.js';
export { MEL_BINS, MEL_CONTEXT, MEL_FRAMES_PER_CHUNK } from './model/wakeword/mel-stream.js';
export { EMBEDDING_DIM, EMBEDDING_FRAMES } from './model/wakeword/embedding-stream.js';
