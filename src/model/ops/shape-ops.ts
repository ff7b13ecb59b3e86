// Operators that make or rearrange tensors from shapes: ConstantOfShape, Size, Range, Tile, Split,
// DepthToSpace, SpaceToDepth. Shape-valued operands (ConstantOfShape's shape, Range's scalars,
// Tile's repeats, Split's split) must be known when the plan is made: output dims depend on them.

import { ArgumentError, UnsupportedOperatorError } from '../../errors.js';
import { elementCount, type ElemType, type HostTensor } from '../graph.js';
import { logicalStrides, stridedCopy } from './layout.js';
import { attr, constInts, fail, ints, need, normAxis, opLabel, type OpContext, type OpDef, type ValueInfo } from './types.js';

/** ConstantOfShape's fill value: the one-element `value` tensor (any type), default float32 0. */
function fillValue(ctx: OpContext): HostTensor {
  const v = ctx.node.attrs.get('value');
  if (v === undefined) return { type: 'float32', dims: [1], data: new Float32Array(1) };
  if (typeof v !== 'object' || !('data' in v)) throw new UnsupportedOperatorError(`${opLabel(ctx)}: attribute 'value' must be a tensor`);
  if (v.data.length !== 1) fail(ctx, `attribute 'value' must hold one element, it has ${v.data.length}`, ArgumentError);
  return v;
}

const MAX_ELEMENTS = 2 ** 30; // 4 GiB of float32: beyond wasm32 anyway

/** Output dims whose element count lowbit can hold (a shape operand can ask for any size). */
export function checkSize(ctx: OpContext, dims: number[]): number[] {
  const n = elementCount(dims);
  if (n > MAX_ELEMENTS) fail(ctx, `the output [${dims}] would have ${n} elements, more than lowbit can hold (${MAX_ELEMENTS})`);
  return dims;
}

/** Dims from a shape operand: non-negative safe integers, or an error naming the operand. */
function checkedDims(ctx: OpContext, dims: number[], what: string): number[] {
  for (const d of dims) if (!Number.isSafeInteger(d) || d < 0) fail(ctx, `${what} [${dims}] must hold non-negative integers`);
  return dims;
}

const constantOfShapeDef: OpDef = {
  layout: 'nchw',
  check: (ctx) => void fillValue(ctx),
  infer: (ctx, ins) => {
    need(ctx, ins, 0, 'input');
    const dims = checkedDims(ctx, constInts(ctx, ins, 0, 'input')!, 'input (the shape)');
    return [{ type: fillValue(ctx).type, dims: checkSize(ctx, dims) }];
  },
  compute: (ctx, _ins, outs) => outs[0].data.fill(fillValue(ctx).data[0]),
};

const sizeDef: OpDef = {
  layout: 'any',
  infer: (ctx, ins) => (need(ctx, ins, 0, 'data'), [{ type: 'int64', dims: [] }]),
  compute: (_ctx, ins, outs) => void (outs[0].data[0] = elementCount(ins[0]!.dims)),
};

/** Range's three scalar operands, known at plan time. */
function rangeArgs(ctx: OpContext, ins: (ValueInfo | null)[]): { type: ElemType; start: number; delta: number; n: number } {
  const names = ['start', 'limit', 'delta'];
  const v = names.map((name, i) => {
    const x = need(ctx, ins, i, name);
    if (x.dims.length > 1 || elementCount(x.dims) !== 1) fail(ctx, `${name} must be a scalar, got dims [${x.dims}]`);
    if (x.type !== ins[0]!.type) fail(ctx, `${name} is ${x.type}, start is ${ins[0]!.type}: the three must have one type`);
    return constInts(ctx, ins, i, name)![0];
  });
  const [start, limit, delta] = v;
  const type = ins[0]!.type;
  if (delta === 0) fail(ctx, 'delta is 0', ArgumentError);
  if (!v.every(Number.isFinite)) fail(ctx, `start, limit and delta must be finite, got ${v.join(', ')}`, ArgumentError);
  // the count as onnxruntime computes it: (limit - start) in the type, divided in double
  const span = type === 'float32' ? Math.fround(limit - start) : limit - start;
  const n = Math.max(0, Math.ceil(span / delta));
  checkSize(ctx, [n]);
  return { type, start, delta, n };
}

const rangeDef: OpDef = {
  layout: 'nchw',
  opsets: [11, 23],
  infer: (ctx, ins) => {
    const { type, n } = rangeArgs(ctx, ins);
    return [{ type, dims: [n] }];
  },
  // each value is the previous one plus delta in the output type (the ONNX function's Loop does that)
  compute: (ctx, ins, outs) => {
    const { start, delta, n } = rangeArgs(ctx, ins.map((v) => v && { type: v.type, dims: [...v.dims], value: v }));
    const y = outs[0].data;
    if (n > 0) y[0] = start;
    for (let i = 1; i < n; i++) y[i] = y[i - 1] + delta;
  },
};

function tileRepeats(ctx: OpContext, ins: (ValueInfo | null)[]): number[] {
  const x = need(ctx, ins, 0, 'input');
  need(ctx, ins, 1, 'repeats');
  const reps = constInts(ctx, ins, 1, 'repeats')!;
  if (reps.length !== x.dims.length) fail(ctx, `repeats has ${reps.length} values, the input has rank ${x.dims.length}`);
  return checkedDims(ctx, reps, 'repeats');
}

const tileDef: OpDef = {
  layout: 'nchw',
  opsets: [6, 23],
  infer: (ctx, ins) => {
    const x = need(ctx, ins, 0, 'input');
    return [{ type: x.type, dims: checkSize(ctx, tileRepeats(ctx, ins).map((r, i) => r * x.dims[i])) }];
  },
  // the output as [r0, d0, r1, d1, …]: input strides on the d axes, 0 on the repeat axes
  compute: (_ctx, ins, outs) => {
    const x = ins[0]!, y = outs[0], r = x.dims.length;
    const xs = logicalStrides(x.dims, false), ys = logicalStrides(y.dims, false);
    const dims: number[] = [], src: number[] = [], dst: number[] = [];
    for (let i = 0; i < r; i++) {
      dims.push(ins[1]!.data[i], x.dims[i]);
      src.push(0, xs[i]);
      dst.push(ys[i] * x.dims[i], ys[i]);
    }
    stridedCopy(x.data, 0, src, dims, y.data, 0, dst);
  },
};

/** Split's chunk sizes along its axis. */
function splitSizes(ctx: OpContext, ins: (ValueInfo | null)[], d: number, outputs: number): number[] {
  const given = ctx.opset >= 13 ? constInts(ctx, ins, 1, 'split') : ints(ctx.node, 'split');
  const num = ctx.opset >= 18 ? attr(ctx.node, 'num_outputs', 0) : 0;
  if (given && num) fail(ctx, `give either the split input or num_outputs ${num}, not both`, ArgumentError);
  let sizes: number[];
  if (given && given.length > 0) {
    sizes = checkedDims(ctx, given, 'split');
    if (sizes.length !== outputs) fail(ctx, `split has ${sizes.length} values for ${outputs} outputs`);
  } else if (num) {
    // opset 18: chunks of ceil(d / n), the last one smaller
    if (num !== outputs) fail(ctx, `num_outputs is ${num}, the node has ${outputs} outputs`);
    const chunk = Math.ceil(d / num);
    sizes = Array.from({ length: num }, (_, i) => Math.max(0, Math.min(chunk, d - i * chunk)));
    if (chunk * (num - 1) >= d && d > 0) fail(ctx, `axis of size ${d} cannot be split into ${num} chunks of ${chunk} (the last would be empty)`);
  } else {
    if (ctx.opset >= 18) fail(ctx, 'from opset 18 give the split input or the num_outputs attribute', ArgumentError);
    if (d % outputs !== 0) fail(ctx, `axis of size ${d} does not split evenly into ${outputs} outputs (give split or, from opset 18, num_outputs)`);
    sizes = new Array<number>(outputs).fill(d / outputs);
  }
  const sum = sizes.reduce((a, b) => a + b, 0);
  if (sum !== d) fail(ctx, `split [${sizes}] adds up to ${sum}, the axis has size ${d}`);
  return sizes;
}

const splitAxis = (ctx: OpContext, rank: number) => normAxis(ctx, attr(ctx.node, 'axis', 0), rank);

const splitDef: OpDef = {
  layout: 'nchw',
  opsets: [2, 23],
  infer: (ctx, ins) => {
    const x = need(ctx, ins, 0, 'input');
    const axis = splitAxis(ctx, x.dims.length);
    return splitSizes(ctx, ins, x.dims[axis], ctx.node.outputs.length).map((s) => {
      const dims = [...x.dims];
      dims[axis] = s;
      return { type: x.type, dims };
    });
  },
  compute: (ctx, ins, outs) => {
    const x = ins[0]!;
    const axis = splitAxis(ctx, x.dims.length), xs = logicalStrides(x.dims, false);
    let at = 0;
    for (const o of outs) {
      stridedCopy(x.data, at * xs[axis], xs, o.dims, o.data, 0, logicalStrides(o.dims, false));
      at += o.dims[axis];
    }
  },
};

/**
 * DepthToSpace / SpaceToDepth as one strided copy: the 6-D view of the input that, read in the
 * output's order, is the output. DCR reads depth as (b1, b2, c), CRD as (c, b1, b2).
 */
function blockDims(ctx: OpContext, x: ValueInfo, toSpace: boolean): number[] {
  const b = attr(ctx.node, 'blocksize', 0);
  if (x.dims.length !== 4) fail(ctx, `expects a 4-D input (N, C, H, W), got dims [${x.dims}]`);
  if (!Number.isInteger(b) || b < 1) fail(ctx, `blocksize must be a positive integer, got ${b}`, ArgumentError);
  const [n, c, h, w] = x.dims;
  if (toSpace) {
    if (c % (b * b) !== 0) fail(ctx, `channels ${c} are not a multiple of blocksize² = ${b * b}`);
    return [n, c / (b * b), h * b, w * b];
  }
  if (h % b !== 0 || w % b !== 0) fail(ctx, `height ${h} and width ${w} must be multiples of blocksize ${b}`);
  return [n, c * b * b, h / b, w / b];
}

function depthMode(ctx: OpContext): 'DCR' | 'CRD' {
  const m = attr(ctx.node, 'mode', 'DCR');
  if (m !== 'DCR' && m !== 'CRD') throw new UnsupportedOperatorError(`${opLabel(ctx)}: mode '${m}' is not DCR or CRD`);
  return m;
}

const depthToSpaceDef: OpDef = {
  layout: 'nchw',
  check: (ctx) => void depthMode(ctx),
  infer: (ctx, ins) => {
    const x = need(ctx, ins, 0, 'input');
    return [{ type: x.type, dims: blockDims(ctx, x, true) }];
  },
  compute: (ctx, ins, outs) => {
    const x = ins[0]!, b = attr(ctx.node, 'blocksize', 0);
    const [n, c, h, w] = x.dims, oc = c / (b * b);
    const [sn, sc, sh, sw] = logicalStrides(x.dims, false);
    // output read as (n, oc, h, b1, w, b2); input channel = b1*b*oc + b2*oc + oc (DCR) or oc*b*b + b1*b + b2 (CRD)
    const [sb1, sb2, soc] = depthMode(ctx) === 'DCR' ? [b * oc * sc, oc * sc, sc] : [b * sc, sc, b * b * sc];
    stridedCopy(x.data, 0, [sn, soc, sh, sb1, sw, sb2], [n, oc, h, b, w, b], outs[0].data, 0, logicalStrides([n, oc, h, b, w, b], false));
  },
};

const spaceToDepthDef: OpDef = {
  layout: 'nchw',
  infer: (ctx, ins) => {
    const x = need(ctx, ins, 0, 'input');
    return [{ type: x.type, dims: blockDims(ctx, x, false) }];
  },
  compute: (ctx, ins, outs) => {
    const x = ins[0]!, b = attr(ctx.node, 'blocksize', 0);
    const [n, c, h, w] = x.dims;
    const [sn, sc, sh, sw] = logicalStrides(x.dims, false);
    // output channel = (b1*b + b2)*c + c: read the input as (n, b1, b2, c, h/b, w/b)
    const dims = [n, b, b, c, h / b, w / b];
    stridedCopy(x.data, 0, [sn, sh, sw, sc, sh * b, sw * b], dims, outs[0].data, 0, logicalStrides(dims, false));
  },
};

export const SHAPE_OPS: Record<string, OpDef> = {
  ConstantOfShape: constantOfShapeDef,
  Size: sizeDef,
  Range: rangeDef,
  Tile: tileDef,
  Split: splitDef,
  DepthToSpace: depthToSpaceDef,
  SpaceToDepth: spaceToDepthDef,
};
