// Cast and CastLike between the float types (float32, float16, float64, float8 E4M3FN/E5M2), the
// integer types (int8…int64, uint8…uint64) and bool, at ONNX semantics:
// - float to integer truncates toward zero. ONNX leaves out-of-range values undefined; lowbit wraps
//   modulo 2^n for types of up to 32 bits (as it does integer to integer, like C's static_cast) and
//   saturates int64/uint64 to their range; NaN and ±Inf give 0 there.
// - to float16: round to nearest even, overflow to ±Inf (no saturation: ONNX saturates float8 only).
// - to bool: nonzero (NaN too) is true.
// - to float8: x as float32 (integers and doubles round to nearest even there), then round to nearest
//   even; saturate 1 (default) clamps out-of-range values and ±Inf to ±max, 0 gives NaN (E4M3FN) or
//   ±Inf (E5M2). From float8: exact.
// Types held in a Float64Array (graph.ts) hold exactly the values of the type, so what Cast writes
// there is what a float16/int16/uint32… tensor would contain; int64/uint64 are exact to 2^53.

import { UnsupportedOperatorError } from '../../errors.js';
import { decodeFp8Wasm, encodeFp8Wasm } from '../../kernels/fp8.js';
import { decodeFp8, encodeFp8 } from '../../quant/fp8.js';
import { fp8Format, hostArray, type ElemType, type HostData } from '../graph.js';
import { attr, need, opLabel, type OpContext, type OpDef, type HostValue } from './types.js';

/** The `to` attribute (TensorProto.DataType) */
const CAST_TYPES: Record<number, ElemType> = {
  1: 'float32', 2: 'uint8', 3: 'int8', 4: 'uint16', 5: 'int16', 6: 'int32', 7: 'int64', 9: 'bool', 10: 'float16', 11: 'float64',
  12: 'uint32', 13: 'uint64', 17: 'float8e4m3fn', 19: 'float8e5m2',
};

const saturate = (ctx: OpContext) => attr(ctx.node, 'saturate', 1) === 1;

const F64 = new Float64Array(1), F64_HI = new Uint32Array(F64.buffer, 4, 1); // little-endian: the high word
/** the float16 quantum of binade 2^e, e = -14…15 (subnormals below 2^-14 share 2^-24) */
const HALF_QUANTUM = Float64Array.from({ length: 30 }, (_, i) => 2 ** (i - 24));
const ROUND_EVEN = 2 ** 52; // (v + 2^52) - 2^52 rounds 0 <= v < 2^52 to the nearest integer, ties to even

/** Round to the nearest float16 value (ties to even), as a number; beyond ±65504 rounds to ±Inf. */
export function roundToHalf(x: number): number {
  if (x === 0 || x !== x) return x;
  const a = Math.abs(x);
  if (a >= 65520) return x > 0 ? Infinity : -Infinity; // 65520 is halfway to 2^16 and rounds (to even) up to it
  F64[0] = a;
  const e = ((F64_HI[0] >>> 20) & 0x7ff) - 1023;
  const q = HALF_QUANTUM[Math.max(e, -14) + 14];
  const r = (a / q + ROUND_EVEN - ROUND_EVEN) * q;
  return x < 0 ? -r : r;
}

const I64 = 2 ** 63, U64 = 2 ** 64;

/** A number (already a value of the source type) to a value of type `to`, as stored in its array. */
function converter(to: ElemType): (v: number) => number {
  switch (to) {
    case 'bool': return (v) => (v !== 0 ? 1 : 0);
    case 'float16': return roundToHalf;
    case 'int32': return (v) => v | 0; // ToInt32 truncates, wraps mod 2^32, NaN/±Inf -> 0
    case 'int16': return (v) => (v << 16) >> 16;
    case 'uint32': return (v) => v >>> 0;
    case 'uint16': return (v) => v & 0xffff;
    case 'int64': return (v) => (Number.isFinite(v) ? Math.min(Math.max(Math.trunc(v), -I64), I64 - 1) + 0 : 0); // + 0: no -0
    case 'uint64': return (v) => {
      if (!Number.isFinite(v)) return 0;
      const t = Math.trunc(v) + 0;
      return t < 0 ? (t < -I64 ? I64 : t + U64) : Math.min(t, U64 - 1);
    };
    case 'int8':
    case 'uint8': return (v) => (Number.isFinite(v) ? Math.trunc(v) : 0); // the typed array wraps mod 2^8
    default: return (v) => v; // float32 (the Float32Array rounds) and float64
  }
}

/** Numbers (float8 decoded) to a type other than float8. */
function castNumbers(x: ArrayLike<number>, to: ElemType, y: HostData): void {
  const f = converter(to);
  for (let i = 0; i < x.length; i++) y[i] = f(x[i]);
}

function checkSaturate(ctx: OpContext): void {
  const s = attr(ctx.node, 'saturate', 1);
  if (s !== 0 && s !== 1) throw new UnsupportedOperatorError(`${opLabel(ctx)}: saturate ${s} is not supported (0 and 1 are)`);
}

function castCompute(ctx: OpContext, x: HostValue, y: HostValue): void {
  const from = fp8Format(x.type), to = fp8Format(y.type);
  if (x.type === y.type) return y.data.set(x.data);
  const v = from ? decodeFp8(x.data as Uint8Array, from) : x.data;
  if (to) y.data.set(encodeFp8(v instanceof Float32Array ? v : Float32Array.from(v), to, saturate(ctx)));
  else castNumbers(v, y.type, y.data);
}

async function castRun(rt: Parameters<NonNullable<OpDef['run']>>[0], ctx: OpContext, x: HostValue, type: ElemType): Promise<HostData[]> {
  const from = fp8Format(x.type), to = fp8Format(type);
  if (x.type === type) return [x.data.slice()];
  const v = from ? await decodeFp8Wasm(rt, x.data as Uint8Array, from) : x.data;
  if (to) return [await encodeFp8Wasm(rt, v instanceof Float32Array ? v : Float32Array.from(v), to, saturate(ctx))];
  if (from && type === 'float32') return [v];
  const y = hostArray(type, x.data.length);
  castNumbers(v, type, y);
  return [y];
}

const castDef: OpDef = {
  layout: 'any',
  check: (ctx) => {
    const to = attr(ctx.node, 'to', 0);
    if (!CAST_TYPES[to]) {
      throw new UnsupportedOperatorError(`${opLabel(ctx)}: Cast to ONNX type ${to} is not supported (${[...new Set(Object.values(CAST_TYPES))].join(', ')} are)`);
    }
    checkSaturate(ctx);
  },
  infer: (ctx, ins) => [{ type: CAST_TYPES[attr(ctx.node, 'to', 0)], dims: [...need(ctx, ins, 0, 'input').dims] }],
  compute: (ctx, ins, outs) => castCompute(ctx, ins[0]!, outs[0]),
  run: (rt, ctx, ins, outs) => castRun(rt, ctx, ins[0]!, outs[0].type),
};

/** CastLike (opset 15+): Cast to the element type of input 1 (target_type, whose values are unused). */
const castLikeDef: OpDef = {
  layout: 'any',
  opsets: [15, 23],
  check: checkSaturate,
  infer: (ctx, ins) => [{ type: need(ctx, ins, 1, 'target_type').type, dims: [...need(ctx, ins, 0, 'input').dims] }],
  compute: (ctx, ins, outs) => castCompute(ctx, ins[0]!, outs[0]),
  run: (rt, ctx, ins, outs) => castRun(rt, ctx, ins[0]!, outs[0].type),
};

export const CAST_OPS: Record<string, OpDef> = { Cast: castDef, CastLike: castLikeDef };
