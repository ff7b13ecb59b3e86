// Tensors as onnxruntime has them ({ type, data, dims }), so an ort.Tensor can be passed as is.

import { DTypeError, ShapeError, ArgumentError, describe } from './errors.js';

export type DType = 'int8' | 'uint8' | 'int32' | 'float32';

export type DataOf<T extends DType> = T extends 'int8'
  ? Int8Array
  : T extends 'uint8'
    ? Uint8Array
    : T extends 'int32'
      ? Int32Array
      : Float32Array;

export interface Tensor<T extends DType = DType> {
  readonly type: T;
  readonly data: DataOf<T>;
  readonly dims: readonly number[];
}

export type AnyTensor = Tensor<DType>;

const ARRAY_OF: Record<DType, unknown> = {
  int8: Int8Array,
  uint8: Uint8Array,
  int32: Int32Array,
  float32: Float32Array,
};

export function tensor<T extends DType>(type: T, data: DataOf<T>, dims: readonly number[]): Tensor<T> {
  return { type, data, dims: [...dims] };
}

export function sizeOf(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) n *= d;
  return n;
}

/** Checks that `t` is a tensor whose type is one of `types` and whose data matches its dims. */
export function checkTensor<T extends DType>(t: unknown, name: string, types: readonly T[]): Tensor<T> {
  if (t === null || typeof t !== 'object') {
    throw new ArgumentError(`${name}: expected a tensor { type, data, dims }, got ${describe(t)}`);
  }
  const { type, data, dims } = t as Partial<Tensor>;
  if (typeof type !== 'string' || !types.includes(type as T)) {
    throw new DTypeError(`${name}: expected type ${types.join(' or ')}, got ${describe(type)}`);
  }
  if (!Array.isArray(dims) && !(dims && typeof (dims as Iterable<number>)[Symbol.iterator] === 'function')) {
    throw new ShapeError(`${name}: dims must be an array of non-negative integers, got ${describe(dims)}`);
  }
  const d = [...(dims as Iterable<number>)];
  for (const x of d) {
    if (!Number.isSafeInteger(x) || x < 0) {
      throw new ShapeError(`${name}: dims must be non-negative integers, got [${d.join(', ')}]`);
    }
  }
  const ctor = ARRAY_OF[type as DType];
  if (!(data instanceof (ctor as typeof Int8Array))) {
    throw new DTypeError(`${name}: type '${type}' needs data as ${(ctor as { name: string }).name}, got ${describe(data)}`);
  }
  if ((data as Int8Array).length !== sizeOf(d)) {
    throw new ShapeError(`${name}: dims [${d.join(', ')}] hold ${sizeOf(d)} elements but data has ${(data as Int8Array).length}`);
  }
  return { type: type as T, data: data as DataOf<T>, dims: d };
}

/** Reads a scalar (or 1-element) tensor's value, checking its type. */
export function scalarOf(t: unknown, name: string, types: readonly DType[]): number {
  const x = checkTensor(t, name, types);
  if (x.data.length !== 1 || x.dims.length > 1) {
    throw new ShapeError(`${name}: expected a scalar (dims [] or [1]), got dims [${x.dims.join(', ')}]`);
  }
  return x.data[0] as number;
}
