// ConvInteger (int32 = conv(x - x_zero_point, w - w_zero_point)) and QLinearConv (that sum plus
// the int32 bias, requantized: saturate(round_half_even(acc * x_scale * w_scale / y_scale) +
// y_zero_point)), opsets 10+. 8-bit x and w (int8 or uint8), per-tensor or per-output-channel w
// parameters, every Conv attribute, 1-D and 2-D (a 1-D conv runs as a 2-D one over one row).
// Padding contributes 0 (the zero point, as onnxruntime pads). compute() is the definition: exact
// integer sums in float64 through Conv's own loop. With constant weights a dynamically quantized
// conv (DynamicQuantizeLinear -> ConvInteger -> Cast -> Mul) runs as an int8 layer instead
// (src/model/dyn-quant-conv.ts).

import { DTypeError } from '../../errors.js';
import { refRequantize } from '../../kernels/qs8.js';
import { conv2dAttrs } from '../lower-conv1d.js';
import type { ElemType } from '../graph.js';
import { qlinearParams } from './int-matmul-ops.js';
import { convSpec, LINEAR_OPS, type ConvSpec } from './linear-ops.js';
import { checkScale, checkZeroPoint, zeroPointValues } from './quant-params.js';
import { fail, need, opLabel, type HostValue, type OpContext, type OpDef, type ValueInfo } from './types.js';

type Dims = { dims: readonly number[] };

function int8Input(ctx: OpContext, ins: (ValueInfo | null)[], i: number, name: string): ValueInfo {
  const v = need(ctx, ins, i, name);
  if (v.type !== 'int8' && v.type !== 'uint8') fail(ctx, `${name}: expected type int8 or uint8, got ${v.type}`, DTypeError);
  return v;
}

/** A 1-D convolution (x [N, C, L]) as the 2-D one over an image one row high: context and dims. */
function as2d(ctx: OpContext, x: Dims, w: Dims): { ctx2: OpContext; x2: number[]; w2: number[] } {
  const lift = (d: readonly number[]) => (d.length === 3 ? [d[0], d[1], 1, d[2]] : [...d]);
  if (x.dims.length !== 3) return { ctx2: ctx, x2: [...x.dims], w2: [...w.dims] };
  return { ctx2: { ...ctx, node: { ...ctx.node, attrs: conv2dAttrs(ctx.node.attrs) }, label: opLabel(ctx) }, x2: lift(x.dims), w2: lift(w.dims) };
}

/** The convolution's geometry and its output dims (rank of x). */
function geometry(ctx: OpContext, x: ValueInfo, w: ValueInfo): { sp: ConvSpec; out: number[] } {
  const { ctx2, x2, w2 } = as2d(ctx, x, w);
  const sp = convSpec(ctx2, { type: x.type, dims: x2 }, { type: w.type, dims: w2 });
  return { sp, out: x.dims.length === 3 ? [sp.n, sp.cout, sp.ow] : [sp.n, sp.cout, sp.oh, sp.ow] };
}

/** Exact sums conv(x - zx, w - zw[m]) as float64 [N, M, oh * ow], no bias. */
export function integerConv(ctx: OpContext, x: HostValue, w: HostValue, zx: number, zw: Int32Array): Float64Array {
  const { ctx2, x2, w2 } = as2d(ctx, x, w);
  const perChannel = w.data.length / w2[0];
  const xc: HostValue = { type: 'float32', dims: x2, data: Float64Array.from(x.data, (v) => v - zx), nhwc: false };
  const wc: HostValue = { type: 'float32', dims: w2, data: Float64Array.from(w.data, (v, i) => v - zw[Math.floor(i / perChannel)]), nhwc: false };
  const sp = convSpec(ctx2, { type: xc.type, dims: x2 }, { type: wc.type, dims: w2 });
  const y: HostValue = { type: 'float32', dims: [sp.n, sp.cout, sp.oh, sp.ow], data: new Float64Array(sp.n * sp.cout * sp.oh * sp.ow), nhwc: false };
  LINEAR_OPS.Conv.compute!(ctx2, [xc, wc, null], [y]);
  return y.data as Float64Array;
}

const convIntegerDef: OpDef = {
  layout: 'nchw',
  opsets: [10, 23],
  infer: (ctx, ins) => {
    const x = int8Input(ctx, ins, 0, 'x'), w = int8Input(ctx, ins, 1, 'w');
    const { sp, out } = geometry(ctx, x, w);
    checkZeroPoint(ctx, ins[2], 'x_zero_point', x.type, 0);
    checkZeroPoint(ctx, ins[3], 'w_zero_point', w.type, sp.cout, 'output channel');
    return [{ type: 'int32', dims: out }];
  },
  compute: (ctx, ins, outs) => {
    const w = ins[1]!;
    const zx = zeroPointValues(ctx, ins[2], 'x_zero_point', 1)[0];
    const zw = zeroPointValues(ctx, ins[3], 'w_zero_point', w.dims[0]);
    const y = integerConv(ctx, ins[0]!, w, zx, zw);
    // int32 wraps, as the integer GEMM does
    for (let i = 0; i < y.length; i++) outs[0].data[i] = y[i] | 0;
  },
};

// QLinearConv inputs: x, x_scale, x_zero_point, w, w_scale, w_zero_point, y_scale, y_zero_point, B
const qlinearConvDef: OpDef = {
  layout: 'nchw',
  opsets: [10, 23],
  infer: (ctx, ins) => {
    const x = int8Input(ctx, ins, 0, 'x'), w = int8Input(ctx, ins, 3, 'w');
    const { sp, out } = geometry(ctx, x, w);
    const m = sp.cout;
    checkScale(ctx, need(ctx, ins, 1, 'x_scale'), 'x_scale', 0);
    checkScale(ctx, need(ctx, ins, 4, 'w_scale'), 'w_scale', m, 'output channel');
    checkScale(ctx, need(ctx, ins, 6, 'y_scale'), 'y_scale', 0);
    checkZeroPoint(ctx, need(ctx, ins, 2, 'x_zero_point'), 'x_zero_point', x.type, 0);
    checkZeroPoint(ctx, need(ctx, ins, 5, 'w_zero_point'), 'w_zero_point', w.type, m, 'output channel');
    const yz = int8Input(ctx, ins, 7, 'y_zero_point');
    checkZeroPoint(ctx, yz, 'y_zero_point', yz.type, 0);
    const b = ins[8];
    if (b && b.type !== 'int32') fail(ctx, `B: expected type int32, got ${b.type}`, DTypeError);
    if (b && (b.dims.length !== 1 || b.dims[0] !== m)) fail(ctx, `B: expected dims [${m}] (one per output channel), got [${b.dims.join(', ')}]`);
    return [{ type: yz.type as ElemType, dims: out }];
  },
  compute: (ctx, ins, outs) => {
    const w = ins[3]!, m = w.dims[0];
    const { za, zb, zy, multiplier } = qlinearParams(ctx, ins, m, ['x', 'w']);
    const acc = Int32Array.from(integerConv(ctx, ins[0]!, w, za, zb));
    if (acc.length === 0) return;
    const b = ins[8]?.data;
    const plane = acc.length / (ins[0]!.dims[0] * m);
    const signed = outs[0].type === 'int8';
    for (let s = 0; s < acc.length / plane; s++) {
      const c = s % m;
      const slice = acc.subarray(s * plane, (s + 1) * plane);
      outs[0].data.set(refRequantize(slice, plane, 1, [multiplier[c]], zy, signed, b ? [b[c]] : undefined), s * plane);
    }
  },
};

export const QCONV_OPS: Record<string, OpDef> = { ConvInteger: convIntegerDef, QLinearConv: qlinearConvDef };
