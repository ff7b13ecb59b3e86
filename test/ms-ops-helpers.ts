// Shared by the com.microsoft operator tests (test/ms-*.test.ts): one-node graphs, and the comparison
// with onnxruntime-web on feeds that may hold integer inputs.

import { loadModel, type Model, type Runtime } from '../src/index.js';
import { expectOutputsClose } from './model-ort-check.js';
import { OnnxBuilder, runOrtModel, type AttrSpec, type Feed, type IntFeed } from './onnx-builder.js';

/**
 * One node; `feeds` become graph inputs (declared with their dims, or with `declared` ones: symbolic),
 * `inits` initializers ('' leaves an optional input out).
 */
export function oneNode(
  op: string, domain: string, inputs: string[], feeds: Record<string, Feed | IntFeed>, inits: Record<string, [number[], number[]]>, outputs: string[],
  attrs: Record<string, AttrSpec> = {}, opset = 17, declared: Record<string, (number | string)[]> = {},
): OnnxBuilder {
  const b = new OnnxBuilder(opset);
  b.domains.set('com.microsoft', 1);
  for (const [name, f] of Object.entries(feeds)) b.input(name, declared[name] ?? f.dims, f.type);
  for (const [name, [dims, data]] of Object.entries(inits)) b.init(name, dims, data);
  b.node(op, inputs, outputs, attrs, 'n1', domain);
  for (const o of outputs) if (o) b.output(o);
  return b;
}

/** lowbit's outputs against onnxruntime-web's: max |diff| <= tol * max(1, max |ort|) per output. */
export async function checkMs(rt: Runtime, b: OnnxBuilder, feeds: Record<string, Feed | IntFeed>, tol = 1e-5, what = ''): Promise<void> {
  const bytes = b.build();
  const want = await runOrtModel(bytes, feeds);
  const model = loadModel(rt, bytes);
  try {
    expectOutputsClose(await model.run(feeds as never), want, tol, what);
  } finally {
    model.dispose();
  }
}

/** int64 / int32 feeds */
export const i64 = (dims: number[], data: number[]): IntFeed => ({ type: 'int64', dims, data });
export const i32 = (dims: number[], data: number[]): IntFeed => ({ type: 'int32', dims, data });

/** RoPE caches [rows, half]: cos / sin of position · 10000^(-i/half) */
export function ropeCaches(rows: number, half: number): { cos: [number[], number[]]; sin: [number[], number[]] } {
  const c: number[] = [], s: number[] = [];
  for (let p = 0; p < rows; p++) for (let i = 0; i < half; i++) {
    const a = p * 10000 ** (-i / half);
    c.push(Math.cos(a));
    s.push(Math.sin(a));
  }
  return { cos: [[rows, half], c], sin: [[rows, half], s] };
}

/**
 * Runs `steps` of a decoder in lowbit and in onnxruntime-web and compares every output at each step;
 * each runtime feeds its own outputs back (`carry`: output name -> input name) as the next step's
 * past (lowbit's into lowbit, onnxruntime's into onnxruntime).
 */
export async function decode(
  rt: Runtime, bytes: Uint8Array, first: Record<string, Feed | IntFeed>, next: (step: number, past: Record<string, Feed>) => Record<string, Feed | IntFeed>,
  steps: number, what: string, carry: Record<string, string>, tol = 1e-5,
): Promise<void> {
  const model: Model = loadModel(rt, bytes);
  try {
    let ours: Record<string, Feed> = {}, theirs: Record<string, Feed> = {};
    const carried = (o: Record<string, { dims: readonly number[]; data: ArrayLike<number> }>) =>
      Object.fromEntries(Object.entries(carry).map(([out, input]) => [input, { type: 'float32' as const, dims: [...o[out].dims], data: Float32Array.from(o[out].data) }]));
    for (let t = 0; t < steps; t++) {
      const want = await runOrtModel(bytes, t === 0 ? first : next(t, theirs));
      const got = await model.run((t === 0 ? first : next(t, ours)) as never);
      expectOutputsClose(got, want, tol, `${what} step ${t}`);
      ours = carried(got);
      theirs = carried(want);
    }
  } finally {
    model.dispose();
  }
}
