// Shared by the com.microsoft operator tests (test/ms-*.test.ts): one-node graphs, and the comparison
// with onnxruntime-web on feeds that may hold integer inputs.

import { loadModel, type Runtime } from '../src/index.js';
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
