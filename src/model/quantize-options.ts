// What quantizeModel takes (its options) and what the 'auto' search reports.

import type { GraphNode } from './graph.js';
import type { Feeds } from './calibrate.js';
import type { NonFinite } from '../layers/nonfinite.js';
import { ArgumentError, describe } from '../errors.js';
import { WEIGHT_FORMATS } from '../formats/table.js';
import type { GptqSettings } from '../quant/gptq.js';

/** What one layer runs in: 'float32' or a weight format's name (src/formats/table.ts). Depthwise and grouped convolutions are float32 in every scheme. */
export type LayerScheme = string;

export interface QuantizeOptions {
  /**
   * A weight format's name (src/formats/table.ts: 'int8', 'int4', 'fp8', 'ant4', 'nf4'; each
   * entry's `summary` says what it is), or
   * 'auto': mixed int4/int8 by measured sensitivity: each layer's effect on the model output
   * (with that layer int4 and the rest int8: top-1 agreement with float32, then output SQNR) is
   * measured on calibration inputs; the least sensitive layers go to int4, one at a time, kept
   * only while the mix's top-1 agreement stays at or above top1Budget.
   */
  scheme: string;
  /** inputs to calibrate on (at least one) */
  calibration: Feeds[];
  /**
   * How an int8 layer's input range is chosen from what calibration saw: 'minmax' (default), a
   * percentile in (50, 100] such as 99.99 (clips rare outliers), or 'mse': the clip of each side
   * that minimises the activation's quantization mean squared error over the calibration sample, or
   * 'output': the clip that minimises the layer's modelled output error (the activation errors
   * weighted by the layer's weights; src/quant/output-error.ts).
   */
  range?: 'minmax' | 'mse' | 'output' | number;
  /**
   * int8: per-input-channel activation scales migrated into the weights (SmoothQuant), with this
   * migration strength alpha in [0, 1]: channel c is divided by max|x_c|^alpha / max|W_c|^(1-alpha)
   * before the per-tensor uint8 scale, and its weight rows multiplied by it. Default: off.
   */
  smoothing?: number;
  /**
   * int8: where activations round up (AQuant's adaptive border): 'nearest' (default, 0.5), or a
   * border learned on the calibration sample to minimise the layer's output error, one per 'layer'
   * or per input 'channel'.
   */
  roundingBorder?: 'nearest' | 'layer' | 'channel';
  /**
   * 'auto': the least top-1 agreement with float32 (argmax along the output's last axis, over the
   * probe inputs, 0..1) the mix must keep (default: all-int8's, minus top1Allowance)
   */
  top1Budget?: number;
  /** 'auto': how much below all-int8's top-1 agreement the mix may go (default 0) */
  top1Allowance?: number;
  /** 'auto': how many calibration inputs measure sensitivity (default 16) */
  sensitivityInputs?: number;
  /** 'ant4': ANT's type chosen per output channel, not per tensor (LUT4 then runs a table per panel of 8 columns) */
  ant4PerChannelType?: boolean;
  /**
   * 'ant4': how ANT's 4-bit type is chosen: 'error', the weights' squared error (ANT's way), or
   * 'effect', the layer output's error on the calibration inputs, tr(ΔW H ΔWᵀ) with H = XᵀX / rows of
   * the layer's input (per output channel with ant4PerChannelType). Default: 'effect' for layers
   * whose Hessian quantizeModel has, else 'error'. Asking for 'effect' takes each layer's H from the
   * float model on the calibration inputs (src/model/layer-hessians.ts).
   */
  antChoice?: 'error' | 'effect';
  /** 'ant4' chosen by effect: refine ANT's clip ratios by the output error too (default true) */
  antClipByEffect?: boolean;
  /**
   * How weights are rounded: 'rtn' (default: round to nearest, each format's own rules) or 'gptq'
   * (schemes whose format uses the Hessian: int4, ant4): the layers are quantized one after
   * another in execution order with GPTQ, each from the Hessian XᵀX / rows of its input on the
   * calibration inputs as they come through the layers quantized before it. Slower: about L/2
   * model runs per calibration input for L layers, plus GPTQ's O(K³ + N·K²) per layer.
   */
  method?: 'rtn' | 'gptq';
  /** 'gptq': quantize the columns of K by descending input energy (H's diagonal), block scales fixed up front (default false) */
  actOrder?: boolean;
  /** 'gptq': added to H's diagonal, as a fraction of its mean (default 0.01) */
  dampPercent?: number;
  /** 'gptq': each block's scale by a clip search on its values as GPTQ has them (default true) */
  clipSearch?: boolean;
  /** 'fpx': the exponent/mantissa splits to choose from per layer (default all: 'E1M6' … 'E5M2') */
  fpxSplits?: readonly string[];
  /**
   * 'fpx': how each layer's split and channel scales are chosen: 'error', the weights' squared error
   * (default), or 'effect', the layer output's error tr(ΔW H ΔWᵀ) with H from the float model on the
   * calibration inputs (as antChoice 'effect')
   */
  fpxChoice?: 'error' | 'effect';
  /** a scheme for particular nodes, overriding the rest */
  layerScheme?: (node: GraphNode) => LayerScheme | undefined;
  onProgress?: (done: number, total: number, phase: string) => void;
  /**
   * A NaN or infinite input to a quantized layer: 'nan' (default) makes the output rows (pixels) it
   * reaches NaN, as float32 would; 'error' makes the run a ValueRangeError naming the layer
   */
  nonFinite?: NonFinite;
}

export interface LayerChoice {
  node: GraphNode;
  scheme: LayerScheme;
  /** with this layer int4 and the rest int8: top-1 agreement with float32, and output SQNR (dB) */
  top1WhenInt4?: number;
  outputSqnrDbWhenInt4?: number;
}

/** What the 'auto' search measured on its probe inputs (top-1 agreement with float32 is 0..1). */
export interface MixReport {
  top1: number;
  outputSqnrDb: number;
  int8Top1: number;
  int8OutputSqnrDb: number;
  top1Budget: number;
  probeInputs: number;
}

const GPTQ_KNOBS = ['actOrder', 'dampPercent', 'clipSearch'] as const;

/** Checks method and the GPTQ options: the GPTQ settings, or null for round to nearest. */
export function checkGptqOptions(options: QuantizeOptions): GptqSettings | null {
  const method = options.method ?? 'rtn';
  if (method !== 'rtn' && method !== 'gptq') throw new ArgumentError(`quantize: method must be 'rtn' or 'gptq', got ${describe(method)}`);
  if (method === 'rtn') {
    for (const name of GPTQ_KNOBS) if (options[name] !== undefined) throw new ArgumentError(`quantize: ${name} is only used with method 'gptq' (method is 'rtn')`);
    return null;
  }
  const takers = WEIGHT_FORMATS.filter((f) => f.usesHessian).map((f) => `'${f.name}'`).join(', ');
  if (options.scheme === 'auto' || !WEIGHT_FORMATS.find((f) => f.name === options.scheme)?.usesHessian) {
    throw new ArgumentError(`quantize: method 'gptq' needs a scheme whose format uses the layer Hessian (${takers}), got scheme '${String(options.scheme)}'`);
  }
  for (const name of ['actOrder', 'clipSearch'] as const) {
    if (options[name] !== undefined && typeof options[name] !== 'boolean') throw new ArgumentError(`quantize: ${name} must be a boolean, got ${describe(options[name])}`);
  }
  const damp = options.dampPercent;
  if (damp !== undefined && !(typeof damp === 'number' && Number.isFinite(damp) && damp >= 0)) throw new ArgumentError(`quantize: dampPercent must be a finite number >= 0 (a fraction of H's mean diagonal, e.g. 0.01), got ${describe(damp)}`);
  return { actOrder: options.actOrder ?? false, dampPercent: damp ?? 0.01, clipSearch: options.clipSearch ?? true };
}
