// An INT8 linear layer, y = x W + b, built from float32 weights, with its float32 reference.
//
// Weights: symmetric, per output channel (column), int8 in [-127, 127], or 7-bit [-63, 63] which
// the relaxed build runs through its faster 7-bit dot product (same results on every engine either
// way; 7-bit trades ~6 dB of weight SQNR for speed). Activations: quantized at run time per tensor
// (asymmetric uint8, ONNX DynamicQuantizeLinear's rule) or per row (symmetric int8), or statically
// with a scale and zero point calibrated beforehand on sample inputs.

import { ArgumentError, ShapeError, ValueRangeError } from '../errors.js';
import type { Runtime } from '../runtime/runtime.js';
import { packQs8, runQs8, type Qs8Weights } from '../kernels/qs8.js';
import { FloatReference } from './reference.js';
import { minMaxF32, quantizeQ8 } from '../kernels/q8.js';
import { dynamicQuantParams, quantizeColumnsSymmetric, symmetricColumnScales } from '../quant/q8.js';
import { compareTo, type ErrorReport } from '../compare/metrics.js';
import { linearShape, checkBias } from './shape.js';
import { checkTensor, type Tensor } from '../tensor.js';

export type ActivationScheme = 'dynamic-per-tensor' | 'dynamic-per-row' | 'static';

export interface LinearOptions {
  /** 'int8' (the default); see Int4LinearOptions for 'int4' */
  dtype?: 'int8';
  /** weight precision: 8 (default) or 7 bits */
  weightBits?: 8 | 7;
  /** how activations are quantized (default 'dynamic-per-tensor') */
  activations?: ActivationScheme;
  /** for 'static': sample inputs (rows of K floats) to calibrate the activation range on */
  calibration?: Float32Array;
  /** weight given as [N, K] (PyTorch nn.Linear) instead of [K, N] (ONNX MatMul) */
  transposed?: boolean;
  /** clamp outputs at 0 */
  relu?: boolean;
  /** keep the float32 weights for forwardFloat / compare (default true; packed into wasm memory on first use) */
  reference?: boolean;
}

export interface LinearComparison {
  error: ErrorReport;
  quantized: Float32Array;
  reference: Float32Array;
}

export class QuantizedLinear {
  private constructor(
    private readonly rt: Runtime,
    readonly k: number,
    readonly n: number,
    readonly options: Required<Pick<LinearOptions, 'weightBits' | 'activations' | 'relu'>>,
    private readonly qWeights: Qs8Weights,
    private readonly reference: FloatReference,
    readonly weightScales: Float32Array,
    private readonly bias: Float32Array | null,
    /** static activation parameters (uint8, asymmetric), when calibrated */
    readonly activationParams: { scale: number; zeroPoint: number } | null,
  ) {}

  /** Builds the layer from float32 weights W ([K, N], or [N, K] with `transposed`) and optional bias [N]. */
  static async create(rt: Runtime, weight: Float32Array, dims: readonly [number, number], bias: Float32Array | null, options: LinearOptions = {}): Promise<QuantizedLinear> {
    rt.check();
    const { k, n } = linearShape(weight, dims, options.transposed);
    checkBias(bias, n);
    for (let i = 0; i < weight.length; i++) {
      if (!Number.isFinite(weight[i])) throw new ValueRangeError(`weight: element ${i} is ${weight[i]}; weights must be finite`);
    }
    if (options.dtype !== undefined && options.dtype !== 'int8') throw new ArgumentError(`dtype: expected 'int8' or 'int4', got ${String(options.dtype)}`);
    const weightBits = options.weightBits ?? 8;
    if (weightBits !== 8 && weightBits !== 7) throw new ArgumentError(`weightBits: expected 8 or 7, got ${String(weightBits)}`);
    const activations = options.activations ?? 'dynamic-per-tensor';
    if (!['dynamic-per-tensor', 'dynamic-per-row', 'static'].includes(activations)) {
      throw new ArgumentError(`activations: expected 'dynamic-per-tensor', 'dynamic-per-row' or 'static', got ${String(activations)}`);
    }
    // calibrate before allocating anything, so a bad calibration leaks nothing
    let activationParams: { scale: number; zeroPoint: number } | null = null;
    if (activations === 'static') {
      const cal = options.calibration;
      if (!(cal instanceof Float32Array) || cal.length === 0 || cal.length % k !== 0) {
        throw new ArgumentError(`calibration: 'static' activations need sample inputs as a Float32Array of rows of ${k}`);
      }
      const [lo, hi] = await minMaxF32(rt, cal);
      if (!Number.isFinite(lo) || !Number.isFinite(hi)) throw new ValueRangeError('calibration: contains NaN or Infinity');
      activationParams = dynamicQuantParams(lo, hi, 0, 255);
    }
    let w = weight;
    if (options.transposed) {
      w = new Float32Array(k * n);
      for (let i = 0; i < n; i++) for (let j = 0; j < k; j++) w[j * n + i] = weight[i * k + j];
    }
    const qmax = weightBits === 8 ? 127 : 63;
    const scales = symmetricColumnScales(w, k, n, qmax);
    const q = quantizeColumnsSymmetric(w, k, n, scales, qmax);
    const qWeights = packQs8(rt, q, k, n, new Int32Array(n));
    // the float reference keeps its own copy (packed on first use) unless reference: false
    const kept = options.reference === false ? null : w === weight ? weight.slice() : w;
    const reference = new FloatReference(rt, kept ? () => kept : null, k, n, false);
    return new QuantizedLinear(rt, k, n, { weightBits, activations, relu: !!options.relu }, qWeights, reference, scales, bias ? bias.slice() : null, activationParams);
  }

  /** which kernel layout the weights got: 'c4' (relaxed 7-bit) or 'c2' (baseline) */
  get kernelLayout(): string {
    return this.qWeights.layout;
  }

  /** bytes of packed int8 weights */
  get weightBytes(): number {
    return this.qWeights.bytes;
  }

  private input(x: Float32Array | Tensor<'float32'>): Float32Array {
    if (x instanceof Float32Array) return x;
    const t = checkTensor(x, 'x', ['float32']);
    if (t.dims[t.dims.length - 1] !== this.k) throw new ShapeError(`x: last dimension must be K = ${this.k}, got dims [${t.dims.join(', ')}]`);
    return t.data;
  }

  private rows(x: Float32Array): number {
    if (x.length % this.k !== 0) throw new ShapeError(`x: ${x.length} elements is not a whole number of rows of K = ${this.k}`);
    return x.length / this.k;
  }

  /** y = x W + b through the int8 kernels; x holds M rows of K (a Float32Array or a float32 tensor [..., K]). */
  async forward(input: Float32Array | Tensor<'float32'>): Promise<Float32Array> {
    const x = this.input(input);
    const m = this.rows(x);
    const rt = this.rt;
    const common = { kind: 'float32' as const, colScale: this.weightScales, bias: this.bias ?? undefined, relu: this.options.relu };
    if (this.options.activations === 'dynamic-per-row') {
      // symmetric int8 per row: scale_m = max|x_m| / 127
      const rowScale = new Float32Array(m);
      for (let i = 0; i < m; i++) {
        let a = 0;
        for (let j = i * this.k; j < (i + 1) * this.k; j++) {
          const v = Math.abs(x[j]);
          if (v > a || Number.isNaN(v)) a = v;
        }
        if (!Number.isFinite(a)) throw new ValueRangeError(`x: row ${i} contains NaN or Infinity`);
        rowScale[i] = a > 0 ? Math.fround(a / 127) : 1;
      }
      const q = await quantizeQ8(rt, x, { outer: 1, channels: m, inner: this.k }, rowScale, new Int32Array(m), true);
      return (await runQs8(rt, q, m, 0, this.qWeights, { ...common, rowScale })) as Float32Array;
    }
    let params = this.activationParams;
    if (!params) {
      const [lo, hi] = await minMaxF32(rt, x);
      if (!Number.isFinite(lo) || !Number.isFinite(hi)) throw new ValueRangeError('x: contains NaN or Infinity');
      params = dynamicQuantParams(lo, hi, 0, 255);
    }
    const q = await quantizeQ8(rt, x, { outer: 1, channels: 1, inner: x.length }, Float32Array.of(params.scale), Int32Array.of(params.zeroPoint), false);
    return (await runQs8(rt, q, m, params.zeroPoint, this.qWeights, { ...common, rowScale: new Float32Array(m).fill(params.scale) })) as Float32Array;
  }

  /** the float32 layer this one approximates: y = x W + b in float32 */
  async forwardFloat(input: Float32Array | Tensor<'float32'>): Promise<Float32Array> {
    const x = this.input(input);
    const m = this.rows(x);
    return this.reference.run(x, m, this.bias, this.options.relu ? 0 : -Infinity, Infinity);
  }

  /** runs both and reports the quantized output's error against the float one */
  async compare(x: Float32Array | Tensor<'float32'>): Promise<LinearComparison> {
    const [quantized, reference] = [await this.forward(x), await this.forwardFloat(x)];
    return { error: compareTo(reference, quantized), quantized, reference };
  }

  dispose(): void {
    this.qWeights.dispose();
    this.reference.dispose();
  }
}
