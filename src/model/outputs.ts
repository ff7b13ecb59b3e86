// What Model.run() returns: each output in its ONNX element type, with the typed array
// onnxruntime-web gives for it (int64 as BigInt64Array, bool as Uint8Array, float16 as its bits in
// a Uint16Array …), so a token id or an index is never handed back as a rounded float.
// The host holds integers as doubles (graph.ts), exact to 2^53: a 64-bit output beyond ±(2^53 − 1)
// may have been rounded on the way, so it is refused with a ValueRangeError, never returned.

import { DTypeError, ValueRangeError } from '../errors.js';
import type { ElemType, HostData } from './graph.js';

interface Out<T extends string, D> {
  readonly type: T;
  readonly data: D;
  readonly dims: readonly number[];
}

/** One output of Model.run(); `type` says which typed array `data` is. */
export type OutputTensor =
  | Out<'float32', Float32Array>
  | Out<'float64', Float64Array>
  /** the IEEE half bits, as onnxruntime-web returns float16 where the engine has no Float16Array */
  | Out<'float16', Uint16Array>
  | Out<'int64', BigInt64Array>
  | Out<'uint64', BigUint64Array>
  | Out<'int32', Int32Array>
  | Out<'uint32', Uint32Array>
  | Out<'int16', Int16Array>
  | Out<'uint16', Uint16Array>
  | Out<'int8', Int8Array>
  /** bool as 0/1 bytes, as onnxruntime-web */
  | Out<'uint8' | 'bool', Uint8Array>
  /** float8 codes (onnxruntime-web has no float8 tensors) */
  | Out<'float8e4m3fn' | 'float8e5m2', Uint8Array>;

export type OutputType = OutputTensor['type'];

const SAFE = Number.MAX_SAFE_INTEGER;

/** A copy of an output's host data as its element type's typed array; `what` names it in errors. */
export function outputTensor(type: ElemType, data: HostData, dims: readonly number[], what: string): OutputTensor {
  const d = [...dims];
  switch (type) {
    case 'float32': return { type, data: Float32Array.from(data), dims: d };
    case 'float64': return { type, data: Float64Array.from(data), dims: d };
    case 'float16': return { type, data: Uint16Array.from(data, halfBits), dims: d };
    case 'int64': return { type, data: BigInt64Array.from(data, (v, i) => BigInt(exact(v, i, what))), dims: d };
    case 'uint64': return { type, data: BigUint64Array.from(data, (v, i) => BigInt(exact(v, i, what))), dims: d };
    case 'int32': return { type, data: Int32Array.from(data), dims: d };
    case 'uint32': return { type, data: Uint32Array.from(data), dims: d };
    case 'int16': return { type, data: Int16Array.from(data), dims: d };
    case 'uint16': return { type, data: Uint16Array.from(data), dims: d };
    case 'int8': return { type, data: Int8Array.from(data), dims: d };
    case 'uint8': case 'bool': case 'float8e4m3fn': case 'float8e5m2': return { type, data: Uint8Array.from(data), dims: d };
  }
}

/** A 64-bit integer the host holds exactly (|v| ≤ 2^53 − 1); beyond that it may have been rounded. */
function exact(v: number, i: number, what: string): number {
  if (Number.isSafeInteger(v)) return v;
  throw new ValueRangeError(
    `${what}: value ${v} at index ${i} is beyond ±(2^53 − 1), the integers lowbit holds exactly; ` +
      'it may have been rounded, so it is not returned (onnxruntime computes 64-bit integers exactly)',
  );
}

/** IEEE half bits of a value already rounded to float16 (Cast and the float16 ops round). */
export function halfBits(x: number): number {
  if (Number.isNaN(x)) return 0x7e00;
  const s = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  const a = Math.abs(x);
  if (a === Infinity || a > 65504) return s | 0x7c00;
  if (a < 2 ** -14) return s | Math.round(a * 2 ** 24); // subnormal (or 0)
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e--; // log2 can land one binade off next to a power of two
  else if (2 ** (e + 1) <= a) e++;
  return s | ((e + 15) << 10) | Math.round((a / 2 ** e - 1) * 1024);
}

/** The data of a float32 output; a DTypeError naming it when it has another type. */
export function floatData(t: OutputTensor, name = 'output'): Float32Array {
  if (t.type !== 'float32') throw new DTypeError(`${name}: expected a float32 output, got ${t.type}`);
  return t.data;
}

/**
 * The values of any output as numbers, for measures that treat every output alike (SQNR, cosine):
 * float data as it is, float16 decoded from its bits, integers (exact: 64-bit ones are never beyond 2^53).
 */
export function outputValues(t: OutputTensor): Float32Array | Float64Array {
  if (t.type === 'float32' || t.type === 'float64') return t.data;
  if (t.type === 'float16') return Float64Array.from(t.data, halfValue);
  return Float64Array.from(t.data as ArrayLike<number | bigint>, Number);
}

/** The value of IEEE half bits. */
export function halfValue(h: number): number {
  const s = h & 0x8000 ? -1 : 1, e = (h >> 10) & 31, m = h & 1023;
  return e === 0 ? s * m * 2 ** -24 : e === 31 ? (m ? NaN : s * Infinity) : s * (1 + m / 1024) * 2 ** (e - 15);
}
