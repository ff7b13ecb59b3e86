// Operators that move data or compute shapes: Shape, Reshape, Flatten, Squeeze, Unsqueeze,
// Transpose, Concat, Slice, Gather, Expand. Shape-valued operands must be known when the plan is
// made (a constant, or computed from shapes and folded).

import { elementCount } from '../graph.js';
import { broadcastDims } from './elementwise.js';
import { wrapIndex } from './gather-scatter.js';
import { logicalStrides, stridedCopy } from './layout.js';
import { attr, constInts, fail, ints, need, normAxis, type OpContext, type OpDef, type ValueInfo } from './types.js';

const copyAll: OpDef['compute'] = (_c, ins, outs) => outs[0].data.set(ins[0]!.data as never);

const shapeDef: OpDef = {
  layout: 'any',
  infer: (ctx, ins) => {
    const r = need(ctx, ins, 0, 'data').dims.length;
    const [s, e] = shapeRange(ctx, r);
    return [{ type: 'int64', dims: [Math.max(0, e - s)] }];
  },
  compute: (ctx, ins, outs) => {
    const d = ins[0]!.dims;
    const [s, e] = shapeRange(ctx, d.length);
    for (let i = s; i < e; i++) outs[0].data[i - s] = d[i];
  },
};

function shapeRange(ctx: OpContext, r: number): [number, number] {
  const clampAx = (v: number) => Math.min(r, Math.max(0, v < 0 ? v + r : v));
  return [clampAx(attr(ctx.node, 'start', 0)), clampAx(attr(ctx.node, 'end', r))];
}

function reshapeDims(ctx: OpContext, x: ValueInfo, target: number[]): number[] {
  const allowZero = attr(ctx.node, 'allowzero', 0) === 1;
  const out = target.map((d, i) => (d === 0 && !allowZero ? (i < x.dims.length ? x.dims[i] : fail(ctx, `0 at position ${i} copies a dim the input does not have`)) : d));
  const unknown = out.filter((d) => d === -1).length;
  if (unknown > 1 || out.some((d) => d < -1 || !Number.isSafeInteger(d))) fail(ctx, `bad target shape [${target}]`);
  const n = elementCount(x.dims);
  if (unknown) {
    const known = out.reduce((p, d) => (d === -1 ? p : p * d), 1);
    if (known === 0 || n % known !== 0) fail(ctx, `cannot reshape [${x.dims}] (${n} elements) to [${target}]`);
    out[out.indexOf(-1)] = n / known;
  }
  if (elementCount(out) !== n) fail(ctx, `cannot reshape [${x.dims}] (${n} elements) to [${target}]`);
  return out;
}

const reshapeDef: OpDef = {
  layout: 'nchw',
  alias: true,
  infer: (ctx, ins) => {
    const x = need(ctx, ins, 0, 'data');
    const target = ctx.opset >= 5 ? constInts(ctx, ins, 1, 'shape') : ints(ctx.node, 'shape');
    if (!target) fail(ctx, 'the target shape is missing');
    return [{ type: x.type, dims: reshapeDims(ctx, x, target) }];
  },
  compute: copyAll,
};

const flattenDef: OpDef = {
  layout: 'nchw',
  alias: true,
  infer: (ctx, ins) => {
    const x = need(ctx, ins, 0, 'input');
    const r = x.dims.length;
    let axis = attr(ctx.node, 'axis', 1);
    // Flatten-1 and -9 take axis in [0, R]; counting from the back came with Flatten-11 (onnxruntime refuses it before)
    if (axis < 0 && ctx.opset < 11) fail(ctx, `axis ${axis} is negative, which Flatten accepts from opset 11 (the model's opset is ${ctx.opset})`);
    if (axis < 0) axis += r;
    if (axis < 0 || axis > r) fail(ctx, `axis ${axis} out of range for rank ${r}`);
    return [{ type: x.type, dims: [elementCount(x.dims.slice(0, axis)), elementCount(x.dims.slice(axis))] }];
  },
  compute: copyAll,
};

const squeezeDef: OpDef = {
  layout: 'nchw',
  alias: true,
  infer: (ctx, ins) => {
    const x = need(ctx, ins, 0, 'data');
    const r = x.dims.length;
    const axes = ctx.opset >= 13 ? constInts(ctx, ins, 1, 'axes') : ints(ctx.node, 'axes');
    const drop = new Set((axes ?? x.dims.map((d, i) => (d === 1 ? i : -1)).filter((i) => i >= 0)).map((a) => normAxis(ctx, a, r)));
    for (const a of drop) if (x.dims[a] !== 1) fail(ctx, `cannot squeeze axis ${a} of size ${x.dims[a]}`);
    return [{ type: x.type, dims: x.dims.filter((_, i) => !drop.has(i)) }];
  },
  compute: copyAll,
};

const unsqueezeDef: OpDef = {
  layout: 'nchw',
  alias: true,
  infer: (ctx, ins) => {
    const x = need(ctx, ins, 0, 'data');
    const axes = ctx.opset >= 13 ? constInts(ctx, ins, 1, 'axes') : ints(ctx.node, 'axes');
    if (!axes) fail(ctx, 'axes are required');
    const r = x.dims.length + axes.length;
    const add = new Set(axes.map((a) => normAxis(ctx, a, r)));
    if (add.size !== axes.length) fail(ctx, `repeated axes [${axes}]`);
    const out: number[] = [];
    let j = 0;
    for (let i = 0; i < r; i++) out.push(add.has(i) ? 1 : x.dims[j++]);
    return [{ type: x.type, dims: out }];
  },
  compute: copyAll,
};

function transposePerm(ctx: OpContext, r: number): number[] {
  const perm = ints(ctx.node, 'perm') ?? Array.from({ length: r }, (_, i) => r - 1 - i);
  if (perm.length !== r || [...perm].sort((a, b) => a - b).some((p, i) => p !== i)) fail(ctx, `perm [${perm}] is not a permutation of 0…${r - 1}`);
  return perm;
}

const transposeDef: OpDef = {
  layout: 'nchw',
  infer: (ctx, ins) => {
    const x = need(ctx, ins, 0, 'data');
    return [{ type: x.type, dims: transposePerm(ctx, x.dims.length).map((p) => x.dims[p]) }];
  },
  compute: (ctx, ins, outs) => {
    const x = ins[0]!;
    const perm = transposePerm(ctx, x.dims.length);
    const xs = logicalStrides(x.dims, false);
    stridedCopy(x.data, 0, perm.map((p) => xs[p]), outs[0].dims, outs[0].data, 0, logicalStrides(outs[0].dims, false));
  },
};

const concatDef: OpDef = {
  layout: 'aware',
  infer: (ctx, ins) => {
    const first = need(ctx, ins, 0, 'inputs');
    const r = first.dims.length;
    const axis = normAxis(ctx, attr(ctx.node, 'axis', 0), r);
    const dims = [...first.dims];
    dims[axis] = 0;
    for (const [i, v] of ins.entries()) {
      if (!v) continue;
      if (v.dims.length !== r || v.dims.some((d, k) => k !== axis && d !== first.dims[k])) fail(ctx, `input ${i} has shape [${v.dims}], which does not match [${first.dims}] off axis ${axis}`);
      dims[axis] += v.dims[axis];
    }
    return [{ type: first.type, dims }];
  },
  // channels-last inputs concatenated on C stay channels-last; anything else is standard
  outNhwc: (ins, outDims) => outDims[0].length === 4 && ins.every((v) => !v || v.nhwc),
  compute: (ctx, ins, outs) => {
    const out = outs[0];
    const axis = normAxis(ctx, attr(ctx.node, 'axis', 0), out.dims.length);
    const os = logicalStrides(out.dims, out.nhwc);
    let at = 0;
    for (const v of ins) {
      if (!v) continue;
      stridedCopy(v.data, 0, logicalStrides(v.dims, v.nhwc), v.dims, out.data, at * os[axis], os);
      at += v.dims[axis];
    }
  },
};

interface SliceSpec {
  starts: number[];
  steps: number[];
  dims: number[];
}

function sliceSpec(ctx: OpContext, ins: (ValueInfo | null)[], x: ValueInfo): SliceSpec {
  const r = x.dims.length;
  let starts: number[] | null, ends: number[] | null, axes: number[] | null, steps: number[] | null;
  if (ctx.opset < 10) {
    starts = ints(ctx.node, 'starts');
    ends = ints(ctx.node, 'ends');
    axes = ints(ctx.node, 'axes');
    steps = null;
  } else {
    starts = constInts(ctx, ins, 1, 'starts');
    ends = constInts(ctx, ins, 2, 'ends');
    axes = constInts(ctx, ins, 3, 'axes');
    steps = constInts(ctx, ins, 4, 'steps');
  }
  if (!starts || !ends || starts.length !== ends.length) fail(ctx, 'starts and ends are required and must have the same length');
  const ax = (axes ?? starts.map((_, i) => i)).map((a) => normAxis(ctx, a, r));
  const st = steps ?? starts.map(() => 1);
  const spec: SliceSpec = { starts: new Array(r).fill(0), steps: new Array(r).fill(1), dims: [...x.dims] };
  ax.forEach((a, i) => {
    const d = x.dims[a], step = st[i];
    if (step === 0) fail(ctx, 'a slice step of 0');
    let s = starts![i] < 0 ? starts![i] + d : starts![i];
    let e = ends![i] < 0 ? ends![i] + d : ends![i];
    if (step > 0) {
      s = Math.min(Math.max(s, 0), d);
      e = Math.min(Math.max(e, 0), d);
    } else {
      s = Math.min(Math.max(s, 0), d - 1); // ONNX: starts clamp to [0, d-1] when stepping back
      e = Math.min(Math.max(e, -1), d - 1);
    }
    spec.starts[a] = s;
    spec.steps[a] = step;
    spec.dims[a] = Math.max(0, Math.ceil((e - s) / step));
  });
  return spec;
}

const sliceDef: OpDef = {
  layout: 'nchw',
  infer: (ctx, ins) => {
    const x = need(ctx, ins, 0, 'data');
    return [{ type: x.type, dims: sliceSpec(ctx, ins, x).dims }];
  },
  compute: (ctx, ins, outs) => {
    const x = ins[0]!;
    const spec = sliceSpec(ctx, ins.map((v) => v && { type: v.type, dims: [...v.dims], value: v }), { type: x.type, dims: [...x.dims] });
    const xs = logicalStrides(x.dims, false);
    const offset = spec.starts.reduce((p, s, i) => p + s * xs[i], 0);
    stridedCopy(x.data, offset, xs.map((s, i) => s * spec.steps[i]), spec.dims, outs[0].data, 0, logicalStrides(spec.dims, false));
  },
};

const gatherDef: OpDef = {
  layout: 'nchw',
  infer: (ctx, ins) => {
    const x = need(ctx, ins, 0, 'data'), idx = need(ctx, ins, 1, 'indices');
    const axis = normAxis(ctx, attr(ctx.node, 'axis', 0), x.dims.length);
    if (idx.value) for (const v of idx.value.data) if (v < -x.dims[axis] || v >= x.dims[axis]) fail(ctx, `index ${v} is out of range for axis ${axis} of size ${x.dims[axis]}`);
    return [{ type: x.type, dims: [...x.dims.slice(0, axis), ...idx.dims, ...x.dims.slice(axis + 1)] }];
  },
  compute: (ctx, ins, outs) => {
    const x = ins[0]!, idx = ins[1]!.data;
    const axis = normAxis(ctx, attr(ctx.node, 'axis', 0), x.dims.length);
    const outer = elementCount(x.dims.slice(0, axis)), inner = elementCount(x.dims.slice(axis + 1)), d = x.dims[axis];
    const y = outs[0].data;
    if (x.readRows && axis === 0 && x.type === 'float32' && y instanceof Float32Array) {
      // an embedding table left in the model file: only the rows asked for are read
      for (let j = 0; j < idx.length; j++) y.set(x.readRows(wrapIndex(ctx, idx[j], d, 'indices', j, axis), 1) as Float32Array, j * inner);
      return;
    }
    let o = 0;
    for (let a = 0; a < outer; a++) {
      for (let j = 0; j < idx.length; j++) {
        const base = (a * d + wrapIndex(ctx, idx[j], d, 'indices', j, axis)) * inner;
        for (let t = 0; t < inner; t++) y[o++] = x.data[base + t];
      }
    }
  },
};

const expandDef: OpDef = {
  layout: 'nchw',
  infer: (ctx, ins) => {
    const x = need(ctx, ins, 0, 'input');
    need(ctx, ins, 1, 'shape');
    const shape = constInts(ctx, ins, 1, 'shape')!;
    const dims = broadcastDims(x.dims, shape);
    if (!dims) fail(ctx, `[${x.dims}] does not broadcast to [${shape}]`);
    return [{ type: x.type, dims }];
  },
  compute: (_ctx, ins, outs) => {
    const x = ins[0]!, out = outs[0];
    const r = out.dims.length, xs = logicalStrides(x.dims, false);
    const strides = new Array<number>(r).fill(0);
    for (let i = 0; i < x.dims.length; i++) strides[r - x.dims.length + i] = x.dims[i] === 1 ? 0 : xs[i];
    stridedCopy(x.data, 0, strides, out.dims, out.data, 0, logicalStrides(out.dims, false));
  },
};

export const TENSOR_OPS: Record<string, OpDef> = {
  Shape: shapeDef,
  Reshape: reshapeDef,
  Flatten: flattenDef,
  Squeeze: squeezeDef,
  Unsqueeze: unsqueezeDef,
  Transpose: transposeDef,
  Concat: concatDef,
  Slice: sliceDef,
  Gather: gatherDef,
  Expand: expandDef,
};
