// Per-layer latency, measured where it counts: each layer's step timed inside whole-model runs
// (its real input shape, cache state and neighbours), for the float32 model and a quantized one.
// quantizeModel's `speed: 'measured'` uses it to keep float32 for the layers whose quantized kernel
// is slower than float32 on this engine: tiny layers (PP-OCR's angle classifier has 1×1 convolutions
// with K = 8…32), where quantizing the activations and requantizing the outputs cost more than the
// int8 dot products save. The table is a plain map, reusable by any search that weighs latency.

import { ArgumentError } from '../errors.js';
import type { GraphNode } from './graph.js';
import type { Model } from './model.js';
import type { ModelInputs } from './feeds.js';

/** One layer's least step time (ms) in each model measured, by the model's name. */
export interface LayerLatency {
  node: GraphNode;
  label: string;
  ms: Record<string, number>;
}

/**
 * The least time of every layer step over `runs` runs of each model on `feeds` (after one warm-up
 * run), the models' runs interleaved so drift hits them alike. The least, not the median: on a busy
 * machine other processes only ever add time (at load 12 on 2 cores the median run of a 1.3 ms model
 * read 1.6–8 ms, its least 1.29–1.33). Keyed by graph node: the models must share one graph (a
 * quantized model and the float model it came from do).
 */
export async function layerLatencies(models: Record<string, Model>, feeds: ModelInputs, runs = 15): Promise<Map<GraphNode, LayerLatency>> {
  if (!Number.isInteger(runs) || runs < 1) throw new ArgumentError(`layerLatencies: runs must be a positive integer, got ${runs}`);
  const graphs = new Set(Object.values(models).map((m) => m.graph));
  if (graphs.size > 1) throw new ArgumentError('layerLatencies: the models must share one graph (a quantized model and its float model)');
  const samples = new Map<GraphNode, { label: string; ms: Record<string, number[]> }>();
  for (const m of Object.values(models)) await m.run(feeds);
  for (let r = 0; r < runs; r++) {
    for (const [name, m] of Object.entries(models)) {
      const timings: { step: { layer: unknown; node: GraphNode | null; label: string }; ms: number }[] = [];
      await m.run(feeds, { timings: timings as never });
      for (const t of timings) {
        if (!t.step.layer || !t.step.node) continue;
        const s = samples.get(t.step.node) ?? { label: t.step.label, ms: {} };
        samples.set(t.step.node, s);
        (s.ms[name] ??= []).push(t.ms);
      }
    }
  }
  const out = new Map<GraphNode, LayerLatency>();
  for (const [node, s] of samples) out.set(node, { node, label: s.label, ms: Object.fromEntries(Object.entries(s.ms).map(([k, v]) => [k, Math.min(...v)])) });
  return out;
}

/** A layer's speed decision: its measured times and the scheme kept. */
export interface SpeedChoice {
  node: GraphNode;
  label: string;
  floatMs: number;
  quantizedMs: number;
  kept: 'quantized' | 'float32';
}

/**
 * The layers of `quantized` whose step is slower than the float model's by more than `margin`
 * (a fraction: 0.05 keeps float32 only when the quantized layer is over 5% slower).
 */
export async function slowerQuantizedLayers(float: Model, quantized: Model, feeds: ModelInputs, margin = 0.05, runs = 15): Promise<SpeedChoice[]> {
  const table = await layerLatencies({ float32: float, quantized }, feeds, runs);
  const out: SpeedChoice[] = [];
  for (const [node, l] of table) {
    const layer = quantized.builtLayers.get(node);
    if (!layer || layer.scheme === 'float32' || l.ms.float32 === undefined || l.ms.quantized === undefined) continue;
    out.push({ node, label: l.label, floatMs: l.ms.float32, quantizedMs: l.ms.quantized, kept: l.ms.quantized > l.ms.float32 * (1 + margin) ? 'float32' : 'quantized' });
  }
  return out;
}
