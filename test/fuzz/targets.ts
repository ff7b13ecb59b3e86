// What the fuzzer feeds its inputs to, and how it judges the outcome: a run either succeeds, or
// fails with a LowbitError (a typed error: what bad input must give), or anything else (a crash:
// a TypeError, RangeError, wasm trap, ... which the fuzzer reports and saves to its corpus).

import onnxproto from 'onnx-proto';
import { LowbitError, loadModel, loadQuantized, readSafetensors, type Model, type Runtime } from '../../src/index.js';
import type { Feed } from '../onnx-builder.js';
import { runInOrtProcess, type OrtResult } from './ort-process.js';

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

/** How long one lowbit run may take: past it, an unsettled run is a finding (a hang), not a wait. */
const LOWBIT_DEADLINE_MS = 60_000;

async function judge(f: () => Promise<Ran>): Promise<Outcome> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer in ${LOWBIT_DEADLINE_MS / 1000} s: the run hangs`)), LOWBIT_DEADLINE_MS);
  });
  try {
    return { status: 'ok', ...(await Promise.race([f(), deadline])) };
  } catch (e) {
    if (e instanceof LowbitError) return { status: 'typed', error: e.constructor.name };
    return { status: 'crash', error: e instanceof Error ? e : new Error(String(e)) };
  } finally {
    clearTimeout(timer);
  }
}

function ran(tensors: { type: string; data: unknown; dims: readonly number[] }[]): Ran {
  return { outputs: tensors.map((t) => Array.from(t.data as ArrayLike<number | bigint>, Number)), types: tensors.map((t) => t.type), dims: tensors.map((t) => [...t.dims]) };
}

const outputsOf = async (m: Model, feeds: Record<string, Feed>) => ran(Object.values(await m.run(feeds)));

/**
 * The file as a ModelSource (loadModel's random-access form, src/model/onnx-source.ts) that reads
 * from `bytes`. The source path walks the protobuf itself before onnx-proto decodes the rest, so a
 * mutant must give the same verdict through it.
 */
export const sourceOf = (bytes: Uint8Array) => ({ size: bytes.length, read: (offset: number, length: number) => bytes.slice(offset, offset + length) });

/** Import, plan and run an ONNX model (from its bytes, or through a ModelSource over them). */
export function runOnnx(rt: Runtime, bytes: Uint8Array, feeds: Record<string, Feed>, { source = false } = {}): Promise<Outcome> {
  return judge(async () => {
    const m = loadModel(rt, source ? sourceOf(bytes) : bytes);
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
 * onnxruntime-web on the same model (in a child process with a deadline: ort-process.ts): its
 * outputs, null when it refuses the model or the run, 'no-answer' when it hangs or its process dies.
 * `optimize: false` turns its graph optimizations off: its kernels alone judge the model (see
 * ortRunsOtherwise).
 */
export function runOrt(bytes: Uint8Array, feeds: Record<string, Feed>, { optimize = true } = {}): Promise<OrtResult> {
  return runInOrtProcess('web', bytes, feeds, optimize);
}

/** onnxruntime-node where it is installed (it is no dependency of the package): a second build. */
const runOrtNode = (bytes: Uint8Array, feeds: Record<string, Feed>) => runInOrtProcess('node', bytes, feeds, true);

const answered = (r: OrtResult): Ran | null => (r === 'no-answer' ? null : r);

/**
 * For a model onnxruntime-web refuses, or runs with other outputs, that lowbit runs: the onnxruntime
 * configuration that runs it with lowbit's outputs (then the refusal or the difference is that
 * build's or that pass's, not the model's), or null.
 * - onnxruntime-web with its graph optimizations off: its transpose optimizer reads a Reduce's or
 *   ArgMax's keepdims 36 as "keep" (keepdims != 0), while ONNX's shape inference, its reference and
 *   onnxruntime's own kernels read it as "drop" (keepdims == 1 keeps), and fails its own rewrite.
 * - onnxruntime-node (1.31): where the computed shape of a graph output contradicts the declared one,
 *   onnxruntime-web 1.30 refuses the model and onnxruntime-node warns ("Falling back to lenient
 *   merge") and runs it, as real models with stale declared shapes need.
 * - onnxruntime-web without graph optimizations, where the optimized run differs: a layer norm whose
 *   epsilon Add was rewired to another value gave the unmutated model's output optimized (its
 *   layer-norm fusion reads that Add as the epsilon), lowbit's with the graph as written.
 * - onnxruntime-web with the dead Resize nodes (no graph output depends on them) of linear or cubic
 *   mode set to nearest: its CPU Resize kernel refuses those modes unless the input is 2-D, or 4-D or
 *   5-D with scale 1 on the outer two axes (upsamplebase.h, when the kernel is created: at session
 *   init, dead node or not). ONNX's Resize is N-linear over any axes, and so is lowbit's
 *   (test/model-ops-resize.test.ts). Seen: mutants of the resize-pad seed whose Resize became dead
 *   with Sigmoid(scales) wired in as its scales. lowbit plans dead nodes as live ones (a dead reflect
 *   Pad of an empty axis is refused here as there); a dead node's mode changes no output, and every
 *   other node stays, so only that kernel limit is set aside.
 */
export async function ortRunsOtherwise(mine: Ran, bytes: Uint8Array, feeds: Record<string, Feed>): Promise<string | null> {
  const unoptimized = answered(await runOrt(bytes, feeds, { optimize: false }));
  if (unoptimized && sameOutputs(mine, unoptimized)) return 'onnxruntime-web without graph optimizations';
  const node = answered(await runOrtNode(bytes, feeds));
  if (node && sameOutputs(mine, node)) return 'onnxruntime-node';
  const nearest = deadResizeAsNearest(bytes);
  const asNearest = nearest && answered(await runOrt(nearest, feeds));
  if (asNearest && sameOutputs(mine, asNearest)) return "onnxruntime-web with its dead linear/cubic Resize set to nearest (its kernel's rank limit, not ONNX's)";
  return null;
}

/**
 * The model with the main graph's dead Resize nodes (no graph output depends on them; a subgraph's
 * reads of outer values count as its node's) of linear or cubic mode set to nearest, re-encoded;
 * null when there is none or it does not decode.
 */
export function deadResizeAsNearest(bytes: Uint8Array): Uint8Array | null {
  let model: onnxproto.onnx.ModelProto;
  try {
    model = onnxproto.onnx.ModelProto.decode(bytes);
  } catch {
    return null;
  }
  const g = model.graph;
  if (!g) return null;
  const reads = (n: onnxproto.onnx.INodeProto): string[] => {
    const names = [...(n.input ?? [])];
    const walk = (sg: onnxproto.onnx.IGraphProto) => {
      for (const m of sg.node ?? []) {
        names.push(...(m.input ?? []));
        for (const a of m.attribute ?? []) for (const x of [a.g, ...(a.graphs ?? [])]) if (x) walk(x);
      }
    };
    for (const a of n.attribute ?? []) for (const x of [a.g, ...(a.graphs ?? [])]) if (x) walk(x);
    return names;
  };
  const needed = new Set((g.output ?? []).map((o) => o.name ?? ''));
  const live = new Set<onnxproto.onnx.INodeProto>();
  for (let changed = true; changed;) {
    changed = false;
    for (const n of g.node ?? []) {
      if (live.has(n) || !(n.output ?? []).some((o) => needed.has(o))) continue;
      live.add(n);
      for (const x of reads(n)) needed.add(x);
      changed = true;
    }
  }
  let edited = 0;
  for (const n of g.node ?? []) {
    if (live.has(n) || n.opType !== 'Resize' || (n.domain ?? '') !== '') continue;
    const mode = (n.attribute ?? []).find((a) => a.name === 'mode');
    const text = mode?.s ? new TextDecoder().decode(mode.s) : 'nearest';
    if (mode && (text === 'linear' || text === 'cubic')) {
      mode.s = new TextEncoder().encode('nearest');
      edited++;
    }
  }
  return edited ? onnxproto.onnx.ModelProto.encode(model).finish() : null;
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
