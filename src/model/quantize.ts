// Quantizing a loaded float model: calibrate the inputs of every weight layer on user data, then
// build a second Model over the same graph whose layers run in the chosen scheme. Depthwise and
// grouped convolutions stay float32 in the int8 scheme (they are memory-bound and tiny in weights;
// the report says so per layer).

import { ArgumentError } from '../errors.js';
import { uint8Range, type ActivationQuant } from '../layers/conv2d-qs8.js';
import type { GraphNode } from './graph.js';
import { ConvLayerQs8, LinearLayerQs8, type ModelLayer } from './layers.js';
import { buildFloatLayer, Model, type LayerBuilder } from './model.js';

export type Feeds = Record<string, { type: string; data: ArrayLike<number>; dims: readonly number[] }>;

export interface QuantizeOptions {
  scheme: 'int8';
  /** inputs to calibrate static activation ranges on (at least one) */
  calibration: Feeds[];
  /**
   * How a layer's input range is chosen from what calibration saw:
   * 'minmax' (default) or a percentile of |x| such as 99.99 (clips rare outliers).
   */
  range?: 'minmax' | number;
  /** per-node overrides: node name -> 'float32' keeps that layer float */
  keepFloat?: (node: GraphNode) => boolean;
  onProgress?: (done: number, total: number) => void;
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

export async function quantizeModel(float: Model, options: QuantizeOptions): Promise<Model> {
  if (options.scheme !== 'int8') throw new ArgumentError(`quantize: scheme '${String(options.scheme)}' is not supported here; 'int8' is`);
  if (!Array.isArray(options.calibration) || options.calibration.length === 0) throw new ArgumentError('quantize: calibration needs at least one input (an array of feeds)');
  const stats = await calibrate(float, options.calibration, options.onProgress);
  const rangeOf = (s: RangeStats): ActivationQuant => {
    const [lo, hi] = options.range === undefined || options.range === 'minmax' ? [s.min, s.max] : s.percentile(options.range);
    return uint8Range(lo, hi);
  };
  const builder: LayerBuilder = (rt, node, spec): ModelLayer | null => {
    const s = stats.get(node);
    if (!s || options.keepFloat?.(node)) return buildFloatLayer(rt, node, spec);
    if (spec.type === 'conv') {
      if (spec.geometry.group !== 1) return buildFloatLayer(rt, node, spec);
      return new ConvLayerQs8(rt, spec.geometry, spec.weight, spec.bias, rangeOf(s), spec.activation, spec.actName);
    }
    return new LinearLayerQs8(rt, spec.k, spec.n, spec.weight, spec.bias, rangeOf(s), spec.transposed);
  };
  return new Model(float.rt, float.graph, float.fusions, builder, 'int8');
}
