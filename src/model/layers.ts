// The layers a model plan runs on wasm kernels: convolutions and matrix products with constant
// weights. Each reads and writes float32 buffers in linear memory (channels-last for images);
// the scheme (float32, int8, …) is the layer's business, the plan only places buffers.

import { ArgumentError } from '../errors.js';
import { elementCount } from './graph.js';
import { F32_NR, f32Gemm, packF32, type F32Weights } from '../kernels/f32.js';
import { Conv2dF32, convOutSize, type ConvActivation, type ConvGeometry, type ConvPath } from '../layers/conv2d.js';
import type { Runtime } from '../runtime/runtime.js';
import { Conv2dGemm, type GemmImpl } from '../layers/conv2d-gemm.js';
import { ChannelActivation } from '../layers/activation.js';
import type { LayerWeights } from '../formats/format.js';
import { NonFiniteGuard, staticInputRange, type NonFinite } from '../layers/nonfinite.js';
import { FourBitGemm } from '../layers/gemm-4bit.js';
import type { Int4Blocks, Int4Nibbles } from '../quant/int4.js';

/** How a quantized model layer treats NaN and infinite inputs (src/layers/nonfinite.ts), and its name for errors. */
export interface NonFiniteCheck {
  mode: NonFinite;
  label: string;
}

export interface LayerIO {
  /** byte address of the input (channels-last for images) */
  x: number;
  /** every runtime input's address and logical dims (layers with inputs > 1) */
  xs: number[];
  inDims: (readonly number[])[];
  /** byte address of the output */
  y: number;
  /** every output's address: the node's non-empty outputs in order (layers with outputs 'all') */
  ys: number[];
  /** byte address of scratchBytes() of scratch */
  scratch: number;
  /** logical input dims: [N, C, H, W] for convolutions, [..., K] for linear */
  dims: readonly number[];
}

export interface ModelLayer {
  readonly kind: string;
  /** how its 4-D inputs must be stored ('nhwc' layers also write channels-last); default standard */
  readonly layout?: 'nhwc' | 'standard';
  /** how many runtime inputs it reads (default 1) */
  readonly inputs?: number;
  /** 'all': it writes every non-empty output of its node (default: the first only) */
  readonly outputs?: 'first' | 'all';
  /** 'float32', 'int8', 'int4', … */
  readonly scheme: string;
  readonly weightBytes: number;
  /** multiply-adds for an input of these dims */
  macs(dims: readonly number[]): number;
  scratchBytes(dims: readonly number[]): number;
  /** a promise, or nothing when it ran synchronously (the callers await only a promise) */
  run(io: LayerIO): Promise<void> | void;
  dispose(): void;
}

/** What a convolution model layer wraps: Conv2dF32, or Conv2dGemm in a quantized scheme. */
interface ConvRunner {
  readonly weightBytes: number;
  scratchBytes(h: number, w: number): number;
  run(n: number, h: number, w: number, x: number, y: number, scratch: number): Promise<void>;
  dispose(): void;
}

/** A convolution as a model layer (channels-last); `path` names how it runs. */
abstract class ConvModelLayer implements ModelLayer {
  readonly layout = 'nhwc';
  abstract readonly scheme: string;
  protected abstract readonly conv: ConvRunner;
  constructor(readonly geometry: ConvGeometry, private readonly actName: string) {}
  protected abstract get path(): string;
  get kind(): string {
    const g = this.geometry;
    return `Conv ${this.path} ${g.kh}x${g.kw}${this.actName ? ` + ${this.actName}` : ''}`;
  }
  get weightBytes(): number {
    return this.conv.weightBytes;
  }
  macs(dims: readonly number[]): number {
    const g = this.geometry;
    const [oh, ow] = convOutSize(g, dims[2], dims[3]);
    return dims[0] * oh * ow * g.cout * (g.cin / g.group) * g.kh * g.kw;
  }
  scratchBytes(dims: readonly number[]): number {
    return this.conv.scratchBytes(dims[2], dims[3]);
  }
  run(io: LayerIO): Promise<void> {
    return this.conv.run(io.dims[0], io.dims[2], io.dims[3], io.x, io.y, io.scratch);
  }
  dispose(): void {
    this.conv.dispose();
  }
}

export class ConvLayerF32 extends ConvModelLayer {
  readonly scheme = 'float32';
  protected readonly conv: Conv2dF32;
  constructor(rt: Runtime, geometry: ConvGeometry, weight: Float32Array, bias: Float32Array | null, readonly activation: ConvActivation | null = null, actName = '') {
    super(geometry, actName);
    this.conv = new Conv2dF32(rt, geometry, weight, bias, activation);
  }
  get path(): ConvPath {
    return this.conv.path;
  }
}

/** y[M, N] = x[M, K] W[K, N] + bias, M = product of x's leading dims. */
export class LinearLayerF32 implements ModelLayer {
  readonly scheme = 'float32';
  readonly kind = 'Linear';
  private readonly w: F32Weights;
  private readonly biasPtr: number;
  private readonly act: ChannelActivation;
  constructor(private readonly rt: Runtime, readonly k: number, readonly n: number, weight: Float32Array, bias: Float32Array | null, transposed = false, activation: ConvActivation | null = null) {
    if (bias && bias.length !== n) throw new ArgumentError(`Linear: bias has ${bias.length} values, expected ${n}`);
    this.act = new ChannelActivation(rt, n, activation);
    this.w = packF32(rt, weight, k, n, transposed);
    const np = Math.ceil(n / F32_NR) * F32_NR;
    this.biasPtr = bias ? rt.alloc(np * 4) : 0;
    if (bias) {
      const v = rt.view(Float32Array, this.biasPtr, np);
      v.fill(0);
      v.set(bias);
    }
  }
  get weightBytes(): number {
    return this.w.bytes;
  }
  macs(dims: readonly number[]): number {
    return (dims.reduce((a, b) => a * b, 1) / this.k) * this.n * this.k;
  }
  scratchBytes(): number {
    return 0;
  }
  async run(io: LayerIO): Promise<void> {
    const m = io.dims.reduce((a, b) => a * b, 1) / this.k;
    const [lo, hi] = this.act.clamp;
    await f32Gemm(this.rt, { m, a: io.x, aStride: this.k * 4, w: this.w, c: io.y, cStride: this.n * 4, bias: this.biasPtr, lo, hi });
    await this.act.apply(io.y, m);
  }
  dispose(): void {
    this.act.dispose();
    this.w.dispose();
    if (this.biasPtr) this.rt.free(this.biasPtr);
  }
}

/**
 * A MatMulNBits file's layer in a float32 model: the file's 4-bit blocks packed as they are, float32
 * activations (W4A32): the weights are never dequantized, so the layer takes about the file's bytes.
 * A NaN input gives NaN, as float32 does; an infinite one gives NaN too (the kernel subtracts the
 * zero point times the block's input sum), where a dequantized float32 product gives ±infinity.
 */
export class Int4FileLinearLayer implements ModelLayer {
  readonly kind = 'Linear 4-bit (W4A32)';
  readonly scheme = 'float32';
  private readonly gemm: FourBitGemm;
  private readonly beforeDispose: (() => void)[] = [];
  /** `blocks`: a MatMulNBits file's B as Int4Nibbles packs without expanding the codes first */
  constructor(rt: Runtime, blocks: Int4Blocks | Int4Nibbles, bias: Float32Array | null, activation: ConvActivation | null = null) {
    this.gemm = new FourBitGemm(rt, { kernel: 'qb4', blocks, activations: 'float32' }, bias, activation);
  }
  /** the blocks it packed, read back out of linear memory (lossless) */
  unpackBlocks(): Int4Blocks {
    return this.gemm.unpackBlocks();
  }
  /** runs `fn` when disposed, while the packed weights are still readable */
  whenDisposed(fn: () => void): void {
    this.beforeDispose.push(fn);
  }
  get weightBytes(): number {
    return this.gemm.weightBytes;
  }
  macs(dims: readonly number[]): number {
    return (dims.reduce((a, b) => a * b, 1) / this.gemm.k) * this.gemm.n * this.gemm.k;
  }
  scratchBytes(dims: readonly number[]): number {
    return this.gemm.scratchBytes(dims.reduce((a, b) => a * b, 1) / this.gemm.k);
  }
  run(io: LayerIO): Promise<void> | void {
    return this.gemm.run(elementCount(io.dims) / this.gemm.k, io.x, io.y, io.scratch);
  }
  dispose(): void {
    for (const fn of this.beforeDispose.splice(0)) fn();
    this.gemm.dispose();
  }
}

/** A quantized convolution (group 1, as a GEMM over pixels) as a model layer, channels-last. */
export class QuantConvLayer extends ConvModelLayer {
  readonly scheme: string;
  protected readonly conv: Conv2dGemm;
  constructor(rt: Runtime, geometry: ConvGeometry, readonly weights: LayerWeights, bias: Float32Array | null, activation: ConvActivation | null, actName = '', check: NonFiniteCheck = { mode: 'nan', label: 'Conv' }) {
    super(geometry, actName);
    this.scheme = weights.format.name;
    this.conv = new Conv2dGemm(rt, geometry, new NonFiniteGuard(rt, weights.format.gemm(rt, weights.data, bias, activation), check.mode, check.label, staticInputRange(weights.data)));
  }
  protected get path(): string {
    return this.conv.im2col ? 'im2col' : 'pointwise';
  }
}

/** A quantized linear layer: y[M, N] = x[M, K] W + bias, M = product of x's leading dims. */
export class QuantLinearLayer implements ModelLayer {
  readonly kind = 'Linear';
  readonly scheme: string;
  private readonly gemm: GemmImpl;
  constructor(rt: Runtime, readonly weights: LayerWeights, bias: Float32Array | null, activation: ConvActivation | null = null, check: NonFiniteCheck = { mode: 'nan', label: 'Linear' }) {
    this.scheme = weights.format.name;
    this.gemm = new NonFiniteGuard(rt, weights.format.gemm(rt, weights.data, bias, activation), check.mode, check.label, staticInputRange(weights.data));
  }
  get weightBytes(): number {
    return this.gemm.weightBytes;
  }
  macs(dims: readonly number[]): number {
    return (dims.reduce((a, b) => a * b, 1) / this.gemm.k) * this.gemm.n * this.gemm.k;
  }
  scratchBytes(dims: readonly number[]): number {
    return this.gemm.scratchBytes?.(dims.reduce((a, b) => a * b, 1) / this.gemm.k) ?? 0;
  }
  run(io: LayerIO): Promise<void> | void {
    return this.gemm.run(elementCount(io.dims) / this.gemm.k, io.x, io.y, io.scratch);
  }
  dispose(): void {
    this.gemm.dispose();
  }
}
