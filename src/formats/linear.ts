// One linear layer for every weight format, y = x W + b, with its float32 reference:
//   rt.linear(w, [K, N], bias, { dtype })   (dtype: a name from the format table; default 'int8')
// The format quantizes the weights and runs them (its GEMM, or its LinearHook's runner); the layer
// checks shapes and inputs, keeps the float32 weights it came from, and reports the error.

import { compareTo, type ErrorReport } from '../compare/metrics.js';
import { ArgumentError, ShapeError, ValueRangeError, describe } from '../errors.js';
import { transposeKN } from '../layers/conv2d-gemm.js';
import { gemmRunner, type LinearRunner } from '../layers/linear-runner.js';
import { FloatReference } from '../layers/reference.js';
import { checkBias, linearShape } from '../layers/shape.js';
import type { Int4Blocks } from '../quant/int4.js';
import type { Runtime } from '../runtime/runtime.js';
import { checkTensor, type Tensor } from '../tensor.js';
import type { LayerWeights, WeightFormat } from './format.js';
import { int4Format } from './int4.js';
import { weightFormat } from './table.js';
import type { Int4Activations } from '../layers/int4-linear.js';
import { checkCrushedWeights } from '../quant/crushed-weights.js';
import { forwardNonFinite, NON_FINITE_MODES, staticInputRange, type NonFinite } from '../layers/nonfinite.js';

export interface LinearOptions {
  /** the weight format (src/formats/table.ts): 'int8' (default), 'int4', 'fp8', 'ant4', 'nf4' */
  dtype?: string;
  /** weight given as [N, K] (PyTorch nn.Linear) instead of [K, N] (ONNX MatMul) */
  transposed?: boolean;
  /** keep a copy of the float32 weights for forwardFloat / compare (default false: a layer holds only its quantized weights;
   * with true the copy is packed into wasm memory on first use) */
  reference?: boolean;
  /** a NaN or infinite input: a ValueRangeError ('error', the default) or NaN in the output rows it reaches ('nan', as float32) */
  nonFinite?: NonFinite;
  /** the format's own options (see its LinearHook: e.g. int8's activations, int4's blockSize) */
  [option: string]: unknown;
}

export interface LinearComparison {
  error: ErrorReport;
  quantized: Float32Array;
  reference: Float32Array;
}

const COMMON_OPTIONS = ['dtype', 'transposed', 'reference', 'nonFinite'];

export class Linear<W = unknown> {
  private constructor(
    readonly k: number,
    readonly n: number,
    /** the quantized weights and the format that owns them */
    readonly weights: LayerWeights<W>,
    private readonly runner: LinearRunner,
    private readonly reference: FloatReference,
    private readonly bias: Float32Array | null,
    private readonly relu: boolean,
    private readonly nonFinite: NonFinite = 'error',
  ) {}

  /** Quantizes float32 weights W ([K, N], or [N, K] with `transposed`) with an optional bias [N] into the format `dtype`. */
  static async create(rt: Runtime, weight: Float32Array, dims: readonly [number, number], bias: Float32Array | null = null, options: LinearOptions = {}): Promise<Linear> {
    rt.check();
    const format = weightFormat(options.dtype ?? 'int8', 'dtype');
    const { k, n } = linearShape(weight, dims, options.transposed);
    checkBias(bias, n);
    checkOptions(format, options);
    const nonFinite = checkNonFinite(options.nonFinite);
    for (let i = 0; i < weight.length; i++) if (!Number.isFinite(weight[i])) throw new ValueRangeError(`weight: element ${i} is ${weight[i]}; weights must be finite`);
    checkCrushedWeights(`weight (${format.name})`, weight, n, k, options.transposed !== true);
    const b = bias ? bias.slice() : null;
    const transposed = options.transposed === true;
    if (format.linear?.buildFrom) {
      // the format reads the weights as given: no transposed copy
      const built = await format.linear.buildFrom(rt, weight, transposed, n, k, b, options);
      const kept = options.reference === true ? weight.slice() : null;
      return new Linear(k, n, { format, data: built.data }, built.runner, new FloatReference(rt, kept ? () => kept : null, k, n, transposed), b, built.relu === true, nonFinite);
    }
    // canonical rows are output channels: [N][K]
    const rows = options.transposed ? weight : transposeKN(weight, k, n);
    let built: { data: unknown; runner: LinearRunner; relu?: boolean };
    if (format.linear) built = await format.linear.build(rt, rows, n, k, b, options);
    else {
      if (format.needsInputRange) throw new ArgumentError(`dtype: '${format.name}' needs calibrated input ranges and has no linear layer of its own`);
      const data = format.quantize(rows, n, k, { options });
      built = { data, runner: gemmRunner(rt, format.gemm(rt, data, b, null)) };
    }
    // the float reference keeps its own copy (packed on first use) only with reference: true
    const kept = options.reference === true ? (rows === weight ? weight.slice() : rows) : null;
    return new Linear(k, n, { format, data: built.data }, built.runner, new FloatReference(rt, kept ? () => kept : null, k, n, true), b, built.relu === true, nonFinite);
  }

  /** A layer over weights already quantized in a format (e.g. int4 blocks from fromMatMulNBits or fromQ4_0); its float reference is the dequantized weights. */
  static async fromWeights<W>(rt: Runtime, format: WeightFormat<W>, data: W, bias: Float32Array | null = null, options: Readonly<Record<string, unknown>> = {}): Promise<Linear<W>> {
    rt.check();
    const { k, n } = format.dims(data);
    checkBias(bias, n);
    const b = bias ? bias.slice() : null;
    const { nonFinite, ...own } = options;
    const mode = checkNonFinite(nonFinite);
    const runner = format.linear?.runner ? format.linear.runner(rt, data, b, own) : gemmRunner(rt, format.gemm(rt, data, b, null), false, staticInputRange(data));
    return new Linear(k, n, { format, data }, runner, new FloatReference(rt, () => format.dequantize(data), k, n, true), b, false, mode);
  }

  /** A layer over 4-bit weights that are already quantized (fromMatMulNBits, fromQ4_0): Linear.fromWeights with the int4 format. */
  static fromBlocks(rt: Runtime, blocks: Int4Blocks, bias: Float32Array | null = null, activations?: Int4Activations): Promise<Linear<Int4Blocks>> {
    return Linear.fromWeights(rt, int4Format, blocks, bias, { activations });
  }

  /** the format's name */
  get dtype(): string {
    return this.weights.format.name;
  }

  /** what the weights became: the ANT type ('int4', 'flint4', 'pot4', 'per channel (...)'), the FP8 format, or the format's name */
  get type(): string {
    return this.weights.format.detail(this.weights.data) || this.weights.format.name;
  }

  /** which kernel layout the weights got ('c2', 'c4', 's4', ...) */
  get kernelLayout(): string {
    return this.runner.layout;
  }

  /** bytes of linear memory the packed weights take */
  get weightBytes(): number {
    return this.runner.weightBytes;
  }

  private input(x: Float32Array | Tensor<'float32'>): { data: Float32Array; m: number } {
    let data: Float32Array;
    if (x instanceof Float32Array) data = x;
    else {
      const t = checkTensor(x, 'x', ['float32']);
      if (t.dims[t.dims.length - 1] !== this.k) throw new ShapeError(`x: last dimension must be K = ${this.k}, got dims [${t.dims.join(', ')}]`);
      data = t.data;
    }
    if (data.length === 0 || data.length % this.k !== 0) throw new ShapeError(`x: ${data.length} elements is not a whole number of rows of K = ${this.k}`);
    return { data, m: data.length / this.k };
  }

  /** y = x W + b through the format's kernels; x holds M rows of K (a Float32Array or a float32 tensor [..., K]). */
  async forward(x: Float32Array | Tensor<'float32'>): Promise<Float32Array> {
    const { data, m } = this.input(x);
    if (this.nonFinite === 'nan') return forwardNonFinite(data, m, this.k, this.n, 'nan', 'x', (clean) => this.runner.forward(clean, m));
    if (!this.runner.checksInputs) {
      for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i])) throw new ValueRangeError(`x: element ${i} is ${data[i]}; inputs must be finite (no NaN or Infinity)`);
    }
    return this.runner.forward(data, m);
  }

  /** the float32 layer this one approximates: y = x W + b in float32 */
  async forwardFloat(x: Float32Array | Tensor<'float32'>): Promise<Float32Array> {
    const { data, m } = this.input(x);
    return this.reference.run(data, m, this.bias, this.relu ? 0 : -Infinity, Infinity);
  }

  /** runs both and reports the quantized output's error against the float one */
  async compare(x: Float32Array | Tensor<'float32'>): Promise<LinearComparison> {
    const quantized = await this.forward(x);
    const reference = await this.forwardFloat(x);
    return { error: compareTo(reference, quantized), quantized, reference };
  }

  dispose(): void {
    this.runner.dispose();
    this.reference.dispose();
  }
}

function checkNonFinite(mode: unknown): NonFinite {
  if (mode === undefined) return 'error';
  if (!NON_FINITE_MODES.includes(mode as NonFinite)) throw new ArgumentError(`nonFinite: expected 'error' or 'nan', got ${describe(mode)}`);
  return mode as NonFinite;
}

/** Rejects options the format does not take, naming the option and the ones it does. */
function checkOptions(format: WeightFormat<unknown>, options: LinearOptions): void {
  if (options === null || typeof options !== 'object') throw new ArgumentError(`options: expected an object, got ${describe(options)}`);
  const own = format.linear?.options ?? [];
  for (const [name, value] of Object.entries(options)) {
    if (value === undefined || COMMON_OPTIONS.includes(name) || own.includes(name)) continue;
    throw new ArgumentError(`${name}: dtype '${format.name}' does not take this option${own.length ? ` (it takes ${own.join(', ')})` : ''}`);
  }
}
