// Quantizing a loaded float model: calibrate the inputs of every weight layer on user data, then
// build a second Model over the same graph whose layers run in the chosen scheme (one for all, or
// chosen per layer by measured sensitivity). Depthwise and grouped convolutions stay float32 (they
// are memory-bound and tiny in weights; the per-layer report says so).

import { ArgumentError, describe } from '../errors.js';
import type { LayerWeights, QuantizeContext } from '../formats/format.js';
import { FORMAT_NAMES, WEIGHT_FORMATS, findFormat, weightFormat } from '../formats/table.js';
import { checkSparsity, latencyCandidates } from '../formats/int8-sparse.js';
import { pruneByLatency, replan, type PrunePlan } from './prune-latency.js';
import type { ActivationQuant } from '../quant/activation-range.js';
import { activationQuant, checkActivationOptions } from './activation-calibration.js';
import { convWeightsNK, transposeKN } from '../layers/conv2d-gemm.js';
import { nodeLabel, type GraphNode } from './graph.js';
import type { Runtime } from '../runtime/runtime.js';
import { QuantConvLayer, QuantLinearLayer, type ModelLayer, type NonFiniteCheck } from './layers.js';
import { NON_FINITE_MODES, type NonFinite } from '../layers/nonfinite.js';
import { buildFloatLayer, Model, type LayerBuilder, type LayerSpec } from './model.js';
import { SHAPE_RULE_SCHEMES, gemmShape, int8Pays } from './int8-shape-rule.js';
import { keptFloatReason } from './kept-float.js';
import { slowerQuantizedLayers, type SpeedChoice } from './speed-check.js';
import { calibrate, type Feeds, type RangeStats } from './calibrate.js';
import { autoMix, checkAutoOptions, fitPart } from './auto-mix.js';
import { CandidateWeights } from './candidate-weights.js';
import { layerHessians } from './layer-hessians.js';
import { checkAttentionOption, checkGptqOptions, type CalibrationFreeOptions, type LayerChoice, type LayerScheme, type MixReport, type QuantizeOptions } from './quantize-options.js';
import { GptqLayers } from './gptq-pass.js';
import { namingNode } from './node-errors.js';
import { checkCrushedWeights } from '../quant/crushed-weights.js';
import { wasmGemmNT, wasmSyrkLower } from '../kernels/xtx.js';
import { IvitLayers, shiftGeluAlpha } from './ivit-layers.js';
import { AttentionInt8Ops } from './attention-int8-ops.js';

export type { CalibrationFreeOptions, LayerChoice, LayerScheme, MixReport, QuantizeOptions } from './quantize-options.js';

export { calibrate, RangeStats, type Feeds } from './calibrate.js';

/** The NaN/Inf check of a node's quantized layer; throws on a bad mode. */
export function nonFiniteCheck(node: GraphNode, mode: unknown = 'nan'): NonFiniteCheck {
  if (!NON_FINITE_MODES.includes(mode as NonFinite)) throw new ArgumentError(`nonFinite: expected 'nan' or 'error', got ${String(mode)}`);
  return { mode: mode as NonFinite, label: nodeLabel(node) };
}

/** The weights of a layer spec as output-channel rows [N][K] (im2col order for convolutions). */
export function weightRows(spec: LayerSpec): { wnk: Float32Array; n: number; k: number } {
  if (spec.type === 'conv') {
    const g = spec.geometry;
    return { wnk: convWeightsNK(spec.weight, g), n: g.cout, k: g.kh * g.kw * g.cin };
  }
  return { wnk: spec.transposed ? spec.weight : transposeKN(spec.weight, spec.k, spec.n), n: spec.n, k: spec.k };
}

/** K and N of a layer spec's weights (as weightRows gives them, without copying). */
export function weightRowsDims(spec: LayerSpec): { k: number; n: number } {
  if (spec.type === 'conv') return { n: spec.geometry.cout, k: spec.geometry.kh * spec.geometry.kw * spec.geometry.cin };
  return { k: spec.k, n: spec.n };
}

/** The layer for one node from already quantized weights. */
export function layerFromWeights(rt: Runtime, spec: LayerSpec, weights: LayerWeights, check?: NonFiniteCheck): ModelLayer {
  return spec.type === 'conv'
    ? new QuantConvLayer(rt, spec.geometry, weights, spec.bias, spec.activation, spec.actName, check)
    : new QuantLinearLayer(rt, weights, spec.bias, spec.activation ?? null, check);
}

/**
 * A node's weights quantized in one scheme, or null where it stays float32 (the scheme is float32,
 * a grouped convolution, or a format that needs an input range without one). `hessian` is the
 * layer input's XᵀX / rows for formats that use it (GPTQ).
 */
export function quantizeLayerWeights(spec: LayerSpec, scheme: LayerScheme, input?: ActivationQuant, options: Record<string, unknown> = {}, hessian?: Float64Array, inputChannels?: QuantizeContext['inputChannels']): LayerWeights | null {
  const grouped = spec.type === 'conv' && spec.geometry.group !== 1;
  if (scheme === 'float32' || grouped) return null;
  const format = weightFormat(scheme);
  if (format.needsInputRange && !input) return null;
  // weights quantized in the file (MatMulNBits) stay as they are in their own format's scheme
  if (spec.type === 'linear' && spec.fileWeights?.format === format) return spec.fileWeights;
  const { wnk, n, k } = weightRows(spec);
  checkCrushedWeights(scheme, wnk, n, k);
  return { format, data: format.quantize(wnk, n, k, { input, options, hessian, inputChannels }) };
}

/** The layer of a node from its weights (float32 when null). */
function layerOf(rt: Runtime, node: GraphNode, spec: LayerSpec, weights: LayerWeights | null, nonFinite: NonFinite = 'nan'): ModelLayer {
  return weights ? layerFromWeights(rt, spec, weights, nonFiniteCheck(node, nonFinite)) : buildFloatLayer(rt, node, spec)!;
}

/** The layer for one node in one scheme (float32 where the scheme does not apply). */
export function buildLayer(rt: Runtime, node: GraphNode, spec: LayerSpec, scheme: LayerScheme, input?: ActivationQuant, options: Record<string, unknown> = {}, nonFinite: NonFinite = 'nan', hessian?: Float64Array, inputChannels?: QuantizeContext['inputChannels']): ModelLayer {
  return layerOf(rt, node, spec, quantizeLayerWeights(spec, scheme, input, options, hessian, inputChannels), nonFinite);
}

/**
 * The 'auto' candidates' layer Hessians, kept only where the layer saw at least K input rows: with
 * fewer, H is singular and GPTQ fits those very rows (a Gemm of K 3200 on 18 rows: its int4 read 62
 * dB on them, int8 39 dB), which the search, measuring on the same inputs, would believe.
 */
async function autoHessians(float: Model, inputs: Feeds[], want: (node: GraphNode) => boolean, options: QuantizeOptions): Promise<Map<GraphNode, Float64Array>> {
  const rows = new Map<GraphNode, number>();
  const hessians = await layerHessians(float, inputs, want, (d, t) => options.onProgress?.(d, t, 'layer Hessians'), rows);
  for (const node of hessians.keys()) if (rows.get(node)! < weightRowsDims(float.layerSpecs.get(node)!).k) hessians.delete(node);
  return hessians;
}

/**
 * Checks the calibration option: required (at least one input) except for a calibration-free
 * scheme (int8-dynamic), where it may be left out or empty; with it given, such a scheme uses it
 * only for the int8 shape rule's layer shapes.
 */
function checkCalibration(given: QuantizeOptions | CalibrationFreeOptions): QuantizeOptions {
  const free = given.scheme !== 'auto' && findFormat(given.scheme)?.calibrationFree === true;
  if (free && given.calibration === undefined) return { ...given, calibration: [] };
  if (!Array.isArray(given.calibration) || (given.calibration.length === 0 && !free)) {
    const none = WEIGHT_FORMATS.filter((f) => f.calibrationFree).map((f) => `'${f.name}'`).join(', ');
    throw new ArgumentError(`quantize: calibration needs at least one input (an array of feeds) for scheme ${describe(given.scheme)}; only ${none} quantizes without calibration`);
  }
  return given as QuantizeOptions;
}

export async function quantizeModel(float: Model, given: QuantizeOptions | CalibrationFreeOptions): Promise<Model & { choices?: LayerChoice[]; mix?: MixReport; prunePlan?: PrunePlan; keptFloat?: Map<GraphNode, string>; attentionInt8?: AttentionInt8Ops }> {
  if (given.scheme !== 'auto' && !FORMAT_NAMES.includes(given.scheme)) throw new ArgumentError(`quantize: scheme '${String(given.scheme)}' is not supported; ${[...FORMAT_NAMES, 'auto'].map((n) => `'${n}'`).join(', ')} are`);
  const options = checkCalibration(given);
  // no calibration inputs (int8-dynamic): every layer the scheme covers is quantized; nothing measures ranges or shapes
  const uncalibrated = options.calibration.length === 0;
  if (options.ant4PerChannelType !== undefined && typeof options.ant4PerChannelType !== 'boolean') throw new ArgumentError(`quantize: ant4PerChannelType must be a boolean, got ${String(options.ant4PerChannelType)}`);
  if (options.antChoice !== undefined && options.antChoice !== 'error' && options.antChoice !== 'effect') throw new ArgumentError(`quantize: antChoice must be 'error' or 'effect', got ${String(options.antChoice)}`);
  if (options.fpxChoice !== undefined && options.fpxChoice !== 'error' && options.fpxChoice !== 'effect') throw new ArgumentError(`quantize: fpxChoice must be 'error' or 'effect', got ${String(options.fpxChoice)}`);
  if (options.antClipByEffect !== undefined && typeof options.antClipByEffect !== 'boolean') throw new ArgumentError(`quantize: antClipByEffect must be a boolean, got ${String(options.antClipByEffect)}`);
  if (options.nonFinite !== undefined && !NON_FINITE_MODES.includes(options.nonFinite)) throw new ArgumentError(`quantize: nonFinite must be 'nan' or 'error', got ${String(options.nonFinite)}`);
  if (options.top1Budget !== undefined && !(options.top1Budget >= 0 && options.top1Budget <= 1)) throw new ArgumentError(`quantize: top1Budget must be a fraction from 0 to 1, got ${options.top1Budget}`);
  if (options.speed !== undefined && options.speed !== 'measured' && options.speed !== 'shape' && options.speed !== 'off') throw new ArgumentError(`quantize: speed must be 'measured', 'shape' or 'off', got ${describe(options.speed)}`);
  checkActivationOptions(options);
  if (options.sparsity !== undefined) checkSparsity(options.sparsity);
  if (options.scheme === 'auto') checkAutoOptions(options); // before calibration and the Hessians
  const gptqSettings = checkGptqOptions(options);
  const attentionMode = checkAttentionOption(options);
  if (uncalibrated && (gptqSettings || attentionMode === 'int8' || options.integerOnly || options.speed === 'measured' || options.sparsity !== undefined)) {
    throw new ArgumentError("quantize: GPTQ, attention 'int8', integerOnly, sparsity and speed 'measured' measure on calibration inputs: give calibration");
  }
  const auto = options.scheme === 'auto';
  // GPTQ's products (also ANT's and auto's, which run GPTQ with its defaults) in wasm: the Cholesky rank updates and the lazy batch updates, the same bits
  const dense = { syrk: wasmSyrkLower(float.rt), gemm: wasmGemmNT(float.rt) };
  // 'auto' with GPTQ settings: candidates from the float model's layer Hessians (candidate-weights.ts), not the sequential pass
  // int8-sparse by OBC (its default) prunes each layer from its input's Hessian: GPTQ's sequential pass gives them
  // (int4-sparse too: OBC's pruning joint with 4-bit quantization)
  const sparsity = options.scheme === 'int8-sparse' || options.scheme === 'int4-sparse' ? checkSparsity(options.sparsity) : undefined;
  // a latency budget prunes from the float model's Hessians in its own pass (prune-latency.ts), not the sequential one
  const obc = sparsity !== undefined && sparsity.method !== 'magnitude' && sparsity.latency === undefined;
  const gptq = (gptqSettings || obc) && !auto ? { settings: gptqSettings ? { ...gptqSettings, ...dense } : undefined, layers: new GptqLayers() } : null;
  const sequential = (spec: LayerSpec, scheme: LayerScheme): boolean =>
    gptqSettings ? GptqLayers.wants(spec, scheme) : obc && (scheme === 'int8-sparse' || scheme === 'int4-sparse') && !(spec.type === 'conv' && spec.geometry.group !== 1);
  const stats = await calibrate(float, options.calibration, (d, t) => options.onProgress?.(d, t, 'calibrating'));
  // per layer and scheme: per-channel activation parts only where the int8 staging applies them
  const memo = new Map<RangeStats, Map<boolean, ActivationQuant>>();
  const inputQuant = (s: RangeStats, spec: LayerSpec, scheme: LayerScheme): ActivationQuant => {
    const int8 = scheme === 'int8' && !(spec.type === 'conv' && spec.geometry.group !== 1);
    const known = memo.get(s)?.get(int8);
    if (known) return known;
    const q = activationQuant(s, options, int8 ? weightRows(spec) : undefined);
    if (!memo.has(s)) memo.set(s, new Map());
    memo.get(s)!.set(int8, q);
    return q;
  };
  // ANT by effect needs each layer's input Hessian: GPTQ's pass gives them; without GPTQ, from the float model
  // ant4 and fpx choose by the layer output's error by default (PP-OCRv4 test split: ant4 30.1% -> 96.9%
  // exact, fpx 95.4% -> 96.9%, for about a minute of Hessian collection); 'error' is the quick path
  const antChoice = options.antChoice ?? (options.scheme === 'ant4' ? 'effect' : undefined);
  const byEffect = antChoice === 'effect' || (options.fpxChoice ?? (options.scheme === 'fpx' ? 'effect' : 'error')) === 'effect';
  const hessians = byEffect && !gptq && !auto ? await layerHessians(float, options.calibration, (node) => stats.has(node), (d, t) => options.onProgress?.(d, t, 'layer Hessians')) : undefined;
  const rt = float.rt;
  const choice = new Map<GraphNode, LayerScheme>();
  const formatOptions = { ant4PerChannelType: options.ant4PerChannelType === true, antChoice, antClipByEffect: options.antClipByEffect, gptq: gptq?.settings ?? dense, fpxSplits: options.fpxSplits, outlierThreshold: options.outlierThreshold, outlierQuantile: options.outlierQuantile, sparsity: options.sparsity, weightBits: options.weightBits };
  // speed 'shape': int8 layers too small for int8 to win stay float32 (src/model/int8-shape-rule.ts)
  // the default for int8 (int8 never slower than float32 by shape); 'off' quantizes every layer
  const speed = options.speed ?? (SHAPE_RULE_SCHEMES.includes(options.scheme) ? 'shape' : 'off');
  if (options.integerOnly !== undefined && typeof options.integerOnly !== 'boolean') throw new ArgumentError(`quantize: integerOnly must be a boolean, got ${describe(options.integerOnly)}`);
  // the integer-only ops freeze their scales once, after the calibration runs below: a scheme or a
  // speed check that rebuilds layers later (GPTQ's pass, auto's search, speed 'measured') would leave
  // the rebuilt ones unfrozen, running float
  if (options.integerOnly && (options.scheme !== 'int8' || speed === 'measured')) {
    throw new ArgumentError(`quantize: integerOnly runs with scheme 'int8' and speed 'shape' or 'off', got scheme ${describe(options.scheme)} with speed ${describe(speed)}`);
  }
  // 'auto' starts from the int8 model scheme 'int8' gives (autoBaseline 'int8', the default): its budget and gate
  // compare against that model. Against all-int8 instead, auto's mixes on the PP-OCRv4 detector and the wake-word
  // embedding were "within 1 dB" of a baseline 8 and 4.5 dB under the user's int8 (one K=16 layer: +7 dB as float32)
  const autoShape = auto && (options.autoBaseline ?? 'int8') === 'int8';
  const tooSmall = (spec: LayerSpec, s: RangeStats | undefined): boolean => {
    if (!autoShape && (speed !== 'shape' || !SHAPE_RULE_SCHEMES.includes(options.scheme))) return false;
    if (!s) {
      // no calibration, so no M: K and N decide (grouped convolutions stay float32 anyway)
      const { k, n } = weightRowsDims(spec);
      return !int8Pays(Number.POSITIVE_INFINITY, k, n);
    }
    const shape = gemmShape(spec, s.dims);
    return shape !== null && !int8Pays(...shape);
  };
  const covered = (s: RangeStats | undefined): boolean => s !== undefined || uncalibrated;
  const schemeOf = (node: GraphNode, spec: LayerSpec, s: RangeStats | undefined): LayerScheme => options.layerScheme?.(node) ?? choice.get(node) ?? (covered(s) ? (tooSmall(spec, s) ? 'float32' : auto ? 'int8' : options.scheme) : 'float32');
  const grouped = (spec: LayerSpec) => spec.type === 'conv' && spec.geometry.group !== 1;
  if (options.scheme === 'int4-sparse' && sparsity?.latency !== undefined) throw new ArgumentError("sparsity.latency: the latency search prunes to int8-sparse; int4-sparse takes { target, method }");
  if (options.latencyTable && sparsity?.latency === undefined) throw new ArgumentError("latencyTable: only with scheme 'int8-sparse' and sparsity.latency");
  const pruned: PrunePlan | undefined = sparsity?.latency === undefined ? undefined : options.latencyTable ? replan(options.latencyTable, sparsity.latency) : await pruneByLatency({
      float, calibration: options.calibration, budget: sparsity.latency, timer: options.latencyTimer, onProgress: options.onProgress,
      candidates: [{ label: 'dense', sparsity: null }, ...latencyCandidates(sparsity)],
      want: (node, spec) => stats.has(node) && !grouped(spec) && !options.layerScheme?.(node) && !(spec.type === 'linear' && spec.fileWeights),
      weightsOf: (node) => weightRows(float.layerSpecs.get(node)!),
      quantize: (node, c, h) => {
        const spec = float.layerSpecs.get(node)!, s = stats.get(node)!, scheme = c.sparsity ? 'int8-sparse' : 'int8';
        return namingNode(node, scheme, () => quantizeLayerWeights(spec, scheme, inputQuant(s, spec, scheme), { ...formatOptions, sparsity: c.sparsity ?? undefined }, c.sparsity && c.sparsity.method !== 'magnitude' ? h : undefined, s));
      },
    });
  // layers the search did not plan (no calibration rows reached them) stay dense int8
  if (pruned) for (const node of stats.keys()) if (!pruned.weights.has(node) && !options.layerScheme?.(node)) choice.set(node, 'int8');
  // 'auto': each layer's candidates quantized once; int4 by GPTQ, ant4 and fpx by effect, from Hessians of the calibration inputs' fit part (the search and the gate measure on the other two)
  const candidates = auto
    ? new CandidateWeights(
      (node, scheme, h) => {
        const spec = float.layerSpecs.get(node)!, s = stats.get(node);
        // GPTQ's settings for int4; ant4 runs GPTQ after its choice by effect with its defaults (as scheme 'ant4': 96.9% alone)
        const opts = { ...formatOptions, gptq: scheme === 'int4' && gptqSettings ? { ...gptqSettings, ...dense } : dense };
        return namingNode(node, scheme, () => quantizeLayerWeights(spec, scheme, s ? inputQuant(s, spec, scheme) : undefined, opts, h, s));
      },
      gptqSettings ? await autoHessians(float, fitPart(options.calibration, options.holdOut), (node) => stats.has(node) && !options.layerScheme?.(node) && !tooSmall(float.layerSpecs.get(node)!, stats.get(node)!), options) : undefined,
    )
    : undefined;
  const ivit = options.integerOnly ? new IvitLayers() : null;
  const keptFloat = new Map<GraphNode, string>();
  const builder: LayerBuilder = (brt, node, spec): ModelLayer | null => {
    // integerOnly: a linear layer's x·sigmoid(αx) epilogue (identity affine after it) runs as ShiftGELU
    return namingNode(node, schemeOf(node, spec, stats.get(node)), () => {
      const alpha = ivit ? shiftGeluAlpha(spec) : null;
      if (ivit && alpha !== null) return ivit.actLinear(brt, node, build(brt, node, { ...spec, activation: null } as LayerSpec)!, alpha, (spec as { n: number }).n);
      return build(brt, node, spec);
    });
  };
  const build: LayerBuilder = (brt, node, spec): ModelLayer | null => {
    const s = stats.get(node);
    const scheme = schemeOf(node, spec, s);
    const why = keptFloatReason(spec, s, scheme, options.scheme, options.layerScheme?.(node) !== undefined, scheme === 'float32' && covered(s) && tooSmall(spec, s), uncalibrated);
    if (why) keptFloat.set(node, why);
    else keptFloat.delete(node);
    if (candidates && s) return layerOf(brt, node, spec, candidates.get(node, scheme), options.nonFinite);
    const planned = pruned?.weights.get(node);
    if (planned) return layerOf(brt, node, spec, planned, options.nonFinite);
    const input = s ? inputQuant(s, spec, scheme) : undefined;
    if (gptq && sequential(spec, scheme)) {
      return gptq.layers.layer(node, () => buildFloatLayer(brt, node, spec)!, (h) => quantizeLayerWeights(spec, scheme, input, formatOptions, h, s), (w) => layerOf(brt, node, spec, w, options.nonFinite));
    }
    const hessian = hessians?.get(node);
    hessians?.delete(node); // K² doubles a layer: not kept for the model's life (a rebuilt layer chooses by error)
    return buildLayer(brt, node, spec, scheme, input, formatOptions, options.nonFinite, hessian, s);
  };
  // the quantized model gets its own arena: the float model's goes back first (both may not fit in 4 GiB)
  await float.releaseArena();
  const model = new Model(rt, float.graph, float.fusions, builder, options.scheme) as Model & { choices?: LayerChoice[]; mix?: MixReport; speedChoices?: SpeedChoice[]; prunePlan?: PrunePlan; keptFloat?: Map<GraphNode, string>; attentionInt8?: AttentionInt8Ops };
  model.keptFloat = keptFloat;
  if (pruned) model.prunePlan = pruned;
  const attention = attentionMode === 'int8' ? new AttentionInt8Ops(rt) : null;
  if (attention) {
    model.attentionInt8 = attention;
    model.hostOp = attention.hostOp;
  }
  if (ivit) model.opLayer = ivit.opLayer;
  if (ivit || attention) {
    // the integer-only ops and the int8 attention nodes observe their ranges, then freeze
    for (const feeds of options.calibration) await model.run(feeds);
    ivit?.freeze();
    attention?.freeze(options.rangeMargin ?? 0);
  }
  if (gptq) await gptq.layers.run(model, options.calibration, (d, t) => options.onProgress?.(d, t, gptqSettings ? 'gptq' : 'obc'));
  if (speed === 'measured' && !auto) {
    const decisions = await slowerQuantizedLayers(float, model, options.calibration[0]);
    const slow = decisions.filter((d) => d.kept === 'float32');
    for (const d of slow) choice.set(d.node, 'float32');
    await model.rebuild(slow.map((d) => d.node));
    for (const d of slow) keptFloat.set(d.node, `speed 'measured': its ${options.scheme} step took ${d.quantizedMs.toFixed(3)} ms against float32's ${d.floatMs.toFixed(3)} ms here`);
    model.speedChoices = decisions;
  }
  if (candidates) await autoMix(float, model, stats, choice, options, candidates, (node) => (tooSmall(float.layerSpecs.get(node)!, stats.get(node)!) ? keptFloat.get(node) : undefined));
  // the layers are built here, where their cost shows (ant4 quantizes for seconds), not in the first run
  if (!uncalibrated) await model.prepare(options.calibration[0]);
  return model;
}

