// Quantizing a loaded float model: calibrate the inputs of every weight layer on user data, then
// build a second Model over the same graph whose layers run in the chosen scheme (one for all, or
// chosen per layer by measured sensitivity). Depthwise and grouped convolutions stay float32 (they
// are memory-bound and tiny in weights; the per-layer report says so).

import { ArgumentError } from '../errors.js';
import type { LayerWeights } from '../formats/format.js';
import { FORMAT_NAMES, weightFormat } from '../formats/table.js';
import { uint8Range, type ActivationQuant } from '../quant/activation-range.js';
import { convWeightsNK, transposeKN } from '../layers/conv2d-gemm.js';
import { nodeLabel, type GraphNode } from './graph.js';
import type { Runtime } from '../runtime/runtime.js';
import { QuantConvLayer, QuantLinearLayer, type ModelLayer, type NonFiniteCheck } from './layers.js';
import { NON_FINITE_MODES, type NonFinite } from '../layers/nonfinite.js';
import { buildFloatLayer, Model, type LayerBuilder, type LayerSpec, type ModelInputs } from './model.js';

/** The inputs of one run (Model.run's feeds). */
export type Feeds = ModelInputs;

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
  /** a scheme for particular nodes, overriding the rest */
  layerScheme?: (node: GraphNode) => LayerScheme | undefined;
  onProgress?: (done: number, total: number, phase: string) => void;
  /**
   * A NaN or infinite input to a quantized layer: 'nan' (default) makes the output rows (pixels) it
   * reaches NaN, as float32 would; 'error' makes the run a ValueRangeError naming the layer
   */
  nonFinite?: NonFinite;
}

/** The NaN/Inf check of a node's quantized layer; throws on a bad mode. */
export function nonFiniteCheck(node: GraphNode, mode: unknown = 'nan'): NonFiniteCheck {
  if (!NON_FINITE_MODES.includes(mode as NonFinite)) throw new ArgumentError(`nonFinite: expected 'nan' or 'error', got ${String(mode)}`);
  return { mode: mode as NonFinite, label: nodeLabel(node) };
}

/** Running statistics of one tensor over calibration: extremes and a bounded sample for percentiles. */
export class RangeStats {
  min = Infinity;
  max = -Infinity;
  private samples: Float32Array[] = [];

  add(x: Float32Array): void {
    let lo = this.min, hi = this.max;
    for (let i = 0; i < x.length; i++) {
      const v = x[i];
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    this.min = lo;
    this.max = hi;
    // keep a bounded sample for percentiles (every k-th value)
    const step = Math.max(1, Math.floor(x.length / 4096));
    const s = new Float32Array(Math.ceil(x.length / step));
    for (let i = 0, j = 0; i < x.length; i += step) s[j++] = x[i];
    this.samples.push(s);
  }

  /** [min, max] narrowed to the given percentile of each side */
  percentile(p: number): [number, number] {
    const all = Float32Array.from(this.samples.flatMap((s) => Array.from(s))).sort();
    if (all.length === 0) return [0, 0];
    const at = (q: number) => all[Math.min(all.length - 1, Math.max(0, Math.round((q / 100) * (all.length - 1))))];
    return [Math.max(this.min, at(100 - p)), Math.min(this.max, at(p))];
  }
}

export async function calibrate(model: Model, calibration: Feeds[], onProgress?: (done: number, total: number) => void): Promise<Map<GraphNode, RangeStats>> {
  const stats = new Map<GraphNode, RangeStats>();
  for (const [i, feeds] of calibration.entries()) {
    await model.run(feeds, {
      beforeStep: (step, ins) => {
        if (!step.layer || !step.node || !ins[0]) return;
        let s = stats.get(step.node);
        if (!s) stats.set(step.node, (s = new RangeStats()));
        s.add(ins[0]);
      },
    });
    onProgress?.(i + 1, calibration.length);
  }
  return stats;
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

/** The layer for one node in one scheme (float32 where the scheme does not apply). */
export function buildLayer(rt: Runtime, node: GraphNode, spec: LayerSpec, scheme: LayerScheme, input?: ActivationQuant, options: Record<string, unknown> = {}, nonFinite: NonFinite = 'nan'): ModelLayer {
  const grouped = spec.type === 'conv' && spec.geometry.group !== 1;
  if (scheme === 'float32' || grouped) return buildFloatLayer(rt, node, spec)!;
  const format = weightFormat(scheme);
  if (format.needsInputRange && !input) return buildFloatLayer(rt, node, spec)!;
  // weights quantized in the file (MatMulNBits) stay as they are in their own format's scheme
  const check = nonFiniteCheck(node, nonFinite);
  if (spec.type === 'linear' && spec.fileWeights?.format === format) return layerFromWeights(rt, spec, spec.fileWeights, check);
  const { wnk, n, k } = weightRows(spec);
  return layerFromWeights(rt, spec, { format, data: format.quantize(wnk, n, k, { input, options }) }, check);
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

export async function quantizeModel(float: Model, options: QuantizeOptions): Promise<Model & { choices?: LayerChoice[]; mix?: MixReport }> {
  if (options.scheme !== 'auto' && !FORMAT_NAMES.includes(options.scheme)) throw new ArgumentError(`quantize: scheme '${String(options.scheme)}' is not supported; ${[...FORMAT_NAMES, 'auto'].map((n) => `'${n}'`).join(', ')} are`);
  if (!Array.isArray(options.calibration) || options.calibration.length === 0) throw new ArgumentError('quantize: calibration needs at least one input (an array of feeds)');
  if (options.ant4PerChannelType !== undefined && typeof options.ant4PerChannelType !== 'boolean') throw new ArgumentError(`quantize: ant4PerChannelType must be a boolean, got ${String(options.ant4PerChannelType)}`);
  if (options.nonFinite !== undefined && !NON_FINITE_MODES.includes(options.nonFinite)) throw new ArgumentError(`quantize: nonFinite must be 'nan' or 'error', got ${String(options.nonFinite)}`);
  if (options.top1Budget !== undefined && !(options.top1Budget >= 0 && options.top1Budget <= 1)) throw new ArgumentError(`quantize: top1Budget must be a fraction from 0 to 1, got ${options.top1Budget}`);
  const stats = await calibrate(float, options.calibration, (d, t) => options.onProgress?.(d, t, 'calibrating'));
  const rangeOf = (s: RangeStats): ActivationQuant => {
    const [lo, hi] = options.range === undefined || options.range === 'minmax' ? [s.min, s.max] : s.percentile(options.range);
    return uint8Range(lo, hi);
  };
  const rt = float.rt;
  const choice = new Map<GraphNode, LayerScheme>();
  const builder: LayerBuilder = (brt, node, spec): ModelLayer | null => {
    const s = stats.get(node);
    const scheme: LayerScheme = options.layerScheme?.(node) ?? choice.get(node) ?? (s ? (options.scheme === 'auto' ? 'int8' : options.scheme) : 'float32');
    return buildLayer(brt, node, spec, scheme, s ? rangeOf(s) : undefined, { ant4PerChannelType: options.ant4PerChannelType === true }, options.nonFinite);
  };
  const model = new Model(rt, float.graph, float.fusions, builder, options.scheme) as Model & { choices?: LayerChoice[]; mix?: MixReport };
  if (options.scheme !== 'auto') return model;

  const probe = options.calibration.slice(0, Math.max(1, Math.min(options.sensitivityInputs ?? 16, options.calibration.length)));
  const reference = await outputsOf(float, probe);
  // a mix is scored by the decisions it keeps (top-1 agreement with float32 along the output's
  // last axis), then by its output SQNR
  const score = async (): Promise<[number, number]> => {
    const got = await outputsOf(model, probe);
    return [top1Agreement(reference, got), outputSqnr(reference, got)];
  };
  const better = (x: [number, number], y: [number, number]) => x[0] > y[0] || (x[0] === y[0] && x[1] > y[1]);
  const [baseTop1, base] = await score(); // every layer int8
  const budget = options.top1Budget ?? baseTop1 - (options.top1Allowance ?? 0);
  const candidates = [...stats.keys()].filter((n) => {
    const spec = float.layerSpecs.get(n);
    return spec && !(spec.type === 'conv' && spec.geometry.group !== 1) && !options.layerScheme?.(n);
  });
  // sensitivity: the model with one layer lowered to int4, the rest int8
  const sens = new Map<GraphNode, [number, number]>();
  const total = candidates.length * 2;
  for (const [i, node] of candidates.entries()) {
    choice.set(node, 'int4');
    await model.rebuild([node]);
    sens.set(node, await score());
    choice.delete(node);
    await model.rebuild([node]);
    options.onProgress?.(i + 1, total, 'measuring layers');
  }
  // lower the least sensitive first, one at a time, keeping each only if the mix stays in budget
  let current: [number, number] = [baseTop1, base];
  const order = [...candidates].sort((a, b) => (better(sens.get(a)!, sens.get(b)!) ? -1 : better(sens.get(b)!, sens.get(a)!) ? 1 : 0));
  for (const [i, node] of order.entries()) {
    if (sens.get(node)![0] >= budget) {
      choice.set(node, 'int4');
      await model.rebuild([node]);
      const now = await score();
      if (now[0] >= budget) current = now;
      else {
        choice.delete(node);
        await model.rebuild([node]);
      }
    }
    options.onProgress?.(candidates.length + i + 1, total, 'measuring layers');
  }
  model.choices = [...stats.keys()].filter((n) => float.layerSpecs.has(n)).map((node) => {
    const spec = float.layerSpecs.get(node)!;
    const scheme: LayerScheme = options.layerScheme?.(node) ?? (spec.type === 'conv' && spec.geometry.group !== 1 ? 'float32' : choice.get(node) ?? 'int8');
    const m = sens.get(node);
    return { node, scheme, top1WhenInt4: m?.[0], outputSqnrDbWhenInt4: m?.[1] };
  });
  model.mix = { top1: current[0], outputSqnrDb: current[1], int8Top1: baseTop1, int8OutputSqnrDb: base, top1Budget: budget, probeInputs: probe.length };
  return model;
}

async function outputsOf(model: Model, inputs: Feeds[]): Promise<Float32Array[]> {
  const out: Float32Array[] = [];
  for (const f of inputs) {
    for (const t of Object.values(await model.run(f))) {
      lastAxis.set(t.data, t.dims[t.dims.length - 1] ?? t.data.length);
      out.push(t.data);
    }
  }
  return out;
}

function outputSqnr(ref: Float32Array[], got: Float32Array[]): number {
  let sig = 0, noise = 0;
  ref.forEach((r, i) => {
    for (let j = 0; j < r.length; j++) {
      const d = r[j] - got[i][j];
      sig += r[j] * r[j];
      noise += d * d;
    }
  });
  return noise === 0 ? Infinity : 10 * Math.log10(sig / noise);
}

/** Fraction of rows (along the last axis of each output) whose argmax agrees. */
function top1Agreement(ref: Float32Array[], got: Float32Array[], rowLength?: number): number {
  let same = 0, rows = 0;
  ref.forEach((r, i) => {
    const n = rowLength ?? lastAxis.get(r) ?? r.length;
    for (let o = 0; o + n <= r.length; o += n) {
      let a = o, b = o;
      for (let j = o + 1; j < o + n; j++) {
        if (r[j] > r[a]) a = j;
        if (got[i][j] > got[i][b]) b = j;
      }
      if (a === b) same++;
      rows++;
    }
  });
  return rows === 0 ? 1 : same / rows;
}

/** the last-axis length of each reference output (set by outputsOf) */
const lastAxis = new WeakMap<Float32Array, number>();
