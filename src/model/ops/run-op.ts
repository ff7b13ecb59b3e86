// One ONNX operator on its own, as a model node of the default domain would run it: the same
// definition (attribute checks, shape and type inference), executed by its run() on the wasm
// kernels (or by compute() when it has no run()). What rt.ops (src/ops/onnx.ts) calls.

import type { Runtime } from '../../runtime/runtime.js';
import { elementCount, hostArray, type AttrValue, type ElemType, type HostData } from '../graph.js';
import { OPS } from './registry.js';
import type { HostValue, OpContext } from './types.js';

/** The opset rt.ops follows (float8 QuantizeLinear, Cast saturate, output_dtype). */
const OPSET = 21;

export interface OpOutput {
  type: ElemType;
  dims: number[];
  data: HostData;
}

/** Runs `op` on host inputs (null: an omitted optional input) with these attributes (undefined: absent). */
export async function runOp(rt: Runtime, op: string, ins: (HostValue | null)[], attrs: Record<string, AttrValue | undefined> = {}): Promise<OpOutput[]> {
  const def = OPS[op];
  const node = {
    name: op, op, domain: '', inputs: ins.map((v, i) => (v ? `input ${i}` : '')), outputs: ['output'],
    attrs: new Map(Object.entries(attrs).filter((e): e is [string, AttrValue] => e[1] !== undefined)),
  };
  const ctx: OpContext = { node, opset: OPSET, label: op };
  def.check?.(ctx);
  const outs = def.infer(ctx, ins.map((v) => v && { type: v.type, dims: [...v.dims] }));
  if (def.run) {
    const data = await def.run(rt, ctx, ins, outs);
    return outs.map((o, i) => ({ type: o.type, dims: o.dims, data: data[i] }));
  }
  const host = outs.map((o) => ({ ...o, data: hostArray(o.type, elementCount(o.dims)), nhwc: false }));
  def.compute!(ctx, ins, host);
  return host.map(({ type, dims, data }) => ({ type, dims, data }));
}
