// What quantizeModel takes (its options) and what the 'auto' search reports.

import type { MixRound } from './mix-search.js';
import type { StepTimer } from './auto-speed.js';
import type { GraphNode } from './graph.js';
import type { Feeds } from './calibrate.js';
import type { ModelTensor } from './model.js';
import type { NonFinite } from '../layers/nonfinite.js';
import type { SparsePattern } from '../layers/gemm-spmm.js';
import { ArgumentError, describe } from '../errors.js';
import { WEIGHT_FORMATS } from '../formats/table.js';
import type { GptqSettings } from '../quant/gptq.js';
import type { LayerTimer, PrunePlan } from './prune-latency.js';

/** int8-sparse's latency budget (see QuantizeOptions.sparsity). */
export interface SparsityLatency {
  /** the prunable layers' time as a fraction of their dense int8 time, in (0, 1] */
  latency: number;
  /** the patterns to try (default block4x4 and unstructured) */
  pattern?: SparsePattern | SparsePattern[];
  /** the fractions to try per pattern (default block4x4 0.25, 0.5, 0.75; unstructured 0.5, 0.75, 0.9) */
  targets?: number[];
  method?: 'obc' | 'magnitude';
}

/** What one layer runs in: 'float32' or a weight format's name (src/formats/table.ts). Depthwise and grouped convolutions are float32 in every scheme. */
export type LayerScheme = string;

/** quantizeModel's options for a calibration-free scheme ('int8-dynamic'): calibration may be left out (any other scheme throws without it). */
export type CalibrationFreeOptions = Omit<QuantizeOptions, 'calibration'> & { calibration?: Feeds[] };

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
  /** inputs to calibrate on (at least one; scheme 'int8-dynamic' takes none: CalibrationFreeOptions) */
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
   * Widens each side of every int8 layer's input range (after `range`) away from zero by this
   * fraction (default 0): room for inputs past what calibration saw, at the cost of resolution
   * (0.25: a quarter of a bit). src/model/activation-calibration.ts says what it was measured on.
   */
  rangeMargin?: number;
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
   * 'float32' (default: every format of the table whose entry does not opt out, and float32; int8-outlier opts out). int8 is always the starting point.
   */
  autoCandidates?: readonly string[];
  /**
   * 'auto': whether top-1 agreement (argmax along the last axis) means something for this model:
   * true: every output with a last axis > 1 is a classifier's (raw logits too); false: never (an
   * embedding, a regression); default: outputs a final Softmax/LogSoftmax makes (last axis > 1). Other
   * outputs are judged by output SQNR alone.
   */
  classifier?: boolean;
  /** 'auto': a task metric on whole outputs (higher is better) the mix must keep (within its allowance of all-int8's) */
  metric?: OutputMetric;
  /**
   * 'auto': what the search judges a model output on: 'logits' (default), for an output a final
   * Softmax or LogSoftmax makes, that node's input (a probability's SQNR swings with the few frames
   * near a tie; the logits' noise adds up layer by layer), else the output itself; 'outputs': always
   * the outputs. The metric always gets the outputs.
   */
  autoJudge?: 'logits' | 'outputs';
  /**
   * 'auto': the int8 model the budget and the final gate compare against, and fall back to. 'int8' (default): the
   * model scheme 'int8' gives, whose shape rule keeps layers too small for int8 to pay float32 (int8-shape-rule.ts);
   * those stay float32 and are not searched. 'all-int8': every layer int8 (as scheme 'int8' with speed 'off').
   */
  autoBaseline?: 'int8' | 'all-int8';
  /** 'auto': the fraction of calibration inputs held back to check the search's choice (default 1/3; the rest split evenly between the inputs the candidates' weights are fitted on and those the search measures on; 0 turns the check off) */
  holdOut?: number;
  /** 'ant4': ANT's type chosen per output channel, not per tensor (LUT4 then runs a table per panel of 8 columns) */
  ant4PerChannelType?: boolean;
  /**
   * 'ant4': how ANT's 4-bit type is chosen: 'error', the weights' squared error (ANT's way), or
   * 'effect', the layer output's error on the calibration inputs, tr(ΔW H ΔWᵀ) with H = XᵀX / rows of
   * the layer's input (per output channel with ant4PerChannelType). Default: 'effect' for scheme
   * 'ant4' (and wherever GPTQ gives the layer's Hessian), else 'error'. 'effect' without GPTQ takes
   * each layer's H from the float model on the calibration inputs (src/model/layer-hessians.ts).
   */
  antChoice?: 'error' | 'effect';
  /** 'ant4' chosen by effect: refine ANT's clip ratios by the output error too (default true) */
  antClipByEffect?: boolean;
  /**
   * How weights are rounded: 'gptq' or 'rtn' (round to nearest, each format's own rules).
   * Default: 'gptq' for schemes 'int4', 'fp8' and 'auto' (quantizeModel always has calibration
   * inputs), 'rtn' for the others; give method 'rtn' for the quick path (PP-OCRv4 test lines, int4:
   * 41.3% exact by rounding, 97.4% by GPTQ with act-order; fp8 E4M3: 94.4% and 96.9%).
   * 'gptq' (schemes whose format uses the Hessian: int4, fp8, ant4, fpx): the layers are quantized one after
   * another in execution order with GPTQ, each from the Hessian XᵀX / rows of its input on the
   * calibration inputs as they come through the layers quantized before it (each calibration input
   * runs through the model about once: each round resumes where the one before stopped), plus
   * GPTQ's O(K³ + N·K²) per layer; the products in wasm.
   * 'auto' with 'gptq': its candidates use each layer's Hessian XᵀX / rows from the float model on
   * the search's calibration inputs: int4 by GPTQ, ant4's type and clips by effect then GPTQ,
   * fpx's split by effect. With 'rtn', auto's int4 candidates are rounded to nearest.
   */
  method?: 'rtn' | 'gptq';
  /** 'gptq': quantize the columns of K by descending input energy (H's diagonal), block scales fixed up front (default true; PP-OCRv4 int4: 97.4% exact with it, 94.9% without) */
  actOrder?: boolean;
  /** 'gptq': added to H's diagonal, as a fraction of its mean (default 0.01) */
  dampPercent?: number;
  /** 'gptq': each block's scale by a clip search on its values as GPTQ has them (default true) */
  clipSearch?: boolean;
  /** 'int8': weight bits, 8 ([-127, 127]) or 7 ([-63, 63]: the relaxed build's c4 layout, the relaxed dot product); default INT8_MODEL_WEIGHT_BITS (src/formats/int8.ts) */
  weightBits?: 7 | 8;
  /** 'int8-outlier': a feature column runs in float where some |x| >= this (default 6, LLM.int8's; Infinity: never) */
  outlierThreshold?: number;
  /** 'int8-outlier': instead, each layer's threshold is this quantile in (0, 1) of its input features' max |x| over calibration */
  outlierQuantile?: number;
  /**
   * 'int8-sparse': the pruning before int8 quantization: pattern 'block4x4' (default),
   * 'unstructured', '2:4' or 'srbcrs' (4x1 vectors: 4 output channels at one k, SR-BCRS-like vector
   * rows); target, the fraction of weights pruned, in [0, 1) (default 0.5; '2:4'
   * prunes exactly 0.5); method 'obc' (default: Optimal Brain Compression, each layer pruned and
   * quantized from the Hessian XᵀX / rows of its input on the calibration inputs as they come
   * through the layers pruned before it, GPTQ's sequential pass; slower) or 'magnitude' (by |w|,
   * then int8 round to nearest). Both prune the same total (OBC: spread evenly over the rows).
   * With `latency` (CPrune-style, src/model/prune-latency.ts): each layer's pattern and target, or
   * dense int8, chosen so that the prunable layers run in at most that fraction of their dense int8
   * time (measured here) at the least output error; `model.prunePlan` reports the choice.
   * 'int4-sparse': the same { target, method } with pattern 'block4x4' only (OBC then rounds the
   * kept weights to int4), and `scales`: 'block' (default: a multiplier per kept block of the row
   * scales) or 'channel' (the row scales alone); no latency budget.
   */
  sparsity?: { pattern?: SparsePattern; target?: number; method?: 'obc' | 'magnitude'; scales?: 'block' | 'channel' } | SparsityLatency;
  /**
   * 'int8-sparse' with `sparsity.latency`: times a layer's candidates (default: runs them on this
   * engine, medians). For tests and benches that need a given latency table.
   */
  latencyTimer?: LayerTimer;
  /**
   * 'int8-sparse' with `sparsity.latency`: a previous result's `prunePlan` (same float model,
   * calibration and candidates), whose latency table and candidate weights are searched again at this
   * budget without measuring or pruning again
   */
  latencyTable?: PrunePlan;
  /** 'fpx': the exponent/mantissa splits to choose from per layer (default all: 'E1M6' … 'E5M2') */
  fpxSplits?: readonly string[];
  /**
   * 'fpx': how each layer's split and channel scales are chosen: 'effect' (default for scheme
   * 'fpx'), the layer output's error tr(ΔW H ΔWᵀ) with H from the float model on the calibration
   * inputs (as antChoice 'effect'), or 'error', the weights' squared error (faster)
   */
  fpxChoice?: 'error' | 'effect';
  /** a scheme for particular nodes, overriding the rest */
  layerScheme?: (node: GraphNode) => LayerScheme | undefined;
  /**
   * I-ViT integer-only ops (src/model/ivit-layers.ts): attention's softmax runs as Shiftmax,
   * LayerNormalization as I-LayerNorm, and a linear layer's x·sigmoid(αx) (Swish, GELU's sigmoid
   * form) as ShiftGELU, on int8 with static scales calibrated on the calibration inputs. Default off.
   */
  integerOnly?: boolean;
  /**
   * How com.microsoft MultiHeadAttention and GroupQueryAttention nodes attend: 'float32' (default) or
   * 'int8': the int8 attention layer (QKᵀ and PV in int8, src/layers/attention-int8.ts) with static
   * K and V scales per kv head calibrated on the calibration inputs (widened by rangeMargin), Q
   * per row; the KV cache rows they write stay on that int8 grid (src/model/attention-int8-ops.ts).
   */
  attention?: 'float32' | 'int8';
  onProgress?: (done: number, total: number, phase: string) => void;
  /**
   * A NaN or infinite input to a quantized layer: 'nan' (default) makes the output rows (pixels) it
   * reaches NaN, as float32 would; 'error' makes the run a ValueRangeError naming the layer
   */
  nonFinite?: NonFinite;
  /**
   * 'measured': time every layer in the float32 and the quantized model on the first calibration
   * input (step times inside whole runs, src/model/speed-check.ts) and keep float32 where the
   * quantized layer is over 5% slower on this engine (tiny layers, where quantizing activations
   * costs more than the int8 products save); `model.speedChoices` lists the times and what was kept.
   * 'shape': keep float32 for the int8 layers whose GEMM shape (at the first
   * calibration input's dims) is too small for int8 to win (small K or N, tiny calls: src/model/int8-shape-rule.ts),
   * derived from the shape alone, so the result does not depend on timing; other schemes are unchanged.
   * 'off': every layer the scheme covers is quantized. Default: 'shape' for scheme 'int8' (int8 is
   * then never slower than float32 by its shapes), 'off' for the others. The quantized model's
   * `keptFloat` says why each float32 weight layer stayed float32.
   * With scheme 'auto' it says where autoBudget.maxSlowdown's step times come from: 'shape' (the
   * default) the cost table by GEMM shape (src/model/format-cost.ts: the same choice on any machine),
   * 'measured' timing each format here (src/model/auto-speed.ts; autoStepTimer), 'off' speed not weighed.
   */
  speed?: 'measured' | 'shape' | 'off';
  /** 'auto' with speed 'measured': times each weight layer's step in one run (default: Model.run's step timings, src/model/auto-speed.ts); a test passes a table */
  autoStepTimer?: StepTimer;
}

export interface AutoBudget {
  /** output SQNR (dB, against float32) at most this far below all-int8's */
  maxSqnrDropDb?: number;
  /** weight bytes (Model.weightBytes) at most this */
  maxBytes?: number;
  /**
   * how much slower than all-int8 the mix may be, a fraction of all-int8's step time summed over the
   * searched layers (from the cost table by shape, or measured with speed 'measured'); null: speed
   * is not weighed. Default 0.05 with a dB budget, null with a size budget (maxBytes given: the size comes first).
   */
  maxSlowdown?: number | null;
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
  /** this layer's step time (ms) in this format: the cost table's by shape, or the least measured inside whole runs (with the speed budget on: auto-speed.ts) */
  ms?: number;
  /** why it was not measured (pruned by the proxy, or slower than int8), if so */
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

/** The final gate's score of a model on its inputs (mix-gate.ts): inputs whose every output frame has float32's top-1, such frames of all, pooled SQNR, the metric. */
export interface GateScore {
  inputs: number;
  frames: number;
  totalFrames: number;
  sqnrDb: number;
  /** where a final softmax makes the output: SQNR of the output itself (sqnrDb is the logits') */
  outputSqnrDb?: number;
  /** classifier outputs: Σ over frames of log(1 + e^-margin), margin = float32's top-1 class minus the best other in the judged output (how near frames are to a flip) */
  marginLoss?: number;
  metric?: number;
  /** each input's SQNR (dB, capped at ±150) of what is judged: the paired rule's data */
  inputDb?: number[];
}

/** The paired per-input verdict: d = mix dB - int8 dB per input, its mean, standard deviation and 95% lower bound, how many inputs are within the budget, and why it misses. */
export interface PairedGate { inputs: number; meanDb: number; sdDb: number; lowerDb: number; within: number; miss?: string }

/** What the 'auto' search measured (top-1 agreement with float32 is 0..1). */
export interface MixReport {
  /** the budget the search met, as given (or defaulted) */
  budget: AutoBudget;
  /** what each model output was judged on: 'output', or the logits a final softmax takes */
  judgedOn: Record<string, string>;
  /** the formats it could use */
  candidates: string[];
  /** weight bytes: all-int8 and the mix */
  int8Bytes: number;
  bytes: number;
  /** on the inputs the search measured on */
  search: { inputs: number; int8: OutputScore; mix: OutputScore };
  /** on the calibration inputs the search held back (absent with holdOut 0 or a single calibration input) */
  heldOut?: { inputs: number; int8: OutputScore; mix: OutputScore; withinBudget: boolean; checks: number };
  /** what the measured checks did: 'none' (the first mix passed), 'reverted' (a mix missed on the search or held-back inputs, and a mix chosen again under a fitted pessimism factor passed; heldOut.checks says how many held-back checks) or 'int8' (every round missed: all-int8) */
  fallback: 'none' | 'reverted' | 'int8';
  /**
   * the final gate (mix-gate.ts; absent when the search chose all-int8 or no input was left): every calibration input the
   * search did not measure on, scored per input and per frame, the mix no worse than int8. 'pass': the search's mix;
   * 'gave-back': layers (`gaveBack`, node names, largest error first) returned to int8 until it passed; 'int8': it never
   * passed (or the rest was no smaller than int8), so the model is all-int8. `misses`: why each failed check failed.
   */
  gate?: { inputs: number; int8: GateScore; mix: GateScore; outcome: 'pass' | 'gave-back' | 'int8'; gaveBack: string[]; checks: number; misses: string[]; paired?: PairedGate };
  /** the speed budget (auto-speed.ts; absent when maxSlowdown is null or speed 'off'): the allowance, where the times came from (the cost table by shape, or measured here), and the searched layers' summed step times (ms) all-int8 and in the mix */
  speed?: { maxSlowdown: number; from: 'shape' | 'measured'; int8Ms: number; ms: number };
  /** with a dB budget: each round of the search, its predicted and measured noise growth over all-int8 (mix-search.ts) */
  rounds?: MixRound[];
  // the search inputs' numbers under their earlier names
  top1: number;
  outputSqnrDb: number;
  int8Top1: number;
  int8OutputSqnrDb: number;
  top1Budget: number;
  probeInputs: number;
}

const GPTQ_KNOBS = ['actOrder', 'dampPercent', 'clipSearch'] as const;
const GPTQ_BY_DEFAULT = new Set(['int4', 'fp8', 'auto']);

/** Checks method and the GPTQ options: the GPTQ settings, or null for round to nearest. */
export function checkGptqOptions(options: QuantizeOptions): GptqSettings | null {
  const auto = options.scheme === 'auto';
  // GPTQ by default where it pays and applies: int4, fp8 and auto (quantizeModel always has calibration
  // inputs). ant4 and fpx choose by effect already (PP-OCRv4: float32's accuracy); GPTQ is theirs to ask.
  const method = options.method ?? (GPTQ_BY_DEFAULT.has(String(options.scheme)) ? 'gptq' : 'rtn');
  if (method !== 'rtn' && method !== 'gptq') throw new ArgumentError(`quantize: method must be 'rtn' or 'gptq', got ${describe(method)}`);
  if (method === 'rtn') {
    for (const name of GPTQ_KNOBS) if (options[name] !== undefined) throw new ArgumentError(`quantize: ${name} is only used with method 'gptq' (method is 'rtn')`);
    return null;
  }
  const takers = WEIGHT_FORMATS.filter((f) => f.usesHessian).map((f) => `'${f.name}'`).join(', ');
  if (!auto && !WEIGHT_FORMATS.find((f) => f.name === options.scheme)?.usesHessian) {
    throw new ArgumentError(`quantize: method 'gptq' needs a scheme whose format uses the layer Hessian (${takers}), got scheme '${String(options.scheme)}'`);
  }
  for (const name of ['actOrder', 'clipSearch'] as const) {
    if (options[name] !== undefined && typeof options[name] !== 'boolean') throw new ArgumentError(`quantize: ${name} must be a boolean, got ${describe(options[name])}`);
  }
  const damp = options.dampPercent;
  if (damp !== undefined && !(typeof damp === 'number' && Number.isFinite(damp) && damp >= 0)) throw new ArgumentError(`quantize: dampPercent must be a finite number >= 0 (a fraction of H's mean diagonal, e.g. 0.01), got ${describe(damp)}`);
  // act-order by default (PP-OCRv4 test lines, int4 alone: 97.4% exact with it, 94.9% without)
  return { actOrder: options.actOrder ?? true, dampPercent: damp ?? 0.01, clipSearch: options.clipSearch ?? true };
}

/** The attention option, checked: 'float32' (default) or 'int8'. */
export function checkAttentionOption(options: QuantizeOptions): 'float32' | 'int8' {
  const a = options.attention ?? 'float32';
  if (a !== 'float32' && a !== 'int8') throw new ArgumentError(`quantize: attention must be 'float32' or 'int8', got ${describe(a)}`);
  return a;
}
