// Operators with ONNX semantics, bit-exact with the ONNX definitions and onnxruntime: arguments in
// ONNX input order, attributes in a trailing options object, tensors { type, data, dims } in and out.

import { ArgumentError, DTypeError, ShapeError, ValueRangeError, describe } from '../errors.js';
import { checkTensor, sizeOf, tensor, type Tensor } from '../tensor.js';
import type { Runtime } from '../runtime/runtime.js';
import { packQs8, runQs8, type Qs8Output } from '../kernels/qs8.js';
import { packF32, runF32 } from '../kernels/f32.js';
import { dequantizeQ8, minMaxF32, quantizeQ8 } from '../kernels/q8.js';
import { planMatMul, type MatMulPlan } from './matmul-shape.js';
import { dynamicQuantParams } from '../quant/q8.js';
import { decodeFp8Wasm, encodeFp8Wasm } from '../kernels/fp8.js';
import type { Fp8Format } from '../quant/fp8.js';

type Q8 = 'int8' | 'uint8';
const Q8_TYPES: readonly Q8[] = ['int8', 'uint8'];

/** A zero point tensor: absent (0), a scalar, or (when perColumn > 0) a 1-D tensor of that length. */
function zeroPoints(t: Tensor | undefined | null, name: string, type: Q8, perColumn: number): number[] {
  if (t === undefined || t === null) return [0];
  const z = checkTensor(t, name, Q8_TYPES);
  if (z.type !== type) throw new DTypeError(`${name}: must have the type of its input (${type}), got ${z.type}`);
  if (z.data.length === 1 && z.dims.length <= 1) return [z.data[0]];
  if (perColumn > 0 && z.dims.length === 1 && z.dims[0] === perColumn) return Array.from(z.data);
  throw new ShapeError(
    `${name}: expected a scalar${perColumn > 0 ? ` or a 1-D tensor of ${perColumn} (one per column)` : ''}, got dims [${z.dims.join(', ')}]`,
  );
}

function scales(t: unknown, name: string, perColumn: number): number[] {
  const s = checkTensor(t, name, ['float32']);
  let v: number[];
  if (s.data.length === 1 && s.dims.length <= 1) v = [s.data[0]];
  else if (perColumn > 0 && s.dims.length === 1 && s.dims[0] === perColumn) v = Array.from(s.data);
  else {
    throw new ShapeError(
      `${name}: expected a scalar${perColumn > 0 ? ` or a 1-D tensor of ${perColumn} (one per column)` : ''}, got dims [${s.dims.join(', ')}]`,
    );
  }
  v.forEach((x, i) => {
    if (!Number.isFinite(x) || x <= 0) throw new ValueRangeError(`${name}: scales must be finite and > 0, got ${x}${v.length > 1 ? ` at index ${i}` : ''}`);
  });
  return v;
}

function perColumn(values: number[], n: number): number[] {
  return values.length === 1 ? new Array(n).fill(values[0]) : values;
}

/** Runs an int8 GEMM for every broadcast batch entry and concatenates the results. */
async function batchedQs8<T extends Int32Array | Uint8Array | Int8Array>(
  rt: Runtime, plan: MatMulPlan, a: Int8Array | Uint8Array, b: Int8Array | Uint8Array, za: number, zb: number[], out: Qs8Output,
  make: (len: number) => T,
): Promise<T> {
  const { m, k, n, batch } = plan;
  const result = make(batch * m * n);
  const bShared = plan.bOffsets.every((o) => o === 0);
  const aContiguous = plan.aOffsets.every((o, i) => o === i * m * k);
  if (bShared && aContiguous) {
    // one GEMM over all rows: B packed once
    const w = packQs8(rt, b.subarray(0, k * n), k, n, zb);
    try {
      result.set((await runQs8(rt, a, batch * m, za, w, out)) as T);
    } finally {
      w.dispose();
    }
    return result;
  }
  for (let t = 0; t < batch; t++) {
    const w = packQs8(rt, b.subarray(plan.bOffsets[t], plan.bOffsets[t] + k * n), k, n, zb);
    try {
      const r = await runQs8(rt, a.subarray(plan.aOffsets[t], plan.aOffsets[t] + m * k), m, za, w, out);
      result.set(r as T, t * m * n);
    } finally {
      w.dispose();
    }
  }
  return result;
}

// --- float8 tensors ---------------------------------------------------------------------------------
// FP8 tensors hold their codes: { type: 'float8e4m3fn' | 'float8e5m2', data: Uint8Array, dims }.
// (onnxruntime-web has no float8 tensor type; these are our own, in the same shape.)

export type Float8Type = 'float8e4m3fn' | 'float8e5m2';
export const FLOAT8_TYPES: readonly Float8Type[] = ['float8e4m3fn', 'float8e5m2'];
const FP8_FORMAT_OF: Record<Float8Type, Fp8Format> = { float8e4m3fn: 'e4m3fn', float8e5m2: 'e5m2' };

export interface Float8Tensor {
  readonly type: Float8Type;
  readonly data: Uint8Array;
  readonly dims: readonly number[];
}

/** Element types cast() converts to: ONNX names, or TensorProto.DataType numbers (FLOAT 1, FLOAT8E4M3FN 17, FLOAT8E5M2 19). */
export type CastTarget = 'float32' | Float8Type | 1 | 17 | 19;
const CAST_TARGETS: Record<string, 'float32' | Float8Type> = { float32: 'float32', float8e4m3fn: 'float8e4m3fn', float8e5m2: 'float8e5m2', 1: 'float32', 17: 'float8e4m3fn', 19: 'float8e5m2' };

function isFloat8(t: unknown): t is Float8Tensor {
  return t !== null && typeof t === 'object' && FLOAT8_TYPES.includes((t as { type?: unknown }).type as Float8Type);
}

/** Checks a float8 tensor (codes in a Uint8Array matching its dims). */
function checkFloat8(t: unknown, name: string): Float8Tensor {
  if (!isFloat8(t)) {
    throw new DTypeError(`${name}: expected type ${FLOAT8_TYPES.join(' or ')}, got ${describe((t as { type?: unknown } | null)?.type ?? t)}`);
  }
  // same checks as checkTensor, on the codes viewed as uint8
  const u = checkTensor({ type: 'uint8', data: t.data, dims: t.dims }, name, ['uint8']);
  return { type: t.type, data: u.data, dims: u.dims };
}

/** ONNX's saturate attribute (0 or 1; booleans accepted), default 1. */
function saturateOption(v: unknown): boolean {
  if (v === undefined) return true;
  if (v === 1 || v === true) return true;
  if (v === 0 || v === false) return false;
  throw new ArgumentError(`saturate: expected 0 or 1, got ${describe(v)}`);
}

/** A float8 zero point: scalar or per-channel, of x's float8 type, and every value ±0 (ONNX requires 0). */
function float8ZeroPoint(t: unknown, name: string, type: Float8Type, channels: number): void {
  const z = checkFloat8(t, name);
  if (z.type !== type) throw new DTypeError(`${name}: must have the type of its input (${type}), got ${z.type}`);
  if (!(z.data.length === 1 && z.dims.length <= 1) && !(channels > 1 && z.dims.length === 1 && z.dims[0] === channels)) {
    throw new ShapeError(`${name}: expected a scalar${channels > 1 ? ` or a 1-D tensor of ${channels} (one per channel)` : ''}, got dims [${z.dims.join(', ')}]`);
  }
  const i = z.data.findIndex((c) => (c & 0x7f) !== 0);
  if (i >= 0) throw new ValueRangeError(`${name}: must be 0 for float8 types, got code 0x${z.data[i].toString(16)}${z.data.length > 1 ? ` at index ${i}` : ''}`);
}

export interface QuantizeLinearOptions {
  /** channel axis for per-axis scales (default 1; negative counts from the end) */
  axis?: number;
  /** float8 outputs: 1 (default) clamps out-of-range values and ±Inf to ±max, 0 gives NaN (E4M3FN) or ±Inf (E5M2);
   * 8-bit integers always saturate (only 1 is accepted for them) */
  saturate?: number | boolean;
  /** the output type when there is no zero point (opset 21): a float8 type name or its TensorProto number (17, 19) */
  output_dtype?: Float8Type | 17 | 19;
}

export class OnnxOps {
  constructor(private readonly rt: Runtime) {}

  /** ONNX MatMulInteger: int32 = (A - a_zero_point) x (B - b_zero_point), numpy-style batching. */
  async matMulInteger(A: Tensor, B: Tensor, aZeroPoint?: Tensor | null, bZeroPoint?: Tensor | null): Promise<Tensor<'int32'>> {
    this.rt.check();
    const a = checkTensor(A, 'A', Q8_TYPES);
    const b = checkTensor(B, 'B', Q8_TYPES);
    const plan = planMatMul(a.dims, b.dims);
    const za = zeroPoints(aZeroPoint, 'a_zero_point', a.type, 0)[0];
    const zb = perColumn(zeroPoints(bZeroPoint, 'b_zero_point', b.type, b.dims.length >= 2 ? plan.n : 0), plan.n);
    const data = await batchedQs8(this.rt, plan, a.data, b.data, za, zb, { kind: 'int32' }, (l) => new Int32Array(l));
    return tensor('int32', data, plan.outDims);
  }

  /** ONNX QLinearMatMul: y = saturate(round((A - za)(B - zb) * a_scale * b_scale / y_scale) + y_zero_point). */
  async qlinearMatMul(
    A: Tensor, aScale: Tensor, aZeroPoint: Tensor, B: Tensor, bScale: Tensor, bZeroPoint: Tensor, yScale: Tensor, yZeroPoint: Tensor,
  ): Promise<Tensor<Q8>> {
    this.rt.check();
    const a = checkTensor(A, 'a', Q8_TYPES);
    const b = checkTensor(B, 'b', Q8_TYPES);
    const plan = planMatMul(a.dims, b.dims, 'a', 'b');
    const cols = b.dims.length >= 2 ? plan.n : 0;
    const sa = scales(aScale, 'a_scale', 0)[0];
    const sb = perColumn(scales(bScale, 'b_scale', cols), plan.n);
    const sy = scales(yScale, 'y_scale', 0)[0];
    const za = zeroPoints(aZeroPoint, 'a_zero_point', a.type, 0)[0];
    const zb = perColumn(zeroPoints(bZeroPoint, 'b_zero_point', b.type, cols), plan.n);
    const yz = checkTensor(yZeroPoint, 'y_zero_point', Q8_TYPES);
    const zy = zeroPoints(yz, 'y_zero_point', yz.type, 0)[0];
    // onnxruntime's multiplier: (a_scale * b_scale) / y_scale, each step in float32
    const multiplier = new Float32Array(plan.n);
    for (let j = 0; j < plan.n; j++) multiplier[j] = Math.fround(Math.fround(sa * sb[j]) / sy);
    const out: Qs8Output = { kind: yz.type, multiplier, zeroPoint: zy };
    const data =
      yz.type === 'uint8'
        ? await batchedQs8(this.rt, plan, a.data, b.data, za, zb, out, (l) => new Uint8Array(l))
        : await batchedQs8(this.rt, plan, a.data, b.data, za, zb, out, (l) => new Int8Array(l));
    return tensor(yz.type, data, plan.outDims) as Tensor<Q8>;
  }

  /**
   * ONNX Cast between float32 and float8 (and from int8/uint8/int32 to either): to float8 rounds to
   * nearest even; saturate 1 (default) clamps out-of-range values and ±Inf to ±max, 0 gives NaN
   * (E4M3FN) or ±Inf (E5M2). float8 to float32 is exact. See src/quant/fp8.ts for every case.
   */
  async cast(X: Tensor | Float8Tensor, to: 'float32' | 1, options?: { saturate?: number | boolean }): Promise<Tensor<'float32'>>;
  async cast(X: Tensor | Float8Tensor, to: Float8Type | 17 | 19, options?: { saturate?: number | boolean }): Promise<Float8Tensor>;
  async cast(X: Tensor | Float8Tensor, to: CastTarget, options?: { saturate?: number | boolean }): Promise<Tensor<'float32'> | Float8Tensor>;
  async cast(X: Tensor | Float8Tensor, to: CastTarget, options: { saturate?: number | boolean } = {}): Promise<Tensor<'float32'> | Float8Tensor> {
    this.rt.check();
    const target = CAST_TARGETS[String(to)];
    if (target === undefined) {
      throw new ArgumentError(`to: expected 'float32', 'float8e4m3fn' or 'float8e5m2' (or TensorProto 1, 17, 19), got ${describe(to)}`);
    }
    const saturate = saturateOption(options.saturate);
    let f32: Float32Array;
    let dims: readonly number[];
    if (isFloat8(X)) {
      const x = checkFloat8(X, 'input');
      if (x.type === target) return { type: x.type, data: x.data.slice(), dims: [...x.dims] };
      f32 = await decodeFp8Wasm(this.rt, x.data, FP8_FORMAT_OF[x.type]);
      dims = x.dims;
    } else {
      const x = checkTensor(X, 'input', ['float32', 'int8', 'uint8', 'int32']);
      // integers go through float32 first (int32 rounds to nearest even there), as ONNX's reference does
      f32 = x.data instanceof Float32Array ? x.data.slice() : Float32Array.from(x.data as ArrayLike<number>);
      dims = x.dims;
    }
    if (target === 'float32') return tensor('float32', f32, dims);
    const codes = await encodeFp8Wasm(this.rt, f32, FP8_FORMAT_OF[target], saturate);
    return { type: target, data: codes, dims: [...dims] };
  }

  /**
   * ONNX QuantizeLinear: y = saturate(round(x / y_scale) + y_zero_point), per tensor or per axis.
   * 8-bit integer outputs (the zero point's type, uint8 without one), or float8 outputs (a float8 zero
   * point, which must be 0, or output_dtype): y = cast(x / y_scale) rounded to nearest even, with the
   * saturate attribute (default 1), x / y_scale computed in float32.
   */
  async quantizeLinear(X: Tensor, yScale: Tensor, yZeroPoint: Float8Tensor, options?: QuantizeLinearOptions & { block_size?: number }): Promise<Float8Tensor>;
  async quantizeLinear(X: Tensor, yScale: Tensor, yZeroPoint?: Tensor | null, options?: QuantizeLinearOptions & { block_size?: number }): Promise<Tensor<Q8>>;
  async quantizeLinear(X: Tensor, yScale: Tensor, yZeroPoint?: Tensor | Float8Tensor | null, options?: QuantizeLinearOptions & { block_size?: number }): Promise<Tensor<Q8> | Float8Tensor>;
  async quantizeLinear(
    X: Tensor, yScale: Tensor, yZeroPoint?: Tensor | Float8Tensor | null, options: QuantizeLinearOptions & { block_size?: number } = {},
  ): Promise<Tensor<Q8> | Float8Tensor> {
    this.rt.check();
    const x = checkTensor(X, 'x', ['float32']);
    if (options.block_size) throw new ArgumentError('quantizeLinear: block_size (blocked quantization) is not supported; use per-tensor or per-axis scales');
    if (isFloat8(yZeroPoint) || options.output_dtype !== undefined) return this.quantizeLinearFloat8(x, yScale, yZeroPoint, options);
    if (options.saturate !== undefined && options.saturate !== 1) {
      throw new ArgumentError(`quantizeLinear: saturate=${options.saturate} only applies to float8 outputs; 8-bit integers always saturate`);
    }
    const outType: Q8 = yZeroPoint ? checkTensor(yZeroPoint, 'y_zero_point', Q8_TYPES).type : 'uint8';
    const ax = axisLayout(x.dims, yScale, 'y_scale', options.axis ?? 1);
    const s = scales(yScale, 'y_scale', ax.channels > 1 || sizeOf(checkTensor(yScale, 'y_scale', ['float32']).dims) > 1 ? ax.channels : 0);
    const z = zeroPoints(yZeroPoint, 'y_zero_point', outType, s.length > 1 ? s.length : 0);
    if (z.length !== 1 && z.length !== s.length) throw new ShapeError(`y_zero_point: must have the shape of y_scale (${s.length}), got ${z.length}`);
    const sc = Float32Array.from(perColumn(s, ax.channels));
    const zp = Int32Array.from(perColumn(z, ax.channels));
    const data = await quantizeQ8(this.rt, x.data, ax, sc, zp, outType === 'int8');
    return tensor(outType, data, x.dims) as Tensor<Q8>;
  }

  /** float8 outputs of quantizeLinear. */
  private async quantizeLinearFloat8(
    x: Tensor<'float32'>, yScale: Tensor, yZeroPoint: Tensor | Float8Tensor | null | undefined, options: QuantizeLinearOptions,
  ): Promise<Float8Tensor> {
    let type: Float8Type;
    if (yZeroPoint) {
      type = checkFloat8(yZeroPoint, 'y_zero_point').type;
      if (options.output_dtype !== undefined && CAST_TARGETS[String(options.output_dtype)] !== type) {
        throw new DTypeError(`output_dtype: ${describe(options.output_dtype)} disagrees with y_zero_point's type ${type}`);
      }
    } else {
      const t = CAST_TARGETS[String(options.output_dtype)];
      if (t === undefined || t === 'float32') {
        throw new ArgumentError(`output_dtype: expected 'float8e4m3fn' or 'float8e5m2' (TensorProto 17 or 19), got ${describe(options.output_dtype)}`);
      }
      type = t;
    }
    const saturate = saturateOption(options.saturate);
    const ax = axisLayout(x.dims, yScale, 'y_scale', options.axis ?? 1);
    const s = scales(yScale, 'y_scale', ax.channels > 1 || sizeOf(checkTensor(yScale, 'y_scale', ['float32']).dims) > 1 ? ax.channels : 0);
    if (yZeroPoint) float8ZeroPoint(yZeroPoint, 'y_zero_point', type, s.length);
    const sc = perColumn(s, ax.channels);
    // x / y_scale in float32 (a float64 quotient of two float32 values rounds to the same float32)
    const v = new Float32Array(x.data.length);
    let i = 0;
    for (let o = 0; o < ax.outer; o++) for (let c = 0; c < ax.channels; c++) for (let t = 0; t < ax.inner; t++, i++) v[i] = x.data[i] / sc[c];
    const codes = await encodeFp8Wasm(this.rt, v, FP8_FORMAT_OF[type], saturate);
    return { type, data: codes, dims: [...x.dims] };
  }

  /**
   * ONNX DequantizeLinear: y = (x - x_zero_point) * x_scale, per tensor or per axis. int32 x needs zero point 0;
   * so does float8 x (float8e4m3fn, float8e5m2: y = float32(x) * x_scale, exact decode then one float32 multiply).
   */
  async dequantizeLinear(X: Tensor | Float8Tensor, xScale: Tensor, xZeroPoint?: Tensor | Float8Tensor | null, options: { axis?: number } = {}): Promise<Tensor<'float32'>> {
    this.rt.check();
    if (isFloat8(X)) {
      const x = checkFloat8(X, 'x');
      const ax = axisLayout(x.dims, xScale, 'x_scale', options.axis ?? 1);
      const sDims = checkTensor(xScale, 'x_scale', ['float32']).dims;
      const s = scales(xScale, 'x_scale', sizeOf(sDims) > 1 ? ax.channels : 0);
      if (xZeroPoint) float8ZeroPoint(xZeroPoint, 'x_zero_point', x.type, s.length);
      const sc = perColumn(s, ax.channels);
      const out = await decodeFp8Wasm(this.rt, x.data, FP8_FORMAT_OF[x.type]);
      let i = 0;
      for (let o = 0; o < ax.outer; o++) for (let c = 0; c < ax.channels; c++) for (let t = 0; t < ax.inner; t++, i++) out[i] = out[i] * sc[c];
      return tensor('float32', out, x.dims);
    }
    if (isFloat8(xZeroPoint)) throw new DTypeError(`x_zero_point: must have the type of its input (${describe((X as { type?: unknown })?.type)}), got ${xZeroPoint.type}`);
    const x = checkTensor(X, 'x', ['int8', 'uint8', 'int32']);
    const ax = axisLayout(x.dims, xScale, 'x_scale', options.axis ?? 1);
    const sDims = checkTensor(xScale, 'x_scale', ['float32']).dims;
    const s = scales(xScale, 'x_scale', sizeOf(sDims) > 1 ? ax.channels : 0);
    if (x.type === 'int32') {
      // int32 inputs (e.g. biases) have no zero point but 0
      if (xZeroPoint) {
        const z = checkTensor(xZeroPoint, 'x_zero_point', ['int32']);
        if (z.data.some((v) => v !== 0)) throw new ValueRangeError('x_zero_point: must be 0 for int32 input');
      }
      const out = new Float32Array(x.data.length);
      const sc = perColumn(s, ax.channels);
      let i = 0;
      for (let o = 0; o < ax.outer; o++) for (let c = 0; c < ax.channels; c++) for (let t = 0; t < ax.inner; t++, i++) out[i] = Math.fround(x.data[i] * sc[c]);
      return tensor('float32', out, x.dims);
    }
    const z = zeroPoints(xZeroPoint, 'x_zero_point', x.type, s.length > 1 ? s.length : 0);
    const data = await dequantizeQ8(
      this.rt, x.data as Int8Array | Uint8Array, ax, Float32Array.from(perColumn(s, ax.channels)), Int32Array.from(perColumn(z, ax.channels)),
    );
    return tensor('float32', data, x.dims);
  }

  /** ONNX DynamicQuantizeLinear: uint8 y, float32 y_scale, uint8 y_zero_point, from x's range (which includes 0). */
  async dynamicQuantizeLinear(X: Tensor): Promise<[Tensor<'uint8'>, Tensor<'float32'>, Tensor<'uint8'>]> {
    this.rt.check();
    const x = checkTensor(X, 'x', ['float32']);
    const [lo, hi] = x.data.length ? await minMaxF32(this.rt, x.data) : [0, 0];
    if (!Number.isFinite(lo) || !Number.isFinite(hi)) {
      throw new ValueRangeError(`x: DynamicQuantizeLinear needs finite values, got range [${lo}, ${hi}] (NaN or Infinity in the input)`);
    }
    const { scale, zeroPoint } = dynamicQuantParams(lo, hi, 0, 255);
    const y = await quantizeQ8(this.rt, x.data, { outer: 1, channels: 1, inner: x.data.length }, Float32Array.of(scale), Int32Array.of(zeroPoint), false);
    return [tensor('uint8', y as Uint8Array, x.dims), tensor('float32', Float32Array.of(scale), []), tensor('uint8', Uint8Array.of(zeroPoint), [])];
  }

  /** ONNX MatMul in float32, numpy-style batching. */
  async matMul(A: Tensor, B: Tensor): Promise<Tensor<'float32'>> {
    this.rt.check();
    const a = checkTensor(A, 'A', ['float32']);
    const b = checkTensor(B, 'B', ['float32']);
    const plan = planMatMul(a.dims, b.dims);
    const { m, k, n, batch } = plan;
    const out = new Float32Array(batch * m * n);
    const bShared = plan.bOffsets.every((o) => o === 0);
    const aContiguous = plan.aOffsets.every((o, i) => o === i * m * k);
    if (bShared && aContiguous) {
      const w = packF32(this.rt, b.data.subarray(0, k * n), k, n);
      try {
        out.set(await runF32(this.rt, a.data, batch * m, w));
      } finally {
        w.dispose();
      }
    } else {
      for (let t = 0; t < batch; t++) {
        const w = packF32(this.rt, b.data.subarray(plan.bOffsets[t], plan.bOffsets[t] + k * n), k, n);
        try {
          out.set(await runF32(this.rt, a.data.subarray(plan.aOffsets[t], plan.aOffsets[t] + m * k), m, w), t * m * n);
        } finally {
          w.dispose();
        }
      }
    }
    return tensor('float32', out, plan.outDims);
  }

  /** ONNX Gemm: Y = alpha * A' x B' + beta * C, A' = transA ? Aᵀ : A, B' likewise; C broadcasts to [M, N]. */
  async gemm(
    A: Tensor, B: Tensor, C?: Tensor | null,
    options: { alpha?: number; beta?: number; transA?: number; transB?: number } = {},
  ): Promise<Tensor<'float32'>> {
    this.rt.check();
    const a = checkTensor(A, 'A', ['float32']);
    const b = checkTensor(B, 'B', ['float32']);
    if (a.dims.length !== 2) throw new ShapeError(`A: Gemm needs a 2-D tensor, got dims [${a.dims.join(', ')}]`);
    if (b.dims.length !== 2) throw new ShapeError(`B: Gemm needs a 2-D tensor, got dims [${b.dims.join(', ')}]`);
    const alpha = options.alpha ?? 1;
    const beta = options.beta ?? 1;
    const [m, k] = options.transA ? [a.dims[1], a.dims[0]] : [a.dims[0], a.dims[1]];
    const [kb, n] = options.transB ? [b.dims[1], b.dims[0]] : [b.dims[0], b.dims[1]];
    if (k !== kb) throw new ShapeError(`Gemm: A' is ${m}x${k} but B' is ${kb}x${n} (transA=${options.transA ?? 0}, transB=${options.transB ?? 0})`);
    let aData = a.data;
    if (options.transA) {
      aData = new Float32Array(m * k);
      for (let i = 0; i < k; i++) for (let j = 0; j < m; j++) aData[j * k + i] = a.data[i * m + j];
    }
    if (alpha !== 1) aData = aData.map((v) => Math.fround(v * alpha));
    const w = packF32(this.rt, b.data, k, n, !!options.transB);
    let y: Float32Array;
    try {
      y = await runF32(this.rt, aData, m, w);
    } finally {
      w.dispose();
    }
    if (C && beta !== 0) {
      const c = checkTensor(C, 'C', ['float32']);
      const cd = c.dims;
      const cm = cd.length === 2 ? cd[0] : 1;
      const cn = cd.length >= 1 ? cd[cd.length - 1] : 1;
      if (cd.length > 2 || (cm !== 1 && cm !== m) || (cn !== 1 && cn !== n)) {
        throw new ShapeError(`C: dims [${cd.join(', ')}] don't broadcast to [${m}, ${n}]`);
      }
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < n; j++) {
          const cv = c.data[(cm === 1 ? 0 : i) * cn + (cn === 1 ? 0 : j)];
          y[i * n + j] = Math.fround(y[i * n + j] + Math.fround(beta * cv));
        }
      }
    }
    return tensor('float32', y, [m, n]);
  }
}

/** [outer, channels, inner] for a per-axis scale (or per-tensor when the scale is a scalar). */
function axisLayout(dims: readonly number[], scale: unknown, name: string, axis: number) {
  const s = checkTensor(scale, name, ['float32']);
  const total = sizeOf(dims);
  if (s.data.length === 1 && s.dims.length <= 1) return { outer: 1, channels: 1, inner: total };
  if (s.dims.length !== 1) throw new ShapeError(`${name}: expected a scalar or a 1-D tensor, got dims [${s.dims.join(', ')}]`);
  const r = dims.length;
  const ax = axis < 0 ? axis + r : axis;
  if (!Number.isInteger(axis) || ax < 0 || ax >= r) throw new ArgumentError(`axis: ${axis} is out of range for a rank-${r} input`);
  if (dims[ax] !== s.dims[0]) {
    throw new ShapeError(`${name}: has ${s.dims[0]} scales but input axis ${ax} has size ${dims[ax]} (input dims [${dims.join(', ')}])`);
  }
  const outer = dims.slice(0, ax).reduce((x, y) => x * y, 1);
  const inner = dims.slice(ax + 1).reduce((x, y) => x * y, 1);
  return { outer, channels: dims[ax], inner };
}
