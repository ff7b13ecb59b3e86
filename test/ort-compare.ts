// Runs one ONNX model in lowbit and in onnxruntime-web on the same feeds and compares every output:
// max |lowbit - ort| <= tol * max(1, max |ort|). Shared by the operator tests of Resize,
// ConvTranspose and the normalizations.

import { expect } from 'vitest';
import { loadModel, type Runtime } from '../src/index.js';
import { randNormal, rng } from './helpers.js';
import { runOrtModel, type Feed, type OnnxBuilder } from './onnx-builder.js';

export const count = (dims: number[]) => dims.reduce((a, b) => a * b, 1);

/** seeded normal input */
export function X(dims: number[], seed = 1, scale = 1): Feed {
  return { type: 'float32', dims, data: randNormal(count(dims), rng(seed), scale) };
}

/** seeded normal values as an array (weights) */
export function W(n: number, seed: number, scale = 1): number[] {
  return Array.from(randNormal(n, rng(seed), scale));
}

export function maxAbsDiff(got: ArrayLike<number>, want: ArrayLike<number>): { diff: number; at: number; scale: number } {
  let diff = 0, at = -1, scale = 0;
  for (let i = 0; i < want.length; i++) {
    const w = want[i], g = got[i];
    if (Number.isFinite(w)) scale = Math.max(scale, Math.abs(w));
    const d = Number.isNaN(w) && Number.isNaN(g) ? 0 : w === g ? 0 : Math.abs(g - w);
    if (!(d <= diff)) {
      diff = d;
      at = i;
    }
  }
  return { diff, at, scale };
}

export async function checkAgainstOrt(rt: Runtime, b: OnnxBuilder, feeds: Record<string, Feed>, tol = 1e-5, what = ''): Promise<void> {
  const bytes = b.build();
  const want = await runOrtModel(bytes, feeds);
  const model = loadModel(rt, bytes);
  try {
    const got = await model.run(feeds);
    for (const [name, w] of Object.entries(want)) {
      const g = got[name];
      expect(g.dims, `${what} ${name} dims`).toEqual(w.dims);
      const { diff, at, scale } = maxAbsDiff(g.data, w.data);
      const t = tol * Math.max(1, scale);
      expect(diff, `${what} ${name}: max |diff| ${diff} at ${at} (lowbit ${g.data[at]}, ort ${w.data[at]}), tolerance ${t}`).toBeLessThanOrEqual(t);
    }
  } finally {
    model.dispose();
  }
}
