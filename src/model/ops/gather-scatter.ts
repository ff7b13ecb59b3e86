// Index-driven operators beside Gather: GatherElements, ScatterElements (and Scatter, its name
// before opset 11), GatherND, ScatterND. Indices may be runtime values; negative ones count from the end of their axis, and one out of range is a
// ValueRangeError naming the node, the index and the valid range. Scatter reductions (opset 16:
// add, mul; 18: max, min) apply in index order, so with reduction 'none' the last duplicate wins,
// as in onnxruntime.

import { ArgumentError, UnsupportedOperatorError, ValueRangeError } from '../../errors.js';
import { elementCount, type HostData } from '../graph.js';
import { logicalStrides } from './layout.js';
import { attr, fail, need, normAxis, opLabel, type OpContext, type OpDef, type ValueInfo } from './types.js';

type Reduction = 'none' | 'add' | 'mul' | 'max' | 'min';

function reduction(ctx: OpContext): Reduction {
  const r = attr(ctx.node, 'reduction', 'none');
  const allowed = ctx.opset >= 18 ? ['none', 'add', 'mul', 'max', 'min'] : ctx.opset >= 16 ? ['none', 'add', 'mul'] : ['none'];
  if (!allowed.includes(r)) throw new UnsupportedOperatorError(`${opLabel(ctx)}: reduction '${r}' is not one of ${allowed.join(', ')} at opset ${ctx.opset}`);
  return r as Reduction;
}

/** out[i] = combine(out[i], v) */
function store(out: HostData, i: number, v: number, r: Reduction): void {
  const o = out[i];
  out[i] = r === 'none' ? v : r === 'add' ? o + v : r === 'mul' ? o * v : r === 'max' ? (v > o ? v : o) : v < o ? v : o;
}

/** An index checked against an axis of size d, negative counted from the end (Gather uses it too). */
export function wrapIndex(ctx: OpContext, k: number, d: number, what: string, at: number, axis: number): number {
  const j = k < 0 ? k + d : k;
  if (!(j >= 0 && j < d)) fail(ctx, `${what}[${at}] is ${k}, out of range [${-d}, ${d - 1}] for axis ${axis} of size ${d}`, ValueRangeError);
  return j;
}

function checkIntegerIndices(ctx: OpContext, idx: ValueInfo): void {
  if (idx.type !== 'int64' && idx.type !== 'int32') fail(ctx, `indices must be int32 or int64, got ${idx.type}`);
}

/** GatherElements and ScatterElements: indices of the data's rank, not larger off the axis. */
function elementsShape(ctx: OpContext, data: ValueInfo, idx: ValueInfo): number {
  checkIntegerIndices(ctx, idx);
  const r = data.dims.length;
  if (r === 0) fail(ctx, 'data must have rank 1 or more');
  const axis = normAxis(ctx, attr(ctx.node, 'axis', 0), r);
  if (idx.dims.length !== r) fail(ctx, `indices have rank ${idx.dims.length}, data has rank ${r}: they must match`);
  idx.dims.forEach((d, k) => {
    if (k !== axis && d > data.dims[k]) fail(ctx, `indices dims [${idx.dims}] exceed data dims [${data.dims}] on axis ${k}`);
  });
  return axis;
}

/**
 * For each element p of the indices (row-major over idxDims): the data offset of its position with
 * the axis coordinate left out, and that index resolved. Calls f(p, offset).
 */
function eachElement(ctx: OpContext, idx: ArrayLike<number>, idxDims: readonly number[], dataDims: readonly number[], axis: number, f: (p: number, offset: number) => void): void {
  const r = idxDims.length, ds = logicalStrides(dataDims, false), n = elementCount(idxDims);
  const coord = new Array<number>(r).fill(0);
  let base = 0;
  for (let p = 0; p < n; p++) {
    f(p, base + wrapIndex(ctx, idx[p], dataDims[axis], 'indices', p, axis) * ds[axis]);
    for (let k = r - 1; k >= 0; k--) {
      if (k !== axis) base += ds[k];
      if (++coord[k] < idxDims[k]) break;
      if (k !== axis) base -= coord[k] * ds[k];
      coord[k] = 0;
    }
  }
}

const gatherElementsDef: OpDef = {
  layout: 'nchw',
  opsets: [11, 23],
  infer: (ctx, ins) => {
    const data = need(ctx, ins, 0, 'data'), idx = need(ctx, ins, 1, 'indices');
    elementsShape(ctx, data, idx);
    return [{ type: data.type, dims: [...idx.dims] }];
  },
  compute: (ctx, ins, outs) => {
    const x = ins[0]!, idx = ins[1]!, y = outs[0].data;
    const axis = normAxis(ctx, attr(ctx.node, 'axis', 0), x.dims.length);
    eachElement(ctx, idx.data, idx.dims, x.dims, axis, (p, at) => void (y[p] = x.data[at]));
  },
};

const scatterElementsDef: OpDef = {
  layout: 'nchw',
  opsets: [11, 23],
  check: (ctx) => void reduction(ctx),
  infer: (ctx, ins) => {
    const data = need(ctx, ins, 0, 'data'), idx = need(ctx, ins, 1, 'indices'), upd = need(ctx, ins, 2, 'updates');
    elementsShape(ctx, data, idx);
    if (upd.dims.join() !== idx.dims.join()) fail(ctx, `updates dims [${upd.dims}] must equal indices dims [${idx.dims}]`);
    if (upd.type !== data.type) fail(ctx, `updates are ${upd.type}, data is ${data.type}`);
    return [{ type: data.type, dims: [...data.dims] }];
  },
  compute: (ctx, ins, outs) => {
    const x = ins[0]!, idx = ins[1]!, upd = ins[2]!.data, y = outs[0].data, r = reduction(ctx);
    const axis = normAxis(ctx, attr(ctx.node, 'axis', 0), x.dims.length);
    y.set(x.data);
    eachElement(ctx, idx.data, idx.dims, x.dims, axis, (p, at) => store(y, at, upd[p], r));
  },
};

/** ScatterND: indices [..., k] address slices data[i0, …, ik-1, :]; updates = indices[:-1] + data[k:]. */
const scatterNDDef: OpDef = {
  layout: 'nchw',
  opsets: [11, 23],
  check: (ctx) => void reduction(ctx),
  infer: (ctx, ins) => {
    const data = need(ctx, ins, 0, 'data'), idx = need(ctx, ins, 1, 'indices'), upd = need(ctx, ins, 2, 'updates');
    if (idx.type !== 'int64') fail(ctx, `indices must be int64, got ${idx.type}`);
    const q = idx.dims.length, k = idx.dims[q - 1];
    if (q === 0 || k > data.dims.length) fail(ctx, `indices dims [${idx.dims}]: the last dim must be at most the data's rank ${data.dims.length}`);
    const want = [...idx.dims.slice(0, -1), ...data.dims.slice(k)];
    if (upd.dims.join() !== want.join()) fail(ctx, `updates dims [${upd.dims}] must be [${want}] (indices dims but the last, then data dims from ${k})`);
    if (upd.type !== data.type) fail(ctx, `updates are ${upd.type}, data is ${data.type}`, ArgumentError);
    return [{ type: data.type, dims: [...data.dims] }];
  },
  compute: (ctx, ins, outs) => {
    const x = ins[0]!, idx = ins[1]!, upd = ins[2]!.data, y = outs[0].data, r = reduction(ctx);
    const k = idx.dims[idx.dims.length - 1], ds = logicalStrides(x.dims, false);
    const slices = elementCount(idx.dims.slice(0, -1)), size = elementCount(x.dims.slice(k));
    y.set(x.data);
    for (let s = 0; s < slices; s++) {
      let at = 0;
      for (let j = 0; j < k; j++) at += wrapIndex(ctx, idx.data[s * k + j], x.dims[j], 'indices', s * k + j, j) * ds[j];
      for (let t = 0; t < size; t++) store(y, at + t, upd[s * size + t], r);
    }
  },
};

/**
 * GatherND: with b = batch_dims, indices [...batch, ..., k] address slices data[batch, i0, …, ik-1, :]
 * of the same batch; the output is indices' dims but the last, then data's dims from b + k.
 */
const gatherNDDef: OpDef = {
  layout: 'nchw',
  opsets: [11, 23],
  infer: (ctx, ins) => {
    const data = need(ctx, ins, 0, 'data'), idx = need(ctx, ins, 1, 'indices');
    if (idx.type !== 'int64') fail(ctx, `indices must be int64, got ${idx.type}`);
    const b = attr(ctx.node, 'batch_dims', 0), r = data.dims.length, q = idx.dims.length;
    if (!Number.isInteger(b) || b < 0 || b >= Math.min(r, q)) fail(ctx, `batch_dims ${b} must be in [0, ${Math.min(r, q) - 1}] (data rank ${r}, indices rank ${q})`, ArgumentError);
    const k = idx.dims[q - 1];
    if (r === 0 || q === 0 || k < 1 || k > r - b) fail(ctx, `indices dims [${idx.dims}]: the last dim must be from 1 to the data's rank less batch_dims (${r - b})`);
    for (let i = 0; i < b; i++) if (idx.dims[i] !== data.dims[i]) fail(ctx, `indices dims [${idx.dims}] and data dims [${data.dims}] differ in batch dim ${i}`);
    return [{ type: data.type, dims: [...idx.dims.slice(0, -1), ...data.dims.slice(b + k)] }];
  },
  compute: (ctx, ins, outs) => {
    const x = ins[0]!, idx = ins[1]!, y = outs[0].data, b = attr(ctx.node, 'batch_dims', 0);
    const k = idx.dims[idx.dims.length - 1], ds = logicalStrides(x.dims, false);
    const batches = elementCount(x.dims.slice(0, b)), slab = elementCount(x.dims.slice(b));
    const perBatch = elementCount(idx.dims.slice(b, -1)), size = elementCount(x.dims.slice(b + k));
    for (let bi = 0, s = 0; bi < batches; bi++) {
      for (let i = 0; i < perBatch; i++, s++) {
        let at = bi * slab;
        for (let j = 0; j < k; j++) at += wrapIndex(ctx, idx.data[s * k + j], x.dims[b + j], 'indices', s * k + j, b + j) * ds[b + j];
        for (let t = 0; t < size; t++) y[s * size + t] = x.data[at + t];
      }
    }
  },
};

export const GATHER_SCATTER_OPS: Record<string, OpDef> = {
  GatherElements: gatherElementsDef,
  GatherND: gatherNDDef,
  ScatterElements: scatterElementsDef,
  Scatter: { ...scatterElementsDef, opsets: [9, 11] }, // ScatterElements under its old name
  ScatterND: scatterNDDef,
};
