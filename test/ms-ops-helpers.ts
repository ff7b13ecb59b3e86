// Shared by the com.microsoft operator tests (test/ms-*.test.ts): one-node graphs.

import { OnnxBuilder, type AttrSpec, type Feed } from './onnx-builder.js';

/** One node; `feeds` become graph inputs, `inits` initializers ('' leaves an optional input out). */
export function oneNode(op: string, domain: string, inputs: string[], feeds: Record<string, Feed>, inits: Record<string, [number[], number[]]>, outputs: string[], attrs: Record<string, AttrSpec> = {}, opset = 17): OnnxBuilder {
  const b = new OnnxBuilder(opset);
  b.domains.set('com.microsoft', 1);
  for (const [name, f] of Object.entries(feeds)) b.input(name, f.dims);
  for (const [name, [dims, data]] of Object.entries(inits)) b.init(name, dims, data);
  b.node(op, inputs, outputs, attrs, 'n1', domain);
  for (const o of outputs) if (o) b.output(o);
  return b;
}

