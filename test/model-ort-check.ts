// Shared by the model-operator tests: run one ONNX graph in lowbit (src/model) and in
// onnxruntime-web on the same seeded inputs and compare every output:
// max |lowbit - ort| <= tol * max(1, max |ort|), NaN matching NaN; dims and output names equal.

import { expect } from 'vitest';
import { loadModel, type Model, type Runtime } from '../src/index.js';
import type { LowbitError } from '../src/errors.js';
import { randNormal, rng } from './helpers.js';
import { runOrtModel, type Feed, type OnnxBuilder } from './onnx-builder.js';

/** seeded normal input; `step` rounds to multiples of it (ties for comparisons and arg ops) */
export function seeded(dims: number[], seed = 1, scale = 1, step = 0): Feed {
  const data = randNormal(dims.reduce((a, b) => a * b, 1), rng(seed), scale);
  if (step) for (let i = 0; i < data.length; i++) data[i] = Math.round(data[i] / step) * step;
  return { type: 'float32', dims, data };
}

export const count = (dims: readonly number[]) => dims.reduce((a, b) => a * b, 1);

/** seeded normal input */
export function X(dims: number[], seed = 1, scale = 1): Feed {
  return seeded(dims, seed, scale);
}

/** loads `bytes`, calls fn with the model, disposes it */
export async function withModel<T>(rt: Runtime, bytes: Uint8Array, fn: (m: Model) => Promise<T>): Promise<T> {
  const m = loadModel(rt, bytes);
  try {
    return await fn(m);
  } finally {
    m.dispose();
  }
}

/** seeded normal values as an array (weights) */
export function W(n: number, seed: number, scale = 1): number[] {
  return Array.from(randNormal(n, rng(seed), scale));
}

/** int64 outputs (BigInt64Array) compare by their Number values (lowbit refuses any beyond 2^53) */
export function maxAbsDiff(got: ArrayLike<number | bigint>, want: ArrayLike<number | bigint>): { diff: number; at: number; scale: number } {
  let diff = 0, at = -1, scale = 0;
  for (let i = 0; i < want.length; i++) {
    const w = Number(want[i]), g = Number(got[i]);
    if (Number.isFinite(w)) scale = Math.max(scale, Math.abs(w));
    const d = Number.isNaN(w) && Number.isNaN(g) ? 0 : w === g ? 0 : Math.abs(g - w);
    if (!(d <= diff)) {
      diff = d;
      at = i;
    }
  }
  return { diff, at, scale };
}

export async function compareWithOrt(rt: Runtime, b: OnnxBuilder, feeds: Record<string, Feed>, tol = 1e-5, fuse = true): Promise<void> {
  const bytes = b.build();
  const want = await runOrtModel(bytes, feeds);
  const model = loadModel(rt, bytes, { fuse });
  try {
    expectOutputsClose(await model.run(feeds), want, tol);
  } finally {
    model.dispose();
  }
}

type Outputs = Record<string, { type?: string; dims: readonly number[]; data: ArrayLike<number | bigint> }>;

/**
 * The same output names, element types (where both say: onnxruntime's and lowbit's typed outputs)
 * and dims, and max |got - want| <= tol * max(1, max |want|) per output (NaN matches NaN).
 */
export function expectOutputsClose(got: Outputs, want: Outputs, tol: number, what = ''): void {
  expect(Object.keys(got).sort(), `${what} output names`).toEqual(Object.keys(want).sort());
  for (const [name, w] of Object.entries(want)) {
    const g = got[name];
    if (g.type !== undefined && w.type !== undefined) expect(g.type, `${what} ${name} type`).toBe(w.type);
    expect(g.dims, `${what} ${name} dims`).toEqual(w.dims);
    const { diff, at, scale } = maxAbsDiff(g.data, w.data);
    const t = tol * Math.max(1, scale);
    expect(diff, `${what} ${name}: max |diff| ${diff} at ${at} (lowbit ${g.data[at]}, ort ${w.data[at]}), tolerance ${t}`).toBeLessThanOrEqual(t);
  }
}

type ErrorClass = new (...args: never[]) => LowbitError;

/** fn throws a `cls` whose message has every part (the node's name, the argument …) */
export function expectLowbitError(fn: () => unknown, cls: ErrorClass, parts: string[]): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err, 'expected a throw').toBeInstanceOf(cls);
  for (const p of parts) expect((err as Error).message).toContain(p);
}

/** the same for a promise (errors found when the plan is made, at the first run) */
export async function expectLowbitRejection(p: Promise<unknown>, cls: ErrorClass, parts: string[]): Promise<void> {
  let err: unknown;
  try {
    await p;
  } catch (e) {
    err = e;
  }
  expect(err, 'expected a rejection').toBeInstanceOf(cls);
  for (const s of parts) expect((err as Error).message).toContain(s);
}
