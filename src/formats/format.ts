// One weight format: everything lowbit knows about a way of storing a layer's weights, in one
// place (anchor: ggml's type traits). Layers, quantizeModel, saveQuantized/loadQuantized, the CLI,
// the benches and the determinism script iterate the table (src/formats/table.ts) and never spell
// out a format's name. docs/adding-a-format.md says how to add one.

import type { ConvActivation } from '../layers/activation.js';
import type { GemmImpl } from '../layers/gemm.js';
import type { LinearRunner } from '../layers/linear-runner.js';
import type { ActivationQuant } from '../quant/activation-range.js';
import type { SafeDtype, SafeData, SafeTensor } from './safetensors.js';
import type { Runtime as KernelHost } from '../runtime/runtime.js';

/** What a model layer's quantizer gets besides its weights. */
export interface QuantizeContext {
  /** the layer input's static uint8 quantization, from calibration (formats with needsInputRange) */
  input?: ActivationQuant;
  /** format-specific knobs from quantizeModel's options (e.g. ant4's block size) */
  options?: Readonly<Record<string, unknown>>;
  /**
   * The layer input's second moment H = X^T X / rows (K x K, float64; im2col order for
   * convolutions), from calibration inputs propagated through the layers quantized before it
   * (quantizeModel's GPTQ pass). Formats that can use it (GPTQ, ANT's type chosen by its effect on
   * the layer output, tr(dW H dW^T)) do; the rest ignore it.
   */
  hessian?: Float64Array;
  /** the layer input's extremes per channel over calibration (a value's channel is its index mod their length; int8-outlier's outlierQuantile) */
  inputChannels?: { channelMin: ArrayLike<number>; channelMax: ArrayLike<number> };
}

/** A saved layer's metadata record: the format's name, the layer's K and N, and the format's own fields. */
export interface SavedRecord {
  scheme: string;
  k: number;
  n: number;
  [field: string]: unknown;
}

/** Reads one of a saved layer's tensors, checking its dtype and element count (throws ModelError). */
export interface SavedReader {
  /** the layer's key in the file, for messages */
  readonly key: string;
  tensor(part: string, dtype: SafeDtype, count: number): SafeData;
  has(part: string): boolean;
  /** a ModelError naming the format and the layer */
  error(message: string): Error;
}

export interface WeightFormat<W = unknown> {
  /** the scheme name users pass (quantizeModel's scheme, rt.linear's dtype, the CLI's --scheme) */
  readonly name: string;
  /** how reports and the demo name a model quantized in this format */
  readonly label: string;
  /** one line for --help: what the weights and activations are */
  readonly summary: string;
  /** whether quantize() needs the layer input's calibrated range (ctx.input) */
  readonly needsInputRange: boolean;
  /** whether its activations are quantized per run from the input's own range, so quantizeModel and the CLI need no calibration inputs for it */
  readonly calibrationFree?: boolean;
  /** whether quantize() uses ctx.hessian (GPTQ): quantizeModel's method 'gptq' takes such formats */
  readonly usesHessian?: boolean;
  /** whether 'auto' tries it on every layer by default (default true; autoCandidates can still name it) */
  readonly autoCandidate?: boolean;
  /** how far gemm() may be from reference(): 0 means bit for bit, else a budget relative to max |reference| */
  readonly referenceTolerance: number;

  /** Quantizes a layer's float32 weights, given as output-channel rows [N][K]. */
  quantize(wnk: Float32Array, n: number, k: number, ctx: QuantizeContext): W;
  /** K and N of quantized weights */
  dims(w: W): { k: number; n: number };
  /** The GEMM that runs the weights (packing them into linear memory), with bias and activation. */
  gemm(host: KernelHost, w: W, bias: Float32Array | null, activation: ConvActivation | null): GemmImpl;
  /** Scalar reference of gemm() without an activation: y [M][N] for x [M][K]. */
  reference(w: W, x: Float32Array, m: number, bias: Float32Array | null): Float32Array;
  /** The weights as float32 rows [N][K], as the GEMM sees them (the float reference of a reloaded layer). */
  dequantize(w: W): Float32Array;
  /** what the weights became, for reports (the ANT type, the FP8 format), or '' */
  detail(w: W): string;
  /** bytes of the weights as stored (codes, scales, tables) */
  storedBytes(w: W): number;
  /** The saved form: tensors through `put`, the record's own fields returned. */
  save(w: W, put: (part: string, t: SafeTensor) => void): Record<string, unknown>;
  /** The weights from a saved record, validating every field and tensor against K and N. */
  load(record: SavedRecord, read: SavedReader): W;
  /** How rt.linear builds a layer of this format, when not by quantize() and gemm() (src/formats/linear.ts). */
  readonly linear?: LinearHook<W>;
}

/** A format's own way to build and run rt.linear layers (its options, its activation handling). */
export interface LinearHook<W> {
  /** the rt.linear options it takes besides dtype, transposed and reference */
  readonly options: readonly string[];
  /** weights and runner from float32 rows [N][K]; options are the user's, to be checked here */
  build(host: KernelHost, rows: Float32Array, n: number, k: number, bias: Float32Array | null, options: Readonly<Record<string, unknown>>): Promise<{ data: W; runner: LinearRunner; relu?: boolean }>;
  /**
   * build() from the float32 weights as the user gave them, [K, N] (or [N, K] when `transposed`): a
   * format that quantizes in one pass over either layout takes this, and the layer skips its transpose
   */
  buildFrom?(host: KernelHost, weight: Float32Array, transposed: boolean, n: number, k: number, bias: Float32Array | null, options: Readonly<Record<string, unknown>>): Promise<{ data: W; runner: LinearRunner; relu?: boolean }>;
  /** a runner for weights already quantized (Linear.fromWeights) */
  runner?(host: KernelHost, data: W, bias: Float32Array | null, options: Readonly<Record<string, unknown>>): LinearRunner;
}

/** A layer's quantized weights with the format that owns them. */
export interface LayerWeights<W = unknown> {
  readonly format: WeightFormat<W>;
  readonly data: W;
}

/**
 * A saved layer's scales, checked: finite, and > 0 where the format's quantizer only makes positive
 * scales (a NaN, infinite or impossible scale would run and silently answer wrong).
 */
export function checkScales<T extends ArrayLike<number>>(read: SavedReader, scales: T, positive: boolean, name = 'scales'): T {
  for (let i = 0; i < scales.length; i++) {
    const s = scales[i];
    if (!Number.isFinite(s) || (positive && !(s > 0))) throw read.error(`has ${name}[${i}] = ${s}; expected ${positive ? 'finite scales > 0' : 'finite scales'}`);
  }
  return scales;
}
