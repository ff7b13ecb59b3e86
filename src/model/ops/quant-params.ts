// Scales and zero points of the quantized ONNX operators (QuantizeLinear, DequantizeLinear,
// MatMulInteger, QLinearMatMul): their shapes and types (checked by infer) and their values
// (checked before any work). Errors name the input, as ONNX spells it.

import { ArgumentError, DTypeError, ShapeError, ValueRangeError } from '../../errors.js';
import { elementCount, isFloat8, type ElemType, type HostData } from '../graph.js';
import { attr, fail, type OpContext } from './types.js';

/** A tensor as a scalar: one element, dims [] or [1]. */
export const isScalar = (dims: readonly number[]): boolean => elementCount(dims) === 1 && dims.length <= 1;

/** [outer, channels, inner] of a per-axis (1-D) scale, or of a per-tensor (scalar) one. */
export interface AxisLayout {
  outer: number;
  channels: number;
  inner: number;
}

/** Where x's `scale` applies: the whole tensor, or slices along the axis attribute (default 1). */
export function axisLayout(ctx: OpContext, xDims: readonly number[], scaleDims: readonly number[], name: string): AxisLayout {
  if (isScalar(scaleDims)) return { outer: 1, channels: 1, inner: elementCount(xDims) };
  if (scaleDims.length !== 1) fail(ctx, `${name}: expected a scalar or a 1-D tensor, got dims [${scaleDims.join(', ')}] (blocked quantization is not supported)`);
  const axis = attr(ctx.node, 'axis', 1);
  const r = xDims.length;
  const ax = axis < 0 ? axis + r : axis;
  if (!Number.isInteger(axis) || ax < 0 || ax >= r) fail(ctx, `axis: ${axis} is out of range for a rank-${r} input`, ArgumentError);
  if (xDims[ax] !== scaleDims[0]) {
    fail(ctx, `${name}: has ${scaleDims[0]} scales but input axis ${ax} has size ${xDims[ax]} (input dims [${xDims.join(', ')}])`);
  }
  return { outer: elementCount(xDims.slice(0, ax)), channels: xDims[ax], inner: elementCount(xDims.slice(ax + 1)) };
}

/** A scale of `count` values (1 = scalar only; n > 1 also 1-D [n]), `per` says what one value covers. */
export function checkScale(ctx: OpContext, s: { type: ElemType; dims: readonly number[] }, name: string, count: number, per = 'column'): void {
  if (s.type !== 'float32') fail(ctx, `${name}: expected type float32, got ${s.type}`, DTypeError);
  if (!isScalar(s.dims) && !(count > 1 && s.dims.length === 1 && s.dims[0] === count)) {
    fail(ctx, `${name}: expected a scalar${count > 1 ? ` or a 1-D tensor of ${count} (one per ${per})` : ''}, got dims [${s.dims.join(', ')}]`);
  }
}

/** A zero point: absent, or of its input's type and (like its scale) a scalar or `count` values. */
export function checkZeroPoint(
  ctx: OpContext, z: { type: ElemType; dims: readonly number[] } | null | undefined, name: string, type: ElemType, count: number, per = 'column',
): void {
  if (!z) return;
  if (z.type !== type) fail(ctx, `${name}: must have the type of its input (${type}), got ${z.type}`, DTypeError);
  if (!isScalar(z.dims) && !(count > 1 && z.dims.length === 1 && z.dims[0] === count)) {
    fail(ctx, `${name}: expected a scalar${count > 1 ? ` or a 1-D tensor of ${count} (one per ${per})` : ''}, got dims [${z.dims.join(', ')}]`, ShapeError);
  }
}

/** The scale's values, each finite and > 0, one per channel (a scalar repeated). */
export function scaleValues(ctx: OpContext, data: HostData, name: string, channels: number): Float32Array {
  data.forEach((x, i) => {
    if (!Number.isFinite(x) || x <= 0) fail(ctx, `${name}: scales must be finite and > 0, got ${x}${data.length > 1 ? ` at index ${i}` : ''}`, ValueRangeError);
  });
  return data.length === 1 ? new Float32Array(channels).fill(data[0]) : Float32Array.from(data);
}

/**
 * The zero point's values, one per channel (0 when absent). float8 and int32 inputs only have
 * zero point 0 (±0 for float8).
 */
export function zeroPointValues(ctx: OpContext, z: { type: ElemType; data: HostData } | null | undefined, name: string, channels: number): Int32Array {
  if (!z) return new Int32Array(channels);
  if (isFloat8(z.type)) {
    const i = z.data.findIndex((c) => (c & 0x7f) !== 0);
    if (i >= 0) fail(ctx, `${name}: must be 0 for float8 types, got code 0x${z.data[i].toString(16)}${z.data.length > 1 ? ` at index ${i}` : ''}`, ValueRangeError);
    return new Int32Array(channels);
  }
  if (z.type === 'int32' && z.data.some((v) => v !== 0)) fail(ctx, `${name}: must be 0 for int32 input`, ValueRangeError);
  return z.data.length === 1 ? new Int32Array(channels).fill(z.data[0]) : Int32Array.from(z.data);
}
