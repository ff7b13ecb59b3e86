// The wake-word heads: each a small classifier over the last `window` embeddings (openWakeWord's
// heads take [1, window, 96], window 16 for most; its Python reads the window off the model's input
// shape, and so do we when the model is a lowbit Model).

import { ArgumentError, describe } from '../../errors.js';
import { checkRunner, runStage, type StageRunner } from './stage.js';
import { EMBEDDING_DIM } from './embedding-stream.js';

export const DEFAULT_WINDOW = 16;

export interface HeadSpec {
  model: StageRunner;
  /** embeddings the head takes (default: the model's declared input dims[1], else 16) */
  window?: number;
  /** overrides the detector's threshold for this head */
  threshold?: number;
}

export interface Head {
  name: string;
  model: StageRunner;
  window: number;
  threshold: number;
}

/** The window a lowbit Model declares on its input ([1, window, 96]), if it declares one. */
function declaredWindow(model: StageRunner): number | undefined {
  const dims = (model as { graph?: { inputs?: { dims?: readonly unknown[] }[] } }).graph?.inputs?.[0]?.dims;
  const w = dims?.[1];
  return typeof w === 'number' && Number.isSafeInteger(w) && w > 0 ? w : undefined;
}

export function checkThreshold(t: unknown, what: string): number {
  if (typeof t !== 'number' || !(t >= 0 && t <= 1)) throw new ArgumentError(`createWakeWordDetector: ${what} must be a number in [0, 1], got ${describe(t)}`);
  return t;
}

export function makeHead(name: string, spec: StageRunner | HeadSpec, threshold: number): Head {
  const s: HeadSpec = spec && typeof spec === 'object' && 'run' in spec ? { model: spec } : (spec as HeadSpec);
  const model = checkRunner(s?.model, `heads.${name}`);
  const window = s.window ?? declaredWindow(model) ?? DEFAULT_WINDOW;
  if (!Number.isSafeInteger(window) || window < 1 || window > 1024) {
    throw new ArgumentError(`createWakeWordDetector: heads.${name}.window must be an integer in [1, 1024], got ${describe(window)}`);
  }
  return { name, model, window, threshold: s.threshold === undefined ? threshold : checkThreshold(s.threshold, `heads.${name}.threshold`) };
}

/** The head's score (one value in [0, 1]) on the last `head.window` rows of `history` (rows of 96). */
export async function scoreHead(head: Head, history: Float32Array): Promise<number> {
  const features = history.slice(history.length - head.window * EMBEDDING_DIM);
  const out = await runStage(head.model, `'${head.name}' head`, features, [1, head.window, EMBEDDING_DIM], 1);
  return out[0]!;
}
