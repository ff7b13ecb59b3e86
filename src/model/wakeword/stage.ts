// One stage of the wake-word pipeline: anything that runs a model the way lowbit's Model does
// (`run(feeds)` → outputs by name). A lowbit Model fits as it is; so does a small adapter around an
// onnxruntime session (the tests and the bench use one for models lowbit cannot load yet).

import { ArgumentError, ModelError, describe } from '../../errors.js';

export interface StageTensor {
  type: 'float32';
  data: Float32Array;
  dims: readonly number[];
}

export interface StageRunner {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  run(feeds: Record<string, StageTensor>): Promise<Record<string, { data: ArrayLike<number | bigint>; dims: readonly number[] }>>;
}

/** Checks that `runner` looks like a StageRunner with one input and at least one output. */
export function checkRunner(runner: unknown, what: string): StageRunner {
  const r = runner as Partial<StageRunner> | null;
  if (!r || typeof r !== 'object' || typeof r.run !== 'function' || !Array.isArray(r.inputNames) || !Array.isArray(r.outputNames)) {
    throw new ArgumentError(`createWakeWordDetector: ${what} must be a model with run(feeds), inputNames and outputNames (a lowbit Model), got ${describe(runner)}`);
  }
  if (r.inputNames.length !== 1 || r.outputNames.length < 1) {
    throw new ArgumentError(`createWakeWordDetector: ${what} must take one input and give an output, it has inputs [${r.inputNames}] and outputs [${r.outputNames}]`);
  }
  return r as StageRunner;
}

/**
 * Runs `runner` on one float32 tensor and returns its first output as a Float32Array of exactly
 * `expected` values (a ModelError naming the stage otherwise: the wrong model in the wrong slot).
 */
export async function runStage(runner: StageRunner, what: string, data: Float32Array, dims: readonly number[], expected: number): Promise<Float32Array> {
  const outputs = await runner.run({ [runner.inputNames[0]!]: { type: 'float32', data, dims } });
  const out = outputs[runner.outputNames[0]!];
  if (!out || out.data.length !== expected) {
    throw new ModelError(`wake word: the ${what} model gave ${out ? `${out.data.length} values (dims [${out.dims}])` : 'no output'} for input dims [${dims}], expected ${expected}`);
  }
  return out.data instanceof Float32Array ? out.data : Float32Array.from(out.data as ArrayLike<number | bigint>, Number);
}
