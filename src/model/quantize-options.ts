// What quantizeModel takes (its options) and what the 'auto' search reports.

import type { GraphNode } from './graph.js';
import type { Feeds } from './calibrate.js';
import type { ModelTensor } from './model.js';
import type { NonFinite } from '../layers/nonfinite.js';

/** What one layer runs in: 'float32' or a weight format's name (src/formats/table.ts). Depthwise and grouped convolutions are float32 in every scheme. */
export type LayerScheme = string;

export interface QuantizeOptions {
  /**
   * A weight format's name (src/formats/table.ts: 'int8', 'int4', 'fp8', 'ant4', 'nf4'; each
   * entry's `summary` says what it is), or
   * 'auto': a format per layer chosen by its measured effect on the model's output (src/model/auto-mix.ts):
   * each candidate format of each layer (autoCandidates) is tried with the rest int8 on part of the
   * calibration inputs (output SQNR and cosine against float32; top-1 agreement where the output is a
   * classifier's; the user's metric), a per-layer Hessian proxy prunes candidates first, and the mix
   * is chosen to meet autoBudget, then checked on the calibration inputs the search held back.
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
  /** 'auto': at most how many calibration inputs the search measures on (default: enough for 4096 output values, 16 to 64); the held-back check uses at most as many */
  sensitivityInputs?: number;
  /**
   * 'auto': what the mix may cost (default { maxSqnrDropDb: 1 }):
   * maxSqnrDropDb: its output SQNR against float32 at most this many dB below all-int8's (the
   * smallest such mix); maxBytes: its weight bytes at most this (the best SQNR that fits).
   * Both: the smallest mix that meets both.
   */
  autoBudget?: AutoBudget;
  /**
   * 'auto': the formats a layer may take: names of the format table (src/formats/table.ts) or
   * 'float32' (default: every format of the table, and float32). int8 is always the starting point.
   */
  autoCandidates?: readonly string[];
  /**
   * 'auto': whether top-1 agreement (argmax along the last axis) means something for this model:
   * true: every output with a last axis > 1 is a classifier's; false: never (an embedding, a
   * regression); default: outputs whose last axis is > 1.
   */
  classifier?: boolean;
  /** 'auto': a task metric on whole outputs (higher is better) the mix must keep (within its allowance of all-int8's) */
  metric?: OutputMetric;
  /** 'auto': the fraction of calibration inputs held back to check the search's choice (default 0.25; 0 turns the check off) */
  holdOut?: number;
  /** 'ant4': ANT's type chosen per output channel, not per tensor (LUT4 then runs a table per panel of 8 columns) */
  ant4PerChannelType?: boolean;
  /** a scheme for particular nodes, overriding the rest */
  layerScheme?: (node: GraphNode) => LayerScheme | undefined;
  onProgress?: (done: number, total: number, phase: string) => void;
  /**
   * A NaN or infinite input to a quantized layer: 'nan' (default) makes the output rows (pixels) it
   * reaches NaN, as float32 would; 'error' makes the run a ValueRangeError naming the layer
   */
  nonFinite?: NonFinite;
}

export interface AutoBudget {
  /** output SQNR (dB, against float32) at most this far below all-int8's */
  maxSqnrDropDb?: number;
  /** weight bytes (Model.weightBytes) at most this */
  maxBytes?: number;
}

/** A task metric: a score (higher is better) of the quantized outputs against float32's, one record per input. */
export interface OutputMetric {
  name: string;
  score(reference: Record<string, ModelTensor>[], quantized: Record<string, ModelTensor>[]): number;
  /** how far below all-int8's score the mix may go (default 0) */
  allowance?: number;
}

/** How close a model's outputs are to float32's over some inputs. */
export interface OutputScore {
  /** output SQNR against float32, dB (over every output value) */
  sqnrDb: number;
  /** cosine similarity with float32's, per output over all inputs' values, averaged over outputs */
  cosine: number;
  /** top-1 agreement along the last axis (0..1), where it means something (see QuantizeOptions.classifier) */
  top1?: number;
  /** the user's metric */
  metric?: number;
}

/** One format tried for one layer by the 'auto' search. */
export interface LayerTrial {
  scheme: LayerScheme;
  /** the layer's weight bytes in this format */
  bytes: number;
  /** the Hessian proxy: the layer's own output SQNR (dB) from this format's weight (and static input) rounding, on calibration rows */
  proxySqnrDb: number;
  /** the model's output with this layer in this format and the rest int8, on the search inputs (absent when pruned) */
  output?: OutputScore;
  /** why it was not measured (pruned by the proxy), if so */
  skipped?: string;
}

export interface LayerChoice {
  node: GraphNode;
  scheme: LayerScheme;
  /** the formats tried (the 'auto' search; absent for layers it did not choose) */
  trials?: LayerTrial[];
  /** why this layer got its scheme, in words */
  why?: string;
  /** with this layer int4 and the rest int8: top-1 agreement with float32, and output SQNR (dB) */
  top1WhenInt4?: number;
  outputSqnrDbWhenInt4?: number;
}

/** What the 'auto' search measured (top-1 agreement with float32 is 0..1). */
export interface MixReport {
  /** the budget the search met, as given (or defaulted) */
  budget: AutoBudget;
  /** the formats it could use */
  candidates: string[];
  /** weight bytes: all-int8 and the mix */
  int8Bytes: number;
  bytes: number;
  /** on the inputs the search measured on */
  search: { inputs: number; int8: OutputScore; mix: OutputScore };
  /** on the calibration inputs the search held back (absent with holdOut 0 or a single calibration input) */
  heldOut?: { inputs: number; int8: OutputScore; mix: OutputScore; withinBudget: boolean; checks: number };
  /** what the held-back check did: 'none' (passed), 'reverted' (some layer changes went back to int8 until it passed; heldOut.checks says how many checks) or 'int8' (all went back) */
  fallback: 'none' | 'reverted' | 'int8';
  // the search inputs' numbers under their earlier names
  top1: number;
  outputSqnrDb: number;
  int8Top1: number;
  int8OutputSqnrDb: number;
  top1Budget: number;
  probeInputs: number;
}

