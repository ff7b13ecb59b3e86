// What the fuzzer feeds its inputs to, and how it judges the outcome: a run either succeeds, or
// fails with a LowbitError (a typed error: what bad input must give), or anything else (a crash:
// a TypeError, RangeError, wasm trap, ... which the fuzzer reports and saves to its corpus).

import * as ort from 'onnxruntime-web';
import { LowbitError, loadModel, loadQuantized, readSafetensors, type Model, type Runtime } from '../../src/index.js';
import type { Feed } from '../onnx-builder.js';

ort.env.logLevel = 'fatal'; // mutants make it log every refusal

/** A run's outputs: values as numbers (int64 exact: lowbit refuses any beyond 2^53), and element types. */
export interface Ran {
  outputs: number[][];
  types: string[];
}

export type Outcome =
  | ({ status: 'ok' } & Ran)
  | { status: 'typed'; error: string }
  | { status: 'crash'; error: Error };

async function judge(f: () => Promise<Ran>): Promise<Outcome> {
  try {
    return { status: 'ok', ...(await f()) };
  } catch (e) {
    if (e instanceof LowbitError) return { status: 'typed', error: e.constructor.name };
    return { status: 'crash', error: e instanceof Error ? e : new Error(String(e)) };
  }
}

function ran(tensors: { type: string; data: unknown }[]): Ran {
  return { outputs: tensors.map((t) => Array.from(t.data as ArrayLike<number | bigint>, Number)), types: tensors.map((t) => t.type) };
}

const outputsOf = async (m: Model, feeds: Record<string, Feed>) => ran(Object.values(await m.run(feeds)));

/** Import, plan and run an ONNX model. */
export function runOnnx(rt: Runtime, bytes: Uint8Array, feeds: Record<string, Feed>): Promise<Outcome> {
  return judge(async () => {
    const m = loadModel(rt, bytes);
    try {
      return await outputsOf(m, feeds);
    } finally {
      m.dispose();
    }
  });
}

/** Read a safetensors file (every tensor's data touched). */
export function runSafetensors(bytes: Uint8Array): Promise<Outcome> {
  return judge(async () => {
    const { tensors } = readSafetensors(bytes);
    return { outputs: [...tensors.values()].map((t) => [t.data.length]), types: [] };
  });
}

/** Load a saved quantized model over its float model, and run it. */
export function runSaved(float: Model, bytes: Uint8Array, feeds: Record<string, Feed>): Promise<Outcome> {
  return judge(async () => {
    const m = loadQuantized(float, bytes);
    try {
      return await outputsOf(m, feeds);
    } finally {
      m.dispose();
    }
  });
}

/** onnxruntime-web on the same model: its outputs, or null when it refuses the model or the run. */
export async function runOrt(bytes: Uint8Array, feeds: Record<string, Feed>): Promise<Ran | null> {
  let session: ort.InferenceSession | undefined;
  try {
    session = await ort.InferenceSession.create(bytes);
    const f: Record<string, ort.Tensor> = {};
    for (const [k, v] of Object.entries(feeds)) f[k] = new ort.Tensor('float32', v.data, v.dims);
    const r = await session.run(f);
    return ran(Object.values(r));
  } catch {
    return null;
  } finally {
    await session?.release().catch(() => {});
  }
}

/** The same element types, and values equal within float rounding (NaN equal to NaN). */
export function sameOutputs(ra: Ran, rb: Ran, tol = 1e-4): boolean {
  const [a, b] = [ra.outputs, rb.outputs];
  if (a.length !== b.length || ra.types.join() !== rb.types.join()) return false;
  return a.every((x, i) => x.length === b[i].length && x.every((v, j) => {
    const w = b[i][j];
    return (Number.isNaN(v) && Number.isNaN(w)) || v === w || Math.abs(v - w) <= tol * Math.max(1, Math.abs(w));
  }));
}
