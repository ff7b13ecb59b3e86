// rt.ops: ONNX operators on tensors, bit-exact with the ONNX definitions and onnxruntime: arguments
// in ONNX input order, attributes in a trailing options object, tensors { type, data, dims } in and
// out. A facade: each method checks the arguments as a user passes them, then runs the operator's
// one definition, the one a model node runs (src/model/ops/, through runOp on the wasm kernels).

import { ArgumentError, DTypeError, describe } from '../errors.js';
import { checkTensor, tensor, type DType, type Tensor } from '../tensor.js';
import type { Runtime } from '../runtime/runtime.js';
import { FLOAT8_TYPES, isFloat8, type Float8Type } from '../model/graph.js';
import { runOp, type OpOutput } from '../model/ops/run-op.js';
import type { HostValue, OpContext } from '../model/ops/types.js';
import { OPS } from '../model/ops/registry.js';
import { isSingleGemm, planMatMul } from '../model/ops/matmul-shape.js';
import { zeroPointValues } from '../model/ops/quant-params.js';
import { runQs8 } from '../kernels/qs8.js';
import { checkWeightCacheMode, PackedWeightCache, type WeightCacheMode } from './weight-cache.js';

export type { WeightCacheMode };

export { FLOAT8_TYPES, type Float8Type };

type Q8 = 'int8' | 'uint8';
const Q8_TYPES: readonly Q8[] = ['int8', 'uint8'];

/** FP8 tensors hold their codes (onnxruntime-web has no float8 tensor type; these are our own, in the same shape). */
export interface Float8Tensor {
  readonly type: Float8Type;
  readonly data: Uint8Array;
  readonly dims: readonly number[];
}

/** Element types cast() converts to: ONNX names, or TensorProto.DataType numbers (FLOAT 1, FLOAT8E4M3FN 17, FLOAT8E5M2 19). */
export type CastTarget = 'float32' | Float8Type | 1 | 17 | 19;
const CAST_TARGETS: Record<string, 'float32' | Float8Type> = { float32: 'float32', float8e4m3fn: 'float8e4m3fn', float8e5m2: 'float8e5m2', 1: 'float32', 17: 'float8e4m3fn', 19: 'float8e5m2' };
const TENSOR_PROTO: Record<'float32' | Float8Type, number> = { float32: 1, float8e4m3fn: 17, float8e5m2: 19 };

export interface QuantizeLinearOptions {
  /** channel axis for per-axis scales (default 1; negative counts from the end) */
  axis?: number;
  /** float8 outputs: 1 (default) clamps out-of-range values and ±Inf to ±max, 0 gives NaN (E4M3FN) or ±Inf (E5M2);
   * 8-bit integers always saturate (only 1 is accepted for them) */
  saturate?: number | boolean;
  /** the output type when there is no zero point (opset 21): a float8 type name or its TensorProto number (17, 19) */
  output_dtype?: Float8Type | 17 | 19;
}

/** A user's tensor as an operator input: checked (a type among `types`, data matching dims). */
function input(t: unknown, name: string, types: readonly DType[]): HostValue {
  const c = checkTensor(t, name, types);
  return { type: c.type, dims: c.dims, data: c.data, nhwc: false };
}

/** A float8 tensor (codes in a Uint8Array matching its dims) as an operator input. */
function float8Input(t: unknown, name: string): HostValue {
  const type = (t as { type?: unknown } | null)?.type;
  if (!isFloat8(type)) throw new DTypeError(`${name}: expected type ${FLOAT8_TYPES.join(' or ')}, got ${describe(type ?? t)}`);
  // the same checks as checkTensor, on the codes viewed as uint8
  const u = checkTensor({ type: 'uint8', data: (t as Float8Tensor).data, dims: (t as Float8Tensor).dims }, name, ['uint8']);
  return { type, dims: u.dims, data: u.data, nhwc: false };
}

/** A float8 tensor, or one of `types`; null when absent. */
function optional(t: unknown, name: string, types: readonly DType[]): HostValue | null {
  if (t === undefined || t === null) return null;
  return isFloat8((t as { type?: unknown }).type) ? float8Input(t, name) : input(t, name, types);
}

/** ONNX's saturate attribute (0 or 1; booleans accepted), default 1. */
function saturateOption(v: unknown): number {
  if (v === undefined || v === 1 || v === true) return 1;
  if (v === 0 || v === false) return 0;
  throw new ArgumentError(`saturate: expected 0 or 1, got ${describe(v)}`);
}

function axisOption(v: unknown): number | undefined {
  if (v !== undefined && typeof v !== 'number') throw new ArgumentError(`axis: expected an integer, got ${describe(v)}`);
  return v;
}

/** An operator's output as the user gets it. */
function output(o: OpOutput): Tensor | Float8Tensor {
  if (isFloat8(o.type)) return { type: o.type, data: o.data as Uint8Array, dims: o.dims };
  if (o.type === 'int32') return tensor('int32', o.data instanceof Int32Array ? o.data : Int32Array.from(o.data), o.dims);
  return { type: o.type, data: o.data, dims: o.dims } as Tensor;
}

export class OnnxOps {
  private readonly weights: PackedWeightCache;

  constructor(private readonly rt: Runtime) {
    this.weights = new PackedWeightCache(rt);
  }

  private async run(op: string, ins: (HostValue | null)[], attrs?: Record<string, number | undefined>): Promise<(Tensor | Float8Tensor)[]> {
    return (await runOp(this.rt, op, ins, attrs)).map(output);
  }

  /**
   * ONNX MatMulInteger: int32 = (A - a_zero_point) x (B - b_zero_point), numpy-style batching.
   * A 2-D B is packed once and kept for the next calls with the same B data array (see
   * src/ops/weight-cache.ts): `weightCache` 'verify' (default) compares B's bytes with a copy on each
   * call and repacks changed data; 'trust' skips the comparison (B's data must not change in place,
   * or call forgetWeights(B) after changing it); 'off' packs per call. B with batch dims packs per call.
   */
  async matMulInteger(A: Tensor, B: Tensor, aZeroPoint?: Tensor | null, bZeroPoint?: Tensor | null, options: { weightCache?: WeightCacheMode } = {}): Promise<Tensor<'int32'>> {
    this.rt.check();
    const mode = checkWeightCacheMode(options?.weightCache);
    const ins = [input(A, 'A', Q8_TYPES), input(B, 'B', Q8_TYPES), optional(aZeroPoint, 'a_zero_point', Q8_TYPES), optional(bZeroPoint, 'b_zero_point', Q8_TYPES)];
    // the operator's own checks (types, shapes, zero points), as runOp makes them
    const ctx: OpContext = { node: { name: 'MatMulInteger', op: 'MatMulInteger', domain: '', inputs: ins.map((v, i) => (v ? `input ${i}` : '')), outputs: ['output'], attrs: new Map() }, opset: 21, label: 'MatMulInteger' };
    const [out] = OPS.MatMulInteger.infer(ctx, ins.map((v) => v && { type: v.type, dims: [...v.dims] }));
    const [a, b] = ins as HostValue[];
    const p = planMatMul(a.dims, b.dims, 'A', 'B', 'MatMulInteger');
    if (!isSingleGemm(p)) return (await this.run('MatMulInteger', ins))[0] as Tensor<'int32'>;
    const za = zeroPointValues(ctx, ins[2], 'a_zero_point', 1)[0], zb = zeroPointValues(ctx, ins[3], 'b_zero_point', p.n);
    const bData = b.data as Int8Array | Uint8Array;
    const y = await this.weights.with(bData, p.k, p.n, zb, mode, (w) => runQs8(this.rt, a.data as Int8Array | Uint8Array, p.batch * p.m, za, w, { kind: 'int32' }));
    return tensor('int32', y as Int32Array, out.dims);
  }

  /** Drops the packed copy of B that matMulInteger keeps (needed only under weightCache 'trust', after changing B's data in place). */
  forgetWeights(B: Tensor): void {
    const data = (B as { data?: unknown } | null)?.data;
    if (data instanceof Int8Array || data instanceof Uint8Array) this.weights.forget(data);
  }

  /** what matMulInteger keeps: packed B matrices and the bytes of linear memory they hold */
  get weightCache(): { entries: number; bytes: number } {
    return { entries: this.weights.size, bytes: this.weights.bytes };
  }

  /** ONNX QLinearMatMul: y = saturate(round((A - za)(B - zb) * a_scale * b_scale / y_scale) + y_zero_point). */
  async qlinearMatMul(
    A: Tensor, aScale: Tensor, aZeroPoint: Tensor, B: Tensor, bScale: Tensor, bZeroPoint: Tensor, yScale: Tensor, yZeroPoint: Tensor,
  ): Promise<Tensor<Q8>> {
    this.rt.check();
    const ins = [
      input(A, 'a', Q8_TYPES), input(aScale, 'a_scale', ['float32']), optional(aZeroPoint, 'a_zero_point', Q8_TYPES),
      input(B, 'b', Q8_TYPES), input(bScale, 'b_scale', ['float32']), optional(bZeroPoint, 'b_zero_point', Q8_TYPES),
      input(yScale, 'y_scale', ['float32']), input(yZeroPoint, 'y_zero_point', Q8_TYPES),
    ];
    return (await this.run('QLinearMatMul', ins))[0] as Tensor<Q8>;
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
    const x = optional(X, 'input', ['float32', 'int8', 'uint8', 'int32']) ?? input(X, 'input', ['float32']);
    return (await this.run('Cast', [x], { to: TENSOR_PROTO[target], saturate }))[0] as Tensor<'float32'> | Float8Tensor;
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
    const x = input(X, 'x', ['float32']);
    if (options.block_size) throw new ArgumentError('quantizeLinear: block_size (blocked quantization) is not supported; use per-tensor or per-axis scales');
    const float8 = isFloat8(yZeroPoint?.type) || options.output_dtype !== undefined;
    if (!float8 && options.saturate !== undefined && options.saturate !== 1) {
      throw new ArgumentError(`quantizeLinear: saturate=${options.saturate} only applies to float8 outputs; 8-bit integers always saturate`);
    }
    const z = float8 && yZeroPoint ? float8Input(yZeroPoint, 'y_zero_point') : optional(yZeroPoint, 'y_zero_point', Q8_TYPES);
    let outputDtype: number | undefined;
    if (options.output_dtype !== undefined) {
      const t = CAST_TARGETS[String(options.output_dtype)];
      if (z && t !== z.type) throw new DTypeError(`output_dtype: ${describe(options.output_dtype)} disagrees with y_zero_point's type ${z.type}`);
      if (t === undefined || t === 'float32') {
        throw new ArgumentError(`output_dtype: expected 'float8e4m3fn' or 'float8e5m2' (TensorProto 17 or 19), got ${describe(options.output_dtype)}`);
      }
      outputDtype = TENSOR_PROTO[t];
    }
    const attrs = { axis: axisOption(options.axis), saturate: float8 ? saturateOption(options.saturate) : undefined, output_dtype: outputDtype };
    const s = input(yScale, 'y_scale', ['float32']);
    return (await this.run('QuantizeLinear', [x, s, z], attrs))[0] as Tensor<Q8> | Float8Tensor;
  }

  /**
   * ONNX DequantizeLinear: y = (x - x_zero_point) * x_scale, per tensor or per axis. int32 x needs zero point 0;
   * so does float8 x (float8e4m3fn, float8e5m2: y = float32(x) * x_scale, exact decode then one float32 multiply).
   */
  async dequantizeLinear(X: Tensor | Float8Tensor, xScale: Tensor, xZeroPoint?: Tensor | Float8Tensor | null, options: { axis?: number } = {}): Promise<Tensor<'float32'>> {
    this.rt.check();
    const types: DType[] = ['int8', 'uint8', 'int32'];
    const x = optional(X, 'x', types) ?? input(X, 'x', types);
    const ins = [x, input(xScale, 'x_scale', ['float32']), optional(xZeroPoint, 'x_zero_point', types)];
    return (await this.run('DequantizeLinear', ins, { axis: axisOption(options.axis) }))[0] as Tensor<'float32'>;
  }

  /** ONNX DynamicQuantizeLinear: uint8 y, float32 y_scale, uint8 y_zero_point, from x's range (which includes 0). */
  async dynamicQuantizeLinear(X: Tensor): Promise<[Tensor<'uint8'>, Tensor<'float32'>, Tensor<'uint8'>]> {
    this.rt.check();
    return (await this.run('DynamicQuantizeLinear', [input(X, 'x', ['float32'])])) as [Tensor<'uint8'>, Tensor<'float32'>, Tensor<'uint8'>];
  }

  /** ONNX MatMul in float32, numpy-style batching. */
  async matMul(A: Tensor, B: Tensor): Promise<Tensor<'float32'>> {
    this.rt.check();
    return (await this.run('MatMul', [input(A, 'A', ['float32']), input(B, 'B', ['float32'])]))[0] as Tensor<'float32'>;
  }

  /** ONNX Gemm: Y = alpha * A' x B' + beta * C, A' = transA ? Aᵀ : A, B' likewise; C broadcasts to [M, N]. */
  async gemm(
    A: Tensor, B: Tensor, C?: Tensor | null,
    options: { alpha?: number; beta?: number; transA?: number; transB?: number } = {},
  ): Promise<Tensor<'float32'>> {
    this.rt.check();
    const flag = (v: unknown) => (v === undefined ? undefined : v ? 1 : 0);
    const attrs = { alpha: options.alpha, beta: options.beta, transA: flag(options.transA), transB: flag(options.transB) };
    const ins = [input(A, 'A', ['float32']), input(B, 'B', ['float32']), C ? input(C, 'C', ['float32']) : null];
    return (await this.run('Gemm', ins, attrs))[0] as Tensor<'float32'>;
  }
}
