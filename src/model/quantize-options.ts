// What quantizeModel takes (its options) and what the 'auto' search reports.

import type { GraphNode } from './graph.js';
import type { Feeds } from './calibrate.js';
import type { NonFinite } from '../layers/nonfinite.js';

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
   * How an int8 layer's input range is chosen from what calibration saw:
   * 'minmax' (default) or a percentile such as 99.99 (clips rare outliers).
   */
  range?: 'minmax' | number;
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
  /** 'fpx': the exponent/mantissa splits to choose from per layer (default all: 'E1M6' … 'E5M2') */
  fpxSplits?: readonly string[];
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

