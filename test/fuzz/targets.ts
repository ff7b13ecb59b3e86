// What the fuzzer feeds its inputs to, and how it judges the outcome: a run either succeeds, or
// fails with a LowbitError (a typed error: what bad input must give), or anything else (a crash:
// a TypeError, RangeError, wasm trap, ... which the fuzzer reports and saves to its corpus).

import * as ort from 'onnxruntime-web';
import { LowbitError, loadModel, loadQuantized, readSafetensors, type Model, type Runtime } from '../../src/index.js';
import type { Feed } from '../onnx-builder.js';

ort.env.logLevel = 'fatal'; // mutants make it log every refusal

export type Outcome =
  | { status: 'ok'; outputs: number[][] }
  | { status: 'typed'; error: string }
  | { status: 'crash'; error: Error };

async function judge(f: () => Promise<number[][]>): Promise<Outcome> {
  try {
    return { status: 'ok', outputs: await f() };
  } catch (e) {
    if (e instanceof LowbitError) return { status: 'typed', error: e.constructor.name };
    return { status: 'crash', error: e instanceof Error ? e : new Error(String(e)) };
  }
}

const outputsOf = async (m: Model, feeds: Record<string, Feed>) => Object.values(await m.run(feeds)).map((t) => Array.from(t.data as ArrayLike<number>));

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
    return [...tensors.values()].map((t) => [t.data.length]);
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
export async function runOrt(bytes: Uint8Array, feeds: Record<string, Feed>): Promise<number[][] | null> {
  let session: ort.InferenceSession | undefined;
  try {
    session = await ort.InferenceSession.create(bytes);
    const f: Record<string, ort.Tensor> = {};
    for (const [k, v] of Object.entries(feeds)) f[k] = new ort.Tensor('float32', v.data, v.dims);
    const r = await session.run(f);
    return Object.values(r).map((t) => Array.from(t.data as ArrayLike<number>, Number));
  } catch {
    return null;
  } finally {
    await session?.release().catch(() => {});
  }
}

/** Outputs equal within float rounding (NaN equal to NaN). */
export function sameOutputs(a: number[][], b: number[][], tol = 1e-4): boolean {
  if (a.length !== b.length) return false;
  return a.every((x, i) => x.length === b[i].length && x.every((v, j) => {
    const w = b[i][j];
    return (Number.isNaN(v) && Number.isNaN(w)) || v === w || Math.abs(v - w) <= tol * Math.max(1, Math.abs(w));
  }));
}
