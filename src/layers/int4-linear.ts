// A 4-bit linear layer, y = x W + b: weights in blocks along K (round-to-nearest with a clip search,
// GPTQ on calibration inputs, or imported from MatMulNBits / Q4_0), activations quantized to int8 on
// the fly (per row, or per block as ggml's Q8_0 does), integer dot products (the qb4 kernels). Its
// float reference is the float32 layer it was made from (or, for imported weights, the dequantized
// weights).

import { ArgumentError, ShapeError, ValueRangeError } from '../errors.js';
import type { Runtime } from '../runtime/runtime.js';
import { packQb4, runQb4, runQb4F32, type ActivationBlocks, type Qb4Weights } from '../kernels/qb4.js';

/**
 * How a 4-bit layer treats its inputs: int8 with a scale per block of K ('per-block', like ggml's
 * Q8_0) or per row (W4A8, fast), or kept in float32 (W4A32: no activation error, ~5x slower).
 */
export type Int4Activations = ActivationBlocks | 'float32';
import { FloatReference } from './reference.js';
import { dequantizeInt4, quantizeInt4Rtn, type Int4Blocks } from '../quant/int4.js';
import { quantizeInt4Gptq } from '../quant/gptq.js';
import { compareTo } from '../compare/metrics.js';
import { linearShape, checkBias } from './shape.js';
import type { LinearComparison } from './linear.js';
import { checkTensor, type Tensor } from '../tensor.js';

export interface Int4LinearOptions {
  dtype: 'int4';
  /** values of K per scale (power of two, 16..256; default 32) */
  blockSize?: number;
  /** 'symmetric' (zero point 8; default) or 'asymmetric' (min/max with a zero point per block) */
  scheme?: 'symmetric' | 'asymmetric';
  /** activation scales: 'per-block' (default, like ggml's Q8_0) or 'per-row' */
  activations?: Int4Activations;
  /** weight given as [N, K] (PyTorch nn.Linear) instead of [K, N] */
  transposed?: boolean;
  /** keep the float32 weights for forwardFloat / compare (default true; packed into wasm memory on first use) */
  reference?: boolean;
  /**
   * 'rtn' (round to nearest with a clip search per block; default) or 'gptq' (GPTQ: each column's
   * rounding error compensated on the columns after it, weighted by the calibration inputs' Hessian)
   */
  method?: 'rtn' | 'gptq';
  /** GPTQ: calibration inputs, S rows of K (typical inputs of this layer; S of 128 or more) */
  calibration?: Float32Array | Tensor<'float32'>;
  /** GPTQ: quantize the columns of K in order of descending input energy (default false) */
  actOrder?: boolean;
  /** GPTQ: added to the Hessian's diagonal as a fraction of its mean (default 0.01) */
  dampPercent?: number;
}

const GPTQ_ONLY = ['calibration', 'actOrder', 'dampPercent'] as const;

export class Int4Linear {
  private constructor(
    private readonly rt: Runtime,
    readonly k: number,
    readonly n: number,
    readonly blocks: Int4Blocks,
    private readonly packed: Qb4Weights,
    private readonly reference: FloatReference,
    private readonly bias: Float32Array | null,
    readonly activations: Int4Activations,
  ) {}

  /** Quantizes float32 weights ([K, N], or [N, K] with transposed) to 4 bits: round-to-nearest, or GPTQ. */
  static async create(rt: Runtime, weight: Float32Array, dims: readonly [number, number], bias: Float32Array | null, options: Int4LinearOptions): Promise<Int4Linear> {
    rt.check();
    const { k, n } = linearShape(weight, dims, options.transposed);
    // canonical rows are output features: [N][K]
    let rows = weight;
    if (!options.transposed) {
      rows = new Float32Array(n * k);
      for (let t = 0; t < k; t++) for (let j = 0; j < n; j++) rows[j * k + t] = weight[t * n + j];
    }
    const method = options.method ?? 'rtn';
    const blockSize = options.blockSize ?? 32;
    const scheme = options.scheme ?? 'symmetric';
    let blocks: Int4Blocks;
    if (method === 'gptq') {
      const c = options.calibration;
      // a typed array goes straight to GPTQ's checks (which name a wrong element type); else a tensor
      const calibration = c == null || ArrayBuffer.isView(c) ? c ?? undefined : checkTensor(c, 'calibration', ['float32']).data;
      blocks = quantizeInt4Gptq(rows, n, k, calibration as Float32Array, { blockSize, scheme, actOrder: options.actOrder, dampPercent: options.dampPercent });
    } else if (method === 'rtn') {
      for (const name of GPTQ_ONLY) {
        if (options[name] !== undefined) throw new ArgumentError(`${name}: only used with method: 'gptq' (method is 'rtn', round to nearest)`);
      }
      blocks = quantizeInt4Rtn(rows, n, k, { blockSize, scheme });
    } else {
      throw new ArgumentError(`method: expected 'rtn' or 'gptq', got ${String(method)}`);
    }
    // the float reference keeps its own copy (packed on first use) unless reference: false
    const kept = options.reference === false ? null : rows === weight ? weight.slice() : rows;
    return Int4Linear.build(rt, blocks, kept ? () => kept : null, bias, options.activations);
  }

  /** A layer over 4-bit weights that are already quantized (e.g. from fromMatMulNBits or fromQ4_0). */
  static async fromBlocks(rt: Runtime, blocks: Int4Blocks, bias: Float32Array | null = null, activations?: Int4Activations): Promise<Int4Linear> {
    rt.check();
    return Int4Linear.build(rt, blocks, () => dequantizeInt4(blocks), bias, activations);
  }

  /** rows: the float32 weights [N][K] for the reference, on demand (null: none) */
  private static build(
    rt: Runtime, blocks: Int4Blocks, rows: (() => Float32Array) | null, bias: Float32Array | null, activations: Int4Activations = 'per-block',
  ): Int4Linear {
    const { k, n } = blocks;
    checkBias(bias, n);
    if (activations !== 'per-block' && activations !== 'per-row' && activations !== 'float32') {
      throw new ArgumentError(`activations: expected 'per-block', 'per-row' or 'float32', got ${String(activations)}`);
    }
    const packed = packQb4(rt, blocks);
    const reference = new FloatReference(rt, rows, k, n, true);
    return new Int4Linear(rt, k, n, blocks, packed, reference, bias ? bias.slice() : null, activations);
  }

  get kernelLayout(): string {
    return this.packed.layout;
  }

  /** bytes of packed 4-bit weights with their scales */
  get weightBytes(): number {
    return this.packed.bytes;
  }

  private input(x: Float32Array | Tensor<'float32'>): { data: Float32Array; m: number } {
    const data = x instanceof Float32Array ? x : checkTensor(x, 'x', ['float32']).data;
    if (data.length % this.k !== 0) throw new ShapeError(`x: ${data.length} elements is not a whole number of rows of K = ${this.k}`);
    return { data, m: data.length / this.k };
  }

  async forward(x: Float32Array | Tensor<'float32'>): Promise<Float32Array> {
    const { data, m } = this.input(x);
    for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i])) throw new ValueRangeError(`x: element ${i} is ${data[i]}`);
    if (this.activations === 'float32') return runQb4F32(this.rt, data, m, this.packed, this.bias);
    return runQb4(this.rt, data, m, this.packed, { bias: this.bias, activations: this.activations });
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
    this.packed.dispose();
    this.reference.dispose();
  }
}
