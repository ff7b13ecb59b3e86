// What the fuzzer feeds its inputs to, and how it judges the outcome: a run either succeeds, or
// fails with a LowbitError (a typed error: what bad input must give), or anything else (a crash:
// a TypeError, RangeError, wasm trap, ... which the fuzzer reports and saves to its corpus).

import * as ort from 'onnxruntime-web';
import { LowbitError, loadModel, loadQuantized, readSafetensors, type Model, type Runtime } from '../../src/index.js';
import type { Feed } from '../onnx-builder.js';

ort.env.logLevel = 'fatal'; // mutants make it log every refusal

/** A run's outputs: values as numbers (int64 exact: lowbit refuses any beyond 2^53), element types and shapes. */
export interface Ran {
  outputs: number[][];
  types: string[];
  dims: number[][];
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

function ran(tensors: { type: string; data: unknown; dims: readonly number[] }[]): Ran {
  return { outputs: tensors.map((t) => Array.from(t.data as ArrayLike<number | bigint>, Number)), types: tensors.map((t) => t.type), dims: tensors.map((t) => [...t.dims]) };
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
    return { outputs: [...tensors.values()].map((t) => [t.data.length]), types: [], dims: [] };
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

/**
 * onnxruntime-web on the same model: its outputs, or null when it refuses the model or the run.
 * `optimize: false` turns its graph optimizations off: its kernels alone judge the model (see
 * ortKernelsAgree).
 */
export async function runOrt(bytes: Uint8Array, feeds: Record<string, Feed>, { optimize = true } = {}): Promise<Ran | null> {
  let session: ort.InferenceSession | undefined;
  try {
    session = await ort.InferenceSession.create(bytes, optimize ? {} : { graphOptimizationLevel: 'disabled' });
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

/**
 * For a model onnxruntime refuses that lowbit runs: whether onnxruntime runs it with its graph
 * optimizations off and gives lowbit's outputs. Then the refusal is its optimizer's alone, not the
 * model's: e.g. its transpose optimizer reads a Reduce's keepdims 36 as "keep" (keepdims != 0) while
 * ONNX's shape inference, its reference implementation and onnxruntime's own kernels read it as
 * "drop" (keepdims == 1 keeps), so the rewritten graph fails its own shape check.
 */
export async function ortKernelsAgree(mine: Ran, bytes: Uint8Array, feeds: Record<string, Feed>): Promise<boolean> {
  const theirs = await runOrt(bytes, feeds, { optimize: false });
  return theirs !== null && sameOutputs(mine, theirs);
}

/** The same element types and shapes, and values equal within float rounding (NaN equal to NaN). */
export function sameOutputs(ra: Ran, rb: Ran, tol = 1e-4): boolean {
  const [a, b] = [ra.outputs, rb.outputs];
  if (a.length !== b.length || ra.types.join() !== rb.types.join()) return false;
  if (ra.dims.some((d, i) => d.join() !== rb.dims[i]?.join())) return false;
  return a.every((x, i) => x.length === b[i].length && x.every((v, j) => {
    const w = b[i][j];
    return (Number.isNaN(v) && Number.isNaN(w)) || v === w || Math.abs(v - w) <= tol * Math.max(1, Math.abs(w));
  }));
}
