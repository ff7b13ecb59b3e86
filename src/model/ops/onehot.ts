// OneHot (opsets 9, 11): output[..., d, ...] = values[1] where indices[...] (negative: + depth) is
// d, else values[0]; the new axis of size depth goes at `axis` (default -1: last). A non-integer
// depth is truncated; a non-integer index (float indices) matches no d, and one outside
// [-depth, depth - 1] neither: a row of values[0] (onnxruntime-web's results, checked in the test). The output shape depends on depth's value: a depth
// computed at run time is read between plan stages (staged-plan.ts), as TopK's K is.

import { ValueRangeError } from '../../errors.js';
import { elementCount } from '../graph.js';
import { attr, constInts, fail, need, normAxis, type OpContext, type OpDef, type ValueInfo } from './types.js';

/** depth (truncated) and the output axis */
function oneHotArgs(ctx: OpContext, ins: (ValueInfo | null)[]): { depth: number; axis: number } {
  const indices = need(ctx, ins, 0, 'indices'), d = need(ctx, ins, 1, 'depth');
  if (d.dims.length > 1 || elementCount(d.dims) !== 1) fail(ctx, `depth must be a scalar or a tensor of one element, got dims [${d.dims}]`);
  const raw = constInts(ctx, ins, 1, 'depth')![0];
  const depth = Math.trunc(raw);
  if (!(depth >= 1) || !Number.isSafeInteger(depth)) fail(ctx, `depth is ${raw}; expected an integer >= 1`, ValueRangeError);
  return { depth, axis: normAxis(ctx, attr(ctx.node, 'axis', -1), indices.dims.length + 1) };
}

const oneHot: OpDef = {
  layout: 'nchw',
  opsets: [9, 23],
  infer: (ctx, ins) => {
    const indices = need(ctx, ins, 0, 'indices'), values = need(ctx, ins, 2, 'values');
    if (values.dims.length !== 1 || values.dims[0] !== 2) fail(ctx, `values must be [off_value, on_value] (dims [2]), got dims [${values.dims}]`);
    const { depth, axis } = oneHotArgs(ctx, ins);
    const dims = [...indices.dims];
    dims.splice(axis, 0, depth);
    return [{ type: values.type, dims }];
  },
  compute: (ctx, ins, outs) => {
    const idx = ins[0]!.data, [off, on] = ins[2]!.data, y = outs[0].data;
    const { depth, axis } = oneHotArgs(ctx, ins.map((v) => v && { type: v.type, dims: [...v.dims], value: v }));
    const inner = elementCount(ins[0]!.dims.slice(axis)), outer = elementCount(ins[0]!.dims.slice(0, axis));
    y.fill(off as never);
    for (let o = 0; o < outer; o++) {
      for (let i = 0; i < inner; i++) {
        let d = Number(idx[o * inner + i]);
        if (d < 0) d += depth;
        if (Number.isInteger(d) && d >= 0 && d < depth) y[(o * depth + d) * inner + i] = on as never;
      }
    }
  },
};

export const ONEHOT_OPS: Record<string, OpDef> = { OneHot: oneHot };
