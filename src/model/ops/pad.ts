// Pad, every mode: constant, reflect, edge, wrap (opset 19). pads (and value) are attributes before
// opset 11, inputs from 11 (constant_value a scalar of the data's type), with an axes input from 18.
// Negative pads crop: as onnxruntime does, the input is first cropped by the negative pads and the
// mode then pads that cropped input (edge repeats its border, reflect mirrors it, wrap cycles it).

import { ArgumentError, UnsupportedOperatorError } from '../../errors.js';
import { elementCount } from '../graph.js';
import { logicalStrides } from './layout.js';
import { checkSize } from './shape-ops.js';
import { attr, constInts, fail, ints, need, normAxis, opLabel, type HostValue, type OpContext, type OpDef, type ValueInfo } from './types.js';

type Mode = 'constant' | 'reflect' | 'edge' | 'wrap';

function padMode(ctx: OpContext): Mode {
  const m = attr(ctx.node, 'mode', 'constant');
  if (m === 'constant' || m === 'reflect' || m === 'edge' || (m === 'wrap' && ctx.opset >= 19)) return m;
  throw new UnsupportedOperatorError(`${opLabel(ctx)}: mode '${m}' is not one of constant, reflect, edge${ctx.opset >= 19 ? ', wrap' : ' (wrap needs opset 19)'}`);
}

/** Begin and end pads per axis of a rank-r input. */
function padAmounts(ctx: OpContext, ins: (ValueInfo | null)[], r: number): { begin: number[]; end: number[] } {
  let pads: number[] | null;
  let axes: number[] | null = null;
  if (ctx.opset < 11) pads = ints(ctx.node, ctx.opset < 2 ? 'paddings' : 'pads');
  else {
    need(ctx, ins, 1, 'pads');
    pads = constInts(ctx, ins, 1, 'pads');
    if (ctx.opset >= 18) axes = constInts(ctx, ins, 3, 'axes');
  }
  if (!pads) fail(ctx, 'pads are required');
  const ax = (axes ?? Array.from({ length: r }, (_, i) => i)).map((a) => normAxis(ctx, a, r));
  if (new Set(ax).size !== ax.length) fail(ctx, `axes [${axes}] repeat an axis`, ArgumentError);
  if (pads.length !== 2 * ax.length) fail(ctx, `pads has ${pads.length} values, expected ${2 * ax.length} (begin and end for ${axes ? `axes [${axes}]` : `each of ${r} axes`})`);
  for (const p of pads) if (!Number.isSafeInteger(p)) fail(ctx, `pads [${pads}] must be integers`);
  const begin = new Array<number>(r).fill(0), end = new Array<number>(r).fill(0);
  ax.forEach((a, i) => {
    begin[a] = pads![i];
    end[a] = pads![i + ax.length];
  });
  return { begin, end };
}

function padDims(ctx: OpContext, dims: readonly number[], begin: number[], end: number[]): number[] {
  return dims.map((d, i) => {
    const o = d + begin[i] + end[i];
    if (o < 0) fail(ctx, `pads ${begin[i]}, ${end[i]} on axis ${i} of size ${d} leave a negative size ${o}`);
    return o;
  });
}

/**
 * For each output position on one axis, the input index it reads (-1: the constant). The input
 * keeps [lo, hi) after cropping; `pre` output positions come before it.
 */
function axisMap(ctx: OpContext, mode: Mode, axis: number, size: number, lo: number, hi: number, pre: number): Int32Array {
  const n = hi - lo, post = size - pre - n, map = new Int32Array(size);
  if (n === 0 && mode !== 'constant' && size > 0) fail(ctx, `mode '${mode}' cannot pad axis ${axis}: no input values are left on it`);
  // as onnxruntime: reflect mirrors once, so it pads at most n - 1 on each side
  if (mode === 'reflect' && (pre > 0 || post > 0) && Math.max(pre, post) > n - 1) {
    fail(ctx, `mode 'reflect' pads axis ${axis} by ${pre}, ${post}; with ${n} input values left it can pad at most ${n - 1} on each side`);
  }
  for (let i = 0; i < size; i++) {
    let j = i - pre; // position in the cropped input
    if (j < 0 || j >= n) {
      if (mode === 'constant') j = -1;
      else if (mode === 'edge') j = j < 0 ? 0 : n - 1;
      else if (mode === 'wrap') j = ((j % n) + n) % n; // cycles on for pads longer than the axis
      else j = j < 0 ? -j : 2 * (n - 1) - j;
    }
    map[i] = j < 0 ? -1 : lo + j;
  }
  return map;
}

function padValue(ctx: OpContext, ins: (HostValue | null)[]): number {
  if (ctx.opset < 11) return attr(ctx.node, 'value', 0);
  const v = ins[2];
  if (!v || v.data.length === 0) return 0;
  if (v.data.length !== 1) fail(ctx, `constant_value must be a scalar, got dims [${v.dims}]`);
  if (v.type !== ins[0]!.type) fail(ctx, `constant_value is ${v.type}, the data is ${ins[0]!.type}`);
  return v.data[0];
}

const padDef: OpDef = {
  layout: 'nchw',
  opsets: [1, 23],
  check: (ctx) => void padMode(ctx),
  infer: (ctx, ins) => {
    const x = need(ctx, ins, 0, 'data');
    const { begin, end } = padAmounts(ctx, ins, x.dims.length);
    return [{ type: x.type, dims: checkSize(ctx, padDims(ctx, x.dims, begin, end)) }];
  },
  compute: (ctx, ins, outs) => {
    const x = ins[0]!, y = outs[0], r = x.dims.length, mode = padMode(ctx);
    const { begin, end } = padAmounts(ctx, ins.map((v) => v && { type: v.type, dims: [...v.dims], value: v }), r);
    const value = padValue(ctx, ins);
    if (elementCount(y.dims) === 0) return;
    if (r === 0) return void (y.data[0] = x.data[0]);
    const xs = logicalStrides(x.dims, false);
    // per axis: input offset of each output position (-1: constant)
    const maps = x.dims.map((d, i) => {
      const m = axisMap(ctx, mode, i, y.dims[i], Math.max(0, -begin[i]), d - Math.max(0, -end[i]), Math.max(0, begin[i]));
      for (let k = 0; k < m.length; k++) if (m[k] >= 0) m[k] *= xs[i];
      return m;
    });
    const inner = maps[r - 1], n = inner.length, idx = new Array<number>(r - 1).fill(0);
    const rows = elementCount(y.dims.slice(0, r - 1));
    let o = 0;
    for (let t = 0; t < rows; t++) {
      let base = 0;
      for (let a = 0; a < r - 1 && base >= 0; a++) base = maps[a][idx[a]] < 0 ? -1 : base + maps[a][idx[a]];
      if (base < 0) y.data.fill(value, o, o + n);
      else for (let k = 0; k < n; k++) y.data[o + k] = inner[k] < 0 ? value : x.data[base + inner[k]];
      o += n;
      for (let a = r - 2; a >= 0; a--) {
        if (++idx[a] < y.dims[a]) break;
        idx[a] = 0;
      }
    }
  },
};

export const PAD_OPS: Record<string, OpDef> = { Pad: padDef };
