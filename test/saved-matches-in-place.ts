// Shared by the CLI tests that save a quantized model: the file the CLI wrote reloads to the bits of
// the same model quantized in place (quantizeModel with the same options and calibration inputs).

import { readFileSync } from 'node:fs';
import { expect } from 'vitest';
import { createRuntime, loadModel, loadQuantized, quantizeModel, type CalibrationFreeOptions, type Model, type ModelInput, type QuantizeOptions } from '../src/index.js';
import { firstMismatch } from './helpers.js';

type Feeds = Record<string, ModelInput>;

/** first output of the reloaded file vs the in-place model, on the feeds `test(float)` gives */
export async function expectSavedMatchesInPlace(modelBytes: Uint8Array, savedPath: string, options: (float: Model) => QuantizeOptions | CalibrationFreeOptions, test: (float: Model) => Feeds): Promise<void> {
  const rt = await createRuntime({ simd: 'baseline' });
  try {
    const float = loadModel(rt, modelBytes);
    const q = await quantizeModel(float, options(float));
    const want = Object.values(await q.run(test(float)))[0].data as Float32Array;
    const back = loadQuantized(float, new Uint8Array(readFileSync(savedPath)));
    const got = Object.values(await back.run(test(float)))[0].data as Float32Array;
    expect(firstMismatch(got, want)).toBeNull();
    q.dispose();
    back.dispose();
    float.dispose();
  } finally {
    rt.dispose();
  }
}
