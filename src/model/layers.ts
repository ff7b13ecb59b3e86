// The layers a model plan runs on wasm kernels: convolutions and matrix products with constant
// weights. Each reads and writes float32 buffers in linear memory (channels-last for images);
// the scheme (float32, int8, …) is the layer's business, the plan only places buffers.

import { ArgumentError } from '../errors.js';
import { F32_NR, packF32, type F32Weights } from '../kernels/f32.js';
import { Conv2dF32, convOutSize, type ConvActivation, type ConvGeometry, type ConvPath } from '../layers/conv2d.js';
import type { Runtime } from '../runtime/runtime.js';
import { Conv2dQs8, LinearQs8, type ActivationQuant } from '../layers/conv2d-qs8.js';
import { Conv2dQb4, Qb4Matmul } from '../layers/conv2d-qb4.js';
import { Conv2dF8w, F8wMatmul } from '../layers/conv2d-f8w.js';

export interface LayerIO {
  /** byte address of the input (channels-last for images) */
  x: number;
  /** every runtime input's address and logical dims (layers with inputs > 1) */
  xs: number[];
  inDims: (readonly number[])[];
  /** byte address of the output */
  y: number;
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
  /** 'float32', 'int8', 'int4', … */
  readonly scheme: string;
  readonly weightBytes: number;
  /** multiply-adds for an input of these dims */
  macs(dims: readonly number[]): number;
  scratchBytes(dims: readonly number[]): number;
  run(io: LayerIO): Promise<void>;
  dispose(): void;
}

export class ConvLayerF32 implements ModelLayer {
  readonly scheme = 'float32';
  readonly layout = 'nhwc';
  private readonly conv: Conv2dF32;
  constructor(rt: Runtime, readonly geometry: ConvGeometry, weight: Float32Array, bias: Float32Array | null, readonly activation: ConvActivation | null = null, private readonly actName = '') {
    this.conv = new Conv2dF32(rt, geometry, weight, bias, activation);
  }
  get path(): ConvPath {
    return this.conv.path;
  }
  get kind(): string {
    return `Conv ${this.conv.path} ${this.geometry.kh}x${this.geometry.kw}${this.actName ? ` + ${this.actName}` : ''}`;
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

/** y[M, N] = x[M, K] W[K, N] + bias, M = product of x's leading dims. */
export class LinearLayerF32 implements ModelLayer {
  readonly scheme = 'float32';
  readonly kind = 'Linear';
  private readonly w: F32Weights;
  private readonly biasPtr: number;
  constructor(private readonly rt: Runtime, readonly k: number, readonly n: number, weight: Float32Array, bias: Float32Array | null, transposed = false) {
    if (bias && bias.length !== n) throw new ArgumentError(`Linear: bias has ${bias.length} values, expected ${n}`);
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
  run(io: LayerIO): Promise<void> {
    const m = io.dims.reduce((a, b) => a * b, 1) / this.k;
    return this.rt.parallelColumns(this.n, F32_NR, (n0, n1) => ['f32_gemm_4x8', [m, n0, n1, this.k, io.x, this.k * 4, this.w.ptr, io.y, this.n * 4, this.biasPtr, -Infinity, Infinity]], m === 1 ? 64 : F32_NR);
  }
  dispose(): void {
    this.w.dispose();
    if (this.biasPtr) this.rt.free(this.biasPtr);
  }
}

/** A convolution implementation in some scheme, as the model layers below wrap it. */
interface ConvImpl {
  readonly weightBytes: number;
  readonly im2col: boolean;
  scratchBytes(h: number, w: number): number;
  run(n: number, h: number, w: number, x: number, y: number, scratch: number): Promise<void>;
  dispose(): void;
}

/** A matrix-product implementation in some scheme: y[M, N] = x[M, K] W + bias. */
interface MatmulImpl {
  readonly weightBytes: number;
  scratchBytes?(m: number): number;
  run(m: number, x: number, y: number, scratch: number): Promise<void>;
  dispose(): void;
}

/** A quantized convolution as a model layer (channels-last). */
export class QuantConvLayer implements ModelLayer {
  readonly layout = 'nhwc';
  constructor(readonly scheme: string, readonly geometry: ConvGeometry, private readonly conv: ConvImpl, private readonly actName = '') {}
  get kind(): string {
    const g = this.geometry;
    return `Conv ${this.conv.im2col ? 'im2col' : 'pointwise'} ${g.kh}x${g.kw}${this.actName ? ` + ${this.actName}` : ''}`;
  }
  get weightBytes(): number {
    return this.conv.weightBytes;
  }
  macs(dims: readonly number[]): number {
    const g = this.geometry;
    const [oh, ow] = convOutSize(g, dims[2], dims[3]);
    return dims[0] * oh * ow * g.cout * g.cin * g.kh * g.kw;
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

/** A quantized linear layer: y[M, N] = x[M, K] W + bias, M = product of x's leading dims. */
export class QuantLinearLayer implements ModelLayer {
  readonly kind = 'Linear';
  constructor(readonly scheme: string, readonly k: number, readonly n: number, private readonly mm: MatmulImpl) {}
  get weightBytes(): number {
    return this.mm.weightBytes;
  }
  macs(dims: readonly number[]): number {
    return (dims.reduce((a, b) => a * b, 1) / this.k) * this.n * this.k;
  }
  scratchBytes(dims: readonly number[]): number {
    return this.mm.scratchBytes?.(dims.reduce((a, b) => a * b, 1) / this.k) ?? 0;
  }
  run(io: LayerIO): Promise<void> {
    return this.mm.run(io.dims.reduce((a, b) => a * b, 1) / this.k, io.x, io.y, io.scratch);
  }
  dispose(): void {
    this.mm.dispose();
  }
}

/** Weights [K, N] (or [N, K] when transposed) as output-channel rows [N, K]. */
export function rowsOf(weight: Float32Array, k: number, n: number, transposed: boolean): Float32Array {
  if (transposed) return weight;
  const t = new Float32Array(k * n);
  for (let i = 0; i < k; i++) for (let j = 0; j < n; j++) t[j * k + i] = weight[i * n + j];
  return t;
}

/** Weights [N, K] (transposed) or [K, N] as [K, N]. */
export function colsOf(weight: Float32Array, k: number, n: number, transposed: boolean): Float32Array {
  if (!transposed) return weight;
  const t = new Float32Array(k * n);
  for (let i = 0; i < k; i++) for (let j = 0; j < n; j++) t[i * n + j] = weight[j * k + i];
  return t;
}

export type QuantScheme = 'int8' | 'int4' | 'ant4' | 'fp8';

export function quantConvLayer(rt: Runtime, scheme: QuantScheme, g: ConvGeometry, weight: Float32Array, bias: Float32Array | null, act: ConvActivation | null, actName: string, input?: ActivationQuant): QuantConvLayer {
  const impl: ConvImpl =
    scheme === 'int8' ? new Conv2dQs8(rt, g, weight, bias, input!, act)
    : scheme === 'fp8' ? new Conv2dF8w(rt, g, weight, bias, act)
    : new Conv2dQb4(rt, g, weight, bias, act, scheme);
  return new QuantConvLayer(scheme, g, impl, actName);
}

export function quantLinearLayer(rt: Runtime, scheme: QuantScheme, k: number, n: number, weight: Float32Array, bias: Float32Array | null, transposed: boolean, input?: ActivationQuant): QuantLinearLayer {
  const impl: MatmulImpl =
    scheme === 'int8' ? new LinearQs8(rt, k, n, weight, bias, input!, transposed)
    : scheme === 'fp8' ? new F8wMatmul(rt, k, n, colsOf(weight, k, n, transposed), bias, null)
    : new Qb4Matmul(rt, k, n, rowsOf(weight, k, n, transposed), bias, null, scheme);
  return new QuantLinearLayer(scheme, k, n, impl);
}
