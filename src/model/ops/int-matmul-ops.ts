// MatMulInteger (int32 = (A - a_zero_point) x (B - b_zero_point)) and QLinearMatMul (that product
// requantized: saturate(round(acc * a_scale * b_scale / y_scale) + y_zero_point)), numpy-style
// batching, per-tensor or per-column B parameters. compute() is the scalar definition (exact
// integer sums in float64), run() the int8 wasm GEMM (rt.ops): the same integers.

import { refRequantize } from '../../kernels/qs8.js';
import type { ElemType, HostData } from '../graph.js';
import { matmulBlock } from './linear-ops.js';
import { planMatMul, type MatMulPlan } from './matmul-shape.js';
import { checkScale, checkZeroPoint, scaleValues, zeroPointValues } from './quant-params.js';
import { fail, need, opLabel, type HostValue, type OpContext, type OpDef, type ValueInfo } from './types.js';
import { matMulQs8 } from './qs8-matmul-run.js';
import { DTypeError } from '../../errors.js';

function int8Input(ctx: OpContext, ins: (ValueInfo | null)[], i: number, name: string): ValueInfo {
  const v = need(ctx, ins, i, name);
  if (v.type !== 'int8' && v.type !== 'uint8') fail(ctx, `${name}: expected type int8 or uint8, got ${v.type}`, DTypeError);
  return v;
}

/** The plan of A x B and the number of per-column B parameters allowed (0 when B is 1-D). */
function shape(ctx: OpContext, a: { dims: readonly number[] }, b: { dims: readonly number[] }, names: [string, string]): { p: MatMulPlan; cols: number } {
  const p = planMatMul(a.dims, b.dims, names[0], names[1], opLabel(ctx));
  return { p, cols: b.dims.length >= 2 ? p.n : 0 };
}

/** Exact integer sums of (A - za)(B - zb) per batch entry, as float64 (exact for K < 2^37). */
function intSums(p: MatMulPlan, a: HostValue, b: HostValue, za: number, zb: Int32Array): Float64Array {
  const ac = Float64Array.from(a.data, (x) => x - za);
  const bc = Float64Array.from(b.data, (x, i) => x - zb[i % p.n]);
  const y = new Float64Array(p.batch * p.m * p.n);
  for (let t = 0; t < p.batch; t++) matmulBlock(ac, p.aOffsets[t], bc, p.bOffsets[t], y, t * p.m * p.n, p.m, p.k, p.n);
  return y;
}

const matMulIntegerDef: OpDef = {
  layout: 'nchw',
  infer: (ctx, ins) => {
    const a = int8Input(ctx, ins, 0, 'A'), b = int8Input(ctx, ins, 1, 'B');
    const { p, cols } = shape(ctx, a, b, ['A', 'B']);
    checkZeroPoint(ctx, ins[2], 'a_zero_point', a.type, 0);
    checkZeroPoint(ctx, ins[3], 'b_zero_point', b.type, cols);
    return [{ type: 'int32', dims: p.outDims }];
  },
  compute: (ctx, ins, outs) => {
    const a = ins[0]!, b = ins[1]!;
    const { p } = shape(ctx, a, b, ['A', 'B']);
    const y = intSums(p, a, b, zeroPointValues(ctx, ins[2], 'a_zero_point', 1)[0], zeroPointValues(ctx, ins[3], 'b_zero_point', p.n));
    // int32 wraps as the integer GEMM does
    for (let i = 0; i < y.length; i++) outs[0].data[i] = y[i] | 0;
  },
  run: async (rt, ctx, ins) => {
    const a = ins[0]!, b = ins[1]!;
    const { p } = shape(ctx, a, b, ['A', 'B']);
    const za = zeroPointValues(ctx, ins[2], 'a_zero_point', 1)[0], zb = zeroPointValues(ctx, ins[3], 'b_zero_point', p.n);
    return [await matMulQs8(rt, p, a.data as Int8Array | Uint8Array, b.data as Int8Array | Uint8Array, za, zb, { kind: 'int32' }, (l) => new Int32Array(l))];
  },
};

// QLinearMatMul inputs: a, a_scale, a_zero_point, b, b_scale, b_zero_point, y_scale, y_zero_point
// (QLinearConv's first eight are the same with x and w: `names` says how errors spell them)
export function qlinearParams(ctx: OpContext, ins: (HostValue | null)[], n: number, names: [string, string] = ['a', 'b']) {
  const [a, b] = names;
  const sa = scaleValues(ctx, ins[1]!.data, `${a}_scale`, 1)[0];
  const sb = scaleValues(ctx, ins[4]!.data, `${b}_scale`, n);
  const sy = scaleValues(ctx, ins[6]!.data, 'y_scale', 1)[0];
  const za = zeroPointValues(ctx, ins[2], `${a}_zero_point`, 1)[0];
  const zb = zeroPointValues(ctx, ins[5], `${b}_zero_point`, n);
  const zy = zeroPointValues(ctx, ins[7], 'y_zero_point', 1)[0];
  // onnxruntime's multiplier: (a_scale * b_scale) / y_scale, each step in float32
  const multiplier = new Float32Array(n);
  for (let j = 0; j < n; j++) multiplier[j] = Math.fround(Math.fround(sa * sb[j]) / sy);
  return { za, zb, zy, multiplier };
}

const qlinearMatMulDef: OpDef = {
  layout: 'nchw',
  infer: (ctx, ins) => {
    const a = int8Input(ctx, ins, 0, 'a'), b = int8Input(ctx, ins, 3, 'b');
    const { p, cols } = shape(ctx, a, b, ['a', 'b']);
    checkScale(ctx, need(ctx, ins, 1, 'a_scale'), 'a_scale', 0);
    checkScale(ctx, need(ctx, ins, 4, 'b_scale'), 'b_scale', cols);
    checkScale(ctx, need(ctx, ins, 6, 'y_scale'), 'y_scale', 0);
    checkZeroPoint(ctx, ins[2], 'a_zero_point', a.type, 0);
    checkZeroPoint(ctx, ins[5], 'b_zero_point', b.type, cols);
    const yz = int8Input(ctx, ins, 7, 'y_zero_point');
    checkZeroPoint(ctx, yz, 'y_zero_point', yz.type, 0);
    return [{ type: yz.type as ElemType, dims: p.outDims }];
  },
  compute: (ctx, ins, outs) => {
    const a = ins[0]!, b = ins[3]!;
    const { p } = shape(ctx, a, b, ['a', 'b']);
    const { za, zb, zy, multiplier } = qlinearParams(ctx, ins, p.n);
    const acc = Int32Array.from(intSums(p, a, b, za, zb));
    const mn = p.m * p.n;
    for (let t = 0; t < p.batch; t++) {
      outs[0].data.set(refRequantize(acc.subarray(t * mn, (t + 1) * mn), p.m, p.n, multiplier, zy, outs[0].type === 'int8'), t * mn);
    }
  },
  run: async (rt, ctx, ins, outs) => {
    const a = ins[0]!.data as Int8Array | Uint8Array, b = ins[3]!.data as Int8Array | Uint8Array;
    const { p } = shape(ctx, ins[0]!, ins[3]!, ['a', 'b']);
    const { za, zb, zy, multiplier } = qlinearParams(ctx, ins, p.n);
    const kind = outs[0].type === 'int8' ? 'int8' : 'uint8';
    const make = (l: number): HostData => (kind === 'int8' ? new Int8Array(l) : new Uint8Array(l));
    return [await matMulQs8(rt, p, a, b, za, zb, { kind, multiplier, zeroPoint: zy }, make as (l: number) => Int8Array)];
  },
};

export const INT_MATMUL_OPS: Record<string, OpDef> = { MatMulInteger: matMulIntegerDef, QLinearMatMul: qlinearMatMulDef };
