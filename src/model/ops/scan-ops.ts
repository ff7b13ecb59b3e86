// Operators that run along one axis: TopK and CumSum.

import { ArgumentError } from '../../errors.js';
import { elementCount } from '../graph.js';
import { attr, constInts, fail, need, normAxis, type OpContext, type OpDef, type ValueInfo } from './types.js';

/** Outer count, axis size and inner count of `dims` around `axis`. */
function around(dims: readonly number[], axis: number): [number, number, number] {
  return [elementCount(dims.slice(0, axis)), dims[axis], elementCount(dims.slice(axis + 1))];
}

function topkArgs(ctx: OpContext, ins: (ValueInfo | null)[]): { axis: number; k: number } {
  const x = need(ctx, ins, 0, 'X');
  const r = x.dims.length;
  if (r === 0) fail(ctx, 'X must have rank 1 or more, it is a scalar');
  const axis = normAxis(ctx, attr(ctx.node, 'axis', -1), r);
  let k: number;
  if (ctx.opset < 10) k = attr(ctx.node, 'k', -1);
  else {
    const kv = need(ctx, ins, 1, 'K');
    if (elementCount(kv.dims) !== 1 || kv.dims.length > 1) fail(ctx, `K must be a 1-D tensor of one value, got dims [${kv.dims}]`);
    k = constInts(ctx, ins, 1, 'K')![0];
  }
  if (!Number.isSafeInteger(k) || k < 0 || k > x.dims[axis]) fail(ctx, `k ${k} is out of range [0, ${x.dims[axis]}] for axis ${axis} of size ${x.dims[axis]}`, ArgumentError);
  return { axis, k };
}

const topkDef: OpDef = {
  layout: 'nchw',
  opsets: [1, 23],
  infer: (ctx, ins) => {
    const x = need(ctx, ins, 0, 'X');
    const { axis, k } = topkArgs(ctx, ins);
    const dims = [...x.dims];
    dims[axis] = k;
    return [{ type: x.type, dims }, { type: 'int64', dims: [...dims] }];
  },
  // sorted = 0 leaves the order to the implementation: lowbit sorts anyway. Ties keep the lower
  // index first (as onnxruntime); NaN counts as the largest value.
  compute: (ctx, ins, outs) => {
    const x = ins[0]!.data, vals = outs[0].data, idxs = outs[1]?.data;
    const { axis, k } = topkArgs(ctx, ins.map((v) => v && { type: v.type, dims: [...v.dims], value: v }));
    const largest = ctx.opset < 11 || attr(ctx.node, 'largest', 1) === 1;
    const [outer, d, inner] = around(ins[0]!.dims, axis);
    // a before b: strictly better (an equal value seen later never passes an earlier one)
    const better = largest
      ? (a: number, b: number) => a > b || (a !== a && b === b)
      : (a: number, b: number) => a < b || (b !== b && a === a);
    if (k === 0) return;
    const top = new Int32Array(k), topv = new Float64Array(k);
    const order = k > 256 ? new Int32Array(d) : null;
    let base = 0;
    const cmp = (a: number, b: number) => {
      const va = x[base + a * inner], vb = x[base + b * inner];
      return better(va, vb) ? -1 : better(vb, va) ? 1 : a - b;
    };
    for (let o = 0; o < outer; o++) {
      for (let i = 0; i < inner; i++) {
        base = o * d * inner + i;
        if (order) {
          // large k: sort all indices
          for (let j = 0; j < d; j++) order[j] = j;
          order.sort(cmp);
          for (let j = 0; j < k; j++) topv[j] = x[base + (top[j] = order[j]) * inner];
        } else {
          // k <= 256: insertion into the k best so far, O(d) for most data, at most O(d·k)
          let m = 0;
          for (let j = 0; j < d; j++) {
            const v = x[base + j * inner];
            if (m === k && !better(v, topv[k - 1])) continue;
            let p = m < k ? m++ : k - 1;
            for (; p > 0 && better(v, topv[p - 1]); p--) {
              top[p] = top[p - 1];
              topv[p] = topv[p - 1];
            }
            top[p] = j;
            topv[p] = v;
          }
        }
        const out = o * k * inner + i;
        for (let j = 0; j < k; j++) {
          vals[out + j * inner] = topv[j];
          if (idxs) idxs[out + j * inner] = top[j];
        }
      }
    }
  },
};

function cumsumAxis(ctx: OpContext, rank: number, axis: ValueInfo | null | undefined): number | null {
  if (!axis) return fail(ctx, 'input 1 (axis) is required');
  if (axis.dims.length > 1 || elementCount(axis.dims) !== 1) fail(ctx, `axis must be a scalar, got dims [${axis.dims}]`);
  if (axis.type !== 'int32' && axis.type !== 'int64') fail(ctx, `axis must be int32 or int64, got ${axis.type}`);
  return axis.value ? normAxis(ctx, axis.value.data[0], rank) : null;
}

const cumsumDef: OpDef = {
  layout: 'nchw',
  opsets: [11, 23],
  infer: (ctx, ins) => {
    const x = need(ctx, ins, 0, 'x');
    cumsumAxis(ctx, x.dims.length, ins[1]);
    return [{ type: x.type, dims: [...x.dims] }];
  },
  // each sum is the previous output plus one input, in the output's type (float32 rounds per step)
  compute: (ctx, ins, outs) => {
    const x = ins[0]!.data, y = outs[0].data;
    const axis = cumsumAxis(ctx, ins[0]!.dims.length, { ...ins[1]!, dims: [...ins[1]!.dims], value: ins[1]! })!;
    const exclusive = attr(ctx.node, 'exclusive', 0) === 1, reverse = attr(ctx.node, 'reverse', 0) === 1;
    const [outer, d, inner] = around(ins[0]!.dims, axis);
    const step = reverse ? -inner : inner;
    for (let o = 0; o < outer; o++) {
      const first = o * d * inner + (reverse ? (d - 1) * inner : 0);
      for (let t = 0; t < d; t++) {
        const at = first + t * step;
        for (let i = 0; i < inner; i++) {
          const p = at + i;
          if (t === 0) y[p] = exclusive ? 0 : x[p];
          else y[p] = y[p - step] + x[exclusive ? p - step : p];
        }
      }
    }
  },
};

export const SCAN_OPS: Record<string, OpDef> = { TopK: topkDef, CumSum: cumsumDef };
