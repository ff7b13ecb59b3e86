// NonZero (opsets 9, 13): the indices of the non-zero elements, int64 [rank, count], one column per
// element in row-major order (NaN counts as non-zero). Its output shape depends on the input's values
// and lowbit makes every shape when it plans, so the input must be known then: a constant, computed
// from constants and shapes, a plan-time input (small integer and bool inputs, plan.ts); or, in a
// model run, its count of non-zero elements is read between plan stages (staged-plan.ts): the rest
// is planned for that count, and NonZero runs at run time.

import { logicalStrides } from './layout.js';
import { ModelError } from '../../errors.js';
import { fail, need, opLabel, RuntimeValueNeeded, type HostValue, type OpDef } from './types.js';

/** The flat (row-major) positions of the non-zero elements. */
function nonZeroAt(data: ArrayLike<number>, count: number, order: (i: number) => number): number[] {
  const at: number[] = [];
  for (let i = 0; i < count; i++) if (data[order(i)] !== 0) at.push(i); // NaN !== 0: non-zero, as in onnxruntime
  return at;
}

/** Reads element i of a row-major walk over `v` (its data may be channels-last). */
function rowMajor(v: HostValue): (i: number) => number {
  if (!v.nhwc) return (i) => i;
  const s = logicalStrides(v.dims, true), d = v.dims;
  return (i) => {
    let off = 0;
    for (let k = d.length - 1; k >= 0; k--) {
      off += (i % d[k]) * s[k];
      i = Math.floor(i / d[k]);
    }
    return off;
  };
}

const count = (dims: readonly number[]) => dims.reduce((a, b) => a * b, 1);

const nonZero: OpDef = {
  layout: 'aware',
  opsets: [9, 23],
  infer: (ctx, ins) => {
    const x = need(ctx, ins, 0, 'X');
    if (!x.value && x.nonZeroCount === undefined) throw new RuntimeValueNeeded(`${opLabel(ctx)}: input 0 (X) must be known when the plan is made (a constant, computed from constants and shapes, or a small integer or bool model input): the output shape depends on its values, and lowbit plans every shape before a run`, ctx.node, 0, 'count');
    const n = x.value ? nonZeroAt(x.value.data, count(x.dims), (i) => i).length : x.nonZeroCount!;
    // a scalar counts as one axis of length 1 (numpy's nonzero, ONNX's reference and onnxruntime: [1, n])
    return [{ type: 'int64', dims: [Math.max(x.dims.length, 1), n] }];
  },
  outNhwc: () => false,
  compute: (ctx, ins, outs) => {
    const x = ins[0]!, d = x.dims.length ? x.dims : [1], r = d.length;
    const at = nonZeroAt(x.data, count(d), rowMajor(x));
    // a staged plan was made for the count read from this very value: a mismatch is a bug, never a wrong result
    if (at.length !== outs[0].dims[1]) fail(ctx, `the plan was made for ${outs[0].dims[1]} non-zero elements, the input has ${at.length}`, ModelError);
    // a scalar's one row of indices is all 0 (the output array is zero-filled)
    const y = outs[0].data;
    at.forEach((flat, j) => {
      for (let k = r - 1; k >= 0; k--) {
        y[k * at.length + j] = flat % d[k];
        flat = Math.floor(flat / d[k]);
      }
    });
  },
};

export const NONZERO_OPS: Record<string, OpDef> = { NonZero: nonZero };
