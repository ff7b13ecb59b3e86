// QuantizeLinear, DequantizeLinear and DynamicQuantizeLinear: per tensor or per axis, 8-bit
// integers (saturating, round half to even, x / scale in float32) and float8 (E4M3FN, E5M2: cast of
// x / scale with the saturate attribute; zero point 0). compute() is the scalar definition (plan-time
// folding, model host steps); run() does the same on the wasm kernels (rt.ops), bit for bit.

import { DTypeError, UnsupportedOperatorError, ValueRangeError } from '../../errors.js';
import { dequantizeQ8, minMaxF32, quantizeQ8, refDequantize, refQuantize } from '../../kernels/q8.js';
import { decodeFp8Wasm, encodeFp8Wasm } from '../../kernels/fp8.js';
import { decodeFp8, encodeFp8 } from '../../quant/fp8.js';
import { dynamicQuantParams } from '../../quant/q8.js';
import { fp8Format, isFloat8, type ElemType, type HostData } from '../graph.js';
import { axisLayout, checkScale, checkZeroPoint, scaleValues, zeroPointValues, type AxisLayout } from './quant-params.js';
import { attr, fail, need, opLabel, type HostValue, type OpContext, type OpDef } from './types.js';

/** QuantizeLinear's output_dtype attribute (TensorProto.DataType) */
const OUTPUT_DTYPE: Record<number, ElemType> = { 2: 'uint8', 3: 'int8', 17: 'float8e4m3fn', 19: 'float8e5m2' };

function checkAttributes(ctx: OpContext): void {
  if (attr(ctx.node, 'block_size', 0) !== 0) fail(ctx, `blocked ${ctx.node.op} (block_size) is not supported`);
  const s = attr(ctx.node, 'saturate', 1);
  if (s !== 0 && s !== 1) throw new UnsupportedOperatorError(`${opLabel(ctx)}: saturate ${s} is not supported (0 and 1 are)`);
}

/** x's layout along the axis, and the scale and zero point per channel (values checked). */
function params(ctx: OpContext, x: HostValue, s: HostValue, z: HostValue | null, names: [string, string]) {
  const ax = axisLayout(ctx, x.dims, s.dims, names[0]);
  return { ax, sc: scaleValues(ctx, s.data, names[0], ax.channels), zp: zeroPointValues(ctx, z, names[1], ax.channels) };
}

/** y[i] = x[i] / scale[channel] in float32 (a float64 quotient of two float32 values rounds the same). */
function divided(x: HostData, ax: AxisLayout, sc: Float32Array): Float32Array {
  const v = new Float32Array(x.length);
  let i = 0;
  for (let o = 0; o < ax.outer; o++) for (let c = 0; c < ax.channels; c++) for (let t = 0; t < ax.inner; t++, i++) v[i] = x[i] / sc[c];
  return v;
}

/** y[i] *= scale[channel], in float32. */
function scaled(y: Float32Array, ax: AxisLayout, sc: Float32Array): Float32Array {
  let i = 0;
  for (let o = 0; o < ax.outer; o++) for (let c = 0; c < ax.channels; c++) for (let t = 0; t < ax.inner; t++, i++) y[i] = y[i] * sc[c];
  return y;
}

const quantizeLinearDef: OpDef = {
  layout: 'nchw',
  check: (ctx) => {
    checkAttributes(ctx);
    const t = attr(ctx.node, 'output_dtype', 0);
    if (t !== 0 && !OUTPUT_DTYPE[t]) fail(ctx, `output_dtype ${t} is not supported (uint8, int8, float8e4m3fn and float8e5m2 are)`);
  },
  infer: (ctx, ins) => {
    const x = need(ctx, ins, 0, 'x');
    const s = need(ctx, ins, 1, 'y_scale');
    const zp = ins[2];
    const t = attr(ctx.node, 'output_dtype', 0);
    if (zp && t !== 0 && OUTPUT_DTYPE[t] !== zp.type) fail(ctx, `output_dtype: ${t} (${OUTPUT_DTYPE[t]}) disagrees with y_zero_point's type ${zp.type}`, DTypeError);
    const type: ElemType = zp ? zp.type : (OUTPUT_DTYPE[t] ?? 'uint8');
    if (type !== 'uint8' && type !== 'int8' && !isFloat8(type)) fail(ctx, `output type ${type} is not supported (uint8, int8 and the float8 types are)`);
    const ax = axisLayout(ctx, x.dims, s.dims, 'y_scale');
    checkScale(ctx, s, 'y_scale', ax.channels, 'channel');
    checkZeroPoint(ctx, zp, 'y_zero_point', type, ax.channels, 'channel');
    return [{ type, dims: [...x.dims] }];
  },
  compute: (ctx, ins, outs) => {
    const x = ins[0]!, y = outs[0];
    const { ax, sc, zp } = params(ctx, x, ins[1]!, ins[2], ['y_scale', 'y_zero_point']);
    const f8 = fp8Format(y.type);
    if (f8) y.data.set(encodeFp8(divided(x.data, ax, sc), f8, attr(ctx.node, 'saturate', 1) === 1));
    else y.data.set(refQuantize(x.data, ax, sc, zp, y.type === 'int8'));
  },
  run: async (rt, ctx, ins, outs) => {
    const x = ins[0]!, type = outs[0].type;
    const { ax, sc, zp } = params(ctx, x, ins[1]!, ins[2], ['y_scale', 'y_zero_point']);
    const f8 = fp8Format(type);
    if (f8) return [await encodeFp8Wasm(rt, divided(x.data, ax, sc), f8, attr(ctx.node, 'saturate', 1) === 1)];
    return [await quantizeQ8(rt, x.data as Float32Array, ax, sc, zp, type === 'int8')];
  },
};

/** int32 x: y = x * scale rounded once to float32 (x may be beyond float32's integers). */
function dequantizeInt32(x: HostData, ax: AxisLayout, sc: Float32Array): Float32Array {
  const y = new Float32Array(x.length);
  let i = 0;
  for (let o = 0; o < ax.outer; o++) for (let c = 0; c < ax.channels; c++) for (let t = 0; t < ax.inner; t++, i++) y[i] = Math.fround(x[i] * sc[c]);
  return y;
}

const dequantizeLinearDef: OpDef = {
  layout: 'nchw',
  check: checkAttributes,
  infer: (ctx, ins) => {
    const x = need(ctx, ins, 0, 'x');
    const s = need(ctx, ins, 1, 'x_scale');
    if (x.type !== 'uint8' && x.type !== 'int8' && x.type !== 'int32' && !isFloat8(x.type)) {
      fail(ctx, `input type ${x.type} is not supported (uint8, int8, int32 and the float8 types are)`);
    }
    const ax = axisLayout(ctx, x.dims, s.dims, 'x_scale');
    checkScale(ctx, s, 'x_scale', ax.channels, 'channel');
    checkZeroPoint(ctx, ins[2], 'x_zero_point', x.type, ax.channels, 'channel');
    return [{ type: 'float32', dims: [...x.dims] }];
  },
  compute: (ctx, ins, outs) => {
    const x = ins[0]!;
    const { ax, sc, zp } = params(ctx, x, ins[1]!, ins[2], ['x_scale', 'x_zero_point']);
    const f8 = fp8Format(x.type);
    const y = f8 ? scaled(decodeFp8(x.data as Uint8Array, f8), ax, sc) : x.type === 'int32' ? dequantizeInt32(x.data, ax, sc) : refDequantize(x.data, ax, sc, zp);
    outs[0].data.set(y);
  },
  run: async (rt, ctx, ins) => {
    const x = ins[0]!;
    const { ax, sc, zp } = params(ctx, x, ins[1]!, ins[2], ['x_scale', 'x_zero_point']);
    const f8 = fp8Format(x.type);
    if (f8) return [scaled(await decodeFp8Wasm(rt, x.data as Uint8Array, f8), ax, sc)];
    if (x.type === 'int32') return [dequantizeInt32(x.data, ax, sc)];
    return [await dequantizeQ8(rt, x.data as Int8Array | Uint8Array, ax, sc, zp)];
  },
};

/** uint8 scale and zero point from x's range [lo, hi] (which then includes 0); NaN or ±Infinity refused. */
function dynamicParams(ctx: OpContext, lo: number, hi: number): { scale: number; zeroPoint: number } {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) {
    throw new ValueRangeError(`${opLabel(ctx)}: x: needs finite values, got range [${lo}, ${hi}] (NaN or Infinity in the input)`);
  }
  return dynamicQuantParams(lo, hi, 0, 255);
}

/** [min, max] of x as minMaxF32 gives them: NaN when x holds one; [0, 0] when x is empty. */
function hostMinMax(x: HostData): [number, number] {
  if (x.length === 0) return [0, 0];
  let lo = Infinity, hi = -Infinity;
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    if (Number.isNaN(v)) return [NaN, NaN];
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return [lo, hi];
}

const dynamicQuantizeLinearDef: OpDef = {
  layout: 'nchw',
  infer: (ctx, ins) => {
    const x = need(ctx, ins, 0, 'x');
    return [{ type: 'uint8', dims: [...x.dims] }, { type: 'float32', dims: [] }, { type: 'uint8', dims: [] }];
  },
  compute: (ctx, ins, outs) => {
    const x = ins[0]!.data;
    const { scale, zeroPoint } = dynamicParams(ctx, ...hostMinMax(x));
    outs[0].data.set(refQuantize(x, { outer: 1, channels: 1, inner: x.length }, [scale], [zeroPoint], false));
    outs[1].data[0] = scale;
    outs[2].data[0] = zeroPoint;
  },
  run: async (rt, ctx, ins) => {
    const x = ins[0]!.data as Float32Array;
    const { scale, zeroPoint } = dynamicParams(ctx, ...(x.length ? await minMaxF32(rt, x) : ([0, 0] as [number, number])));
    const y = await quantizeQ8(rt, x, { outer: 1, channels: 1, inner: x.length }, Float32Array.of(scale), Int32Array.of(zeroPoint), false);
    return [y, Float32Array.of(scale), Uint8Array.of(zeroPoint)];
  },
};

export const QDQ_OPS: Record<string, OpDef> = {
  QuantizeLinear: quantizeLinearDef,
  DequantizeLinear: dequantizeLinearDef,
  DynamicQuantizeLinear: dynamicQuantizeLinearDef,
};

