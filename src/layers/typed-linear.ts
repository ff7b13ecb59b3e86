// A linear layer in one of the weight types models use beyond int8/int4 blocks — ANT's adaptive
// 4-bit type ('ant4', LUT4 kernel) or FP8 E4M3FN weights ('fp8') — with its float32 reference:
//   rt.linear(w, [K, N], bias, { dtype: 'ant4' | 'fp8' })
// `type` says what the weights became (for ant4, the ANT type chosen for the tensor, or with
// perChannelType the types its channels chose: LUT4 then runs a table per 8-column panel).

import { compareTo } from '../compare/metrics.js';
import { ArgumentError, ShapeError, ValueRangeError, describe } from '../errors.js';
import type { Runtime } from '../runtime/runtime.js';
import { checkTensor, type Tensor } from '../tensor.js';
import type { GemmImpl } from './conv2d-gemm.js';
import { transposeKN } from './conv2d-gemm.js';
import type { LinearComparison } from './linear.js';
import { checkAnt4BlockSize, gemmFor, quantizeWeights, type QuantizedWeights } from './quantized-weights.js';
import { FloatReference } from './reference.js';
import { checkBias, linearShape } from './shape.js';

export interface TypedLinearOptions {
  dtype: 'ant4' | 'fp8';
  /** weight given as [N, K] (PyTorch nn.Linear) instead of [K, N] */
  transposed?: boolean;
  /** keep the float32 weights for forwardFloat / compare (default true) */
  reference?: boolean;
  /** ant4: values of K per scale, a power of two from 32 to 256, or 'channel' (default 32; K < 32: per channel) */
  blockSize?: number | 'channel';
  /** ant4: ANT's type per output channel (int4 / flint4 / PoT4 each), not one for the tensor (default false) */
  perChannelType?: boolean;
}

export class TypedLinear {
  private constructor(
    private readonly rt: Runtime,
    readonly k: number,
    readonly n: number,
    readonly weights: QuantizedWeights,
    private readonly gemm: GemmImpl,
    private readonly reference: FloatReference,
    private readonly bias: Float32Array | null,
  ) {}

  static async create(rt: Runtime, weight: Float32Array, dims: readonly [number, number], bias: Float32Array | null, options: TypedLinearOptions): Promise<TypedLinear> {
    rt.check();
    if (options.dtype !== 'ant4' && options.dtype !== 'fp8') throw new ArgumentError(`dtype: expected 'ant4' or 'fp8', got ${String(options.dtype)}`);
    const { k, n } = linearShape(weight, dims, options.transposed);
    const ant4BlockSize = options.blockSize === undefined ? undefined : checkAnt4BlockSize(options.blockSize);
    if (ant4BlockSize !== undefined && options.dtype !== 'ant4') throw new ArgumentError(`blockSize: only dtype 'ant4' takes a block size (fp8 has one scale per channel), got dtype '${options.dtype}'`);
    checkBias(bias, n);
    for (let i = 0; i < weight.length; i++) if (!Number.isFinite(weight[i])) throw new ValueRangeError(`weight: element ${i} is ${weight[i]}; weights must be finite`);
    const rows = options.transposed ? weight : transposeKN(weight, k, n);
    if (options.perChannelType !== undefined && options.dtype !== 'ant4') throw new ArgumentError(`perChannelType: only dtype 'ant4' chooses types, got dtype '${options.dtype}'`);
    if (options.perChannelType !== undefined && typeof options.perChannelType !== 'boolean') throw new ArgumentError(`perChannelType: expected true or false, got ${describe(options.perChannelType)}`);
    const weights = quantizeWeights(options.dtype, rows, n, k, undefined, { ant4BlockSize, ant4PerChannelType: options.perChannelType === true });
    const kept = options.reference === false ? null : rows === weight ? weight.slice() : rows;
    const b = bias ? bias.slice() : null;
    return new TypedLinear(rt, k, n, weights, gemmFor(rt, weights, b, null), new FloatReference(rt, kept ? () => kept : null, k, n, true), b);
  }

  /** what the weights became: the ANT type of the tensor ('int4', 'flint4', 'pot4'; with perChannelType e.g. 'per channel (int4, flint4)') or 'e4m3fn' */
  get type(): string {
    return this.weights.scheme === 'ant4' ? this.weights.type : this.weights.scheme === 'fp8' ? this.weights.q.format : this.weights.scheme;
  }

  get weightBytes(): number {
    return this.gemm.weightBytes;
  }

  private input(x: Float32Array | Tensor<'float32'>): { data: Float32Array; m: number } {
    const data = x instanceof Float32Array ? x : checkTensor(x, 'x', ['float32']).data;
    if (data.length === 0 || data.length % this.k !== 0) throw new ShapeError(`x: ${data.length} elements is not a whole number of rows of K = ${this.k}`);
    for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i])) throw new ValueRangeError(`x: element ${i} is ${data[i]}`);
    return { data, m: data.length / this.k };
  }

  async forward(x: Float32Array | Tensor<'float32'>): Promise<Float32Array> {
    const { data, m } = this.input(x);
    const rt = this.rt;
    const px = rt.put(data, 16), py = rt.alloc(m * this.n * 4 + 16), ps = rt.alloc((this.gemm.scratchBytes?.(m) ?? 0) + 64);
    try {
      await this.gemm.run(m, px, py, ps);
      return rt.read(Float32Array, py, m * this.n);
    } finally {
      rt.free(px);
      rt.free(py);
      rt.free(ps);
    }
  }

  async forwardFloat(x: Float32Array | Tensor<'float32'>): Promise<Float32Array> {
    const { data, m } = this.input(x);
    return this.reference.run(data, m, this.bias);
  }

  async compare(x: Float32Array | Tensor<'float32'>): Promise<LinearComparison> {
    const quantized = await this.forward(x);
    const reference = await this.forwardFloat(x);
    return { error: compareTo(reference, quantized), quantized, reference };
  }

  dispose(): void {
    this.gemm.dispose();
    this.reference.dispose();
  }
}
