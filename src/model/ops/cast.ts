// Cast between float32, the integer types, bool and float8 (E4M3FN, E5M2). To float8: x as float32
// (integers round to nearest even there), then round to nearest even; saturate 1 (default) clamps
// out-of-range values and ±Inf to ±max, 0 gives NaN (E4M3FN) or ±Inf (E5M2). From float8: exact.

import { UnsupportedOperatorError } from '../../errors.js';
import { decodeFp8Wasm, encodeFp8Wasm } from '../../kernels/fp8.js';
import { decodeFp8, encodeFp8 } from '../../quant/fp8.js';
import { fp8Format, type ElemType, type HostData } from '../graph.js';
import { attr, need, opLabel, type OpContext, type OpDef } from './types.js';

/** The `to` attribute (TensorProto.DataType) */
const CAST_TYPES: Record<number, ElemType> = { 1: 'float32', 2: 'uint8', 3: 'int8', 6: 'int32', 7: 'int64', 9: 'bool', 11: 'float32', 17: 'float8e4m3fn', 19: 'float8e5m2' };

const saturate = (ctx: OpContext) => attr(ctx.node, 'saturate', 1) === 1;

/** Numbers (float8 decoded) to a type other than float8. */
function castNumbers(x: ArrayLike<number>, to: ElemType, y: HostData): void {
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    y[i] = to === 'bool' ? (v !== 0 ? 1 : 0) : to === 'float32' ? v : Math.trunc(v);
  }
}

const castDef: OpDef = {
  layout: 'any',
  check: (ctx) => {
    const to = attr(ctx.node, 'to', 0);
    if (!CAST_TYPES[to]) throw new UnsupportedOperatorError(`${opLabel(ctx)}: Cast to ONNX type ${to} is not supported (float, int32, int64, int8, uint8, bool, float8e4m3fn, float8e5m2 are)`);
    const s = attr(ctx.node, 'saturate', 1);
    if (s !== 0 && s !== 1) throw new UnsupportedOperatorError(`${opLabel(ctx)}: saturate ${s} is not supported (0 and 1 are)`);
  },
  infer: (ctx, ins) => [{ type: CAST_TYPES[attr(ctx.node, 'to', 0)], dims: [...need(ctx, ins, 0, 'input').dims] }],
  compute: (ctx, ins, outs) => {
    const x = ins[0]!, y = outs[0];
    const from = fp8Format(x.type), to = fp8Format(y.type);
    if (from && x.type === y.type) return y.data.set(x.data);
    const v = from ? decodeFp8(x.data as Uint8Array, from) : x.data;
    if (to) y.data.set(encodeFp8(v instanceof Float32Array ? v : Float32Array.from(v), to, saturate(ctx)));
    else castNumbers(v, y.type, y.data);
  },
  run: async (rt, ctx, ins, outs) => {
    const x = ins[0]!, type = outs[0].type;
    const from = fp8Format(x.type), to = fp8Format(type);
    if (x.type === type) return [x.data.slice()];
    const v = from ? await decodeFp8Wasm(rt, x.data as Uint8Array, from) : x.data;
    if (to) return [await encodeFp8Wasm(rt, v instanceof Float32Array ? v : Float32Array.from(v), to, saturate(ctx))];
    if (from && type === 'float32') return [v];
    const y = new (type === 'float32' ? Float32Array : type === 'int8' ? Int8Array : type === 'uint8' || type === 'bool' ? Uint8Array : Float64Array)(x.data.length);
    castNumbers(v, type, y);
    return [y];
  },
};

export const CAST_OPS: Record<string, OpDef> = { Cast: castDef };
